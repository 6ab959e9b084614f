"""New case, in field order: violation → location → subject → stage → action → photos → review and save.

This module is the wizard's frame (heading, step title, progress, error line, 上一步 / 下一步 / 保存案件,
放弃草稿); each step is a module of this package (``violation``, ``location``, ``subject``, ``stage``,
``action``, ``photos`` with its ``camera``, ``review``), their shared parts in ``base``.

Every typed value goes into the draft at once (``CaseDraftState.update`` and the form methods of
``mobile.state.draft_form``), so nothing typed is lost when a photo fails or the app is closed. The stage is
computed live from the subject's history and shown large with its reason (on the stage step and again on the
action step); another stage needs a written reason.

The wizard moves on by itself after a GPS fix, a chosen subject and an added photo, past steps that need
nothing (``CaseDraftState.advance_from``); 上一步 still shows every step. Entering the location step asks
for the GPS fix; entering the photos step opens the camera (flet-camera, ``camera``) where there is one,
else the file picker, which stays available as a second button.
"""

from __future__ import annotations

from typing import Any

import flet as ft

from enforcement.text import LocalizedError
from mobile.state.draft import STEPS
from mobile.state.today import NearbyStage
from mobile.theme import TOUCH
from mobile.views.common import (
    Host,
    big_button,
    clock_banner,
    nearby_buttons,
    plain_button,
    screen_column,
    title,
)
from mobile.views.new_case.action import ActionStep
from mobile.views.new_case.camera import CameraPanel
from mobile.views.new_case.location import LocationStep
from mobile.views.new_case.photos import PhotosStep
from mobile.views.new_case.review import ReviewStep
from mobile.views.new_case.stage import StageStep
from mobile.views.new_case.subject import SubjectStep
from mobile.views.new_case.violation import ViolationStep
from mobile.views.new_case.zones import ZonesPanel


class NewCaseView(
    ZonesPanel, ViolationStep, LocationStep, SubjectStep, StageStep, ActionStep, PhotosStep, ReviewStep
):
    def __init__(self, shell: Host) -> None:
        self.shell = shell
        self.app = shell.app
        self.drafts = shell.app.drafts
        self.drafts.start()
        self.error = ""
        self.gps_note = ""
        self.show_all = False
        self.confirming_discard = False  # 放弃草稿 was tapped: its question is shown
        self.results = ft.Column(spacing=4)
        self.violation_grid = ft.Row(wrap=True, spacing=8, run_spacing=8, key="violation_grid")
        self._subject_form = None
        self.picker = None
        self.geolocator = None
        self.locating = False
        self.shown_step: str | None = None  # the step of the last build (to notice entering a step)
        self.camera = CameraPanel(shell, self.camera_picture, self.camera_failed)
        self.photo_status = None
        self.camera_slot = None
        self.photo_buttons = None

    def build(self) -> ft.Control:
        s = self.shell
        draft = self.drafts.draft
        assert draft is not None
        heading = (
            s.t("case.amend.title", version=draft.version) if draft.version > 1 else s.t("case.new.title")
        )
        index = STEPS.index(self.step)
        entered = self.step != self.shown_step
        self.shown_step = self.step
        if self.step != "photos":
            self.camera.control = None  # a preview still opening is gone with its step: not a failure
        body = getattr(self, f"build_{self.step}")()
        if self.step == "violation" and not self.drafts.draft_in_progress():
            body = ft.Column([self.quick_picks(), body], spacing=12)
        nav: list[ft.Control] = []
        if index > 0:
            nav.append(plain_button(s.t("case.back"), self.back, icon=ft.Icons.ARROW_BACK))
        blocked = self.next_blocked()
        if self.step == "review":
            nav.append(big_button(s.t("case.save"), self.save, icon=ft.Icons.SAVE))
        else:
            forward = big_button(s.t("case.next"), self.next, icon=ft.Icons.ARROW_FORWARD, key="case_next")
            forward.disabled = bool(blocked)
            nav.append(forward)
        column = screen_column(
            [
                ft.Row(
                    [
                        ft.TextButton(
                            s.t("nav.back"), icon=ft.Icons.ARROW_BACK, on_click=self.close, height=TOUCH
                        ),
                        title(heading),
                    ]
                ),
                ft.Text(
                    f"{index + 1}/{len(STEPS)} · {s.t(f'case.step.{self.step}')}",
                    size=18,
                    weight=ft.FontWeight.BOLD,
                    color=ft.Colors.PRIMARY,
                    key="step_title",
                ),
                ft.ProgressBar(value=(index + 1) / len(STEPS)),
                clock_banner(self.drafts.clock_banner(s.lang)),
                ft.Text(
                    self.fix_text(),
                    size=14,
                    visible=self.step != "location" and draft.lat is not None,
                    key="gps_summary",
                ),
                ft.Text(
                    self.error, color=ft.Colors.ERROR, size=16, visible=bool(self.error), key="case_error"
                ),
                body,
                ft.Text(blocked, size=14, italic=True, visible=bool(blocked), key="next_blocked"),
                ft.Row(nav, spacing=8),
                *self.discard_part(),
            ],
            spacing=12,
        )
        if entered:
            self.entered(self.step)
        return column

    def quick_picks(self) -> ft.Control:
        """Above the violations: the subjects recorded near Today's GPS fix, one tap each (as on Today)."""
        found = self.app.today.nearby()
        if not found:
            return ft.Container(visible=False)
        lines: list[ft.Control] = [
            ft.Text(self.shell.t("case.quick.title"), size=16, weight=ft.FontWeight.BOLD)
        ]
        return ft.Column(
            lines + nearby_buttons(self.shell, found, self.quick_pick), spacing=4, key="quick_picks"
        )

    def quick_pick(self, near: NearbyStage) -> None:
        try:
            self.drafts.start_from(near.subject.id, near.violation_code, self.app.today.fix)
        except LocalizedError as exc:
            self.fail(exc, jump=False)
        self.shell.render()

    def entered(self, step: str) -> None:
        """A step was just shown: the location step asks for the GPS fix, the photos step without photos
        opens the picker when there is no camera to open (the camera starts from ``build_photos``)."""
        draft = self.drafts.draft
        page = self.shell.page
        if draft is None or page is None:
            return
        if step == "location":
            self.auto_locate()
        elif step == "photos" and not draft.photos and self.camera.control is None:
            self.shell.run_task(self.pick_photos)

    def next_blocked(self) -> str:
        """Why 下一步 cannot be tapped on this step ("": it can). The subject step needs a subject chosen
        or registered, or 当事人不明 ticked: no case goes on without one of them."""
        if self.step == "subject" and self.drafts.step_needed("subject"):
            return self.shell.t("case.subject.next_blocked")
        return ""

    def next(self, e: Any = None) -> None:
        if self.next_blocked():
            return
        index = STEPS.index(self.step)
        self.go(STEPS[min(index + 1, len(STEPS) - 1)])

    def back(self, e: Any = None) -> None:
        index = STEPS.index(self.step)
        self.go(STEPS[max(index - 1, 0)])

    def close(self, e: Any = None) -> None:
        self.shell.go("today")  # the draft is kept; "new case" continues it

    def discard_part(self) -> list[ft.Control]:
        """放弃草稿, or, once tapped, the question whether to with its two answers."""
        s = self.shell
        if not self.confirming_discard:
            return [ft.TextButton(s.t("case.discard"), on_click=self.discard, height=TOUCH, key="discard")]
        return [
            ft.Container(
                ft.Column(
                    [
                        ft.Text(s.t("case.discard.confirm"), size=16, key="discard_question"),
                        ft.Row(
                            [
                                ft.FilledButton(
                                    s.t("case.discard.yes"),
                                    icon=ft.Icons.DELETE,
                                    on_click=self.discard_confirmed,
                                    height=TOUCH,
                                    style=ft.ButtonStyle(bgcolor=ft.Colors.ERROR, color=ft.Colors.ON_ERROR),
                                ),
                                ft.OutlinedButton(
                                    s.t("case.discard.no"), on_click=self.keep_draft, height=TOUCH
                                ),
                            ],
                            wrap=True,
                            spacing=8,
                        ),
                    ],
                    spacing=8,
                ),
                padding=12,
                border=ft.Border.all(2, ft.Colors.ERROR),
                border_radius=8,
                key="discard_confirm",
            )
        ]

    def discard(self, e: Any = None) -> None:
        """放弃草稿 asks first (what was typed and the photos would be gone)."""
        self.confirming_discard = True
        self.shell.render()

    def keep_draft(self, e: Any = None) -> None:
        self.confirming_discard = False
        self.shell.render()

    def discard_confirmed(self, e: Any = None) -> None:
        self.confirming_discard = False
        self.drafts.discard()
        self.shell.message(self.shell.t("case.discarded"))
        self.shell.go("today")
