"""Opening hours of 疏导点: overnight spans, the week's wrap Sunday → Monday, whole days, merged spans."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from enforcement.hours import HoursError, OpeningHours
from enforcement.model import LOCAL_TZ

# 2026-12-07 is a Monday
MON = datetime(2026, 12, 7, tzinfo=LOCAL_TZ)


def at(day: int, hh: int, mm: int = 0) -> datetime:
    return MON + timedelta(days=day, hours=hh, minutes=mm)


def test_a_plain_evening_span() -> None:
    hours = OpeningHours.parse({"daily": ["17:00-22:00"]})
    assert not hours.open_at(at(0, 16, 59))
    assert hours.open_at(at(0, 17))
    assert hours.closes_at(at(0, 18)) == at(0, 22)
    assert not hours.open_at(at(0, 22))  # the end is exclusive
    assert hours.next_opening(at(0, 22)) == at(1, 17)
    assert hours.next_opening(at(0, 12)) == at(0, 17)


def test_overnight_span_runs_into_the_next_day() -> None:
    hours = OpeningHours.parse({"fri": ["22:00-02:00"]})
    assert hours.open_at(at(4, 23))
    assert hours.open_at(at(5, 1, 59))  # Saturday morning, on Friday's span
    assert hours.closes_at(at(5, 1)) == at(5, 2)
    assert not hours.open_at(at(5, 2))
    assert not hours.open_at(at(4, 1))  # Friday morning: Thursday had no span
    assert hours.next_opening(at(5, 3)) == at(11, 22)  # next Friday


def test_sunday_night_wraps_to_monday() -> None:
    hours = OpeningHours.parse({"sun": ["22:00-02:00"]})
    monday_1am = at(7, 1)  # the Monday after Sunday 13 Dec
    assert hours.open_at(monday_1am)
    assert hours.closes_at(monday_1am) == at(7, 2)
    assert hours.open_at(at(0, 1))  # Monday the 7th: the Sunday before
    assert hours.next_opening(at(0, 3)) == at(6, 22)


def test_touching_spans_are_one_opening() -> None:
    hours = OpeningHours.parse({"sat": ["18:00-24:00"], "sun": ["00:00-02:00"]})
    assert hours.closes_at(at(5, 20)) == at(6, 2)
    assert hours.open_at(at(6, 0))


def test_whole_day_and_a_day_without_hours() -> None:
    hours = OpeningHours.parse({"daily": ["00:00-24:00"], "wed": []})
    assert hours.open_at(at(0, 3))
    assert hours.closes_at(at(1, 12)) == at(2, 0)  # Tuesday runs out at Wednesday's midnight
    assert not hours.open_at(at(2, 12))
    assert hours.next_opening(at(2, 12)) == at(3, 0)


def test_other_time_zones_are_read_as_local_time() -> None:
    hours = OpeningHours.parse({"daily": ["17:00-22:00"]})
    utc = (at(0, 18)).astimezone(tz=None)
    assert hours.open_at(utc)


def test_never_open() -> None:
    hours = OpeningHours.parse({})
    assert hours.always_closed
    assert hours.next_opening(at(0, 0)) is None
    assert hours.closes_at(at(0, 0)) is None


@pytest.mark.parametrize(
    "bad",
    [["5pm-10pm"], ["25:00-02:00"], ["10:60-11:00"], ["24:30-01:00"], "x" * 3, {"fri": 1}],
)
def test_bad_hours_are_refused(bad: object) -> None:
    with pytest.raises(HoursError):
        OpeningHours.parse({"mon": bad} if not isinstance(bad, dict) else bad)


def test_unknown_day_key_and_too_many_spans() -> None:
    with pytest.raises(HoursError):
        OpeningHours.parse({"monday": ["10:00-11:00"]})
    with pytest.raises(HoursError):
        OpeningHours.parse({"mon": ["10:00-11:00"] * 9})


span = st.tuples(
    st.integers(0, 23), st.sampled_from([0, 15, 30, 45]), st.integers(0, 24), st.sampled_from([0, 30])
)


@given(st.dictionaries(st.sampled_from(["mon", "tue", "wed", "thu", "fri", "sat", "sun"]),
                       st.lists(span, max_size=3), max_size=7),
       st.integers(0, 7 * 24 * 60 - 1))  # fmt: skip
@settings(max_examples=200, deadline=None)
@example({"sun": [(0, 0, 0, 0)], "mon": [(0, 0, 0, 0)]}, 6 * 1440)  # open all Sunday and Monday
def test_open_at_agrees_with_minute_by_minute_expansion(spec: dict, minute: int) -> None:
    text = {d: [f"{a:02d}:{b:02d}-{c:02d}:{(e if c < 24 else 0):02d}" for a, b, c, e in spans]
            for d, spans in spec.items()}  # fmt: skip
    hours = OpeningHours.parse(text)
    # the oracle: mark every minute of three weeks (the week before, for spans running into Monday; the week
    # after, for a span that runs past Sunday midnight into the next Monday and beyond)
    open_minutes = set()
    for week in (0, 1, 2):
        for d, spans in enumerate(hours.week):
            for s in spans:
                base = (week * 7 + d) * 1440
                open_minutes.update(range(base + s.start, base + s.end))
    now = MON + timedelta(days=7, minutes=minute)
    assert hours.open_at(now) == (7 * 1440 + minute in open_minutes)
    closes = hours.closes_at(now)
    if closes is not None:
        end = int((closes - MON).total_seconds() // 60)
        assert end - 1 in open_minutes
        assert end not in open_minutes
