"""The phone's work orders (m008_work_orders, mobile.store_workorders): HQ's view upserted by order id and
dropped when reassigned away; the officer's own event and its outbox record written together; a file of
schema 6 keeps its outbox entries and their sequence through the outbox rebuild."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from mobile import migrations
from mobile.store import Store
from tests.mobile.test_store import open_store

AT = datetime(2026, 11, 22, 14, 0, tzinfo=UTC)


def order(order_id: str = "wo-1", **changes: object) -> dict[str, object]:
    data: dict[str, object] = {
        "order_id": order_id,
        "round": 1,
        "stage": "dispatched",
        "source": "12345",
        "category": "0510",
        "address": "人民路1号",
        "lat": 34.7466,
        "lon": 113.6253,
        "assigned_to_you": True,
        "intake_at": AT.isoformat(),
        "arrive_due": (AT + timedelta(hours=1)).isoformat(),
        "resolve_due": (AT + timedelta(days=2)).isoformat(),
    }
    return data | changes


def test_orders_upsert_by_id_and_leave_when_reassigned_away() -> None:
    with open_store() as store:
        store.apply_work_order(order())
        store.apply_work_order(order(stage="arrived", arrived_at=AT.isoformat()))
        [row] = store.work_orders()
        assert row.data["stage"] == "arrived"
        assert row.arrived_at == AT
        store.apply_work_order(order(assigned_to_you=False))
        assert store.work_orders() == []


def test_an_event_is_recorded_with_its_outbox_record_and_kept_over_hqs_older_view() -> None:
    with open_store() as store:
        store.apply_work_order(order())
        payload = {"id": "ev-1", "order_id": "wo-1", "round": 1, "device_at": AT.isoformat()}
        store.record_work_order_event("work_order_arrival", payload, AT)
        [entry] = store.outbox_pending()
        assert (entry.kind, entry.record_id, entry.payload["order_id"]) == (
            "work_order_arrival",
            "ev-1",
            "wo-1",
        )
        store.apply_work_order(order())  # HQ has not seen it yet
        assert store.work_order("wo-1").arrived_at == AT  # type: ignore[union-attr]
        store.apply_work_order(order(round=2))  # reopened: the phone's round-1 arrival does not count
        assert store.work_order("wo-1").arrived_at is None  # type: ignore[union-attr]
        with pytest.raises(Exception, match="no work order"):
            store.record_work_order_event("work_order_arrival", payload | {"order_id": "nope"}, AT)
        assert len(store.outbox_pending()) == 1


def test_a_schema_6_outbox_survives_the_rebuild(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "patrol.db"
    with monkeypatch.context() as old_app:
        old_app.setattr("mobile.store.MIGRATIONS", migrations.MIGRATIONS[:6])
        old_app.setattr("mobile.store.SCHEMA_VERSION", 6)
        store = open_store(path)
        with store._write() as conn:
            for n in range(3):
                store._outbox_add(conn, "review", f"r{n}", {"n": n})
        store.outbox_ack([store.outbox_pending()[-1].seq])  # the newest was acked: its seq is never reused
        store.close()
    store = Store.open(path, catalogue=open_store().catalogue)
    try:
        assert [e.record_id for e in store.outbox_pending()] == ["r0", "r1"]
        store.apply_work_order(order())
        store.record_work_order_event("work_order_arrival", {"id": "ev", "order_id": "wo-1", "round": 1}, AT)
        assert store.outbox_pending()[-1].seq == 4
    finally:
        store.close()
