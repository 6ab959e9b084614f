"""Writes sent ahead keep every promise a transaction made before them (issue #17).

On PostgreSQL a write transaction runs in psycopg's pipeline mode and a push batch sends its case rows
and receipts ahead every ``Tx.spill_rows`` (``hq.storage.postgres``, ``hq.ingest.view``). These tests
hold the contract on both backends: a row count read right after an UPDATE is the real one; a write
sent ahead that fails fails the whole transaction and leaves nothing; a push batch that fails after
sending rows ahead stores none of them, and the phone's retry of the same batch is stored exactly once.
"""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from typing import Any

import psycopg
import pytest

from enforcement.codec import to_json_dict
from hq.ingest import cases as ingestcase
from hq.ingest.push import ingest_batch
from hq.storage.base import NewCase, StageVerdict, Storage, StorageUnavailable, UserRow
from hq.storage.postgres import PostgresDialect
from hq.storage.sqlite import SqliteDialect
from sync.protocol import PushRecord
from testkit.records import DISTRICT, NOW, OFFICER, make_case

DEVICE = "device-1"


@pytest.fixture(autouse=True)
def _send_ahead_every_three(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rows are sent ahead every 3 on both backends, so a batch of a dozen cases does it four times."""
    monkeypatch.setattr(PostgresDialect, "spill_rows", 3)
    monkeypatch.setattr(SqliteDialect, "spill_rows", 3)


def _records(count: int) -> list[PushRecord]:
    return [
        PushRecord(kind="case", id=case.id, device_seq=n + 1, payload=to_json_dict(case))
        for n, case in enumerate(make_case(officer=OFFICER) for _ in range(count))
    ]


def _stored(storage: Storage, records: list[PushRecord]) -> tuple[int, int]:
    """How many of ``records`` have a stored case version and how many a receipt."""
    with storage.transaction(readonly=True) as tx:
        ids = [r.id for r in records]
        cases = len(tx.existing_case_ids(ids))
        receipts = sum(len(tx.receipts_for(i)) for i in ids)
    return cases, receipts


def test_a_row_count_read_in_a_write_transaction_is_the_real_one(storage: Storage) -> None:
    with storage.transaction() as tx:
        tx.put_user(UserRow(officer=OFFICER, pin_hash="x"))
    with storage.transaction() as tx:
        assert tx.set_pin_hash(OFFICER.badge, "y") is True
        assert tx.set_pin_hash("no-such-badge", "y") is False
        assert tx.set_user_active(OFFICER.badge, False) is True
        assert tx.set_user_active("no-such-badge", False) is False
    with storage.transaction(readonly=True) as tx:
        user = tx.get_user(OFFICER.badge)
    assert user is not None
    assert (user.pin_hash, user.active) == ("y", False)


def test_a_failing_write_sent_ahead_fails_the_transaction_and_leaves_nothing(storage: Storage) -> None:
    case = make_case(officer=OFFICER)
    new = NewCase(
        case, DISTRICT, StageVerdict(case.computed_stage, 1, "首次", "first"), NOW, to_json_dict(case)
    )
    other = replace(case, id=make_case().id, case_no=make_case(officer=OFFICER).case_no)
    second = NewCase(other, DISTRICT, new.verdict, NOW, to_json_dict(other))
    refused = (sqlite3.IntegrityError, psycopg.errors.UniqueViolation)

    def twice() -> None:
        with storage.transaction() as tx:
            tx.save_cases([second])
            tx.save_cases([new])
            tx.save_cases([new])  # the same id again: refused by the primary key, here or at the commit

    with pytest.raises(refused):
        twice()
    with storage.transaction(readonly=True) as tx:
        assert tx.existing_case_ids([case.id, other.id]) == set()


def test_a_batch_that_fails_after_sending_rows_ahead_stores_none_and_its_retry_is_stored_once(
    storage: Storage, monkeypatch: pytest.MonkeyPatch
) -> None:
    records = _records(12)
    calls = {"n": 0}
    real = ingestcase.CaseBatch._case_result

    def fails_at_the_tenth(self: Any, *args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 10:  # three sends ahead of cases and receipts are behind us
            raise RuntimeError("HQ stopped in the middle of the batch")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(ingestcase.CaseBatch, "_case_result", fails_at_the_tenth)
    with pytest.raises(RuntimeError):
        ingest_batch(storage, OFFICER, DEVICE, records, now=NOW)
    assert _stored(storage, records) == (0, 0)

    monkeypatch.setattr(ingestcase.CaseBatch, "_case_result", real)
    first = ingest_batch(storage, OFFICER, DEVICE, records, now=NOW)
    again = ingest_batch(storage, OFFICER, DEVICE, records, now=NOW)
    assert [r.status for r in first] == ["accepted"] * 12
    assert [r.status for r in again] == ["duplicate"] * 12
    assert _stored(storage, records) == (12, 12)


def test_a_timeout_in_a_pipelined_write_transaction_is_storage_unavailable(pg_storage: Storage) -> None:
    """A statement sent ahead that runs past the statement timeout fails when its answer is read (at the
    latest at the commit): the transaction still leaves as ``StorageUnavailable`` with the driver's error
    as its cause, nothing of it is stored, and the storage works on."""

    def sleeps_past_the_timeout() -> None:
        with pg_storage.transaction() as tx:
            tx.put_user(UserRow(officer=OFFICER, pin_hash="x"))
            tx.conn.execute("SET LOCAL statement_timeout = 20")  # type: ignore[attr-defined]
            tx.conn.execute("SELECT pg_sleep(2)")  # type: ignore[attr-defined]  (sent, not read)

    with pytest.raises(StorageUnavailable) as err:
        sleeps_past_the_timeout()
    assert type(err.value.__cause__).__module__.startswith("psycopg")
    assert err.value.zh
    with pg_storage.transaction(readonly=True) as tx:
        assert tx.get_user(OFFICER.badge) is None
    with pg_storage.transaction() as tx:
        tx.put_user(UserRow(officer=OFFICER, pin_hash="x"))
    with pg_storage.transaction(readonly=True) as tx:
        assert tx.get_user(OFFICER.badge) is not None
