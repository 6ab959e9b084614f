"""The figures of a load run (``testkit.load``) and their Markdown report: the configuration, each phone's
state, each step's counts and latencies, the sign-in figures, and the tables written to bench/results/.
"""

from __future__ import annotations

import os
import statistics
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from enforcement.model import Officer
from enforcement.numbering import make_install_tag
from sync.protocol import PROTOCOL_HEADER, PROTOCOL_VERSION

P99_LIMIT = 1.0  # seconds


@dataclass(frozen=True, slots=True)
class LoadConfig:
    backend: str = "sqlite"  # "sqlite" | "postgres"
    steps: tuple[int, ...] = (10, 50, 100, 200, 500, 1000)
    step_seconds: float = 5.0  # rounds start only within this window
    max_rounds: int = 20  # per phone per step
    cases_per_round: int = 2
    photos_per_case: int = 1
    photo_bytes: int = 300_000
    drain_seconds: float = 25.0  # after the window, rounds still running get this long, then are cut off
    timeout: float = 120.0  # per request
    # below HQ's free failures per client address (20): every simulated phone signs in from 127.0.0.1, and
    # each attempt counts against the address until its PIN checks out
    sign_in_concurrency: int = 10
    production_sign_ins: int = 20  # officers with production-cost PINs, signing in all at once (0: skip)
    profile: bool = True  # sample HQ's threads with py-spy during each step (when py-spy is installed)
    workers: int = 1  # ``serve --workers``
    pool_size: int | None = None  # ``serve --pool-size`` (PostgreSQL connections per worker)


@dataclass
class Phone:
    """A simulated phone: its officer, device id, install tag, token and sync state."""

    officer: Officer
    device_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    install_tag: str = field(default_factory=make_install_tag)
    token: str = ""
    seq: int = 0
    cursor: str | None = None
    cases: list[str] = field(default_factory=list)  # ids HQ acknowledged
    photos: set[str] = field(default_factory=set)  # hashes HQ stored (or already had)

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", PROTOCOL_HEADER: str(PROTOCOL_VERSION)}


@dataclass
class Step:
    concurrency: int
    seconds: float = 0.0
    rounds: int = 0
    cases: int = 0
    photos: int = 0
    latencies: dict[str, list[float]] = field(default_factory=lambda: {"push": [], "photo": [], "pull": []})
    errors: Counter[str] = field(default_factory=Counter)
    hq_cpu: float = 0.0  # seconds
    pg_cpu: float = 0.0
    client_cpu: float = 0.0
    hq_rss_kib: int = 0
    thread_states: Counter[str] = field(default_factory=Counter)  # py-spy samples of HQ's request threads

    def states_text(self) -> str:
        total = sum(self.thread_states.values())
        if not total:
            return "–"
        return " · ".join(f"{name} {n / total:.0%}" for name, n in self.thread_states.most_common(4))

    @property
    def all_latencies(self) -> list[float]:
        return [x for values in self.latencies.values() for x in values]

    def percentile(self, q: float, kind: str | None = None) -> float:
        values = sorted(self.latencies[kind] if kind else self.all_latencies)
        if not values:
            return float("nan")
        return values[min(len(values) - 1, int(q * len(values)))]

    @property
    def cases_per_s(self) -> float:
        return self.cases / self.seconds if self.seconds else 0.0

    @property
    def photos_per_s(self) -> float:
        return self.photos / self.seconds if self.seconds else 0.0

    @property
    def sustained(self) -> bool:
        return not self.errors and self.percentile(0.99) <= P99_LIMIT


@dataclass
class SignInFigures:
    label: str
    count: int
    seconds: float
    latencies: list[float]
    errors: int

    @property
    def per_s(self) -> float:
        return self.count / self.seconds if self.seconds else 0.0


@dataclass
class LoadResult:
    config: LoadConfig
    steps: list[Step]
    sign_in: SignInFigures
    production_sign_in: SignInFigures | None
    hq_peak_rss_kib: int  # through sign-in and the steps
    hq_peak_rss_after_production_kib: int  # after the production-cost sign-ins too
    phones: list[Phone]
    storage_url: str
    blobs: Path
    load_average: float = 0.0  # 1-minute load average of the machine before HQ started
    load_average_end: float = 0.0  # … and after the steps
    notes: list[str] = field(default_factory=list)

    def best_sustained(self) -> Step | None:
        good = [s for s in self.steps if s.sustained]
        return max(good, key=lambda s: s.cases_per_s) if good else None


def probe_table(rows: list[tuple[int, float, float, float]]) -> str:
    lines = [
        "SQLite write lock, no HTTP (HQ's `SqliteStorage`, threads committing one small write each, back to "
        "back):",
        "",
        "| writer threads | commits/s | p99 ms | max ms |",
        "|---:|---:|---:|---:|",
    ]
    lines += [f"| {n} | {rate:.0f} | {_ms(p99)} | {_ms(worst)} |" for n, rate, p99, worst in rows]
    return "\n".join(lines) + "\n"


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f}"


def _limit(step: Step, config: LoadConfig) -> str:
    """What the figures of a step point at (derived from them, not assumed)."""
    hq_core = step.hq_cpu / step.seconds
    signs = [f"HQ CPU {hq_core:.0%} of a core"]
    if config.backend == "postgres":
        signs.append(f"PostgreSQL CPU {step.pg_cpu / step.seconds:.0%}")
    busy = sum(n for key, n in step.errors.items() if "503" in key)
    if busy:
        signs.append(f"{busy}× 503 busy")
    total = sum(step.thread_states.values())
    waits = [(n, name) for name, n in step.thread_states.items() if name not in ("idle", "Python")]
    if total and waits:
        count, name = max(waits)
        signs.append(
            f"HQ's request threads spend most of their non-idle time in **{name}** ({count / total:.0%})"
        )
    return "; ".join(signs)


def table(result: LoadResult) -> str:
    config = result.config
    lines = [
        f"## {config.backend}"
        + (f", {config.workers} worker processes" if config.workers > 1 else "")
        + (f", pool {config.pool_size} per worker" if config.pool_size else ""),
        "",
        "| phones at once | rounds | cases | photos | cases/s | photos/s | p50 ms | p99 ms "
        "| p99 push / photo / pull ms | errors | HQ CPU | PG CPU | load gen CPU | HQ RSS MiB "
        "| HQ request threads (py-spy) | vs first |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---|---|---:|---:|---:|---:|---|---:|",
    ]
    base = result.steps[0]
    for s in result.steps:
        errors = ", ".join(f"{k} ×{n}" for k, n in s.errors.most_common(3)) or "0"
        kinds = " / ".join(_ms(s.percentile(0.99, k)) for k in ("push", "photo", "pull"))
        pg = f"{s.pg_cpu / s.seconds:.0%}" if config.backend == "postgres" else "–"
        ratio = s.cases_per_s / base.cases_per_s if base.cases_per_s else 0.0
        lines.append(
            f"| {s.concurrency} | {s.rounds} | {s.cases} | {s.photos} | {s.cases_per_s:.1f} | "
            f"{s.photos_per_s:.1f} | {_ms(s.percentile(0.5))} | {_ms(s.percentile(0.99))} | {kinds} | "
            f"{errors} | {s.hq_cpu / s.seconds:.0%} | {pg} | {s.client_cpu / s.seconds:.0%} | "
            f"{s.hq_rss_kib / 1024:.0f} | {s.states_text()} | {ratio:.2f}× |"
        )
    best = result.best_sustained()
    first_bad = next((s for s in result.steps if not s.sustained), None)
    lines.append("")
    if best is not None:
        lines.append(
            f"Highest sustained load with p99 ≤ {P99_LIMIT:.0f} s and no errors: **{best.cases_per_s:.1f} "
            f"cases/s and {best.photos_per_s:.1f} photos/s** ({best.concurrency} phones at once)."
        )
    else:
        lines.append(f"No step kept p99 ≤ {P99_LIMIT:.0f} s without errors.")
    if first_bad is not None:
        lines.append(
            f"First step past the limit: {first_bad.concurrency} phones (p99 "
            f"{_ms(first_bad.percentile(0.99))} ms) — {_limit(first_bad, config)}."
        )
    lines.append(
        f"HQ peak resident memory (VmHWM): {result.hq_peak_rss_kib / 1024:.0f} MiB through the steps, "
        f"{result.hq_peak_rss_after_production_kib / 1024:.0f} MiB after the production-cost sign-ins. "
        f"Machine 1-min load average before / after the run: {result.load_average:.1f} / "
        f"{result.load_average_end:.1f} (2 cores, shared with other jobs)."
    )
    for figures in (result.sign_in, result.production_sign_in):
        if figures is None:
            continue
        p50 = statistics.median(figures.latencies) if figures.latencies else float("nan")
        lines.append(
            f"Sign-in ({figures.label}): {figures.count} phones in {figures.seconds:.1f} s = "
            f"{figures.per_s:.1f}/s, p50 {_ms(p50)} ms, errors {figures.errors}."
        )
    lines += result.notes
    return "\n".join(lines) + "\n"


def header(config: LoadConfig) -> str:
    return "\n".join(
        [
            "# Load: phones syncing at once against one HQ",
            "",
            f"Each phone round: one push of {config.cases_per_round} new cases, the upload of their "
            f"{config.cases_per_round * config.photos_per_case} photos (generated JPEG, "
            f"~{config.photo_bytes // 1000} KB each, every one unique), pulls until HQ has no more. Rounds "
            f"run back to back for a {config.step_seconds:.0f} s window per step (at most "
            f"{config.max_rounds} per phone); rates are what completed divided by the step's whole time, "
            "drain included. Latency: "
            "every request of the step. HQ: `streetpatrol-hq serve` (one uvicorn process unless a section "
            "says how many worker processes), blobs on local disk with fsync. SQLite: WAL, "
            "synchronous=FULL, HQ's pool of 8 connections. "
            "PostgreSQL: `scripts/pg.sh` (runs with fsync=off), HQ's pool of 10 connections. Phones signed "
            "in before the timed steps (test-cost argon2id); the production cost (argon2id t=3, 64 MiB, p=4) "
            "is measured on its own, last. "
            f"Load generator: asyncio httpx in one process on the same {os.cpu_count()}-core machine "
            "(its CPU is in the table). CPU columns: % of one core.",
            "",
        ]
    )
