"""Issue #15 end to end: a hotline complaint filed at HQ (its API, as HQ user 9001) and assigned to officer
1023 reaches the officer's app in Chromium on 今日; with HQ down the officer taps 到达 (GPS) and resolves it
as 当事人已自行整改 with a note and a photo; HQ back, one sync, and HQ's API shows the order resolved, on
time, its photo received. Screenshots: artifacts/screenshots/workorder-today.png, workorder-detail.png."""

from __future__ import annotations

from pathlib import Path

import pytest

from testkit.browser import Screen
from testkit.harness import HqApi, HqServer
from testkit.officer_ui import OfficerUi, evidence_jpeg

pytestmark = pytest.mark.browser

ADDRESS = "人民路1号院内"
COMPLAINT = "夜里露天烧烤，油烟很大"


@pytest.fixture(scope="module")
def ui(screen: Screen) -> OfficerUi:
    return OfficerUi(screen)


def test_a_complaint_is_resolved_offline_and_reaches_hq_on_time(
    ui: OfficerUi, hq: HqServer, tmp_path: Path
) -> None:
    s = ui.s
    s.wait_control("textbox", "执法证号")
    ui.sign_in("1023")
    api = HqApi(hq.url)
    try:
        body = {
            "source": "12345",
            "category": "0510",
            "description": COMPLAINT,
            "address": ADDRESS,
            "lat": 34.7466,
            "lon": 113.6253,
            "caller_name": "赵六",
            "caller_phone": "13812345678",
        }
        filed = api.client.post("/v1/workorders", json=body)
        assert filed.status_code == 200, filed.text
        order_id = filed.json()["order_id"]
        assigned = api.client.post(f"/v1/workorders/{order_id}/assign", json={"badge": "1023"})
        assert assigned.status_code == 200, assigned.text

        # the phone syncs: the order is on 今日
        s.tap("立即同步")
        s.wait_text(ADDRESS, timeout=60)
        text = s.semantics_text()
        assert "工单" in text
        assert "剩余" in text, text
        s.screenshot("workorder-today")

        # HQ goes down; the officer works the order offline
        hq.stop()
        ui.resolve_order(
            ADDRESS,
            (COMPLAINT, "赵* 138****5678"),
            "摊主已收摊离开，现场已清理",
            evidence_jpeg(tmp_path / "after.jpg", 71),
            "workorder-detail",
        )

        # HQ is back: one sync sends the arrival, the resolution and its photo
        hq.start()
        s.tap("立即同步")
        s.wait_text("全部已上传", timeout=60)
        seen = api.client.get(f"/v1/workorders/{order_id}").json()
    finally:
        api.close()
    assert seen["stage"] == "resolved", seen
    assert seen["closure"] == "self_corrected"
    first = seen["rounds"][0]
    assert first["arrived_on_time"]
    assert first["resolved_on_time"]
    assert (seen["photos_named"], seen["photos_received"]) == (1, 1)
