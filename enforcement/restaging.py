"""Many stage decisions over one history: what HQ needs when a case arrives late and every later case of
the subject is decided again (``hq.restage``).

``compute_stage`` (``enforcement.staging``) sorts and walks the whole history for each decision, to list
every entry with its reason; deciding the k later cases of a subject with n cases that way costs
k × n log n, which a subject with a long history (or an officer pushing one) turns into minutes of HQ's
time. ``StagedHistory`` sorts the history once and keeps, per violation (as the policy's scope reads
it), the entries that can count, in time order; each decision is then two binary searches and a slice:

    staged = StagedHistory(history)
    decision = staged.decide(violation_code, occurred_at, policy, case_no=case_no)

The decision equals ``compute_stage``'s for the same arguments in everything but ``excluded``, which is
left empty (nothing that decides again shows the excluded entries; ``details`` needs ``compute_stage``):
``tests/enforcement/test_restaging.py`` checks that over random histories and policies.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from datetime import date, datetime

from enforcement.model import CaseStatus, HistoryEntry, Stage, local_date
from enforcement.staging import (
    YEAR_DAYS,
    Scope,
    StageDecision,
    StagePolicy,
    stage_of_count,
    window_first_day,
)

__all__ = ["StagedHistory"]

_NEVER_COUNT = (CaseStatus.VOIDED, CaseStatus.WITHDRAWN)


class _Countable:
    """The entries of one violation (as a scope reads it) that can count, in time order."""

    def __init__(self, entries: list[HistoryEntry]) -> None:
        self.entries = entries
        self.times = [e.occurred_at for e in entries]
        self.days = [local_date(e.occurred_at) for e in entries]
        self.index = {e.case_no: n for n, e in enumerate(entries)}

    def span(self, first_day: date, occurred_at: datetime, case_no: str | None) -> list[HistoryEntry]:
        """Those on or after ``first_day`` and not later than ``occurred_at``, the case itself left out."""
        low, high = bisect_left(self.days, first_day), bisect_right(self.times, occurred_at)
        if low >= high:
            return []
        own = self.index.get(case_no) if case_no is not None else None
        if own is not None and low <= own < high:
            return [*self.entries[low:own], *self.entries[own + 1 : high]]
        return self.entries[low:high]


class StagedHistory:
    """A subject's history (any order, any duplicates) prepared for many ``decide`` calls."""

    def __init__(self, history: Iterable[HistoryEntry]) -> None:
        unique = {(e.case_id, e.version): e for e in history}.values()
        ordered = sorted(unique, key=lambda e: (e.occurred_at, e.case_no, e.version, e.case_id))
        latest: dict[str, HistoryEntry] = {}
        for entry in ordered:
            best = latest.get(entry.case_no)
            if best is None or (entry.version, entry.case_id) > (best.version, best.case_id):
                latest[entry.case_no] = entry
        # only a case's latest version speaks for it, and never when voided or withdrawn
        self._candidates = [e for e in ordered if latest[e.case_no] is e and e.status not in _NEVER_COUNT]
        self._by_violation: dict[tuple[Scope, str], _Countable] = {}

    def _countable(self, policy: StagePolicy, violation_code: str) -> _Countable:
        key = (policy.scope, violation_code if policy.scope is Scope.SUBCATEGORY else violation_code[:2])
        found = self._by_violation.get(key)
        if found is None:
            same = [e for e in self._candidates if policy.same_violation(e.violation_code, violation_code)]
            found = self._by_violation[key] = _Countable(same)
        return found

    def decide(
        self, violation_code: str, occurred_at: datetime, policy: StagePolicy, *, case_no: str | None = None
    ) -> StageDecision:
        """``compute_stage(violation_code, occurred_at, history, policy, case_no=case_no)`` with
        ``excluded`` left empty (see the module doc)."""
        new_day = local_date(occurred_at)
        countable = self._countable(policy, violation_code)
        counted = countable.span(window_first_day(new_day, policy.window_days), occurred_at, case_no)
        stage, ordinal, first_exempt = stage_of_count(counted, violation_code, policy)
        aggravated = False
        if policy.aggravate_over is not None and stage == Stage.PENALTY:
            in_year = countable.span(window_first_day(new_day, YEAR_DAYS), occurred_at, case_no)
            aggravated = len(in_year) + 1 > policy.aggravate_over
        return StageDecision(
            stage=stage,
            ordinal=ordinal,
            repeated=ordinal > Stage.PENALTY,
            counted=tuple(counted),
            excluded=(),
            window_days=policy.window_days,
            aggravated=aggravated,
            first_exempt=first_exempt,
            policy_version=policy.version,
            day=new_day,
        )
