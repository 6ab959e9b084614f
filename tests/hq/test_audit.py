"""The hash-chained audit log: intact logs verify; every kind of tampering is found, on both backends."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import pytest

from hq.audit import GENESIS, ProblemKind, canonical_detail, event_hash, recompute, verify
from hq.storage.base import AuditEvent, Storage
from testkit.records import raw_sql

_INSERT = (
    "INSERT INTO audit (seq, at, actor, action, target, detail, prev_hash, hash)"
    " VALUES (SEQ, ?, ?, ?, ?, ?, ?, ?)"
)


def _log(storage: Storage, n: int = 5) -> list[AuditEvent]:
    for i in range(n):
        with storage.transaction() as tx:
            tx.audit("1023", "push", target=f"dev-{i}", detail={"n": i, "名": "王𠮷"})
    with storage.transaction(readonly=True) as tx:
        return tx.audit_events()


def _kinds(storage: Storage) -> list[tuple[ProblemKind, int]]:
    return [(p.kind, p.seq) for p in verify(storage)]


def test_events_are_chained_in_commit_order(storage: Storage) -> None:
    events = _log(storage)
    assert [e.seq for e in events] == [1, 2, 3, 4, 5]
    assert events[0].prev_hash == GENESIS
    assert all(later.prev_hash == earlier.hash for earlier, later in itertools.pairwise(events))
    assert all(recompute(e) == e.hash for e in events)
    assert events[2].detail == {"n": 2, "名": "王𠮷"}
    with storage.transaction(readonly=True) as tx:
        head = tx.audit_head()
    assert head is not None
    assert (head.seq, head.hash) == (5, events[-1].hash)
    assert verify(storage) == []


def test_several_events_in_one_transaction(storage: Storage) -> None:
    with storage.transaction() as tx:
        tx.audit("cli", "init")
        tx.audit("cli", "seed", detail={"users": 3})
    assert verify(storage) == []
    with storage.transaction(readonly=True) as tx:
        assert [e.action for e in tx.audit_events()] == ["init", "seed"]


def test_empty_log_verifies(storage: Storage) -> None:
    assert verify(storage) == []


def test_edited_event_is_found(storage: Storage) -> None:
    _log(storage)
    raw_sql(storage)("UPDATE audit SET detail = ? WHERE seq = 3", ['{"n":300}'])
    assert _kinds(storage) == [(ProblemKind.EDITED, 3)]


def test_edited_and_rehashed_event_breaks_the_next_link(storage: Storage) -> None:
    events = _log(storage)
    third = events[2]
    forged = event_hash(third.prev_hash, third.at, "attacker", third.action, third.target, third.detail)
    raw_sql(storage)("UPDATE audit SET actor = 'attacker', hash = ? WHERE seq = 3", [forged])
    assert _kinds(storage) == [(ProblemKind.CHAIN_BROKEN, 4)]


def test_deleted_event_is_found(storage: Storage) -> None:
    _log(storage)
    raw_sql(storage)("DELETE FROM audit WHERE seq = 2", [])
    assert _kinds(storage) == [(ProblemKind.DELETED, 2)]


def test_deleted_and_renumbered_event_is_found(storage: Storage) -> None:
    _log(storage)
    run = raw_sql(storage)
    run("DELETE FROM audit WHERE seq = 2", [])
    for seq in (3, 4, 5):
        run("UPDATE audit SET seq = ? WHERE seq = ?", [seq - 1, seq])
    kinds = _kinds(storage)
    assert (ProblemKind.CHAIN_BROKEN, 2) in kinds
    assert (ProblemKind.DELETED, 5) in kinds


def test_cut_off_tail_is_found(storage: Storage) -> None:
    _log(storage)
    raw_sql(storage)("DELETE FROM audit WHERE seq >= 4", [])
    assert _kinds(storage) == [(ProblemKind.DELETED, 4)]


def test_event_appended_behind_the_head_is_found(storage: Storage) -> None:
    events = _log(storage)
    last = events[-1]
    at = datetime(2026, 11, 23, tzinfo=UTC)
    forged = event_hash(last.hash, at, "attacker", "push", "", {})
    at_text = at if storage.backend == "postgres" else at.strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")
    raw_sql(storage)(
        _INSERT.replace("SEQ", "6"),
        [at_text, "attacker", "push", "", canonical_detail({}), last.hash, forged],
    )
    assert _kinds(storage) == [(ProblemKind.INSERTED, 6)]


def test_event_inserted_in_the_middle_is_found(storage: Storage) -> None:
    events = _log(storage)
    run = raw_sql(storage)
    for seq in (5, 4, 3):
        run("UPDATE audit SET seq = ? WHERE seq = ?", [seq + 1, seq])
    second = events[1]
    at = second.at
    forged = event_hash(second.hash, at, "attacker", "push", "", {})
    at_text = at if storage.backend == "postgres" else at.strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")
    run(
        _INSERT.replace("SEQ", "3"),
        [at_text, "attacker", "push", "", canonical_detail({}), second.hash, forged],
    )
    run("UPDATE audit_head SET seq = 6", [])
    assert _kinds(storage) == [(ProblemKind.INSERTED, 3)]


def test_head_rewritten_alone_is_found(storage: Storage) -> None:
    _log(storage)
    raw_sql(storage)("UPDATE audit_head SET hash = ?", ["0" * 64])
    assert _kinds(storage) == [(ProblemKind.HEAD_MISMATCH, 5)]


def test_naive_time_cannot_be_hashed() -> None:
    with pytest.raises(ValueError, match="timezone"):
        event_hash(GENESIS, datetime(2026, 1, 1), "a", "b", "", {})
