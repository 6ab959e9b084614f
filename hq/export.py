"""The cases as CSV: one row per case version, the columns of ``EXPORT_COLUMNS``, oldest first.

Used by ``streetpatrol-hq export`` (``hq.cli``) and the dashboard's CSV link (``hq.dashboard``); the
caller picks the encoding (a BOM for spreadsheet programs where the file is downloaded). Rows pass through
``patrollog.csvsafe.safe_row``: a text cell a spreadsheet would run as a formula gets a ``'`` in front.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from datetime import date, datetime, time
from typing import TextIO

from enforcement.catalogue import load_catalogue
from enforcement.labels import place_text, subject_label, subject_plate
from enforcement.model import LOCAL_TZ, Subject
from enforcement.staging import stage_name
from hq.storage.base import CaseState, Storage, Tx
from patrollog.csvsafe import safe_row

EXPORT_COLUMNS = (
    "case_no",
    "case_id",
    "version",
    "occurred_at",
    "district",
    "squad_code",
    "officer_badge",
    "violation_code",
    "violation_name",
    "subject_id",
    "device_stage",
    "chosen_stage",
    "hq_stage",
    "hq_ordinal",
    "stage_conflict",
    "photos_expected",
    "photos_stored",
    "complete",
    "review",
    "received_at",
    # names beside the codes (zh), and what the case record says (issue #14)
    "subject_name",  # enforcement.labels.subject_label: name, plate, description, address
    "plate",  # the subject's plate, written (豫A·D12345)
    "address",  # the place: typed address, else the coordinates; street and grid where known
    "fine_yuan",
    "device_stage_name",
    "chosen_stage_name",
    "hq_stage_name",
)


def _details(tx: Tx, states: Sequence[CaseState]) -> dict[str, list[object]]:
    """The named columns at the end of ``EXPORT_COLUMNS`` by case id (the case record and its subject)."""
    subjects: dict[str, Subject | None] = {}
    found: dict[str, list[object]] = {}
    for s in states:
        case = tx.get_case(s.case_id)
        subject = None
        if s.subject_id:
            if s.subject_id not in subjects:
                subjects[s.subject_id] = tx.get_subject(s.subject_id, include_deleted=True)
            subject = subjects[s.subject_id]
        found[s.case_id] = [
            subject_label(subject) if subject else "",
            subject_plate(subject) if subject else "",
            place_text(case.location, case.extra) if case else "",
            case.fine_yuan if case and case.fine_yuan is not None else "",
            stage_name(s.device_stage, "zh"),
            stage_name(s.chosen_stage, "zh"),
            stage_name(s.hq_stage, "zh"),
        ]
    return found


def write_cases_csv(
    storage: Storage,
    out: TextIO,
    *,
    district: str | None = None,
    squad_code: str | None = None,
    since: date | None = None,
    until: date | None = None,
    latest_only: bool = True,
    limit: int = 1_000_000,
) -> int:
    """Write the cases as CSV (header first); returns the number of rows."""
    catalogue = load_catalogue()
    start = datetime.combine(since, time.min, LOCAL_TZ) if since else None
    end = datetime.combine(until, time.max, LOCAL_TZ) if until else None
    with storage.transaction(readonly=True) as tx:
        states = tx.list_cases(
            district=district,
            squad_code=squad_code,
            since=start,
            until=end,
            latest_only=latest_only,
            limit=limit,
        )
        details = _details(tx, states)
    writer = csv.writer(out)
    writer.writerow(EXPORT_COLUMNS)
    for s in sorted(states, key=lambda s: (s.occurred_at, s.case_no, s.version)):
        name = catalogue.label(s.violation_code, unknown="")
        writer.writerow(
            safe_row(
                [
                    s.case_no,
                    s.case_id,
                    s.version,
                    s.occurred_at.astimezone(LOCAL_TZ).isoformat(),
                    s.district,
                    s.squad_code,
                    s.officer_badge,
                    s.violation_code,
                    name,
                    s.subject_id or "",
                    int(s.device_stage),
                    int(s.chosen_stage),
                    int(s.hq_stage),
                    s.hq_ordinal,
                    int(s.stage_conflict),
                    s.photos_expected,
                    s.photos_stored,
                    int(s.complete),
                    s.review,
                    s.received_at.isoformat(),
                    *details[s.case_id],
                ]
            )
        )
    return len(states)
