"""The Case detail screen: one case with every field, its photos, versions, the leader's review, HQ's
stage with HQ's reason for it where HQ's stage differs from the officer's, and what zones recorded on it
(``Case.extra``: the 疏导点 the vendor was guided to, the street and its class; the grid cell is the
location's)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol

from enforcement.model import Case, Review, Stage, Subject, SyncState, local_date
from enforcement.staging import StageDecision, stage_name
from enforcement.text import Lang, pick
from enforcement.zones import EXTRA_GUIDED_SPOT_NAME, EXTRA_STREET, EXTRA_STREET_CLASS, StreetClass
from mobile.photostore import PhotoStore, PhotoStoreError
from mobile.state.errors import DraftError, localized
from mobile.state.new_case import CaseDraftState
from mobile.state.observable import Observable

#: The ``CaseView`` field of the phone's stage reason in each language.
_REASON_FIELDS: tuple[tuple[Lang, str], ...] = (("zh", "stage_reason_zh"), ("en", "stage_reason_en"))


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
    # The phone's reason for the stage it computed: the earlier cases it counted ("此前计入 2 起：10-02 劝导，
    # 11-01 警告 → 处罚"); "" when it could not be worked out
    stage_reason_zh: str = ""
    stage_reason_en: str = ""

    def stage_reason(self, lang: Lang) -> str:
        return pick(lang, self.stage_reason_zh, self.stage_reason_en)

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


def phone_reason(decision: StageDecision, lang: Lang) -> str:
    """Why the phone computed its stage, in words that are not HQ's line: the earlier cases counted, then
    the stage ("此前计入 2 起：10-02 劝导，11-01 警告 → 处罚"; "Earlier counted: none → Persuasion")."""
    counted = decision.counted
    stage = stage_name(decision.stage, lang)
    if len(counted) != decision.ordinal - 1 and not decision.first_exempt:  # the count without the list
        n = decision.ordinal - 1
        return f"此前计入 {n} 起 → {stage}" if lang == "zh" else f"Earlier counted: {n} → {stage}"
    if decision.aggravated:
        stage += "（从重）" if lang == "zh" else " (aggravated)"
    if decision.first_exempt:
        stage += "（首违不罚）" if lang == "zh" else " (first violation: no penalty)"
    items = [f"{local_date(e.occurred_at):%m-%d} {stage_name(e.stage, lang)}" for e in counted]
    if lang == "zh":
        earlier = f"此前计入 {len(counted)} 起" + (f"：{'，'.join(items)}" if items else "")
        return f"{earlier} → {stage}"
    earlier = f"Earlier counted: {', '.join(items)}" if items else "Earlier counted: none"
    return f"{earlier} → {stage}"


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
            **self._stage_reasons(case),
        )

    def _stage_reasons(self, case: Case) -> dict[str, str]:
        decision = self._drafts.decision_for(case)
        if (decision.stage, decision.ordinal) != (case.computed_stage, case.stage_ordinal):
            # the history on the phone is not what it was at the save (pulled from HQ since, or
            # another policy): say what the case itself records, the count and the stage
            decision = StageDecision(
                stage=case.computed_stage,
                ordinal=case.stage_ordinal,
                repeated=case.stage_ordinal > Stage.PENALTY,
                counted=(),
                excluded=(),
                window_days=decision.window_days,
            )
        return {lang_key: phone_reason(decision, lang) for lang, lang_key in _REASON_FIELDS}

    def photo(self, sha256: str) -> bytes | None:
        """The evidence photo at full size, or None when its file is missing or cannot be read back whole
        (damaged on the phone's storage: the viewer says so instead of failing)."""
        try:
            return self._photos.read(sha256) if self._photos.has(sha256) else None
        except (PhotoStoreError, OSError):
            return None

    def amend(self, case_id: str) -> None:
        """Start a new version of a returned case in the case draft."""
        view = self.load(case_id)
        if view is None or not view.can_amend:
            raise localized(DraftError, "detail.cannot_amend", field="case_id")
        self._drafts.start_amendment(view.case)
