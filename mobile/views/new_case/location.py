"""Step 2, the place: the GPS fix (asked for when the step opens), else the address, grid cell or why
there is no fix."""

from __future__ import annotations

from typing import Any

import flet as ft

from mobile.views.common import field, plain_button
from mobile.views.new_case.base import StepBase

try:  # GPS: the prebuilt web client and phone builds include it; a desktop dev box may not
    import flet_geolocator as ftg
except ImportError:  # pragma: no cover - depends on the installation
    ftg = None


class LocationStep(StepBase):
    geolocator: Any
    locating: bool  # a GPS request is under way (asked for once when the location step opens)

    def where_card(self, *, guidance: bool) -> list[ft.Control]:
        raise NotImplementedError  # ZonesPanel's

    def auto_locate(self) -> None:
        """On the location step without a fix, ask for one at once (the button stays to retry)."""
        draft = self.drafts.draft
        page = self.shell.page
        if draft is None or self.step != "location" or self.locating or page is None or ftg is None:
            return
        if draft.lat is None and not draft.no_fix_reason:
            self.shell.run_task(self.locate)

    def build_location(self) -> ft.Control:
        s = self.shell
        draft = self.drafts.draft
        assert draft is not None
        fix = self.fix_text()
        return ft.Column(
            [
                ft.Row([plain_button(s.t("case.location.gps"), self.locate, icon=ft.Icons.MY_LOCATION)]),
                ft.Text(fix, size=16, key="gps_fix"),
                *self.where_card(guidance=False),
                field(s.t("case.location.address"), draft.address, on_change=self.typed("address")),
                field(s.t("case.location.grid_cell"), draft.grid_cell, on_change=self.typed("grid_cell")),
                field(
                    s.t("case.location.no_fix_reason"),
                    draft.no_fix_reason,
                    on_change=self.typed("no_fix_reason"),
                ),
            ],
            spacing=12,
            horizontal_alignment=ft.CrossAxisAlignment.STRETCH,
        )

    async def locate(self, e: Any = None) -> None:
        s = self.shell
        if ftg is None or s.page is None:
            self.gps_note = s.t("case.location.gps_failed")
            s.render()
            return
        self.gps_note = s.t("case.location.gps_working")
        self.locating = True
        s.render()
        asked_for = self.drafts.draft.case_id if self.drafts.draft is not None else None
        try:
            if self.geolocator is None:
                self.geolocator = ftg.Geolocator()
            status = await self.geolocator.request_permission()
            if str(getattr(status, "value", status)).lower() in ("denied", "denied_forever", "deniedforever"):
                self.gps_note = s.t("case.location.gps_denied")
            else:
                position = await self.geolocator.get_current_position()
                if position.latitude is None or position.longitude is None:
                    raise ValueError("no position")
                self.drafts.set_position(
                    position.latitude,
                    position.longitude,
                    position.accuracy,
                    advance=True,
                    # the fix's own time checks the phone's clock (ClockState.note_gps); HQ's time,
                    # once known, wins, and the same cached fix handed back again is not taken as now
                    fix_time=getattr(position, "timestamp", None),
                    # the draft the fix was asked for: not another one open by the time it comes
                    for_case=asked_for or "",
                )
                self.gps_note = ""
        except Exception:  # permission refused, no signal, timeout: the officer types the place instead
            self.gps_note = s.t("case.location.gps_failed")
        finally:
            self.locating = False
        s.render()
