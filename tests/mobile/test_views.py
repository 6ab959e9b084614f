"""The screens built from real state without a browser: handlers called directly, text read off the
control tree (no page: ``Shell.update`` does nothing)."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import flet as ft
import pytest

from enforcement.model import Disposition
from mobile.state.app_state import AppState
from mobile.views.new_case import NewCaseView
from mobile.views.settings import SettingsView
from mobile.views.sign_in import SignInView
from mobile.views.today import TodayView
from testkit.hqkit import OFFICER, PINS, Hq
from tests.mobile.statekit import Apps, photo, returned, saved_case, sign_in
from tests.mobile.viewkit import controls, event, open_screen, started, texts, tree, type_into

CJK = re.compile(r"[\u3400-\u9fff\uff00-\uffef]")


@pytest.fixture
def app(make_app: Apps, hq: Hq) -> AppState:
    app = make_app()
    sign_in(app, hq.serve().url)
    return app


def test_sign_in_screen_labels_and_errors(make_app: Apps, hq: Hq) -> None:
    app = make_app()
    shell = started(app)
    assert shell.route == "signin"
    screen = shell.screen
    assert isinstance(screen, SignInView)
    assert {"HQ 地址", "执法证号", "PIN 密码", "登录"} <= set(texts(shell.body))
    type_into(shell, "signin_hq", hq.serve().url)
    type_into(shell, "signin_badge", OFFICER.badge)
    type_into(shell, "signin_pin", "000000")
    asyncio.run(screen.submit())
    assert shell.route == "signin"
    assert screen.error == "执法证号或 PIN 错误"
    assert "执法证号或 PIN 错误" in texts(shell.body)
    shown = {c.key: c.value for c in controls(shell.body) if isinstance(c, ft.TextField)}
    # the wrong PIN is cleared; the address and badge stay as typed
    assert shown == {"signin_hq": hq.serve().url, "signin_badge": OFFICER.badge, "signin_pin": ""}
    type_into(shell, "signin_pin", PINS[OFFICER.badge])
    asyncio.run(screen.submit())
    assert shell.route == "today"
    assert isinstance(shell.screen, TodayView)
    assert shell.nav.visible


def test_today_shift_and_status_line(app: AppState) -> None:
    shell = started(app)
    screen = shell.screen
    assert isinstance(screen, TodayView)
    assert {"开始值班", "新建案件", "立即同步", "今日还没有案件"} <= set(texts(shell.body))
    type_into(shell, "today_grid", "A-12")
    screen.start_shift()
    shift = app.today.shift()
    assert shift is not None
    assert shift.grid_cell == "A-12"
    assert "结束值班" in texts(shell.body)
    assert any(t.startswith("在线") for t in texts(shell.body))
    screen.end_shift()
    assert app.today.shift() is None


def test_new_case_through_the_screen(app: AppState) -> None:
    shell, screen = open_screen(app, NewCaseView, "new_case")
    assert "1/7 · 违法类型" in texts(shell.body)
    assert "露天烧烤" in texts(shell.body)
    screen.choose_violation("0510")
    assert "2/7 · 地点" in texts(shell.body)
    screen.typed("address")(event("人民路 12 号"))
    screen.next()
    assert "3/7 · 当事人" in texts(shell.body)
    screen.open_subject_form()
    assert {"当事人类型", "姓名 / 店名", "保存当事人"} <= set(texts(shell.body))
    screen.create_subject()  # nothing typed: a mobile vendor needs a name, phone or description
    assert screen.error == "请至少填写摊贩的姓名、电话或特征描述之一"
    screen.new_subject["name"] = "张小摊"
    screen.create_subject()
    assert screen.error == ""
    # a first offence needs nothing on the stage and action steps: the wizard goes on to the photos
    assert "6/7 · 照片" in texts(shell.body)
    screen.back()
    assert "5/7 · 处理措施" in texts(shell.body)
    assert {"处理方式", "劝导离开", "法律依据", "添加暂扣物品", "劝导"} <= set(texts(shell.body))
    screen.back()
    assert "4/7 · 处理阶段" in texts(shell.body)
    assert "劝导" in texts(shell.body)
    screen.open_override()
    screen.pick_override(3)
    screen.apply_override()  # no reason
    assert screen.error
    screen.cancel_override()
    screen.next()
    screen.next()
    assert "6/7 · 照片" in texts(shell.body)
    asyncio.run(screen.add_photos([b"not a photo", photo(5)]))
    assert screen.error == ""  # the second, good photo cleared the first one's error
    draft = app.drafts.draft
    assert draft is not None
    assert len(draft.photos) == 1
    assert "7/7 · 核对保存" in texts(shell.body)  # a photo added: on to the review by itself
    assert "1 张照片" in texts(shell.body)
    assert "可以保存" in texts(shell.body)
    screen.save()
    assert shell.route == "today"
    assert shell.messages[-1].startswith("已保存：")
    assert "露天烧烤" in texts(shell.body)


def test_bad_photo_error_is_shown_and_the_draft_kept(app: AppState) -> None:
    shell, screen = open_screen(app, NewCaseView, "new_case")
    screen.choose_violation("0501")
    app.drafts.go_to("photos")
    asyncio.run(screen.add_photos([b"not a photo"]))
    assert screen.error
    assert screen.error in texts(shell.body)
    assert app.drafts.draft is not None
    assert app.drafts.draft.violation_code == "0501"


def test_save_error_jumps_to_the_fields_step(app: AppState) -> None:
    _, screen = open_screen(app, NewCaseView, "new_case")
    screen.choose_violation("0501")
    app.drafts.go_to("review")
    screen.save()
    assert app.drafts.draft is not None
    assert app.drafts.draft.step == "location"
    assert screen.error == "还缺：地点"


def test_english_ui_has_no_chinese_chrome(app: AppState) -> None:
    shell, screen = open_screen(app, SettingsView, "settings")
    # a settings error shows in the current language (the photo size is HQ's now: the HQ address here)
    screen.hq.value = "hq.example.cn"
    screen.save()
    assert "HQ 地址格式不正确，请填写完整网址（含协议和端口）" in texts(shell.body)
    again = shell.screen
    assert isinstance(again, SettingsView)
    again.choose_lang(event("en"))
    again.hq.value = "http://127.0.0.1:8080"
    again.save()
    assert app.settings.lang == "en"
    for route in ("today", "sync", "settings", "subjects", "new_case"):
        shell.go(route)
        chinese = [t for t in texts(shell.body) if CJK.search(t) and OFFICER.name not in t]
        assert chinese == [], route


def test_sync_and_subjects_screens(app: AppState) -> None:
    shell = started(app)
    shell.go("sync")
    assert {"同步", "立即同步", "暂缓上传的记录", "没有暂缓的记录"} <= set(texts(shell.body))
    shell.go("subjects")
    assert "输入关键字搜索当事人" in texts(shell.body)


def test_signed_out_goes_to_sign_in(app: AppState) -> None:
    shell, screen = open_screen(app, SettingsView, "settings")
    screen.sign_out()
    assert shell.route == "signin"
    shell.go("today")
    assert shell.route == "signin"


def test_case_detail_and_amend_a_returned_case(app: AppState) -> None:
    from datetime import timedelta

    from mobile.views.case_detail import CaseDetailView

    case_id = saved_case(app)
    shell = started(app)
    today = shell.screen
    assert isinstance(today, TodayView)
    assert "刘小摊" in " ".join(texts(shell.body))
    shell.go("case", case_id)
    screen = shell.screen
    assert isinstance(screen, CaseDetailView)
    shown = texts(shell.body)
    assert {"案件详情", "露天烧烤", "人民路 12 号", "刘小摊", "劝导离开", "返回"} <= set(shown)
    assert "修改并重新提交" not in shown
    case = app.store.get_case(case_id)
    assert case is not None
    app.store.apply_review(returned(case, "1001", case.occurred_at + timedelta(hours=1), "请补充门牌号"))
    shell.render()
    shown = texts(shell.body)
    assert {"请补充门牌号", "修改并重新提交", "中队长退回"} <= set(shown)
    screen.amend()
    assert shell.route == "new_case"
    assert "修改案件（第 2 版）" in texts(shell.body)
    shell.go("case", "no-such-case")
    assert "找不到这起案件" in texts(shell.body)


def test_case_detail_says_why_hqs_stage_differs(app: AppState) -> None:
    from enforcement.model import Stage, SyncState
    from mobile.views.case_detail import CaseDetailView

    case_id = saved_case(app)  # the phone applied 劝导
    reason_zh, reason_en = (
        "第3次 · 处罚：11-12 劝导，11-13 警告",
        "3rd · Penalty: 11-12 Persuasion, 11-13 Warning",
    )
    app.store.set_sync_state(
        case_id, SyncState.COMPLETE, Stage.PENALTY, hq_reason_zh=reason_zh, hq_reason_en=reason_en
    )
    shell = started(app)
    shell.go("case", case_id)
    assert isinstance(shell.screen, CaseDetailView)
    shown = texts(shell.body)
    line = "HQ 依据：第3次 · 处罚：11-12 劝导，11-13 警告"
    assert {"HQ 判定", "处罚", line} <= set(shown)
    assert shown.index(line) == shown.index("HQ 判定") + 2  # under the chip (label, chip, the reason)

    app.settings.update(lang="en")
    shell.render()
    shown = texts(shell.body)
    assert {"Stage at HQ", "HQ basis: 3rd · Penalty: 11-12 Persuasion, 11-13 Warning"} <= set(shown)
    case = app.store.get_case(case_id)
    assert case is not None
    assert case.legal_basis  # (an empty one would hide every text below)
    data = ("人民路 12 号", "刘小摊", case.legal_basis)  # the case's own data, shown as saved
    chinese = [t for t in shown if CJK.search(t) and not any(d in t for d in data)]
    assert chinese == []

    # HQ agrees with the officer: no HQ stage, no HQ reason on the screen
    app.store.set_sync_state(case_id, SyncState.COMPLETE, Stage.PERSUASION, hq_reason_zh="第1次 · 劝导",
                             hq_reason_en="1st · Persuasion")  # fmt: skip
    app.settings.update(lang="zh")
    shell.render()
    shown = texts(shell.body)
    assert "HQ 判定" not in shown
    assert not [t for t in shown if "HQ 依据" in t or "第1次" in t]


def test_case_detail_values_are_plain_texts_in_one_selection_area(app: AppState) -> None:
    """Flutter web's semantics tree shows a Text(selectable=True) as an empty field: the detail's values
    are plain texts (read as text) inside one SelectionArea (the officer still selects and copies them);
    the buttons stay outside it."""
    from enforcement.model import Stage, SyncState
    from enforcement.staging import stage_name
    from mobile.i18n import t

    case_id = saved_case(app)  # the phone applied 劝导, HQ says 处罚
    reasons = {"zh": "第3次 · 处罚：11-12 劝导", "en": "3rd · Penalty: 11-12 Persuasion"}
    app.store.set_sync_state(
        case_id, SyncState.COMPLETE, Stage.PENALTY, hq_reason_zh=reasons["zh"], hq_reason_en=reasons["en"]
    )
    case = app.store.get_case(case_id)
    assert case is not None
    violation = app.catalogue.get(case.violation_code)
    shell = started(app)
    shell.go("case", case_id)
    for lang in ("zh", "en"):
        app.settings.update(lang=lang)
        shell.render()
        areas = [c for c in tree(shell.body) if isinstance(c, ft.SelectionArea)]
        assert len(areas) == 1
        inside = tree(areas[0])
        values = {c.value for c in inside if isinstance(c, ft.Text)}
        expected = {
            f"{case.case_no} · {t(lang, 'detail.version', version=1)}",
            violation.name(lang),
            "人民路 12 号",
            "刘小摊",
            t(lang, "detail.case_no"),
            stage_name(Stage.PERSUASION, lang),  # the stage applied (the large chip)
            t(lang, "detail.hq_stage"),
            stage_name(Stage.PENALTY, lang),
            t(lang, "detail.hq_basis", reason=reasons[lang]),
        }
        assert expected <= values, expected - values
        selectable = [c.value for c in tree(shell.body) if isinstance(c, ft.Text) and c.selectable]
        assert selectable == []
        buttons = [c for c in tree(shell.body) if isinstance(c, ft.TextButton | ft.FilledButton)]
        assert buttons  # 返回 at least
        assert not [b for b in buttons if any(b is c for c in inside)]


def test_subjects_search_and_select(app: AppState) -> None:
    from mobile.views.subjects import SubjectsView

    saved_case(app)
    shell, screen = open_screen(app, SubjectsView, "subjects")
    screen.on_search(event("刘小摊"))
    assert "刘小摊" in texts(screen.results)
    subject = app.subjects.results[0]
    screen.select(subject.id)
    assert {"违法记录 · 1 起", "劝导"} <= set(texts(shell.body))
    screen.on_search(event("不存在的人"))
    assert "没有找到当事人" in texts(screen.results)


def test_every_tap_target_is_at_least_48_px(app: AppState) -> None:
    saved_case(app)
    shell = started(app)
    for route in ("today", "sync", "settings", "subjects", "new_case"):
        shell.go(route)
        for step in ("violation", "location", "subject", "stage", "action", "photos", "review"):
            if route == "new_case":
                app.drafts.go_to(step)
                shell.render()
            for node in controls(shell.body):
                tappable = isinstance(node, ft.Button | ft.Radio) or (
                    isinstance(node, ft.Container) and node.on_click is not None
                )
                if not tappable:
                    continue
                if node.height is None and isinstance(node, ft.Container):
                    # sized by its content: at least as tall as the tallest fixed-height control inside
                    inner = [c.height for c in controls(node.content) if getattr(c, "height", None)]
                    assert inner, (route, step, node)
                    assert max(inner) >= 48, (route, step, node)
                else:
                    assert node.height is not None, (route, step, node)
                    assert node.height >= 48, (route, step, node)
            if route != "new_case":
                break


def test_command_line_and_first_start(tmp_path: Path) -> None:
    from mobile.app import open_app, parse_args

    args = parse_args(
        ["--web", "--port", "8123", "--data-dir", str(tmp_path / "d"), "--hq", "https://10.0.0.5:8080"]
    )
    assert args.web
    assert args.port == 8123
    assert args.data_dir == tmp_path / "d"
    app = open_app(args.data_dir, args.hq)
    try:
        assert app.settings.settings.hq_url == "https://10.0.0.5:8080"
        assert (tmp_path / "d" / "phone.db").exists()
        app.settings.update(hq_url="https://10.0.0.9:8080")
    finally:
        app.store.close()
    again = open_app(args.data_dir, args.hq)  # the officer's own address wins over the command line
    try:
        assert again.settings.settings.hq_url == "https://10.0.0.9:8080"
    finally:
        again.store.close()


def test_subject_search_shows_earlier_cases(app: AppState) -> None:
    saved_case(app)
    shell, screen = open_screen(app, NewCaseView, "new_case")
    screen.choose_violation("0510")
    screen.next()
    screen.search_subject(event("刘小摊"))
    summary = " ".join(texts(screen.results))
    assert "流动摊贩 · 1 起" in summary
    assert "露天烧烤 劝导" in summary
    subject_id = app.drafts.search_subjects("刘小摊")[0].id
    screen.choose_subject(subject_id)
    assert "警告" in texts(shell.body)  # the second case of this vendor: the stage moves on


def test_background_sync_never_rebuilds_the_case_being_typed(app: AppState) -> None:
    shell, screen = open_screen(app, NewCaseView, "new_case")
    screen.choose_violation("0510")
    screen.next()
    screen.open_subject_form()
    form = screen.subject_form()
    shown = shell.shown
    app.link.kick()  # a sync finishes and notifies (inline here): the form must not be replaced
    assert shell.shown is shown
    shell.render()  # the officer's own action re-renders: the same form (and typed text) stays
    assert screen.subject_form() is form
    shell.go("today")
    before = shell.shown
    app.link.kick()  # on a live screen the status is redrawn
    assert shell.shown is not before


def test_review_names_a_missing_disposition_field_instead_of_ready(app: AppState) -> None:
    shell, screen = open_screen(app, NewCaseView, "new_case")
    screen.choose_violation("0501")
    app.drafts.update(no_fix_reason="地下通道无信号")
    app.drafts.choose_unknown()
    app.drafts.set_disposition(Disposition.REFERRED)
    app.drafts.go_to("review")
    shell.render()
    shown = texts(shell.body)
    assert "请填写移交部门" in shown
    assert "可以保存" not in shown
    app.drafts.update(referred_to="市场监管所")
    shell.render()
    assert "可以保存" in texts(shell.body)


def test_settings_show_hqs_photo_policy_and_no_watermark_switch(app: AppState) -> None:
    shell, screen = open_screen(app, SettingsView, "settings")
    shown = texts(shell.body)
    assert "照片：长边 1600 像素，加水印（时间、地点、证号）（由指挥中心统一设定）" in shown
    assert "照片加水印（时间、地点、证号）" not in shown  # the officer's switch is gone
    assert "照片长边（px）" not in shown
    assert not hasattr(screen, "watermark")
    screen.save()
    assert app.settings.settings.watermark is True
