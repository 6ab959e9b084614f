"""A refused request says what is wrong in both languages (``enforcement.fielderrors``): pydantic's
English never stands in ``message_zh``; a body over the cap says the cap; under ``/open311/`` every
refusal is an Open311 error array, as a partner's client parses it."""

from __future__ import annotations

import re

import httpx
import pytest

from sync.protocol import PROTOCOL_VERSION
from testkit.hqkit import OFFICER, sign_in

#: pydantic's English, which used to be the whole of ``message_zh``.
ENGLISH = re.compile(r"\b(should|Input|valid|Field|required|characters|items)\b")


@pytest.mark.parametrize(
    ("body", "field", "zh"),
    [
        ({"badge": 5, "pin": "x", "device_id": "d1"}, "body.badge", "应为文本"),
        ({"pin": "x", "device_id": "d1"}, "body.badge", "缺少此字段"),
    ],
)
def test_sign_in_refusals_speak_chinese(client: httpx.Client, body: dict, field: str, zh: str) -> None:
    answer = client.post("/v1/auth/sign-in", json={"protocol": PROTOCOL_VERSION, **body})
    assert answer.status_code == 422
    refusal = answer.json()
    assert refusal["detail"]["field"] == field
    assert refusal["message_zh"] == f"请求字段“{field}”无效：{zh}"
    assert refusal["message_en"].startswith(f"Invalid request field '{field}': ")


def test_a_push_with_a_bad_date_and_a_nul_says_why_in_chinese(client: httpx.Client) -> None:
    headers = sign_in(client, OFFICER)
    bad_date = {"protocol": PROTOCOL_VERSION, "device_id": "dev-1", "records": [], "since": "2026-13-45"}
    answer = client.post("/v1/push", json=bad_date | {"records": "not a list"}, headers=headers)
    assert answer.status_code == 422
    assert not ENGLISH.search(answer.json()["message_zh"])
    nul = {"protocol": PROTOCOL_VERSION, "device_id": "dev\x00", "records": []}
    answer = client.post("/v1/push", json=nul, headers=headers)
    assert answer.status_code == 422
    assert not ENGLISH.search(answer.json()["message_zh"])


def test_a_refused_record_says_why_in_chinese(client: httpx.Client) -> None:
    headers = sign_in(client, OFFICER)
    record = {"kind": "case", "id": "x", "device_seq": 1, "payload": {"a": 1}}
    body = {"protocol": PROTOCOL_VERSION, "device_id": f"dev-{OFFICER.badge}", "records": [record]}
    answer = client.post("/v1/push", json=body, headers=headers)
    assert answer.status_code == 200
    [result] = answer.json()["results"]
    assert result["status"] == "refused"
    assert "缺少此字段" in result["reason_zh"]
    assert not ENGLISH.search(result["reason_zh"])


def test_a_body_over_the_cap_says_the_cap(client: httpx.Client) -> None:
    answer = client.post(
        "/v1/auth/sign-in",
        content=b'{"badge": "' + b"1" * 200_000 + b'"}',
        headers={"content-type": "application/json"},
    )
    assert answer.status_code == 413
    assert answer.status_code == 413
    refusal = answer.json()
    assert refusal["code"] == "body_too_large"
    assert refusal["message_zh"].startswith("请求内容过大：最多 ")
    assert refusal["message_en"].startswith("The request body is too large: at most ")
    assert refusal["detail"]["max_bytes"] > 0


def test_open311_refusals_are_open311_error_arrays(client: httpx.Client) -> None:
    ids = ",".join(["1"] * 5000)
    for path, params, status in [
        ("/open311/v2/requests.json", {"service_request_id": ids}, 400),
        ("/open311/v2/requests.json", {"start_date": "2026-13-45"}, 400),
        ("/open311/v2/requests.json", {"status": "bogus"}, 400),
        ("/open311/v2/nothing.json", {}, 404),
    ]:
        answer = client.get(path, params=params)
        assert answer.status_code == status, (path, params)
        [error] = answer.json()
        assert error["code"] == status
        assert error["description"]
    too_big = client.post(
        "/open311/v2/requests.json",
        content=b"service_code=0101&description=" + b"a" * 200_000,
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert too_big.status_code == 413
    assert too_big.json() == [{"code": 413, "description": too_big.json()[0]["description"]}]
    assert too_big.json()[0]["description"].startswith("请求内容过大：最多 ")
