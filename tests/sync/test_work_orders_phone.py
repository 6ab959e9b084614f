"""Work orders on the phone against a real HQ on loopback (#15): an order filed at HQ and assigned reaches
the officer's phone; offline, the officer arrives and resolves it; back online, both records reach HQ
exactly once and HQ shows the order resolved on time. Reassignment away drops it from the phone."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from enforcement.model import LOCAL_TZ
from hq.demo_zones import seed_demo_zones
from mobile.state.errors import DraftError
from mobile.state.workorders import WorkOrdersState
from testkit.hqkit import HQ_USER, OFFICER, OFFICER_B, Hq, photo_bytes, sign_in
from tests.mobile.statekit import PhoneClock
from tests.sync.conftest import ClientFactory, Phone, signed_in

POINT = (34.7466, 113.6253)  # on 人民路, inside ZD01's demo area


class Kicks:
    def __init__(self) -> None:
        self.count = 0

    def kick(self) -> None:
        self.count += 1


def _file_and_assign(hq: Hq, badge: str = OFFICER.badge) -> tuple[httpx.Client, dict[str, str], str]:
    web = httpx.Client(base_url=hq.serve().url, timeout=30)
    desk = sign_in(web, HQ_USER, "hq-web")
    body = {
        "source": "12345",
        "category": "0510",
        "description": "夜里露天烧烤，油烟很大",
        "address": "人民路1号院内",
        "lat": POINT[0],
        "lon": POINT[1],
        "caller_name": "赵六",
        "caller_phone": "13812345678",
    }
    filed = web.post("/v1/workorders", json=body, headers=desk)
    assert filed.status_code == 200, filed.text
    order_id = filed.json()["order_id"]
    assigned = web.post(f"/v1/workorders/{order_id}/assign", json={"badge": badge}, headers=desk)
    assert assigned.status_code == 200, assigned.text
    return web, desk, order_id


def _state(phone: Phone, clock: PhoneClock, kicks: Kicks) -> WorkOrdersState:
    return WorkOrdersState(phone.store, phone.photos, kicks, now=clock)


def test_an_assigned_order_is_resolved_offline_and_reaches_hq_once_on_time(
    hq: Hq, phone: Phone, make_client: ClientFactory, tmp_path: Path
) -> None:
    seed_demo_zones(hq.storage, hq.clock())
    web, desk, order_id = _file_and_assign(hq)
    client = signed_in(make_client(phone))
    assert client.sync_once().error is None

    clock = PhoneClock(hq.clock().astimezone(LOCAL_TZ) + timedelta(minutes=1))
    kicks = Kicks()
    orders = _state(phone, clock, kicks)
    [mine] = orders.open_orders()
    assert mine.order_id == order_id
    assert mine.data["caller_name"] == "赵*"
    assert not mine.overdue
    assert not mine.arrived
    assert timedelta(minutes=55) < mine.left <= timedelta(hours=1)

    # offline: nothing is sent until the next sync
    hq.clock.now += timedelta(minutes=20)
    clock.advance(20)
    distance = orders.arrive(order_id, POINT[0] + 0.0001, POINT[1] + 0.0001, 8.0)
    assert distance is not None
    assert distance < 30
    assert orders.open_orders()[0].arrived
    sha = asyncio.run(orders.add_photo(order_id, photo_bytes("after-1", 4000)))
    assert phone.photos.has(sha)
    with pytest.raises(DraftError) as refused:  # a closure needs a note
        orders.resolve(order_id, "self_corrected", "", None)
    assert "说明" in refused.value.zh
    orders.resolve(order_id, "self_corrected", "摊主已收摊", None)
    assert orders.open_orders() == []
    assert kicks.count == 2
    assert phone.store.outbox_stats()[0] == 2

    hq.clock.now += timedelta(minutes=30)
    report = client.sync_once()
    assert report.error is None
    assert phone.store.outbox_stats()[0] == 0
    assert client.sync_once().error is None  # nothing more to send: exactly once

    state = web.get(f"/v1/workorders/{order_id}", headers=desk).json()
    assert state["stage"] == "resolved"
    first = state["rounds"][0]
    assert first["arrived_on_time"]
    assert first["resolved_on_time"]
    assert first["distance_m"] < 30
    assert phone.store.photo_stats()[0] == 0, "the resolution photo was uploaded"
    state = web.get(f"/v1/workorders/{order_id}", headers=desk).json()
    assert (state["photos_named"], state["photos_received"]) == (1, 1)
    web.close()


def test_an_order_reassigned_away_leaves_the_phone(hq: Hq, phone: Phone, make_client: ClientFactory) -> None:
    seed_demo_zones(hq.storage, hq.clock())
    web, desk, order_id = _file_and_assign(hq)
    client = signed_in(make_client(phone))
    client.sync_once()
    assert phone.store.work_order(order_id) is not None
    # HQ's clock moves on (enforcement.workorders.replay orders two assignments at the same instant by id)
    hq.clock.now += timedelta(minutes=5)
    moved = web.post(f"/v1/workorders/{order_id}/assign", json={"badge": OFFICER_B.badge}, headers=desk)
    assert moved.status_code == 200, moved.text
    report = client.sync_once()
    assert report.error is None, report.error
    assert phone.store.work_order(order_id) is None
    web.close()
