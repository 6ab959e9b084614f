"""Opening hours of a designated vending spot (疏导点): spans per weekday, overnight spans included.

``OpeningHours.parse`` reads the GeoJSON property::

    {"daily": ["17:00-22:00"], "fri": ["22:00-02:00"], "sat": ["10:00-14:00", "18:00-24:00"]}

Keys ``mon`` … ``sun`` (or ``daily``, applying to every day that has no key of its own); each span is
``HH:MM-HH:MM`` in bureau-local time (``enforcement.model.LOCAL_TZ``). An end at or before the start runs
past midnight into the next day (``22:00-02:00`` on Sunday ends Monday 02:00: the week wraps), ``24:00``
is the end of the day, ``00:00-24:00`` the whole day. Spans that touch (Friday ``18:00-24:00`` and
Saturday ``00:00-02:00``) are one opening: ``closes_at`` gives its real end.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from enforcement.model import LOCAL_TZ
from enforcement.text import LocalizedError

DAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_ZH: tuple[str, ...] = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")
#: At most this many spans per day key (the property is bounded before it is read).
MAX_SPANS_PER_DAY = 8
_SPAN = re.compile(r"^(\d{2}):(\d{2})-(\d{2}):(\d{2})$")


class HoursError(LocalizedError):
    code = "bad_hours"


@dataclass(frozen=True, slots=True, order=True)
class Span:
    """Minutes after the day's midnight: ``start`` in 0–1439, ``end`` in 1–1440 or, overnight, up to
    ``start + 1440`` (the minutes into the next day count past 1440)."""

    start: int
    end: int


def _parse_span(text: str) -> Span:
    match = _SPAN.match(text.strip()) if isinstance(text, str) else None
    if not match:
        raise HoursError(
            f"bad opening span {text!r}; use HH:MM-HH:MM", zh=f"营业时段“{text}”格式应为 HH:MM-HH:MM"
        )
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    if h1 > 23 or m1 > 59 or m2 > 59 or h2 > 24 or (h2 == 24 and m2):
        raise HoursError(f"bad time in span {text!r}", zh=f"营业时段“{text}”中的时间无效")
    start, end = h1 * 60 + m1, h2 * 60 + m2
    if end <= start:
        end += 1440  # overnight: ends the next day
    return Span(start, end)


@dataclass(frozen=True, slots=True)
class OpeningHours:
    """Spans per weekday (0 = Monday … 6 = Sunday)."""

    week: tuple[tuple[Span, ...], ...]

    @classmethod
    def parse(cls, data: object) -> OpeningHours:
        if not isinstance(data, Mapping):
            raise HoursError(
                "opening hours must be an object of day → spans", zh="营业时间应为“星期 → 时段列表”"
            )
        unknown = [k for k in data if k not in (*DAYS, "daily")]
        if unknown:
            raise HoursError(f"unknown day key {unknown[0]!r}", zh=f"营业时间中的星期“{unknown[0]}”无效")
        week: list[tuple[Span, ...]] = []
        for day in DAYS:
            spans = data.get(day, data.get("daily", []))
            if isinstance(spans, str):
                spans = [spans]
            if not isinstance(spans, list) or len(spans) > MAX_SPANS_PER_DAY:
                raise HoursError(
                    f"{day}: a list of at most {MAX_SPANS_PER_DAY} spans",
                    zh=f"{day}：时段列表最多 {MAX_SPANS_PER_DAY} 个",
                )
            week.append(tuple(sorted(_parse_span(s) for s in spans)))
        return cls(tuple(week))

    def to_json(self) -> dict[str, list[str]]:
        def hhmm(minute: int) -> str:
            minute = minute if minute <= 1440 else minute - 1440
            return f"{minute // 60:02d}:{minute % 60:02d}"

        return {
            DAYS[d]: [f"{hhmm(s.start)}-{hhmm(s.end)}" for s in spans] for d, spans in enumerate(self.week)
        }

    # -- concrete openings
    def _openings(self, first: datetime, days: int) -> Iterator[tuple[datetime, datetime]]:
        """Openings (start, end) of the local days from ``first``'s date on, ``days`` of them, merged where
        they touch or overlap, in order of start."""
        base = first.astimezone(LOCAL_TZ).replace(hour=0, minute=0, second=0, microsecond=0)
        raw: list[tuple[datetime, datetime]] = []
        for offset in range(days):
            day = base + timedelta(days=offset)
            for span in self.week[day.weekday()]:
                raw.append((day + timedelta(minutes=span.start), day + timedelta(minutes=span.end)))
        raw.sort()
        merged: list[tuple[datetime, datetime]] = []
        for start, end in raw:
            if merged and start <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(merged[-1][1], end))
            else:
                merged.append((start, end))
        yield from merged

    def opening_at(self, now: datetime) -> tuple[datetime, datetime] | None:
        """The opening ``now`` falls in (start inclusive, end exclusive), merged over midnight."""
        for start, end in self._openings(now - timedelta(days=1), 10):
            if start <= now < end:
                # an opening open all week long is merged over the whole window: its end is open-ended
                return start, end
        return None

    def open_at(self, now: datetime) -> bool:
        return self.opening_at(now) is not None

    def closes_at(self, now: datetime) -> datetime | None:
        """When the opening ``now`` is in ends (None when closed now)."""
        opening = self.opening_at(now)
        return opening[1] if opening else None

    def next_opening(self, now: datetime) -> datetime | None:
        """The start of the next opening after ``now`` (None when the spot never opens)."""
        for start, _end in self._openings(now - timedelta(days=1), 10):
            if start > now:
                return start
        return None

    @property
    def always_closed(self) -> bool:
        return not any(self.week)
