"""Issue #14's small items on the leader's squad screen in Chromium, over the fixture day (the leader's
phone prepared as in test_leader_fixture_day, offline): two cases on the same spot of the plan get a count
badge, and the exported day log says where the file went (the browser's downloads), not a server path.
Screenshot: artifacts/screenshots/leader-form-plan.png."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from patrollog.plan import SPOT_BADGE
from testkit.browser import Browser, Screen
from testkit.harness import AppServer
from tests.e2e.leaderui import LeaderUi, screenshot_unhovered
from tests.e2e.test_leader_fixture_day import DAY, box_of, colour_counts, near, prepare_phone, scroll_to_top
from tests.mobile.statekit import dead_url
from tests.patrollog.dayfixture import Day, fixture_day

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def day() -> Day:
    return fixture_day()


@pytest.fixture(scope="module")
def leader_phone(e2e_root: Path, day: Day) -> Iterator[AppServer]:
    data_dir = e2e_root / "leader-phone"
    prepare_phone(data_dir, day)
    with AppServer(data_dir, dead_url(), e2e_root / "leader-phone.log") as server:
        yield server


@pytest.fixture(scope="module")
def screen(browser: Browser, leader_phone: AppServer) -> Iterator[Screen]:
    with browser.new_screen(leader_phone.url) as page:
        yield page


@pytest.fixture(scope="module")
def ui(screen: Screen) -> LeaderUi:
    return LeaderUi(screen)


def test_cases_on_one_spot_get_a_count_badge(ui: LeaderUi) -> None:
    s = ui.s
    s.wait_control("tab", "审核")
    ui.squad()
    s.fill("日期（年-月-日）", DAY)
    s.tap("查看")
    s.wait_text(f"中队 · {DAY}")
    s.settle()
    scroll_to_top(s, "案件位置示意图")
    plan_top = box_of(s, "案件位置示意图")
    legend = box_of(s, "劝导", below=plan_top["y"])
    plan = {"x": 0.0, "y": plan_top["y"] + plan_top["height"], "width": 412.0}
    plan["height"] = legend["y"] - plan["y"] - 4
    pixels = colour_counts(s, plan)
    # the fixture day has two pairs of cases on one spot (18:20 and 19:10, 19:45 and 20:05): two badges
    assert near(pixels, SPOT_BADGE, tolerance=8) > 160, pixels.most_common(8)  # one badge: ~120 px
    screenshot_unhovered(s, "leader-form-plan")


def test_export_says_the_file_is_in_the_downloads(ui: LeaderUi) -> None:
    s = ui.s
    s.tap("导出 CSV")
    s.wait_text("已下载：daylog-ZD01-2026-11-22.csv（在浏览器的“下载”文件夹中）", timeout=40)
    assert "/exports/" not in s.semantics_text()  # no path of the server's disk
