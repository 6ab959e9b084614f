"""One vendor, one history (issue #22) at HQ, on both backends: subjects sharing a strong identifier are one
identity for HQ's stage at once and a merge suggestion; a merge makes an alias and restages; an unmerge
restages back; weak matches are only suggested."""

from __future__ import annotations

from typing import Any

import pytest

from enforcement.codec import to_json_dict
from enforcement.model import Location, Stage, SubjectKind
from hq.ingest.push import ingest_batch
from hq.merge import MergeRefused, merge_subjects, unmerge_subjects
from hq.storage.base import ChangeKind, Storage
from hq.subjectmatch import MAX_PLACES, identity_group
from sync.protocol import Errno, PushRecord
from testkit.records import DISTRICT, LEADER, NOW, OFFICER, OTHER_OFFICER, days, make_case, make_subject

_seq = iter(range(1, 10**9))


def push(storage: Storage, *records: Any, user: Any = OFFICER, device: str = "device-1") -> list[Any]:
    batch = [
        PushRecord(kind=kind, id=r.id, device_seq=next(_seq), payload=to_json_dict(r)) for kind, r in records
    ]
    return ingest_batch(storage, user, device, batch, now=NOW)


def register_and_case(storage: Storage, phone: str, when: Any, user: Any = OFFICER, **subject: Any) -> Any:
    vendor = make_subject(name=subject.pop("name", "老王烧烤"), phone=phone, **subject)
    case = make_case(officer=user, subject_id=vendor.id, occurred_at=when)
    results = push(storage, ("subject", vendor), ("case", case), user=user)
    assert next(r.status for r in results) == "accepted"
    return vendor, case, results[1]


def hq_stages(storage: Storage, *cases: Any) -> list[Stage]:
    with storage.transaction(readonly=True) as tx:
        return [tx.case_state(c.id).hq_stage for c in cases]  # type: ignore[union-attr]


def test_three_registrations_sharing_a_phone_are_one_history(storage: Storage) -> None:
    a, _case_a, first = register_and_case(storage, "13812345678", NOW - days(3))
    b, _case_b, second = register_and_case(storage, "+86 138-1234-5678", NOW - days(2), user=OTHER_OFFICER)
    c, _case_c, third = register_and_case(storage, "138 1234 5678", NOW - days(1), name="老王 烧烤摊")
    assert (first.status, first.hq_stage) == ("accepted", Stage.PERSUASION)
    assert (second.status, second.hq_stage) == ("conflict", Stage.WARNING)  # the phone said 劝导: too low
    assert third.hq_stage is Stage.PENALTY
    with storage.transaction(readonly=True) as tx:
        assert identity_group(tx, a.id) == {a.id, b.id, c.id}
        pairs = tx.list_subject_pairs(DISTRICT)
        assert {(p.strength, p.reason) for p in pairs} == {("strong", "phone")}
        assert len(pairs) == 3


def test_a_late_registration_restages_the_later_case(storage: Storage) -> None:
    _a, case_a, _ = register_and_case(storage, "13812345678", NOW - days(1))
    _b, case_b, late = register_and_case(storage, "13812345678", NOW - days(5), user=OTHER_OFFICER)
    assert late.hq_stage is Stage.PERSUASION  # the earlier case: still the first
    assert hq_stages(storage, case_a, case_b) == [Stage.WARNING, Stage.PERSUASION]
    with storage.transaction(readonly=True) as tx:
        restaged = [e for e in tx.audit_events() if e.action == "restaged"]
        assert [e.target for e in restaged] == [case_a.id]
        assert tx.case_state(case_a.id).stage_conflict  # type: ignore[union-attr]


def test_a_weak_match_is_suggested_never_counted(storage: Storage) -> None:
    _a, _case_a, _ = register_and_case(storage, "13812345678", NOW - days(2))
    b, _case_b, second = register_and_case(storage, "13900001111", NOW - days(1), name="老王烧烤")
    assert second.hq_stage is Stage.PERSUASION
    with storage.transaction(readonly=True) as tx:
        [pair] = tx.list_subject_pairs(DISTRICT)
        # the same name, and both cases at 人民路夜市
        assert (pair.strength, pair.reason, pair.state) == ("weak", "name,place", "open")
        assert identity_group(tx, b.id) == {b.id}


def at_place(lat: float, lon: float) -> Location:
    return Location(lat=lat, lon=lon, accuracy_m=8.0, address="")


def register_at(storage: Storage, name: str, where: Location, when: Any, **subject: Any) -> Any:
    vendor = make_subject(name=name, **subject)
    case = make_case(subject_id=vendor.id, occurred_at=when, location=where)
    results = push(storage, ("subject", vendor), ("case", case))
    assert [r.status for r in results] == ["accepted", "accepted"], results
    return vendor, results[1]


def test_a_similar_name_of_the_same_kind_near_the_same_place_is_suggested_never_counted(
    storage: Storage,
) -> None:
    a, _ = register_at(storage, "老王烧烤", at_place(34.75, 113.62), NOW - days(3))
    # ~150 m away (a neighbouring cell at most), a similar name: suggested by place
    b, second = register_at(storage, "老王烧烤摊", at_place(34.7513, 113.6205), NOW - days(2))
    # the same similar name 5 km away, and one near but of another kind: nothing
    far, _ = register_at(storage, "老王烧烤店", at_place(34.80, 113.62), NOW - days(1))
    shop, _ = register_at(
        storage,
        "老王烧烤铺",
        at_place(34.7501, 113.6201),
        NOW - days(1),
        kind=SubjectKind.SHOP,
        address="人民路12号",
    )
    assert second.hq_stage is Stage.PERSUASION  # a weak match never counts
    with storage.transaction(readonly=True) as tx:
        pairs = {(p.a, p.b): (p.strength, p.reason, p.state) for p in tx.list_subject_pairs(DISTRICT)}
        assert pairs == {tuple(sorted((a.id, b.id))): ("weak", "place", "open")}
        assert identity_group(tx, b.id) == {b.id}
        assert far.id not in str(pairs)
        assert shop.id not in str(pairs)


def test_places_per_subject_are_bounded(storage: Storage) -> None:
    vendor = make_subject(name="流动摊贩甲")
    cases = [
        make_case(
            subject_id=vendor.id, occurred_at=NOW - days(30 - i), location=at_place(34.70 + i * 0.01, 113.6)
        )
        for i in range(MAX_PLACES + 5)
    ]
    push(storage, ("subject", vendor), *(("case", c) for c in cases))
    with storage.transaction(readonly=True) as tx:
        places = [k for k in tx.subject_keys(vendor.id) if k.startswith("place:")]
    assert len(places) == MAX_PLACES


def test_another_district_never_matches(storage: Storage) -> None:
    register_and_case(storage, "13812345678", NOW - days(2))
    with storage.transaction() as tx:
        far = make_subject(phone="13812345678", district="二七区")
        tx.save_subject(far, at=NOW)
        from hq.subjectmatch import note_subject

        assert note_subject(tx, far, at=NOW) == set()
        assert identity_group(tx, far.id) == {far.id}


def test_merge_restages_names_the_merge_and_unmerge_restages_back(storage: Storage) -> None:
    a, case_a, _ = register_and_case(storage, "13812345678", NOW - days(2))
    b, case_b, second = register_and_case(storage, "13900001111", NOW - days(1), name="王老板")
    assert second.hq_stage is Stage.PERSUASION
    with storage.transaction() as tx:
        outcome = merge_subjects(tx, LEADER, b.id, a.id, NOW)
    assert [s.case_id for s in outcome.restaged] == [case_b.id]
    assert hq_stages(storage, case_a, case_b) == [Stage.PERSUASION, Stage.WARNING]
    with storage.transaction(readonly=True) as tx:
        page = tx.changes_after(None, district=DISTRICT, badge=OFFICER.badge, limit=1000)
        aliases = [c for c in page.changes if c.kind is ChangeKind.SUBJECT_ALIAS]
        assert [dict(c.data) for c in aliases] == [{"alias_id": b.id, "survivor_id": a.id}]
        restaged = [e for e in tx.audit_events() if e.action == "restaged"]
        assert restaged[-1].detail["caused_by"] == f"merge:{b.id}->{a.id}"
        history = [c for c in page.changes if c.kind is ChangeKind.HISTORY and c.key == a.id]
        assert {e["case_id"] for e in history[0].data["entries"]} == {case_a.id, case_b.id}
    with storage.transaction() as tx:
        undone = unmerge_subjects(tx, LEADER, b.id, NOW)
    assert [s.case_id for s in undone.restaged] == [case_b.id]
    assert hq_stages(storage, case_a, case_b) == [Stage.PERSUASION, Stage.PERSUASION]
    with storage.transaction(readonly=True) as tx:
        assert tx.subject_alias(b.id) is None
        assert tx.get_subject_pair(a.id, b.id).state == "split"  # type: ignore[union-attr]


def test_unmerge_splits_a_strong_pair(storage: Storage) -> None:
    a, case_a, _ = register_and_case(storage, "13812345678", NOW - days(2))
    b, case_b, _ = register_and_case(storage, "13812345678", NOW - days(1))
    assert hq_stages(storage, case_a, case_b) == [Stage.PERSUASION, Stage.WARNING]
    with storage.transaction() as tx:
        merge_subjects(tx, LEADER, b.id, a.id, NOW)
    with storage.transaction() as tx:
        unmerge_subjects(tx, LEADER, b.id, NOW)
    assert hq_stages(storage, case_a, case_b) == [Stage.PERSUASION, Stage.PERSUASION]
    c, _case_c, _third = register_and_case(storage, "13812345678", NOW)  # matches both; the split stands
    with storage.transaction(readonly=True) as tx:
        assert identity_group(tx, c.id) == {a.id, b.id, c.id}  # c links to both; a-b stays split
        assert tx.get_subject_pair(a.id, b.id).state == "split"  # type: ignore[union-attr]


def test_merge_refusals(storage: Storage) -> None:
    a = make_subject()
    b = make_subject()
    far = make_subject(district="二七区")
    with storage.transaction() as tx:
        for s in (a, b, far):
            tx.save_subject(s, at=NOW)
    cases = [
        (OFFICER, b.id, a.id, Errno.FORBIDDEN),
        (LEADER, a.id, a.id, Errno.SUBJECT_MERGE_INVALID),
        (LEADER, far.id, a.id, Errno.FORBIDDEN),
        (LEADER, "nope", a.id, Errno.NOT_FOUND),
    ]
    for actor, alias, survivor, errno in cases:
        with storage.transaction() as tx, pytest.raises(MergeRefused) as refused:
            merge_subjects(tx, actor, alias, survivor, NOW)
        assert refused.value.errno is errno
    with storage.transaction() as tx:
        merge_subjects(tx, LEADER, b.id, a.id, NOW)
    with storage.transaction() as tx, pytest.raises(MergeRefused) as refused:
        merge_subjects(tx, LEADER, a.id, b.id, NOW)  # into an alias
    assert refused.value.errno is Errno.SUBJECT_MERGE_INVALID
    with storage.transaction() as tx, pytest.raises(MergeRefused) as refused:
        unmerge_subjects(tx, LEADER, a.id, NOW)  # the survivor is no alias
    assert refused.value.errno is Errno.SUBJECT_NOT_MERGED
    assert SubjectKind.MOBILE_VENDOR  # the kind every subject here has
