"""Issue #14 without a browser: a shared squad phone (officer → leader → officer → another officer on one
Shell) and the error card that replaces Flet's English crash overlay. The Chromium twin is
tests/e2e/test_shared_phone.py."""

from __future__ import annotations

import asyncio
import logging
from types import SimpleNamespace
from typing import Any

import flet as ft
import pytest

from enforcement.model import Officer
from mobile.metakeys import DRAFT as DRAFT_KEY
from mobile.state.app_state import AppState
from mobile.views.screens import make_screen
from mobile.views.shell import Shell
from mobile.views.subjects import SubjectsView
from testkit.hqkit import LEADER, OFFICER, OFFICER_B, Hq
from tests.mobile.statekit import Apps, sign_in
from tests.mobile.test_views import texts, tree

OFFICER_TABS = ["今日", "当事人", "同步", "设置"]
LEADER_TABS = ["今日", "中队", "审核", "当事人", "同步", "设置"]
#: What each tab's screen shows once open.
SCREEN_OF = {"今日": "新建案件", "中队": "执勤队员", "审核": "审核队列", "当事人": "按车牌、电话或姓名搜索"}
ENGLISH_CRASH = ("Error", "Traceback", "out of range", "Exception")


def button(shell: Shell, caption: str) -> Any:
    """The control of the shown screen whose caption is ``caption`` and that has a click handler."""
    for node in tree(shell.body):
        content = getattr(node, "content", None)
        if content == caption and getattr(node, "on_click", None) is not None:
            return node
    raise AssertionError(f"no {caption!r} button in {texts(shell.body)}")


def click(shell: Shell, caption: str) -> Any:
    control = button(shell, caption)
    result = control.on_click(SimpleNamespace(control=control, data=None))
    if asyncio.iscoroutine(result):
        result = asyncio.run(result)
    return result


def tap_tab(shell: Shell, index: int) -> None:
    """What Flet does on a tap of the bar: the client's index on the bar, then its on_change."""
    bar = shell.nav
    bar.selected_index = index
    assert bar.on_change is not None
    bar.on_change(SimpleNamespace(control=bar, data=str(index)))


def labels(shell: Shell) -> list[str]:
    return [str(d.label) for d in shell.nav.destinations]


def no_crash(shell: Shell, where: str) -> None:
    shown = "\n".join(texts(shell.body))
    assert not shell.faults, f"{where}: {shell.faults!r}"
    for sign in ENGLISH_CRASH:
        assert sign not in shown, f"{where}: {sign!r} shown:\n{shown}"


def test_one_phone_officer_leader_officer_other_officer(make_app: Apps, hq: Hq) -> None:
    app = make_app()
    url = hq.serve().url
    shell = Shell(app, screens=make_screen)
    shell.start()
    sequence: list[tuple[Officer, list[str]]] = [
        (OFFICER, OFFICER_TABS),
        (LEADER, LEADER_TABS),
        (OFFICER, OFFICER_TABS),
        (OFFICER_B, OFFICER_TABS),
    ]
    for turn, (officer, tabs) in enumerate(sequence):
        sign_in(app, url, officer)
        shell.go("today")
        who = f"{turn}: {officer.badge}"
        assert labels(shell) == tabs, who
        assert app.squad.is_leader is (tabs is LEADER_TABS)
        # nothing of the previous user: no search, no squad day or filters, no messages
        assert app.subjects.query == "", who
        assert app.subjects.results == [], who
        assert app.squad.filters == type(app.squad.filters)(), who
        assert app.squad.day == app.squad.today(), who
        assert shell.messages == [], who
        for index, name in enumerate(tabs):
            tap_tab(shell, index)
            assert labels(shell) == tabs, f"{who} on {name}"
            assert shell.nav.visible, f"{who} on {name}"
            assert shell.nav.selected_index == index, f"{who} on {name}"
            if name in SCREEN_OF:
                assert any(SCREEN_OF[name] in text for text in texts(shell.body)), f"{who} on {name}"
            no_crash(shell, f"{who} on {name}")
        # leave something behind for the next user: a search, a squad day, a message
        app.subjects.search("老周")
        if app.squad.is_leader:
            app.squad.step_day(-1)
            app.squad.set_filter(stage=3)
        shell.message("上一位的消息")
        # signing out from 设置 (the last tab, the highest index of the bar)
        shell.go("settings")
        click(shell, "退出登录")
        assert shell.route == "signin", who
        assert not app.session.signed_in
        index = shell.nav.selected_index or 0
        assert 0 <= index < max(len(shell.nav.destinations), 1), f"{who}: index {index} after sign-out"
        no_crash(shell, f"{who} signed out")


def test_a_tap_on_a_bar_that_no_longer_fits_goes_to_today(make_app: Apps, hq: Hq) -> None:
    app = make_app()
    sign_in(app, hq.serve().url, LEADER)
    shell = Shell(app, screens=make_screen)
    shell.start()
    tap_tab(shell, 5)
    assert shell.route == "settings"
    tap_tab(shell, 7)  # the index the eight-tab bar gave: out of this bar's range
    assert shell.route == "today"
    assert shell.nav.selected_index == 0
    no_crash(shell, "after the stale index")


def test_drafts_stay_with_their_officer(make_app: Apps, hq: Hq) -> None:
    app = make_app()
    url = hq.serve().url
    sign_in(app, url, OFFICER)
    draft = app.drafts.start()
    app.session.sign_out()
    assert app.drafts.draft is None  # not in memory for the next officer...
    assert app.store.meta_get(DRAFT_KEY.format(badge=OFFICER.badge)) is not None  # ...but kept
    sign_in(app, url, OFFICER_B)
    assert app.drafts.resume() is None
    app.session.sign_out()
    sign_in(app, url, OFFICER)
    resumed = app.drafts.resume()
    assert resumed is not None
    assert resumed.case_id == draft.case_id


# -- the error card ----------------------------------------------------------------------------------------


@pytest.fixture
def app(make_app: Apps, hq: Hq) -> AppState:
    app = make_app()
    sign_in(app, hq.serve().url)
    return app


def assert_card(shell: Shell) -> None:
    shown = texts(shell.body)
    assert "出错了" in shown, shown
    assert "回到今日" in shown, shown
    assert not any(sign in text for text in shown for sign in ENGLISH_CRASH), shown
    assert shell.route == "error"


def test_a_raising_handler_shows_the_card_and_logs(
    app: AppState, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    shell = Shell(app, screens=make_screen)
    shell.start()

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise ValueError("broken on purpose")

    monkeypatch.setattr(app.today, "start_shift", broken)
    with caplog.at_level(logging.ERROR, logger="mobile.views.shell"):
        click(shell, "开始值班")  # does not raise
    assert_card(shell)
    assert [type(exc) for exc in shell.faults] == [ValueError]
    assert any(r.exc_info and "broken on purpose" in str(r.exc_info[1]) for r in caplog.records), caplog.text
    click(shell, "回到今日")
    assert shell.route == "today"
    assert "新建案件" in texts(shell.body)
    assert labels(shell) == OFFICER_TABS
    assert shell.nav.visible


def test_an_english_locale_card(app: AppState, monkeypatch: pytest.MonkeyPatch) -> None:
    app.settings.update(lang="en")
    shell = Shell(app, screens=make_screen)
    shell.start()
    monkeypatch.setattr(app.today, "start_shift", lambda *a, **k: 1 / 0)
    click(shell, "Start shift")
    shown = texts(shell.body)
    assert "Something went wrong" in shown, shown
    assert "Back to Today" in shown, shown


def test_a_screen_that_fails_to_build_shows_the_card(app: AppState, monkeypatch: pytest.MonkeyPatch) -> None:
    shell = Shell(app, screens=make_screen)
    shell.start()

    def broken_build(self: SubjectsView) -> ft.Control:
        raise KeyError("no such field")

    monkeypatch.setattr(SubjectsView, "build", broken_build)
    shell.go("subjects")
    assert_card(shell)
    shell.go("today")
    assert "新建案件" in texts(shell.body)


def test_a_background_update_that_fails_shows_the_card(
    app: AppState, monkeypatch: pytest.MonkeyPatch
) -> None:
    shell = Shell(app, screens=make_screen)
    shell.start()
    monkeypatch.setattr(app.today, "shift", lambda *a, **k: 1 / 0)
    app.link.notify()  # the sync worker's news: Today re-renders from state
    assert_card(shell)
    assert isinstance(shell.faults[0], ZeroDivisionError)


def test_flet_session_crash_shows_the_card(app: AppState) -> None:
    shell = Shell(app, screens=make_screen)
    shell.start()
    shell.crashed("list index out of range\nTraceback (most recent call last): ...")
    assert_card(shell)


def test_async_handlers_are_guarded(app: AppState) -> None:
    shell = Shell(app, screens=make_screen)
    shell.start()

    async def handler(e: Any) -> None:
        raise RuntimeError("async boom")

    guarded = shell.guard(handler)
    assert asyncio.iscoroutinefunction(guarded)
    asyncio.run(guarded(None))
    assert_card(shell)
    assert shell.guard(guarded) is guarded


def test_the_draft_survives_a_fault_in_the_wizard(app: AppState, monkeypatch: pytest.MonkeyPatch) -> None:
    shell = Shell(app, screens=make_screen)
    shell.start()
    click(shell, "新建案件")
    assert shell.route == "new_case"
    draft = app.drafts.draft
    assert draft is not None
    stored = app.store.meta_get(DRAFT_KEY.format(badge=OFFICER.badge))
    assert stored is not None

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("wizard fault")

    # every handler of the wizard's current step fails now
    for node in tree(shell.body):
        for name in ("on_click", "on_change"):
            if getattr(node, name, None) is not None:
                setattr(node, name, shell.guard(broken))
    tappable = next(n for n in tree(shell.body) if getattr(n, "on_click", None) is not None)
    tappable.on_click(SimpleNamespace(control=tappable, data=None))
    assert_card(shell)
    assert app.store.meta_get(DRAFT_KEY.format(badge=OFFICER.badge)) == stored  # nothing discarded
    click(shell, "回到今日")
    click(shell, "新建案件")
    assert app.drafts.draft is not None
    assert app.drafts.draft.case_id == draft.case_id
