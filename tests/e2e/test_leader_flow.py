"""Issue #6 end to end: the review round trip between two phones in Chromium through a real, seeded HQ.

Officer 1023 and squad leader 1001 each have their own phone (an app server with its own data directory)
and page; one HQ serves both. The tests run in file order and build on each other: the officer records a
new vendor's 占道经营 (劝导, one photo) and a 露天烧烤 for the seeded 赵老三烧烤 (处罚, the leader must
decide) and syncs; the leader signs in, sees the officer and both cases in 中队 and 审核, returns the first
with a reason; the officer's phone shows it returned with the reason, the officer amends it (a note and a
second photo: version 2) and syncs; the leader's queue shows 第 2 版 and the leader approves it; HQ's API
(as HQ user 9001) holds both versions and both decisions. Every screen is saved under
artifacts/screenshots/leader-e2e-*.png (the key ones are kept in docs/screenshots/).

The state-level twin of this round trip (no browser) is tests/mobile/test_state_squad_sync.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from hq.demo import USERS
from testkit.browser import Browser, Screen
from testkit.harness import AppServer, HqApi, HqServer
from testkit.officer_ui import OfficerUi, evidence_jpeg
from tests.e2e.leaderui import LeaderUi, screenshot_unhovered, until

pytestmark = pytest.mark.browser

OFFICER = "1023"
OFFICER_SHOWN = "王㐂（1023）"
LEADER = "1001"
LEADER_SHOWN = "张伟（1001）"
VENDOR = "老周煎饼"
VENDOR_PHONE = "13900003333"
GRILL_VENDOR = "赵老三烧烤"  # seeded: two earlier 露天烧烤 → 处罚 now
REASON = "请补拍摊位全景"
NOTE = "已补拍摊位全景"


def seeded_pin(badge: str) -> str:
    """The PIN ``seed-demo`` gave ``badge`` (the leader's does not follow the officers' "26"+badge)."""
    return next(user.pin for user in USERS if user.officer.badge == badge)


@dataclass
class Flow:
    """Both phones and what happened so far (later tests build on it)."""

    officer: OfficerUi
    leader: LeaderUi
    hq: HqServer
    photos_dir: Path
    vendor_case: str = ""  # case no of the case the leader returns
    vendor_v1_id: str = ""  # its first version's case id (HQ's case list shows latest versions only)
    grill_case: str = ""
    photo_seed: int = 100
    shots: list[str] = field(default_factory=list)

    def photo(self) -> Path:
        self.photo_seed += 1
        return evidence_jpeg(self.photos_dir / f"photo{self.photo_seed}.jpg", self.photo_seed)

    def shot(self, screen: Screen, name: str) -> None:
        screenshot_unhovered(screen, f"leader-e2e-{name}")
        self.shots.append(name)


def _phone(root: Path, name: str, hq: HqServer) -> AppServer:
    return AppServer(root / name, hq.url, root / f"{name}.log")


@pytest.fixture(scope="module")
def officer_phone(hq: HqServer, e2e_root: Path) -> Iterator[AppServer]:
    with _phone(e2e_root, "officer-phone", hq) as server:
        yield server


@pytest.fixture(scope="module")
def leader_phone(hq: HqServer, e2e_root: Path) -> Iterator[AppServer]:
    with _phone(e2e_root, "leader-phone", hq) as server:
        yield server


@pytest.fixture(scope="module")
def officer_screen(browser: Browser, officer_phone: AppServer) -> Iterator[Screen]:
    with browser.new_screen(officer_phone.url) as page:
        yield page


@pytest.fixture(scope="module")
def leader_screen(browser: Browser, leader_phone: AppServer) -> Iterator[Screen]:
    with browser.new_screen(leader_phone.url) as page:
        yield page


@pytest.fixture(scope="module")
def flow(
    officer_screen: Screen, leader_screen: Screen, hq: HqServer, tmp_path_factory: pytest.TempPathFactory
) -> Flow:
    return Flow(OfficerUi(officer_screen), LeaderUi(leader_screen), hq, tmp_path_factory.mktemp("photos"))


@pytest.fixture(autouse=True)
def _shots_on_failure(request: pytest.FixtureRequest) -> Iterator[None]:
    """Both phones' screens when a test of this module fails (conftest's hook knows only ``screen``)."""
    yield
    report = getattr(request.node, "e2e_report_call", None)
    if report is None or not report.failed or "flow" not in request.fixturenames:
        return
    flow: Flow = request.getfixturevalue("flow")
    for who, ui in (("officer", flow.officer), ("leader", flow.leader)):
        try:
            ui.s.screenshot(f"FAILED-{request.node.name}-{who}")
        except Exception as exc:  # the page may be what broke; the failure itself is reported anyway
            print(f"no failure screenshot of the {who}'s phone: {exc!r}")


@pytest.fixture(scope="module")
def api(hq: HqServer) -> Iterator[HqApi]:
    client = HqApi(hq.url)
    try:
        yield client
    finally:
        client.close()


def latest_at_hq(api: HqApi, case_no: str) -> dict[str, Any] | None:
    """HQ's summary of the latest version of ``case_no`` (None: HQ does not have it)."""
    return next((c for c in api.cases(limit=1000) if c["case_no"] == case_no), None)


def reviews_at_hq(api: HqApi, case_id: str) -> list[dict[str, Any]]:
    reviews: list[dict[str, Any]] = api.case(case_id)["reviews"]
    return reviews


# ------------------------------------------------------------------------------------------ the flow


def test_officer_records_two_cases_and_syncs(flow: Flow, api: HqApi) -> None:
    ui, s = flow.officer, flow.officer.s
    ui.sign_in(OFFICER, seeded_pin(OFFICER))
    assert OFFICER_SHOWN in s.semantics_text()

    ui.new_case("无照经营游商")
    ui.locate()
    ui.new_subject(VENDOR, VENDOR_PHONE)
    assert "第1次 · 劝导" in ui.stage_text()
    ui.add_photo(flow.photo(), 1)
    flow.vendor_case = ui.save()

    ui.new_case("露天烧烤")
    ui.locate()
    ui.find_subject(GRILL_VENDOR, GRILL_VENDOR)
    assert "第3次 · 处罚" in ui.stage_text()  # the two earlier cases came from HQ
    ui.step(5)
    ui.choose("罚款")
    s.fill("罚款金额（元）", "500")
    ui.add_photo(flow.photo(), 1)
    flow.grill_case = ui.save()

    s.tap("立即同步")  # saving already poked the link; the status line's button asks once more
    s.wait_text("全部已上传", timeout=60)
    s.wait_text(GRILL_VENDOR)
    flow.shot(s, "officer-today")

    def both_complete() -> bool:
        cases = {c["case_no"]: c for c in api.cases(officer_badge=OFFICER, limit=1000)}
        return all(no in cases and cases[no]["complete"] for no in (flow.vendor_case, flow.grill_case))

    until(both_complete, "HQ holds both cases with their photos")


def test_leader_sees_the_officer_and_the_cases(flow: Flow) -> None:
    ui, s = flow.leader, flow.leader.s
    ui.sign_in(LEADER, seeded_pin(LEADER))
    assert LEADER_SHOWN in s.semantics_text()
    s.wait_text("全部已上传", timeout=60)  # the first sync (the squad's feed) is done
    ui.squad()
    s.wait_text(OFFICER_SHOWN)
    s.wait_text("案件 2 起")
    s.wait_text("审核队列（2）")
    flow.shot(s, "squad")
    text = s.semantics_text()
    assert flow.vendor_case in text, text
    assert flow.grill_case in text, text


def test_leader_returns_the_vendor_case_with_a_reason(flow: Flow, api: HqApi) -> None:
    ui, s = flow.leader, flow.leader.s
    ui.review()
    ui.wait_queued(flow.vendor_case, 1)
    ui.wait_queued(flow.grill_case, 1)
    text = s.semantics_text()
    assert "待审核 2 起，其中须决定 1 起" in text, text  # the 处罚 needs the leader's decision
    assert f"队员：{OFFICER_SHOWN}" in text, text
    assert f"当事人：{VENDOR}" in text, text
    assert "处罚案件" in text, text
    # 处罚 first: the leader's decision is wanted there
    assert [no for no, _ in ui.queue()] == [flow.grill_case, flow.vendor_case]
    flow.shot(s, "review-queue")

    ui.start_return(flow.vendor_case, REASON)
    flow.shot(s, "review-return-reason")
    ui.confirm_return(flow.vendor_case)
    s.wait_text(f"{flow.vendor_case} · 已退回")  # under 已处理
    s.wait_text(f"已退回：{REASON}")
    assert ui.queue() == [(flow.grill_case, 1)]
    flow.shot(s, "review-returned")

    v1 = latest_at_hq(api, flow.vendor_case)
    assert v1 is not None
    assert v1["version"] == 1
    flow.vendor_v1_id = v1["case_id"]

    def returned_at_hq() -> list[dict[str, Any]]:
        return reviews_at_hq(api, flow.vendor_v1_id)

    [review] = until(returned_at_hq, "HQ holds the leader's return")
    assert (review["decision"], review["comment"], review["reviewer_badge"]) == ("return", REASON, LEADER)


def test_officer_sees_the_case_returned_with_the_reason(flow: Flow) -> None:
    s = flow.officer.s
    s.tap("立即同步")
    s.wait_text("中队长退回", timeout=60)
    flow.shot(s, "officer-today-returned")
    s.tap_text(f"· {VENDOR}", exact=False)  # the case's tile: "<time> · 老周煎饼"
    s.wait_text("案件详情")
    s.wait_text("中队长意见 · 退回")
    s.wait_text(REASON)
    s.wait_control("button", "修改并重新提交")
    # the detail's values are plain texts in a SelectionArea: the semantics tree has them
    s.lines_with(f"{flow.vendor_case} · 第 1 版", "劝导", f"{VENDOR} · {VENDOR_PHONE}")
    flow.shot(s, "officer-returned-detail")


def test_officer_amends_the_returned_case(flow: Flow, api: HqApi) -> None:
    ui, s = flow.officer, flow.officer.s
    s.tap("修改并重新提交")
    s.wait_text("7/7 ·")  # the amendment opens on the review step
    ui.step(5)
    s.fill("备注", NOTE)
    ui.add_photo(flow.photo(), 2)  # the panorama the leader asked for
    assert ui.save() == flow.vendor_case  # same case number, a new version
    s.wait_text("全部已上传", timeout=60)
    flow.shot(s, "officer-amended")

    def amended_at_hq() -> dict[str, Any] | None:
        latest = latest_at_hq(api, flow.vendor_case)
        return latest if latest and latest["version"] == 2 and latest["complete"] else None

    v2 = until(amended_at_hq, "HQ holds version 2 with its photos")
    assert v2["officer_badge"] == OFFICER
    assert v2["case_id"] != flow.vendor_v1_id


def test_leader_approves_the_amended_version(flow: Flow, api: HqApi) -> None:
    ui, s = flow.leader, flow.leader.s
    ui.sync_now()
    ui.review()
    ui.wait_queued(flow.vendor_case, 2, timeout=60)
    text = s.semantics_text()
    assert "照片 2 张" in text, text
    flow.shot(s, "review-amended")
    ui.approve(flow.vendor_case)
    s.wait_text(f"{flow.vendor_case} · 已通过")
    assert ui.queue() == [(flow.grill_case, 1)]
    flow.shot(s, "review-approved")

    v2 = latest_at_hq(api, flow.vendor_case)
    assert v2 is not None
    approved = until(lambda: reviews_at_hq(api, v2["case_id"]), "HQ holds the leader's approval")
    assert [(r["decision"], r["reviewer_badge"]) for r in approved] == [("approve", LEADER)]


def test_hq_holds_both_versions_and_both_decisions(flow: Flow, api: HqApi) -> None:
    latest = latest_at_hq(api, flow.vendor_case)
    assert latest is not None
    v1, v2 = api.case(flow.vendor_v1_id), api.case(latest["case_id"])
    assert (v1["case"]["case_no"], v1["case"]["version"]) == (flow.vendor_case, 1)
    assert (v2["case"]["case_no"], v2["case"]["version"]) == (flow.vendor_case, 2)
    assert [r["decision"] for r in v1["reviews"]] == ["return"]
    assert v1["reviews"][0]["comment"] == REASON
    assert [r["decision"] for r in v2["reviews"]] == ["approve"]
    assert {r["reviewer_badge"] for r in v1["reviews"] + v2["reviews"]} == {LEADER}
    assert not v1["state"]["latest"]
    assert v2["state"]["latest"]
    assert v2["case"]["notes"] == NOTE
    assert v1["case"]["notes"] != NOTE
    first = [p["sha256"] for p in v1["case"]["photos"]]
    second = [p["sha256"] for p in v2["case"]["photos"]]
    assert len(first) == 1
    assert len(second) == 2
    assert set(first) < set(second)  # the first photo kept, the panorama added
    assert v2["missing_photos"] == []
    assert all(api.has_photo(sha) for sha in second)
    # the 处罚 case still waits for the leader
    grill = latest_at_hq(api, flow.grill_case)
    assert grill is not None
    assert api.case(grill["case_id"])["reviews"] == []
