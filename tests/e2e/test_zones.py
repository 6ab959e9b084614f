"""Issue #16 end to end: zones from HQ to the phone, a vendor guided to a 疏导点, counted in the day log.

HQ is seeded (``seed-demo`` imports the demo zones as version 1, ``hq.demo_zones``); officer 1023 signs in
on the app in Chromium and syncs them. The browser's GPS is moved onto 农业路 (a 商业街), about 100 m from
the demo set's 农业路便民疏导点, which is open all day (the app runs on the real clock, so a spot with
hours would make the test depend on the hour it runs). A 无照经营游商 case there shows the street, its class
and the grid, and the open spot; the officer records 引导至疏导点 on the action step; the case detail shows
it; after the sync HQ's day log of ZD01 counts 引导至疏导点 1 起. Finally HQ's dashboard zones page, in
Chromium, shows the case on its plan and imports the zone file again through its form.

Screenshots: artifacts/screenshots/zones-location.png, zones-guidance.png, zones-detail.png,
dashboard-zones.png.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from enforcement.model import LOCAL_TZ
from hq.demo_zones import ALL_DAY_SPOT, ALL_DAY_SPOT_NAME, NEAR_ALL_DAY_FIX, demo_zones
from testkit.browser import ARTIFACTS, Screen
from testkit.harness import HqApi, HqServer, demo_pin
from testkit.officer_ui import OfficerUi, evidence_jpeg

pytestmark = pytest.mark.browser

VENDOR = "农业路早点摊"
VENDOR_PHONE = "13900003333"
LON, LAT = NEAR_ALL_DAY_FIX


@pytest.fixture(scope="module")
def ui(screen: Screen) -> OfficerUi:
    return OfficerUi(screen)


def today() -> str:
    return datetime.now(LOCAL_TZ).date().isoformat()


def test_hq_holds_the_demo_zones(hq: HqServer) -> None:
    api = HqApi(hq.url)
    try:
        zones = api.client.get("/v1/zones").json()
    finally:
        api.close()
    assert zones["properties"]["version"] >= 1
    spot = next(f for f in zones["features"] if f["id"] == ALL_DAY_SPOT)
    assert spot["properties"]["hours"] == {"daily": ["00:00-24:00"]}


def test_a_vendor_on_a_commercial_street_is_guided_to_the_open_spot(ui: OfficerUi, tmp_path: Path) -> None:
    s = ui.s
    ui.sign_in("1023")
    s.tap("立即同步")  # the zones come with the first pull
    s.wait_text("全部已上传", timeout=60)
    s.browser.call(lambda: s.context.set_geolocation({"latitude": LAT, "longitude": LON}))
    s.settle()
    s.tap("新建案件")
    s.wait_text("1/7 ·")
    s.settle()
    s.tap("无照经营游商")
    s.wait_text(f"GPS {LAT:.4f}", timeout=40)  # asked for by the location step itself
    ui.step(2)
    s.wait_text("农业路 · 商业街 · 管活：以疏为主")
    text = s.semantics_text()
    assert "网格 JS-0202" in text, text
    assert f"最近开放的疏导点：{ALL_DAY_SPOT_NAME}，" in text, text
    s.screenshot("zones-location")
    ui.new_subject(VENDOR, VENDOR_PHONE)
    assert "第1次 · 劝导" in ui.stage_text()
    ui.step(5)
    s.tap(f"引导至{ALL_DAY_SPOT_NAME}")
    s.wait_text(f"已记录：引导至{ALL_DAY_SPOT_NAME}")
    assert s.has("radio", "劝导离开")  # the disposition stays 劝离
    s.screenshot("zones-guidance")
    ui.add_photo(evidence_jpeg(tmp_path / "spot.jpg", 16), 1)
    ui.save()
    s.wait_text(VENDOR)
    s.wait_text("全部已上传", timeout=60)
    s.settle()
    s.tap_containing(VENDOR)
    s.wait_text("案件详情")
    s.wait_text(f"引导至 {ALL_DAY_SPOT_NAME}")
    detail = s.semantics_text()
    assert "农业路 · 商业街" in detail, detail
    assert "JS-0202" in detail, detail
    s.screenshot("zones-detail")
    s.tap("返回")


def test_hqs_day_log_counts_the_guidance(hq: HqServer) -> None:
    api = HqApi(hq.url)
    try:
        params = {"day": today(), "squad": "ZD01", "format": "csv"}
        answer = api.client.get("/v1/reports/daylog", params=params)
        assert answer.status_code == 200, answer.text[:300]
        cases = api.cases()
    finally:
        api.close()
    rows = list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig"))))
    assert ["引导至疏导点", "1"] in rows, rows
    assert ["街道类别：商业街", "1"] in rows, rows
    assert ["网格：JS-0202", "1"] in rows, rows
    assert any(c.get("violation_code") == "0501" for c in cases)


def test_the_dashboard_zones_page_shows_the_case_and_imports_a_file(
    screen: Screen, hq: HqServer, tmp_path: Path
) -> None:
    upload = tmp_path / "zones.geojson"
    upload.write_text(json.dumps(demo_zones(), ensure_ascii=False), encoding="utf-8")
    shot = ARTIFACTS / "dashboard-zones.png"
    day = today()

    def go() -> dict[str, Any]:
        viewport = {"width": 1280, "height": 1500}
        context = screen.browser._browser.new_context(viewport=viewport, locale="zh-CN")
        try:
            page = context.new_page()
            page.goto(f"{hq.url}/dashboard")
            page.fill("#badge", "9001")
            page.fill("#pin", demo_pin("9001"))
            page.click("button[type=submit]")
            page.wait_for_selector("#total-cases")
            page.click("#zones-link")
            page.wait_for_selector("#zones-plan")
            page.goto(f"{hq.url}/dashboard/zones?day={day}")
            before = page.locator("#zones-plan circle.case").count()
            page.set_input_files("#zones-upload input[name=file]", str(upload))
            page.click("#zones-upload button[type=submit]")
            page.wait_for_selector("#zones-result")
            result = page.inner_text("#zones-result")
            page.goto(f"{hq.url}/dashboard/zones?day={day}")
            page.evaluate("document.fonts.ready")
            page.wait_for_timeout(500)
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(shot), full_page=True)
            return {
                "before": before,
                "result": result,
                "version": page.inner_text("#zones-version"),
                "spots": page.locator("#zones-plan .spot").count(),
                "cases": page.inner_text("#zones-day-cases"),
            }
        finally:
            context.close()

    seen = screen.browser.call(go)
    assert seen["before"] >= 1, seen  # the guided vendor's case (and any other of today with a fix)
    assert "共 18 个要素（新增 0，修改 0，删除 0）" in seen["result"], seen
    assert "疏导点 5" in seen["version"], seen
    assert seen["spots"] == 5, seen
    assert shot.stat().st_size > 10_000
