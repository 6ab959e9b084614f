"""A pulled page's zone changes go into the phone store in one transaction (``hqclient.zones.ZoneBatch``,
``Store.apply_zones``): the same zones and version as applying them one by one, an unusable feature rejected
alone, and a write that fails leaves none of the page's zones (nor its version) behind."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from pydantic import ValidationError

import mobile.store_zones
from enforcement.text import LocalizedError
from hq.demo_zones import demo_zones
from mobile.hqclient.zones import ZoneBatch, apply_zone_change
from mobile.store import Store
from sync.protocol import ZONE_VERSION_KEY, Change
from tests.mobile.test_store import open_store


def page() -> list[Change]:
    features = demo_zones()["features"]
    changes = [Change(kind="zone", id=ZONE_VERSION_KEY, data={"version": 2, "total": len(features)})]
    changes += [Change(kind="zone", id=str(f["id"]), data={"version": 1, "feature": f}) for f in features]
    moved = copy.deepcopy(features[0])
    moved["properties"]["name"] = "人民路（改）"
    changes.append(Change(kind="zone", id=str(moved["id"]), data={"version": 2, "feature": moved}))
    changes.append(Change(kind="zone", id=str(features[1]["id"]), data={"version": 2, "feature": None}))
    changes.append(
        Change(kind="zone", id=str(features[0]["id"]), data={"version": 1, "feature": features[0]})
    )
    bad = copy.deepcopy(features[2])
    bad["id"] = "zz-bad"
    bad["geometry"] = {"type": "Polygon", "coordinates": [[[500.0, 0.0], [1.0, 1.0], [500.0, 0.0]]]}
    changes.append(Change(kind="zone", id="zz-bad", data={"version": 2, "feature": bad}))
    changes.append(Change(kind="zone", id="zz-wrong", data={"version": 0}))
    return changes


def one_by_one(store: Store, changes: list[Change]) -> int:
    rejected = 0
    for change in changes:
        try:
            apply_zone_change(store, change)
        except (ValidationError, LocalizedError):
            rejected += 1
    return rejected


def batched(store: Store, changes: list[Change]) -> int:
    batch, rejected = ZoneBatch(), 0
    for change in changes:
        try:
            batch.add(change)
        except (ValidationError, LocalizedError):
            rejected += 1
    batch.write(store)
    return rejected


def begins(store: Store) -> list[str]:
    seen: list[str] = []
    store._conn.set_trace_callback(lambda sql: seen.append(sql) if sql.startswith("BEGIN") else None)
    return seen


def test_one_transaction_gives_the_same_zones_and_version() -> None:
    each, once = open_store(), open_store()
    each_begins, once_begins = begins(each), begins(once)
    assert one_by_one(each, page()) == batched(once, page()) == 2  # the bad feature, the bad version
    assert once.zone_features() == each.zone_features()
    assert once.zones_version() == each.zones_version() == 2
    assert "zz-bad" not in {f["id"] for f in once.zone_features()}
    names = {f["id"]: f["properties"]["name"] for f in once.zone_features()}
    assert names["st-renmin"] == "人民路（改）"  # the replayed older version did not win
    assert len(once_begins) == 1
    assert len(each_begins) > 10


def test_a_failed_write_leaves_nothing_of_the_page(monkeypatch: pytest.MonkeyPatch) -> None:
    store = open_store()
    real = mobile.store_zones._put_zone
    calls: list[str] = []

    def failing(conn: Any, zone_id: str, version: int, feature: Any) -> None:
        calls.append(zone_id)
        if len(calls) == 5:
            raise OSError("disk full")
        real(conn, zone_id, version, feature)

    monkeypatch.setattr(mobile.store_zones, "_put_zone", failing)
    with pytest.raises(OSError, match="disk full"):
        batched(store, page())
    assert len(calls) == 5
    assert store.zone_count() == 0
    assert store.zones_version() == 0
    monkeypatch.setattr(mobile.store_zones, "_put_zone", real)
    batched(store, page())  # the page pulled again
    assert store.zones_version() == 2
