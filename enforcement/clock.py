"""The phone's clock against a reference: how far apart they are and which time a record keeps.

A phone's clock can be anything (a dead battery resets it to 1970, a hand-set one says 2099). The phone
knows a better time in two ways: HQ's ``Date`` at the last sync (carried forward with a monotonic clock
since) and a GPS fix's time. ``offset`` = reference time - device time, in whole seconds.

The rule, one for the phone and HQ:

- an offset of at most ``TOLERANCE`` is ordinary drift: records keep the device time, nothing is noted;
- a larger known offset means the device clock is wrong: a record's time (``Case.occurred_at``, a shift's
  start and end) is the best-known time, device time + offset, and the device's own reading and the
  offset are recorded beside it (``Case.device_occurred_at``, ``clock_offset_s``, ``clock_source``);
- with no reference, the device time is all there is; a year no case number can hold (``plausible``) is
  then a clock problem the officer is told about in those words.

No I/O here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

#: Beyond this the device clock disagrees with the reference (phones drift by seconds; a time zone or a
#: hand-set clock is off by hours).
TOLERANCE = timedelta(hours=1)

#: The years a case number can hold (``enforcement.numbering``: YYMMDD in 2000..2099).
FIRST_YEAR = 2000
LAST_YEAR = 2099

SOURCES = ("hq", "gps")


@dataclass(frozen=True, slots=True)
class ClockOffset:
    """A known offset of the device clock: reference time - device time, and where the reference came
    from ("hq" or "gps")."""

    seconds: int
    source: str

    @property
    def large(self) -> bool:
        return abs(self.seconds) > TOLERANCE.total_seconds()

    @property
    def hours(self) -> float:
        return abs(self.seconds) / 3600


def corrected(device: datetime, offset: ClockOffset | None) -> datetime:
    """The best-known time of a device reading: device + offset when the offset is known and large."""
    if offset is None or not offset.large:
        return device
    try:
        return device + timedelta(seconds=offset.seconds)
    except OverflowError:  # an absurd offset (year 1 or 9999): keep what the device said
        return device


def plausible(moment: datetime) -> bool:
    """Whether a time can be a case's (its year fits a case number)."""
    return FIRST_YEAR <= moment.year <= LAST_YEAR


def hours_text(hours: float) -> str:
    """About how many hours, as the banner says it: 0.5, 3, 1200 (no trailing zeros)."""
    if hours >= 10:
        return f"{round(hours):,}".replace(",", "")
    return f"{hours:.1f}".rstrip("0").rstrip(".")
