"""The leader's squad feed in the phone store: pulled squad cases and shifts, and ``Store.squad_day``."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from enforcement.codec import to_json_dict
from enforcement.model import (
    LOCAL_TZ,
    Case,
    Officer,
    Review,
    ReviewDecision,
    Role,
    Shift,
    Stage,
    SyncState,
    new_id,
)
from mobile.store import SquadDay, Store, StoreRefused
from mobile.store_rows import utc_us
from patrollog.daylog import build_daylog
from tests.mobile.test_store import CATALOGUE, SQUAD, make_case, make_subject, open_store

DAY = date(2026, 11, 22)
LEADER = Officer("0901", "赵队长", SQUAD, "人民路中队", "金水区", Role.LEADER)


@pytest.fixture
def store() -> Store:
    store = open_store()
    store.save_officer(LEADER)
    return store


def at(hour: int, minute: int = 0, day: date = DAY) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=LOCAL_TZ)


def pulled(store: Store, badge: str = "1023", when: datetime | None = None, **changes: Any) -> Case:
    """A case of another officer of the squad, as HQ would send it (never saved as own)."""
    return make_case(store, None, when=when or at(21, 30), badge=badge, subject_unknown=True, **changes)


def review(case: Case, decision: ReviewDecision, when: datetime, comment: str = "") -> Review:
    return Review(new_id(), case.id, case.case_no, decision, LEADER.badge, when, comment)


def test_pulled_case_shows_with_hq_stage_names_labels_and_reviews(store: Store) -> None:
    subject = make_subject()
    case = replace(pulled(store), subject_id=subject.id, subject_unknown=False)
    approve = review(case, ReviewDecision.APPROVE, at(22))
    store.apply_squad_case(
        case,
        hq_stage=Stage.WARNING,
        reviews=[approve],
        officer_name="李明",
        subject_label="王㐂𠮷",
        missing_photos=1,
    )
    day = store.squad_day(SQUAD, DAY)
    assert isinstance(day, SquadDay)
    assert (day.day, day.squad_code) == (DAY, SQUAD)
    assert day.cases == [case]
    assert day.reviews == [approve]
    assert day.hq_stages == {case.id: Stage.WARNING}
    assert day.officer_names["1023"] == "李明"
    assert day.officer_names[LEADER.badge] == "赵队长"
    assert day.subject_labels == {subject.id: "王㐂𠮷"}
    assert store.squad_case(case.id) == case
    assert store.squad_case(new_id()) is None
    assert store.outbox_stats() == (0, 0)  # pulled records are never queued back


def test_applying_again_is_idempotent_and_keeps_known_stage_and_names(store: Store) -> None:
    case = pulled(store)
    approve = review(case, ReviewDecision.APPROVE, at(22))
    store.apply_squad_case(case, hq_stage=Stage.PENALTY, reviews=[approve], officer_name="李明")
    store.apply_squad_case(case, hq_stage=None, reviews=[approve])
    day = store.squad_day(SQUAD, DAY)
    assert day.cases == [case]
    assert day.reviews == [approve]
    assert day.hq_stages == {case.id: Stage.PENALTY}
    assert day.officer_names["1023"] == "李明"


def test_own_and_pulled_versions_are_deduplicated_by_id(store: Store) -> None:
    own = make_case(store, None, badge=LEADER.badge, when=at(20), subject_unknown=True)
    store.save_case(own)
    store.set_sync_state(own.id, SyncState.SENT, Stage.PERSUASION)  # HQ's stage from the push
    store.apply_squad_case(own, hq_stage=Stage.WARNING, officer_name="赵队长")  # HQ echoes it back
    v1 = pulled(store, when=at(21))
    v2 = replace(v1, id=new_id(), version=2, supersedes=v1.id, notes="补充说明")
    returned = review(v1, ReviewDecision.RETURN, at(22), "照片不清")
    store.apply_squad_case(v1, hq_stage=Stage.PERSUASION, reviews=[returned])
    store.apply_squad_case(v2, hq_stage=Stage.PERSUASION)
    day = store.squad_day(SQUAD, DAY)
    assert [c.id for c in day.cases] == [own.id, v1.id, v2.id]
    assert day.reviews == [returned]
    assert day.hq_stages == {own.id: Stage.WARNING, v1.id: Stage.PERSUASION, v2.id: Stage.PERSUASION}


def test_a_review_made_here_shows_at_once_and_is_queued(store: Store) -> None:
    case = pulled(store)
    store.apply_squad_case(case, hq_stage=Stage.PERSUASION)
    mine = review(case, ReviewDecision.RETURN, at(22, 5), "请补拍现场照片")
    store.save_review(mine)
    assert store.squad_day(SQUAD, DAY).reviews == [mine]
    assert [(e.kind, e.record_id) for e in store.outbox_pending()] == [("review", mine.id)]
    # HQ's feed later carries the same review: still one, still the phone's own
    store.apply_squad_case(case, hq_stage=Stage.PERSUASION, reviews=[mine])
    assert store.squad_day(SQUAD, DAY).reviews == [mine]
    assert store._rows("SELECT origin FROM reviews")[0][0] == "local"


def test_day_boundaries_are_bureau_local(store: Store) -> None:
    last = pulled(store, when=datetime(2026, 11, 22, 15, 59, 59, tzinfo=UTC))  # 23:59:59 on the 22nd
    first = pulled(store, when=datetime(2026, 11, 22, 16, 0, tzinfo=UTC))  # 00:00 on the 23rd
    early = pulled(store, when=datetime(2026, 11, 21, 16, 0, tzinfo=UTC))  # 00:00 on the 22nd
    for case in (last, first, early):
        store.apply_squad_case(case, hq_stage=None)
    assert [c.id for c in store.squad_day(SQUAD, DAY).cases] == [early.id, last.id]
    assert [c.id for c in store.squad_day(SQUAD, DAY + timedelta(days=1)).cases] == [first.id]
    assert store.squad_day(SQUAD, DAY - timedelta(days=1)).cases == []


def test_an_amendment_moving_the_case_keeps_every_version_on_both_days(store: Store) -> None:
    v1 = pulled(store, when=at(23, 30))
    v2 = replace(v1, id=new_id(), version=2, supersedes=v1.id, occurred_at=at(0, 10, DAY + timedelta(days=1)))
    store.apply_squad_case(v1, hq_stage=None)
    store.apply_squad_case(v2, hq_stage=None)
    for day in (DAY, DAY + timedelta(days=1)):
        assert [c.id for c in store.squad_day(SQUAD, day).cases] == [v1.id, v2.id]

    # the day log counts the case on the day of its latest version only
    def lines(day: date) -> list[str]:
        known = store.squad_day(SQUAD, day)
        log = build_daylog(
            day, SQUAD, cases=known.cases, shifts=known.shifts, reviews=known.reviews, catalogue=CATALOGUE
        )
        return [line.case_id for line in log.lines]

    assert lines(DAY) == []
    assert lines(DAY + timedelta(days=1)) == [v2.id]


def test_shifts_overlapping_the_day_night_shift_and_open_shift(store: Store) -> None:
    night = Shift(new_id(), "1023", at(20), at(2, 0, DAY + timedelta(days=1)), "G-017")
    morning = Shift(new_id(), "1024", at(8), at(12))
    yesterday = Shift(new_id(), "1024", at(8, 0, DAY - timedelta(days=1)), at(18, 0, DAY - timedelta(days=1)))
    still_open = Shift(new_id(), "1025", at(19))
    store.apply_squad_shift(night, officer_name="李明", squad_code=SQUAD)
    store.apply_squad_shift(morning, officer_name="王芳", squad_code=SQUAD)
    store.apply_squad_shift(yesterday, squad_code=SQUAD)
    store.apply_squad_shift(still_open, squad_code=SQUAD)
    day = store.squad_day(SQUAD, DAY)
    assert day.shifts == [morning, still_open, night]
    assert day.officer_names["1023"] == "李明"
    assert store.squad_day(SQUAD, DAY + timedelta(days=1)).shifts == [still_open, night]
    assert store.squad_day(SQUAD, DAY + timedelta(days=2)).shifts == [still_open]
    assert store.squad_day(SQUAD, DAY - timedelta(days=1)).shifts == [yesterday]


def test_own_shifts_count_and_a_known_end_is_kept(store: Store) -> None:
    mine = store.start_shift(LEADER.badge, at(9), "G-001")
    theirs = Shift(new_id(), "1023", at(10))
    store.apply_squad_shift(replace(theirs, ended_at=at(15)), squad_code=SQUAD)
    store.apply_squad_shift(theirs, squad_code=SQUAD)  # an older record arriving late
    assert store.squad_day(SQUAD, DAY).shifts == [mine, replace(theirs, ended_at=at(15))]
    ended = store.end_shift(mine.id, at(17))
    store.apply_squad_shift(mine, squad_code=SQUAD)  # HQ's copy of the open shift: the phone's own wins
    assert store.squad_day(SQUAD, DAY).shifts[0] == ended


def test_a_shift_without_squad_takes_the_squad_this_phone_knows(store: Store) -> None:
    store.apply_squad_case(pulled(store, badge="1023"), hq_stage=None)
    other = Store.open(":memory:", catalogue=CATALOGUE)
    shift = Shift(new_id(), "1023", at(9), at(17))
    store.apply_squad_shift(shift)  # the squad of the officer's pulled case
    stranger = Shift(new_id(), "7777", at(9), at(17))
    store.apply_squad_shift(stranger)  # unknown officer: the squad of the leader signed in here
    assert store.squad_day(SQUAD, DAY).shifts == [shift, stranger]
    other.apply_squad_shift(shift)  # a phone knowing nothing keeps it out of every squad's day
    assert other.squad_day(SQUAD, DAY).shifts == []


def test_other_squads_stay_out(store: Store) -> None:
    theirs = replace(pulled(store), squad_code="ZD02")
    store.apply_squad_case(theirs, hq_stage=None)
    store.apply_squad_shift(Shift(new_id(), "2001", at(9), at(17)), squad_code="ZD02")
    mine = pulled(store)
    store.apply_squad_case(mine, hq_stage=None)
    assert [c.id for c in store.squad_day(SQUAD, DAY).cases] == [mine.id]
    assert store.squad_day(SQUAD, DAY).shifts == []
    assert [c.id for c in store.squad_day("ZD02", DAY).cases] == [theirs.id]


def test_bad_pulled_records_are_refused_and_nothing_is_written(store: Store) -> None:
    case = pulled(store)
    naive = replace(case, occurred_at=datetime(2026, 11, 22, 21, 0))
    with pytest.raises(StoreRefused) as info:
        store.apply_squad_case(naive, hq_stage=None)
    assert info.value.field == "occurred_at"
    stray = review(replace(case, id=new_id()), ReviewDecision.APPROVE, at(22))
    with pytest.raises(StoreRefused) as info:
        store.apply_squad_case(case, hq_stage=None, reviews=[stray])
    assert info.value.field == "reviews"
    assert info.value.code == "review_other_case"
    with pytest.raises(StoreRefused) as info:
        store.apply_squad_case(case, hq_stage=7)  # type: ignore[arg-type]
    assert info.value.field == "hq_stage"
    with pytest.raises(StoreRefused) as info:
        store.apply_squad_shift(Shift(new_id(), "1023", datetime(2026, 11, 22, 9, 0)))
    assert info.value.field == "started_at"
    assert store.squad_day(SQUAD, DAY).cases == []
    assert store.squad_day(SQUAD, DAY).reviews == []
    assert store.squad_day(SQUAD, DAY).shifts == []


def test_squad_day_feeds_the_day_log(store: Store) -> None:
    a = pulled(store, badge="1023", when=at(21))
    b = pulled(store, badge="1024", when=at(21, 40))
    store.apply_squad_case(a, hq_stage=Stage.PERSUASION, officer_name="李明")
    store.apply_squad_case(b, hq_stage=Stage.PERSUASION, officer_name="王芳")
    store.apply_squad_shift(Shift(new_id(), "1023", at(19), at(23)), officer_name="李明", squad_code=SQUAD)
    store.save_review(review(b, ReviewDecision.RETURN, at(23), "地址不全"))
    known = store.squad_day(SQUAD, DAY)
    log = build_daylog(
        DAY,
        SQUAD,
        cases=known.cases,
        shifts=known.shifts,
        reviews=known.reviews,
        catalogue=CATALOGUE,
        officer_names=known.officer_names,
        subject_labels=known.subject_labels,
        hq_stages=known.hq_stages,
    )
    assert [(o.badge, o.name, len(o.shifts)) for o in log.officers] == [
        ("1023", "李明", 1),
        ("1024", "王芳", 0),
    ]
    assert log.returned_case_nos == (b.case_no,)
    assert [line.officer_name for line in log.lines] == ["李明", "王芳"]


REASON_ZH = "第3次 · 处罚：10-02 劝导，11-01 警告"
REASON_EN = "3rd · Penalty: 10-02 Persuasion, 11-01 Warning"


def test_hqs_reason_is_kept_with_hqs_stage(store: Store) -> None:
    case, plain = pulled(store), pulled(store, when=at(22))
    store.apply_squad_case(case, hq_stage=Stage.PENALTY, hq_reason_zh=REASON_ZH, hq_reason_en=REASON_EN)
    store.apply_squad_case(plain, hq_stage=Stage.PERSUASION)  # HQ sent no reason
    day = store.squad_day(SQUAD, DAY)
    assert day.hq_reasons == {case.id: (REASON_ZH, REASON_EN)}
    assert day.hq_stages == {case.id: Stage.PENALTY, plain.id: Stage.PERSUASION}

    # a record without HQ's stage keeps the stage and its reason; a new stage brings its own reason
    store.apply_squad_case(case, hq_stage=None, officer_name="李明")
    assert store.squad_day(SQUAD, DAY).hq_reasons == {case.id: (REASON_ZH, REASON_EN)}
    store.apply_squad_case(case, hq_stage=Stage.WARNING, hq_reason_zh="第2次 · 警告：10-02 劝导",
                           hq_reason_en="2nd · Warning: 10-02 Persuasion")  # fmt: skip
    day = store.squad_day(SQUAD, DAY)
    assert day.hq_reasons[case.id] == ("第2次 · 警告：10-02 劝导", "2nd · Warning: 10-02 Persuasion")
    assert day.hq_stages[case.id] is Stage.WARNING
    # a stage sent without a reason never keeps the old stage's reason beside it
    store.apply_squad_case(case, hq_stage=Stage.PERSUASION)
    assert store.squad_day(SQUAD, DAY).hq_reasons == {}


def test_own_case_gets_hqs_reason_from_the_squad_feed(store: Store) -> None:
    own = make_case(store, None, badge=LEADER.badge, when=at(20), subject_unknown=True)
    store.save_case(own)
    store.set_sync_state(own.id, SyncState.SENT, Stage.WARNING)  # the push's answer has no reason
    assert store.squad_day(SQUAD, DAY).hq_reasons == {}
    store.apply_squad_case(own, hq_stage=Stage.WARNING, hq_reason_zh="第2次 · 警告：10-02 劝导",
                           hq_reason_en="2nd · Warning: 10-02 Persuasion")  # fmt: skip
    assert store.squad_day(SQUAD, DAY).hq_reasons == {
        own.id: ("第2次 · 警告：10-02 劝导", "2nd · Warning: 10-02 Persuasion")
    }


# what the app wrote before it kept HQ's reason: the m003 reason columns left to their default ''
OLD_UPSERT = (
    "INSERT INTO squad_cases (id, case_no, version, officer_badge, squad_code, occurred_utc, local_day,"
    " subject_id, hq_stage, missing_photos, officer_name, subject_label, record, received_at)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def test_a_phone_db_from_before_reasons_loads_and_takes_them_later(tmp_path: Path) -> None:
    path = tmp_path / "phone.db"
    store = open_store(path)
    case = pulled(store)
    with store._write() as conn:
        conn.execute(
            OLD_UPSERT,
            (case.id, case.case_no, case.version, case.officer_badge, case.squad_code,
             utc_us(case.occurred_at), case.local_day.isoformat(), None, int(Stage.PENALTY), 0, "李明", "",
             json.dumps(to_json_dict(case), ensure_ascii=False), "2026-11-22T14:00:00+00:00"),
        )  # fmt: skip
    store.close()

    store = open_store(path)  # the updated app opens the old file
    day = store.squad_day(SQUAD, DAY)
    assert day.cases == [case]
    assert day.hq_stages == {case.id: Stage.PENALTY}
    assert day.hq_reasons == {}
    assert day.officer_names["1023"] == "李明"
    store.apply_squad_case(case, hq_stage=Stage.PENALTY, hq_reason_zh=REASON_ZH, hq_reason_en=REASON_EN)
    assert store.squad_day(SQUAD, DAY).hq_reasons == {case.id: (REASON_ZH, REASON_EN)}
    store.close()
