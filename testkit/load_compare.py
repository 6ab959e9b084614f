"""Load, this build beside an older one in the same run: ``bench/load.py --baseline-ref REF`` (or
``--baseline PATH``, a checkout already on disk).

``--baseline-ref`` makes a temporary ``git worktree`` of REF outside the repository (removed at the end;
nothing of it is committed). Each build gets its own fresh database (seeded by that build's own code:
``testkit.fleet.seed_hq`` imported from its tree) and its own blob directory, and its own
``streetpatrol-hq serve`` whose ``PYTHONPATH`` starts with its tree, so the old process runs the old code
from end to end. Both servers run for the whole bench, each idle while the other is measured.

Every phone signs in on both. Then the steps alternate between the builds, the order swapping from one
step to the next (old, new; new, old; …) and each step run ``repeat`` times per build, so a machine that
gets busier or quieter during the run weighs on both alike. The table gives, per concurrency, both
builds' cases/s (all their runs of that step summed: cases over seconds), their p99 over every request of
those runs, HQ's CPU and the ratio new / old.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field, replace
from pathlib import Path

from hq.settings import PinHashing
from testkit.fleet import CHEAP_PIN_ENV, HqProcess, fleet_officers, seed_hq
from testkit.load import (
    RESULTS,
    Generator,
    base_config,
    build_parser,
    check_note,
    run_step,
    sign_in_all,
    start_postgres,
    stop_postgres,
)
from testkit.load import main as load_main
from testkit.load_report import (
    P99_LIMIT,
    LoadConfig,
    LoadResult,
    Phone,
    SignInFigures,
    Step,
    _ms,
    header,
    table,
)

REPO = Path(__file__).resolve().parents[1]

#: Seeds a database with the code of the tree on ``PYTHONPATH`` (run in the baseline's tree: its schema).
_SEED = """
import sys
from hq.settings import PinHashing
from testkit.fleet import FAST_PIN_HASHING, fleet_officers, seed_hq
url, count, first, cost = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
seed_hq(url, fleet_officers(count, first=first), FAST_PIN_HASHING if cost == "test" else PinHashing())
"""


def _git(*args: str, cwd: Path = REPO) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True)
    return done.stdout.strip()


@contextmanager
def baseline_tree(ref: str | None = None, path: Path | None = None) -> Iterator[tuple[Path, str]]:
    """(tree, label) of the baseline build: ``path`` as it is, or a temporary detached worktree of
    ``ref`` outside the repository, removed afterwards."""
    if path is not None:
        label = path.name
        with suppress(subprocess.CalledProcessError, OSError):
            label = _git("rev-parse", "--short", "HEAD", cwd=path)
        yield path.resolve(), label
        return
    assert ref is not None, "a baseline ref or path"
    holder = Path(tempfile.mkdtemp(prefix="streetpatrol-baseline-"))
    tree = holder / "tree"
    _git("worktree", "add", "--detach", str(tree), ref)
    try:
        yield tree, _git("rev-parse", "--short", "HEAD", cwd=tree)
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=REPO, capture_output=True)
        shutil.rmtree(holder, ignore_errors=True)
        subprocess.run(["git", "worktree", "prune"], cwd=REPO, capture_output=True)


def _seed(tree: Path, storage_url: str, count: int, first: int, cost: str) -> None:
    """Seed with the code of ``tree`` (this checkout in-process; another one in a subprocess)."""
    if count <= 0:
        return
    if tree == REPO:
        officers = fleet_officers(count, first=first)
        if cost == "test":
            seed_hq(storage_url, officers)
        else:
            seed_hq(storage_url, officers, PinHashing())
        return
    env = {**os.environ, "PYTHONPATH": str(tree)}
    command = [sys.executable, "-c", _SEED, storage_url, str(count), str(first), cost]
    subprocess.run(command, cwd=tree, env=env, check=True)


@dataclass
class Build:
    """One build under test: its tree, its HQ process, its phones and its runs of each step."""

    label: str
    tree: Path
    root: Path
    storage_url: str
    pg_data: Path | None
    phones: list[Phone]
    slow: list[Phone]
    hq: HqProcess | None = None
    runs: list[Step] = field(default_factory=list)
    sign_in: SignInFigures | None = None
    production: SignInFigures | None = None
    peak_kib: int = 0
    peak_after_kib: int = 0

    def start(self, config: LoadConfig) -> None:
        officers = [p.officer for p in self.phones]
        _seed(self.tree, self.storage_url, len(officers), int(officers[0].badge), "test")
        if self.slow:
            _seed(self.tree, self.storage_url, len(self.slow), int(self.slow[0].officer.badge), "production")
        serve_args = ["--workers", str(config.workers)] if config.workers > 1 else []
        if config.pool_size is not None:
            serve_args += ["--pool-size", str(config.pool_size)]
        env = {**CHEAP_PIN_ENV, "PYTHONPATH": str(self.tree)}  # that tree's code alone
        self.hq = HqProcess(
            self.storage_url, self.root / "blobs", self.root / "serve.log", env=env, serve_args=serve_args
        ).start()

    def result(self, config: LoadConfig, load_average: tuple[float, float]) -> LoadResult:
        assert self.sign_in is not None
        steps = [merge([r for r in self.runs if r.concurrency == c]) for c in config.steps]
        result = LoadResult(
            config, steps, self.sign_in, self.production, self.peak_kib, self.peak_after_kib, self.phones,
            self.storage_url, self.root / "blobs", load_average[0], load_average[1],
        )  # fmt: skip
        return result


def merge(runs: list[Step]) -> Step:
    """The runs of one step as one: counts, seconds and CPU summed, latencies pooled (rates are then what
    completed over the time it took, across the runs)."""
    out = Step(runs[0].concurrency)
    for run in runs:
        out.seconds += run.seconds
        out.rounds += run.rounds
        out.cases += run.cases
        out.photos += run.photos
        for kind, values in run.latencies.items():
            out.latencies.setdefault(kind, []).extend(values)
        out.errors.update(run.errors)
        out.hq_cpu += run.hq_cpu
        out.pg_cpu += run.pg_cpu
        out.client_cpu += run.client_cpu
        out.hq_rss_kib = max(out.hq_rss_kib, run.hq_rss_kib)
        out.thread_states.update(run.thread_states)
    return out


async def _alternate(builds: list[Build], config: LoadConfig, repeat: int) -> None:
    for build in builds:
        assert build.hq is not None
        build.sign_in = await sign_in_all(
            build.hq.url, build.phones, config.sign_in_concurrency, "test-cost argon2id"
        )
    generators = {build.label: Generator(config) for build in builds}
    turn = 0
    for concurrency in config.steps:
        for _ in range(repeat):
            order = builds if turn % 2 == 0 else builds[::-1]
            turn += 1
            for build in order:
                assert build.hq is not None
                step = await run_step(
                    build.hq, build.phones, generators[build.label], config, concurrency, build.pg_data
                )
                build.runs.append(step)
    for build in builds:
        assert build.hq is not None
        build.peak_kib = build.hq.memory_kib("VmHWM")
    for build in builds:  # last: argon2's memory would otherwise set the peak
        assert build.hq is not None
        if build.slow:
            build.production = await sign_in_all(
                build.hq.url, build.slow, len(build.slow), "production argon2id, all at once"
            )
        build.peak_after_kib = build.hq.memory_kib("VmHWM")


def run_compare(
    config: LoadConfig,
    root: Path,
    baseline: tuple[Path, str],
    storage_urls: tuple[str | None, str | None] = (None, None),
    pg_data: tuple[Path | None, Path | None] = (None, None),
    repeat: int = 2,
) -> tuple[LoadResult, LoadResult]:
    """(baseline, this build): both served side by side, the steps alternating (module docstring).
    ``storage_urls``: PostgreSQL DSNs (baseline, this build), fresh SQLite files in ``root`` when None."""
    officers = fleet_officers(max(config.steps))
    slow_officers = fleet_officers(config.production_sign_ins, first=9001 - config.production_sign_ins)
    builds = []
    for (tree, label), url, data in zip((baseline, (REPO, "this build")), storage_urls, pg_data, strict=True):
        where = root / ("baseline" if tree != REPO else "new")
        where.mkdir(parents=True, exist_ok=True)
        phones, slow = [Phone(o) for o in officers], [Phone(o) for o in slow_officers]
        builds.append(Build(label, tree, where, url or str(where / "hq.db"), data, phones, slow))
    before = os.getloadavg()[0]
    try:
        for build in builds:
            build.start(config)
        asyncio.run(_alternate(builds, config, repeat))
    finally:
        for build in builds:
            if build.hq is not None:
                build.hq.stop()
    averages = (before, os.getloadavg()[0])
    old, new = (build.result(config, averages) for build in builds)
    return old, new


def compare_table(old: LoadResult, new: LoadResult, old_label: str, repeat: int) -> str:
    """Both builds per step, and the ratio of this build's cases/s to the baseline's."""
    lines = [
        f"### {new.config.backend}: this build beside {old_label}, same run",
        "",
        f"| phones at once | {old_label} cases/s | this build cases/s | ratio | {old_label} p99 ms "
        f"| this build p99 ms | {old_label} HQ CPU | this build HQ CPU | errors ({old_label} / this build) |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for a, b in zip(old.steps, new.steps, strict=True):
        ratio = b.cases_per_s / a.cases_per_s if a.cases_per_s else float("nan")
        errors = f"{sum(a.errors.values())} / {sum(b.errors.values())}"
        lines.append(
            f"| {a.concurrency} | {a.cases_per_s:.1f} | {b.cases_per_s:.1f} | **{ratio:.2f}×** | "
            f"{_ms(a.percentile(0.99))} | {_ms(b.percentile(0.99))} | {a.hq_cpu / a.seconds:.0%} | "
            f"{b.hq_cpu / b.seconds:.0%} | {errors} |"
        )
    lines.append("")
    for label, result in ((old_label, old), ("this build", new)):
        best = result.best_sustained()
        said = (
            f"**{best.cases_per_s:.1f} cases/s** at {best.concurrency} phones"
            if best is not None
            else "no step"
        )
        lines.append(f"Best step with p99 ≤ {P99_LIMIT:.0f} s and no errors, {label}: {said}.")
    lines.append(
        f"Each step ran {repeat}× per build, the builds alternating and the order swapping each time; "
        f"figures are the runs summed. Machine 1-min load average before / after: {new.load_average:.1f} / "
        f"{new.load_average_end:.1f} (2 cores, shared with other jobs)."
    )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """bench/load.py: with ``--baseline-ref``/``--baseline`` both builds side by side, else this build
    alone (``testkit.load.main``)."""
    args = build_parser().parse_args(argv)
    if args.baseline_ref is None and args.baseline is None:
        return load_main(argv)
    base = base_config(args)
    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    out = args.out or RESULTS
    parts = [header(base)]
    started = time.perf_counter()
    with baseline_tree(args.baseline_ref, args.baseline) as (tree, label):
        for backend in backends:
            pool = args.pool_size if backend == "postgres" else None
            config = replace(base, backend=backend, pool_size=pool)
            with tempfile.TemporaryDirectory(prefix=f"streetpatrol-load-{backend}-") as tmp:
                pgs: list[tuple[str, str]] = []
                try:
                    if backend == "postgres":
                        pgs = [start_postgres(), start_postgres()]
                    urls = (pgs[0][1], pgs[1][1]) if pgs else (None, None)
                    datas = (Path(pgs[0][0]) / "data", Path(pgs[1][0]) / "data") if pgs else (None, None)
                    old, new = run_compare(config, Path(tmp), (tree, label), urls, datas, args.repeat)
                    for result in (old, new):
                        result.notes.append(check_note(result))
                finally:
                    for directory, _ in pgs:
                        stop_postgres(directory)
            text = "\n".join(
                [
                    compare_table(old, new, label, args.repeat),
                    table(new).replace(f"## {backend}", f"#### {backend}, this build", 1),
                    table(old).replace(f"## {backend}", f"#### {backend}, {label}", 1),
                ]
            )
            print(text, flush=True)
            parts.append(text)
    parts.append(f"Whole run: {time.perf_counter() - started:.0f} s.\n")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(parts), encoding="utf-8")
    return 0
