"""HQ stages each case under the policy version it was staged under, says so when it used another, and
never restages earlier cases under a newer policy (hq.policy, hq.ingest.push)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from enforcement.codec import to_json_dict
from enforcement.model import Stage, new_id
from hq.ingest.push import ingest_batch
from hq.policy import publish
from hq.storage.base import CaseState, Storage
from sync.protocol import PushRecord, RecordResult
from testkit.records import NOW, OFFICER, OTHER_OFFICER, days, make_case

DEVICE = "device-1"
_seq = iter(range(1, 10**9))


def push(storage: Storage, case: Any, user: Any = OFFICER) -> RecordResult:
    record = PushRecord(kind="case", id=case.id, device_seq=next(_seq), payload=to_json_dict(case))
    [result] = ingest_batch(storage, user, DEVICE, [record], now=NOW)
    return result


def set_policy(storage: Storage, document: dict[str, Any]) -> int:
    with storage.transaction() as tx:
        return publish(tx, document, by="9001", at=NOW).version


def state(storage: Storage, case_id: str) -> CaseState:
    with storage.transaction(readonly=True) as tx:
        found = tx.case_state(case_id)
    assert found is not None
    return found


def test_a_case_is_staged_under_the_version_it_names(storage: Storage) -> None:
    sid = new_id()
    assert push(storage, make_case(subject_id=sid, occurred_at=NOW - days(60))).status == "accepted"
    assert set_policy(storage, {"window_days": 365}) == 1
    assert set_policy(storage, {"window_days": 30}) == 2  # in force now
    # a phone that staged under version 1 (its pull had not brought version 2 yet): HQ agrees with it
    named = replace(make_case(subject_id=sid, stage=Stage.WARNING), policy_version=1)
    result = push(storage, named)
    assert (result.status, result.hq_stage) == ("accepted", Stage.WARNING)
    stored = state(storage, named.id)
    assert stored.policy_version == 1
    assert "版政策" not in stored.explain_zh  # the phone's own version: nothing to say


def test_an_older_phone_is_staged_under_the_policy_in_force_and_told_so(storage: Storage) -> None:
    sid = new_id()
    push(storage, make_case(subject_id=sid, occurred_at=NOW - days(60)))
    set_policy(storage, {"window_days": 30})
    older = make_case(subject_id=sid, stage=Stage.WARNING)  # staged with the built-in 365 days
    result = push(storage, older)
    assert (result.status, result.hq_stage) == ("conflict", Stage.PERSUASION)
    assert "按第 1 版政策" in result.reason_zh
    assert "under policy version 1" in result.reason_en
    assert state(storage, older.id).policy_version == 1


def test_a_version_hq_never_published_is_staged_under_the_one_in_force(storage: Storage) -> None:
    case = replace(make_case(subject_id=new_id()), policy_version=7)
    result = push(storage, case)
    assert result.status == "accepted"
    stored = state(storage, case.id)
    assert stored.policy_version == 0
    assert "按内置规则" in stored.explain_zh


def test_a_policy_change_does_not_restage_earlier_cases(storage: Storage) -> None:
    sid = new_id()
    push(storage, make_case(subject_id=sid, occurred_at=NOW - days(100)))
    earlier = make_case(subject_id=sid, stage=Stage.WARNING)  # 2nd under the built-in 365-day window
    assert push(storage, earlier).status == "accepted"
    set_policy(storage, {"window_days": 30})
    assert state(storage, earlier.id).hq_stage == Stage.WARNING  # publishing restaged nothing
    # a case staged after the change, under it: its window does not reach the case of 100 days ago
    after = replace(
        make_case(subject_id=sid, occurred_at=NOW + days(0.01), stage=Stage.WARNING), policy_version=1
    )
    assert push(storage, after).status == "accepted"  # counts ``earlier`` only
    # a late case 10 days ago restages both: each under its own version
    late = make_case(officer=OTHER_OFFICER, subject_id=sid, occurred_at=NOW - days(10))
    push(storage, late, user=OTHER_OFFICER)
    kept = state(storage, earlier.id)
    assert (kept.hq_stage, kept.hq_ordinal, kept.policy_version) == (Stage.PENALTY, 3, 0)  # 365 days: all
    moved = state(storage, after.id)
    assert (moved.hq_stage, moved.hq_ordinal, moved.policy_version) == (Stage.PENALTY, 3, 1)  # 30 days


def test_aggravation_and_first_violation_exemption_reach_hqs_reason(storage: Storage) -> None:
    set_policy(
        storage,
        {"fourth_and_later": "aggravated", "aggravate_over": 2, "scope": "category",
         "first_violation_exempt": ["0504"]},
    )  # fmt: skip
    sid = new_id()
    push(storage, replace(make_case(subject_id=sid, occurred_at=NOW - days(20)), policy_version=1))
    second = replace(
        make_case(subject_id=sid, occurred_at=NOW - days(10), stage=Stage.WARNING), policy_version=1
    )
    push(storage, second)
    third = replace(make_case(subject_id=sid, stage=Stage.PENALTY), policy_version=1)
    assert push(storage, third).hq_stage == Stage.PENALTY
    assert "（从重）" in state(storage, third.id).explain_zh
