"""The live screens the shell reconciles (``Shell.RECONCILED``) on Flet's real session (``fletsession``):
what the officer types reaches the screen across re-renders, and a tap made just before a re-render
reaches the rebuilt control (issue #14).

The sign-in screen used to keep its three text fields as objects and put the same objects into every
render. Reconciled, Flet took a field reused so out of its session index when the old tree was unmounted
and never put it back, so the browser's typing into it went nowhere: on a shared phone the sign-out's
re-renders came before the second officer typed, and the sign-in carried the previous officer's badge
and an empty PIN (tests/e2e/test_shared_phone.py). 今日's 网格 field had the same flaw."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import flet as ft
import pytest

from mobile.app import LOST_EVENT
from mobile.state.app_state import AppState
from mobile.views.common import Host, Typed, field
from mobile.views.review import ReviewView
from mobile.views.screens import make_screen
from mobile.views.shell import REUSED, Shell
from testkit.hqkit import LEADER, OFFICER, PINS, Hq
from tests.mobile.fletsession import Browser
from tests.mobile.statekit import Apps, sign_in
from tests.mobile.test_views_leader import signed_in as leader_app
from tests.mobile.viewkit import controls, texts
from tests.patrollog.dayfixture import Day, fixture_day


def keyed(shell: Shell, key: str) -> Any:
    found = [c for c in controls(shell.body) if getattr(c, "key", None) == key]
    assert len(found) == 1, f"{len(found)} controls keyed {key!r} on {shell.route!r}"
    return found[0]


def on_page(browser: Browser, shell: Shell) -> None:
    browser.page.add(ft.SafeArea(shell.body, expand=True))
    shell.start()


def lost(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if LOST_EVENT in r.getMessage()]


def test_the_second_officer_on_a_shared_phone_signs_in_with_what_was_typed(
    make_app: Apps, hq: Hq, caplog: pytest.LogCaptureFixture
) -> None:
    """Officer 1023 signs out from 设置; the sign-out re-renders the sign-in screen (the session, then the
    link, tell the shell); the leader types badge and PIN key by key while the link changes again, and
    taps 登录 on the screen as it was just before one more re-render."""
    app = make_app()
    url = hq.serve().url
    sign_in(app, url, OFFICER)

    async def scenario() -> Shell:
        browser = Browser()
        shell = Shell(app, browser.page, screens=make_screen)
        on_page(browser, shell)
        shell.go("settings")
        await browser.tap(keyed(shell, "settings_sign_out")._i)
        await browser.settle()
        assert shell.route == "signin"
        badge = keyed(shell, "signin_badge")._i
        pin = keyed(shell, "signin_pin")._i
        assert keyed(shell, "signin_badge").value == OFFICER.badge  # the one badge this phone knows
        browser.type(badge, "")  # cleared, then typed key by key
        for n in range(len(LEADER.badge)):
            browser.type(badge, LEADER.badge[: n + 1])
        shell.changed_elsewhere()  # a sync step while the officer types
        await browser.settle()
        assert keyed(shell, "signin_pin")._i == pin  # reconciled: the same field to the browser
        typed = PINS[LEADER.badge]
        for n in range(len(typed)):
            browser.type(pin, typed[: n + 1])
            if n == 2:
                shell.changed_elsewhere()
                await browser.settle()
        button = keyed(shell, "signin_submit")._i
        shell.changed_elsewhere()  # redrawn just as 登录 is tapped
        await browser.settle()
        await browser.tap(button)
        await browser.settle()
        browser.close()
        return shell

    with caplog.at_level(logging.WARNING, logger="mobile.app"):
        shell = asyncio.run(scenario())
    assert app.session.officer is not None, texts(shell.body)
    assert app.session.officer.badge == LEADER.badge
    assert shell.route == "today"
    assert lost(caplog) == []
    assert shell.reused == []


@pytest.mark.parametrize("reconciled", [True, False], ids=["keyed", "replaced"])
def test_a_tap_on_sign_in_just_before_a_re_render(
    make_app: Apps,
    hq: Hq,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    reconciled: bool,
) -> None:
    """登录 tapped on the screen as it was a moment before a re-render: reconciled under one key, the tap
    reaches the rebuilt button and the officer is signed in; replaced whole (as before), it is lost."""
    if not reconciled:
        monkeypatch.setattr(Shell, "RECONCILED", tuple(r for r in Shell.RECONCILED if r != "signin"))
    app = make_app()
    app.settings.update(hq_url=hq.serve().url)

    async def scenario() -> Shell:
        browser = Browser()
        shell = Shell(app, browser.page, screens=make_screen)
        on_page(browser, shell)
        assert shell.route == "signin"
        browser.type(keyed(shell, "signin_badge")._i, OFFICER.badge)
        browser.type(keyed(shell, "signin_pin")._i, PINS[OFFICER.badge])
        button = keyed(shell, "signin_submit")._i
        shell.changed_elsewhere()
        await browser.settle()
        await browser.tap(button)
        await browser.settle()
        browser.close()
        return shell

    with caplog.at_level(logging.WARNING, logger="mobile.app"):
        shell = asyncio.run(scenario())
    if reconciled:
        assert app.session.signed_in
        assert shell.route == "today"
        assert lost(caplog) == []
    else:
        assert not app.session.signed_in
        assert shell.route == "signin"
        assert [m for m in lost(caplog) if "'click'" in m]


def test_a_grid_cell_typed_on_today_survives_a_sync_step(
    make_app: Apps, hq: Hq, caplog: pytest.LogCaptureFixture
) -> None:
    """今日 (reconciled since the lost taps after sign-in) with its 网格 field: typed, a sync step redraws
    the screen, more typed, 开始值班 tapped: the shift records the whole grid cell."""
    app = make_app()
    sign_in(app, hq.serve().url, OFFICER)

    async def scenario() -> None:
        browser = Browser()
        shell = Shell(app, browser.page, screens=make_screen)
        on_page(browser, shell)
        await browser.settle()
        assert shell.route == "today"
        grid = keyed(shell, "today_grid")._i
        browser.type(grid, "A-")
        shell.changed_elsewhere()
        await browser.settle()
        browser.type(grid, "A-12")
        start = next(c for c in controls(shell.body) if getattr(c, "content", None) == "开始值班")._i
        shell.changed_elsewhere()
        await browser.settle()
        await browser.tap(start)
        await browser.settle()
        browser.close()

    with caplog.at_level(logging.WARNING, logger="mobile.app"):
        asyncio.run(scenario())
    shift = app.today.shift()
    assert shift is not None
    assert shift.grid_cell == "A-12"
    assert lost(caplog) == []


def changed_by_the_officer(control: Any, n: int) -> Any:
    """A value the officer could give ``control`` in the browser (another than it shows), or None."""
    if isinstance(control, ft.TextField):
        return f"输入 {n}"
    if isinstance(control, ft.Switch):
        return not control.value
    if isinstance(control, ft.RadioGroup):
        options = [c.value for c in controls(control.content) if isinstance(c, ft.Radio)]
        return next(v for v in options if v != control.value)
    return None


@pytest.mark.parametrize("route", Shell.LIVE)
def test_every_live_screen_keeps_its_controls_across_a_re_render(
    route: str, make_app: Apps, day: Day, caplog: pytest.LogCaptureFixture
) -> None:
    """Every screen re-rendered by outside changes (``Shell.LIVE``) is reconciled: after the officer
    changed each of its fields, switches and choices in the browser, a re-render (a sync step) builds
    the screen from new objects only, shows every change, and every tappable control keeps its id, so a
    tap made on the screen as it was reaches the rebuilt control."""
    assert route in Shell.RECONCILED
    app = leader_app(make_app, day)

    async def scenario() -> tuple[Shell, dict[Any, Any], dict[Any, Any], list[int], list[int]]:
        browser = Browser()
        shell = Shell(app, browser.page, screens=make_screen)
        on_page(browser, shell)
        if route == "signin":
            app.session.sign_out()
        shell.go(route)
        if route == "review":
            screen = shell.screen
            assert isinstance(screen, ReviewView)
            screen.start_return(day.b.id)  # its reason field open
        await browser.settle()
        changed: dict[Any, Any] = {}
        for n, control in enumerate(controls(shell.body)):
            value = changed_by_the_officer(control, n)
            if value is not None:
                assert control.key, f"{type(control).__name__} without a key on {route}"
                browser.type(control._i, value)
                changed[control.key] = value
        taps = sorted(c._i for c in controls(shell.body) if getattr(c, "on_click", None) is not None)
        shown = shell.shown
        shell.changed_elsewhere()
        await browser.settle()
        assert shell.shown is not shown  # rebuilt...
        assert shown is not None
        assert shell.shown is not None
        assert shell.shown.key == shown.key  # ...under the same key
        now = {c.key: c.value for c in controls(shell.body) if c.key in changed}
        after = sorted(c._i for c in controls(shell.body) if getattr(c, "on_click", None) is not None)
        browser.close()
        return shell, changed, now, taps, after

    with caplog.at_level(logging.WARNING, logger="mobile.app"):
        shell, changed, now, taps, after = asyncio.run(scenario())
    assert shell.route == route
    assert shell.reused == []
    assert bool(changed) is (route != "sync")  # 同步 has nothing to type or choose; the others do
    assert now == changed
    assert taps == after
    assert lost(caplog) == []


class ReusingScreen:
    """A screen that (wrongly) puts the same field object into every render."""

    def __init__(self, shell: Host) -> None:
        self.field = field("执法证号", key="reused_field")

    def build(self) -> ft.Control:
        return ft.Column([ft.Text("标题"), self.field])


def test_a_reconciled_screen_that_reuses_a_control_is_replaced_whole(
    app_signed_in: AppState, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The shell's check: reused controls are logged and the screen is replaced whole for that render, so
    the browser's typing still reaches the field (reconciled, it would be dropped)."""
    monkeypatch.setattr(Shell, "RECONCILED", (*Shell.RECONCILED, "reusing"))
    screens = {"reusing": ReusingScreen}

    def make(shell: Shell, route: str, arg: str | None = None) -> Any:
        return screens[route](shell) if route in screens else make_screen(shell, route, arg)

    async def scenario() -> tuple[Shell, ReusingScreen]:
        browser = Browser()
        shell = Shell(app_signed_in, browser.page, screens=make)
        on_page(browser, shell)
        shell.go("reusing")
        screen = shell.screen
        assert isinstance(screen, ReusingScreen)
        first = shell.shown
        shell.render()
        assert shell.shown is not None
        assert first is not None
        assert shell.shown.key != first.key  # replaced whole this time
        browser.type(screen.field._i, "1001")
        browser.close()
        return shell, screen

    with caplog.at_level(logging.ERROR, logger="mobile.views.shell"):
        shell, screen = asyncio.run(scenario())
    assert screen.field.value == "1001"
    assert [(route, [type(c).__name__ for c in reused]) for route, reused in shell.reused] == [
        ("reusing", ["TextField"])
    ]
    assert [r.getMessage() for r in caplog.records if REUSED in r.getMessage()] == [
        f"{REUSED}: screen 'reusing' rebuilt with 1 control(s) of the tree shown (TextField): replaced whole,"
        " not reconciled"
    ]


def test_typed_keeps_what_the_screen_set_over_the_old_text() -> None:
    """``Typed``: typing into the shown field is taken; a value the screen sets afterwards (a PIN cleared)
    is what the next field shows, not the text of the field it replaces."""
    pin = Typed()
    shown = pin.field("PIN")
    shown.value = "261023"  # typed
    assert pin.take() == "261023"
    pin.value = ""  # cleared after a failed sign-in
    again = pin.field("PIN")
    assert again is not shown
    assert again.value == ""
    again.value = "2"
    assert pin.field("PIN").value == "2"


@pytest.fixture
def app_signed_in(make_app: Apps, hq: Hq) -> AppState:
    app = make_app()
    sign_in(app, hq.serve().url, OFFICER)
    return app


@pytest.fixture
def day() -> Day:
    return fixture_day()
