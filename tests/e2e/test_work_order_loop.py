"""Issue #15's whole loop in Chromium: the hotline desk (9101) files a complaint **on the dashboard** (the
intake form; HQ routes it to ZD01 by its area) and assigns officer 1023 there → the order reaches the
officer's app on 今日 → with HQ down the officer taps 到达 and resolves it with a note and a photo → HQ
back, one sync → the desk's page shows it resolved and the month's figures count it on time → the desk
records the follow-up 满意 on the dashboard → the public page lists it (street-level place, 满意, no
caller) and the squad day log (CSV and PDF) counts it in the bureau's phrasing.

Screenshots (README): docs/screenshots/workorder-desk-intake.png, workorder-loop-today.png,
workorder-loop-resolve.png, workorder-desk-followup.png, workorder-public.png."""

from __future__ import annotations

import csv
import io
import re
import shutil
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from enforcement.model import LOCAL_TZ
from testkit.browser import ARTIFACTS, REPO, Screen
from testkit.harness import HqApi, HqServer, demo_pin
from testkit.officer_ui import OfficerUi, evidence_jpeg

pytestmark = pytest.mark.browser

DOCS = REPO / "docs" / "screenshots"
ADDRESS = "人民路88号门口"
COMPLAINT = "门口有人占道摆摊卖水果，堵住人行道"
CALLER, PHONE = "钱七", "13912345678"
LINE = re.compile(r"受理热线投诉 (\d+) 件，1 小时内到场 (\d+) 件（到场率 [\d.]+%），两日内办结 (\d+) 件")


@pytest.fixture(scope="module")
def ui(screen: Screen) -> OfficerUi:
    return OfficerUi(screen)


class Desk:
    """The desk's dashboard in its own browser context (every call runs in the Playwright thread)."""

    def __init__(self, screen: Screen, url: str) -> None:
        self.browser = screen.browser
        self.url = url
        self.context: Any = None
        self.page: Any = None

    def call(self, fn: Any) -> Any:
        return self.browser.call(fn)

    def open(self) -> None:
        def go() -> None:
            self.context = self.browser._browser.new_context(
                viewport={"width": 1400, "height": 1000}, locale="zh-CN"
            )
            self.page = self.context.new_page()
            self.page.goto(f"{self.url}/dashboard/orders")
            self.page.fill("#badge", "9101")
            self.page.fill("#pin", demo_pin("9101"))
            self.page.click("button[type=submit]")
            self.page.goto(f"{self.url}/dashboard/orders")
            self.page.wait_for_selector("#intake")

        self.call(go)

    def shot(self, name: str) -> None:
        def go() -> None:
            self.page.evaluate("document.fonts.ready")
            self.page.wait_for_timeout(400)
            DOCS.mkdir(parents=True, exist_ok=True)
            self.page.screenshot(path=str(DOCS / f"{name}.png"), full_page=True)

        self.call(go)

    def close(self) -> None:
        if self.context is not None:
            self.call(lambda: self.context.close())


def _line(text: str) -> tuple[int, int, int]:
    found = LINE.search(text)
    assert found, text
    return int(found[1]), int(found[2]), int(found[3])


def _day_log(api: HqApi, fmt: str) -> bytes:
    day = datetime.now(LOCAL_TZ).date().isoformat()
    answer = api.client.get("/v1/reports/daylog", params={"day": day, "squad": "ZD01", "format": fmt})
    assert answer.status_code == 200, answer.text[:300]
    return answer.content


def _csv_orders_line(data: bytes) -> str:
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    return next(
        (row[1] for row in rows if row and row[0] == "热线工单"),
        "受理热线投诉 0 件，1 小时内到场 0 件（到场率 0.0%），两日内办结 0 件",
    )


def test_the_desk_files_on_the_dashboard_and_the_loop_closes(
    ui: OfficerUi, hq: HqServer, tmp_path: Path
) -> None:
    s = ui.s
    s.wait_control("textbox", "执法证号")
    ui.sign_in("1023")
    api = HqApi(hq.url)
    desk = Desk(s, hq.url)
    try:
        log_before = _line(_csv_orders_line(_day_log(api, "csv")))
        desk.open()

        # --- the desk files the complaint on the dashboard and assigns 1023
        def file() -> dict[str, str]:
            p = desk.page
            figures = p.inner_text("#orders-figures")
            p.select_option("#intake select[name=source]", "12345")
            p.select_option("#intake select[name=category]", "0504")
            p.fill("#intake textarea[name=description]", COMPLAINT)
            p.fill("#intake input[name=address]", ADDRESS)
            p.fill("#intake input[name=lat]", "34.7466")
            p.fill("#intake input[name=lon]", "113.6253")
            p.fill("#intake input[name=caller_name]", CALLER)
            p.fill("#intake input[name=caller_phone]", PHONE)
            p.click("#intake button[type=submit]")
            row = p.locator("tr", has_text=COMPLAINT)
            row.wait_for()
            order_id = (row.get_attribute("id") or "").removeprefix("order-")
            squad_cell = row.inner_text()
            row.locator("input[name=badge]").fill("1023")
            row.locator("form[action$='/assign'] button").click()
            p.locator(f"#order-{order_id}", has_text="1023").wait_for()
            return {"id": order_id, "row": squad_cell, "figures": figures}

        filed = desk.call(file)
        order_id = filed["id"]
        assert "ZD01" in filed["row"], filed  # routed by the squad's area
        assert f"{CALLER} {PHONE}" in filed["row"]  # the desk alone sees the caller in full
        desk.shot("workorder-desk-intake")
        month_before = _line(filed["figures"])

        # --- the phone syncs: the order is on 今日, caller masked
        s.tap("立即同步")
        s.wait_text(ADDRESS, timeout=60)
        assert "剩余" in s.semantics_text()
        s.screenshot("workorder-loop-today")

        # --- HQ goes down; the officer arrives and resolves with a photo, offline
        hq.stop()
        ui.resolve_order(
            ADDRESS,
            ("钱* 139****5678",),
            "摊主已收摊，人行道已清理",
            evidence_jpeg(tmp_path / "after.jpg", 73),
            "workorder-loop-resolve",
        )

        # --- HQ is back: one sync; the desk's page shows it resolved, counted on time
        hq.start()
        s.tap("立即同步")
        s.wait_text("全部已上传", timeout=60)

        def after_sync() -> dict[str, str]:
            p = desk.page
            p.goto(f"{hq.url}/dashboard/orders")
            row = p.locator(f"#order-{order_id}")
            row.wait_for()
            return {"row": row.inner_text(), "figures": p.inner_text("#orders-figures"),
                    "overdue": row.get_attribute("class") or ""}  # fmt: skip

        seen = desk.call(after_sync)
        assert "办结" in seen["row"], seen
        assert "overdue" not in seen["overdue"]
        month_after = _line(seen["figures"])
        # one more received, reached within the hour and resolved within two days, in HQ time
        assert month_after == (month_before[0] + 1, month_before[1] + 1, month_before[2] + 1)
        detail = api.client.get(f"/v1/workorders/{order_id}").json()
        assert detail["rounds"][0]["arrived_on_time"]
        assert detail["rounds"][0]["resolved_on_time"]
        assert (detail["photos_named"], detail["photos_received"]) == (1, 1)

        # --- the follow-up call, 满意, recorded on the dashboard
        def follow_up() -> str:
            p = desk.page
            row = p.locator(f"#order-{order_id}")
            row.locator("select[name=satisfaction]").select_option("satisfied")
            row.locator("input[name=comment]").fill("群众表示满意")
            row.locator("form[action$='/follow-up'] button").click()
            p.locator(f"#order-{order_id}", has_text="已回访").wait_for()
            return str(p.locator(f"#order-{order_id}").inner_text())

        assert "已回访" in desk.call(follow_up)
        desk.shot("workorder-desk-followup")
        assert api.client.get(f"/v1/workorders/{order_id}").json()["satisfaction"] == "satisfied"

        # --- the public page: listed with its street and 满意, never the caller or the address
        def public() -> str:
            p = desk.page
            p.goto(f"{hq.url}/public")
            p.wait_for_selector("#summary")
            return str(p.inner_text("body"))

        page = desk.call(public)
        desk.shot("workorder-public")
        assert "店外经营" in page
        assert "满意" in page
        for secret in (CALLER, PHONE, ADDRESS, "34.7466"):
            assert secret not in page

        # --- the squad day log counts it, CSV and PDF
        log_after = _line(_csv_orders_line(_day_log(api, "csv")))
        assert log_after == (log_before[0] + 1, log_before[1] + 1, log_before[2] + 1), (log_before, log_after)
        pdf = _day_log(api, "pdf")
        text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages).replace("\x00", "")
        flat = "".join(text.split())
        assert f"受理热线投诉{log_after[0]}件，1小时内到场{log_after[1]}件" in flat
    finally:
        desk.close()
        api.close()
    for name in ("workorder-loop-today", "workorder-loop-resolve"):
        shutil.copyfile(ARTIFACTS / f"{name}.png", DOCS / f"{name}.png")
