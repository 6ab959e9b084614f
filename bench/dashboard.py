"""Benchmark: HQ's reads over a whole city's history (issue #20), at several database sizes, both backends.

For each size (``--sizes 100000,1000000,3500000``) a fresh HQ database gets that many cases over a year
(20 squads × 10 officers, 30 violation types, a subject pool of size/6 so repeat offenders pile up, ~2 %
stage conflicts, ~1 % withdrawn on review, ~0.5 % voided by a second version, fines on a third of the
处罚 cases, seizures on some 露天烧烤): a bulk loader writes the case rows (SQLite: ``executemany`` in
transactions of 50,000; PostgreSQL: ``COPY``) and then builds the aggregates with the code path of
``streetpatrol-hq rebuild-aggregates`` (``hq.tally.rebuild``). Before anything is timed, a sample of
cases is pushed through real ingest (``hq.ingest.push.ingest_batch``) into one database, its case rows copied
into another by the bulk loader and rebuilt there: both must hold the same figures.

Then each HQ read is timed (p50 / p95 of ``--reps`` runs, warm): the dashboard's figures (14 days; and
with the trend by month), the trend by month and by week, repeat offenders, open conflicts (first page),
last contact, a squad's day log, the review queue (``hq.reviewqueue.read_queue``: first and second page),
the case list (first page and a page deep in history by cursor), and a 14-day and a
92-day CSV export in a child process (time to first byte, total, and how far the child's resident set
grew above its size before the export, sampled after every chunk). Each read is compared with the same
read on the smallest database of the same run. Prints a Markdown table and writes it to
bench/results/dashboard.md.

Run: ``.venv/bin/python bench/dashboard.py --sizes 100000,1000000`` (PostgreSQL from
``STREETPATROL_TEST_PG_DSN`` or started with scripts/pg.sh; ``--backends sqlite`` for SQLite only).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from enforcement.catalogue import load_catalogue  # noqa: E402
from enforcement.codec import to_json_dict  # noqa: E402
from enforcement.model import LOCAL_TZ, Officer, Role, Stage  # noqa: E402
from hq import tally  # noqa: E402
from hq.dash.board import load_board, trend_of  # noqa: E402
from hq.daydata import load_daylog  # noqa: E402
from hq.export import iter_cases_csv  # noqa: E402
from hq.reviewqueue import read_queue  # noqa: E402
from hq.storage.base import Storage, UserRow  # noqa: E402
from hq.storage.postgres import PostgresStorage  # noqa: E402
from hq.storage.sqlcore import dumps  # noqa: E402
from hq.storage.sqlite import SqliteStorage  # noqa: E402
from hq.storage.sqltx import SqlTx  # noqa: E402
from testkit.pg import drop_bench_schemas  # noqa: E402

END = date(2026, 11, 22)
END_AT = datetime(2026, 11, 22, 23, 0, tzinfo=LOCAL_TZ)
SPAN_DAYS = 365
SQUADS = [f"ZD{n:02d}" for n in range(20)]
OFFICERS = [(f"{1000 + n}", SQUADS[n // 10]) for n in range(200)]
CHUNK = 50_000
COLUMNS = (
    "id, case_no, version, supersedes, officer_badge, squad_code, district, subject_id, violation_code,"
    " occurred_at, status, received_at, device_stage, chosen_stage, hq_stage, hq_ordinal, stage_conflict,"
    " explain_zh, explain_en, photos_expected, latest, review, payload, policy_version"
)
INSERT = f"INSERT INTO cases ({COLUMNS}) VALUES ({', '.join('?' * 24)})"


# ------------------------------------------------------------------------------------------ the city


def generate(total: int, seed: int = 20) -> Iterator[tuple[Any, ...]]:
    """Case rows in time order: ``(id, case_no, version, supersedes, …, payload, policy_version)``."""
    rng = random.Random(seed)
    codes = [v.code for v in load_catalogue()][:30]
    subjects = [str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in range(max(total // 6, 100))]
    seen: dict[str, int] = {}
    step = SPAN_DAYS * 86400 / total
    start = END_AT - timedelta(days=SPAN_DAYS)
    template = {
        "location": {
            "lat": 34.75,
            "lon": 113.62,
            "accuracy_m": 8.0,
            "address": "人民路夜市",
            "grid_cell": None,
            "no_fix_reason": "",
        },
        "subject_unknown": False,
        "stage_override_reason": "",
        "legal_basis": "",
        "warning_notice_no": "",
        "seizure_receipt_no": "",
        "second_officer_badge": "",
        "rectify_deadline": None,
        "referred_to": "",
        "photos": [],
        "notes": "",
        "created_at": None,
        "extra": {},
    }
    for i in range(total):
        serial = i + 1
        badge, squad = OFFICERS[rng.randrange(len(OFFICERS))]
        at = start + timedelta(seconds=i * step + rng.random() * step)
        subject = rng.choice(subjects)
        seen[subject] = ordinal = seen.get(subject, 0) + 1
        stage = min(ordinal, 3)
        device = stage if rng.random() > 0.02 else max(1, stage - 1)
        code = rng.choice(codes)
        fine = 500 + 100 * rng.randrange(20) if stage == 3 and rng.random() < 0.33 else None
        seized = (
            [{"kind": "烧烤炉", "quantity": 1 + rng.randrange(3), "note": ""}] if rng.random() < 0.03 else []
        )
        review = "withdraw" if rng.random() < 0.01 else ("approve" if rng.random() < 0.3 else "")
        case_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        case_no = f"{squad}-{badge}-{at:%y%m%d}-K7Q2M-{serial:07d}"
        payload = dict(
            template,
            id=case_id,
            case_no=case_no,
            officer_badge=badge,
            squad_code=squad,
            device_id=f"device-{badge}",
            violation_code=code,
            occurred_at=at.isoformat(),
            subject_id=subject,
            computed_stage=device,
            chosen_stage=device,
            disposition="penalty" if fine else "persuaded",
            stage_ordinal=ordinal,
            fine_yuan=fine,
            seized_items=seized,
            version=1,
            supersedes=None,
            status="active",
        )
        voided = rng.random() < 0.005
        row = (
            case_id,
            case_no,
            1,
            None,
            badge,
            squad,
            "金水区",
            subject,
            code,
            at,
            "active",
            at,
            device,
            device,
            stage,
            ordinal,
            device != stage,
            "",
            "",
            0,
            not voided,
            review,
            dumps(payload),
            0,
        )
        yield row
        if voided:
            v2 = str(uuid.UUID(int=rng.getrandbits(128), version=4))
            payload2 = dict(payload, id=v2, version=2, supersedes=case_id, status="voided")
            yield (
                v2,
                case_no,
                2,
                case_id,
                badge,
                squad,
                "金水区",
                subject,
                code,
                at,
                "voided",
                at,
                device,
                device,
                stage,
                ordinal,
                device != stage,
                "",
                "",
                0,
                True,
                "",
                dumps(payload2),
                0,
            )


def seed_people(storage: Storage) -> None:
    from hq.storage.base import District, Squad

    with storage.transaction() as tx:
        tx.put_district(District("金水区", "金水区"))
        for code in SQUADS:
            tx.put_squad(Squad(code, f"{code}中队", "金水区"))
        for badge, squad in OFFICERS:
            officer = Officer(badge, f"队员{badge}", squad, f"{squad}中队", "金水区", Role.OFFICER)
            tx.put_user(UserRow(officer, "x"))
            tx.touch_device(f"device-{badge}", badge, END_AT)


def _secondary_indexes(tx: SqlTx, postgres: bool) -> list[tuple[str, str]]:
    """The ``cases`` indexes no constraint needs, as (name, the SQL that makes it)."""
    if postgres:
        rows = tx._all(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema()"
            " AND tablename = 'cases' AND indexname NOT IN (SELECT conname FROM pg_constraint)"
        )
    else:
        rows = tx._all("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'cases'"
                       " AND sql IS NOT NULL")  # fmt: skip
    return [(str(r[0]), str(r[1])) for r in rows]


def bulk_load(storage: Storage, rows: Iterator[tuple[Any, ...]]) -> int:
    """Write case rows fast (SQLite executemany / PostgreSQL COPY, transactions of ``CHUNK``). The
    ``cases`` indexes no constraint needs are dropped first and made again at the end (one sort each
    instead of millions of random inserts; the same indexes, the same rows)."""
    count = 0
    batch: list[tuple[Any, ...]] = []
    postgres = storage.backend == "postgres"
    with storage.transaction() as tx:
        assert isinstance(tx, SqlTx)
        indexes = _secondary_indexes(tx, postgres)
        for name, _ in indexes:
            tx._x(f"DROP INDEX {name}")

    def flush() -> None:
        with storage.transaction() as tx:
            assert isinstance(tx, SqlTx)
            if storage.backend == "postgres":
                with tx.conn.cursor() as cur, cur.copy(f"COPY cases ({COLUMNS}) FROM STDIN") as copy:
                    for row in batch:
                        copy.write_row(row)
            else:
                ts = tx.d.ts
                tx._many(INSERT, [(*r[:9], ts(r[9]), r[10], ts(r[11]), *r[12:]) for r in batch])
        batch.clear()

    for row in rows:
        batch.append(row)
        count += 1
        if len(batch) >= CHUNK:
            flush()
    if batch:
        flush()
    with storage.transaction() as tx:
        assert isinstance(tx, SqlTx)
        for _, make in indexes:
            tx._x(make)
        if postgres:
            tx._x("ANALYZE cases")
    return count


def copy_cases(source: Storage) -> Iterator[tuple[Any, ...]]:
    with source.transaction(readonly=True) as tx:
        assert isinstance(tx, SqlTx)
        rows = tx._all(f"SELECT {COLUMNS} FROM cases ORDER BY occurred_at, case_no, version")
        for r in rows:
            yield (*r[:9], tx._dt(r[9]), r[10], tx._dt(r[11]), *r[12:])


def sample_check(make: Callable[[str], Storage]) -> str:
    """Real ingest of a sample vs the bulk loader + rebuild of the same rows: the same figures."""
    sys.path.insert(0, str(ROOT))
    from enforcement.model import Disposition, Review, ReviewDecision, new_id
    from hq.ingest.push import ingest_batch
    from sync.protocol import PushRecord
    from testkit.records import LEADER, NOW, make_case, make_subject  # noqa: F401

    ingested, loaded = make("sample_a"), make("sample_b")
    try:
        rng = random.Random(3)
        subjects = [new_id() for _ in range(40)]
        officer = Officer("1023", "王", "ZD01", "人民路中队", "金水区", Role.OFFICER)
        cases = []
        for _ in range(300):
            stage = Stage(1 + rng.randrange(3))
            extra: dict[str, Any] = {}
            if stage is Stage.PENALTY and rng.random() < 0.5:
                extra = {"disposition": Disposition.PENALTY, "fine_yuan": 800, "legal_basis": "《条例》"}
            cases.append(
                make_case(
                    officer=officer,
                    subject_id=rng.choice(subjects),
                    stage=stage,
                    occurred_at=NOW - timedelta(hours=rng.randrange(24 * 40)),
                    **extra,
                )
            )
        records = [
            PushRecord(kind="case", id=c.id, device_seq=i + 1, payload=to_json_dict(c))
            for i, c in enumerate(cases)
        ]
        for n in range(0, len(records), 100):
            ingest_batch(ingested, officer, "device-1", records[n : n + 100], now=NOW)
        reviews = [
            Review(new_id(), c.id, c.case_no, ReviewDecision.WITHDRAW, LEADER.badge, NOW, "撤销")
            for c in cases[::25]
        ]
        ingest_batch(
            ingested,
            LEADER,
            "device-l",
            [
                PushRecord(kind="review", id=r.id, device_seq=i + 1, payload=to_json_dict(r))
                for i, r in enumerate(reviews)
            ],
            now=NOW,
        )
        bulk_load(loaded, copy_cases(ingested))
        tally.rebuild(loaded)
        with ingested.transaction(readonly=True) as a, loaded.transaction(readonly=True) as b:
            same = tally.comparable(tally.kept(a)) == tally.comparable(tally.kept(b))
            counted = sum(tally.kept(a).figures.cases.values())
        if not same:
            raise SystemExit("the bulk loader's figures differ from ingest's")
        return f"{len(cases)} cases + {len(reviews)} withdrawals ingested; {counted} counted; same figures"
    finally:
        ingested.close()
        loaded.close()


# ----------------------------------------------------------------------------------------- the reads


def timed(fn: Callable[[], Any], reps: int) -> tuple[float, float]:
    fn()  # warm
    times = []
    for _ in range(reps):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, int(len(times) * 0.95))]


def reads(storage: Storage) -> dict[str, Callable[[], Any]]:
    catalogue = load_catalogue()
    day = END - timedelta(days=3)
    with storage.transaction(readonly=True) as tx:
        middle = tx.cases_page(limit=1, until=END_AT - timedelta(days=SPAN_DAYS // 2))
    deep = (middle[0].occurred_at, middle[0].case_no, middle[0].version) if middle else None

    def read(fn: Callable[[Any], Any]) -> Callable[[], Any]:
        def run() -> Any:
            with storage.transaction(readonly=True) as tx:
                return fn(tx)

        return run

    def offenders(tx: Any) -> Any:
        rows = tx.tally_offenders(END_AT - timedelta(days=14), limit=20)
        return [tx.get_subject(r.subject_id, include_deleted=True) for r in rows]

    def last_contact(tx: Any) -> Any:
        return tx.list_devices(), tx.list_users()

    with storage.transaction(readonly=True) as tx:
        second = read_queue(tx, "ZD03", day, catalogue, limit=100).next_cursor

    return {
        "dashboard figures (14 days, all of load_board)": read(lambda tx: load_board(tx, END, 14)),
        "dashboard figures with the trend by month": read(lambda tx: load_board(tx, END, 14, trend="month")),
        "trend by month (12 months)": read(
            lambda tx: trend_of(tx, END, "month", {"squad_code": None, "violation_code": None})
        ),
        "trend by week (12 weeks)": read(
            lambda tx: trend_of(tx, END, "week", {"squad_code": None, "violation_code": None})
        ),
        "repeat offenders (top 20 in 14 days)": read(offenders),
        "open conflicts, first page of 100": read(lambda tx: tx.cases_page(open_conflicts=True, limit=100)),
        "last contact (officers × devices)": read(last_contact),
        "a squad's day log": read(lambda tx: load_daylog(tx, "ZD03", day, catalogue)),
        "review queue, first page of 100": read(lambda tx: read_queue(tx, "ZD03", day, catalogue, limit=100)),
        "review queue, second page of 100": read(
            lambda tx: read_queue(tx, "ZD03", day, catalogue, cursor=second, limit=100)
        ),
        "case list, first page of 100": read(lambda tx: tx.cases_page(limit=100)),
        "case list, page of 100 half a year deep": read(lambda tx: tx.cases_page(after=deep, limit=100)),
    }


def export_child(spec: str) -> None:
    """In a child process: stream an export and print timings and peak RSS (KiB) as JSON."""
    backend, where, days = spec.split("|")
    storage: Storage = SqliteStorage(Path(where)) if backend == "sqlite" else _pg_open(where)
    before = peak = _rss_kib()
    started = time.perf_counter()
    first = None
    size = 0
    for chunk in iter_cases_csv(storage, since=END - timedelta(days=int(days) - 1), until=END):
        if first is None:
            first = time.perf_counter() - started
        size += len(chunk)
        peak = max(peak, _rss_kib())
    total = time.perf_counter() - started
    storage.close()
    print(
        json.dumps(
            {"ttfb": (first or total) * 1000, "total": total * 1000, "rss": peak - before, "bytes": size}
        )
    )


def _rss_kib() -> int:
    """The process's resident set now (VmRSS, KiB), sampled after each chunk of the export."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def _pg_open(where: str) -> Storage:
    dsn, schema = where.rsplit("#", 1)
    return PostgresStorage(dsn, schema=schema, max_size=2)


def run_export(backend: str, where: str, days: int) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, "--export-child", f"{backend}|{where}|{days}"],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


# ------------------------------------------------------------------------------------------ the runs


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


def run_backend(backend: str, sizes: list[int], reps: int, tmp: Path, dsn: str | None) -> dict[str, Any]:
    def make(name: str) -> Storage:
        storage: Storage
        if backend == "sqlite":
            storage = SqliteStorage(tmp / f"{name}.db")
        else:
            assert dsn is not None
            storage = PostgresStorage(dsn, schema=f"bench_{name}", max_size=4)
        storage.create_schema()
        return storage

    result: dict[str, Any] = {"sample": sample_check(make), "sizes": {}}
    for size in sizes:
        name = f"dash_{size}"
        storage = make(name)
        seed_people(storage)
        started = time.perf_counter()
        loaded = bulk_load(storage, generate(size))
        load_s = time.perf_counter() - started
        started = time.perf_counter()
        counted = tally.rebuild(storage)
        rebuild_s = time.perf_counter() - started
        figures = {label: timed(fn, reps) for label, fn in reads(storage).items()}
        storage.close()
        where = str(tmp / f"{name}.db") if backend == "sqlite" else f"{dsn}#bench_{name}"
        for days in (14, 92):
            run = run_export(backend, where, days)
            figures[f"export {days} days: first byte"] = (run["ttfb"], run["ttfb"])
            figures[f"export {days} days: total"] = (run["total"], run["total"])
            figures[f"export {days} days: RSS growth above start (MiB)"] = (
                run["rss"] / 1024,
                run["rss"] / 1024,
            )
        result["sizes"][size] = {
            "rows": loaded,
            "load_s": load_s,
            "rebuild_s": rebuild_s,
            "counted": sum(counted.figures.cases.values()),
            "reads": figures,
        }
        print(
            f"{backend} {size:,}: loaded {loaded:,} rows in {load_s:.0f} s, rebuilt in {rebuild_s:.0f} s",
            file=sys.stderr,
            flush=True,
        )
        if backend == "sqlite":
            (tmp / f"{name}.db").unlink(missing_ok=True)
    return result


def render(results: dict[str, dict[str, Any]], sizes: list[int]) -> str:
    lines = [f"# HQ reads over a city's history (sizes {', '.join(f'{s:,}' for s in sizes)})", ""]
    for backend, result in results.items():
        lines += [f"## {backend}", "", f"Sample check: {result['sample']}.", ""]
        for size, run in result["sizes"].items():
            lines.append(
                f"- {size:,} cases ({run['rows']:,} rows, {run['counted']:,} counted): bulk load "
                f"{run['load_s']:.0f} s, rebuild-aggregates {run['rebuild_s']:.0f} s"
            )
        head = (
            "| read | " + " | ".join(f"{s:,}: p50 / p95 ms" for s in sizes) + " | largest ÷ smallest (p50) |"
        )
        lines += ["", head, "|---|" + "---:|" * (len(sizes) + 1)]
        base = result["sizes"][sizes[0]]["reads"]
        for label in base:
            cells = []
            for size in sizes:
                p50, p95 = result["sizes"][size]["reads"][label]
                cells.append(
                    f"{p50:.1f}" if "RSS" in label or "export" in label else f"{p50:.1f} / {p95:.1f}"
                )
            last = result["sizes"][sizes[-1]]["reads"][label][0]
            ratio = last / base[label][0] if base[label][0] else float("nan")
            lines.append(f"| {label} | " + " | ".join(cells) + f" | {ratio:.2f}× |")
        lines.append("")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--sizes", default="100000,1000000", help="comma-separated case counts")
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--reps", type=int, default=15)
    parser.add_argument("--pg-dsn", default=os.environ.get("STREETPATROL_TEST_PG_DSN"))
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "dashboard.md")
    parser.add_argument("--export-child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.export_child:
        export_child(args.export_child)
        return
    sizes = sorted(int(s) for s in args.sizes.split(","))
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_TMP")) as tmp:
        if "sqlite" in args.backends:
            results["SQLite (WAL, synchronous=FULL)"] = run_backend(
                "sqlite", sizes, args.reps, Path(tmp), None
            )
        if "postgres" in args.backends:
            with postgres_dsn(args.pg_dsn) as dsn:
                drop_bench_schemas(dsn)
                try:
                    results["PostgreSQL (loopback)"] = run_backend(
                        "postgres", sizes, args.reps, Path(tmp), dsn
                    )
                finally:
                    drop_bench_schemas(dsn)
    table = render(results, sizes)
    print(table)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(table, encoding="utf-8")


if __name__ == "__main__":
    main()
