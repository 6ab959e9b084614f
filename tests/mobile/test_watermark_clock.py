"""The watermark under a wrong phone clock (issue #14, Clocks): it prints the best-known time, names the
reference that corrected it, and gives the phone's own reading as 设备时间 when the two differ by more than
the clock tolerance; a right clock's watermark is unchanged."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from enforcement.model import LOCAL_TZ
from mobile.photos import render_watermark
from mobile.state.app_state import AppState
from mobile.watermark import Watermark
from testkit.hqkit import Hq
from tests.mobile.statekit import AT, Apps, PhoneClock, photo, sign_in
from tests.mobile.test_state_clock import HQ_NOW, Y2099, offline_without_reference

BEST = datetime(2026, 11, 22, 21, 30, 5, tzinfo=LOCAL_TZ)


def mark(device_at: datetime | None, source: str = "hq") -> Watermark:
    return Watermark(
        captured_at=BEST,
        lat=34.7466,
        lon=113.6253,
        badge="1023",
        case_no="ZD01-261122-1023-001",
        violation_name="占道经营",
        device_at=device_at,
        clock_source=source,
    )


def test_a_wrong_clock_is_stated_on_the_photo() -> None:
    lines = mark(datetime(2099, 6, 1, 10, 0, 0, tzinfo=LOCAL_TZ)).lines()
    assert lines[:2] == [
        "时间 2026-11-22 21:30:05 UTC+08:00（已按指挥中心时间校正）",
        "设备时间 2099-06-01 10:00:00（手机时钟有误）",
    ]
    assert lines[2].startswith("位置 ")
    assert len(lines) == 5
    gps = mark(datetime(1970, 1, 1, 0, 0, tzinfo=UTC), source="gps").lines()
    assert gps[0].endswith("（已按GPS时间校正）")
    assert gps[1] == "设备时间 1970-01-01 08:00:00（手机时钟有误）"  # in the printed time's zone


@pytest.mark.parametrize("drift", [timedelta(0), timedelta(minutes=59), -timedelta(minutes=60)])
def test_ordinary_drift_leaves_the_watermark_as_it_was(drift: timedelta) -> None:
    lines = mark(BEST + drift).lines()
    assert lines[0] == "时间 2026-11-22 21:30:05 UTC+08:00"
    assert not any(line.startswith("设备时间") for line in lines)
    assert lines == mark(None).lines()


def test_a_device_time_must_carry_its_zone() -> None:
    with pytest.raises(ValueError, match="device_at"):
        mark(datetime(2099, 6, 1, 10, 0))


def test_the_longer_lines_still_fit_a_portrait_photo() -> None:
    lines = mark(datetime(2099, 6, 1, 10, 0, tzinfo=LOCAL_TZ)).lines()
    overlay = render_watermark((900, 1600), lines)
    _, top, right, bottom = overlay.box
    assert right <= 900
    assert bottom <= 1600
    assert bottom - top < 1600 // 3  # five lines, a third of the photo at most


def test_a_case_photo_under_a_2099_clock_after_a_sync(app: AppState, clock: PhoneClock) -> None:
    clock.set(Y2099)  # after the sign-in's sync: HQ's time is known
    drafts = app.drafts
    drafts.start()
    drafts.choose_violation("0510")
    watermark = drafts.watermark()
    assert watermark is not None
    lines = watermark.lines()
    assert abs(watermark.captured_at - HQ_NOW) < timedelta(minutes=1)  # HQ's time, not the phone's
    assert lines[0].endswith("（已按指挥中心时间校正）")
    assert lines[1] == "设备时间 2099-06-01 10:00:00（手机时钟有误）"
    drafts.update(address="人民路 12 号")
    drafts.create_subject("mobile_vendor", name="刘小摊")
    asyncio.run(drafts.add_photo(photo(6)))  # the photo takes the longer watermark
    case = drafts.save()
    assert case.device_occurred_at == Y2099
    assert case.clock_source == "hq"


def test_a_gps_corrected_clock_says_gps(make_app: Apps, hq: Hq, clock: PhoneClock) -> None:
    app = make_app(clock=clock)
    sign_in(app, hq.serve().url)
    offline_without_reference(app)
    clock.set(Y2099)
    drafts = app.drafts
    drafts.start()
    drafts.choose_violation("0510")
    drafts.set_position(34.7466, 113.6253, 8.0, fix_time=AT)
    watermark = drafts.watermark()
    assert watermark is not None
    assert watermark.lines()[0].endswith("（已按GPS时间校正）")


def test_a_right_clock_has_one_time_line(app: AppState) -> None:
    app.drafts.start()
    app.drafts.choose_violation("0510")
    watermark = app.drafts.watermark()
    assert watermark is not None
    lines = watermark.lines()
    assert lines[0].startswith("时间 2026-11-22 21:30:00")
    assert "校正" not in lines[0]
    assert not any(line.startswith("设备时间") for line in lines)
