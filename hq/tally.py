"""Counts kept, not recounted: the aggregates the dashboard and reports read (issue #20).

What a case version contributes is ``facts_of(state, case)``: nothing unless it *counts* (the latest
version, status active, not withdrawn on review); then one case in ``(day, squad, violation, HQ stage)``
with its fine, its seized items by kind, and one open conflict on ``(day, squad)`` when HQ's stage differs
from the phone's and no review has decided it yet (that one counts for the latest version whatever its
status, as the dashboard always listed them). ``day`` is the bureau-local day of ``occurred_at``. The trend
rollup (``agg_trend``: cases per week, Monday first, and per month × squad × violation × HQ stage) is no
fact of its own: ``Figures.write`` derives it from the same day-cell deltas (``rollup``), so whatever
writes day cells writes their weeks and months in the same statement batch.

Every write that changes a case version's counted state goes through ``changing(tx, *case_ids)``::

    with changing(tx, case.id, case.supersedes):   # facts before …
        tx.save_case(…)                            # … the write …
                                                   # … facts after: the difference is added
It reads the versions' facts before and after the block and adds the difference to the aggregate tables
(upsert-increment) in the same transaction, then recounts the row of each subject involved (its counted
cases, their number at 处罚, the latest of each: a maximum cannot be decremented). The hooks: a new
version and the one it supersedes (``hq.ingest.push``'s case); a restage (``restage_after``) and a review
(``apply_review``) add the difference of the states they already hold, the case's JSON read once. A push
batch sums its differences into one ``TallyDelta`` (``changing(..., into=)``, ``restage_after(...,
tally=)``, ``apply_review(..., tally=)``) written once, at its end: no read in a push reads the aggregate
tables, and a subject's row is recounted from the cases as they are then. ``rebuild(tx)`` empties the tables
and counts every case again with the same ``facts_of`` (``streetpatrol-hq rebuild-aggregates``, the
bench's bulk loader).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from enforcement.model import LOCAL_TZ, Case, CaseStatus, ReviewDecision, Stage
from hq.storage.base import CaseKey, CaseState, Storage, Tx

__all__ = ["Facts", "Figures", "TallyDelta", "changing", "facts_of", "kept", "rebuild", "recount"]

CaseCell = tuple[str, str, str, int]  # day, squad, violation, stage
SeizedCell = tuple[str, str, str]  # day, squad, item kind
ConflictCell = tuple[str, str]  # day, squad
TrendCell = tuple[str, str, str, str, int]  # "week" | "month", its first day, squad, violation, stage


@dataclass(frozen=True, slots=True)
class Facts:
    """What one case version adds to the aggregates."""

    subject_id: str | None
    case: CaseCell | None = None  # None: it does not count
    fine_yuan: int | None = None
    seized: tuple[tuple[str, int], ...] = ()  # (kind, quantity)
    conflict: ConflictCell | None = None


def local_day(moment: datetime) -> str:
    return moment.astimezone(LOCAL_TZ).date().isoformat()


@dataclass(frozen=True, slots=True)
class Counted:
    """What counting needs of a case version's payload: its status, fine and seized items."""

    status: str
    fine_yuan: int | None
    seized: tuple[tuple[str, int], ...]

    @classmethod
    def of_case(cls, case: Case) -> Counted:
        return cls(case.status.value, case.fine_yuan, tuple((i.kind, i.quantity) for i in case.seized_items))

    @classmethod
    def of_json(cls, data: Mapping[str, Any]) -> Counted:
        """From the stored JSON (``Tx.case_payloads``; the same fields ``codec.to_json_dict`` writes)."""
        fine = data.get("fine_yuan")
        return cls(
            str(data.get("status", CaseStatus.ACTIVE.value)),
            int(fine) if fine is not None else None,
            tuple((str(i["kind"]), int(i["quantity"])) for i in data.get("seized_items") or ()),
        )


def counts(state: CaseState, payload: Counted | None) -> bool:
    return (
        state.latest
        and payload is not None
        and payload.status == CaseStatus.ACTIVE.value
        and state.review != ReviewDecision.WITHDRAW.value
    )


def facts_of(state: CaseState | None, payload: Counted | None) -> Facts | None:
    if state is None:
        return None
    day = local_day(state.occurred_at)
    conflict = (day, state.squad_code) if state.latest and state.stage_conflict and not state.review else None
    if not counts(state, payload):
        return Facts(state.subject_id, conflict=conflict)
    assert payload is not None
    return Facts(
        state.subject_id,
        (day, state.squad_code, state.violation_code, int(state.hq_stage)),
        payload.fine_yuan,
        payload.seized,
        conflict,
    )


def _facts(tx: Tx, case_id: str) -> Facts | None:
    state = tx.case_state(case_id)
    if state is None:
        return None
    if not state.latest:
        return facts_of(state, None)
    data = tx.case_payloads([case_id]).get(case_id)
    return facts_of(state, Counted.of_json(data) if data is not None else None)


def period_start(unit: str, day: str) -> str:
    """The first day of the week (Monday) or month holding the ISO ``day``."""
    first = date.fromisoformat(day)
    first = first - timedelta(days=first.weekday()) if unit == "week" else first.replace(day=1)
    return first.isoformat()


def rollup(cases: Mapping[CaseCell, int]) -> Counter[TrendCell]:
    """The trend rows (``agg_trend``) of day cells: each day's count added to its week and its month."""
    rows: Counter[TrendCell] = Counter()
    for (day, squad, violation, stage), n in cases.items():
        if n:
            for unit in ("week", "month"):
                rows[(unit, period_start(unit, day), squad, violation, stage)] += n
    return rows


@dataclass
class Figures:
    """Aggregate values (a delta or a whole count)."""

    cases: Counter[CaseCell]
    fined: Counter[CaseCell]
    fines: Counter[CaseCell]
    seized_cases: Counter[SeizedCell]
    seized_items: Counter[SeizedCell]
    conflicts: Counter[ConflictCell]

    @classmethod
    def empty(cls) -> Figures:
        return cls(Counter(), Counter(), Counter(), Counter(), Counter(), Counter())

    def add(self, facts: Facts | None, sign: int = 1) -> None:
        if facts is None:
            return
        if facts.case is not None:
            self.cases[facts.case] += sign
            if facts.fine_yuan is not None:
                self.fined[facts.case] += sign
                self.fines[facts.case] += sign * facts.fine_yuan
            for kind, quantity in facts.seized:
                cell = (facts.case[0], facts.case[1], kind)
                self.seized_cases[cell] += sign
                self.seized_items[cell] += sign * quantity
        if facts.conflict is not None:
            self.conflicts[facts.conflict] += sign

    def write(self, tx: Tx) -> None:
        cells = set(self.cases) | set(self.fined) | set(self.fines)
        seized = set(self.seized_cases) | set(self.seized_items)
        tx.tally_add(
            cases=[
                (*c, self.cases[c], self.fined[c], self.fines[c])
                for c in sorted(cells)
                if (self.cases[c], self.fined[c], self.fines[c]) != (0, 0, 0)
            ],
            seized=[
                (*s, self.seized_cases[s], self.seized_items[s])
                for s in sorted(seized)
                if (self.seized_cases[s], self.seized_items[s]) != (0, 0)
            ],
            conflicts=[(*c, n) for c, n in sorted(self.conflicts.items()) if n != 0],
            trend=[(*t, n) for t, n in sorted(rollup(self.cases).items()) if n != 0],
        )


@contextmanager
def changing(tx: Tx, *case_ids: str | None, into: TallyDelta | None = None) -> Iterator[None]:
    """Keep the aggregates right across a write to these case versions (see the module doc); with
    ``into``, the difference is added to that delta, written by its owner later."""
    ids = [i for i in dict.fromkeys(case_ids) if i]
    before = {i: _facts(tx, i) for i in ids}
    yield
    delta = into if into is not None else TallyDelta()
    for case_id in ids:
        delta.change(before[case_id], _facts(tx, case_id))
    if into is None:
        delta.write(tx)


class TallyDelta:
    """The batched form of ``changing`` (a push batch's new case versions): each version's facts before
    and after are given (``change``), their differences summed in memory, and ``write`` adds the sum and
    recounts the subjects involved once, after the versions themselves were written."""

    def __init__(self) -> None:
        self.figures = Figures.empty()
        self.subjects: set[str] = set()

    def change(self, before: Facts | None, after: Facts | None) -> None:
        if before == after:
            return
        self.figures.add(before, -1)
        self.figures.add(after, +1)
        self.subjects.update(f.subject_id for f in (before, after) if f is not None and f.subject_id)

    def write(self, tx: Tx) -> None:
        self.figures.write(tx)
        if self.subjects:
            tx.tally_recount_subjects(self.subjects)
        self.figures, self.subjects = Figures.empty(), set()


# ---------------------------------------------------------------------------------------- recounts

PAGE = 2000


def iter_states(tx: Tx, *, latest_only: bool = True) -> Iterator[tuple[CaseState, Counted | None]]:
    """Every case state with what counting needs of its payload, oldest first, in keyset pages."""
    after: CaseKey | None = None
    while True:
        page = tx.cases_page(after=after, descending=False, latest_only=latest_only, limit=PAGE)
        payloads = tx.case_payloads([s.case_id for s in page])
        yield from (
            (s, Counted.of_json(payloads[s.case_id]) if s.case_id in payloads else None) for s in page
        )
        if len(page) < PAGE:
            return
        last = page[-1]
        after = (last.occurred_at, last.case_no, last.version)


@dataclass
class Recount:
    figures: Figures
    subjects: dict[str, tuple[int, int, datetime, datetime | None]]  # n, penalties, last, last penalty
    trend: Counter[TrendCell]  # the week and month rows (a recount derives them from the day cells)


def recount(tx: Tx) -> Recount:
    """Count every case from scratch with ``facts_of`` (the reference the kept figures must equal)."""
    figures = Figures.empty()
    subjects: dict[str, tuple[int, int, datetime, datetime | None]] = {}
    for state, case in iter_states(tx, latest_only=True):
        facts = facts_of(state, case)
        figures.add(facts)
        if facts is not None and facts.case is not None and state.subject_id:
            at = state.occurred_at
            n, penalties, last, last_penalty = subjects.get(state.subject_id, (0, 0, at, None))
            if state.hq_stage is Stage.PENALTY:
                penalties += 1
                last_penalty = at if last_penalty is None else max(last_penalty, at)
            subjects[state.subject_id] = (n + 1, penalties, max(last, at), last_penalty)
    return Recount(figures, subjects, rollup(figures.cases))


def rebuild(storage: Storage) -> Recount:
    """Empty the aggregate tables and count every case again, in one transaction."""
    with storage.transaction() as tx:
        tx.tally_clear()
        counted = recount(tx)
        counted.figures.write(tx)
        tx.tally_put_subjects((s, *row) for s, row in sorted(counted.subjects.items()))
    return counted


def kept(tx: Tx) -> Recount:
    """The figures as the aggregate tables hold them now (zero cells left out), for comparison."""
    figures = Figures.empty()
    for day, squad, violation, stage, n, fined, fines in tx.tally_cases("0000-00-00", "9999-99-99"):
        cell = (day, squad, violation, stage)
        figures.cases[cell] += n
        figures.fined[cell] += fined
        figures.fines[cell] += fines
    for day, squad, kind, n, items in tx.tally_seized("0000-00-00", "9999-99-99"):
        figures.seized_cases[(day, squad, kind)] += n
        figures.seized_items[(day, squad, kind)] += items
    for day, squad, n in tx.tally_conflicts():
        figures.conflicts[(day, squad)] += n
    subjects = {
        r.subject_id: (r.cases, r.penalties, r.last_at, r.last_penalty_at) for r in tx.tally_subjects()
    }
    trend: Counter[TrendCell] = Counter()
    for unit, first_day, squad, violation, stage, n in tx.tally_trend_rows():
        trend[(unit, first_day, squad, violation, stage)] += n
    return Recount(figures, subjects, trend)


def comparable(counted: Recount) -> Mapping[str, object]:
    """Plain dicts without zero cells: what two ``Recount``s must agree on."""
    f = counted.figures
    return {
        name: {k: v for k, v in getattr(f, name).items() if v != 0}
        for name in ("cases", "fined", "fines", "seized_cases", "seized_items", "conflicts")
    } | {"subjects": dict(counted.subjects), "trend": {k: v for k, v in counted.trend.items() if v != 0}}
