"""The Today screen: the shift, the day's cases and the always-visible sync status line."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol

from enforcement.model import LOCAL_TZ, Shift
from mobile import metakeys
from mobile.state.errors import NotSignedIn
from mobile.state.observable import Observable
from mobile.state.session import SessionState
from mobile.state.sync import SyncLink


class TodayStore(Protocol):
    def meta_get(self, key: str, default: Any = None) -> Any: ...
    def meta_set(self, key: str, value: Any) -> None: ...
    def start_shift(self, badge: str, at: datetime, grid_cell: str = "") -> Shift: ...
    def end_shift(self, shift_id: str, at: datetime) -> Shift: ...
    def open_shift(self, badge: str) -> Shift | None: ...
    def patrol_log(self, badge: str, day: date) -> list[Any]: ...
    def outbox_stats(self) -> tuple[int, int]: ...
    def outbox_parked(self) -> list[Any]: ...
    def photo_stats(self) -> tuple[int, int]: ...


@dataclass(frozen=True, slots=True)
class StatusLine:
    """What the status line shows: reachability, what waits, the last confirmed sync."""

    online: bool | None
    syncing: bool
    records_waiting: int
    record_bytes: int
    photos_waiting: int
    photo_bytes: int
    parked: int
    last_sync: datetime | None
    needs_sign_in: bool

    @property
    def all_sent(self) -> bool:
        return self.records_waiting == 0 and self.photos_waiting == 0 and self.parked == 0


class TodayState(Observable):
    def __init__(
        self, store: TodayStore, session: SessionState, link: SyncLink, *, now: Callable[[], datetime]
    ) -> None:
        super().__init__()
        self._store = store
        self._session = session
        self._link = link
        self._now = now

    def _badge(self) -> str:
        if self._session.officer is None:
            raise NotSignedIn()
        return self._session.officer.badge

    def today(self) -> date:
        return self._now().astimezone(LOCAL_TZ).date()

    # -- shift -------------------------------------------------------------------------------------------
    def shift(self) -> Shift | None:
        return self._store.open_shift(self._badge())

    def start_shift(self, grid_cell: str = "") -> Shift:
        current = self.shift()
        if current is not None:
            return current
        shift = self._store.start_shift(self._badge(), self._now(), grid_cell.strip())
        self.notify()
        self._link.kick()
        return shift

    def end_shift(self) -> Shift | None:
        current = self.shift()
        if current is None:
            return None
        ended = self._store.end_shift(current.id, self._now())
        self.notify()
        self._link.kick()  # shift end is when most officers sync
        return ended

    # -- cases and status --------------------------------------------------------------------------------
    def cases(self) -> list[Any]:
        """Today's cases (``LoggedCase``), newest first, each with its sync state and review."""
        return self._store.patrol_log(self._badge(), self.today())

    def status(self) -> StatusLine:
        link = self._link.status
        records, record_bytes = self._store.outbox_stats()
        photos, photo_bytes = self._store.photo_stats()
        stored = self._store.meta_get(metakeys.LAST_CONFIRMED)  # HQ's clock, written by the sync client
        last = datetime.fromisoformat(stored) if isinstance(stored, str) and stored else link.last_success
        return StatusLine(
            online=link.online,
            syncing=link.syncing,
            records_waiting=records,
            record_bytes=record_bytes,
            photos_waiting=photos,
            photo_bytes=photo_bytes,
            parked=len(self._store.outbox_parked()),
            last_sync=last,
            needs_sign_in=link.needs_sign_in,
        )

    def sync_now(self) -> None:
        self._link.kick()
