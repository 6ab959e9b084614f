"""Identical push batches arriving at the same time (a phone that retried while its first copy was still
being processed): each record is stored once, every copy answers accepted or duplicate, none fails.

On PostgreSQL writers really run concurrently: without a lock, two copies both find no receipt, both
insert, and one fails on the unique key (``StorageConflict`` → 503). ``ingest`` therefore locks the
batch's record ids (with its subjects, in one sorted step) before reading anything; these tests would
see the 503s / ``StorageConflict`` without it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from enforcement.codec import to_json_dict
from enforcement.model import Case, Stage
from hq.ingest.push import ingest_batch
from hq.storage.base import StageVerdict, Storage
from hq.storage.postgres import PostgresStorage
from sync.protocol import PushRecord, RecordResult
from testkit.hqkit import OFFICER as HQ_OFFICER
from testkit.hqkit import Hq, push_body, sign_in
from testkit.hqkit import make_case as hq_case
from testkit.pg import pg_hq_of
from testkit.records import DISTRICT, NOW, OFFICER, make_case, make_subject

DEVICE = "device-race"
VERDICT = StageVerdict(Stage.PERSUASION, 1)
COPIES = 10


def batch_of(cases: list[Case], first_seq: int = 1) -> list[PushRecord]:
    return [
        PushRecord(kind="case", id=c.id, device_seq=first_seq + i, payload=to_json_dict(c))
        for i, c in enumerate(cases)
    ]


def all_at_once(count: int, work: Callable[[], Any]) -> tuple[list[Any], list[BaseException]]:
    """Run ``work`` in ``count`` threads released together; their results and their exceptions."""
    barrier = threading.Barrier(count)
    results: list[Any] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def run() -> None:
        barrier.wait()
        try:
            value = work()
        except BaseException as exc:
            with lock:
                errors.append(exc)
            return
        with lock:
            results.append(value)

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results, errors


def stored_case_ids(storage: Storage) -> list[str]:
    with storage.transaction(readonly=True) as tx:
        return [s.case_id for s in tx.list_cases(latest_only=False, limit=100_000)]


def test_identical_batches_at_once_store_each_record_once(storage: Storage) -> None:
    """On both backends: ten copies of a 20-case batch (some with a subject) at the same moment."""
    subject = make_subject()
    with storage.transaction() as tx:
        tx.save_subject(subject, at=NOW)
    cases = [make_case(subject_id=subject.id if i % 4 == 0 else None, device_id=DEVICE) for i in range(20)]
    records = batch_of(cases)

    answers, errors = all_at_once(COPIES, lambda: ingest_batch(storage, OFFICER, DEVICE, records, now=NOW))

    assert errors == []
    assert len(answers) == COPIES
    for i, case in enumerate(cases):
        statuses = [answer[i].status for answer in answers]
        assert statuses.count("duplicate") == COPIES - 1, case.id
        assert set(statuses) - {"duplicate"} <= {"accepted", "conflict"}  # later cases of the subject
    assert sorted(stored_case_ids(storage)) == sorted(c.id for c in cases)


def test_overlapping_batches_at_once_store_each_record_once(storage: Storage) -> None:
    """Copies that overlap only in part (a retry re-packed with newer records) do not race either."""
    cases = [make_case(device_id=DEVICE) for _ in range(30)]
    windows = [batch_of(cases[i : i + 20], first_seq=i + 1) for i in range(0, 11, 5)]  # 0-19, 5-24, 10-29
    turn = iter(range(10**6))
    lock = threading.Lock()

    def send() -> list[RecordResult]:
        with lock:
            window = windows[next(turn) % len(windows)]
        return ingest_batch(storage, OFFICER, DEVICE, window, now=NOW)

    answers, errors = all_at_once(9, send)
    assert errors == []
    statuses: dict[str, list[str]] = {}
    for answer in answers:
        for result in answer:
            statuses.setdefault(result.id, []).append(result.status)
    for case in cases:
        assert statuses[case.id].count("accepted") == 1, case.id
        assert set(statuses[case.id]) <= {"accepted", "duplicate"}
    assert sorted(stored_case_ids(storage)) == sorted(c.id for c in cases)


def test_record_locks_wait_for_the_holder_to_commit(storage: Storage) -> None:
    """The contract: ``lock_subjects(…, record_ids=…)`` holds the record ids until the transaction ends;
    a second transaction locking one of them proceeds only after the first committed (PostgreSQL), or
    never overlaps it at all (SQLite, whose writers are serial)."""
    order: list[str] = []
    first_holds = threading.Event()
    release = threading.Event()

    def first() -> None:
        with storage.transaction() as tx:
            tx.lock_subjects(["s-1"], record_ids=["r-1", "r-2"])
            order.append("first locked")
            first_holds.set()
            release.wait(10)
            order.append("first done")

    def second() -> None:
        assert first_holds.wait(10)
        with storage.transaction() as tx:
            tx.lock_subjects([], record_ids=["r-2", "r-9"])
            order.append("second locked")

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    assert first_holds.wait(10)
    wait_until_a_writer_waits(storage)
    release.set()
    for thread in threads:
        thread.join(30)
    assert order == ["first locked", "first done", "second locked"]


def wait_until_a_writer_waits(storage: Storage, *, or_done: threading.Event | None = None) -> None:
    """Return once another transaction is blocked on an advisory lock (PostgreSQL), or ``or_done`` is set
    (it did not wait: the test then sees the race); on SQLite, whose second writer waits for the writer
    slot where nothing can observe it, give it a moment to get there."""
    if not isinstance(storage, PostgresStorage):
        time.sleep(0.2)
        return
    with psycopg.connect(storage.dsn, autocommit=True) as conn:
        for _ in range(1000):
            if or_done is not None and or_done.is_set():
                return
            row = conn.execute(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
            ).fetchone()
            if row is not None and row[0] > 0:
                return
            time.sleep(0.01)
    raise AssertionError("the second transaction never waited for the lock")


# ------------------------------------------------------------------------------ over HTTP (503s)


@pytest.fixture
def pg_hq(tmp_path: Path) -> Iterator[Hq]:
    """The HQ service on loopback over a fresh PostgreSQL schema (dropped afterwards)."""
    yield from pg_hq_of(tmp_path / "hq")


@pytest.mark.postgres
def test_ten_identical_pushes_over_http_on_postgres_never_answer_503(pg_hq: Hq) -> None:
    device = "dev-race"
    cases = [hq_case(HQ_OFFICER, seq=i + 1, device_id=device) for i in range(20)]
    body = push_body(device, *cases)
    with pg_hq.client() as http:
        auth = sign_in(http, HQ_OFFICER, device)

    def send() -> tuple[int, dict[str, str]]:
        with pg_hq.client() as http:
            response = http.post("/v1/push", json=body, headers=auth)
        statuses = {r["id"]: r["status"] for r in response.json().get("results", [])}
        return response.status_code, statuses

    answers, errors = all_at_once(COPIES, send)
    assert errors == []
    assert sorted(code for code, _ in answers) == [200] * COPIES
    for case in cases:
        assert sorted(statuses[case.id] for _, statuses in answers) == ["accepted"] + ["duplicate"] * 9
    assert sorted(stored_case_ids(pg_hq.storage)) == sorted(c.id for c in cases)


def test_photos_of_one_case_stored_at_once_report_the_case_complete_once(storage: Storage) -> None:
    """The phone uploads several photos together: when the last two of a case are stored by overlapping
    transactions, exactly one of them reports the case complete (on PostgreSQL, without a lock, each
    would miss the other's uncommitted photo and neither would). The photos are uploaded by the case's
    officer: since issue #13 an upload of no one completes no case."""
    case = make_case(photos=3)
    with storage.transaction() as tx:
        tx.save_case(case, district=DISTRICT, verdict=VERDICT, received_at=NOW)
        tx.mark_photo_stored(case.photos[0].sha256, 1000, NOW, case.officer_badge)
    completed: dict[str, list[str]] = {}
    first_marked, second_done, proceed = threading.Event(), threading.Event(), threading.Event()

    def first() -> None:
        with storage.transaction() as tx:
            completed["first"] = tx.mark_photo_stored(case.photos[1].sha256, 1001, NOW, case.officer_badge)
            first_marked.set()
            proceed.wait(10)  # not committed yet while the second one stores its photo

    def second() -> None:
        assert first_marked.wait(10)
        with storage.transaction() as tx:
            completed["second"] = tx.mark_photo_stored(case.photos[2].sha256, 1002, NOW, case.officer_badge)
        second_done.set()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    assert first_marked.wait(10)
    wait_until_a_writer_waits(storage, or_done=second_done)
    proceed.set()
    for thread in threads:
        thread.join(30)
    assert completed == {"first": [], "second": [case.id]}
    with storage.transaction(readonly=True) as tx:
        state = tx.case_state(case.id)
    assert state is not None
    assert state.complete
