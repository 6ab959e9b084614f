"""What every step of the new-case wizard shares: the shell and the draft state, the error line, moving
between steps, writing a typed field into the draft, the one-line GPS fix and the subject's label.

``NewCaseView`` (``mobile.views.new_case``) is made of one class per step, each a subclass of ``StepBase``;
a step's methods reach another step's only through ``NewCaseView``. None of them keeps what the officer
types: that is in the draft (``mobile.state.draft``), so a restart loses nothing.
"""

from __future__ import annotations

from typing import Any

from enforcement.labels import subject_plate
from mobile.state.app_state import AppState
from mobile.state.new_case import CaseDraftState
from mobile.views.common import Host


class StepBase:
    """The wizard's shared parts (the attributes are set by ``NewCaseView.__init__``)."""

    shell: Host
    app: AppState
    drafts: CaseDraftState
    error: str
    gps_note: str

    @property
    def step(self) -> str:
        draft = self.drafts.draft
        return draft.step if draft is not None else "violation"

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

    def subject_label(self, subject: Any) -> str:
        bits = [subject.name, subject_plate(subject), subject.phone, subject.description]
        label = " · ".join(b for b in bits if b) or self.shell.t("unknown")
        if subject.hardship:
            label += f" · {self.shell.t('subject.hardship_flag')}"
        return label
