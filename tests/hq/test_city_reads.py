"""HQ's reads at a city's scale (issue #20), on both backends: the review queue read by keyset over the
waiting cases (``hq.reviewqueue.read_queue``) gives, page after page, exactly the queue the squad's whole
day log gives (``queue_of``), with ties on the sort key; the trend by week and month read from the
rollup equals the sum of the day rows; repeat offenders come most cases first."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any

import pytest

from enforcement.catalogue import load_catalogue
from enforcement.codec import to_json_dict
from enforcement.model import (
    LOCAL_TZ,
    CaseStatus,
    Disposition,
    Review,
    ReviewDecision,
    SeizedItem,
    Stage,
    Subject,
    SubjectKind,
    new_id,
)
from hq import paging
from hq.dash.board import trend_of
from hq.daydata import load_daylog
from hq.ingest.push import ingest_batch
from hq.reviewqueue import ReviewQueue, queue_of, read_queue
from hq.storage.base import CursorError, District, Squad, Storage, UserRow
from sync.protocol import PushRecord
from testkit.records import DISTRICT, LEADER, NOW, OFFICER, OTHER_OFFICER, make_case

DAY = date(2026, 11, 22)
TIE = datetime(2026, 11, 22, 9, 30, tzinfo=LOCAL_TZ)
_seq = iter(range(1, 10**9))


def _rec(kind: str, record: Any) -> PushRecord:
    return PushRecord(kind=kind, id=record.id, device_seq=next(_seq), payload=to_json_dict(record))


def _push(storage: Storage, *records: PushRecord, user: Any = OFFICER, device: str = "device-1") -> list[str]:
    results = ingest_batch(storage, user, device, list(records), now=NOW)
    return [r.status if r.status != "refused" else f"refused: {r.reason_en}" for r in results]


def _busy_day(storage: Storage) -> None:
    """ZD01's day: 24 cases at the very same minute (ties on time: the case id decides), half of them at
    处罚 (a decision needed), others earlier and later; a 2099 case received today (time flag, placed by
    its receive time), one before its device's first sign-in, one of yesterday; reviews approving,
    returning and withdrawing some, an amendment voiding one and one amending a returned case."""
    with storage.transaction() as tx:
        tx.put_user(UserRow(OTHER_OFFICER, "x"))
        tx.put_user(UserRow(OFFICER, "x"))
        tx.put_district(District(DISTRICT, DISTRICT))
        tx.put_squad(Squad(OFFICER.squad_code, OFFICER.squad_name, DISTRICT))
        tx.touch_device("device-1", OFFICER.badge, datetime(2026, 11, 10, 8, 0, tzinfo=LOCAL_TZ))
        tx.touch_device("device-2", OFFICER.badge, datetime(2026, 11, 23, 20, 0, tzinfo=LOCAL_TZ))
    subject = Subject(new_id(), SubjectKind.MOBILE_VENDOR, name="张三", district=DISTRICT)
    assert _push(storage, _rec("subject", subject)) == ["accepted"]
    cases = []
    for i in range(24):
        penalty = i % 2 == 0
        extra: dict[str, Any] = (
            {"disposition": Disposition.PENALTY, "fine_yuan": 800, "legal_basis": "《条例》"}
            if penalty
            else {}
        )
        officer = OFFICER if i % 3 else OTHER_OFFICER
        if i % 5 == 1:  # seized items (the summary line counts them, the item lists them)
            second = OTHER_OFFICER if officer is OFFICER else OFFICER
            extra |= {
                "seized_items": (SeizedItem("烧烤炉", 1 + i % 3, "铁制"),),
                "second_officer_badge": second.badge,
                "seizure_receipt_no": f"ZK-{i}",
            }
        cases.append(
            make_case(
                officer=officer,
                occurred_at=TIE,
                stage=Stage.PENALTY if penalty else Stage.PERSUASION,
                subject_id=subject.id if i % 4 == 0 else None,
                **extra,
            )
        )
    for hour in (7, 8, 11, 15, 20):
        cases.append(make_case(occurred_at=datetime(2026, 11, 22, hour, 5, tzinfo=LOCAL_TZ)))
    cases.append(make_case(occurred_at=datetime(2099, 3, 1, 9, 0, tzinfo=LOCAL_TZ)))  # placed by receipt
    cases.append(make_case(occurred_at=datetime(2026, 11, 21, 9, 0, tzinfo=LOCAL_TZ)))  # another day
    for officer in (OFFICER, OTHER_OFFICER):
        own = [_rec("case", c) for c in cases if c.officer_badge == officer.badge]
        statuses = _push(storage, *own, user=officer)
        assert set(statuses) <= {"accepted", "conflict"}, statuses
    early = make_case(occurred_at=datetime(2026, 11, 22, 9, 0, tzinfo=LOCAL_TZ), device_id="device-2")
    assert _push(storage, _rec("case", early), device="device-2") == ["accepted"]  # before its device
    decided = [
        (cases[1], ReviewDecision.APPROVE),
        (cases[2], ReviewDecision.APPROVE),
        (cases[3], ReviewDecision.WITHDRAW),
        (cases[5], ReviewDecision.RETURN),
        (cases[6], ReviewDecision.RETURN),
    ]
    reviews = [Review(new_id(), c.id, c.case_no, d, LEADER.badge, NOW, "理由") for c, d in decided]
    assert _push(storage, *[_rec("review", r) for r in reviews], user=LEADER) == ["accepted"] * 5
    void = replace(cases[7], id=new_id(), version=2, supersedes=cases[7].id, status=CaseStatus.VOIDED)
    amended = replace(cases[6], id=new_id(), version=2, supersedes=cases[6].id, notes="已补正")
    for new in (void, amended):
        owner = OFFICER if new.officer_badge == OFFICER.badge else OTHER_OFFICER
        assert set(_push(storage, _rec("case", new), user=owner)) <= {"accepted", "conflict"}


def _pages(storage: Storage, limit: int) -> list[ReviewQueue]:
    catalogue = load_catalogue()
    pages: list[ReviewQueue] = []
    cursor = None
    while True:
        with storage.transaction(readonly=True) as tx:
            page = read_queue(tx, OFFICER.squad_code, DAY, catalogue, cursor=cursor, limit=limit)
        pages.append(page)
        assert len(page.items) <= limit
        if page.next_cursor is None:
            return pages
        assert len(pages) < 100, "the pages never end"
        cursor = page.next_cursor


def test_the_keyset_queue_pages_through_ties_as_the_day_log_orders_them(storage: Storage) -> None:
    _busy_day(storage)
    with storage.transaction(readonly=True) as tx:
        whole = queue_of(load_daylog(tx, OFFICER.squad_code, DAY, load_catalogue()))
    assert len(whole.items) == 26  # 31 cases of the day, 5 decided (the amended returned one waits again)
    assert sum(1 for item in whole.items if item.occurred_at == TIE) == 19  # ties on the time
    assert whole.squad_name == OFFICER.squad_name
    assert "暂扣烧烤炉" in whole.summary_zh
    assert any("烧烤炉×" in item.seized for item in whole.items)
    flags = {item.time_flag for item in whole.items}
    assert {"time_future", "time_before_device"} <= flags
    for limit in (1, 2, 5, 7, 100):
        pages = _pages(storage, limit)
        items = [item for page in pages for item in page.items]
        ids = [item.case_id for item in items]
        assert len(ids) == len(set(ids)), f"a case repeated at limit {limit}"
        assert items == whole.items, f"limit {limit}: another order or a case skipped"
        for page in pages:  # each page carries the day's counts and summary, as the day log has them
            assert (page.counts, page.summary_zh, page.squad_name) == (
                whole.counts,
                whole.summary_zh,
                whole.squad_name,
            )
        assert len(pages) == -(-len(whole.items) // limit)
    # the day log's cursors and the keyset's are the same positions
    with storage.transaction(readonly=True) as tx:
        first = read_queue(tx, OFFICER.squad_code, DAY, load_catalogue(), limit=10)
        by_log = queue_of(load_daylog(tx, OFFICER.squad_code, DAY, load_catalogue()), limit=10)
        assert first.next_cursor == by_log.next_cursor
        rest = read_queue(tx, OFFICER.squad_code, DAY, load_catalogue(), cursor=first.next_cursor, limit=100)
    assert first.items + rest.items == whole.items


def test_the_keyset_queue_refuses_cursors_not_its_own(storage: Storage) -> None:
    _busy_day(storage)
    other_day = paging.encode("queue", [OFFICER.squad_code, "2026-11-21"], [0, TIE.isoformat(), "x"])
    not_a_time = paging.encode("queue", [OFFICER.squad_code, DAY.isoformat()], [0, "noon", "x"])
    naive = paging.encode("queue", [OFFICER.squad_code, DAY.isoformat()], [0, "2026-11-22T09:30:00", "x"])
    for cursor in ("x", other_day, not_a_time, naive):
        with storage.transaction(readonly=True) as tx, pytest.raises(CursorError) as caught:
            read_queue(tx, OFFICER.squad_code, DAY, load_catalogue(), cursor=cursor)
        assert caught.value.zh == "翻页位置无效，请从第一页开始"


WHERES: list[dict[str, str | None]] = [
    {"squad_code": None, "violation_code": None},
    {"squad_code": "ZD01", "violation_code": "0510"},
]


def test_trend_from_the_rollup_equals_the_day_rows(storage: Storage) -> None:
    with storage.transaction() as tx:
        tx.put_user(UserRow(OTHER_OFFICER, "x"))
    cases = [
        make_case(
            occurred_at=NOW - timedelta(days=n * 5, hours=n),
            stage=Stage(1 + n % 3),
        )
        for n in range(70)
    ]
    assert set(_push(storage, *[_rec("case", c) for c in cases])) <= {"accepted", "conflict"}
    with storage.transaction(readonly=True) as tx:
        for until in (DAY, date(2026, 10, 31), date(2026, 11, 15), date(2026, 11, 16), date(2026, 3, 9)):
            for unit in ("week", "month"):
                for where in WHERES:
                    trend = trend_of(tx, until, unit, where)
                    expected: dict[date, dict[Stage, int]] = {}
                    rows = tx.tally_sum(
                        trend.buckets[0].isoformat(), until.isoformat(), ("day", "stage"), **where
                    )
                    for day_text, stage, n, _, _ in rows:
                        day = date.fromisoformat(day_text)
                        bucket = max(b for b in trend.buckets if b <= day)
                        expected.setdefault(bucket, {})
                        expected[bucket][Stage(stage)] = expected[bucket].get(Stage(stage), 0) + n
                    assert trend.counts == expected, (until, unit, where)
                    assert sum(sum(c.values()) for c in trend.counts.values()) > 0


def test_repeat_offenders_most_cases_first(storage: Storage) -> None:
    subjects = [new_id() for _ in range(4)]
    cases = []
    for i, subject_id in enumerate(subjects):
        for k in range(i + 2):  # 2, 3, 4, 5 cases; the third and later at 处罚
            stage = Stage(min(k + 1, 3))
            cases.append(
                make_case(subject_id=subject_id, occurred_at=NOW - timedelta(hours=k + i), stage=stage)
            )
    assert set(_push(storage, *[_rec("case", c) for c in cases])) <= {"accepted", "conflict"}
    with storage.transaction(readonly=True) as tx:
        top = tx.tally_offenders(NOW - timedelta(days=14), limit=2)
        assert [r.subject_id for r in top] == [subjects[3], subjects[2]]
        rest = tx.tally_offenders(NOW - timedelta(days=14), after=(top[-1].cases, top[-1].subject_id))
        assert [r.subject_id for r in rest] == [subjects[1]]  # two cases: never at 处罚, not listed
        assert [r.cases for r in top + rest] == [5, 4, 3]
        assert tx.tally_offenders(NOW + timedelta(days=1)) == []
