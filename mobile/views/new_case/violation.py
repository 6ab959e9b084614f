"""Step 1, the violation: a grid of the officer's most used violations (all of them after "more")."""

from __future__ import annotations

from typing import Any

import flet as ft

from mobile.views.common import plain_button, violation_icon
from mobile.views.new_case.base import StepBase

#: Violations shown in the grid before "more".
GRID_SIZE = 12


class ViolationStep(StepBase):
    show_all: bool  # the whole catalogue is shown (how the grid looks, not something typed)

    def build_violation(self) -> ft.Control:
        s = self.shell
        chosen = self.drafts.draft.violation_code if self.drafts.draft else ""
        choices = self.drafts.violation_choices()
        shown = choices if self.show_all else choices[:GRID_SIZE]
        tiles = [self.violation_tile(v, v.code == chosen) for v in shown]
        parts: list[ft.Control] = [ft.Row(tiles, wrap=True, spacing=8, run_spacing=8)]
        if not self.show_all:
            parts.append(
                plain_button(s.t("case.violation.more"), self.more_violations, icon=ft.Icons.EXPAND_MORE)
            )
        return ft.Column(parts, spacing=8, horizontal_alignment=ft.CrossAxisAlignment.STRETCH)

    def violation_tile(self, violation: Any, selected: bool) -> ft.Control:
        return ft.Container(
            ft.Column(
                [
                    violation_icon(violation.icon, 40),
                    ft.Text(
                        violation.name(self.shell.lang), size=15, text_align=ft.TextAlign.CENTER, max_lines=2
                    ),
                ],
                horizontal_alignment=ft.CrossAxisAlignment.CENTER,
                alignment=ft.MainAxisAlignment.CENTER,
                spacing=4,
            ),
            on_click=lambda e, code=violation.code: self.choose_violation(code),
            width=118,
            height=112,
            border_radius=12,
            padding=6,
            bgcolor=ft.Colors.PRIMARY_CONTAINER if selected else ft.Colors.SURFACE_CONTAINER_HIGHEST,
            border=ft.Border.all(3 if selected else 1, ft.Colors.PRIMARY if selected else ft.Colors.OUTLINE),
            key=f"violation_{violation.code}",
        )

    def more_violations(self, e: Any = None) -> None:
        self.show_all = True
        self.shell.render()

    def choose_violation(self, code: str) -> None:
        self.error = ""
        self.drafts.choose_violation(code)
        self.shell.render()
