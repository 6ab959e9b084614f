"""The dashboard's work-order pages (``hq.dash.orders``): the desk signs in, files a complaint with the form,
sees the list (overdue first, ``tr.overdue`` styled in the stylesheet), routes, assigns and records the
follow-up with forms; HQ sees the contact masked; other roles are refused; cross-site POSTs are refused;
the board shows the bureau's figures line."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from enforcement.model import Officer, Role, new_id
from hq.auth import PinHasher
from hq.dash.caller import COOKIE
from hq.demo_zones import seed_demo_zones
from hq.storage.base import UserRow
from sync.protocol import PROTOCOL_VERSION
from testkit.hqkit import DISTRICT, HQ_USER, LEADER, OFFICER, PINS, Hq, make_hq, sign_in

DESK = Officer("9101", "热线受理员", "ZH00", "指挥中心", DISTRICT, Role.DESK)
NAME, PHONE = "赵六", "13812345678"
FORM = {
    "source": "12345", "category": "0510", "description": "夜间露天烧烤油烟扰民", "address": "人民路1号院内",
    "lat": "34.7466", "lon": "113.6253", "caller_name": NAME, "caller_phone": PHONE,
}  # fmt: skip


@pytest.fixture
def hq(tmp_path: Path) -> Iterator[Hq]:
    hq = make_hq(tmp_path)
    PINS[DESK.badge] = "269101"
    with hq.storage.transaction() as tx:
        tx.put_user(UserRow(officer=DESK, pin_hash=PinHasher(hq.settings.pin_hashing).hash("269101")))
    seed_demo_zones(hq.storage, hq.clock())
    yield hq
    hq.close()


def browser(hq: Hq, officer: Officer) -> httpx.Client:
    with hq.client() as api:
        token = sign_in(api, officer, f"web-{officer.badge}")["Authorization"].split()[1]
    return hq.client(cookies={COOKIE: token})


def _ids(page: str) -> list[str]:
    return re.findall(r'<tr id="order-([^"]+)"', page)


def test_the_desk_signs_in_files_assigns_and_follows_up(hq: Hq) -> None:
    with hq.client() as web:
        signed = web.post("/dashboard/sign-in", data={"badge": DESK.badge, "pin": "269101"})
        assert signed.status_code == 303
        assert signed.headers["location"] == "/dashboard/orders"
        token = signed.cookies[COOKIE]
    with hq.client(cookies={COOKIE: token}) as desk:
        assert desk.get("/dashboard").headers["location"] == "/dashboard/orders"  # the board is HQ's
        empty = desk.get("/dashboard/orders")
        assert empty.status_code == 200
        assert "受理热线投诉 0 件" in empty.text
        assert 'id="intake"' in empty.text
        assert "<script" not in empty.text
        assert "style=" not in empty.text

        filed = desk.post("/dashboard/orders", data=FORM)
        assert filed.status_code == 303, filed.text
        page = desk.get(filed.headers["location"]).text
        assert "已受理（ZD01）" in page
        [oid] = _ids(page)
        assert NAME in page  # the desk sees the contact in full
        assert PHONE in page
        assert "受理热线投诉 1 件" in page

        bad = desk.post("/dashboard/orders", data=FORM | {"category": "9999"})
        assert bad.status_code == 422
        assert "投诉类别不在目录中" in bad.text
        assert desk.post("/dashboard/orders", data=FORM | {"lat": "nan"}).status_code == 422

        routed = desk.post(f"/dashboard/orders/{oid}/route", data={"squad": "ZD02"})
        assert routed.status_code == 303
        nosuch = desk.post(f"/dashboard/orders/{oid}/route", data={"squad": "ZZ99"})
        assert nosuch.status_code == 422
        assert "中队不存在" in nosuch.text
        assigned = desk.post(f"/dashboard/orders/{oid}/assign", data={"badge": OFFICER.badge})
        assert assigned.status_code == 303
        with hq.storage.transaction(readonly=True) as tx:
            order = tx.get_work_order(oid)
        assert order is not None
        assert (order.squad, order.officer) == ("ZD01", OFFICER.badge)

        early = desk.post(
            f"/dashboard/orders/{oid}/follow-up", data={"reached": "1", "satisfaction": "satisfied"}
        )
        assert early.status_code == 409
        assert "工单尚未办结或已回访" in early.text

        # the officer resolves it from the phone
        with hq.client() as api:
            auth = sign_in(api, OFFICER, "phone-1023")
            resolution = {
                "id": new_id(), "order_id": oid, "round": 1, "device_at": hq.clock().isoformat(),
                "offset_s": 0, "closure": "no_violation", "note": "现场未见烧烤", "photos": ["a" * 64],
            }  # fmt: skip
            body = {"protocol": PROTOCOL_VERSION, "device_id": "phone-1023",
                    "records": [{"kind": "work_order_resolution", "id": resolution["id"], "device_seq": 1,
                                 "payload": resolution}]}  # fmt: skip
            assert api.post("/v1/push", json=body, headers=auth).json()["results"][0]["status"] == "accepted"
        page = desk.get("/dashboard/orders").text
        assert f'action="/dashboard/orders/{oid}/follow-up"' in page
        done = desk.post(
            f"/dashboard/orders/{oid}/follow-up",
            data={"reached": "1", "satisfaction": "unsatisfied", "comment": "仍有油烟", "reopen": "1"},
        )
        assert done.status_code == 303
        page = desk.get(done.headers["location"]).text
        assert "工单重新办理" in page
        assert "第2轮" in page
        with hq.storage.transaction(readonly=True) as tx:
            events = [e.kind.value for e in tx.work_order_events(oid)]
        assert sorted(events[-2:]) == ["follow_up", "reopen"]


def test_overdue_orders_come_first_in_red(hq: Hq) -> None:
    with browser(hq, DESK) as desk:
        assert desk.post("/dashboard/orders", data=FORM | {"description": "旧的"}).status_code == 303
        hq.clock.advance(timedelta(hours=2))  # past the hour to arrive
        assert desk.post("/dashboard/orders", data=FORM | {"description": "新的"}).status_code == 303
        page = desk.get("/dashboard/orders").text
    rows = re.findall(r'<tr id="order-[^"]+"( class="overdue")?>', page)
    assert rows == [' class="overdue"', ""]
    assert page.index("旧的") < page.index("新的")
    assert "超时" in page
    with hq.client() as web:
        css = web.get("/assets/dashboard.css").text
    assert "tr.overdue" in css


def test_hq_sees_masked_contacts_and_the_board_shows_the_figures_line(hq: Hq) -> None:
    with browser(hq, DESK) as desk:
        assert desk.post("/dashboard/orders", data=FORM).status_code == 303
    with browser(hq, HQ_USER) as web:
        page = web.get("/dashboard/orders")
        assert page.status_code == 200
        assert NAME not in page.text
        assert PHONE not in page.text
        assert "138****5678" in page.text
        board = web.get("/dashboard").text
        assert 'id="orders-figures"' in board
        assert re.search(
            r"受理热线投诉 1 件，1 小时内到场 0 件（到场率 0.0%），"
            r"两日内办结 0 件（办结率 0.0%），回访满意率 0.0%",
            board,
        )
        assert 'href="/dashboard/orders"' in board


def test_other_roles_and_strangers_are_refused(hq: Hq) -> None:
    with browser(hq, DESK) as desk:
        assert desk.post("/dashboard/orders", data=FORM).status_code == 303
        [oid] = _ids(desk.get("/dashboard/orders").text)
        xsite = desk.post(
            f"/dashboard/orders/{oid}/assign",
            data={"badge": OFFICER.badge},
            headers={"Origin": "http://evil.example"},
        )
        assert xsite.status_code == 403
    for officer in (LEADER, OFFICER):
        with browser(hq, officer) as web:
            assert web.get("/dashboard/orders").status_code == 403
            assert web.post("/dashboard/orders", data=FORM).status_code == 403
            assert (
                web.post(f"/dashboard/orders/{oid}/assign", data={"badge": OFFICER.badge}).status_code == 403
            )
    with hq.client() as stranger:
        assert "sign-in" in stranger.get("/dashboard/orders").text
        assert stranger.post("/dashboard/orders", data=FORM).status_code == 401
        assert stranger.post(f"/dashboard/orders/{oid}/route", data={"squad": "ZD01"}).status_code == 401
    with hq.storage.transaction(readonly=True) as tx:
        order = tx.get_work_order(oid)
    assert order is not None
    assert order.officer == ""
    with browser(hq, DESK) as desk:
        assert desk.post("/dashboard/orders/..%2Fx/route", data={"squad": "ZD01"}).status_code == 404
        assert desk.post(f"/dashboard/orders/{new_id()}/route", data={"squad": "ZD01"}).status_code == 404


def test_the_demo_has_a_desk_and_complaints_and_no_partner_key(tmp_path: Path) -> None:
    from enforcement.catalogue import load_catalogue
    from hq.demo import demo_text, seed_demo

    hq = make_hq(tmp_path)
    try:
        catalogue = load_catalogue()
        summary = seed_demo(hq.storage, hq.settings, catalogue=catalogue)
        text = demo_text(summary, catalogue)
        assert "9101 | 热线受理员 | ZH00 指挥中心 | 热线受理 desk | 269101" in text
        assert "sp311_" not in text
        assert "streetpatrol-hq partner add" in text
        assert seed_demo(hq.storage, hq.settings, catalogue=catalogue).orders_added == 0  # idempotent
        with hq.client() as web:
            signed = web.post("/dashboard/sign-in", data={"badge": "9101", "pin": "269101"})
            assert signed.status_code == 303
            with hq.client(cookies={COOKIE: signed.cookies[COOKIE]}) as desk:
                page = desk.get("/dashboard/orders").text
        assert len(_ids(page)) == 3
        assert len(re.findall(r'<tr id="order-[^"]+" class="overdue">', page)) == 1
        assert page.index('class="overdue"') < page.index("已回访")
        assert "受理热线投诉 " in page
        assert "回访满意率 100.0%" in page
    finally:
        hq.close()


@pytest.mark.parametrize(
    "changes",
    [
        {"lat": "1e999", "lon": "1"},
        {"lat": "91", "lon": "1"},
        {"lat": "34.7", "lon": ""},
        {"source": "<script>"},
        {"category": "0510\x00"},
        {"description": "x" * 5000},
        {"description": "\x00"},
        {"caller_phone": "%ED%A0%80"},
        {"description": "", "address": "", "lat": "", "lon": ""},
    ],
)
def test_hostile_intake_forms_are_refused_without_a_500(hq: Hq, changes: dict[str, str]) -> None:
    with browser(hq, DESK) as desk:
        answer = desk.post("/dashboard/orders", data=FORM | changes)
        assert answer.status_code in (303, 422), answer.text[:300]
        assert "<script>" not in answer.text
        huge = desk.post("/dashboard/orders", content=b"description=" + b"x" * 20_000,
                         headers={"Content-Type": "application/x-www-form-urlencoded"})  # fmt: skip
        assert huge.status_code == 422
        bad = desk.post(f"/dashboard/orders/{new_id()}/follow-up", data={"reached": "1", "satisfaction": "x"})
        assert bad.status_code == 422
