"""The subject edit form (issue #22): change a registered subject's fields on the phone, offline.

``open()`` takes the subject shown on the Subjects screen (``SubjectsState.selected``) into a form;
``set(field, value)`` keeps what is typed and checks that field at once by the enforcement rules
(``enforcement.validation.validate_subject``: phone numbers, plates, resident ID numbers with their check
character, text limits, the fields a kind needs), so an error shows under the field, in Chinese or English;
``save()`` checks the whole form again and hands the changed fields to ``SubjectsState.edit_selected``,
which stores the edit and queues it for HQ with the HQ version it was made from (``base_version``: HQ
merges it field by field, ``hq.subjectedit``). Nothing here needs the network.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from enforcement.labels import subject_plate
from enforcement.model import CaseValidationError, Subject
from enforcement.text import LocalizedError
from enforcement.validation import validate_subject
from mobile.state.observable import Observable
from mobile.state.subjects import EDITABLE, SubjectsState

#: The form's text fields, in screen order (``hardship`` is the check box).
TEXT_FIELDS = ("name", "phone", "plate", "id_number", "address", "description")


class SubjectEditState(Observable):
    def __init__(self, subjects: SubjectsState) -> None:
        super().__init__()
        self._subjects = subjects
        self.subject: Subject | None = None
        self.form: dict[str, Any] = {}
        self.errors: dict[str, LocalizedError] = {}
        self.saved = False

    def open(self) -> dict[str, Any]:
        """Start editing the subject shown on the Subjects screen; returns the form's values."""
        subject = self._subjects.selected
        if subject is None:
            raise CaseValidationError("choose a subject first", zh="请先选择当事人", field="id")
        self.subject = subject
        self.form = {name: getattr(subject, name) for name in TEXT_FIELDS} | {"hardship": subject.hardship}
        self.form["plate"] = subject_plate(subject)  # the plate as written, not the matching key
        self.errors = {}
        self.saved = False
        self.notify()
        return self.form

    def close(self) -> None:
        self.subject = None
        self.form = {}
        self.errors = {}
        self.notify()

    def _candidate(self) -> Subject:
        if self.subject is None:
            raise CaseValidationError("choose a subject first", zh="请先选择当事人", field="id")
        values = dict(self.form)
        return replace(self.subject, **values, plate_written=str(values.get("plate", "")))

    def set(self, field: str, value: Any) -> LocalizedError | None:
        """Keep a typed value and check that field; returns its error (None: fine)."""
        if field not in self.form:
            raise AttributeError(field)
        self.form[field] = bool(value) if field == "hardship" else str(value or "")
        self._check(field)
        self.notify()
        return self.errors.get(field)

    def _check(self, field: str) -> None:
        """Check one field on its own (the others as stored), so each wrong field shows its own reason."""
        assert self.subject is not None
        self.errors.pop(field, None)
        value = self.form[field]
        alone = replace(self.subject, **{field: value})
        if field == "plate":
            alone = replace(alone, plate_written=str(value))
        try:
            validate_subject(alone)
        except CaseValidationError as err:
            if err.field == field:
                self.errors[field] = err

    def changes(self) -> dict[str, Any]:
        """The fields the form changes (by value after normalising), as ``edit_selected`` takes them."""
        assert self.subject is not None
        clean = validate_subject(self._candidate())
        before = self.subject
        out: dict[str, Any] = {}
        for name in EDITABLE:
            if getattr(clean, name) != getattr(before, name):
                out[name] = getattr(clean, name)
        if "plate" in out or clean.plate_written != before.plate_written:
            out["plate"] = str(self.form.get("plate", ""))
        return out

    def save(self) -> Subject | None:
        """Check the whole form and save the changed fields offline (queued for HQ). Returns the subject as
        stored, or None when a field is wrong (``errors`` says which, in both languages)."""
        if self.subject is None:
            raise CaseValidationError("choose a subject first", zh="请先选择当事人", field="id")
        for name in self.form:
            self._check(name)
        try:
            changes = self.changes()
        except CaseValidationError as err:
            self.errors.setdefault(err.field or "name", err)
        if self.errors:
            self.notify()
            return None
        if not changes:
            self.saved = True
            self.notify()
            return self.subject
        stored = self._subjects.edit_selected(**changes)
        self.subject = stored
        self.saved = True
        self._subjects.select(stored.id)  # the detail shows the new values and the queued edit
        self.notify()
        return stored
