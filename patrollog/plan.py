"""Case positions on a plan of the district, without map tiles: an SVG drawn from the GPS fixes alone.

Positions are projected onto a local flat plane around their centre (metres east / north: at district
scale, a few km, the error of this equirectangular projection is far below GPS accuracy), fitted into
the picture with the same scale on both axes, with a scale bar and a north mark. Each case is a dot
coloured by its applied stage, with its time and violation as the dot's tooltip; cases on the same spot
(``spots``) look like one dot, so the dot gets a badge counting them. Cases without a fix are counted
under the plan. No I/O: the leader screen (offline) and HQ show the same text.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from html import escape

from enforcement.model import CaseStatus, Stage
from enforcement.staging import stage_name
from patrollog.daylog import CaseLine
from patrollog.style import FONT_STACK, STAGE_COLOURS

M_PER_DEG_LAT = 110_574.0
M_PER_DEG_LON_EQUATOR = 111_320.0


@dataclass(frozen=True, slots=True)
class PlanPoint:
    lat: float
    lon: float
    stage: Stage
    label: str  # tooltip, e.g. "21:40 露天烧烤 ZD01-…"


@dataclass(frozen=True, slots=True)
class Placed:
    point: PlanPoint
    x: float  # picture coordinates (pixels, y downwards)
    y: float


def plan_points(lines: Iterable[CaseLine]) -> tuple[list[PlanPoint], int]:
    """The counted case lines (voided and withdrawn ones left out) that have a GPS fix as plan points, and
    how many counted lines have none."""
    points: list[PlanPoint] = []
    missing = 0
    for line in lines:
        if line.status is not CaseStatus.ACTIVE:
            continue
        loc = line.location
        if loc.lat is None or loc.lon is None:
            missing += 1
            continue
        label = f"{line.occurred_at:%H:%M} {line.violation_name} {line.case_no}"
        points.append(PlanPoint(loc.lat, loc.lon, line.stage, label))
    return points, missing


def metres(points: Sequence[PlanPoint]) -> list[tuple[float, float]]:
    """Each point as (east, north) metres from the centre of the points' extent."""
    lat0 = (min(p.lat for p in points) + max(p.lat for p in points)) / 2
    lon0 = (min(p.lon for p in points) + max(p.lon for p in points)) / 2
    per_lon = M_PER_DEG_LON_EQUATOR * math.cos(math.radians(lat0))
    return [((p.lon - lon0) * per_lon, (p.lat - lat0) * M_PER_DEG_LAT) for p in points]


def place(points: Sequence[PlanPoint], width: int, height: int, margin: int) -> tuple[list[Placed], float]:
    """Points in picture coordinates and the scale (pixels per metre); an extent under 200 m is shown as
    200 m, so one case or cases a few steps apart do not fill the plan."""
    if not points:
        return [], 0.0
    xy = metres(points)
    span_x = max(max(x for x, _ in xy) - min(x for x, _ in xy), 200.0)
    span_y = max(max(y for _, y in xy) - min(y for _, y in xy), 200.0)
    scale = min((width - 2 * margin) / span_x, (height - 2 * margin) / span_y)
    cx, cy = width / 2, height / 2
    return [Placed(p, cx + x * scale, cy - y * scale) for p, (x, y) in zip(points, xy, strict=True)], scale


#: Dots closer than this (pixels) are one spot: its dot gets a badge with the number of cases on it.
SPOT_PX = 6.0
#: The count badge's colour (apart from the stage colours and the plan's text).
SPOT_BADGE = "#37474F"


@dataclass(frozen=True, slots=True)
class Spot:
    """Cases that would be drawn as one dot (the same place, or a few metres apart at the plan's scale)."""

    x: float
    y: float
    points: tuple[PlanPoint, ...]

    @property
    def count(self) -> int:
        return len(self.points)

    @property
    def stage(self) -> Stage:
        """The highest stage among the spot's cases (the dot's colour)."""
        return max(Stage(p.stage) for p in self.points)

    def layers(self) -> list[PlanPoint]:
        """The spot's cases bottom to top: each is still drawn (its own tooltip), the highest stage on
        top, so the dot shows the most serious one; the badge says how many lie there."""
        return sorted(self.points, key=lambda p: Stage(p.stage))


def spots(placed: Sequence[Placed], within: float = SPOT_PX) -> list[Spot]:
    """The placed points grouped into spots: each point joins the first spot whose dot is within
    ``within`` pixels (positions rounded to the pixel), else starts one; in the points' order."""
    groups: list[tuple[float, float, list[PlanPoint]]] = []
    for item in placed:
        x, y = round(item.x), round(item.y)
        for gx, gy, members in groups:
            if math.hypot(gx - x, gy - y) <= within:
                members.append(item.point)
                break
        else:
            groups.append((x, y, [item.point]))
    return [Spot(float(x), float(y), tuple(members)) for x, y, members in groups]


def scale_bar(scale: float, width: int) -> float:
    """A round length in metres (1, 2, 5 × 10^k) at most a quarter of the picture (or plan) wide."""
    best = 10.0
    for exponent in range(1, 6):
        for m in (1, 2, 5):
            length = m * 10.0**exponent
            if length * scale <= width / 4:
                best = length
    return best


def plan_svg(points: Sequence[PlanPoint], *, missing: int = 0, width: int = 600, height: int = 480) -> str:
    """The plan as SVG text (see the module docstring)."""
    margin = 28
    placed, scale = place(points, width, height - 40, margin)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" font-family="{FONT_STACK}" role="img" aria-label="案件位置示意图">',
        f'<rect x="0" y="0" width="{width}" height="{height - 40}" fill="#f7f7f2" stroke="#bbb"/>',
        f'<text x="{width - 24}" y="24" font-size="14" text-anchor="middle">北</text>',
        f'<path d="M {width - 24} 30 l -6 14 l 6 -4 l 6 4 z" fill="#333"/>',
    ]
    for spot in spots(placed):
        for point in spot.layers():
            colour = STAGE_COLOURS[Stage(point.stage)]
            parts.append(
                f'<circle cx="{spot.x:.1f}" cy="{spot.y:.1f}" r="6" fill="{colour}" stroke="#fff" '
                'stroke-width="1.5">'
                f"<title>{escape(point.label)}</title></circle>"
            )
        if spot.count > 1:  # a count badge: several cases on one spot
            text = str(spot.count)
            w = 8 + 7 * len(text)
            parts.append(
                f'<g class="spot-count"><rect x="{spot.x + 4:.1f}" y="{spot.y - 17:.1f}" width="{w}" '
                f'height="14" rx="7" fill="{SPOT_BADGE}"/>'
                f'<text x="{spot.x + 4 + w / 2:.1f}" y="{spot.y - 6:.1f}" '
                f'font-size="11" fill="#fff" text-anchor="middle">{text}</text></g>'
            )
    footer_y = height - 14
    if placed:
        bar = scale_bar(scale, width)
        px = bar * scale
        text = f"{bar / 1000:g} 千米" if bar >= 1000 else f"{bar:g} 米"
        parts.append(
            f'<path d="M 12 {footer_y - 10} v 6 h {px:.1f} v -6" fill="none" stroke="#333" stroke-width="2"/>'
        )
        parts.append(f'<text x="{12 + px + 6:.1f}" y="{footer_y - 4}" font-size="12">{text}</text>')
    else:
        parts.append(
            f'<text x="{width / 2}" y="{(height - 40) / 2}" font-size="14" text-anchor="middle">'
            "无定位案件</text>"
        )
    legend_x = width - 3 * 64 - 8
    for i, stage in enumerate(Stage):
        x = legend_x + i * 64
        parts.append(f'<circle cx="{x + 6}" cy="{footer_y - 7}" r="5" fill="{STAGE_COLOURS[stage]}"/>')
        parts.append(f'<text x="{x + 15}" y="{footer_y - 3}" font-size="12">{stage_name(stage, "zh")}</text>')
    if missing:
        parts.append(f'<text x="{width / 2}" y="{footer_y + 10}" font-size="11" text-anchor="middle">'
                     f"另有 {missing} 起无定位</text>")  # fmt: skip
    parts.append("</svg>")
    return "".join(parts)
