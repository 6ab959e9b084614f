"""The clock banner of 今日 and the new-case wizard (``mobile.state.clock``): shown while the phone's clock
is known to be wrong, hidden otherwise."""

from __future__ import annotations

import flet as ft


def clock_banner(text: str) -> ft.Control:
    return ft.Container(
        ft.Row(
            [
                ft.Icon(ft.Icons.SCHEDULE, color=ft.Colors.ORANGE_900),
                ft.Text(text, size=15, color=ft.Colors.ORANGE_900, expand=True, key="clock_banner_text"),
            ]
        ),
        visible=bool(text),
        padding=10,
        border_radius=10,
        bgcolor=ft.Colors.ORANGE_50,
        border=ft.Border.all(1, ft.Colors.ORANGE_900),
        key="clock_banner",
    )
