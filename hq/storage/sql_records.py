"""Receipts, device sequence numbers, cases, photos, subjects, shifts, reviews, catalogue (shared SQL)."""

# Column lists are class constants, never input: the f-strings build no SQL from data.
# ruff: noqa: S608

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from enforcement.codec import case_from_dict, from_json_dict, subject_from_dict, to_json_dict
from enforcement.model import (
    Case,
    CaseStatus,
    HistoryEntry,
    Review,
    ReviewDecision,
    Shift,
    Stage,
    Subject,
)
from hq.storage.base import (
    CaseState,
    ChangeKind,
    ChangeScope,
    PhotoRow,
    Receipt,
    RecordKind,
    StageVerdict,
    StorageConflict,
)
from hq.storage.sql_policy import PolicyMixin
from hq.storage.sqlcore import Row, dumps, loads

#: A case's manifest entry ``cp`` is held for case ``c`` when the photo is stored AND the case's own officer
#: uploaded its bytes (``photo_uploads``): a hash listed in someone else's case completes nothing there.
_HELD = (
    "EXISTS (SELECT 1 FROM photos p JOIN photo_uploads u ON u.sha256 = p.sha256"
    " WHERE p.sha256 = {cp}.sha256 AND p.stored AND u.badge = {c}.officer_badge)"
)

_STATE_SELECT = """
SELECT c.id, c.case_no, c.version, c.officer_badge, c.squad_code, c.district, c.subject_id,
       c.violation_code, c.occurred_at, c.received_at, c.device_stage, c.chosen_stage, c.hq_stage,
       c.hq_ordinal, c.stage_conflict, c.explain_zh, c.explain_en, c.photos_expected,
       (SELECT count(*) FROM case_photos cp
         WHERE cp.case_id = c.id AND {held}) AS photos_stored,
       c.latest, c.review, c.policy_version
FROM cases c
""".format(held=_HELD.format(cp="cp", c="c"))


def case_filters(
    ts: Callable[[datetime], Any],
    *,
    equal: Mapping[str, str | None],
    ranges: Mapping[str, tuple[datetime | None, datetime | None]],
) -> tuple[str, list[Any]]:
    """``_STATE_SELECT`` narrowed by the given filters: each ``equal`` column that is not None, each
    ``ranges`` column from its first time (inclusive) to its second (exclusive); (SQL, parameters)."""
    sql = _STATE_SELECT + " WHERE 1 = 1"
    params: list[Any] = []
    for column, value in equal.items():
        if value is not None:
            sql += f" AND {column} = ?"
            params.append(value)
    for column, (start, end) in ranges.items():
        if start is not None:
            sql += f" AND {column} >= ?"
            params.append(ts(start))
        if end is not None:
            sql += f" AND {column} < ?"
            params.append(ts(end))
    return sql, params


class RecordsMixin(PolicyMixin):
    # -- the exactly-once ledger
    def _receipt(self, row: Row) -> Receipt:
        return Receipt(
            record_id=row[0], payload_hash=row[1], kind=RecordKind(row[2]), badge=row[3], device_id=row[4],
            device_seq=int(row[5]), received_at=self._dt(row[6]), result=loads(row[7]),
        )  # fmt: skip

    _RECEIPT_COLUMNS = "record_id, payload_hash, kind, badge, device_id, device_seq, received_at, result"

    def get_receipt(self, record_id: str, payload_hash: str) -> Receipt | None:
        row = self._one(
            f"SELECT {self._RECEIPT_COLUMNS} FROM receipts WHERE record_id = ? AND payload_hash = ?",
            (record_id, payload_hash),
        )
        return self._receipt(row) if row else None

    def receipts_for(self, record_id: str) -> list[Receipt]:
        rows = self._all(
            f"SELECT {self._RECEIPT_COLUMNS} FROM receipts WHERE record_id = ? ORDER BY received_at",
            (record_id,),
        )
        return [self._receipt(r) for r in rows]

    def add_receipt(self, receipt: Receipt) -> None:
        self._writable()
        self._x(
            f"INSERT INTO receipts ({self._RECEIPT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (receipt.record_id, receipt.payload_hash, receipt.kind.value, receipt.badge, receipt.device_id,
             receipt.device_seq, self._ts(receipt.received_at), dumps(dict(receipt.result))),
        )  # fmt: skip

    def device_seq_high(self, device_id: str) -> int:
        row = self._one("SELECT high FROM device_seqs WHERE device_id = ?", (device_id,))
        return int(row[0]) if row else 0

    def set_device_seq_high(self, device_id: str, seq: int) -> None:
        self._writable()
        self._x(
            "INSERT INTO device_seqs (device_id, high) VALUES (?, ?) ON CONFLICT (device_id) DO UPDATE"
            " SET high = CASE WHEN excluded.high > device_seqs.high THEN excluded.high"
            " ELSE device_seqs.high END",
            (device_id, seq),
        )

    # -- cases
    def save_case(
        self, case: Case, *, district: str, verdict: StageVerdict, received_at: datetime
    ) -> CaseState:
        self._writable()
        if case.supersedes is not None:
            retired = self._x(
                "UPDATE cases SET latest = FALSE WHERE id = ? AND latest", (case.supersedes,)
            ).rowcount
            if retired != 1:
                raise StorageConflict(
                    f"case {case.supersedes} is not the latest version",
                    zh="被修改的案件版本不是最新版本",
                    field="supersedes",
                )
        manifest = sorted({photo.sha256 for photo in case.photos})
        inserted = self._x(
            "INSERT INTO cases (id, case_no, version, supersedes, officer_badge, squad_code, district,"
            " subject_id, violation_code, occurred_at, status, received_at, device_stage, chosen_stage,"
            " hq_stage, hq_ordinal, stage_conflict, explain_zh, explain_en, photos_expected, latest,"
            " review, payload, policy_version)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, TRUE, '', ?, ?)"
            " ON CONFLICT (id) DO NOTHING",
            (case.id, case.case_no, case.version, case.supersedes, case.officer_badge, case.squad_code,
             district, case.subject_id, case.violation_code, self._ts(case.occurred_at), case.status.value,
             self._ts(received_at), int(case.computed_stage), int(case.chosen_stage), int(verdict.stage),
             verdict.ordinal, verdict.stage != case.computed_stage, verdict.explain_zh, verdict.explain_en,
             len(manifest), dumps(to_json_dict(case)), verdict.policy_version),
        ).rowcount  # fmt: skip
        if inserted != 1:
            raise StorageConflict(f"case {case.id} is already stored", zh="该案件记录已存在", field="id")
        if manifest:
            values = ", ".join(["(?, ?)"] * len(manifest))
            self._x(
                f"INSERT INTO case_photos (case_id, sha256) VALUES {values}",
                [value for sha in manifest for value in (case.id, sha)],
            )
        state = self.case_state(case.id)
        assert state is not None
        return state

    def set_verdict(self, case_id: str, verdict: StageVerdict) -> CaseState | None:
        self._writable()
        self._x(
            "UPDATE cases SET hq_stage = ?, hq_ordinal = ?, stage_conflict = (device_stage <> ?),"
            " explain_zh = ?, explain_en = ?, policy_version = ? WHERE id = ?",
            (int(verdict.stage), verdict.ordinal, int(verdict.stage), verdict.explain_zh, verdict.explain_en,
             verdict.policy_version, case_id),
        )  # fmt: skip
        return self.case_state(case_id)

    def set_verdicts(self, verdicts: Sequence[tuple[str, StageVerdict]]) -> None:
        self._writable()
        self._many(
            "UPDATE cases SET hq_stage = ?, hq_ordinal = ?, stage_conflict = (device_stage <> ?),"
            " explain_zh = ?, explain_en = ?, policy_version = ? WHERE id = ?",
            [(int(v.stage), v.ordinal, int(v.stage), v.explain_zh, v.explain_en, v.policy_version, case_id)
             for case_id, v in verdicts],
        )  # fmt: skip

    def get_case(self, case_id: str) -> Case | None:
        row = self._one("SELECT payload FROM cases WHERE id = ?", (case_id,))
        return case_from_dict(loads(row[0])) if row else None

    def _state(self, row: Row) -> CaseState:
        return CaseState(
            case_id=row[0], case_no=row[1], version=int(row[2]), officer_badge=row[3], squad_code=row[4],
            district=row[5], subject_id=row[6], violation_code=row[7], occurred_at=self._dt(row[8]),
            received_at=self._dt(row[9]), device_stage=Stage(row[10]), chosen_stage=Stage(row[11]),
            hq_stage=Stage(row[12]), hq_ordinal=int(row[13]), stage_conflict=bool(row[14]),
            explain_zh=row[15], explain_en=row[16], photos_expected=int(row[17]),
            photos_stored=int(row[18]), latest=bool(row[19]), review=row[20], policy_version=int(row[21]),
        )  # fmt: skip

    def case_state(self, case_id: str) -> CaseState | None:
        row = self._one(_STATE_SELECT + " WHERE c.id = ?", (case_id,))
        return self._state(row) if row else None

    def latest_case_version(self, case_no: str) -> Case | None:
        row = self._one("SELECT payload FROM cases WHERE case_no = ? AND latest", (case_no,))
        return case_from_dict(loads(row[0])) if row else None

    def case_versions(self, case_no: str) -> list[Case]:
        rows = self._all("SELECT payload FROM cases WHERE case_no = ? ORDER BY version", (case_no,))
        return [case_from_dict(loads(r[0])) for r in rows]

    def lock_subjects(self, subject_ids: Iterable[str], *, record_ids: Iterable[str] = ()) -> None:
        self._writable()
        keys = {f"subject:{s}" for s in subject_ids} | {f"record:{r}" for r in record_ids}
        self.d.lock_keys(self.conn, sorted(keys))

    def subject_history(self, subject_id: str, *, before: datetime | None = None) -> list[HistoryEntry]:
        sql = (
            "SELECT id, case_no, violation_code, occurred_at, chosen_stage, status, version, review"
            " FROM cases WHERE subject_id = ? AND latest"
        )
        params: list[Any] = [subject_id]
        if before is not None:
            sql += " AND occurred_at < ?"
            params.append(self._ts(before))
        entries = []
        for row in self._all(sql + " ORDER BY occurred_at, case_no", params):
            status = CaseStatus(row[5])
            if row[7] == ReviewDecision.WITHDRAW.value:
                status = CaseStatus.WITHDRAWN
            entries.append(
                HistoryEntry(
                    case_id=row[0],
                    case_no=row[1],
                    violation_code=row[2],
                    occurred_at=self._dt(row[3]),
                    stage=Stage(row[4]),
                    status=status,
                    version=int(row[6]),
                )
            )
        return entries

    def list_cases(
        self,
        *,
        district: str | None = None,
        squad_code: str | None = None,
        officer_badge: str | None = None,
        subject_id: str | None = None,
        subject_ids: Collection[str] | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        latest_only: bool = True,
        conflicts_only: bool = False,
        limit: int = 500,
        received_since: datetime | None = None,
        received_until: datetime | None = None,
    ) -> list[CaseState]:
        sql, params = case_filters(
            self._ts,
            equal={"c.district": district, "c.squad_code": squad_code, "c.officer_badge": officer_badge,
                   "c.subject_id": subject_id},
            ranges={"c.occurred_at": (since, until), "c.received_at": (received_since, received_until)},
        )  # fmt: skip
        if subject_ids is not None:
            wanted = sorted(set(subject_ids))
            if len(wanted) > 500:
                raise ValueError("at most 500 subjects at once")
            if not wanted:
                return []
            where, more = self._in("c.subject_id", wanted)
            sql += f" AND {where}"
            params += more
        if latest_only:
            sql += " AND c.latest"
        if conflicts_only:
            sql += " AND c.stage_conflict"
        sql += " ORDER BY c.occurred_at DESC, c.case_no DESC, c.version DESC LIMIT ?"
        params.append(limit)
        return [self._state(r) for r in self._all(sql, params)]

    # -- photos
    def get_photo(self, sha256: str) -> PhotoRow | None:
        row = self._one(
            "SELECT sha256, size, stored, stored_at, uploaded_by FROM photos WHERE sha256 = ?", (sha256,)
        )
        if row is None:
            return None
        return PhotoRow(row[0], int(row[1]), bool(row[2]), self._dt_opt(row[3]), row[4])

    def mark_photo_stored(
        self, sha256: str, size: int, at: datetime, uploaded_by: str = "", device_id: str = ""
    ) -> list[str]:
        self._writable()
        # Two photos of one case stored at once (the phone uploads several together) must not each miss
        # the other (write skew under READ COMMITTED): the cases listing this photo are locked first, so
        # the later of the two sees the earlier one's photo and reports the case complete.
        owners = self._all("SELECT case_id FROM case_photos WHERE sha256 = ?", (sha256,))
        self.d.lock_keys(self.conn, sorted({f"case-photos:{r[0]}" for r in owners}))
        before = self.get_photo(sha256)
        if before is None or not before.stored:
            self._x(
                "INSERT INTO photos (sha256, size, stored, stored_at, uploaded_by) VALUES (?, ?, TRUE, ?, ?)"
                " ON CONFLICT (sha256) DO UPDATE SET size = excluded.size, stored = TRUE,"
                " stored_at = excluded.stored_at, uploaded_by = excluded.uploaded_by",
                (sha256, size, self._ts(at), uploaded_by),
            )
        if not uploaded_by:
            return []  # bytes of no one: they complete no case
        recorded = self._x(
            "INSERT INTO photo_uploads (sha256, badge, device_id, uploaded_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (sha256, badge) DO NOTHING",
            (sha256, uploaded_by, device_id, self._ts(at)),
        ).rowcount
        if recorded != 1:
            return []  # this officer's upload was recorded before
        rows = self._all(
            "SELECT cp.case_id FROM case_photos cp JOIN cases c ON c.id = cp.case_id"
            " WHERE cp.sha256 = ? AND c.officer_badge = ? AND NOT EXISTS ("
            " SELECT 1 FROM case_photos other WHERE other.case_id = cp.case_id AND NOT "
            + _HELD.format(cp="other", c="c")
            + ") ORDER BY cp.case_id",
            (sha256, uploaded_by),
        )
        return [r[0] for r in rows]

    def photo_uploaders(self, sha256: str) -> list[str]:
        rows = self._all("SELECT badge FROM photo_uploads WHERE sha256 = ? ORDER BY badge", (sha256,))
        return [r[0] for r in rows]

    def cases_with_photo(self, sha256: str) -> list[str]:
        rows = self._all("SELECT case_id FROM case_photos WHERE sha256 = ? ORDER BY case_id", (sha256,))
        return [r[0] for r in rows]

    def missing_photos(self, case_id: str) -> list[str]:
        rows = self._all(
            "SELECT cp.sha256 FROM case_photos cp JOIN cases c ON c.id = cp.case_id"
            " WHERE cp.case_id = ? AND NOT " + _HELD.format(cp="cp", c="c") + " ORDER BY cp.sha256",
            (case_id,),
        )
        return [r[0] for r in rows]

    def missing_photos_of(self, case_ids: Sequence[str]) -> dict[str, list[str]]:
        found: dict[str, list[str]] = {case_id: [] for case_id in case_ids}
        wanted = list(found)
        for n in range(0, len(wanted), 500):
            chunk = wanted[n : n + 500]
            where, params = self._in("cp.case_id", chunk)
            rows = self._all(
                "SELECT cp.case_id, cp.sha256 FROM case_photos cp JOIN cases c ON c.id = cp.case_id"
                f" WHERE {where} AND NOT " + _HELD.format(cp="cp", c="c") + " ORDER BY cp.case_id, cp.sha256",
                params,
            )
            for case_id, sha in rows:
                found[case_id].append(sha)
        return found

    # -- subjects
    def save_subject(self, subject: Subject, *, at: datetime, by_badge: str = "") -> None:
        self._writable()
        self._x(
            "INSERT INTO subjects (id, district, updated_at, by_badge, deleted_at, payload)"
            " VALUES (?, ?, ?, ?, NULL, ?) ON CONFLICT (id) DO UPDATE SET district = excluded.district,"
            " updated_at = excluded.updated_at, by_badge = excluded.by_badge, deleted_at = NULL,"
            " payload = excluded.payload",
            (subject.id, subject.district, self._ts(at), by_badge, dumps(to_json_dict(subject))),
        )
        self.emit(
            ChangeKind.SUBJECT, subject.id, to_json_dict(subject), ChangeScope(district=subject.district)
        )

    def get_subject(self, subject_id: str, *, include_deleted: bool = False) -> Subject | None:
        sql = "SELECT payload FROM subjects WHERE id = ?"
        if not include_deleted:
            sql += " AND deleted_at IS NULL"
        row = self._one(sql, (subject_id,))
        return subject_from_dict(loads(row[0])) if row else None

    def delete_subject(self, subject_id: str, at: datetime) -> bool:
        self._writable()
        row = self._one("SELECT district FROM subjects WHERE id = ? AND deleted_at IS NULL", (subject_id,))
        if row is None:
            return False
        self._x("UPDATE subjects SET deleted_at = ? WHERE id = ?", (self._ts(at), subject_id))
        self.emit(
            ChangeKind.TOMBSTONE,
            subject_id,
            {"kind": "subject", "id": subject_id},
            ChangeScope(district=row[0]),
        )
        return True

    def list_subjects(self, district: str, *, limit: int = 1000) -> list[Subject]:
        rows = self._all(
            "SELECT payload FROM subjects WHERE district = ? AND deleted_at IS NULL ORDER BY id LIMIT ?",
            (district, limit),
        )
        return [subject_from_dict(loads(r[0])) for r in rows]

    # -- shifts
    def save_shift(self, shift: Shift) -> None:
        self._writable()
        self._x(
            "INSERT INTO shifts (id, officer_badge, started_at, payload) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (id) DO UPDATE SET officer_badge = excluded.officer_badge,"
            " started_at = excluded.started_at, payload = excluded.payload",
            (shift.id, shift.officer_badge, self._ts(shift.started_at), dumps(to_json_dict(shift))),
        )

    def get_shift(self, shift_id: str) -> Shift | None:
        row = self._one("SELECT payload FROM shifts WHERE id = ?", (shift_id,))
        return from_json_dict(Shift, loads(row[0])) if row else None

    def list_shifts(self, badge: str, *, since: datetime | None = None) -> list[Shift]:
        sql = "SELECT payload FROM shifts WHERE officer_badge = ?"
        params: list[Any] = [badge]
        if since is not None:
            sql += " AND started_at >= ?"
            params.append(self._ts(since))
        return [from_json_dict(Shift, loads(r[0])) for r in self._all(sql + " ORDER BY started_at", params)]

    # -- reviews
    def save_review(self, review: Review, at: datetime) -> None:
        self._writable()
        self._x(
            "INSERT INTO reviews (id, case_id, decided_at, received_at, payload) VALUES (?, ?, ?, ?, ?)",
            (
                review.id,
                review.case_id,
                self._ts(review.decided_at),
                self._ts(at),
                dumps(to_json_dict(review)),
            ),
        )
        newest = self.reviews_for_case(review.case_id)
        decision = newest[-1].decision.value if newest else ""
        self._x("UPDATE cases SET review = ? WHERE id = ?", (decision, review.case_id))

    def get_review(self, review_id: str) -> Review | None:
        row = self._one("SELECT payload FROM reviews WHERE id = ?", (review_id,))
        return from_json_dict(Review, loads(row[0])) if row else None

    def reviews_for_case(self, case_id: str) -> list[Review]:
        rows = self._all("SELECT payload FROM reviews WHERE case_id = ? ORDER BY decided_at, id", (case_id,))
        return [from_json_dict(Review, loads(r[0])) for r in rows]

    # -- catalogue
    def set_catalogue(self, version: str, data: Mapping[str, Any], at: datetime) -> None:
        self._writable()
        self._x(
            "INSERT INTO catalogue (id, version, updated_at, data) VALUES (1, ?, ?, ?) ON CONFLICT (id)"
            " DO UPDATE SET version = excluded.version, updated_at = excluded.updated_at,"
            " data = excluded.data",
            (version, self._ts(at), dumps(dict(data))),
        )
        self.emit(ChangeKind.CATALOGUE, "catalogue", {"version": version}, ChangeScope.everyone())

    def get_catalogue(self) -> tuple[str, dict[str, Any]] | None:
        row = self._one("SELECT version, data FROM catalogue WHERE id = 1")
        return (row[0], loads(row[1])) if row else None
