"""The subject step of the case being recorded (a part of ``mobile.state.new_case.CaseDraftState``):
search, the officer's recent subjects, a new subject registered and chosen, 当事人不明, the likely
matches shown before a new subject is created, and a subject's earlier cases (its history, from which the
stage is computed)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from enforcement.model import LOCAL_TZ, HistoryEntry, Subject, SubjectKind, new_id
from mobile.state.draft import Draft
from mobile.state.errors import DraftError, localized

#: How far back "recent subjects" look (days of the officer's own patrol log) and how many are offered.
RECENT_DAYS = 7
RECENT_SUBJECTS = 5


class DraftSubject:
    """Mixed into CaseDraftState (first among its parts: no other part's placeholder may hide these)."""

    draft: Draft | None
    _store: Any
    _now: Callable[[], datetime]

    if TYPE_CHECKING:  # defined by CaseDraftState (no placeholders at run time: they would hide it)

        def _badge(self) -> str: ...
        def _require(self) -> Draft: ...
        def _persist(self) -> None: ...
        def _advance(self, draft: Draft, after: str) -> None: ...

    def search_subjects(self, query: str) -> list[Subject]:
        return self._store.search_subjects(query.strip()) if query.strip() else []

    def recent_subjects(self, limit: int = RECENT_SUBJECTS) -> list[Subject]:
        """The subjects of the officer's own cases of the last ``RECENT_DAYS`` days, most recent first
        (a repeat vendor is then one tap away)."""
        today = self._now().astimezone(LOCAL_TZ).date()
        badge = self._badge()
        seen: list[str] = []
        for back in range(RECENT_DAYS):
            for logged in self._store.patrol_log(badge, today - timedelta(days=back)):
                subject_id = logged.case.subject_id
                if subject_id and subject_id not in seen:
                    seen.append(subject_id)
            if len(seen) >= limit:
                break
        found = (self._store.get_subject(subject_id) for subject_id in seen[:limit])
        return [subject for subject in found if subject is not None]

    def create_subject(
        self,
        kind: SubjectKind | str,
        *,
        name: str = "",
        phone: str = "",
        plate: str = "",
        address: str = "",
        description: str = "",
        hardship: bool = False,
    ) -> Subject:
        """Register a new subject (validated by the store) and choose it for the case."""
        subject = Subject(
            id=new_id(),
            kind=SubjectKind(kind),
            name=name.strip(),
            phone=phone.strip(),
            plate=plate.strip(),
            address=address.strip(),
            description=description.strip(),
            hardship=hardship,
            created_at=self._now(),
        )
        saved = self._store.save_subject(subject)
        self.choose_subject(saved.id)
        return saved

    def choose_subject(self, subject_id: str) -> None:
        if self._store.get_subject(subject_id) is None:
            raise localized(DraftError, "case.stage.need_subject", field="subject_id")
        draft = self._require()
        changed = draft.subject_id != subject_id or draft.subject_unknown
        self._set_subject(draft, subject_id, unknown=False, changed=changed)

    def choose_unknown(self) -> None:
        draft = self._require()
        self._set_subject(draft, None, unknown=True, changed=not draft.subject_unknown)

    def _set_subject(self, draft: Draft, subject_id: str | None, *, unknown: bool, changed: bool) -> None:
        """Record the subject (or that it is unknown) and move on; a ``changed`` subject drops the stage
        chosen for the old one and its disposition (the computed stage changes with the history)."""
        if changed:
            draft.chosen_stage = None
            draft.stage_override_reason = ""
            draft.disposition = ""
        draft.subject_id = subject_id
        draft.subject_unknown = unknown
        self._advance(draft, "subject")
        self._persist()

    def subject(self) -> Subject | None:
        draft = self.draft
        if draft is None or draft.subject_id is None:
            return None
        return self._store.get_subject(draft.subject_id)

    def history(self) -> list[HistoryEntry]:
        draft = self.draft
        if draft is None or draft.subject_id is None:
            return []
        return self.earlier_cases(draft.subject_id)

    def likely_matches(self) -> list[tuple[Subject, str, list[HistoryEntry]]]:
        """Before a new subject is created: the registry's subjects (own and HQ's synced registry) that
        are probably the same one ("可能是同一当事人"), each with why (``phone`` / ``plate`` / ``id`` /
        ``name``) and its cases, newest first; offline. Empty while the new-subject form is closed."""
        form = self.draft.subject_form if self.draft is not None else None
        if not form:
            return []
        found = self._store.likely_matches(
            kind=str(form.get("kind", "")), name=str(form.get("name", "")),
            phone=str(form.get("phone", "")), plate=str(form.get("plate", "")),
        )  # fmt: skip
        return [(subject, why, self.earlier_cases(subject.id)) for subject, why in found]

    def earlier_cases(self, subject_id: str) -> list[HistoryEntry]:
        """A subject's earlier cases (own and pulled from HQ), newest first: shown beside search results."""
        entries = self._store.subject_history(subject_id)
        return sorted(entries, key=lambda e: e.occurred_at, reverse=True)
