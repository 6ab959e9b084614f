"""Edit a subject's fields (issue #22): the form of ``SubjectEditState``, each field checked as typed with
its error under it, saved offline (HQ merges it field by field with edits made meanwhile)."""

from __future__ import annotations

from typing import Any

import flet as ft

from mobile.state.subject_edit import TEXT_FIELDS
from mobile.views.common import Host, big_button, field, plain_button, screen_column, subject_label, title

#: The label key of each field of the form.
LABELS = {name: f"subject.{name}" for name in TEXT_FIELDS}


class SubjectEditView:
    def __init__(self, shell: Host) -> None:
        self.shell = shell
        self.app = shell.app
        self.fields: dict[str, ft.TextField] = {}

    def build(self) -> ft.Control:
        s = self.shell
        state = self.app.subject_edit
        if state.subject is None:
            return screen_column(
                [title(s.t("subject.edit.title")), plain_button(s.t("subject.edit.back"), self.back)],
                spacing=12,
            )
        parts: list[ft.Control] = [
            title(s.t("subject.edit.title")),
            ft.Text(subject_label(state.subject, s.t), size=16),
            ft.Text(s.t(f"subject.kind.{state.subject.kind.value}"), size=14),
        ]
        for name in TEXT_FIELDS:
            error = state.errors.get(name)
            box = field(
                s.t(LABELS[name]),
                str(state.form.get(name, "")),
                on_change=self.setter(name),
                error=error.message(s.lang) if error is not None else None,
                multiline=name == "description",
            )
            self.fields[name] = box
            parts.append(box)
        parts.append(
            ft.Switch(
                label=s.t("subject.hardship"),
                value=bool(state.form.get("hardship")),
                on_change=self.setter("hardship"),
            )
        )
        other = {k: v for k, v in state.errors.items() if k not in TEXT_FIELDS}
        for err in other.values():
            parts.append(ft.Text(err.message(s.lang), color=ft.Colors.ERROR))
        parts.append(ft.Text(s.t("subject.edit.offline_note"), size=13))
        parts.append(
            ft.Row(
                [
                    big_button(s.t("subject.edit.save"), self.save, icon=ft.Icons.SAVE),
                    plain_button(s.t("subject.edit.cancel"), self.back),
                ]
            )
        )
        return screen_column(parts, spacing=10)

    def setter(self, name: str) -> Any:
        def change(e: Any) -> None:
            error = self.app.subject_edit.set(name, e.control.value)
            box = self.fields.get(name)
            if box is not None:
                box.error = error.message(self.shell.lang) if error is not None else None
            self.shell.update()

        return change

    def save(self, e: Any = None) -> None:
        stored = self.app.subject_edit.save()
        if stored is None:
            self.shell.render()
            return
        self.shell.message(self.shell.t("subject.edit.saved"))
        self.shell.go("subjects")

    def back(self, e: Any = None) -> None:
        self.app.subject_edit.close()
        self.shell.go("subjects")
