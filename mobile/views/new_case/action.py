"""Step 5, the action: the applied stage again, the disposition and its fields (fine, notice number,
deadline, receiving department), the legal basis, seized items where the violation allows, notes. Every
value, the seized item being entered included, is typed into the draft."""

from __future__ import annotations

from typing import Any

import flet as ft

from enforcement.model import Disposition
from mobile.theme import TOUCH
from mobile.views.common import chip, choice, field, plain_button
from mobile.views.new_case.base import StepBase

#: The draft field (and its label ``case.<field>``) a disposition asks for, besides the fine of a penalty.
DISPOSITION_FIELD = {
    Disposition.WARNING_NOTICE: "warning_notice_no",
    Disposition.RECTIFY_ORDER: "rectify_deadline",
    Disposition.REFERRED: "referred_to",
}

#: Fields checked as they are typed (``CaseDraftState.field_problem``).
CHECKED_FIELDS = ("fine_yuan", "rectify_deadline")


class ActionStep(StepBase):
    def open_override(self, e: Any = None) -> None:
        raise NotImplementedError  # StageStep's (the action step offers another stage too)

    def where_card(self, *, guidance: bool) -> list[ft.Control]:
        raise NotImplementedError  # ZonesPanel's (where the officer stands, 引导至疏导点)

    def build_action(self) -> ft.Control:
        s = self.shell
        draft = self.drafts.draft
        assert draft is not None
        disposition = self.drafts.disposition()
        parts: list[ft.Control] = [
            *self.stage_card(),
            *self.where_card(guidance=self.drafts.is_vending()),
            choice(
                s.t("disposition"),
                disposition.value,
                [(d.value, s.t(f"disposition.{d.value}")) for d in self.drafts.dispositions()],
                self.choose_disposition,
                key="disposition",
            ),
        ]
        if disposition is Disposition.PENALTY:
            limits = self.drafts.fine_range_text(s.lang)
            if limits:
                parts.append(ft.Text(s.t("case.fine_range", range=limits), size=14, key="fine_range"))
            parts += self.checked_field("fine_yuan", keyboard_type=ft.KeyboardType.NUMBER)
        name = DISPOSITION_FIELD.get(disposition)
        if name in CHECKED_FIELDS:
            parts += self.checked_field(name)
        elif name is not None:
            parts.append(field(s.t(f"case.{name}"), getattr(draft, name), on_change=self.typed(name)))
        hint = self.drafts.notice_hint()  # no notice book (left): the number is typed from the paper book
        if hint is not None:
            parts.append(ft.Text(s.t(hint), size=13, key="notice_hint"))
        parts.append(
            field(
                s.t("case.legal_basis"),
                draft.legal_basis,
                on_change=self.typed("legal_basis"),
                multiline=True,
            )
        )
        if self.drafts.seizure_allowed():
            parts.append(self.seizure_block())
        parts.append(field(s.t("case.notes"), draft.notes, on_change=self.typed("notes"), multiline=True))
        return ft.Column(parts, spacing=10, horizontal_alignment=ft.CrossAxisAlignment.STRETCH)

    def checked_field(self, name: str, **kwargs: Any) -> list[ft.Control]:
        """A field checked as it is typed, by the rule review and save apply
        (``CaseDraftState.field_problem``): the field, and under it what is wrong with its value."""
        s = self.shell
        draft = self.drafts.draft
        assert draft is not None
        problem = self.drafts.field_problem(name)
        note = ft.Text(
            s.error_text(problem) if problem else "",
            color=ft.Colors.ERROR,
            size=14,
            visible=problem is not None,
            key=f"{name}_error",
        )
        label = s.t("case.fine") if name == "fine_yuan" else s.t(f"case.{name}")
        box = field(label, getattr(draft, name), **kwargs)

        def changed(e: Any) -> None:
            self.drafts.update(**{name: e.control.value or ""})
            found = self.drafts.field_problem(name)
            note.value = s.error_text(found) if found else ""
            note.visible = found is not None
            self.shell.update()  # the note only: typing goes on in the same field

        box.on_change = changed
        return [box, note]

    def stage_card(self) -> list[ft.Control]:
        """The stage that applies, large, with its reason (the stage step is passed by when nothing is to
        be overridden), and the way to choose another one."""
        s = self.shell
        decision = self.drafts.decision()
        stage = self.drafts.stage()
        if decision is None or stage is None:
            return []
        return [
            ft.Row(
                [ft.Text(s.t("case.stage.applied"), size=14), chip(stage, s.lang, large=True)],
                wrap=True,
                spacing=8,
            ),
            ft.Text(decision.explain(s.lang), size=16, key="stage_reason"),
            ft.Row([plain_button(s.t("case.stage.other"), self.override_stage, icon=ft.Icons.EDIT)]),
        ]

    def override_stage(self, e: Any = None) -> None:
        self.error = ""
        self.drafts.go_to("stage")
        self.open_override()

    def choose_disposition(self, e: Any) -> None:
        self.drafts.set_disposition(e.control.value)
        self.shell.render()

    def seizure_block(self) -> ft.Control:
        s = self.shell
        draft = self.drafts.draft
        assert draft is not None
        items: list[ft.Control] = [
            ft.Row(
                [
                    ft.Text(s.t("detail.item", kind=item.kind, quantity=item.quantity), size=16, expand=True),
                    ft.TextButton(
                        s.t("case.seizure.remove"),
                        icon=ft.Icons.DELETE,
                        on_click=lambda e, i=index: self.remove_seized(i),
                        height=TOUCH,
                    ),
                ]
            )
            for index, item in enumerate(draft.seized_items)
        ]

        def set_kind(e: Any) -> None:
            self.drafts.type_seized(kind=e.control.value or "")

        def set_quantity(e: Any) -> None:
            self.drafts.type_seized(quantity=e.control.value or "")

        parts: list[ft.Control] = [
            ft.Text(s.t("case.seizure"), size=18, weight=ft.FontWeight.BOLD),
            *items,
            ft.Row(
                [
                    ft.Container(
                        field(s.t("case.seizure.kind"), draft.seized_kind, on_change=set_kind), expand=2
                    ),
                    ft.Container(
                        field(
                            s.t("case.seizure.quantity"),
                            draft.seized_quantity,
                            on_change=set_quantity,
                            keyboard_type=ft.KeyboardType.NUMBER,
                        ),
                        expand=1,
                    ),
                ]
            ),
            ft.Row([plain_button(s.t("case.seizure.add"), self.add_seized, icon=ft.Icons.ADD)]),
        ]
        if draft.seized_items:
            parts += [
                ft.Text(s.t("case.seizure.two_officers"), size=14),
                field(
                    s.t("case.seizure.receipt"),
                    draft.seizure_receipt_no,
                    on_change=self.typed("seizure_receipt_no"),
                ),
                field(
                    s.t("case.seizure.second_officer"),
                    draft.second_officer_badge,
                    on_change=self.typed("second_officer_badge"),
                ),
            ]
        return ft.Column(parts, spacing=8, horizontal_alignment=ft.CrossAxisAlignment.STRETCH)

    def add_seized(self, e: Any = None) -> None:
        try:
            self.drafts.add_seized_from_form()
        except Exception as exc:  # DraftError naming seized_items
            self.fail(exc, jump=False)
            return
        self.error = ""
        self.shell.render()

    def remove_seized(self, index: int) -> None:
        self.drafts.remove_seized(index)
        self.shell.render()
