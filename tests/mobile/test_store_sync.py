"""The phone store's queues and the records around cases: outbox, photo queue, reviews, shifts, officers."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta

import pytest

from enforcement.codec import to_json_dict
from enforcement.model import LOCAL_TZ, Officer, Review, ReviewDecision, Role, SyncState, new_id
from mobile.store import Store, StoreRefused
from tests.mobile.test_store import BADGE, T0, make_case, make_subject, open_store


def filled_outbox(store: Store, n: int) -> list[int]:
    for i in range(n):
        store.save_subject(make_subject(name=f"摊主{i}", description="x" * (100 * i)))
    return [e.seq for e in store.outbox_pending(max_records=1000, max_bytes=10**9)]


# ------------------------------------------------------------------------------------------- outbox


def test_outbox_pending_is_oldest_first_within_limits() -> None:
    store = open_store()
    seqs = filled_outbox(store, 6)
    assert seqs == sorted(seqs)
    assert len(seqs) == 6
    assert [e.seq for e in store.outbox_pending(max_records=2)] == seqs[:2]
    sizes = [e.size for e in store.outbox_pending()]
    assert [e.seq for e in store.outbox_pending(max_bytes=sizes[0] + sizes[1])] == seqs[:2]
    assert [e.seq for e in store.outbox_pending(max_bytes=sizes[0] + sizes[1] - 1)] == seqs[:1]
    assert [e.seq for e in store.outbox_pending(max_bytes=1)] == seqs[:1]  # always at least one
    assert store.outbox_stats() == (6, sum(sizes))


def test_outbox_ack_removes_exactly_the_given_entries() -> None:
    store = open_store()
    seqs = filled_outbox(store, 5)
    store.outbox_ack([seqs[1], seqs[3], 999_999])
    assert [e.seq for e in store.outbox_pending()] == [seqs[0], seqs[2], seqs[4]]
    store.outbox_ack([])
    assert len(store.outbox_pending()) == 3
    store.outbox_ack(seqs)
    assert store.outbox_pending() == []
    assert store.outbox_stats() == (0, 0)
    store.save_subject(make_subject())
    assert store.outbox_pending()[0].seq > max(seqs)  # sequence numbers are never reused


def test_parking_keeps_both_reasons_and_takes_the_entry_out_of_the_queue() -> None:
    store = open_store()
    seqs = filled_outbox(store, 3)
    store.outbox_park(seqs[1], "1207", "该违法行为不在本中队管辖范围", "violation outside the squad's remit")
    assert [e.seq for e in store.outbox_pending()] == [seqs[0], seqs[2]]
    [parked] = store.outbox_parked()
    assert (parked.seq, parked.parked_code) == (seqs[1], "1207")
    assert parked.parked_reason_zh == "该违法行为不在本中队管辖范围"
    assert parked.parked_reason_en == "violation outside the squad's remit"
    records, _ = store.outbox_stats()
    assert records == 2
    store.outbox_unpark(seqs[1])
    assert [e.seq for e in store.outbox_pending()] == seqs
    assert store.outbox_pending()[1].parked_reason_zh == ""
    store.outbox_park(seqs[0], "x", "原因", "reason")
    store.outbox_park(seqs[2], "y", "原因", "reason")
    store.outbox_unpark()
    assert store.outbox_parked() == []
    assert len(store.outbox_pending()) == 3


def test_parking_refusals() -> None:
    store = open_store()
    [seq] = filled_outbox(store, 1)
    for args, field in [
        ((seq, "", "原因", "reason"), "code"),
        ((seq, "1207", "", "reason"), "reason_zh"),
        ((seq, "1207", "原因", " "), "reason_en"),
    ]:
        with pytest.raises(StoreRefused) as err:
            store.outbox_park(*args)
        assert err.value.field == field
        assert err.value.message("zh")
        assert err.value.message("en")
    with pytest.raises(StoreRefused) as err:
        store.outbox_park(seq + 1, "1207", "原因", "reason")
    assert (err.value.code, err.value.field) == ("unknown_outbox_entry", "seq")
    with pytest.raises(StoreRefused) as err:
        store.outbox_unpark(seq + 1)
    assert err.value.code == "unknown_outbox_entry"
    assert store.outbox_parked() == []


def test_attempts_are_counted() -> None:
    store = open_store()
    seqs = filled_outbox(store, 2)
    store.outbox_attempted([seqs[0]])
    store.outbox_attempted([seqs[0]])
    assert [e.attempts for e in store.outbox_pending()] == [2, 0]


# ------------------------------------------------------------------------------------------- photos


def test_photo_queue_counts_each_file_once_and_tracks_uploads() -> None:
    store = open_store()
    first = make_case(store, None, subject_unknown=True, photos=3)
    store.save_case(first)
    shared = first.photos[0]
    second = make_case(store, None, subject_unknown=True, photos=1, seized=0)
    second = replace(second, photos=(shared, *second.photos))  # the same file in two cases
    store.save_case(second)
    waiting = store.photos_to_upload()
    assert [p.sha256 for p in waiting] == [p.sha256 for p in first.photos] + [second.photos[1].sha256]
    assert waiting[0] == shared
    assert store.photo_stats() == (4, sum(p.size for p in waiting))
    assert store.photo_hashes() == {p.sha256 for p in waiting}
    assert [p.sha256 for p in store.photos_to_upload(limit=2)] == [p.sha256 for p in first.photos[:2]]
    store.mark_photo_uploaded(shared.sha256)
    store.mark_photo_uploaded("0" * 64)  # unknown: ignored
    assert shared not in store.photos_to_upload()
    assert store.photo_stats()[0] == 3
    assert shared.sha256 in store.photo_hashes()  # still referenced: must not be swept
    missing = {line.case.id: line.photos_missing for line in store.patrol_log(BADGE, T0.date())}
    assert missing == {first.id: 2, second.id: 1}


# ------------------------------------------------------------------------------------------ reviews


def test_remote_review_return_marks_the_case_returned_and_is_idempotent() -> None:
    store = open_store()
    case = make_case(store, None, subject_unknown=True)
    store.save_case(case)
    store.set_sync_state(case.id, SyncState.COMPLETE)
    review = Review(new_id(), case.id, case.case_no, ReviewDecision.RETURN, "0001", T0, "请补拍整改后照片")
    store.apply_review(review)
    store.apply_review(review)
    [line] = store.patrol_log(BADGE, T0.date())
    assert (line.sync_state, line.review) == (SyncState.RETURNED, review)
    assert store.outbox_stats()[0] == 1  # only the case: pulled reviews are not sent back


def test_leader_review_goes_to_the_outbox() -> None:
    store = open_store()
    review = Review(new_id(), new_id(), "ZD01-1023-261122-K7Q2M-0001", ReviewDecision.APPROVE, "0001", T0)
    store.save_review(review)
    [entry] = store.outbox_pending()
    assert (entry.kind, entry.record_id, entry.payload) == ("review", review.id, to_json_dict(review))
    with pytest.raises(StoreRefused) as err:
        store.save_review(review)
    assert err.value.code == "review_exists"
    assert store.outbox_stats()[0] == 1


def test_review_refusals() -> None:
    store = open_store()
    good = Review(new_id(), new_id(), "N-1", ReviewDecision.RETURN, "0001", T0, "照片不清")
    for field, bad in [
        ("comment", Review(new_id(), new_id(), "N-1", ReviewDecision.RETURN, "0001", T0, "  ")),
        ("comment", Review(new_id(), new_id(), "N-1", ReviewDecision.WITHDRAW, "0001", T0)),
        ("reviewer_badge", Review(new_id(), new_id(), "N-1", ReviewDecision.APPROVE, "", T0)),
        (
            "decided_at",
            Review(new_id(), new_id(), "N-1", ReviewDecision.APPROVE, "0001", datetime(2026, 1, 1)),
        ),
        ("decision", Review(new_id(), new_id(), "N-1", "maybe", "0001", T0)),  # type: ignore[arg-type]
        ("case_id", Review(new_id(), "", "N-1", ReviewDecision.APPROVE, "0001", T0)),
    ]:
        with pytest.raises(StoreRefused) as err:
            store.save_review(bad)
        assert err.value.field == field, field
        assert err.value.message("zh")
        assert err.value.message("en")
    assert store.outbox_stats() == (0, 0)
    store.save_review(good)
    assert store.outbox_stats()[0] == 1


# ------------------------------------------------------------------------------------------- shifts


def test_shift_lifecycle_goes_to_the_outbox() -> None:
    store = open_store()
    start = datetime(2026, 11, 22, 18, 0, tzinfo=LOCAL_TZ)
    shift = store.start_shift(BADGE, start, grid_cell="G-017")
    assert store.open_shift(BADGE) == shift
    assert store.open_shift("2001") is None
    ended = store.end_shift(shift.id, start + timedelta(hours=8))  # past midnight
    assert ended.ended_at == start + timedelta(hours=8)
    assert store.open_shift(BADGE) is None
    assert store.shifts_on(BADGE, date(2026, 11, 22)) == [ended]
    assert store.shifts_on(BADGE, date(2026, 11, 23)) == []
    entries = store.outbox_pending()
    assert [(e.kind, e.record_id) for e in entries] == [("shift", shift.id), ("shift", shift.id)]
    assert entries[0].payload["ended_at"] is None
    assert entries[1].payload["ended_at"] is not None
    later = store.start_shift(BADGE, start + timedelta(days=1))
    assert store.shifts_on(BADGE, date(2026, 11, 23)) == [later]


def test_shift_refusals() -> None:
    store = open_store()
    start = datetime(2026, 11, 22, 18, 0, tzinfo=LOCAL_TZ)
    shift = store.start_shift(BADGE, start)
    cases = [
        ("shift_open", "officer_badge", lambda: store.start_shift(BADGE, start + timedelta(hours=1))),
        ("required", "officer_badge", lambda: store.start_shift("", start)),
        ("time_not_aware", "started_at", lambda: store.start_shift("2001", datetime(2026, 11, 22, 18))),
        ("unknown_shift", "shift_id", lambda: store.end_shift(new_id(), start)),
        (
            "shift_end_before_start",
            "ended_at",
            lambda: store.end_shift(shift.id, start - timedelta(minutes=1)),
        ),
        ("time_not_aware", "ended_at", lambda: store.end_shift(shift.id, datetime(2026, 11, 22, 20))),
    ]
    for code, field, call in cases:
        with pytest.raises(StoreRefused) as err:
            call()
        assert (err.value.code, err.value.field) == (code, field)
        assert err.value.message("zh")
        assert err.value.message("en")
    store.end_shift(shift.id, start + timedelta(hours=1))
    with pytest.raises(StoreRefused) as err:
        store.end_shift(shift.id, start + timedelta(hours=2))
    assert err.value.code == "shift_ended"
    assert store.outbox_stats()[0] == 2


# ----------------------------------------------------------------------------------------- officers


def test_officer_is_saved_and_updated() -> None:
    store = open_store()
    officer = Officer(BADGE, "张㐂", "ZD01", "人民路中队", "金水区")
    store.save_officer(officer)
    assert store.get_officer(BADGE) == officer
    leader = Officer(BADGE, "张㐂", "ZD01", "人民路中队", "金水区", Role.LEADER)
    store.save_officer(leader)
    assert store.get_officer(BADGE) == leader
    assert store.get_officer("9999") is None


def test_officer_refusals() -> None:
    store = open_store()
    for field, officer in [
        ("badge", Officer("", "张三", "ZD01")),
        ("name", Officer(BADGE, " ", "ZD01")),
        ("squad_code", Officer(BADGE, "张三", "")),
        ("role", Officer(BADGE, "张三", "ZD01", role="boss")),  # type: ignore[arg-type]
    ]:
        with pytest.raises(StoreRefused) as err:
            store.save_officer(officer)
        assert err.value.field == field
        assert err.value.message("zh")
        assert err.value.message("en")
    assert store.get_officer(BADGE) is None
