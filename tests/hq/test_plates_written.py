"""HQ shows a plate as the officer wrote it (issue #14), on both backends: the cases CSV, the day log (its
CSV and PDF) and the dashboard's repeat offenders show 豫A·D12345 as typed, never the key 豫AD12345."""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from datetime import date, datetime, timedelta

from enforcement.catalogue import load_catalogue
from enforcement.codec import to_json_dict
from enforcement.model import LOCAL_TZ, Subject, SubjectKind
from enforcement.validation import validate_subject
from hq.dash.board import load_board
from hq.daydata import load_daylog
from hq.export import write_cases_csv
from hq.ingest.push import ingest_batch
from hq.storage.base import Storage, UserRow
from patrollog.csvlog import daylog_csv
from patrollog.pdf import daylog_pdf
from sync.protocol import PushRecord
from testkit.hqkit import DISTRICT, OFFICER, SQUAD1, make_case
from tests.patrollog.test_names_pdf import extracted

NOW = datetime(2026, 11, 22, 23, 0, tzinfo=LOCAL_TZ)
TYPED = "豫A D12345"  # typed with a space: shown so, not re-formatted to 豫A·D12345
TRUCK = validate_subject(
    Subject("a0000000-0000-4000-8000-000000000009", SubjectKind.VEHICLE, plate=TYPED, district=DISTRICT)
)


def test_hq_surfaces_show_the_written_plate(storage: Storage) -> None:
    assert (TRUCK.plate, TRUCK.plate_written) == ("豫AD12345", TYPED)
    with storage.transaction() as tx:
        tx.put_squad(SQUAD1)
        tx.put_user(UserRow(officer=OFFICER, pin_hash="x"))
        tx.save_subject(TRUCK, at=NOW)
    cases = [
        replace(
            make_case(
                OFFICER,
                seq=i,
                subject_id=TRUCK.id,
                violation_code="0306",
                occurred_at=datetime(2026, 11, 22, 9, 0, tzinfo=LOCAL_TZ) + timedelta(hours=i),
            ),
            subject_unknown=False,
        )
        for i in (1, 2, 3)
    ]
    records = [
        PushRecord(kind="case", id=c.id, device_seq=i, payload=to_json_dict(c))
        for i, c in enumerate(cases, 1)
    ]
    results = ingest_batch(
        storage, OFFICER, f"dev-{OFFICER.badge}", records, catalogue=load_catalogue(), now=NOW
    )
    assert all(r.acked for r in results), results
    out = io.StringIO()
    write_cases_csv(storage, out)
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert {(r["subject_name"], r["plate"]) for r in rows} == {(TYPED, TYPED)}
    with storage.transaction(readonly=True) as tx:
        log = load_daylog(tx, SQUAD1.code, date(2026, 11, 22), load_catalogue())
        board = load_board(tx, date(2026, 11, 22), 7)
    assert {line.plate for line in log.lines} == {TYPED}
    assert TYPED in daylog_csv(log)
    assert "豫AD12345" not in daylog_csv(log)
    assert "豫AD12345" in extracted(daylog_pdf(log))  # the same line.plate; extracted() drops spaces
    assert [o.label for o in board.offenders] == [TYPED]
