"""Issue #15, the squad leader's work orders in Chromium: two complaints filed at HQ for officer 1023 reach
leader 1001's phone; 中队 → 中队工单 lists each officer's open orders (overdue ones in red); the leader taps
one, picks 李娜 (1024) and 改派 — HQ records the reassignment at once. With HQ down, the screen says it
shows the last synced state and a reassignment is refused. Screenshots: docs/screenshots/
workorder-leader-orders.png, workorder-leader-offline.png."""

from __future__ import annotations

import shutil

import pytest

from hq.demo import USERS
from testkit.browser import ARTIFACTS, REPO, Screen
from testkit.harness import HqApi, HqServer
from tests.e2e.leaderui import LeaderUi, screenshot_unhovered

pytestmark = pytest.mark.browser

DOCS = REPO / "docs" / "screenshots"
ADDRESS = "人民路66号门前"


def test_the_leader_reassigns_online_and_sees_the_last_state_offline(screen: Screen, hq: HqServer) -> None:
    ui = LeaderUi(screen)
    s = ui.s
    api = HqApi(hq.url)
    try:
        ids = []
        for n, text in enumerate(("店门外摆摊占道", "店门外堆放货物")):
            body = {"source": "12319", "category": "0504", "description": text, "address": f"{ADDRESS}{n}",
                    "lat": 34.7466, "lon": 113.6253, "caller_name": "孙八"}  # fmt: skip
            filed = api.client.post("/v1/workorders", json=body)
            assert filed.status_code == 200, filed.text
            ids.append(filed.json()["order_id"])
            assert api.client.post(f"/v1/workorders/{ids[-1]}/assign", json={"badge": "1023"}).is_success

        pin = next(user.pin for user in USERS if user.officer.badge == "1001")
        ui.sign_in("1001", pin)
        ui.sync_now()
        s.wait_text("全部已上传", timeout=60)
        ui.squad()
        s.tap("中队工单")
        s.wait_text(f"{ADDRESS}0", timeout=30)
        text = s.semantics_text()
        assert "1023 · 待办" in text, text
        assert "数据同步于" in text
        screenshot_unhovered(s, "workorder-leader-orders")

        # reassign the first to 李娜 (1024), online
        s.tap_text(f"{ADDRESS}0", exact=False)
        s.fill("或输入其他队员警号", "1024")  # 李娜 has no record on this phone yet: by badge
        s.tap("改派")
        s.wait_text("已派给 1024", timeout=30)
        assert api.client.get(f"/v1/workorders/{ids[0]}").json()["officer"] == "1024"
        s.wait_text("1024 · 待办", timeout=30)

        # HQ down: the last synced state, and no reassignment
        hq.stop()
        s.tap("返回")
        ui.sync_now()
        s.wait_text("离线", timeout=60)
        ui.squad()
        s.tap("中队工单")
        s.wait_text("当前离线：以下为", timeout=30)
        s.tap_text(f"{ADDRESS}1", exact=False)
        s.tap("1024", role="radio", exact=False)  # now named by the pulled orders
        s.tap("改派")
        s.wait_text("当前离线：改派需要连接指挥中心", timeout=30)
        screenshot_unhovered(s, "workorder-leader-offline")
    finally:
        if not hq.running:
            hq.start()
        api.close()
    DOCS.mkdir(parents=True, exist_ok=True)
    for name in ("workorder-leader-orders", "workorder-leader-offline"):
        shutil.copyfile(ARTIFACTS / f"{name}.png", DOCS / f"{name}.png")
