"""Issue #5's camera end to end: Chromium with its fake camera (a test pattern, permission granted), the
officer app in web mode against a real seeded HQ. The photos step opens the live preview by itself; the
shutter's JPEG goes through the photo pipeline into the case, which reaches HQ with its photo."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from testkit.browser import CHROMIUM, Browser, Screen
from testkit.harness import HqApi, HqServer
from testkit.officer_ui import OfficerUi

pytestmark = pytest.mark.browser

VENDOR = "拍照测试摊"
PHONE = "13900003333"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """This module's Chromium has the fake camera (the other modules' has none)."""
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed")
    chromium = Browser(fake_camera=True)
    try:
        yield chromium
    finally:
        chromium.close()


def test_photo_from_the_camera_into_a_case_at_hq(screen: Screen, hq: HqServer) -> None:
    ui = OfficerUi(screen)
    ui.sign_in("1023")
    ui.new_case("无照经营游商")
    ui.locate()
    ui.new_subject(VENDOR, PHONE)
    # a first offence needs nothing on the stage and action steps: straight to the photos, camera open
    assert ui.current_step() == 6
    screen.wait_text("对准现场后按“拍照”", timeout=30)
    assert screen.has("button", "选择照片")  # the picker stays the second way
    screen.screenshot("case-camera")
    ui.take_photo(1)
    assert ui.current_step() == 7  # moved on to the review by itself
    screen.screenshot("case-camera-review")
    case_no = ui.save()
    screen.wait_text("全部已上传", timeout=60)
    api = HqApi(hq.url)
    try:
        [summary] = [c for c in api.cases(limit=1000) if c["case_no"] == case_no]
        detail = api.case(str(summary["case_id"]))
        photos = detail["case"]["photos"]
        assert len(photos) == 1
        assert detail["missing_photos"] == []
        assert api.has_photo(photos[0]["sha256"])
        assert photos[0]["width"] > 0
        assert photos[0]["height"] > 0
    finally:
        api.close()
