"""Issue #14, Clocks, end to end: the officer app runs with its device clock at 1970
(``STREETPATROL_DEV_CLOCK_OFFSET_S``, test-only, read once in mobile/app.py) against a real, seeded HQ. After
the sign-in's sync the phone knows HQ's time: 今日 shows the clock banner, and the officer records a case
with a photo, which HQ receives with HQ's time and the device's 1970 kept beside it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from testkit.browser import Browser, Screen
from testkit.harness import AppServer, HqApi, HqServer
from testkit.officer_ui import OfficerUi, evidence_jpeg

pytestmark = pytest.mark.browser

#: About 56 years back: the phone's clock says 1970.
OFFSET_S = -1_780_000_000


@pytest.fixture(scope="module")
def app_server(hq: HqServer, e2e_root: Path) -> Iterator[AppServer]:
    server = AppServer(e2e_root / "phone", hq.url, e2e_root / "app.log")
    server.env["STREETPATROL_DEV_CLOCK_OFFSET_S"] = str(OFFSET_S)
    with server:
        yield server


@pytest.fixture(scope="module")
def screen(browser: Browser, app_server: AppServer) -> Iterator[Screen]:
    with browser.new_screen(app_server.url) as page:
        yield page


def test_a_1970_phone_records_a_case_with_a_photo_and_shows_the_clock_banner(
    screen: Screen, hq: HqServer, tmp_path: Path
) -> None:
    ui = OfficerUi(screen)
    screen.wait_control("textbox", "执法证号")
    ui.sign_in("1023")
    screen.wait_text("手机时间与指挥中心相差约", timeout=60)
    text = screen.semantics_text()
    assert "请校准时间；案件将记录设备时间和已知偏差" in text, text
    screen.screenshot("wrong-clock-today")
    ui.new_case("无照经营游商")
    ui.locate()
    ui.new_subject("钟表摊", "13900002222")
    ui.step(5)
    ui.add_photo(evidence_jpeg(tmp_path / "clock.jpg", 41), 1)
    screen.screenshot("wrong-clock-review")
    case_no = ui.save()
    assert "-1970" not in case_no
    api = HqApi(hq.url)
    try:
        screen.wait_text("钟表摊")
        found = [c for c in api.cases() if c.get("case_no") == case_no]
        assert found, case_no
    finally:
        api.close()
