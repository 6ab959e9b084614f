"""Property (issue #17): set-based ingest answers, stores, publishes and counts exactly what ingesting the
same records one by one on the stored rows does.

The oracle pushes every record as a batch of its own with ``_Batch.set_based`` off (each case read and
written on the stored rows, one statement at a time, as before set-based ingest); the subject pushes the
same batches whole, set-based. Random batches mix new cases of a few subjects (two of them one identity
through a shared phone), late arrivals (which restage later cases), exact replays, other content under a
used id, amendments (of the latest version, of a superseded one, before their original arrived, moving
the case to another subject), cases without a subject, another officer's case, subject registrations,
shifts and a leader's reviews, photos already held or not. Compared: every answer, every stored case
version and receipt, the change feed as each phone and the squad's leaders pull it, the kept counts
(``hq.tally``; and that they equal a recount) and the audit events (but the per-batch ``push`` summary).
"""

from __future__ import annotations

import random
import tempfile
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from enforcement.codec import to_json_dict
from enforcement.model import (
    Case,
    CaseStatus,
    Officer,
    PhotoKind,
    PhotoRef,
    Review,
    ReviewDecision,
    Shift,
    Stage,
)
from hq.ingest import push as ingest_module
from hq.ingest.push import ingest_batch
from hq.ingest.rules import canonical_text, payload_hash, payload_hash_of_text
from hq.storage.base import Storage
from hq.storage.postgres import PostgresDialect
from hq.storage.sqlcore import dumps
from hq.storage.sqlite import SqliteDialect, SqliteStorage
from hq.tally import comparable, kept, recount
from sync.protocol import PushRecord, RecordResult
from testkit import pg
from testkit.records import DISTRICT, LEADER, NOW, OFFICER, OTHER_OFFICER, make_case, make_subject

DEVICE = "device-1"
HELD = "a" * 64  # a photo HQ already holds, uploaded by OFFICER
Batch = tuple[Officer, list[PushRecord]]


def _id(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def plan(seed: int) -> list[Batch]:
    """Random batches (see the module doc), the same for the same seed."""
    rng = random.Random(seed)
    phone = f"139{rng.randrange(10**8):08d}"
    subjects = [make_subject(id=_id(rng), phone=phone), make_subject(id=_id(rng), phone=phone)]
    subject_ids = [s.id for s in subjects] + [_id(rng), None]  # 2 registered, 1 not, none
    cases: list[Case] = []
    seq = iter(range(1, 10**6))

    def rec(kind: str, record: Any) -> PushRecord:
        return PushRecord(kind=kind, id=record.id, device_seq=next(seq), payload=to_json_dict(record))

    def new_case(officer: Officer) -> Case:
        stage = rng.choice(list(Stage))
        photos = tuple(
            PhotoRef(
                HELD if rng.random() < 0.3 else f"{rng.getrandbits(256):064x}", 1000 + k, PhotoKind.DURING
            )
            for k in range(rng.choice([1, 1, 2]) if stage is not Stage.PERSUASION else rng.choice([0, 1]))
        )
        case = make_case(officer=officer, subject_id=rng.choice(subject_ids), stage=stage,
                         occurred_at=NOW - timedelta(hours=rng.randrange(0, 24 * 50)))  # fmt: skip
        return replace(case, id=_id(rng), photos=photos)

    batches: list[Batch] = []
    for _ in range(rng.randrange(1, 5)):
        user = LEADER if rng.random() < 0.3 else OFFICER
        records: list[PushRecord] = []
        for _ in range(rng.randrange(1, 14)):
            roll = rng.random()
            if roll < 0.45 or not cases or (roll >= 0.87 and user is not LEADER and roll < 0.97):
                case = new_case(user if rng.random() < 0.95 else OTHER_OFFICER)
                cases.append(case)
                records.append(rec("case", case))
            elif roll < 0.55:  # an exact replay of an earlier record (of this batch or an earlier one)
                earlier = rng.choice([r for _, rs in batches for r in rs] + records)
                records.append(earlier.model_copy(update={"device_seq": next(seq)}))
            elif roll < 0.6:  # other content under a used id
                records.append(rec("case", replace(rng.choice(cases), case_no=new_case(user).case_no)))
                records[-1].payload["location"]["address"] = "别处"
            elif roll < 0.75:  # an amendment of some version (the latest or not)
                base = rng.choice(cases)
                moved_to = rng.choice([base.subject_id, *subject_ids])
                amended = replace(base, id=_id(rng), version=base.version + 1, supersedes=base.id,
                                  subject_id=moved_to, subject_unknown=moved_to is None,
                                  occurred_at=base.occurred_at + timedelta(hours=rng.choice([-30, 0, 30])),
                                  status=rng.choice([base.status] * 4 + [CaseStatus.VOIDED]))  # fmt: skip
                cases.append(amended)
                if rng.random() < 0.2:  # it arrives before what it amends
                    records.insert(rng.randrange(len(records) + 1), rec("case", amended))
                else:
                    records.append(rec("case", amended))
            elif roll < 0.82:
                records.append(rec("subject", rng.choice(subjects)))
            elif roll < 0.87:
                records.append(rec("shift", Shift(_id(rng), user.badge, NOW - timedelta(hours=3))))
            else:
                case = rng.choice(cases)
                review = Review(id=_id(rng), case_id=case.id, case_no=case.case_no,
                                decision=rng.choice(list(ReviewDecision)), reviewer_badge=LEADER.badge,
                                decided_at=NOW + timedelta(minutes=rng.randrange(60)),
                                comment="请补拍照片")  # fmt: skip
                records.append(rec("review", review))
        batches.append((user, records))
    return batches


def _seed_photo(storage: Storage) -> None:
    with storage.transaction() as tx:
        tx.mark_photo_stored(HELD, 1000, NOW - timedelta(days=1), uploaded_by=OFFICER.badge, device_id=DEVICE)


def run(storage: Storage, batches: list[Batch], *, one_by_one: bool) -> list[RecordResult]:
    _seed_photo(storage)
    results: list[RecordResult] = []
    old = ingest_module._Batch.set_based
    ingest_module._Batch.set_based = not one_by_one
    try:
        for user, records in batches:
            pushes = [[r] for r in records] if one_by_one else [records]
            for push in pushes:
                results += ingest_batch(storage, user, DEVICE, push, now=NOW)
    finally:
        ingest_module._Batch.set_based = old
    return results


def snapshot(storage: Storage, batches: list[Batch]) -> dict[str, Any]:
    """Everything a push leaves behind, comparable across two storages."""
    ids = sorted({r.id for _, records in batches for r in records})
    with storage.transaction(readonly=True) as tx:
        states = tx.list_cases(latest_only=False, limit=10_000)
        feeds = {
            who: {(c.kind, c.key): c.data for c in tx.changes_after(
                None, district=DISTRICT, badge=who, squad=OFFICER.squad_code if who == LEADER.badge else None,
                limit=10_000).changes}
            for who in (OFFICER.badge, OTHER_OFFICER.badge, LEADER.badge)
        }  # fmt: skip
        counts = comparable(kept(tx))
        assert counts == comparable(recount(tx)), "the kept counts equal a recount"
        audit = Counter(
            (e.actor, e.action, e.target, repr(sorted(e.detail.items())))
            for e in tx.audit_events(limit=100_000)
            if e.action not in ("push", "sequence_gap")
        )
        return {
            "states": sorted(states, key=lambda s: s.case_id),
            "cases": {s.case_id: tx.get_case(s.case_id) for s in states},
            "receipts": {i: tx.receipts_for(i) for i in ids},
            "histories": {
                s: tx.subject_history(s) for s in sorted({x.subject_id or "" for x in states}) if s
            },
            "feeds": feeds,
            "counts": counts,
            "audit": audit,
        }


def check(make: Any, seed: int) -> None:
    batches = plan(seed)
    with make() as oracle, make() as subject:
        expected = run(oracle, batches, one_by_one=True)
        got = run(subject, batches, one_by_one=False)
        assert got == expected
        assert snapshot(subject, batches) == snapshot(oracle, batches)


def _sqlite() -> Iterator[Storage]:
    with tempfile.TemporaryDirectory() as tmp:
        storage = SqliteStorage(Path(tmp) / "hq.db")
        storage.create_schema()
        try:
            yield storage
        finally:
            storage.close()


class _Fresh:
    """A context manager of a fresh storage per call, from a fixture body (a generator function)."""

    def __init__(self, factory: Any) -> None:
        self.factory = factory

    def __call__(self) -> Any:
        return contextmanager(self.factory)()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(min_value=0, max_value=2**32))
def test_set_based_ingest_equals_one_by_one_on_sqlite(seed: int) -> None:
    check(_Fresh(_sqlite), seed)


@pytest.mark.postgres
@pytest.mark.parametrize("seed", [1, 7, 42, 2026, 31337])
def test_set_based_ingest_equals_one_by_one_on_postgres(seed: int) -> None:
    check(_Fresh(pg.fresh_storage), seed)


@pytest.mark.parametrize("seed", [3, 11, 2027])
def test_rows_sent_ahead_change_nothing_on_sqlite(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """A batch that sends its case rows and receipts ahead (``Tx.spill_rows``, here every 2) stores,
    answers and publishes what the one-by-one oracle does."""
    monkeypatch.setattr(SqliteDialect, "spill_rows", 2)
    check(_Fresh(_sqlite), seed)


@pytest.mark.postgres
@pytest.mark.parametrize("seed", [3, 11, 2027])
def test_rows_sent_ahead_change_nothing_on_postgres(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """As above in PostgreSQL's pipeline mode, where rows sent ahead are written while the batch goes on."""
    monkeypatch.setattr(PostgresDialect, "spill_rows", 2)
    check(_Fresh(pg.fresh_storage), seed)


_text = st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=8)
_json = st.recursive(
    st.none() | st.booleans() | st.integers() | _text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_text, inner, max_size=4),
    max_leaves=12,
)


@given(payload=st.dictionaries(_text, _json, max_size=6), kind=st.sampled_from(["case", "subject", "shift"]))
def test_the_hash_of_the_canonical_text_is_the_payload_hash(payload: dict[str, Any], kind: str) -> None:
    """The ledger's identity of a record is unchanged by encoding its payload once (``hq.ingest.rules``)."""
    text = canonical_text(payload)
    assert payload_hash_of_text(kind, text) == payload_hash(kind, payload)
    assert text == dumps(payload)  # what the database stores
