"""The HQ HTTP API: sign-in and tokens, the error shape, protocol versions, push and pull."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from enforcement.model import Stage
from sync.protocol import PROTOCOL_HEADER, Errno, PullPage, PushResponse
from testkit.hqkit import OFFICER, OFFICER_B, PINS, Hq, make_case, make_hq, push_body, sign_in


def assert_error(response: httpx.Response, status: int, errno: Errno) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["errno"] == int(errno)
    assert body["code"] == errno.name.lower()
    assert body["message_zh"]
    assert body["message_en"]
    assert body["message_zh"] != body["message_en"]
    return body


def test_health_and_openapi_are_public(client: httpx.Client) -> None:
    health = client.get("/v1/health").json()
    assert health["protocols"] == [1]
    schema = client.get("/openapi.json").json()
    assert "/v1/push" in schema["paths"]
    assert "ErrorBody" in schema["components"]["schemas"]


def test_sign_in_issues_a_token_that_authenticates(client: httpx.Client, hq: Hq) -> None:
    response = client.post(
        "/v1/auth/sign-in", json={"badge": OFFICER.badge, "pin": PINS[OFFICER.badge], "device_id": "phone-1"}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["officer"]["badge"] == OFFICER.badge
    assert body["officer"]["name"] == "王㐂𠮷"  # rare characters intact
    assert body["device_id"] == "phone-1"
    # the token is stored only as its hash
    with hq.storage.transaction(readonly=True) as tx:
        from hq.auth import token_hash

        row = tx.get_token(token_hash(body["token"]))
    assert row is not None
    assert row.device_id == "phone-1"
    devices = client.get("/v1/devices", headers={"Authorization": f"Bearer {body['token']}"})
    assert [d["device_id"] for d in devices.json()["devices"]] == ["phone-1"]


@pytest.mark.parametrize("badge", [OFFICER.badge, "no-such-badge"])
def test_wrong_pin_or_unknown_badge_is_the_same_401(client: httpx.Client, badge: str) -> None:
    response = client.post("/v1/auth/sign-in", json={"badge": badge, "pin": "000000", "device_id": "d"})
    assert_error(response, 401, Errno.BAD_CREDENTIALS)


def test_unsupported_protocol_is_a_clear_426_in_both_languages(client: httpx.Client) -> None:
    body = {"protocol": 99, "badge": OFFICER.badge, "pin": PINS[OFFICER.badge], "device_id": "d"}
    error = assert_error(client.post("/v1/auth/sign-in", json=body), 426, Errno.UNSUPPORTED_PROTOCOL)
    assert error["detail"]["supported"] == [1]
    assert "更新" in error["message_zh"]
    # a future protocol whose body no longer matches the schema still gets the protocol error
    auth = sign_in(client, OFFICER, "phone-1")
    error = client.post("/v1/push", json={"protocol": 7, "batch": {"anything": True}}, headers=auth)
    assert_error(error, 426, Errno.UNSUPPORTED_PROTOCOL)
    # and so does the header on any route
    assert_error(client.get("/v1/changes", headers={PROTOCOL_HEADER: "5"}), 426, Errno.UNSUPPORTED_PROTOCOL)


def test_malformed_bodies_are_422_with_the_field(client: httpx.Client) -> None:
    error = assert_error(
        client.post("/v1/auth/sign-in", content=b"{not json", headers={"Content-Type": "application/json"}),
        422,
        Errno.VALIDATION,
    )
    assert error["detail"]["field"]
    error = assert_error(client.post("/v1/auth/sign-in", json={"badge": "1"}), 422, Errno.VALIDATION)
    assert "pin" in error["detail"]["field"] or "device_id" in error["detail"]["field"]


def test_unknown_route_and_method_use_the_error_shape(client: httpx.Client) -> None:
    assert_error(client.get("/v1/nothing"), 404, Errno.NOT_FOUND)
    assert_error(client.delete("/v1/push"), 405, Errno.METHOD_NOT_ALLOWED)


def test_token_missing_invalid_expired_revoked(client: httpx.Client, hq: Hq) -> None:
    assert_error(client.get("/v1/changes"), 401, Errno.TOKEN_MISSING)
    assert_error(
        client.get("/v1/changes", headers={"Authorization": "Bearer nope"}), 401, Errno.TOKEN_INVALID
    )
    auth = sign_in(client, OFFICER, "phone-1")
    assert client.get("/v1/changes", headers=auth).status_code == 200
    hq.clock.advance(hq.settings.token_ttl + timedelta(seconds=1))
    assert_error(client.get("/v1/changes", headers=auth), 401, Errno.TOKEN_EXPIRED)
    auth = sign_in(client, OFFICER, "phone-1")
    assert client.post("/v1/auth/sign-out", headers=auth).json()["revoked"] == 1
    assert_error(client.get("/v1/changes", headers=auth), 401, Errno.TOKEN_REVOKED)


def test_a_new_sign_in_on_a_device_revokes_its_earlier_token(client: httpx.Client) -> None:
    first = sign_in(client, OFFICER, "phone-1")
    second = sign_in(client, OFFICER_B, "phone-1")
    assert_error(client.get("/v1/changes", headers=first), 401, Errno.TOKEN_REVOKED)
    assert client.get("/v1/changes", headers=second).status_code == 200


def test_a_disabled_account_is_refused(client: httpx.Client, hq: Hq) -> None:
    auth = sign_in(client, OFFICER, "phone-1")
    with hq.storage.transaction() as tx:
        tx.set_user_active(OFFICER.badge, False)
    assert_error(client.get("/v1/changes", headers=auth), 403, Errno.ACCOUNT_DISABLED)
    body = {"badge": OFFICER.badge, "pin": PINS[OFFICER.badge], "device_id": "d"}
    assert_error(client.post("/v1/auth/sign-in", json=body), 403, Errno.ACCOUNT_DISABLED)


def test_revoke_own_device_and_hq_revokes_any(client: httpx.Client) -> None:
    own = sign_in(client, OFFICER, "phone-1")
    spare = sign_in(client, OFFICER, "phone-2")
    answer = client.post("/v1/devices/phone-2/revoke", headers=own)
    assert answer.status_code == 200
    assert answer.json()["revoked"] == 1
    assert_error(client.get("/v1/changes", headers=spare), 401, Errno.TOKEN_REVOKED)
    other = sign_in(client, OFFICER_B, "phone-b")
    assert_error(client.post("/v1/devices/phone-b/revoke", headers=own), 403, Errno.FORBIDDEN)
    assert_error(client.post("/v1/devices/never-seen/revoke", headers=own), 403, Errno.FORBIDDEN)
    assert client.get("/v1/changes", headers=other).status_code == 200
    from testkit.hqkit import HQ_USER

    hq_auth = sign_in(client, HQ_USER, "hq-desk")
    assert client.post("/v1/devices/phone-b/revoke", headers=hq_auth).json()["revoked"] == 1
    assert_error(client.get("/v1/changes", headers=other), 401, Errno.TOKEN_REVOKED)
    listing = client.get("/v1/devices", params={"badge": OFFICER_B.badge}, headers=hq_auth).json()
    assert listing["devices"][0]["active_tokens"] == 0
    assert_error(
        client.get("/v1/devices", params={"badge": OFFICER_B.badge}, headers=own), 403, Errno.FORBIDDEN
    )


def test_push_accepts_then_answers_duplicates_with_the_same_result(client: httpx.Client) -> None:
    auth = sign_in(client, OFFICER, "phone-1")
    cases = [make_case(OFFICER, seq=i, device_id="phone-1") for i in range(1, 4)]
    first = PushResponse.model_validate(
        client.post("/v1/push", json=push_body("phone-1", *cases), headers=auth).json()
    )
    assert [r.status for r in first.results] == ["accepted"] * 3
    assert all(r.hq_stage is Stage.PERSUASION and r.complete for r in first.results)
    again = PushResponse.model_validate(
        client.post("/v1/push", json=push_body("phone-1", *cases), headers=auth).json()
    )
    assert [r.status for r in again.results] == ["duplicate"] * 3
    assert [r.id for r in again.results] == [c.id for c in cases]


def test_push_refuses_a_batch_for_another_device(client: httpx.Client) -> None:
    auth = sign_in(client, OFFICER, "phone-1")
    body = push_body("phone-2", make_case(OFFICER))
    assert_error(client.post("/v1/push", json=body, headers=auth), 403, Errno.DEVICE_MISMATCH)


def test_push_bounds_records_and_bytes(tmp_path: Path) -> None:
    hq = make_hq(tmp_path, max_batch_records=3, max_batch_bytes=20_000)
    with hq.client() as client:
        auth = sign_in(client, OFFICER, "phone-1")
        cases = [make_case(OFFICER, seq=i, device_id="phone-1") for i in range(1, 5)]
        error = assert_error(
            client.post("/v1/push", json=push_body("phone-1", *cases), headers=auth),
            413,
            Errno.BATCH_TOO_MANY_RECORDS,
        )
        assert error["detail"]["max_records"] == 3
        big = make_case(OFFICER, device_id="phone-1")
        body = push_body("phone-1", big)
        body["records"][0]["payload"]["notes"] = "很长的备注" * 5000
        assert_error(client.post("/v1/push", json=body, headers=auth), 413, Errno.BATCH_TOO_LARGE)

        # a chunked body without Content-Length is counted as it streams
        def chunks() -> Iterator[bytes]:
            yield b'{"protocol": 1, "device_id": "phone-1", "records": ['
            for _ in range(100):
                yield b" " * 1000
            yield b"]}"

        streamed = client.post(
            "/v1/push", content=chunks(), headers=auth | {"Content-Type": "application/json"}
        )
        assert_error(streamed, 413, Errno.BATCH_TOO_LARGE)
        with hq.storage.transaction(readonly=True) as tx:
            assert tx.list_cases() == []
    hq.close()


def test_one_bad_record_is_refused_and_the_rest_stored(client: httpx.Client) -> None:
    auth = sign_in(client, OFFICER, "phone-1")
    good = make_case(OFFICER, device_id="phone-1")
    foreign = make_case(OFFICER_B, seq=2, device_id="phone-1")
    answer = client.post("/v1/push", json=push_body("phone-1", good, foreign), headers=auth).json()
    statuses = {r["id"]: r for r in answer["results"]}
    assert statuses[good.id]["status"] == "accepted"
    refused = statuses[foreign.id]
    assert refused["status"] == "refused"
    assert refused["errno"] == int(Errno.RECORD_NOT_OWNED)
    assert refused["reason_zh"]
    assert refused["reason_en"]


def test_pull_pages_with_an_opaque_cursor(client: httpx.Client) -> None:
    auth = sign_in(client, OFFICER, "phone-1")
    cases = [make_case(OFFICER, seq=i, device_id="phone-1") for i in range(1, 6)]
    client.post("/v1/push", json=push_body("phone-1", *cases), headers=auth)
    seen: list[str] = []
    cursor = None
    for _ in range(10):
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = PullPage.model_validate(client.get("/v1/changes", params=params, headers=auth).json())
        assert len(page.changes) <= 2
        seen += [c.id for c in page.changes if c.kind == "case_state"]
        cursor = page.cursor
        if not page.more:
            break
    assert sorted(seen) == sorted(c.id for c in cases)
    # nothing new after the last cursor
    tail = PullPage.model_validate(client.get("/v1/changes", params={"cursor": cursor}, headers=auth).json())
    assert tail.changes == []
    assert not tail.more
    # another officer does not see these case states
    other = sign_in(client, OFFICER_B, "phone-b")
    theirs = PullPage.model_validate(client.get("/v1/changes", headers=other).json())
    assert not [c for c in theirs.changes if c.kind == "case_state"]


def test_a_cursor_hq_never_issued_is_400(client: httpx.Client) -> None:
    auth = sign_in(client, OFFICER, "phone-1")
    assert_error(
        client.get("/v1/changes", params={"cursor": "garbage!"}, headers=auth), 400, Errno.BAD_CURSOR
    )


def test_a_busy_database_is_503_with_retry_after(
    client: httpx.Client, hq: Hq, monkeypatch: pytest.MonkeyPatch
) -> None:
    auth = sign_in(client, OFFICER, "phone-1")
    import sqlite3

    from hq.storage.sqlite import SqliteDialect

    def locked(*args: object, **kwargs: object) -> None:
        raise sqlite3.OperationalError("database is locked")

    # the driver fails inside storage, which hands the app its own StorageUnavailable
    monkeypatch.setattr(SqliteDialect, "execute", locked)
    response = client.post("/v1/push", json=push_body("phone-1", make_case(OFFICER)), headers=auth)
    assert_error(response, 503, Errno.UNAVAILABLE)
    assert response.headers["Retry-After"] == str(hq.settings.retry_after_unavailable)


def test_an_unexpected_failure_is_500_without_internals(
    client: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    auth = sign_in(client, OFFICER, "phone-1")

    def broken(*args: object, **kwargs: object) -> None:
        raise KeyError("secret internals")

    monkeypatch.setattr("hq.api.sync_routes.ingest_batch", broken)
    response = client.post("/v1/push", json=push_body("phone-1", make_case(OFFICER)), headers=auth)
    assert_error(response, 500, Errno.INTERNAL)
    assert "secret" not in response.text
