"""Smoke: the seeded HQ harness answers and survives a restart; the officer app opens on its sign-in screen
in Chinese, with the shipped CJK font fetched (offline Flutter web would otherwise draw empty boxes)."""

from __future__ import annotations

import re

import pytest

from testkit.browser import Screen
from testkit.harness import HqApi, HqServer

pytestmark = pytest.mark.browser

#: The five history cases of hq/demo.py.
DEMO_CASES = 5


def test_hq_is_seeded_and_restartable(hq: HqServer) -> None:
    api = HqApi(hq.url)
    try:
        assert len(api.cases()) == DEMO_CASES
    finally:
        api.close()
    hq.stop()
    assert not hq.running
    hq.start()
    api = HqApi(hq.url)
    try:
        assert len(api.cases()) == DEMO_CASES
    finally:
        api.close()


def test_sign_in_screen_in_chinese(screen: Screen) -> None:
    screen.wait_control("textbox", "执法证号")
    text = screen.semantics_text()
    assert "街巡" in text, text
    assert screen.count("textbox", "执法证号") == 1, text
    assert screen.count("textbox", "PIN 密码") == 1, text
    assert screen.count("button", "登录") == 1, text
    assert re.search(r"[\u4e00-\u9fff]{2,}", text)
    fonts = [(url, status) for url, status in screen.responses if re.search(r"NotoSans\w*SC", url)]
    assert fonts, "the CJK font was not fetched: Chinese would render as empty boxes"
    assert all(status == 200 for _, status in fonts), fonts
    screen.screenshot("sign-in")
