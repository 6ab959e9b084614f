import random
from datetime import UTC, date, datetime, time, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from enforcement.model import (
    LOCAL_TZ,
    CaseStatus,
    CaseValidationError,
    HistoryEntry,
    Stage,
    StageChoiceError,
    new_id,
)
from enforcement.staging import (
    ExclusionReason,
    Scope,
    StagePolicy,
    choose_stage,
    compute_stage,
    ordinal_text,
    stage_name,
)

NOW = datetime(2026, 11, 22, 21, 30, tzinfo=LOCAL_TZ)


def at(day: date, hour: int = 20) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=LOCAL_TZ)


def entry(
    when: datetime,
    code: str = "0510",
    stage: Stage = Stage.PERSUASION,
    *,
    case_no: str | None = None,
    status: CaseStatus = CaseStatus.ACTIVE,
    version: int = 1,
) -> HistoryEntry:
    return HistoryEntry(
        case_id=new_id(),
        case_no=case_no or f"ZD01-1023-{when:%y%m%d}-K7Q2M-{new_id()[:4]}",
        violation_code=code,
        occurred_at=when,
        stage=stage,
        status=status,
        version=version,
    )


def reasons(decision_excluded: tuple[tuple[HistoryEntry, ExclusionReason], ...]) -> list[ExclusionReason]:
    return [reason for _, reason in decision_excluded]


# --- the plain rule -------------------------------------------------------------------------------------


def test_first_case_is_persuasion() -> None:
    decision = compute_stage("0510", NOW, [])
    assert (decision.stage, decision.ordinal, decision.repeated) == (Stage.PERSUASION, 1, False)
    assert decision.explain() == "第1次 · 劝导"
    assert decision.explain("en") == "1st · Persuasion"
    assert decision.details() == []


def test_third_case_is_penalty_and_explained() -> None:
    history = [
        entry(at(date(2026, 11, 1)), stage=Stage.WARNING),
        entry(at(date(2026, 10, 2)), stage=Stage.PERSUASION),
    ]
    decision = compute_stage("0510", NOW, history)
    assert (decision.stage, decision.ordinal) == (Stage.PENALTY, 3)
    assert decision.explain("zh") == "第3次 · 处罚：10-02 劝导，11-01 警告"
    assert decision.explain("en") == "3rd · Penalty: 10-02 Persuasion, 11-01 Warning"


def test_fourth_and_later_are_penalty_again() -> None:
    history = [entry(at(date(2026, 9, d)), stage=Stage.PENALTY) for d in (1, 2, 3, 4)]
    decision = compute_stage("0510", NOW, history)
    assert (decision.stage, decision.ordinal, decision.repeated) == (Stage.PENALTY, 5, True)
    assert decision.explain("en").startswith("5th · Penalty: ")


def test_a_long_history_is_explained_by_its_latest_cases() -> None:
    """A subject caught 40 times: the line names the 5 latest and how many it leaves out (the ordinal has
    the total; ``details`` lists them all), so what HQ stores and sends per case stays short."""
    history = [entry(at(date(2026, 9, 1) + timedelta(days=d)), stage=Stage.PENALTY) for d in range(40)]
    decision = compute_stage("0510", NOW, history)
    assert decision.ordinal == 41
    assert decision.explain("zh") == (
        "第41次 · 处罚：更早35次从略，10-06 处罚，10-07 处罚，10-08 处罚，10-09 处罚，10-10 处罚"
    )
    assert decision.explain("en") == (
        "41st · Penalty: 35 earlier not listed, 10-06 Penalty, 10-07 Penalty, 10-08 Penalty, 10-09 Penalty,"
        " 10-10 Penalty"
    )
    assert len(decision.details("en")) == 40
    five = compute_stage("0510", NOW, history[-5:])
    assert "从略" not in five.explain("zh")
    assert five.explain("zh").count("处罚") == 6


def test_subcategory_scope_ignores_other_codes_category_scope_counts_them() -> None:
    history = [entry(at(date(2026, 10, 1)), "0501"), entry(at(date(2026, 11, 1)), "0101")]
    sub = compute_stage("0510", NOW, history)
    assert sub.ordinal == 1
    assert reasons(sub.excluded) == [ExclusionReason.OTHER_VIOLATION] * 2
    cat = compute_stage("0510", NOW, history, StagePolicy(scope=Scope.CATEGORY))
    assert cat.ordinal == 2
    assert cat.counted[0].violation_code == "0501"
    assert reasons(cat.excluded) == [ExclusionReason.OTHER_VIOLATION]


def test_later_case_does_not_count() -> None:
    later = entry(NOW + timedelta(minutes=1))
    same_moment = entry(NOW)
    decision = compute_stage("0510", NOW, [later, same_moment])
    assert decision.counted == (same_moment,)
    assert decision.excluded == ((later, ExclusionReason.LATER),)


def test_window_counts_local_calendar_days() -> None:
    boundary = date(2025, 11, 22)  # 365 days before 2026-11-22
    early_morning = entry(at(boundary, 0))  # 00:00 local; 2025-11-21 16:00 UTC
    day_before = entry(at(boundary - timedelta(days=1), 23))
    decision = compute_stage("0510", NOW, [early_morning, day_before])
    assert decision.counted == (early_morning,)
    assert decision.excluded == ((day_before, ExclusionReason.OUTSIDE_WINDOW),)
    assert "超出365天回溯期" in decision.details("zh")[1]


def test_utc_times_are_judged_by_local_day() -> None:
    # 2025-11-21 16:30 UTC is 2025-11-22 00:30 in the bureau: inside the window.
    utc = entry(datetime(2025, 11, 21, 16, 30, tzinfo=UTC))
    assert compute_stage("0510", NOW, [utc]).ordinal == 2


def test_voided_and_withdrawn_never_count() -> None:
    voided = entry(at(date(2026, 10, 1)), status=CaseStatus.VOIDED)
    withdrawn = entry(at(date(2026, 10, 2)), status=CaseStatus.WITHDRAWN)
    decision = compute_stage("0510", NOW, [voided, withdrawn])
    assert decision.ordinal == 1
    assert reasons(decision.excluded) == [ExclusionReason.VOIDED, ExclusionReason.WITHDRAWN]
    assert decision.details("en")[0].endswith("voided, not counted")
    assert "审核撤销" in decision.details("zh")[1]


def test_only_the_latest_version_speaks() -> None:
    v1 = entry(at(date(2026, 10, 1)), case_no="C-1")
    v2 = HistoryEntry(new_id(), "C-1", "0510", v1.occurred_at, Stage.WARNING, version=2)
    decision = compute_stage("0510", NOW, [v2, v1])
    assert decision.counted == (v2,)
    assert decision.excluded == ((v1, ExclusionReason.SUPERSEDED),)


def test_a_case_voided_in_its_latest_version_does_not_count() -> None:
    v1 = entry(at(date(2026, 10, 1)), case_no="C-1")
    v2 = HistoryEntry(new_id(), "C-1", "0510", v1.occurred_at, Stage.PERSUASION, CaseStatus.VOIDED, 2)
    decision = compute_stage("0510", NOW, [v1, v2])
    assert decision.ordinal == 1
    assert sorted(reasons(decision.excluded)) == sorted([ExclusionReason.SUPERSEDED, ExclusionReason.VOIDED])


def test_an_amended_case_moved_to_another_violation_no_longer_counts() -> None:
    v1 = entry(at(date(2026, 10, 1)), "0510", case_no="C-1")
    v2 = HistoryEntry(new_id(), "C-1", "0501", v1.occurred_at, Stage.PERSUASION, version=2)
    assert compute_stage("0510", NOW, [v1, v2]).ordinal == 1


def test_the_case_being_amended_never_counts() -> None:
    own_v1 = entry(at(date(2026, 11, 22), 19), case_no="C-9")
    own_v2 = HistoryEntry(new_id(), "C-9", "0510", own_v1.occurred_at, Stage.PERSUASION, version=2)
    other = entry(at(date(2026, 11, 1)))
    decision = compute_stage("0510", NOW, [own_v1, own_v2, other], case_no="C-9")
    assert decision.counted == (other,)
    assert reasons(decision.excluded) == [ExclusionReason.SAME_CASE] * 2


def test_details_lists_counted_then_excluded() -> None:
    counted = entry(at(date(2026, 10, 2)), case_no="C-1")
    other = entry(at(date(2026, 10, 3)), "0501", case_no="C-2")
    lines = compute_stage("0510", NOW, [other, counted]).details("zh")
    assert lines == ["2026-10-02 C-1：劝导，计入", "2026-10-03 C-2：违法类型不同（0501），不计入"]


def test_naive_time_is_refused() -> None:
    with pytest.raises(CaseValidationError, match="time zone"):
        compute_stage("0510", datetime(2026, 11, 22, 21, 30), [])


def test_negative_window_is_refused() -> None:
    with pytest.raises(ValueError, match="window_days"):
        StagePolicy(window_days=-1)


def test_names() -> None:
    assert [stage_name(s) for s in Stage] == ["劝导", "警告", "处罚"]
    assert [stage_name(s, "en") for s in Stage] == ["Persuasion", "Warning", "Penalty"]
    assert [ordinal_text(n, "en") for n in (1, 2, 3, 4, 11, 12, 13, 21, 22, 101, 111)] == [
        "1st",
        "2nd",
        "3rd",
        "4th",
        "11th",
        "12th",
        "13th",
        "21st",
        "22nd",
        "101st",
        "111th",
    ]
    assert ordinal_text(4) == "第4次"


# --- choose_stage ---------------------------------------------------------------------------------------


def test_choose_computed_stage_needs_no_reason() -> None:
    decision = compute_stage("0510", NOW, [])
    assert choose_stage(decision, Stage.PERSUASION, "  anything ") == ""


def test_choose_other_stage_returns_cleaned_reason() -> None:
    decision = compute_stage("0510", NOW, [])
    assert choose_stage(decision, Stage.PENALTY, "  拒不改正\n 暴力抗法 ") == "拒不改正 暴力抗法"
    assert choose_stage(decision, 2, "首违不罚不适用") == "首违不罚不适用"  # type: ignore[arg-type]


@pytest.mark.parametrize("reason", ["", "    ", "太忙", "a  b c"])
def test_choose_other_stage_without_reason_is_refused(reason: str) -> None:
    decision = compute_stage("0510", NOW, [entry(at(date(2026, 11, 1)))])
    with pytest.raises(StageChoiceError) as err:
        choose_stage(decision, Stage.PERSUASION, reason)
    assert err.value.field == "stage_override_reason"
    assert "警告" in err.value.zh
    assert "劝导" in err.value.zh


def test_choose_invalid_stage() -> None:
    decision = compute_stage("0510", NOW, [])
    with pytest.raises(StageChoiceError) as err:
        choose_stage(decision, 4, "理由充分的说明")  # type: ignore[arg-type]
    assert err.value.field == "chosen_stage"


# --- properties -----------------------------------------------------------------------------------------

offsets = st.integers(min_value=0, max_value=800)  # days before NOW
entries = st.builds(
    lambda days, minute, code, status, stage: entry(
        NOW - timedelta(days=days, minutes=minute), code, stage, status=status
    ),
    offsets,
    st.integers(min_value=-120, max_value=120),
    st.sampled_from(["0510", "0501", "0306"]),
    st.sampled_from(list(CaseStatus)),
    st.sampled_from(list(Stage)),
)
histories = st.lists(entries, max_size=12)
policies = st.builds(StagePolicy, st.integers(min_value=0, max_value=400), st.sampled_from(list(Scope)))


@given(histories, policies, st.randoms(use_true_random=False))
def test_input_order_is_irrelevant(
    history: list[HistoryEntry], policy: StagePolicy, rnd: random.Random
) -> None:
    shuffled = list(history)
    rnd.shuffle(shuffled)
    assert compute_stage("0510", NOW, history, policy) == compute_stage("0510", NOW, shuffled, policy)


@given(histories, policies)
def test_stage_follows_count_and_never_exceeds_penalty(
    history: list[HistoryEntry], policy: StagePolicy
) -> None:
    decision = compute_stage("0510", NOW, history, policy)
    assert decision.ordinal == len(decision.counted) + 1
    assert decision.stage == min(decision.ordinal, 3)
    assert decision.stage <= Stage.PENALTY
    assert decision.repeated == (decision.ordinal > 3)
    assert len(decision.counted) + len(decision.excluded) == len(history)
    for counted in decision.counted:
        assert counted.status == CaseStatus.ACTIVE


@given(histories, policies, entries)
def test_monotonic_in_history(history: list[HistoryEntry], policy: StagePolicy, extra: HistoryEntry) -> None:
    before = compute_stage("0510", NOW, history, policy)
    after = compute_stage("0510", NOW, [*history, extra], policy)
    assert after.ordinal >= before.ordinal
    assert after.stage >= before.stage
    assert after.ordinal - before.ordinal <= 1


@given(histories, policies)
def test_voided_and_withdrawn_are_ignored(history: list[HistoryEntry], policy: StagePolicy) -> None:
    active = [e for e in history if e.status == CaseStatus.ACTIVE]
    assert (
        compute_stage("0510", NOW, history, policy).counted
        == compute_stage("0510", NOW, active, policy).counted
    )


@given(histories, st.integers(min_value=1, max_value=4))
def test_duplicates_of_one_case_count_once(history: list[HistoryEntry], copies: int) -> None:
    repeated = [e for e in history for _ in range(copies)]
    assert compute_stage("0510", NOW, repeated) == compute_stage("0510", NOW, history)


@given(st.integers(min_value=0, max_value=400), st.integers(min_value=0, max_value=23))
def test_exact_window_boundary(window: int, hour: int) -> None:
    new_day = NOW.date()
    on_boundary = entry(at(new_day - timedelta(days=window), hour))
    past_boundary = entry(at(new_day - timedelta(days=window + 1), hour))
    policy = StagePolicy(window_days=window)
    decision = compute_stage("0510", NOW, [on_boundary, past_boundary], policy)
    if on_boundary.occurred_at <= NOW:
        assert decision.counted == (on_boundary,)
    assert (past_boundary, ExclusionReason.OUTSIDE_WINDOW) in decision.excluded


# --- one window rule (staging and HQ's history feed) and the year in the reason ----------------------


def test_window_first_day_and_start_are_whole_local_days() -> None:
    from enforcement.staging import window_first_day, window_start

    assert window_first_day(date(2026, 11, 22), 365) == date(2025, 11, 22)
    # 2026-11-22 01:00 local is 2026-11-21 17:00 UTC: the local day decides
    assert window_start(datetime(2026, 11, 21, 17, 0, tzinfo=UTC), 365) == datetime(
        2025, 11, 22, tzinfo=LOCAL_TZ
    )
    # a case at 00:30 on the 365th day before is past 365×24 h yet counts
    boundary = datetime(2025, 11, 22, 0, 30, tzinfo=LOCAL_TZ)
    assert NOW - boundary > timedelta(days=365)
    assert boundary >= window_start(NOW, 365)
    assert compute_stage("0510", NOW, [entry(boundary)]).ordinal == 2


def test_reason_names_the_year_of_a_case_in_another_year() -> None:
    new = datetime(2026, 1, 5, 10, tzinfo=LOCAL_TZ)
    last_year = entry(at(date(2025, 12, 30)))
    this_year = entry(at(date(2026, 1, 2)), stage=Stage.WARNING)
    decision = compute_stage("0510", new, [last_year, this_year])
    assert decision.explain("zh") == "第3次 · 处罚：2025-12-30 劝导，01-02 警告"
    assert decision.explain("en") == "3rd · Penalty: 2025-12-30 Persuasion, 01-02 Warning"
