"""Issue #13 items 2, 9, 10, 11: scope facts, the seizure's second officer, subject districts, text
lengths and implausible case times, each attack over the real API (uvicorn on loopback, ``hqkit``): the
attack as the phone would push it, now refused with its own errno (nothing stored) or flagged.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from typing import Any

import httpx
import pytest

from enforcement.codec import to_json_dict
from enforcement.model import Case, SeizedItem, Subject, SubjectKind, new_id
from sync.protocol import PROTOCOL_VERSION, Errno
from testkit.hqkit import (
    DISTRICT,
    HQ_USER,
    LEADER,
    OFFICER,
    OFFICER_B,
    OFFICER_C,
    OFFICER_FAR,
    Hq,
    make_case,
    make_hq,
    sign_in,
)

DEVICE = f"dev-{OFFICER.badge}"


@pytest.fixture
def hq(tmp_path: Any) -> Iterator[Hq]:
    server = make_hq(tmp_path / "hq")
    server.serve()
    yield server
    server.close()


def _push(client: httpx.Client, auth: dict[str, str], kind: str, record: Any, device: str = DEVICE) -> dict:
    payload = to_json_dict(record)
    body = {
        "protocol": PROTOCOL_VERSION,
        "device_id": device,
        "records": [{"kind": kind, "id": payload["id"], "device_seq": 1, "payload": payload}],
    }
    answer = client.post("/v1/push", json=body, headers=auth)
    assert answer.status_code == 200, answer.text
    [result] = answer.json()["results"]
    return result


def _stored(hq: Hq, case_id: str) -> bool:
    with hq.storage.transaction(readonly=True) as tx:
        return tx.get_case(case_id) is not None


def _refused(result: dict, errno: Errno) -> None:
    assert result["status"] == "refused", result
    assert result["errno"] == errno, result
    assert result["reason_zh"]
    assert result["reason_en"]


def _seizure(case: Case, second: str) -> Case:
    return replace(
        case,
        seized_items=(SeizedItem("烧烤炉", 1),),
        seizure_receipt_no="ZK-0001",
        second_officer_badge=second,
    )


# -- item 2: the phone decides scope facts


@pytest.mark.parametrize(
    "change",
    [
        {"squad_code": "ZD02"},  # filed under another squad: its leader would read and approve it
        {"squad_code": "ZZ99"},  # a made-up squad no leader ever sees
        {"device_id": "some-other-phone"},
    ],
    ids=["other-squad", "made-up-squad", "other-device"],
)
def test_scope_facts_in_the_payload_must_be_the_sessions(hq: Hq, change: dict[str, str]) -> None:
    with hq.client() as client:
        auth = sign_in(client, OFFICER)
        case = replace(make_case(OFFICER), **change)
        if "squad_code" in change:  # a number that fits the forged squad, so only the squad is wrong
            case = replace(case, case_no=case.case_no.replace("ZD01", change["squad_code"], 1))
        _refused(_push(client, auth, "case", case), Errno.SCOPE_MISMATCH)
    assert not _stored(hq, case.id)


@pytest.mark.parametrize(
    "case_no", ["ZD01-9999-261122-TESTA-0001", "ZD02-1023-261122-TESTA-0001", "anything"]
)
def test_the_case_number_parses_and_carries_the_squad_and_badge(hq: Hq, case_no: str) -> None:
    with hq.client() as client:
        auth = sign_in(client, OFFICER)
        case = replace(make_case(OFFICER), case_no=case_no)
        _refused(_push(client, auth, "case", case), Errno.CASE_NO_INVALID)
    assert not _stored(hq, case.id)


def test_an_amendment_keeps_its_originals_squad(hq: Hq) -> None:
    with hq.client() as client:
        auth = sign_in(client, OFFICER)
        original = make_case(OFFICER)
        assert _push(client, auth, "case", original)["status"] == "accepted"
        moved = replace(original, id=new_id(), version=2, supersedes=original.id, squad_code="ZD02")
        _refused(_push(client, auth, "case", moved), Errno.SCOPE_MISMATCH)
    assert not _stored(hq, moved.id)


# -- item 9: the seizure's second officer


@pytest.mark.parametrize(
    "second",
    ["7777", OFFICER_C.badge, OFFICER_FAR.badge, HQ_USER.badge],
    ids=["none", "other-squad", "far", "hq"],
)
def test_the_second_officer_is_an_active_officer_of_the_squad(hq: Hq, second: str) -> None:
    with hq.client() as client:
        auth = sign_in(client, OFFICER)
        case = _seizure(make_case(OFFICER), second)
        _refused(_push(client, auth, "case", case), Errno.SECOND_OFFICER_INVALID)
        assert not _stored(hq, case.id)
        fine = _seizure(make_case(OFFICER, seq=2), OFFICER_B.badge)
        assert _push(client, auth, "case", fine)["status"] == "accepted"
        with hq.storage.transaction() as tx:
            tx.set_user_active(OFFICER_B.badge, False)
        disabled = _seizure(make_case(OFFICER, seq=3), OFFICER_B.badge)
        _refused(_push(client, auth, "case", disabled), Errno.SECOND_OFFICER_INVALID)
    assert not _stored(hq, disabled.id)


def test_the_phone_applies_the_same_rule_to_officers_it_knows() -> None:
    from enforcement.validation import case_problems
    from testkit.hqkit import catalogue

    case = _seizure(make_case(OFFICER), OFFICER_C.badge)
    known = {OFFICER_C.badge: OFFICER_C, HQ_USER.badge: HQ_USER}
    problems = case_problems(case, catalogue(), officer_of=known.get)
    assert [p.field for p in problems] == ["second_officer_badge"]
    assert case_problems(_seizure(case, HQ_USER.badge), catalogue(), officer_of=known.get)
    assert not case_problems(_seizure(case, "5555"), catalogue(), officer_of=known.get)  # HQ decides


# -- item 10: subjects across districts, text lengths


def test_a_subject_is_not_moved_to_another_district(hq: Hq) -> None:
    far = Subject(new_id(), SubjectKind.MOBILE_VENDOR, name="外区摊贩", district="二七区")
    with hq.storage.transaction() as tx:
        tx.save_subject(far, at=hq.clock())
    with hq.client() as client:
        auth = sign_in(client, OFFICER)
        _refused(
            _push(client, auth, "subject", replace(far, district=DISTRICT, name="改名")), Errno.SCOPE_MISMATCH
        )
    with hq.storage.transaction(readonly=True) as tx:
        assert tx.get_subject(far.id) == far


@pytest.mark.parametrize(
    ("kind", "field"),
    [("case", "notes"), ("case", "location.address"), ("subject", "name"), ("review", "comment")],
)
def test_every_free_text_field_is_bounded(hq: Hq, kind: str, field: str) -> None:
    from enforcement.model import Review, ReviewDecision

    huge = "长" * 330_000  # ~990 KB of UTF-8
    with hq.client() as client:
        if kind == "case":
            auth = sign_in(client, OFFICER)
            base = make_case(OFFICER)
            record: Any = (
                replace(base, notes=huge)
                if field == "notes"
                else replace(base, location=replace(base.location, address=huge))
            )
        elif kind == "subject":
            auth = sign_in(client, OFFICER)
            record = Subject(new_id(), SubjectKind.MOBILE_VENDOR, name=huge[:5000], district=DISTRICT)
        else:
            owner = sign_in(client, OFFICER)
            case = make_case(OFFICER)
            assert _push(client, owner, "case", case)["status"] == "accepted"
            auth = sign_in(client, LEADER)
            record = Review(
                new_id(), case.id, case.case_no, ReviewDecision.RETURN, LEADER.badge, hq.clock(), huge[:600]
            )
        device = f"dev-{LEADER.badge}" if kind == "review" else DEVICE
        result = _push(client, auth, kind, record, device)
        _refused(result, Errno.TEXT_TOO_LONG)
        assert field in result["reason_en"]
    with hq.storage.transaction(readonly=True) as tx:
        assert tx.get_case(record.id) is None
        assert tx.get_subject(record.id) is None
        assert tx.get_review(record.id) is None


# -- item 11: implausible times flagged, restages audited with their cause


@pytest.mark.parametrize(
    ("shift", "flag"),
    [(timedelta(days=365 * 70), "time_future"), (-timedelta(days=730), "time_too_old")],
    ids=["2099", "two-years-back"],
)
def test_implausible_times_are_flagged_for_the_leader(hq: Hq, shift: timedelta, flag: str) -> None:
    with hq.client() as client:
        auth = sign_in(client, OFFICER)
        at = hq.clock() + shift
        case = replace(make_case(OFFICER, seq=1), occurred_at=at)  # numbered on the day it was typed
        assert _push(client, auth, "case", case)["status"] == "accepted"
        leader = sign_in(client, LEADER)
        # the queue places an implausible case on the day HQ received it (its best-known time, issue #14),
        # so that no case falls out of every day
        day = hq.clock().astimezone(case.occurred_at.tzinfo).date()
        queue = client.get("/v1/review/queue", params={"day": day.isoformat()}, headers=leader)
        assert queue.status_code == 200, queue.text
        [item] = [i for i in queue.json()["items"] if i["case_id"] == case.id]
        assert item["needs_decision"]
        assert item["time_flag"] == flag
        assert item["time_flag_zh"]
        assert item["time_flag_en"]
    with hq.storage.transaction(readonly=True) as tx:
        events = [e for e in tx.audit_events(limit=10_000) if e.action == "time_flagged"]
    assert [e.target for e in events] == [case.id]


def test_a_back_dated_case_that_restages_another_is_audited_naming_it(hq: Hq) -> None:
    subject = Subject(new_id(), SubjectKind.MOBILE_VENDOR, name="赵老三烧烤", district=DISTRICT)
    with hq.storage.transaction() as tx:
        tx.save_subject(subject, at=hq.clock())
    with hq.client() as client:
        other = sign_in(client, OFFICER_C)
        theirs = make_case(OFFICER_C, subject_id=subject.id, seq=1)
        assert _push(client, other, "case", theirs, f"dev-{OFFICER_C.badge}")["status"] == "accepted"
        auth = sign_in(client, OFFICER)
        early = make_case(OFFICER, subject_id=subject.id, occurred_at=theirs.occurred_at - timedelta(days=2))
        assert _push(client, auth, "case", early)["status"] == "accepted"
    with hq.storage.transaction(readonly=True) as tx:
        restaged = [e for e in tx.audit_events(limit=10_000) if e.action == "restaged"]
    assert [(e.target, e.detail["caused_by"]) for e in restaged] == [(theirs.id, early.id)]
