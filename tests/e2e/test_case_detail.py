"""The officer's case detail in Chromium when HQ's stage differs from the phone's: every value, HQ's stage
and HQ's reason are texts of the semantics tree (what a screen reader reads) and the case number can still
be selected and copied.

The officer's phone is prepared before its app server starts: officer 1023 signed in (as after an earlier
online sign-in) and one 露天烧烤 case saved today through the phone's own state (劝导: a first offence on
this phone), which HQ then reported as 处罚 with its reason (two earlier cases at HQ). HQ is a dead loopback
address: the officer works offline.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest

from enforcement.model import LOCAL_TZ, Stage, SyncState
from mobile.metakeys import SESSION_BADGE as SESSION_KEY
from mobile.store import Store
from testkit.browser import Screen
from testkit.harness import AppServer
from testkit.hqkit import OFFICER, catalogue
from tests.mobile.statekit import PhoneClock, dead_url, make_app, photo

pytestmark = pytest.mark.browser

VENDOR = "赵老三烧烤"
ADDRESS = "人民路 12 号"
REASON = ("第3次 · 处罚：10-02 劝导，11-01 警告", "3rd · Penalty: 10-02 Persuasion, 11-01 Warning")


@dataclass
class Prepared:
    case_no: str


def prepare_phone(data_dir: Path) -> Prepared:
    """The officer's phone before the app starts: signed in, one case saved now, HQ's stage 处罚 on it."""
    data_dir.mkdir(parents=True, exist_ok=True)
    store = Store.open(data_dir / "phone.db", catalogue=catalogue())
    app = make_app(data_dir, clock=PhoneClock(datetime.now(LOCAL_TZ)), store=store)
    try:
        app.settings.update(hq_url=dead_url())
        store.save_officer(OFFICER)
        store.meta_set(SESSION_KEY, OFFICER.badge)
        assert app.session.restore() == OFFICER
        drafts = app.drafts
        drafts.start()
        drafts.choose_violation("0510")  # 露天烧烤
        drafts.update(address=ADDRESS)
        drafts.create_subject("mobile_vendor", name=VENDOR)
        asyncio.run(drafts.add_photo(photo(1)))
        case = drafts.save()
        assert case.chosen_stage == Stage.PERSUASION
        store.set_sync_state(
            case.id, SyncState.COMPLETE, Stage.PENALTY, hq_reason_zh=REASON[0], hq_reason_en=REASON[1]
        )
        return Prepared(case.case_no)
    finally:
        app.stop()
        store.close()


@pytest.fixture(scope="module")
def prepared(e2e_root: Path) -> Prepared:
    return prepare_phone(e2e_root / "officer-phone")


@pytest.fixture(scope="module")
def app_server(e2e_root: Path, prepared: Prepared) -> Iterator[AppServer]:
    """Named as conftest's (its ``screen`` opens this one); no HQ."""
    with AppServer(e2e_root / "officer-phone", dead_url(), e2e_root / "officer-phone.log") as server:
        yield server


def test_detail_with_hqs_stage_is_read_and_the_case_number_copied(screen: Screen, prepared: Prepared) -> None:
    screen.wait_control("button", "新建案件", timeout=40)  # signed in from the last run
    screen.settle()
    screen.tap_containing("露天烧烤", VENDOR)
    screen.wait_text("案件详情")
    screen.wait_text(prepared.case_no)
    lines = screen.lines_with(
        f"{prepared.case_no} · 第 1 版",
        "露天烧烤",
        ADDRESS,
        VENDOR,
        "劝导",  # the stage the phone applied (the large chip)
        "HQ 判定",
        "处罚",  # HQ's stage
        f"HQ 依据：{REASON[0]}",
    )
    assert lines.index("HQ 判定") < lines.index("处罚") < lines.index(f"HQ 依据：{REASON[0]}"), lines
    screen.screenshot("case-detail-hq-stage")
    copied = screen.copy_between("案件编号", prepared.case_no)
    assert prepared.case_no in copied, copied
