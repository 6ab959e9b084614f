"""Zones in the day log: how many vendors were guided to a 疏导点 (the bureau's phrasing "引导至疏导点 N
起"), and the day's cases by street class and by grid cell. Read from each case's ``extra`` (the keys of
``enforcement.zones``) and ``Location.grid_cell``; voided and withdrawn cases do not count."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from enforcement.model import CaseStatus
from enforcement.zones import EXTRA_GUIDED_SPOT, EXTRA_STREET_CLASS, STREET_CLASS_TEXT, StreetClass

if TYPE_CHECKING:
    from patrollog.daylog import CaseLine

#: Street classes in the order the log lists them, with their names.
CLASS_ORDER: tuple[StreetClass, ...] = (StreetClass.MODEL, StreetClass.REGULATED, StreetClass.COMMERCIAL)


@dataclass(frozen=True, slots=True)
class ZoneCounts:
    guided: int = 0
    by_street_class: Counter[str] = field(default_factory=Counter)  # StreetClass value → cases
    by_grid: Counter[str] = field(default_factory=Counter)  # grid code → cases

    @property
    def guidance_line(self) -> str:
        return f"引导至疏导点 {self.guided} 起"

    @property
    def class_line(self) -> str:
        """``示范街 1 起，商业街 3 起`` (classes with cases only)."""
        bits = [f"{STREET_CLASS_TEXT[c][0]} {self.by_street_class[c.value]} 起" for c in CLASS_ORDER
                if self.by_street_class.get(c.value)]  # fmt: skip
        return "，".join(bits)

    @property
    def grid_line(self) -> str:
        return "，".join(f"{code} {n} 起" for code, n in sorted(self.by_grid.items()))

    @property
    def empty(self) -> bool:
        return not (self.guided or self.by_street_class or self.by_grid)


def zone_counts(lines: Iterable[CaseLine]) -> ZoneCounts:
    counted = [line for line in lines if line.status is CaseStatus.ACTIVE]
    return ZoneCounts(
        guided=sum(1 for line in counted if line.extra.get(EXTRA_GUIDED_SPOT)),
        by_street_class=Counter(
            line.extra[EXTRA_STREET_CLASS] for line in counted if line.extra.get(EXTRA_STREET_CLASS)
        ),
        by_grid=Counter(line.location.grid_cell for line in counted if line.location.grid_cell),
    )


def zone_rows(counts: ZoneCounts) -> list[list[object]]:
    """The day log CSV's rows for zones (none on a day without zone data)."""
    if counts.empty:
        return []
    rows: list[list[object]] = [["引导至疏导点", counts.guided]]
    rows += [[f"街道类别：{STREET_CLASS_TEXT[c][0]}", counts.by_street_class[c.value]] for c in CLASS_ORDER
             if counts.by_street_class.get(c.value)]  # fmt: skip
    rows += [[f"网格：{code}", n] for code, n in sorted(counts.by_grid.items())]
    return rows


def zones_paragraph(counts: ZoneCounts) -> str:
    """The PDF's line: ``引导至疏导点 2 起；按街道类别：商业街 3 起；按网格：JS-0101 3 起``."""
    if counts.empty:
        return ""
    parts = [counts.guidance_line]
    if counts.class_line:
        parts.append(f"按街道类别：{counts.class_line}")
    if counts.grid_line:
        parts.append(f"按网格：{counts.grid_line}")
    return "；".join(parts)
