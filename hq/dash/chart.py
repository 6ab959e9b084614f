"""The dashboard's trend chart as inline SVG: cases per day, stacked by HQ's stage (劝导 / 警告 / 处罚),
with Chinese labels set in the shipped font (``font-family`` names the ``@font-face`` the page declares).
No I/O: a function from counts to SVG text."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import date
from html import escape

from enforcement.model import Stage
from enforcement.staging import stage_name
from patrollog.style import FONT_STACK, STAGE_COLOURS

WIDTH, HEIGHT = 760, 300
LEFT, RIGHT, TOP, BOTTOM = 52, 16, 44, 44


def _nice_max(value: int) -> int:
    """The smallest of 1, 2, 5 × 10^k at or above ``value`` (at least 5), for the y axis."""
    step = 1
    while True:
        for m in (1, 2, 5):
            if m * step >= max(value, 5):
                return m * step
        step *= 10


def trend_svg(days: Sequence[date], counts: Mapping[date, Mapping[Stage, int]], *, title: str) -> str:
    """A stacked bar chart of ``counts[day][stage]`` over ``days`` (oldest first)."""
    top = _nice_max(max((sum(counts.get(d, {}).values()) for d in days), default=0))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / max(len(days), 1)
    bar = max(slot * 0.62, 2)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" '
        f'height="{HEIGHT}" role="img" aria-label="{escape(title)}" font-family="{FONT_STACK}" '
        f'id="trend-chart">',
        f"<title>{escape(title)}</title>",
        f'<text x="{LEFT}" y="20" font-size="15" fill="#222">{escape(title)}</text>',
    ]
    for i in range(6):
        value = top * i // 5
        y = TOP + plot_h - plot_h * i / 5
        parts.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}" stroke="#ddd"/>')
        parts.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" font-size="11" text-anchor="end">{value}</text>')
    parts.append(
        f'<text x="14" y="{TOP + plot_h / 2:.1f}" font-size="12" transform="rotate(-90 14 '
        f'{TOP + plot_h / 2:.1f})" text-anchor="middle">案件数（起）</text>'
    )
    label_every = max(1, math.ceil(len(days) / 10))
    for index, day in enumerate(days):
        x = LEFT + slot * index + (slot - bar) / 2
        y = TOP + plot_h
        for stage in Stage:
            n = counts.get(day, {}).get(stage, 0)
            if not n:
                continue
            h = plot_h * n / top
            y -= h
            label = f"{day.isoformat()} {stage_name(stage, 'zh')} {n} 起"
            fill = STAGE_COLOURS[stage]
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{h:.1f}" fill="{fill}">'
                f"<title>{escape(label)}</title></rect>"
            )
        if index % label_every == 0:
            parts.append(
                f'<text x="{x + bar / 2:.1f}" y="{TOP + plot_h + 16}" font-size="11" '
                f'text-anchor="middle">{day.month}月{day.day}日</text>'
            )
    legend_x = WIDTH - RIGHT - 3 * 70
    for i, stage in enumerate(Stage):
        lx = legend_x + i * 70
        parts.append(f'<rect x="{lx}" y="10" width="12" height="12" fill="{STAGE_COLOURS[stage]}"/>')
        parts.append(f'<text x="{lx + 16}" y="20" font-size="12">{stage_name(stage, "zh")}</text>')
    parts.append(
        f'<text x="{LEFT + plot_w / 2:.1f}" y="{HEIGHT - 8}" font-size="12" text-anchor="middle">日期</text>'
    )
    parts.append("</svg>")
    return "".join(parts)
