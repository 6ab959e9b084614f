"""The hash-chained audit log: who did what at HQ, in an order nobody can quietly rewrite.

Each event carries ``prev_hash``, the hash of the event before it (``GENESIS`` for the first), and its
own ``hash`` over ``prev_hash`` and its content. Events are written through the storage contract
(``Tx.audit`` queues one; the backend chains and appends it at commit, in commit order, and keeps the
newest ``(seq, hash)`` as the head in a separate row). ``verify`` walks the whole log and reports every
event that was edited, inserted or deleted, and a head that no longer matches the log.

Limit: someone able to rewrite the whole chain from the tampered event onwards *and* the head can forge a
consistent log, and someone who deletes the newest events and moves the stored head back leaves a log that
``verify`` alone finds intact. Publishing the head outside the database closes that gap: ``current_head``
gives it (``streetpatrol-hq audit-head`` prints it, every day-log PDF made at HQ carries it), and
``verify(storage, expect=[published])`` reports ``NOT_IN_CHAIN`` when the log no longer holds that event
with that hash (``streetpatrol-hq verify --expect SEQ:HASH``).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from hq.storage.base import AuditEvent, AuditHead, Storage, iter_all_audit

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
    NOT_IN_CHAIN = "not_in_chain"  # a head published earlier is no longer in the log (cut or rewritten)


@dataclass(frozen=True, slots=True)
class AuditProblem:
    kind: ProblemKind
    seq: int  # the event concerned (for DELETED: the first missing number)
    message: str
    message_zh: str = ""


#: The shortest hash prefix ``--expect`` takes (the day-log PDF prints this many hex digits).
MIN_PREFIX = 16
_HEAD_TEXT = re.compile(rf"#?(\d+):([0-9a-f]{{{MIN_PREFIX},64}})")


def current_head(storage: Storage) -> AuditHead:
    """The stored head to publish: the newest event's number and hash (0 and ``GENESIS`` when empty)."""
    with storage.transaction(readonly=True) as tx:
        head = tx.audit_head()
    return head or AuditHead(0, GENESIS)


def format_head(head: AuditHead) -> str:
    """``SEQ:HASH``, what ``--expect`` reads back."""
    return f"{head.seq}:{head.hash}"


def parse_head(text: str) -> AuditHead:
    """``SEQ:HASH`` (the hash in full or its first ``MIN_PREFIX``+ hex digits); ValueError otherwise."""
    match = _HEAD_TEXT.fullmatch(text.strip().lower())
    if match is None:
        raise ValueError(f"not SEQ:HASH (at least {MIN_PREFIX} hex digits): {text!r}")
    return AuditHead(int(match.group(1)), match.group(2))


def check_expected(storage: Storage, expected: AuditHead) -> list[AuditProblem]:
    """A problem unless the log still holds event ``expected.seq`` with (a hash starting with)
    ``expected.hash``: a published head the log has lost means its tail was cut or rewritten."""
    if expected.seq == 0:
        found = GENESIS
    else:
        with storage.transaction(readonly=True) as tx:
            events = tx.audit_events(expected.seq - 1, 1)
        found = events[0].hash if events and events[0].seq == expected.seq else ""
    if found and found.startswith(expected.hash):
        return []
    what = "is missing" if not found else f"has hash {found[:MIN_PREFIX]}…"
    zh_what = "已不存在" if not found else f"的哈希已变为 {found[:MIN_PREFIX]}…"
    return [
        AuditProblem(
            ProblemKind.NOT_IN_CHAIN,
            expected.seq,
            f"the published head {expected.seq}:{expected.hash[:MIN_PREFIX]}… is not in the log: event "
            f"{expected.seq} {what} (events were cut off the end or rewritten)",
            f"已发布的审计链头 {expected.seq}:{expected.hash[:MIN_PREFIX]}… 不在日志中：第 {expected.seq} 条"
            f"事件{zh_what}（日志末尾被删除或被改写）",
        )
    ]


def verify(storage: Storage, expect: Iterable[AuditHead] = ()) -> list[AuditProblem]:
    """Every sign of tampering in the audit log; empty when the log is intact. ``expect``: heads published
    earlier, each of which the log must still hold (``check_expected``)."""
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
    for published in expect:
        problems.extend(check_expected(storage, published))
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
