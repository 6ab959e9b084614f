"""当事人合并 on the leader's phone (issue #22): HQ's merge suggestions and open field conflicts of the
district (``IdentityState``), each pair with both subjects and the cases this phone holds of each, Merge,
and a conflict's values with Keep / Take. Merge and resolve go to HQ; offline the screen says so."""

from __future__ import annotations

from typing import Any

import flet as ft

from mobile.theme import TOUCH
from mobile.views.common import Host, big_button, plain_button, screen_column, title


class IdentityView:
    def __init__(self, shell: Host) -> None:
        self.shell = shell
        self.app = shell.app

    def build(self) -> ft.Control:
        s = self.shell
        state = self.app.identity
        parts: list[ft.Control] = [title(s.t("identity.title"))]
        if not self.app.squad.is_leader:
            return screen_column([*parts, ft.Text(s.t("identity.leaders_only"))], spacing=10)
        parts.append(big_button(s.t("identity.refresh"), self.refresh, icon=ft.Icons.REFRESH))
        if state.error is not None:
            parts.append(
                ft.Text(state.error.message(s.lang), color=ft.Colors.ERROR, size=15, key="identity_error")
            )
        if state.note:
            parts.append(ft.Text(s.t(state.note), size=15, key="identity_note"))
        parts.append(
            ft.Text(s.t("identity.pairs", n=len(state.suggestions)), size=18, weight=ft.FontWeight.BOLD)
        )
        parts += [self.pair_card(pair) for pair in state.suggestions] or [ft.Text(s.t("identity.none"))]
        parts.append(
            ft.Text(s.t("identity.conflicts", n=len(state.conflicts)), size=18, weight=ft.FontWeight.BOLD)
        )
        parts += [self.conflict_card(c) for c in state.conflicts] or [ft.Text(s.t("identity.none"))]
        return screen_column(parts, spacing=10)

    def why(self, pair: Any) -> str:
        s = self.shell
        words = [s.t(f"identity.why.{part}") for part in pair.reason.split(",") if part]
        return s.t("identity.why", why="、".join(words) if s.lang == "zh" else ", ".join(words))

    def pair_card(self, pair: Any) -> ft.Control:
        s = self.shell
        strong = pair.strength == "strong"
        a, b = self.app.identity.sides(pair)
        return ft.Container(
            ft.Column(
                [
                    ft.Text(
                        s.t("identity.strong" if strong else "identity.weak"),
                        weight=ft.FontWeight.BOLD,
                        color=ft.Colors.ERROR if strong else None,
                    ),
                    ft.Text(self.why(pair), size=14),
                    ft.Text(s.t("identity.side", label=a.label, n=a.cases), size=15),
                    ft.Text(s.t("identity.side", label=b.label, n=b.cases), size=15),
                    plain_button(
                        s.t("identity.merge"),
                        lambda e, p=pair: self.shell.run_task(self.merge, p),
                        icon=ft.Icons.MERGE,
                        key=f"merge-{pair.a}-{pair.b}",
                    ),
                ],
                spacing=4,
            ),
            border=ft.Border.all(1, ft.Colors.OUTLINE),
            border_radius=6,
            padding=8,
        )

    def conflict_card(self, conflict: Any) -> ft.Control:
        s = self.shell
        line = s.t(
            "identity.conflict_line",
            field=s.t(f"subject.{conflict.field}"),
            base=conflict.base_value or "—",
            hq=conflict.hq_value or "—",
            pushed=conflict.pushed_value or "—",
            badge=conflict.by_badge,
        )
        return ft.Column(
            [
                ft.Text(line, size=15),
                ft.Row(
                    [
                        ft.OutlinedButton(
                            s.t("identity.keep_hq"),
                            on_click=lambda e, c=conflict: self.shell.run_task(self.resolve, c, "hq"),
                            height=TOUCH,
                        ),
                        ft.OutlinedButton(
                            s.t("identity.take_pushed"),
                            on_click=lambda e, c=conflict: self.shell.run_task(self.resolve, c, "pushed"),
                            height=TOUCH,
                        ),
                    ],
                    wrap=True,
                ),
            ],
            spacing=4,
        )

    async def refresh(self, e: Any = None) -> None:
        await self.app.identity.refresh()
        self.shell.render()

    async def merge(self, pair: Any) -> None:
        await self.app.identity.merge(pair)
        self.shell.render()

    async def resolve(self, conflict: Any, take: str) -> None:
        await self.app.identity.resolve(conflict, take)
        self.shell.render()
