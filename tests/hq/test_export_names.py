"""HQ's cases CSV and day log name what the codes mean (issue #14), on both backends: the subject (a
truck by its written plate, a vendor by description), the place from GPS, the fine, the stage names."""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from datetime import date, datetime

from enforcement.catalogue import load_catalogue
from enforcement.codec import to_json_dict
from enforcement.model import LOCAL_TZ, Disposition, Location, Stage, Subject, SubjectKind
from hq.daydata import load_daylog
from hq.export import EXPORT_COLUMNS, write_cases_csv
from hq.ingest.push import ingest_batch
from hq.storage.base import Storage, UserRow
from sync.protocol import PushRecord
from testkit.hqkit import DISTRICT, OFFICER, SQUAD1, make_case

NOW = datetime(2026, 11, 22, 23, 0, tzinfo=LOCAL_TZ)
TRUCK = Subject(
    "a0000000-0000-4000-8000-000000000001", SubjectKind.VEHICLE, plate="豫AD12345", district=DISTRICT
)
VENDOR = Subject(
    "a0000000-0000-4000-8000-000000000002",
    SubjectKind.MOBILE_VENDOR,
    description="推三轮车卖烤红薯",
    district=DISTRICT,
)


def test_export_and_daylog_name_subject_place_fine_and_stages(storage: Storage) -> None:
    with storage.transaction() as tx:
        tx.put_squad(SQUAD1)
        tx.put_user(UserRow(officer=OFFICER, pin_hash="x"))
        for subject in (TRUCK, VENDOR):
            tx.save_subject(subject, at=NOW)
    gps = Location(lat=34.7466, lon=113.6253, accuracy_m=8.0, grid_cell="JS-0412")
    truck_case = replace(
        make_case(OFFICER, seq=1, subject_id=TRUCK.id, violation_code="0306"),
        subject_unknown=False,
        location=gps,
    )
    vendor_case = replace(
        make_case(
            OFFICER, seq=2, subject_id=VENDOR.id, occurred_at=datetime(2026, 11, 22, 22, 0, tzinfo=LOCAL_TZ)
        ),
        subject_unknown=False,
        disposition=Disposition.PERSUADED,
        fine_yuan=None,
    )
    records = [
        PushRecord(kind="case", id=c.id, device_seq=i, payload=to_json_dict(c))
        for i, c in enumerate((truck_case, vendor_case), start=1)
    ]
    results = ingest_batch(
        storage, OFFICER, f"dev-{OFFICER.badge}", records, catalogue=load_catalogue(), now=NOW
    )
    assert all(r.acked for r in results), results
    out = io.StringIO()
    write_cases_csv(storage, out)
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert tuple(rows[0]) == EXPORT_COLUMNS
    truck = next(r for r in rows if r["case_id"] == truck_case.id)
    assert (truck["subject_name"], truck["plate"]) == ("豫A·D12345", "豫A·D12345")
    assert truck["address"] == "34.74660, 113.62530（网格 JS-0412）"
    assert (truck["device_stage_name"], truck["chosen_stage_name"], truck["hq_stage_name"]) == ("劝导",) * 3
    vendor = next(r for r in rows if r["case_id"] == vendor_case.id)
    assert (vendor["subject_name"], vendor["plate"], vendor["fine_yuan"]) == (
        "流动摊贩：推三轮车卖烤红薯",
        "",
        "",
    )
    with storage.transaction(readonly=True) as tx:
        log = load_daylog(tx, SQUAD1.code, date(2026, 11, 22), load_catalogue())
    lines = {line.case_id: line for line in log.lines}
    assert (lines[truck_case.id].plate, lines[truck_case.id].place) == (
        "豫A·D12345",
        "34.74660, 113.62530（网格 JS-0412）",
    )
    assert lines[vendor_case.id].subject == "流动摊贩：推三轮车卖烤红薯"
    assert Stage(lines[truck_case.id].stage) is Stage.PERSUASION


#: Names as officers meet them: Extensions B and G, emoji only (a ZWJ family), a flag, a variation
#: selector, a combining accent (as typed), right to left, one character, an invisible character inside.
RARE_NAMES = (
    "𠀀𪚥",
    "𰻞𰻞面馆",
    "👨\u200d👩\u200d👧\u200d👦",
    "🇨🇳小卖部",
    "葛\U000e0100记",
    "Jose\u0301",
    "مەمەت",
    "王",
    "赵\u200b六",
)


def test_rare_names_go_through_ingest_into_the_export_and_the_day_log_intact(storage: Storage) -> None:
    with storage.transaction() as tx:
        tx.put_squad(SQUAD1)
        tx.put_user(UserRow(officer=OFFICER, pin_hash="x"))
    subjects = [
        Subject(f"a0000000-0000-4000-8000-{n:012d}", SubjectKind.MOBILE_VENDOR, name=name, district=DISTRICT)
        for n, name in enumerate(RARE_NAMES, start=10)
    ]
    # pasted with spaces and invisible characters around it: trimmed at ingest (enforcement.text.trimmed)
    padded = replace(subjects[0], name=f"\u3000\u200b{subjects[0].name}\u00a0\ufeff")
    cases = [
        replace(make_case(OFFICER, seq=i, subject_id=s.id), subject_unknown=False)
        for i, s in enumerate(subjects, start=1)
    ]
    records = [
        PushRecord(kind=kind, id=r.id, device_seq=i, payload=to_json_dict(r))
        for i, (kind, r) in enumerate(
            [("subject", padded), *(("subject", s) for s in subjects[1:]), *(("case", c) for c in cases)],
            start=1,
        )
    ]
    results = ingest_batch(
        storage, OFFICER, f"dev-{OFFICER.badge}", records, catalogue=load_catalogue(), now=NOW
    )
    assert all(r.acked for r in results), results
    out = io.StringIO()
    write_cases_csv(storage, out)
    exported = {r["case_id"]: r["subject_name"] for r in csv.DictReader(io.StringIO(out.getvalue()))}
    with storage.transaction(readonly=True) as tx:
        log = load_daylog(tx, SQUAD1.code, date(2026, 11, 22), load_catalogue())
    logged = {line.case_id: line.subject for line in log.lines}
    for case, name in zip(cases, RARE_NAMES, strict=True):
        assert exported[case.id].endswith(name), (exported[case.id], name)
        assert logged[case.id].endswith(name), (logged[case.id], name)
