"""The Subjects screen: search the registry (own and pulled from HQ) and read a subject's history."""

from __future__ import annotations

from typing import Protocol

from enforcement.model import HistoryEntry, Subject
from mobile.state.observable import Observable


class SubjectStore(Protocol):
    def search_subjects(self, query: str, limit: int = 20) -> list[Subject]: ...
    def get_subject(self, subject_id: str) -> Subject | None: ...
    def subject_history(self, subject_id: str) -> list[HistoryEntry]: ...
    def resolve_subject(self, subject_id: str) -> str: ...


class SubjectsState(Observable):
    def __init__(self, store: SubjectStore) -> None:
        super().__init__()
        self._store = store
        self.query = ""
        self.results: list[Subject] = []
        self.selected: Subject | None = None
        self.history: list[HistoryEntry] = []

    def forget(self) -> None:
        """Drop the search and the subject shown (another officer signs in on this phone)."""
        self.query = ""
        self.results = []
        self.selected = None
        self.history = []
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
        self.notify()
        return self.selected
