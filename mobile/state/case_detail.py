"""The Case detail screen: one case with every field, its photos, versions, the leader's review, HQ's
stage with HQ's reason for it where HQ's stage differs from the officer's, and what zones recorded on it
(``Case.extra``: the 疏导点 the vendor was guided to, the street and its class; the grid cell is the
location's)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol

from enforcement.model import Case, Review, Stage, Subject, SyncState
from enforcement.text import Lang, pick
from enforcement.zones import EXTRA_GUIDED_SPOT_NAME, EXTRA_STREET, EXTRA_STREET_CLASS, StreetClass
from mobile.photostore import PhotoStore
from mobile.state.errors import DraftError, localized
from mobile.state.new_case import CaseDraftState
from mobile.state.observable import Observable


class DetailStore(Protocol):
    def get_case(self, case_id: str) -> Case | None: ...
    def case_versions(self, case_no: str) -> list[Case]: ...
    def patrol_log(self, badge: str, day: date) -> list[Any]: ...
    def get_subject(self, subject_id: str) -> Subject | None: ...


@dataclass(frozen=True, slots=True)
class CaseView:
    """Everything the detail screen shows of one case version."""

    case: Case
    versions: list[Case]
    subject: Subject | None
    sync_state: SyncState
    review: Review | None
    hq_stage: Stage | None
    photos_missing: int
    # HQ's reason for its stage, naming the earlier cases HQ counted ("第3次 · 处罚：10-02 劝导，11-01 警告");
    # "" when HQ sent none
    hq_reason_zh: str = ""
    hq_reason_en: str = ""

    @property
    def hq_differs(self) -> bool:
        """HQ's stage is known and differs from the stage the officer applied."""
        return self.hq_stage is not None and self.hq_stage != self.case.chosen_stage

    def hq_basis(self, lang: Lang) -> str:
        """HQ's reason in ``lang`` when HQ's stage differs from the officer's; "" when it agrees, or HQ sent
        no reason in that language (never the other language)."""
        if not self.hq_differs:
            return ""
        return pick(lang, self.hq_reason_zh, self.hq_reason_en)

    @property
    def guided_spot_name(self) -> str:
        """The 疏导点 the vendor was guided to (引导至疏导点), "" when the case records no guidance."""
        return self.case.extra.get(EXTRA_GUIDED_SPOT_NAME, "")

    @property
    def street_name(self) -> str:
        return self.case.extra.get(EXTRA_STREET, "")

    @property
    def street_class(self) -> StreetClass | None:
        """The class of the street at the fix when the case was saved (None: off any street, or unknown)."""
        try:
            return StreetClass(self.case.extra.get(EXTRA_STREET_CLASS, ""))
        except ValueError:
            return None

    @property
    def latest(self) -> bool:
        return all(v.version <= self.case.version for v in self.versions)

    @property
    def can_amend(self) -> bool:
        """A case the squad leader returned can be amended (as a new version) from its latest version."""
        return self.sync_state is SyncState.RETURNED and self.latest


class CaseDetailState(Observable):
    def __init__(self, store: DetailStore, photos: PhotoStore, drafts: CaseDraftState) -> None:
        super().__init__()
        self._store = store
        self._photos = photos
        self._drafts = drafts

    def load(self, case_id: str) -> CaseView | None:
        case = self._store.get_case(case_id)
        if case is None:
            return None
        versions = sorted(self._store.case_versions(case.case_no), key=lambda c: c.version)
        logged = next(
            (e for e in self._store.patrol_log(case.officer_badge, case.local_day) if e.case.id == case.id),
            None,
        )
        return CaseView(
            case=case,
            versions=versions,
            subject=self._store.get_subject(case.subject_id) if case.subject_id else None,
            sync_state=logged.sync_state if logged else SyncState.LOCAL,
            review=logged.review if logged else None,
            hq_stage=logged.hq_stage if logged else None,
            photos_missing=logged.photos_missing if logged else 0,
            hq_reason_zh=logged.hq_reason_zh if logged else "",
            hq_reason_en=logged.hq_reason_en if logged else "",
        )

    def photo(self, sha256: str) -> bytes | None:
        """The evidence photo at full size, or None when its file is missing."""
        return self._photos.read(sha256) if self._photos.has(sha256) else None

    def amend(self, case_id: str) -> None:
        """Start a new version of a returned case in the case draft."""
        view = self.load(case_id)
        if view is None or not view.can_amend:
            raise localized(DraftError, "detail.cannot_amend", field="case_id")
        self._drafts.start_amendment(view.case)
