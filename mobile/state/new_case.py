"""Recording a case in field order: violation → location → subject → stage → action → photos → save.

``CaseDraftState`` keeps the draft (``mobile.state.draft``) and persists it after every change, computes
the stage live from the subject's history (``enforcement.staging``), processes photos into the photo store
as they are added, and saves the case atomically through ``Store.save_case``. A failed photo or a refused
save leaves the draft exactly as it was. Its parts live beside it and are mixed into ``CaseDraftState``:
the subject step (``mobile.state.draft_subject``), the action step's dispositions, fines and seized items
(``mobile.state.draft_action``), the photos and camera (``mobile.state.draft_photos``), what is typed
before it joins the case, such as the new-subject form or the stage being chosen
(``mobile.state.draft_form``), and the checks and the save (``mobile.state.draft_save``), with zones and
the quick pick in ``draft_zones`` / ``draft_quick``. What stays here is the draft's life cycle, the
violation and location steps and the live stage, which read as one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from contextlib import suppress
from datetime import date, datetime, timedelta
from typing import Any, Protocol

from enforcement import staging
from enforcement.catalogue import Catalogue, Violation
from enforcement.clock import TOLERANCE as CLOCK_TOLERANCE
from enforcement.clock import corrected as clock_corrected
from enforcement.clock import plausible
from enforcement.model import (
    Case,
    Disposition,
    HistoryEntry,
    Location,
    Officer,
    Stage,
    Subject,
    SubjectKind,
    new_id,
)
from enforcement.noticebook import NoticeBook
from enforcement.text import Lang, LocalizedError
from mobile import metakeys
from mobile.photos import PhotoSettings, ProcessedPhoto, Watermark, process_photo
from mobile.photostore import PhotoStore
from mobile.policyheld import held_policy
from mobile.state.camera import CameraError
from mobile.state.clock import ClockState
from mobile.state.draft import FIELD_STEP, STEPS, Draft, DraftPhoto, DraftSeized
from mobile.state.draft_action import STAGE_DISPOSITIONS, DraftAction
from mobile.state.draft_form import DraftForm
from mobile.state.draft_photos import DraftPhotos
from mobile.state.draft_quick import DraftQuick
from mobile.state.draft_save import DraftSave
from mobile.state.draft_subject import DraftSubject
from mobile.state.draft_zones import DraftZones
from mobile.state.errors import DraftError, NotSignedIn, localized
from mobile.state.observable import Observable
from mobile.state.ports import SyncSoon
from mobile.state.session import SessionState
from mobile.state.settings import SettingsState

#: The violations officers meet most, first in the grid until the officer's own counts say otherwise.
FIELD_FAVOURITES: tuple[str, ...] = ("0501", "0504", "0510", "0306", "0307", "0505")


class DraftStore(Protocol):
    def meta_get(self, key: str, default: Any = None) -> Any: ...
    def meta_set(self, key: str, value: Any) -> None: ...
    def violation_counts(self, badge: str) -> dict[str, int]: ...
    def search_subjects(self, query: str, limit: int = 20) -> list[Subject]: ...
    def get_subject(self, subject_id: str) -> Subject | None: ...
    def get_officer(self, badge: str) -> Officer | None: ...
    def save_subject(self, subject: Subject) -> Subject: ...
    def subject_history(self, subject_id: str) -> list[HistoryEntry]: ...
    def likely_matches(
        self, *, kind: SubjectKind | str = "", name: str = "", phone: str = "", plate: str = "",
        id_number: str = "", limit: int = 5,
    ) -> list[tuple[Subject, str]]: ...  # fmt: skip
    def patrol_log(self, badge: str, day: date) -> list[Any]: ...
    def reserve_case_no(self, squad_code: str, badge: str, day: date) -> str: ...
    def next_notice_no(self, badge: str) -> str: ...
    def notice_books(self, badge: str) -> list[NoticeBook]: ...
    def save_case(self, case: Case) -> None: ...
    @property
    def device_id(self) -> str: ...


class CaseDraftState(
    DraftSubject, DraftAction, DraftForm, DraftPhotos, DraftZones, DraftQuick, DraftSave, Observable
):
    """The officer's case draft and every operation of the New case screen."""

    def __init__(
        self,
        store: DraftStore,
        photos: PhotoStore,
        catalogue: Catalogue,
        settings: SettingsState,
        session: SessionState,
        link: SyncSoon,
        *,
        now: Callable[[], datetime],
        policy: staging.StagePolicy | None = None,
        process: Callable[[bytes, Watermark | None, PhotoSettings], ProcessedPhoto] = process_photo,
        clock: ClockState | None = None,
    ) -> None:
        super().__init__()
        #: the device clock against HQ's; ``_now`` is the best-known time (``mobile.state.clock``)
        self.clock = clock or ClockState(store, now=now, monotonic=lambda: now().timestamp())
        self.clock.subscribe(self._clock_changed)
        now = self.clock.now
        self._store = store
        self._photos = photos
        self.catalogue = catalogue
        self._settings = settings
        self._session = session
        self._link = link
        self._now = now
        self._policy = policy  # None: the policy the phone holds (mobile.policyheld)
        self._process = process
        self.draft: Draft | None = None
        self.busy_photos = 0  # photos being processed right now
        #: Why the camera could not be used last time (None: try it). Kept for the session, so the photos
        #: step goes straight to the file picker on a device without a camera.
        self.camera_note: CameraError | None = None

    # -- lifecycle ------------------------------------------------------------------------------------
    def _badge(self) -> str:
        officer = self._session.officer
        if officer is None:
            raise NotSignedIn()
        return officer.badge

    def _key(self) -> str:
        return metakeys.DRAFT.format(badge=self._badge())

    def _next_notice_no(self) -> str:
        return self._store.next_notice_no(self._badge())

    def _has_books(self) -> bool:
        return bool(self._store.notice_books(self._badge()))

    def resume(self) -> Draft | None:
        """The signed-in officer's unsaved draft, if there is one (after a restart or a break), its time
        recomputed if the clock was fixed since it began (``refresh_clock``). The draft in memory wins over
        its stored copy when both are the same draft of this officer: it holds what the store could not
        take (a write refused while the officer typed, e.g. a full disk), which is written now if it can
        be, else kept in memory for the next change."""
        stored = Draft.from_json(self._store.meta_get(self._key()))
        held = self.draft
        if (
            held is not None
            and stored is not None
            and held.case_id == stored.case_id
            and held.officer_badge == stored.officer_badge
        ):
            if held.to_json() != stored.to_json():
                with suppress(LocalizedError):  # still refused: the next change tries again
                    self._store.meta_set(self._key(), held.to_json())
            stored = held
        self.draft = stored
        if self.draft is not None:
            self.refresh_clock()
        return self.draft

    def start(self) -> Draft:
        """Continue the officer's unsaved draft or begin a new one."""
        existing = self.resume()
        if existing is not None:
            return existing
        device = self.clock.device_now()
        best = self.clock.now()
        offset = self.clock.offset()
        large = best != device and offset is not None
        self.draft = Draft(
            case_id=new_id(),
            started_at=best.isoformat(),
            officer_badge=self._badge(),
            device_started_at=device.isoformat(),
            started_mono=self.clock.monotonic(),
            clock_offset_s=offset.seconds if large and offset is not None else None,
            clock_source=offset.source if large and offset is not None else "",
        )
        self._persist()
        return self.draft

    def clock_banner(self, lang: Lang = "zh") -> str:
        """The wizard's clock banner ("" while the phone's clock agrees with HQ's)."""
        return self.clock.banner(lang)

    def _clock_changed(self) -> None:
        if self.draft is not None and self._session.officer is not None:
            with suppress(LocalizedError):  # the store refused: the next start or save recomputes it
                self.refresh_clock()

    def refresh_clock(self) -> bool:
        """Recompute the draft's time when the clock has been fixed (or HQ's time became known) since it
        began: on the same boot its best-known start is the best-known now less the monotonic time since;
        after a reboot, its device reading corrected by the offset known now. A change beyond the clock
        tolerance is applied (the stage follows, being computed from the time); returns whether it was.
        A returned case's amendment keeps its original time; a reserved case number keeps its date (the
        number is an identifier, already burned into the draft's photos)."""
        draft = self.draft
        if draft is None or draft.supersedes or not draft.device_started_at:
            return False
        try:
            device = datetime.fromisoformat(draft.device_started_at)
            started = datetime.fromisoformat(draft.started_at)
        except ValueError:
            return False
        mono = self.clock.monotonic()
        offset = self.clock.offset()
        if draft.started_mono is not None and mono >= draft.started_mono:
            try:
                best = self.clock.now() - timedelta(seconds=mono - draft.started_mono)
            except OverflowError:
                return False
            source = offset.source if offset is not None and offset.large else "device"
        else:
            best = clock_corrected(device, offset)
            source = offset.source if offset is not None else ""
        if abs(best - started) <= CLOCK_TOLERANCE and plausible(started) == plausible(best):
            return False
        draft.started_at = best.isoformat()
        moved = abs(best - device) > CLOCK_TOLERANCE
        draft.clock_offset_s = round((best - device).total_seconds()) if moved else None
        draft.clock_source = source if moved else ""
        self._persist()
        return True

    def start_amendment(self, case: Case) -> Draft:
        """A new version of ``case`` (e.g. returned by the leader), prefilled with its fields. The
        officer's amendment of this case already under way is continued; any other unsaved draft that
        holds something is never replaced (DraftError ``case.amend.draft_open``: save or discard it
        first), as a quick pick or a work order's case would not replace it."""
        if self.draft_in_progress():
            open_draft = self.draft
            if open_draft is not None and open_draft.supersedes == case.id:
                return open_draft
            raise localized(DraftError, "case.amend.draft_open", code="draft_open")
        loc = case.location
        self.draft = Draft(
            case_id=new_id(),
            started_at=case.occurred_at.isoformat(),
            officer_badge=self._badge(),
            case_no=case.case_no,
            version=case.version + 1,
            supersedes=case.id,
            step="review",
            violation_code=case.violation_code,
            lat=loc.lat,
            lon=loc.lon,
            accuracy_m=loc.accuracy_m,
            address=loc.address,
            grid_cell=loc.grid_cell or "",
            no_fix_reason=loc.no_fix_reason,
            subject_id=case.subject_id,
            subject_unknown=case.subject_unknown,
            chosen_stage=int(case.chosen_stage) if case.chosen_stage != case.computed_stage else None,
            stage_override_reason=case.stage_override_reason,
            disposition=case.disposition.value,
            fine_yuan="" if case.fine_yuan is None else str(case.fine_yuan),
            legal_basis=case.legal_basis,
            warning_notice_no=case.warning_notice_no,
            seizure_receipt_no=case.seizure_receipt_no,
            second_officer_badge=case.second_officer_badge,
            rectify_deadline=case.rectify_deadline.isoformat() if case.rectify_deadline else "",
            referred_to=case.referred_to,
            notes=case.notes,
            seized_items=[DraftSeized(i.kind, i.quantity, i.note) for i in case.seized_items],
            photos=[DraftPhoto(p.sha256, p.size, p.width, p.height, p.kind.value) for p in case.photos],
        )
        self._persist()
        return self.draft

    def discard(self) -> None:
        self.draft = None
        self._store.meta_set(self._key(), None)
        self.notify()

    def _require(self) -> Draft:
        if self.draft is None:
            return self.start()
        return self.draft

    def _persist(self) -> None:
        if self.draft is not None:
            self._store.meta_set(self._key(), self.draft.to_json())
        self.notify()

    def update(self, **values: Any) -> Draft:
        """Set typed fields of the draft (names as in ``Draft``) and persist it at once."""
        draft = self._require()
        for name, value in values.items():
            if name in {
                "case_id",
                "officer_badge",
                "case_no",
                "version",
                "supersedes",
                "photos",
                "seized_items",
            }:
                raise ValueError(f"{name} is not set by update()")
            if not hasattr(draft, name):
                raise AttributeError(name)
            setattr(draft, name, value)
        self._persist()
        return draft

    def go_to(self, step: str) -> None:
        if step not in STEPS:
            raise ValueError(step)
        self.update(step=step)

    def step_of_field(self, field: str | None) -> str:
        return FIELD_STEP.get(field or "", "review")

    def step_needed(self, step: str) -> bool:
        """Whether ``step`` still wants something from the officer: a choice not made, a field a case
        cannot be saved without, the first photo. The stage step never does (the stage is computed; the
        action step shows it, and another stage is chosen by going back). Review always does."""
        draft = self._require()
        if step == "violation":
            return not draft.violation_code
        if step == "location":
            return "location" in self.missing()
        if step == "subject":
            return not (draft.subject_id or draft.subject_unknown)
        if step == "stage":
            return self.decision() is None
        if step == "action":
            if self.decision() is None:
                return True
            return any(self.step_of_field(p.field) == "action" for p in self._case_problems())
        if step == "photos":
            return not draft.photos
        return True

    def _advance(self, draft: Draft, after: str) -> None:
        """Move the wizard past ``after`` to the first later step that still wants the officer (steps in
        between are skipped, not hidden: 上一步 shows each of them)."""
        later = STEPS[STEPS.index(after) + 1 :]
        self.fill_notice_no(draft)  # the officer's next notice number, when a 警告通知书 is the disposition
        draft.step = next((step for step in later if self.step_needed(step)), STEPS[-1])

    def advance_from(self, step: str) -> bool:
        """After something was done on ``step`` (a photo taken): move on when the officer is still on it
        and it needs nothing more. Returns whether the wizard moved (never, with no draft open: this
        begins none)."""
        draft = self.draft
        if draft is None or draft.step != step or self.step_needed(step):
            return False
        self._advance(draft, step)
        self._persist()
        return True

    # -- violation ------------------------------------------------------------------------------------
    def violation_choices(self) -> list[Violation]:
        """Every violation, the officer's most used first, then the field favourites, then by code."""
        counts = self._store.violation_counts(self._badge())
        favourite = {code: i for i, code in enumerate(FIELD_FAVOURITES)}
        return sorted(
            self.catalogue,
            key=lambda v: (-counts.get(v.code, 0), favourite.get(v.code, len(favourite)), v.code),
        )

    def find_violations(self, text: str) -> list[Violation]:
        return list(self.catalogue.find(text)) if text.strip() else self.violation_choices()

    def type_violation_query(self, text: str) -> None:
        """The violation step's search text (kept in the draft like everything typed)."""
        self._require().violation_query = text
        self._persist()

    def violation_results(self) -> list[Violation] | None:
        """The violations whose code, name or common name (占道经营, 烧烤, 渣土) contains the search text,
        in the catalogue's order; None when nothing is typed (the grid of the officer's choices shows)."""
        query = self.draft.violation_query if self.draft is not None else ""
        return self.catalogue.find(query) if query.strip() else None

    def violation(self) -> Violation | None:
        draft = self.draft
        if draft is None or not draft.violation_code:
            return None
        return self.catalogue.get(draft.violation_code)

    def choose_violation(self, code: str) -> None:
        violation = self.catalogue.get(code)
        draft = self._require()
        draft.violation_query = ""
        if draft.violation_code != code:
            draft.violation_code = code
            draft.legal_basis = violation.legal_basis
            draft.chosen_stage = None
            draft.stage_override_reason = ""
            draft.disposition = ""
            if not violation.seizure_allowed:
                draft.seized_items = []
        self._advance(draft, "violation")
        self._persist()

    # -- location -------------------------------------------------------------------------------------
    def set_position(
        self,
        lat: float,
        lon: float,
        accuracy_m: float | None,
        *,
        advance: bool = False,
        fix_time: object = None,
        for_case: str | None = None,
    ) -> bool:
        """Record the GPS fix. With ``advance`` (a fix the location step asked for) the wizard moves on
        to the next step that needs the officer, unless the officer has started typing the place.
        ``fix_time`` (the position's timestamp) checks the phone's clock first: a clock the fix's time
        contradicts (with no HQ time known) corrects the draft's time at once (``refresh_clock``).
        ``for_case``: the draft (its case id) the fix was asked for; when another draft is open by the time
        it comes (the officer signed out, or saved and began another) or none is, the fix is not taken.
        Returns whether it was."""
        self.clock.note_gps(fix_time)
        if for_case is not None and (self.draft is None or self.draft.case_id != for_case):
            return False
        draft = self._require()
        draft.lat, draft.lon, draft.accuracy_m = float(lat), float(lon), accuracy_m
        draft.no_fix_reason = ""
        typing = bool(draft.address.strip() or draft.grid_cell.strip())
        if advance and draft.step == "location" and not typing:
            self._advance(draft, "location")
        self._persist()
        return True

    def clear_position(self) -> None:
        draft = self._require()
        draft.lat = draft.lon = draft.accuracy_m = None
        self._persist()

    def location(self) -> Location:
        draft = self._require()
        return Location(
            lat=draft.lat,
            lon=draft.lon,
            accuracy_m=draft.accuracy_m,
            address=draft.address.strip(),
            grid_cell=draft.grid_cell.strip() or None,
            no_fix_reason=draft.no_fix_reason.strip(),
        )

    # -- stage ----------------------------------------------------------------------------------------
    def occurred_at(self) -> datetime:
        return datetime.fromisoformat(self._require().started_at)

    def decision(self) -> staging.StageDecision | None:
        """The computed stage with its reasons, or None until violation and subject are known."""
        draft = self.draft
        if draft is None or not draft.violation_code or not (draft.subject_id or draft.subject_unknown):
            return None
        history: Iterable[HistoryEntry] = self.history()
        return staging.compute_stage(
            draft.violation_code,
            self.occurred_at(),
            history,
            self._policy or held_policy(self._store.meta_get).staging,
            case_no=draft.case_no or None,
        )

    def decision_for(self, case: Case) -> staging.StageDecision:
        """The phone's stage decision for a saved ``case``: its subject's history before it, under the
        policy the phone holds (the case detail explains the stage with it)."""
        history = [
            entry
            for entry in (self.earlier_cases(case.subject_id) if case.subject_id else [])
            if (entry.occurred_at, entry.case_no) < (case.occurred_at, case.case_no)  # before it only
        ]
        return staging.compute_stage(
            case.violation_code,
            case.occurred_at,
            history,
            self._policy or held_policy(self._store.meta_get).staging,
            case_no=case.case_no,
        )

    def stage(self) -> Stage | None:
        """The stage that will be applied: the officer's choice, else the computed one."""
        draft = self.draft
        if draft is not None and draft.chosen_stage is not None:
            return Stage(draft.chosen_stage)
        decision = self.decision()
        return decision.stage if decision else None

    def explain(self, lang: Lang) -> str:
        decision = self.decision()
        return decision.explain(lang) if decision else ""

    def choose_stage(self, stage: Stage, reason: str = "") -> None:
        """Apply another stage than the computed one; needs a reason (StageChoiceError otherwise)."""
        decision = self.decision()
        if decision is None:
            raise localized(DraftError, "case.stage.need_subject", field="subject_id")
        cleaned = staging.choose_stage(decision, stage, reason)
        draft = self._require()
        draft.chosen_stage = None if stage == decision.stage else int(stage)
        draft.stage_override_reason = cleaned
        if draft.disposition and Disposition(draft.disposition) not in STAGE_DISPOSITIONS[Stage(stage)]:
            draft.disposition = ""
        self._persist()
