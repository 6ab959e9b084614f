"""The officer's work orders (hotline complaints, #15) on the phone: the open ones, overdue first then by
time left against HQ's deadlines (counted with the phone's best-known time, ``mobile.state.clock``); the
arrival (time, GPS, distance to the reported spot) and the resolution, each an outbox record
(``work_order_arrival`` / ``work_order_resolution``) carrying the device's own time and the known clock
offset, so HQ corrects the time (``enforcement.workorders.corrected_at``); and a case recorded for an
order: the ordinary new-case wizard prefilled with the order's place and violation, the order remembered
and resolved as 立案处置 when that case is saved. No Flet here."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from enforcement import geo
from enforcement.model import new_id
from enforcement.text import Lang, LocalizedError
from enforcement.workorders import CLOSURE_TEXT, Closure, WorkOrderError, check_resolution
from mobile import metakeys
from mobile.photos import PhotoSettings, ProcessedPhoto, Watermark, process_photo
from mobile.photostore import PhotoStore
from mobile.state.clock import ClockState
from mobile.state.errors import DraftError
from mobile.state.observable import Observable
from mobile.state.ports import SyncSoon
from mobile.store_workorders import WorkOrderRow

#: meta key: the order a case is being recorded for ({"order_id", "case_id"}).
LINK_KEY = getattr(metakeys, "WORK_ORDER_LINK", "workorder.link")


class WorkOrderStoreLike(Protocol):
    def meta_get(self, key: str, default: Any = None) -> Any: ...
    def meta_set(self, key: str, value: Any) -> None: ...
    def work_orders(self) -> list[WorkOrderRow]: ...
    def work_order(self, order_id: str) -> WorkOrderRow | None: ...
    def record_work_order_event(
        self, kind: str, payload: dict[str, Any], at: datetime, *, closure: str = ..., photos: Any = ...
    ) -> None: ...
    def set_work_order_case(self, order_id: str, case_id: str) -> None: ...
    def get_case(self, case_id: str) -> Any: ...


class DraftStarter(Protocol):
    """What of the new-case wizard (``CaseDraftState``) a linked case needs."""

    draft: Any

    def start(self) -> Any: ...
    def resume(self) -> Any: ...
    def discard(self) -> None: ...
    def choose_violation(self, code: str) -> None: ...
    def set_position(
        self, lat: float, lon: float, accuracy_m: float | None, *, advance: bool = ...
    ) -> object: ...
    def update(self, **values: Any) -> Any: ...
    def subscribe(self, listener: Callable[[], None]) -> Any: ...


@dataclass(frozen=True, slots=True)
class OpenOrder:
    """An order on 今日 and its detail screen: what is due next and how long is left (HQ's deadline,
    the phone's best-known time)."""

    row: WorkOrderRow
    due: datetime  # arrive_due until arrived, then resolve_due
    left: timedelta  # negative: overdue
    arrived: bool

    @property
    def order_id(self) -> str:
        return self.row.order_id

    @property
    def overdue(self) -> bool:
        return self.left < timedelta(0)

    @property
    def data(self) -> dict[str, Any]:
        return self.row.data

    def where(self) -> str:
        return str(self.data.get("address") or self.data.get("place") or "")


def countdown(left: timedelta, lang: Lang = "zh") -> str:
    """ "剩余 1小时05分" / "超时 20分" (en: "1 h 05 min left" / "overdue 20 min")."""
    minutes = int(abs(left.total_seconds()) // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if lang == "zh":
        text = (f"{days}天" if days else "") + (f"{hours}小时" if hours or days else "") + f"{mins:02d}分"
        return ("超时 " if left < timedelta(0) else "剩余 ") + text
    text = (f"{days} d " if days else "") + (f"{hours} h " if hours or days else "") + f"{mins:02d} min"
    return f"overdue {text}" if left < timedelta(0) else f"{text} left"


class WorkOrdersState(Observable):
    def __init__(
        self,
        store: WorkOrderStoreLike,
        photos: PhotoStore,
        link: SyncSoon,
        *,
        now: Callable[[], datetime],
        clock: ClockState | None = None,
        drafts: DraftStarter | None = None,
        process: Callable[[bytes, Watermark | None, PhotoSettings], ProcessedPhoto] = process_photo,
        officer: Callable[[], str | None] | None = None,
    ) -> None:
        super().__init__()
        #: the signed-in officer's badge (None: nobody); an order assigned to another officer (pulled while
        #: that officer was signed in on this shared phone) is neither shown nor acted on. Not given: every
        #: order the phone holds.
        self._officer = officer
        self._store = store
        self._photos = photos
        self._link = link
        self.clock = clock or ClockState(store, now=now, monotonic=lambda: now().timestamp())
        self._process = process
        self.drafts = drafts
        self.selected: str | None = None  # the order the detail screen shows
        #: photos taken for the resolution being written (sha, size), per order
        self.pending_photos: dict[str, list[tuple[str, int]]] = {}
        if drafts is not None:
            drafts.subscribe(self._draft_changed)

    # -- reading ---------------------------------------------------------------------------------------
    def _open(self, row: WorkOrderRow, now: datetime) -> OpenOrder:
        arrived = row.arrived_at is not None
        due = row.resolve_due if arrived else row.arrive_due
        return OpenOrder(row=row, due=due, left=due - now, arrived=arrived)

    def _mine(self, row: WorkOrderRow) -> bool:
        """Whether ``row`` is the signed-in officer's (a shared phone keeps every officer's pulled orders)."""
        if self._officer is None:
            return True
        assignee = str(row.data.get("officer") or "")
        return not assignee or assignee == self._officer()

    def open_orders(self) -> list[OpenOrder]:
        """The officer's orders not yet resolved: overdue first (most overdue first), then by time left."""
        now = self.clock.now()
        orders = [
            self._open(row, now)
            for row in self._store.work_orders()
            if row.resolved_at is None
            and row.data.get("stage") in ("dispatched", "arrived", "intake")
            and self._mine(row)
        ]
        return sorted(orders, key=lambda o: (not o.overdue, o.left, o.order_id))

    def order(self, order_id: str) -> OpenOrder | None:
        row = self._store.work_order(order_id)
        return None if row is None or not self._mine(row) else self._open(row, self.clock.now())

    def select(self, order_id: str) -> None:
        self.selected = order_id
        self.notify()

    # -- events ----------------------------------------------------------------------------------------
    def _require(self, order_id: str) -> WorkOrderRow:
        row = self._store.work_order(order_id)
        if row is None or not self._mine(row):
            raise DraftError("unknown work order", zh="工单不存在（可能已改派）", code="work_order_unknown")
        return row

    def _times(self) -> dict[str, Any]:
        offset = self.clock.offset()
        return {
            "device_at": self.clock.device_now().isoformat(),
            "offset_s": float(offset.seconds) if offset is not None else None,
        }

    def arrive(
        self,
        order_id: str,
        lat: float | None = None,
        lon: float | None = None,
        accuracy_m: float | None = None,
        *,
        fix_time: object = None,
    ) -> float | None:
        """On the spot: the arrival record (device time, known offset, the fix). Returns the distance to
        the reported point in metres (None without a fix or a point). Arriving twice is ignored.
        ``fix_time`` (the position's timestamp, as the geolocator gives it) checks the phone's clock first
        (``ClockState.note_gps``), so a clock the fix contradicts is known before the arrival's offset is
        taken."""
        self.clock.note_gps(fix_time)
        row = self._require(order_id)
        if row.arrived_at is not None:
            return self.distance_m(row, lat, lon)
        payload = {
            "id": new_id(),
            "order_id": order_id,
            "round": row.round,
            **self._times(),
            "lat": lat,
            "lon": lon,
            "accuracy_m": accuracy_m,
        }
        self._store.record_work_order_event("work_order_arrival", payload, self.clock.now())
        self.notify()
        self._link.kick()
        return self.distance_m(row, lat, lon)

    @staticmethod
    def distance_m(row: WorkOrderRow, lat: float | None, lon: float | None) -> float | None:
        plat, plon = row.data.get("lat"), row.data.get("lon")
        if lat is None or lon is None or plat is None or plon is None:
            return None
        return geo.haversine_m((float(lon), float(lat)), (float(plon), float(plat)))

    async def add_photo(self, order_id: str, data: bytes) -> str:
        """A photo for the resolution: shrunk and stored as evidence off the UI thread; its hash."""
        processed = await asyncio.to_thread(self._process, data, None, PhotoSettings())
        self._photos.put(processed.evidence)
        self.pending_photos.setdefault(order_id, []).append((processed.sha256, processed.size))
        self.notify()
        return processed.sha256

    def resolve(
        self,
        order_id: str,
        outcome: Closure | str,
        note: str = "",
        photos: list[str] | None = None,
        case_id: str | None = None,
        department: str = "",
    ) -> None:
        """办结: a linked case (``case_id``), or a closure with a note and ≥ 1 photo (hashes in the photo
        store; default: the photos added with ``add_photo``). Refused (DraftError, zh + en) otherwise."""
        row = self._require(order_id)
        if row.resolved_at is not None:
            return
        closure: Closure | None
        try:
            closure = Closure(outcome)
        except ValueError:
            closure = None
        taken = self.pending_photos.get(order_id, [])
        hashes = list(photos) if photos is not None else [sha for sha, _ in taken]
        try:
            check_resolution(closure, case_id or "", note, tuple(hashes), department)
        except WorkOrderError as exc:
            raise DraftError(str(exc), zh=exc.zh, field=exc.field, code="work_order_resolution") from exc
        assert closure is not None  # check_resolution refuses None
        sizes = dict(taken)
        queued = [(sha, sizes.get(sha) or self._size(sha)) for sha in hashes]
        payload = {
            "id": new_id(),
            "order_id": order_id,
            "round": row.round,
            **self._times(),
            "closure": closure.value,
            "case_id": case_id,
            "note": note.strip(),
            "department": department.strip(),
            "photos": hashes,
        }
        self._store.record_work_order_event(
            "work_order_resolution", payload, self.clock.now(), closure=closure.value, photos=queued
        )
        self.pending_photos.pop(order_id, None)
        self.notify()
        self._link.kick()

    def _size(self, sha: str) -> int:
        try:
            return self._photos.path(sha).stat().st_size
        except OSError:
            return 0

    @staticmethod
    def closure_text(closure: Closure | str, lang: Lang = "zh") -> str:
        zh, en = CLOSURE_TEXT[Closure(closure)]
        return zh if lang == "zh" else en

    # -- a case for the order --------------------------------------------------------------------------
    def start_case(self, order_id: str) -> Any:
        """The new-case wizard, a fresh draft prefilled with the order's place and violation; the order is
        remembered and resolved (立案处置) with that case when it is saved."""
        if self.drafts is None:
            raise RuntimeError("no case wizard")
        row = self._require(order_id)
        if self.drafts.resume() is not None:  # never lose the officer's unsaved case
            raise DraftError(
                "finish or discard the unsaved case first", zh="请先保存或放弃未完成的案件", code="draft_open"
            )
        draft = self.drafts.start()
        data = row.data
        with contextlib.suppress(
            KeyError, ValueError, LocalizedError
        ):  # a category the phone's catalogue lacks
            self.drafts.choose_violation(str(data.get("category") or ""))
        if data.get("lat") is not None and data.get("lon") is not None:
            self.drafts.set_position(float(data["lat"]), float(data["lon"]), None)
        address = str(data.get("address") or data.get("place") or "")
        if address:
            self.drafts.update(address=address)
        self._store.meta_set(LINK_KEY, {"order_id": order_id, "case_id": draft.case_id})
        self.notify()
        return draft

    def linking(self) -> dict[str, str] | None:
        value = self._store.meta_get(LINK_KEY)
        return value if isinstance(value, dict) and value.get("order_id") else None

    def _draft_changed(self) -> None:
        self.check_linked_case()

    def check_linked_case(self) -> bool:
        """When the remembered order's case has been saved: link it and resolve the order (立案处置)."""
        link = self.linking()
        if link is None or self._store.get_case(str(link["case_id"])) is None:
            return False
        self._store.meta_set(LINK_KEY, None)
        order_id = str(link["order_id"])
        self._store.set_work_order_case(order_id, str(link["case_id"]))
        row = self._store.work_order(order_id)
        if row is not None and row.resolved_at is None:
            self.resolve(order_id, Closure.CASE, case_id=str(link["case_id"]))
        return True
