"""Attacks on what HQ and the phone write down (issue #13): each attack reproduced, then shown neutralised.

CSV formula injection: a text that a spreadsheet would run as a formula (``=HYPERLINK(…)``, ``+1+1``,
``@SUM(A1)``, ``-2+3``, a leading tab or CR) goes through every CSV writer — the day log (phone and HQ:
``patrollog.csvlog``), the cases export (``hq.export``: ``streetpatrol-hq export`` and the dashboard's
CSV link) — and comes back as text starting with ``'``; numbers in numeric columns (a coordinate of
-33.9) stay numbers.

Audit tail: deleting the newest audit events and moving the stored head back leaves a log that ``verify``
alone finds intact (documented: the head lives in the same database); a head published earlier
(``streetpatrol-hq audit-head``, printed in every day-log PDF made at HQ) makes ``verify --expect`` fail.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import replace
from datetime import date
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest
from pypdf import PdfReader

from enforcement.catalogue import load_catalogue
from enforcement.model import Location, Officer, Role
from hq.audit import ProblemKind, current_head, format_head, parse_head, verify
from hq.auth import PinHasher
from hq.cli.main import run_to_string
from hq.dash.caller import COOKIE
from hq.storage.base import AuditHead, District, Squad, Storage, UserRow
from mobile.state.squad import SquadState
from mobile.state.squad_export import DayLogExport
from mobile.store import Store
from patrollog.csvlog import CASE_COLUMNS, daylog_csv
from patrollog.csvsafe import safe_cell, safe_row, safe_text
from patrollog.daylog import build_daylog
from sync.protocol import PROTOCOL_VERSION
from testkit.hqkit import HQ_USER, LEADER, PINS, catalogue, make_case, make_hq, push_body
from testkit.records import raw_sql
from tests.mobile.squadkit import Poke
from tests.mobile.statekit import PhoneClock
from tests.patrollog.dayfixture import NAMES, Day, at, fixture_day

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


# ------------------------------------------------------------------------------------------- audit tail


def _events(storage: Storage, n: int, first: int = 0) -> None:
    for i in range(first, first + n):
        with storage.transaction() as tx:
            tx.audit("1023", "push", target=f"dev-{i}", detail={"n": i})


def _cut_tail(storage: Storage, keep: int) -> None:
    """The attack: delete the newest events and move the stored head back to the last one kept."""
    with storage.transaction(readonly=True) as tx:
        kept = tx.audit_events(keep - 1, 1)[0]
    run = raw_sql(storage)
    run("DELETE FROM audit WHERE seq > ?", [keep])
    run("UPDATE audit_head SET seq = ?, hash = ?", [kept.seq, kept.hash])


def test_a_cut_tail_with_the_head_moved_back_fails_against_the_published_head(storage: Storage) -> None:
    _events(storage, 4)
    published = current_head(storage)  # e.g. printed in last night's day log
    assert published.seq == 4
    _events(storage, 3, first=4)
    _cut_tail(storage, 5)  # events 6 and 7 (after publishing) and the stored head rewritten
    assert verify(storage) == []  # the attack: alone, verify finds nothing (the head is in the same DB)
    assert verify(storage, [published]) == []  # the published event is still there
    later = AuditHead(7, "f" * 64)
    assert [(p.kind, p.seq) for p in verify(storage, [later])] == [(ProblemKind.NOT_IN_CHAIN, 7)]


def test_a_cut_before_the_published_head_is_found(storage: Storage) -> None:
    _events(storage, 6)
    published = current_head(storage)
    _cut_tail(storage, 3)
    assert verify(storage) == []  # undetectable from inside the database
    [problem] = verify(storage, [published])
    assert problem.kind is ProblemKind.NOT_IN_CHAIN
    assert problem.seq == 6
    assert "not in the log" in problem.message
    assert "不在日志中" in problem.message_zh


def test_a_rewritten_chain_does_not_hold_the_published_hash(storage: Storage) -> None:
    """Cut and then re-grown to the same length: the event at the published number has another hash."""
    _events(storage, 4)
    published = current_head(storage)
    _cut_tail(storage, 2)
    _events(storage, 2, first=100)  # new events 3 and 4, chained properly by HQ itself
    assert verify(storage) == []
    assert current_head(storage).seq == published.seq
    assert [p.kind for p in verify(storage, [published])] == [ProblemKind.NOT_IN_CHAIN]
    prefix = AuditHead(published.seq, published.hash[:16])  # what a day-log PDF prints
    assert [p.kind for p in verify(storage, [prefix])] == [ProblemKind.NOT_IN_CHAIN]


def test_head_text_round_trips_and_short_prefixes_are_refused() -> None:
    head = AuditHead(42, "ab" * 32)
    assert parse_head(format_head(head)) == head
    assert parse_head("42:" + "ab" * 8) == AuditHead(42, "ab" * 8)
    for bad in ("42", "42:abc", "x:" + "ab" * 32, "42:" + "zz" * 32):
        with pytest.raises(ValueError, match="SEQ:HASH"):
            parse_head(bad)


def test_cli_audit_head_and_verify_expect(tmp_path: Path) -> None:
    hq = make_hq(tmp_path)
    try:
        _events(hq.storage, 5)
        db = str(tmp_path / "hq.db")
        code, printed = run_to_string(["audit-head", "--db", db, "--json"])
        assert code == 0
        published = json.loads(printed)
        assert published["expect"] == f"{published['seq']}:{published['hash']}"
        assert len(published["hash"]) == 64
        code, printed = run_to_string(["audit-head", "--db", db])
        assert code == 0
        assert published["expect"] in printed
        _events(hq.storage, 2, first=5)
        assert run_to_string(["verify", "--db", db, "--expect", published["expect"]])[0] == 0
        _cut_tail(hq.storage, published["seq"] - 2)
        code, printed = run_to_string(["verify", "--db", db])
        assert code == 0  # documented limit: the database alone cannot tell
        code, printed = run_to_string(["verify", "--db", db, "--expect", published["expect"]])
        assert code == 1
        assert "not_in_chain" in printed
        assert "不在日志中" in printed
        assert "is not in the log" in printed
        code, _ = run_to_string(["audit-head", "--db", db])
        assert code == 0  # the cut log looks intact: which is why the head must be published
    finally:
        hq.close()


def test_audit_head_refuses_to_publish_a_damaged_log(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    hq = make_hq(tmp_path)
    try:
        _events(hq.storage, 3)
        raw_sql(hq.storage)("UPDATE audit SET detail = ? WHERE seq = 2", ['{"n":200}'])
        assert run_to_string(["audit-head", "--db", str(tmp_path / "hq.db")])[0] == 1
        assert "不发布链头" in capsys.readouterr().err
    finally:
        hq.close()


def _pdf_text(data: bytes) -> str:
    """The PDF's text as pypdf extracts it (it interleaves NULs with this font's two-byte codes)."""
    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages).replace("\x00", "")


def test_day_log_pdfs_made_at_hq_print_the_audit_head(tmp_path: Path) -> None:
    hq = make_hq(tmp_path)
    try:
        _events(hq.storage, 3)
        head = current_head(hq.storage)
        out = tmp_path / "daylog.pdf"
        code, _ = run_to_string(["report", "--db", str(tmp_path / "hq.db"), "--squad", "ZD01",
                                 "--day", "2026-11-22", "--out", str(out)])  # fmt: skip
        assert code == 0
        expect = f"{head.seq}:{head.hash[:16]}"
        assert expect in _pdf_text(out.read_bytes())
        with hq.client() as client:
            client.post("/dashboard/sign-in", data={"badge": HQ_USER.badge, "pin": PINS[HQ_USER.badge]})
            answer = client.get("/dashboard/daylog", params={"squad": "ZD01", "until": "2026-11-22"})
            assert answer.status_code == 200
            printed = _pdf_text(answer.content)
        # the dashboard's own sign-in was audited: the PDF carries the head it was made at
        now = current_head(hq.storage)
        assert f"{now.seq}:{now.hash[:16]}" in printed
        assert now.seq > head.seq
        # and what the PDF printed is what verify --expect takes
        assert run_to_string(["verify", "--db", str(tmp_path / "hq.db"), "--expect", expect])[0] == 0
    finally:
        hq.close()
