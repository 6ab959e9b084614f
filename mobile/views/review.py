"""The review queue (leaders only): the shown day's cases waiting for a decision (处罚 and stage conflicts
first, flagged), each with case no, officer, violation, subject, the phone's vs HQ's stage, the stage basis
(the phone's, and HQ's with the earlier cases HQ counted, highlighted on a conflict) and the photo count;
approve, or return with a reason typed in the item's own field."""

from __future__ import annotations

from typing import Any

import flet as ft

from enforcement.staging import ordinal_text, stage_name
from mobile.state.squad import Decision, QueueItem
from mobile.theme import TOUCH
from mobile.views.common import (
    PAGE,
    Host,
    Typed,
    chip,
    clipped,
    clock_time,
    day_time,
    plain_button,
    screen_column,
    title,
    violation_label,
)
from patrollog.daylog import CaseLine
from patrollog.reviewing import ReviewStatus


class ReviewView:
    def __init__(self, shell: Host) -> None:
        self.shell = shell
        self.app = shell.app
        self.squad = shell.app.squad
        self.returning: str | None = None  # the case id whose return reason is being typed
        self.comments: dict[str, Typed] = {}  # kept across renders: a sync never wipes typing
        self.error = ""
        self.shown = PAGE

    def build(self) -> ft.Control:
        s = self.shell
        snap = self.squad.snapshot()
        queue = snap.queue
        decided = [line for line in snap.log.lines if not line.review.waiting]
        parts: list[ft.Control] = [
            title(s.t("review.title", day=snap.log.day.isoformat())),
            ft.Text(
                s.t("review.count", n=len(queue), m=sum(1 for item in queue if item.needs_decision)),
                size=16,
                weight=ft.FontWeight.BOLD,
                key="review_count",
            ),
            ft.Text(s.t("review.offline_hint"), size=12),
        ]
        if self.error and self.returning is None:
            parts.append(ft.Text(self.error, color=ft.Colors.ERROR, size=16))
        if not queue:
            parts.append(ft.Text(s.t("review.empty"), size=16, italic=True))
        parts += [self.item(item) for item in queue[: self.shown]]
        left = len(queue) - self.shown
        if left > 0:
            parts.append(ft.Row([plain_button(s.t("squad.more", n=min(PAGE, left), left=left), self.more)]))
        if decided:
            parts.append(ft.Text(s.t("review.decided"), size=18, weight=ft.FontWeight.BOLD))
            parts += [self.decided_line(line, snap.decisions.get(line.case_id)) for line in decided]
        return screen_column(parts, spacing=12)

    def item(self, item: QueueItem) -> ft.Control:
        s = self.shell
        line, case = item.line, item.case
        name = violation_label(self.app.catalogue, line.violation_code, s.lang)
        flags: list[ft.Control] = []
        if item.penalty:
            flags.append(self.flag(s.t("review.penalty")))
        if item.conflict:
            flags.append(self.flag(s.t("review.conflict")))
        if time_text := item.time_flag_text(s.lang):  # HQ's words for the same flag (hq.reviewqueue)
            flags.append(self.flag(time_text, key=f"time_flag_{line.case_no}"))
        hq = stage_name(line.hq_stage, s.lang) if line.hq_stage is not None else s.t("review.hq_unknown")
        lines: list[ft.Control] = [
            ft.Row(
                [
                    clipped(
                        f"{clock_time(line.occurred_at)} {name}",
                        lines=2,
                        size=18,
                        weight=ft.FontWeight.BOLD,
                        expand=True,
                    ),
                    chip(line.stage, s.lang),
                ],
            ),
            ft.Text(f"{line.case_no} · {s.t('detail.version', version=line.version)}", size=12),
            ft.Text(
                s.t("review.officer", name=line.officer_name or line.officer_badge, badge=line.officer_badge),
                size=14,
            ),
            clipped(
                s.t("review.subject", subject=line.subject)
                if line.subject
                else s.t("review.subject_unknown"),
                size=14,
            ),
            ft.Text(s.t("review.stages", device=stage_name(line.stage, s.lang), hq=hq), size=14),
            ft.Text(
                s.t(
                    "review.basis",
                    ordinal=ordinal_text(case.stage_ordinal, s.lang),
                    computed=stage_name(case.computed_stage, s.lang),
                ),
                size=14,
            ),
        ]
        hq_reason = item.hq_reason(s.lang)
        if hq_reason:
            text = s.t("review.hq_basis", reason=hq_reason)
            lines.append(self.hq_basis(text, item.conflict, key=f"hq_basis_{line.case_no}"))
        if case.stage_override_reason:
            lines.append(ft.Text(s.t("review.override", reason=case.stage_override_reason), size=14))
        lines.append(ft.Text(s.t("review.photos", n=item.photos), size=14))
        if flags:
            lines.append(ft.Row(flags, wrap=True, spacing=6))
        if item.needs_decision:
            lines.append(ft.Text(s.t("review.needs_decision"), size=14, color=ft.Colors.ERROR))
        lines.append(self.actions(item))
        return ft.Container(
            ft.Column(lines, spacing=4),
            padding=12,
            border_radius=10,
            border=ft.Border.all(
                2 if item.needs_decision else 1, ft.Colors.ERROR if item.needs_decision else ft.Colors.OUTLINE
            ),
            key=f"review_{line.case_no}",
        )

    @staticmethod
    def hq_basis(text: str, conflict: bool, *, key: str) -> ft.Control:
        """HQ's reason for its stage; on a stage conflict it stands out (the leader decides between two)."""
        if not conflict:
            return ft.Text(text, size=14, key=key)
        return ft.Container(
            ft.Text(text, size=14, weight=ft.FontWeight.BOLD, color=ft.Colors.ON_ERROR_CONTAINER),
            bgcolor=ft.Colors.ERROR_CONTAINER,
            border_radius=6,
            padding=ft.Padding.symmetric(horizontal=6, vertical=2),
            key=key,
        )

    @staticmethod
    def flag(text: str, *, key: str | None = None) -> ft.Control:
        return ft.Container(
            ft.Text(text, size=14, weight=ft.FontWeight.BOLD, color=ft.Colors.ON_ERROR),
            bgcolor=ft.Colors.ERROR,
            border_radius=6,
            padding=ft.Padding.symmetric(horizontal=8, vertical=2),
            key=key,
        )

    def comment(self, case_id: str) -> Typed:
        """The return reason being typed for ``case_id`` (a new field at each render, see ``Typed``)."""
        return self.comments.setdefault(case_id, Typed())

    def comment_field(self, case_id: str) -> ft.TextField:
        return self.comment(case_id).field(
            self.shell.t("review.comment"), multiline=True, min_lines=1, max_lines=4, key=f"comment_{case_id}"
        )

    def actions(self, item: QueueItem) -> ft.Control:
        s = self.shell
        case_id = item.line.case_id
        if self.returning == case_id:
            controls: list[ft.Control] = [self.comment_field(case_id)]
            if self.error:
                controls.append(ft.Text(self.error, color=ft.Colors.ERROR, size=16))
            controls.append(
                ft.Row(
                    [
                        ft.FilledButton(
                            s.t("review.confirm_return"),
                            icon=ft.Icons.ASSIGNMENT_RETURN,
                            on_click=lambda e: self.confirm_return(case_id),
                            height=TOUCH,
                            expand=True,
                        ),
                        ft.OutlinedButton(s.t("review.cancel"), on_click=self.cancel_return, height=TOUCH),
                    ]
                )
            )
            return ft.Column(controls, spacing=6)
        return ft.Row(
            [
                ft.FilledButton(
                    s.t("review.approve"),
                    icon=ft.Icons.CHECK,
                    on_click=lambda e: self.approve(case_id),
                    height=TOUCH,
                    expand=True,
                ),
                ft.OutlinedButton(
                    s.t("review.return"),
                    icon=ft.Icons.ASSIGNMENT_RETURN,
                    on_click=lambda e: self.start_return(case_id),
                    height=TOUCH,
                    expand=True,
                ),
            ]
        )

    def decided_line(self, line: CaseLine, decision: Decision | None) -> ft.Control:
        """A decided case: status, who decided when (every decision keeps who, when and why), the reason."""
        s = self.shell
        status = line.review.label(s.lang)
        text = s.t("review.decided_line", case_no=line.case_no, status=status)
        rows: list[ft.Control] = [ft.Text(text, size=14)]
        if decision is not None:
            review = decision.review
            who = decision.reviewer_name or review.reviewer_badge
            when = day_time(review.decided_at)
            rows.append(
                ft.Text(s.t("review.decided_by", who=who, badge=review.reviewer_badge, when=when), size=12)
            )
        if line.review_comment and line.review in (ReviewStatus.RETURNED, ReviewStatus.APPROVED):
            rows.append(
                ft.Text(s.t("review.decided_comment", status=status, comment=line.review_comment), size=12)
            )
        return ft.Column(rows, spacing=1, key=f"decided_{line.case_no}")

    # -- handlers --------------------------------------------------------------------------------------
    def more(self, e: Any = None) -> None:
        self.shown += PAGE
        self.shell.render()

    def approve(self, case_id: str) -> None:
        s = self.shell
        try:
            review = self.squad.approve(case_id)
        except Exception as exc:  # LocalizedError: shown; nothing was saved
            self.error = s.error_text(exc)
        else:
            self.error = ""
            s.message(s.t("review.approved", case_no=review.case_no))
        s.render()

    def start_return(self, case_id: str) -> None:
        self.returning = case_id
        self.error = ""
        self.shell.render()

    def cancel_return(self, e: Any = None) -> None:
        self.returning = None
        self.error = ""
        self.shell.render()

    def confirm_return(self, case_id: str) -> None:
        s = self.shell
        comment = self.comment(case_id).take()
        try:
            review = self.squad.return_case(case_id, comment)
        except Exception as exc:  # no reason, too long...: the field and its text stay for a correction
            self.error = s.error_text(exc)
        else:
            self.error = ""
            self.returning = None
            self.comments.pop(case_id, None)
            s.message(s.t("review.returned", case_no=review.case_no))
        s.render()
