"""The record-level rules of ``hq.ingest.push`` that read no storage.

A record that is not stored (``NotStored``: ``refused`` or ``deferred``, with the errno and the reason for
the officer; ``invalid`` for a payload that does not validate), a record's identity for replays
(``payload_hash``), client record ids (``is_uuid``, ``record_ids``), a subject write's ``base_version``
(``base_version_of``), the one allowed change of a stored shift (``closes``), the device sequence gaps
(``sequence_gaps``) and a record's time the storage cannot take (``bad_time``).
``hq.ingest.push`` re-exports ``payload_hash`` and ``sequence_gaps``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Literal

from enforcement.limits import TextTooLongError
from enforcement.model import Shift
from enforcement.text import LocalizedError
from sync.protocol import ERRNO_MESSAGES, Errno, PushRecord

__all__ = [
    "NotStored",
    "bad_time",
    "base_version_of",
    "canonical_text",
    "closes",
    "deferred",
    "invalid",
    "is_uuid",
    "payload_hash",
    "payload_hash_of_text",
    "record_ids",
    "refused",
    "sequence_gaps",
]  # fmt: skip


class NotStored(Exception):
    """A record that is not stored: deferred or refused, with the errno and the reason for the officer."""

    def __init__(
        self, status: Literal["refused", "deferred"], errno: Errno, zh: str = "", en: str = ""
    ) -> None:
        default_zh, default_en = ERRNO_MESSAGES[errno]
        super().__init__(en or default_en)
        self.status = status
        self.errno = errno
        self.zh = zh or default_zh
        self.en = en or default_en


def refused(errno: Errno, zh: str = "", en: str = "") -> NotStored:
    return NotStored("refused", errno, zh, en)


def deferred(errno: Errno, zh: str = "", en: str = "") -> NotStored:
    return NotStored("deferred", errno, zh, en)


def invalid(err: LocalizedError) -> NotStored:
    if isinstance(err, TextTooLongError):
        return refused(
            Errno.TEXT_TOO_LONG, f"记录中的文字过长：{err.zh}", f"The record is not valid: {err.en}"
        )
    where = f"（{err.field}）" if err.field else ""
    return refused(
        Errno.RECORD_INVALID, f"记录内容无效{where}：{err.zh}", f"The record is not valid: {err.en}"
    )


def payload_hash(kind: str, payload: Mapping[str, Any]) -> str:
    """SHA-256 of a record's kind and canonical JSON payload (its identity for replays)."""
    text = json.dumps([kind, payload], sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def canonical_text(payload: Mapping[str, Any]) -> str:
    """A canonical payload as JSON text: what ``payload_hash`` hashes and what the database stores
    (``hq.storage.sqlcore.dumps`` writes the same text)."""
    return json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def payload_hash_of_text(kind: str, text: str) -> str:
    """``payload_hash(kind, payload)`` from ``canonical_text(payload)``: ``[kind, payload]`` as canonical
    JSON is ``[`` + kind's JSON + ``,`` + the payload's text + ``]``, so the payload is encoded once."""
    head = json.dumps(kind, ensure_ascii=False)
    return hashlib.sha256(f"[{head},{text}]".encode()).hexdigest()


_CANONICAL_UUID = re.compile("[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def is_uuid(value: object) -> bool:
    """Record ids are client UUIDs; anything else never reaches a lookup before the record is validated."""
    if not isinstance(value, str):
        return False
    if _CANONICAL_UUID.fullmatch(value):  # the form every phone sends: no need to build a UUID
        return True
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def record_ids(records: Sequence[PushRecord | Mapping[str, Any]]) -> set[str]:
    ids = {raw.id if isinstance(raw, PushRecord) else raw.get("id") for raw in records}
    return {i for i in ids if isinstance(i, str) and is_uuid(i)}


def base_version_of(payload: Mapping[str, Any]) -> int | None:
    """A subject write's ``base_version`` (optional, issue #22); None when absent or not a version."""
    value = payload.get("base_version")
    return value if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**31 else None


def sequence_gaps(high: int, seqs: Sequence[int]) -> list[tuple[int, int]]:
    """Ranges of sequence numbers skipped above ``high`` (the highest seen before) by ``seqs``."""
    gaps = []
    expected = high + 1
    for seq in sorted(set(seqs)):
        if seq < expected:
            continue
        if seq > expected:
            gaps.append((expected, seq - 1))
        expected = seq + 1
    return gaps


def closes(stored: Shift, shift: Shift) -> bool:
    """Whether ``shift`` is ``stored`` closed (or re-closed at the same time): the one allowed change."""
    return (
        stored.officer_badge == shift.officer_badge
        and stored.started_at == shift.started_at
        and stored.grid_cell == shift.grid_cell
        and stored.ended_at in (None, shift.ended_at)
    )


def bad_time(record: Any) -> tuple[str, str, str] | None:
    """``(field, zh, en)`` of the first time in ``record`` (a parsed record dataclass) that the storage
    cannot take, else None: one without a time zone (the storage refuses it outright: a 503 for the whole
    batch, sent again and again) or one whose UTC instant falls outside years 1-9999 (0001-01-01T00:00
    +14:00: OverflowError, a 500). ``hq.ingest.base`` refuses its record alone. (The records' times are all
    top-level fields: their nested photos, items and location hold none.)"""
    for name in _time_fields(type(record)):
        value = getattr(record, name)
        if not isinstance(value, datetime):
            continue
        if value.utcoffset() is None:
            return name, "时间缺少时区", "is a time without a time zone"
        try:
            value.astimezone(UTC)
        except OverflowError:
            return name, "时间超出可保存的范围", "is a time out of the storable range"
    return None


_TIME_FIELDS: dict[type, tuple[str, ...]] = {}


def _time_fields(kind: type) -> tuple[str, ...]:
    """The names of ``kind``'s fields typed as a datetime (read once per class: pushes are hot)."""
    names = _TIME_FIELDS.get(kind)
    if names is None:
        fields = dataclasses.fields(kind) if dataclasses.is_dataclass(kind) else ()
        names = _TIME_FIELDS[kind] = tuple(f.name for f in fields if "datetime" in str(f.type))
    return names
