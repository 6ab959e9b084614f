"""HQ's dashboard: the figures (hand-checked), HQ-only sign-in with an HttpOnly cookie, the Chinese 403
page, the CSV export, the chart, and (marked ``browser``) the page in Debian's Chromium."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date, datetime
from pathlib import Path

import httpx
import pytest

from enforcement.catalogue import load_catalogue
from enforcement.codec import to_json_dict
from enforcement.model import LOCAL_TZ, Case, CaseStatus, Stage, Subject, SubjectKind, new_id
from hq.dash.board import load_board
from hq.dash.caller import COOKIE
from hq.dash.chart import trend_svg
from hq.dash.fonts import FONT_URL
from hq.demo import seed_demo
from sync.protocol import PROTOCOL_VERSION
from testkit.chromium import chromium
from testkit.hqkit import (
    DISTRICT,
    HQ_USER,
    LEADER,
    OFFICER,
    OFFICER_C,
    PINS,
    Hq,
    make_case,
    make_hq,
    push_body,
    sign_in,
)

ROOT = Path(__file__).resolve().parents[3]


def at(day: int, hour: int) -> datetime:
    return datetime(2026, 11, day, hour, 30, tzinfo=LOCAL_TZ)


@dataclass
class World:
    hq: Hq
    client: httpx.Client
    subject: Subject
    conflict: Case


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    """HQ's clock: 2026-11-22 22:00 CST. Squad ZD01 (officer 1023) and ZD02 (officer 2031):

    - 20th: 1023 赵老三 0510 劝导; 21st: 1023 赵老三 0510 警告, 2031 0510 劝导;
    - 22nd: 1023 赵老三 0510 处罚 (3rd), 1023 0510 the phone says 警告, HQ 劝导 (a conflict),
      2031 a case voided in its 2nd version (not counted).
    """
    hq = make_hq(tmp_path)
    subject = Subject(new_id(), SubjectKind.MOBILE_VENDOR, name="赵老三烧烤", district=DISTRICT)
    with hq.client() as client:
        auth = sign_in(client, OFFICER, "dev-1023")
        record = {"kind": "subject", "id": subject.id, "device_seq": 1, "payload": to_json_dict(subject)}
        body = {"protocol": PROTOCOL_VERSION, "device_id": "dev-1023", "records": [record]}
        assert client.post("/v1/push", json=body, headers=auth).status_code == 200
        staged = [
            make_case(OFFICER, seq=1, occurred_at=at(20, 21), subject_id=subject.id, device_id="dev-1023"),
            make_case(OFFICER, seq=1, occurred_at=at(21, 21), subject_id=subject.id, device_id="dev-1023",
                      computed=Stage.WARNING),
            make_case(OFFICER, seq=1, occurred_at=at(22, 21), subject_id=subject.id, device_id="dev-1023",
                      computed=Stage.PENALTY),
        ]  # fmt: skip
        conflict = make_case(
            OFFICER, seq=2, occurred_at=at(22, 20), device_id="dev-1023", computed=Stage.WARNING
        )
        pushed = client.post(
            "/v1/push", json=push_body("dev-1023", *staged, conflict, first_seq=2), headers=auth
        )
        assert [r["status"] for r in pushed.json()["results"]] == ["accepted"] * 3 + ["conflict"]
        other = sign_in(client, OFFICER_C, "dev-2031")
        far = make_case(OFFICER_C, seq=1, occurred_at=at(21, 19), device_id="dev-2031")
        voided = make_case(OFFICER_C, seq=1, occurred_at=at(22, 19), device_id="dev-2031")
        gone = replace(voided, id=new_id(), version=2, supersedes=voided.id, status=CaseStatus.VOIDED)
        pushed = client.post("/v1/push", json=push_body("dev-2031", far, voided, gone), headers=other)
        assert all(r["status"] == "accepted" for r in pushed.json()["results"])
        yield World(hq, client, subject, conflict)
    hq.close()


def test_board_figures(world: World) -> None:
    with world.hq.storage.transaction(readonly=True) as tx:
        board = load_board(tx, date(2026, 11, 22), 3)
        one_day = load_board(tx, date(2026, 11, 22), 1)
    assert board.days == [date(2026, 11, 20), date(2026, 11, 21), date(2026, 11, 22)]
    assert board.total == 5
    assert {d: dict(c) for d, c in board.by_day_squad.items()} == {
        date(2026, 11, 20): {"ZD01": 1},
        date(2026, 11, 21): {"ZD01": 1, "ZD02": 1},
        date(2026, 11, 22): {"ZD01": 2},
    }
    assert board.by_day_stage[date(2026, 11, 22)] == {Stage.PENALTY: 1, Stage.PERSUASION: 1}
    assert dict(board.by_squad) == {"ZD01": 4, "ZD02": 1}
    assert dict(board.by_violation) == {"0510": 5}
    assert dict(board.by_stage) == {Stage.PERSUASION: 3, Stage.WARNING: 1, Stage.PENALTY: 1}
    assert [(o.label, o.cases, o.last_day) for o in board.offenders] == [
        ("赵老三烧烤", 3, date(2026, 11, 22))
    ]
    assert [c.case_id for c in board.conflicts] == [world.conflict.id]
    seen = {badge: moment for badge, _, _, moment in board.last_seen}
    assert seen[OFFICER.badge] == world.hq.clock()
    assert seen[LEADER.badge] is None
    assert HQ_USER.badge not in seen
    assert one_day.total == 2


def sign_in_form(client: httpx.Client, badge: str, pin: str) -> httpx.Response:
    return client.post("/dashboard/sign-in", data={"badge": badge, "pin": pin})


def test_sign_in_hq_only(world: World) -> None:
    client = world.client
    first = client.get("/dashboard")
    assert first.status_code == 200
    assert 'action="/dashboard/sign-in"' in first.text
    wrong = sign_in_form(client, HQ_USER.badge, "000000")
    assert wrong.status_code == 401
    assert "警号或密码错误" in wrong.text
    assert COOKIE not in client.cookies
    empty = sign_in_form(client, "", "")
    assert empty.status_code == 422
    assert "请输入警号和密码" in empty.text
    refused = sign_in_form(client, OFFICER.badge, PINS[OFFICER.badge])
    assert refused.status_code == 403
    assert "指挥中心看板仅限指挥中心人员使用" in refused.text
    assert COOKIE not in client.cookies
    leader = sign_in_form(client, LEADER.badge, PINS[LEADER.badge])  # the district's subject page
    assert (leader.status_code, leader.headers["location"]) == (303, "/dashboard/subjects")
    assert client.get("/dashboard").headers["location"] == "/dashboard/subjects"
    client.post("/dashboard/sign-out")
    assert COOKIE not in client.cookies
    ok = sign_in_form(client, HQ_USER.badge, PINS[HQ_USER.badge])
    assert ok.status_code == 303
    cookie = ok.headers["set-cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie
    board = client.get("/dashboard", params={"days": 3, "until": "2026-11-22"})
    assert board.status_code == 200
    assert re.search(r'id="total-cases">5<', board.text)
    assert "赵老三烧烤" in board.text
    assert world.conflict.case_no in board.text
    assert "<svg" in board.text
    assert FONT_URL in board.text
    out = client.post("/dashboard/sign-out")
    assert out.status_code == 303
    assert 'action="/dashboard/sign-in"' in client.get("/dashboard").text


def test_a_leader_token_in_the_cookie_is_sent_to_the_subject_page_and_an_officer_gets_403(
    world: World,
) -> None:
    officer = sign_in(world.client, OFFICER)["Authorization"].split()[1]
    with world.hq.client(cookies={COOKIE: officer}) as client:
        page = client.get("/dashboard")
        assert page.status_code == 403
        assert "无权访问" in page.text
    token = sign_in(world.client, LEADER)["Authorization"].split()[1]
    with world.hq.client(cookies={COOKIE: token}) as client:
        page = client.get("/dashboard", follow_redirects=False)
        assert (page.status_code, page.headers["location"]) == (303, "/dashboard/subjects")
        assert client.get("/dashboard/export.csv").status_code == 403
    assert world.client.get("/dashboard/export.csv").status_code == 401


def test_csv_export_and_bad_window(world: World) -> None:
    client = world.client
    sign_in_form(client, HQ_USER.badge, PINS[HQ_USER.badge])
    export = client.get("/dashboard/export.csv", params={"days": 3, "until": "2026-11-22"})
    assert export.status_code == 200
    rows = list(csv.DictReader(io.StringIO(export.content.decode("utf-8-sig"))))
    assert len(rows) == 6  # the export lists every latest version, the voided one included
    assert {r["squad_code"] for r in rows} == {"ZD01", "ZD02"}
    assert client.get("/dashboard", params={"until": "22.11.2026"}).status_code == 422


def test_font_route_and_the_api_document(world: World) -> None:
    font = world.client.get(FONT_URL)
    assert font.status_code == 200
    assert font.content[:4] == b"OTTO"  # CFF-outline OpenType
    paths = world.client.get("/openapi.json").json()["paths"]
    assert not any(p.startswith("/dashboard") for p in paths)


def test_trend_svg_labels_and_bars() -> None:
    days = [date(2026, 11, 21), date(2026, 11, 22)]
    svg = trend_svg(days, {days[1]: {Stage.PERSUASION: 2, Stage.PENALTY: 1}}, title="近 2 天每日案件数")
    assert svg.count("<rect") == 2 + 3  # two bars + the legend's three swatches
    for text in ("近 2 天每日案件数", "11月21日", "11月22日", "劝导", "警告", "处罚", "案件数（起）"):
        assert text in svg
    assert "2026-11-22 处罚 1 起" in svg
    assert 'font-family="StreetPatrolSC' in svg


@pytest.mark.browser
def test_dashboard_in_chromium(world: World, tmp_path: Path) -> None:
    # the demo district on top (seed-demo's users and PINs, its history 10–400 days back)
    seed_demo(world.hq.storage, world.hq.settings, catalogue=load_catalogue())
    url = world.hq.serve().url
    # a test artifact; docs/screenshots/dashboard.png (README) is a copy of it, refreshed by hand, so that a
    # test run never leaves the working tree changed
    shots = [ROOT / "artifacts" / "screenshots" / "dashboard.png"]
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 1400}, locale="zh-CN")
        page.goto(f"{url}/dashboard")
        page.fill("#badge", "9001")
        page.fill("#pin", "269001")
        page.click("button[type=submit]")
        page.wait_for_selector("#total-cases")
        page.goto(f"{url}/dashboard?days=14&until=2026-11-22")
        assert page.inner_text("#total-cases") == "6"  # the fixture's 5 and the demo's 渣土 case
        assert page.locator("#trend-chart rect").count() >= 5
        assert "赵老三烧烤" in page.inner_text("#offenders")
        assert world.conflict.case_no in page.inner_text("#conflicts")
        # the page's font is HQ's own copy of the shipped font, and it loaded
        page.evaluate("document.fonts.ready")
        assert page.evaluate("document.fonts.check('16px StreetPatrolSC', '指挥中心')")
        assert page.context.cookies()[0]["httpOnly"] is True
        for shot in shots:
            shot.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(shot), full_page=True)
    assert all(shot.stat().st_size > 10_000 for shot in shots)


def test_day_log_of_any_squad_from_the_dashboard(world: World) -> None:
    client = world.client
    assert client.get("/dashboard/daylog", params={"squad": "ZD01"}).status_code == 401
    sign_in_form(client, HQ_USER.badge, PINS[HQ_USER.badge])
    assert 'action="/dashboard/daylog"' in client.get("/dashboard").text
    params = {"squad": "ZD01", "until": "2026-11-22", "format": "csv"}
    text = client.get("/dashboard/daylog", params=params).content.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[:3] == [
        ["中队巡查日志", "2026-11-22"],
        ["中队", "ZD01", "人民路中队"],
        ["汇总", "取缔露天烧烤 2 起"],
    ]
    zd02 = client.get("/dashboard/daylog", params={"squad": "ZD02", "until": "2026-11-21"})
    assert zd02.headers["content-type"] == "application/pdf"
    assert zd02.content.startswith(b"%PDF-")
    assert client.get("/dashboard/daylog", params={"squad": "ZZ99"}).status_code == 404
    assert client.get("/dashboard/daylog", params={**params, "format": "xls"}).status_code == 422


def test_dashboard_window_out_of_range(world: World) -> None:
    client = world.client
    sign_in_form(client, HQ_USER.badge, PINS[HQ_USER.badge])
    for until in ("0001-01-01", "9999-12-31"):
        assert client.get("/dashboard", params={"until": until}).status_code == 422
        assert client.get("/dashboard/export.csv", params={"until": until}).status_code == 422
        assert client.get("/dashboard/daylog", params={"squad": "ZD01", "until": until}).status_code == 422
    assert client.get("/dashboard", params={"until": "2000-01-13", "days": 14}).status_code == 422
    assert client.get("/dashboard", params={"until": "2000-01-14", "days": 14}).status_code == 200
