"""The cases as CSV: one row per case version, the columns of ``EXPORT_COLUMNS``, oldest first.

Used by ``streetpatrol-hq export`` (``hq.cli.main``) and the dashboard's CSV link (``hq.dash.board``); the
caller picks the encoding (a BOM for spreadsheet programs where the file is downloaded). The rows are
read in keyset pages, oldest first, each page in its own short read transaction and written out before
the next is read (``iter_cases_csv`` streams them: memory stays flat whatever the date range). Rows
pass through
``patrollog.csvsafe.safe_row``: a text cell a spreadsheet would run as a formula gets a ``'`` in front.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from datetime import date, datetime, time
from typing import TextIO

from enforcement.catalogue import load_catalogue
from enforcement.labels import place_text, subject_label, subject_plate
from enforcement.model import LOCAL_TZ, Subject
from enforcement.staging import stage_name
from hq.storage.base import CaseKey, CaseState, Storage, Tx
from patrollog.csvsafe import safe_row

PAGE = 2000

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
    limit: int = 10**15,
) -> int:
    """Write the cases as CSV (header first); returns the number of rows."""
    rows = 0
    for chunk, count in _chunks(storage, district=district, squad_code=squad_code, since=since,
                                until=until, latest_only=latest_only, limit=limit):  # fmt: skip
        out.write(chunk)
        rows = count
    return rows


def iter_cases_csv(
    storage: Storage,
    *,
    district: str | None = None,
    squad_code: str | None = None,
    since: date | None = None,
    until: date | None = None,
    latest_only: bool = True,
    limit: int = 10**15,
) -> Iterator[str]:
    """The same CSV as text chunks (a page of rows each), for a streamed response: constant memory."""
    for chunk, _ in _chunks(storage, district=district, squad_code=squad_code, since=since, until=until,
                            latest_only=latest_only, limit=limit):  # fmt: skip
        yield chunk


def _chunks(
    storage: Storage,
    *,
    district: str | None,
    squad_code: str | None,
    since: date | None,
    until: date | None,
    latest_only: bool,
    limit: int,
) -> Iterator[tuple[str, int]]:
    """Keyset pages oldest first (``Tx.cases_page``), each read in its own short transaction and
    written as one chunk with the running row count: no page's rows outlive it."""
    catalogue = load_catalogue()
    start = datetime.combine(since, time.min, LOCAL_TZ) if since else None
    end = datetime.combine(until, time.max, LOCAL_TZ) if until else None
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(EXPORT_COLUMNS)
    rows = 0
    after: CaseKey | None = None
    while True:
        size = min(PAGE, limit - rows)
        if size <= 0:
            break
        with storage.transaction(readonly=True) as tx:
            page = tx.cases_page(after=after, descending=False, district=district, squad_code=squad_code,
                                 since=start, until=end, latest_only=latest_only, limit=size)  # fmt: skip
            details = _details(tx, page)
        for s in page:
            writer.writerow(_row(s, catalogue.label(s.violation_code, unknown=""), details[s.case_id]))
        rows += len(page)
        yield buffer.getvalue(), rows
        buffer.seek(0)
        buffer.truncate()
        if len(page) < size:
            return
        after = (page[-1].occurred_at, page[-1].case_no, page[-1].version)
    if buffer.tell():
        yield buffer.getvalue(), rows


def _row(s: CaseState, name: str, details: list[object]) -> list[object]:
    return safe_row(
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
            *details,
        ]
    )
