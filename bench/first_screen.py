"""Time to the first interactive screen of the officer app in Chromium, for the demo store and a store of
50,000 cases, beside the previous behaviour (the full integrity check at every start) in the same run.

The officer app runs in web mode (``python -m mobile.app --web``, as tests/e2e and bench/taps.py run it)
against a seeded demo HQ; Debian's Chromium is driven by Playwright (``testkit.browser``). Officer 1023
signs in once per store, so every measured start opens on 今日 (Today) with his session. One measured
start, from a stopped app:

1. ``python -m mobile.app`` starts: imports, ``Store.open`` of the data directory's store, the Flet web
   server — until it answers HTTP (**app ready**);
2. the browser tab reloads the app (same origin, same browser profile, its files cached as on a phone that
   opened it before) until Flutter's loading screen is gone, the semantics tree is on and Today's
   新建案件 button is there (**page interactive**).

The sum is the **first interactive screen**; ``Store.open`` of the file in the same state is timed alone
too, in the benchmark's process just before each start.

Each store is measured after a clean close (``Store.close``'s
marker: the cheap check at open, what this build does) and with the full check forced (the marker removed
before the start: what every start did before, and what a start after a crash still does), interleaved
(clean, forced, clean, forced, …) so both see the same machine load and page cache. Before each start the
store is closed cleanly by a ``Store.open`` + ``close`` in this process (the app's SIGTERM ends its
process without its ``close``), then for the forced runs the marker is deleted.

Stores: the demo store (what the phone holds after signing in to ``seed-demo``'s HQ) and the 50,000-case,
20,000-subject store bench/store.py builds (officer 1023 is one of its 100 officers), signed in the same way.
The machine is shared: medians of ``--runs`` starts each, and the load average is printed.

    .venv/bin/python bench/first_screen.py [--runs 5] [--cases 50000]   # writes bench/results/first_screen.md
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.store import build  # noqa: E402  (the repository's root first on the path)
from enforcement.catalogue import load_catalogue  # noqa: E402
from mobile.metakeys import CLEAN_CLOSE  # noqa: E402
from mobile.store import Store  # noqa: E402
from testkit.browser import Browser, Screen  # noqa: E402
from testkit.harness import AppServer, HqServer  # noqa: E402
from testkit.officer_ui import OfficerUi  # noqa: E402
from testkit.ports import free_port  # noqa: E402

TODAY_BUTTON = "新建案件"


@dataclass
class Series:
    open_ms: list[float] = field(default_factory=list)  # Store.open alone, in this process, same file state
    ready: list[float] = field(default_factory=list)
    page: list[float] = field(default_factory=list)

    @property
    def total(self) -> list[float]:
        return [a + b for a, b in zip(self.ready, self.page, strict=True)]


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"{one:.1f} / {five:.1f}"


def close_cleanly(db: Path, *, forced: bool) -> float:
    """The store closed as the app's ``close`` leaves it; ``forced``: then the marker removed (the next
    open runs the full ``integrity_check``, as every open did before this build). Returns the ms of a
    ``Store.open`` of the file in that state (the state is set again after it)."""
    catalogue = load_catalogue()
    Store.open(db, catalogue=catalogue).close()
    if forced:
        _drop_marker(db)
    started = time.perf_counter()
    store = Store.open(db, catalogue=catalogue)
    opened = (time.perf_counter() - started) * 1000
    store.close()
    if forced:
        _drop_marker(db)
    return opened


def _drop_marker(db: Path) -> None:
    conn = sqlite3.connect(db)
    with conn:
        conn.execute("DELETE FROM meta WHERE key = ?", (CLEAN_CLOSE,))
    conn.close()


def reload_until_today(screen: Screen) -> float:
    """Reload the tab; seconds until Today's 新建案件 is in the semantics tree."""

    def go() -> float:
        started = time.perf_counter()
        screen.page.goto(screen.page.url)
        screen.page.wait_for_selector("#loading", state="detached", timeout=120_000)
        placeholder = screen.page.locator("flt-semantics-placeholder")
        placeholder.wait_for(state="attached", timeout=60_000)
        placeholder.evaluate("e => e.click()")
        screen.page.get_by_role("button", name=TODAY_BUTTON, exact=True).first.wait_for(
            state="attached", timeout=120_000
        )
        return time.perf_counter() - started

    return screen._run(go, timeout=240)


def measure_store(
    name: str, data_dir: Path, hq: HqServer, browser: Browser, runs: int, log: Path
) -> dict[str, Series]:
    port = free_port()
    app = AppServer(data_dir, hq.url, log, port=port)
    app.start_timeout = 180.0
    app.start()
    screen = browser.new_screen(app.url)
    OfficerUi(screen).sign_in("1023")  # once: the session stays in this browser profile and the store
    screen.settle()
    app.stop()
    db = data_dir / "phone.db"
    series = {"clean": Series(), "forced": Series()}
    for n in range(runs):
        for mode in ("clean", "forced") if n % 2 == 0 else ("forced", "clean"):
            series[mode].open_ms.append(close_cleanly(db, forced=mode == "forced"))
            started = time.perf_counter()
            app.start()
            ready = time.perf_counter() - started
            page = reload_until_today(screen)
            series[mode].ready.append(ready)
            series[mode].page.append(page)
            print(f"{name} {mode}: app ready {ready:.2f} s, page interactive {page:.2f} s (load {load()})")
            app.stop()
    screen.close()
    return series


def med(values: list[float]) -> str:
    return f"{statistics.median(values):.2f}"


def table(results: dict[str, dict[str, Series]], sizes: dict[str, str]) -> str:
    lines = [
        "| store | open | `Store.open` (ms) | app ready (s) | page interactive (s)"
        " | first interactive screen (s) | min–max |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for name, series in results.items():
        for mode, label in (("clean", "after a clean close (this build)"), ("forced", "full check (before)")):
            s = series[mode]
            lines.append(
                f"| {name} ({sizes[name]}) | {label} | {statistics.median(s.open_ms):,.0f} | {med(s.ready)} |"
                f" {med(s.page)} | **{med(s.total)}** |"
                f" {min(s.total):.2f}–{max(s.total):.2f} |"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="starts per store and mode (median)")
    parser.add_argument("--cases", type=int, default=50_000)
    parser.add_argument("--subjects", type=int, default=20_000)
    args = parser.parse_args()
    random.seed(7)
    load_before = load()
    with tempfile.TemporaryDirectory(prefix="first-screen-") as tmp:
        root = Path(tmp)
        hq = HqServer(root / "hq")
        hq.prepare()
        hq.start()
        browser: Browser | None = None
        results: dict[str, dict[str, Series]] = {}
        sizes: dict[str, str] = {}
        try:
            big = root / "big"
            big.mkdir()
            build(big / "phone.db", args.cases, args.subjects)
            browser = Browser()
            stores = {"demo": root / "demo", f"{args.cases:,} cases": big}
            for name, data_dir in stores.items():
                results[name] = measure_store(
                    name, data_dir, hq, browser, args.runs, root / f"app-{len(results)}.log"
                )
                size = (data_dir / "phone.db").stat().st_size
                sizes[name] = f"{size / 2**20:.1f} MiB"
        finally:
            if browser is not None:
                browser.close()
            hq.stop()
    text = (
        "# Time to the first interactive screen (officer app in Chromium, 412x915)\n\n"
        + table(results, sizes)
        + f"\n\nMedians of {args.runs} starts per row, clean and forced starts interleaved, on"
        f" {platform.machine()} ({os.cpu_count()} cores, shared); load average (1 / 5 min) {load_before}"
        f" before the run, {load()} after. App ready: `python -m mobile.app --web` started until it answers"
        " HTTP (imports, `Store.open`, the Flet web server); page interactive: the tab reloaded until Today's"
        " 新建案件 button is in the semantics tree (Flutter's web client from the browser cache, CanvasKit on"
        " SwiftShader: no GPU). Forced = the clean-shutdown marker removed before the start, so `Store.open`"
        " runs the full `integrity_check` (every start before this build; a start after a crash now)."
        " `Store.open` (ms): the same file in the same state opened in the benchmark's own process just"
        " before each start (the app's share of app ready; the rest is Python's imports and Flet's start).\n"
    )
    print(text)
    out = REPO / "bench" / "results" / "first_screen.md"
    out.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
