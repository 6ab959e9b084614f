"""What the HQ client needs of the phone: the store methods it calls and the photo files it reads.

``mobile.store.Store`` and ``mobile.photostore.PhotoStore`` satisfy these structurally; the client never
imports them, so it can be read (and faked) without the phone DB.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Protocol

from enforcement.model import Case, HistoryEntry, Officer, PhotoRef, Review, Shift, Stage, Subject, SyncState


class OutboxRecord(Protocol):
    """One record waiting in the phone's outbox (``mobile.store.OutboxEntry``)."""

    @property
    def seq(self) -> int: ...
    @property
    def record_id(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def payload(self) -> dict[str, Any]: ...
    @property
    def size(self) -> int: ...


class ClientStore(Protocol):
    """The phone store as the HQ client uses it (thread-safe; called only on the sync's thread)."""

    @property
    def device_id(self) -> str: ...

    # meta (keys: mobile.metakeys)
    def meta_get(self, key: str, default: Any = None) -> Any: ...
    def meta_set(self, key: str, value: Any) -> None: ...
    def save_officer(self, officer: Officer) -> None: ...

    # push
    def outbox_stats(self) -> tuple[int, int]: ...
    def outbox_pending(self, max_records: int = ..., max_bytes: int = ...) -> Sequence[OutboxRecord]: ...
    def outbox_attempted(self, seqs: Iterable[int]) -> None: ...
    def outbox_ack(self, seqs: Iterable[int]) -> None: ...
    def outbox_park(self, seq: int, code: str, reason_zh: str, reason_en: str) -> None: ...
    def set_sync_state(
        self,
        case_id: str,
        state: SyncState,
        hq_stage: Stage | None = None,
        *,
        hq_reason_zh: str = "",
        hq_reason_en: str = "",
    ) -> None: ...

    # photos
    def photo_stats(self) -> tuple[int, int]: ...
    def photos_to_upload(self, limit: int = ...) -> list[PhotoRef]: ...
    def mark_photo_uploaded(self, sha256: str) -> None: ...

    # pull
    def apply_remote_subject(self, subject: Subject) -> None: ...
    def delete_subject(self, subject_id: str) -> None: ...
    def add_remote_history(self, subject_id: str, entries: Iterable[HistoryEntry]) -> None: ...
    def apply_review(self, review: Review) -> None: ...
    def apply_squad_case(
        self,
        case: Case,
        *,
        hq_stage: Stage | None,
        reviews: Sequence[Review] = (),
        officer_name: str = "",
        subject_label: str = "",
        missing_photos: int = 0,
        hq_reason_zh: str = "",
        hq_reason_en: str = "",
    ) -> None: ...
    def apply_squad_shift(self, shift: Shift, *, officer_name: str = "", squad_code: str = "") -> None: ...


class PhotoFiles(Protocol):
    """The phone's evidence files (``mobile.photostore.PhotoStore``), read by the upload workers."""

    def has(self, sha256: str) -> bool: ...
    def path(self, sha256: str) -> Path: ...
