"""The sync client against a real HQ on loopback: sign-in, push, photos, pull (HQ's stage and its reason),
progress, parking."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest

from enforcement.codec import to_json_dict
from enforcement.model import LOCAL_TZ, Review, ReviewDecision, Stage, Subject, SubjectKind, SyncState, new_id
from mobile.hqclient import (
    Phase,
    Progress,
    SignInFailed,
    SignInRequired,
    SyncClient,
)
from mobile.metakeys import CURSOR as META_CURSOR
from mobile.metakeys import TOKEN as META_TOKEN
from sync.protocol import Errno
from testkit.hqkit import (
    DISTRICT,
    LEADER,
    OFFICER,
    OFFICER_B,
    OFFICER_FAR,
    PINS,
    Hq,
    make_case,
    make_hq,
    push_body,
    sign_in,
)
from tests.sync.conftest import ClientFactory, Phone, signed_in

AT = datetime(2026, 11, 22, 21, 30, tzinfo=LOCAL_TZ)


def hq_case_ids(hq: Hq) -> list[str]:
    """Every case version HQ stored (with repeats, if any were stored twice)."""
    with hq.storage.transaction(readonly=True) as tx:
        return [s.case_id for s in tx.list_cases(latest_only=False, limit=100_000)]


def test_sign_in_saves_the_token_and_the_officer(phone: Phone, make_client: ClientFactory) -> None:
    client = make_client(phone)
    officer = client.sign_in(OFFICER.badge, PINS[OFFICER.badge])
    assert officer == OFFICER
    assert phone.store.meta_get(META_TOKEN)
    assert phone.store.get_officer(OFFICER.badge) == OFFICER
    assert client.signed_in


def test_a_wrong_pin_is_reported_in_both_languages(phone: Phone, make_client: ClientFactory) -> None:
    client = make_client(phone)
    with pytest.raises(SignInFailed) as info:
        client.sign_in(OFFICER.badge, "000000")
    assert info.value.errno == Errno.BAD_CREDENTIALS
    assert info.value.message("zh") == "警号或密码错误"
    assert info.value.message("en") == "Wrong badge number or PIN"
    assert not client.signed_in


def test_without_a_token_sync_asks_to_sign_in_and_keeps_everything(
    phone: Phone, make_client: ClientFactory
) -> None:
    phone.record_case(photos=1)
    report = make_client(phone).sync_once()
    assert isinstance(report.error, SignInRequired)
    assert "重新登录" in report.error.message("zh")
    assert "sign in again" in report.error.message("en")
    assert phone.store.outbox_stats()[0] == 1


def test_a_full_sync_pushes_uploads_and_confirms_in_server_time(
    hq: Hq, phone: Phone, make_client: ClientFactory
) -> None:
    cases = [phone.record_case(photos=2) for _ in range(3)]
    seen: list[Progress] = []
    client = signed_in(make_client(phone, on_progress=seen.append))
    hq.clock.advance(timedelta(minutes=5))
    report = client.sync_once()
    assert report.ok, report.error
    assert report.pushed == 3
    assert report.photos_uploaded == 6
    assert report.photo_bytes == 6 * 3000
    assert sorted(report.completed_cases) == sorted(c.id for c in cases)
    assert phone.store.outbox_stats() == (0, 0)
    assert phone.store.photo_stats() == (0, 0)
    assert set(phone.states().values()) == {SyncState.COMPLETE}
    assert sorted(hq_case_ids(hq)) == sorted(c.id for c in cases)
    assert client.last_confirmed_sync() == hq.clock()
    phases = [p.phase for p in seen]
    assert phases[0] is Phase.CONNECTING
    assert phases[-1] is Phase.IDLE
    for phase in (Phase.PUSHING, Phase.UPLOADING, Phase.PULLING):
        assert phase in phases
    pushing = [p for p in seen if p.phase is Phase.PUSHING]
    assert pushing[-1].records_done == pushing[-1].records_total == 3
    assert pushing[-1].bytes_done == pushing[-1].bytes_total > 0
    uploading = [p for p in seen if p.phase is Phase.UPLOADING]
    assert (uploading[-1].records_done, uploading[-1].bytes_done) == (6, 18000)
    assert Progress(Phase.UPLOADING).text("zh") == "正在上传照片"
    # nothing left: a second sync sends nothing
    again = client.sync_once()
    assert (again.pushed, again.photos_uploaded) == (0, 0)


def test_a_photo_hq_already_has_is_not_sent_again(hq: Hq, phone: Phone, make_client: ClientFactory) -> None:
    case = phone.record_case(photos=1)
    client = signed_in(make_client(phone))
    client.sync_once()
    # the phone lost its "uploaded" mark (e.g. restored from a backup): HEAD finds it at HQ
    with phone.store._write() as conn:  # test-only reach into the store to simulate the lost mark
        conn.execute("UPDATE photo_queue SET uploaded_at = NULL")
    report = client.sync_once()
    assert report.photos_uploaded == 0
    assert report.photos_already_at_hq == 1
    assert hq.blobs.has(case.photos[0].sha256)


def test_hq_stage_is_written_back_to_the_phone(hq: Hq, phone: Phone, make_client: ClientFactory) -> None:
    subject = Subject(new_id(), SubjectKind.MOBILE_VENDOR, name="赵老三烧烤", district=DISTRICT)
    with hq.storage.transaction() as tx:
        tx.save_subject(subject, at=hq.clock())
    client = signed_in(make_client(phone))
    assert client.sync_once().ok  # the phone pulls the registry
    assert phone.store.get_subject(subject.id) is not None
    # meanwhile a colleague's two earlier cases of the subject reach HQ
    with hq.client() as http:
        auth = sign_in(http, OFFICER_B, "dev-b")
        earlier = [
            make_case(
                OFFICER_B,
                seq=i + 1,
                subject_id=subject.id,
                device_id="dev-b",
                occurred_at=AT - timedelta(days=10 - i),
                computed=Stage(i + 1),
            )
            for i in range(2)
        ]
        for i, case in enumerate(earlier):
            answer = http.post(
                "/v1/push", json=push_body("dev-b", case, first_seq=i + 1), headers=auth
            ).json()
            assert answer["results"][0]["status"] == "accepted"
    # the phone, offline, does not know them and computes 劝导
    case = phone.record_case(subject_id=subject.id, occurred_at=AT)
    assert case.computed_stage is Stage.PERSUASION
    report = client.sync_once()
    assert report.ok
    assert report.stage_conflicts == [case.id]
    [logged] = [lc for lc in phone.store.patrol_log(OFFICER.badge, case.local_day) if lc.case.id == case.id]
    assert logged.hq_stage is Stage.PENALTY
    # with HQ's reason (the pull's case_state), naming the two earlier cases HQ counted
    assert (logged.hq_reason_zh, logged.hq_reason_en) == (
        "第3次 · 处罚：11-12 劝导，11-13 警告",
        "3rd · Penalty: 11-12 Persuasion, 11-13 Warning",
    )
    # and the subject's whole history came down with the pull
    assert {e.case_id for e in phone.store.subject_history(subject.id)} == {case.id, *(c.id for c in earlier)}
    # the next sync (nothing new) keeps both
    assert client.sync_once().ok
    [again] = [lc for lc in phone.store.patrol_log(OFFICER.badge, case.local_day) if lc.case.id == case.id]
    assert (again.hq_stage, again.hq_reason_zh, again.hq_reason_en) == (
        Stage.PENALTY,
        logged.hq_reason_zh,
        logged.hq_reason_en,
    )


def test_pull_applies_reviews_tombstones_and_saves_the_cursor_per_page(
    tmp_path: Path, phone: Phone, make_client: ClientFactory, hq: Hq
) -> None:
    subjects = [Subject(new_id(), SubjectKind.SHOP, name=f"店{i}", district=DISTRICT) for i in range(5)]
    far = Subject(new_id(), SubjectKind.SHOP, name="远方小店", district=OFFICER_FAR.district)
    with hq.storage.transaction() as tx:
        for subject in [*subjects, far]:
            tx.save_subject(subject, at=hq.clock())
    case = phone.record_case()
    cursors: list[object] = []

    def hook(step: str) -> None:
        if step == "pull:saved":
            cursors.append(phone.store.meta_get(META_CURSOR))

    client = signed_in(make_client(phone, hook=hook))
    assert client.sync_once().ok
    assert all(phone.store.get_subject(s.id) is not None for s in subjects)
    assert phone.store.get_subject(far.id) is None  # another district's registry never comes down
    # the leader returns the case; HQ deletes a subject
    review = Review(
        new_id(), case.id, case.case_no, ReviewDecision.RETURN, LEADER.badge, hq.clock(), "照片不清楚，请补拍"
    )
    with hq.client() as http:
        auth = sign_in(http, LEADER, "leader-phone")
        body = {
            "protocol": 1,
            "device_id": "leader-phone",
            "records": [
                {"kind": "review", "id": review.id, "device_seq": 1, "payload": to_json_dict(review)}
            ],
        }
        assert http.post("/v1/push", json=body, headers=auth).json()["results"][0]["status"] == "accepted"
    with hq.storage.transaction() as tx:
        tx.delete_subject(subjects[0].id, hq.clock())
    cursors.clear()
    report = client.sync_once()
    assert report.ok
    assert report.changes_applied >= 3
    assert phone.store.get_subject(subjects[0].id) is None
    assert phone.states()[case.id] is SyncState.RETURNED
    logged = phone.store.patrol_log(OFFICER.badge, case.local_day)[0]
    assert logged.review is not None
    assert logged.review.comment == "照片不清楚，请补拍"
    assert cursors
    assert cursors[-1] == phone.store.meta_get(META_CURSOR)


def test_pull_pages_are_applied_one_by_one(tmp_path: Path, phone: Phone, make_client: ClientFactory) -> None:
    small = make_hq(tmp_path / "small", default_pull_limit=2)
    try:
        with small.storage.transaction() as tx:
            for i in range(7):
                tx.save_subject(
                    Subject(new_id(), SubjectKind.SHOP, name=f"店{i}", district=DISTRICT), at=small.clock()
                )
        pages: list[object] = []
        with httpx.Client(base_url=small.serve().url) as http:

            def hook(step: str) -> None:
                if step == "pull:saved":
                    pages.append(phone.store.meta_get(META_CURSOR))

            client = SyncClient(http, phone.store, phone.photos, sleep=lambda s: None, hook=hook)
            signed_in(client)
            assert client.sync_once().ok
        assert len(pages) >= 4
        assert len(set(map(str, pages))) == len(pages)  # the cursor moved after every page
        assert len(phone.store.search_subjects("店", limit=50)) == 7
    finally:
        small.close()


def test_a_cursor_hq_does_not_know_starts_the_pull_over(
    phone: Phone, make_client: ClientFactory, hq: Hq
) -> None:
    with hq.storage.transaction() as tx:
        tx.save_subject(Subject(new_id(), SubjectKind.SHOP, name="店", district=DISTRICT), at=hq.clock())
    client = signed_in(make_client(phone))
    phone.store.meta_set(META_CURSOR, "not-a-cursor-of-this-hq")
    report = client.sync_once()
    assert report.ok
    assert report.changes_applied >= 1
    assert phone.store.meta_get(META_CURSOR) != "not-a-cursor-of-this-hq"


def test_a_batch_too_large_for_hq_is_split_and_only_the_oversized_record_parked(
    tmp_path: Path, phone: Phone
) -> None:
    # the oversized record is a legitimate case: its notes at their limit (enforcement.limits, 2000 chars)
    strict = make_hq(tmp_path / "strict", max_batch_bytes=5_000)
    try:
        normal = [phone.record_case() for _ in range(3)]
        huge = phone.record_case(notes="很长的备注" * 400)
        normal += [phone.record_case() for _ in range(3)]
        with httpx.Client(base_url=strict.serve().url) as http:
            client = signed_in(SyncClient(http, phone.store, phone.photos, sleep=lambda s: None))
            report = client.sync_once()
        assert report.ok
        assert report.parked == [huge.id]
        [parked] = phone.store.outbox_parked()
        assert parked.record_id == huge.id
        assert parked.parked_code == "batch_too_large"
        assert parked.parked_reason_zh == "一次提交的数据过大"
        assert parked.parked_reason_en == "The batch is too large"
        assert sorted(hq_case_ids(strict)) == sorted(c.id for c in normal)
    finally:
        strict.close()


def test_subjects_shifts_and_amendments_reach_hq(hq: Hq, phone: Phone, make_client: ClientFactory) -> None:
    from dataclasses import replace

    subject = phone.store.save_subject(
        Subject(new_id(), SubjectKind.VEHICLE, plate="豫a·12345", name="某渣土运输公司", district=DISTRICT)
    )
    shift = phone.store.start_shift(OFFICER.badge, AT - timedelta(hours=2), grid_cell="JS-0107")
    phone.store.end_shift(shift.id, AT + timedelta(hours=1))  # the same record id twice in one batch
    first = phone.record_case(subject_id=subject.id, violation_code="0306")
    amended = replace(first, id=new_id(), version=2, supersedes=first.id, notes="补充：车辆已驶离")
    phone.store.save_case(amended)
    phone.recorded.append(amended)
    report = signed_in(make_client(phone)).sync_once()
    assert report.ok, report.error
    assert report.pushed == 5
    assert phone.store.outbox_stats() == (0, 0)
    with hq.storage.transaction(readonly=True) as tx:
        stored_subject = tx.get_subject(subject.id)
        stored_shift = tx.get_shift(shift.id)
        versions = tx.case_versions(first.case_no)
    assert stored_subject is not None
    assert stored_subject.plate == "豫A12345"
    assert stored_shift is not None
    assert stored_shift.ended_at == AT + timedelta(hours=1)
    assert [(c.id, c.version) for c in versions] == [(first.id, 1), (amended.id, 2)]
