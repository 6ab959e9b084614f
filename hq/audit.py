"""The hash-chained audit log: who did what at HQ, in an order nobody can quietly rewrite.

Each event carries ``prev_hash``, the hash of the event before it (``GENESIS`` for the first), and its
own ``hash`` over ``prev_hash`` and its content. Events are written through the storage contract
(``Tx.audit`` queues one; the backend chains and appends it at commit, in commit order, and keeps the
newest ``(seq, hash)`` as the head in a separate row). ``verify`` walks the whole log and reports every
event that was edited, inserted or deleted, and a head that no longer matches the log.

Limit: someone able to rewrite the whole chain from the tampered event onwards *and* the head can forge a
consistent log; publishing the head hash elsewhere (a daily report, a signed export) closes that gap.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from hq.storage.base import AuditEvent, Storage, iter_all_audit

#: ``prev_hash`` of the first event.
GENESIS = "0" * 64


def canonical_detail(detail: Mapping[str, Any]) -> str:
    """The one JSON text of an event's detail that is hashed and stored."""
    return json.dumps(detail, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def canonical_time(at: datetime) -> str:
    """An event time as hashed: UTC, microseconds, fixed width."""
    if at.tzinfo is None:
        raise ValueError("audit times must be timezone-aware")
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def event_hash(
    prev_hash: str, at: datetime, actor: str, action: str, target: str, detail: Mapping[str, Any]
) -> str:
    """SHA-256 (hex) of an event chained to the hash of the one before it."""
    text = json.dumps(
        [prev_hash, canonical_time(at), actor, action, target, canonical_detail(detail)],
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def recompute(event: AuditEvent) -> str:
    return event_hash(event.prev_hash, event.at, event.actor, event.action, event.target, event.detail)


class ProblemKind(StrEnum):
    EDITED = "edited"  # the event's content no longer matches its own hash
    INSERTED = "inserted"  # an event that was not in the chain when it was written
    DELETED = "deleted"  # events are missing (a gap in numbers, a cut-off tail)
    CHAIN_BROKEN = "chain_broken"  # a link does not match: an earlier event replaced or removed
    HEAD_MISMATCH = "head_mismatch"  # the stored head disagrees with the newest event


@dataclass(frozen=True, slots=True)
class AuditProblem:
    kind: ProblemKind
    seq: int  # the event concerned (for DELETED: the first missing number)
    message: str


def verify(storage: Storage) -> list[AuditProblem]:
    """Every sign of tampering in the audit log; empty when the log is intact."""
    with storage.transaction(readonly=True) as tx:
        head = tx.audit_head()
    problems: list[AuditProblem] = []
    before: AuditEvent | None = None  # the event before ``prev``
    prev: AuditEvent | None = None
    for event in iter_all_audit(storage):
        expected_seq = prev.seq + 1 if prev else 1
        gap = event.seq != expected_seq
        if gap:
            problems.append(
                AuditProblem(
                    ProblemKind.DELETED,
                    expected_seq,
                    f"events {expected_seq}..{event.seq - 1} are missing",
                )
            )
        if recompute(event) != event.hash:
            problems.append(AuditProblem(ProblemKind.EDITED, event.seq, f"event {event.seq} was edited"))
        prev_hash = prev.hash if prev else GENESIS
        if event.prev_hash != prev_hash and not gap:
            links_past_prev = prev is not None and event.prev_hash == (before.hash if before else GENESIS)
            if links_past_prev and prev is not None:
                problems.append(
                    AuditProblem(ProblemKind.INSERTED, prev.seq, f"event {prev.seq} was inserted")
                )
            else:
                problems.append(
                    AuditProblem(
                        ProblemKind.CHAIN_BROKEN,
                        event.seq,
                        f"event {event.seq} does not follow event {expected_seq - 1}: "
                        "an earlier event was replaced or removed",
                    )
                )
        before, prev = prev, event
    problems.extend(_check_head(head.seq if head else 0, head.hash if head else GENESIS, prev))
    return problems


def _check_head(head_seq: int, head_hash: str, last: AuditEvent | None) -> list[AuditProblem]:
    last_seq = last.seq if last else 0
    if last_seq > head_seq:
        return [
            AuditProblem(
                ProblemKind.INSERTED,
                head_seq + 1,
                f"events {head_seq + 1}..{last_seq} were added after the recorded head",
            )
        ]
    if last_seq < head_seq:
        return [
            AuditProblem(
                ProblemKind.DELETED,
                last_seq + 1,
                f"events {last_seq + 1}..{head_seq} were cut off the end",
            )
        ]
    if last is not None and last.hash != head_hash:
        return [AuditProblem(ProblemKind.HEAD_MISMATCH, last_seq, "the newest event does not match the head")]
    return []
