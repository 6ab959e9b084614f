"""HQ's squad feed carries the first sign-in at HQ of the device that recorded each case version
(``SquadCaseData.device_first_seen``, issue #14 Clocks), on both backends: the case's device is what counts
(one officer's two phones differ; a squad phone shared by two officers has one first sign-in, the earliest,
whoever signed in last), it comes from HQ's devices table for the device the pushing token holds (a payload
naming the field, or another device, changes nothing), and the same ``patrollog.reviewing.time_flag`` over
the feed's fields gives exactly HQ's day-log and review-queue flags."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from enforcement.catalogue import load_catalogue
from enforcement.codec import case_from_dict, to_json_dict
from enforcement.model import LOCAL_TZ, Case
from hq.daydata import load_daylog
from hq.ingest.push import ingest_batch
from hq.reviewqueue import read_queue
from hq.storage.base import ChangeKind, District, Squad, Storage, UserRow
from patrollog.reviewing import DEFAULT_WINDOW_DAYS, TimeFlag, time_flag
from sync.protocol import PushRecord, SquadCaseData
from testkit.records import DISTRICT, LEADER, NOW, OFFICER, OTHER_OFFICER, make_case

DAY = date(2026, 11, 22)
A_FIRST = datetime(2026, 11, 10, 8, 0, tzinfo=LOCAL_TZ)  # the officer's phone A
B_FIRST = datetime(2026, 11, 22, 8, 0, tzinfo=LOCAL_TZ)  # the officer's phone B, new today
SHARED_FIRST = datetime(2026, 11, 1, 8, 0, tzinfo=LOCAL_TZ)  # the squad phone, first used by the other
SHARED_OFFICER = datetime(2026, 11, 22, 7, 0, tzinfo=LOCAL_TZ)  # … and by the officer only today
AT = datetime(2026, 11, 20, 21, 0, tzinfo=LOCAL_TZ)  # two days before: before B, after A and the squad phone
_seq = iter(range(1, 10**9))


def _rec(case: Case | dict[str, Any]) -> PushRecord:
    payload = case if isinstance(case, dict) else to_json_dict(case)
    return PushRecord(kind="case", id=payload["id"], device_seq=next(_seq), payload=payload)


def _push(storage: Storage, device: str, *records: PushRecord, user: Any = OFFICER) -> list[str]:
    return [r.status for r in ingest_batch(storage, user, device, list(records), now=NOW)]


def _seed(storage: Storage) -> None:
    with storage.transaction() as tx:
        tx.put_district(District(DISTRICT, DISTRICT))
        tx.put_squad(Squad(OFFICER.squad_code, OFFICER.squad_name, DISTRICT))
        for user in (OFFICER, OTHER_OFFICER, LEADER):
            tx.put_user(UserRow(user, "x"))
        tx.touch_device("phone-a", OFFICER.badge, A_FIRST)
        tx.touch_device("phone-b", OFFICER.badge, B_FIRST)
        tx.touch_device("squad-phone", OTHER_OFFICER.badge, SHARED_FIRST)
        # the officer signs in on the squad phone last: its most recently seen row is the officer's
        tx.touch_device("squad-phone", OFFICER.badge, SHARED_OFFICER)


def _feed(storage: Storage) -> dict[str, SquadCaseData]:
    with storage.transaction(readonly=True) as tx:
        page = tx.changes_after(
            None, district=DISTRICT, badge=LEADER.badge, squad=LEADER.squad_code, limit=1000
        )
    return {
        c.key: SquadCaseData.model_validate(c.data) for c in page.changes if c.kind is ChangeKind.SQUAD_CASE
    }


def test_the_feed_carries_the_first_sign_in_of_the_cases_own_device(storage: Storage) -> None:
    _seed(storage)
    on_a = make_case(occurred_at=AT, device_id="phone-a")
    on_b = make_case(occurred_at=AT, device_id="phone-b")
    shared = make_case(occurred_at=AT, device_id="squad-phone")
    other_on_shared = make_case(officer=OTHER_OFFICER, occurred_at=AT, device_id="squad-phone")
    today_on_b = make_case(device_id="phone-b")
    assert _push(storage, "phone-a", _rec(on_a)) == ["accepted"]
    assert _push(storage, "phone-b", _rec(on_b), _rec(today_on_b)) == ["accepted", "accepted"]
    assert _push(storage, "squad-phone", _rec(shared)) == ["accepted"]
    assert _push(storage, "squad-phone", _rec(other_on_shared), user=OTHER_OFFICER) == ["accepted"]
    feed = _feed(storage)
    seen = {case_id: data.device_first_seen for case_id, data in feed.items()}
    assert seen == {
        on_a.id: A_FIRST,
        on_b.id: B_FIRST,
        today_on_b.id: B_FIRST,
        # the device's first sign-in, not the officer's first on it (nor the latest-seen badge's)
        shared.id: SHARED_FIRST,
        other_on_shared.id: SHARED_FIRST,
    }
    with storage.transaction(readonly=True) as tx:
        assert tx.device_first_seen("squad-phone") == SHARED_FIRST
        assert tx.device_first_seen("never-seen") is None
    # the same rule over the feed's fields gives HQ's flags: only the case timed before phone B existed
    on_phone = {}
    for case_id, data in feed.items():
        case = case_from_dict(data.case)
        assert data.received_at is not None
        flag = time_flag(
            case.occurred_at,
            data.received_at,
            window_days=DEFAULT_WINDOW_DAYS,
            device_first_seen=data.device_first_seen,
        )
        on_phone[case_id] = flag.value if flag else ""
    assert {k for k, v in on_phone.items() if v} == {on_b.id}
    assert on_phone[on_b.id] == TimeFlag.BEFORE_DEVICE.value
    at_hq: dict[str, str] = {}
    queued: dict[str, str] = {}
    with storage.transaction(readonly=True) as tx:
        for day in (AT.date(), DAY):
            at_hq |= {
                line.case_id: line.time_flag
                for line in load_daylog(tx, OFFICER.squad_code, day, load_catalogue()).lines
            }
            queue = read_queue(tx, OFFICER.squad_code, day, load_catalogue(), limit=100)
            queued |= {item.case_id: item.time_flag for item in queue.items}
    assert at_hq == on_phone
    assert queued == on_phone


def test_a_push_cannot_set_the_first_sign_in(storage: Storage) -> None:
    """A payload naming the field is parsed without it (the case codec keeps only a case's fields) and
    the feed's value is still HQ's; a case naming an older device than the pushing one is refused."""
    _seed(storage)
    forged = to_json_dict(make_case(occurred_at=AT, device_id="phone-b"))
    forged["device_first_seen"] = "2001-01-01T00:00:00+00:00"
    assert _push(storage, "phone-b", _rec(forged)) == ["accepted"]
    # a record-level field of that name is not a PushRecord field either: dropped when parsed
    loose = make_case(occurred_at=AT, device_id="phone-b")
    record = {"kind": "case", "id": loose.id, "device_seq": next(_seq), "payload": to_json_dict(loose),
              "device_first_seen": "2001-01-01T00:00:00+00:00"}  # fmt: skip
    parsed = PushRecord.model_validate(record)
    assert "device_first_seen" not in parsed.model_dump()
    assert _push(storage, "phone-b", parsed) == ["accepted"]
    # pushed from phone B, the case claims phone A (signed in long before): refused, nothing stored
    claims_a = make_case(occurred_at=AT, device_id="phone-a")
    assert _push(storage, "phone-b", _rec(claims_a)) == ["refused"]
    feed = _feed(storage)
    assert set(feed) == {forged["id"], loose.id}
    for data in feed.values():
        assert data.device_first_seen == B_FIRST
        assert "device_first_seen" not in data.case
    with storage.transaction(readonly=True) as tx:
        queue = read_queue(tx, OFFICER.squad_code, AT.date(), load_catalogue(), limit=100)
    assert {item.case_id: item.time_flag for item in queue.items} == {
        forged["id"]: TimeFlag.BEFORE_DEVICE.value,
        loose.id: TimeFlag.BEFORE_DEVICE.value,
    }


@pytest.mark.parametrize(
    "value",
    [
        "2026-11-22T08:00:00",  # no zone: the phone could not compare it with a case's time
        "1999-12-31T23:59:59+00:00",  # before any HQ
        "2100-01-01T00:00:00+00:00",
        "0001-01-01T00:00:00+00:00",  # subtracting the slack would overflow
        "soon",
    ],
)
def test_the_model_bounds_the_first_sign_in(value: str) -> None:
    data = {"case": {}, "hq_stage": 1, "device_first_seen": value}
    with pytest.raises(ValidationError, match="device_first_seen"):
        SquadCaseData.model_validate(data)


def test_an_older_hqs_entry_has_none() -> None:
    assert SquadCaseData.model_validate({"case": {}, "hq_stage": 1}).device_first_seen is None
    late = SquadCaseData.model_validate(
        {"case": {}, "hq_stage": 1, "device_first_seen": "2026-11-22T00:00:00Z"}
    )
    assert late.device_first_seen == datetime(2026, 11, 22, 8, 0, tzinfo=LOCAL_TZ)
