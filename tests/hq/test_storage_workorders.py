"""The storage contract for work orders, their events, Open311 partners and HQ's work-order timers (#15),
on SQLite and PostgreSQL: every method of ``hq.storage.sql_workorders`` round-trips what it was given."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from enforcement.model import new_id
from enforcement.workorders import (
    Closure,
    Event,
    EventKind,
    Satisfaction,
    Source,
    Stage,
    Timer,
)
from hq.storage.base import Storage
from hq.storage.workorder_rows import PartnerRow, WorkOrderRow

T0 = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
TIMER = Timer(timedelta(minutes=45), timedelta(hours=30), timedelta(days=2))


def _order(**over: object) -> WorkOrderRow:
    base = WorkOrderRow(
        id=new_id(),
        district="金水区",
        source=Source.HOTLINE_12345,
        category="0510",
        description="夜里露天烧烤，油烟很大 𠀀",
        intake_at=T0,
        timer=TIMER,
        address="人民路1号院内",
        lat=34.7466123,
        lon=113.6253456,
        place="人民路",
        caller_name="赵六",
        caller_phone="13812345678",
        partner="12345平台",
        filed_by="9101",
    )
    return replace(base, **over)  # type: ignore[arg-type]


def test_an_order_round_trips_every_field(storage: Storage) -> None:
    order = _order()
    with storage.transaction() as tx:
        assert tx.add_work_order(order) is True
        assert tx.add_work_order(replace(order, description="again")) is False  # same id: nothing
    with storage.transaction(readonly=True) as tx:
        got = tx.get_work_order(order.id)
        assert tx.get_work_order("nope") is None
    assert got == order
    assert got is not None
    assert got.intake_at == T0
    assert got.timer == TIMER
    assert got.lat == order.lat
    assert got.lon == order.lon


def test_an_order_without_a_point_or_summary(storage: Storage) -> None:
    order = _order(lat=None, lon=None, address="", partner="", caller_name="", caller_phone="")
    with storage.transaction() as tx:
        assert tx.add_work_order(order)
    with storage.transaction(readonly=True) as tx:
        got = tx.get_work_order(order.id)
    assert got == order
    assert got is not None
    assert (got.lat, got.lon, got.updated_at, got.closed_at, got.arrive_due) == (None, None, None, None, None)


def test_the_summary_is_written_and_place_kept_unless_given(storage: Storage) -> None:
    order = _order()
    with storage.transaction() as tx:
        tx.add_work_order(order)
        tx.set_work_order_summary(
            order.id,
            squad="ZD01",
            officer="1001",
            stage=Stage.RESOLVED,
            updated_at=T0 + timedelta(hours=3),
            closed_at=T0 + timedelta(hours=2),
            arrive_due=T0 + timedelta(minutes=45),
            resolve_due=T0 + timedelta(hours=30),
            outcome=Closure.SELF_CORRECTED.value,
            satisfaction=Satisfaction.SATISFIED.value,
        )
    with storage.transaction(readonly=True) as tx:
        got = tx.get_work_order(order.id)
    assert got is not None
    assert (got.squad, got.officer) == ("ZD01", "1001")
    assert got.updated_at == T0 + timedelta(hours=3)
    assert got.closed_at == T0 + timedelta(hours=2)
    assert got.arrive_due == T0 + timedelta(minutes=45)
    assert got.resolve_due == T0 + timedelta(hours=30)
    assert got.satisfaction == "satisfied"
    assert got.place == "人民路"  # place=None keeps it
    assert got.description == order.description
    assert got.caller_phone == order.caller_phone
    with storage.transaction() as tx:
        tx.set_work_order_summary(
            order.id,
            squad="",
            officer="",
            stage=Stage.INTAKE,
            updated_at=T0 + timedelta(hours=4),
            closed_at=None,
            arrive_due=T0 + timedelta(hours=5),
            resolve_due=T0 + timedelta(hours=50),
            outcome="",
            satisfaction="",
            place="花园路",
        )
    with storage.transaction(readonly=True) as tx:
        again = tx.get_work_order(order.id)
    assert again is not None
    assert (again.squad, again.officer, again.stage, again.closed_at, again.place) == (
        "",
        "",
        Stage.INTAKE,
        None,
        "花园路",
    )


def test_listing_filters_orders_and_limits(storage: Storage) -> None:
    a = _order(intake_at=T0, squad="ZD01", officer="1001")
    b = _order(intake_at=T0 + timedelta(hours=1), squad="ZD02")
    c = _order(intake_at=T0 + timedelta(hours=2), squad="", category="0501")
    d = _order(intake_at=T0 + timedelta(hours=3), district="其他区", squad="ZX01", category="0303")
    with storage.transaction() as tx:
        for o in (a, b, c, d):
            assert tx.add_work_order(o)
        tx.set_work_order_summary(
            a.id,
            squad="ZD01",
            officer="1001",
            stage=a.stage,
            updated_at=T0,
            closed_at=T0 + timedelta(hours=5),
            arrive_due=T0,
            resolve_due=T0,
            outcome="",
            satisfaction="",
        )
    with storage.transaction(readonly=True) as tx:

        def ids(**kw: object) -> list[str]:
            return [o.id for o in tx.list_work_orders(**kw)]  # type: ignore[arg-type]

        assert ids() == [d.id, c.id, b.id, a.id]  # newest first
        assert ids(district="金水区") == [c.id, b.id, a.id]
        assert ids(district="金水区", squad="ZD01") == [a.id]
        assert ids(officer="1001") == [a.id]
        assert ids(officer="9999") == []
        assert ids(unrouted=True) == [c.id]
        assert ids(district="金水区", open_only=True) == [c.id, b.id]
        assert ids(closed_only=True) == [a.id]
        assert ids(since=T0 + timedelta(hours=1)) == [d.id, c.id, b.id]
        assert ids(until=T0 + timedelta(hours=1)) == [a.id]
        assert ids(since=T0 + timedelta(minutes=30), until=T0 + timedelta(hours=2, minutes=30)) == [
            c.id,
            b.id,
        ]
        assert ids(limit=2) == [d.id, c.id]
        # Open311's service_code filter, in the query so the limit counts only matching orders
        assert ids(categories=("0501", "0303")) == [d.id, c.id]
        assert ids(categories=("0510",), limit=1) == [b.id]
        assert ids(categories=("0510",), closed_only=True) == [a.id]
        assert ids(categories=()) == [d.id, c.id, b.id, a.id]
        assert len(ids(limit=0)) == 1  # at least one
        assert ids(district="无此区") == []


def test_events_are_inserted_once_and_round_trip(storage: Storage) -> None:
    order = _order()
    intake = Event(new_id(), order.id, EventKind.INTAKE, T0, T0, actor="9101")
    routed = Event(
        new_id(), order.id, EventKind.ROUTE, T0, T0 + timedelta(seconds=1), actor="system", squad="ZD01"
    )
    arrive = Event(
        new_id(),
        order.id,
        EventKind.ARRIVE,
        T0 + timedelta(minutes=30),
        T0 + timedelta(minutes=31),
        actor="1001",
        from_phone=True,
        offset_s=-2.5,
        lat=34.7466,
        lon=113.6253,
        distance_m=12.3,
    )
    resolve = Event(
        new_id(),
        order.id,
        EventKind.RESOLVE,
        T0 + timedelta(hours=1),
        T0 + timedelta(hours=1, seconds=5),
        actor="1001",
        from_phone=True,
        closure=Closure.TRANSFERRED,
        case_id="",
        note="已劝离 𠀀",
        department="环保局",
        photos=("p1", "p2"),
    )
    follow = Event(
        new_id(),
        order.id,
        EventKind.FOLLOW_UP,
        T0 + timedelta(days=1),
        T0 + timedelta(days=1),
        actor="9101",
        reached=False,
        satisfaction=Satisfaction.UNSATISFIED,
        comment="仍有油烟",
        reopen=True,
    )
    reopen = Event(
        new_id(),
        order.id,
        EventKind.REOPEN,
        T0 + timedelta(days=1),
        T0 + timedelta(days=1, seconds=1),
        actor="9101",
        round=2,
    )
    events = [intake, routed, arrive, resolve, follow, reopen]
    with storage.transaction() as tx:
        tx.add_work_order(order)
        for e in reversed(events):
            assert tx.add_work_order_event(e) is True
        assert tx.add_work_order_event(replace(intake, actor="other")) is False
    with storage.transaction(readonly=True) as tx:
        listed = tx.work_order_events(order.id)
        # in HQ's receive sequence (inserted last to first here), each numbered 1, 2, … as it came in
        stored = [replace(e, seq=n) for n, e in enumerate(reversed(events), 1)]
        assert listed == stored
        for e in stored:
            assert tx.get_work_order_event(e.id) == e
        assert tx.get_work_order_event("nope") is None
        assert tx.work_order_events("nope") == []
    assert listed[0].actor == "9101"  # the duplicate changed nothing


def test_partners_are_upserted_by_name_and_found_by_key_hash(storage: Storage) -> None:
    with storage.transaction(readonly=True) as tx:
        assert tx.list_partners() == []
        assert tx.partner_by_key("a" * 64) is None
    with storage.transaction() as tx:
        tx.put_partner(PartnerRow("12345平台", "a" * 64, T0, True))
        tx.put_partner(PartnerRow("城市大脑", "b" * 64, T0 + timedelta(days=1), True))
    with storage.transaction() as tx:
        tx.put_partner(PartnerRow("12345平台", "c" * 64, T0 + timedelta(days=2), False))  # re-keyed
    with storage.transaction(readonly=True) as tx:
        assert tx.partner_by_key("a" * 64) is None
        rekeyed = tx.partner_by_key("c" * 64)
        assert rekeyed == PartnerRow("12345平台", "c" * 64, T0, False)  # created_at kept
        assert tx.partner_by_key("b" * 64) == PartnerRow("城市大脑", "b" * 64, T0 + timedelta(days=1), True)
        assert [p.name for p in tx.list_partners()] == ["12345平台", "城市大脑"]


def test_timers_are_one_document_replaced(storage: Storage) -> None:
    with storage.transaction(readonly=True) as tx:
        assert tx.get_work_order_timers() is None
    doc = {
        "default": {"arrive_s": 3600, "resolve_s": 172800},
        "overrides": {"12345|0510": {"arrive_s": 1800}},
    }
    with storage.transaction() as tx:
        tx.set_work_order_timers(doc, T0)
    with storage.transaction(readonly=True) as tx:
        assert tx.get_work_order_timers() == doc
    with storage.transaction() as tx:
        tx.set_work_order_timers({"default": {"arrive_s": 600}}, T0 + timedelta(days=1))
    with storage.transaction(readonly=True) as tx:
        assert tx.get_work_order_timers() == {"default": {"arrive_s": 600}}
