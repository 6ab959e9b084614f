"""Issue #5 end to end: officer 1023 on the app in Chromium against a real, seeded HQ.

The tests run in file order over one HQ, one app and one page (module fixtures) and build on each other:
a new vendor's 占道经营 (catalogue: 无照经营游商) three times → 劝导, 警告, 处罚 with a fine; a 露天烧烤
case for the seeded 赵老三烧烤 (two earlier cases at HQ → 处罚) with a seized grill and a second officer; a
case recorded while HQ is down, waiting, then synced once HQ is back; the third case's detail read through the
semantics tree (case number, subject, stage, fine) and its case number copied by selecting it; finally HQ's
API (as HQ user 9001) shows every case and photo exactly once. Every screen is saved under
artifacts/screenshots/ (the key ones are kept in docs/screenshots/).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest

from testkit.browser import Screen
from testkit.harness import HqApi, HqServer
from testkit.officer_ui import OfficerUi, evidence_jpeg

pytestmark = pytest.mark.browser

VENDOR = "老周煎饼"
VENDOR_PHONE = "13900001111"
GRILL_VENDOR = "赵老三烧烤"  # seeded: 露天烧烤 60 and 20 days ago
NIGHT_VENDOR = "夜市炒粉"
DEMO_CASES = 5


@dataclass
class Recorded:
    case_no: str
    violation_code: str
    stage: int  # 1 劝导, 2 警告, 3 处罚


@dataclass
class Day:
    """What the officer recorded so far (the HQ check compares against it)."""

    ui: OfficerUi
    photos_dir: Path
    cases: list[Recorded] = field(default_factory=list)
    photo_seed: int = 0

    def photo(self) -> Path:
        self.photo_seed += 1
        return evidence_jpeg(self.photos_dir / f"photo{self.photo_seed}.jpg", self.photo_seed)


@pytest.fixture(scope="module")
def day(screen: Screen, tmp_path_factory: pytest.TempPathFactory) -> Day:
    return Day(OfficerUi(screen), tmp_path_factory.mktemp("photos"))


def record_vendor_case(day: Day, *, first: bool, stage: str, query: str = VENDOR, shots: str = "") -> str:
    """One 占道经营 case for VENDOR, found by ``query`` after the first time; returns the stage step's
    text. ``shots`` prefixes screenshot names."""
    ui, s = day.ui, day.ui.s
    ui.new_case("无照经营游商")
    fix = ui.locate()  # asked for by the location step itself; the wizard then moves on
    assert "34.74660" in fix
    assert "113.62530" in fix
    if shots:
        ui.step(2)  # back to the location step to see it
        s.screenshot(f"{shots}-location")
    if first:
        ui.new_subject(VENDOR, VENDOR_PHONE)
    else:
        ui.find_subject(query, f"{VENDOR} · {VENDOR_PHONE}")
    text = ui.stage_text()
    assert stage in text, text
    if shots:
        s.screenshot(f"{shots}-subject-stage")
    return text


def test_sign_in_as_officer(day: Day) -> None:
    s = day.ui.s
    s.wait_control("textbox", "执法证号")
    s.screenshot("sign-in")
    day.ui.sign_in("1023")
    text = s.semantics_text()
    assert "王㐂（1023）" in text, text
    assert "今日还没有案件" in text, text
    s.screenshot("today")


def test_new_vendor_first_time_persuasion(day: Day) -> None:
    ui, s = day.ui, day.ui.s
    text = record_vendor_case(day, first=True, stage="第1次 · 劝导", shots="case1")
    s.screenshot("new-case-stage")
    assert "劝导" in text
    ui.step(5)
    s.screenshot("case1-action")
    ui.add_photo(day.photo(), 1)
    s.screenshot("case1-review")  # the photo taken, the wizard moved on to the review by itself
    ui.step(6)
    s.screenshot("case1-photos")
    case_no = ui.save()
    day.cases.append(Recorded(case_no, "0501", 1))
    s.wait_text(VENDOR)
    s.screenshot("case1-saved")


def test_same_vendor_second_time_warning(day: Day) -> None:
    ui, s = day.ui, day.ui.s
    text = record_vendor_case(day, first=False, stage="第2次 · 警告")
    assert "劝导" in text  # the earlier case is listed in the vendor's history
    ui.step(5)
    ui.choose("警告通知书")
    s.fill("警告通知书编号", "JG-2026-0001")
    s.screenshot("case2-action-warning")
    ui.add_photo(day.photo(), 1)
    day.cases.append(Recorded(ui.save(), "0501", 2))


def test_same_vendor_third_time_penalty_with_fine(day: Day) -> None:
    ui, s = day.ui, day.ui.s
    # found by the last four digits of the phone this time
    record_vendor_case(day, first=False, stage="第3次 · 处罚", query=VENDOR_PHONE[-4:])
    ui.step(5)
    ui.choose("罚款")
    s.wait_text("罚款范围 50～500 元")  # the range in the words of the fine errors (issue #14)
    s.fill("罚款金额（元）", "200")
    s.screenshot("case3-action-fine")
    ui.add_photo(day.photo(), 1)
    day.cases.append(Recorded(ui.save(), "0501", 3))


def test_barbecue_with_seized_grill_and_second_officer(day: Day) -> None:
    ui, s = day.ui, day.ui.s
    ui.new_case("露天烧烤")
    ui.locate()
    ui.find_subject(GRILL_VENDOR, GRILL_VENDOR)
    text = ui.stage_text()
    assert "第3次 · 处罚" in text, text  # the two earlier cases came from HQ
    ui.step(5)
    ui.choose("罚款")
    s.fill("罚款金额（元）", "1000")
    s.fill("物品", "烧烤炉")
    s.fill("数量", "1")
    s.tap("添加暂扣物品")
    s.wait_text("烧烤炉 × 1")
    s.fill("暂扣清单编号", "ZK-2026-0007")
    s.fill("第二名执法队员证号", "1024")
    s.screenshot("case4-action-seizure")
    ui.add_photo(day.photo(), 1)
    day.cases.append(Recorded(ui.save(), "0510", 3))
    s.wait_text("露天烧烤")
    s.screenshot("today-four-cases")


def test_offline_case_waits_then_syncs(day: Day, hq: HqServer) -> None:
    ui, s = day.ui, day.ui.s
    s.wait_text("全部已上传", timeout=60)  # everything before is at HQ
    hq.stop()
    ui.new_case("无照经营游商")
    ui.locate()
    ui.new_subject(NIGHT_VENDOR, "13900002222")
    assert "第1次 · 劝导" in ui.stage_text()
    ui.add_photo(day.photo(), 1)
    day.cases.append(Recorded(ui.save(), "0501", 1))
    # the case and the new vendor wait, with the case's photo
    s.wait_text("离线 · 待传 2 条记录 · 1 张照片", timeout=60)
    s.screenshot("offline-waiting")
    ui.tab("同步")
    s.wait_text("待传：2 条记录")
    assert "1 张照片（" in s.semantics_text()
    s.screenshot("sync-offline")
    hq.start()
    s.tap("立即同步")
    s.wait_text("待传：0 条记录（0 字节），0 张照片（0 字节）", timeout=60)
    s.screenshot("sync")
    ui.tab("今日")
    s.wait_text("全部已上传", timeout=30)
    s.wait_text(NIGHT_VENDOR)
    assert s.semantics_text().count("HQ 已完整接收") == len(day.cases)
    s.screenshot("today-synced")


def test_case_detail_values_are_read_and_the_case_number_copied(day: Day) -> None:
    """The detail's values are plain texts in a SelectionArea: the semantics tree (what a screen reader
    reads) has them, and a mouse selection over the case number copies it."""
    s = day.ui.s
    third = day.cases[2]  # 老周煎饼's third time: 处罚, fine 200
    s.settle()
    s.tap_containing(VENDOR, "处罚")  # the only 老周煎饼 tile with 处罚
    s.wait_text("案件详情")
    s.wait_text(third.case_no)
    lines = s.lines_with(
        f"{third.case_no} · 第 1 版",
        "无照经营游商",
        f"{VENDOR} · {VENDOR_PHONE}",
        "处罚",  # the stage chip
        "HQ 已完整接收",
        "200",
        "罚款金额（元）",
    )
    assert any(line.startswith("GPS 34.74660, 113.62530") for line in lines), lines
    s.screenshot("case3-detail")
    copied = s.copy_between("案件编号", third.case_no)
    assert third.case_no in copied, copied
    s.tap("返回")
    s.wait_text("新建案件")


def test_hq_has_every_case_and_photo_exactly_once(day: Day, hq: HqServer) -> None:
    assert [c.stage for c in day.cases] == [1, 2, 3, 3, 1]
    api = HqApi(hq.url)
    try:
        cases = api.cases(limit=1000)
        assert len(cases) == DEMO_CASES + len(day.cases)
        by_no: dict[str, list[dict[str, object]]] = {}
        for case in cases:
            by_no.setdefault(str(case["case_no"]), []).append(case)
        photo_shas: list[str] = []
        for recorded in day.cases:
            [summary] = by_no[recorded.case_no]
            assert summary["officer_badge"] == "1023"
            assert summary["violation_code"] == recorded.violation_code
            assert summary["version"] == 1
            assert summary["hq_stage"] == recorded.stage
            assert summary["chosen_stage"] == recorded.stage
            assert not summary["stage_conflict"]
            assert summary["complete"], summary
            detail = api.case(str(summary["case_id"]))
            assert detail["missing_photos"] == []
            photos = [p["sha256"] for p in detail["case"]["photos"]]
            assert len(photos) == 1
            photo_shas += photos
            location = detail["case"]["location"]
            assert abs(location["lat"] - 34.7466) < 1e-4
            assert abs(location["lon"] - 113.6253) < 1e-4
        grill = api.case(str(by_no[day.cases[3].case_no][0]["case_id"]))["case"]
        assert [(i["kind"], i["quantity"]) for i in grill["seized_items"]] == [("烧烤炉", 1)]
        assert grill["second_officer_badge"] == "1024"
        assert grill["fine_yuan"] == 1000
        assert api.case(str(by_no[day.cases[2].case_no][0]["case_id"]))["case"]["fine_yuan"] == 200
        assert len(set(photo_shas)) == len(photo_shas)
        assert all(api.has_photo(sha) for sha in photo_shas)
        stored = sorted(p.name for p in hq.blobs.rglob("*") if p.is_file() and len(p.name) == 64)
        assert stored == sorted(photo_shas)
    finally:
        api.close()
