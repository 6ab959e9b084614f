"""The Sync screen: progress of the running sync, what waits, parked records with reasons, retry."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from enforcement.text import Lang
from mobile.i18n import t
from mobile.state.observable import Observable
from mobile.state.sync import LinkStatus, SyncLink


class OutboxStore(Protocol):
    def outbox_stats(self) -> tuple[int, int]: ...
    def photo_stats(self) -> tuple[int, int]: ...
    def outbox_parked(self) -> list[Any]: ...
    def outbox_unpark(self, seq: int | None = None) -> None: ...


@dataclass(frozen=True, slots=True)
class Pending:
    records: int
    record_bytes: int
    photos: int
    photo_bytes: int


#: Record kinds the Sync screen names (others show as "record").
KINDS = ("case", "subject", "shift", "review")


@dataclass(frozen=True, slots=True)
class ParkedRecord:
    """A record held back from HQ, as the officer reads it: what it is (a case by its case number, a
    subject by name, plate or phone), and HQ's reason in both languages."""

    seq: int
    kind: str
    record_id: str
    label: str
    code: str
    reason_zh: str
    reason_en: str

    def title(self, lang: Lang) -> str:
        kind = t(lang, f"sync.kind.{self.kind}" if self.kind in KINDS else "sync.kind.other")
        return t(lang, "sync.parked.item", kind=kind, label=self.label)

    def reason(self, lang: Lang) -> str:
        """HQ's reason in ``lang``; when HQ gave none in that language, a generic one (never the other
        language's text)."""
        text = (self.reason_zh if lang == "zh" else self.reason_en).strip()
        return text or t(lang, "sync.parked.reason_missing")


def record_label(kind: str, record_id: str, payload: Any) -> str:
    """How the officer recognises a record: a case or review by its case number, a subject by name, plate,
    phone or description, a shift by its start; the record id's start when the payload lacks them."""
    data = payload if isinstance(payload, dict) else {}
    keys = {
        "case": ("case_no",),
        "review": ("case_no",),
        "subject": ("name", "plate_written", "plate", "phone", "description"),
        "shift": ("started_at",),
    }.get(kind, ("case_no",))
    for key in keys:
        value = data.get(key)
        if isinstance(value, str) and value.strip():
            text = value.strip()
            return text[:16].replace("T", " ") if key == "started_at" else text
    return record_id[:8]


class SyncScreenState(Observable):
    def __init__(self, store: OutboxStore, link: SyncLink) -> None:
        super().__init__()
        self._store = store
        self._link = link

    @property
    def status(self) -> LinkStatus:
        return self._link.status

    def pending(self) -> Pending:
        records, record_bytes = self._store.outbox_stats()
        photos, photo_bytes = self._store.photo_stats()
        return Pending(records, record_bytes, photos, photo_bytes)

    def parked(self) -> list[ParkedRecord]:
        """Records HQ refused or the phone held back, oldest first, each named as the officer knows it."""
        return [
            ParkedRecord(
                seq=entry.seq,
                kind=entry.kind,
                record_id=entry.record_id,
                label=record_label(entry.kind, entry.record_id, entry.payload),
                code=entry.parked_code,
                reason_zh=entry.parked_reason_zh,
                reason_en=entry.parked_reason_en,
            )
            for entry in self._store.outbox_parked()
        ]

    def sync_now(self) -> None:
        self._link.kick()

    def retry(self, seq: int | None = None) -> None:
        """Put a parked record (or all, ``seq=None``) back into the outbox and sync."""
        self._store.outbox_unpark(seq)
        self.notify()
        self._link.kick()
