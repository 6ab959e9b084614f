"""Saving the case being recorded: what the draft still lacks, every problem that would stop the save,
the ``Case`` the draft describes, and the atomic save that clears the draft and asks the link to sync.

``DraftSave`` is a part of ``mobile.state.new_case.CaseDraftState`` (which supplies the draft, the store,
the session, the stage decision and the location); it is kept apart so each module reads in one sitting.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from enforcement import staging
from enforcement.catalogue import Catalogue
from enforcement.clock import TOLERANCE as CLOCK_TOLERANCE
from enforcement.model import Case, Disposition, Location, PhotoKind, PhotoRef, SeizedItem, Stage, local_date
from enforcement.text import LocalizedError
from enforcement.validation import case_problems, deadline_problem, fine_problem, read_deadline, read_fine
from mobile.i18n import t
from mobile.state.draft import Draft
from mobile.state.errors import DraftError, NotSignedIn, localized
from mobile.state.observable import Observable
from mobile.state.ports import SyncSoon
from mobile.state.session import SessionState


class DraftSave(Observable):
    """The checks and the save of ``CaseDraftState`` (a mixin: the attributes below are set there)."""

    draft: Draft | None
    busy_photos: int  # photos being processed (DraftPhotos)
    catalogue: Catalogue
    _store: Any
    _session: SessionState
    _link: SyncSoon
    _now: Callable[[], datetime]

    def _require(self) -> Draft:
        raise NotImplementedError

    def _key(self) -> str:
        raise NotImplementedError

    def location(self) -> Location:
        raise NotImplementedError

    def occurred_at(self) -> datetime:
        raise NotImplementedError

    def decision(self) -> staging.StageDecision | None:
        raise NotImplementedError

    def disposition(self) -> Disposition:
        raise NotImplementedError

    def ensure_case_no(self) -> str:
        raise NotImplementedError

    def refresh_clock(self) -> bool:
        raise NotImplementedError

    def zoned_location(self, location: Location) -> Location:  # DraftZones
        raise NotImplementedError

    def zone_extra(self, disposition: Disposition) -> dict[str, Any]:  # DraftZones
        raise NotImplementedError

    def missing(self) -> list[str]:
        """The steps still lacking what a case needs (i18n keys ``case.step.<step>``)."""
        draft = self.draft
        if draft is None:
            return ["violation"]
        lacking = []
        if not draft.violation_code:
            lacking.append("violation")
        loc = self.location()
        if not (loc.has_fix or loc.address or loc.no_fix_reason):
            lacking.append("location")
        if not (draft.subject_id or draft.subject_unknown):
            lacking.append("subject")
        return lacking

    def problems(self) -> list[LocalizedError]:
        """Everything that would stop the save, in form order: the missing steps, else every problem
        ``enforcement.validation.case_problems`` finds in the case the draft would save (the same check
        the store runs). Reserves no case number."""
        lacking = self.missing()
        if lacking:
            return [_missing_step(step) for step in lacking]
        return self._case_problems()

    def _case_problems(self) -> list[LocalizedError]:
        """What ``case_problems`` finds in the case the draft would save (violation and subject known)."""
        draft = self._require()
        try:
            case = self._compose(draft.case_no or _PENDING_CASE_NO)
        except LocalizedError as exc:  # a number or date the officer typed that cannot be read
            # said in the field's own words (the fine's with its range), as the field says it
            known = exc.field in ("fine_yuan", "rectify_deadline") and self.field_problem(exc.field or "")
            return [known or exc]
        subject = None if case.subject_id is None else self._store.get_subject(case.subject_id)
        # the seizure's second officer: the same rule HQ applies, against the officers this phone knows
        return list(case_problems(case, self.catalogue, subject=subject, officer_of=self._store.get_officer))

    def field_problem(self, name: str) -> LocalizedError | None:
        """What is wrong with the value typed into one field of the action step, checked as it is typed
        by the same rule ``case_problems`` applies on review and save (``enforcement.validation``): the
        fine (``fine_yuan``) and the rectification deadline (``rectify_deadline``). None: nothing wrong,
        or the field is empty (an empty field is named on review, not while the officer has not typed)."""
        draft = self._require()
        if name == "fine_yuan":
            violation = self.catalogue.violations.get(draft.violation_code)
            if violation is None or not violation.fines or not draft.fine_yuan.strip():
                return None
            return fine_problem(draft.fine_yuan, violation)
        if name == "rectify_deadline":
            if not draft.rectify_deadline.strip():
                return None
            return deadline_problem(draft.rectify_deadline, local_date(self.occurred_at()))
        raise AttributeError(name)

    def build_case(self) -> Case:
        """The Case the draft describes (not validated against the catalogue: the store does that)."""
        self._require()
        if self._session.officer is None:
            raise NotSignedIn()
        lacking = self.missing()
        if lacking:
            raise _missing_step(lacking[0])
        self.refresh_clock()
        return self._compose(self.ensure_case_no())

    def _compose(self, case_no: str) -> Case:
        draft = self._require()
        officer = self._session.officer
        if officer is None:
            raise NotSignedIn()
        decision = self.decision()
        assert decision is not None  # violation and subject are known (checked above)
        chosen = Stage(draft.chosen_stage) if draft.chosen_stage is not None else decision.stage
        disposition = self.disposition()
        occurred_at = self.occurred_at()
        device_at = _device_time(draft, occurred_at)
        return Case(
            id=draft.case_id,
            case_no=case_no,
            officer_badge=officer.badge,
            squad_code=officer.squad_code,
            device_id=self._store.device_id,
            violation_code=draft.violation_code,
            occurred_at=occurred_at,
            location=self.zoned_location(self.location()),
            subject_id=None if draft.subject_unknown else draft.subject_id,
            subject_unknown=draft.subject_unknown,
            computed_stage=decision.stage,
            chosen_stage=chosen,
            stage_override_reason=draft.stage_override_reason if chosen != decision.stage else "",
            stage_ordinal=decision.ordinal,
            disposition=disposition,
            fine_yuan=read_fine(draft.fine_yuan) if disposition is Disposition.PENALTY else None,
            legal_basis=draft.legal_basis.strip(),
            warning_notice_no=draft.warning_notice_no.strip(),
            seizure_receipt_no=draft.seizure_receipt_no.strip() if draft.seized_items else "",
            second_officer_badge=draft.second_officer_badge.strip() if draft.seized_items else "",
            rectify_deadline=read_deadline(draft.rectify_deadline)
            if disposition is Disposition.RECTIFY_ORDER
            else None,
            referred_to=draft.referred_to.strip() if disposition is Disposition.REFERRED else "",
            seized_items=tuple(SeizedItem(i.kind, i.quantity, i.note) for i in draft.seized_items),
            photos=tuple(
                PhotoRef(p.sha256, p.size, PhotoKind(p.kind), p.width, p.height) for p in draft.photos
            ),
            notes=draft.notes.strip(),
            version=draft.version,
            supersedes=draft.supersedes,
            created_at=self._now(),
            extra=self.zone_extra(disposition),
            policy_version=decision.policy_version,
            device_occurred_at=device_at,
            clock_offset_s=None if device_at is None else round((occurred_at - device_at).total_seconds()),
            clock_source=(draft.clock_source or "device") if device_at is not None else "",
        )

    def save(self) -> Case:
        """Save the case atomically, clear the draft and ask the link to sync. On any error the draft
        stays as it is and the error (naming the field) propagates. Refused (DraftError) with no draft
        open (a second tap on 保存: the case is saved once, and no empty draft is begun by the tap) and
        while a photo is still being processed (it would be left out of the case)."""
        if self.draft is None:
            raise localized(DraftError, "case.save.no_draft", code="no_draft")
        if self.busy_photos:
            raise localized(DraftError, "case.save.photos_busy", code="photos_busy")
        case = self.build_case()
        self._store.save_case(case)
        self.draft = None
        self._store.meta_set(self._key(), None)
        self.notify()
        self._link.kick()
        return case


_STEP_FIELD = {"violation": "violation_code", "location": "location", "subject": "subject_id"}

#: Stands in for the case number while checking a draft that has none reserved yet.
_PENDING_CASE_NO = "(pending)"


def _missing_step(step: str) -> DraftError:
    return DraftError(
        t("en", "case.review.missing", what=t("en", f"case.step.{step}")),
        zh=t("zh", "case.review.missing", what=t("zh", f"case.step.{step}")),
        field=_STEP_FIELD[step],
    )


def _device_time(draft: Draft, occurred_at: datetime) -> datetime | None:
    """The device clock's reading when the draft began, when it differs from the case's best-known time
    beyond the clock tolerance (``enforcement.clock``; None: the device time is the case's time)."""
    if not draft.device_started_at:
        return None
    try:
        device = datetime.fromisoformat(draft.device_started_at)
    except ValueError:
        return None
    return device if abs(occurred_at - device) > CLOCK_TOLERANCE else None
