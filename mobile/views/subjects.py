"""Subjects: search the registry while typing and read one subject's history."""

from __future__ import annotations

from typing import Any

import flet as ft

from enforcement.staging import stage_name
from mobile.theme import TOUCH
from mobile.views.common import (
    Host,
    chip,
    clipped,
    day_time,
    field,
    plain_button,
    screen_column,
    subject_label,
    title,
)


class SubjectsView:
    def __init__(self, shell: Host) -> None:
        self.shell = shell
        self.app = shell.app
        self.results = ft.Column(spacing=4)
        self.search = field(shell.t("subjects.search"), self.app.subjects.query, on_change=self.on_search)

    def build(self) -> ft.Control:
        s = self.shell
        self.fill()
        parts: list[ft.Control] = [title(s.t("subjects.title")), self.search, self.results]
        selected = self.app.subjects.selected
        if selected is not None:
            parts.append(ft.Divider())
            parts.append(ft.Text(self.label(selected), size=18, weight=ft.FontWeight.BOLD))
            parts.append(plain_button(s.t("subject.edit.open"), self.edit, icon=ft.Icons.EDIT))
            parts.append(
                ft.Text(
                    s.t("subjects.history") + " · " + s.t("subjects.cases", n=len(self.app.subjects.history))
                )
            )
            for entry in self.app.subjects.history:
                name = self.app.catalogue.name(entry.violation_code, s.lang)
                parts.append(
                    ft.Row(
                        [
                            ft.Text(
                                f"{day_time(entry.occurred_at)} · {name}",
                                size=14,
                                expand=True,
                            ),
                            chip(entry.stage, s.lang),
                        ]
                    )
                )
            parts += self.edit_lines()
        return screen_column(parts, spacing=10)

    def edit_lines(self) -> list[ft.Control]:
        """Who changed which field, when (HQ's record of the subject, issue #22)."""
        s = self.shell
        edits = self.app.subjects.edits
        if not edits:
            return []
        lines: list[ft.Control] = [ft.Text(s.t("subjects.edits"), weight=ft.FontWeight.BOLD)]
        for edit in edits[:10]:
            at = self.app.subjects.edit_time(edit)
            fields = "、".join(s.t(f"subject.{f}") for f in edit.get("fields", []) if f != "hardship")
            text = s.t("subjects.edit_line", version=edit.get("version", ""), at=day_time(at) if at else "",
                       badge=edit.get("by_badge", ""), fields=fields)  # fmt: skip
            lines.append(ft.Text(text, size=13))
        return lines

    def label(self, subject: Any) -> str:
        return subject_label(subject, self.shell.t)

    def fill(self) -> None:
        s = self.shell
        state = self.app.subjects
        if not state.query.strip():
            self.results.controls = [ft.Text(s.t("subjects.empty"), size=14)]
        elif not state.results:
            self.results.controls = [ft.Text(s.t("subjects.none"), size=14)]
        else:
            self.results.controls = [
                ft.ListTile(
                    leading=ft.Icon(ft.Icons.PERSON),
                    title=clipped(self.label(subject), lines=2, size=16),
                    subtitle=ft.Text(s.t(f"subject.kind.{subject.kind.value}"), size=13),
                    on_click=lambda e, sid=subject.id: self.select(sid),
                    min_height=TOUCH,
                )
                for subject in state.results
            ]

    def on_search(self, e: Any) -> None:
        self.app.subjects.search(e.control.value or "")
        self.fill()
        self.shell.update()

    def edit(self, e: Any = None) -> None:
        self.app.subject_edit.open()
        self.shell.go("subject_edit")

    def select(self, subject_id: str) -> None:
        self.app.subjects.select(subject_id)
        self.shell.render()


__all__ = ["SubjectsView", "stage_name"]
