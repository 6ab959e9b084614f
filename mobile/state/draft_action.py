"""The action step of the case being recorded (a part of ``mobile.state.new_case.CaseDraftState``): the
dispositions offered for the stage (the usual one first), the one chosen, the violation's fine range in
the words of every fine error, and the items seized (only where the violation allows seizure)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from enforcement.catalogue import Violation
from enforcement.model import Disposition, Stage
from enforcement.text import Lang
from enforcement.validation import fine_range_text
from mobile.state.draft import Draft, DraftSeized
from mobile.state.errors import DraftError, localized

#: Dispositions offered per stage, the usual one first.
STAGE_DISPOSITIONS: dict[Stage, tuple[Disposition, ...]] = {
    Stage.PERSUASION: (
        Disposition.PERSUADED,
        Disposition.CORRECTED,
        Disposition.RECTIFY_ORDER,
        Disposition.REFERRED,
    ),
    Stage.WARNING: (
        Disposition.WARNING_NOTICE,
        Disposition.CORRECTED,
        Disposition.RECTIFY_ORDER,
        Disposition.REFERRED,
    ),
    Stage.PENALTY: (
        Disposition.PENALTY,
        Disposition.RECTIFY_ORDER,
        Disposition.CORRECTED,
        Disposition.REFERRED,
    ),
}


class DraftAction:
    """Mixed into CaseDraftState (first among its parts: no other part's placeholder may hide these)."""

    draft: Draft | None

    if TYPE_CHECKING:  # defined by CaseDraftState and DraftQuick (no placeholders at run time)

        def _require(self) -> Draft: ...
        def _persist(self) -> None: ...
        def stage(self) -> Stage | None: ...
        def violation(self) -> Violation | None: ...
        def update(self, **values: Any) -> Draft: ...
        def fill_notice_no(self, draft: Draft) -> bool: ...

    def dispositions(self) -> tuple[Disposition, ...]:
        stage = self.stage() or Stage.PERSUASION
        choices = STAGE_DISPOSITIONS[stage]
        violation = self.violation()
        if violation is not None and not violation.fines:
            choices = tuple(d for d in choices if d is not Disposition.PENALTY)
        return choices

    def disposition(self) -> Disposition:
        draft = self._require()
        if draft.disposition:
            return Disposition(draft.disposition)
        return self.dispositions()[0]

    def set_disposition(self, disposition: Disposition | str) -> None:
        draft = self.update(disposition=Disposition(disposition).value)
        if self.fill_notice_no(draft):
            self._persist()

    def fine_range(self) -> tuple[int, int] | None:
        violation = self.violation()
        if violation is None or not violation.fines:
            return None
        return violation.fine_min, violation.fine_max

    def fine_range_text(self, lang: Lang) -> str:
        """The fine range in the words of every fine error ("500～20000 元"); "" when there is no fine."""
        violation = self.violation()
        if violation is None or not violation.fines:
            return ""
        en, zh = fine_range_text(violation)
        return zh if lang == "zh" else en

    def seizure_allowed(self) -> bool:
        violation = self.violation()
        return bool(violation and violation.seizure_allowed)

    def add_seized(self, kind: str, quantity: int | str, note: str = "") -> None:
        if not self.seizure_allowed():
            raise localized(DraftError, "case.seizure.not_allowed", field="seized_items")
        try:
            count = int(str(quantity).strip())
        except ValueError:
            count = 0
        if not kind.strip() or count < 1:
            raise DraftError(
                "Enter the item and a quantity of at least 1",
                zh="请填写物品名称和数量（至少 1）",
                field="seized_items",
            )
        draft = self._require()
        draft.seized_items.append(DraftSeized(kind.strip(), count, note.strip()))
        self._persist()

    def remove_seized(self, index: int) -> None:
        draft = self._require()
        del draft.seized_items[index]
        self._persist()
