"""Benchmark: what the weak merge suggestions by place (issue #22, ``hq.subjectmatch.note_place``) cost
HQ's ingest of cases.

A fresh SQLite HQ (WAL + synchronous=FULL; PostgreSQL too with ``--pg-dsn`` or ``STREETPATROL_TEST_PG_DSN``)
registers 400 vendors of one district (80 names, each written up to five ways: 老王烧烤, 老王烧烤摊, …) and
then ingests 3,000 of their 露天烧烤 cases, at fixes spread over a 3 km square, in batches of 100 through
``hq.ingest.push.ingest_batch``. The baseline is the same run with place matching switched off
(``note_place`` replaced by a no-op); the two are run alternately, ``--rounds`` times each, in the same
process, and the table shows the median batch time of each. Prints a Markdown table and writes it to
bench/results/subject_places.md. Run: ``.venv/bin/python bench/subject_places.py``.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make ``testkit`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import hq.ingest.cases
from enforcement.codec import to_json_dict
from enforcement.model import LOCAL_TZ, Location, Officer, Role, Subject, SubjectKind, new_id
from hq.ingest.push import ingest_batch
from hq.storage.base import Storage
from hq.storage.sqlite import SqliteStorage
from sync.protocol import PushRecord
from testkit import records

ROOT = Path(__file__).resolve().parents[1]
DISTRICT = "金水区"
BATCH = 100
START = datetime(2026, 6, 1, 20, 0, tzinfo=LOCAL_TZ)
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
TRADES = ("烧烤", "炒粉", "水果", "煎饼")
SUFFIXES = ("", "摊", "店", "小吃", "夜市")


def workload(seed: int, subjects: int, cases: int) -> tuple[list[Subject], list[list[PushRecord]], Officer]:
    rng = random.Random(seed)
    officer = Officer("1023", "王㐂", "ZD01", "人民路中队", DISTRICT, Role.OFFICER)
    names = [f"老{s}{t}" for s in SURNAMES for t in TRADES]
    vendors = [
        Subject(new_id(), SubjectKind.MOBILE_VENDOR, name=rng.choice(names) + rng.choice(SUFFIXES),
                district=DISTRICT, phone=f"139{n:08d}")
        for n in range(subjects)
    ]  # fmt: skip
    batches: list[list[PushRecord]] = []
    seq = 1
    for first in range(0, cases, BATCH):
        batch = []
        for n in range(first, min(first + BATCH, cases)):
            where = Location(
                lat=34.74 + rng.random() * 0.027, lon=113.61 + rng.random() * 0.033, accuracy_m=8.0
            )
            when = START - timedelta(minutes=n)
            case = records.make_case(
                officer=officer, subject_id=rng.choice(vendors).id, location=where, occurred_at=when,
                device_id="bench-dev",
            )  # fmt: skip
            batch.append(PushRecord(kind="case", id=case.id, device_seq=seq, payload=to_json_dict(case)))
            seq += 1
        batches.append(batch)
    return vendors, batches, officer


@contextmanager
def place_matching(on: bool) -> Iterator[None]:
    real = hq.ingest.cases.note_place
    if not on:
        hq.ingest.cases.note_place = lambda *a, **k: set()
    try:
        yield
    finally:
        hq.ingest.cases.note_place = real


def one_run(
    open_storage: Callable[[], Storage], on: bool, seed: int, subjects: int, cases: int
) -> tuple[list[float], int]:
    vendors, batches, officer = workload(seed, subjects, cases)
    storage = open_storage()
    try:
        registry = [
            PushRecord(kind="subject", id=v.id, device_seq=1_000_000 + i, payload=to_json_dict(v))
            for i, v in enumerate(vendors)
        ]
        for first in range(0, len(registry), BATCH):
            ingest_batch(storage, officer, "bench-dev", registry[first : first + BATCH], now=START)
        times = []
        with place_matching(on):
            for batch in batches:
                began = time.perf_counter()
                ingest_batch(storage, officer, "bench-dev", batch, now=START)
                times.append((time.perf_counter() - began) * 1000)
        with storage.transaction(readonly=True) as tx:
            place_pairs = sum("place" in p.reason for p in tx.list_subject_pairs(DISTRICT, limit=5000))
        return times, place_pairs
    finally:
        storage.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--subjects", type=int, default=400)
    parser.add_argument("--cases", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--pg-dsn", default=os.environ.get("STREETPATROL_TEST_PG_DSN", ""))
    args = parser.parse_args()
    backends: list[tuple[str, Callable[[Path], Callable[[], Storage]]]] = [
        ("SQLite", lambda root: lambda: _fresh_sqlite(root)),
    ]
    if args.pg_dsn:
        from testkit.pg import new_schema

        def pg(root: Path) -> Callable[[], Storage]:
            from hq.storage.postgres import PostgresStorage

            def make() -> Storage:
                storage = PostgresStorage(args.pg_dsn, schema="bench_" + new_schema(), min_size=1, max_size=2)
                storage.create_schema()
                return storage

            return make

        backends.append(("PostgreSQL", pg))
    lines = [
        "| backend | place matching | batch of 100 cases p50 ms | p95 ms | weak pairs by place |",
        "|---|---|---:|---:|---:|",
    ]
    with tempfile.TemporaryDirectory() as tmp:
        for name, opener in backends:
            times: dict[bool, list[float]] = {True: [], False: []}
            pairs = 0
            for r in range(args.rounds):
                for on in (False, True) if r % 2 == 0 else (True, False):  # interleaved
                    root = Path(tmp) / f"{name}-{r}-{on}"
                    root.mkdir()
                    batch_ms, found = one_run(opener(root), on, 7 + r, args.subjects, args.cases)
                    times[on] += batch_ms
                    pairs = found if on else pairs
            for on in (False, True):
                ms = sorted(times[on])
                p95 = ms[int(len(ms) * 0.95) - 1]
                label = "on (this build)" if on else "off (baseline)"
                lines.append(
                    f"| {name} | {label} | {statistics.median(ms):.1f} | {p95:.1f} | {pairs if on else 0} |"
                )
    if args.pg_dsn:
        from testkit.pg import drop_bench_schemas

        drop_bench_schemas(args.pg_dsn)
    load = os.getloadavg()[0]
    table = "\n".join(lines)
    note = (
        f"\n\n{args.subjects} vendors, {args.cases} cases in batches of {BATCH},"
        f" {args.rounds} rounds each way interleaved; load average at the end {load:.1f} (2 shared cores).\n"
    )
    print(table + note)
    out = ROOT / "bench" / "results" / "subject_places.md"
    out.write_text("# Weak suggestions by place: ingest cost\n\n" + table + note, encoding="utf-8")
    return 0


def _fresh_sqlite(root: Path) -> Storage:
    storage = SqliteStorage(root / "hq.db")
    storage.create_schema()
    return storage


if __name__ == "__main__":
    raise SystemExit(main())
