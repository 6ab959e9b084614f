"""A GPS fix's time checks the phone's clock before any sync (issue #14, Clocks): the geolocator's position
timestamp goes from 今日's 定位, the wizard's location step and a work order's arrival into the clock check,
so a phone whose clock disagrees with the GPS is found out, says so, and records the fix's time; a fix
agreeing with the clock, or the same cached fix handed back again, changes nothing."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest

from mobile.state.app_state import AppState
from mobile.state.clock import gps_time
from mobile.views import today as today_view
from mobile.views import workorder as workorder_view
from mobile.views.new_case import NewCaseView
from mobile.views.new_case import location as location_view
from mobile.views.screens import make_screen
from mobile.views.shell import Shell
from testkit.hqkit import Hq
from tests.mobile.statekit import AT, Apps, PhoneClock, photo, sign_in
from tests.mobile.test_state_clock import Y1970, Y2099, offline_without_reference
from tests.mobile.test_store_workorders import order


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (datetime(2026, 11, 22, 13, 30, tzinfo=UTC), datetime(2026, 11, 22, 13, 30, tzinfo=UTC)),
        (AT, AT),
        (1_795_354_200_000, datetime(2026, 11, 22, 13, 30, tzinfo=UTC)),  # ms since the epoch
        ("2026-11-22T13:30:00.000Z", datetime(2026, 11, 22, 13, 30, tzinfo=UTC)),
        ("2026-11-22T21:30:00+08:00", AT),
        (datetime(2026, 11, 22, 13, 30), None),  # no zone: not guessed
        ("2026-11-22 13:30", None),
        ("noon", None),
        (None, None),
        (True, None),
        (10**30, None),
    ],
    ids=[
        *("utc", "beijing", "epoch-ms", "iso-z", "iso-offset"),
        *("naive", "iso-naive", "text", "none", "bool", "huge"),
    ],
)
def test_a_positions_timestamp_is_read_or_ignored(value: object, expected: datetime | None) -> None:
    assert gps_time(value) == expected


@pytest.mark.parametrize("wrong", [Y1970, Y2099], ids=["1970", "2099"])
def test_the_wizards_fix_time_corrects_the_draft_of_a_wrong_clock(
    make_app: Apps, hq: Hq, clock: PhoneClock, wrong: datetime
) -> None:
    app = make_app(clock=clock)
    sign_in(app, hq.serve().url)
    offline_without_reference(app)
    clock.set(wrong)
    drafts = app.drafts
    drafts.start()
    drafts.choose_violation("0510")
    drafts.set_position(34.7466, 113.6253, 8.0, fix_time=AT.astimezone(UTC))
    offset = app.clock.offset()
    assert offset is not None
    assert (offset.source, offset.large) == ("gps", True)
    assert drafts.clock_banner("zh").startswith("手机时间与指挥中心相差约")
    assert drafts.occurred_at() == AT  # recomputed from the fix's time at once
    drafts.update(address="人民路 12 号")
    drafts.create_subject("mobile_vendor", name="刘小摊")
    asyncio.run(drafts.add_photo(photo(4)))
    case = drafts.save()
    assert case.occurred_at == AT
    assert case.device_occurred_at == wrong
    assert case.clock_source == "gps"
    assert "-261122-" in case.case_no


def test_a_fix_agreeing_with_a_clock_without_reference_changes_nothing(
    make_app: Apps, hq: Hq, clock: PhoneClock
) -> None:
    app = make_app(clock=clock)
    sign_in(app, hq.serve().url)
    offline_without_reference(app)
    drafts = app.drafts
    drafts.start()
    drafts.choose_violation("0510")
    started = drafts.occurred_at()
    drafts.set_position(34.7466, 113.6253, 8.0, fix_time=AT - timedelta(minutes=3))  # a cached fix
    assert drafts.clock_banner("zh") == ""
    assert drafts.occurred_at() == started
    offset = app.clock.offset()
    assert offset is not None
    assert (offset.source, offset.seconds, offset.large) == ("gps", -180, False)
    assert drafts.draft is not None
    assert (drafts.draft.clock_offset_s, drafts.draft.clock_source) == (None, "")


def test_the_same_cached_fix_handed_back_later_is_not_taken_as_now(
    make_app: Apps, hq: Hq, clock: PhoneClock
) -> None:
    """Geolocation hands back a cached position (up to minutes old) with its first timestamp: seeing it
    again later says nothing new about the clock, and must not make a right clock look slow."""
    app = make_app(clock=clock)
    sign_in(app, hq.serve().url)
    offline_without_reference(app)
    app.clock.note_gps(AT)
    clock.advance(90)  # 90 minutes later the browser hands back the same fix
    app.clock.note_gps(AT)
    offset = app.clock.offset()
    assert offset is not None
    assert (offset.source, offset.seconds, offset.large) == ("gps", 0, False)
    app.clock.note_gps(AT + timedelta(minutes=90))  # a new fix does replace it
    offset = app.clock.offset()
    assert offset is not None
    assert (offset.seconds, offset.large) == (0, False)


@pytest.mark.parametrize("wrong", [Y1970, Y2099], ids=["1970", "2099"])
def test_a_work_orders_arrival_with_a_far_fix_time_flags_the_clock_first(
    make_app: Apps, hq: Hq, clock: PhoneClock, wrong: datetime
) -> None:
    app = make_app(clock=clock)
    sign_in(app, hq.serve().url)
    offline_without_reference(app)
    clock.set(wrong)
    app.store.apply_work_order(order())
    app.workorders.arrive("wo-1", 34.7466, 113.6253, 8.0, fix_time=AT.astimezone(UTC))
    offset = app.clock.offset()
    assert offset is not None
    assert (offset.source, offset.large) == ("gps", True)
    assert app.today.clock_banner("zh").startswith("手机时间与指挥中心相差约")
    [entry] = [e for e in app.store.outbox_pending() if e.kind == "work_order_arrival"]
    assert entry.payload["device_at"] == wrong.isoformat()
    assert entry.payload["offset_s"] == (AT - wrong).total_seconds()  # the arrival carries the offset
    [row] = [r for r in app.store.work_orders() if r.order_id == "wo-1"]
    assert row.arrived_at == AT  # the arrival's time is the fix's, not the 1970/2099 clock's


def test_a_work_orders_arrival_with_an_agreeing_fix_time_changes_nothing(app: AppState) -> None:
    app.store.apply_work_order(order())
    before = app.clock.offset()
    app.workorders.arrive("wo-1", 34.7466, 113.6253, 8.0, fix_time=AT + timedelta(seconds=20))
    assert app.clock.offset() == before
    assert before is not None
    assert before.source == "hq"
    [entry] = [e for e in app.store.outbox_pending() if e.kind == "work_order_arrival"]
    assert entry.payload["offset_s"] == float(before.seconds)


def test_a_fix_agreeing_with_the_clock_changes_nothing(app: AppState, clock: PhoneClock) -> None:
    app.drafts.start()
    app.drafts.set_position(34.7466, 113.6253, 8.0, fix_time=AT + timedelta(seconds=20))
    assert app.drafts.clock_banner("zh") == ""
    offset = app.clock.offset()
    assert offset is not None
    assert offset.source == "hq"  # HQ's time of the sign-in's sync wins over a fix's


class FakeGeolocator:
    """flet-geolocator's Geolocator as the views use it, with a position of a phone whose GPS knows
    the time: the timestamp is a zoned datetime, as Flet's protocol decodes the Dart side's."""

    timestamp: object = AT.astimezone(UTC)

    async def request_permission(self) -> str:
        return "whileInUse"

    async def get_current_position(self) -> Any:
        return SimpleNamespace(latitude=34.7466, longitude=113.6253, accuracy=8.0, timestamp=self.timestamp)


class FakePage:
    title = ""
    navigation_bar = None

    def update(self) -> None:
        pass

    def pop_dialog(self) -> None:
        return None


@pytest.mark.parametrize("screen", ["today", "new_case", "work_order"])
def test_the_screens_pass_the_fix_time_to_the_clock(
    make_app: Apps, hq: Hq, clock: PhoneClock, monkeypatch: pytest.MonkeyPatch, screen: str
) -> None:
    app = make_app(clock=clock)
    sign_in(app, hq.serve().url)
    offline_without_reference(app)
    clock.set(Y2099)
    module = {"today": today_view, "new_case": location_view, "work_order": workorder_view}[screen]
    monkeypatch.setattr(module, "ftg", SimpleNamespace(Geolocator=FakeGeolocator))
    shell = Shell(app, FakePage(), screens=make_screen)  # type: ignore[arg-type]
    if screen == "today":
        shell.go("today")
        asyncio.run(today_view.TodayView(shell).locate())
        assert app.today.fix == (34.7466, 113.6253)
    elif screen == "new_case":
        app.drafts.start()
        app.drafts.choose_violation("0510")
        shell.go("new_case")
        view = NewCaseView(shell)
        asyncio.run(view.locate())
        assert app.drafts.draft is not None
        assert (app.drafts.draft.lat, app.drafts.draft.lon) == (34.7466, 113.6253)
        assert app.drafts.draft.step == "subject"  # the wizard moved on past the location step
        assert app.drafts.occurred_at() == AT
    else:
        app.store.apply_work_order(order())
        shell.go("work_order", "wo-1")
        assert isinstance(shell.screen, workorder_view.WorkOrderView)
        asyncio.run(shell.screen.arrive())
        [row] = [r for r in app.store.work_orders() if r.order_id == "wo-1"]
        assert row.arrived_at == AT
    offset = app.clock.offset()
    assert offset is not None
    assert (offset.source, offset.large) == ("gps", True)
    assert app.today.clock_banner("zh").startswith("手机时间与指挥中心相差约")
