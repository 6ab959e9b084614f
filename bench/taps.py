"""Taps and seconds to record a repeat vendor's 占道经营 case with one photo, driven in Chromium.

The officer app runs in web mode against a seeded HQ (both subprocesses, as in tests/e2e); Playwright taps
through it as an officer would. Counted from Today (signed in) until the app reports the saved case number:

* taps: every tap on a control, a tap into a text field before typing, and two for a photo (the 下一步
  that opens the photos step, which opens the phone's picker by itself, and the picture in the picker);
* fields typed: text the officer types (a search for the vendor, the warning notice's number);
* seconds: wall time of the driven flow, including the harness's waits for the screen to settle (an upper
  bound of what the app needs; a person reads and aims, which this does not model).

Baseline in the same run: the same violation for a *new* vendor (typing the vendor's name and phone). The
target for the repeat case is at most 8 taps.

    .venv/bin/python bench/taps.py          # writes bench/results/taps.md
"""

from __future__ import annotations

import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.e2e.harness import (  # noqa: E402  (the repository's root first on the path)
    GEO,
    AppServer,
    Browser,
    HqServer,
    OfficerUi,
    evidence_jpeg,
)

TARGET_TAPS = 8
VENDOR = "老周煎饼"
PHONE = "13900001111"


@dataclass
class Run:
    name: str
    taps: int
    typed: int
    seconds: float
    stage: str
    case_no: str
    log: list[str]


def record(ui: OfficerUi, photo: Path, *, new_vendor: bool) -> tuple[str, str]:
    """One 占道经营 case with one photo and the app's defaults; returns (stage line, case number)."""
    ui.new_case("无照经营游商")
    ui.s.wait_text(f"GPS {GEO['latitude']:.4f}", timeout=30)  # the step asks for the fix by itself
    if new_vendor:
        ui.new_subject(VENDOR, PHONE)
    else:
        ui.find_subject(VENDOR[:2], f"{VENDOR} · {PHONE}")
    text = ui.stage_text()
    stage = next((line for line in text.splitlines() if line.startswith("第") and "次" in line), "?")
    ui.step(5)
    if "警告" in stage:  # the default disposition is then 警告通知书, which needs its number
        ui.s.fill("警告通知书编号", "JG-0001")
    ui.s.choose_file("下一步", photo)  # moving on to the photos step opens the picker at once
    ui.s.wait_text("1 张照片", timeout=40)
    return stage, ui.save()


def measure(ui: OfficerUi, name: str, photo: Path, *, new_vendor: bool) -> Run:
    screen = ui.s
    screen.taps = screen.typed = 0
    screen.tap_log = []
    started = time.perf_counter()
    stage, case_no = record(ui, photo, new_vendor=new_vendor)
    seconds = time.perf_counter() - started
    return Run(name, screen.taps, screen.typed, seconds, stage, case_no, list(screen.tap_log))


def table(runs: list[Run]) -> str:
    baseline = runs[0]
    lines = [
        "| case | taps | fields typed | seconds | taps vs baseline | stage | target ≤ 8 taps |",
        "|---|---:|---:|---:|---:|---|---|",
    ]
    for run in runs:
        meets = "—" if run is baseline else ("yes" if run.taps <= TARGET_TAPS else "no")
        lines.append(
            f"| {run.name} | {run.taps} | {run.typed} | {run.seconds:.1f} | "
            f"{run.taps - baseline.taps:+d} | {run.stage} | {meets} |"
        )
    lines.append("")
    lines += [f"- {run.name}: " + " → ".join(run.log) for run in runs]
    return "\n".join(lines)


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="taps-") as tmp:
        root = Path(tmp)
        hq = HqServer(root / "hq")
        hq.prepare()
        hq.start()
        app = AppServer(root / "phone", hq.url, root / "app.log")
        browser: Browser | None = None
        try:
            app.start()
            browser = Browser()
            screen = browser.new_screen(app.url)
            ui = OfficerUi(screen)
            ui.sign_in("1023")
            runs = [
                measure(ui, "baseline: new vendor (1st)", evidence_jpeg(root / "a.jpg", 1), new_vendor=True),
                measure(ui, "repeat vendor (2nd)", evidence_jpeg(root / "b.jpg", 2), new_vendor=False),
            ]
            screen.close()
        finally:
            if browser is not None:
                browser.close()
            app.stop()
            hq.stop()
    text = (
        "# Taps to record a 占道经营 case with one photo (officer app in Chromium, 412x915)\n\n"
        + table(runs)
        + "\n\nCounted from Today to the saved case number; a text field ([name]) costs one tap"
        " before typing; a photo costs two (the 下一步 that opens the photos step with its picker, the"
        " picture). The repeat vendor is found by typing the"
        " first two characters of the name.\n"
    )
    print(text)
    out = REPO / "bench" / "results" / "taps.md"
    out.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
