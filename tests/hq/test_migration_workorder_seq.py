"""Migration m010 (#15) on a database an older HQ filled: its work-order events get HQ's receive sequence
in the order that HQ read them (received time, then id), and every order's timer columns are refolded, on
SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from enforcement.workorders import Closure, Event, EventKind, Source, Timer, replay
from hq.storage import migrations
from hq.storage.sqlcore import dumps
from hq.storage.workorder_rows import WorkOrderRow, event_json, summary_timers, timer_json
from tests.hq.test_migrations import Place, opened, place  # noqa: F401  (the fixture)

T0 = datetime(2026, 11, 22, 1, 0, tzinfo=UTC)


def test_m010_numbers_old_events_and_refolds_the_timer_columns(place: Place) -> None:  # noqa: F811
    index = migrations.MIGRATIONS.index(migrations.m010_work_order_seq_and_timers)
    order = WorkOrderRow(
        id="wo-old",
        district="金水区",
        source=Source.BUREAU,
        category="0510",
        description="投诉",
        intake_at=T0,
        timer=Timer(),
    )
    events = [
        Event("e-3", order.id, EventKind.INTAKE, T0, T0),
        Event(
            "e-2",
            order.id,
            EventKind.ASSIGN,
            T0 + timedelta(minutes=1),
            T0 + timedelta(minutes=1),
            officer="1001",
        ),
        Event(
            "e-1",
            order.id,
            EventKind.ARRIVE,
            T0 + timedelta(minutes=30),
            T0 + timedelta(minutes=40),
            actor="1001",
            from_phone=True,
            offset_s=0.0,
        ),
        Event(
            "e-0",
            order.id,
            EventKind.RESOLVE,
            T0 + timedelta(hours=1),
            T0 + timedelta(minutes=40),
            actor="1001",
            from_phone=True,
            offset_s=0.0,
            closure=Closure.NO_VIOLATION,
            note="无",
            photos=("p",),
        ),
    ]
    with place.raw() as (conn, dialect):
        for migration in migrations.MIGRATIONS[:index]:
            migration(conn, dialect)
        dialect.execute(conn, "INSERT INTO meta (key, value) VALUES ('schema_version', ?)", (str(index),))
        dialect.execute(
            conn,
            "INSERT INTO work_orders (id, district, source, category, description, intake_at, timer, stage)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, 'intake')",
            (
                order.id,
                order.district,
                "bureau",
                "0510",
                "投诉",
                dialect.ts(T0),
                dumps(timer_json(order.timer)),
            ),
        )
        for e in events:
            dialect.execute(
                conn,
                "INSERT INTO work_order_events (id, order_id, kind, round, at, received_at, actor, data)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    e.id,
                    e.order_id,
                    e.kind.value,
                    e.round,
                    dialect.ts(e.at),
                    dialect.ts(e.received_at),
                    e.actor,
                    dumps(event_json(e)),
                ),
            )
    with opened(place) as storage, storage.transaction(readonly=True) as tx:
        stored = tx.work_order_events(order.id)
        row = tx.get_work_order(order.id)
    # received time, then id: the arrival and the resolution came in one push (40 min), e-0 < e-1
    assert [(e.id, e.seq) for e in stored] == [("e-3", 1), ("e-2", 2), ("e-0", 3), ("e-1", 4)]
    assert row is not None
    state = replay(stored, order.timer)
    assert state.first.arrived_on_time
    assert state.first.resolved_on_time
    assert (row.due_at, row.first_arrived_ok, row.first_resolved_ok) == summary_timers(state)
    assert row.due_at == state.current.follow_up_due
