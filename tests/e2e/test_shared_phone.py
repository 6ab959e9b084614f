"""Issue #14, shared squad phones, in Chromium through a real, seeded HQ: one phone, one browser page,
officer 1023 → leader 1001 → officer 1023 → officer 1024 signing in and out in turn. After each sign-in the
bottom bar holds exactly the signed-in role's tabs (officers 今日/当事人/同步/设置; the leader 中队 and 审核
too), every tab opens its screen once tapped, and no screen shows Flet's English crash overlay ("Error
running app", "out of range").

A second part taps a button the app was started to fail on (``STREETPATROL_TEST_FAULT``, read only by the
shell's handler guard): the screen shows the Chinese error card, never Flet's overlay, and 今日 is
reachable from it.

The non-browser twin of the sequence is tests/mobile/test_views_shared_phone.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from hq.demo import USERS
from testkit.browser import Screen
from testkit.harness import AppServer, HqServer
from testkit.officer_ui import OfficerUi

pytestmark = pytest.mark.browser

OFFICER_TABS = ["今日", "当事人", "同步", "设置"]
LEADER_TABS = ["今日", "中队", "审核", "当事人", "同步", "设置"]
#: Each tab and a text its screen shows once it is open.
SCREEN_OF = {
    "今日": "新建案件",
    "中队": "执勤队员",
    "审核": "审核队列 · ",
    "当事人": "按车牌、电话或姓名搜索",
    "同步": "立即同步",
    "设置": "退出登录",
}
#: The button the app of this module fails on (a deliberate fault, see the module doc).
FAULT_BUTTON = "立即同步"
CRASH_SIGNS = ("Error running app", "out of range", "Error", "Traceback", "Exception")


def seeded_pin(badge: str) -> str:
    return next(user.pin for user in USERS if user.officer.badge == badge)


@pytest.fixture(scope="module")
def app_server(hq: HqServer, e2e_root: Path) -> Iterator[AppServer]:
    """conftest's app, started with a deliberate fault on ``FAULT_BUTTON``'s handler."""
    server = AppServer(e2e_root / "phone", hq.url, e2e_root / "app.log")
    server.env["STREETPATROL_TEST_FAULT"] = FAULT_BUTTON
    with server:
        yield server


def tab_names(screen: Screen) -> list[str]:
    """The bottom bar's tabs, in order, by their accessible names."""
    script = """() => [...document.querySelectorAll('flt-semantics[role="tab"]')]
        .map(e => (e.getAttribute('aria-label') || e.textContent || '').trim())"""
    names = screen._run(lambda: list(screen.page.evaluate(script)))
    return [str(name).split("\n")[0] for name in names]


def no_crash(screen: Screen, where: str) -> None:
    text = screen.semantics_text()
    for sign in CRASH_SIGNS:
        assert sign not in text, f"{where}: {sign!r} on the screen:\n{text}"


def sign_out(ui: OfficerUi) -> None:
    ui.tab("设置")
    ui.s.tap("退出登录")
    ui.s.wait_control("textbox", "执法证号")
    ui.s.settle()
    assert tab_names(ui.s) == [], ui.s.semantics_text()
    no_crash(ui.s, "signed out")


def check_tabs(ui: OfficerUi, who: str, expected: list[str]) -> None:
    ui.s.settle()
    assert tab_names(ui.s) == expected, f"{who}: {tab_names(ui.s)}\n{ui.s.semantics_text()}"
    for name in expected:
        ui.tab(name)
        ui.s.wait_text(SCREEN_OF[name])
        ui.s.settle()
        no_crash(ui.s, f"{who} on {name}")
        assert tab_names(ui.s) == expected, f"{who} on {name}: {tab_names(ui.s)}"
    # back to the first tab: whatever index the last one left, the bar still fits
    ui.tab("今日")
    ui.s.wait_text(SCREEN_OF["今日"])


def test_one_phone_many_officers(screen: Screen) -> None:
    ui = OfficerUi(screen)
    sequence = [
        ("1023", seeded_pin("1023"), OFFICER_TABS),
        ("1001", seeded_pin("1001"), LEADER_TABS),
        ("1023", seeded_pin("1023"), OFFICER_TABS),
        ("1024", seeded_pin("1024"), OFFICER_TABS),
    ]
    for turn, (badge, pin, tabs) in enumerate(sequence):
        ui.sign_in(badge, pin)
        check_tabs(ui, f"{turn}: {badge}", tabs)
        if turn == 1:
            screen.screenshot("shared-phone-leader")
        sign_out(ui)
    # a reload after all that opens cleanly
    screen.reload()
    screen.wait_control("textbox", "执法证号")
    no_crash(screen, "reloaded")


def test_a_faulty_button_shows_the_chinese_card(screen: Screen) -> None:
    ui = OfficerUi(screen)
    ui.sign_in("1023", seeded_pin("1023"))
    ui.tab("今日")
    screen.settle()
    screen.tap(FAULT_BUTTON)
    screen.wait_text("出错了")
    screen.settle()
    no_crash(screen, "after the fault")
    screen.screenshot("shared-phone-error-card")
    screen.tap("回到今日")
    screen.wait_control("button", "新建案件")
    no_crash(screen, "back on today")
    assert tab_names(screen) == OFFICER_TABS
