"""Cases in the phone store: one-transaction saves, validation first, amendments, the patrol log, the
subject's history for the staged rule, and case sync state."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from enforcement.codec import to_json_dict
from enforcement.model import (
    LOCAL_TZ,
    CaseStatus,
    CaseValidationError,
    HistoryEntry,
    Location,
    Review,
    ReviewDecision,
    Stage,
    SyncState,
    new_id,
)
from mobile.store import Store, StoreRefused, StoreWriteFailed
from tests.mobile.test_store import BADGE, T0, make_case, make_subject, open_store, raw

TABLES = ("cases", "case_photos", "photo_queue", "seized_items", "outbox")


def counts(path: Path) -> dict[str, int]:
    conn = raw(path)
    try:
        return {table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] for table in TABLES}
    finally:
        conn.close()


@pytest.fixture
def file_store(tmp_path: Path) -> Iterator[tuple[Store, Path]]:
    path = tmp_path / "patrol.db"
    store = open_store(path)
    yield store, path
    store.close()


def test_case_round_trips_exactly_with_rare_characters() -> None:
    store = open_store()
    subject = store.save_subject(make_subject())
    case = make_case(
        store,
        subject.id,
        notes="摊主王㐂𠮷称明天不来了",
        location=Location(lat=34.7, lon=113.6, accuracy_m=12.5, address="𠮷祥路㐂福里口", grid_cell="G-001"),
        extra={"天气": "小雨"},
        rectify_deadline=date(2026, 11, 25),
    )
    store.save_case(case)
    again = store.get_case(case.id)
    assert again == case
    assert again is not None
    assert again.location.address == "𠮷祥路㐂福里口"
    assert store.get_case(new_id()) is None


def test_save_writes_case_photos_seized_items_and_outbox_together(file_store: tuple[Store, Path]) -> None:
    store, path = file_store
    case = make_case(store, store.save_subject(make_subject()).id, photos=3, seized=2)
    before = counts(path)
    store.save_case(case)
    after = counts(path)
    assert {t: after[t] - before[t] for t in TABLES} == {
        "cases": 1,
        "case_photos": 3,
        "photo_queue": 3,
        "seized_items": 2,
        "outbox": 1,
    }
    entry = store.outbox_pending()[-1]
    assert (entry.kind, entry.record_id) == ("case", case.id)
    assert entry.payload == to_json_dict(case)
    assert entry.size == len(
        raw(path).execute("SELECT payload FROM outbox WHERE seq = ?", (entry.seq,)).fetchone()[0].encode()
    )


def test_failing_outbox_insert_leaves_nothing_of_the_case(file_store: tuple[Store, Path]) -> None:
    store, path = file_store
    subject = store.save_subject(make_subject())
    before = counts(path)
    sabotage = raw(path)
    sabotage.execute(
        "CREATE TRIGGER outbox_full BEFORE INSERT ON outbox WHEN NEW.kind = 'case'"
        " BEGIN SELECT RAISE(ABORT, 'outbox is full'); END"
    )
    case = make_case(store, subject.id, photos=3, seized=2)
    with pytest.raises(StoreWriteFailed) as err:
        store.save_case(case)
    assert "outbox is full" in err.value.message("en")
    assert "未写入" in err.value.message("zh")
    assert counts(path) == before
    assert store.get_case(case.id) is None
    assert store.patrol_log(BADGE, T0.date()) == []
    assert not store.in_transaction
    sabotage.execute("DROP TRIGGER outbox_full")
    sabotage.close()
    store.save_case(case)  # the same case saves once the fault is gone
    assert store.get_case(case.id) == case


def test_failing_seized_items_insert_leaves_nothing(
    file_store: tuple[Store, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    store, path = file_store
    before = counts(path)
    sabotage = raw(path)
    sabotage.execute(
        "CREATE TRIGGER no_grills BEFORE INSERT ON seized_items BEGIN SELECT RAISE(ABORT, 'nope'); END"
    )
    sabotage.close()
    with pytest.raises(StoreWriteFailed):
        store.save_case(make_case(store, None, subject_unknown=True))
    assert counts(path) == before


def test_case_missing_a_required_field_is_refused_naming_it(file_store: tuple[Store, Path]) -> None:
    store, path = file_store
    subject = store.save_subject(make_subject())
    before = counts(path)
    cases: list[tuple[str, dict[str, Any]]] = [
        ("violation_code", {"violation_code": ""}),
        ("subject_id", {"subject_id": None}),
        ("location", {"location": Location()}),
    ]
    for field, changes in cases:
        with pytest.raises(CaseValidationError) as err:
            store.save_case(replace(make_case(store, subject.id), **changes))
        assert err.value.field == field, field
        assert err.value.message("zh")
        assert err.value.message("en")
    assert counts(path) == before


def test_identical_resave_is_a_no_op_but_a_different_record_is_refused(
    file_store: tuple[Store, Path],
) -> None:
    store, path = file_store
    case = make_case(store, None, subject_unknown=True)
    store.save_case(case)
    before = counts(path)
    store.save_case(case)
    assert counts(path) == before
    with pytest.raises(StoreRefused) as err:
        store.save_case(replace(case, notes="改过"))
    assert (err.value.code, err.value.field) == ("case_exists", "id")
    assert err.value.message("zh")
    assert err.value.message("en")
    with pytest.raises(StoreRefused) as err:
        store.save_case(replace(case, id=new_id()))
    assert (err.value.code, err.value.field) == ("case_no_used", "case_no")
    with pytest.raises(CaseValidationError) as invalid:  # enforcement.validation's rule, before any write
        store.save_case(make_case(store, None, subject_unknown=True, version=2))
    assert invalid.value.field == "supersedes"
    assert counts(path) == before


def test_amendment_is_a_new_version_and_the_log_shows_the_latest() -> None:
    store = open_store()
    subject = store.save_subject(make_subject())
    first = make_case(store, subject.id)
    store.save_case(first)
    second = replace(first, id=new_id(), version=2, supersedes=first.id, notes="补充：已劝离")
    store.save_case(second)
    assert store.case_versions(first.case_no) == [first, second]
    assert [line.case for line in store.patrol_log(BADGE, T0.date())] == [second]
    assert store.get_case(first.id) == first  # submitted versions are never changed
    assert [e.case_id for e in store.subject_history(subject.id)] == [first.id, second.id]


def test_bad_amendments_are_refused() -> None:
    store = open_store()
    first = make_case(store, None, subject_unknown=True)
    store.save_case(first)
    cases = [
        ("supersedes_unknown", "supersedes", replace(first, id=new_id(), version=2, supersedes=new_id())),
        ("amend_version", "version", replace(first, id=new_id(), version=3, supersedes=first.id)),
        (
            "amend_case_no",
            "case_no",
            replace(
                first,
                id=new_id(),
                version=2,
                supersedes=first.id,
                case_no=store.reserve_case_no("ZD01", BADGE, T0.date()),
            ),
        ),
    ]
    for code, field, bad in cases:
        with pytest.raises(StoreRefused) as err:
            store.save_case(bad)
        assert (err.value.code, err.value.field) == (code, field)
        assert err.value.message("zh")
        assert err.value.message("en")
    second = replace(first, id=new_id(), version=2, supersedes=first.id)
    store.save_case(second)
    with pytest.raises(StoreRefused) as err:
        store.save_case(replace(first, id=new_id(), version=2, supersedes=first.id, notes="again"))
    assert err.value.code == "already_amended"
    assert len(store.case_versions(first.case_no)) == 2


def test_patrol_log_is_the_local_day_newest_first() -> None:
    store = open_store()
    day = date(2026, 11, 22)
    start = datetime(2026, 11, 22, 0, 0, tzinfo=LOCAL_TZ)  # 2026-11-21 16:00 UTC
    just_before = make_case(store, None, subject_unknown=True, when=start - timedelta(seconds=1))
    early = make_case(store, None, subject_unknown=True, when=start)
    late = make_case(store, None, subject_unknown=True, when=start + timedelta(hours=23, minutes=59))
    utc_noon = make_case(store, None, subject_unknown=True, when=datetime(2026, 11, 22, 4, 0, tzinfo=UTC))
    other = make_case(store, None, subject_unknown=True, badge="2001")
    for case in (early, late, just_before, utc_noon, other):
        store.save_case(case)
    log = store.patrol_log(BADGE, day)
    assert [line.case.id for line in log] == [late.id, utc_noon.id, early.id]
    assert [line.case.id for line in store.patrol_log(BADGE, day - timedelta(days=1))] == [just_before.id]
    assert store.patrol_log("9999", day) == []
    line = log[0]
    assert (line.sync_state, line.review, line.hq_stage, line.photos_missing) == (
        SyncState.LOCAL,
        None,
        None,
        3,
    )


def test_log_lines_carry_sync_state_hq_stage_review_and_missing_photos() -> None:
    store = open_store()
    case = make_case(store, None, subject_unknown=True, photos=3)
    store.save_case(case)
    store.mark_photo_uploaded(case.photos[0].sha256)
    store.set_sync_state(case.id, SyncState.SENT, Stage.WARNING)
    store.set_sync_state(case.id, SyncState.SENT)  # None keeps the stage HQ gave
    approve = Review(new_id(), case.id, case.case_no, ReviewDecision.APPROVE, "0001", T0 + timedelta(hours=1))
    back = Review(
        new_id(), case.id, case.case_no, ReviewDecision.RETURN, "0001", T0 + timedelta(hours=2), "照片不清"
    )
    store.apply_review(back)
    store.apply_review(approve)  # older decision arriving later does not hide the newer one
    [line] = store.patrol_log(BADGE, T0.date())
    assert (line.sync_state, line.hq_stage, line.photos_missing) == (SyncState.RETURNED, Stage.WARNING, 2)
    assert line.review == back


def test_set_sync_state_refusals() -> None:
    store = open_store()
    with pytest.raises(StoreRefused) as err:
        store.set_sync_state(new_id(), SyncState.SENT)
    assert (err.value.code, err.value.field) == ("unknown_case", "case_id")
    case = make_case(store, None, subject_unknown=True)
    store.save_case(case)
    with pytest.raises(StoreRefused) as err:
        store.set_sync_state(case.id, "lost")  # type: ignore[arg-type]
    assert err.value.field == "state"
    assert err.value.message("zh")
    with pytest.raises(StoreRefused) as err:
        store.set_sync_state(case.id, SyncState.SENT, 7)  # type: ignore[arg-type]
    assert err.value.field == "hq_stage"


def test_subject_history_merges_own_and_remote_cases() -> None:
    store = open_store()
    subject = store.save_subject(make_subject())
    mine = make_case(store, subject.id, when=T0 - timedelta(days=30))
    withdrawn = make_case(store, subject.id, when=T0 - timedelta(days=10))
    store.save_case(mine)
    store.save_case(withdrawn)
    store.save_case(make_case(store, store.save_subject(make_subject(name="别人")).id))
    store.apply_review(
        Review(new_id(), withdrawn.id, withdrawn.case_no, ReviewDecision.WITHDRAW, "0001", T0, "当事人不符")
    )
    elsewhere = HistoryEntry(
        new_id(), "ZD02-2001-260102-AAAAA-0003", "0510", T0 - timedelta(days=200), Stage.PERSUASION
    )
    echo_of_mine = replace(HistoryEntry.of(mine), stage=Stage.WARNING)  # HQ's view of my own case
    store.add_remote_history(subject.id, [elsewhere, echo_of_mine])
    store.add_remote_history(subject.id, [elsewhere])  # pulled again: no duplicate
    history = store.subject_history(subject.id)
    assert [e.case_id for e in history] == [elsewhere.case_id, mine.id, withdrawn.id]
    assert history[1].stage == Stage.WARNING  # HQ's entry wins for the same case id
    assert history[2].status == CaseStatus.WITHDRAWN
    assert store.subject_history(new_id()) == []


def test_remote_history_refuses_bad_entries() -> None:
    store = open_store()
    naive = HistoryEntry(new_id(), "X", "0510", datetime(2026, 1, 1), Stage.PERSUASION)
    with pytest.raises(StoreRefused) as err:
        store.add_remote_history(new_id(), [naive])
    assert err.value.field == "occurred_at"
    assert "时区" in err.value.message("zh")
    with pytest.raises(StoreRefused) as err:
        store.add_remote_history("", [])
    assert err.value.field == "subject_id"


def test_violation_counts_most_used_first() -> None:
    store = open_store()
    for code, n in (("0503", 1), ("0510", 3), ("0501", 2)):
        for _ in range(n):
            store.save_case(make_case(store, None, subject_unknown=True, violation_code=code, seized=0))
    first = make_case(store, None, subject_unknown=True, violation_code="0503", seized=0)
    store.save_case(first)
    store.save_case(
        replace(first, id=new_id(), version=2, supersedes=first.id)
    )  # same case, not counted twice
    counts_by_code = store.violation_counts(BADGE)
    assert list(counts_by_code.items()) == [("0510", 3), ("0501", 2), ("0503", 2)]
    assert store.violation_counts("9999") == {}
