"""What the officer types on the wizard's screens before it becomes part of the case: the subject search,
the new-subject form, the stage being chosen instead of the computed one with its reason, and the seized
item being entered. It lives in the draft (``mobile.state.draft``) and is persisted with every keystroke
like the rest of it, so a restart loses nothing typed; the views keep none of it.

``DraftForm`` is a part of ``mobile.state.new_case.CaseDraftState`` (which supplies the draft and the
operations these forms end in: ``create_subject``, ``choose_stage``, ``add_seized``).
"""

from __future__ import annotations

from typing import Any

from enforcement.model import Stage, Subject, SubjectKind
from mobile.state.draft import Draft
from mobile.state.observable import Observable

#: Fields of the new-subject form, as an empty form holds them.
NEW_SUBJECT: dict[str, Any] = {
    "kind": SubjectKind.MOBILE_VENDOR.value,
    "name": "",
    "phone": "",
    "plate": "",
    "address": "",
    "description": "",
    "hardship": False,
}


class DraftForm(Observable):
    """The typed, not yet committed input of ``CaseDraftState`` (a mixin)."""

    draft: Draft | None

    def _require(self) -> Draft:
        raise NotImplementedError

    def _persist(self) -> None:
        raise NotImplementedError

    def stage(self) -> Stage | None:
        raise NotImplementedError

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
        raise NotImplementedError

    def choose_stage(self, stage: Stage, reason: str = "") -> None:
        raise NotImplementedError

    def add_seized(self, kind: str, quantity: int | str, note: str = "") -> None:
        raise NotImplementedError

    # -- subject search and the new-subject form ------------------------------------------------------
    def type_subject_query(self, text: str) -> None:
        self._require().subject_query = text
        self._persist()

    def open_subject_form(self) -> dict[str, Any]:
        """Open the new-subject form (an open one keeps what was typed); returns its values."""
        draft = self._require()
        if draft.subject_form is None:
            draft.subject_form = dict(NEW_SUBJECT)
            self._persist()
        return draft.subject_form

    def subject_form(self) -> dict[str, Any] | None:
        """The open new-subject form's values (None: the form is closed)."""
        return self.draft.subject_form if self.draft is not None else None

    def close_subject_form(self) -> None:
        """Close the new-subject form without creating anything (an existing subject was chosen)."""
        draft = self._require()
        if draft.subject_form is not None:
            draft.subject_form = None
            self._persist()

    def type_subject(self, name: str, value: Any) -> None:
        """One field of the new-subject form (``hardship`` is a switch, the others text)."""
        if name not in NEW_SUBJECT:
            raise AttributeError(name)
        form = self.open_subject_form()
        form[name] = bool(value) if name == "hardship" else (value or "")
        self._persist()

    def create_subject_from_form(self) -> Subject:
        """Register the subject the form describes and choose it; the form closes. On an error (naming
        the field) the form stays open with what was typed."""
        values = {**NEW_SUBJECT, **self.open_subject_form()}
        saved = self.create_subject(
            values["kind"],
            name=values["name"],
            phone=values["phone"],
            plate=values["plate"],
            address=values["address"],
            description=values["description"],
            hardship=bool(values["hardship"]),
        )
        self._require().subject_form = None
        self._persist()
        return saved

    # -- another stage than the computed one ----------------------------------------------------------
    def open_stage_pick(self) -> None:
        """Start choosing another stage: the applied one preselected, the reason given before offered."""
        draft = self._require()
        draft.stage_pick = int(self.stage() or Stage.PERSUASION)
        draft.stage_pick_reason = draft.stage_override_reason
        self._persist()

    def pick_stage(self, value: int) -> None:
        self._require().stage_pick = int(value)
        self._persist()

    def type_stage_reason(self, text: str) -> None:
        self._require().stage_pick_reason = text
        self._persist()

    def cancel_stage_pick(self) -> None:
        self._require().stage_pick = None
        self._persist()

    def apply_stage_pick(self) -> None:
        """Apply the picked stage with the typed reason (StageChoiceError: the choice stays open)."""
        draft = self._require()
        if draft.stage_pick is None:
            return
        self.choose_stage(Stage(draft.stage_pick), draft.stage_pick_reason)
        draft.stage_pick = None
        self._persist()

    # -- the seized item being entered ----------------------------------------------------------------
    def type_seized(self, *, kind: str | None = None, quantity: str | None = None) -> None:
        draft = self._require()
        if kind is not None:
            draft.seized_kind = kind
        if quantity is not None:
            draft.seized_quantity = quantity
        self._persist()

    def add_seized_from_form(self) -> None:
        """Add the typed item to the seizure list (DraftError naming ``seized_items`` otherwise); the
        entry line is emptied for the next item."""
        draft = self._require()
        self.add_seized(draft.seized_kind, draft.seized_quantity)
        draft.seized_kind, draft.seized_quantity = "", "1"
        self._persist()
