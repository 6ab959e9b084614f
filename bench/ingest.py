"""Benchmark: HQ ingest of pushed cases, batches of 100, into SQLite and PostgreSQL, beside a raw floor.

For each backend a fresh database receives the same cases (20 officers, 400 shared subjects so repeat
offenders and stage conflicts occur, 3 photos per case), pushed as the phone pushes them: batches of
100 records of one officer's device through ``hq.ingest.push.ingest_batch`` (parse, validate, exactly-once
ledger, version checks, HQ's stage over the subject's whole history, case row + photo manifest,
change-feed entries, audit event: one transaction per batch).

The floor is the same case rows and photo-manifest rows written with plain ``executemany`` into the same
schema, one transaction per batch of 100, rows prebuilt before timing: what the database alone costs.
Floor 2, printed beside it, replays every write statement ingest itself sent (receipts, change feed,
tally and audit too), captured from an ingest run into a scratch database: what the rows ingest must
write cost the database alone.

SQLite runs with WAL + synchronous=FULL in a temp directory. PostgreSQL is the server at
``STREETPATROL_TEST_PG_DSN`` (or ``--pg-dsn``), or one started here with ``scripts/pg.sh`` (which runs it
with fsync=off: a loopback test server, not a durable one). Prints a Markdown table and writes it to
bench/results/ingest.md. Run: ``.venv/bin/python bench/ingest.py`` (well under a minute).
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make ``testkit`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from enforcement.catalogue import load_catalogue
from enforcement.codec import to_json_dict
from enforcement.model import (
    LOCAL_TZ,
    Case,
    Disposition,
    Location,
    Officer,
    PhotoKind,
    PhotoRef,
    Review,
    ReviewDecision,
    Role,
    Stage,
    Subject,
    SubjectKind,
)
from hq.ingest.push import ingest_batch
from hq.storage.base import Storage
from hq.storage.postgres import PostgresStorage
from hq.storage.sqlcore import dumps
from hq.storage.sqlite import SqliteStorage
from hq.storage.sqltx import SqlTx
from sync.protocol import PushRecord
from testkit.pg import drop_bench_schemas

ROOT = Path(__file__).resolve().parents[1]
BATCH = 100
DISTRICT = "金水区"
START = datetime(2026, 6, 1, 8, 0, tzinfo=LOCAL_TZ)

FLOOR_CASE_SQL = (
    "INSERT INTO cases (id, case_no, version, supersedes, officer_badge, squad_code, district, subject_id,"
    " violation_code, occurred_at, status, received_at, device_stage, chosen_stage, hq_stage, hq_ordinal,"
    " stage_conflict, explain_zh, explain_en, photos_expected, latest, review, payload)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, TRUE, '', ?)"
)
FLOOR_PHOTO_SQL = "INSERT INTO case_photos (case_id, sha256) VALUES (?, ?)"


@dataclass(frozen=True, slots=True)
class Workload:
    officers: list[Officer]
    batches: list[tuple[Officer, list[Case]]]
    #: case id -> the new subject registered just before it in its batch (``--register``)
    registrations: dict[str, Subject] = field(default_factory=dict)

    @property
    def cases(self) -> int:
        return sum(len(cases) for _, cases in self.batches)


def build_workload(total: int, seed: int = 7, subjects: int = 400) -> Workload:
    """``total`` cases in batches of 100, each batch one officer's shift, about ``subjects`` subjects shared
    city-wide."""
    rng = random.Random(seed)
    officers = [
        Officer(f"{1000 + n}", f"队员{n}", f"ZD{n % 4:02d}", district=DISTRICT, role=Role.OFFICER)
        for n in range(20)
    ]
    known = [str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in range(subjects)]
    codes = ["0510", "0501", "0504", "0108"]
    batches = []
    serial: dict[str, int] = {}
    for b in range(total // BATCH):
        officer = officers[b % len(officers)]
        cases: list[Case] = []
        for _ in range(BATCH):
            serial[officer.badge] = n = serial.get(officer.badge, 0) + 1
            when = START + timedelta(minutes=7 * (b * BATCH + len(cases)))
            photos = tuple(
                PhotoRef(f"{rng.getrandbits(256):064x}", 300_000 + k, PhotoKind.DURING, 1600, 1200)
                for k in range(3)
            )
            cases.append(
                Case(
                    id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                    case_no=f"{officer.squad_code}-{officer.badge}-260601-K7Q2M-{n:04d}",
                    officer_badge=officer.badge,
                    squad_code=officer.squad_code,
                    device_id=f"device-{officer.badge}",
                    violation_code=rng.choice(codes),
                    occurred_at=when,
                    location=Location(lat=34.75, lon=113.62, accuracy_m=8.0, address="人民路夜市"),
                    subject_id=rng.choice(known),
                    computed_stage=Stage.PERSUASION,
                    chosen_stage=Stage.PERSUASION,
                    disposition=Disposition.PERSUADED,
                    photos=photos,
                )
            )
        batches.append((officer, cases))
    return Workload(officers, batches)


def late_order(work: Workload) -> Workload:
    """The same batches, each group of 4 pushed last first (``--late``): a batch then arrives after later
    cases of many of its subjects, so ~29 % of its cases restage later ones (a phone that synced late)."""
    batches: list[tuple[Officer, list[Case]]] = []
    for start in range(0, len(work.batches), 4):
        batches.extend(reversed(work.batches[start : start + 4]))
    return Workload(work.officers, batches)


def with_amendments(work: Workload, every: int, seed: int = 11) -> Workload:
    """The same batches with every ``every``-th record (``--amend``) an amendment of an earlier case of the
    officer's instead (a corrected address, as officers fix a case after recording it)."""
    rng = random.Random(seed)
    latest: dict[str, list[Case]] = {}
    batches: list[tuple[Officer, list[Case]]] = []
    for officer, cases in work.batches:
        mine = latest.setdefault(officer.badge, [])
        records = []
        for n, case in enumerate(cases):
            if n % every == every - 1 and mine:
                base = mine.pop(rng.randrange(len(mine)))
                case = replace(
                    base, id=str(uuid.UUID(int=rng.getrandbits(128), version=4)), version=base.version + 1,
                    supersedes=base.id, location=replace(base.location, address="人民路夜市东口"),
                )  # fmt: skip
            mine.append(case)
            records.append(case)
        batches.append((officer, records))
    return Workload(work.officers, batches)


def with_registrations(work: Workload, every: int, seed: int = 13) -> Workload:
    """The same batches with every ``every``-th case (``--register``) about a new vendor, registered just
    before it in the same push (a subject record, then the case naming it), as an officer meets one."""
    rng = random.Random(seed)
    registrations: dict[str, Subject] = {}
    batches: list[tuple[Officer, list[Case]]] = []
    for b, (officer, cases) in enumerate(work.batches):
        records = []
        for n, case in enumerate(cases):
            if n % every == every - 1:
                vendor = Subject(
                    id=str(uuid.UUID(int=rng.getrandbits(128), version=4)), kind=SubjectKind.MOBILE_VENDOR,
                    name=f"新摊主{b}-{n}", phone=f"139{rng.randrange(10**8):08d}", district=DISTRICT,
                )  # fmt: skip
                case = replace(case, subject_id=vendor.id, violation_code="0510")  # 露天烧烤: a vendor's
                registrations[case.id] = vendor
            records.append(case)
        batches.append((officer, records))
    return Workload(work.officers, batches, registrations)


def run_ingest(storage: Storage, work: Workload, threads: int = 1) -> tuple[float, dict[str, int], float]:
    """Push every batch; with ``threads`` > 1, that many devices push at once (batches dealt round-robin).
    Returns the wall-clock seconds, the answers by status and this process's CPU seconds (every thread;
    a PostgreSQL server's own CPU is not in it)."""
    catalogue = load_catalogue()
    pushes = []
    for officer, cases in work.batches:
        records: list[PushRecord] = []
        for case in cases:
            subject = work.registrations.get(case.id)
            if subject is not None:
                records.append(PushRecord(kind="subject", id=subject.id, device_seq=len(records) + 1,
                                          payload=to_json_dict(subject)))  # fmt: skip
            records.append(PushRecord(kind="case", id=case.id, device_seq=len(records) + 1,
                                      payload=to_json_dict(case)))  # fmt: skip
        pushes.append((officer, records))
    statuses: dict[str, int] = {}
    lock = threading.Lock()

    def worker(share: list[tuple[Officer, list[PushRecord]]]) -> None:
        for officer, records in share:
            results = ingest_batch(storage, officer, f"device-{officer.badge}", records, catalogue=catalogue)
            with lock:
                for result in results:
                    statuses[result.status] = statuses.get(result.status, 0) + 1

    workers = [threading.Thread(target=worker, args=(pushes[n::threads],)) for n in range(threads)]
    started, cpu = time.perf_counter(), time.process_time()
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    return time.perf_counter() - started, statuses, time.process_time() - cpu


def run_floor(storage: Storage, work: Workload) -> tuple[float, float]:
    """The floor's wall-clock seconds and this process's CPU seconds."""
    now = START + timedelta(days=30)
    batches = []
    for _, cases in work.batches:
        case_rows: list[Sequence[Any]] = []
        photo_rows: list[Sequence[Any]] = []
        for c in cases:
            ts = storage.dialect.ts  # type: ignore[attr-defined]
            case_rows.append((
                c.id, c.case_no, c.version, c.supersedes, c.officer_badge, c.squad_code, DISTRICT,
                c.subject_id, c.violation_code, ts(c.occurred_at), c.status.value, ts(now), 1, 1, 1, 1,
                False, "", "", 3, dumps(to_json_dict(c)),
            ))  # fmt: skip
            photo_rows.extend((c.id, p.sha256) for p in c.photos)
        batches.append((case_rows, photo_rows))
    started, cpu = time.perf_counter(), time.process_time()
    for case_rows, photo_rows in batches:
        with storage.transaction() as tx:
            assert isinstance(tx, SqlTx)
            tx._many(FLOOR_CASE_SQL, case_rows)
            tx._many(FLOOR_PHOTO_SQL, photo_rows)
    return time.perf_counter() - started, time.process_time() - cpu


_WRITES = ("INSERT", "UPDATE", "DELETE")


def capture_writes(storage: Storage, work: Workload) -> list[list[tuple[str, str, Any]]]:
    """Ingest ``work`` into ``storage`` and keep every write statement it sent, batch by batch:
    (the dialect method, the SQL, its parameters), as floor 2 replays them."""
    catalogue = load_catalogue()
    dialect: Any = storage.dialect  # type: ignore[attr-defined]
    batch: list[tuple[str, str, Any]] = []

    def keep(method: str) -> Callable[..., Any]:
        original = getattr(dialect, method)

        def call(conn: Any, sql: str, params: Any = ()) -> Any:
            if sql.lstrip().upper().startswith(_WRITES):
                params = [tuple(row) for row in params] if method != "execute" else tuple(params)
                batch.append((method, sql, params))
            return original(conn, sql, params)

        return call

    for method in ("execute", "executemany", "insert_rows"):
        setattr(dialect, method, keep(method))
    batches = []
    for officer, cases in work.batches:
        records = [
            PushRecord(kind="case", id=c.id, device_seq=i + 1, payload=to_json_dict(c))
            for i, c in enumerate(cases)
        ]
        ingest_batch(storage, officer, f"device-{officer.badge}", records, catalogue=catalogue)
        batches.append(batch)
        batch = []
    return batches


def run_write_floor(storage: Storage, batches: list[list[tuple[str, str, Any]]]) -> tuple[float, float]:
    """Floor 2: every write statement ingest sent (``capture_writes``), replayed as is into a fresh
    database, one transaction per batch, nothing read and nothing computed. Wall and CPU seconds."""
    started, cpu = time.perf_counter(), time.process_time()
    for batch in batches:
        with storage.transaction() as tx:
            assert isinstance(tx, SqlTx)
            for method, sql, params in batch:
                getattr(tx.d, method)(tx.conn, sql, params)
    return time.perf_counter() - started, time.process_time() - cpu


def _table(sql: str) -> str:
    words = sql.split()
    return words[2] if words[0].upper() in ("INSERT", "DELETE") else words[1]


def written(batches: list[list[tuple[str, str, Any]]]) -> dict[str, tuple[int, int]]:
    """Per table, the rows and the bytes of values the captured writes sent (text and blobs by their
    length, numbers and times as 8 bytes): what floor 2 writes."""
    found: dict[str, tuple[int, int]] = {}
    for batch in batches:
        for method, sql, params in batch:
            rows = [params] if method == "execute" else params
            size = sum(len(v) if isinstance(v, str | bytes) else 8 for row in rows for v in row)
            n, b = found.get(_table(sql), (0, 0))
            found[_table(sql)] = (n + len(rows), b + size)
    return found


@contextmanager
def postgres_dsn(given: str | None) -> Iterator[str]:
    if given:
        yield given
        return
    out = subprocess.run(
        ["bash", str(ROOT / "scripts" / "pg.sh")], check=True, capture_output=True, text=True
    )
    directory, dsn = out.stdout.split()
    try:
        yield dsn
    finally:
        subprocess.run(["bash", str(ROOT / "scripts" / "pg.sh"), "stop", directory], check=False)


def measure(name: str, make: Callable[[], Storage], work: Workload, threads: int = 1) -> dict[str, Any]:
    storage = make()
    try:
        ingest_s, statuses, ingest_cpu = run_ingest(storage, work, threads)
    finally:
        storage.close()
    floor = make()
    try:
        floor_s, floor_cpu = run_floor(floor, work)
    finally:
        floor.close()
    scratch = make()
    try:
        writes = capture_writes(scratch, work)
    finally:
        scratch.close()
    floor2 = make()
    try:
        floor2_s, floor2_cpu = run_write_floor(floor2, writes)
    finally:
        floor2.close()
    return {"backend": name, "ingest_s": ingest_s, "floor_s": floor_s, "statuses": statuses,
            "ingest_cpu": ingest_cpu, "floor_cpu": floor_cpu, "floor2_s": floor2_s,
            "floor2_cpu": floor2_cpu, "written": written(writes)}  # fmt: skip


def _us(cpu: float, work: Workload) -> str:
    return f"{cpu / work.cases * 1e6:.0f}"


def run_reviews(storage: Storage, work: Workload, seed: int = 5) -> tuple[float, float]:
    """Each ingested case reviewed by its squad's leader, pushes of 100 (8 in 10 approved, 1 returned,
    1 withdrawn): the wall-clock and CPU seconds."""
    leaders = {
        o.squad_code: Officer(
            f"2{o.squad_code[-2:]}0", f"队长{o.squad_code}", o.squad_code, district=DISTRICT, role=Role.LEADER
        )
        for o in work.officers
    }
    rng = random.Random(seed)
    decisions = [ReviewDecision.APPROVE] * 8 + [ReviewDecision.RETURN, ReviewDecision.WITHDRAW]
    by_squad: dict[str, list[Case]] = {}
    for officer, cases in work.batches:
        by_squad.setdefault(officer.squad_code, []).extend(c for c in cases if c.supersedes is None)
    started, cpu = time.perf_counter(), time.process_time()
    for squad, cases in sorted(by_squad.items()):
        leader = leaders[squad]
        for start in range(0, len(cases), BATCH):
            records: list[PushRecord] = []
            for case in cases[start : start + BATCH]:
                review_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
                review = Review(
                    id=review_id, case_id=case.id, case_no=case.case_no, decision=rng.choice(decisions),
                    reviewer_badge=leader.badge, decided_at=case.occurred_at + timedelta(hours=1),
                )  # fmt: skip
                records.append(PushRecord(kind="review", id=review.id, device_seq=start + len(records) + 1,
                                          payload=to_json_dict(review)))  # fmt: skip
            results = ingest_batch(storage, leader, f"device-{leader.badge}", records)
            assert all(r.status == "accepted" for r in results), results
    return time.perf_counter() - started, time.process_time() - cpu


def _stored_and_late(text: str) -> tuple[int, int]:
    """``--long-history``'s value: two whole numbers, at least 1 late case, under 10,000 cases in all."""
    parts = text.split(",")
    if len(parts) != 2 or not all(p.strip().isdigit() for p in parts):
        raise argparse.ArgumentTypeError(f"expected STORED,LATE (two whole numbers), got {text!r}")
    stored, late = (int(p) for p in parts)
    if late < 1 or stored + late >= 10_000:
        raise argparse.ArgumentTypeError("LATE must be at least 1 and STORED + LATE under 10,000")
    return stored, late


def long_history(stored: int, late: int, pg_dsn: str | None) -> None:
    """``--long-history STORED,LATE`` (together under 10,000): one vendor given ``stored`` cases (in time
    order, batches of 100), then one push of ``late`` cases earlier than all of them, each restaging every
    later case (what a hostile officer, or a phone synced after a long absence, can send); its seconds."""
    officer = Officer("1001", "队员1", "ZD01", district=DISTRICT, role=Role.OFFICER)
    vendor = str(uuid.UUID(int=1, version=4))
    catalogue = load_catalogue()

    def case(n: int, at: datetime) -> Case:
        return Case(
            id=str(uuid.UUID(int=10_000 + n, version=4)), case_no=f"ZD01-1001-260601-K7Q2M-{n + 1:04d}",
            officer_badge=officer.badge, squad_code=officer.squad_code, device_id="device-1001",
            violation_code="0510", occurred_at=at, location=Location(lat=34.75, lon=113.62, address="夜市"),
            subject_id=vendor, computed_stage=Stage.PERSUASION, chosen_stage=Stage.PERSUASION,
            disposition=Disposition.PERSUADED,
        )  # fmt: skip

    def push(storage: Storage, cases: list[Case], seq: int) -> float:
        records = [
            PushRecord(kind="case", id=c.id, device_seq=seq + i, payload=to_json_dict(c))
            for i, c in enumerate(cases)
        ]
        started = time.perf_counter()
        results = ingest_batch(storage, officer, "device-1001", records, catalogue=catalogue)
        seconds = time.perf_counter() - started
        assert all(r.status in ("accepted", "conflict") for r in results), results[:3]
        return seconds

    def one(name: str, storage: Storage) -> None:
        storage.create_schema()
        try:
            history = [case(n, START + timedelta(hours=2 * n)) for n in range(stored)]
            for start in range(0, stored, BATCH):
                push(storage, history[start : start + BATCH], start + 1)
            earlier = [case(stored + n, START - timedelta(hours=n + 1)) for n in range(late)]
            seconds = push(storage, earlier, stored + 1)
            print(f"{name}: {late} late cases before {stored} of one vendor: {seconds:.2f} s")
        finally:
            storage.close()

    with tempfile.TemporaryDirectory() as tmp:
        one("SQLite", SqliteStorage(Path(tmp) / "long.db"))
    with postgres_dsn(pg_dsn) as dsn:
        one("PostgreSQL", PostgresStorage(dsn, schema=f"bench_{uuid.uuid4().hex[:12]}", max_size=4))
        drop_bench_schemas(dsn)


def ingest_only(
    work: Workload, runs: int, pg_dsn: str | None, *, reviews: bool = False, devices: int = 1
) -> None:
    """``--ingest-only``: ingest's cases/s and CPU µs a case, run after run, on SQLite and PostgreSQL;
    with ``reviews`` (``--reviews``), then the leaders' reviews of them; ``devices`` pushing at once."""

    def one(name: str, storage: Storage, n: int) -> None:
        storage.create_schema()
        try:
            seconds, _, cpu = run_ingest(storage, work, devices)
            print(f"{name} run {n + 1}: {work.cases / seconds:,.0f} cases/s, {_us(cpu, work)} µs CPU a case")
            if reviews:
                seconds, cpu = run_reviews(storage, work)
                print(f"  reviews: {work.cases / seconds:,.0f} /s, {_us(cpu, work)} µs CPU a review")
        finally:
            storage.close()

    with tempfile.TemporaryDirectory() as tmp:
        for n in range(runs):
            one("SQLite", SqliteStorage(Path(tmp) / f"only-{n}.db"), n)
    with postgres_dsn(pg_dsn) as dsn:
        for n in range(runs):
            one("PostgreSQL", PostgresStorage(dsn, schema=f"bench_{uuid.uuid4().hex[:12]}", max_size=4), n)
        drop_bench_schemas(dsn)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=int, default=3000, help="cases per backend (multiple of 100)")
    parser.add_argument("--pg-dsn", default=os.environ.get("STREETPATROL_TEST_PG_DSN"))
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "ingest.md")
    parser.add_argument(
        "--ingest-only",
        type=int,
        metavar="RUNS",
        help="only ingest, single stream, RUNS times per backend into fresh databases (no floors, no table):"
        " the figure to alternate with another build's checkout when the whole bench is too noisy",
    )
    parser.add_argument(
        "--late",
        action="store_true",
        help="with --ingest-only: each group of 4 batches pushed last first (late cases restage later ones)",
    )
    parser.add_argument(
        "--amend",
        type=int,
        metavar="N",
        help="with --ingest-only: every N-th record amends an earlier case of the officer instead",
    )
    parser.add_argument(
        "--long-history",
        type=_stored_and_late,
        metavar="STORED,LATE",
        help="only this: one vendor with STORED cases, then one push of LATE cases earlier than all of them"
        " (each restages every later case); the push's seconds on SQLite and PostgreSQL",
    )
    parser.add_argument(
        "--reviews",
        action="store_true",
        help="with --ingest-only: then each case reviewed by its squad's leader (reviews/s, CPU a review)",
    )
    parser.add_argument(
        "--register",
        type=int,
        metavar="N",
        help="with --ingest-only: every N-th case is about a new vendor, registered just before it",
    )
    parser.add_argument(
        "--subjects",
        type=int,
        default=400,
        metavar="N",
        help="subjects the cases are spread over (400: every batch shares subjects with every other; a"
        " city's registry holds tens of thousands)",
    )
    parser.add_argument(
        "--devices",
        type=int,
        default=1,
        metavar="K",
        help="with --ingest-only: K devices pushing at once (batches dealt round-robin)",
    )
    args = parser.parse_args()
    if args.subjects < 1 or args.devices < 1:
        parser.error("--subjects and --devices take a positive number")
    work = build_workload(args.cases, subjects=args.subjects)
    if args.late:
        work = late_order(work)
    if args.amend:
        work = with_amendments(work, args.amend)
    if args.register:
        work = with_registrations(work, args.register)
    if args.long_history:
        stored, late = args.long_history
        long_history(stored, late, args.pg_dsn)
        return
    if args.ingest_only:
        ingest_only(work, args.ingest_only, args.pg_dsn, reviews=args.reviews, devices=args.devices)
        return
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        counter = iter(range(100))

        def sqlite_storage() -> Storage:
            storage = SqliteStorage(Path(tmp) / f"hq-{next(counter)}.db")
            storage.create_schema()
            return storage

        rows.append(measure("SQLite (WAL, synchronous=FULL)", sqlite_storage, work))
    with postgres_dsn(args.pg_dsn) as dsn:

        def pg_storage() -> Storage:
            storage = PostgresStorage(dsn, schema=f"bench_{uuid.uuid4().hex[:12]}", max_size=4)
            storage.create_schema()
            return storage

        rows.append(measure("PostgreSQL (loopback, psycopg pool)", pg_storage, work))
        rows.append(measure("PostgreSQL, 4 devices pushing at once", pg_storage, work, threads=4))
        drop_bench_schemas(dsn)
    table = render(rows, work)
    print(table)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(table, encoding="utf-8")


def render(rows: list[dict[str, Any]], work: Workload) -> str:
    n = work.cases
    lines = [
        f"# HQ ingest benchmark ({n:,} cases, batches of {BATCH}, 3 photos each, 400 shared subjects)",
        "",
        "ingest = `hq.ingest.push.ingest_batch` (validate, ledger, versions, HQ stage over the subject's",
        "history, case + manifest rows, change feed, audit; one transaction per batch). floor = plain",
        "`executemany` of the same case and manifest rows into the same schema, one transaction per",
        "batch, rows prebuilt.",
        "PostgreSQL started by scripts/pg.sh runs with fsync=off (loopback test server). With 4 devices at",
        "once, their batches interleave (same cases, other arrival order, so other stage outcomes; the floor",
        "column stays single-stream). Every batch here touches ~100 of only 400 subjects, so concurrent",
        "batches always share subjects and queue on the subject locks (the worst case: a city's registry is",
        f"far larger). Machine: {os.cpu_count()} CPUs, shared with other work; figures vary run to run.",
        "CPU µs/case: this process's CPU time (`time.process_time`, every thread; not a PostgreSQL server's)",
        "per case: far steadier than wall-clock time on a loaded machine.",
        "floor 2 (a second floor, beside the first, not instead of it): every INSERT / UPDATE / DELETE",
        "ingest sent for the same cases (captured from a single-stream ingest run of this build into a",
        "scratch database: case and manifest rows, receipts, change-feed entries, tally rows, audit, device",
        "sequence), replayed as is into a fresh database, one transaction per batch, with no reads and no",
        "Python work: what the rows ingest must write cost the database alone.",
        "",
        "| backend | ingest cases/s | floor cases/s | ingest / floor | floor 2 (same rows) cases/s "
        "| ingest / floor 2 | ms per batch of 100 | CPU µs/case ingest / floor / floor 2 | outcomes |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for row in rows:
        ingest_rate, floor_rate = n / row["ingest_s"], n / row["floor_s"]
        floor2_rate = n / row["floor2_s"]
        outcomes = ", ".join(f"{k} {v}" for k, v in sorted(row["statuses"].items()))
        lines.append(
            f"| {row['backend']} | {ingest_rate:,.0f} | {floor_rate:,.0f} | {ingest_rate / floor_rate:.2f} "
            f"| {floor2_rate:,.0f} | {ingest_rate / floor2_rate:.2f} "
            f"| {1000 * row['ingest_s'] / len(work.batches):.0f} "
            f"| {1e6 * row['ingest_cpu'] / n:,.0f} / {1e6 * row['floor_cpu'] / n:,.0f}"
            f" / {1e6 * row['floor2_cpu'] / n:,.0f} | {outcomes} |"
        )
    first = rows[0]["written"]
    total = sum(b for _, b in first.values())
    feed_rows, feed_bytes = first.get("changes", (0, 0))
    lines += [
        "",
        f"floor 2 ({rows[0]['backend']}) writes {sum(r for r, _ in first.values()) / n:.1f} rows and"
        f" {total / n:,.0f} bytes of values a case; of them the change feed {feed_rows / n:.2f} rows and"
        f" {feed_bytes / n:,.0f} bytes (one entry per case version, the subjects' histories).",
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
