"""The wire models: stable errno table, one error shape, round trips, tolerance of newer fields."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from enforcement.model import Officer, Role, Stage, SyncState
from sync.protocol import (
    ACKED_STATUSES,
    ERRNO_HTTP_STATUS,
    ERRNO_MESSAGES,
    RECORD_ID_PATTERN,
    RECORD_ID_RULE,
    CaseStateData,
    Errno,
    PushBatch,
    PushRecord,
    RecordResult,
    SignInResponse,
    error_body,
    http_status,
)


def test_every_errno_has_a_status_and_both_texts() -> None:
    assert set(Errno) == set(ERRNO_HTTP_STATUS) == set(ERRNO_MESSAGES)
    for errno in Errno:
        status = ERRNO_HTTP_STATUS[errno]
        assert 400 <= status < 600
        # the thousands digit says the family; 5xxx are the only server errors
        assert (status >= 500) == (int(errno) >= 5000), errno
        zh, en = ERRNO_MESSAGES[errno]
        assert zh
        assert en
        assert zh != en


def test_errno_numbers_are_stable() -> None:
    # Phones in the field match on these numbers: changing one is a protocol break.
    assert Errno.UNSUPPORTED_PROTOCOL == 1002
    assert Errno.BATCH_TOO_MANY_RECORDS == 1003
    assert Errno.BAD_CREDENTIALS == 2001
    assert Errno.TOKEN_EXPIRED == 2004
    assert Errno.TOO_MANY_ATTEMPTS == 2006
    assert Errno.FORBIDDEN == 2007
    assert Errno.PHOTO_HASH_MISMATCH == 4001
    assert Errno.UNAVAILABLE == 5002


def test_error_body_defaults_and_overrides() -> None:
    body = error_body(Errno.TOKEN_EXPIRED)
    assert body.errno == 2004
    assert body.code == "token_expired"
    assert "登录" in body.message_zh
    assert "sign in" in body.message_en
    custom = error_body(Errno.VALIDATION, zh="字段错误", en="bad field", detail={"field": "badge"})
    assert (custom.message_zh, custom.message_en) == ("字段错误", "bad field")
    assert custom.detail == {"field": "badge"}
    assert http_status(Errno.FORBIDDEN) == 403
    assert http_status(9999) == 500


def test_sign_in_response_round_trip_carries_the_officer() -> None:
    now = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)
    officer = Officer("J1001", "张伟", "ZD01", "人民路中队", "金水区", Role.LEADER)
    resp = SignInResponse(token="tok", expires_at=now, officer=officer, device_id="dev", server_time=now)
    back = SignInResponse.model_validate_json(resp.model_dump_json())
    assert back.officer == officer
    assert back.expires_at == now


def test_push_record_kind_is_closed_and_newer_fields_ignored() -> None:
    with pytest.raises(ValidationError):
        PushRecord.model_validate({"kind": "parcel", "id": "x", "device_seq": 1, "payload": {}})
    batch = PushBatch.model_validate(
        {"protocol": 1, "device_id": "d", "records": [], "from_the_future": True}
    )
    assert batch.records == []


def test_record_result_ack_semantics() -> None:
    assert {"accepted", "duplicate", "conflict"} == ACKED_STATUSES
    assert RecordResult(id="a", status="conflict", hq_stage=Stage.WARNING).acked
    assert not RecordResult(id="a", status="refused", errno=3001).acked
    assert not RecordResult(id="a", status="deferred").acked


def test_case_state_data_validates_the_state() -> None:
    data = CaseStateData.model_validate({"case_id": "c", "state": "complete", "hq_stage": 2})
    assert data.state is SyncState.COMPLETE
    assert data.hq_stage is Stage.WARNING
    with pytest.raises(ValidationError):
        CaseStateData.model_validate({"case_id": "c", "state": "lost"})


def test_case_state_data_carries_hqs_reason_and_defaults_without_it() -> None:
    data = CaseStateData(
        case_id="c",
        case_no="ZD01-20261122-1023-0001",
        state=SyncState.SENT,
        hq_stage=Stage.PENALTY,
        hq_reason_zh="第3次 · 处罚：10-02 劝导，11-01 警告",
        hq_reason_en="3rd · Penalty: 10-02 Persuasion, 11-01 Warning",
        missing_photos=["ab" * 32],
    )
    back = CaseStateData.model_validate_json(data.model_dump_json())
    assert back == data
    assert (back.hq_reason_zh, back.hq_reason_en) == (
        "第3次 · 处罚：10-02 劝导，11-01 警告",
        "3rd · Penalty: 10-02 Persuasion, 11-01 Warning",
    )
    # what an older HQ sends: no reasons, read as ""
    old = CaseStateData.model_validate({"case_id": "c", "state": "sent", "hq_stage": 3})
    assert (old.hq_stage, old.hq_reason_zh, old.hq_reason_en) == (Stage.PENALTY, "", "")


def push_record(record_id: object) -> PushRecord:
    return PushRecord.model_validate({"kind": "case", "id": record_id, "device_seq": 1, "payload": {}})


@pytest.mark.parametrize(
    "bad",
    [
        "a/b",
        "",
        "x" * 65,
        "../x",
        "id with space",
        "ab\x01c",  # a control character
        "ab\x00",  # NUL
        "case\n",  # a trailing newline (the pattern's $ is the end of the text)
        "\ncase",
        "case?x",
        "case#1",
        "a%2Fb",
        "a\\b",
        ".hidden",
        "-x",
        "_x",
        "案件1",
        "caf\u00e9",
        "\uff21",  # fullwidth A: a letter, not an ASCII one
    ],
)
def test_push_record_refuses_an_id_off_the_rule(bad: str) -> None:
    with pytest.raises(ValidationError) as refused:
        push_record(bad)
    [error] = refused.value.errors()
    assert (error["loc"], error["type"]) == (("id",), "string_pattern_mismatch")
    assert error["ctx"] == {"pattern": RECORD_ID_PATTERN}


@pytest.mark.parametrize(
    "good",
    [
        "0f9b1c2e-5d7a-4e8b-9c3d-2a6f8e1b4c7d",  # a UUID as new_id() makes them (fixed: stable test ids)
        "0F9B1C2E-5D7A-4E8B-9C3D-2A6F8E1B4C7D",
        "x",  # ids the suite uses (tests/sync, tests/hq, tests/patrollog)
        "y",
        "a",
        "c",
        "s-vendor",
        "case-1023.a_1",
        "7",
        "x" * 64,
    ],
)
def test_push_record_accepts_uuids_and_the_suites_ids(good: str) -> None:
    assert push_record(good).id == good


def test_push_record_id_must_be_text() -> None:
    with pytest.raises(ValidationError):
        push_record(123)


def test_the_record_id_rule_is_published_and_worded_in_both_languages() -> None:
    schema = PushRecord.model_json_schema()
    assert schema["properties"]["id"]["pattern"] == RECORD_ID_PATTERN
    zh, en = RECORD_ID_RULE
    assert "1–64" in zh
    assert "字母" in zh
    assert "1-64" in en
    assert "letter" in en
