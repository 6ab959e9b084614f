"""Late arrivals of a push batch restaged together, at the batch's next flush (``hq.ingest.view``).

A first case version earlier than stored cases of its identity changes what counted for them: its arrival
restages them (``hq.restage.restage_after``). Done at each arrival, every late case wrote what the batch had
queued so far, read the identity's later cases and wrote their new stages on its own: with several devices
pushing into shared subjects, about one case in three, each a handful of statements.

Here each late arrival is kept as it was seen (``LateArrival``: the identity and history it was decided
over, its place among the cases queued since the last flush) and ``restage_arrivals`` runs them once what
is queued is written: every identity's later cases are read in one query, then each arrival, in
arrival order, decides the cases that were stored or queued before it over the history it saw, exactly as
its own restage would have. The cases' stored JSON is read, and their new verdicts written, once for the
whole flush; a case changed by several arrivals is audited once per change (each naming its cause, as
before), its last verdict written once and its last state published once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from enforcement.model import HistoryEntry
from enforcement.restaging import StagedHistory
from enforcement.staging import StagePolicy
from hq.policy import verdict_under
from hq.restage import Settings, Step, write_steps
from hq.storage.base import CaseState, Tx
from hq.tally import TallyDelta

__all__ = ["LateArrival", "restage_arrivals"]


@dataclass(frozen=True)
class LateArrival:
    """A queued first version that arrived after later cases of its identity, as its arrival saw them."""

    case_id: str
    case_no: str
    occurred_at: datetime
    members: frozenset[str]  # its subject's identity group
    history: tuple[HistoryEntry, ...]  # the identity's history, itself included
    position: int  # its place among the cases queued since the last flush


def restage_arrivals(
    tx: Tx,
    arrivals: Sequence[LateArrival],
    positions: Mapping[str, int],
    *,
    policy: StagePolicy | None,
    tally: TallyDelta,
) -> list[CaseState]:
    """Each arrival's restage, after it and every case queued with it are written. ``positions``: the place
    of each case queued since the last flush (a case queued after an arrival was not there to restage).
    Returns the restaged cases' last states."""
    by_identity: dict[frozenset[str], list[LateArrival]] = {}
    for arrival in arrivals:
        by_identity.setdefault(arrival.members, []).append(arrival)
    # every identity's later cases in one query (a query per 500 subjects), from the earliest arrival on
    subjects = sorted({m for members in by_identity for m in members})
    since = min(a.occurred_at for a in arrivals)
    by_subject: dict[str, list[CaseState]] = {}
    for n in range(0, len(subjects), 500):
        chunk = subjects[n : n + 500]
        for state in tx.list_cases(subject_ids=chunk, since=since, limit=10_000 * len(chunk)):
            by_subject.setdefault(state.subject_id or "", []).append(state)
    plans: list[tuple[list[LateArrival], list[CaseState]]] = []
    for members, seen in by_identity.items():
        first = min(a.occurred_at for a in seen)
        stored = [s for m in sorted(members) for s in by_subject.get(m, ()) if s.occurred_at >= first]
        if stored:
            plans.append((seen, stored))
    if not plans:
        return []
    # read and written once for every identity: the cases' stored JSON, then their new verdicts
    payloads = tx.case_payloads([s.case_id for _, stored in plans for s in stored])
    settings = Settings(tx, policy)
    steps: list[Step] = []
    for seen, stored in plans:
        steps += _steps(seen, stored, positions, payloads, settings)
    return write_steps(tx, steps, payloads, tally=tally)


def _steps(
    arrivals: list[LateArrival],
    stored: list[CaseState],
    positions: Mapping[str, int],
    payloads: Mapping[str, Mapping[str, Any]],
    settings: Settings,
) -> list[Step]:
    """One identity's restages: each arrival, in arrival order, deciding the cases stored or queued before
    it over the history it saw, each change seen by the arrivals after it."""
    now = {s.case_id: s for s in stored}  # each case as the arrivals so far left it
    steps: list[Step] = []
    for arrival in arrivals:
        staged = StagedHistory(list(arrival.history))
        for case_id in list(now):
            state = now[case_id]
            if state.occurred_at < arrival.occurred_at or state.case_no == arrival.case_no:
                continue
            if positions.get(case_id, -1) > arrival.position:
                continue  # queued after the arrival: decided over a history that held it already
            data = payloads.get(case_id, {})
            decision = staged.decide(state.violation_code, state.occurred_at, settings.of(state, data),
                                     case_no=state.case_no)  # fmt: skip
            if (decision.stage, decision.ordinal) != (state.hq_stage, state.hq_ordinal):
                verdict = verdict_under(decision, int(data.get("policy_version", 0)))
                step = Step(state, verdict, arrival.case_id)
                steps.append(step)
                now[case_id] = step.after()
    return steps
