"""Attacks on what HQ and the phone write down (issue #13): each attack reproduced, then shown neutralised.

CSV formula injection: a text that a spreadsheet would run as a formula (``=HYPERLINK(…)``, ``+1+1``,
``@SUM(A1)``, ``-2+3``, a leading tab or CR) goes through every CSV writer — the day log (phone and HQ:
``patrollog.csvlog``), the cases export (``hq.export``: ``streetpatrol-hq export`` and the dashboard's
CSV link) — and comes back as text starting with ``'``; numbers in numeric columns (a coordinate of
-33.9) stay numbers.
"""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from datetime import date
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest

from enforcement.catalogue import load_catalogue
from enforcement.model import Location, Officer, Role
from hq.auth import PinHasher
from hq.cli import run_to_string
from hq.dashboard import COOKIE
from hq.storage.base import District, Squad, UserRow
from mobile.state.squad import SquadState
from mobile.state.squad_export import DayLogExport
from mobile.store import Store
from patrollog.csvlog import CASE_COLUMNS, daylog_csv
from patrollog.csvsafe import safe_cell, safe_row, safe_text
from patrollog.daylog import build_daylog
from sync.protocol import PROTOCOL_VERSION
from tests.mobile.squadkit import Poke
from tests.mobile.statekit import PhoneClock
from tests.patrollog.dayfixture import NAMES, Day, at, fixture_day
from tests.sync.hqkit import HQ_USER, LEADER, PINS, catalogue, make_case, make_hq, push_body

#: Formulas a spreadsheet would run (OWASP's first characters), and two full-width forms.
FORMULAS = ('=HYPERLINK("http://x","y")', "+1+1", "@SUM(A1)", "-2+3", "\tx", "\r=1+1", "＝1+1", "＠SUM(A1)")


def neutralised(text: str) -> str:
    return "'" + text


# ---------------------------------------------------------------------------------------- the helper


@pytest.mark.parametrize("formula", FORMULAS)
def test_a_formula_is_written_as_text(formula: str) -> None:
    assert safe_text(formula) == neutralised(formula)
    assert safe_cell(formula, numeric=True) == neutralised(formula)  # not a number: text, even there


def test_numbers_and_plain_text_stay_as_they_are() -> None:
    assert safe_row([-33.9, 113, "-33.900000", "人民路", "", None, "1+1"], numeric={2}) == [
        -33.9,
        113,
        "-33.900000",
        "人民路",
        "",
        "",
        "1+1",
    ]
    assert safe_row(["-33.900000"]) == ["'-33.900000"]  # a text column: text


# ------------------------------------------------------------------------------ the day log (phone, HQ)


def hostile_day() -> tuple[dict[str, str], Day]:
    """The fixture day with a formula for each subject's name, and one case far south-west (-33.9, -70.6)."""
    day = fixture_day()
    subject_ids = sorted({c.subject_id for c in day.cases if c.subject_id})
    labels = {sid: FORMULAS[i % len(FORMULAS)] for i, sid in enumerate(subject_ids)}
    first = day.cases[0]
    cases = [replace(first, location=Location(lat=-33.9, lon=-70.6, address="=1+1")), *day.cases[1:]]
    return labels, replace(day, cases=cases)


def case_rows(text: str) -> list[dict[str, str]]:
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    start = rows.index(list(CASE_COLUMNS))
    return [dict(zip(CASE_COLUMNS, row, strict=True)) for row in rows[start + 1 :]]


def check_day_csv(text: str, labels: dict[str, str]) -> None:
    rows = case_rows(text)
    subjects = {row["当事人"] for row in rows if row["当事人"]}
    assert subjects == {neutralised(label) for label in labels.values()}
    south = [row for row in rows if row["纬度"].startswith("-")]
    assert len(south) == 1
    assert float(south[0]["纬度"]) == -33.9
    assert float(south[0]["经度"]) == -70.6
    assert south[0]["地点"] == "'=1+1"
    for row in rows:
        for cell in row.values():
            assert cell[:1] not in set("=+@\t\r")
            assert cell[:1] != "-" or row["纬度"] == cell or row["经度"] == cell


def test_day_log_csv_neutralises_formulas() -> None:
    labels, day = hostile_day()
    log = build_daylog(date(2026, 11, 22), "ZD01", cases=day.cases, shifts=day.shifts, reviews=day.reviews,
                       catalogue=load_catalogue(), squad_name="=人民路中队", officer_names=NAMES,
                       subject_labels=labels, hq_stages=day.hq_stages)  # fmt: skip
    text = daylog_csv(log)
    check_day_csv(text, labels)
    assert ["中队", "ZD01", "'=人民路中队"] in list(csv.reader(io.StringIO(text)))


def test_phone_day_log_export_neutralises_formulas(tmp_path: Path) -> None:
    labels, day = hostile_day()
    store = Store.open(":memory:", catalogue=catalogue())
    for case in day.cases:
        store.apply_squad_case(
            case,
            hq_stage=day.hq_stages.get(case.id),
            reviews=[r for r in day.reviews if r.case_id == case.id],
            officer_name=NAMES.get(case.officer_badge, ""),
            subject_label=labels.get(case.subject_id or "", ""),
        )
    for shift in day.shifts:
        store.apply_squad_shift(shift, officer_name=NAMES[shift.officer_badge], squad_code="ZD01")
    squad = SquadState(
        store, catalogue(), SimpleNamespace(officer=LEADER), Poke(), now=PhoneClock(at(23, 30))
    )
    exported = DayLogExport(squad, tmp_path / "exports").export("csv")
    check_day_csv(exported.data.decode("utf-8"), labels)


# ------------------------------------------------------------------------------ the cases export (HQ)

HOSTILE_DISTRICT = '=HYPERLINK("http://x","y")'
PIN = "869009"
HOSTILE_OFFICER = Officer("9009", "@SUM(A1)", "ZD09", "+1+1", HOSTILE_DISTRICT, Role.OFFICER)


def test_cases_export_neutralises_formulas_in_cli_and_dashboard(tmp_path: Path) -> None:
    """A district named with a formula (an import, an admin's typo) reaches the export as text."""
    hq = make_hq(tmp_path)
    try:
        with hq.storage.transaction() as tx:
            tx.put_district(District(HOSTILE_DISTRICT, HOSTILE_DISTRICT))
            tx.put_squad(Squad("ZD09", "+1+1", HOSTILE_DISTRICT))
            tx.put_user(
                UserRow(officer=HOSTILE_OFFICER, pin_hash=PinHasher(hq.settings.pin_hashing).hash(PIN))
            )
        case = make_case(HOSTILE_OFFICER, device_id="dev-9009")
        with hq.client() as client:
            auth = _sign_in(client)
            pushed = client.post("/v1/push", json=push_body("dev-9009", case), headers=auth)
            assert pushed.json()["results"][0]["status"] == "accepted", pushed.text
            signed = client.post(
                "/dashboard/sign-in", data={"badge": HQ_USER.badge, "pin": PINS[HQ_USER.badge]}
            )
            assert signed.status_code in (200, 303)
            assert COOKIE in client.cookies
            day = case.occurred_at.date().isoformat()
            answer = client.get(f"/dashboard/export.csv?days=1&until={day}")
            assert answer.status_code == 200
            dashboard_rows = list(csv.DictReader(io.StringIO(answer.content.decode("utf-8-sig"))))
        code, printed = run_to_string(["export", "--db", str(tmp_path / "hq.db")])
        assert code == 0
        cli_rows = list(csv.DictReader(io.StringIO(printed)))
        for rows in (dashboard_rows, cli_rows):
            [row] = [r for r in rows if r["case_id"] == case.id]
            assert row["district"] == neutralised(HOSTILE_DISTRICT)
            assert row["case_no"] == case.case_no
            assert row["version"] == "1"
    finally:
        hq.close()


def _sign_in(client: httpx.Client) -> dict[str, str]:
    body = {"protocol": PROTOCOL_VERSION, "badge": HOSTILE_OFFICER.badge, "pin": PIN, "device_id": "dev-9009"}
    answer = client.post("/v1/auth/sign-in", json=body)
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['token']}"}
