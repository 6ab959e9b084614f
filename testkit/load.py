"""Load: how many phones can sync at once before HQ's answers slow down, on SQLite and on PostgreSQL.

HQ is ``streetpatrol-hq serve`` in a subprocess (one uvicorn process unless ``--workers``) over
a fresh SQLite file or a fresh PostgreSQL (``scripts/pg.sh``), blobs on the local file system. Simulated
phones speak the real protocol with asyncio ``httpx`` clients: each *round* of a phone is one shift slice
— one ``POST /v1/push`` of ``cases_per_round`` new cases, a ``PUT /v1/photos/<sha256>`` of each photo HQ
lists as missing (generated ~300 KB JPEGs, each unique), then ``GET /v1/changes`` until HQ has no more.

Sign-in is not part of the timed steps: argon2id is deliberately slow, so every phone signs in before
(officers seeded with test-cost argon2, the server started with that cost); the production cost is
measured separately: officers whose PINs were hashed at the production cost sign in all at once (as at
a shift start), last, with HQ's peak memory read before and after.

The offered load steps up (``concurrency`` phones at once, each running rounds back to back until the
step's window closes, at most ``max_rounds``): per step the table gives cases/s and photos/s (completed /
elapsed, the drain after the window included), p50/p99 latency of every request, errors, HQ's CPU
(% of one core), PostgreSQL's CPU, this load generator's CPU and HQ's resident memory. The *sustained*
figure is the best step whose p99 stays ≤ 1 s. The lowest step is the baseline of the same run.

Run: ``.venv/bin/python bench/load.py`` (both backends, about four minutes; ``--backend sqlite`` for one);
writes bench/results/load.md. ``--workers 1,2`` runs each backend once per worker count (``serve --workers``;
``--pool-size`` for PostgreSQL), each fresh, one after the other in the same run, and writes
bench/results/load-workers.md (HQ CPU and memory are then summed over HQ's processes).
``tests/reliability/test_load.py`` runs a 20-phone smoke with this code. The figures of a run and the
Markdown report made of them are in ``testkit/load_report.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import os
import resource
import shutil
import signal
import sqlite3
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

if __package__ in (None, ""):  # run as a script: make ``testkit`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from enforcement.codec import to_json_dict
from enforcement.model import (
    LOCAL_TZ,
    PhotoKind,
    PhotoRef,
    local_date,
)
from enforcement.numbering import format_case_no
from hq.settings import PinHashing
from hq.storage import Storage, is_postgres, open_storage
from hq.storage.sqlite import SqliteStorage
from sync.protocol import PROTOCOL_VERSION, PhotoUploadResult, PullPage, PushResponse
from testkit.fleet import (
    CHEAP_PIN_ENV,
    HqProcess,
    fleet_officers,
    night_market_case,
    noise_jpeg,
    pin_for,
    proc_cpu_seconds,
    processes_named,
    seed_hq,
    tagged_jpeg,
)
from testkit.load_report import (
    LoadConfig,
    LoadResult,
    Phone,
    SignInFigures,
    Step,
    header,
    probe_table,
    table,
)

REPO = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).resolve().parents[1] / "bench" / "results" / "load.md"
# ------------------------------------------------------------------------------------------ one phone


class Generator:
    """Makes each phone's cases and their unique photos (one noise JPEG, tagged per photo)."""

    def __init__(self, config: LoadConfig) -> None:
        self.config = config
        self.base, self.width, self.height = noise_jpeg("load", config.photo_bytes)
        self.start = datetime.now(LOCAL_TZ).replace(microsecond=0) - timedelta(hours=8)

    def round(self, phone: Phone) -> tuple[dict[str, Any], dict[str, bytes]]:
        """A push body of ``cases_per_round`` new cases and the bytes of their photos by hash."""
        records, blobs = [], {}
        officer = phone.officer
        for _ in range(self.config.cases_per_round):
            phone.seq += 1
            refs = []
            for i in range(self.config.photos_per_case):
                data = tagged_jpeg(self.base, f"{phone.device_id}/{phone.seq}/{i}")
                sha = hashlib.sha256(data).hexdigest()
                blobs[sha] = data
                refs.append(PhotoRef(sha, len(data), PhotoKind.DURING, self.width, self.height))
            occurred = self.start + timedelta(seconds=phone.seq)
            case_no = format_case_no(
                officer.squad_code, officer.badge, local_date(occurred), phone.install_tag, phone.seq
            )
            case = night_market_case(officer, phone.device_id, case_no, occurred, tuple(refs))
            records.append(
                {"kind": "case", "id": case.id, "device_seq": phone.seq, "payload": to_json_dict(case)}
            )
        body = {"protocol": PROTOCOL_VERSION, "device_id": phone.device_id, "records": records}
        return body, blobs


async def _timed(step: Step, kind: str, request: Any) -> httpx.Response | None:
    """Await ``request``; its latency goes to ``step`` when it answers 2xx, otherwise an error is counted."""
    started = time.perf_counter()
    try:
        response: httpx.Response = await request
    except httpx.TimeoutException:
        step.errors[f"{kind}: timeout"] += 1
        return None
    except httpx.TransportError as exc:
        step.errors[f"{kind}: {type(exc).__name__}"] += 1
        return None
    if response.status_code >= 300:
        errno = ""
        with contextlib.suppress(ValueError):
            errno = f" errno {response.json().get('errno')}"
        step.errors[f"{kind}: HTTP {response.status_code}{errno}"] += 1
        return None
    step.latencies[kind].append(time.perf_counter() - started)
    return response


async def sync_round(http: httpx.AsyncClient, phone: Phone, generator: Generator, step: Step) -> None:
    """Push a shift slice, upload the photos HQ lacks, pull until HQ has no more changes."""
    body, blobs = generator.round(phone)
    response = await _timed(step, "push", http.post("/v1/push", json=body, headers=phone.headers()))
    if response is None:
        return
    missing: list[str] = []
    for result in PushResponse.model_validate_json(response.content).results:
        if result.acked:
            phone.cases.append(result.id)
            step.cases += 1
            missing += [sha for sha in result.missing_photos if sha in blobs]
        else:
            step.errors[f"push: record {result.status} errno {result.errno}"] += 1
    for sha in missing:
        headers = phone.headers() | {"Content-Type": "application/octet-stream"}
        response = await _timed(
            step, "photo", http.put(f"/v1/photos/{sha}", content=blobs[sha], headers=headers)
        )
        if response is None:
            continue
        answer = PhotoUploadResult.model_validate_json(response.content)
        if answer.stored or answer.already_had:
            phone.photos.add(sha)
            step.photos += 1
    for _ in range(20):
        params = {"cursor": phone.cursor} if phone.cursor else {}
        response = await _timed(step, "pull", http.get("/v1/changes", params=params, headers=phone.headers()))
        if response is None:
            return
        page = PullPage.model_validate_json(response.content)
        phone.cursor = page.cursor
        if not page.more:
            break
    step.rounds += 1


# ------------------------------------------------------------------------------------------ steps


#: One TLS context for every client: none of them uses TLS, but httpx builds one per client otherwise
#: (milliseconds each, times a thousand phones).
_TLS = ssl.create_default_context()


def _client(base_url: str, timeout: float) -> httpx.AsyncClient:
    """One phone's client: its own single connection, as on a real phone. (One shared client with a
    pool of a thousand connections spends most of its time in httpcore's pool bookkeeping, which grows
    with the pool: the load generator, not HQ, would then be measured.) Idle connections are dropped
    after 2 s, before uvicorn's 5 s keep-alive timeout can close one under a new request."""
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1, keepalive_expiry=2.0)
    return httpx.AsyncClient(base_url=base_url, limits=limits, timeout=timeout, verify=_TLS)


async def sign_in_all(base_url: str, phones: list[Phone], concurrency: int, label: str) -> SignInFigures:
    """Sign every phone in (``concurrency`` at a time); keeps their tokens."""
    latencies: list[float] = []
    errors = 0
    queue = list(reversed(phones))

    async def worker(http: httpx.AsyncClient) -> None:
        nonlocal errors
        while queue:
            phone = queue.pop()
            body = {
                "protocol": PROTOCOL_VERSION,
                "badge": phone.officer.badge,
                "pin": pin_for(phone.officer.badge),
                "device_id": phone.device_id,
            }
            started = time.perf_counter()
            try:
                response = await http.post("/v1/auth/sign-in", json=body)
            except httpx.TransportError:
                errors += 1
                continue
            if response.status_code != 200:
                errors += 1
                continue
            latencies.append(time.perf_counter() - started)
            phone.token = response.json()["token"]

    async def client_worker() -> None:
        async with _client(base_url, 300.0) as http:
            await worker(http)

    started = time.perf_counter()
    await asyncio.gather(*(client_worker() for _ in range(min(concurrency, len(phones)))))
    return SignInFigures(label, len(latencies), time.perf_counter() - started, latencies, errors)


# Where HQ's request threads spend their time, from py-spy samples (``--idle``: waiting counts too). The
# first rule whose marker is in a sample's stack names its state.
THREAD_STATES: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "db connection wait",
        ("SqliteStorage._acquire", "WaitingClient.wait (psycopg_pool", "ConnectionPool.getconn"),
    ),
    ("PG commit-step lock", ("lock_commit_step", "lock_keys")),
    ("SQL", ("SqliteDialect.execute", "PostgresDialect.execute", "(psycopg/", "(psycopg_pool/")),
    ("blob files", ("(hq/blobs/store.py", "_Spool.")),
)
SQLITE_BEGIN_COMMIT = "SQLite BEGIN/COMMIT"  # leaf in SqliteStorage.transaction: the write lock or the fsync


def py_spy() -> str | None:
    """The py-spy sampler of this environment, if installed (a dev tool: the bench works without it)."""
    local = Path(sys.executable).with_name("py-spy")
    return str(local) if local.exists() else shutil.which("py-spy")


def classify(stack: list[str]) -> str | None:
    """The state of one sample of one HQ thread; None for threads that are not request threads."""
    text = ";".join(stack)
    if "WorkerThread.run" not in text:  # not one of anyio's request threads (the loop, pool workers)
        return None
    if stack[-1].startswith("SqliteStorage.transaction"):
        return SQLITE_BEGIN_COMMIT
    for state, markers in THREAD_STATES:
        if any(marker in text for marker in markers):
            return state
    if "(hq/" not in text and "(fastapi/" not in text and "(starlette/" not in text:
        return "idle"
    return "Python"


def thread_states(raw: Path) -> Counter[str]:
    """Samples per state from a ``py-spy record -f raw`` file."""
    states: Counter[str] = Counter()
    for line in raw.read_text(encoding="utf-8").splitlines():
        stack, _, count = line.rpartition(" ")
        state = classify(stack.split(";"))
        if state is not None:
            states[state] += int(count)
    return states


def postgres_cpu_seconds(data_dir: Path) -> float:
    """CPU seconds of the PostgreSQL server in ``data_dir``: its postmaster and the processes it forked
    (backends that already exited are not counted)."""
    postmaster = int((data_dir / "postmaster.pid").read_text(encoding="utf-8").split()[0])
    total = 0.0
    for pid in processes_named("postgres"):
        try:
            stat = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8")
            parent = int(stat[stat.rindex(")") + 2 :].split()[1])
            if pid == postmaster or parent == postmaster:
                total += proc_cpu_seconds(pid)
        except (OSError, ValueError):
            continue
    return total


def _own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def run_step(
    hq: HqProcess,
    phones: list[Phone],
    generator: Generator,
    config: LoadConfig,
    concurrency: int,
    pg_data: Path | None = None,
) -> Step:
    """``concurrency`` phones run rounds back to back until the window closes (or ``max_rounds``); rounds
    still running ``drain_seconds`` after the window are cancelled and counted as errors."""
    step = Step(concurrency)

    def pg_cpu() -> float:
        return postgres_cpu_seconds(pg_data) if pg_data else 0.0

    sampler, raw = None, Path(tempfile.mkstemp(prefix="hq-threads-", suffix=".txt")[1])
    if config.profile and (spy := py_spy()) is not None:  # samples until interrupted at the step's end
        sampler = subprocess.Popen(
            [spy, "record", "--idle", "-r", "20", "-f", "raw", "-o", str(raw), "-p", str(hq.pid)]
            + (["--subprocesses"] if config.workers > 1 else []),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    cpu0, pg0, own0 = hq.cpu_seconds(), pg_cpu(), _own_cpu()
    started = time.perf_counter()
    deadline = started + config.step_seconds

    async def phone_loop(phone: Phone) -> None:
        async with _client(hq.url, config.timeout) as http:
            for _ in range(config.max_rounds):
                if time.perf_counter() >= deadline:
                    return
                await sync_round(http, phone, generator, step)

    tasks = [asyncio.create_task(phone_loop(phone)) for phone in phones[:concurrency]]
    _, pending = await asyncio.wait(tasks, timeout=config.step_seconds + config.drain_seconds)
    for task in pending:
        task.cancel()
    if pending:
        await asyncio.wait(pending)
        step.errors["round cut off at the drain cap"] += len(pending)
    step.seconds = time.perf_counter() - started
    step.hq_cpu = hq.cpu_seconds() - cpu0
    step.pg_cpu = pg_cpu() - pg0
    step.client_cpu = _own_cpu() - own0
    step.hq_rss_kib = hq.memory_kib("VmRSS")
    if sampler is not None:
        sampler.send_signal(signal.SIGINT)  # py-spy writes its samples when interrupted
        sampler.wait(60)
        step.thread_states = thread_states(raw)
    raw.unlink(missing_ok=True)
    return step


async def _run(
    config: LoadConfig, hq: HqProcess, phones: list[Phone], slow: list[Phone], pg_data: Path | None
) -> LoadResult:
    sign_in = await sign_in_all(hq.url, phones, config.sign_in_concurrency, "test-cost argon2id")
    generator = Generator(config)
    steps = [await run_step(hq, phones, generator, config, c, pg_data) for c in config.steps]
    peak = hq.memory_kib("VmHWM")
    production = None
    if slow:  # last: its argon2 memory (64 MiB per sign-in) would otherwise set the peak
        production = await sign_in_all(hq.url, slow, len(slow), "production argon2id, all at once")
    return LoadResult(config, steps, sign_in, production, peak, hq.memory_kib("VmHWM"), phones, "", Path())


def run_load(
    config: LoadConfig, root: Path, storage_url: str | None = None, pg_data: Path | None = None
) -> LoadResult:
    """Seed HQ (SQLite in ``root`` unless ``storage_url``; ``pg_data``: that PostgreSQL's data directory,
    for its CPU), serve it, sign the phones in, run the steps."""
    officers = fleet_officers(max(config.steps))
    slow_officers = fleet_officers(config.production_sign_ins, first=9001 - config.production_sign_ins)
    storage_url = storage_url or str(root / "hq.db")
    seed_hq(storage_url, officers)
    if slow_officers:
        seed_hq(storage_url, slow_officers, PinHashing())
    load_average = os.getloadavg()[0]
    serve_args = ["--workers", str(config.workers)] if config.workers > 1 else []
    if config.pool_size is not None:
        serve_args += ["--pool-size", str(config.pool_size)]
    hq = HqProcess(
        storage_url, root / "blobs", root / "serve.log", env=CHEAP_PIN_ENV, serve_args=serve_args
    ).start()
    try:
        result = asyncio.run(
            _run(config, hq, [Phone(o) for o in officers], [Phone(o) for o in slow_officers], pg_data)
        )
    finally:
        hq.stop()
    result.storage_url, result.blobs, result.load_average = storage_url, root / "blobs", load_average
    result.load_average_end = os.getloadavg()[0]
    return result


def _probe(path: Path, count: int, seconds: float) -> tuple[int, float, float, float]:
    storage = SqliteStorage(path)
    storage.create_schema()
    latencies: list[float] = []
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def work(worker: int) -> None:
        n = 0
        while time.monotonic() < stop:
            started = time.perf_counter()
            with storage.transaction() as tx:
                tx.touch_device(f"probe-{worker}-{n}", "7001", datetime.now(UTC))
            with lock:
                latencies.append(time.perf_counter() - started)
            n += 1

    workers = [threading.Thread(target=work, args=(i,)) for i in range(count)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    storage.close()
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))]
    return count, len(latencies) / seconds, p99, latencies[-1]


def sqlite_writer_probe(
    root: Path, threads: tuple[int, ...] = (1, 8, 40), seconds: float = 2.0
) -> list[tuple[int, float, float, float]]:
    """HQ's ``SqliteStorage`` alone, no HTTP: ``n`` threads each committing small write transactions
    (``touch_device``) back to back for ``seconds``. Returns (threads, commits/s, p99 s, max s) per ``n``:
    how the write lock behaves when HQ's thread pool writes concurrently (8 pooled connections)."""
    return [_probe(root / f"probe-{n}.db", n, seconds) for n in threads]


# ------------------------------------------------------------------------------------------ checks


def _counting_storage(url: str, scratch: Path) -> Storage:
    """HQ's database to count in. A SQLite file is read through a copy migrated to this build's schema, so
    an older build's database (``--baseline-ref``) is counted by this code without being changed under a
    server that may still be running; PostgreSQL is read as it is."""
    if is_postgres(url):
        return open_storage(url, create=False)
    copy = scratch / "count.db"
    source = sqlite3.connect(url.removeprefix("sqlite:///"))
    target = sqlite3.connect(copy)
    try:
        source.backup(target)
    finally:
        source.close()
        target.close()
    return open_storage(str(copy), create=True)


def count_at_hq(result: LoadResult) -> dict[str, int]:
    """What HQ holds of what the phones were told was stored: by case id and by SHA-256."""
    cases = {c for p in result.phones for c in p.cases}
    photos = {s for p in result.phones for s in p.photos}
    with tempfile.TemporaryDirectory() as scratch:
        storage = _counting_storage(result.storage_url, Path(scratch))
        try:
            with storage.transaction(readonly=True) as tx:
                states = tx.list_cases(latest_only=False, limit=10**7)
                stored = {sha for sha in photos if (row := tx.get_photo(sha)) is not None and row.stored}
        finally:
            storage.close()
    ids = Counter(s.case_id for s in states)
    kept_aside = ("tmp", "partial")  # spools and cut-off uploads, not blobs
    files = {p.name for p in result.blobs.rglob("*") if p.is_file() and p.parent.name not in kept_aside}
    return {
        "cases_acked": len(cases),
        "cases_at_hq": len(ids),
        "case_rows": sum(ids.values()),
        "acked_missing": len(cases - set(ids)),
        "photos_acked": len(photos),
        "photo_rows_stored": len(stored),
        "blob_files": len(files),
        "photos_without_file": len(photos - files),
    }


# ------------------------------------------------------------------------------------------ main


def start_postgres() -> tuple[str, str]:
    """(directory, DSN) of a fresh PostgreSQL from scripts/pg.sh."""
    out = subprocess.run(
        ["bash", str(REPO / "scripts" / "pg.sh")], check=True, capture_output=True, text=True
    ).stdout.split()
    return out[0], out[1]


def stop_postgres(directory: str) -> None:
    subprocess.run(["bash", str(REPO / "scripts" / "pg.sh"), "stop", directory], check=False)


def build_parser() -> argparse.ArgumentParser:
    """bench/load.py's options (``testkit.load_compare`` adds none of its own: they are all here)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--steps", help="comma-separated concurrencies (default 10,50,100,200,500,1000)")
    parser.add_argument("--seconds", type=float, help="window per step")
    parser.add_argument("--max-rounds", type=int, help="rounds per phone per step at most (default 20)")
    parser.add_argument(
        "--sign-in-concurrency", type=int, help="sign-ins at once before the steps (default 10)"
    )
    parser.add_argument("--workers", default="1", help="comma-separated `serve --workers` counts, e.g. 1,2")
    parser.add_argument("--pool-size", type=int, help="`serve --pool-size` (PostgreSQL, per worker)")
    parser.add_argument(
        "--baseline-ref",
        help="run this git ref's build beside this one, the steps alternating (a temporary worktree "
        "outside the repository; testkit/load_compare.py)",
    )
    parser.add_argument("--baseline", type=Path, help="as --baseline-ref, with a checkout already on disk")
    parser.add_argument("--repeat", type=int, default=2, help="with a baseline: runs of each step per build")
    parser.add_argument(
        "--out", type=Path, help="results file (default load.md; load-workers.md with --workers)"
    )
    return parser


def base_config(args: argparse.Namespace) -> LoadConfig:
    base = LoadConfig()
    if args.steps:
        base = replace(base, steps=tuple(int(x) for x in args.steps.split(",")))
    if args.seconds:
        base = replace(base, step_seconds=args.seconds)
    if args.max_rounds:
        base = replace(base, max_rounds=args.max_rounds)
    if args.sign_in_concurrency:
        base = replace(base, sign_in_concurrency=args.sign_in_concurrency)
    return base


def check_note(result: LoadResult) -> str:
    """The exactly-once check of a run, as the line under its table."""
    counts = count_at_hq(result)
    return (
        f"Check: {counts['cases_acked']} cases acknowledged, {counts['cases_at_hq']} case rows "
        f"at HQ ({counts['acked_missing']} acknowledged but absent); {counts['photos_acked']} "
        f"photos acknowledged, {counts['photo_rows_stored']} stored rows, "
        f"{counts['photos_without_file']} without a blob file."
    )


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    worker_counts = [int(x) for x in args.workers.split(",")]
    out = args.out or (RESULTS if worker_counts == [1] else RESULTS.with_name("load-workers.md"))
    base = base_config(args)
    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    parts = [header(base)]
    started = time.perf_counter()
    for backend, workers in [(b, w) for b in backends for w in worker_counts]:
        pool = args.pool_size if backend == "postgres" else None
        config = replace(base, backend=backend, workers=workers, pool_size=pool)
        with tempfile.TemporaryDirectory(prefix=f"streetpatrol-load-{backend}-") as tmp:
            pg_dir = None
            try:
                url = None
                if backend == "postgres":
                    pg_dir, url = start_postgres()
                result = run_load(config, Path(tmp), url, Path(pg_dir) / "data" if pg_dir else None)
                result.notes.append(check_note(result))
            finally:
                if pg_dir:
                    stop_postgres(pg_dir)
            if backend == "sqlite" and workers == worker_counts[0]:
                result.notes.append("\n" + probe_table(sqlite_writer_probe(Path(tmp))))
        text = table(result)
        print(text, flush=True)
        parts.append(text)
    parts.append(f"Whole run: {time.perf_counter() - started:.0f} s.\n")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(parts), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
