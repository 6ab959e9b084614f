"""The Today screen: the shift, the day's cases, the always-visible sync status line and, with a GPS fix,
the known subjects near the officer with the stage their next case would get (``nearby``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol

from enforcement import staging
from enforcement.labels import subject_plate
from enforcement.model import LOCAL_TZ, HistoryEntry, Shift, Stage, Subject, local_date
from enforcement.text import Lang
from mobile import metakeys
from mobile.policyheld import held_policy
from mobile.state.clock import ClockState
from mobile.state.errors import NotSignedIn
from mobile.state.observable import Observable
from mobile.state.session import SessionState
from mobile.state.sync import SyncLink


class TodayStore(Protocol):
    def meta_get(self, key: str, default: Any = None) -> Any: ...
    def meta_set(self, key: str, value: Any) -> None: ...
    def start_shift(self, badge: str, at: datetime, grid_cell: str = "") -> Shift: ...
    def end_shift(
        self,
        shift_id: str,
        at: datetime,
        *,
        device_ended_at: datetime | None = None,
        clock_offset_s: int | None = None,
    ) -> Shift: ...
    def open_shift(self, badge: str) -> Shift | None: ...
    def patrol_log(self, badge: str, day: date) -> list[Any]: ...
    def outbox_stats(self) -> tuple[int, int]: ...
    def outbox_parked(self) -> list[Any]: ...
    def photo_stats(self) -> tuple[int, int]: ...
    def nearby_subjects(
        self, lat: float, lon: float, *, radius_m: float = ..., limit: int = ...
    ) -> list[Any]: ...
    def subject_history(self, subject_id: str) -> list[HistoryEntry]: ...


#: How far from the fix a subject's case may have been recorded, and how many subjects are shown.
NEARBY_RADIUS_M = 150.0
NEARBY_LIMIT = 5


@dataclass(frozen=True, slots=True)
class NearbyStage:
    """A known subject near the fix and the stage of its next case for the violation last recorded here."""

    subject: Subject
    violation_code: str
    last_seen: datetime
    days_ago: int  # bureau-local calendar days before today; 0 also when the phone clock is behind
    distance_m: float
    decision: staging.StageDecision

    @property
    def next_stage(self) -> Stage:
        return self.decision.stage

    @property
    def who(self) -> str:
        s = self.subject
        return s.name or subject_plate(s) or s.description or s.phone


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
        self,
        store: TodayStore,
        session: SessionState,
        link: SyncLink,
        *,
        now: Callable[[], datetime],
        policy: staging.StagePolicy | None = None,
        clock: ClockState | None = None,
    ) -> None:
        super().__init__()
        self._store = store
        self._session = session
        self._link = link
        #: the device clock against HQ's; ``_now`` is the best-known time (``mobile.state.clock``)
        self.clock = clock or ClockState(store, now=now, monotonic=lambda: now().timestamp())
        self._now = self.clock.now
        #: set when the last shift end had to be recorded at the shift's start (the clock is behind it)
        self.shift_end_adjusted = False
        self._policy = policy  # None: the policy the phone holds (mobile.policyheld)
        self.fix: tuple[float, float] | None = None  # the last GPS fix (lat, lon) the screen got

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
        """End the open shift. Always possible: a shift started under a clock that was ahead (its start
        is after "now") ends at its start, max(now, start), with the device's reading and the known
        offset recorded on the shift; so is any end taken while the clock is known to be wrong."""
        current = self.shift()
        if current is None:
            return None
        now = self._now()
        device = self.clock.device_now()
        offset = self.clock.offset()
        at = max(now, current.started_at)
        self.shift_end_adjusted = at != now
        noted = at != device and (self.shift_end_adjusted or self.clock.wrong())
        ended = self._store.end_shift(
            current.id,
            at,
            device_ended_at=device if noted else None,
            clock_offset_s=offset.seconds if noted and offset is not None else None,
        )
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

    def clock_banner(self, lang: Lang = "zh") -> str:
        """The clock banner ("" while the phone's clock agrees with HQ's)."""
        return self.clock.banner(lang)

    def sync_now(self) -> None:
        self._link.kick()

    # -- subjects nearby ---------------------------------------------------------------------------------
    def set_fix(self, lat: float, lon: float, fix_time: object = None) -> None:
        """A GPS fix for the nearby list; ``fix_time`` (the position's timestamp, as the geolocator
        gives it) checks the clock (``ClockState.note_gps``)."""
        self.fix = (float(lat), float(lon))
        self.clock.note_gps(fix_time)
        self.notify()

    def nearby(self) -> list[NearbyStage]:
        """Known subjects whose cases were recorded within ``NEARBY_RADIUS_M`` of the fix, most recently
        seen first (at most ``NEARBY_LIMIT``), each with the stage a case now would get for the violation
        last recorded against it there: ``enforcement.staging.compute_stage`` over its history here (own
        cases and HQ's), the same rule the new-case wizard applies. Empty without a fix."""
        if self.fix is None:
            return []
        now = self._now()
        today = local_date(now)
        found = self._store.nearby_subjects(*self.fix, radius_m=NEARBY_RADIUS_M, limit=NEARBY_LIMIT)
        policy = self._policy or held_policy(self._store.meta_get).staging
        return [
            NearbyStage(
                subject=near.subject,
                violation_code=near.violation_code,
                last_seen=near.last_seen,
                days_ago=max(0, (today - local_date(near.last_seen)).days),
                distance_m=near.distance_m,
                decision=staging.compute_stage(
                    near.violation_code, now, self._store.subject_history(near.subject.id), policy
                ),
            )
            for near in found
        ]
