"""Reads of the phone store that span records: the officer's day log (``patrol_log``), a subject's earlier
cases for the staged rule (``subject_history``), the subjects whose cases were recorded near a GPS fix
(``nearby_subjects``), the officer's most used violations, and a leader's squad day (SQL in
``mobile.store_squad``). Each runs in one read snapshot and returns plain records.
"""

from __future__ import annotations

import json
import math
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from enforcement.codec import case_from_dict, subject_from_dict
from enforcement.model import (
    Case,
    CaseStatus,
    HistoryEntry,
    Review,
    ReviewDecision,
    Stage,
    Subject,
    SyncState,
)
from mobile import store_squad
from mobile.store_core import StoreCore
from mobile.store_rows import chunks, review_of
from mobile.store_squad import SquadDay
from mobile.store_subjects import identity_ids

# ---------------------------------------------------------------------------------------- records


@dataclass(frozen=True, slots=True)
class LoggedCase:
    """One line of the officer's patrol log: the current version of a case and where it stands."""

    case: Case
    sync_state: SyncState
    review: Review | None
    hq_stage: Stage | None
    photos_missing: int  # photos of this case not yet uploaded to HQ
    # HQ's reason for ``hq_stage``, naming the earlier cases HQ counted
    # ("第3次 · 处罚：10-02 劝导，11-01 警告"); "" when HQ sent none
    hq_reason_zh: str = ""
    hq_reason_en: str = ""


@dataclass(frozen=True, slots=True)
class NearbySubject:
    """A subject with a case recorded near a GPS fix: its newest such case's violation and time."""

    subject: Subject
    violation_code: str
    last_seen: datetime
    distance_m: float


# ----------------------------------------------------------------------------------------- queries
# Also shared with bench/store.py (its plain-sqlite3 floor runs the very same statements).

PATROL_LOG_SQL = (
    "SELECT c.id, c.record, c.sync_state, c.hq_stage, c.hq_reason_zh, c.hq_reason_en,"
    " (SELECT count(*) FROM case_photos p JOIN photo_queue q ON q.sha256 = p.sha256"
    " WHERE p.case_id = c.id AND q.uploaded_at IS NULL) AS missing"
    " FROM cases c WHERE c.officer_badge = ? AND c.local_day = ? AND c.is_current = 1"
    " ORDER BY c.occurred_utc DESC, c.rowid DESC"
)

OWN_HISTORY_SQL = (
    "SELECT id, case_no, violation_code, occurred_at, chosen_stage, status, version FROM cases"
    " WHERE subject_id = ?"
)
REMOTE_HISTORY_SQL = (
    "SELECT case_id, case_no, violation_code, occurred_at, stage, status, version FROM remote_history"
    " WHERE subject_id = ?"
)

#: Cases recorded inside a latitude / longitude box (the ``cases_by_place`` index; the box is cut to a
#: circle in Python).
NEARBY_SQL = (
    "SELECT subject_id, violation_code, occurred_at, occurred_utc, lat, lon FROM cases"
    " WHERE lat IS NOT NULL AND lat BETWEEN ? AND ? AND lon BETWEEN ? AND ?"
    " AND subject_id IS NOT NULL AND is_current = 1"
)
_EARTH_M = 6_371_000.0
_M_PER_DEG = math.pi * _EARTH_M / 180


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Metres between two points (equirectangular; exact enough within a few km)."""
    x = math.radians(lon2 - lon1) * math.cos(math.radians((lat1 + lat2) / 2))
    y = math.radians(lat2 - lat1)
    return math.hypot(x, y) * _EARTH_M


def place_box(lat: float, lon: float, radius_m: float) -> tuple[float, float, float, float]:
    """The NEARBY_SQL parameters: the box around a circle of ``radius_m`` metres."""
    dlat = radius_m / _M_PER_DEG
    dlon = radius_m / (_M_PER_DEG * max(math.cos(math.radians(lat)), 0.01))
    return lat - dlat, lat + dlat, lon - dlon, lon + dlon


class QueryStore(StoreCore):
    """The store's day log and history reads (part of ``mobile.store.Store``)."""

    def _latest_reviews(self, conn: sqlite3.Connection, case_ids: Sequence[str]) -> dict[str, Review]:
        latest: dict[str, Review] = {}
        for chunk in chunks(case_ids):
            marks = ",".join("?" * len(chunk))
            for row in conn.execute(
                f"SELECT * FROM reviews WHERE case_id IN ({marks}) ORDER BY decided_utc, rowid",  # noqa: S608
                tuple(chunk),
            ):
                latest[row["case_id"]] = review_of(row)
        return latest

    def patrol_log(self, badge: str, day: date) -> list[LoggedCase]:
        """The officer's cases of a bureau-local day (current versions), newest first."""
        with self._read() as conn:
            rows = conn.execute(PATROL_LOG_SQL, (badge, day.isoformat())).fetchall()
            reviews = self._latest_reviews(conn, [row["id"] for row in rows])
        return [
            LoggedCase(
                case=case_from_dict(json.loads(row["record"])),
                sync_state=SyncState(row["sync_state"]),
                review=reviews.get(row["id"]),
                hq_stage=Stage(row["hq_stage"]) if row["hq_stage"] is not None else None,
                photos_missing=row["missing"],
                hq_reason_zh=row["hq_reason_zh"],
                hq_reason_en=row["hq_reason_en"],
            )
            for row in rows
        ]

    def subject_history(self, subject_id: str) -> list[HistoryEntry]:
        """Earlier cases of a subject for the staged rule: every version saved here plus the history pulled
        from HQ, one entry per case version (HQ's entry wins for the same case id), oldest first. A case
        whose latest review withdrew it is marked WITHDRAWN."""
        with self._read() as conn:
            ids = identity_ids(conn, subject_id)  # a subject merged at HQ: all its ids (issue #22)
            own = [row for i in ids for row in conn.execute(OWN_HISTORY_SQL, (i,)).fetchall()]
            remote = [row for i in ids for row in conn.execute(REMOTE_HISTORY_SQL, (i,)).fetchall()]
            reviews = self._latest_reviews(conn, [row[0] for row in own])
        entries: dict[str, HistoryEntry] = {}
        for row in [*own, *remote]:
            status = CaseStatus(row[5])
            review = reviews.get(row[0])
            if review is not None and review.decision == ReviewDecision.WITHDRAW:
                status = CaseStatus.WITHDRAWN
            entries[row[0]] = HistoryEntry(
                case_id=row[0],
                case_no=row[1],
                violation_code=row[2],
                occurred_at=datetime.fromisoformat(row[3]),
                stage=Stage(row[4]),
                status=status,
                version=row[6],
            )
        return sorted(entries.values(), key=lambda e: (e.occurred_at, e.case_no, e.version))

    def nearby_subjects(
        self, lat: float, lon: float, *, radius_m: float = 150.0, limit: int = 5
    ) -> list[NearbySubject]:
        """Subjects with a case (this phone's, current version) recorded within ``radius_m`` of the fix,
        the most recently seen first, at most ``limit``; each with its newest such case. A fix that is no
        position (NaN, out of range) finds nobody."""
        if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0) or radius_m <= 0 or limit <= 0:
            return []
        newest: dict[str, tuple[int, str, str, float]] = {}
        with self._read() as conn:
            for subject_id, code, occurred_at, utc, c_lat, c_lon in conn.execute(
                NEARBY_SQL, place_box(lat, lon, radius_m)
            ):
                away = distance_m(lat, lon, c_lat, c_lon)
                if away <= radius_m and (subject_id not in newest or utc > newest[subject_id][0]):
                    newest[subject_id] = (utc, code, occurred_at, away)
            chosen = sorted(newest.items(), key=lambda item: (-item[1][0], item[0]))[:limit]
            ids = [subject_id for subject_id, _ in chosen]
            marks = ",".join("?" * len(ids))
            records = (
                dict(
                    conn.execute(f"SELECT id, record FROM subjects WHERE id IN ({marks})", ids).fetchall()  # noqa: S608
                )
                if ids
                else {}
            )
        return [
            NearbySubject(
                subject=subject_from_dict(json.loads(records[subject_id])),
                violation_code=code,
                last_seen=datetime.fromisoformat(occurred_at),
                distance_m=away,
            )
            for subject_id, (_, code, occurred_at, away) in chosen
            if subject_id in records
        ]

    def last_warning_notice_no(self, badge: str) -> str:
        """The warning notice number of the officer's case with a 警告通知书 saved last on this phone ("" when
        none): where the notice book goes on (``mobile.state.draft_quick``)."""
        rows = self._rows(
            "SELECT json_extract(record, '$.warning_notice_no') FROM cases"
            " WHERE officer_badge = ? AND disposition = ?"
            " AND coalesce(json_extract(record, '$.warning_notice_no'), '') != ''"
            " ORDER BY saved_at DESC, rowid DESC LIMIT 1",
            (badge, "warning_notice"),
        )
        return str(rows[0][0]) if rows else ""

    def violation_counts(self, badge: str) -> dict[str, int]:
        """How many cases (by case number) the officer recorded per violation code, most used first."""
        rows = self._rows(
            "SELECT violation_code, count(DISTINCT case_no) AS n FROM cases WHERE officer_badge = ?"
            " GROUP BY violation_code ORDER BY n DESC, violation_code",
            (badge,),
        )
        return {row[0]: row[1] for row in rows}

    def squad_day(self, squad_code: str, day: date) -> SquadDay:
        """What this phone knows of the squad's bureau-local day (own and pulled records, reviews made
        here included at once): the inputs of ``patrollog.daylog.build_daylog``."""
        with self._read() as conn:
            return store_squad.load_squad_day(conn, squad_code, day)

    def squad_case(self, case_id: str) -> Case | None:
        """A case version by id: the phone's own, else a pulled squad case."""
        with self._read() as conn:
            record = store_squad.case_record(conn, case_id)
        return case_from_dict(json.loads(record)) if record is not None else None
