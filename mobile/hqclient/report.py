"""What a sync tells its caller: the progress line while it runs (``Phase``, ``Progress``) and the
``SyncReport`` it returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from enforcement.text import LocalizedError


class Phase(StrEnum):
    """What the sync is doing, for the progress line."""

    OFFLINE = "offline"
    CONNECTING = "connecting"
    PUSHING = "pushing"
    UPLOADING = "uploading_photos"
    PULLING = "pulling"
    IDLE = "idle"
    ERROR = "error"


PHASE_TEXT: dict[Phase, tuple[str, str]] = {
    Phase.OFFLINE: ("离线", "Offline"),
    Phase.CONNECTING: ("正在连接", "Connecting"),
    Phase.PUSHING: ("正在上传记录", "Sending records"),
    Phase.UPLOADING: ("正在上传照片", "Uploading photos"),
    Phase.PULLING: ("正在接收更新", "Receiving updates"),
    Phase.IDLE: ("已同步", "Up to date"),
    Phase.ERROR: ("同步出错", "Sync error"),
}


@dataclass(frozen=True, slots=True)
class Progress:
    phase: Phase
    records_done: int = 0
    records_total: int = 0
    bytes_done: int = 0
    bytes_total: int = 0

    def text(self, lang: str = "zh") -> str:
        zh, en = PHASE_TEXT[self.phase]
        return zh if lang == "zh" else en


class ProgressCallback(Protocol):
    def __call__(self, progress: Progress) -> None: ...


@dataclass
class SyncReport:
    pushed: int = 0  # records HQ acknowledged (accepted, duplicate or conflict)
    duplicates: int = 0
    stage_conflicts: list[str] = field(default_factory=list)  # record ids HQ staged differently
    parked: list[str] = field(default_factory=list)  # record ids parked in this run
    deferred: int = 0
    photos_uploaded: int = 0
    photos_already_at_hq: int = 0
    photo_bytes: int = 0
    photos_skipped: list[str] = field(default_factory=list)  # missing locally or refused by HQ
    completed_cases: list[str] = field(default_factory=list)
    changes_applied: int = 0
    changes_rejected: int = 0
    server_time: datetime | None = None
    error: LocalizedError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None
