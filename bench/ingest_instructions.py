"""Benchmark: the instructions a pushed case costs HQ's ingest, counted by valgrind, this build beside a
baseline build: a figure the machine's load does not move (bench/ingest.py's wall-clock rates swing up to
2x between runs on a shared machine; a change of a few per cent cannot be seen there).

For each build (this tree, and ``--baseline-ref REF`` as a temporary git worktree or ``--baseline PATH``),
the workload of bench/ingest.py (batches of 100 cases of one officer's device, 400 shared subjects, 3
photos a case) is pushed through ``hq.ingest.push.ingest_batch`` into a fresh SQLite database (WAL,
synchronous=FULL) under callgrind, twice: with the 2 warm-up batches only, and with ``--batches`` more.
Every record is built before either run, so the difference divided by the added cases is what ingest
alone costs a case: validation, ledger, stage, feed, audit, tally, and SQLite's own work, with start-up,
imports and warm-up excluded. Time spent waiting (the fsync at each commit) is not an instruction and is
not in it. The floor (bench/ingest.py's raw ``executemany`` of the case and manifest rows, rows built
beforehand) is counted the same way on this build. ``PYTHONHASHSEED=0``: runs repeat to within ~1 %
(the collector runs at slightly different moments).

Prints a Markdown table and writes bench/results/ingest_instructions.md. Needs valgrind (Debian's
``valgrind`` package: ``apt-get install -y valgrind``). Run: ``.venv/bin/python bench/ingest_instructions.py
--baseline-ref REF`` (about 2 minutes a build on 2 cores).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make ``testkit`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from testkit.load_compare import baseline_tree

ROOT = Path(__file__).resolve().parents[1]
WARMUP = 2
BATCH = 100

#: Run inside a build's tree (its own bench/ingest.py and hq): ``mode`` ingest or floor, ``total`` batches
#: built, ``run`` of them applied after the warm-up.
_DRIVER = """
import sys, tempfile
from pathlib import Path
mode, total, run, without = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
import ingest as bench
from enforcement.catalogue import load_catalogue
from enforcement.codec import to_json_dict
from hq.ingest.push import ingest_batch
from hq.storage.sqlite import SqliteStorage
from sync.protocol import PushRecord
work = bench.build_workload(total * 100)
storage = SqliteStorage(Path(tempfile.mkdtemp()) / "hq.db")
storage.create_schema()
catalogue = load_catalogue()
pushes = [(officer, [PushRecord(kind="case", id=c.id, device_seq=i + 1, payload=to_json_dict(c))
                     for i, c in enumerate(cases)]) for officer, cases in work.batches]
if without != "-":  # one piece made a no-op (this build's names): what is left is ingest without it
    import gc
    import enforcement.codec, hq.ingest.base, hq.ingest.cases, hq.ingest.view
    canonical = {r.id: r.payload for _, records in pushes for r in records}  # already canonical here
    pieces = {
        "text checks": (enforcement.codec, "_clean", lambda value: True),
        "length checks": (hq.ingest.base, "check_lengths", lambda record: None),
        "canonical dict": (hq.ingest.base, "to_json_dict", lambda record: canonical[record.id]),
        "case rules": (hq.ingest.cases, "validate_case", lambda *a, **k: None),
        "case feed entry": (hq.ingest.cases, "emit_case_state", lambda *a, **k: []),
        "histories": (hq.ingest.view.BatchView, "add_history", lambda *a, **k: None),
    }
    if without == "collector":
        gc.disable()
    else:
        owner, name, stub = pieces[without]
        setattr(owner, name, stub)
if mode == "ingest":
    for officer, records in pushes[:run]:
        ingest_batch(storage, officer, f"device-{officer.badge}", records, catalogue=catalogue)
else:
    now = bench.START + bench.timedelta(days=30)
    ts = storage.dialect.ts
    rows = []
    for _, cases in work.batches:
        rows.append((
            [(c.id, c.case_no, c.version, c.supersedes, c.officer_badge, c.squad_code, bench.DISTRICT,
              c.subject_id, c.violation_code, ts(c.occurred_at), c.status.value, ts(now), 1, 1, 1, 1, False,
              "", "", 3, bench.dumps(to_json_dict(c))) for c in cases],
            [(c.id, p.sha256) for c in cases for p in c.photos],
        ))
    for case_rows, photo_rows in rows[:run]:
        with storage.transaction() as tx:
            tx._many(bench.FLOOR_CASE_SQL, case_rows)
            tx._many(bench.FLOOR_PHOTO_SQL, photo_rows)
storage.close()
"""

_COLLECTED = re.compile(r"Collected\s*:\s*(\d+)")


#: What ``--without`` can leave out of this build's ingest (the driver's ``pieces``, and the collector).
PIECES = ("text checks", "length checks", "canonical dict", "case rules", "case feed entry", "histories",
          "collector")  # fmt: skip


def count(tree: Path, mode: str, total: int, run: int, without: str = "-") -> int:
    """Instructions of one driver run in ``tree`` (callgrind's total)."""
    env = {**os.environ, "PYTHONPATH": f"{tree}{os.pathsep}{tree / 'bench'}", "PYTHONHASHSEED": "0"}
    tool = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null"]
    command = [*tool, sys.executable, "-c", _DRIVER, mode, str(total), str(run), without]
    with tempfile.TemporaryDirectory() as tmp:
        done = subprocess.run(command, cwd=tmp, env=env, capture_output=True, text=True, check=False)
    found = _COLLECTED.search(done.stderr)
    if done.returncode != 0 or found is None:
        raise SystemExit(f"valgrind run failed in {tree} ({mode} {run}):\n{done.stderr[-2000:]}")
    return int(found.group(1))


def per_case(tree: Path, mode: str, batches: int, without: str = "-") -> float:
    """Instructions a case costs: (warm-up + ``batches``) minus warm-up, over the added cases (the piece
    ``without`` left out of both runs' measured batches and warm-up alike)."""
    total = WARMUP + batches
    with ThreadPoolExecutor(max_workers=2) as pool:
        warm, full = pool.map(lambda run: count(tree, mode, total, run, without), (WARMUP, total))
    return (full - warm) / (batches * BATCH)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--baseline-ref", help="a git ref to count beside this build")
    parser.add_argument("--baseline", type=Path, help="as --baseline-ref, with a checkout already on disk")
    parser.add_argument("--batches", type=int, default=6, help="batches of 100 counted after the warm-up")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "ingest_instructions.md")
    parser.add_argument(
        "--breakdown",
        action="store_true",
        help=f"also count this build with each piece left out in turn ({', '.join(PIECES)}): what each costs",
    )
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed: apt-get install -y valgrind")
    rows: list[tuple[str, float]] = [("this build", per_case(ROOT, "ingest", args.batches))]
    if args.baseline_ref or args.baseline:
        with baseline_tree(args.baseline_ref, args.baseline) as (tree, label):
            rows.insert(0, (label, per_case(tree, "ingest", args.batches)))
    floor = per_case(ROOT, "floor", args.batches)
    first = rows[0][1]
    lines = [
        f"# HQ ingest, instructions a case ({args.batches} batches of {BATCH} after {WARMUP} warm-up ones)",
        "",
        "valgrind (callgrind) totals, the warm-up run subtracted; SQLite (WAL, synchronous=FULL), the",
        "workload of bench/ingest.py. Waiting (fsync) is not counted. floor = raw `executemany` of the case",
        "and manifest rows (this build's schema).",
        "",
        "| build | instructions a case | vs first | / floor |",
        "|---|---:|---:|---:|",
        *(f"| {name} | {value:,.0f} | {value / first:.3f}× | {value / floor:.1f}× |" for name, value in rows),
        f"| floor (this build) | {floor:,.0f} | | 1.0× |",
        "",
    ]
    if args.breakdown:
        mine = rows[-1][1]
        lines += [
            "What each piece costs this build: counted again with that piece a no-op (the collector:",
            "disabled), the difference per case. The pieces overlap a little (a stub also skips what its",
            "result feeds).",
            "",
            "| left out | instructions a case without it | the piece costs | share |",
            "|---|---:|---:|---:|",
        ]
        for piece in PIECES:
            left = per_case(ROOT, "ingest", args.batches, piece)
            lines.append(f"| {piece} | {left:,.0f} | {mine - left:,.0f} | {(mine - left) / mine:.1%} |")
        lines.append("")
    table = "\n".join(lines)
    print(table)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(table, encoding="utf-8")


if __name__ == "__main__":
    main()
