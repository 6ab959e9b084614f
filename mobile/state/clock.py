"""The phone's clock against HQ's and the GPS's: the best-known time, the known offset and the banner.

The device clock (``now``) can be anything. ``ClockState`` keeps the last reference it was given, HQ's
``Date`` at the end of the last sync (the sync link reports it) or a GPS fix's time, together with the
device and monotonic clocks' readings at that moment. While the process (the boot) lasts, HQ's time is
carried forward with the monotonic clock, so fixing the device clock after a sync is seen at once; after
a reboot (the monotonic clock went back) the offset taken at the reference is used. The rule of which
time a record keeps is ``enforcement.clock``'s: past ``TOLERANCE`` the best-known time is device time +
offset, and the device's own reading and the offset go on the record.

The reference is kept in the phone DB's meta (``metakeys.CLOCK``), so a restart knows it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from enforcement.clock import ClockOffset, corrected, hours_text, plausible
from enforcement.text import Lang
from mobile import metakeys
from mobile.i18n import t
from mobile.state.observable import Observable


def gps_time(value: object) -> datetime | None:
    """A position's timestamp as flet-geolocator hands it over (a datetime with its zone: the platform's
    fix time, UTC on Android), or milliseconds since the epoch; None for what cannot be placed in time
    (nothing, a time with no zone, nonsense). A fix's time is only as good as its zone: a naive one is
    ignored rather than guessed."""
    if isinstance(value, datetime):
        return value if value.utcoffset() is not None else None
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(value / 1000, tz=UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if isinstance(value, str):
        try:
            return gps_time(datetime.fromisoformat(value.strip().replace("Z", "+00:00")))
        except ValueError:
            return None
    return None


class ClockStore(Protocol):
    def meta_get(self, key: str, default: Any = None) -> Any: ...
    def meta_set(self, key: str, value: Any) -> None: ...


class ClockState(Observable):
    def __init__(
        self,
        store: ClockStore,
        *,
        now: Callable[[], datetime],
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self._store = store
        self._now = now
        self._monotonic = monotonic

    # -- references ------------------------------------------------------------------------------------
    def note_reference(self, reference: datetime, source: str = "hq") -> None:
        """A trusted time seen now: HQ's ``Date`` at the end of a sync, or a GPS fix's time."""
        if reference.utcoffset() is None:
            return
        device = self._now()
        before = self.offset()
        self._store.meta_set(
            metakeys.CLOCK,
            {
                "reference": reference.isoformat(),
                "device": device.isoformat(),
                "monotonic": self._monotonic(),
                "source": source,
            },
        )
        if before != self.offset():
            self.notify()

    def note_hq(self, server_time: datetime | None) -> None:
        if server_time is not None:
            self.note_reference(server_time, "hq")

    def note_gps(self, fix_time: object) -> None:
        """A GPS fix's time: the geolocator's position timestamp as it arrives (``gps_time`` reads it;
        anything it cannot place in time is ignored). HQ's time, when known, wins: a fix's time is used
        only while the phone has no HQ reference."""
        fix_time = gps_time(fix_time)
        if fix_time is None:
            return
        held = self._held()
        if held is not None and held[3] == "hq":
            return
        if held is not None and held[3] == "gps" and fix_time <= held[0]:
            # the same fix again (a cached position: the browser's and Android's geolocation hand back
            # a fix up to minutes old, with its first timestamp): nothing new about the clock, and taking
            # it as "now" would make the clock look slow by the cache's age
            return
        self.note_reference(fix_time, "gps")

    def _held(self) -> tuple[datetime, datetime, float | None, str] | None:
        value = self._store.meta_get(metakeys.CLOCK)
        if not isinstance(value, dict):
            return None
        try:
            reference = datetime.fromisoformat(value["reference"])
            device = datetime.fromisoformat(value["device"])
            mono = value.get("monotonic")
            return reference, device, float(mono) if mono is not None else None, str(value.get("source"))
        except (KeyError, TypeError, ValueError):
            return None

    # -- what the phone knows --------------------------------------------------------------------------
    def offset(self) -> ClockOffset | None:
        """The device clock's known offset now (reference - device), or None without a reference."""
        held = self._held()
        if held is None:
            return None
        reference, device, mono, source = held
        now_mono = self._monotonic()
        try:
            if mono is not None and now_mono >= mono:  # the same boot: carry the reference forward
                estimate = reference + timedelta(seconds=now_mono - mono)
                seconds = (estimate - self._now()).total_seconds()
            else:  # rebooted since: the offset as it was
                seconds = (reference - device).total_seconds()
        except OverflowError:
            return None
        return ClockOffset(round(seconds), source)

    def monotonic(self) -> float:
        return self._monotonic()

    def device_now(self) -> datetime:
        return self._now()

    def now(self) -> datetime:
        """The best-known time: the device's, corrected by a known large offset."""
        return corrected(self._now(), self.offset())

    def wrong(self) -> bool:
        """Whether the device clock is known to be wrong (a large offset) or cannot be right (its year
        fits no case number)."""
        offset = self.offset()
        return (offset is not None and offset.large) or not plausible(self._now())

    def banner(self, lang: Lang = "zh") -> str:
        """The clock banner of 今日 and the wizard ("" while the clock looks right)."""
        offset = self.offset()
        if offset is not None and offset.large:
            return t(lang, "clock.banner", hours=hours_text(offset.hours))
        if not plausible(self._now()):
            return t(lang, "clock.banner_unknown", year=self._now().year)
        return ""
