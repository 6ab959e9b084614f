"""What a restage publishes (``hq.restage.restage_after``), on both backends: each restaged case's feed
entry, for its officer and for the squad's leaders, is exactly what ``emit_case_state`` writes when it
reads everything itself, though the restage reads once what its cases share (officer names, subject
labels, devices' first sign-in, the cases' stored JSON); its audit names the cause; and the kept counts
equal a recount after a batch that restages several subjects' cases (the batch writes them once)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest

from enforcement.codec import to_json_dict
from enforcement.model import Disposition, Review, ReviewDecision, Stage, new_id
from hq import tally
from hq.feed import emit_case_state
from hq.ingest.push import ingest_batch
from hq.storage.base import ChangeKind, Storage, UserRow
from sync.protocol import PushRecord
from testkit.records import DISTRICT, LEADER, NOW, OFFICER, OTHER_OFFICER, days, make_case, make_subject

_seq = iter(range(1, 10**9))


def push(storage: Storage, *records: Any, user: Any = OFFICER, device: str = "device-1") -> list[Any]:
    batch = [
        PushRecord(kind=kind, id=r.id, device_seq=next(_seq), payload=to_json_dict(r)) for kind, r in records
    ]
    return ingest_batch(storage, user, device, batch, now=NOW)


def entries(storage: Storage, case_id: str) -> dict[str, Any]:
    """The case's newest entry as its officer and the squad's leader pull it."""
    with storage.transaction(readonly=True) as tx:
        state = tx.case_state(case_id)
        assert state is not None
        mine = tx.changes_after(None, district=DISTRICT, badge=state.officer_badge, limit=10_000).changes
        squad = tx.changes_after(None, district=DISTRICT, badge=LEADER.badge, squad=state.squad_code,
                                 limit=10_000).changes  # fmt: skip
    officer = [c.data for c in mine if (c.kind, c.key) == (ChangeKind.CASE_STATE, case_id)]
    leader = [c.data for c in squad if (c.kind, c.key) == (ChangeKind.SQUAD_CASE, case_id)]
    return {"officer": officer[-1], "leader": leader[-1]}


def test_a_restaged_case_is_published_as_the_plain_path_publishes_it(storage: Storage) -> None:
    # one vendor registered twice (the same phone: one identity), names in rare characters and emoji
    a = make_subject(name="烧烤摊主𠮷🔥", phone="13800001111")
    b = make_subject(name="王㐂 夜宵", phone="13800001111", plate_written="")
    with storage.transaction() as tx:  # two devices that signed in, so the leaders see their first sign-in
        tx.touch_device("device-1", OFFICER.badge, NOW - days(40))
        tx.touch_device("device-2", OTHER_OFFICER.badge, NOW - days(3))
        tx.put_user(UserRow(OFFICER, "x"))
        tx.put_user(UserRow(OTHER_OFFICER, "x"))
    first = make_case(subject_id=a.id, occurred_at=NOW - days(4))
    second = make_case(officer=OTHER_OFFICER, subject_id=b.id, occurred_at=NOW - days(3), stage=Stage.WARNING,
                       device_id="device-2")  # fmt: skip
    third = make_case(subject_id=b.id, occurred_at=NOW - days(2), stage=Stage.PENALTY)
    push(storage, ("subject", a), ("case", first))
    push(storage, ("subject", b), ("case", second), user=OTHER_OFFICER, device="device-2")
    push(storage, ("case", third))
    review = Review(id=new_id(), case_id=third.id, case_no=third.case_no, decision=ReviewDecision.APPROVE,
                    reviewer_badge=LEADER.badge, decided_at=NOW, comment="同意 ✅")  # fmt: skip
    push(storage, ("review", review), user=LEADER, device="device-9")
    # an earlier case of the same vendor arrives late: every later case moves up one stage
    late = make_case(subject_id=a.id, occurred_at=NOW - days(6))
    [result] = push(storage, ("case", late))
    assert result.hq_stage is Stage.PERSUASION
    with storage.transaction(readonly=True) as tx:
        stages = [tx.case_state(c.id).hq_stage for c in (first, second, third)]  # type: ignore[union-attr]
        restaged = [e for e in tx.audit_events(limit=1000) if e.action == "restaged"]
    assert stages == [Stage.WARNING, Stage.PENALTY, Stage.PENALTY]
    # the third stays at 处罚 but is now the fourth time: restaged too, with its review kept
    assert sorted(e.target for e in restaged[-3:]) == sorted([first.id, second.id, third.id])
    assert {e.detail["caused_by"] for e in restaged[-3:]} == {late.id}
    published = {c.id: entries(storage, c.id) for c in (first, second, third)}
    assert published[second.id]["leader"]["officer_name"] == OTHER_OFFICER.name
    assert published[third.id]["leader"]["reviews"][0]["comment"] == "同意 ✅"
    for case in (first, second, third):  # the plain path: every fact read from the stored rows
        with storage.transaction() as tx:
            state = tx.case_state(case.id)
            assert state is not None
            emit_case_state(tx, state)
        assert entries(storage, case.id) == published[case.id]


def test_one_batch_restaging_many_subjects_keeps_the_counts(storage: Storage) -> None:
    """Late cases of several subjects in one batch, with fines: the batch's tally is written once, at
    its end, and equals a recount; a later batch still adds to it rightly."""
    subjects = [new_id() for _ in range(4)]
    later = [make_case(subject_id=s, occurred_at=NOW - days(1)) for s in subjects]
    push(storage, *(("case", c) for c in later))
    late = [
        make_case(subject_id=s, occurred_at=NOW - days(5 + n)) for n, s in enumerate(subjects)
    ]  # each one restages its subject's case
    results = push(storage, *(("case", c) for c in late), user=OFFICER)
    assert [r.status for r in results] == ["accepted"] * 4
    basis = "《大气污染防治法》第一百一十八条"
    more = make_case(subject_id=subjects[0], occurred_at=NOW, stage=Stage.PENALTY, fine_yuan=600,
                     disposition=Disposition.PENALTY, legal_basis=basis)  # fmt: skip
    assert push(storage, ("case", more))[0].status == "accepted"
    with storage.transaction(readonly=True) as tx:
        assert [tx.case_state(c.id).hq_stage for c in later] == [Stage.WARNING] * 4  # type: ignore[union-attr]
        assert tx.case_state(more.id).hq_stage is Stage.PENALTY  # type: ignore[union-attr]
        assert tally.comparable(tally.kept(tx)) == tally.comparable(tally.recount(tx))
        assert sum(n for _, _, _, _, n, _, _ in tx.tally_cases("0000-00-00", "9999-99-99")) == 9


@contextmanager
def _selects(storage: Storage, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The SELECTs the storage sends inside the block."""
    reads: list[str] = []
    dialect = type(storage.dialect)  # type: ignore[attr-defined]  # both SQL backends have one
    execute = dialect.execute

    def counted(self: Any, conn: Any, sql: str, params: Any = ()) -> Any:
        if sql.lstrip().upper().startswith("SELECT"):
            reads.append(sql)
        return execute(self, conn, sql, params)

    monkeypatch.setattr(dialect, "execute", counted)
    try:
        yield reads
    finally:
        monkeypatch.setattr(dialect, "execute", execute)


def _reads_of_a_late_case(storage: Storage, later: int, monkeypatch: pytest.MonkeyPatch) -> int:
    """The SELECTs of a push of one case earlier than a subject's ``later`` stored cases."""
    sid = new_id()
    cases = [
        make_case(subject_id=sid, occurred_at=NOW - days(1) + timedelta(minutes=n)) for n in range(later)
    ]
    for start in range(0, later, 100):
        push(storage, *(("case", c) for c in cases[start : start + 100]))
    with _selects(storage, monkeypatch) as reads:
        [result] = push(storage, ("case", make_case(subject_id=sid, occurred_at=NOW - days(2))))
    assert result.status == "accepted"
    with storage.transaction(readonly=True) as tx:
        assert tx.case_state(cases[-1].id).hq_ordinal == later + 1  # type: ignore[union-attr]
    return len(reads)


def test_a_late_case_restages_a_long_history_with_the_same_reads(
    storage: Storage, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An officer (or a phone that synced after a long absence) pushes a case earlier than every stored
    case of a subject: restaging 30 or 150 later cases takes the same number of reads (one query per
    table, not one per case), and each decision is a binary search (``enforcement.restaging``), so a long
    history cannot make one push hold HQ's write lock for minutes."""
    few = _reads_of_a_late_case(storage, 30, monkeypatch)
    many = _reads_of_a_late_case(storage, 150, monkeypatch)
    assert many == few


def _push_late_cases(storage: Storage, late: int, monkeypatch: pytest.MonkeyPatch) -> int:
    """One push of ``late`` cases of a subject with 10 stored cases, each case earlier than the one before
    it (so each restages the stored cases and the late ones pushed before it); returns the push's
    SELECTs, after checking the stages and the audit it left."""
    sid = new_id()
    stored = [make_case(subject_id=sid, occurred_at=NOW - days(1) + timedelta(minutes=n)) for n in range(10)]
    push(storage, *(("case", c) for c in stored))
    early = [make_case(subject_id=sid, occurred_at=NOW - days(2) - timedelta(minutes=n)) for n in range(late)]
    with _selects(storage, monkeypatch) as reads:
        results = push(storage, *(("case", c) for c in early))
    assert [r.status for r in results] == ["accepted"] * late  # each the earliest when it arrived
    with storage.transaction(readonly=True) as tx:
        ordinals = {c.id: tx.case_state(c.id).hq_ordinal for c in early + stored}  # type: ignore[union-attr]
        restaged = [e for e in tx.audit_events(limit=100_000) if e.action == "restaged"]
    assert [ordinals[c.id] for c in reversed(early)] == list(range(1, late + 1))
    assert [ordinals[c.id] for c in stored] == list(range(late + 1, late + 11))
    # each late case's restage is audited as at its arrival: the stored cases and the late ones before it
    caused = Counter(e.detail["caused_by"] for e in restaged if e.detail["subject_id"] == sid)
    assert caused == Counter({c.id: 10 + n for n, c in enumerate(early)})
    return len(reads)


def test_late_cases_of_one_subject_in_one_push_restage_once(
    storage: Storage, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A phone back from days offline pushes many cases of one vendor, each earlier than stored ones: the
    vendor's later cases are read and written once for the whole push (``hq.restage_late``), not once
    per late case, while every change is still audited naming the case whose arrival caused it."""
    one = _push_late_cases(storage, 1, monkeypatch)
    six = _push_late_cases(storage, 6, monkeypatch)
    assert six == one


def test_a_case_pushed_after_a_late_one_is_not_restaged_by_it(storage: Storage) -> None:
    """Late cases restage at the batch's end, but each only what was there at its arrival: a case pushed
    after it (decided over a history that held it already) is left alone, so no restage is audited for a
    case whose stage never changed."""
    sid = new_id()
    stored = make_case(subject_id=sid, occurred_at=NOW - days(1))
    push(storage, ("case", stored))
    first_late = make_case(subject_id=sid, occurred_at=NOW - days(5))
    second_late = make_case(subject_id=sid, occurred_at=NOW - days(3))
    newest = make_case(subject_id=sid, occurred_at=NOW)  # after all: its own stage is already right
    push(storage, ("case", first_late), ("case", second_late), ("case", newest))
    with storage.transaction(readonly=True) as tx:
        ordinals = [tx.case_state(c.id).hq_ordinal for c in (first_late, second_late, stored, newest)]  # type: ignore[union-attr]
        restaged = [e for e in tx.audit_events(limit=100_000) if e.action == "restaged"]
    assert ordinals == [1, 2, 3, 4]
    # each late case restaged the stored one; neither touched what was pushed after it
    assert Counter((e.target, e.detail["caused_by"]) for e in restaged) == Counter(
        {(stored.id, first_late.id): 1, (stored.id, second_late.id): 1}
    )
