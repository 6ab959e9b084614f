"""Issue #14's small items on the leader's squad screen, built without a browser: the export says where the
file is for the officer (a browser download, the phone's save dialog, or a real local path), the chart's
names are never broken inside a word, and cases on one spot of the plan are one dot with their count."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

import flet as ft
import flet.canvas as cv
import flet_charts as fc
import pytest

from enforcement.model import Location, Stage
from mobile.state.app_state import AppState
from mobile.state.squad_export import Exported
from mobile.views.squad import SquadView
from patrollog.plan import PlanPoint, place, plan_svg, spots
from tests.mobile.statekit import Apps
from tests.mobile.test_views_leader import open_screen, signed_in
from tests.mobile.viewkit import controls, texts
from tests.patrollog.dayfixture import Day, fixture_day


@pytest.fixture
def day() -> Day:
    return fixture_day()


@pytest.fixture
def app(make_app: Apps, day: Day) -> AppState:
    return signed_in(make_app, day)


#: The fixture day's cases by name (``Day.a`` ...).
NAMED = ("a", "b", "c", "d", "e1", "e2", "f", "g2")


class Platform:
    def __init__(self, mobile: bool) -> None:
        self.mobile = mobile

    def is_mobile(self) -> bool:
        return self.mobile


class FakePage:
    """The page as the export asks it: web or not, a phone or not; everything else does nothing."""

    def __init__(self, *, web: bool, mobile: bool) -> None:
        self.web = web
        self.platform = Platform(mobile)

    def __getattr__(self, name: str) -> Any:
        return lambda *a, **k: None


def export_on(app: AppState, page: FakePage, picked: str | None) -> tuple[Any, list[Exported]]:
    shell = open_screen(app, "squad")
    screen = shell.screen
    assert isinstance(screen, SquadView)
    offered: list[Exported] = []

    async def dialog(result: Exported) -> str | None:
        offered.append(result)
        return picked

    screen.save_dialog = dialog  # type: ignore[method-assign]
    shell.page = page  # type: ignore[assignment]
    asyncio.run(screen.export_pdf())
    return shell, offered


def test_export_in_a_browser_says_it_is_in_the_downloads(app: AppState) -> None:
    shell, offered = export_on(app, FakePage(web=True, mobile=False), None)
    assert [o.filename for o in offered] == ["daylog-ZD01-2026-11-22.pdf"]
    where = "已下载：daylog-ZD01-2026-11-22.pdf（在浏览器的“下载”文件夹中）"
    assert shell.messages[-1] == where
    assert where in texts(shell.body)
    assert not [t for t in texts(shell.body) if str(app.squad_export.directory) in t]  # no server path


def test_export_on_a_phone_says_the_path_chosen_in_full(app: AppState) -> None:
    chosen = "/storage/emulated/0/Download/daylog-ZD01-2026-11-22.pdf"
    shell, offered = export_on(app, FakePage(web=False, mobile=True), chosen)
    assert offered[0].data.startswith(b"%PDF-")
    assert f"已保存到手机：{chosen}" in texts(shell.body)
    shell, _ = export_on(app, FakePage(web=False, mobile=True), None)  # the officer cancelled
    assert "未选择保存位置，daylog-ZD01-2026-11-22.pdf 未存到手机存储；可再点导出" in texts(shell.body)


def test_chart_names_are_never_broken_inside_a_word(app: AppState) -> None:
    shell = open_screen(app, "squad")
    [chart] = [c for c in controls(shell.body) if isinstance(c, fc.BarChart)]
    assert chart.bottom_axis is not None
    names = [c for c in controls(chart.bottom_axis) if isinstance(c, ft.Text)]
    assert names
    for name in names:  # a Chinese name on one line, turned upright along its bar
        assert name.max_lines == 1
    turned = [c for c in controls(chart.bottom_axis) if isinstance(c, ft.RotatedBox)]
    assert len(turned) == len(names)
    longest = max(len(t.value or "") for t in names)
    assert chart.bottom_axis.label_size >= longest * 12  # room for the longest name, whole
    app.settings.update(lang="en")
    shell.render()
    [chart] = [c for c in controls(shell.body) if isinstance(c, fc.BarChart)]
    assert chart.bottom_axis is not None
    for box in (c for c in controls(chart.bottom_axis) if isinstance(c, ft.Container) and c.width):
        text = box.content
        assert isinstance(text, ft.Text)
        longest_word = max(len(w) for w in str(text.value).split())
        assert box.width >= longest_word * 11 * 0.6  # the longest word fits on a line: wraps between words


def test_cases_on_one_spot_are_one_dot_with_their_count(make_app: Apps, day: Day) -> None:
    same = Location(lat=34.7466, lon=113.6253, accuracy_m=8, address="人民路 12 号")
    moved = {c.id: replace(c, location=same) for c in day.cases if c.officer_badge == day.a.officer_badge}
    spot_day = replace(
        day,
        cases=[moved.get(c.id, c) for c in day.cases],
        **{k: moved.get(getattr(day, k).id, getattr(day, k)) for k in NAMED},
    )
    app = signed_in(make_app, spot_day)
    points = app.squad.snapshot().points
    on_spot = sum(1 for p in points if (p.lat, p.lon) == (same.lat, same.lon))
    assert on_spot > 1
    shell = open_screen(app, "squad")
    [plan] = [c for c in controls(shell.body) if isinstance(c, cv.Canvas)]
    badges = [s for s in plan.shapes if isinstance(s, cv.Text) and s.data == "spot_count"]
    assert [b.value for b in badges] == [str(on_spot)]
    dots = [s for s in plan.shapes if isinstance(s, cv.Circle) and s.paint.style == ft.PaintingStyle.FILL]
    assert len({(d.x, d.y) for d in dots}) == len(points) - on_spot + 1  # one place for the spot's cases


def test_plan_groups_coincident_points_and_the_svg_counts_them() -> None:
    here = [PlanPoint(34.7466, 113.6253, stage, f"2{i}:00") for i, stage in enumerate(Stage)]
    there = PlanPoint(34.7566, 113.6353, Stage.PERSUASION, "22:30")
    placed, _ = place([*here, there], 600, 440, 28)
    found = spots(placed)
    assert [s.count for s in found] == [3, 1]
    assert found[0].stage is Stage.PENALTY  # the highest stage colours the spot
    svg = plan_svg([*here, there])
    assert svg.count('class="spot-count"') == 1
    assert ">3</text></g>" in svg
