"""What it costs to brute-force the phone's offline PIN verifier, old beside new, in the same run.

* old: PBKDF2-HMAC-SHA256, 120,000 iterations, random salt, in the phone DB file (before issue #13): the
  file alone is enough to test guesses;
* new: scrypt (N=2^17, r=8, p=1: 128 MiB) over HMAC-SHA256(device secret, PIN), random salt, in the file; the
  device secret is in the phone's secure storage. With the file alone no guess can be tested at all (the
  key is 256 bits); the figures below are for an attacker who *also* has the device secret (a stolen,
  unlocked phone with the app's storage readable).

Each guess is timed on one core (the verifier's own ``make``/``check`` code), then the search throughput on
every core of this machine (one process per core, each checking guesses), and the worst case of a full
search is extrapolated for 4- and 6-digit PINs (mean: half of it). Memory per guess: scrypt's 128 MiB, so
a GPU/ASIC gains far less over CPUs than against PBKDF2.

    .venv/bin/python bench/pin_cost.py          # prints the table and writes bench/results/pin_cost.md
"""

from __future__ import annotations

import os
import platform
import secrets
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from mobile.state.session import (  # noqa: E402
    PBKDF2_ITERATIONS,
    PIN_COST,
    check_keyed_verifier,
    check_verifier,
    make_keyed_verifier,
    make_verifier,
)

SECRET = secrets.token_bytes(32)
OLD = make_verifier("261023", iterations=PBKDF2_ITERATIONS)
NEW = make_keyed_verifier("261023", SECRET, cost=PIN_COST)


def guess_old(pin: str) -> bool:
    return check_verifier(OLD, pin)


def guess_new(pin: str) -> bool:
    return check_keyed_verifier(NEW, pin, SECRET)


def per_guess(fn: object, n: int) -> float:
    start = time.perf_counter()
    for i in range(n):
        fn(f"{i:06d}")  # type: ignore[operator]
    return (time.perf_counter() - start) / n


def throughput(fn: object, n: int, workers: int) -> float:
    """Guesses per second with ``workers`` processes."""
    with ProcessPoolExecutor(workers) as pool:
        list(pool.map(fn, ["000000"] * workers))  # warm the workers
        start = time.perf_counter()
        list(pool.map(fn, [f"{i:06d}" for i in range(n)]))  # type: ignore[arg-type]
        return n / (time.perf_counter() - start)


def human(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:,.0f} s"
    if seconds < 2 * 3600:
        return f"{seconds / 60:,.1f} min"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:,.1f} h"
    return f"{seconds / 86400:,.1f} days"


def main() -> None:
    cores = os.cpu_count() or 1
    rows = []
    for name, fn, n in (
        (f"old: PBKDF2-SHA256 {PBKDF2_ITERATIONS:,} it., file alone suffices", guess_old, 40),
        (
            f"new: scrypt N=2^{PIN_COST.n.bit_length() - 1} r={PIN_COST.r} p={PIN_COST.p} "
            f"({PIN_COST.memory_bytes >> 20} MiB) over HMAC(device secret, PIN), *with* the secret",
            guess_new,
            16,
        ),
    ):
        one = per_guess(fn, n)
        rate = throughput(fn, n * cores, cores)
        rows.append((name, one, rate, 10**4 / rate, 10**6 / rate))
    lines = [
        f"Machine: {platform.machine()}, {cores} cores (shared with other work while measured), "
        f"Python {platform.python_version()}",
        "",
        f"| verifier | one guess, 1 core | guesses/s, {cores} cores | all 4-digit PINs | all 6-digit PINs |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, one, rate, four, six in rows:
        lines.append(f"| {name} | {one * 1000:,.0f} ms | {rate:,.1f} | {human(four)} | {human(six)} |")
    lines += [
        "| new, file alone (no device secret) | cannot start: the key is a 256-bit secret "
        "| 0 | never | never |",
        "",
        "Full search = worst case; the mean is half. Online sign-in still goes through HQ's throttle; "
        "offline, 5 wrong PINs lock the verifier until the next online sign-in (an attacker with the file "
        "ignores that).",
    ]
    text = "\n".join(lines)
    print(text)
    out = REPO / "bench" / "results" / "pin_cost.md"
    out.write_text("# Brute-force cost of the offline PIN verifier (`bench/pin_cost.py`)\n\n" + text + "\n")


if __name__ == "__main__":
    main()
