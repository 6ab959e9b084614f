"""Step 4, the stage: the stage computed from the subject's history, large, with its reasons, and the way
to choose another one with a written reason (the choice being made is kept in the draft)."""

from __future__ import annotations

from typing import Any

import flet as ft

from enforcement.model import Stage
from enforcement.staging import stage_name
from mobile.theme import TOUCH
from mobile.views.common import big_button, chip, field, plain_button
from mobile.views.new_case.base import StepBase


class StageStep(StepBase):
    def build_stage(self) -> ft.Control:
        s = self.shell
        decision = self.drafts.decision()
        if decision is None:
            missing = (
                "case.stage.need_violation" if not self.drafts.violation() else "case.stage.need_subject"
            )
            return ft.Text(s.t(missing), size=18)
        stage = self.drafts.stage() or decision.stage
        parts: list[ft.Control] = [
            ft.Text(s.t("case.stage.computed"), size=14),
            ft.Row([chip(decision.stage, s.lang, large=True)]),
            ft.Text(decision.explain(s.lang), size=18, key="stage_reason"),
            *[ft.Text(line, size=13) for line in decision.details(s.lang)],
        ]
        draft = self.drafts.draft
        if draft is not None and draft.chosen_stage is not None:
            parts += [
                ft.Row(
                    [
                        ft.Text(s.t("case.stage.chosen", stage=stage_name(stage, s.lang)), size=18),
                        chip(stage, s.lang),
                    ]
                ),
                ft.Text(draft.stage_override_reason, size=14),
            ]
        picked = draft.stage_pick if draft is not None else None
        if picked is None:
            parts.append(
                ft.Row([plain_button(s.t("case.stage.other"), self.open_override, icon=ft.Icons.EDIT)])
            )
        else:
            parts += [
                ft.Row(
                    [
                        ft.Button(
                            stage_name(option, s.lang),
                            on_click=lambda e, value=int(option): self.pick_override(value),
                            height=TOUCH,
                            bgcolor=ft.Colors.PRIMARY_CONTAINER if picked == int(option) else None,
                        )
                        for option in Stage
                    ],
                    wrap=True,
                ),
                field(
                    s.t("case.stage.reason"),
                    draft.stage_pick_reason if draft is not None else "",
                    on_change=self.type_reason,
                    multiline=True,
                ),
                ft.Row(
                    [
                        plain_button(s.t("case.cancel"), self.cancel_override),
                        big_button(s.t("case.confirm"), self.apply_override),
                    ]
                ),
            ]
        return ft.Column(parts, spacing=10, horizontal_alignment=ft.CrossAxisAlignment.STRETCH)

    def open_override(self, e: Any = None) -> None:
        self.drafts.open_stage_pick()
        self.shell.render()

    def pick_override(self, value: int) -> None:
        self.drafts.pick_stage(value)
        self.shell.render()

    def type_reason(self, e: Any) -> None:
        self.drafts.type_stage_reason(e.control.value or "")

    def cancel_override(self, e: Any = None) -> None:
        self.drafts.cancel_stage_pick()
        self.shell.render()

    def apply_override(self, e: Any = None) -> None:
        draft = self.drafts.draft
        if draft is None or draft.stage_pick is None:
            return
        try:
            self.drafts.apply_stage_pick()
        except Exception as exc:  # StageChoiceError: the reason is missing or too short
            self.fail(exc, jump=False)
            return
        self.error = ""
        self.shell.render()
