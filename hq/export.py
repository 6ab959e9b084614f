"""The cases as CSV: one row per case version, the columns of ``EXPORT_COLUMNS``, oldest first.

Used by ``streetpatrol-hq export`` (``hq.cli``) and the dashboard's CSV link (``hq.dashboard``); the
caller picks the encoding (a BOM for spreadsheet programs where the file is downloaded). Rows pass through
``patrollog.csvsafe.safe_row``: a text cell a spreadsheet would run as a formula gets a ``'`` in front.
"""

from __future__ import annotations

import csv
from datetime import date, datetime, time
from typing import TextIO

from enforcement.catalogue import load_catalogue
from enforcement.model import LOCAL_TZ
from hq.storage.base import Storage
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
)


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
                ]
            )
        )
    return len(states)
