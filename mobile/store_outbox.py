"""The phone store's queues towards HQ: the outbox of records to push (oldest first, in batches bounded by
count and bytes; entries HQ refused are parked with its reason) and the photo upload queue.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from enforcement.model import PhotoKind, PhotoRef
from mobile.store_core import StoreCore, need_text, refuse
from mobile.store_rows import chunks


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    seq: int
    record_id: str
    kind: str  # "case" | "subject" | "shift" | "review"
    payload: dict[str, Any]
    size: int  # bytes of the JSON payload (UTF-8)
    attempts: int
    parked_code: str = ""
    parked_reason_zh: str = ""
    parked_reason_en: str = ""


def entry_of(row: sqlite3.Row) -> OutboxEntry:
    return OutboxEntry(
        seq=row["seq"],
        record_id=row["record_id"],
        kind=row["kind"],
        payload=json.loads(row["payload"]),
        size=row["size"],
        attempts=row["attempts"],
        parked_code=row["parked_code"],
        parked_reason_zh=row["parked_reason_zh"],
        parked_reason_en=row["parked_reason_en"],
    )


class OutboxStore(StoreCore):
    """The store's outbox and photo queue methods (part of ``mobile.store.Store``)."""

    _OUTBOX_COLUMNS = (
        "seq, record_id, kind, payload, size, attempts, parked_code, parked_reason_zh, parked_reason_en"
    )

    def outbox_pending(self, max_records: int = 100, max_bytes: int = 512_000) -> list[OutboxEntry]:
        """The oldest unparked entries, up to ``max_records`` and ``max_bytes`` of payload (always at least
        one if any is pending, however large)."""
        rows = self._rows(
            f"SELECT {self._OUTBOX_COLUMNS} FROM outbox WHERE parked_code = '' ORDER BY seq LIMIT ?",  # noqa: S608
            (max(1, max_records),),
        )
        batch: list[OutboxEntry] = []
        total = 0
        for row in rows:
            if batch and total + row["size"] > max_bytes:
                break
            batch.append(entry_of(row))
            total += row["size"]
        return batch

    def outbox_ack(self, seqs: Iterable[int]) -> None:
        """Delete exactly these entries (HQ acknowledged them); other entries are untouched."""
        numbers = sorted({int(seq) for seq in seqs})
        with self._write() as conn:
            for chunk in chunks(numbers):
                marks = ",".join("?" * len(chunk))
                conn.execute(f"DELETE FROM outbox WHERE seq IN ({marks})", tuple(chunk))  # noqa: S608

    def outbox_attempted(self, seqs: Iterable[int]) -> None:
        """Count one more push attempt for these entries (for back-off and the sync screen)."""
        numbers = sorted({int(seq) for seq in seqs})
        with self._write() as conn:
            for chunk in chunks(numbers):
                marks = ",".join("?" * len(chunk))
                sql = f"UPDATE outbox SET attempts = attempts + 1 WHERE seq IN ({marks})"  # noqa: S608
                conn.execute(sql, tuple(chunk))

    def outbox_park(self, seq: int, code: str, reason_zh: str, reason_en: str) -> None:
        """Set an entry aside (HQ refused it) with the reason in both languages; it is kept, not sent."""
        need_text(code, "code")
        need_text(reason_zh, "reason_zh")
        need_text(reason_en, "reason_en")
        with self._write() as conn:
            cursor = conn.execute(
                "UPDATE outbox SET parked_code = ?, parked_reason_zh = ?, parked_reason_en = ? WHERE seq = ?",
                (code, reason_zh, reason_en, seq),
            )
            if cursor.rowcount == 0:
                raise refuse(
                    "unknown_outbox_entry", "seq", f"no outbox entry {seq}", f"待发送队列中没有第 {seq} 条"
                )

    def outbox_parked(self) -> list[OutboxEntry]:
        rows = self._rows(
            f"SELECT {self._OUTBOX_COLUMNS} FROM outbox WHERE parked_code <> '' ORDER BY seq"  # noqa: S608
        )
        return [entry_of(row) for row in rows]

    def outbox_unpark(self, seq: int | None = None) -> None:
        """Put a parked entry (or all, when ``seq`` is None) back in the queue."""
        clear = "UPDATE outbox SET parked_code = '', parked_reason_zh = '', parked_reason_en = ''"
        with self._write() as conn:
            if seq is None:
                conn.execute(clear + " WHERE parked_code <> ''")
            elif conn.execute(clear + " WHERE seq = ?", (seq,)).rowcount == 0:
                raise refuse(
                    "unknown_outbox_entry", "seq", f"no outbox entry {seq}", f"待发送队列中没有第 {seq} 条"
                )

    def outbox_stats(self) -> tuple[int, int]:
        """(records, bytes) waiting to be sent; parked entries are not counted."""
        row = self._rows("SELECT count(*), coalesce(sum(size), 0) FROM outbox WHERE parked_code = ''")[0]
        return int(row[0]), int(row[1])

    # ------------------------------------------------------------------------------------- photos

    def photos_to_upload(self, limit: int = 50) -> list[PhotoRef]:
        """Photos no HQ upload has been confirmed for, oldest first."""
        rows = self._rows(
            "SELECT sha256, size, kind, width, height FROM photo_queue WHERE uploaded_at IS NULL"
            " ORDER BY seq LIMIT ?",
            (max(0, limit),),
        )
        return [PhotoRef(row[0], row[1], PhotoKind(row[2]), row[3], row[4]) for row in rows]

    def mark_photo_uploaded(self, sha256: str) -> None:
        """HQ has this photo; a hash the store does not know is ignored."""
        with self._write() as conn:
            conn.execute(
                "UPDATE photo_queue SET uploaded_at = ? WHERE sha256 = ? AND uploaded_at IS NULL",
                (datetime.now(UTC).isoformat(), sha256),
            )

    def photo_hashes(self) -> set[str]:
        """Every photo hash a stored case points at (files outside this set may be swept)."""
        rows = self._rows("SELECT sha256 FROM case_photos UNION SELECT sha256 FROM photo_queue")
        return {row[0] for row in rows}

    def photo_stats(self) -> tuple[int, int]:
        """(photos, bytes) waiting for upload."""
        row = self._rows(
            "SELECT count(*), coalesce(sum(size), 0) FROM photo_queue WHERE uploaded_at IS NULL"
        )[0]
        return int(row[0]), int(row[1])
