"""A sign-out half-way, in Chromium through a real, seeded HQ: officer 1023 is typing the place of a case in
the new-case wizard on one page of the app; on a second page of the same phone (two tabs of the web app
share one phone's state) the officer signs out and squad leader 1001 signs in. The first page leaves the
wizard at once: the sign-in screen, then the leader's 今日, never Flet's English overlay and nothing the
officer typed. When the officer signs in again, 新建案件 opens the draft with the place as typed.

The non-browser twin is ``test_sign_out_on_another_page_while_the_wizard_is_open`` in
tests/mobile/test_views_guard.py."""

from __future__ import annotations

import pytest

from testkit.browser import Browser, Screen
from testkit.harness import AppServer
from testkit.officer_ui import OfficerUi
from tests.e2e.test_shared_phone import no_crash, seeded_pin, sign_out, tab_names

pytestmark = pytest.mark.browser

PLACE = "人民路 12 号东侧烧烤摊"
LEADER_TABS = ["今日", "中队", "审核", "当事人", "同步", "设置"]


def field_text(screen: Screen, label: str) -> str:
    """What the text field labelled ``label`` holds (Flutter puts it in the semantics input once focused)."""

    def go() -> str:
        box = screen._textbox(label).first
        box.click()
        screen.page.wait_for_timeout(300)
        return str(box.input_value())

    return screen._run(go)


def test_sign_out_on_another_page_while_the_wizard_is_open(
    screen: Screen, browser: Browser, app_server: AppServer
) -> None:
    officer = OfficerUi(screen)
    officer.sign_in("1023", seeded_pin("1023"))
    officer.new_case("露天烧烤")
    officer.step(2)
    screen.fill("街道与标志物", PLACE)
    screen.pause(1.5)  # the text reaches the app (each key goes into the draft)
    assert PLACE in screen.semantics_text()

    with browser.new_screen(app_server.url) as other:
        second = OfficerUi(other)
        other.wait_control("button", "新建案件", timeout=40)  # the same phone: 1023 is signed in here too
        sign_out(second)

        screen.wait_control("textbox", "执法证号")  # the wizard's page left it by itself
        screen.settle()
        no_crash(screen, "signed out on the other page")
        assert PLACE not in screen.semantics_text()
        assert tab_names(screen) == []

        second.sign_in("1001", seeded_pin("1001"))
        screen.wait_control("button", "新建案件", timeout=40)
        screen.wait_control("tab", "审核")
        screen.settle()
        shown = screen.semantics_text()
        no_crash(screen, "the leader signed in on the other page")
        assert "张伟" in shown, shown
        assert PLACE not in shown
        assert tab_names(screen) == LEADER_TABS
        screen.screenshot("sign-out-elsewhere-leader")

        sign_out(second)
        screen.wait_control("textbox", "执法证号")
        second.sign_in("1023", seeded_pin("1023"))

    screen.wait_control("button", "新建案件", timeout=40)
    screen.settle()
    screen.tap("新建案件")
    screen.wait_text("2/7 ·")
    screen.settle()
    assert field_text(screen, "街道与标志物") == PLACE  # the officer's draft, as typed
    no_crash(screen, "the officer back in the wizard")
