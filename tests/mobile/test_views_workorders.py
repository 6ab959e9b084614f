"""Work orders on the phone's screens (#15): the 工单 section of 今日 (overdue first, in red), the detail
screen (countdown, 到达, 办结 with a closure, note and photo, 立案 through the prefilled wizard); zh, en."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import flet as ft
import httpx

from hq.demo_zones import seed_demo_zones
from mobile.state.app_state import AppState
from mobile.views.new_case import NewCaseView
from mobile.views.today import TodayView
from mobile.views.workorder import WorkOrderView
from testkit.hqkit import HQ_USER, Hq
from testkit.hqkit import sign_in as hq_sign_in
from tests.mobile.statekit import Apps, PhoneClock, photo, sign_in
from tests.mobile.viewkit import event, started, texts, tree

POINT = (34.7466, 113.6253)


def file_orders(hq: Hq, *descriptions: str) -> list[str]:
    """File complaints at HQ's desk API and assign them to officer 1023 (HQ's clock moves 1 min between)."""
    ids = []
    with httpx.Client(base_url=hq.serve().url, timeout=30) as web:
        desk = hq_sign_in(web, HQ_USER, "hq-web")
        for text in descriptions:
            body = {
                "source": "12345",
                "category": "0510",
                "description": text,
                "address": "人民路1号院内",
                "lat": POINT[0],
                "lon": POINT[1],
                "caller_name": "赵六",
                "caller_phone": "13812345678",
            }
            order_id = web.post("/v1/workorders", json=body, headers=desk).json()["order_id"]
            assert web.post(
                f"/v1/workorders/{order_id}/assign", json={"badge": "1023"}, headers=desk
            ).is_success
            ids.append(order_id)
            hq.clock.now += timedelta(minutes=1)
    return ids


def synced_app(make_app: Apps, hq: Hq, clock: PhoneClock) -> AppState:
    seed_demo_zones(hq.storage, hq.clock())
    app = make_app(clock=clock)
    sign_in(app, hq.serve().url)
    return app


def keyed(control: object, key: str) -> ft.BaseControl:
    [found] = [c for c in tree(control) if getattr(c, "key", None) == key]
    return found


def test_today_lists_open_orders_overdue_first_in_red(make_app: Apps, hq: Hq) -> None:
    clock = PhoneClock(hq.clock())
    app = synced_app(make_app, hq, clock)
    first, second = file_orders(hq, "第一单", "第二单")
    app.sync.sync_now()
    shell = started(app)
    assert isinstance(shell.screen, TodayView)
    shown = texts(shell.body)
    assert "工单" in shown
    assert any("剩余" in t for t in shown)
    # 62 minutes on: the first order is 2 min past its 1 h arrival deadline, the second has 1 min left
    clock.advance(62)
    shell.render()
    lines = [c.key for c in tree(shell.body) if str(getattr(c, "key", "")).startswith("wo_left_")]
    assert lines == [f"wo_left_{first}", f"wo_left_{second}"]
    overdue = keyed(shell.body, f"wo_left_{first}")
    assert overdue.color == ft.Colors.RED_700
    assert str(overdue.value).startswith("超时")


def test_the_detail_arrives_and_resolves_with_a_note_and_a_photo(make_app: Apps, hq: Hq) -> None:
    clock = PhoneClock(hq.clock())
    app = synced_app(make_app, hq, clock)
    [order_id] = file_orders(hq, "夜里露天烧烤")
    app.sync.sync_now()
    shell = started(app)
    shell.go("work_order", order_id)
    screen = shell.screen
    assert isinstance(screen, WorkOrderView)
    shown = texts(shell.body)
    assert "赵* 138****5678" in shown  # masked by HQ
    for text in ("工单详情", "夜里露天烧烤", "到达", "办结", "当事人已自行整改", "立案（录入案件）"):
        assert text in shown, text
    app.today.set_fix(POINT[0] + 0.0001, POINT[1])
    asyncio.run(screen.arrive())
    assert any("距反映地点" in t for t in texts(shell.body))
    screen.resolve()  # no note, no photo
    assert "未立案办结须填写说明" in texts(shell.body)
    screen.note.value = "摊主已收摊离开"
    screen.resolve()
    assert "未立案办结须至少一张照片" in texts(shell.body)
    asyncio.run(screen.add_photos([photo(3)]))
    assert "已添加照片 1 张" in texts(shell.body)
    screen.choose(event("self_corrected"))
    screen.resolve()
    assert any(t.startswith("已办结") for t in texts(shell.body))
    assert app.workorders.open_orders() == []
    assert app.store.outbox_stats()[0] == 0  # the link (inline here) sent both records at once
    with httpx.Client(base_url=hq.serve().url, timeout=30) as web:
        seen = web.get(f"/v1/workorders/{order_id}", headers=hq_sign_in(web, HQ_USER, "hq-web")).json()
    assert seen["stage"] == "resolved"
    assert seen["closure"] == "self_corrected"


def test_record_a_case_opens_the_wizard_prefilled_and_links_on_save(make_app: Apps, hq: Hq) -> None:
    clock = PhoneClock(hq.clock())
    app = synced_app(make_app, hq, clock)
    [order_id] = file_orders(hq, "占道烧烤")
    app.sync.sync_now()
    shell = started(app)
    shell.go("work_order", order_id)
    screen = shell.screen
    assert isinstance(screen, WorkOrderView)
    screen.record_case()
    assert isinstance(shell.screen, NewCaseView)
    draft = app.drafts.draft
    assert draft is not None
    assert draft.violation_code == "0510"
    assert (draft.lat, draft.lon) == POINT
    assert draft.address == "人民路1号院内"
    assert app.workorders.linking() == {"order_id": order_id, "case_id": draft.case_id}
    # saving that case resolves the order as 立案处置 with the case linked
    app.drafts.create_subject("mobile_vendor", name="刘小摊")
    asyncio.run(app.drafts.add_photo(photo(5)))
    case = app.drafts.save()
    assert case.id == draft.case_id
    assert app.workorders.linking() is None
    row = app.store.work_order(order_id)
    assert row is not None
    assert (row.link_case_id, row.closure) == (case.id, "case")
    assert app.workorders.open_orders() == []
    with httpx.Client(base_url=hq.serve().url, timeout=30) as web:
        seen = web.get(f"/v1/workorders/{order_id}", headers=hq_sign_in(web, HQ_USER, "hq-web")).json()
    assert (seen["stage"], seen["closure"]) == ("resolved", "case")


def test_the_detail_in_english(make_app: Apps, hq: Hq) -> None:
    clock = PhoneClock(hq.clock())
    app = synced_app(make_app, hq, clock)
    [order_id] = file_orders(hq, "bbq")
    app.sync.sync_now()
    app.settings.update(lang="en")
    shell = started(app)
    shell.go("work_order", order_id)
    shown = texts(shell.body)
    for text in ("Work order", "Arrived", "Resolve", "Corrected by the party", "Record a case"):
        assert text in shown, text
