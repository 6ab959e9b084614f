"""Work orders (enforcement.workorders): transitions, timers in HQ time, convergence over any arrival order,
and no phone clock making an order on time."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from enforcement.workorders import (
    DEFAULT_TIMERS,
    MAX_OFFSET,
    Closure,
    Event,
    EventKind,
    Satisfaction,
    Source,
    Stage,
    Timer,
    WorkOrderError,
    can_transition,
    check_resolution,
    corrected_at,
    figures,
    mask_name,
    mask_phone,
    parse_timers,
    replay,
)

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
OID = "wo-1"


def hq(kind: EventKind, minutes: float, eid: str, round_: int = 1, **kw: object) -> Event:
    at = T0 + timedelta(minutes=minutes)
    return Event(eid, OID, kind, at, at, actor=str(kw.pop("actor", "desk")), round=round_, **kw)  # type: ignore[arg-type]


def phone(
    kind: EventKind, true_minutes: float, eid: str, *, skew_s: float = 0.0, offset_s: float | None = 0.0,
    received_after_min: float = 1.0, round_: int = 1, **kw: object,
) -> Event:  # fmt: skip
    """A phone event that truly happened at ``true_minutes``; the phone's clock is ``skew_s`` ahead."""
    truth = T0 + timedelta(minutes=true_minutes)
    return Event(
        eid, OID, kind, truth + timedelta(seconds=skew_s), truth + timedelta(minutes=received_after_min),
        actor="1023", round=round_, from_phone=True, offset_s=offset_s, **kw,  # type: ignore[arg-type]
    )  # fmt: skip


def base_events() -> list[Event]:
    return [
        hq(EventKind.INTAKE, 0, "e-intake"),
        hq(EventKind.ROUTE, 1, "e-route", squad="ZD01"),
        hq(EventKind.ASSIGN, 2, "e-assign", officer="1023"),
    ]


def test_a_full_life_on_time() -> None:
    events = [
        *base_events(),
        phone(EventKind.ARRIVE, 40, "e-arrive", distance_m=20.0),
        phone(
            EventKind.RESOLVE,
            90,
            "e-resolve",
            closure=Closure.SELF_CORRECTED,
            note="已整改",
            photos=("a" * 64,),
        ),
        hq(EventKind.FOLLOW_UP, 600, "e-fu", satisfaction=Satisfaction.SATISFIED),
    ]
    state = replay(events)
    assert state.stage is Stage.FOLLOWED_UP
    assert state.squad == "ZD01"
    assert state.officer == "1023"
    assert state.first.arrived_on_time
    assert state.first.resolved_on_time
    assert not state.overdue(T0 + timedelta(days=30))
    fig = figures([state], T0)
    assert fig.line() == (
        "受理热线投诉 1 件，1 小时内到场 1 件（到场率 100.0%），"
        "两日内办结 1 件（办结率 100.0%），回访满意率 100.0%"
    )


def test_late_arrival_is_overdue_and_not_on_time() -> None:
    state = replay(base_events())
    assert state.stage is Stage.DISPATCHED
    assert not state.overdue(T0 + timedelta(minutes=59))
    assert state.overdue(T0 + timedelta(minutes=61))
    late = replay([*base_events(), phone(EventKind.ARRIVE, 75, "e-arrive")])
    assert late.stage is Stage.ARRIVED
    assert not late.first.arrived_on_time


def test_far_arrival_is_flagged_not_refused() -> None:
    state = replay([*base_events(), phone(EventKind.ARRIVE, 10, "e-a", distance_m=900.0)])
    assert state.stage is Stage.ARRIVED
    assert state.first.far


def test_reassignment_is_recorded() -> None:
    state = replay([*base_events(), hq(EventKind.ASSIGN, 5, "e-re", officer="1024")])
    assert state.officer == "1024"
    assert state.reassignments == 1


def test_unsatisfied_reopens_a_new_round_of_the_same_order() -> None:
    events = [
        *base_events(),
        phone(EventKind.RESOLVE, 30, "e-r", closure=Closure.CASE, case_id="case-1"),
        hq(EventKind.FOLLOW_UP, 300, "e-fu", satisfaction=Satisfaction.UNSATISFIED, comment="还在摆"),
        hq(EventKind.REOPEN, 301, "e-reopen", round_=2),
    ]
    state = replay(events)
    assert can_transition(replay(events[:-1]), EventKind.REOPEN)
    assert state.stage is Stage.DISPATCHED
    assert len(state.rounds) == 2
    assert state.order_id == OID
    assert state.current.arrive_due == T0 + timedelta(minutes=301) + timedelta(hours=1)
    assert state.first.satisfaction is Satisfaction.UNSATISFIED
    again = replay([*events, phone(EventKind.ARRIVE, 320, "e-a2", round_=2)])
    assert again.stage is Stage.ARRIVED
    assert again.current.arrived_on_time


def test_resolution_rules() -> None:
    check_resolution(Closure.CASE, "case-1", "", ())
    for closure, case_id, note, photos, dept in [
        (None, "", "", (), ""),
        (Closure.CASE, "", "", (), ""),
        (Closure.NO_VIOLATION, "", "", ("a" * 64,), ""),
        (Closure.NO_VIOLATION, "", "现场无人", (), ""),
        (Closure.TRANSFERRED, "", "交市场监管", ("a" * 64,), ""),
    ]:
        with pytest.raises(WorkOrderError):
            check_resolution(closure, case_id, note, photos, dept)
    check_resolution(Closure.TRANSFERRED, "", "属市场监管", ("a" * 64,), "市场监管局")


def test_timers_are_data_per_source_and_category() -> None:
    overrides = {"12319|03": {"arrive_s": 7200}, "|0510": {"resolve_s": 86400}}
    timers = parse_timers({"default": {"arrive_s": 3600}, "overrides": overrides})
    assert timers.for_order(Source.HOTLINE_12319, "0302").arrive == timedelta(hours=2)
    assert timers.for_order(Source.HOTLINE_12345, "0510").resolve == timedelta(days=1)
    assert timers.for_order(Source.WALK_IN, "0101") == Timer()
    assert parse_timers(timers.to_json()) == timers
    with pytest.raises(WorkOrderError):
        parse_timers({"overrides": {"nope|05": {}}})
    assert DEFAULT_TIMERS.default.arrive == timedelta(hours=1)


def test_masking() -> None:
    assert mask_name("张三") == "张*"
    assert mask_name("欧阳娜娜") == "欧***"
    assert mask_phone("138 1234 5678") == "138****5678"
    assert "1234" not in mask_phone("13812345678")[3:7]


# ------------------------------------------------------------------------------------------- properties

minutes = st.floats(min_value=3, max_value=4000, allow_nan=False)
skews = st.floats(min_value=-3 * 86400, max_value=3 * 86400, allow_nan=False)


@st.composite
def histories(draw: st.DrawFn) -> list[Event]:
    events = base_events()
    if draw(st.booleans()):
        events.append(hq(EventKind.ASSIGN, draw(st.floats(3, 30)), "e-re", officer="1024"))
    skew = draw(skews)
    knows = draw(st.booleans())
    arrive = draw(minutes)
    late, far = draw(st.floats(0, 3000)), draw(st.floats(0, 2000))
    offset = -skew if knows else None
    events.append(
        phone(
            EventKind.ARRIVE,
            arrive,
            "e-a",
            skew_s=skew,
            offset_s=offset,
            received_after_min=late,
            distance_m=far,
        )
    )
    if draw(st.booleans()):
        resolve = arrive + draw(st.floats(0, 4000))
        events.append(phone(EventKind.RESOLVE, resolve, "e-r", skew_s=skew, offset_s=-skew if knows else None,
                            closure=Closure.CASE, case_id="c1"))  # fmt: skip
        if draw(st.booleans()):
            fu = resolve + draw(st.floats(1, 4000)) + 3000
            sat = draw(st.sampled_from(list(Satisfaction)))
            events.append(hq(EventKind.FOLLOW_UP, fu, "e-fu", satisfaction=sat))
            if sat is Satisfaction.UNSATISFIED and draw(st.booleans()):
                events.append(hq(EventKind.REOPEN, fu + 1, "e-reopen", round_=2))
                events.append(phone(EventKind.ARRIVE, fu + draw(st.floats(2, 200)), "e-a2", round_=2))
    return events


@settings(max_examples=200, deadline=None)
@given(histories(), st.randoms(use_true_random=False), st.integers(0, 3))
def test_any_arrival_order_and_duplicates_converge(events: list[Event], rnd: object, dupes: int) -> None:
    expected = replay(events)
    shuffled = list(events) + [events[i % len(events)] for i in range(dupes)]
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    assert replay(shuffled) == expected


@settings(max_examples=300, deadline=None)
@given(
    arrive=st.floats(min_value=61, max_value=5000),
    ahead_s=st.floats(min_value=0, max_value=10 * 86400),
    stale_s=st.floats(min_value=0, max_value=10 * 86400),
    knows=st.booleans(),
    delay=st.floats(min_value=0, max_value=3000),
)
def test_a_phone_clock_ahead_never_makes_a_late_order_on_time(
    arrive: float, ahead_s: float, stale_s: float, knows: bool, delay: float
) -> None:
    """Truly late (arrival after 1 h): the phone clock ``ahead_s`` ahead; the offset it knows is correct or
    stale from before its clock jumped further ahead (it then corrects too little), or unknown."""
    offset = -(ahead_s - stale_s) if knows else None
    event = phone(EventKind.ARRIVE, arrive, "e-a", skew_s=ahead_s, offset_s=offset, received_after_min=delay)
    state = replay([*base_events(), event])
    assert not state.first.arrived_on_time
    assert state.first.arrived_at is not None
    assert state.first.arrived_at >= T0 + timedelta(minutes=arrive)


@settings(max_examples=300, deadline=None)
@given(skew=skews, offset=st.one_of(st.none(), skews), delay=st.floats(0, 3000), arrive=minutes)
def test_corrected_time_stays_within_what_hq_knows(
    skew: float, offset: float | None, delay: float, arrive: float
) -> None:
    event = phone(EventKind.ARRIVE, arrive, "e-a", skew_s=skew, offset_s=offset, received_after_min=delay)
    floor = T0 + timedelta(minutes=2)
    when = corrected_at(event, floor)
    assert floor <= when <= event.received_at or when == event.received_at
    if offset is None or abs(offset) > MAX_OFFSET.total_seconds():
        assert when == event.received_at
    state = replay([*base_events(), event])
    assert state.first.arrived_at is not None
    assert state.first.arrived_at >= floor


# ------------------------------------------------------------------------------ same-instant tie-break

#: A coarse clock: HQ events fall on a few whole minutes, so events of one kind often share an instant.
coarse = st.integers(min_value=0, max_value=3)


@st.composite
def stored_histories(draw: st.DrawFn) -> list[Event]:
    """An order as HQ stored it: a coarse clock (ties), reassignments and reroutes in one instant, phone
    events with any clock and offset, each event numbered by HQ in a drawn receive order (``seq``)."""
    events = [hq(EventKind.INTAKE, 0, "intake")]
    for n in range(draw(st.integers(1, 4))):
        squad = draw(st.sampled_from(["A", "B"]))
        events.append(hq(EventKind.ROUTE, draw(coarse), f"route-{n}", squad=squad))
    for n in range(draw(st.integers(1, 4))):
        officer = draw(st.sampled_from(["1023", "1024", "1025"]))
        events.append(hq(EventKind.ASSIGN, draw(coarse), f"assign-{n}", officer=officer))
    skew = draw(skews)
    offset = draw(st.one_of(st.none(), st.just(-skew), skews))
    for n in range(draw(st.integers(0, 2))):
        events.append(
            phone(EventKind.ARRIVE, draw(minutes), f"arrive-{n}", skew_s=skew, offset_s=offset,
                  received_after_min=draw(st.floats(0, 3000)), distance_m=draw(st.floats(0, 900)))
        )  # fmt: skip
    if draw(st.booleans()):
        closure = draw(st.sampled_from([Closure.NO_VIOLATION, Closure.SELF_CORRECTED]))
        for n in range(draw(st.integers(1, 2))):
            events.append(
                phone(EventKind.RESOLVE, draw(minutes), f"resolve-{n}", skew_s=skew, offset_s=offset,
                      closure=closure, note=f"n{n}", photos=(f"p{n}",))
            )  # fmt: skip
    received = draw(st.permutations(range(len(events))))
    return [replace(e, seq=received[i] + 1) for i, e in enumerate(events)]


@settings(max_examples=300, deadline=None)
@given(stored_histories(), st.randoms(use_true_random=False), st.integers(0, 3), st.data())
def test_the_fold_is_the_same_for_any_arrival_order_and_any_event_ids(
    events: list[Event], rnd: object, dupes: int, data: st.DataObject
) -> None:
    """Every replica folds one stored order alike: the outcome depends neither on the order the events are
    read in (shuffled, duplicated) nor on their random ids (relabelled at random, HQ's sequence kept)."""
    expected = replay(events)
    shuffled = list(events) + [events[i % len(events)] for i in range(dupes)]
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    assert replay(shuffled) == expected
    ids = data.draw(st.lists(st.uuids().map(str), min_size=len(events), max_size=len(events), unique=True))
    relabelled = [replace(e, id=i) for e, i in zip(events, ids, strict=True)]
    rnd.shuffle(relabelled)  # type: ignore[attr-defined]
    assert replay(relabelled) == expected


@settings(max_examples=200, deadline=None)
@given(stored_histories())
def test_same_instant_hq_events_fold_in_hqs_receive_order(events: list[Event]) -> None:
    """Of the routes and assignments at the latest instant, the one HQ stored last decides the squad and
    the officer (the fold's tie-break is HQ's receive sequence, never the id)."""
    state = replay(events)
    for kind, attr in ((EventKind.ROUTE, "squad"), (EventKind.ASSIGN, "officer")):
        mine = [e for e in events if e.kind is kind]
        last = max(mine, key=lambda e: (e.at, e.seq))
        assert getattr(state, attr) == getattr(last, attr)


def test_two_assignments_in_one_instant_keep_the_later_received() -> None:
    first = hq(EventKind.ASSIGN, 2, "zzz", officer="1024")
    second = hq(EventKind.ASSIGN, 2, "aaa", officer="1025")
    base = [hq(EventKind.INTAKE, 0, "intake", seq=1), replace(first, seq=2), replace(second, seq=3)]
    assert replay(base).officer == "1025"  # the id "aaa" sorts first, HQ received it last: it stands
    assert replay(base).reassignments == 1
    swapped = [base[0], replace(first, seq=3), replace(second, seq=2)]
    assert replay(swapped).officer == "1024"
