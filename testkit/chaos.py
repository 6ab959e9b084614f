"""Sync under chaos: a fleet of phones syncs a shift through a faulty network while HQ is restarted twice.

Each simulated phone is the real phone ``Store`` (a tmp SQLite file) + ``PhotoStore`` + ``SyncClient``
whose ``httpx.Client`` goes through ``ChaosProxy`` (bench/chaosproxy.py: seeded drops, delays,
truncations and resets). HQ is ``streetpatrol-hq serve`` in a subprocess on a tmp SQLite file and blob
directory. During the shift every phone records cases (generated JPEG evidence) and syncs every few cases;
when a third of all cases are recorded HQ is stopped (SIGTERM) and started again, at two thirds it is
killed (SIGKILL) and started again. When every phone has recorded its shift the network heals (the proxy
passes everything) and every phone syncs until its outbox and photo queue are empty. Then the sets are
compared (``fleet.tally``): HQ holds every case and photo exactly once, by case id and by SHA-256, with
intact blob files, and every phone shows every case complete with nothing left to send.

The baseline in the same run is the same fleet and shift over a clean link without restarts.

Two nodes (``run_chaos(..., shared=SharedStores(...), nodes=2)``): two ``streetpatrol-hq serve`` processes
on two ports share one PostgreSQL database and one S3 bucket (``--blobs s3://bucket/city``; the bucket is
moto's server on loopback, ``testkit.s3kit``, standing in for the protocol). The proxy sends each
connection to one node drawn at random, so a phone's requests land on either node; the first restart
(SIGTERM) is of node 1, the second (SIGKILL) of node 2, while the other node keeps serving. The tally
counts the photos in the bucket.

Run: ``.venv/bin/python bench/chaos.py`` (one node, then two; about five minutes; the two-node runs use
the PostgreSQL of ``STREETPATROL_TEST_PG_DSN`` or start one with scripts/pg.sh); writes
bench/results/chaos.md. ``tests/reliability/test_chaos.py`` runs smaller shifts with the same code.
"""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make ``testkit`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mobile.hqclient import RetryPolicy, SyncError
from testkit.chaosproxy import CLEAN, FAULT_KINDS, ChaosProxy, FaultRates, ProxyStats
from testkit.fleet import (
    CHEAP_PIN_ENV,
    BlobListing,
    Counters,
    Device,
    HqProcess,
    ScaledSleep,
    Tally,
    fleet_officers,
    seed_hq,
    tally,
)
from testkit.pg import fresh_database
from testkit.s3kit import BucketBlobs, S3Endpoint, moto_endpoint

RESULTS = Path(__file__).resolve().parents[1] / "bench" / "results" / "chaos.md"

#: Per forwarded chunk (a chunk is one recv of at most 64 KiB).
CHAOS_RATES = FaultRates(drop=0.004, delay=0.05, truncate=0.012, reset=0.012)


@dataclass(frozen=True, slots=True)
class ChaosConfig:
    devices: int = 20
    cases: int = 60  # per device
    photos: tuple[int, int] = (3, 3)  # photos per case, drawn uniformly from this range
    photo_bytes: int = 6000
    sync_every: int = 5  # cases recorded between two syncs during the shift
    shift_seconds: float = 40.0  # a phone spreads its cases over this long (jittered pauses)
    rates: FaultRates = CHAOS_RATES
    restarts: tuple[float, ...] = (1 / 3, 2 / 3)  # fractions of all cases recorded when HQ restarts
    seed: int = 20261122
    http_timeout: float = 2.0  # a black-holed request is given up after this long
    sleep_scale: float = 0.01  # the client's backoff runs 100× faster …
    sleep_cap: float = 0.2  # … and never waits longer than this
    heal_deadline: float = 120.0  # seconds for every phone to finish once the network healed


@dataclass(frozen=True, slots=True)
class SharedStores:
    """What HQ nodes share: a PostgreSQL database (a DSN, fresh and empty) and a bucket of an endpoint."""

    database: str
    s3: S3Endpoint
    bucket: str
    prefix: str = "city"


@dataclass
class ChaosResult:
    config: ChaosConfig
    label: str
    wall_seconds: float
    proxy: ProxyStats
    restarts: int
    counters: dict[str, int]
    tally: Tally
    errors: list[str] = field(default_factory=list)
    nodes: int = 1

    @property
    def retries(self) -> int:
        return self.counters.get("retries", 0)


class _Fleet:
    """The phones' threads and the shared progress the conductor watches."""

    def __init__(self, config: ChaosConfig, devices: list[Device], counters: Counters) -> None:
        self.config = config
        self.devices = devices
        self.counters = counters
        self.healed = threading.Event()
        self.recorded = 0
        self.finished_recording = 0
        self.progress = threading.Condition()
        self.errors: list[str] = []

    def _note_recorded(self, finished: bool = False) -> None:
        with self.progress:
            if finished:
                self.finished_recording += 1
            else:
                self.recorded += 1
            self.progress.notify_all()

    def wait_for(self, predicate: Callable[[], bool], timeout: float) -> bool:
        with self.progress:
            return self.progress.wait_for(predicate, timeout)

    def wait_recorded(self, count: int, timeout: float) -> bool:
        return self.wait_for(lambda: self.recorded >= count, timeout)

    def sign_in(self, device: Device) -> None:
        for _ in range(200):
            try:
                device.sign_in()
                self.counters.add("sign_ins")
                return
            except SyncError:
                self.counters.add("sign_in_retries")
                time.sleep(0.05)
        raise RuntimeError(f"{device.officer.badge} could not sign in")

    def sync(self, device: Device) -> bool:
        report = device.sync()
        self.counters.add("syncs")
        if not report.ok:
            self.counters.add("failed_syncs")
        self.counters.add("duplicate_answers", report.duplicates)
        return report.ok

    def run(self, index: int) -> None:
        device = self.devices[index]
        config = self.config
        low, high = config.photos
        try:
            self.sign_in(device)
            pause = config.shift_seconds / config.cases
            for number in range(config.cases):
                time.sleep(pause * device.rng.uniform(0.5, 1.5))
                device.record_case(device.rng.randint(low, high))
                self._note_recorded()
                if (number + 1) % config.sync_every == 0:
                    self.sync(device)
            self._note_recorded(finished=True)
            self.healed.wait()
            deadline = time.monotonic() + config.heal_deadline
            while time.monotonic() < deadline:
                if self.sync(device) and device.done():
                    return
                time.sleep(0.05)
            self.errors.append(f"{device.officer.badge}: not done {config.heal_deadline:.0f} s after healing")
        except Exception as exc:
            self.errors.append(f"{device.officer.badge}: {type(exc).__name__}: {exc}")
            self._note_recorded(finished=True)


def run_chaos(
    config: ChaosConfig,
    root: Path,
    *,
    chaos: bool = True,
    label: str = "",
    shared: SharedStores | None = None,
    nodes: int = 1,
) -> ChaosResult:
    """One run in ``root`` (a fresh directory): the fleet syncs its shift; with ``chaos`` through the
    faulty proxy and with HQ restarts, otherwise over a clean link without restarts. ``nodes`` > 1: that
    many HQ processes over ``shared`` (PostgreSQL and a bucket), the proxy spreading connections."""
    officers = fleet_officers(config.devices)
    hqs: list[HqProcess] = []
    listing: Path | BlobListing
    if shared is None:
        assert nodes == 1, "several nodes share a database and a bucket"
        db = root / "hq" / "hq.db"
        db.parent.mkdir(parents=True)
        storage_url = str(db)
        listing = root / "hq" / "blobs"
        hqs.append(HqProcess(storage_url, listing, root / "hq" / "serve.log", env=CHEAP_PIN_ENV))
    else:
        storage_url = shared.database
        listing = BucketBlobs(shared.s3.client(), shared.bucket, shared.prefix)
        for n in range(nodes):
            spool = root / f"node{n + 1}" / "tmp"  # each node's local upload spool (TMPDIR)
            spool.mkdir(parents=True)
            env = {**CHEAP_PIN_ENV, **shared.s3.env(), "TMPDIR": str(spool)}
            blobs = f"s3://{shared.bucket}/{shared.prefix}"
            log = root / f"node{n + 1}" / "serve.log"
            hqs.append(HqProcess(storage_url, blobs, log, env=env))  # type: ignore[arg-type]
    seed_hq(storage_url, officers)
    for hq in hqs:
        hq.start()
    rates = config.rates if chaos else CLEAN
    proxy = ChaosProxy([hq.port for hq in hqs], rates=rates, seed=config.seed).start()
    counters = Counters()
    sleep = ScaledSleep(counters, config.sleep_scale, config.sleep_cap)
    devices = [
        Device(
            root / "phones" / officer.badge,
            officer,
            proxy.url,
            photo_bytes=config.photo_bytes,
            http_timeout=config.http_timeout,
            sleep=sleep,
            retry=RetryPolicy(),
            seed=f"{config.seed}:{officer.badge}",
        )
        for officer in officers
    ]
    fleet = _Fleet(config, devices, counters)
    threads = [threading.Thread(target=fleet.run, args=(i,), name=f"phone-{i}") for i in range(len(devices))]
    total = config.devices * config.cases
    started = time.perf_counter()
    errors: list[str] = []
    try:
        for thread in threads:
            thread.start()
        if chaos:
            for i, fraction in enumerate(config.restarts):
                threshold = math.ceil(total * fraction)
                fleet.wait_recorded(threshold, timeout=600)
                hqs[i % len(hqs)].restart(signal.SIGTERM if i % 2 == 0 else signal.SIGKILL)
        fleet.wait_for(lambda: fleet.finished_recording == len(devices), timeout=600)
        proxy.heal()
        fleet.healed.set()
        for thread in threads:
            thread.join(config.heal_deadline + 30)
        wall = time.perf_counter() - started
        errors = fleet.errors + [f"{t.name} still running" for t in threads if t.is_alive()]
    finally:
        fleet.healed.set()
        proxy.stop()
        for hq in hqs:
            hq.stop()
    result = ChaosResult(
        config,
        label or ("chaos" if chaos else "clean"),
        wall,
        proxy.stats(),
        sum(hq.restarts for hq in hqs),
        dict(counters.values),
        tally(storage_url, listing, devices),
        errors,
        nodes,
    )
    for device in devices:
        device.close()
    return result


# ------------------------------------------------------------------------------------------ report


def table(results: list[ChaosResult]) -> str:
    config = results[0].config
    lines = [
        f"# Sync under chaos: {config.devices} phones × {config.cases} cases, HQ restarted mid-run",
        "",
        "| run | HQ | devices | cases | photos | faults: " + " / ".join(FAULT_KINDS) + " | refused while HQ "
        "down | HQ restarts | retries | failed syncs | duplicates | missing | phones not empty | wall s |",
        "|---|---|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        t = r.tally
        faults = " / ".join(str(r.proxy.faults[k]) for k in FAULT_KINDS)
        left = t.outbox_left + t.parked + t.photos_left + t.not_complete
        where = "1 node, SQLite" if r.nodes == 1 else f"{r.nodes} nodes, PostgreSQL + S3"
        lines.append(
            f"| {r.label} | {where} | {config.devices} | {t.cases} | {t.photos} | {faults} | "
            f"{r.proxy.upstream_down} | "
            f"{r.restarts} | {r.retries} | {r.counters.get('failed_syncs', 0)} | "
            f"{t.duplicate_cases + t.duplicate_photos} | {t.missing_cases + t.missing_photos} | {left} | "
            f"{r.wall_seconds:.1f} |"
        )
    rates = config.rates
    low, high = config.photos
    photos_text = str(low) if low == high else f"{low}–{high}"
    chaos = next((r for r in results if r.label == "chaos"), results[-1])
    lines += [
        "",
        f"Fault rates per forwarded chunk (≤ 64 KiB): drop {rates.drop:.1%}, delay {rates.delay:.1%} "
        f"({rates.min_delay * 1000:.0f}–{rates.max_delay * 1000:.0f} ms), truncate {rates.truncate:.1%}, "
        f"reset {rates.reset:.1%}; seed {config.seed}. HQ: `streetpatrol-hq serve` subprocess on SQLite, "
        "stopped with SIGTERM after a third of the cases were recorded and killed with SIGKILL after two "
        "thirds, each time started again on the same files and port. Two nodes: two `serve` processes on "
        "two ports sharing one PostgreSQL database (scripts/pg.sh, fsync off) and one S3 bucket (moto's "
        "server on loopback, standing in for the protocol), the proxy sending each connection to either "
        "node at random; node 1 stopped (SIGTERM) at a third, node 2 killed (SIGKILL) at two thirds, the "
        "other node serving meanwhile. Phones record "
        f"{photos_text} generated JPEGs (~{config.photo_bytes // 1000} KB) per case "
        f"and sync every {config.sync_every} cases; the client's backoff sleeps are scaled by "
        f"{config.sleep_scale} (capped at {config.sleep_cap} s); a request is given up after "
        f"{config.http_timeout} s. After the last case the proxy heals and every phone syncs until its "
        "outbox and photo queue are empty.",
        "",
        "duplicates: extra case rows, case numbers or exactly-once receipts for one recorded case, plus "
        "blob files beyond one per recorded SHA-256. missing: recorded cases or photos HQ does not hold "
        "(a photo counts only with its row stored and a blob file that hashes to its name). phones not "
        "empty: outbox records, parked records, photos waiting and cases not shown complete, summed over "
        f"the phones. Spooled uploads left in HQ's blob temp dir after the kill (two nodes: cut-off uploads "
        f"left in the bucket): {', '.join(f'{r.label} {r.tally.temp_files}' for r in results)}. "
        f"Answers HQ gave as duplicates (replays after lost answers): "
        f"{chaos.counters.get('duplicate_answers', 0)}.",
    ]
    for r in results:
        if r.nodes > 1:
            split = " / ".join(str(n) for n in r.proxy.per_upstream)
            lines.append(f"Connections per node, {r.label}: {split}.")
    return "\n".join(lines) + "\n"


@contextmanager
def postgres_server() -> Iterator[str]:
    """The DSN of ``STREETPATROL_TEST_PG_DSN``'s server, or of one scripts/pg.sh starts (and stops)."""
    dsn = os.environ.get("STREETPATROL_TEST_PG_DSN", "")
    if dsn:
        yield dsn
        return
    script = Path(__file__).resolve().parents[1] / "scripts" / "pg.sh"
    directory, dsn = subprocess.run(
        ["bash", str(script)], check=True, capture_output=True, text=True
    ).stdout.split()
    try:
        yield dsn
    finally:
        subprocess.run(["bash", str(script), "stop", directory], check=False)


def main() -> int:
    config = ChaosConfig()
    results = []
    for chaos in (False, True):
        with tempfile.TemporaryDirectory(prefix="streetpatrol-chaos-") as tmp:
            results.append(run_chaos(config, Path(tmp), chaos=chaos))
    with postgres_server() as server, moto_endpoint() as s3:
        for chaos in (False, True):
            label = ("chaos" if chaos else "clean") + ", 2 nodes"
            with (
                fresh_database(server, "chaos") as database,
                tempfile.TemporaryDirectory(prefix="streetpatrol-chaos-") as tmp,
            ):
                shared = SharedStores(database, s3, s3.new_bucket())
                results.append(run_chaos(config, Path(tmp), chaos=chaos, label=label, shared=shared, nodes=2))
    text = table(results)
    print(text)
    failed = False
    for r in results:
        for line in r.errors + r.tally.notes:
            print(f"[{r.label}] {line}", file=sys.stderr)
        failed = failed or not r.tally.ok or bool(r.errors)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(text, encoding="utf-8")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
