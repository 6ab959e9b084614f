"""The repeat vendor in one tap (a part of ``mobile.state.new_case.CaseDraftState``): a draft started from a
subject seen near the GPS fix (Today's nearby list, ``mobile.state.today.TodayState.nearby``) with the
violation recorded against it there, the fix as the place, and the wizard on the first step that still
wants the officer: the stage, its reason and the usual disposition follow from the history as in the
wizard. A 警告通知书 gets the next number of the officer's notice book pre-filled.

The notice book: the first number of the officer's books (ranges HQ assigned him, synced down:
``mobile.store_notices``) that neither HQ nor this phone has seen on a case. The same fill happens in the
wizard whenever 警告通知书 is the disposition and the number is empty (``fill_notice_no``); with no book or
none left the field stays empty and the action step says why (``notice_hint``): the officer types the
number of his paper book, which HQ then checks (``hq.notices``).
"""

from __future__ import annotations

from enforcement.model import Disposition
from mobile.state.draft import STEPS, Draft
from mobile.state.errors import DraftError, localized


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

    def _next_notice_no(self) -> str:
        raise NotImplementedError

    def fill_notice_no(self, draft: Draft) -> bool:
        """Pre-fill the officer's next unused notice number when the disposition is 警告通知书 and the field
        is empty; whether it filled one."""
        if self.disposition() is not Disposition.WARNING_NOTICE or draft.warning_notice_no.strip():
            return False
        draft.warning_notice_no = self._next_notice_no()
        return bool(draft.warning_notice_no)

    def notice_hint(self) -> str | None:
        """The i18n key of what the action step says about the notice number: none left in the officer's
        books, or no book at all (type it by hand); None when a 警告通知书 is not the disposition or the
        field holds a number."""
        draft = self.draft
        if draft is None or self.disposition() is not Disposition.WARNING_NOTICE:
            return None
        if draft.warning_notice_no.strip():
            return None
        return "case.notice.used_up" if self._has_books() else "case.notice.no_book"

    def _has_books(self) -> bool:
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
        self.fill_notice_no(draft)
        draft.step = next((step for step in STEPS if self.step_needed(step)), STEPS[-1])
        self._persist()
        return draft
