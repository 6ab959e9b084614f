"""The squad leader's work-order screen (#15), browserless: reached from the squad's day, it lists each
officer's open orders with the overdue ones in red; tapping one offers the squad's officers and 改派
reassigns it at HQ (online; the list then shows HQ's answer); offline the screen says it shows the last
synced state and a reassignment is refused in Chinese; the squad's day shows the bureau's line."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import flet as ft

from hq.demo_zones import seed_demo_zones
from mobile.views.leader_orders import LeaderOrdersView
from mobile.views.squad import SquadView
from testkit.hqkit import LEADER, OFFICER, OFFICER_B, Hq
from tests.mobile.statekit import Apps, PhoneClock, dead_url, sign_in
from tests.mobile.test_views_workorders import file_orders, keyed
from tests.mobile.viewkit import event, started, texts, tree


def test_the_leader_sees_overdue_orders_in_red_and_reassigns(make_app: Apps, hq: Hq) -> None:
    seed_demo_zones(hq.storage, hq.clock())
    late, fresh = file_orders(hq, "早上的投诉", "刚收到的投诉")
    # 58.5 min on: the first order (filed 2 min ago) is past its hour, the second (1 min ago) not yet
    clock = PhoneClock(hq.clock() + timedelta(minutes=58.5))
    hq.clock.now += timedelta(minutes=58.5)
    app = make_app(clock=clock)
    sign_in(app, hq.serve().url, LEADER)
    app.sync.sync_now()
    shell = started(app)
    shell.go("squad")
    assert isinstance(shell.screen, SquadView)
    assert any(t.startswith("受理热线投诉 2 件") for t in texts(shell.body)), texts(shell.body)
    keyed(shell.body, "open_leader_orders").on_click(None)
    screen = shell.screen
    assert isinstance(screen, LeaderOrdersView)
    shown = texts(shell.body)
    assert "待办 2 件，超时 1 件" in shown
    assert f"{OFFICER.badge} · 待办 2 件，超时 1 件" in shown
    head = keyed(shell.body, f"lwo_officer_{OFFICER.badge}")
    assert head.color == ft.Colors.RED_700
    rows = [c for c in tree(shell.body) if str(getattr(c, "key", "")).startswith("lwo_order_")]
    assert [r.key for r in rows] == [f"lwo_order_{late}", f"lwo_order_{fresh}"]  # overdue first
    assert rows[0].content.color == ft.Colors.RED_700
    assert rows[1].content.color is None

    screen.select(late, OFFICER.badge)
    shown = texts(shell.body)
    assert "改派" in shown
    radios = {c.value for c in tree(shell.body) if isinstance(c, ft.Radio)}
    assert {OFFICER.badge, LEADER.badge} <= radios  # the officers the squad's orders name can be chosen
    assert keyed(shell.body, "lwo_other").label == "或输入其他队员警号"
    screen.other.value = OFFICER_B.badge  # 李娜 has no record on this phone: by badge
    asyncio.run(screen.assign())
    assert "已派给 1024" in texts(shell.body), texts(shell.body)
    assert keyed(shell.body, f"lwo_officer_{OFFICER_B.badge}")
    with hq.storage.transaction(readonly=True) as tx:
        row = tx.get_work_order(late)
    assert row is not None
    assert row.officer == OFFICER_B.badge

    # HQ unreachable: the last synced state, dated, and no reassignment
    app.settings.update(hq_url=dead_url())
    app.sync.sync_now()
    shell.render()
    offline = keyed(shell.body, "lwo_offline")
    assert str(offline.value).startswith("当前离线：以下为"), offline.value
    screen.select(fresh, OFFICER.badge)
    screen.choose(event(OFFICER_B.badge))
    asyncio.run(screen.assign())
    assert "当前离线：改派需要连接指挥中心，列表为上次同步时的状态" in texts(shell.body)
    with hq.storage.transaction(readonly=True) as tx:
        still = tx.get_work_order(fresh)
    assert still is not None
    assert still.officer == OFFICER.badge
