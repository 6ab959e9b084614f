"""``StagedHistory.decide`` decides as ``compute_stage`` does (everything but the excluded list), over
random histories (versions, voided and withdrawn cases, other violations, duplicates, times across
midnight and years, UTC and local offsets) and random policies."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from enforcement.model import LOCAL_TZ, CaseStatus, HistoryEntry, Stage
from enforcement.restaging import StagedHistory
from enforcement.staging import Scope, StagePolicy, compute_stage

NOW = datetime(2026, 11, 22, 21, 30, tzinfo=LOCAL_TZ)
CODES = ["0510", "0501", "0101"]
CASE_NOS = [f"ZD01-1023-261122-K7Q2M-{n:04d}" for n in range(8)]

_minutes = st.integers(-800 * 24 * 60, 10 * 24 * 60)


@st.composite
def entries(draw: st.DrawFn) -> HistoryEntry:
    when = NOW + timedelta(minutes=draw(_minutes))
    return HistoryEntry(
        case_id=f"c{draw(st.integers(0, 12))}",
        case_no=draw(st.sampled_from(CASE_NOS)),
        violation_code=draw(st.sampled_from(CODES)),
        occurred_at=when.astimezone(UTC) if draw(st.booleans()) else when,
        stage=draw(st.sampled_from(list(Stage))),
        status=draw(st.sampled_from(list(CaseStatus))),
        version=draw(st.integers(1, 3)),
    )


policies = st.builds(
    StagePolicy,
    window_days=st.integers(0, 400),
    scope=st.sampled_from(list(Scope)),
    aggravate_over=st.none() | st.integers(1, 4),
    first_violation_exempt=st.frozensets(st.sampled_from(CODES), max_size=2),
    version=st.integers(0, 3),
)


@settings(max_examples=400)
@given(
    history=st.lists(entries(), max_size=25),
    asks=st.lists(
        st.tuples(st.sampled_from(CODES), _minutes, st.none() | st.sampled_from(CASE_NOS), policies),
        min_size=1,
        max_size=6,
    ),
)
def test_decide_equals_compute_stage_but_for_the_excluded(
    history: list[HistoryEntry], asks: list[tuple[str, int, str | None, StagePolicy]]
) -> None:
    staged = StagedHistory(history)
    for code, minutes, case_no, policy in asks:  # several decisions over one prepared history
        when = NOW + timedelta(minutes=minutes)
        expected = compute_stage(code, when, history, policy, case_no=case_no)
        got = staged.decide(code, when, policy, case_no=case_no)
        assert got == replace(expected, excluded=())
        assert (got.explain("zh"), got.explain("en")) == (expected.explain("zh"), expected.explain("en"))


def test_a_long_history_is_decided_for_each_later_case() -> None:
    """A subject with 600 cases of one violation, one a day, and a late one before them all: each later
    case's ordinal is its place in time, counted within the 365-day window."""
    start = NOW - timedelta(days=700)
    history = [
        HistoryEntry(
            f"c{n}",
            f"ZD01-1023-K7Q2M-{n:04d}",
            "0510",
            start + timedelta(days=n),
            Stage.PENALTY,
            CaseStatus.ACTIVE,
            1,
        )
        for n in range(600)
    ]
    late = HistoryEntry("late", "ZD01-1023-K7Q2M-late", "0510", start - timedelta(hours=1), Stage.PERSUASION,
                        CaseStatus.ACTIVE, 1)  # fmt: skip
    staged = StagedHistory([*history, late])
    policy = StagePolicy()
    for n in (0, 1, 2, 364, 365, 366, 599):
        decision = staged.decide("0510", history[n].occurred_at, policy, case_no=history[n].case_no)
        in_window = min(n, 365) + (1 if n <= 365 else 0)  # the earlier cases of the window, the late one too
        assert decision.ordinal == in_window + 1
        assert decision.counted[-1] == (history[n - 1] if n else late)
