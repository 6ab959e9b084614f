"""Issue #22 end to end in Chromium: one vendor, one history.

Officers 1023 and 1024 of ZD01 each have a phone (an app server with its own data) and a page; one seeded
HQ serves both. HQ goes down (both phones offline); each officer registers 老王烧烤 as a new subject with
the same phone number, typed differently, and records a 露天烧烤 (劝导 on each phone). HQ comes back and
both phones sync: HQ flags the pair as a merge suggestion and stages the later case 警告 (a stage
conflict). Squad leader 1001 merges the two through HQ's API (``POST /v1/subjects/{id}/merge``); after
their next sync both phones' 当事人 screens show one 老王烧烤 with both cases. Screens are saved under
artifacts/screenshots/subject-merge-*.png.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from hq.demo import USERS
from testkit.browser import Browser, Screen
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


def test_the_leader_merges_and_both_phones_show_one_vendor_with_both_cases(phones: Phones) -> None:
    with httpx.Client(base_url=phones.hq.url, timeout=15) as client:
        token = client.post(
            "/v1/auth/sign-in", json={"badge": LEADER, "pin": seeded_pin(LEADER), "device_id": "e2e-leader"}
        ).json()["token"]
        auth = {"Authorization": f"Bearer {token}"}
        [pair] = [
            s for s in client.get("/v1/merge-suggestions", headers=auth).json()["suggestions"]
            if s["a_label"] == VENDOR and s["b_label"] == VENDOR
        ]  # fmt: skip
        assert (pair["strength"], pair["reason"]) == ("strong", "phone")
        merged = client.post(f"/v1/subjects/{pair['b']}/merge", json={"into": pair["a"]}, headers=auth)
        assert merged.status_code == 200, merged.text
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
