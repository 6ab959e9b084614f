"""Today: the shift, the status line (tap to sync now), the subjects nearby with their next stage (after a
GPS fix) and the day's cases, newest first."""

from __future__ import annotations

from typing import Any

import flet as ft

from enforcement.labels import subject_plate
from enforcement.text import LocalizedError
from mobile.i18n import human_bytes
from mobile.state.today import NearbyStage
from mobile.state.workorders import countdown
from mobile.theme import TOUCH
from mobile.views.common import (
    Host,
    Typed,
    big_button,
    chip,
    clipped,
    clock_banner,
    clock_time,
    code_icon,
    day_time,
    nearby_buttons,
    plain_button,
    screen_column,
    sync_badge,
    title,
    violation_label,
)

try:  # GPS, as on the new-case location step
    import flet_geolocator as ftg
except ImportError:  # pragma: no cover - depends on the installation
    ftg = None


class TodayView:
    def __init__(self, shell: Host) -> None:
        self.shell = shell
        self.app = shell.app
        self.grid_cell = Typed()  # a new field at each render (see ``Typed``)
        self.gps_failed = False

    def status_line(self) -> ft.Control:
        s = self.shell
        status = self.app.today.status()
        if status.syncing:
            state, colour = s.t("status.syncing"), ft.Colors.BLUE_700
        elif status.online is False:
            state, colour = s.t("status.offline"), ft.Colors.GREY_700
        else:
            state, colour = s.t("status.online"), ft.Colors.GREEN_800
        waiting = (
            s.t("status.all_sent")
            if status.all_sent
            else s.t(
                "status.waiting", records=status.records_waiting + status.parked, photos=status.photos_waiting
            )
        )
        last = (
            s.t("status.last_sync", when=day_time(status.last_sync))
            if status.last_sync
            else s.t("status.never_synced")
        )
        lines: list[ft.Control] = [
            ft.Text(
                f"{state} · {waiting}", size=16, weight=ft.FontWeight.BOLD, color=colour, key="status_line"
            )
        ]
        lines.append(ft.Text(last, size=14))
        if status.photos_waiting:
            lines.append(ft.Text(human_bytes(s.lang, status.photo_bytes), size=12))
        if status.needs_sign_in:
            lines.append(ft.Text(s.t("sync.needs_sign_in"), color=ft.Colors.ERROR))
        if self.app.store_damage is not None:  # found by the background integrity check
            lines.insert(
                0, ft.Text(s.error_text(self.app.store_damage), color=ft.Colors.ERROR, key="store_damage")
            )
        return ft.Container(
            ft.Row(
                [
                    ft.Icon(
                        ft.Icons.CLOUD_OFF if status.online is False else ft.Icons.CLOUD_DONE, color=colour
                    ),
                    ft.Column(lines, spacing=2, expand=True),
                    ft.TextButton(s.t("sync.now"), on_click=self.sync_now, height=TOUCH),
                ]
            ),
            on_click=self.sync_now,
            padding=10,
            border_radius=10,
            border=ft.Border.all(1, colour),
        )

    def build(self) -> ft.Control:
        s = self.shell
        shift = self.app.today.shift()
        if shift is None:
            shift_row: list[ft.Control] = [
                ft.Text(s.t("today.off_shift"), size=16),
                self.grid_cell.field(s.t("today.grid_cell"), key="today_grid"),
                ft.Row([plain_button(s.t("today.shift_start"), self.start_shift, icon=ft.Icons.PLAY_ARROW)]),
            ]
        else:
            shift_row = [
                ft.Row(
                    [
                        ft.Text(
                            s.t("today.on_shift_since", time=clock_time(shift.started_at)),
                            size=16,
                            expand=True,
                        ),
                        plain_button(s.t("today.shift_end"), self.end_shift, icon=ft.Icons.STOP),
                    ]
                )
            ]
        cases = self.app.today.cases()
        officer = self.app.session.officer
        header = (
            s.t("signin.signed_in_as", name=officer.name, badge=officer.badge, squad=officer.squad_name)
            if officer
            else ""
        )
        rows: list[ft.Control] = [self.case_tile(entry) for entry in cases]
        if not rows:
            rows = [ft.Text(s.t("today.empty"), size=16, italic=True)]
        return screen_column(
            [
                title(s.t("today.title")),
                ft.Text(header, size=14),
                clock_banner(self.app.today.clock_banner(s.lang)),
                self.status_line(),
                *shift_row,
                self.work_orders(),
                ft.Row([big_button(s.t("today.new_case"), self.new_case, icon=ft.Icons.ADD_A_PHOTO)]),
                self.nearby(),
                ft.Text(s.t("today.count", n=len(cases)), size=16, weight=ft.FontWeight.BOLD),
                *rows,
            ],
            spacing=12,
        )

    def nearby(self) -> ft.Control:
        """The known subjects near the GPS fix, one line each with the stage of their next case."""
        s = self.shell
        lines: list[ft.Control] = [ft.Text(s.t("today.nearby.title"), size=16, weight=ft.FontWeight.BOLD)]
        if self.app.today.fix is None:
            lines.append(
                ft.Row([plain_button(s.t("today.nearby.locate"), self.locate, icon=ft.Icons.MY_LOCATION)])
            )
            if self.gps_failed:
                lines.append(ft.Text(s.t("today.nearby.gps_failed"), size=14))
        else:
            lines += nearby_buttons(self.shell, self.app.today.nearby(), self.quick_pick)
            if len(lines) == 1:
                lines.append(ft.Text(s.t("today.nearby.none"), size=14, italic=True))
        return ft.Column(lines, spacing=4, key="nearby")

    def quick_pick(self, near: NearbyStage) -> None:
        """One tap on a nearby subject: a case for it with the violation recorded here and the fix as the
        place; the wizard opens on the first step that needs the officer (often the camera)."""
        try:
            self.app.drafts.start_from(near.subject.id, near.violation_code, self.app.today.fix)
        except LocalizedError as exc:  # an unsaved draft is open: it is continued instead
            self.shell.message(self.shell.error_text(exc))
        self.shell.go("new_case")

    async def locate(self, e: Any = None) -> None:
        self.gps_failed = False
        try:
            if ftg is None or self.shell.page is None:
                raise RuntimeError("no GPS here")
            position = await ftg.Geolocator().get_current_position()
            if position.latitude is None or position.longitude is None:
                raise ValueError("no position")
            self.app.today.set_fix(position.latitude, position.longitude, fix_time=position.timestamp)
        except Exception:  # refused, no signal, timeout: the list simply stays closed
            self.gps_failed = True
        self.shell.render()

    def case_tile(self, entry: Any) -> ft.Control:
        s = self.shell
        case = entry.case
        subject = self.app.store.get_subject(case.subject_id) if case.subject_id else None
        who = (
            (subject.name or subject_plate(subject) or subject.description)
            if subject
            else s.t("case.subject.unknown_chosen")
        )
        details: list[ft.Control] = [
            clipped(f"{clock_time(case.occurred_at)} · {who}", lines=2, size=14, key=f"who_{case.case_no}"),
            sync_badge(entry.sync_state, s.lang),
        ]
        if entry.photos_missing:
            details.append(ft.Text(s.t("today.photos_missing", n=entry.photos_missing), size=12))
        return ft.ListTile(
            leading=code_icon(self.app.catalogue, case.violation_code, 36),
            title=clipped(
                violation_label(self.app.catalogue, case.violation_code, s.lang),
                size=18,
                weight=ft.FontWeight.BOLD,
            ),
            subtitle=ft.Column(details, spacing=2, tight=True),
            trailing=chip(case.chosen_stage, s.lang),
            on_click=lambda e, case_id=case.id: self.shell.go("case", case_id),
            min_height=TOUCH + 20,
            key=f"case_{case.case_no}",
        )

    def work_orders(self) -> ft.Control:
        """工单: the officer's open work orders, overdue first (red), then by time left."""
        s = self.shell
        orders = self.app.workorders.open_orders()
        lines: list[ft.Control] = [ft.Text(s.t("wo.section"), size=16, weight=ft.FontWeight.BOLD)]
        if not orders:
            lines.append(ft.Text(s.t("wo.none"), size=14, italic=True))
        for order in orders:
            colour = ft.Colors.RED_700 if order.overdue else None
            due = s.t("wo.resolve_by" if order.arrived else "wo.arrive_by", time=day_time(order.due))
            category = str(order.data.get("category") or "")
            name = (
                self.app.catalogue.get(category).name(s.lang)
                if category in self.app.catalogue.violations
                else ""
            )
            lines.append(
                ft.ListTile(
                    leading=ft.Icon(
                        ft.Icons.ASSIGNMENT_LATE if order.overdue else ft.Icons.ASSIGNMENT, color=colour
                    ),
                    title=clipped(
                        s.t("wo.line", category=name or category, where=order.where()),
                        lines=2,
                        size=16,
                        weight=ft.FontWeight.BOLD,
                        color=colour,
                    ),
                    subtitle=ft.Text(
                        f"{countdown(order.left, s.lang)} · {due}",
                        size=14,
                        color=colour,
                        key=f"wo_left_{order.order_id}",
                    ),
                    on_click=lambda e, order_id=order.order_id: self.shell.go("work_order", order_id),
                    min_height=TOUCH + 20,
                    key=f"wo_{order.order_id}",
                )
            )
        return ft.Column(lines, spacing=4, key="work_orders")

    def start_shift(self, e: Any = None) -> None:
        self.app.today.start_shift(self.grid_cell.take())
        self.shell.render()

    def end_shift(self, e: Any = None) -> None:
        self.app.today.end_shift()
        self.shell.render()

    def sync_now(self, e: Any = None) -> None:
        self.app.today.sync_now()
        self.shell.render()

    def new_case(self, e: Any = None) -> None:
        self.shell.go("new_case")
