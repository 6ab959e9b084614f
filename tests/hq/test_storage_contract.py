"""The storage contract, run unchanged against SQLite and PostgreSQL (the change feed's part is in
``test_storage_feed.py``)."""

from __future__ import annotations

import pathlib
import sqlite3
import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from enforcement.model import (
    CaseStatus,
    Review,
    ReviewDecision,
    Role,
    Shift,
    Stage,
    new_id,
)
from hq.storage import open_storage
from hq.storage.base import (
    ChangeKind,
    ChangeScope,
    District,
    Receipt,
    RecordKind,
    SignInFailures,
    Squad,
    StageVerdict,
    Storage,
    StorageConflict,
    StorageError,
    StorageUnavailable,
    SubjectAlias,
    SubjectConflict,
    SubjectPair,
    SubjectRevision,
    TokenRow,
    UserRow,
)
from hq.storage.sqlite import SqliteStorage
from testkit.records import (
    DISTRICT,
    LEADER,
    NOW,
    OFFICER,
    OTHER_OFFICER,
    days,
    make_case,
    make_subject,
)

T0 = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
VERDICT = StageVerdict(Stage.PERSUASION, 1, "第1次 · 劝导", "1st · Persuasion")


def test_organisation_and_users_round_trip(storage: Storage) -> None:
    with storage.transaction() as tx:
        tx.put_district(District(DISTRICT, "金水区城管局"))
        tx.put_squad(Squad("ZD01", "人民路中队", DISTRICT))
        tx.put_squad(Squad("ZD02", "滨河中队", "二七区"))
        tx.put_user(UserRow(OFFICER, "argon2-hash"))
        tx.put_user(UserRow(LEADER, "leader-hash"))
    with storage.transaction(readonly=True) as tx:
        assert tx.get_district(DISTRICT) == District(DISTRICT, "金水区城管局")
        assert [s.code for s in tx.list_squads(DISTRICT)] == ["ZD01"]
        assert [s.code for s in tx.list_squads()] == ["ZD01", "ZD02"]
        user = tx.get_user(OFFICER.badge)
        assert user is not None
        assert user.officer == OFFICER
        assert user.pin_hash == "argon2-hash"
        assert user.officer.name == "王㐂𠮷"  # characters outside the BMP survive
        assert [u.badge for u in tx.list_users(squad_code="ZD01")] == ["1023", "2001"]
        assert tx.get_user("9999") is None
    with storage.transaction() as tx:
        assert tx.set_pin_hash(OFFICER.badge, "new-hash")
        assert tx.set_user_active(OFFICER.badge, False)
        assert not tx.set_pin_hash("9999", "x")
        tx.put_user(UserRow(replace(LEADER, role=Role.HQ), "leader-hash"))
    with storage.transaction(readonly=True) as tx:
        user = tx.get_user(OFFICER.badge)
        assert user is not None
        assert user.pin_hash == "new-hash"
        assert not user.active
        leader = tx.get_user(LEADER.badge)
        assert leader is not None
        assert leader.officer.role is Role.HQ


def test_devices_and_tokens(storage: Storage) -> None:
    with storage.transaction() as tx:
        first = tx.touch_device("dev-1", OFFICER.badge, T0, "华为 Mate")
        tx.touch_device("dev-1", OFFICER.badge, T0 + timedelta(hours=1))  # empty name keeps the stored one
        tx.touch_device("dev-2", OFFICER.badge, T0 + timedelta(hours=2), "备用机")
        for n, device_id in enumerate(["dev-1", "dev-1", "dev-2"]):
            tx.add_token(TokenRow(f"hash-{n}", device_id, OFFICER.badge, T0, T0 + days(14)))
    assert first.created_at == T0
    assert first.device_name == "华为 Mate"
    with storage.transaction(readonly=True) as tx:
        device = tx.get_device("dev-1")
        assert device is not None
        assert device.last_seen_at == T0 + timedelta(hours=1)
        assert device.device_name == "华为 Mate"
        assert [d.device_id for d in tx.list_devices(OFFICER.badge)] == ["dev-2", "dev-1"]
        assert tx.active_token_count("dev-1", T0) == 2
        assert tx.active_token_count("dev-1", T0 + days(15)) == 0  # expired
        token = tx.get_token("hash-0")
        assert token is not None
        assert token.valid_at(T0)
        assert not token.valid_at(T0 + days(14))
    with storage.transaction() as tx:
        assert tx.revoke_tokens(T0, device_id="dev-1") == 2
        assert tx.revoke_tokens(T0, device_id="dev-1") == 0  # already revoked
        tx.touch_token("hash-2", T0 + timedelta(minutes=5))
        with pytest.raises(StorageError) as err:
            tx.revoke_tokens(T0)
        assert err.value.zh
        assert err.value.field == "token_hash"
    with storage.transaction(readonly=True) as tx:
        revoked = tx.get_token("hash-0")
        assert revoked is not None
        assert revoked.revoked
        assert not revoked.valid_at(T0)
        live = tx.get_token("hash-2")
        assert live is not None
        assert live.last_used_at == T0 + timedelta(minutes=5)


def test_a_shared_device_keeps_a_row_per_badge_keys_bind_once_and_revocation_blocks(
    storage: Storage,
) -> None:
    with storage.transaction() as tx:
        tx.touch_device("squad-phone", OFFICER.badge, T0, "中队公用机")
        tx.touch_device("squad-phone", LEADER.badge, T0 + timedelta(hours=3))
        assert tx.get_device_key("squad-phone") is None
        bound = tx.bind_device_key("squad-phone", "a" * 64, OFFICER.badge, T0)
        again = tx.bind_device_key("squad-phone", "b" * 64, LEADER.badge, T0 + timedelta(hours=1))
    assert bound.key_hash == again.key_hash == "a" * 64  # bound once: a second key does not replace it
    assert again.bound_badge == OFFICER.badge
    with storage.transaction(readonly=True) as tx:
        rows = {d.badge: d for d in tx.list_devices(device_id="squad-phone")}
        officer_row = tx.get_device("squad-phone", OFFICER.badge)
        newest = tx.get_device("squad-phone")
    assert rows[OFFICER.badge].last_seen_at == T0  # the leader's later sign-in leaves it alone
    assert rows[LEADER.badge].last_seen_at == T0 + timedelta(hours=3)
    assert officer_row is not None
    assert officer_row.device_name == "中队公用机"
    assert newest is not None
    assert newest.badge == LEADER.badge
    with storage.transaction() as tx:
        assert tx.set_device_revoked("squad-phone", T0, OFFICER.badge) == 1
        assert tx.set_device_revoked("never-seen", T0) == 0
    with storage.transaction(readonly=True) as tx:
        officer_row = tx.get_device("squad-phone", OFFICER.badge)
        leader_row = tx.get_device("squad-phone", LEADER.badge)
        key = tx.get_device_key("squad-phone")
        assert tx.get_device_key("never-seen") is None
    assert officer_row is not None
    assert officer_row.revoked_at == T0
    assert leader_row is not None
    assert leader_row.revoked_at is None
    assert key is not None
    assert key.revoked_at is None
    with storage.transaction() as tx:
        assert tx.set_device_revoked("squad-phone", T0 + timedelta(hours=1)) == 2  # the whole device
        key = tx.get_device_key("squad-phone")
        assert key is not None
        assert key.revoked_at == T0 + timedelta(hours=1)
        assert key.key_hash == "a" * 64
        tx.set_device_revoked("squad-phone", None)  # enabled again
        key = tx.get_device_key("squad-phone")
        assert key is not None
        assert key.revoked_at is None
        assert all(d.revoked_at is None for d in tx.list_devices(device_id="squad-phone"))


def test_failure_counters_are_put_whole_under_a_sign_in_lock(storage: Storage) -> None:
    with storage.transaction() as tx:
        tx.lock_signin(["badge:1023", "addr:10.0.0.1"])
        locked = T0 + timedelta(minutes=1)
        tx.put_failures(SignInFailures("addr:10.0.0.1", 4, T0, T0 + timedelta(seconds=3), locked))
        tx.put_failures(SignInFailures("addr:10.0.0.1", 3, T0, T0 + timedelta(seconds=4), None))
    with storage.transaction(readonly=True) as tx:
        assert tx.get_failures("addr:10.0.0.1") == SignInFailures(
            "addr:10.0.0.1", 3, T0, T0 + timedelta(seconds=4), None
        )


def test_sign_in_failure_counters(storage: Storage) -> None:
    with storage.transaction() as tx:
        assert tx.get_failures("badge:1023") is None
        tx.record_failure("badge:1023", T0)
        tx.record_failure("badge:1023", T0 + timedelta(seconds=5), locked_until=T0 + timedelta(minutes=1))
        third = tx.record_failure("badge:1023", T0 + timedelta(seconds=9))
    assert third.count == 3
    assert third.first_at == T0
    assert third.last_at == T0 + timedelta(seconds=9)
    assert third.locked_until == T0 + timedelta(minutes=1)  # kept when not given again
    with storage.transaction() as tx:
        tx.clear_failures("badge:1023")
        assert tx.get_failures("badge:1023") is None


def test_receipts_and_device_sequence_high_water(storage: Storage) -> None:
    receipt = Receipt("rec-1", "h1", RecordKind.CASE, "1023", "dev-1", 7, T0, {"status": "accepted"})
    with storage.transaction() as tx:
        tx.add_receipt(receipt)
        tx.add_receipt(replace(receipt, payload_hash="h2", received_at=T0 + timedelta(seconds=1)))
        assert tx.device_seq_high("dev-1") == 0
        tx.set_device_seq_high("dev-1", 9)
        tx.set_device_seq_high("dev-1", 4)  # never lowers
    with storage.transaction(readonly=True) as tx:
        assert tx.get_receipt("rec-1", "h1") == receipt
        assert tx.get_receipt("rec-1", "nope") is None
        assert [r.payload_hash for r in tx.receipts_for("rec-1")] == ["h1", "h2"]
        assert tx.device_seq_high("dev-1") == 9


def test_case_versions_and_latest(storage: Storage) -> None:
    v1 = make_case(subject_id=new_id(), photos=2)
    v2 = replace(v1, id=new_id(), version=2, supersedes=v1.id, notes="补充说明")
    with storage.transaction() as tx:
        state = tx.save_case(v1, district=DISTRICT, verdict=VERDICT, received_at=T0)
        assert state.latest
        assert state.photos_expected == 2
        assert not state.complete
        assert not state.stage_conflict
        assert state.device_stage is Stage.PERSUASION
        tx.save_case(v2, district=DISTRICT, verdict=StageVerdict(Stage.WARNING, 2), received_at=T0)
    with storage.transaction(readonly=True) as tx:
        assert tx.get_case(v1.id) == v1
        assert tx.latest_case_version(v1.case_no) == v2
        assert [c.version for c in tx.case_versions(v1.case_no)] == [1, 2]
        old, new = tx.case_state(v1.id), tx.case_state(v2.id)
        assert old is not None
        assert not old.latest
        assert new is not None
        assert new.latest
        assert new.hq_stage is Stage.WARNING
        assert new.stage_conflict


def test_save_case_refuses_a_stale_amendment_and_a_reused_id(storage: Storage) -> None:
    v1 = make_case(subject_id=new_id())
    v2 = replace(v1, id=new_id(), version=2, supersedes=v1.id)
    with storage.transaction() as tx:
        tx.save_case(v1, district=DISTRICT, verdict=VERDICT, received_at=T0)
        tx.save_case(v2, district=DISTRICT, verdict=VERDICT, received_at=T0)
    with pytest.raises(StorageConflict) as err, storage.transaction() as tx:
        tx.save_case(replace(v2, id=new_id()), district=DISTRICT, verdict=VERDICT, received_at=T0)
    assert err.value.field == "supersedes"
    with pytest.raises(StorageConflict), storage.transaction() as tx:
        tx.save_case(v1, district=DISTRICT, verdict=VERDICT, received_at=T0)
    with storage.transaction(readonly=True) as tx:
        assert [c.id for c in tx.case_versions(v1.case_no)] == [v1.id, v2.id]


def test_subject_history_spans_officers_latest_versions_and_withdrawals(storage: Storage) -> None:
    subject = new_id()
    a = make_case(subject_id=subject, occurred_at=NOW - days(30))
    b = make_case(officer=OTHER_OFFICER, subject_id=subject, occurred_at=NOW - days(20))
    b2 = replace(b, id=new_id(), version=2, supersedes=b.id, status=CaseStatus.VOIDED)
    c = make_case(subject_id=subject, occurred_at=NOW - days(10))
    elsewhere = make_case(subject_id=new_id(), occurred_at=NOW - days(5))
    with storage.transaction() as tx:
        for case in (a, b, b2, c, elsewhere):
            tx.save_case(case, district=DISTRICT, verdict=VERDICT, received_at=T0)
        tx.save_review(
            Review(new_id(), c.id, c.case_no, ReviewDecision.WITHDRAW, LEADER.badge, NOW - days(9)), T0
        )
    with storage.transaction(readonly=True) as tx:
        history = tx.subject_history(subject)
        assert [(e.case_id, e.status) for e in history] == [
            (a.id, CaseStatus.ACTIVE),
            (b2.id, CaseStatus.VOIDED),
            (c.id, CaseStatus.WITHDRAWN),
        ]
        assert [e.case_id for e in tx.subject_history(subject, before=NOW - days(15))] == [a.id, b2.id]
        state = tx.case_state(c.id)
        assert state is not None
        assert state.review == "withdraw"


def test_list_cases_filters_and_verdict_updates(storage: Storage) -> None:
    subject = new_id()
    mine = make_case(subject_id=subject, occurred_at=NOW - days(2))
    theirs = make_case(officer=OTHER_OFFICER, subject_id=subject, occurred_at=NOW - days(1))
    with storage.transaction() as tx:
        tx.save_case(mine, district=DISTRICT, verdict=VERDICT, received_at=T0)
        tx.save_case(theirs, district=DISTRICT, verdict=VERDICT, received_at=T0)
        updated = tx.set_verdict(theirs.id, StageVerdict(Stage.WARNING, 2, "第2次", "2nd"))
    assert updated is not None
    assert updated.stage_conflict
    assert updated.explain_en == "2nd"
    with storage.transaction(readonly=True) as tx:
        assert [s.case_id for s in tx.list_cases(squad_code="ZD01")] == [theirs.id, mine.id]
        assert [s.case_id for s in tx.list_cases(officer_badge=OFFICER.badge)] == [mine.id]
        assert [s.case_id for s in tx.list_cases(conflicts_only=True)] == [theirs.id]
        assert [s.case_id for s in tx.list_cases(since=NOW - days(1))] == [theirs.id]
        assert [s.case_id for s in tx.list_cases(until=NOW - days(1))] == [mine.id]
        assert [s.case_id for s in tx.list_cases(district="二七区")] == []
        assert len(tx.list_cases(subject_id=subject, limit=1)) == 1
        both = [theirs.id, mine.id]
        assert [s.case_id for s in tx.list_cases(subject_ids=[new_id(), subject, subject])] == both
        assert [s.case_id for s in tx.list_cases(subject_ids=[subject], since=NOW - days(1))] == [theirs.id]
        assert tx.list_cases(subject_ids=[]) == []
        assert tx.list_cases(subject_ids=[new_id()]) == []
        with pytest.raises(ValueError, match="500"):
            tx.list_cases(subject_ids=[new_id() for _ in range(501)])


def test_set_verdicts_updates_each_case_as_set_verdict_does(storage: Storage) -> None:
    cases = [make_case(subject_id=new_id(), occurred_at=NOW - days(n)) for n in range(3)]
    verdicts = [
        StageVerdict(Stage.WARNING, 2, "第2次", "2nd", 3),
        StageVerdict(Stage.PERSUASION, 1, "第1次", "1st"),
    ]
    with storage.transaction() as tx:
        for case in cases:
            tx.save_case(case, district=DISTRICT, verdict=VERDICT, received_at=T0)
        one = tx.set_verdict(cases[0].id, verdicts[0])
        tx.set_verdicts([(cases[1].id, verdicts[0]), (cases[2].id, verdicts[1]), (new_id(), verdicts[1])])
        tx.set_verdicts([])
    with storage.transaction(readonly=True) as tx:
        states = [tx.case_state(c.id) for c in cases]
    assert one is not None
    assert states[1] is not None
    assert states[2] is not None
    assert states[0] == one
    assert (states[1].hq_stage, states[1].hq_ordinal, states[1].stage_conflict, states[1].explain_zh,
            states[1].policy_version) == (Stage.WARNING, 2, True, "第2次", 3)  # fmt: skip
    assert (states[2].hq_stage, states[2].stage_conflict, states[2].explain_en) == (
        Stage.PERSUASION,
        False,
        "1st",
    )


def test_photos_make_cases_complete(storage: Storage) -> None:
    case = make_case(subject_id=new_id(), photos=2)
    other = make_case(subject_id=new_id(), photos=1)
    shared, only = case.photos[0].sha256, case.photos[1].sha256
    other = replace(other, photos=(case.photos[0],))
    with storage.transaction() as tx:
        assert tx.mark_photo_stored(only, 1001, T0, "1023") == []  # arrives before its case
        tx.save_case(case, district=DISTRICT, verdict=VERDICT, received_at=T0)
        tx.save_case(other, district=DISTRICT, verdict=VERDICT, received_at=T0)
        assert tx.missing_photos(case.id) == [shared]
        unknown = new_id()
        assert tx.missing_photos_of([case.id, other.id, unknown]) == {
            case.id: [shared],
            other.id: [shared],
            unknown: [],
        }
        completed = tx.mark_photo_stored(shared, 1000, T0, "1023")
        assert completed == sorted([case.id, other.id])
        assert tx.mark_photo_stored(shared, 1000, T0, "1023") == []  # already stored
    with storage.transaction(readonly=True) as tx:
        state = tx.case_state(case.id)
        assert state is not None
        assert state.complete
        assert state.photos_stored == 2
        photo = tx.get_photo(shared)
        assert photo is not None
        assert photo.stored
        assert photo.size == 1000
        assert photo.uploaded_by == "1023"
        assert tx.cases_with_photo(shared) == sorted([case.id, other.id])
        assert tx.get_photo("f" * 64) is None


def test_subjects_shifts_reviews_catalogue(storage: Storage) -> None:
    subject = make_subject()
    shift = Shift(new_id(), OFFICER.badge, NOW - timedelta(hours=4), grid_cell="G-07")
    case = make_case(subject_id=subject.id)
    first = Review(new_id(), case.id, case.case_no, ReviewDecision.RETURN, LEADER.badge, NOW, "补拍照片")
    second = replace(first, id=new_id(), decision=ReviewDecision.APPROVE, decided_at=NOW + timedelta(hours=1))
    with storage.transaction() as tx:
        tx.save_subject(subject, at=T0, by_badge=OFFICER.badge)
        tx.save_shift(shift)
        tx.save_shift(replace(shift, ended_at=NOW))
        tx.save_case(case, district=DISTRICT, verdict=VERDICT, received_at=T0)
        tx.save_review(second, T0)
        tx.save_review(first, T0)  # older decision arriving later does not win
        tx.set_catalogue("2026.11-1", {"format": 1}, T0)
    with storage.transaction(readonly=True) as tx:
        assert tx.get_subject(subject.id) == subject
        assert tx.list_subjects(DISTRICT) == [subject]
        assert tx.get_shift(shift.id) == replace(shift, ended_at=NOW)
        assert tx.list_shifts(OFFICER.badge, since=NOW - days(1)) == [replace(shift, ended_at=NOW)]
        assert [r.id for r in tx.reviews_for_case(case.id)] == [first.id, second.id]
        assert tx.get_review(first.id) == first
        state = tx.case_state(case.id)
        assert state is not None
        assert state.review == "approve"
        assert tx.get_catalogue() == ("2026.11-1", {"format": 1})
    with storage.transaction() as tx:
        assert tx.delete_subject(subject.id, T0)
        assert not tx.delete_subject(subject.id, T0)
    with storage.transaction(readonly=True) as tx:
        assert tx.get_subject(subject.id) is None
        assert tx.get_subject(subject.id, include_deleted=True) == subject
        assert tx.list_subjects(DISTRICT) == []


def test_registry_writes_are_published(storage: Storage) -> None:
    subject = make_subject()
    with storage.transaction() as tx:
        tx.save_subject(subject, at=T0)
        tx.set_catalogue("2026.11-2", {"format": 1}, T0)
    with storage.transaction(readonly=True) as tx:
        page = tx.changes_after(None, district=DISTRICT, badge="1023")
        elsewhere = tx.changes_after(None, district="二七区", badge="9")
    assert [(c.kind, c.key) for c in page.changes] == [
        (ChangeKind.SUBJECT, subject.id),
        (ChangeKind.CATALOGUE, "catalogue"),
    ]
    assert page.changes[0].data["name"] == subject.name
    assert page.changes[1].data == {"version": "2026.11-2"}
    assert [c.kind for c in elsewhere.changes] == [ChangeKind.CATALOGUE]
    with storage.transaction() as tx:
        tx.delete_subject(subject.id, T0)
    with storage.transaction(readonly=True) as tx:
        after = tx.changes_after(page.cursor, district=DISTRICT, badge="1023")
    assert [(c.kind, c.key, dict(c.data)) for c in after.changes] == [
        (ChangeKind.TOMBSTONE, subject.id, {"kind": "subject", "id": subject.id})
    ]


def test_subject_keys_pairs_aliases_revisions_and_conflicts(storage: Storage) -> None:
    with storage.transaction() as tx:
        tx.set_subject_keys("s1", DISTRICT, {"phone:13812345678", "name:shop:老王"})
        tx.set_subject_keys("s2", DISTRICT, {"phone:13812345678"})
        tx.set_subject_keys("s3", "二七区", {"phone:13812345678"})
        tx.put_subject_pair(SubjectPair("s2", "s1", DISTRICT, "strong", "phone", "open", NOW, "1023"))
        tx.put_subject_alias(SubjectAlias("s2", "s1", DISTRICT, NOW, "2001"))
        tx.add_subject_revision(SubjectRevision("s1", 1, NOW, "1023", "d1", {"name": "老王"}, ("name",)))
        tx.add_subject_conflict(
            SubjectConflict("c1", "s1", DISTRICT, "name", "a", "b", "c", "1024", "d2", NOW)
        )
    with storage.transaction() as tx:
        assert tx.subjects_with_keys(DISTRICT, ["phone:13812345678"]) == {
            "s1": {"phone:13812345678"}, "s2": {"phone:13812345678"},
        }  # fmt: skip
        pair = tx.get_subject_pair("s2", "s1")
        assert pair is not None
        assert (pair.a, pair.b, pair.at) == ("s1", "s2", NOW)
        assert tx.subject_pairs(["s2"]) == [pair]
        assert tx.list_subject_pairs(DISTRICT) == [pair]
        assert tx.list_subject_pairs(DISTRICT, states=["merged"]) == []
        assert tx.subject_alias("s2") == SubjectAlias("s2", "s1", DISTRICT, NOW, "2001")
        assert [a.alias_id for a in tx.aliases_of("s1")] == ["s2"]
        assert tx.subject_revisions("s1")[0].payload == {"name": "老王"}
        assert tx.get_subject_conflict("c1") is not None
        assert tx.resolve_subject_conflict("c1", NOW + timedelta(minutes=1), "2001")
        assert not tx.resolve_subject_conflict("c1", NOW, "2001")  # once
        assert tx.list_subject_conflicts(DISTRICT) == []
        assert tx.list_subject_conflicts(DISTRICT, open_only=False)[0].resolved_by == "2001"
        assert tx.drop_subject_alias("s2")
        assert tx.delete_subject_pair("s1", "s2")
        tx.set_subject_keys("s1", DISTRICT, [])
        assert tx.subjects_with_keys(DISTRICT, ["name:shop:老王"]) == {}


def test_failed_transaction_leaves_nothing(storage: Storage) -> None:
    def failing_work() -> None:
        with storage.transaction() as tx:
            tx.put_user(UserRow(OFFICER, "h"))
            tx.emit(ChangeKind.CATALOGUE, "catalogue", {"version": "x"}, ChangeScope.everyone())
            tx.audit("1023", "test")
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        failing_work()
    with storage.transaction(readonly=True) as tx:
        assert tx.get_user(OFFICER.badge) is None
        assert tx.changes_after(None, district=DISTRICT, badge="1023").changes == []
        assert tx.audit_events() == []
        assert tx.audit_head() is None


def test_read_only_transaction_refuses_writes(storage: Storage) -> None:
    with pytest.raises(StorageError) as err, storage.transaction(readonly=True) as tx:
        tx.put_user(UserRow(OFFICER, "h"))
    assert err.value.zh
    with pytest.raises(StorageError), storage.transaction(readonly=True) as tx:
        tx.emit(ChangeKind.CATALOGUE, "catalogue", {}, ChangeScope.everyone())


def test_times_without_zone_are_refused(storage: Storage) -> None:
    with pytest.raises(StorageError) as err, storage.transaction() as tx:
        tx.record_failure("k", datetime(2026, 1, 1))
    assert err.value.field == "at"


def test_a_busy_database_leaves_the_storage_as_storage_unavailable(storage: Storage) -> None:
    """The driver's operational error (here: a lock held too long, a statement timeout) is translated at the
    storage boundary, its cause kept; callers never see a driver's exception."""
    if isinstance(storage, SqliteStorage):
        holder = sqlite3.connect(storage.path, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        impatient = SqliteStorage(storage.path, busy_timeout_s=0.05)
        try:
            with pytest.raises(StorageUnavailable) as err, impatient.transaction() as tx:
                tx.put_user(UserRow(OFFICER, "h"))
        finally:
            impatient.close()
            holder.execute("ROLLBACK")
            holder.close()
        assert isinstance(err.value.__cause__, sqlite3.OperationalError)
    else:

        def sleep_past_the_timeout() -> None:
            with storage.transaction(readonly=True) as tx:
                tx.conn.execute("SET LOCAL statement_timeout = 20")  # type: ignore[attr-defined]
                tx.conn.execute("SELECT pg_sleep(2)")  # type: ignore[attr-defined]

        with pytest.raises(StorageUnavailable) as err:
            sleep_past_the_timeout()
        assert type(err.value.__cause__).__module__.startswith("psycopg")
    assert isinstance(err.value, StorageError)
    assert err.value.zh
    with storage.transaction(readonly=True) as tx:  # and the storage works on
        assert tx.get_user(OFFICER.badge) is None


def test_in_memory_sqlite_refuses_a_nested_transaction_instead_of_hanging() -> None:
    storage = SqliteStorage(":memory:", busy_timeout_s=0.05)
    storage.create_schema()
    with storage.transaction() as tx:
        tx.put_user(UserRow(OFFICER, "h"))
        with pytest.raises(StorageError) as err, storage.transaction(readonly=True):
            pass
    assert err.value.zh
    with storage.transaction(readonly=True) as tx:
        assert tx.get_user(OFFICER.badge) is not None
    storage.close()


def test_open_storage_picks_the_backend(tmp_path: object) -> None:
    storage = open_storage(f"sqlite:///{tmp_path}/x.db")
    assert storage.backend == "sqlite"
    storage.close()


def test_many_writer_threads_queue_without_a_busy_error(tmp_path: pathlib.Path) -> None:
    """SQLite: writers of one process take turns before holding a connection, so 40 at once all commit."""
    from hq.storage.sqlite import SqliteStorage

    storage = SqliteStorage(tmp_path / "hq.db")
    storage.create_schema()
    errors: list[BaseException] = []

    def write(n: int) -> None:
        try:
            with storage.transaction() as tx:
                tx.audit("9001", "probe", target=f"t{n}", detail={"n": n})
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with storage.transaction(readonly=True) as tx:
        assert len([e for e in tx.audit_events() if e.action == "probe"]) == 40
    storage.close()
