"""The Subjects screen: search the registry (own and pulled from HQ) and read a subject's history."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any, Protocol

from enforcement.model import HistoryEntry, Subject
from mobile.state.observable import Observable


class SubjectStore(Protocol):
    def search_subjects(self, query: str, limit: int = 20) -> list[Subject]: ...
    def get_subject(self, subject_id: str) -> Subject | None: ...
    def subject_history(self, subject_id: str) -> list[HistoryEntry]: ...
    def resolve_subject(self, subject_id: str) -> str: ...
    def subject_edits(self, subject_id: str) -> list[dict[str, Any]]: ...
    def update_subject(self, subject: Subject) -> Subject: ...


#: Fields an edit may change (``hq.subjectedit.FIELDS`` but the kind, not edited here).
EDITABLE = ("name", "phone", "plate", "id_number", "address", "description", "hardship")


class SubjectsState(Observable):
    def __init__(self, store: SubjectStore) -> None:
        super().__init__()
        self._store = store
        self.query = ""
        self.results: list[Subject] = []
        self.selected: Subject | None = None
        self.history: list[HistoryEntry] = []
        self.edits: list[dict[str, Any]] = []  # HQ's record of who changed which field, newest first

    def forget(self) -> None:
        """Drop the search and the subject shown (another officer signs in on this phone)."""
        self.query = ""
        self.results = []
        self.selected = None
        self.history = []
        self.edits = []
        self.notify()

    def search(self, query: str) -> list[Subject]:
        self.query = query
        self.results = self._store.search_subjects(query.strip()) if query.strip() else []
        self.notify()
        return self.results

    def select(self, subject_id: str) -> Subject | None:
        """Show one subject with its cases, newest first (all versions' latest state, as the store keeps)."""
        # a subject merged at HQ shows as the one it now is, with both subjects' cases (issue #22)
        self.selected = self._store.get_subject(self._store.resolve_subject(subject_id))
        entries = self._store.subject_history(self.selected.id) if self.selected else []
        self.history = sorted(entries, key=lambda e: e.occurred_at, reverse=True)
        self.edits = self._store.subject_edits(self.selected.id) if self.selected else []
        self.notify()
        return self.selected

    def edit_selected(self, **fields: Any) -> Subject:
        """Change fields of the subject shown (offline; HQ merges the edit field by field with others made
        meanwhile, from the version this phone holds)."""
        if self.selected is None:
            raise ValueError("no subject selected")
        unknown = set(fields) - set(EDITABLE)
        if unknown:
            raise AttributeError(", ".join(sorted(unknown)))
        self.selected = self._store.update_subject(replace(self.selected, **fields))
        self.notify()
        return self.selected

    @staticmethod
    def edit_time(edit: dict[str, Any]) -> datetime | None:
        try:
            return datetime.fromisoformat(str(edit.get("at", "")))
        except ValueError:
            return None
