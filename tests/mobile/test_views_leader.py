"""The squad leader's screens built from real state without a browser (the style of test_views.py):
the fixture day in a real store, the leader signed in on the phone, handlers called directly."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import flet as ft
import flet.canvas as cv
import flet_charts as fc
import pytest

from enforcement.model import Officer, Stage
from mobile.metakeys import SESSION_BADGE as SESSION_KEY
from mobile.state.app_state import AppState
from mobile.store import Store
from mobile.views.review import ReviewView
from mobile.views.screens import make_screen
from mobile.views.shell import Shell
from mobile.views.squad import SquadView
from patrollog.plan import scale_bar
from patrollog.style import STAGE_COLOURS
from testkit.hqkit import LEADER, OFFICER, catalogue
from tests.mobile.squadkit import fill
from tests.mobile.statekit import Apps, PhoneClock, dead_url
from tests.mobile.viewkit import controls, texts, type_into
from tests.patrollog.dayfixture import NAMES, SUBJECTS, Day, at, fixture_day

CJK = re.compile(r"[\u3400-\u9fff\uff00-\uffef]")
# HQ's reasons for its stage of C (HQ says 处罚 where the phone said 警告: a conflict) and of B (no conflict)
REASON_C = ("第3次 · 处罚：10-02 劝导，11-01 警告", "3rd · Penalty: 10-02 Persuasion, 11-01 Warning")
REASON_B = ("第1次 · 劝导", "1st · Persuasion")


@pytest.fixture
def day() -> Day:
    return fixture_day()


def signed_in(make_app: Apps, day: Day, officer: Officer = LEADER) -> AppState:
    """The app over a store holding the fixture day, ``officer`` signed in (as after an earlier online
    sign-in), HQ unreachable: pokes of the link fail quickly and change nothing."""
    store = Store.open(":memory:", catalogue=catalogue())
    fill(store, day)
    for case, stage, (zh, en) in ((day.c, Stage.PENALTY, REASON_C), (day.b, Stage.PERSUASION, REASON_B)):
        store.apply_squad_case(case, hq_stage=stage, hq_reason_zh=zh, hq_reason_en=en)
    app = make_app(clock=PhoneClock(at(23, 30)), store=store)
    app.settings.update(hq_url=dead_url())
    store.save_officer(officer)
    store.meta_set(SESSION_KEY, officer.badge)
    app.session.restore()
    return app


@pytest.fixture
def app(make_app: Apps, day: Day) -> AppState:
    return signed_in(make_app, day)


def open_screen(app: AppState, route: str) -> Shell:
    shell = Shell(app, screens=make_screen)
    shell.start()
    shell.go(route)
    assert shell.route == route
    return shell


def test_leaders_get_squad_and_review_tabs_officers_do_not(app: AppState, make_app: Apps, day: Day) -> None:
    shell = Shell(app, screens=make_screen)
    shell.start()
    assert [d.label for d in shell.nav.destinations] == ["今日", "中队", "审核", "当事人", "同步", "设置"]
    shell.nav.selected_index = 1
    shell._on_tab(None)
    assert isinstance(shell.screen, SquadView)
    shell.nav.selected_index = 2
    shell._on_tab(None)
    assert isinstance(shell.screen, ReviewView)
    assert shell.nav.selected_index == 2

    officer = Shell(signed_in(make_app, day, OFFICER), screens=make_screen)
    officer.start()
    assert [d.label for d in officer.nav.destinations] == ["今日", "当事人", "同步", "设置"]
    officer.go("squad")
    assert officer.route == "today"
    officer.go("review")
    assert officer.route == "today"


def test_squad_screen_shows_the_day(app: AppState) -> None:
    shell = open_screen(app, "squad")
    shown = texts(shell.body)
    assert {
        "中队 · 2026-11-22",
        "人民路中队",
        "劝导 3 起，警告 2 起，处罚 1 起",
        "案件 6 起 · 退回 1 起 · 作废 1 起",
        "审核队列（4）",
        "王㐂（1023）",
        "上岗 18:00 · 下岗 23:30",
        "李娜（1024）",
        "上岗 17:30 · 下岗 22:00",
        "赵敏（1026）",
        "上岗 08:00 · 下岗 12:00",
        "案件 0 起 · 劝导 0 起，警告 0 起，处罚 0 起",
        "案件明细（7 起）",
        "导出 PDF",
        "导出 CSV",
        "前一天",
        "后一天",
        "查看",
        "今天",
    } <= set(shown)
    assert any(t.startswith("查处占道经营 3 起") for t in shown)


def test_chart_has_chinese_labels_and_the_counts(app: AppState) -> None:
    shell = open_screen(app, "squad")
    [chart] = [c for c in controls(shell.body) if isinstance(c, fc.BarChart)]
    assert [g.rods[0].to_y for g in chart.groups] == [2, 2, 1, 1]
    assert chart.bottom_axis is not None
    assert texts(chart.bottom_axis) == ["店外经营", "露天烧烤", "道路遗撒（渣土运输）", "无照经营游商"]


def test_plan_draws_every_located_case_coloured_by_stage(app: AppState) -> None:
    shell = open_screen(app, "squad")
    [plan] = [c for c in controls(shell.body) if isinstance(c, cv.Canvas)]
    dots = [s for s in plan.shapes if isinstance(s, cv.Circle) and s.paint.style == ft.PaintingStyle.FILL]
    colours = sorted(d.paint.color for d in dots)
    expected = [STAGE_COLOURS[Stage.PERSUASION]] * 3 + [STAGE_COLOURS[Stage.WARNING]] * 2
    assert colours == sorted([*expected, STAGE_COLOURS[Stage.PENALTY]])
    width, height = plan.width, plan.height
    assert width is not None
    assert height is not None
    assert all(0 <= d.x <= width and 0 <= d.y <= height for d in dots)
    assert "北" in [s.value for s in plan.shapes if isinstance(s, cv.Text)]
    # the fixture's cases lie on a diagonal ~1 km long: the scale bar is a round length
    assert scale_bar(0.25, 360) == 200.0
    assert any(isinstance(s, cv.Text) and s.value and s.value.endswith("米") for s in plan.shapes)


def test_filters_through_the_screen(app: AppState) -> None:
    shell = open_screen(app, "squad")
    screen = shell.screen
    assert isinstance(screen, SquadView)
    assert {"队员", "违法类型", "处理阶段", "全部队员", "全部类型", "全部", "劝导", "警告", "处罚"} <= set(
        texts(shell.body)
    )
    screen.choose_officer("1024")
    assert "案件明细（2 起）" in texts(shell.body)
    assert "清除筛选" in texts(shell.body)
    screen.choose_stage("2")
    assert "案件明细（1 起）" in texts(shell.body)
    [stages] = [c for c in controls(shell.body) if isinstance(c, ft.Row) and c.key == "filter_stage"]
    assert [b.content for b in stages.controls if isinstance(b, ft.FilledButton)] == ["警告"]
    screen.choose_officer("")
    screen.choose_violation("0510")
    assert "案件明细（1 起）" in texts(shell.body)  # 0510 at 警告: case C only
    screen.clear_filters()
    assert "案件明细（7 起）" in texts(shell.body)
    assert "清除筛选" not in texts(shell.body)


def day_shown(shell: Shell) -> str:
    [day] = [c for c in controls(shell.body) if c.key == "squad_day"]
    return str(day.value)


def test_day_picker_errors_are_shown_and_the_day_kept(app: AppState) -> None:
    shell = open_screen(app, "squad")
    screen = shell.screen
    assert isinstance(screen, SquadView)
    type_into(shell, "squad_day", "2026/11/22")
    screen.show_day()
    assert "日期“2026/11/22”无法识别，请按 2026-11-22 的格式填写" in texts(shell.body)
    assert day_shown(shell) == "2026/11/22"  # the typed text stays for a correction
    type_into(shell, "squad_day", "2026-11-23")
    screen.show_day()
    assert "不能查看未来的日期（今天是 2026-11-22）" in texts(shell.body)
    assert "中队 · 2026-11-22" in texts(shell.body)
    screen.step(-1)
    assert "中队 · 2026-11-21" in texts(shell.body)
    assert day_shown(shell) == "2026-11-21"
    assert not any(t.startswith("不能查看") for t in texts(shell.body))
    type_into(shell, "squad_day", "2026-11-22")
    screen.show_day()
    assert "审核队列（4）" in texts(shell.body)
    screen.step(1)
    assert "不能查看未来的日期（今天是 2026-11-22）" in texts(shell.body)
    screen.show_today()
    assert "中队 · 2026-11-22" in texts(shell.body)
    assert not any("本机只保存最近" in t for t in texts(shell.body))
    type_into(shell, "squad_day", "2026-08-01")
    screen.show_day()
    assert "本机只保存最近 62 天的中队记录；更早的巡查日志请在指挥中心查看或导出" in texts(shell.body)


def test_review_queue_approve_and_return(app: AppState, day: Day) -> None:
    shell = open_screen(app, "review")
    screen = shell.screen
    assert isinstance(screen, ReviewView)
    shown = texts(shell.body)
    assert {
        "审核队列 · 2026-11-22",
        "待审核 4 起，其中须决定 1 起",
        "处罚案件",
        "阶段不一致",
        "本机阶段：警告 · HQ 阶段：处罚",
        "阶段依据：第2次，系统计算为警告",
        "HQ 依据：第3次 · 处罚：10-02 劝导，11-01 警告",
        "HQ 依据：第1次 · 劝导",
        "须中队长决定后才计入",
        "队员：王㐂（1023）",
        f"当事人：{SUBJECTS['s-bbq']}",
        "照片 0 张",
        "通过",
        "退回",
    } <= set(shown)
    assert shown.count("通过") == 4
    assert shown.index("处罚案件") < shown.index(f"{day.a.case_no} · 第 1 版")  # decisions first
    assert sum(t.startswith("HQ 依据") for t in shown) == 2  # only where HQ's reason is known
    # HQ's reason stands right under the phone's basis; on the conflict it is highlighted, elsewhere plain
    basis = shown.index("阶段依据：第2次，系统计算为警告")
    assert shown[basis + 1] == "HQ 依据：第3次 · 处罚：10-02 劝导，11-01 警告"
    keyed = {c.key: c for c in controls(shell.body) if str(c.key or "").startswith("hq_basis_")}
    conflict, plain = keyed[f"hq_basis_{day.c.case_no}"], keyed[f"hq_basis_{day.b.case_no}"]
    assert isinstance(conflict, ft.Container)
    assert conflict.bgcolor == ft.Colors.ERROR_CONTAINER
    assert isinstance(conflict.content, ft.Text)
    assert conflict.content.weight == ft.FontWeight.BOLD
    assert isinstance(plain, ft.Text)
    assert plain.value == "HQ 依据：第1次 · 劝导"
    assert plain.weight != ft.FontWeight.BOLD

    screen.approve(day.c.id)
    assert shell.messages[-1] == f"已通过：{day.c.case_no}"
    assert "待审核 3 起，其中须决定 0 起" in texts(shell.body)

    screen.start_return(day.b.id)
    assert {"退回理由", "确认退回", "取消"} <= set(texts(shell.body))
    screen.confirm_return(day.b.id)  # no reason typed
    assert "退回案件须填写退回理由" in texts(shell.body)
    assert "待审核 3 起，其中须决定 0 起" in texts(shell.body)
    type_into(shell, f"comment_{day.b.id}", "请补拍暂扣清单")
    app.link.kick()  # a sync finishes meanwhile: the screen is redrawn, the typed reason kept
    [again] = [c for c in controls(shell.body) if c.key == f"comment_{day.b.id}"]
    assert again.value == "请补拍暂扣清单"
    screen.confirm_return(day.b.id)
    assert shell.messages[-1] == f"已退回：{day.b.case_no}"
    shown = texts(shell.body)
    assert "待审核 2 起，其中须决定 0 起" in shown
    assert "已退回：请补拍暂扣清单" in shown
    assert f"{day.b.case_no} · 已退回" in shown
    assert "张伟（1001）2026-11-22 23:30 决定" in shown  # who and when, beside why
    assert "退回理由" not in shown
    reviews = [e for e in app.store.outbox_pending(100, 10**9) if e.kind == "review"]
    assert len(reviews) == 2  # both decisions wait for HQ


def test_cancel_return_and_a_case_that_cannot_be_decided(app: AppState, day: Day) -> None:
    shell = open_screen(app, "review")
    screen = shell.screen
    assert isinstance(screen, ReviewView)
    screen.start_return(day.a.id)
    screen.cancel_return()
    assert "退回理由" not in texts(shell.body)
    screen.approve(day.e1.id)  # an old version (from a stale screen)
    assert "该案件已有更新的版本，请审核最新版本" in texts(shell.body)
    assert [e for e in app.store.outbox_pending(100, 10**9) if e.kind == "review"] == []


def test_export_through_the_screen(app: AppState, tmp_path: Path) -> None:
    shell = open_screen(app, "squad")
    screen = shell.screen
    assert isinstance(screen, SquadView)
    asyncio.run(screen.export_csv())
    path = app.squad_export.directory / "daylog-ZD01-2026-11-22.csv"
    assert path.is_file()
    assert shell.messages[-1] == f"已导出：{path}"
    assert f"已导出：{path}" in texts(shell.body)
    blocker = tmp_path / "blocker"
    blocker.write_text("x", encoding="utf-8")
    app.squad_export.directory = blocker / "exports"
    asyncio.run(screen.export_pdf())
    shown = texts(shell.body)
    assert any(t.startswith(f"无法写入导出目录 {blocker / 'exports'}") for t in shown)
    assert "正在导出…" not in shown
    assert path.is_file()  # the earlier export is still there


def test_english_leader_screens_have_no_chinese_chrome(app: AppState, day: Day) -> None:
    app.settings.update(lang="en")
    # names, seized kinds and review comments are data, shown as written
    data = [*NAMES.values(), *SUBJECTS.values(), "人民路中队", "烧烤炉", "桌椅"]
    data += [r.comment for r in day.reviews if r.comment]
    for route in ("squad", "review"):
        shell = open_screen(app, route)
        shown = texts(shell.body)
        chinese = [t for t in shown if CJK.search(t) and not any(d in t for d in data)]
        assert chinese == [], route
    shown = texts(open_screen(app, "review").body)
    assert "HQ basis: 3rd · Penalty: 10-02 Persuasion, 11-01 Warning" in shown
    assert "HQ basis: 1st · Persuasion" in shown
    assert "Review queue (4)" in texts(open_screen(app, "squad").body)


def test_every_tap_target_on_the_leader_screens_is_at_least_48_px(app: AppState, day: Day) -> None:
    shell = open_screen(app, "squad")
    screens: list[ft.Control | None] = []
    for route in ("squad", "review"):
        shell.go(route)
        screens.append(shell.shown)
    review = shell.screen
    assert isinstance(review, ReviewView)
    review.start_return(day.a.id)
    screens.append(shell.shown)
    buttons = (ft.Button, ft.TextButton, ft.OutlinedButton, ft.IconButton, ft.Radio)
    checked = 0
    for content in screens:
        for node in controls(content):
            if isinstance(node, buttons) or (isinstance(node, ft.Container) and node.on_click is not None):
                assert node.height is not None, node
                assert node.height >= 48, node
                checked += 1
    assert checked > 10


def test_long_lists_come_a_page_at_a_time(app: AppState) -> None:
    shell = open_screen(app, "squad")
    squad = shell.screen
    assert isinstance(squad, SquadView)
    assert not any(t.startswith("再显示") for t in texts(shell.body))  # 7 lines fit in one page
    squad.shown_lines = 3
    shell.render()
    assert "再显示 4 起（还有 4 起）" in texts(shell.body)
    assert sum(1 for c in controls(shell.body) if str(c.key or "").startswith("line_")) == 3
    squad.more_lines()
    assert sum(1 for c in controls(shell.body) if str(c.key or "").startswith("line_")) == 7
    assert not any(t.startswith("再显示") for t in texts(shell.body))
    shell.go("review")
    review = shell.screen
    assert isinstance(review, ReviewView)
    review.shown = 1
    shell.render()
    assert "再显示 3 起（还有 3 起）" in texts(shell.body)
    assert texts(shell.body).count("通过") == 1
    review.more()
    assert texts(shell.body).count("通过") == 4
