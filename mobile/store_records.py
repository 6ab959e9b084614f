"""Records the officer or HQ writes into the phone store: officers, shifts, case numbers, cases (with their
photo rows, seized items and outbox entry), reviews, HQ's word on a case (sync state, stage and reason),
the history HQ sent for a subject, and a leader's pulled squad records (SQL in ``mobile.store_squad``).

Every write validates its arguments first (``enforcement.validation`` for cases and subjects) and then
runs in one ``StoreCore._write`` transaction: a case, its photo rows, its seized items and its outbox
entry commit together or not at all.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime

from enforcement.codec import case_from_dict, to_json_dict
from enforcement.model import (
    Case,
    CaseStatus,
    HistoryEntry,
    Officer,
    Review,
    ReviewDecision,
    Role,
    Shift,
    Stage,
    SyncState,
    local_date,
    new_id,
)
from enforcement.numbering import format_case_no
from enforcement.validation import validate_case
from mobile import store_squad
from mobile.store_core import need_aware, need_enum, need_text, refuse
from mobile.store_notices import mark_notice_used
from mobile.store_rows import (
    CASE_INSERT,
    CASE_PHOTO_INSERT,
    OUTBOX_INSERT,
    PHOTO_QUEUE_INSERT,
    SEIZED_ITEM_INSERT,
    case_child_rows,
    case_row,
    dumps,
    shift_of,
    utc_us,
)
from mobile.store_subjects import SubjectStore

# HQ's word on an own case (Store.set_sync_state): the reason stays when no stage came, or when the same
# stage came without a reason; otherwise it is the one that came ('' clears an old stage's reason).
SET_SYNC_STATE_SQL = (
    "UPDATE cases SET sync_state = :state,"
    " hq_reason_zh = CASE WHEN :stage IS NULL OR (:zh = '' AND :en = '' AND hq_stage IS :stage)"
    " THEN hq_reason_zh ELSE :zh END,"
    " hq_reason_en = CASE WHEN :stage IS NULL OR (:zh = '' AND :en = '' AND hq_stage IS :stage)"
    " THEN hq_reason_en ELSE :en END,"
    " hq_stage = coalesce(:stage, hq_stage) WHERE id = :id"
)


class RecordStore(SubjectStore):
    """The store's record writes and single-record reads (part of ``mobile.store.Store``); a case's
    subject is looked up through ``SubjectStore``."""

    # ----------------------------------------------------------------------------------- officers

    def save_officer(self, officer: Officer) -> None:
        """Insert or update the officer (from sign-in)."""
        need_text(officer.badge, "badge")
        need_text(officer.name, "name")
        need_text(officer.squad_code, "squad_code")
        role = need_enum(Role, officer.role, "role")
        with self._write():
            self._db.table("officers").upsert(
                {
                    "badge": officer.badge,
                    "name": officer.name,
                    "squad_code": officer.squad_code,
                    "squad_name": officer.squad_name,
                    "district": officer.district,
                    "role": role.value,
                },
                pk="badge",
            )

    def get_officer(self, badge: str) -> Officer | None:
        rows = self._rows("SELECT * FROM officers WHERE badge = ?", (badge,))
        if not rows:
            return None
        row = rows[0]
        return Officer(
            badge=row["badge"],
            name=row["name"],
            squad_code=row["squad_code"],
            squad_name=row["squad_name"],
            district=row["district"],
            role=Role(row["role"]),
        )

    # ------------------------------------------------------------------------------------- shifts

    def start_shift(self, badge: str, at: datetime, grid_cell: str = "") -> Shift:
        """Start a patrol shift; refused while the officer has one open. Goes to the outbox (kind "shift")."""
        need_text(badge, "officer_badge")
        need_aware(at, "started_at")
        shift = Shift(id=new_id(), officer_badge=badge, started_at=at, grid_cell=grid_cell)
        with self._write() as conn:
            if conn.execute(
                "SELECT 1 FROM shifts WHERE officer_badge = ? AND ended_at IS NULL", (badge,)
            ).fetchone():
                raise refuse(
                    "shift_open",
                    "officer_badge",
                    f"officer {badge} already has a shift open; end it first",
                    f"执法队员 {badge} 已有未结束的值班，请先结束",
                )
            conn.execute(
                "INSERT INTO shifts (id, officer_badge, started_at, started_utc, local_day, grid_cell)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (shift.id, badge, at.isoformat(), utc_us(at), local_date(at).isoformat(), grid_cell),
            )
            self._outbox_add(conn, "shift", shift.id, shift)
        return shift

    def end_shift(
        self,
        shift_id: str,
        at: datetime,
        *,
        device_ended_at: datetime | None = None,
        clock_offset_s: int | None = None,
    ) -> Shift:
        """End an open shift (not before it started). The ended record goes to the outbox again, with
        the device clock's reading and offset when the phone's clock was wrong (``mobile.state.today``;
        they travel in the record to HQ, the phone's shifts table does not keep them)."""
        need_aware(at, "ended_at")
        with self._write() as conn:
            row = conn.execute("SELECT * FROM shifts WHERE id = ?", (shift_id,)).fetchone()
            if row is None:
                raise refuse("unknown_shift", "shift_id", f"no shift {shift_id}", "找不到该值班记录")
            shift = shift_of(row)
            if shift.ended_at is not None:
                raise refuse("shift_ended", "shift_id", "this shift has already ended", "该值班已经结束")
            if at < shift.started_at:
                raise refuse(
                    "shift_end_before_start",
                    "ended_at",
                    "a shift cannot end before it started",
                    "结束时间早于开始时间",
                )
            shift = Shift(
                shift.id,
                shift.officer_badge,
                shift.started_at,
                at,
                shift.grid_cell,
                device_ended_at=device_ended_at,
                clock_offset_s=clock_offset_s,
            )
            conn.execute("UPDATE shifts SET ended_at = ? WHERE id = ?", (at.isoformat(), shift_id))
            self._outbox_add(conn, "shift", shift.id, shift)
        return shift

    def open_shift(self, badge: str) -> Shift | None:
        rows = self._rows("SELECT * FROM shifts WHERE officer_badge = ? AND ended_at IS NULL", (badge,))
        return shift_of(rows[0]) if rows else None

    def shifts_on(self, badge: str, day: date) -> list[Shift]:
        """The officer's shifts started on ``day`` (bureau-local), earliest first."""
        rows = self._rows(
            "SELECT * FROM shifts WHERE officer_badge = ? AND local_day = ? ORDER BY started_utc",
            (badge, day.isoformat()),
        )
        return [shift_of(row) for row in rows]

    # ---------------------------------------------------------------------------------- numbering

    def reserve_case_no(self, squad_code: str, badge: str, day: date) -> str:
        """The next case number of this install, committed durably before it is returned: a number is
        never handed out twice, even if the case it was meant for is never saved."""
        with self._write() as conn:
            conn.execute(
                "INSERT INTO counters (name, value) VALUES ('case_no', 1)"
                " ON CONFLICT (name) DO UPDATE SET value = value + 1"
            )
            seq = int(conn.execute("SELECT value FROM counters WHERE name = 'case_no'").fetchone()[0])
            return format_case_no(squad_code, badge, day, self._install_tag, seq)

    # -------------------------------------------------------------------------------------- cases

    def save_case(self, case: Case) -> None:
        """Validate, then write the case, its photo rows, seized items and outbox entry in ONE transaction.

        An amendment is a new version (``supersedes`` = the current version's id, ``version`` + 1, same
        ``case_no``). Saving the identical record twice is a no-op; a different record under a used id or
        case number is refused.
        """
        subject = self.get_subject(case.subject_id) if case.subject_id else None
        validate_case(case, self.catalogue, subject=subject)  # checks the subject's kind when it is known
        record = dumps(to_json_dict(case))
        with self._write() as conn:
            existing = conn.execute("SELECT record FROM cases WHERE id = ?", (case.id,)).fetchone()
            if existing is not None:
                if existing[0] == record:
                    return
                raise refuse(
                    "case_exists",
                    "id",
                    "a different case was already saved under this id",
                    "该案件编号已保存过其他内容",
                )
            self._check_version(conn, case)
            conn.execute(CASE_INSERT, case_row(case, record, datetime.now(UTC).isoformat()))
            photos, queue, seized = case_child_rows(case)
            conn.executemany(CASE_PHOTO_INSERT, photos)
            conn.executemany(PHOTO_QUEUE_INSERT, queue)
            conn.executemany(SEIZED_ITEM_INSERT, seized)
            mark_notice_used(conn, case)  # the notice number is used, even before HQ hears of the case
            conn.execute(
                OUTBOX_INSERT,
                ("case", case.id, record, len(record.encode("utf-8")), datetime.now(UTC).isoformat()),
            )

    @staticmethod
    def _check_version(conn: sqlite3.Connection, case: Case) -> None:
        """A first version needs an unused case number; an amendment must follow the current version."""
        if case.supersedes is None:  # validate_case already tied version 1 to no supersedes
            if conn.execute("SELECT 1 FROM cases WHERE case_no = ?", (case.case_no,)).fetchone():
                raise refuse(
                    "case_no_used",
                    "case_no",
                    f"case number {case.case_no} is already used",
                    f"案件编号 {case.case_no} 已被使用",
                )
            return
        old = conn.execute(
            "SELECT case_no, version, is_current FROM cases WHERE id = ?", (case.supersedes,)
        ).fetchone()
        if old is None:
            raise refuse(
                "supersedes_unknown",
                "supersedes",
                "the case being amended is not on this phone",
                "找不到被修改的案件",
            )
        if old["case_no"] != case.case_no:
            raise refuse(
                "amend_case_no",
                "case_no",
                "an amendment keeps the case number",
                "修改后的案件须沿用原案件编号",
            )
        if not old["is_current"]:
            raise refuse(
                "already_amended",
                "supersedes",
                "that version was already amended",
                "该版本已被修改过，请修改最新版本",
            )
        if case.version != old["version"] + 1:
            raise refuse(
                "amend_version",
                "version",
                f"an amendment of version {old['version']} must be version {old['version'] + 1}",
                f"修改第 {old['version']} 版后应为第 {old['version'] + 1} 版",
            )
        conn.execute("UPDATE cases SET is_current = 0 WHERE id = ?", (case.supersedes,))

    def get_case(self, case_id: str) -> Case | None:
        rows = self._rows("SELECT record FROM cases WHERE id = ?", (case_id,))
        return case_from_dict(json.loads(rows[0][0])) if rows else None

    def case_versions(self, case_no: str) -> list[Case]:
        """Every stored version of a case, oldest first."""
        rows = self._rows("SELECT record FROM cases WHERE case_no = ? ORDER BY version", (case_no,))
        return [case_from_dict(json.loads(row[0])) for row in rows]

    def add_remote_history(self, subject_id: str, entries: Iterable[HistoryEntry]) -> None:
        """Store the subject's history pulled from HQ (replacing what was pulled before per case id)."""
        need_text(subject_id, "subject_id")
        rows = []
        for entry in entries:
            need_aware(entry.occurred_at, "occurred_at")
            rows.append(
                {
                    "subject_id": subject_id,
                    "case_id": entry.case_id,
                    "case_no": entry.case_no,
                    "violation_code": entry.violation_code,
                    "occurred_at": entry.occurred_at.isoformat(),
                    "occurred_utc": utc_us(entry.occurred_at),
                    "stage": int(need_enum(Stage, entry.stage, "stage")),
                    "status": str(need_enum(CaseStatus, entry.status, "status")),
                    "version": entry.version,
                }
            )
        with self._write():
            self._db.table("remote_history").insert_all(rows, replace=True)

    # ------------------------------------------------------------------------------------ reviews

    def _put_review(self, conn: sqlite3.Connection, review: Review, origin: str) -> bool:
        cursor = conn.execute(
            "INSERT INTO reviews (id, case_id, case_no, decision, reviewer_badge, decided_at, decided_utc,"
            " comment, origin) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
            (
                review.id,
                review.case_id,
                review.case_no,
                str(review.decision),
                review.reviewer_badge,
                review.decided_at.isoformat(),
                utc_us(review.decided_at),
                review.comment,
                origin,
            ),
        )
        if review.decision == ReviewDecision.RETURN:
            conn.execute(
                "UPDATE cases SET sync_state = ? WHERE id = ?", (SyncState.RETURNED.value, review.case_id)
            )
        return cursor.rowcount == 1

    @staticmethod
    def _check_review(review: Review) -> None:
        need_text(review.id, "id")
        need_text(review.case_id, "case_id")
        need_text(review.reviewer_badge, "reviewer_badge")
        need_aware(review.decided_at, "decided_at")
        need_enum(ReviewDecision, review.decision, "decision")

    def apply_review(self, review: Review) -> None:
        """A review pulled from HQ (idempotent by id); a RETURN marks the case RETURNED."""
        self._check_review(review)
        with self._write() as conn:
            self._put_review(conn, review, "remote")

    def save_review(self, review: Review) -> None:
        """A squad leader's review made on this phone; queued for HQ (kind "review"). Returning or
        withdrawing a case needs a comment."""
        self._check_review(review)
        if review.decision != ReviewDecision.APPROVE and not review.comment.strip():
            raise refuse(
                "review_comment",
                "comment",
                "returning or withdrawing a case needs a comment",
                "退回或撤销案件须填写意见",
            )
        with self._write() as conn:
            if not self._put_review(conn, review, "local"):
                raise refuse("review_exists", "id", "this review was already saved", "该审核意见已保存")
            self._outbox_add(conn, "review", review.id, review)

    def set_sync_state(
        self,
        case_id: str,
        state: SyncState,
        hq_stage: Stage | None = None,
        *,
        hq_reason_zh: str = "",
        hq_reason_en: str = "",
        received_at: datetime | None = None,
    ) -> None:
        """Record what HQ said of a case; ``hq_stage`` None keeps the stage already recorded.
        ``received_at`` (when HQ received it) places the case on the day of its best-known time
        (``store_squad.place_own_case``): a case a wrong clock dated 2099 moves to the day HQ received it.

        ``hq_reason_zh`` / ``hq_reason_en``: HQ's reason for its stage (``case_state``), kept with the stage.
        Without a stage both stay as they are; a stage with a reason brings that reason; a stage without a
        reason keeps the stored reason only when it is the stored stage (a push answer, which has no
        reason, must not erase the reason pulled for the same stage) and clears it otherwise (an old
        reason never stands beside another stage)."""
        state = need_enum(SyncState, state, "state")
        stage = int(need_enum(Stage, hq_stage, "hq_stage")) if hq_stage is not None else None
        zh, en = (hq_reason_zh.strip(), hq_reason_en.strip()) if stage is not None else ("", "")
        if received_at is not None:
            need_aware(received_at, "received_at")
        with self._write() as conn:
            cursor = conn.execute(
                SET_SYNC_STATE_SQL, {"state": state.value, "stage": stage, "zh": zh, "en": en, "id": case_id}
            )
            if cursor.rowcount == 0:
                raise refuse("unknown_case", "case_id", f"no case {case_id} on this phone", "本机没有该案件")
            if received_at is not None:
                store_squad.place_own_case(conn, case_id, received_at)

    # ------------------------------------------------------------------------------- squad feed
    # A leader's pulled squad records; the SQL lives in mobile.store_squad.

    def apply_squad_case(
        self,
        case: Case,
        *,
        hq_stage: Stage | None,
        reviews: Sequence[Review] = (),
        officer_name: str = "",
        subject_label: str = "",
        missing_photos: int = 0,
        hq_reason_zh: str = "",
        hq_reason_en: str = "",
        received_at: datetime | None = None,
        device_first_seen: datetime | None = None,
    ) -> None:
        """A squad case version pulled from HQ (``squad_case``), with HQ's stage and the version's reviews;
        idempotent by case id and review id. Not queued back to HQ. ``hq_reason_zh`` / ``hq_reason_en``:
        HQ's reason for its stage (which earlier cases it counted), kept with the stage: when ``hq_stage``
        is None the stage and reason already stored stay. ``received_at``: when HQ received the version
        (the leader's day log places a case a wrong clock dated by it). ``device_first_seen``: the first
        sign-in at HQ of the version's device (the leader's queue flags a case timed before it, as HQ's
        does); None keeps what is stored (an older HQ's entry)."""
        need_text(case.id, "id")
        need_text(case.case_no, "case_no")
        need_text(case.squad_code, "squad_code")
        need_text(case.officer_badge, "officer_badge")
        need_aware(case.occurred_at, "occurred_at")
        if received_at is not None:
            need_aware(received_at, "received_at")
        if device_first_seen is not None:
            need_aware(device_first_seen, "device_first_seen")
        stage = need_enum(Stage, hq_stage, "hq_stage") if hq_stage is not None else None
        for review in reviews:
            self._check_review(review)
            if review.case_id != case.id:
                raise refuse(
                    "review_other_case",
                    "reviews",
                    f"a review of case {review.case_id} came with case {case.id}",
                    "审核意见与所附案件不符",
                )
        record = dumps(to_json_dict(case))
        with self._write() as conn:
            store_squad.put_squad_case(
                conn,
                case,
                record,
                hq_stage=stage,
                reviews=reviews,
                officer_name=officer_name,
                subject_label=subject_label,
                missing_photos=missing_photos,
                hq_reason_zh=hq_reason_zh.strip(),
                hq_reason_en=hq_reason_en.strip(),
                hq_received_at=received_at,
                device_first_seen=device_first_seen,
            )

    def apply_squad_shift(self, shift: Shift, *, officer_name: str = "", squad_code: str = "") -> None:
        """A squad member's shift pulled from HQ (``squad_shift``); idempotent by id, an end once known
        is kept. ``squad_code`` is the shift's squad as HQ sent it; when empty, the squad this phone knows
        the officer in."""
        need_text(shift.id, "id")
        need_text(shift.officer_badge, "officer_badge")
        need_aware(shift.started_at, "started_at")
        if shift.ended_at is not None:
            need_aware(shift.ended_at, "ended_at")
        with self._write() as conn:
            squad = squad_code or store_squad.squad_of_officer(conn, shift.officer_badge)
            store_squad.put_squad_shift(conn, shift, squad_code=squad, officer_name=officer_name)
