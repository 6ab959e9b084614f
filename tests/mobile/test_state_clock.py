"""The phone works with any clock (issue #14, Clocks): a phone clock at 1970 or 2099 against HQ's time
(its ``Date`` at the last sync, carried forward by the monotonic clock) and the GPS's, the banner, photos,
saving, shifts and a draft corrected once the clock is set."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest

from enforcement import codec
from enforcement.model import LOCAL_TZ, Case
from mobile import metakeys
from mobile.state.app_state import AppState
from mobile.state.errors import DraftError
from testkit.hqkit import Hq
from tests.mobile.statekit import AT, Apps, PhoneClock, dead_url, photo, sign_in

Y1970 = datetime(1970, 1, 1, 8, 0, tzinfo=LOCAL_TZ)
Y2099 = datetime(2099, 6, 1, 10, 0, tzinfo=LOCAL_TZ)
HQ_NOW = datetime(2026, 11, 22, 22, 0, tzinfo=LOCAL_TZ)  # testkit.hqkit's START in Beijing


def synced(app: AppState) -> None:
    app.link.sync_now()
    offset = app.clock.offset()
    assert offset is not None
    assert offset.source == "hq"
    assert not offset.large


def offline_without_reference(app: AppState) -> None:
    """The phone has never learnt HQ's time (a fresh install offline since its sign-in)."""
    app.settings.update(hq_url=dead_url())
    app.store.meta_set(metakeys.CLOCK, None)
    assert app.clock.offset() is None


def record(app: AppState, seed: int = 5) -> Case:
    drafts = app.drafts
    drafts.start()
    drafts.choose_violation("0510")
    drafts.update(address="人民路 12 号")
    drafts.create_subject("mobile_vendor", name="刘小摊")
    asyncio.run(drafts.add_photo(photo(seed)))
    return drafts.save()


@pytest.mark.parametrize("wrong", [Y1970, Y2099])
def test_a_wrong_clock_after_a_sync_records_hqs_time_with_the_device_time(
    app: AppState, clock: PhoneClock, wrong: datetime
) -> None:
    synced(app)
    assert app.today.clock_banner("zh") == ""
    clock.set(wrong)  # the battery died / the officer set the clock: no time passed
    hours = round(abs((HQ_NOW - wrong).total_seconds()) / 3600)
    assert app.today.clock_banner("zh") == (
        f"手机时间与指挥中心相差约 {hours} 小时，请校准时间；案件将记录设备时间和已知偏差"
    )
    assert app.drafts.clock_banner("en").startswith(f"The phone's clock is about {hours} h off HQ's")
    case = record(app)
    assert abs(case.occurred_at - HQ_NOW) < timedelta(minutes=1)  # best-known: HQ's time carried forward
    assert case.device_occurred_at == wrong
    assert case.clock_source == "hq"
    assert case.clock_offset_s == round((case.occurred_at - wrong).total_seconds())
    assert "-261122-" in case.case_no
    assert [c.case.id for c in app.today.cases()] == [case.id]  # today is HQ's today
    data = codec.to_json_dict(case)
    assert data["clock_source"] == "hq"
    assert codec.case_from_dict(data) == case


def test_a_case_of_a_right_clock_keeps_its_old_json_form(app: AppState) -> None:
    case = record(app)
    data = codec.to_json_dict(case)
    assert not {"device_occurred_at", "clock_offset_s", "clock_source"} & set(data)
    assert case.occurred_at == AT


def test_1970_without_a_reference_says_so_and_the_draft_is_corrected_once_the_clock_is_set(
    app: AppState, clock: PhoneClock
) -> None:
    offline_without_reference(app)
    clock.set(Y1970)
    assert (
        app.today.clock_banner("zh")
        == "手机时间为 1970 年，明显有误，请校准时间；同步一次后可按指挥中心时间记录"
    )
    assert "1970" in app.today.clock_banner("en")
    assert "wrong" in app.today.clock_banner("en")
    drafts = app.drafts
    drafts.start()
    drafts.choose_violation("0510")
    drafts.update(address="人民路 12 号")
    drafts.create_subject("mobile_vendor", name="刘小摊")
    with pytest.raises(DraftError) as refused:
        asyncio.run(drafts.add_photo(photo(3)))
    assert "手机时间为 1970 年" in refused.value.zh
    assert "范围" not in refused.value.zh
    assert "clock" in refused.value.en
    with pytest.raises(DraftError):
        drafts.save()
    clock.advance(2)
    clock.set(AT + timedelta(minutes=2))  # set right in the system settings
    assert app.today.clock_banner("zh") == ""
    drafts.start()  # back to the wizard: the draft is recomputed
    assert drafts.occurred_at() == AT
    asyncio.run(drafts.add_photo(photo(3)))
    case = drafts.save()
    assert case.occurred_at == AT
    assert case.device_occurred_at == Y1970
    assert case.clock_source == "device"
    assert "-261122-" in case.case_no


def test_a_shift_started_under_a_clock_ahead_can_be_ended_and_a_new_one_started(
    app: AppState, clock: PhoneClock
) -> None:
    offline_without_reference(app)
    clock.set(Y2099)  # no reference: 2099 is all the phone knows
    started = app.today.start_shift()
    assert started.started_at == Y2099
    clock.set(AT)  # fixed: "now" is before the shift's start
    ended = app.today.end_shift()
    assert ended is not None
    assert ended.ended_at == Y2099
    assert ended.device_ended_at == AT
    assert app.today.shift_end_adjusted
    assert app.today.shift() is None
    assert codec.to_json_dict(ended)["device_ended_at"]
    again = app.today.start_shift()
    assert again.id != started.id
    assert again.started_at == AT
    clock.advance(60)
    done = app.today.end_shift()
    assert done is not None
    assert done.ended_at == AT + timedelta(minutes=60)
    assert done.device_ended_at is None
    assert not app.today.shift_end_adjusted
    assert "device_ended_at" not in codec.to_json_dict(done)


@pytest.mark.parametrize("wrong", [Y1970, Y2099])
def test_shifts_under_a_wrong_clock_with_hqs_time_use_hqs_time(
    app: AppState, hq: Hq, clock: PhoneClock, wrong: datetime
) -> None:
    synced(app)
    clock.set(wrong)
    started = app.today.start_shift()
    assert abs(started.started_at - HQ_NOW) < timedelta(minutes=1)
    clock.advance(30)
    hq.clock.advance(timedelta(minutes=30))  # time passes at HQ too (the end's sync reads its Date)
    ended = app.today.end_shift()
    assert ended is not None
    assert ended.ended_at > started.started_at
    assert ended.device_ended_at == wrong + timedelta(minutes=30)
    assert ended.clock_offset_s is not None
    assert app.today.start_shift().started_at == ended.ended_at


def test_a_gps_fix_time_tells_a_wrong_clock_without_hq(make_app: Apps, hq: Hq, clock: PhoneClock) -> None:
    app = make_app(clock=clock)
    sign_in(app, hq.serve().url)
    offline_without_reference(app)
    clock.set(Y2099)
    app.today.set_fix(34.7466, 113.6253, fix_time=AT)
    offset = app.clock.offset()
    assert offset is not None
    assert offset.source == "gps"
    assert offset.large
    assert app.today.clock_banner("zh").startswith("手机时间与指挥中心相差约")
    case = record(app, seed=8)
    assert case.occurred_at == AT
    assert case.clock_source == "gps"
    assert case.device_occurred_at == Y2099
