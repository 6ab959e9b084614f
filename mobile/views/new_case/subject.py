"""Step 3, the subject: search (or the officer's recent subjects), the chosen one's earlier cases, a new
subject's form, or "unknown / ran away". The search text and the form's values are kept in the draft."""

from __future__ import annotations

from typing import Any

import flet as ft

from enforcement.model import SubjectKind
from enforcement.staging import stage_name
from mobile.theme import TOUCH
from mobile.views.common import big_button, choice, day_time, field, plain_button
from mobile.views.new_case.base import StepBase


class SubjectStep(StepBase):
    results: ft.Column
    _subject_form: ft.Control | None  # the form's controls, kept across renders (their values: the draft)

    def build_subject(self) -> ft.Control:
        s = self.shell
        draft = self.drafts.draft
        assert draft is not None
        parts: list[ft.Control] = []
        subject = self.drafts.subject()
        if subject is not None or draft.subject_unknown:
            label = self.subject_label(subject) if subject else s.t("case.subject.unknown_chosen")
            parts.append(ft.Text(s.t("case.subject.chosen", label=label), size=18, weight=ft.FontWeight.BOLD))
            parts.append(self.history_list())
        parts.append(
            field(
                s.t("case.subject.search"),
                draft.subject_query,
                on_change=self.search_subject,
                key="subject_search",
            )
        )
        self.fill_results()
        parts.append(self.results)
        if self.drafts.subject_form() is not None:
            parts.append(self.subject_form())
            parts.append(self.likely_block())
        else:
            parts.append(
                ft.Row(
                    [
                        plain_button(
                            s.t("case.subject.new"), self.open_subject_form, icon=ft.Icons.PERSON_ADD
                        ),
                    ],
                    wrap=True,
                )
            )
        parts.append(
            ft.Row(
                [plain_button(s.t("case.subject.unknown"), self.choose_unknown, icon=ft.Icons.DIRECTIONS_RUN)]
            )
        )
        return ft.Column(parts, spacing=10, horizontal_alignment=ft.CrossAxisAlignment.STRETCH)

    def history_list(self) -> ft.Control:
        s = self.shell
        history = self.drafts.history()
        if not history:
            return ft.Text(s.t("case.subject.no_history"), size=14, italic=True)
        lines = [
            ft.Text(
                f"{day_time(h.occurred_at)} · {self.app.catalogue.name(h.violation_code, s.lang)} · "
                f"{stage_name(h.stage, s.lang)}",
                size=14,
            )
            for h in history[:10]
        ]
        return ft.Column([ft.Text(s.t("case.subject.history"), weight=ft.FontWeight.BOLD), *lines], spacing=2)

    def fill_results(self) -> None:
        """Search results while typing; before anything is typed, the officer's recent subjects (a repeat
        vendor in one tap)."""
        s = self.shell
        heading: list[ft.Control] = []
        query = self.drafts.draft.subject_query if self.drafts.draft is not None else ""
        if query.strip():
            found = self.drafts.search_subjects(query)
        else:
            found = self.drafts.recent_subjects()
            if found:
                heading = [ft.Text(s.t("case.subject.recent"), size=15, weight=ft.FontWeight.BOLD)]
        if query.strip() and not found:
            self.results.controls = [ft.Text(s.t("case.subject.none_found"), size=14)]
            return
        self.results.controls = heading + [
            ft.ListTile(
                leading=ft.Icon(ft.Icons.PERSON),
                title=ft.Text(self.subject_label(subject), size=16),
                subtitle=ft.Text(self.subject_summary(subject), size=13),
                on_click=lambda e, sid=subject.id: self.choose_subject(sid),
                min_height=TOUCH,
            )
            for subject in found
        ]

    def subject_summary(self, subject: Any) -> str:
        """Kind, number of earlier cases and the latest one (so the officer sees the record at a glance)."""
        s = self.shell
        earlier = self.drafts.earlier_cases(subject.id)
        parts = [s.t(f"subject.kind.{subject.kind.value}"), s.t("subjects.cases", n=len(earlier))]
        if earlier:
            last = earlier[0]
            name = self.app.catalogue.name(last.violation_code, s.lang)
            parts.append(f"{day_time(last.occurred_at)} {name} {stage_name(last.stage, s.lang)}")
        return " · ".join(parts)

    def search_subject(self, e: Any) -> None:
        self.drafts.type_subject_query(e.control.value or "")
        self.fill_results()
        self.shell.update()

    def choose_subject(self, subject_id: str) -> None:
        self.error = ""
        self.drafts.choose_subject(subject_id)
        self.shell.render()

    def choose_unknown(self, e: Any = None) -> None:
        self.error = ""
        self.drafts.choose_unknown()
        self.shell.render()

    @property
    def new_subject(self) -> dict[str, Any]:
        """The open new-subject form's values (kept in the draft)."""
        return self.drafts.subject_form() or {}

    def open_subject_form(self, e: Any = None) -> None:
        self.drafts.open_subject_form()
        self.shell.render()

    def subject_form(self) -> ft.Control:
        """The new-subject form, made once and kept across renders so nothing typed is replaced."""
        if self._subject_form is None:
            self._subject_form = self.make_subject_form()
        return self._subject_form

    def make_subject_form(self) -> ft.Control:
        s = self.shell
        values = self.drafts.open_subject_form()

        def setter(name: str) -> Any:
            def handler(e: Any) -> None:
                self.drafts.type_subject(name, e.control.value)
                if name in ("kind", "name", "phone", "plate"):
                    self.fill_likely()
                    self.shell.update()

            return handler

        return ft.Card(
            key="subject_form",
            content=ft.Container(
                ft.Column(
                    [
                        choice(
                            s.t("subject.kind"),
                            values["kind"],
                            [(k.value, s.t(f"subject.kind.{k.value}")) for k in SubjectKind],
                            setter("kind"),
                        ),
                        field(s.t("subject.name"), values.get("name", ""), on_change=setter("name")),
                        field(s.t("subject.phone"), values.get("phone", ""), on_change=setter("phone")),
                        field(s.t("subject.plate"), values.get("plate", ""), on_change=setter("plate")),
                        field(s.t("subject.address"), values.get("address", ""), on_change=setter("address")),
                        field(
                            s.t("subject.description"),
                            values.get("description", ""),
                            on_change=setter("description"),
                        ),
                        ft.Switch(
                            label=s.t("subject.hardship"),
                            value=bool(values["hardship"]),
                            on_change=setter("hardship"),
                        ),
                        ft.Row([big_button(s.t("subject.create"), self.create_subject, icon=ft.Icons.SAVE)]),
                    ],
                    spacing=10,
                    horizontal_alignment=ft.CrossAxisAlignment.STRETCH,  # the fields fill the card
                ),
                padding=12,
            ),
        )

    def likely_block(self) -> ft.Column:
        """The "可能是同一当事人" block: registry subjects the new one probably is, with their cases (#22)."""
        if getattr(self, "_likely", None) is None:
            self._likely = ft.Column(spacing=4, key="subject_likely")
        self.fill_likely()
        return self._likely

    def fill_likely(self) -> None:
        s = self.shell
        block = getattr(self, "_likely", None)
        if block is None:
            return
        found = self.drafts.likely_matches()
        tiles: list[ft.Control] = [
            ft.ListTile(
                leading=ft.Icon(ft.Icons.PEOPLE),
                title=ft.Text(f"{self.subject_label(subject)} · {s.t(f'subject.likely.why.{why}')}", size=16),
                subtitle=ft.Text(self.subject_summary(subject), size=13),
                trailing=ft.Text(s.t("subject.likely.use"), size=14),
                on_click=lambda e, sid=subject.id: self.choose_likely(sid),
                min_height=TOUCH,
            )
            for subject, why, _history in found
        ]
        heading = [ft.Text(s.t("subject.likely.title"), size=15, weight=ft.FontWeight.BOLD)] if tiles else []
        block.controls = heading + tiles

    def choose_likely(self, subject_id: str) -> None:
        self.drafts.close_subject_form()
        self._subject_form = None
        self.choose_subject(subject_id)

    def create_subject(self, e: Any = None) -> None:
        try:
            self.drafts.create_subject_from_form()
        except Exception as exc:  # a LocalizedError naming the field; the form keeps what was typed
            self.fail(exc, jump=False)
            return
        self._subject_form = None
        self.error = ""
        self.shell.render()
