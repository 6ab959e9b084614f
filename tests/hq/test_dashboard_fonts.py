"""The dashboard's stylesheet sets every control (buttons, inputs, selects) in the shipped font stack with
its fallbacks (rare name hanzi, emoji), and Chromium draws 𠮷 and 🔥 with them (marked ``browser``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from hq.dashboard import STYLE_URL
from patrollog.style import FALLBACK_FONTS, FONT_FACE, FONT_STACK
from testkit.hqkit import Hq, make_hq

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def hq(tmp_path: Path) -> Iterator[Hq]:
    hq = make_hq(tmp_path)
    yield hq
    hq.close()


def test_controls_use_the_font_stack(hq: Hq) -> None:
    with hq.client() as client:
        css = client.get(STYLE_URL).text
        rule = next(line for line in css.splitlines() if line.startswith("button, input, select, textarea"))
        assert f"font-family: {FONT_STACK}" in rule
        assert FONT_STACK.startswith(FONT_FACE)
        for family, file in FALLBACK_FONTS:
            assert family in FONT_STACK
            assert f'font-family: {family}; src: url("/assets/fonts/{file}")' in css
            served = client.get(f"/assets/fonts/{file}")
            assert served.status_code == 200
            assert served.content[:4] == b"\x00\x01\x00\x00"  # TrueType


@pytest.mark.browser
def test_controls_and_rare_names_in_chromium(hq: Hq) -> None:
    playwright = pytest.importorskip("playwright.sync_api")
    if not Path("/usr/bin/chromium").exists():
        pytest.skip("Debian's chromium is not installed")
    url = hq.serve().url
    shot = ROOT / "artifacts" / "screenshots" / "dashboard-rare-names.png"
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            page = browser.new_page(viewport={"width": 412, "height": 915}, locale="zh-CN")
            page.goto(f"{url}/dashboard")
            button = page.locator("button[type=submit]")
            assert page.evaluate("(b) => getComputedStyle(b).fontFamily", button.element_handle()).startswith(
                FONT_FACE
            )
            assert "登录" in button.inner_text()
            # a name as people write it, typed into the sign-in form's input
            page.fill("#badge", "𠮷野家🔥李𪚥")
            assert page.input_value("#badge") == "𠮷野家🔥李𪚥"
            loaded = page.evaluate(
                "async () => (await document.fonts.load('16px ' + getComputedStyle(document.body).fontFamily,"
                " '𠮷野家🔥李𪚥')).map(f => f.family)"
            )
            assert FONT_FACE in loaded, loaded
            for family, _ in FALLBACK_FONTS:
                assert family in loaded, loaded
            page.evaluate("document.fonts.ready")
            assert page.evaluate(f"document.fonts.check('16px {FONT_FACE}', '𠮷')")
            shot.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(shot), full_page=True)
        finally:
            browser.close()
    assert shot.stat().st_size > 5_000
