import re
from dataclasses import replace
from datetime import date

import pytest

from enforcement.catalogue import load_catalogue
from enforcement.model import Location, Stage
from patrollog.daylog import build_daylog
from patrollog.plan import PlanPoint, metres, place, plan_points, plan_svg
from tests.patrollog.dayfixture import fixture_day


def test_projection_is_metres_east_and_north() -> None:
    # 0.01° of latitude ≈ 1105.7 m; 0.01° of longitude at 34.75° N ≈ 1113.2 × cos(34.75°) ≈ 914.6 m
    points = [PlanPoint(34.75, 113.62, Stage.PERSUASION, "a"), PlanPoint(34.76, 113.63, Stage.PENALTY, "b")]
    (x0, y0), (x1, y1) = metres(points)
    assert x1 - x0 == pytest.approx(914.6, abs=0.5)
    assert y1 - y0 == pytest.approx(1105.7, abs=0.5)
    assert (x0 + x1, y0 + y1) == pytest.approx((0.0, 0.0), abs=1e-6)


def test_placement_keeps_one_scale_and_north_up() -> None:
    west = PlanPoint(34.75, 113.62, Stage.PERSUASION, "west")
    east = PlanPoint(34.75, 113.64, Stage.WARNING, "east")  # ~1829 m east
    north = PlanPoint(34.76, 113.63, Stage.PENALTY, "north")  # ~1106 m north of the others
    placed, scale = place([west, east, north], 600, 440, 28)
    w, e, n = placed
    assert e.x > w.x
    assert n.y < w.y  # north is up
    assert w.y == pytest.approx(e.y)
    assert (e.x - w.x) / (w.y - n.y) == pytest.approx(1829.2 / 1105.7, rel=1e-3)
    assert scale == pytest.approx((600 - 56) / 1829.2, rel=1e-3)  # the wider extent sets the scale
    assert min(p.x for p in placed) == pytest.approx(28)
    assert max(p.x for p in placed) == pytest.approx(600 - 28)


def test_one_case_and_no_case() -> None:
    placed, _ = place([PlanPoint(34.75, 113.62, Stage.PERSUASION, "only")], 600, 440, 28)
    assert (placed[0].x, placed[0].y) == (300.0, 220.0)
    empty = plan_svg([], missing=2)
    assert "无定位案件" in empty
    assert "另有 2 起无定位" in empty
    assert 'r="6"' not in empty  # no case dots, only the legend's


def test_plan_of_the_fixture_day() -> None:
    day = fixture_day()
    log = build_daylog(date(2026, 11, 22), "ZD01", cases=day.cases, shifts=[], reviews=[],
                       catalogue=load_catalogue())  # fmt: skip
    lines = list(log.lines)
    lines[0] = replace(lines[0], location=Location(address="室内", no_fix_reason="室内无信号"))
    points, missing = plan_points(lines)
    assert (len(points), missing) == (5, 1)  # 7 lines: one without a fix, one voided
    svg = plan_svg(points, missing=missing)
    assert len(re.findall(r'<circle cx="[\d.]+" cy="[\d.]+" r="6"', svg)) == 5
    assert "21:40 露天烧烤 ZD01-1023-261122-K7Q2M-0003" in svg
    assert re.search(r">\d+(\.\d+)? (米|千米)</text>", svg)
    for word in ("北", "劝导", "警告", "处罚", "另有 1 起无定位"):
        assert word in svg
