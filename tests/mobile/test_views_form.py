"""Issue #14's new-case form, built from real state without a browser: the violation search, values checked
at the field as they are typed (by the rule the review applies), 下一步 on the subject step, 放弃草稿 with
its question, and the wizard's background tasks going through the shell's guard."""

from __future__ import annotations

import asyncio
from typing import Any

import flet as ft
import pytest

from enforcement.model import Disposition, Stage
from mobile.state.app_state import AppState
from mobile.views.new_case import NewCaseView
from testkit.hqkit import Hq
from tests.mobile.statekit import Apps, sign_in
from tests.mobile.viewkit import controls, event, open_screen, started, texts


@pytest.fixture
def app(make_app: Apps, hq: Hq) -> AppState:
    app = make_app()
    sign_in(app, hq.serve().url)
    return app


def keyed(root: Any, key: str) -> Any:
    found = [c for c in controls(root) if getattr(c, "key", None) == key]
    assert found, f"no control with key {key!r}"
    return found[0]


def text_field(root: Any, label: str) -> ft.TextField:
    return next(c for c in controls(root) if isinstance(c, ft.TextField) and c.label == label)


def tile_codes(root: Any) -> set[str]:
    return {
        str(c.key).removeprefix("violation_")
        for c in controls(root)
        if isinstance(c, ft.Container) and str(getattr(c, "key", "")).startswith("violation_0")
    }


def test_violation_search_over_names_and_common_names(app: AppState) -> None:
    shell, screen = open_screen(app, NewCaseView, "new_case")
    assert "搜索违法类型" in texts(shell.body)
    assert "更多类型" in texts(shell.body)
    screen.search_violation(event("占道经营"))
    assert "更多类型" not in texts(shell.body)  # "more" widens the officer's grid, not a search
    assert {"0501", "0504"} <= tile_codes(shell.body)
    assert "0510" not in tile_codes(shell.body)
    screen.search_violation(event("烧烤"))
    assert "0510" in tile_codes(shell.body)
    muck = {v.code for v in app.catalogue.find("渣土")}
    assert muck
    assert all(app.catalogue.get(code).name_zh for code in muck)
    screen.search_violation(event("渣土"))
    assert tile_codes(shell.body) == muck
    screen.search_violation(event("没有这种违法"))
    assert "没有找到该违法类型，请换个说法（如“烧烤”“渣土”）" in texts(shell.body)
    screen.search_violation(event("烧烤"))
    shell.render()  # what was typed is in the draft: a re-render keeps the search
    assert tile_codes(shell.body) == {v.code for v in app.catalogue.find("烧烤")}
    screen.choose_violation("0510")
    assert app.drafts.draft is not None
    assert app.drafts.draft.violation_code == "0510"
    assert app.drafts.draft.violation_query == ""


def test_violation_search_in_english(app: AppState) -> None:
    app.settings.update(lang="en")
    shell, screen = open_screen(app, NewCaseView, "new_case")
    assert "Search violation types" in texts(shell.body)
    screen.search_violation(event("barbecue"))
    assert "0510" in tile_codes(shell.body)


def to_penalty(app: AppState) -> tuple[Any, NewCaseView]:
    shell, screen = open_screen(app, NewCaseView, "new_case")
    screen.choose_violation("0510")
    app.drafts.update(address="人民路 12 号")
    app.drafts.choose_unknown()
    app.drafts.choose_stage(Stage.PENALTY, "多次劝导拒不改正")
    app.drafts.set_disposition(Disposition.PENALTY)
    app.drafts.go_to("action")
    shell.render()
    return shell, screen


@pytest.mark.parametrize("typed", ["-5", "99999999", "abc"])
def test_fine_is_checked_as_it_is_typed_with_the_reviews_words(app: AppState, typed: str) -> None:
    shell, _screen = to_penalty(app)
    violation = app.catalogue.get("0510")
    span = f"{violation.fine_min}～{violation.fine_max} 元"
    assert f"罚款范围 {span}" in texts(shell.body)  # the hint says the range in the error's words
    fine = text_field(shell.body, "罚款金额（元）")
    assert not keyed(shell.body, "fine_yuan_error").visible
    fine.on_change(event(typed))
    note = keyed(shell.body, "fine_yuan_error")
    assert note.visible
    assert span in note.value
    app.drafts.go_to("review")
    shell.render()
    shown = texts(shell.body)
    assert note.value in shown  # the review says the same
    assert typed in shown  # and shows the value typed
    fine_ok = str(violation.fine_min)
    app.drafts.go_to("action")
    shell.render()
    fine = text_field(shell.body, "罚款金额（元）")
    fine.on_change(event(fine_ok))
    assert not keyed(shell.body, "fine_yuan_error").visible


def test_deadline_is_checked_as_it_is_typed(app: AppState) -> None:
    shell, screen = open_screen(app, NewCaseView, "new_case")
    screen.choose_violation("0501")
    app.drafts.update(address="人民路 12 号")
    app.drafts.choose_unknown()
    app.drafts.set_disposition(Disposition.RECTIFY_ORDER)
    app.drafts.go_to("action")
    shell.render()
    box = text_field(shell.body, "整改期限（年-月-日）")
    box.on_change(event("31/12"))
    note = keyed(shell.body, "rectify_deadline_error")
    assert note.visible
    assert note.value == "整改期限格式应为 2026-12-31"
    box.on_change(event("2000-01-01"))
    assert note.value == "整改期限应晚于案发当天"


def test_next_on_the_subject_step_needs_a_subject_or_unknown(app: AppState) -> None:
    shell, screen = open_screen(app, NewCaseView, "new_case")
    screen.choose_violation("0510")
    app.drafts.update(address="人民路 12 号")
    app.drafts.go_to("subject")
    shell.render()
    forward = keyed(shell.body, "case_next")
    assert forward.disabled
    hint = "请先选择或登记当事人；当事人逃离或无法确认时点“当事人不明或已逃离”"
    assert hint in texts(shell.body)
    screen.next()  # even called: it stays
    assert "3/7 · 当事人" in texts(shell.body)
    screen.choose_unknown()
    app.drafts.go_to("subject")
    shell.render()
    assert not keyed(shell.body, "case_next").disabled
    assert hint not in texts(shell.body)


def test_discard_asks_first_then_says_so(app: AppState) -> None:
    shell, screen = open_screen(app, NewCaseView, "new_case")
    screen.choose_violation("0510")
    screen.discard()
    assert "放弃这份草稿？已填写的内容和照片将被删除。" in texts(shell.body)
    assert app.drafts.draft is not None  # nothing gone yet
    screen.keep_draft()
    assert "放弃这份草稿？已填写的内容和照片将被删除。" not in texts(shell.body)
    assert shell.route == "new_case"
    screen.discard()
    screen.discard_confirmed()
    assert app.drafts.draft is None
    assert shell.route == "today"
    assert shell.messages[-1] == "草稿已放弃"


class LoopPage:
    """Enough of a page for ``Shell.run_task``: runs the task at once."""

    def __init__(self) -> None:
        self.ran: list[str] = []

    def run_task(self, handler: Any, *args: Any) -> None:
        self.ran.append(handler.__name__)
        asyncio.run(handler(*args))

    def __getattr__(self, name: str) -> Any:
        return lambda *a, **k: None


def test_background_tasks_of_the_wizard_show_the_error_card(
    app: AppState, monkeypatch: pytest.MonkeyPatch
) -> None:
    shell, screen = open_screen(app, NewCaseView, "new_case")
    screen.choose_violation("0510")

    async def broken_picker() -> None:
        raise RuntimeError("the picker broke")

    monkeypatch.setattr(screen, "pick_photos", broken_picker)
    page = LoopPage()
    shell.page = page  # type: ignore[assignment]
    screen.camera.control = None
    screen.entered("photos")  # no camera: the picker opens in the background
    assert page.ran == ["broken_picker"]
    assert shell.route == "error"
    assert [str(e) for e in shell.faults] == ["the picker broke"]
    assert app.drafts.draft is not None
    assert app.drafts.draft.violation_code == "0510"


def test_hardship_tag_shown_once(app: AppState) -> None:
    app.drafts.start()
    note = "困难户，已引导至疏导点"
    app.drafts.create_subject("mobile_vendor", name="马大姐", description=note, hardship=True)
    app.drafts.create_subject("mobile_vendor", name="马二姐", hardship=True)
    app.drafts.discard()
    shell, screen = open_screen(app, NewCaseView, "new_case")
    screen.choose_violation("0510")
    app.drafts.go_to("subject")
    shell.render()
    screen.search_subject(event("马"))
    shown = texts(screen.results)
    assert "马大姐 · 困难户，已引导至疏导点" in shown
    assert "马二姐 · 困难户" in shown
    assert all(line.count("困难户") <= 1 for line in shown)
    shell.go("subjects")
    subjects = shell.screen
    subjects.on_search(event("马"))  # type: ignore[union-attr]
    listed = texts(shell.body)
    assert "马大姐 · 困难户，已引导至疏导点" in listed
    assert all(line.count("困难户") <= 1 for line in listed)


def test_subject_form_fills_its_card(app: AppState) -> None:
    shell, screen = open_screen(app, NewCaseView, "new_case")
    screen.choose_violation("0510")
    app.drafts.go_to("subject")
    screen.open_subject_form()
    card = keyed(shell.body, "subject_form")
    column = card.content.content
    assert isinstance(column, ft.Column)
    assert column.horizontal_alignment == ft.CrossAxisAlignment.STRETCH


def test_case_detail_says_the_phones_stage_reason_and_opens_a_photo_whole(app: AppState) -> None:
    from mobile.views.case_detail import CaseDetailView
    from tests.mobile.statekit import photo, saved_case

    first = saved_case(app, photo_seed=3)
    vendor = app.store.get_case(first).subject_id  # type: ignore[union-attr]
    app.drafts.start()  # the same vendor again: 警告, the first case counted
    app.drafts.choose_violation("0510")
    app.drafts.update(address="人民路 14 号", warning_notice_no="JG-0001")
    app.drafts.choose_subject(vendor)
    asyncio.run(app.drafts.add_photo(photo(4)))
    second = app.drafts.save().id
    shell = started(app)
    shell.go("case", first)
    assert "本机依据：此前计入 0 起 → 劝导" in texts(shell.body)
    shell.go("case", second)
    detail = shell.screen
    assert isinstance(detail, CaseDetailView)
    shown = texts(shell.body)
    reason = next(t for t in shown if t.startswith("本机依据："))
    assert reason.startswith("本机依据：此前计入 1 起：")
    assert reason.endswith("劝导 → 警告")
    case = app.store.get_case(second)
    assert case is not None
    sha = case.photos[0].sha256
    thumb = keyed(shell.body, f"photo_{sha[:12]}")
    assert thumb.on_click is not None
    thumb.on_click(None)
    viewer = keyed(shell.body, "photo_viewer")
    assert isinstance(viewer, ft.InteractiveViewer)
    assert viewer.max_scale > 1
    full = keyed(shell.body, "photo_full")
    assert full.src == app.detail.photo(sha)  # the evidence image itself, not the square thumbnail
    assert full.fit == ft.BoxFit.CONTAIN
    assert full.src != app.drafts.thumbnail(sha)
    assert "关闭照片" in texts(shell.body)
    detail.close_photo()
    assert "本机依据：" + reason.removeprefix("本机依据：") in texts(shell.body)
    app.settings.update(lang="en")
    shell.render()
    assert "Phone's basis: Earlier counted: " in " ".join(texts(shell.body))
