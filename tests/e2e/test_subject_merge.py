"""Issue #22 end to end in Chromium: one vendor, one history.

Officers 1023 and 1024 of ZD01 each have a phone (an app server with its own data) and a page; one seeded
HQ serves both. HQ goes down (both phones offline); each officer registers 老王烧烤 as a new subject with
the same phone number, typed differently, and records a 露天烧烤 (劝导 on each phone). HQ comes back and
both phones sync: HQ flags the pair as a merge suggestion and stages the later case 警告 (a stage
conflict). Squad leader 1001 signs in to HQ's dashboard in Chromium, finds the pair on the district's
subject page (both subjects' cases side by side) and presses 合并; after their next sync both phones'
当事人 screens show one 老王烧烤 with both cases. Screens are saved under
artifacts/screenshots/subject-merge-*.png.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from hq.demo import USERS
from testkit.browser import ARTIFACTS, Browser, Screen
from testkit.harness import AppServer, HqApi, HqServer
from testkit.officer_ui import OfficerUi, evidence_jpeg
from tests.e2e.leaderui import screenshot_unhovered, until

pytestmark = pytest.mark.browser

VENDOR = "老王烧烤"
PHONES = {"1023": "13812345678", "1024": "+86 138-1234-5678"}
LEADER = "1001"


def seeded_pin(badge: str) -> str:
    return next(user.pin for user in USERS if user.officer.badge == badge)


@dataclass
class Phones:
    a: OfficerUi
    b: OfficerUi
    hq: HqServer
    photos: Path
    cases: dict[str, str]


@pytest.fixture(scope="module")
def phone_a(hq: HqServer, e2e_root: Path) -> Iterator[AppServer]:
    with AppServer(e2e_root / "phone-a", hq.url, e2e_root / "phone-a.log") as server:
        yield server


@pytest.fixture(scope="module")
def phone_b(hq: HqServer, e2e_root: Path) -> Iterator[AppServer]:
    with AppServer(e2e_root / "phone-b", hq.url, e2e_root / "phone-b.log") as server:
        yield server


@pytest.fixture(scope="module")
def phones(
    browser: Browser,
    phone_a: AppServer,
    phone_b: AppServer,
    hq: HqServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Phones]:
    with browser.new_screen(phone_a.url) as a, browser.new_screen(phone_b.url) as b:
        yield Phones(OfficerUi(a), OfficerUi(b), hq, tmp_path_factory.mktemp("photos"), {})


@pytest.fixture(scope="module")
def api(hq: HqServer) -> Iterator[HqApi]:
    client = HqApi(hq.url)
    try:
        yield client
    finally:
        client.close()


def _shot(screen: Screen, name: str) -> None:
    screenshot_unhovered(screen, f"subject-merge-{name}")


def test_two_phones_register_the_same_vendor_offline(phones: Phones) -> None:
    phones.a.sign_in("1023", seeded_pin("1023"))
    phones.b.sign_in("1024", seeded_pin("1024"))
    phones.hq.stop()  # both phones offline from here
    for n, (badge, ui) in enumerate((("1023", phones.a), ("1024", phones.b))):
        ui.new_case("露天烧烤")
        ui.locate()
        ui.new_subject(VENDOR, PHONES[badge])
        assert "第1次 · 劝导" in ui.stage_text()
        ui.add_photo(evidence_jpeg(phones.photos / f"p{n}.jpg", 500 + n), 1)
        phones.cases[badge] = ui.save()
    _shot(phones.b.s, "phone-b-offline")
    phones.hq.start()  # back online (the phones sync in the next test)


def test_after_sync_hq_flags_the_pair_and_stages_the_later_case_a_warning(phones: Phones, api: HqApi) -> None:
    for ui in (phones.a, phones.b):  # A first: its case is the earlier one
        ui.s.tap("立即同步")
        ui.s.wait_text("全部已上传", timeout=90)

    def staged() -> dict[str, int] | None:
        found = {
            c["case_no"]: c["hq_stage"]
            for c in api.cases(limit=1000)
            if c["case_no"] in phones.cases.values()
        }
        return found if len(found) == 2 else None

    stages = until(staged, "HQ holds both cases")
    assert stages[phones.cases["1023"]] == 1  # 劝导
    assert stages[phones.cases["1024"]] == 2  # 警告: the same vendor's second case
    conflicts = {c["case_no"] for c in api.cases(limit=1000, conflicts_only=True)}
    assert phones.cases["1024"] in conflicts


def test_the_leader_merges_on_the_dashboard_and_both_phones_show_one_vendor_with_both_cases(
    phones: Phones, browser: Browser
) -> None:
    first, later = phones.cases["1023"], phones.cases["1024"]

    def merge_on_the_page() -> dict[str, str]:
        context = browser._browser.new_context(viewport={"width": 1280, "height": 1000}, locale="zh-CN")
        try:
            page = context.new_page()
            page.goto(f"{phones.hq.url}/dashboard")
            page.fill("#badge", LEADER)
            page.fill("#pin", seeded_pin(LEADER))
            page.click("button[type=submit]")
            page.wait_for_selector("#suggestions")  # a squad leader lands on the district's subject page
            pair = page.locator("article.pair", has_text=first).filter(has_text=later)
            seen = {"pair": pair.inner_text(), "url": page.url}
            pair.scroll_into_view_if_needed()
            page.evaluate("document.fonts.ready")
            page.wait_for_timeout(500)
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            pair.screenshot(path=str(ARTIFACTS / "subject-merge-dashboard-suggestion.png"))
            pair.get_by_role("button", name="合并（保留左侧）").click()
            page.wait_for_selector("#subjects-note")
            seen["note"] = page.inner_text("#subjects-note")
            seen["merged"] = page.inner_text("#merged")
            seen["left"] = str(page.locator("article.pair", has_text=later).count())
            page.locator("#merged").screenshot(path=str(ARTIFACTS / "subject-merge-dashboard-merged.png"))
            return seen
        finally:
            context.close()

    seen = browser.call(merge_on_the_page)
    assert seen["url"].endswith("/dashboard/subjects"), seen
    assert "强匹配" in seen["pair"], seen
    assert "电话相同" in seen["pair"], seen
    assert seen["pair"].count(VENDOR) == 2, seen  # both subjects side by side …
    assert "警告（手机：劝导）" in seen["pair"], seen  # … with their cases, the later one staged 警告
    assert seen["note"] == "已合并", seen
    assert f"{VENDOR} → {VENDOR}" in seen["merged"], seen
    assert seen["left"] == "0", seen  # the suggestion is gone
    for name, ui in (("a", phones.a), ("b", phones.b)):
        ui.s.tap("立即同步")
        ui.s.wait_text("全部已上传", timeout=90)
        ui.tab("当事人")
        ui.s.fill("按车牌、电话或姓名搜索", VENDOR)
        ui.s.settle()
        text = ui.s.semantics_text()
        assert text.count(f"{VENDOR} · 13812345678") == 1, text  # one vendor
        ui.s.tap_text(f"{VENDOR} · 13812345678", exact=False)
        ui.s.wait_text("违法记录 · 2 起")
        _shot(ui.s, f"phone-{name}-one-vendor")


def test_an_officer_edits_the_vendor_on_the_phone_and_the_edit_reaches_hq(phones: Phones) -> None:
    """Phone A, on the merged vendor's detail: 修改资料; a wrong ID number is refused under its field as
    typed; a new address is saved (offline-capable) and synced; HQ's edit history comes back as 修改记录."""
    ui = phones.a
    ui.s.tap("修改资料")
    ui.s.wait_text("修改当事人资料")
    ui.s.fill("身份证号", "110101199003071234")  # a wrong check character
    ui.s.wait_text("身份证号校验位不符，请核对是否输错")
    _shot(ui.s, "phone-a-edit-error")
    ui.s.fill("身份证号", "")
    ui.s.wait_gone("身份证号校验位不符，请核对是否输错")
    ui.s.fill("地址", "人民路夜市东口")
    ui.s.tap("保存修改")
    ui.s.wait_text("违法记录 · 2 起")  # back on the vendor's detail
    ui.tab("今日")
    ui.s.tap("立即同步")
    ui.s.wait_text("全部已上传", timeout=90)
    ui.tab("当事人")
    ui.s.fill("按车牌、电话或姓名搜索", VENDOR)
    ui.s.settle()
    ui.s.tap_text(f"{VENDOR} · 13812345678", exact=False)
    ui.s.wait_text("修改记录")
    ui.s.wait_text("· 1023 · 地址", timeout=30)
    _shot(ui.s, "phone-a-edit-history")
