"""The storage contract for the staged rule's policy versions, on SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from enforcement.model import Stage, new_id
from hq.storage.base import ChangeKind, StageVerdict, Storage
from testkit.records import DISTRICT, make_case

T0 = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def test_policy_versions_are_numbered_kept_and_published(storage: Storage) -> None:
    with storage.transaction(readonly=True) as tx:
        assert tx.get_policy() is None
        assert tx.list_policies() == []
    with storage.transaction() as tx:
        first = tx.add_policy({"window_days": 180}, at=T0, by="9001")
    with storage.transaction() as tx:
        second = tx.add_policy(
            {"scope": "category", "note": "按大类计次"}, at=T0 + timedelta(days=1), by="cli"
        )
    assert (first.version, second.version) == (1, 2)
    with storage.transaction(readonly=True) as tx:
        newest = tx.get_policy()
        assert newest is not None
        assert newest.version == 2
        assert newest.document == {"scope": "category", "note": "按大类计次"}
        assert newest.created_by == "cli"
        assert newest.created_at == T0 + timedelta(days=1)
        old = tx.get_policy(1)
        assert old is not None
        assert old.document == {"window_days": 180}
        assert old.created_by == "9001"
        assert tx.get_policy(3) is None
        assert [p.version for p in tx.list_policies()] == [2, 1]
        assert [p.version for p in tx.list_policies(limit=1)] == [2]
        page = tx.changes_after(None, district="其他区", badge="0000")
    policies = [c for c in page.changes if c.kind is ChangeKind.POLICY]
    assert len(policies) == 1  # the newest replaces the older: a first pull gets the policy in force
    assert policies[0].key == "policy"
    assert policies[0].data["version"] == 2
    assert policies[0].data["document"] == {"scope": "category", "note": "按大类计次"}


def test_a_case_keeps_the_policy_version_of_its_stage(storage: Storage) -> None:
    case = make_case(subject_id=new_id())
    older = make_case(subject_id=new_id())
    with storage.transaction() as tx:
        tx.save_case(
            case, district=DISTRICT, verdict=StageVerdict(Stage.PERSUASION, 1, "", "", 3), received_at=T0
        )
        tx.save_case(older, district=DISTRICT, verdict=StageVerdict(Stage.PERSUASION, 1), received_at=T0)
    with storage.transaction() as tx:
        state = tx.case_state(case.id)
        assert state is not None
        assert state.policy_version == 3
        other = tx.case_state(older.id)
        assert other is not None
        assert other.policy_version == 0
        updated = tx.set_verdict(case.id, StageVerdict(Stage.WARNING, 2, "第2次", "2nd", 3))
        assert updated is not None
        assert (updated.hq_stage, updated.policy_version) == (Stage.WARNING, 3)
        listed = tx.list_cases(district=DISTRICT)
        assert {s.case_id: s.policy_version for s in listed} == {case.id: 3, older.id: 0}
    # the phone's version travels in the payload, beside HQ's
    phone = replace(make_case(subject_id=new_id()), policy_version=2)
    with storage.transaction() as tx:
        tx.save_case(
            phone, district=DISTRICT, verdict=StageVerdict(Stage.PERSUASION, 1, "", "", 2), received_at=T0
        )
        stored = tx.get_case(phone.id)
    assert stored == phone
