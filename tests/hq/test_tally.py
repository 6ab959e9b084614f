"""The kept aggregates (``hq.tally``) always equal a recount from scratch, on both backends.

A property test drives random sequences through ``hq.ingest.push``: new cases for a few subjects at random
times (an earlier one arriving late restages the later ones), amendments (a new version, moved in time
or to another subject, voided), fines and seizures, and reviews (approve, return, withdraw). After each
sequence the aggregate tables must equal ``hq.tally.recount`` (every case counted again with the same
rule); ``rebuild`` gives the same tables back. The tables are never emptied between examples: the
invariant holds for the whole database at every moment.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from enforcement.codec import to_json_dict
from enforcement.model import (
    Case,
    CaseStatus,
    Disposition,
    Review,
    ReviewDecision,
    SeizedItem,
    Stage,
    new_id,
)
from hq import tally
from hq.ingest.push import ingest_batch
from hq.storage.base import Storage, UserRow
from sync.protocol import PushRecord
from testkit.records import LEADER, NOW, OFFICER, OTHER_OFFICER, days, make_case

_seq = iter(range(1, 10**9))


def _rec(kind: str, record: Any) -> PushRecord:
    return PushRecord(kind=kind, id=record.id, device_seq=next(_seq), payload=to_json_dict(record))


def _push(storage: Storage, record: PushRecord, user: Any = OFFICER) -> str:
    [result] = ingest_batch(storage, user, "device-1", [record], now=NOW)
    return result.status


def _case(subject_id: str, day: int, kind: str) -> Case:
    at = NOW - days(day) - timedelta(minutes=day)
    if kind == "fine":
        return make_case(
            subject_id=subject_id, occurred_at=at, stage=Stage.PENALTY, disposition=Disposition.PENALTY,
            fine_yuan=500 + 100 * day, legal_basis="《大气污染防治法》第一百一十八条",
        )  # fmt: skip
    if kind == "seize":
        return make_case(
            subject_id=subject_id, occurred_at=at, second_officer_badge=OTHER_OFFICER.badge,
            seizure_receipt_no=f"ZK-{day}", seized_items=(SeizedItem("烧烤炉", 1 + day % 3),),
        )  # fmt: skip
    return make_case(subject_id=subject_id, occurred_at=at)


_KINDS = st.sampled_from(["plain", "fine", "seize"])
_AMENDS = st.sampled_from(["move", "later", "void", "subject"])
_step = st.one_of(
    st.tuples(st.just("case"), st.integers(0, 2), st.integers(0, 20), _KINDS),
    st.tuples(st.just("amend"), st.integers(0, 30), st.integers(0, 20), _AMENDS),
    st.tuples(st.just("review"), st.integers(0, 30), st.sampled_from(list(ReviewDecision)), st.just("")),
)


def _assert_kept_equals_recount(storage: Storage) -> None:
    with storage.transaction(readonly=True) as tx:
        kept = tally.comparable(tally.kept(tx))
        counted = tally.comparable(tally.recount(tx))
        newest = tx.cases_page(limit=20, latest_only=False)
        payloads = tx.case_payloads([s.case_id for s in newest])
        for state in newest:  # counting reads the stored JSON: the same as the decoded case
            case = tx.get_case(state.case_id)
            assert case is not None
            assert tally.Counted.of_json(payloads[state.case_id]) == tally.Counted.of_case(case)
    assert kept == counted


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(_step, min_size=1, max_size=10))
def test_kept_figures_equal_a_recount(storage: Storage, steps: list[tuple[Any, ...]]) -> None:
    with storage.transaction() as tx:
        if tx.get_user(OTHER_OFFICER.badge) is None:
            tx.put_user(UserRow(OTHER_OFFICER, "x"))
    subjects = [new_id() for _ in range(3)]
    cases: list[Case] = []  # the latest version of each case pushed in this example
    for op, a, b, c in steps:
        if op == "case":
            case = _case(subjects[a], b, c)
            if _push(storage, _rec("case", case)) in ("accepted", "conflict"):
                cases.append(case)
        elif op == "amend" and cases:
            i = a % len(cases)
            old = cases[i]
            changes: dict[str, Any] = {
                "move": {"occurred_at": NOW - days(b)},
                "later": {"occurred_at": old.occurred_at + timedelta(hours=1)},
                "void": {"status": CaseStatus.VOIDED},
                "subject": {"subject_id": subjects[b % 3]},
            }[c]
            new = replace(old, id=new_id(), version=old.version + 1, supersedes=old.id, **changes)
            if _push(storage, _rec("case", new)) in ("accepted", "conflict"):
                cases[i] = new
        elif op == "review" and cases:
            case = cases[a % len(cases)]
            when = NOW + timedelta(hours=1)
            review = Review(new_id(), case.id, case.case_no, b, LEADER.badge, when, "理由")
            _push(storage, _rec("review", review), user=LEADER)
    _assert_kept_equals_recount(storage)


def test_rebuild_gives_the_same_tables_and_counts_fines_and_seizures(storage: Storage) -> None:
    with storage.transaction() as tx:
        tx.put_user(UserRow(OTHER_OFFICER, "x"))
    sid = new_id()
    statuses = [
        _push(storage, _rec("case", _case(sid, 3, "seize"))),
        _push(storage, _rec("case", _case(sid, 2, "plain"))),
        _push(storage, _rec("case", _case(sid, 1, "fine"))),
    ]
    assert all(s in ("accepted", "conflict") for s in statuses), statuses
    with storage.transaction(readonly=True) as tx:
        before = tally.comparable(tally.kept(tx))
        [subject] = tx.tally_subjects()
    assert (subject.subject_id, subject.cases, subject.penalties) == (sid, 3, 1)
    assert sum(before["fines"].values()) == 600  # type: ignore[attr-defined]
    assert sum(before["seized_items"].values()) == 1  # type: ignore[attr-defined]
    assert sum(before["cases"].values()) == 3  # type: ignore[attr-defined]
    with storage.transaction() as tx:  # wreck them: the rebuild recounts from the cases
        tx.tally_add(
            cases=[("2000-01-01", "ZD09", "0510", 1, 7, 0, 0)],
            conflicts=[("2000-01-01", "ZD09", 3)],
            trend=[("month", "2000-01-01", "ZD09", "0510", 1, 5)],
        )
    tally.rebuild(storage)
    with storage.transaction(readonly=True) as tx:
        assert tally.comparable(tally.kept(tx)) == before


def test_rebuild_aggregates_command(tmp_path: Any) -> None:
    from hq.cli.main import run_to_string
    from hq.storage.sqlite import SqliteStorage

    db = tmp_path / "hq.db"
    storage = SqliteStorage(db)
    storage.create_schema()
    try:
        _push(storage, _rec("case", _case(new_id(), 1, "plain")))
        with storage.transaction() as tx:
            tx.tally_clear()
    finally:
        storage.close()
    code, text = run_to_string(["rebuild-aggregates", "--db", str(db)])
    assert code == 0
    assert "1 counted cases" in text
    assert "corrected" in text
    storage = SqliteStorage(db)
    try:
        with storage.transaction(readonly=True) as tx:
            assert sum(r[4] for r in tx.tally_cases("0000", "9999")) == 1
    finally:
        storage.close()
