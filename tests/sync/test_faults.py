"""Fault tests over real HTTP on loopback (uvicorn in a thread, tmp SQLite): in every one, zero records
lost and zero duplicated, at HQ and on the phone.

"Lost" means: a case the officer recorded is neither stored at HQ nor still on the phone (queued or parked
with a reason). "Duplicated" means HQ stored a record or photo twice.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta

import httpx
import pytest

from enforcement.model import SyncState
from mobile.hqclient import Interrupted, ServerUnreachable, SignInRequired
from sync.protocol import PushBatch, PushRecord
from testkit.hqkit import OFFICER, OFFICER_B, Hq, sign_in
from tests.sync.conftest import ClientFactory, Phone, Sleeps, signed_in

Rule = Callable[[httpx.Request], str | None]


class Faulty(httpx.BaseTransport):
    """Real HTTP, with faults on demand: ``rule(request)`` says "refuse" (the connection fails before
    anything is sent), "lose" (HQ processes the request, the answer never arrives) or None."""

    def __init__(self, rule: Rule) -> None:
        self.inner = httpx.HTTPTransport()
        self.rule = rule
        self.log: list[tuple[str, str | None]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        action = self.rule(request)
        self.log.append((f"{request.method} {request.url.path}", action))
        if action == "refuse":
            raise httpx.ConnectError("connection refused (fault injected)", request=request)
        response = self.inner.handle_request(request)
        if action == "lose":
            response.read()
            response.close()
            raise httpx.ReadError("connection reset before the answer (fault injected)", request=request)
        return response

    def close(self) -> None:
        self.inner.close()


def hq_records(hq: Hq) -> list[str]:
    """Every case version HQ stored, repeats included."""
    with hq.storage.transaction(readonly=True) as tx:
        return [s.case_id for s in tx.list_cases(latest_only=False, limit=100_000)]


def assert_nothing_lost_or_duplicated(hq: Hq, phone: Phone, *, complete: bool = True) -> None:
    stored = hq_records(hq)
    assert len(stored) == len(set(stored)), "a case was stored twice"
    queued = {e.record_id for e in phone.store.outbox_pending(max_records=100_000, max_bytes=2**40)}
    parked = {e.record_id for e in phone.store.outbox_parked()}
    for case in phone.recorded:
        assert case.id in stored or case.id in queued or case.id in parked, f"case {case.id} lost"
    if complete:
        assert set(stored) == {c.id for c in phone.recorded}
        assert queued == set()
        assert set(phone.states().values()) == {SyncState.COMPLETE}
        for case in phone.recorded:
            for photo in case.photos:
                assert hq.blobs.has(photo.sha256)
    with hq.storage.transaction(readonly=True) as tx:
        for case in phone.recorded:
            for photo in case.photos:
                row = tx.get_photo(photo.sha256)
                assert row is None or row.size == photo.size


def test_response_lost_after_hq_committed_then_the_client_retries(
    hq: Hq, phone: Phone, make_client: ClientFactory, sleeps: Sleeps
) -> None:
    for _ in range(5):
        phone.record_case(photos=1)
    lost = {"POST /v1/push": 1, "PUT /v1/photos": 1}

    def rule(request: httpx.Request) -> str | None:
        key = f"{request.method} {request.url.path}"
        key = "PUT /v1/photos" if key.startswith("PUT /v1/photos") else key
        if lost.get(key):
            lost[key] -= 1
            return "lose"
        return None

    client = signed_in(make_client(phone, transport=Faulty(rule)))
    report = client.sync_once()
    assert report.ok, report.error
    assert report.duplicates == 5  # the retried batch: HQ answers with the original results
    assert len(sleeps.delays) == 2
    assert_nothing_lost_or_duplicated(hq, phone)


def test_the_same_batch_sent_ten_times_concurrently(hq: Hq, phone: Phone) -> None:
    cases = [phone.record_case() for _ in range(20)]
    entries = phone.store.outbox_pending()
    device = phone.store.device_id
    batch = PushBatch(
        device_id=device,
        records=[
            PushRecord(kind="case", id=e.record_id, device_seq=e.seq, payload=e.payload) for e in entries
        ],  # type: ignore[arg-type]
    )
    with hq.client() as http:
        auth = sign_in(http, OFFICER, device)
    answers: list[dict[str, str]] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(10)

    def send() -> None:
        try:
            with hq.client() as http:
                barrier.wait()
                response = http.post("/v1/push", json=batch.model_dump(mode="json"), headers=auth)
                assert response.status_code == 200, response.text
                answers.append({r["id"]: r["status"] for r in response.json()["results"]})
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=send) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(answers) == 10
    for case in cases:
        statuses = sorted(a[case.id] for a in answers)
        assert statuses == ["accepted"] + ["duplicate"] * 9
    stored = hq_records(hq)
    assert sorted(stored) == sorted(c.id for c in cases)


PUSH_STEPS = ["push:send", "push:answered", "push:applied", "push:acked"]
PHOTO_STEPS = ["photo:check", "photo:send", "photo:answered"]
PULL_STEPS = ["pull:applied", "pull:saved"]


@pytest.mark.parametrize("step", PUSH_STEPS + PHOTO_STEPS + PULL_STEPS)
def test_killed_at_each_step_then_restarted(
    hq: Hq, phone: Phone, make_client: ClientFactory, step: str
) -> None:
    for _ in range(3):
        phone.record_case(photos=2)
    signed_in(make_client(phone))
    killed = []

    def hook(name: str) -> None:
        if name == step and not killed:
            killed.append(name)
            raise Interrupted(name)

    with pytest.raises(Interrupted):
        make_client(phone, hook=hook).sync_once()
    assert killed == [step]
    phone.restart()  # the app starts again on the same files
    report = make_client(phone).sync_once()
    assert report.ok, report.error
    assert_nothing_lost_or_duplicated(hq, phone)
    if step in ("push:answered", "push:applied"):
        assert report.duplicates == 3  # HQ had them; the phone learns it again


def test_one_of_three_photos_uploaded_then_the_connection_drops(
    hq: Hq, phone: Phone, make_client: ClientFactory
) -> None:
    case = phone.record_case(photos=3)
    uploads = 0

    def rule(request: httpx.Request) -> str | None:
        nonlocal uploads
        if request.method == "PUT":
            uploads += 1
            if uploads > 1:
                return "refuse"
        return None

    report = signed_in(make_client(phone, transport=Faulty(rule))).sync_once()
    assert isinstance(report.error, ServerUnreachable)
    assert report.photos_uploaded == 1
    assert phone.states()[case.id] is SyncState.SENT  # HQ has the case, not all its photos
    assert sum(hq.blobs.has(p.sha256) for p in case.photos) == 1
    with hq.storage.transaction(readonly=True) as tx:
        state = tx.case_state(case.id)
    assert state is not None
    assert not state.complete
    # the network is back
    again = make_client(phone).sync_once()
    assert again.ok
    assert again.photos_uploaded == 2
    assert again.completed_cases == [case.id]
    assert_nothing_lost_or_duplicated(hq, phone)


@pytest.mark.parametrize(
    "skew", [timedelta(hours=1), timedelta(hours=-1), timedelta(days=365), timedelta(days=-365)], ids=str
)
def test_device_clock_off(hq: Hq, phone: Phone, make_client: ClientFactory, skew: timedelta) -> None:
    """The phone's clock is wrong: its times are kept as recorded, HQ's clock alone decides token expiry
    and "last confirmed sync"."""
    from tests.sync.conftest import AT

    for i in range(3):
        phone.record_case(photos=1, occurred_at=AT + skew + timedelta(minutes=i))
    client = signed_in(make_client(phone))
    report = client.sync_once()
    assert report.ok, report.error
    assert client.last_confirmed_sync() == hq.clock()
    assert_nothing_lost_or_duplicated(hq, phone)
    with hq.storage.transaction(readonly=True) as tx:
        stored = {s.case_id: s.occurred_at for s in tx.list_cases(limit=100)}
    assert stored == {c.id: c.occurred_at for c in phone.recorded}


def test_one_bad_record_in_a_batch_of_100(hq: Hq, phone: Phone, make_client: ClientFactory) -> None:
    cases = [phone.record_case() for _ in range(49)]
    foreign = phone.record_case(OFFICER_B)  # another officer's case: HQ refuses it from this officer
    cases += [phone.record_case() for _ in range(50)]
    assert phone.store.outbox_stats()[0] == 100
    report = signed_in(make_client(phone)).sync_once()
    assert report.ok
    assert report.pushed == 99
    assert report.parked == [foreign.id]
    [parked] = phone.store.outbox_parked()
    assert parked.parked_code == "record_not_owned"
    assert OFFICER_B.badge in parked.parked_reason_zh
    assert parked.parked_reason_en
    assert sorted(hq_records(hq)) == sorted(c.id for c in cases)
    assert_nothing_lost_or_duplicated(hq, phone, complete=False)


def test_token_expires_mid_sync(hq: Hq, phone: Phone, make_client: ClientFactory) -> None:
    for _ in range(150):  # two batches
        phone.record_case()
    client = signed_in(make_client(phone))

    def hook(step: str) -> None:
        if step == "push:acked":
            hq.clock.advance(hq.settings.token_ttl + timedelta(minutes=1))

    report = make_client(phone, hook=hook).sync_once()
    assert isinstance(report.error, SignInRequired)
    assert report.pushed == 100
    assert phone.store.outbox_stats()[0] == 50
    assert phone.store.outbox_parked() == []
    assert_nothing_lost_or_duplicated(hq, phone, complete=False)
    signed_in(client)
    assert client.sync_once().ok
    assert_nothing_lost_or_duplicated(hq, phone)


def test_hq_restarted_mid_sync(hq: Hq, phone: Phone, make_client: ClientFactory, sleeps: Sleeps) -> None:
    for _ in range(120):
        phone.record_case(photos=1, photo_size=500)
    server = hq.serve()
    stopped: list[str] = []
    restarted: list[int] = []

    def hook(step: str) -> None:
        if step == "push:acked" and not stopped:
            stopped.append(step)
            server.stop()  # HQ goes down between two batches…

    def on_sleep(count: int) -> None:
        if not restarted:  # … and is back (new process, same database) when the client retries
            restarted.append(count)
            hq.restart()

    sleeps.on_sleep = on_sleep
    client = signed_in(make_client(phone, hook=hook))
    report = client.sync_once()
    assert report.ok, report.error
    assert restarted == [1]
    assert report.pushed == 120
    assert_nothing_lost_or_duplicated(hq, phone)


def test_a_push_interrupted_inside_hq_stores_nothing_half(
    hq: Hq, phone: Phone, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The batch is one transaction: a failure in the middle leaves nothing behind, and a retry stores
    each record once."""
    cases = [phone.record_case() for _ in range(10)]
    from hq.ingest import push as ingest_module

    real = ingest_module._Batch.apply
    calls = 0

    def flaky(self: object, raw: object) -> object:
        nonlocal calls
        calls += 1
        if calls == 6:
            raise RuntimeError("disk full (fault injected)")
        return real(self, raw)  # type: ignore[arg-type]

    monkeypatch.setattr(ingest_module._Batch, "apply", flaky)
    entries = phone.store.outbox_pending()
    body = {
        "protocol": 1,
        "device_id": phone.store.device_id,
        "records": [
            {"kind": e.kind, "id": e.record_id, "device_seq": e.seq, "payload": e.payload} for e in entries
        ],
    }
    with hq.client() as http:
        auth = sign_in(http, OFFICER, phone.store.device_id)
        failed = http.post("/v1/push", json=body, headers=auth)
    assert failed.status_code == 500
    assert hq_records(hq) == []
    with hq.client() as http:  # uvicorn closes a connection after a server error: a new one
        again = http.post("/v1/push", json=body, headers=auth)
    assert again.status_code == 200
    assert [r["status"] for r in again.json()["results"]] == ["accepted"] * 10
    assert sorted(hq_records(hq)) == sorted(c.id for c in cases)
