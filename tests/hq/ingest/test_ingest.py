"""Push batches through ingest_batch, on both backends."""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from enforcement.codec import to_json_dict
from enforcement.model import (
    Case,
    CaseStatus,
    Review,
    ReviewDecision,
    Shift,
    Stage,
    SubjectKind,
    new_id,
)
from hq.ingest import cases as ingestcase
from hq.ingest import push as ingest_module
from hq.ingest.push import ingest, ingest_batch, payload_hash, sequence_gaps
from hq.storage.base import ChangeKind, Storage
from sync.protocol import CaseStateData, Errno, PushRecord, RecordKind, RecordResult
from testkit.records import DISTRICT, LEADER, NOW, OFFICER, OTHER_OFFICER, days, make_case, make_subject

DEVICE = "device-1"
_seq = iter(range(1, 10**9))


@pytest.fixture(autouse=True)
def _fresh_device_sequence() -> None:
    """Each test's device numbers its records from 1, as a new install does."""
    global _seq
    _seq = iter(range(1, 10**9))


def rec(kind: RecordKind, record: Any, seq: int | None = None) -> PushRecord:
    return PushRecord(kind=kind, id=record.id, device_seq=next(_seq) if seq is None else seq,
                      payload=to_json_dict(record))  # fmt: skip


def push(storage: Storage, *records: PushRecord | dict[str, Any], user: Any = OFFICER) -> list[RecordResult]:
    return ingest_batch(storage, user, DEVICE, list(records), now=NOW)


def one(storage: Storage, record: PushRecord, user: Any = OFFICER) -> RecordResult:
    [result] = push(storage, record, user=user)
    return result


def feed(storage: Storage, badge: str = OFFICER.badge) -> dict[tuple[ChangeKind, str], dict[str, Any]]:
    with storage.transaction(readonly=True) as tx:
        page = tx.changes_after(None, district=DISTRICT, badge=badge, limit=1000)
    return {(c.kind, c.key): dict(c.data) for c in page.changes}


# ------------------------------------------------------------------------------------------ cases


def test_a_case_is_accepted_stored_and_published(storage: Storage) -> None:
    subject = make_subject()
    case = make_case(subject_id=subject.id, photos=2)
    results = push(storage, rec("subject", subject), rec("case", case))
    assert [r.status for r in results] == ["accepted", "accepted"]
    result = results[1]
    assert result.errno is None
    assert result.hq_stage is Stage.PERSUASION
    assert not result.complete
    assert sorted(result.missing_photos) == sorted(p.sha256 for p in case.photos)
    with storage.transaction(readonly=True) as tx:
        assert tx.get_case(case.id) == case
        state = tx.case_state(case.id)
        assert state is not None
        assert state.district == DISTRICT
        assert not state.stage_conflict
        assert [e.action for e in tx.audit_events()] == ["push"]
    changes = feed(storage)
    assert changes[(ChangeKind.CASE_STATE, case.id)]["state"] == "sent"
    assert [e["case_id"] for e in changes[(ChangeKind.HISTORY, subject.id)]["entries"]] == [case.id]
    assert changes[(ChangeKind.SUBJECT, subject.id)]["name"] == subject.name
    assert (ChangeKind.CASE_STATE, case.id) not in feed(storage, badge=OTHER_OFFICER.badge)


def test_identical_replay_is_a_duplicate_with_the_original_answer(storage: Storage) -> None:
    earlier = make_case(officer=OTHER_OFFICER, subject_id=(sid := new_id()), occurred_at=NOW - days(3))
    push(storage, rec("case", earlier), user=OTHER_OFFICER)
    case = make_case(subject_id=sid)
    first = one(storage, rec("case", case, seq=50))
    assert first.status == "conflict"
    again = push(storage, rec("case", case, seq=50), rec("case", case, seq=50))
    assert [r.status for r in again] == ["duplicate", "duplicate"]
    assert all(r.hq_stage is Stage.WARNING and r.reason_zh == first.reason_zh for r in again)
    with storage.transaction(readonly=True) as tx:
        assert len(tx.case_versions(case.case_no)) == 1
        assert len(tx.receipts_for(case.id)) == 1


def test_other_content_under_a_used_id_is_refused(storage: Storage) -> None:
    case = make_case(subject_id=new_id())
    one(storage, rec("case", case))
    result = one(storage, rec("case", replace(case, notes="改过的内容")))
    assert (result.status, result.errno) == ("refused", Errno.RECORD_ID_REUSED)
    assert result.reason_zh
    assert result.reason_en
    with storage.transaction(readonly=True) as tx:
        assert tx.get_case(case.id) == case


def test_one_invalid_record_is_refused_and_the_rest_applies(storage: Storage) -> None:
    good1, good2 = make_case(subject_id=new_id()), make_case(subject_id=new_id())
    bad = make_case(subject_id=new_id(), violation_code="0999")
    broken = rec("case", make_case(subject_id=new_id()))
    broken.payload.pop("occurred_at")
    results = push(storage, rec("case", good1), rec("case", bad), broken, rec("case", good2))
    assert [r.status for r in results] == ["accepted", "refused", "refused", "accepted"]
    assert results[1].errno == Errno.RECORD_INVALID
    assert "violation_code" in results[1].reason_zh
    assert "0999" in results[1].reason_en
    assert "occurred_at" in results[2].reason_zh
    with storage.transaction(readonly=True) as tx:
        assert tx.get_case(good1.id) is not None
        assert tx.get_case(good2.id) is not None
        assert tx.get_case(bad.id) is None


def test_an_officer_may_write_only_their_own_cases(storage: Storage) -> None:
    result = one(storage, rec("case", make_case(officer=OTHER_OFFICER, subject_id=new_id())))
    assert (result.status, result.errno) == ("refused", Errno.RECORD_NOT_OWNED)
    assert OTHER_OFFICER.badge in result.reason_zh


def test_plain_dict_records_and_unknown_kinds(storage: Storage) -> None:
    case = make_case(subject_id=new_id())
    results = push(
        storage,
        {"kind": "case", "id": case.id, "device_seq": next(_seq), "payload": to_json_dict(case)},
        {"kind": "parking_ticket", "id": "x", "device_seq": next(_seq), "payload": {}},
        {"kind": "case", "id": "y", "device_seq": -1, "payload": {}},
    )
    assert [(r.status, r.errno) for r in results] == [
        ("accepted", None),
        ("refused", Errno.UNKNOWN_KIND),
        ("refused", Errno.RECORD_INVALID),
    ]


def test_payload_id_must_match_the_record_id(storage: Storage) -> None:
    case = make_case(subject_id=new_id())
    record = PushRecord(kind="case", id=new_id(), device_seq=1, payload=to_json_dict(case))
    assert one(storage, record).errno == Errno.RECORD_INVALID


# ------------------------------------------------------------------------------------- amendments


def _amend(case: Case, **changes: Any) -> Case:
    return replace(case, id=new_id(), version=case.version + 1, supersedes=case.id, **changes)


def test_an_amendment_is_a_new_version(storage: Storage) -> None:
    v1 = make_case(subject_id=new_id())
    v2 = _amend(v1, notes="补充")
    assert [r.status for r in push(storage, rec("case", v1), rec("case", v2))] == ["accepted", "accepted"]
    with storage.transaction(readonly=True) as tx:
        assert tx.get_case(v1.id) == v1  # never updated in place
        assert tx.latest_case_version(v1.case_no) == v2


def test_amendment_of_an_unknown_version_is_deferred(storage: Storage) -> None:
    v1 = make_case(subject_id=new_id())
    result = one(storage, rec("case", _amend(v1)))
    assert (result.status, result.errno) == ("deferred", Errno.SUPERSEDES_UNKNOWN)


def test_amendment_of_a_superseded_version_is_refused(storage: Storage) -> None:
    v1 = make_case(subject_id=new_id())
    v2 = _amend(v1)
    rival = _amend(v1, notes="另一台设备上的修改")
    results = push(storage, rec("case", v1), rec("case", v2), rec("case", rival))
    assert (results[2].status, results[2].errno) == ("refused", Errno.VERSION_CONFLICT)


def test_amendment_must_keep_the_case_number_and_next_version(storage: Storage) -> None:
    v1 = make_case(subject_id=new_id())
    skipped = replace(_amend(v1), version=3)
    renamed = replace(_amend(v1), case_no=v1.case_no + "X")
    results = push(storage, rec("case", v1), rec("case", skipped), rec("case", renamed))
    assert [r.errno for r in results[1:]] == [Errno.RECORD_INVALID, Errno.RECORD_INVALID]


def test_a_second_first_version_of_a_case_number_is_refused(storage: Storage) -> None:
    v1 = make_case(subject_id=new_id())
    clash = replace(v1, id=new_id(), notes="同号")
    results = push(storage, rec("case", v1), rec("case", clash))
    assert (results[1].status, results[1].errno) == ("refused", Errno.VERSION_CONFLICT)


def test_another_officer_cannot_amend_my_case(storage: Storage) -> None:
    v1 = make_case(subject_id=new_id())
    one(storage, rec("case", v1))
    theirs = _amend(v1, officer_badge=OTHER_OFFICER.badge)
    assert one(storage, rec("case", theirs), user=OTHER_OFFICER).errno == Errno.RECORD_NOT_OWNED


# ----------------------------------------------------------------------------- authoritative stage


def test_hq_stage_counts_every_officers_cases_and_flags_a_difference(storage: Storage) -> None:
    sid = new_id()
    theirs = make_case(officer=OTHER_OFFICER, subject_id=sid, occurred_at=NOW - days(30))
    push(storage, rec("case", theirs), user=OTHER_OFFICER)
    mine = make_case(subject_id=sid, stage=Stage.PERSUASION)  # the phone did not know of theirs
    result = one(storage, rec("case", mine))
    assert (result.status, result.hq_stage) == ("conflict", Stage.WARNING)
    assert "第2次" in result.reason_zh
    assert "2nd" in result.reason_en
    with storage.transaction(readonly=True) as tx:
        state = tx.case_state(mine.id)
        assert state is not None
        assert (state.device_stage, state.hq_stage, state.hq_ordinal) == (Stage.PERSUASION, Stage.WARNING, 2)
        assert [s.case_id for s in tx.list_cases(squad_code="ZD01", conflicts_only=True)] == [mine.id]


def test_the_officers_case_state_carries_hqs_reason(storage: Storage) -> None:
    """HQ counts two earlier cases of another officer: the officer's ``case_state`` says HQ's 处罚 and why
    (the same explanation the squad's leaders get), in both languages; a restage sends the new reason."""
    sid = new_id()
    first = make_case(officer=OTHER_OFFICER, subject_id=sid, occurred_at=NOW - days(30))
    second = make_case(officer=OTHER_OFFICER, subject_id=sid, occurred_at=NOW - days(10), stage=Stage.WARNING)
    push(storage, rec("case", first), rec("case", second), user=OTHER_OFFICER)
    mine = make_case(subject_id=sid, stage=Stage.PERSUASION)  # the phone knew neither
    assert one(storage, rec("case", mine)).status == "conflict"
    data = CaseStateData.model_validate(feed(storage)[(ChangeKind.CASE_STATE, mine.id)])
    assert data.hq_stage is Stage.PENALTY
    assert data.hq_reason_zh == "第3次 · 处罚：10-23 劝导，11-12 警告"
    assert data.hq_reason_en == "3rd · Penalty: 10-23 Persuasion, 11-12 Warning"
    with storage.transaction(readonly=True) as tx:
        changes = tx.changes_after(None, district=DISTRICT, badge=LEADER.badge, squad=LEADER.squad_code)
    squad = next(c.data for c in changes.changes if (c.kind, c.key) == (ChangeKind.SQUAD_CASE, mine.id))
    assert (squad["hq_reason_zh"], squad["hq_reason_en"]) == (data.hq_reason_zh, data.hq_reason_en)

    # the earlier of the two is voided: HQ restages the officer's case and says why anew
    push(storage, rec("case", _amend(first, status=CaseStatus.VOIDED)), user=OTHER_OFFICER)
    data = CaseStateData.model_validate(feed(storage)[(ChangeKind.CASE_STATE, mine.id)])
    assert data.hq_stage is Stage.WARNING
    assert data.hq_reason_zh == "第2次 · 警告：11-12 警告"
    assert data.hq_reason_en == "2nd · Warning: 11-12 Warning"


def test_agreeing_stage_is_accepted(storage: Storage) -> None:
    sid = new_id()
    push(storage, rec("case", make_case(subject_id=sid, occurred_at=NOW - days(2))))
    result = one(storage, rec("case", make_case(subject_id=sid, stage=Stage.WARNING)))
    assert (result.status, result.hq_stage) == ("accepted", Stage.WARNING)


def test_a_warning_or_penalty_without_a_photo_is_refused(storage: Storage) -> None:
    sid = new_id()
    push(storage, rec("case", make_case(subject_id=sid, occurred_at=NOW - days(2))))
    bare = make_case(subject_id=sid, stage=Stage.WARNING, photos=0)
    result = one(storage, rec("case", bare))
    assert (result.status, result.errno) == ("refused", Errno.RECORD_INVALID)
    assert "（photos）" in result.reason_zh  # HQ's reason names the field
    assert "needs at least 1 photo" in result.reason_en
    assert "警告案件至少需要1张照片" in result.reason_zh
    with storage.transaction(readonly=True) as tx:
        assert tx.get_case(bare.id) is None
    assert one(storage, rec("case", make_case(subject_id=sid, stage=Stage.WARNING))).status == "accepted"


def test_a_late_earlier_case_restages_the_later_ones(storage: Storage) -> None:
    sid = new_id()
    mine = make_case(subject_id=sid)
    assert one(storage, rec("case", mine)).status == "accepted"
    late = make_case(officer=OTHER_OFFICER, subject_id=sid, occurred_at=NOW - days(1))
    result = one(storage, rec("case", late), user=OTHER_OFFICER)
    assert (result.status, result.hq_stage) == ("accepted", Stage.PERSUASION)  # later cases never count
    with storage.transaction(readonly=True) as tx:
        state = tx.case_state(mine.id)
        assert state is not None
        assert (state.hq_stage, state.stage_conflict) == (Stage.WARNING, True)
        assert "restaged" in [e.action for e in tx.audit_events()]
    assert feed(storage)[(ChangeKind.CASE_STATE, mine.id)]["hq_stage"] == Stage.WARNING


def test_a_voiding_amendment_stops_counting(storage: Storage) -> None:
    sid = new_id()
    first = make_case(subject_id=sid, occurred_at=NOW - days(5))
    second = make_case(subject_id=sid, stage=Stage.WARNING)
    push(storage, rec("case", first), rec("case", second))
    push(storage, rec("case", _amend(first, status=CaseStatus.VOIDED)))
    with storage.transaction(readonly=True) as tx:
        state = tx.case_state(second.id)
        assert state is not None
        assert (state.hq_stage, state.stage_conflict) == (Stage.PERSUASION, True)


def test_an_amendment_moving_a_case_restages_both_subjects(storage: Storage) -> None:
    old_subject, new_subject = new_id(), new_id()
    first = make_case(subject_id=old_subject, occurred_at=NOW - days(5))
    second = make_case(subject_id=old_subject, stage=Stage.WARNING)
    push(storage, rec("case", first), rec("case", second))
    push(storage, rec("case", _amend(first, subject_id=new_subject)))
    with storage.transaction(readonly=True) as tx:
        state = tx.case_state(second.id)
        assert state is not None
        assert state.hq_stage is Stage.PERSUASION  # the first case is no longer this subject's
    changes = feed(storage)
    assert changes[(ChangeKind.HISTORY, old_subject)]["entries"][0]["case_id"] == second.id
    assert len(changes[(ChangeKind.HISTORY, old_subject)]["entries"]) == 1


def test_an_amendment_moving_a_case_later_restages_what_it_passed(storage: Storage) -> None:
    sid = new_id()
    first = make_case(subject_id=sid, occurred_at=NOW - days(5))
    second = make_case(subject_id=sid, stage=Stage.WARNING, occurred_at=NOW - days(2))
    push(storage, rec("case", first), rec("case", second))
    moved = _amend(first, occurred_at=NOW)  # typed the wrong day: it happened after the second case
    assert one(storage, rec("case", moved)).hq_stage is Stage.WARNING
    with storage.transaction(readonly=True) as tx:
        state = tx.case_state(second.id)
        assert state is not None
        assert (state.hq_stage, state.stage_conflict) == (Stage.PERSUASION, True)


@pytest.mark.postgres
def test_concurrent_pushes_about_one_subject_see_each_other(
    pg_storage: Storage, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two devices push a case of the same subject at once (PostgreSQL runs them concurrently). Each
    push locks the subject's history first, so the later case's stage counts the earlier one whichever
    commits first; without the lock the second would read the history before the first committed."""
    sid = new_id()
    earlier = make_case(officer=OTHER_OFFICER, subject_id=sid, occurred_at=NOW - days(1))
    later = make_case(subject_id=sid)
    in_first, release_first, second_started = threading.Event(), threading.Event(), threading.Event()
    real_compute = ingestcase.compute_stage  # the case path stages (hq.ingest.cases)

    def slow_compute(*args: Any, **kwargs: Any) -> Any:
        if threading.current_thread().name == "first":
            in_first.set()
            release_first.wait(10)
        return real_compute(*args, **kwargs)

    monkeypatch.setattr(ingestcase, "compute_stage", slow_compute)

    def first() -> None:
        push(pg_storage, rec("case", earlier), user=OTHER_OFFICER)

    def second() -> None:
        second_started.set()
        push(pg_storage, rec("case", later))

    threads = [threading.Thread(target=first, name="first"), threading.Thread(target=second, name="second")]
    threads[0].start()
    assert in_first.wait(10)  # the first push has read the history and holds the subject
    threads[1].start()
    assert second_started.wait(10)
    time.sleep(0.2)  # let the second push reach the subject's lock (or, without one, race past it)
    release_first.set()
    for thread in threads:
        thread.join(10)
    with pg_storage.transaction(readonly=True) as tx:
        state = tx.case_state(later.id)
        assert state is not None
        assert (state.hq_stage, state.hq_ordinal) == (Stage.WARNING, 2)


# ---------------------------------------------------------------------------------------- photos


def test_complete_only_when_every_photo_arrived(storage: Storage) -> None:
    case = make_case(subject_id=new_id(), photos=2)
    have, lack = case.photos[0].sha256, case.photos[1].sha256
    with storage.transaction() as tx:
        tx.mark_photo_stored(have, 1000, NOW, OFFICER.badge)
    result = one(storage, rec("case", case, seq=900))
    assert (result.complete, result.missing_photos) == (False, [lack])
    with storage.transaction() as tx:
        assert tx.mark_photo_stored(lack, 1001, NOW, OFFICER.badge) == [case.id]
    replay = one(storage, rec("case", case, seq=900))
    assert (replay.status, replay.complete, replay.missing_photos) == ("duplicate", True, [])


# -------------------------------------------------------------------------- subjects, shifts, reviews


def test_subjects_are_registered_edited_and_scoped(storage: Storage) -> None:
    subject = make_subject(plate="", district="")
    assert one(storage, rec("subject", subject)).status == "accepted"
    with storage.transaction(readonly=True) as tx:
        stored = tx.get_subject(subject.id)
    assert stored is not None
    assert stored.district == DISTRICT
    edited = replace(subject, phone="138 0013 8001")
    assert one(storage, rec("subject", edited)).status == "accepted"
    with storage.transaction(readonly=True) as tx:
        stored = tx.get_subject(subject.id)
    assert stored is not None
    assert stored.phone == "13800138001"
    foreign = one(storage, rec("subject", make_subject(district="二七区")))
    assert foreign.errno == Errno.RECORD_NOT_OWNED
    truck = one(storage, rec("subject", make_subject(kind=SubjectKind.VEHICLE, plate="")))
    assert truck.errno == Errno.RECORD_INVALID
    assert "车牌" in truck.reason_zh


def test_a_deleted_subject_is_not_revived_by_a_phone(storage: Storage) -> None:
    subject = make_subject()
    one(storage, rec("subject", subject))
    with storage.transaction() as tx:
        tx.delete_subject(subject.id, NOW)
    result = one(storage, rec("subject", replace(subject, name="新名字")))
    assert (result.status, result.errno) == ("refused", Errno.RECORD_INVALID)


def test_shifts_may_be_closed_but_not_rewritten(storage: Storage) -> None:
    shift = Shift(new_id(), OFFICER.badge, NOW - timedelta(hours=4), grid_cell="G-07")
    closed = replace(shift, ended_at=NOW)
    results = push(storage, rec("shift", shift), rec("shift", closed), rec("shift", shift))
    assert [r.status for r in results] == ["accepted", "accepted", "duplicate"]
    moved = replace(closed, started_at=NOW - timedelta(hours=5))
    backwards = Shift(new_id(), OFFICER.badge, NOW, ended_at=NOW - timedelta(hours=1))
    theirs = Shift(new_id(), OTHER_OFFICER.badge, NOW)
    results = push(storage, rec("shift", moved), rec("shift", backwards), rec("shift", theirs))
    assert [r.errno for r in results] == [
        Errno.RECORD_ID_REUSED,
        Errno.RECORD_INVALID,
        Errno.RECORD_NOT_OWNED,
    ]
    with storage.transaction(readonly=True) as tx:
        assert tx.get_shift(shift.id) == closed


def _review(case: Case, decision: ReviewDecision, **changes: Any) -> Review:
    fields: dict[str, Any] = {
        "id": new_id(),
        "case_id": case.id,
        "case_no": case.case_no,
        "decision": decision,
        "reviewer_badge": LEADER.badge,
        "decided_at": NOW + timedelta(hours=1),
        "comment": "请补拍照片",
    }
    fields.update(changes)
    return Review(**fields)


def test_a_leader_returns_a_case_and_the_officer_hears_of_it(storage: Storage) -> None:
    case = make_case(subject_id=new_id())
    one(storage, rec("case", case))
    review = _review(case, ReviewDecision.RETURN)
    assert one(storage, rec("review", review), user=LEADER).status == "accepted"
    changes = feed(storage)
    assert changes[(ChangeKind.REVIEW, review.id)]["decision"] == "return"
    assert changes[(ChangeKind.CASE_STATE, case.id)]["state"] == "returned"
    assert (ChangeKind.REVIEW, review.id) not in feed(storage, badge=OTHER_OFFICER.badge)


def test_a_withdrawal_stops_the_case_counting(storage: Storage) -> None:
    sid = new_id()
    first = make_case(subject_id=sid, occurred_at=NOW - days(5))
    second = make_case(subject_id=sid, stage=Stage.WARNING)
    push(storage, rec("case", first), rec("case", second))
    one(storage, rec("review", _review(first, ReviewDecision.WITHDRAW)), user=LEADER)
    with storage.transaction(readonly=True) as tx:
        state = tx.case_state(second.id)
        assert state is not None
        assert state.hq_stage is Stage.PERSUASION
        history = {e.case_id: e.status for e in tx.subject_history(sid)}
    assert history[first.id] is CaseStatus.WITHDRAWN
    entries = feed(storage)[(ChangeKind.HISTORY, sid)]["entries"]
    assert {e["case_id"]: e["status"] for e in entries}[first.id] == "withdrawn"


def test_review_scope_and_order(storage: Storage) -> None:
    case = make_case(subject_id=new_id())
    unknown = make_case(subject_id=new_id())
    one(storage, rec("case", case))
    other_squad_leader = replace(LEADER, badge="3001", squad_code="ZD02")
    results = [
        one(storage, rec("review", _review(case, ReviewDecision.APPROVE, reviewer_badge=OFFICER.badge))),
        one(storage, rec("review", _review(unknown, ReviewDecision.APPROVE)), user=LEADER),
        one(
            storage,
            rec("review", _review(case, ReviewDecision.APPROVE, reviewer_badge="3001")),
            user=other_squad_leader,
        ),
        one(storage, rec("review", _review(case, ReviewDecision.APPROVE, case_no="X")), user=LEADER),
    ]
    assert [(r.status, r.errno) for r in results] == [
        ("refused", Errno.RECORD_NOT_OWNED),
        ("deferred", Errno.UNKNOWN_CASE),
        ("refused", Errno.RECORD_NOT_OWNED),
        ("refused", Errno.RECORD_INVALID),
    ]


# ----------------------------------------------------------------------- batches and sequence gaps


def test_sequence_gaps_are_reported_not_fatal(storage: Storage) -> None:
    def batch(*seqs: int) -> list[tuple[int, int]]:
        records = [rec("case", make_case(subject_id=new_id(), device_id="gappy"), seq=s) for s in seqs]
        report = ingest(storage, OFFICER, "gappy", records, now=NOW)
        assert all(r.status == "accepted" for r in report.results)
        return report.gaps

    assert batch(1, 2, 5) == [(3, 4)]
    assert batch(3, 4) == []  # late fill-in of the gap
    assert batch(9, 7) == [(6, 6), (8, 8)]
    with storage.transaction(readonly=True) as tx:
        assert tx.device_seq_high("gappy") == 9
        gaps = [e.detail["missing"] for e in tx.audit_events() if e.action == "sequence_gap"]
    assert gaps == [[[3, 4]], [[6, 6], [8, 8]]]


def test_sequence_gaps_function() -> None:
    assert sequence_gaps(0, []) == []
    assert sequence_gaps(0, [1, 2, 3]) == []
    assert sequence_gaps(10, [3, 12, 12, 15]) == [(11, 11), (13, 14)]


def test_a_batch_is_one_transaction(storage: Storage, monkeypatch: pytest.MonkeyPatch) -> None:
    good = make_case(subject_id=new_id())

    def explode(*args: object, **kwargs: object) -> None:
        raise RuntimeError("database went away")

    monkeypatch.setattr(ingest_module._Batch, "_shift", explode)
    shift = Shift(new_id(), OFFICER.badge, NOW)
    with pytest.raises(RuntimeError):
        push(storage, rec("case", good, seq=1), rec("shift", shift, seq=2))
    with storage.transaction(readonly=True) as tx:
        assert tx.get_case(good.id) is None
        assert tx.receipts_for(good.id) == []
        assert tx.device_seq_high(DEVICE) == 0
        assert tx.audit_events() == []
    assert feed(storage) == {}


def test_payload_hash_ignores_key_order() -> None:
    assert payload_hash("case", {"a": 1, "b": "二"}) == payload_hash("case", {"b": "二", "a": 1})
    assert payload_hash("case", {"a": 1}) != payload_hash("subject", {"a": 1})
