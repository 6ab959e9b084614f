"""Step 7, review and save: the case in a few lines, the stage with its reason, every problem the save
would meet (else "ready"), and the save itself."""

from __future__ import annotations

from typing import Any

import flet as ft

from enforcement.model import Disposition
from mobile.views.common import chip, plain_button
from mobile.views.new_case.base import StepBase


class ReviewStep(StepBase):
    def build_review(self) -> ft.Control:
        s = self.shell
        draft = self.drafts.draft
        assert draft is not None
        violation = self.drafts.violation()
        subject = self.drafts.subject()
        stage = self.drafts.stage()
        location = self.drafts.location()
        lines: list[tuple[str, str]] = [
            (s.t("detail.violation"), violation.name(s.lang) if violation else "—"),
            (
                s.t("detail.location"),
                location.address
                or (
                    f"{location.lat:.5f}, {location.lon:.5f}"
                    if location.has_fix
                    else location.no_fix_reason or "—"
                ),
            ),
            (
                s.t("detail.subject"),
                self.subject_label(subject)
                if subject
                else (s.t("case.subject.unknown_chosen") if draft.subject_unknown else "—"),
            ),
            (
                s.t("detail.disposition"),
                s.t(f"disposition.{self.drafts.disposition().value}") if violation else "—",
            ),
        ]
        lines += self.typed_values()
        lines.append((s.t("detail.photos"), s.t("case.photos.count", n=len(draft.photos))))
        rows: list[ft.Control] = [
            ft.Row([ft.Text(k, size=14, width=90), ft.Text(v, size=16, expand=True)]) for k, v in lines
        ]
        if stage is not None:
            rows.append(ft.Row([ft.Text(s.t("detail.stage"), size=14, width=90), chip(stage, s.lang)]))
            rows.append(ft.Text(self.drafts.explain(s.lang), size=14, key="review_stage_reason"))
        problems = self.drafts.problems()  # the same validation the store runs on save
        if problems:
            rows += [
                ft.Text(s.error_text(problem), color=ft.Colors.ERROR, size=16, key=f"problem_{i}")
                for i, problem in enumerate(problems)
            ]
        else:
            rows.append(ft.Text(s.t("case.review.ready"), size=16, color=ft.Colors.GREEN_800))
        rows.append(
            ft.Row([plain_button(s.t("case.photos.more"), self.more_photos, icon=ft.Icons.ADD_A_PHOTO)])
        )
        return ft.Column(rows, spacing=8, horizontal_alignment=ft.CrossAxisAlignment.STRETCH)

    def typed_values(self) -> list[tuple[str, str]]:
        """Every value typed on the action step, as the case will hold it: the fine of a penalty (also
        when empty or wrong: the problem below names it), the disposition's field, the legal basis, the
        seizure, the notes and the reason for another stage."""
        s = self.shell
        draft = self.drafts.draft
        assert draft is not None
        if self.drafts.violation() is None:
            return []
        disposition = self.drafts.disposition()
        lines: list[tuple[str, str]] = []
        if disposition is Disposition.PENALTY:
            lines.append((s.t("case.fine"), draft.fine_yuan.strip() or "—"))
        for name, applies in (
            ("warning_notice_no", disposition is Disposition.WARNING_NOTICE),
            ("rectify_deadline", disposition is Disposition.RECTIFY_ORDER),
            ("referred_to", disposition is Disposition.REFERRED),
        ):
            if applies:
                lines.append((s.t(f"case.{name}"), getattr(draft, name).strip() or "—"))
        if draft.legal_basis.strip():
            lines.append((s.t("case.legal_basis"), draft.legal_basis.strip()))
        if draft.seized_items:
            seized = draft.seized_items
            items = "，".join(s.t("detail.item", kind=i.kind, quantity=i.quantity) for i in seized)
            lines += [
                (s.t("detail.seized"), items),
                (s.t("case.seizure.receipt"), draft.seizure_receipt_no.strip() or "—"),
                (s.t("case.seizure.second_officer"), draft.second_officer_badge.strip() or "—"),
            ]
        if draft.chosen_stage is not None and draft.stage_override_reason.strip():
            lines.append((s.t("detail.stage_override"), draft.stage_override_reason.strip()))
        if draft.notes.strip():
            lines.append((s.t("case.notes"), draft.notes.strip()))
        return lines

    def more_photos(self, e: Any = None) -> None:
        self.go("photos")

    def save(self, e: Any = None) -> None:
        if self.drafts.draft is None:  # a second tap: the case is saved and 今日 is shown already
            self.shell.go("today")
            return
        try:
            case = self.drafts.save()
        except Exception as exc:  # validation / store refusal: the draft stays, the field's step is shown
            self.fail(exc)
            return
        self.shell.message(self.shell.t("case.saved", case_no=case.case_no))
        self.shell.go("today")
