"""The Sync screen: progress of the running sync, what waits, parked records with reasons, retry."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

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

    def parked(self) -> list[Any]:
        """Records HQ refused or the phone held back (``OutboxEntry`` with the reason in zh and en)."""
        return self._store.outbox_parked()

    def sync_now(self) -> None:
        self._link.kick()

    def retry(self, seq: int | None = None) -> None:
        """Put a parked record (or all, ``seq=None``) back into the outbox and sync."""
        self._store.outbox_unpark(seq)
        self.notify()
        self._link.kick()
