"""The timer columns of HQ's work-order summaries (#15) on SQLite and PostgreSQL: the bureau's figures
(``work_order_figures``: whole set, by category, by squad) and the overdue lists (``list_work_orders
(overdue_at=…)``) from one indexed query equal a refold of every order's events
(``enforcement.workorders.figures`` / ``State.overdue``) at several HQ times; HQ numbers each order's
events in the order it stores them (``seq``), and migration m010 numbers and refolds what an older HQ
stored."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from enforcement.model import new_id
from enforcement.workorders import (
    Closure,
    Event,
    EventKind,
    Figures,
    Satisfaction,
    Source,
    State,
    Timer,
    figures,
    replay,
)
from hq.storage.base import Storage
from hq.storage.workorder_rows import WorkOrderRow, summary_timers

T0 = datetime(2026, 11, 22, 0, 0, tzinfo=UTC)
SQUADS = ("ZD01", "ZD02", "")
CATEGORIES = ("0510", "0504", "0301")


def _history(rnd: random.Random, order_id: str, intake: datetime) -> list[Event]:
    """A random but plausible life: routed, assigned (maybe twice), arrived and resolved by the phone at
    any time (early, late, never), followed up, sometimes reopened and worked again."""

    def hq(kind: EventKind, at: datetime, round_: int = 1, **kw: object) -> Event:
        return Event(new_id(), order_id, kind, at, at, actor="9101", round=round_, **kw)  # type: ignore[arg-type]

    def phone(kind: EventKind, at: datetime, round_: int = 1, **kw: object) -> Event:
        offset = rnd.choice([None, 0.0, -3600.0, 7200.0])
        device = at - timedelta(seconds=offset or 0)
        received = at + timedelta(minutes=rnd.uniform(0, 600))
        return Event(
            new_id(),
            order_id,
            kind,
            device,
            received,
            actor="1001",
            round=round_,
            from_phone=True,
            offset_s=offset,
            **kw,
        )  # type: ignore[arg-type]

    minutes = lambda a, b: intake + timedelta(minutes=rnd.uniform(a, b))  # noqa: E731
    events = [hq(EventKind.INTAKE, intake)]
    squad = rnd.choice(SQUADS)
    if squad:
        events.append(hq(EventKind.ROUTE, intake, squad=squad))
    if not squad or rnd.random() < 0.1:
        return events
    events.append(hq(EventKind.ASSIGN, minutes(1, 5), officer="1001"))
    if rnd.random() < 0.7:
        arrive = minutes(5, 120)
        events.append(phone(EventKind.ARRIVE, arrive, distance_m=rnd.uniform(0, 500)))
        if rnd.random() < 0.8:
            resolved = arrive + timedelta(minutes=rnd.uniform(1, 4000))
            events.append(
                phone(
                    EventKind.RESOLVE, resolved, closure=Closure.SELF_CORRECTED, note="已整改", photos=("p1",)
                )
            )
            if rnd.random() < 0.6:
                fu = resolved + timedelta(hours=rnd.uniform(1, 100))
                reached = rnd.random() < 0.85
                sat = rnd.choice(list(Satisfaction)) if reached else None
                reopen = sat is Satisfaction.UNSATISFIED and rnd.random() < 0.5
                events.append(hq(EventKind.FOLLOW_UP, fu, reached=reached, satisfaction=sat, reopen=reopen))
                if reopen:
                    events.append(hq(EventKind.REOPEN, fu, round_=2))
                    if rnd.random() < 0.5:
                        events.append(phone(EventKind.ARRIVE, fu + timedelta(minutes=30), round_=2))
    return events


def _fill(storage: Storage, n: int, seed: int) -> dict[str, tuple[WorkOrderRow, State]]:
    from hq.workorders import refresh

    rnd = random.Random(seed)
    made: dict[str, tuple[WorkOrderRow, State]] = {}
    timer = Timer(timedelta(hours=1), timedelta(days=2), timedelta(days=3))
    with storage.transaction() as tx:
        for i in range(n):
            intake = T0 + timedelta(hours=i * 7 % 240, minutes=rnd.randint(0, 59))
            order = WorkOrderRow(
                id=new_id(),
                district=rnd.choice(["金水区", "二七区"]),
                source=Source.BUREAU,
                category=rnd.choice(CATEGORIES),
                description="投诉",
                intake_at=intake,
                timer=timer,
            )
            tx.add_work_order(order)
            for event in _history(rnd, order.id, intake):
                tx.add_work_order_event(event)
            refresh(tx, order.id, intake)
    with storage.transaction(readonly=True) as tx:
        for row in tx.list_work_orders(limit=5000):
            made[row.id] = (row, replay(tx.work_order_events(row.id), row.timer))
    assert len(made) == n
    return made


def test_figures_and_overdue_lists_equal_a_refold_of_every_order(storage: Storage) -> None:
    made = _fill(storage, 120, seed=15)
    since, until = T0 + timedelta(days=1), T0 + timedelta(days=8)
    for now in (T0 + timedelta(hours=3), T0 + timedelta(days=4), T0 + timedelta(days=30)):
        with storage.transaction(readonly=True) as tx:
            for district in (None, "金水区"):
                window = [
                    (row, state)
                    for row, state in made.values()
                    if since <= row.intake_at < until and district in (None, row.district)
                ]
                whole = tx.work_order_figures(since=since, until=until, now=now, district=district)
                assert whole[""] == figures([s for _, s in window], now)
                assert whole[""].received > 10
                for by, key in (("category", lambda r, s: r.category), ("squad", lambda r, s: s.squad)):
                    grouped = tx.work_order_figures(
                        since=since, until=until, now=now, district=district, by=by
                    )
                    expected: dict[str, list[State]] = {}
                    for row, state in window:
                        expected.setdefault(key(row, state), []).append(state)
                    assert grouped == {k: figures(v, now) for k, v in expected.items()}
                overdue = tx.list_work_orders(district=district, overdue_at=now, limit=5000)
                truly = {
                    oid
                    for oid, (row, state) in made.items()
                    if district in (None, row.district) and state.overdue(now)
                }
                assert {row.id for row in overdue} == truly
                assert [row.due_at for row in overdue] == sorted(row.due_at for row in overdue)  # type: ignore[type-var]
            squad = tx.work_order_figures(since=since, until=until, now=now, squads=["ZD01"])
            assert squad.get("", Figures()) == figures(
                [s for r, s in made.values() if since <= r.intake_at < until and s.squad == "ZD01"], now
            )
            assert tx.work_order_figures(since=since, until=until, now=now, squads=[]) == {}


def test_summary_timer_columns_round_trip(storage: Storage) -> None:
    made = _fill(storage, 30, seed=7)
    for row, state in made.values():
        due, arrived_ok, resolved_ok = summary_timers(state)
        assert (row.due_at, row.first_arrived_ok, row.first_resolved_ok) == (due, arrived_ok, resolved_ok)


def test_hq_numbers_events_in_the_order_it_stores_them(storage: Storage) -> None:
    order = WorkOrderRow(
        id=new_id(),
        district="金水区",
        source=Source.BUREAU,
        category="0510",
        description="投诉",
        intake_at=T0,
        timer=Timer(),
    )
    same = T0 + timedelta(minutes=2)
    # two assignments in one instant, the later-stored one with the smaller id: HQ's order decides
    events = [
        Event("e-intake", order.id, EventKind.INTAKE, T0, T0),
        Event("zzz", order.id, EventKind.ASSIGN, same, same, officer="1001"),
        Event("aaa", order.id, EventKind.ASSIGN, same, same, officer="1002"),
    ]
    with storage.transaction() as tx:
        tx.add_work_order(order)
        for event in events:
            assert tx.add_work_order_event(event)
        assert not tx.add_work_order_event(replace(events[1], officer="1003"))  # a replay adds nothing
    with storage.transaction(readonly=True) as tx:
        stored = tx.work_order_events(order.id)
    assert [(e.id, e.seq) for e in stored] == [("e-intake", 1), ("zzz", 2), ("aaa", 3)]
    assert replay(list(reversed(stored))).officer == "1002"


def test_events_of_many_orders_and_figures_by_category_and_squad(storage: Storage) -> None:
    made = _fill(storage, 60, seed=9)
    since, until, now = T0, T0 + timedelta(days=30), T0 + timedelta(days=5)
    with storage.transaction(readonly=True) as tx:
        ids = sorted(made)
        many = tx.work_order_events_of([*ids, "none"])
        assert many["none"] == []
        for oid in ids:
            assert many[oid] == tx.work_order_events(oid)
        cells = tx.work_order_figures(since=since, until=until, now=now, by="category_squad")
    expected: dict[str, list[State]] = {}
    for row, state in made.values():
        if since <= row.intake_at < until:
            expected.setdefault(f"{row.category}|{state.squad}", []).append(state)
    assert cells == {k: figures(v, now) for k, v in expected.items()}
