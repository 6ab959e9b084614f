"""streetpatrol-hq report (a squad's day log as PDF/CSV) and verify (the audit chain)."""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
from datetime import datetime
from pathlib import Path

import pytest

from enforcement.catalogue import load_catalogue
from enforcement.codec import to_json_dict
from enforcement.model import LOCAL_TZ, Review, ReviewDecision, Shift, new_id
from hq.cli.main import run_to_string
from hq.ingest.push import ingest_batch
from hq.storage.sqlite import SqliteStorage
from sync.protocol import PushRecord
from testkit.hqkit import LEADER, OFFICER, SQUAD1, SQUAD2, make_case
from testkit.records import raw_sql

NOW = datetime(2026, 11, 22, 23, 0, tzinfo=LOCAL_TZ)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    """A database with squad ZD01's 2026-11-22: 1023 on shift 18:00–23:00 with two 露天烧烤 cases, one
    of them returned by the leader."""
    from hq.storage.base import UserRow

    path = tmp_path / "hq.db"
    storage = SqliteStorage(path)
    storage.create_schema()
    with storage.transaction() as tx:
        for squad in (SQUAD1, SQUAD2):
            tx.put_squad(squad)
        for officer in (OFFICER, LEADER):
            tx.put_user(UserRow(officer=officer, pin_hash="x"))
    first = make_case(OFFICER, seq=1)
    second = make_case(OFFICER, seq=2, occurred_at=datetime(2026, 11, 22, 22, 5, tzinfo=LOCAL_TZ))
    shift = Shift(new_id(), OFFICER.badge, datetime(2026, 11, 22, 18, 0, tzinfo=LOCAL_TZ), NOW)
    records = [
        PushRecord(kind="case", id=c.id, device_seq=i, payload=to_json_dict(c))
        for i, c in enumerate((first, second), start=1)
    ]
    records.append(PushRecord(kind="shift", id=shift.id, device_seq=3, payload=to_json_dict(shift)))
    catalogue = load_catalogue()
    device = f"dev-{OFFICER.badge}"
    assert all(r.acked for r in ingest_batch(storage, OFFICER, device, records, catalogue=catalogue, now=NOW))
    review = Review(new_id(), second.id, second.case_no, ReviewDecision.RETURN, LEADER.badge, NOW, "补拍")
    pushed = PushRecord(kind="review", id=review.id, device_seq=1, payload=to_json_dict(review))
    assert ingest_batch(storage, LEADER, "dev-l", [pushed], catalogue=catalogue, now=NOW)[0].acked
    storage.close()
    return path


def test_report_csv_to_standard_output(db: Path) -> None:
    code, out = run_to_string(
        ["report", "--db", str(db), "--squad", "ZD01", "--day", "2026-11-22", "--format", "csv"]
    )
    assert code == 0
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[2] == ["汇总", "取缔露天烧烤 2 起"]
    assert [OFFICER.badge, OFFICER.name, "18:00", "23:00", "18:00-23:00", "2"] in rows
    returned = next(r for r in rows if r and r[0] == "退回案件")
    assert returned[:2] == ["退回案件", "1"]
    assert rows[-1][0] == returned[2]  # the returned case is the later one
    assert rows[-1][-2:] == ["已退回", "补拍"]


def test_report_files(db: Path, tmp_path: Path) -> None:
    csv_file = tmp_path / "log.csv"
    code, out = run_to_string(["report", "--db", str(db), "--squad", "ZD01", "--day", "2026-11-22",
                               "--format", "csv", "--out", str(csv_file)])  # fmt: skip
    assert code == 0
    assert "取缔露天烧烤 2 起" in out
    assert csv_file.read_text(encoding="utf-8").startswith("\ufeff中队巡查日志,2026-11-22")
    pdf_file = tmp_path / "log.pdf"
    code, _ = run_to_string(
        ["report", "--db", str(db), "--squad", "ZD01", "--day", "2026-11-22", "--out", str(pdf_file)]
    )
    assert code == 0
    assert pdf_file.read_bytes().startswith(b"%PDF-")
    if shutil.which("pdftotext"):
        text = subprocess.run(
            ["pdftotext", str(pdf_file), "-"], capture_output=True, text=True, check=True
        ).stdout
        assert "取缔露天烧烤 2 起" in text
        assert "人民路中队" in text


def test_report_refusals(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _ = run_to_string(["report", "--db", str(db), "--squad", "ZZ99", "--format", "csv"])
    assert code == 1
    assert "中队“ZZ99”不存在" in capsys.readouterr().err
    code, _ = run_to_string(["report", "--db", str(db), "--squad", "ZD01"])  # a PDF needs --out
    assert code == 1
    assert "--out" in capsys.readouterr().err
    code, _ = run_to_string(
        ["report", "--db", str(db), "--squad", "ZD01", "--day", "0001-01-01", "--format", "csv"]
    )
    assert code == 1
    assert "日期须在 2000-01-01 至 2099-12-31 之间" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        run_to_string(["report", "--db", str(db), "--squad", "ZD01", "--day", "22.11.2026"])


def test_verify_intact_then_tampered(db: Path) -> None:
    code, out = run_to_string(["verify", "--db", str(db)])
    assert code == 0
    assert "audit log intact: 3 events" in out  # two pushes and the review
    storage = SqliteStorage(db)
    raw_sql(storage)("UPDATE audit SET detail = ? WHERE seq = 1", ['{"counts":{}}'])
    storage.close()
    code, out = run_to_string(["verify", "--db", str(db)])
    assert code == 1
    assert "edited\t#1\tevent 1 was edited" in out
    assert "1 problem(s)" in out
