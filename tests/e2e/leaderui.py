"""The squad leader's screens (中队, 审核) as a leader goes through them, plus a sync tap that works for
officers and leaders alike (labels from mobile/i18n.py and mobile/i18n_leader.py).

The review queue shows a 通过 and a 退回 button for every waiting case, with nothing in the semantics tree
tying a button to its case; the n-th case of the queue (in screen order) owns the n-th pair, so a case's
buttons are found by the case's place among the queue's case numbers.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from testkit.browser import VIEWPORT, Screen
from testkit.officer_ui import OfficerUi

T = TypeVar("T")

#: A case number followed by its version, as a queue item shows it: ``ZD01-1023-261206-AB12C-0001 · 第 1 版``.
QUEUE_LINE_RE = re.compile(r"([A-Z0-9]+-[A-Z0-9]+-\d{6}-[0-9A-Z]{5}-\d+) · 第 (\d+) 版")
DECIDED = "已处理"  # review.decided: the heading above the decided cases


def until(check: Callable[[], T | None], what: str, *, timeout: float = 30.0, every: float = 0.2) -> T:
    """Poll ``check`` until it returns something truthy (returned); AssertionError naming ``what`` after
    ``timeout`` seconds. For state outside the page (HQ's API), where there is nothing to wait on."""
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        time.sleep(every)


def screenshot_unhovered(screen: Screen, name: str) -> Path:
    """``Screen.screenshot`` with the mouse moved off the controls first (the last tap leaves it on a
    bottom-bar tab, whose tooltip would cover the screen's lower part)."""
    screen._run(lambda: screen.page.mouse.move(VIEWPORT["width"] - 2, 2))
    return screen.screenshot(name)


class LeaderUi(OfficerUi):
    """The leader's phone: everything an officer's has (sign-in, Today, new case) plus 中队 and 审核."""

    def sync_now(self) -> None:
        """Today's 立即同步 (the status line's button). The leader's review screens have none: this goes
        to 今日 first; the caller goes back to the screen it wants."""
        self.tab("今日")
        self.s.tap("立即同步")

    def squad(self) -> None:
        self.tab("中队")
        self.s.wait_text("执勤队员")

    def review(self) -> None:
        self.tab("审核")
        self.s.wait_text("审核队列 · ")

    def queue(self) -> list[tuple[str, int]]:
        """(case no, version) of each waiting case, in screen order."""
        text = self.s.semantics_text().split("\n" + DECIDED + "\n")[0]
        return [(no, int(version)) for no, version in QUEUE_LINE_RE.findall(text)]

    def wait_queued(self, case_no: str, version: int, *, timeout: float = 30.0) -> None:
        self.s.wait_text(f"{case_no} · 第 {version} 版", timeout=timeout)
        self.s.settle()
        if (case_no, version) not in self.queue():
            raise AssertionError(f"{case_no} v{version} is not waiting:\n{self.s.semantics_text()}")

    def _tap_for(self, case_no: str, button: str) -> None:
        """Tap ``button`` (通过 or 退回) of ``case_no``'s queue item."""
        self.s.settle()
        order = [no for no, _ in self.queue()]
        if case_no not in order:
            raise AssertionError(f"{case_no} is not in the queue:\n{self.s.semantics_text()}")
        index = order.index(case_no)
        buttons = self.s.count("button", button)
        if buttons != len(order):
            raise AssertionError(f"{len(order)} queued cases but {buttons} {button!r} buttons")
        self.s._run(lambda: self.s.page.get_by_role("button", name=button, exact=True).nth(index).click())
        self.s.taps += 1
        self.s.tap_log.append(f"{button} {case_no}")

    def start_return(self, case_no: str, reason: str) -> None:
        """退回 on ``case_no`` and type the reason (confirm with ``confirm_return``)."""
        self._tap_for(case_no, "退回")
        self.s.wait_control("button", "确认退回")
        self.s.settle()
        self.s.fill("退回理由", reason)

    def confirm_return(self, case_no: str) -> None:
        self.s.tap("确认退回")
        self.s.wait_text(f"已退回：{case_no}")

    def approve(self, case_no: str) -> None:
        self._tap_for(case_no, "通过")
        self.s.wait_text(f"已通过：{case_no}")
