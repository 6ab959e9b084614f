"""Issue #14's new-case form in Chromium (officer 1023, one HQ, one app, one page; the tests build on each
other in file order): the violation search, values checked at the field as they are typed and shown again
on the review, 下一步 on the subject step only once a subject is chosen or 当事人不明, 放弃草稿 asking first,
and a saved case's photo opened whole, full screen. Screenshots: artifacts/screenshots/form-*.png."""

from __future__ import annotations

from pathlib import Path

import pytest

from enforcement.catalogue import load_catalogue
from testkit.browser import Screen
from testkit.officer_ui import OfficerUi, evidence_jpeg

pytestmark = pytest.mark.browser

GRILL_VENDOR = "赵老三烧烤"  # seeded: two earlier 露天烧烤 cases, so a third is 处罚 (a fine)
SUBJECT_HINT = "请先选择或登记当事人；当事人逃离或无法确认时点“当事人不明或已逃离”"


@pytest.fixture(scope="module")
def ui(screen: Screen) -> OfficerUi:
    return OfficerUi(screen)


def test_violation_search_finds_names_and_common_names(ui: OfficerUi) -> None:
    s = ui.s
    ui.sign_in("1023")
    s.tap("新建案件")
    s.wait_text("1/7 · 违法类型")
    s.fill("搜索违法类型", "烧烤")
    s.wait_gone("无照经营游商")  # the grid shows what the search finds
    s.wait_text("露天烧烤")
    s.fill("搜索违法类型", "渣土")
    s.wait_gone("露天烧烤")
    for name in ("道路遗撒（渣土运输）", "渣土运输车辆未密闭", "无证消纳渣土"):
        s.wait_text(name)
    s.settle()
    s.screenshot("form-violation-search")
    s.fill("搜索违法类型", "占道经营")
    s.wait_text("无照经营游商")
    s.wait_text("店外经营")
    s.fill("搜索违法类型", "烧烤")
    s.wait_text("露天烧烤")
    s.settle()
    s.tap("露天烧烤")
    ui.moved_on(1)


def test_next_needs_a_subject_or_unknown(ui: OfficerUi) -> None:
    s = ui.s
    ui.locate()
    ui.step(3)
    s.wait_text(SUBJECT_HINT)
    assert not s.enabled("button", "下一步")
    s.screenshot("form-subject-next-disabled")
    ui.find_subject(GRILL_VENDOR, GRILL_VENDOR)
    assert "第3次 · 处罚" in ui.stage_text()
    ui.step(3)
    assert s.enabled("button", "下一步")
    assert SUBJECT_HINT not in s.semantics_text()


@pytest.mark.parametrize("typed", ["-5", "99999999", "abc"])
def test_fine_is_checked_as_it_is_typed(ui: OfficerUi, typed: str) -> None:
    s = ui.s
    grill = load_catalogue().get("0510")
    span = f"{grill.fine_min}～{grill.fine_max} 元"
    ui.step(5)
    ui.choose("罚款")
    s.wait_text(f"罚款范围 {span}")  # the hint: the range in the error's words
    s.fill("罚款金额（元）", typed)
    error = f"罚款金额应为整数（元）（{span}）" if typed == "abc" else f"罚款金额应在 {span}之间"
    s.wait_text(error)  # at the field, as typed: not only on the review
    s.settle()
    s.screenshot(f"form-fine-{typed.strip('-')}")
    ui.step(7)
    review = s.lines_with("罚款金额（元）", typed, error)  # the review shows the value and the same words
    assert "可以保存" not in review


def test_discard_asks_first_and_says_so(ui: OfficerUi) -> None:
    s = ui.s
    s.tap("放弃草稿")
    s.wait_text("放弃这份草稿？已填写的内容和照片将被删除。")
    s.settle()
    s.screenshot("form-discard-confirm")
    s.tap("继续填写")
    s.wait_gone("放弃这份草稿？")
    assert "7/7 · 核对保存" in s.semantics_text()  # nothing lost
    s.tap("放弃草稿")
    s.tap("确认放弃")
    s.wait_text("草稿已放弃")
    s.wait_text("新建案件")


def test_a_photo_opens_whole_and_full_screen(ui: OfficerUi, tmp_path: Path) -> None:
    s = ui.s
    ui.new_case("露天烧烤")
    ui.locate()
    ui.step(3)
    s.tap("当事人不明或已逃离")
    ui.moved_on(3)
    ui.add_photo(evidence_jpeg(tmp_path / "grill.jpg", 7), 1)
    ui.save()
    s.settle()
    s.tap_containing("露天烧烤", "劝导")
    s.wait_text("案件详情")
    s.wait_text("本机依据：此前计入 0 起 → 劝导")  # the phone's reason for its stage
    s.tap("查看原图")
    s.wait_text("关闭照片")
    s.wait_text("双指缩放、拖动查看细节")
    s.settle()
    s.screenshot("form-photo-viewer")
    s.tap("关闭照片")
    s.wait_text("案件详情")
