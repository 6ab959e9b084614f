"""The dashboard's day-log form offers HQ's own unit (指挥中心: a day log across every squad of its
district) besides each squad, and the window's days in ISO order, newest first; on both backends."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from enforcement.model import LOCAL_TZ
from testkit import pg
from testkit.hqkit import HQ_USER, OFFICER, OFFICER_C, PINS, Hq, make_case, make_hq, push_body, sign_in


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def hq(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Hq]:
    if request.param == "postgres":
        yield from pg.pg_hq_of(tmp_path)
        return
    hq = make_hq(tmp_path)
    yield hq
    hq.close()


def at(day: int, hour: int) -> datetime:
    return datetime(2026, 11, day, hour, 30, tzinfo=LOCAL_TZ)


def test_hq_unit_day_log_across_squads_and_days_newest_first(hq: Hq) -> None:
    with hq.client() as client:
        for officer, device, hour in ((OFFICER, "dev-1023", 9), (OFFICER_C, "dev-2031", 10)):
            auth = sign_in(client, officer, device)
            case = make_case(officer, seq=1, occurred_at=at(22, hour), device_id=device)
            pushed = client.post("/v1/push", json=push_body(device, case), headers=auth)
            assert [r["status"] for r in pushed.json()["results"]] == ["accepted"]
        client.post("/dashboard/sign-in", data={"badge": HQ_USER.badge, "pin": PINS[HQ_USER.badge]})
        page = client.get("/dashboard", params={"until": "2026-11-22", "days": 3}).text
        form = page[page.index('action="/dashboard/daylog"') :]
        squads = re.findall(r'<option value="([^"]*)">([^<]*)</option>', form[: form.index("</select>")])
        assert squads[0] == (HQ_USER.squad_code, f"{HQ_USER.squad_code} 指挥中心（全部中队）")
        assert {"ZD01", "ZD02"} <= {code for code, _ in squads[1:]}
        day_select = form[form.index('name="until"') :]
        days = re.findall(r'<option value="([^"]*)">', day_select[: day_select.index("</select>")])
        assert days == ["2026-11-22", "2026-11-21", "2026-11-20"]

        params = {"squad": HQ_USER.squad_code, "until": "2026-11-22", "format": "csv"}
        text = client.get("/dashboard/daylog", params=params).content.decode("utf-8-sig")
        rows = list(csv.reader(io.StringIO(text)))
        assert rows[1] == ["中队", HQ_USER.squad_code, "指挥中心（全部中队）"]
        assert {OFFICER.badge, OFFICER_C.badge} <= {cell for row in rows for cell in row}
        one = client.get("/dashboard/daylog", params={**params, "squad": "ZD01"}).content.decode("utf-8-sig")
        assert OFFICER.badge in one
        assert OFFICER_C.badge not in one
        pdf = client.get("/dashboard/daylog", params={**params, "format": "pdf"})
        assert pdf.content.startswith(b"%PDF-")
        assert client.get("/dashboard/daylog", params={**params, "squad": "ZZ99"}).status_code == 404
