"""The squad leader's work orders on the phone against a real HQ on loopback (#15): the squad's orders
reach the leader's phone (``<id>#<squad>``), listed by officer with the overdue ones first; the leader
reassigns one online and the next pull shows HQ's answer (a reroute or reassignment leaves no stale copy);
offline the list is the last pulled state with its date and an assignment is refused in both languages;
HQ's refusal (another squad's officer) comes back in both languages; the squad day log on the phone
counts the orders in the bureau's phrasing from HQ's verdicts."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest

from enforcement.catalogue import load_catalogue
from enforcement.model import LOCAL_TZ, Officer
from hq.demo_zones import seed_demo_zones
from mobile.hqclient.errors import ServerRefused
from mobile.state.backend import ClientBackend
from mobile.state.leader_orders import LeaderOrdersError, LeaderOrdersState
from mobile.state.squad import SquadState
from mobile.state.sync import SyncLink
from testkit.hqkit import HQ_USER, LEADER, OFFICER, OFFICER_B, OFFICER_FAR, Hq, sign_in
from tests.mobile.statekit import PhoneClock
from tests.sync.conftest import ClientFactory, Phone, signed_in

POINT = (34.7466, 113.6253)  # on 人民路, inside ZD01's demo area


class Session:
    def __init__(self, officer: Officer) -> None:
        self.officer = officer


def _file(web: httpx.Client, desk: dict[str, str], description: str) -> str:
    body = {"source": "12345", "category": "0510", "description": description, "address": "人民路1号",
            "lat": POINT[0], "lon": POINT[1], "caller_name": "赵六", "caller_phone": "138123"}  # fmt: skip
    filed = web.post("/v1/workorders", json=body, headers=desk)
    assert filed.status_code == 200, filed.text
    return str(filed.json()["order_id"])


def test_the_leader_sees_each_officers_orders_and_reassigns_online(
    hq: Hq, phone: Phone, make_client: ClientFactory
) -> None:
    seed_demo_zones(hq.storage, hq.clock())
    web = httpx.Client(base_url=hq.serve().url, timeout=30)
    desk = sign_in(web, HQ_USER, "hq-web")
    late = _file(web, desk, "早上的投诉")
    hq.clock.now += timedelta(minutes=90)  # the first one is now past its hour to arrive
    fresh = _file(web, desk, "刚收到的投诉")
    for order_id in (late, fresh):
        assert web.post(
            f"/v1/workorders/{order_id}/assign", json={"badge": OFFICER.badge}, headers=desk
        ).is_success

    client = signed_in(make_client(phone), LEADER)
    link = SyncLink(lambda url, progress: ClientBackend(client), lambda: "hq", threaded=False, now=hq.clock)
    link.kick()
    assert link.status.online is True
    clock = PhoneClock(hq.clock().astimezone(LOCAL_TZ))
    state = LeaderOrdersState(phone.store, Session(LEADER), link, now=clock)
    snap = state.snapshot()
    assert not snap.offline
    [group] = snap.groups
    assert group.badge == OFFICER.badge
    assert [o.order_id for o in group.orders] == [late, fresh]  # overdue first
    assert [o.overdue for o in group.orders] == [True, False]
    assert snap.open_total == 2

    # reassign the overdue one to 李娜 online: HQ's answer after the pull
    state.assign(late, OFFICER_B.badge)
    snap = state.snapshot()
    by_badge = {g.badge: [o.order_id for o in g.orders] for g in snap.groups}
    assert by_badge == {OFFICER_B.badge: [late], OFFICER.badge: [fresh]}
    assert snap.groups[0].badge == OFFICER_B.badge  # the officer with an overdue order first
    assert snap.note == f"已派给 {OFFICER_B.badge}"
    with hq.storage.transaction(readonly=True) as tx:
        row = tx.get_work_order(late)
    assert row is not None
    assert row.officer == OFFICER_B.badge

    # HQ refuses another squad's officer: its reason, both languages
    with pytest.raises(ServerRefused) as refused:
        state.assign(fresh, OFFICER_FAR.badge)
    zh = refused.value.zh
    assert "本中队" in zh or "队员" in zh
    assert str(refused.value)

    # the desk reroutes the fresh order to another squad: the leader's phone lets it go at the next pull
    other = next(s for s in hq_squads(hq) if s != LEADER.squad_code)
    assert web.post(f"/v1/workorders/{fresh}/route", json={"squad": other}, headers=desk).is_success
    link.kick()
    assert [o.order_id for g in state.snapshot().groups for o in g.orders] == [late]

    # offline: the last pulled state, dated; an assignment is refused, nothing queued
    client.http.close()
    offline_http = httpx.Client(base_url="http://127.0.0.1:9", timeout=0.5)
    client.http = offline_http
    client.transport.http = offline_http
    link.kick()
    assert link.status.online is False
    snap = state.snapshot()
    assert snap.offline
    assert snap.pulled_at is not None
    assert [o.order_id for g in snap.groups for o in g.orders] == [late]
    with pytest.raises(LeaderOrdersError) as offline:
        state.assign(late, OFFICER.badge)
    assert "离线" in offline.value.zh
    assert "offline" in str(offline.value).lower()
    offline_http.close()
    web.close()


def hq_squads(hq: Hq) -> list[str]:
    with hq.storage.transaction(readonly=True) as tx:
        return [s.code for s in tx.list_squads() if s.district == LEADER.district]


def test_the_phones_squad_day_log_counts_the_orders_like_hq(
    hq: Hq, phone: Phone, make_client: ClientFactory
) -> None:
    from hq.daydata import load_daylog
    from hq.workorders import apply_phone_event

    seed_demo_zones(hq.storage, hq.clock())
    web = httpx.Client(base_url=hq.serve().url, timeout=30)
    desk = sign_in(web, HQ_USER, "hq-web")
    ids = [_file(web, desk, f"投诉 {n}") for n in range(3)]
    for order_id in ids:
        assert web.post(
            f"/v1/workorders/{order_id}/assign", json={"badge": OFFICER.badge}, headers=desk
        ).is_success
    # the officer reaches the first on time, the second after two hours (HQ time), the third not at all
    for order_id, minutes in ((ids[0], 20), (ids[1], 120)):
        at = hq.clock() + timedelta(minutes=minutes)
        payload: dict[str, Any] = {"id": f"a-{order_id}", "order_id": order_id, "round": 1,
                                   "device_at": at.isoformat(), "offset_s": 0.0}  # fmt: skip
        with hq.storage.transaction() as tx:
            apply_phone_event(tx, OFFICER, "work_order_arrival", payload, at + timedelta(minutes=1))
    client = signed_in(make_client(phone), LEADER)
    assert client.sync_once().error is None
    clock = PhoneClock(hq.clock().astimezone(LOCAL_TZ))
    catalogue = load_catalogue()
    link = SyncLink(lambda url, progress: ClientBackend(client), lambda: "hq", threaded=False, now=hq.clock)
    squad = SquadState(phone.store, catalogue, Session(LEADER), link, now=clock)
    log = squad.daylog()
    assert log.work_orders.received == 3
    assert log.work_orders.arrived_on_time == 1
    with hq.storage.transaction(readonly=True) as tx:
        at_hq = load_daylog(tx, LEADER.squad_code, log.day, catalogue)
    assert (log.work_orders.received, log.work_orders.arrived_on_time, log.work_orders.resolved_on_time) == (
        at_hq.work_orders.received, at_hq.work_orders.arrived_on_time, at_hq.work_orders.resolved_on_time,
    )  # fmt: skip
    assert log.work_orders.line("zh").startswith("受理热线投诉 3 件，1 小时内到场 1 件（到场率 33.3%）")
    web.close()
