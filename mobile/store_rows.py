"""Row <-> model mapping of the phone store, shared by every store module (and bench/store.py).

Owns the column order of the hot inserts (``CASE_INSERT`` and its child rows, ``OUTBOX_INSERT``,
``SUBJECT_UPSERT``) and the functions building their rows, the search keys a subject is stored under
(``search_key``), and the small conversions every store module needs: ``utc_us`` (instants as integer
microseconds), ``chunks`` / ``marks`` (bounded ``IN (...)`` lists), ``dumps`` (compact JSON) and the
``reviews`` / ``shifts`` row readers. Pure functions and SQL text; the connection belongs to
``mobile.store``.
"""

from __future__ import annotations

import json
import sqlite3
import unicodedata
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from enforcement.codec import to_json_dict
from enforcement.model import Case, Review, ReviewDecision, Shift, Subject

T = TypeVar("T")

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_CHUNK = 500  # bound on host parameters per statement


def utc_us(moment: datetime) -> int:
    """Microseconds since the Unix epoch of an aware datetime (for ordering and day ranges)."""
    return (moment - _EPOCH) // _MICROSECOND


def dumps(data: Any) -> str:
    """Compact JSON text (UTF-8 kept), as records and outbox payloads are stored."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def search_key(text: str) -> str:
    """The form names are matched in: NFKC (full-width → half-width) and case-folded; rare characters such
    as 㐂 or 𠮷 pass through unchanged."""
    return unicodedata.normalize("NFKC", text).casefold().strip()


def chunks(items: Sequence[T]) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


def marks(items: Sequence[Any]) -> str:
    """The ``?`` placeholders of an ``IN (...)`` list of ``items``."""
    return ",".join("?" * len(items))


def review_of(row: sqlite3.Row) -> Review:
    return Review(
        id=row["id"],
        case_id=row["case_id"],
        case_no=row["case_no"],
        decision=ReviewDecision(row["decision"]),
        reviewer_badge=row["reviewer_badge"],
        decided_at=datetime.fromisoformat(row["decided_at"]),
        comment=row["comment"],
    )


def shift_of(row: sqlite3.Row) -> Shift:
    return Shift(
        id=row["id"],
        officer_badge=row["officer_badge"],
        started_at=datetime.fromisoformat(row["started_at"]),
        ended_at=datetime.fromisoformat(row["ended_at"]) if row["ended_at"] else None,
        grid_cell=row["grid_cell"],
    )


# ------------------------------------------------------------------------------------ row mapping
# Shared with bench/store.py, whose bulk loader fills a store through the same statements.

CASE_INSERT = (
    "INSERT INTO cases (id, case_no, version, supersedes, officer_badge, squad_code, device_id,"
    " violation_code, occurred_at, occurred_utc, local_day, subject_id, subject_unknown,"
    " computed_stage, chosen_stage, stage_ordinal, stage_override_reason, disposition, fine_yuan,"
    " lat, lon, accuracy_m, address, grid_cell, no_fix_reason, status, record, saved_at)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
CASE_PHOTO_INSERT = (
    "INSERT INTO case_photos (case_id, ordinal, sha256, size, kind, width, height)"
    " VALUES (?, ?, ?, ?, ?, ?, ?)"
)
PHOTO_QUEUE_INSERT = (
    "INSERT INTO photo_queue (sha256, size, kind, width, height) VALUES (?, ?, ?, ?, ?)"
    " ON CONFLICT (sha256) DO NOTHING"
)
SEIZED_ITEM_INSERT = (
    "INSERT INTO seized_items (case_id, ordinal, kind, quantity, note) VALUES (?, ?, ?, ?, ?)"
)
OUTBOX_INSERT = "INSERT INTO outbox (kind, record_id, payload, size, created_at) VALUES (?, ?, ?, ?, ?)"
SUBJECT_UPSERT = (
    "INSERT INTO subjects (id, kind, name, name_key, phone, plate, address, extra_key, id_number,"
    " hardship, origin, record, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, name = excluded.name,"
    " name_key = excluded.name_key, phone = excluded.phone, plate = excluded.plate,"
    " address = excluded.address, extra_key = excluded.extra_key, id_number = excluded.id_number,"
    " hardship = excluded.hardship, origin = excluded.origin, record = excluded.record,"
    " updated_at = excluded.updated_at"
)


def case_row(case: Case, record: str, saved_at: str) -> tuple[Any, ...]:
    """The ``cases`` row of a case version (``record`` = its codec JSON text), in CASE_INSERT order."""
    loc = case.location
    return (
        case.id,
        case.case_no,
        case.version,
        case.supersedes,
        case.officer_badge,
        case.squad_code,
        case.device_id,
        case.violation_code,
        case.occurred_at.isoformat(),
        utc_us(case.occurred_at),
        case.local_day.isoformat(),
        case.subject_id,
        int(case.subject_unknown),
        int(case.computed_stage),
        int(case.chosen_stage),
        case.stage_ordinal,
        case.stage_override_reason,
        str(case.disposition),
        case.fine_yuan,
        loc.lat,
        loc.lon,
        loc.accuracy_m,
        loc.address,
        loc.grid_cell,
        loc.no_fix_reason,
        str(case.status),
        record,
        saved_at,
    )


def case_child_rows(case: Case) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """Rows for CASE_PHOTO_INSERT, PHOTO_QUEUE_INSERT and SEIZED_ITEM_INSERT."""
    queue = [(p.sha256, p.size, str(p.kind), p.width, p.height) for p in case.photos]
    photos = [(case.id, i, *photo) for i, photo in enumerate(queue)]
    seized = [(case.id, i, item.kind, item.quantity, item.note) for i, item in enumerate(case.seized_items)]
    return photos, queue, seized


def subject_row(subject: Subject, origin: str, updated_at: str) -> tuple[Any, ...]:
    """The ``subjects`` row (with its search keys), in SUBJECT_UPSERT order."""
    extra = " ".join(part for part in (subject.address, subject.plate, subject.description) if part)
    return (
        subject.id,
        str(subject.kind),
        subject.name,
        search_key(subject.name),
        subject.phone,
        subject.plate,
        subject.address,
        search_key(extra),
        subject.id_number,
        int(subject.hardship),
        origin,
        dumps(to_json_dict(subject)),
        updated_at,
    )
