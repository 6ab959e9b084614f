"""The repeat vendor in one tap (a part of ``mobile.state.new_case.CaseDraftState``): a draft started from a
subject seen near the GPS fix (Today's nearby list, ``mobile.state.today.TodayState.nearby``) with the
violation recorded against it there, the fix as the place, and the wizard on the first step that still
wants the officer: the stage, its reason and the usual disposition follow from the history as in the
wizard. A 警告通知书 gets the next number of the officer's notice book pre-filled.

The notice book: the number after the officer's last one saved on this phone (``JG-2026-000123`` →
``JG-2026-000124``); a range assigned by HQ and synced down is not there yet.
"""

from __future__ import annotations

import re

from enforcement.model import Disposition
from mobile.state.draft import STEPS, Draft
from mobile.state.errors import DraftError, localized

_TRAILING_NUMBER = re.compile(r"^(.*?)(\d+)(\D*)$")


def next_notice_no(last: str) -> str:
    """The number after ``last`` in the same book: its last run of digits plus one, zero-padded to the same
    width (``JG-2026-000123`` → ``JG-2026-000124``, ``JG-0099`` → ``JG-0100``); "" when there is none."""
    found = _TRAILING_NUMBER.match(last.strip())
    if found is None:
        return ""
    head, digits, tail = found.groups()
    return f"{head}{str(int(digits) + 1).zfill(len(digits))}{tail}"


class DraftQuick:
    """Mixed into CaseDraftState."""

    draft: Draft | None

    def _badge(self) -> str:
        raise NotImplementedError

    def start(self) -> Draft:
        raise NotImplementedError

    def resume(self) -> Draft | None:
        raise NotImplementedError

    def _persist(self) -> None:
        raise NotImplementedError

    def step_needed(self, step: str) -> bool:
        raise NotImplementedError

    def choose_violation(self, code: str) -> None:
        raise NotImplementedError

    def choose_subject(self, subject_id: str) -> None:
        raise NotImplementedError

    def disposition(self) -> Disposition:
        raise NotImplementedError

    def _last_notice_no(self) -> str:
        raise NotImplementedError

    def draft_in_progress(self) -> bool:
        """Whether the officer's unsaved draft already holds something (a quick pick would not replace it)."""
        draft = self.draft if self.draft is not None else self.resume()
        return draft is not None and bool(
            draft.violation_code
            or draft.subject_id
            or draft.subject_unknown
            or draft.photos
            or draft.supersedes
        )

    def start_from(
        self,
        subject_id: str,
        violation_code: str,
        fix: tuple[float, float] | None,
        accuracy_m: float | None = None,
    ) -> Draft:
        """Begin a draft for ``subject_id`` and ``violation_code`` at ``fix`` (lat, lon) in one tap: the
        wizard goes to the first step that needs the officer (the photos, for a repeat vendor whose stage
        needs nothing typed). Refused (DraftError) while an unsaved draft holds something."""
        if self.draft_in_progress():
            raise localized(DraftError, "case.quick.draft_open")
        draft = self.start()
        if fix is not None:
            draft.lat, draft.lon, draft.accuracy_m = float(fix[0]), float(fix[1]), accuracy_m
            draft.no_fix_reason = ""
        self.choose_violation(violation_code)
        self.choose_subject(subject_id)
        if self.disposition() is Disposition.WARNING_NOTICE and not draft.warning_notice_no.strip():
            draft.warning_notice_no = next_notice_no(self._last_notice_no())
        draft.step = next((step for step in STEPS if self.step_needed(step)), STEPS[-1])
        self._persist()
        return draft
