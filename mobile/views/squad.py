"""The squad's day (leaders only): day picker, figures, officers with their shifts, filters, a bar chart of
cases by violation type, a tile-free plan of case positions, the case lines and the day-log export.

The plan is drawn on a Flet canvas from ``patrollog.plan``'s projection rather than shown as its SVG:
Flutter's SVG renderer would set the Chinese labels in a font the offline web client does not have.
"""

from __future__ import annotations

import asyncio
from typing import Any

import flet as ft
import flet.canvas as cv
import flet_charts as fc

from enforcement.model import Stage
from enforcement.staging import stage_name
from mobile.state.squad import SquadSnapshot, time_flag_text
from mobile.state.squad_export import Exported, Format
from mobile.theme import FONT_FAMILY, TOUCH
from mobile.views.common import (
    PAGE,
    Host,
    Typed,
    chip,
    clipped,
    clock_time,
    plain_button,
    screen_column,
    title,
    violation_label,
)
from patrollog.daylog import CaseLine, OfficerDay
from patrollog.plan import SPOT_BADGE, PlanPoint, place, scale_bar, spots
from patrollog.style import STAGE_COLOURS

PLAN_SIZE = (360, 260)
PLAN_MARGIN = 20
PLAN_FOOTER = 28  # the strip under the dots that holds the scale bar


class SquadView:
    def __init__(self, shell: Host) -> None:
        self.shell = shell
        self.app = shell.app
        self.squad = shell.app.squad
        self.day = Typed(self.squad.day.isoformat())  # a new field at each render (see ``Typed``)
        self.error = ""
        self.exported: Exported | None = None
        self.export_note = ""  # where the exported file is, in full
        self.busy = False
        self.shown_lines = PAGE

    # -- building --------------------------------------------------------------------------------------
    def build(self) -> ft.Control:
        s = self.shell
        snap = self.squad.snapshot()
        log = snap.log
        f = log.figures
        parts: list[ft.Control] = [
            title(s.t("squad.title", day=log.day.isoformat())),
            ft.Text(log.squad_name or log.squad_code, size=14),
            self.day_row(),
        ]
        if self.error:
            parts.append(ft.Text(self.error, color=ft.Colors.ERROR, size=16, key="squad_error"))
        if self.squad.before_feed:
            older = s.t("squad.before_feed", days=self.squad.feed_days)
            parts.append(ft.Text(older, size=14, key="squad_old_day"))
        parts += [
            ft.Text(f.summary_line(s.lang), size=16, weight=ft.FontWeight.BOLD, key="squad_summary"),
            ft.Text(f.stage_line(s.lang), size=14),
            ft.Text(s.t("squad.totals", n=f.cases, returned=f.returned, voided=f.voided), size=14),
            ft.Row(
                [
                    ft.FilledButton(
                        s.t("squad.queue_button", n=len(snap.queue)),
                        icon=ft.Icons.FACT_CHECK,
                        on_click=lambda e: s.go("review"),
                        height=TOUCH,
                        expand=True,
                    )
                ]
            ),
            *self.orders_part(log),
            ft.OutlinedButton(
                s.t("identity.open"), icon=ft.Icons.MERGE, on_click=lambda e: s.go("identity"), height=TOUCH
            ),
            ft.Text(s.t("squad.officers"), size=18, weight=ft.FontWeight.BOLD),
            *self.officer_cards(snap),
            ft.Text(s.t("squad.filters"), size=18, weight=ft.FontWeight.BOLD),
            *self.filter_controls(snap),
            ft.Text(s.t("squad.chart"), size=18, weight=ft.FontWeight.BOLD),
            self.chart(snap),
            ft.Text(s.t("squad.plan"), size=18, weight=ft.FontWeight.BOLD),
            self.plan(snap.points, snap.without_fix),
            ft.Text(s.t("squad.lines", n=len(snap.lines)), size=18, weight=ft.FontWeight.BOLD),
            *self.case_lines(snap.lines),
            ft.Text(s.t("squad.export"), size=18, weight=ft.FontWeight.BOLD),
            ft.Row(
                [
                    plain_button(s.t("squad.export_pdf"), self.export_pdf, icon=ft.Icons.PICTURE_AS_PDF),
                    plain_button(s.t("squad.export_csv"), self.export_csv, icon=ft.Icons.TABLE_CHART),
                ],
                wrap=True,
            ),
        ]
        if self.busy:
            parts.append(ft.Text(s.t("squad.exporting"), size=14))
        if self.exported is not None:  # where the file is, in full (a path the officer can find)
            parts.append(ft.Text(self.export_note, size=14, key="export_where"))
        return screen_column(parts, spacing=10)

    def orders_part(self, log: Any) -> list[ft.Control]:
        """The day's hotline work orders in the bureau's line, and the way to the squad's open orders."""
        s = self.shell
        parts: list[ft.Control] = []
        if log.work_orders.received:
            parts.append(ft.Text(log.work_orders.line(s.lang), size=14, key="squad_orders_line"))
        parts.append(
            ft.Row(
                [
                    plain_button(
                        s.t("lwo.open"), lambda e: s.go("leader_orders"), icon=ft.Icons.ASSIGNMENT_IND,
                        key="open_leader_orders",
                    )
                ]
            )
        )  # fmt: skip
        return parts

    def day_row(self) -> ft.Control:
        s = self.shell
        return ft.Row(
            [
                ft.IconButton(
                    ft.Icons.CHEVRON_LEFT,
                    tooltip=s.t("squad.day_prev"),
                    on_click=lambda e: self.step(-1),
                    height=TOUCH,
                    width=TOUCH,
                ),
                self.day.field(s.t("squad.day"), key="squad_day", width=140),
                ft.IconButton(
                    ft.Icons.CHEVRON_RIGHT,
                    tooltip=s.t("squad.day_next"),
                    on_click=lambda e: self.step(1),
                    height=TOUCH,
                    width=TOUCH,
                ),
                ft.TextButton(s.t("squad.day_show"), on_click=self.show_day, height=TOUCH),
                ft.TextButton(s.t("squad.day_today"), on_click=self.show_today, height=TOUCH),
            ],
            wrap=True,
            spacing=0,
        )

    def officer_cards(self, snap: SquadSnapshot) -> list[ft.Control]:
        s = self.shell
        if not snap.officers:
            return [ft.Text(s.t("squad.officers_none"), italic=True)]
        return [self.officer_card(o) for o in snap.officers]

    def officer_card(self, officer: OfficerDay) -> ft.Control:
        s = self.shell
        if not officer.shifts:
            shift = s.t("squad.no_shift")
        else:
            start = officer.first_start
            end = officer.last_end
            shift = s.t(
                "squad.shift",
                start=clock_time(start) if start else "—",
                end=clock_time(end) if end else s.t("squad.shift_open"),
            )
        figures = officer.figures
        return ft.Container(
            ft.Column(
                [
                    clipped(
                        s.t("squad.officer", name=officer.name or officer.badge, badge=officer.badge),
                        size=16,
                        weight=ft.FontWeight.BOLD,
                    ),
                    ft.Text(shift, size=14),
                    ft.Text(
                        f"{s.t('squad.officer_cases', n=figures.cases)} · {figures.stage_line(s.lang)}",
                        size=14,
                    ),
                ],
                spacing=2,
            ),
            padding=10,
            border_radius=10,
            border=ft.Border.all(1, ft.Colors.OUTLINE),
            key=f"officer_{officer.badge}",
        )

    def filter_controls(self, snap: SquadSnapshot) -> list[ft.Control]:
        """Officer, violation type and stage as rows of buttons (one tap each; the chosen one filled)."""
        s = self.shell
        f = snap.filters
        officers = [("", s.t("squad.filter_all_officers"))] + [
            (o.badge, s.t("squad.officer", name=o.name or o.badge, badge=o.badge)) for o in snap.officers
        ]
        codes = sorted(set(snap.log.violation_names) | ({f.violation} if f.violation else set()))
        violations = [("", s.t("squad.filter_all_violations"))] + [
            (code, violation_label(self.app.catalogue, code, s.lang)) for code in codes
        ]
        stages = [("", s.t("squad.filter_all_stages"))] + [
            (str(int(st)), stage_name(st, s.lang)) for st in Stage
        ]
        controls: list[ft.Control] = [
            ft.Text(s.t("squad.filter_officer"), size=14),
            self.toggle_row(officers, f.officer or "", self.choose_officer, "filter_officer"),
            ft.Text(s.t("squad.filter_violation"), size=14),
            self.toggle_row(violations, f.violation or "", self.choose_violation, "filter_violation"),
            ft.Text(s.t("squad.filter_stage"), size=14),
            self.toggle_row(
                stages, str(int(f.stage)) if f.stage is not None else "", self.choose_stage, "filter_stage"
            ),
        ]
        if f.active:
            controls.append(ft.Row([plain_button(s.t("squad.filter_clear"), self.clear_filters)]))
        return controls

    @staticmethod
    def toggle_row(options: list[tuple[str, str]], chosen: str, pick: Any, key: str) -> ft.Row:
        return ft.Row(
            [
                (ft.FilledButton if value == chosen else ft.OutlinedButton)(
                    text, on_click=lambda e, v=value: pick(v), height=TOUCH
                )
                for value, text in options
            ],
            wrap=True,
            spacing=6,
            run_spacing=6,
            key=key,
        )

    def chart(self, snap: SquadSnapshot) -> ft.Control:
        """Counted cases of the filtered lines per violation type, names in the UI language."""
        s = self.shell
        if not snap.by_violation:
            return ft.Text(s.t("squad.chart_empty"), italic=True)
        catalogue = self.app.catalogue
        top = max(n for _, n in snap.by_violation)
        groups = [
            fc.BarChartGroup(
                x=i,
                rods=[
                    fc.BarChartRod(
                        from_y=0,
                        to_y=n,
                        width=22,
                        color=ft.Colors.PRIMARY,
                        border_radius=4,
                        tooltip=f"{violation_label(catalogue, code, s.lang)} {n}",
                    )
                ],
            )
            for i, (code, n) in enumerate(snap.by_violation)
        ]
        names = [violation_label(catalogue, code, s.lang) for code, _ in snap.by_violation]
        label_size = axis_label_size(names, s.lang)
        labels = [
            fc.ChartAxisLabel(value=i, label=axis_label(name, s.lang, label_size))
            for i, name in enumerate(names)
        ]
        return fc.BarChart(
            groups=groups,
            bottom_axis=fc.ChartAxis(labels=labels, label_size=label_size),
            left_axis=fc.ChartAxis(label_size=32, label_spacing=max(1, (top + 3) // 4)),
            horizontal_grid_lines=fc.ChartGridLines(interval=max(1, (top + 3) // 4), width=1),
            min_y=0,
            max_y=top + 1,
            interactive=True,
            height=180 + label_size,
            key="chart_by_violation",
        )

    def _count_badge(self, x: float, y: float, count: int) -> list[cv.Shape]:
        text = str(count)
        width = 8 + 7 * len(text)
        return [
            cv.Rect(
                x + 4,
                y - 18,
                width,
                15,
                border_radius=7,
                paint=ft.Paint(color=SPOT_BADGE, style=ft.PaintingStyle.FILL),
            ),
            cv.Text(
                x + 4 + width / 2,
                y - 17,
                text,
                style=ft.TextStyle(size=11, color="#FFFFFF", weight=ft.FontWeight.BOLD),
                alignment=ft.Alignment.TOP_CENTER,
                data="spot_count",
            ),
        ]

    def plan(self, points: list[PlanPoint], without_fix: int) -> ft.Control:
        """The case positions on a plain plan (no map tiles): dots coloured by stage, scale bar, north."""
        s = self.shell
        width, height = PLAN_SIZE
        shapes: list[cv.Shape] = [
            cv.Rect(0, 0, width, height, paint=ft.Paint(color="#F7F7F2", style=ft.PaintingStyle.FILL)),
            cv.Rect(0, 0, width, height, paint=ft.Paint(color="#888888", style=ft.PaintingStyle.STROKE)),
            cv.Text(width - 20, 6, s.t("squad.plan_north"), style=self._plan_text(14)),
            cv.Line(width - 14, 26, width - 14, 44, paint=ft.Paint(color="#333333", stroke_width=2)),
        ]
        placed, scale = place(points, width, height - PLAN_FOOTER, PLAN_MARGIN)
        for spot in spots(placed):
            for point in spot.layers():  # every case drawn, the highest stage on top
                shapes.append(
                    cv.Circle(
                        spot.x,
                        spot.y,
                        7,
                        paint=ft.Paint(color=STAGE_COLOURS[Stage(point.stage)], style=ft.PaintingStyle.FILL),
                    )
                )
                shapes.append(
                    cv.Circle(
                        spot.x, spot.y, 7, paint=ft.Paint(color="#FFFFFF", style=ft.PaintingStyle.STROKE)
                    )
                )
            if spot.count > 1:  # several cases on one spot: a badge with their number
                shapes += self._count_badge(spot.x, spot.y, spot.count)
        if placed:
            bar = scale_bar(scale, width)
            px = bar * scale
            text = (
                s.t("squad.kilometres", n=f"{bar / 1000:g}")
                if bar >= 1000
                else s.t("squad.metres", n=f"{bar:g}")
            )
            shapes.append(
                cv.Line(
                    10, height - 12, 10 + px, height - 12, paint=ft.Paint(color="#333333", stroke_width=2)
                )
            )
            shapes.append(cv.Text(16 + px, height - 22, text, style=self._plan_text(12)))
        else:
            shapes.append(
                cv.Text(
                    width / 2,
                    height / 2,
                    s.t("squad.plan_empty"),
                    style=self._plan_text(14),
                    alignment=ft.Alignment.CENTER,
                )
            )
        legend: list[ft.Control] = [
            ft.Row(
                [
                    ft.Container(width=12, height=12, bgcolor=STAGE_COLOURS[st], border_radius=6),
                    ft.Text(stage_name(st, s.lang), size=12),
                ],
                spacing=4,
                tight=True,
            )
            for st in Stage
        ]
        column: list[ft.Control] = [
            cv.Canvas(shapes=shapes, width=width, height=height, key="squad_plan"),
            ft.Row(legend, spacing=12),
        ]
        if without_fix:
            column.append(ft.Text(s.t("squad.plan_without_fix", n=without_fix), size=12))
        return ft.Column(column, spacing=4)

    @staticmethod
    def _plan_text(size: int) -> ft.TextStyle:
        return ft.TextStyle(size=size, color="#222222", font_family=FONT_FAMILY)

    def case_lines(self, lines: list[CaseLine]) -> list[ft.Control]:
        s = self.shell
        if not lines:
            return [ft.Text(s.t("squad.lines_empty"), italic=True)]
        rows: list[ft.Control] = []
        for line in lines[: self.shown_lines]:
            name = violation_label(self.app.catalogue, line.violation_code, s.lang)
            who = line.officer_name or line.officer_badge
            status: list[ft.Control] = [ft.Text(line.review.label(s.lang), size=12)]
            if time_text := time_flag_text(line, s.lang):  # HQ's words for the same flag
                status.append(
                    ft.Text(time_text, size=12, color=ft.Colors.ERROR, key=f"line_time_flag_{line.case_no}")
                )
            rows.append(
                ft.Container(
                    ft.Row(
                        [
                            ft.Column(
                                [
                                    clipped(
                                        f"{clock_time(line.occurred_at)} {name}",
                                        size=16,
                                        weight=ft.FontWeight.BOLD,
                                    ),
                                    clipped(f"{who} · {line.case_no}", lines=2, size=12),
                                    *status,
                                ],
                                spacing=1,
                                expand=True,
                            ),
                            chip(line.stage, s.lang),
                        ]
                    ),
                    padding=ft.Padding.symmetric(vertical=4),
                    key=f"line_{line.case_no}",
                )
            )
        left = len(lines) - self.shown_lines
        if left > 0:
            rows.append(
                ft.Row([plain_button(s.t("squad.more", n=min(PAGE, left), left=left), self.more_lines)])
            )
        return rows

    # -- handlers --------------------------------------------------------------------------------------
    def _try(self, action: Any) -> None:
        try:
            action()
        except Exception as exc:  # LocalizedError (bad day ...): shown on the screen, nothing changes
            self.error = self.shell.error_text(exc)
        else:
            self.error = ""
            self.day.value = self.squad.day.isoformat()  # typed text is kept only while it is wrong
        self.shell.render()

    def show_day(self, e: Any = None) -> None:
        self._try(lambda: self.squad.set_day(self.day.take()))

    def show_today(self, e: Any = None) -> None:
        self._try(lambda: self.squad.set_day(self.squad.today()))

    def step(self, days: int) -> None:
        self._try(lambda: self.squad.step_day(days))

    def choose_officer(self, badge: str) -> None:
        """``badge``: an officer's badge, "" for every officer."""
        self._try(lambda: self.squad.set_filter(officer=badge))

    def choose_violation(self, code: str) -> None:
        """``code``: a violation code, "" for every type."""
        self._try(lambda: self.squad.set_filter(violation=code))

    def choose_stage(self, value: str) -> None:
        """``value``: a stage number as text, "" for any stage."""
        self._try(lambda: self.squad.set_filter(stage=value))

    def more_lines(self, e: Any = None) -> None:
        self.shown_lines += PAGE
        self.shell.render()

    def clear_filters(self, e: Any = None) -> None:
        self._try(self.squad.clear_filters)

    async def export_pdf(self, e: Any = None) -> None:
        await self.export("pdf")

    async def export_csv(self, e: Any = None) -> None:
        await self.export("csv")

    async def export(self, fmt: Format) -> None:
        """Write the day log into the app's data directory (off the UI loop: a PDF takes a moment), show
        where, and in a browser or on a phone offer the file for download / saving."""
        s = self.shell
        self.busy = True
        s.render()
        try:
            result = await asyncio.to_thread(self.app.squad_export.export, fmt)
        except Exception as exc:  # ExportError (unwritable directory...): shown; the store is untouched
            self.error = s.error_text(exc)
            self.busy = False
            s.render()
            return
        self.busy = False
        self.error = ""
        self.exported = result
        if self.where_saved() == "local":  # a desktop: the data directory's path is one the officer can open
            self.export_note = s.t("squad.exported", path=str(result.path))
            s.message(self.export_note)
            s.render()
            return
        # a browser or a phone: the app's data directory is out of the officer's reach, so its path is never
        # shown; the note says where the download / the save dialog put the file
        self.export_note = await self.offer_download(result)
        s.message(self.export_note)
        s.render()

    def where_saved(self) -> str:
        """Where an exported file can reach the officer: ``web`` (the browser's downloads), ``phone`` (the
        system's save dialog: the app's own data directory is not a place the officer can open), or
        ``local`` (a desktop window: the data directory's path is a real, findable one)."""
        page = self.shell.page
        if page is None:
            return "local"
        if page.web:
            return "web"
        return "phone" if page.platform is not None and page.platform.is_mobile() else "local"

    async def save_dialog(self, result: Exported) -> str | None:
        """The system's save-file dialog with the file's bytes (Flet 1.0 ``FilePicker.save_file``): in a
        browser a download (None comes back), on a phone the path the officer chose (None: cancelled)."""
        picked: str | None = await ft.FilePicker().save_file(
            dialog_title=self.shell.t("squad.save_title"), file_name=result.filename, src_bytes=result.data
        )
        return picked

    async def offer_download(self, result: Exported) -> str:
        """Offer the file through the save dialog where the data directory is out of the officer's reach;
        returns where the file now is, in full ("": the data directory's path, already shown, stands)."""
        s = self.shell
        where = self.where_saved()
        if where == "local":
            return ""
        try:
            picked = await self.save_dialog(result)
        except Exception:  # the browser or phone refused: the file is still saved locally
            return s.t("squad.download_failed", path=str(result.path))
        if where == "web":
            return s.t("squad.downloaded", name=result.filename)
        if picked:
            return s.t("squad.saved_to", path=picked)
        return s.t("squad.save_cancelled", name=result.filename)


#: The chart's axis labels: the font size, and the most room a label gets under the bars (px).
AXIS_FONT = 12
AXIS_MAX = 150


def axis_label(name: str, lang: str, room: int) -> ft.Control:
    """A violation's name under its bar, never broken inside a word: a Chinese name (which Flutter would
    break between any two characters) stands on one line turned upright along the bar; an English one
    lies flat and wraps only between words (a box wide enough for the longest word)."""
    if lang == "zh":
        return ft.Container(
            ft.RotatedBox(
                quarter_turns=3,
                content=ft.Text(name, size=AXIS_FONT, max_lines=1, overflow=ft.TextOverflow.ELLIPSIS),
            ),
            height=room,  # the whole room under the bars, the name at its top: it starts at its bar
            alignment=ft.Alignment.TOP_CENTER,
            padding=ft.Padding.only(top=4),
        )
    longest = max((len(word) for word in name.split()), default=1)
    return ft.Container(
        ft.Text(name, size=AXIS_FONT - 1, text_align=ft.TextAlign.CENTER, max_lines=4),
        width=max(76, round(longest * (AXIS_FONT - 1) * 0.62) + 8),
        height=room,
        alignment=ft.Alignment.TOP_CENTER,
        padding=ft.Padding.only(top=4),
    )


def axis_label_size(names: list[str], lang: str) -> int:
    """Room under the bars for the labels: the longest upright Chinese name, or four lines of English."""
    if lang != "zh":
        return 70
    longest = max((len(name) for name in names), default=1)
    return min(AXIS_MAX, longest * (AXIS_FONT + 1) + 10)
