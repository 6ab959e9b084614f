"""Issue #22 under concurrent writers: phones that registered the same vendor offline push at the same
moment (threads released together; on PostgreSQL their transactions really overlap). Whatever order the
database lets them commit in, HQ ends with one identity group, every pair flagged strong, and the cases
staged 劝导, 警告, 处罚, … by time over the whole group — the same as a recount — with no push failing.

What makes it hold on PostgreSQL: ingest takes the batch's subject locks together with a lock per strong
key of every pushed subject (``hq.subjectmatch.subject_lock_keys``), so two registrations sharing a phone
number see each other; without those key locks both would find no match and stage 劝导.
"""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

from enforcement.codec import to_json_dict
from enforcement.model import Officer, Role, Stage
from enforcement.staging import compute_stage
from hq.ingest.push import ingest_batch
from hq.policy import current, stage_policy_for
from hq.storage.base import Storage, UserRow
from hq.subjectmatch import identity_group
from sync.protocol import PushRecord
from testkit.records import DISTRICT, NOW, make_case, make_subject

PHONES = (
    "13812345678",
    "+86 138-1234-5678",
    "138 1234 5678",
    "0086 13812345678",
    "138-1234-5678",
    "8613812345678",
)
OFFICERS = [Officer(f"17{n:02d}", f"队员{n}", "ZD01", "人民路中队", DISTRICT, Role.OFFICER) for n in range(6)]


def _at_once(work: list[Any]) -> tuple[list[Any], list[BaseException]]:
    barrier = threading.Barrier(len(work))
    results: list[Any] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def run(job: Any) -> None:
        barrier.wait()
        try:
            value = job()
        except BaseException as exc:
            with lock:
                errors.append(exc)
            return
        with lock:
            results.append(value)

    threads = [threading.Thread(target=run, args=(job,)) for job in work]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    return results, errors


def test_phones_registering_one_vendor_at_the_same_moment_make_one_identity_staged_in_order(
    storage: Storage,
) -> None:
    with storage.transaction() as tx:
        for officer in OFFICERS:
            tx.put_user(UserRow(officer, "x"))
    subjects, cases, jobs = [], [], []
    for n, (officer, phone) in enumerate(zip(OFFICERS, PHONES, strict=True)):
        vendor = make_subject(name="老王烧烤", phone=phone)
        when = NOW - timedelta(days=10 - n)
        case = make_case(
            officer=officer, subject_id=vendor.id, occurred_at=when, device_id=f"dev-{officer.badge}"
        )
        subjects.append(vendor)
        cases.append(case)
        batch = [
            PushRecord(kind="subject", id=vendor.id, device_seq=1, payload=to_json_dict(vendor)),
            PushRecord(kind="case", id=case.id, device_seq=2, payload=to_json_dict(case)),
        ]
        jobs.append(lambda o=officer, b=batch: ingest_batch(storage, o, f"dev-{o.badge}", b, now=NOW))
    results, errors = _at_once(jobs)
    assert errors == []
    assert len(results) == len(OFFICERS)
    assert all(r.status in ("accepted", "conflict") for batch in results for r in batch), results
    ids = {s.id for s in subjects}
    with storage.transaction(readonly=True) as tx:
        assert identity_group(tx, subjects[0].id) == ids
        pairs = tx.list_subject_pairs(DISTRICT)
        assert len(pairs) == len(ids) * (len(ids) - 1) // 2
        assert {(p.strength, p.reason, p.state) for p in pairs} == {("strong", "phone", "open")}
        stages = [tx.case_state(c.id).hq_stage for c in cases]  # type: ignore[union-attr]
        # the same as a recount over the group's history
        policy = stage_policy_for(current(tx), None)
        history = sorted(
            (e for s in subjects for e in tx.subject_history(s.id)), key=lambda e: (e.occurred_at, e.case_no)
        )
        recount = [
            compute_stage(c.violation_code, c.occurred_at, history, policy, case_no=c.case_no).stage
            for c in cases
        ]
    assert stages == [
        Stage.PERSUASION,
        Stage.WARNING,
        Stage.PENALTY,
        Stage.PENALTY,
        Stage.PENALTY,
        Stage.PENALTY,
    ]
    assert stages == recount
