"""The dashboard's zones page (``hq.dash.zones``): upload (multipart and raw), all-or-nothing refusal with
every bad feature by index in zh + en, the download, and the tile-free plan with the day's cases."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import httpx
import pytest

from enforcement.model import LOCAL_TZ, Stage
from enforcement.zones import parse_collection
from hq.dash.board import COOKIE
from hq.dash.zones import CLASS_COLOURS, SPOT_COLOUR, CaseDot, Projection, zones_svg
from hq.demo_zones import LAT, LON, demo_zones
from hq.zones import export_zones
from testkit.hqkit import HQ_USER, LEADER, OFFICER, Hq, make_case, make_hq, push_body, sign_in


def encoded(doc: dict) -> bytes:
    return json.dumps(doc, ensure_ascii=False).encode("utf-8")


@pytest.fixture
def hq(tmp_path: Path) -> Iterator[Hq]:
    hq = make_hq(tmp_path)
    yield hq
    hq.close()


@pytest.fixture
def browser(hq: Hq) -> Iterator[httpx.Client]:
    with hq.client() as client:
        token = sign_in(client, HQ_USER, "web-hq")["Authorization"].split()[1]
    with hq.client(cookies={COOKIE: token}) as browser:
        yield browser


def upload(browser: httpx.Client, data: bytes) -> httpx.Response:
    files = {"file": ("zones.geojson", data, "application/geo+json")}
    return browser.post("/dashboard/zones", files=files)


def test_before_any_import_the_page_says_so_and_the_board_links_here(browser: httpx.Client) -> None:
    page = browser.get("/dashboard/zones")
    assert page.status_code == 200
    assert "尚未导入区域" in page.text
    assert 'enctype="multipart/form-data"' in page.text
    board = browser.get("/dashboard", params={"until": "2026-11-22"})
    assert 'href="/dashboard/zones?day=2026-11-22" id="zones-link"' in board.text
    assert "<style" not in page.text
    assert "<script" not in page.text
    assert " style=" not in page.text


def test_a_multipart_upload_imports_the_file_and_the_page_draws_it(browser: httpx.Client, hq: Hq) -> None:
    answer = upload(browser, encoded(demo_zones()))
    assert answer.status_code == 200, answer.text[:300]
    assert "已导入第 1 版：共 18 个要素（新增 18，修改 0，删除 0）" in answer.text
    assert "Imported version 1: 18 features" in answer.text
    assert "街道 6，中队辖区 2，网格 5，疏导点 5" in answer.text
    assert export_zones(hq.storage)["properties"]["version"] == 1
    svg = answer.text[answer.text.index("<svg") : answer.text.index("</svg>")]
    assert svg.count('class="street"') == 6
    assert svg.count('class="squad-area"') == 2
    assert svg.count('class="grid-cell"') == 5
    assert svg.count('class="spot"') == 5
    assert f'stroke="{CLASS_COLOURS[next(iter(CLASS_COLOURS))]}"' in svg
    assert "人民路 · 商业街" in svg
    assert "人民路夜市疏导点" in answer.text
    # the same file again is a new version with nothing changed
    again = browser.post("/dashboard/zones", content=encoded(demo_zones()),
                         headers={"Content-Type": "application/geo+json"})  # fmt: skip
    assert again.status_code == 200
    assert "已导入第 2 版：共 18 个要素（新增 0，修改 0，删除 0）" in again.text


def test_a_bad_file_is_refused_whole_with_every_bad_feature_by_index(browser: httpx.Client, hq: Hq) -> None:
    assert upload(browser, encoded(demo_zones())).status_code == 200
    bad = copy.deepcopy(demo_zones())
    bad["features"][0]["properties"]["class"] = "boulevard"  # feature 0: an unknown street class
    bad["features"][3]["geometry"]["coordinates"] = [[113.6, 34.7]]  # feature 3: a one-point line
    bad["features"].append(bad["features"][5])  # feature 18: a repeated id
    answer = upload(browser, encoded(bad))
    assert answer.status_code == 422
    text = answer.text
    assert "区域文件有 3 处错误，未导入任何内容" in text
    assert "3 problem(s) in the zone file; nothing was imported" in text
    indexes = re.findall(r'<tr><td class="n">(\d+)</td>', text)
    assert indexes == ["0", "3", "18"]
    assert "属性 class 应为 model（示范街）、regulated（规范街）或 commercial（商业街）" in text
    assert "property class must be model, regulated or commercial" in text
    assert "a line or ring has fewer than 2 positions" in text
    assert export_zones(hq.storage)["properties"]["version"] == 1  # nothing half-imported
    broken = upload(browser, b"{not json")
    assert broken.status_code == 422
    assert '<td class="n">文件 file</td>' in broken.text
    assert "the file is not UTF-8 JSON" in broken.text


def test_the_download_is_the_current_set(browser: httpx.Client, hq: Hq) -> None:
    empty = browser.get("/dashboard/zones.geojson")
    assert empty.status_code == 200
    assert empty.json()["features"] == []
    upload(browser, encoded(demo_zones()))
    answer = browser.get("/dashboard/zones.geojson")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/geo+json")
    assert 'filename="zones.geojson"' in answer.headers["content-disposition"]
    assert answer.json() == export_zones(hq.storage)
    assert parse_collection(answer.content).ok  # what was downloaded imports again


def test_the_chosen_days_cases_are_dots(browser: httpx.Client, hq: Hq) -> None:
    upload(browser, encoded(demo_zones()))
    with hq.client() as client:
        auth = sign_in(client, OFFICER, "dev-1023")
        cases = [
            make_case(OFFICER, seq=1, occurred_at=datetime(2026, 11, 22, 21, 30, tzinfo=LOCAL_TZ)),
            make_case(OFFICER, seq=2, occurred_at=datetime(2026, 11, 22, 21, 40, tzinfo=LOCAL_TZ),
                      violation_code="0501"),
            make_case(OFFICER, seq=1, occurred_at=datetime(2026, 11, 21, 20, 0, tzinfo=LOCAL_TZ)),
        ]  # fmt: skip
        pushed = client.post("/v1/push", json=push_body("dev-1023", *cases), headers=auth)
        assert pushed.status_code == 200
    day = browser.get("/dashboard/zones", params={"day": "2026-11-22"})
    assert day.text.count('class="case"') == 2
    assert "2026-11-22：2 起有定位的案件" in day.text
    assert "21:40 0501" in day.text
    before = browser.get("/dashboard/zones", params={"day": "2026-11-21"})
    assert before.text.count('class="case"') == 1
    assert browser.get("/dashboard/zones", params={"day": "2026-13-01"}).status_code == 422


def test_other_roles_and_no_session(hq: Hq) -> None:
    with hq.client() as client:
        assert "指挥中心看板 · 登录" in client.get("/dashboard/zones").text
        assert client.get("/dashboard/zones.geojson").status_code == 401
        assert client.post("/dashboard/zones", content=encoded(demo_zones())).status_code == 401
        token = sign_in(client, LEADER, "web-leader")["Authorization"].split()[1]
    with hq.client(cookies={COOKIE: token}) as leader:
        assert leader.get("/dashboard/zones").status_code == 403
        assert leader.post("/dashboard/zones", content=encoded(demo_zones())).status_code == 403
        assert leader.get("/dashboard/zones.geojson").status_code == 403
    assert export_zones(hq.storage)["properties"]["version"] == 0


def test_the_plan_keeps_north_up_and_east_right_at_one_scale() -> None:
    projection = Projection.fit((LON - 0.01, LAT - 0.01, LON + 0.01, LAT + 0.01), 600, 600, 20)
    cx, cy = projection.xy(LON, LAT)
    ex, ey = projection.xy(LON + 0.001, LAT)
    nx, ny = projection.xy(LON, LAT + 0.001)
    assert (round(cx), round(cy)) == (300, 300)
    assert ex > cx
    assert ey == pytest.approx(cy)
    assert ny < cy
    assert nx == pytest.approx(cx)
    # one scale: 100 m east and 100 m north are as long on the picture
    east = projection.xy(LON + 100 / projection.per_lon, LAT)[0] - cx
    north = cy - projection.xy(LON, LAT + 100 / 110_574.0)[1]
    assert east == pytest.approx(north)
    zones = parse_collection(encoded(demo_zones())).zones
    svg = zones_svg(zones, [CaseDot(LAT, LON, Stage.WARNING, "21:30 0501 <x>")])
    assert svg.count('class="case"') == 1
    assert "&lt;x&gt;" in svg
    assert SPOT_COLOUR in svg
    assert "尚未导入区域" in zones_svg([], [])


def test_the_board_day_is_today_by_default(browser: httpx.Client, hq: Hq) -> None:
    page = browser.get("/dashboard/zones")
    today = hq.clock().astimezone(LOCAL_TZ).date()
    assert f'value="{today.isoformat()}"' in page.text
    assert today >= date(2026, 1, 1)
