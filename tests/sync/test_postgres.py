"""The HTTP service and the sync client on PostgreSQL (``streetpatrol-hq serve --pg``): a full sync, a lost
answer, ten concurrent copies of one batch and a restart — exactly once, as on SQLite."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from mobile.hqclient import SyncClient
from sync.protocol import Errno, PushBatch, PushRecord
from testkit.hqkit import OFFICER, Hq, sign_in
from testkit.pg import pg_hq_of
from tests.sync.conftest import Phone, Sleeps, signed_in
from tests.sync.test_faults import Faulty, assert_nothing_lost_or_duplicated, hq_records

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_hq(tmp_path: Path) -> Iterator[Hq]:
    yield from pg_hq_of(tmp_path / "hq")


def client_of(
    hq: Hq,
    phone: Phone,
    sleeps: Sleeps,
    https: list[httpx.Client],
    transport: httpx.BaseTransport | None = None,
) -> SyncClient:
    http = httpx.Client(base_url=hq.serve().url, transport=transport, timeout=10)
    https.append(http)
    return SyncClient(http, phone.store, phone.photos, sleep=sleeps, rng=lambda: 0.5)


def test_full_sync_with_a_lost_answer_on_postgres(
    pg_hq: Hq, phone: Phone, sleeps: Sleeps, https: list[httpx.Client]
) -> None:
    for _ in range(5):
        phone.record_case(photos=2)
    lost = [True]

    def rule(request: httpx.Request) -> str | None:
        if request.method == "POST" and request.url.path == "/v1/push" and lost:
            lost.clear()
            return "lose"
        return None

    client = signed_in(client_of(pg_hq, phone, sleeps, https, Faulty(rule)))
    report = client.sync_once()
    assert report.ok, report.error
    assert report.duplicates == 5
    assert client.last_confirmed_sync() == pg_hq.clock()
    assert_nothing_lost_or_duplicated(pg_hq, phone)


def test_ten_concurrent_copies_of_a_batch_on_postgres(pg_hq: Hq, phone: Phone) -> None:
    cases = [phone.record_case() for _ in range(20)]
    entries = phone.store.outbox_pending()
    batch = PushBatch(
        device_id=phone.store.device_id,
        records=[
            PushRecord(kind="case", id=e.record_id, device_seq=e.seq, payload=e.payload) for e in entries
        ],  # type: ignore[arg-type]
    )
    with pg_hq.client() as http:
        auth = sign_in(http, OFFICER, phone.store.device_id)
    answers: list[dict[str, str]] = []
    busy: list[int] = []
    barrier = threading.Barrier(10)

    def send() -> None:
        with pg_hq.client() as http:
            barrier.wait()
            for _ in range(10):  # as the sync client does: a 503 (two copies raced) is retried
                response = http.post("/v1/push", json=batch.model_dump(mode="json"), headers=auth)
                if response.status_code != 503:
                    break
                busy.append(response.json()["errno"])
            answers.append({r["id"]: r["status"] for r in response.json()["results"]})

    threads = [threading.Thread(target=send) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(answers) == 10
    for case in cases:
        assert sorted(a[case.id] for a in answers) == ["accepted"] + ["duplicate"] * 9
    assert sorted(hq_records(pg_hq)) == sorted(c.id for c in cases)
    assert set(busy) <= {int(Errno.UNAVAILABLE)}


def test_hq_restart_on_postgres(pg_hq: Hq, phone: Phone, sleeps: Sleeps, https: list[httpx.Client]) -> None:
    for _ in range(3):
        phone.record_case(photos=1)
    client = signed_in(client_of(pg_hq, phone, sleeps, https))
    pg_hq.restart()
    report = client.sync_once()
    assert report.ok, report.error
    assert_nothing_lost_or_duplicated(pg_hq, phone)
