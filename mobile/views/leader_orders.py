"""The squad leader's work orders (#15): each officer's open orders, overdue ones in red, and 改派: tap an
order, pick an officer of the squad, assign it at HQ (online only). Offline the list is the last pulled
state with a dated note. The logic is ``mobile.state.leader_orders``'s."""

from __future__ import annotations

import asyncio
from typing import Any

import flet as ft

from mobile.state.workorders import countdown
from mobile.views.common import (
    Host,
    big_button,
    choice,
    clock_time,
    day_time,
    field,
    screen_column,
    title,
    violation_label,
)


class LeaderOrdersView:
    def __init__(self, shell: Host) -> None:
        self.shell = shell
        self.app = shell.app
        self.selected: str | None = None
        self.badge = ""
        #: another officer of the squad by badge (the phone knows only those its pulled records name)
        self.other = field(shell.t("lwo.other"), key="lwo_other", max_length=32)
        self.error = ""
        self.busy = False

    def build(self) -> ft.Control:
        s = self.shell
        back = ft.TextButton(s.t("nav.back"), icon=ft.Icons.ARROW_BACK, on_click=lambda e: s.go("squad"))
        parts: list[ft.Control] = [ft.Row([back, title(s.t("lwo.title"))])]
        try:
            snap = self.app.leader_orders.snapshot(s.lang)
        except Exception as exc:  # not a leader
            return ft.Column([*parts, ft.Text(s.error_text(exc), color=ft.Colors.ERROR)])
        if snap.offline:
            text = (
                s.t("lwo.offline", time=day_time(snap.pulled_at))
                if snap.pulled_at is not None
                else s.t("lwo.never")
            )
            parts.append(
                ft.Container(
                    ft.Text(text, size=14, color=ft.Colors.ON_TERTIARY_CONTAINER, key="lwo_offline"),
                    bgcolor=ft.Colors.TERTIARY_CONTAINER,
                    padding=8,
                    border_radius=6,
                )
            )
        elif snap.pulled_at is not None:
            parts.append(ft.Text(s.t("lwo.pulled", time=clock_time(snap.pulled_at)), size=12))
        overdue = sum(g.overdue for g in snap.groups)
        summary = s.t("lwo.summary", n=snap.open_total, overdue=overdue)
        parts.append(ft.Text(summary, size=16, weight=ft.FontWeight.BOLD, key="lwo_summary"))
        if snap.note:
            parts.append(ft.Text(snap.note, size=14, key="lwo_note"))
        if self.error:
            parts.append(ft.Text(self.error, color=ft.Colors.ERROR, size=14, key="lwo_error"))
        if not snap.groups:
            parts.append(ft.Text(s.t("lwo.none"), size=14))
        catalogue = self.app.catalogue
        for group in snap.groups:
            who = f"{group.name} {group.badge}".strip() if group.badge else s.t("lwo.unassigned")
            head = s.t("lwo.officer", who=who, n=len(group.orders), overdue=group.overdue)
            colour = ft.Colors.RED_700 if group.overdue else None
            key = f"lwo_officer_{group.badge or 'none'}"
            parts.append(ft.Text(head, size=16, weight=ft.FontWeight.BOLD, color=colour, key=key))
            for order in group.orders:
                line = s.t(
                    "lwo.line",
                    category=violation_label(catalogue, order.category, s.lang),
                    where=order.where,
                    countdown=countdown(order.left, "zh" if s.lang == "zh" else "en"),
                )
                parts.append(
                    ft.TextButton(
                        content=ft.Text(line, size=15, color=ft.Colors.RED_700 if order.overdue else None),
                        on_click=lambda e, oid=order.order_id, b=order.officer: self.select(oid, b),
                        key=f"lwo_order_{order.order_id}",
                    )
                )
                if order.order_id == self.selected:
                    officers = [(b, f"{n} {b}".strip()) for b, n in snap.officers]
                    parts.append(
                        choice(s.t("lwo.assign_to"), self.badge, officers, self.choose, key="lwo_badge")
                    )
                    parts.append(self.other)
                    parts.append(
                        ft.Row(
                            [
                                big_button(
                                    s.t("lwo.assign"), self.assign, icon=ft.Icons.SWAP_HORIZ, key="lwo_assign"
                                )
                            ]
                        )
                    )
        return screen_column(parts, spacing=8)

    def select(self, order_id: str, badge: str) -> None:
        self.selected = None if self.selected == order_id else order_id
        self.badge = badge
        self.error = ""
        self.shell.render()

    def choose(self, e: Any) -> None:
        self.badge = str(e.control.value or "")
        self.shell.render()

    async def assign(self, e: Any = None) -> None:
        if self.busy or self.selected is None:
            return
        self.busy, self.error = True, ""
        try:
            badge = (self.other.value or "").strip() or self.badge
            await asyncio.to_thread(self.app.leader_orders.assign, self.selected, badge)
            self.selected = None
            self.other.value = ""
        except Exception as exc:  # offline, HQ refused (not the squad's officer, resolved meanwhile)
            self.error = self.shell.error_text(exc)
        finally:
            self.busy = False
        self.shell.render()
