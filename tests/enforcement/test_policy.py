"""Policy as data: the document parser, and what each setting does to a stage (enforcement.policy,
enforcement.staging)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from enforcement.codec import case_from_dict, to_json_dict
from enforcement.model import CaseStatus, HistoryEntry, Stage
from enforcement.policy import DEFAULT_POLICY, MAX_DOCUMENT_BYTES, PolicyError, parse_policy
from enforcement.staging import Scope, StagePolicy, compute_stage
from tests.enforcement.test_staging import NOW, at, entry, histories

TODAY = NOW.date()


def days_ago(n: int, code: str = "0510") -> HistoryEntry:
    return entry(at(TODAY - timedelta(days=n)), code)


# --- the default is the old rule ----------------------------------------------------------------------


def _old_rule(code: str, history: list[HistoryEntry], window: int, scope: Scope) -> tuple[int, int]:
    """The rule as written before policies existed, restated plainly: (stage, ordinal)."""
    latest: dict[str, HistoryEntry] = {}
    for e in history:
        best = latest.get(e.case_no)
        if best is None or (e.version, e.case_id) > (best.version, best.case_id):
            latest[e.case_no] = e
    first = TODAY - timedelta(days=window)
    counted = {
        e.case_id
        for e in latest.values()
        if e.status == CaseStatus.ACTIVE
        and (e.violation_code == code if scope is Scope.SUBCATEGORY else e.violation_code[:2] == code[:2])
        and e.occurred_at <= NOW
        and e.occurred_at.astimezone(NOW.tzinfo).date() >= first
    }
    ordinal = len(counted) + 1
    return min(ordinal, 3), ordinal


@given(histories, st.sampled_from(["0510", "0501", "0306"]))
def test_the_default_policy_gives_exactly_the_old_stages(history: list[HistoryEntry], code: str) -> None:
    old = compute_stage(code, NOW, history)
    for policy in (DEFAULT_POLICY.staging, parse_policy({}).staging, parse_policy({}, 7).staging):
        new = compute_stage(code, NOW, history, policy)
        assert (new.stage, new.ordinal, new.counted, new.excluded, new.repeated) == (
            old.stage, old.ordinal, old.counted, old.excluded, old.repeated
        )  # fmt: skip
        assert new.explain("zh") == old.explain("zh")
        assert new.explain("en") == old.explain("en")
        assert not new.aggravated
        assert not new.first_exempt
    assert (old.stage, old.ordinal) == _old_rule(code, history, 365, Scope.SUBCATEGORY)


def test_an_explicit_default_document_equals_the_built_in_rule() -> None:
    doc = {"window_days": 365, "scope": "subcategory", "fourth_and_later": "penalty",
           "first_violation_exempt": [], "spot_exempts_vending": False, "street_classes": {}}  # fmt: skip
    assert parse_policy(doc).staging == StagePolicy()
    assert parse_policy(doc, 3).staging == StagePolicy(version=3)


# --- the settings ---------------------------------------------------------------------------------------


def test_window_and_scope_come_from_the_document() -> None:
    policy = parse_policy({"window_days": 30, "scope": "category"}, 2).staging
    history = [days_ago(10, "0501"), days_ago(40)]
    decision = compute_stage("0510", NOW, history, policy)
    assert (decision.stage, decision.ordinal, decision.policy_version) == (Stage.WARNING, 2, 2)


def test_fourth_and_later_aggravated_for_more_than_n_in_a_year() -> None:
    policy = parse_policy({"fourth_and_later": "aggravated", "aggravate_over": 3}, 4).staging
    three = [days_ago(100), days_ago(50), days_ago(10)]
    fourth = compute_stage("0510", NOW, three, policy)
    assert fourth.stage == Stage.PENALTY
    assert fourth.aggravated
    assert fourth.explain("zh").startswith("第4次 · 处罚（从重）")
    assert "(aggravated)" in fourth.explain("en")
    third = compute_stage("0510", NOW, three[1:], policy)
    assert third.stage == Stage.PENALTY
    assert not third.aggravated
    # "in a year" is its own count: a long window counts an old case, the year does not
    long = parse_policy({"window_days": 730, "fourth_and_later": "aggravated", "aggravate_over": 3}).staging
    spread = [days_ago(500), days_ago(50), days_ago(10)]
    decision = compute_stage("0510", NOW, spread, long)
    assert decision.ordinal == 4
    assert not decision.aggravated
    # the year's first day counts (like the window)
    boundary = [days_ago(365), days_ago(50), days_ago(10)]
    assert compute_stage("0510", NOW, boundary, long).aggravated


def test_first_violation_exempt_is_persuasion_for_the_first_case_of_the_code() -> None:
    policy = parse_policy({"scope": "category", "first_violation_exempt": ["0504"]}, 5).staging
    others = [days_ago(30, "0501"), days_ago(20, "0510")]
    first = compute_stage("0504", NOW, others, policy)
    assert (first.stage, first.ordinal, first.first_exempt) == (Stage.PERSUASION, 1, True)
    assert "首违不罚" in first.explain("zh")
    assert "first violation" in first.explain("en")
    # without the setting the category count decides
    assert (
        compute_stage("0504", NOW, others, parse_policy({"scope": "category"}).staging).stage == Stage.PENALTY
    )
    # a second case of the code is counted as usual
    second = compute_stage("0504", NOW, [*others, days_ago(5, "0504")], policy)
    assert (second.stage, second.first_exempt) == (Stage.PENALTY, False)
    # a first case that is first anyway is not flagged
    assert not compute_stage("0504", NOW, [], policy).first_exempt


def test_street_class_overrides_apply_when_the_case_has_one() -> None:
    policy = parse_policy({"window_days": 30, "street_classes": {"示范街": {"window_days": 365}}}, 6)
    history = [days_ago(100)]
    plain = compute_stage("0510", NOW, history, policy.stage_policy())
    strict = compute_stage("0510", NOW, history, policy.stage_policy_for_extra({"street_class": "示范街"}))
    unknown = compute_stage("0510", NOW, history, policy.stage_policy("商业街"))
    assert (plain.stage, strict.stage, unknown.stage) == (Stage.PERSUASION, Stage.WARNING, Stage.PERSUASION)
    assert strict.policy_version == 6
    # an override inherits the rest of the document
    assert policy.stage_policy("示范街").scope is Scope.SUBCATEGORY


def test_spot_exemption_is_carried_for_the_zones_work() -> None:
    assert parse_policy({"spot_exempts_vending": True}).spot_exempts_vending
    assert not DEFAULT_POLICY.spot_exempts_vending


# --- refusals name the field, in both languages ----------------------------------------------------


@pytest.mark.parametrize(
    ("doc", "field"),
    [
        ([], "policy"),
        ({"window": 3}, "window"),
        ({"window_days": 0}, "window_days"),
        ({"window_days": 3651}, "window_days"),
        ({"window_days": True}, "window_days"),
        ({"window_days": "365"}, "window_days"),
        ({"scope": "city"}, "scope"),
        ({"fourth_and_later": "jail"}, "fourth_and_later"),
        ({"fourth_and_later": "aggravated"}, "aggravate_over"),
        ({"aggravate_over": 3}, "aggravate_over"),
        ({"fourth_and_later": "aggravated", "aggravate_over": 101}, "aggravate_over"),
        ({"first_violation_exempt": "0504"}, "first_violation_exempt"),
        ({"first_violation_exempt": ["05a4"]}, "first_violation_exempt"),
        ({"first_violation_exempt": ["0504"] * 201}, "first_violation_exempt"),
        ({"spot_exempts_vending": "yes"}, "spot_exempts_vending"),
        ({"note": "x" * 201}, "note"),
        ({"street_classes": []}, "street_classes"),
        ({"street_classes": {"": {}}}, "street_classes"),
        ({"street_classes": {f"c{i}": {} for i in range(21)}}, "street_classes"),
        ({"street_classes": {"示范街": {"window_days": -1}}}, "street_classes.示范街.window_days"),
        ({"street_classes": {"示范街": {"note": "x"}}}, "street_classes.示范街.note"),
        ({"street_classes": {"示范街": 3}}, "street_classes.示范街"),
        (
            {
                "note": "长" * 100,
                "street_classes": {f"c{i}": {"first_violation_exempt": ["0501"] * 200} for i in range(20)},
            },
            "policy",
        ),
    ],
)
def test_bad_documents_are_refused_naming_the_field(doc: object, field: str) -> None:
    with pytest.raises(PolicyError) as err:
        parse_policy(doc)
    assert err.value.field == field
    assert field in err.value.zh
    assert field in err.value.en
    assert err.value.zh.startswith("政策设置")


def test_the_size_bound_is_the_canonical_json() -> None:
    assert MAX_DOCUMENT_BYTES == 16_384


# --- the case records its version; the JSON of an older case is unchanged ------------------------------


def test_policy_version_is_left_out_of_the_json_at_zero(sample_case_dict: dict[str, object]) -> None:
    case = case_from_dict(sample_case_dict)
    assert case.policy_version == 0
    assert "policy_version" not in to_json_dict(case)
    newer = case_from_dict({**sample_case_dict, "policy_version": 3})
    assert to_json_dict(newer)["policy_version"] == 3
    assert case_from_dict(to_json_dict(newer)) == newer


@pytest.fixture
def sample_case_dict() -> dict[str, object]:
    return {
        "id": "0b4c7c3e-2f7e-4c59-9d7a-0c2f8f3a1d11", "case_no": "ZD01-1023-261122-K7Q2M",
        "officer_badge": "1023", "squad_code": "ZD01", "device_id": "dev-1", "violation_code": "0510",
        "occurred_at": NOW.isoformat(), "location": {"address": "人民路"}, "subject_id": None,
        "subject_unknown": True, "computed_stage": 1, "chosen_stage": 1, "disposition": "persuaded",
    }  # fmt: skip
