"""A work order (hotline complaint, #15): what was reported and where, the countdown to HQ's deadline,
到达 (time and GPS; the distance to the reported spot), 办结 with one of the closures (a note and ≥ 1
photo), or 立案: the new-case wizard prefilled with the order's place and violation (the order is
resolved with that case when it is saved)."""

from __future__ import annotations

from typing import Any

import flet as ft

from enforcement.workorders import CLOSURE_TEXT, SOURCE_TEXT, Closure, Source
from mobile.state.workorders import OpenOrder, countdown
from mobile.theme import TOUCH
from mobile.views.common import Host, big_button, choice, day_time, field, plain_button, screen_column, title

try:  # GPS, as on the new-case location step
    import flet_geolocator as ftg
except ImportError:  # pragma: no cover - depends on the installation
    ftg = None

#: The closures offered on the phone without a case (立案 goes through the wizard).
CLOSURES = (Closure.SELF_CORRECTED, Closure.NO_VIOLATION, Closure.TRANSFERRED)


class WorkOrderView:
    def __init__(self, shell: Host, order_id: str) -> None:
        self.shell = shell
        self.app = shell.app
        self.order_id = order_id
        self.outcome = Closure.SELF_CORRECTED.value
        self.note = field(shell.t("wo.note"), key="wo_note", multiline=True)
        self.department = field(shell.t("wo.department"), key="wo_department")
        self.picker: ft.FilePicker | None = None
        self.error = ""
        self.info = ""

    def row(self, label: str, value: str) -> ft.Row:
        return ft.Row(
            [ft.Text(label, size=14, width=80), ft.Text(value, size=16, expand=True)],
            vertical_alignment=ft.CrossAxisAlignment.START,
        )

    def build(self) -> ft.Control:
        s = self.shell
        back = ft.TextButton(
            s.t("nav.back"), icon=ft.Icons.ARROW_BACK, on_click=lambda e: s.go("today"), height=TOUCH
        )
        order = self.app.workorders.order(self.order_id)
        if order is None:
            return ft.Column([ft.Row([back, title(s.t("wo.title"))]), ft.Text(s.t("wo.not_found"))])
        data, row = order.data, order.row
        lang = s.lang
        category = str(data.get("category") or "")
        violations = self.app.catalogue.violations
        name = violations[category].name(lang) if category in violations else category
        source = data.get("source") or ""
        source_text = (
            SOURCE_TEXT[Source(source)][0 if lang == "zh" else 1] if source in set(Source) else source
        )
        colour = ft.Colors.RED_700 if order.overdue else ft.Colors.BLUE_800
        due = s.t("wo.resolve_by" if order.arrived else "wo.arrive_by", time=day_time(order.due))
        parts: list[ft.Control] = [
            ft.Row([back, title(s.t("wo.title"))]),
            ft.Text(
                f"{countdown_text(order, lang)} · {due}",
                size=20,
                weight=ft.FontWeight.BOLD,
                color=colour,
                key="wo_countdown",
            ),
            self.row(s.t("wo.category"), name),
            self.row(s.t("wo.source"), source_text),
            self.row(s.t("wo.place"), order.where()),
            self.row(s.t("wo.description"), str(data.get("description") or "")),
            self.row(
                s.t("wo.caller"), f"{data.get('caller_name') or ''} {data.get('caller_phone') or ''}".strip()
            ),
        ]
        if row.resolved_at is not None:
            closure = CLOSURE_TEXT[Closure(row.closure)][0 if lang == "zh" else 1] if row.closure else ""
            parts.append(
                ft.Text(s.t("wo.resolved", time=day_time(row.resolved_at), closure=closure), size=16)
            )
            return screen_column(parts, spacing=10)
        if order.arrived and row.arrived_at is not None:
            parts.append(ft.Text(s.t("wo.arrived", time=day_time(row.arrived_at)), size=16, key="wo_arrived"))
        else:
            parts.append(
                ft.Row([big_button(s.t("wo.arrive"), self.arrive, icon=ft.Icons.PIN_DROP, key="wo_arrive")])
            )
        if self.info:
            parts.append(ft.Text(self.info, size=14, key="wo_info"))
        photos = len(self.app.workorders.pending_photos.get(self.order_id, []))
        parts += [
            ft.Divider(),
            choice(
                s.t("wo.outcome"),
                self.outcome,
                [(c.value, CLOSURE_TEXT[c][0 if lang == "zh" else 1]) for c in CLOSURES],
                self.choose,
                key="wo_outcome",
            ),
            self.note,
        ]
        if self.outcome == Closure.TRANSFERRED.value:
            parts.append(self.department)
        parts += [
            ft.Row(
                [
                    plain_button(
                        s.t("wo.add_photo"), self.pick_photo, icon=ft.Icons.ADD_A_PHOTO, key="wo_photo"
                    ),
                    ft.Text(s.t("wo.photos", n=photos), size=14, key="wo_photo_count"),
                ]
            ),
            ft.Row([big_button(s.t("wo.resolve"), self.resolve, icon=ft.Icons.TASK_ALT, key="wo_resolve")]),
            ft.Row(
                [plain_button(s.t("wo.record_case"), self.record_case, icon=ft.Icons.GAVEL, key="wo_case")]
            ),
        ]
        if self.error:
            parts.append(ft.Text(self.error, color=ft.Colors.ERROR, key="wo_error"))
        return screen_column(parts, spacing=10)

    def choose(self, e: Any) -> None:
        self.outcome = str(e.control.value or Closure.SELF_CORRECTED.value)
        self.shell.render()

    async def arrive(self, e: Any = None) -> None:
        fix: tuple[float, float, float | None] | None = None
        fix_time: object = None  # the fix's own time: checks the phone's clock (ClockState.note_gps)
        try:
            if ftg is not None and self.shell.page is not None:
                position = await ftg.Geolocator().get_current_position()
                if position.latitude is not None and position.longitude is not None:
                    fix = (position.latitude, position.longitude, getattr(position, "accuracy", None))
                    fix_time = getattr(position, "timestamp", None)
        except Exception:  # refused, no signal, timeout: the arrival is recorded without a position
            fix = None
        if fix is None and self.app.today.fix is not None:
            fix = (*self.app.today.fix, None)
        distance = self.app.workorders.arrive(self.order_id, *(fix or (None, None, None)), fix_time=fix_time)
        s = self.shell
        self.info = s.t("wo.distance", m=round(distance)) if distance is not None else s.t("wo.arrive_no_gps")
        s.render()

    async def pick_photo(self, e: Any = None) -> None:
        if self.shell.page is None:
            return
        if self.picker is None:
            self.picker = ft.FilePicker()
        files = await self.picker.pick_files(
            allow_multiple=True, with_data=True, file_type=ft.FilePickerFileType.IMAGE
        )
        await self.add_photos([f.bytes for f in files or [] if f.bytes])

    async def add_photos(self, blobs: list[bytes]) -> None:
        self.error = ""
        for data in blobs:
            try:
                await self.app.workorders.add_photo(self.order_id, data)
            except Exception as exc:  # PhotoError: not a photo, too large ...
                self.error = self.shell.error_text(exc)
        self.shell.render()

    def resolve(self, e: Any = None) -> None:
        self.error = ""
        try:
            self.app.workorders.resolve(
                self.order_id, self.outcome, self.note.value or "", department=self.department.value or ""
            )
        except Exception as exc:  # DraftError: no note, no photo, no department
            self.error = self.shell.error_text(exc)
        self.shell.render()

    def record_case(self, e: Any = None) -> None:
        self.error = ""
        try:
            self.app.workorders.start_case(self.order_id)
        except Exception as exc:  # an unsaved case draft is open
            self.error = self.shell.error_text(exc)
            self.shell.render()
            return
        self.shell.go("new_case")


def countdown_text(order: OpenOrder, lang: str) -> str:
    """The countdown as 今日 shows it (``mobile.state.workorders.countdown``)."""
    return countdown(order.left, "zh" if lang == "zh" else "en")
