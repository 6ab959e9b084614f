"""Record ids at HQ: an id HQ could not serve back (``GET /v1/cases/{id}``) is refused whole, 422
``VALIDATION`` naming the field in Chinese and English, before anything of the request is stored; an id
within ``sync.protocol.RECORD_ID_PATTERN`` is stored and read back by its URL."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import httpx
import pytest

from enforcement.codec import to_json_dict
from enforcement.model import Stage, new_id
from hq.storage.base import iter_all_audit
from sync.protocol import PROTOCOL_VERSION, Errno
from testkit.hqkit import LEADER, OFFICER, Hq, make_case, push_body, sign_in
from tests.hq.test_api import assert_error

#: Ids a phone could send that no URL path segment (or file name, CSV cell, log line) carries as is.
BAD_IDS = [
    pytest.param("a/b", id="slash"),
    pytest.param("../x", id="dot-dot-slash"),
    pytest.param("id with space", id="spaces"),
    pytest.param("case?x=1", id="question-mark"),
    pytest.param("case#1", id="hash"),
    pytest.param("case\x01", id="control-char"),
    pytest.param("case\n", id="trailing-newline"),
    pytest.param("案件1", id="non-ascii"),
    pytest.param(".hidden", id="leading-dot"),
    pytest.param("-x", id="leading-dash"),
    pytest.param("", id="empty"),
    pytest.param("x" * 65, id="65-chars"),
]


def assert_record_id_error(response: httpx.Response, field: str) -> dict[str, Any]:
    """The usual validation error, naming ``field`` and stating the id rule in both languages."""
    body = assert_error(response, 422, Errno.VALIDATION)
    assert body["detail"]["field"] == field
    assert body["message_zh"].startswith(f"请求字段“{field}”无效：记录编号须为 1–64 个字符")
    assert "英文字母、数字" in body["message_zh"]
    assert "pattern" not in body["message_zh"]  # pydantic's English text is not shown in Chinese
    assert body["message_en"].startswith(f"Invalid request field '{field}': a record id must be 1-64 ")
    assert "'-', '_' and '.'" in body["message_en"]
    return body


def assert_nothing_stored(hq: Hq, device_id: str) -> None:
    with hq.storage.transaction(readonly=True) as tx:
        assert tx.list_cases() == []
        assert tx.device_seq_high(device_id) == 0
    assert [e for e in iter_all_audit(hq.storage) if e.action == "push"] == []


@pytest.mark.parametrize("bad", BAD_IDS)
def test_a_push_with_one_bad_record_id_is_refused_whole(client: httpx.Client, hq: Hq, bad: str) -> None:
    auth = sign_in(client, OFFICER, "phone-1")
    good = make_case(OFFICER, seq=1, device_id="phone-1")
    other = make_case(OFFICER, seq=2, device_id="phone-1")
    body = push_body("phone-1", good, other)
    body["records"][1]["id"] = bad
    body["records"][1]["payload"]["id"] = bad
    assert_record_id_error(client.post("/v1/push", json=body, headers=auth), "body.records.1.id")
    assert_nothing_stored(hq, "phone-1")
    # the same batch without the bad id goes through: the id alone was the reason
    answer = client.post("/v1/push", json=push_body("phone-1", good, other), headers=auth)
    assert [r["status"] for r in answer.json()["results"]] == ["accepted", "accepted"]


def test_a_review_pushed_from_a_leaders_phone_with_a_bad_id_is_refused(client: httpx.Client, hq: Hq) -> None:
    officer = sign_in(client, OFFICER, "phone-1")
    case = make_case(OFFICER, device_id="phone-1")
    assert client.post("/v1/push", json=push_body("phone-1", case), headers=officer).status_code == 200
    leader = sign_in(client, LEADER, "phone-leader")
    review = {
        "id": "review/1", "case_id": case.id, "case_no": case.case_no, "decision": "withdraw",
        "reviewer_badge": LEADER.badge, "decided_at": "2026-11-22T22:30:00+08:00", "comment": "重复登记",
    }  # fmt: skip
    record = {"kind": "review", "id": review["id"], "device_seq": 1, "payload": review}
    body = {"protocol": PROTOCOL_VERSION, "device_id": "phone-leader", "records": [record]}
    assert_record_id_error(client.post("/v1/push", json=body, headers=leader), "body.records.0.id")
    with hq.storage.transaction(readonly=True) as tx:
        assert tx.reviews_for_case(case.id) == []
        assert tx.device_seq_high("phone-leader") == 0


@pytest.mark.parametrize("bad", BAD_IDS)
def test_a_review_request_at_hq_with_a_bad_review_id_is_refused(
    client: httpx.Client, hq: Hq, bad: str
) -> None:
    officer = sign_in(client, OFFICER, "phone-1")
    case = make_case(OFFICER, device_id="phone-1", computed=Stage.PENALTY)
    assert client.post("/v1/push", json=push_body("phone-1", case), headers=officer).status_code == 200
    leader = sign_in(client, LEADER, "phone-leader")
    body = {"decision": "approve", "comment": "核实", "review_id": bad}
    assert_record_id_error(client.post(f"/v1/review/{case.id}", json=body, headers=leader), "body.review_id")
    with hq.storage.transaction(readonly=True) as tx:
        assert tx.reviews_for_case(case.id) == []
    # with an id by the rule, the same request is taken
    good = client.post(f"/v1/review/{case.id}", json=body | {"review_id": new_id()}, headers=leader)
    assert good.status_code == 200, good.text
    assert good.json()["record_status"] == "accepted"


@pytest.mark.parametrize("record_id", ["case-1023.a_1", "X", "9" * 64])
def test_an_id_by_the_rule_is_stored_and_served_back_by_its_url(
    client: httpx.Client, hq: Hq, record_id: str
) -> None:
    auth = sign_in(client, OFFICER, "phone-1")
    case = replace(make_case(OFFICER, device_id="phone-1"), id=record_id)
    answer = client.post("/v1/push", json=push_body("phone-1", case), headers=auth)
    assert answer.json()["results"][0]["status"] == "accepted", answer.text
    detail = client.get(f"/v1/cases/{record_id}", headers=auth)
    assert detail.status_code == 200, detail.text
    assert detail.json()["case"] == to_json_dict(case)


# -- device ids: the same rule, named as such (they stand in POST /v1/devices/{device_id}/revoke) -----------
def assert_device_id_error(response: httpx.Response, field: str) -> None:
    body = assert_error(response, 422, Errno.VALIDATION)
    assert body["detail"]["field"] == field
    assert body["message_zh"].startswith(f"请求字段“{field}”无效：设备编号须为 1–64 个字符")
    assert body["message_en"].startswith(f"Invalid request field '{field}': a device id must be 1-64 ")


@pytest.mark.parametrize("bad", BAD_IDS)
def test_a_sign_in_from_a_device_id_off_the_rule_is_refused_and_no_device_recorded(
    client: httpx.Client, hq: Hq, bad: str
) -> None:
    from testkit.hqkit import PINS

    body = {
        "protocol": PROTOCOL_VERSION,
        "badge": OFFICER.badge,
        "pin": PINS[OFFICER.badge],
        "device_id": bad,
    }
    assert_device_id_error(client.post("/v1/auth/sign-in", json=body), "body.device_id")
    with hq.storage.transaction(readonly=True) as tx:
        assert [d.device_id for d in tx.list_devices(badge=OFFICER.badge)] == []
    assert client.post("/v1/auth/sign-in", json=body | {"device_id": new_id()}).status_code == 200


def test_a_push_batch_from_a_device_id_off_the_rule_is_refused_whole(client: httpx.Client, hq: Hq) -> None:
    auth = sign_in(client, OFFICER, "phone-1")
    body = push_body("phone-1", make_case(OFFICER, device_id="phone-1"))
    body["device_id"] = "phone/1"
    assert_device_id_error(client.post("/v1/push", json=body, headers=auth), "body.device_id")
    assert_nothing_stored(hq, "phone/1")
    assert_nothing_stored(hq, "phone-1")
