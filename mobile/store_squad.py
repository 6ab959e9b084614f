"""The squad leader's pulled squad data in the phone store: SQL over a plain ``sqlite3`` connection.

``mobile.store.Store`` owns the connection, the lock and the transactions (``mobile.store_core``); its
squad methods (``apply_squad_case``, ``apply_squad_shift``, ``squad_day``, ``squad_case``) call the
functions here inside one of its transactions. Tables (migration ``m003_squad_feed``): ``squad_cases``
(one row per pulled case version, with HQ's stage and HQ's reason for it, the officer's name and the
subject's label) and ``squad_shifts``; reviews of pulled cases go to the shared ``reviews`` table with
origin 'remote', beside the reviews the leader made on this phone (origin 'local'), so a review made
offline shows in the squad's day at once. Row helpers shared with the rest of the store come from
``mobile.store_rows``.

A squad's day (``load_squad_day``) joins the phone's own records (tables ``cases`` / ``shifts``) with the
pulled ones, one entry per case version id and per shift id: what ``patrollog.daylog.build_daylog`` needs.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from enforcement.codec import case_from_dict, subject_from_dict
from enforcement.labels import subject_label, subject_plate
from enforcement.model import LOCAL_TZ, Case, Review, Shift, Stage
from mobile.store_rows import chunks, marks, review_of, shift_of, utc_us
from patrollog.reviewing import best_known_at

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class SquadDay:
    """What this phone knows of one squad's bureau-local day: the inputs of
    patrollog.daylog.build_daylog."""

    day: date
    squad_code: str
    cases: list[Case]  # every known version of the squad's cases of the day, own and pulled, one per id
    shifts: list[Shift]  # the squad's shifts overlapping the day (own + pulled)
    reviews: list[Review]  # reviews of those cases: pulled + made on this phone (even unsynced)
    hq_stages: dict[str, Stage]  # HQ's stage by case id where known
    officer_names: dict[str, str]  # badge -> name
    subject_labels: dict[str, str]  # subject id -> label (enforcement.labels.subject_label)
    # HQ's reason for its stage (zh, en) by case id where HQ sent one: "第3次 · 处罚：10-02 劝导，11-01 警告"
    hq_reasons: dict[str, tuple[str, str]] = field(default_factory=dict)
    subject_plates: dict[str, str] = field(default_factory=dict)  # subject id -> written plate (豫A·D12345)
    # when HQ received a case version, by id, where the squad feed said (the case's best-known time)
    received_at: dict[str, datetime] = field(default_factory=dict)
    # the first sign-in at HQ of the device that recorded a case version, by id, where the squad feed said
    # (``patrollog.reviewing.time_flag``'s ``device_first_seen``)
    device_first_seen: dict[str, datetime] = field(default_factory=dict)


def day_range_us(day: date) -> tuple[int, int]:
    """The bureau-local day ``[start, end)`` in microseconds since the epoch."""
    start = datetime.combine(day, time.min, LOCAL_TZ)
    return utc_us(start), utc_us(start + timedelta(days=1))


# ----------------------------------------------------------------------------------------- writes

SQUAD_CASE_UPSERT = (
    "INSERT INTO squad_cases (id, case_no, version, officer_badge, squad_code, occurred_utc, local_day,"
    " subject_id, hq_stage, hq_reason_zh, hq_reason_en, missing_photos, officer_name, subject_label, record,"
    " received_at, hq_received_at, hq_received_utc, device_first_seen)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (id) DO UPDATE SET case_no = excluded.case_no, version = excluded.version,"
    " officer_badge = excluded.officer_badge, squad_code = excluded.squad_code,"
    " occurred_utc = excluded.occurred_utc, local_day = excluded.local_day, subject_id = excluded.subject_id,"
    " hq_stage = coalesce(excluded.hq_stage, hq_stage),"
    # HQ's reason goes with its stage: a record without a stage keeps both the stage and its reason
    " hq_reason_zh = CASE WHEN excluded.hq_stage IS NULL THEN hq_reason_zh ELSE excluded.hq_reason_zh END,"
    " hq_reason_en = CASE WHEN excluded.hq_stage IS NULL THEN hq_reason_en ELSE excluded.hq_reason_en END,"
    " missing_photos = excluded.missing_photos,"
    " officer_name = CASE WHEN excluded.officer_name <> '' THEN excluded.officer_name ELSE officer_name END,"
    " subject_label = CASE WHEN excluded.subject_label <> '' THEN excluded.subject_label"
    " ELSE subject_label END, record = excluded.record, received_at = excluded.received_at,"
    " hq_received_at = coalesce(excluded.hq_received_at, hq_received_at),"
    " hq_received_utc = coalesce(excluded.hq_received_utc, hq_received_utc),"
    # a feed entry from an HQ that did not send it keeps the one a later entry brought
    " device_first_seen = coalesce(excluded.device_first_seen, device_first_seen)"
)
REMOTE_REVIEW_INSERT = (
    "INSERT INTO reviews (id, case_id, case_no, decision, reviewer_badge, decided_at, decided_utc, comment,"
    " origin) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'remote') ON CONFLICT (id) DO NOTHING"
)
SQUAD_SHIFT_UPSERT = (
    "INSERT INTO squad_shifts (id, officer_badge, squad_code, officer_name, started_at, started_utc,"
    " ended_at, ended_utc, grid_cell, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (id) DO UPDATE SET officer_badge = excluded.officer_badge,"
    " squad_code = CASE WHEN excluded.squad_code <> '' THEN excluded.squad_code ELSE squad_code END,"
    " officer_name = CASE WHEN excluded.officer_name <> '' THEN excluded.officer_name ELSE officer_name END,"
    " started_at = excluded.started_at, started_utc = excluded.started_utc,"
    " ended_at = coalesce(excluded.ended_at, ended_at), ended_utc = coalesce(excluded.ended_utc, ended_utc),"
    " grid_cell = excluded.grid_cell, received_at = excluded.received_at"
)


def put_squad_case(
    conn: sqlite3.Connection,
    case: Case,
    record: str,
    *,
    hq_stage: Stage | None,
    reviews: Sequence[Review],
    officer_name: str,
    subject_label: str,
    missing_photos: int,
    hq_reason_zh: str = "",
    hq_reason_en: str = "",
    hq_received_at: datetime | None = None,
    device_first_seen: datetime | None = None,
) -> None:
    """Insert or refresh a pulled case version (``record`` = its codec JSON) and add its reviews (a review
    already on the phone, e.g. made here, is kept as it is). HQ's reason is stored with HQ's stage: without
    a stage (None) the stage and reason already stored are kept. ``hq_received_at``: when HQ received the
    version (None: not sent; a time already stored is kept); ``device_first_seen``: the first sign-in at HQ
    of the version's device (``SquadCaseData.device_first_seen``; None: not sent, one already stored is
    kept)."""
    now = datetime.now(UTC).isoformat()
    conn.execute(
        SQUAD_CASE_UPSERT,
        (
            case.id,
            case.case_no,
            case.version,
            case.officer_badge,
            case.squad_code,
            utc_us(case.occurred_at),
            case.local_day.isoformat(),
            case.subject_id,
            int(hq_stage) if hq_stage is not None else None,
            hq_reason_zh if hq_stage is not None else "",
            hq_reason_en if hq_stage is not None else "",
            max(0, int(missing_photos)),
            officer_name,
            subject_label,
            record,
            now,
            hq_received_at.isoformat() if hq_received_at is not None else None,
            utc_us(hq_received_at) if hq_received_at is not None else None,
            device_first_seen.isoformat() if device_first_seen is not None else None,
        ),
    )
    conn.executemany(
        REMOTE_REVIEW_INSERT,
        [
            (
                r.id,
                r.case_id,
                r.case_no,
                str(r.decision),
                r.reviewer_badge,
                r.decided_at.isoformat(),
                utc_us(r.decided_at),
                r.comment,
            )
            for r in reviews
        ],
    )


def place_own_case(conn: sqlite3.Connection, case_id: str, received_at: datetime) -> None:
    """Put one of the phone's own case versions on the bureau-local day of its best-known time once HQ's
    receive time is known (``best_known_at``): ``cases.local_day`` is the day the case is listed under
    (今日, the squad's day), which for a time a wrong clock made implausible is the day HQ received it."""
    row = conn.execute("SELECT occurred_utc FROM cases WHERE id = ?", (case_id,)).fetchone()
    if row is None:
        return
    placed = best_known_at(_EPOCH + timedelta(microseconds=row[0]), received_at)
    day = placed.astimezone(LOCAL_TZ).date().isoformat()
    conn.execute("UPDATE cases SET local_day = ? WHERE id = ? AND local_day <> ?", (day, case_id, day))


def put_squad_shift(conn: sqlite3.Connection, shift: Shift, *, squad_code: str, officer_name: str) -> None:
    """Insert or refresh a pulled shift. An end once known is kept; an empty squad or name keeps the one
    already stored."""
    conn.execute(
        SQUAD_SHIFT_UPSERT,
        (
            shift.id,
            shift.officer_badge,
            squad_code,
            officer_name,
            shift.started_at.isoformat(),
            utc_us(shift.started_at),
            shift.ended_at.isoformat() if shift.ended_at else None,
            utc_us(shift.ended_at) if shift.ended_at else None,
            shift.grid_cell,
            datetime.now(UTC).isoformat(),
        ),
    )


def squad_of_officer(conn: sqlite3.Connection, badge: str) -> str:
    """The squad this phone knows ``badge`` in: an officer signed in here, else the squad of the officer's
    latest pulled case, else the squad of the leader(s) signed in here when there is one such squad (HQ sends
    a leader only its own squad's records), else ''."""
    row = conn.execute("SELECT squad_code FROM officers WHERE badge = ?", (badge,)).fetchone()
    if row is None:
        row = conn.execute(
            "SELECT squad_code FROM squad_cases WHERE officer_badge = ? ORDER BY occurred_utc DESC LIMIT 1",
            (badge,),
        ).fetchone()
    if row is None:
        squads = conn.execute("SELECT DISTINCT squad_code FROM officers WHERE role = 'leader'").fetchall()
        row = squads[0] if len(squads) == 1 else None
    return str(row[0]) if row is not None else ""


# ------------------------------------------------------------------------------------------ reads


def case_record(conn: sqlite3.Connection, case_id: str) -> str | None:
    """The codec JSON of case version ``case_id``: the phone's own, else a pulled one."""
    for sql in ("SELECT record FROM cases WHERE id = ?", "SELECT record FROM squad_cases WHERE id = ?"):
        row = conn.execute(sql, (case_id,)).fetchone()
        if row is not None:
            return str(row[0])
    return None


@dataclass(slots=True)
class _DayCases:
    cases: dict[str, Case] = field(default_factory=dict)
    stages: dict[str, Stage] = field(default_factory=dict)
    reasons: dict[str, tuple[str, str]] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    received: dict[str, datetime] = field(default_factory=dict)
    first_seen: dict[str, datetime] = field(default_factory=dict)


def _day_cases(conn: sqlite3.Connection, squad_code: str, day: str) -> _DayCases:
    """Every version (own and pulled, one per id) of the squad's case numbers having a version on
    ``day``; HQ's stages (and HQ's reasons), officer names and subject labels the pulled rows carry."""
    numbers: set[str] = set()
    for table in ("cases", "squad_cases"):
        sql = f"SELECT DISTINCT case_no FROM {table} WHERE squad_code = ? AND local_day = ?"  # noqa: S608
        numbers |= {row[0] for row in conn.execute(sql, (squad_code, day))}
    # and those HQ received on the day whose time a wrong phone clock made implausible (2099, 1970): a
    # case belongs to the day of its best-known time (``patrollog.reviewing.best_known_at``, HQ's rule)
    start, end = day_range_us(date.fromisoformat(day))
    for case_no, occurred_us, received in conn.execute(
        "SELECT case_no, occurred_utc, hq_received_at FROM squad_cases WHERE squad_code = ?"
        " AND hq_received_utc >= ? AND hq_received_utc < ?",
        (squad_code, start, end),
    ):
        occurred = _EPOCH + timedelta(microseconds=occurred_us)
        if start <= utc_us(best_known_at(occurred, datetime.fromisoformat(received))) < end:
            numbers.add(case_no)
    found = _DayCases()
    cases, stages, reasons = found.cases, found.stages, found.reasons
    ordered = sorted(numbers)
    for chunk in chunks(ordered):
        own = conn.execute(
            f"SELECT id, record, hq_stage FROM cases WHERE squad_code = ? AND case_no IN ({marks(chunk)})",  # noqa: S608
            (squad_code, *chunk),
        ).fetchall()
        pulled = conn.execute(
            "SELECT id, record, hq_stage, hq_reason_zh, hq_reason_en, officer_badge, officer_name,"  # noqa: S608
            " subject_id, subject_label, hq_received_at, device_first_seen FROM squad_cases"
            f" WHERE squad_code = ? AND case_no IN ({marks(chunk)})",
            (squad_code, *chunk),
        ).fetchall()
        for row in own:
            cases[row["id"]] = case_from_dict(json.loads(row["record"]))
            if row["hq_stage"] is not None:
                stages[row["id"]] = Stage(row["hq_stage"])
        for row in pulled:
            if row["id"] not in cases:
                cases[row["id"]] = case_from_dict(json.loads(row["record"]))
            if row["hq_stage"] is not None:  # the pulled row is HQ's latest word on the version
                stages[row["id"]] = Stage(row["hq_stage"])
                # '' when HQ sent no reason, or the row was stored before reasons were kept
                if row["hq_reason_zh"] or row["hq_reason_en"]:
                    reasons[row["id"]] = (row["hq_reason_zh"], row["hq_reason_en"])
            if row["hq_received_at"]:
                found.received[row["id"]] = datetime.fromisoformat(row["hq_received_at"])
            if row["device_first_seen"]:
                found.first_seen[row["id"]] = datetime.fromisoformat(row["device_first_seen"])
            if row["officer_name"]:
                found.names[row["officer_badge"]] = row["officer_name"]
            if row["subject_id"] and row["subject_label"]:
                found.labels[row["subject_id"]] = row["subject_label"]
    return found


def _day_shifts(conn: sqlite3.Connection, squad_code: str, day: date) -> tuple[list[Shift], dict[str, str]]:
    """The squad's shifts overlapping the day: the phone's own (of officers signed in here in that squad)
    and pulled ones (own wins for one id). A shift still open overlaps every day from its start on, as in
    ``patrollog.daylog``."""
    start, end = day_range_us(day)
    shifts: dict[str, Shift] = {}
    names: dict[str, str] = {}
    for row in conn.execute(
        "SELECT * FROM squad_shifts WHERE squad_code = ? AND started_utc < ?"
        " AND (ended_utc IS NULL OR ended_utc >= ?)",
        (squad_code, end, start),
    ).fetchall():
        shifts[row["id"]] = shift_of(row)
        if row["officer_name"]:
            names[row["officer_badge"]] = row["officer_name"]
    for row in conn.execute(
        "SELECT s.* FROM shifts s JOIN officers o ON o.badge = s.officer_badge"
        " WHERE o.squad_code = ? AND s.started_utc < ?",
        (squad_code, end),
    ).fetchall():
        shift = shift_of(row)
        if shift.ended_at is None or utc_us(shift.ended_at) >= start:
            shifts[shift.id] = shift
    return sorted(shifts.values(), key=lambda s: (s.started_at, s.officer_badge, s.id)), names


def _reviews(conn: sqlite3.Connection, case_ids: Sequence[str]) -> list[Review]:
    found: list[Review] = []
    for chunk in chunks(case_ids):
        sql = f"SELECT * FROM reviews WHERE case_id IN ({marks(chunk)})"  # noqa: S608
        found += [review_of(row) for row in conn.execute(sql, tuple(chunk))]
    return sorted(found, key=lambda r: (r.decided_at, r.id))


def _subject_labels(
    conn: sqlite3.Connection, subject_ids: Sequence[str]
) -> tuple[dict[str, str], dict[str, str]]:
    """Labels (``enforcement.labels.subject_label``: name, plate, description, address) and written plates
    of the subjects this phone holds."""
    labels: dict[str, str] = {}
    plates: dict[str, str] = {}
    for chunk in chunks(subject_ids):
        for row in conn.execute(
            f"SELECT id, record FROM subjects WHERE id IN ({marks(chunk)})",  # noqa: S608
            tuple(chunk),
        ):
            subject = subject_from_dict(json.loads(row["record"]))
            if label := subject_label(subject):
                labels[row["id"]] = label
            if plate := subject_plate(subject):
                plates[row["id"]] = plate
    return labels, plates


def load_squad_day(conn: sqlite3.Connection, squad_code: str, day: date) -> SquadDay:
    """The squad's day as this phone knows it (run inside one read snapshot)."""
    found = _day_cases(conn, squad_code, day.isoformat())
    cases = found.cases
    shifts, shift_names = _day_shifts(conn, squad_code, day)
    known, plates = _subject_labels(conn, sorted({c.subject_id for c in cases.values() if c.subject_id}))
    officer_names = {row["badge"]: row["name"] for row in conn.execute("SELECT badge, name FROM officers")}
    return SquadDay(
        day=day,
        squad_code=squad_code,
        cases=sorted(cases.values(), key=lambda c: (c.occurred_at, c.case_no, c.version)),
        shifts=shifts,
        reviews=_reviews(conn, sorted(cases)),
        hq_stages=found.stages,
        officer_names={**shift_names, **found.names, **officer_names},
        subject_labels={**known, **found.labels},
        subject_plates=plates,
        hq_reasons=found.reasons,
        received_at=found.received,
        device_first_seen=found.first_seen,
    )
