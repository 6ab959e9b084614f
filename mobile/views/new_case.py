"""New case, in field order: violation → location → subject → stage → action → photos → review and save.

Every typed value goes into the draft at once (``CaseDraftState.update``), so nothing typed is lost when a
photo fails or the app is closed. The stage is computed live from the subject's history and shown large
with its reason (on the stage step and again on the action step); another stage needs a written reason.

The wizard moves on by itself after a GPS fix, a chosen subject and an added photo, past steps that need
nothing (``CaseDraftState.advance_from``); 上一步 still shows every step. Entering the location step asks
for the GPS fix; entering the photos step opens the camera (flet-camera, ``mobile.views.camera``) where
there is one, else the file picker, which stays available as a second button.
"""

from __future__ import annotations

from typing import Any

import flet as ft

from enforcement.model import Disposition, Stage, SubjectKind
from enforcement.staging import stage_name
from mobile.state.draft import STEPS
from mobile.theme import TOUCH
from mobile.views.camera import CameraPanel, camera_possible
from mobile.views.common import chip, day_time, violation_icon
from mobile.views.shell import Shell, big_button, choice, field, plain_button, title

try:  # GPS: the prebuilt web client and phone builds include it; a desktop dev box may not
    import flet_geolocator as ftg
except ImportError:  # pragma: no cover - depends on the installation
    ftg = None

#: Violations shown in the grid before "more".
GRID_SIZE = 12


class NewCaseView:
    def __init__(self, shell: Shell) -> None:
        self.shell = shell
        self.app = shell.app
        self.drafts = shell.app.drafts
        self.drafts.start()
        self.error = ""
        self.gps_note = ""
        self.show_all = False
        self.subject_query = ""
        self.creating_subject = False
        self.new_subject: dict[str, Any] = {"kind": SubjectKind.MOBILE_VENDOR.value, "hardship": False}
        self.override: int | None = None  # stage being chosen instead of the computed one
        self.override_reason = ""
        self.seized_kind = ""
        self.seized_quantity = "1"
        self.results = ft.Column(spacing=4)
        self._subject_form: ft.Control | None = None
        self.picker: ft.FilePicker | None = None
        self.geolocator: Any = None
        self.locating = False  # a GPS request is under way (asked for once when the location step opens)
        self.shown_step: str | None = None  # the step of the last build (to notice entering a step)
        self.camera = CameraPanel(shell, self.camera_picture, self.camera_failed)
        self.photo_status: ft.Text | None = None

    # -- frame -------------------------------------------------------------------------------------------
    @property
    def step(self) -> str:
        draft = self.drafts.draft
        return draft.step if draft is not None else "violation"

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
        nav: list[ft.Control] = []
        if index > 0:
            nav.append(plain_button(s.t("case.back"), self.back, icon=ft.Icons.ARROW_BACK))
        if self.step == "review":
            nav.append(big_button(s.t("case.save"), self.save, icon=ft.Icons.SAVE))
        else:
            nav.append(big_button(s.t("case.next"), self.next, icon=ft.Icons.ARROW_FORWARD))
        column = ft.Column(
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
                ft.Row(nav, spacing=8),
                ft.TextButton(s.t("case.discard"), on_click=self.discard, height=TOUCH),
            ],
            spacing=12,
            scroll=ft.ScrollMode.AUTO,
            expand=True,
            horizontal_alignment=ft.CrossAxisAlignment.STRETCH,
        )
        if entered:
            self.entered(self.step)
        return column

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
            page.run_task(self.pick_photos)

    def fix_text(self) -> str:
        """The GPS fix as one line (``GPS 34.74660, 113.62530 · 精度 8 米``), or the state of the request."""
        s = self.shell
        draft = self.drafts.draft
        if draft is not None and draft.lat is not None and draft.lon is not None:
            return s.t(
                "case.location.gps_fix",
                lat=f"{draft.lat:.5f}",
                lon=f"{draft.lon:.5f}",
                acc=f"{draft.accuracy_m:.0f}" if draft.accuracy_m is not None else "?",
            )
        return self.gps_note or s.t("case.location.none")

    def go(self, step: str) -> None:
        self.error = ""
        self.drafts.go_to(step)
        self.shell.render()

    def auto_locate(self) -> None:
        """On the location step without a fix, ask for one at once (the button stays to retry)."""
        draft = self.drafts.draft
        page = self.shell.page
        if draft is None or self.step != "location" or self.locating or page is None or ftg is None:
            return
        if draft.lat is None and not draft.no_fix_reason:
            page.run_task(self.locate)

    def next(self, e: Any = None) -> None:
        index = STEPS.index(self.step)
        self.go(STEPS[min(index + 1, len(STEPS) - 1)])

    def back(self, e: Any = None) -> None:
        index = STEPS.index(self.step)
        self.go(STEPS[max(index - 1, 0)])

    def close(self, e: Any = None) -> None:
        self.shell.go("today")  # the draft is kept; "new case" continues it

    def discard(self, e: Any = None) -> None:
        self.drafts.discard()
        self.shell.message(self.shell.t("case.discard"))
        self.shell.go("today")

    def fail(self, exc: BaseException, *, jump: bool = True) -> None:
        """Show an error; for a field error, go to the step that holds the field."""
        self.error = self.shell.error_text(exc)
        field_name = getattr(exc, "field", None)
        if jump and field_name:
            self.drafts.go_to(self.drafts.step_of_field(field_name))
        self.shell.render()

    def typed(self, name: str) -> Any:
        """An on_change handler that writes the field into the draft (no re-render: typing goes on)."""

        def handler(e: Any) -> None:
            self.drafts.update(**{name: e.control.value or ""})

        return handler

    # -- 1 violation -------------------------------------------------------------------------------------
    def build_violation(self) -> ft.Control:
        s = self.shell
        chosen = self.drafts.draft.violation_code if self.drafts.draft else ""
        choices = self.drafts.violation_choices()
        shown = choices if self.show_all else choices[:GRID_SIZE]
        tiles = [self.violation_tile(v, v.code == chosen) for v in shown]
        parts: list[ft.Control] = [ft.Row(tiles, wrap=True, spacing=8, run_spacing=8)]
        if not self.show_all:
            parts.append(
                plain_button(s.t("case.violation.more"), self.more_violations, icon=ft.Icons.EXPAND_MORE)
            )
        return ft.Column(parts, spacing=8, horizontal_alignment=ft.CrossAxisAlignment.STRETCH)

    def violation_tile(self, violation: Any, selected: bool) -> ft.Control:
        return ft.Container(
            ft.Column(
                [
                    violation_icon(violation.icon, 40),
                    ft.Text(
                        violation.name(self.shell.lang), size=15, text_align=ft.TextAlign.CENTER, max_lines=2
                    ),
                ],
                horizontal_alignment=ft.CrossAxisAlignment.CENTER,
                alignment=ft.MainAxisAlignment.CENTER,
                spacing=4,
            ),
            on_click=lambda e, code=violation.code: self.choose_violation(code),
            width=118,
            height=112,
            border_radius=12,
            padding=6,
            bgcolor=ft.Colors.PRIMARY_CONTAINER if selected else ft.Colors.SURFACE_CONTAINER_HIGHEST,
            border=ft.Border.all(3 if selected else 1, ft.Colors.PRIMARY if selected else ft.Colors.OUTLINE),
            key=f"violation_{violation.code}",
        )

    def more_violations(self, e: Any = None) -> None:
        self.show_all = True
        self.shell.render()

    def choose_violation(self, code: str) -> None:
        self.error = ""
        self.drafts.choose_violation(code)
        self.shell.render()

    # -- 2 location --------------------------------------------------------------------------------------
    def build_location(self) -> ft.Control:
        s = self.shell
        draft = self.drafts.draft
        assert draft is not None
        fix = self.fix_text()
        return ft.Column(
            [
                ft.Row([plain_button(s.t("case.location.gps"), self.locate, icon=ft.Icons.MY_LOCATION)]),
                ft.Text(fix, size=16, key="gps_fix"),
                field(s.t("case.location.address"), draft.address, on_change=self.typed("address")),
                field(s.t("case.location.grid_cell"), draft.grid_cell, on_change=self.typed("grid_cell")),
                field(
                    s.t("case.location.no_fix_reason"),
                    draft.no_fix_reason,
                    on_change=self.typed("no_fix_reason"),
                ),
            ],
            spacing=12,
            horizontal_alignment=ft.CrossAxisAlignment.STRETCH,
        )

    async def locate(self, e: Any = None) -> None:
        s = self.shell
        if ftg is None or s.page is None:
            self.gps_note = s.t("case.location.gps_failed")
            s.render()
            return
        self.gps_note = s.t("case.location.gps_working")
        self.locating = True
        s.render()
        try:
            if self.geolocator is None:
                self.geolocator = ftg.Geolocator()
            status = await self.geolocator.request_permission()
            if str(getattr(status, "value", status)).lower() in ("denied", "denied_forever", "deniedforever"):
                self.gps_note = s.t("case.location.gps_denied")
            else:
                position = await self.geolocator.get_current_position()
                if position.latitude is None or position.longitude is None:
                    raise ValueError("no position")
                self.drafts.set_position(
                    position.latitude, position.longitude, position.accuracy, advance=True
                )
                self.gps_note = ""
        except Exception:  # permission refused, no signal, timeout: the officer types the place instead
            self.gps_note = s.t("case.location.gps_failed")
        finally:
            self.locating = False
        s.render()

    # -- 3 subject ---------------------------------------------------------------------------------------
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
                self.subject_query,
                on_change=self.search_subject,
                key="subject_search",
            )
        )
        self.fill_results()
        parts.append(self.results)
        if self.creating_subject:
            parts.append(self.subject_form())
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

    def subject_label(self, subject: Any) -> str:
        bits = [subject.name, subject.plate, subject.phone, subject.description]
        label = " · ".join(b for b in bits if b) or self.shell.t("unknown")
        if subject.hardship:
            label += f" · {self.shell.t('subject.hardship_flag')}"
        return label

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
        if self.subject_query.strip():
            found = self.drafts.search_subjects(self.subject_query)
        else:
            found = self.drafts.recent_subjects()
            if found:
                heading = [ft.Text(s.t("case.subject.recent"), size=15, weight=ft.FontWeight.BOLD)]
        if self.subject_query.strip() and not found:
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
        self.subject_query = e.control.value or ""
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

    def open_subject_form(self, e: Any = None) -> None:
        self.creating_subject = True
        self.shell.render()

    def subject_form(self) -> ft.Control:
        """The new-subject form, made once and kept across renders so nothing typed is replaced."""
        if self._subject_form is None:
            self._subject_form = self.make_subject_form()
        return self._subject_form

    def make_subject_form(self) -> ft.Control:
        s = self.shell
        values = self.new_subject

        def setter(name: str) -> Any:
            def handler(e: Any) -> None:
                values[name] = e.control.value if name == "hardship" else (e.control.value or "")

            return handler

        return ft.Card(
            ft.Container(
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
                ),
                padding=12,
            )
        )

    def create_subject(self, e: Any = None) -> None:
        values = self.new_subject
        try:
            self.drafts.create_subject(
                values["kind"],
                name=values.get("name", ""),
                phone=values.get("phone", ""),
                plate=values.get("plate", ""),
                address=values.get("address", ""),
                description=values.get("description", ""),
                hardship=bool(values.get("hardship")),
            )
        except Exception as exc:  # a LocalizedError naming the field; the form keeps what was typed
            self.fail(exc, jump=False)
            return
        self.creating_subject = False
        self._subject_form = None
        self.new_subject = {"kind": SubjectKind.MOBILE_VENDOR.value, "hardship": False}
        self.error = ""
        self.shell.render()

    # -- 4 stage -----------------------------------------------------------------------------------------
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
        if self.override is None:
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
                            bgcolor=ft.Colors.PRIMARY_CONTAINER if self.override == int(option) else None,
                        )
                        for option in Stage
                    ],
                    wrap=True,
                ),
                field(
                    s.t("case.stage.reason"), self.override_reason, on_change=self.type_reason, multiline=True
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
        self.override = int(self.drafts.stage() or Stage.PERSUASION)
        self.override_reason = self.drafts.draft.stage_override_reason if self.drafts.draft else ""
        self.shell.render()

    def pick_override(self, value: int) -> None:
        self.override = value
        self.shell.render()

    def type_reason(self, e: Any) -> None:
        self.override_reason = e.control.value or ""

    def cancel_override(self, e: Any = None) -> None:
        self.override = None
        self.shell.render()

    def apply_override(self, e: Any = None) -> None:
        if self.override is None:
            return
        try:
            self.drafts.choose_stage(Stage(self.override), self.override_reason)
        except Exception as exc:  # StageChoiceError: the reason is missing or too short
            self.fail(exc, jump=False)
            return
        self.override = None
        self.error = ""
        self.shell.render()

    # -- 5 action ----------------------------------------------------------------------------------------
    def build_action(self) -> ft.Control:
        s = self.shell
        draft = self.drafts.draft
        assert draft is not None
        disposition = self.drafts.disposition()
        parts: list[ft.Control] = [
            *self.stage_card(),
            choice(
                s.t("disposition"),
                disposition.value,
                [(d.value, s.t(f"disposition.{d.value}")) for d in self.drafts.dispositions()],
                self.choose_disposition,
                key="disposition",
            ),
        ]
        if disposition is Disposition.PENALTY:
            limits = self.drafts.fine_range()
            if limits:
                parts.append(ft.Text(s.t("case.fine_range", min=limits[0], max=limits[1]), size=14))
            parts.append(
                field(
                    s.t("case.fine"),
                    draft.fine_yuan,
                    on_change=self.typed("fine_yuan"),
                    keyboard_type=ft.KeyboardType.NUMBER,
                )
            )
        if disposition is Disposition.WARNING_NOTICE:
            parts.append(
                field(
                    s.t("case.warning_notice_no"),
                    draft.warning_notice_no,
                    on_change=self.typed("warning_notice_no"),
                )
            )
        if disposition is Disposition.RECTIFY_ORDER:
            parts.append(
                field(
                    s.t("case.rectify_deadline"),
                    draft.rectify_deadline,
                    on_change=self.typed("rectify_deadline"),
                )
            )
        if disposition is Disposition.REFERRED:
            parts.append(
                field(s.t("case.referred_to"), draft.referred_to, on_change=self.typed("referred_to"))
            )
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
            self.seized_kind = e.control.value or ""

        def set_quantity(e: Any) -> None:
            self.seized_quantity = e.control.value or ""

        parts: list[ft.Control] = [
            ft.Text(s.t("case.seizure"), size=18, weight=ft.FontWeight.BOLD),
            *items,
            ft.Row(
                [
                    ft.Container(
                        field(s.t("case.seizure.kind"), self.seized_kind, on_change=set_kind), expand=2
                    ),
                    ft.Container(
                        field(
                            s.t("case.seizure.quantity"),
                            self.seized_quantity,
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
            self.drafts.add_seized(self.seized_kind, self.seized_quantity)
        except Exception as exc:  # DraftError naming seized_items
            self.fail(exc, jump=False)
            return
        self.seized_kind, self.seized_quantity, self.error = "", "1", ""
        self.shell.render()

    def remove_seized(self, index: int) -> None:
        self.drafts.remove_seized(index)
        self.shell.render()

    # -- 6 photos ----------------------------------------------------------------------------------------
    def build_photos(self) -> ft.Control:
        s = self.shell
        draft = self.drafts.draft
        assert draft is not None
        thumbs: list[ft.Control] = []
        for item in draft.photos:
            data = self.drafts.thumbnail(item.sha256)
            image: ft.Control = (
                ft.Image(src=data, width=110, height=110, fit=ft.BoxFit.COVER, border_radius=8)
                if data
                else ft.Icon(ft.Icons.BROKEN_IMAGE, size=48)
            )
            thumbs.append(
                ft.Column(
                    [
                        image,
                        ft.TextButton(
                            s.t("case.photos.remove"),
                            icon=ft.Icons.DELETE,
                            on_click=lambda e, sha=item.sha256: self.remove_photo(sha),
                            height=TOUCH,
                        ),
                    ],
                    width=120,
                    spacing=2,
                    horizontal_alignment=ft.CrossAxisAlignment.CENTER,
                )
            )
        self.photo_status = ft.Text(self.status_line(), size=16, key="photo_status")
        parts: list[ft.Control] = []
        possible = camera_possible(s.page)
        if possible and self.drafts.camera_wanted():
            parts.append(self.camera.build())
            if s.page is not None:
                s.page.run_task(self.camera.start)  # a fresh preview: open it once it is on the page
        else:
            self.camera.control = None
            note = self.drafts.camera_note
            if possible and note is not None:
                parts.append(
                    ft.Text(note.message(s.lang), size=15, color=ft.Colors.TERTIARY, key="camera_off")
                )
        buttons: list[ft.Control] = [
            plain_button(s.t("case.photos.pick"), self.pick_photos, icon=ft.Icons.ADD_PHOTO_ALTERNATE)
        ]
        if possible and not self.drafts.camera_wanted():
            buttons.append(
                plain_button(s.t("case.camera.open"), self.retry_camera, icon=ft.Icons.PHOTO_CAMERA)
            )
        parts += [
            ft.Row(buttons, wrap=True),
            self.photo_status,
            ft.Row(thumbs, wrap=True, spacing=8, run_spacing=8),
        ]
        return ft.Column(parts, spacing=10, horizontal_alignment=ft.CrossAxisAlignment.STRETCH)

    def status_line(self) -> str:
        s = self.shell
        draft = self.drafts.draft
        if self.drafts.busy_photos:
            return s.t("case.photos.processing")
        if draft is not None and draft.photos:
            return s.t("case.photos.count", n=len(draft.photos))
        return s.t("case.photos.none")

    def show_status(self) -> None:
        """Refresh the photo count in place (a re-render would close the open camera)."""
        if self.photo_status is not None:
            self.photo_status.value = self.status_line()
        self.shell.update()

    async def camera_picture(self, data: bytes) -> None:
        await self.add_photos([data], camera=True)

    async def camera_failed(self, exc: BaseException | None) -> None:
        """The camera could not be opened or used: say why (zh/en) and let the officer pick a file."""
        if self.step != "photos":
            return
        self.drafts.camera_failed(exc)
        self.shell.render()
        draft = self.drafts.draft
        if draft is not None and self.step == "photos" and not draft.photos:
            await self.pick_photos()

    def retry_camera(self, e: Any = None) -> None:
        self.error = ""
        self.drafts.retry_camera()
        self.shell.render()

    async def pick_photos(self, e: Any = None) -> None:
        s = self.shell
        if s.page is None:
            return
        if self.picker is None:
            self.picker = ft.FilePicker()
        files = await self.picker.pick_files(
            allow_multiple=True, with_data=True, file_type=ft.FilePickerFileType.IMAGE
        )
        await self.add_photos([f.bytes for f in files or [] if f.bytes])

    async def add_photos(self, blobs: list[bytes], *, camera: bool = False) -> None:
        """Process and attach photos one by one; a bad one is reported and the others still go in. Once
        the photos step has what it needs, the wizard moves on to the review."""
        s = self.shell
        added = False
        for data in blobs:
            self.show_status()
            try:
                if camera:
                    await self.drafts.add_camera_photo(data)
                else:
                    await self.drafts.add_photo(data)
            except Exception as exc:  # PhotoError (not a photo, too large...): the draft is untouched
                self.error = s.error_text(exc)
            else:
                self.error = ""
                added = True
        if added and not self.error:
            self.drafts.advance_from("photos")
        s.render()

    def remove_photo(self, sha256: str) -> None:
        self.drafts.remove_photo(sha256)
        self.shell.render()

    # -- 7 review and save -------------------------------------------------------------------------------
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
            (s.t("detail.photos"), s.t("case.photos.count", n=len(draft.photos))),
        ]
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

    def more_photos(self, e: Any = None) -> None:
        self.go("photos")

    def save(self, e: Any = None) -> None:
        try:
            case = self.drafts.save()
        except Exception as exc:  # validation / store refusal: the draft stays, the field's step is shown
            self.fail(exc)
            return
        self.shell.message(self.shell.t("case.saved", case_no=case.case_no))
        self.shell.go("today")
