"""Where the officer stands (the location step at the fix, and again on the action step): street with its
class and approach, grid cell, and for vending violations the nearest open 疏导点, the next to open and the
guidance buttons 引导至…. Everything is computed by ``mobile.state.draft_zones`` / ``mobile.state.zones``;
this only renders it."""

from __future__ import annotations

from typing import Any

import flet as ft

from mobile.views.common import plain_button
from mobile.views.new_case.base import StepBase


class ZonesPanel(StepBase):
    def where_card(self, *, guidance: bool) -> list[ft.Control]:
        s = self.shell
        where = self.drafts.whereabouts(s.lang)
        draft = self.drafts.draft
        if where is None or draft is None:
            return []
        lines = [where.street, where.grid, where.allowed, where.nearest, where.next_open]
        parts: list[ft.Control] = [ft.Text(s.t("zones.title"), size=14, weight=ft.FontWeight.BOLD)]
        parts += [ft.Text(line, size=16, key=f"zone_line_{i}") for i, line in enumerate(lines) if line]
        if guidance and where.choices:
            if draft.guided_spot_id:
                parts.append(
                    ft.Text(s.t("zones.guided", name=draft.guided_spot_name), size=16, key="zone_guided")
                )
                parts.append(ft.Row([plain_button(s.t("zones.guide_clear"), self.clear_guidance)]))
            else:
                parts += [
                    ft.Row(
                        [
                            plain_button(
                                c.label, lambda e, spot=c.spot_id: self.guide(spot), icon=ft.Icons.PLACE
                            )
                        ]
                    )
                    for c in where.choices
                ]
        return [
            ft.Container(ft.Column(parts, spacing=4), padding=8, border=ft.Border.all(1, ft.Colors.OUTLINE))
        ]

    def guide(self, spot_id: str) -> None:
        self.drafts.guide_to_spot(spot_id)
        self.shell.render()

    def clear_guidance(self, e: Any = None) -> None:
        self.drafts.clear_guidance()
        self.shell.render()
