"""The client's reaction to HTTP trouble, with a scripted transport (no server, no sleeping): backoff with
jitter on network errors and 5xx, Retry-After on 429/503, sign-in-again on 401, update-the-app on 426."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import httpx
import pytest

from mobile.hqclient import (
    Phase,
    Progress,
    ProtocolMismatch,
    RetryPolicy,
    ServerUnreachable,
    SignInRequired,
    SyncClient,
)
from mobile.metakeys import LAST_CONFIRMED as META_LAST_CONFIRMED
from mobile.metakeys import TOKEN as META_TOKEN
from sync.protocol import Errno, PullPage, PushResponse, RecordResult, error_body
from tests.sync.conftest import Phone

SERVER_TIME = datetime(2026, 11, 22, 15, 0, tzinfo=UTC)
Script = list[Callable[[httpx.Request], httpx.Response]]


def ok_push(request: httpx.Request) -> httpx.Response:
    import json

    records = json.loads(request.content)["records"]
    results = [RecordResult(id=r["id"], status="accepted", complete=True) for r in records]
    return httpx.Response(
        200, json=PushResponse(results=results, server_time=SERVER_TIME).model_dump(mode="json")
    )


def ok_pull(request: httpx.Request) -> httpx.Response:
    page = PullPage(changes=[], cursor="c1", more=False, server_time=SERVER_TIME)
    return httpx.Response(200, json=page.model_dump(mode="json"))


def status(
    code: int, errno: Errno, headers: dict[str, str] | None = None
) -> Callable[[httpx.Request], httpx.Response]:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(code, json=error_body(errno).model_dump(mode="json"), headers=headers)

    return answer


def network_down(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("connection refused", request=request)


class Scripted:
    """Answers each request path from its own script (the last answer repeats)."""

    def __init__(self, **scripts: Script) -> None:
        self.scripts = {"/v1/" + k.replace("_", "/"): v for k, v in scripts.items()}
        self.calls: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        self.calls.append(f"{request.method} {path}")
        script = self.scripts[path]
        step = script.pop(0) if len(script) > 1 else script[0]
        return step(request)


def client_for(phone: Phone, transport: Scripted, delays: list[float], **kwargs: object) -> SyncClient:
    http = httpx.Client(base_url="http://hq.test", transport=httpx.MockTransport(transport))
    phone.store.meta_set(META_TOKEN, "token")
    return SyncClient(http, phone.store, phone.photos, sleep=delays.append, rng=lambda: 1.0, **kwargs)  # type: ignore[arg-type]


def test_network_errors_and_5xx_back_off_exponentially_then_succeed(phone: Phone) -> None:
    phone.record_case()
    delays: list[float] = []
    script = Scripted(
        push=[network_down, status(500, Errno.INTERNAL), status(502, Errno.INTERNAL), ok_push],
        changes=[ok_pull],
    )
    report = client_for(phone, script, delays).sync_once()
    assert report.ok
    assert report.pushed == 1
    assert delays == [1.0, 2.0, 4.0]  # base * 2**attempt, rng=1.0: the top of the jitter range
    assert phone.store.outbox_stats() == (0, 0)
    assert phone.store.meta_get(META_LAST_CONFIRMED) == SERVER_TIME.isoformat()


def test_jitter_keeps_delays_between_half_and_all_of_the_step(phone: Phone) -> None:
    phone.record_case()
    delays: list[float] = []
    script = Scripted(push=[network_down, network_down, ok_push], changes=[ok_pull])
    http = httpx.Client(base_url="http://hq.test", transport=httpx.MockTransport(script))
    phone.store.meta_set(META_TOKEN, "token")
    SyncClient(http, phone.store, phone.photos, sleep=delays.append, rng=lambda: 0.0).sync_once()
    assert delays == [0.5, 1.0]


def test_429_and_503_wait_as_long_as_retry_after_says(phone: Phone) -> None:
    phone.record_case()
    delays: list[float] = []
    script = Scripted(
        push=[
            status(429, Errno.TOO_MANY_ATTEMPTS, {"Retry-After": "7"}),
            status(503, Errno.UNAVAILABLE, {"Retry-After": "3"}),
            ok_push,
        ],
        changes=[ok_pull],
    )
    report = client_for(phone, script, delays).sync_once()
    assert report.ok
    assert delays == [7.0, 3.0]


def test_a_retry_after_beyond_the_limit_ends_the_sync_offline(phone: Phone) -> None:
    phone.record_case()
    delays: list[float] = []
    seen: list[Progress] = []
    script = Scripted(push=[status(503, Errno.UNAVAILABLE, {"Retry-After": "3600"})])
    report = client_for(phone, script, delays, on_progress=seen.append).sync_once()
    assert isinstance(report.error, ServerUnreachable)
    assert delays == []
    assert seen[-1].phase is Phase.OFFLINE
    assert phone.store.outbox_stats()[0] == 1


def test_when_the_attempts_are_used_up_the_sync_ends_offline_and_keeps_the_records(phone: Phone) -> None:
    phone.record_case(photos=1)
    delays: list[float] = []
    script = Scripted(push=[network_down])
    report = client_for(
        phone, script, delays, retry=RetryPolicy(attempts=4, base_delay=1, max_delay=3)
    ).sync_once()
    assert isinstance(report.error, ServerUnreachable)
    assert report.error.message("zh") == "无法连接指挥中心，稍后自动重试"
    assert delays == [1.0, 2.0, 3.0, 3.0]  # capped at max_delay
    assert len(script.calls) == 4
    assert phone.store.outbox_stats()[0] == 1
    assert phone.store.photo_stats()[0] == 1
    assert phone.store.meta_get(META_LAST_CONFIRMED) is None


def test_401_asks_to_sign_in_again_and_keeps_every_record(phone: Phone) -> None:
    for _ in range(3):
        phone.record_case()
    delays: list[float] = []
    seen: list[Progress] = []
    script = Scripted(push=[status(401, Errno.TOKEN_EXPIRED)])
    report = client_for(phone, script, delays, on_progress=seen.append).sync_once()
    assert isinstance(report.error, SignInRequired)
    assert report.error.errno == Errno.TOKEN_EXPIRED
    assert delays == []
    assert phone.store.outbox_stats()[0] == 3
    assert phone.store.outbox_parked() == []
    assert seen[-1].phase is Phase.ERROR
    assert [e.attempts for e in phone.store.outbox_pending()] == [1, 1, 1]  # shown on the sync screen


def test_426_says_update_the_app(phone: Phone) -> None:
    phone.record_case()
    script = Scripted(push=[status(426, Errno.UNSUPPORTED_PROTOCOL)])
    report = client_for(phone, script, []).sync_once()
    assert isinstance(report.error, ProtocolMismatch)
    assert "更新应用" in report.error.message("zh")
    assert phone.store.outbox_stats()[0] == 1


def test_a_refused_record_is_parked_with_its_reason_and_the_rest_acknowledged(phone: Phone) -> None:
    good, bad = phone.record_case(), phone.record_case()
    import json

    def mixed(request: httpx.Request) -> httpx.Response:
        results = []
        for record in json.loads(request.content)["records"]:
            if record["id"] == bad.id:
                results.append(
                    RecordResult(
                        id=bad.id,
                        status="refused",
                        errno=int(Errno.RECORD_INVALID),
                        reason_zh="违法类型无效",
                        reason_en="bad violation code",
                    )
                )
            else:
                results.append(RecordResult(id=record["id"], status="accepted"))
        return httpx.Response(
            200, json=PushResponse(results=results, server_time=SERVER_TIME).model_dump(mode="json")
        )

    report = client_for(phone, Scripted(push=[mixed], changes=[ok_pull]), []).sync_once()
    assert report.ok
    assert report.parked == [bad.id]
    [parked] = phone.store.outbox_parked()
    assert (parked.record_id, parked.parked_code) == (bad.id, "record_invalid")
    assert (parked.parked_reason_zh, parked.parked_reason_en) == ("违法类型无效", "bad violation code")
    assert phone.store.outbox_stats() == (0, 0)
    assert good.id not in {e.record_id for e in phone.store.outbox_parked()}


def test_a_deferred_record_stays_queued_without_looping(phone: Phone) -> None:
    phone.record_case()
    import json

    calls = 0

    def defer(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        records = json.loads(request.content)["records"]
        results = [
            RecordResult(id=r["id"], status="deferred", errno=int(Errno.SUPERSEDES_UNKNOWN)) for r in records
        ]
        return httpx.Response(
            200, json=PushResponse(results=results, server_time=SERVER_TIME).model_dump(mode="json")
        )

    report = client_for(phone, Scripted(push=[defer], changes=[ok_pull]), []).sync_once()
    assert report.ok
    assert report.deferred == 1
    assert calls == 1
    assert phone.store.outbox_stats()[0] == 1
    assert phone.store.outbox_parked() == []


@pytest.mark.parametrize("broken", [b"not json", b'{"results": "nope"}'])
def test_a_garbled_answer_never_acknowledges_anything(phone: Phone, broken: bytes) -> None:
    phone.record_case()

    def garbled(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=broken, headers={"Content-Type": "application/json"})

    report = client_for(phone, Scripted(push=[garbled], changes=[ok_pull]), []).sync_once()
    assert report.error is not None
    assert phone.store.outbox_stats()[0] == 1
