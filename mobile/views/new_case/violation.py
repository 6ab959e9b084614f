"""Step 1, the violation: a search over the violations' names and common names (烧烤, 渣土, 占道经营),
and a grid of the officer's most used violations (all of them after "more")."""

from __future__ import annotations

from typing import Any

import flet as ft

from mobile.views.common import field, plain_button, violation_icon
from mobile.views.new_case.base import StepBase

#: Violations shown in the grid before "more".
GRID_SIZE = 12


class ViolationStep(StepBase):
    show_all: bool  # the whole catalogue is shown (how the grid looks, not something typed)
    violation_grid: ft.Row  # the tiles (refilled as the search is typed)
    more_button: ft.Control  # 更多类型 (hidden while a search shows its results)

    def build_violation(self) -> ft.Control:
        s = self.shell
        query = self.drafts.draft.violation_query if self.drafts.draft else ""
        self.more_button = plain_button(
            s.t("case.violation.more"), self.more_violations, icon=ft.Icons.EXPAND_MORE, key="violation_more"
        )
        parts: list[ft.Control] = [
            field(
                s.t("case.violation.search"),
                query,
                on_change=self.search_violation,
                prefix_icon=ft.Icons.SEARCH,
                key="violation_search",
            ),
            self.violation_grid,
            self.more_button,
        ]
        self.fill_violations()
        return ft.Column(parts, spacing=8, horizontal_alignment=ft.CrossAxisAlignment.STRETCH)

    def fill_violations(self) -> None:
        """The tiles: what the search finds while something is typed, else the officer's choices."""
        s = self.shell
        chosen = self.drafts.draft.violation_code if self.drafts.draft else ""
        found = self.drafts.violation_results()
        # "more" widens the grid of the officer's choices: not while a search shows what it found
        self.more_button.visible = found is None and not self.show_all
        if found is None:
            choices = self.drafts.violation_choices()
            found = choices if self.show_all else choices[:GRID_SIZE]
        elif not found:
            self.violation_grid.controls = [
                ft.Text(s.t("case.violation.none_found"), size=15, key="violation_none")
            ]
            return
        self.violation_grid.controls = [self.violation_tile(v, v.code == chosen) for v in found]

    def search_violation(self, e: Any) -> None:
        self.drafts.type_violation_query(e.control.value or "")
        self.fill_violations()
        self.shell.guard_tree(self.violation_grid)
        self.shell.update()  # the grid only: the search field keeps its focus

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
