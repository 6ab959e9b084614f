"""The squad leader's review queue (``GET /v1/review/queue``): its answer's shape, and two ways to read it.

``read_queue`` is what the route serves: a keyset page of the squad-day's cases still waiting for a
decision, read by ``Tx.queue_rows`` in the queue's order (a decision needed first, then time, then case
id; ``hq.storage.sql_queue``), with the day's review counts and summary line from one more read of the
day's latest versions: no day log is assembled, and the page's cost does not grow with history.
``queue_of`` gives the same answer from a whole ``DayLog`` (the reference the tests hold ``read_queue`` to).
Both use ``patrollog.reviewing``'s rules, the same the phone uses offline.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict

from enforcement.catalogue import Catalogue
from enforcement.labels import subject_label
from enforcement.model import (
    LOCAL_TZ,
    Case,
    CaseStatus,
    Disposition,
    Location,
    ReviewDecision,
    SeizedItem,
    Stage,
)
from enforcement.report import patrol_figures
from enforcement.staging import StagePolicy
from hq import paging
from hq.storage.base import QueueKey, QueueRow, Tx
from patrollog.daylog import CaseLine, DayLog, day_bounds
from patrollog.reviewing import DEVICE_SLACK, FUTURE_SLACK, ReviewStatus, flag_label, time_flag


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore")


class QueueItem(_Model):
    case_id: str
    case_no: str
    version: int
    officer_badge: str
    officer_name: str
    occurred_at: datetime
    violation_code: str
    violation_name: str
    stage: Stage
    hq_stage: Stage | None
    stage_conflict: bool
    subject: str
    address: str
    fine_yuan: int | None
    seized: str
    status: ReviewStatus
    status_zh: str
    needs_decision: bool  # 处罚, a stage conflict or a time flag: counts as approved only after a decision
    last_comment: str = ""
    time_flag: str = ""  # patrollog.reviewing.TimeFlag value: HQ found the case's time implausible
    time_flag_zh: str = ""
    time_flag_en: str = ""
    notice_flag: str = ""  # patrollog.reviewing.NoticeFlag value: the warning-notice number (hq.notices)
    notice_flag_zh: str = ""
    notice_flag_en: str = ""


class ReviewQueue(_Model):
    day: date
    squad_code: str
    squad_name: str
    items: list[QueueItem]  # waiting for the leader: decisions needed first, then by time
    counts: dict[str, int]  # ReviewStatus value -> cases of the day
    summary_zh: str
    next_cursor: str | None = None  # the next page's ``cursor`` (None: this is the last page)


def _item(line: CaseLine) -> QueueItem:
    conflict = line.hq_stage is not None and line.hq_stage != line.stage
    return QueueItem(
        case_id=line.case_id,
        case_no=line.case_no,
        version=line.version,
        officer_badge=line.officer_badge,
        officer_name=line.officer_name,
        occurred_at=line.occurred_at,
        violation_code=line.violation_code,
        violation_name=line.violation_name,
        stage=line.stage,
        hq_stage=line.hq_stage,
        stage_conflict=conflict,
        subject=line.subject,
        address=line.location.address,
        fine_yuan=line.fine_yuan,
        seized=line.seized_text,
        status=line.review,
        status_zh=line.review.label("zh"),
        needs_decision=line.review is ReviewStatus.NEEDS_DECISION,
        last_comment=line.review_comment,
        time_flag=line.time_flag,
        time_flag_zh=flag_label(line.time_flag, "zh"),
        time_flag_en=flag_label(line.time_flag, "en"),
        notice_flag=line.notice_flag,
        notice_flag_zh=flag_label(line.notice_flag, "zh"),
        notice_flag_en=flag_label(line.notice_flag, "en"),
    )


def _queue_key(line: CaseLine) -> tuple[int, str, str]:
    return (int(line.review is not ReviewStatus.NEEDS_DECISION), line.occurred_at.isoformat(), line.case_id)


def queue_of(log: DayLog, *, cursor: str | None = None, limit: int | None = None) -> ReviewQueue:
    """The leader's queue of a day log: the cases still waiting for a decision (a page of ``limit`` after
    ``cursor`` when given: keyset on (decision needed first, time, case id), ``hq.paging``)."""
    waiting = [line for line in log.lines if line.review.waiting]
    waiting.sort(key=_queue_key)
    scope = [log.squad_code, log.day.isoformat()]
    after = paging.decode("queue", scope, cursor)
    if after is not None:
        if len(after) != 3 or not all(isinstance(v, t) for v, t in zip(after, (int, str, str), strict=True)):
            raise paging.bad_cursor()
        waiting = [line for line in waiting if _queue_key(line) > tuple(after)]
    more = None
    if limit is not None and len(waiting) > limit:
        waiting = waiting[:limit]
        more = paging.encode("queue", scope, list(_queue_key(waiting[-1])))
    return ReviewQueue(
        day=log.day,
        squad_code=log.squad_code,
        squad_name=log.squad_name,
        items=[_item(line) for line in waiting],
        counts={status.value: n for status, n in log.review_counts.items()},
        summary_zh=log.summary_line,
        next_cursor=more,
    )


def _decode(cursor: str | None, scope: list[Any]) -> QueueKey | None:
    after = paging.decode("queue", scope, cursor)
    if after is None:
        return None
    if len(after) != 3 or not all(isinstance(v, t) for v, t in zip(after, (int, str, str), strict=True)):
        raise paging.bad_cursor()
    try:
        moment = datetime.fromisoformat(after[1])
    except ValueError as exc:
        raise paging.bad_cursor() from exc
    if moment.tzinfo is None:
        raise paging.bad_cursor()
    return (after[0], moment, after[2])


_DECIDED = {
    ReviewDecision.APPROVE.value: ReviewStatus.APPROVED,
    ReviewDecision.RETURN.value: ReviewStatus.RETURNED,
    ReviewDecision.WITHDRAW.value: ReviewStatus.WITHDRAWN,
}


def _status(row: QueueRow) -> ReviewStatus:
    """``patrollog.reviewing.review_status`` of a row (its newest review is the stored ``review``)."""
    if row.status == CaseStatus.VOIDED.value:
        return ReviewStatus.VOIDED
    if row.review in _DECIDED:
        return _DECIDED[row.review]
    if row.status == CaseStatus.WITHDRAWN.value:
        return ReviewStatus.WITHDRAWN
    return ReviewStatus.NEEDS_DECISION if row.needs_decision else ReviewStatus.COUNTED


def _stored_case(row: QueueRow) -> Case:
    """The fields of a case version the queue's items and the day's figures (``patrol_figures``) read,
    taken from the stored JSON that HQ validated when it accepted the case: no second validation of each
    of the day's cases on every page (the pydantic decode was most of a page's time at 3.5M cases). Not a
    whole case: photos, notes and the other fields nothing here reads are left at their defaults."""
    p = row.payload
    where = p.get("location") or {}
    return Case(
        id=row.case_id,
        case_no=row.case_no,
        officer_badge=str(p["officer_badge"]),
        squad_code=str(p["squad_code"]),
        device_id=str(p.get("device_id", "")),
        violation_code=str(p["violation_code"]),
        occurred_at=row.occurred_at,
        location=Location(
            lat=where.get("lat"),
            lon=where.get("lon"),
            accuracy_m=where.get("accuracy_m"),
            address=str(where.get("address", "")),
            grid_cell=where.get("grid_cell"),
            no_fix_reason=str(where.get("no_fix_reason", "")),
        ),
        subject_id=p.get("subject_id"),
        computed_stage=Stage(p["computed_stage"]),
        chosen_stage=Stage(p["chosen_stage"]),
        disposition=Disposition(p["disposition"]),
        fine_yuan=int(p["fine_yuan"]) if p.get("fine_yuan") is not None else None,
        seized_items=tuple(
            SeizedItem(str(i["kind"]), int(i["quantity"]), str(i.get("note", "")))
            for i in p.get("seized_items") or ()
        ),
        version=row.version,
        status=CaseStatus(p.get("status", CaseStatus.ACTIVE.value)),
    )


def _queued_item(
    row: QueueRow, case: Case, catalogue: Catalogue, names: dict[str, str], labels: dict[str, str]
) -> QueueItem:
    """What ``_item`` makes of the day log's line of this case (a waiting case: no review of it yet)."""
    flag = time_flag(
        row.occurred_at,
        row.received_at,
        window_days=StagePolicy().window_days,
        device_first_seen=row.device_first_seen,
    )
    status = _status(row)
    stage = Stage(case.chosen_stage)
    return QueueItem(
        case_id=case.id,
        case_no=case.case_no,
        version=case.version,
        officer_badge=case.officer_badge,
        officer_name=names.get(case.officer_badge, ""),
        occurred_at=case.occurred_at.astimezone(LOCAL_TZ),
        violation_code=case.violation_code,
        violation_name=catalogue.label(case.violation_code),
        stage=stage,
        hq_stage=row.hq_stage,
        stage_conflict=row.hq_stage != stage,
        subject=labels.get(case.subject_id or "", ""),
        address=case.location.address,
        fine_yuan=case.fine_yuan,
        seized="、".join(f"{item.kind}×{item.quantity}" for item in case.seized_items),
        status=status,
        status_zh=status.label("zh"),
        needs_decision=status is ReviewStatus.NEEDS_DECISION,
        last_comment="",  # a waiting case has no review of this version
        time_flag=flag.value if flag else "",
        time_flag_zh=flag_label(flag.value, "zh") if flag else "",
        time_flag_en=flag_label(flag.value, "en") if flag else "",
        notice_flag=row.notice_flag,
        notice_flag_zh=flag_label(row.notice_flag, "zh"),
        notice_flag_en=flag_label(row.notice_flag, "en"),
    )


def read_queue(
    tx: Tx,
    squad_code: str,
    day: date,
    catalogue: Catalogue,
    *,
    cursor: str | None = None,
    limit: int = paging.DEFAULT_PAGE,
) -> ReviewQueue:
    """A page of ``limit`` of the squad's queue on the bureau-local ``day`` after ``cursor`` (the answer
    ``queue_of`` gives from the day's whole log; see the module doc)."""
    scope = [squad_code, day.isoformat()]
    after = _decode(cursor, scope)
    start, end = day_bounds(day)
    window = timedelta(days=StagePolicy().window_days)

    def read(waiting_only: bool, after: QueueKey | None = None, limit: int | None = None) -> list[QueueRow]:
        return tx.queue_rows(
            squad_code, start, end, future_slack=FUTURE_SLACK, window=window, device_slack=DEVICE_SLACK,
            waiting_only=waiting_only, after=after, limit=limit,
        )  # fmt: skip

    rows = read(True, after, limit + 1)
    more = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        key = [int(not last.needs_decision), last.occurred_at.astimezone(LOCAL_TZ).isoformat(), last.case_id]
        more = paging.encode("queue", scope, key)
    # the day's review counts and summary line: its latest versions, one read (no versions, no reviews)
    day_rows = read(False)
    counts = Counter(_status(row) for row in day_rows)
    figures = patrol_figures([_stored_case(row) for row in day_rows], catalogue)
    cases = [_stored_case(row) for row in rows]
    names: dict[str, str] = {}
    for badge in sorted({case.officer_badge for case in cases}):
        user = tx.get_user(badge)
        names[badge] = user.officer.name if user else ""
    labels: dict[str, str] = {}
    for subject_id in sorted({case.subject_id for case in cases if case.subject_id}):
        subject = tx.get_subject(subject_id, include_deleted=True)
        if subject is not None:
            labels[subject_id] = subject_label(subject)
    squad = tx.get_squad(squad_code)
    return ReviewQueue(
        day=day,
        squad_code=squad_code,
        squad_name=squad.name if squad else "",
        items=[
            _queued_item(row, case, catalogue, names, labels) for row, case in zip(rows, cases, strict=True)
        ],
        counts={status.value: n for status, n in counts.items()},
        summary_zh=figures.summary_line("zh"),
        next_cursor=more,
    )
