"""What the Han fallback font (``assets/fonts/StreetPatrolHan.otf``, ~18 MB) costs the officer app's first
screen in Chromium, against the same build with the old 3.6 KB Han fallback, in the same run.

Three copies of the phone-side code and assets are made in a temporary directory, identical but for:

- **small**: the Han fallback of the previous build (two listed hanzi, 3,664 bytes, from git history) in
  place of the full one, and no Han Ext or Han Rare fallback (that build had neither): the baseline;
- **eager**: the full Han fallback (and the Han Ext and Han Rare ones) registered in ``page.fonts`` with
  the other fonts when the page opens (``mobile.theme.LATE_FONTS`` emptied): what registering it the plain
  way costs;
- **this build**: the full Han fallback registered once the first screen is on (``LATE_FONTS``).

Each copy runs ``python -m mobile.app --web`` (no HQ needed: the sign-in screen is the first screen of a
fresh install). A measured start: a fresh browser context (nothing cached: a first visit) opens the app and
waits until Flutter's loading screen is gone, semantics are on and the sign-in screen's 执法证号 field is
there (**cold**); then the same tab reloads (the app's files from the browser cache, as a phone that opened
it before) to the same point (**warm**); a second fresh context does the cold start over a throttled link
(20 Mbit/s, 40 ms: ``THROTTLE``). For each cold start the time each font file was fully received is
noted too: Flet's web client does not wait for ``page.fonts`` before the first screen, so what a big font
at start can delay is the main font (Chinese text drawn in it) sharing the link. Variants are
interleaved (small, eager, late, then rotated) so they see the same machine load.

    .venv/bin/python bench/fonts_first_screen.py [--runs 5]   # writes bench/results/fonts_first_screen.md
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


from testkit.browser import CHROMIUM, CHROMIUM_ARGS, VIEWPORT  # noqa: E402
from testkit.harness import stop_process  # noqa: E402
from testkit.ports import free_port  # noqa: E402

#: The commit whose Han fallback is the baseline (the last with the 3,664-byte listed-hanzi subset).
BASELINE_COMMIT = "e0644ce"
SIGN_IN_FIELD = "执法证号"
TREES = ("enforcement", "mobile", "patrollog", "sync", "assets")


def make_copy(root: Path, variant: str) -> Path:
    """A copy of the phone's code and assets for ``variant`` (module docstring)."""
    tree = root / variant
    for name in TREES:
        shutil.copytree(REPO / name, tree / name, ignore=shutil.ignore_patterns("__pycache__"))
    han = tree / "assets" / "fonts" / "StreetPatrolHan.otf"
    if variant == "small":
        old = subprocess.run(
            ["git", "show", f"{BASELINE_COMMIT}:assets/fonts/StreetPatrolHan.ttf"],
            cwd=REPO, capture_output=True, check=True,
        ).stdout  # fmt: skip
        han.write_bytes(old)
        for later in ("StreetPatrolHanExt.otf", "StreetPatrolHanRare.otf"):  # that build had neither
            (tree / "assets" / "fonts" / later).unlink()
    if variant in ("small", "eager"):
        theme = tree / "mobile" / "theme.py"
        text = theme.read_text(encoding="utf-8")
        marker = (
            "LATE_FONTS: frozenset[str] = frozenset(\n"
            '    {"StreetPatrolHan", "StreetPatrolHanExt", "StreetPatrolHanRare", "StreetPatrolSymbols"}\n)'
        )
        assert marker in text, "mobile/theme.py's LATE_FONTS line changed: update the benchmark"
        theme.write_text(text.replace(marker, "LATE_FONTS: frozenset[str] = frozenset()"), encoding="utf-8")
    return tree


def start_app(tree: Path, data: Path, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(tree)}
    command = [sys.executable, "-m", "mobile.app", "--web", "--port", str(port), "--data-dir", str(data),
               "--hq", "http://127.0.0.1:9"]  # fmt: skip
    proc = subprocess.Popen(command, cwd=tree, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return proc, url
        except OSError:
            time.sleep(0.2)
    stop_process(proc)
    raise SystemExit(f"the app in {tree} did not answer in 180 s (log: {log})")


def until_interactive(page: Any) -> float:
    """Seconds from now until the sign-in field is in the semantics tree."""
    started = time.perf_counter()
    page.wait_for_selector("#loading", state="detached", timeout=180_000)
    placeholder = page.locator("flt-semantics-placeholder")
    placeholder.wait_for(state="attached", timeout=120_000)
    placeholder.evaluate("e => e.click()")
    page.get_by_role("textbox", name=SIGN_IN_FIELD).wait_for(state="attached", timeout=180_000)
    return time.perf_counter() - started


MAIN = "NotoSansSC-StreetPatrol.otf"
HAN = "StreetPatrolHan.otf"
#: The throttled link of the third start: 20 Mbit/s down, 40 ms round trip (a good 4G cell or busy Wi-Fi).
THROTTLE = {"offline": False, "latency": 40, "downloadThroughput": 2_500_000, "uploadThroughput": 1_250_000}


def start_once(browser: Any, url: str, *, throttled: bool) -> dict[str, float]:
    """One start in a fresh context: seconds from ``goto`` to interactive, and to each font's arrival."""
    context = browser.new_context(viewport=VIEWPORT, locale="zh-CN")
    try:
        page = context.new_page()
        if throttled:
            cdp = context.new_cdp_session(page)
            cdp.send("Network.enable")
            cdp.send("Network.emulateNetworkConditions", THROTTLE)
        arrived: dict[str, float] = {}
        started = time.perf_counter()

        def finished(request: Any) -> None:
            if "/fonts/" in request.url:
                arrived.setdefault(request.url.rsplit("/", 1)[-1], time.perf_counter() - started)

        page.on("requestfinished", finished)
        page.goto(url)
        interactive = time.perf_counter() - started + until_interactive(page)
        deadline = time.monotonic() + 180
        while not {MAIN, HAN} <= arrived.keys() and time.monotonic() < deadline:
            page.wait_for_timeout(100)
        result = {
            "interactive": interactive,
            "main_font": arrived.get(MAIN, -1),
            "han_font": arrived.get(HAN, -1),
        }
        if not throttled:
            started = time.perf_counter()
            page.reload()
            result["warm"] = time.perf_counter() - started + until_interactive(page)
        return result
    finally:
        context.close()


def measure(browser: Any, url: str) -> dict[str, float]:
    cold = start_once(browser, url, throttled=False)
    slow = start_once(browser, url, throttled=True)
    return {**cold, **{f"slow_{k}": v for k, v in slow.items()}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "fonts_first_screen.md")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    variants = ("small", "eager", "late")
    results: dict[str, list[dict[str, float]]] = {v: [] for v in variants}
    loads: list[float] = []
    with tempfile.TemporaryDirectory(prefix="fonts-bench-") as tmp:
        root = Path(tmp)
        trees = {v: make_copy(root, v) for v in variants}
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=list(CHROMIUM_ARGS))
            try:
                for n in range(args.runs):
                    order = variants[n % 3 :] + variants[: n % 3]
                    for variant in order:
                        proc, url = start_app(trees[variant], root / f"data-{variant}", root / "app.log")
                        try:
                            results[variant].append(measure(browser, url))
                        finally:
                            stop_process(proc)
                        loads.append(os.getloadavg()[0])
                        print(variant, results[variant][-1], flush=True)
            finally:
                browser.close()
    label = {"small": "old 3.6 KB Han fallback (baseline)", "eager": "full Han fallback, registered at start",
             "late": "full Han fallback, registered after the first screen (this build)"}  # fmt: skip
    lines = [
        "# Han fallback font and the first screen (bench/fonts_first_screen.py)",
        "",
        f"{platform.node()}, {os.cpu_count()} cores, load average during the run "
        f"{min(loads):.1f}-{max(loads):.1f} (1 min); {args.runs} starts per variant, interleaved; medians "
        "(min-max), seconds from opening the page. Fresh browser context (nothing cached), then a reload "
        "(warm, cached); the throttled start: 20 Mbit/s, 40 ms. Interactive: the sign-in screen's field in "
        "the semantics tree; main / Han font: that font file fully received.",
        "",
        "| variant | interactive | main font | Han font | warm interactive "
        "| throttled: interactive | main font | Han font |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]

    def cell(v: str, key: str) -> str:
        xs = [r[key] for r in results[v]]
        return f"{statistics.median(xs):.2f} ({min(xs):.2f}-{max(xs):.2f})"

    keys = (
        "interactive",
        "main_font",
        "han_font",
        "warm",
        "slow_interactive",
        "slow_main_font",
        "slow_han_font",
    )
    for v in variants:
        lines.append(f"| {label[v]} | " + " | ".join(cell(v, k) for k in keys) + " |")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
