"""Squad leaders' review at HQ and the day-log download (issue #6), as an ``APIRouter``.

    GET  /v1/review/queue?day=&squad=&limit=&cursor= → ReviewQueue   (leader: own squad; HQ: any squad;
                                                       pages of ``limit``, default 100, + next_cursor)
    POST /v1/review/{case_id}                        ReviewRequest → ReviewOutcome (leader: own squad; HQ)
    GET  /v1/reports/daylog?day=&squad=&format=pdf|csv   the day log file (leader: own squad; HQ)

Officers get 403 ``FORBIDDEN`` on all three. A review made here goes through ``hq.ingest.push.ingest_batch``
as a pushed ``review`` record of the caller (``device_seq`` 0, so the phone's sequence numbers of that
device are untouched): the same checks, the same exactly-once receipt (send the same ``review_id`` again
and it is a duplicate), the same publication to the officer's phone (a returned case reaches it on the
next pull) and the same audit event (who, when, why). The queue and the "counts as approved" rule are
``patrollog.reviewing``'s, the same the phone uses offline.
"""

from datetime import date
from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field

from enforcement.catalogue import Catalogue
from enforcement.codec import to_json_dict
from enforcement.limits import TEXT_LIMITS
from enforcement.model import LOCAL_TZ, Review, ReviewDecision, Role, new_id
from hq import paging
from hq.api.errors import ApiError
from hq.auth import Principal
from hq.daydata import load_daylog, state_time_flag
from hq.ingest.push import ingest_batch
from hq.reviewqueue import QueueItem, ReviewQueue, queue_of, read_queue
from hq.settings import Settings
from hq.storage.base import Storage, Tx
from patrollog.csvlog import CSV_BOM, daylog_csv
from patrollog.daylog import DayLog
from patrollog.pdf import daylog_pdf
from patrollog.reviewing import ReviewStatus, review_status
from sync.protocol import Errno, ErrorBody, PushRecord, RecordId

__all__ = ["QueueItem", "ReviewQueue", "build_router", "queue_of", "read_queue"]

_ERRORS: dict[int | str, dict[str, Any]] = {s: {"model": ErrorBody} for s in (401, 403, 404, 409, 422, 503)}


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore")


class ReviewRequest(_Model):
    decision: ReviewDecision
    comment: str = Field(default="", max_length=TEXT_LIMITS["comment"])
    review_id: RecordId | None = None  # resend = same review


class ReviewOutcome(_Model):
    review: dict[str, Any]  # codec JSON of the stored Review
    record_status: Literal["accepted", "duplicate"]
    status: ReviewStatus
    status_zh: str
    counts_as_approved: bool


#: The days a day log or queue may be asked for (outside: a 422 naming ``day``).
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2099, 12, 31)


def check_day(day: date) -> date:
    if not FIRST_DAY <= day <= LAST_DAY:
        raise ApiError(
            Errno.VALIDATION,
            zh=f"日期须在 {FIRST_DAY} 至 {LAST_DAY} 之间",
            en=f"The day must be between {FIRST_DAY} and {LAST_DAY}",
            field="day",
            detail={"field": "day"},
        )
    return day


def known_text(value: str) -> bool:
    """Whether a path value can name a stored record at all (valid UTF-8 text, not too long)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return 0 < len(value) <= 64


def squad_scope(caller: Principal, squad: str | None) -> str:
    """The squad a leader or HQ may see: a leader only their own (the default), HQ any (required)."""
    if caller.role is Role.LEADER:
        if squad not in (None, "", caller.officer.squad_code):
            raise ApiError(Errno.FORBIDDEN, zh="只能查看本中队", en="You may see your own squad only")
        return caller.officer.squad_code
    if caller.is_hq:
        if not squad:
            raise ApiError(Errno.VALIDATION, zh="请指定中队", en="Give the squad", field="squad")
        return squad
    raise ApiError(Errno.FORBIDDEN, zh="只有中队长和指挥中心可以审核", en="Only leaders and HQ may review")


async def daylog_response(
    log: DayLog, format: Literal["pdf", "csv"], audit_head: tuple[int, str] | None = None
) -> Response:
    """The day log as a downloadable file (CSV with a BOM for spreadsheet programs, or PDF; the PDF prints
    ``audit_head`` when given, see ``patrollog.pdf``)."""
    stem = f"{log.squad_code}-{log.day.isoformat()}"
    disposition = (
        f'attachment; filename="daylog-{stem}.{format}"; '
        f"filename*=UTF-8''{quote(f'巡查日志-{stem}.{format}')}"
    )
    if format == "csv":
        body = (CSV_BOM + daylog_csv(log)).encode("utf-8")
        return Response(
            body, media_type="text/csv; charset=utf-8", headers={"Content-Disposition": disposition}
        )
    pdf = await run_in_threadpool(lambda: daylog_pdf(log, audit_head=audit_head))
    return Response(pdf, media_type="application/pdf", headers={"Content-Disposition": disposition})


def build_router(storage: Storage, settings: Settings, catalogue: Catalogue, principal: Any) -> APIRouter:
    """The review and report routes; ``principal`` is the app's bearer-token dependency."""
    router = APIRouter()
    Caller = Annotated[Principal, Depends(principal)]
    Day = Annotated[date | None, Query(description="bureau-local day, YYYY-MM-DD (default today)")]
    SquadQ = Annotated[str | None, Query(max_length=32, description="squad code (HQ: required)")]

    def today() -> date:
        return settings.clock().astimezone(LOCAL_TZ).date()

    def known_squad(tx: Tx, squad_code: str) -> None:
        if not known_text(squad_code) or tx.get_squad(squad_code) is None:
            raise ApiError(Errno.NOT_FOUND, zh=f"中队“{squad_code}”不存在", en=f"No squad {squad_code}")

    def read_log(squad_code: str, day: date) -> DayLog:
        with storage.transaction(readonly=True) as tx:
            known_squad(tx, squad_code)
            return load_daylog(tx, squad_code, day, catalogue)

    @router.get("/v1/review/queue", response_model=ReviewQueue, responses=_ERRORS, tags=["review"])
    def review_queue(
        caller: Caller,
        day: Day = None,
        squad: SquadQ = None,
        limit: Annotated[int, Query(ge=1, le=paging.MAX_PAGE)] = paging.DEFAULT_PAGE,
        cursor: Annotated[
            str | None, Query(max_length=1000, description="next_cursor of the page before")
        ] = None,
    ) -> ReviewQueue:
        squad_code, on = squad_scope(caller, squad), check_day(day or today())
        with storage.transaction(readonly=True) as tx:
            known_squad(tx, squad_code)
            return read_queue(tx, squad_code, on, catalogue, cursor=cursor, limit=limit)

    @router.post("/v1/review/{case_id}", response_model=ReviewOutcome, responses=_ERRORS, tags=["review"])
    def decide(case_id: str, body: ReviewRequest, caller: Caller) -> ReviewOutcome:
        if caller.role not in (Role.LEADER, Role.HQ):
            raise ApiError(
                Errno.FORBIDDEN, zh="只有中队长和指挥中心可以审核", en="Only leaders and HQ may review"
            )
        if body.decision is not ReviewDecision.APPROVE and not body.comment.strip():
            raise ApiError(
                Errno.VALIDATION,
                zh="退回或撤销案件须填写理由",
                en="Returning or withdrawing a case needs a comment",
                field="comment",
                detail={"field": "comment"},
            )
        state = None
        if known_text(case_id):
            with storage.transaction(readonly=True) as tx:
                state = tx.case_state(case_id)
        if state is None:
            raise ApiError(Errno.NOT_FOUND, zh="案件不存在", en="Unknown case")
        if caller.role is Role.LEADER and state.squad_code != caller.officer.squad_code:
            raise ApiError(
                Errno.FORBIDDEN, zh="只能审核本中队的案件", en="You may review your own squad's cases only"
            )
        if not state.latest:
            raise ApiError(
                Errno.VERSION_CONFLICT,
                zh="该案件已有更新的版本，请审核最新版本",
                en="A newer version of this case exists; review the latest one",
            )
        now = settings.clock()
        review = Review(
            id=body.review_id or new_id(),
            case_id=state.case_id,
            case_no=state.case_no,
            decision=body.decision,
            reviewer_badge=caller.badge,
            decided_at=now,
            comment=body.comment.strip(),
        )
        if body.review_id:
            with storage.transaction(readonly=True) as tx:
                earlier = tx.get_review(body.review_id)
            if earlier is not None and (earlier.case_id, earlier.decision, earlier.comment) == (
                review.case_id, review.decision, review.comment,
            ):  # fmt: skip
                review = earlier  # a resend: the same record, answered as a duplicate
        record = PushRecord(kind="review", id=review.id, device_seq=0, payload=to_json_dict(review))
        [result] = ingest_batch(
            storage, caller.officer, caller.device_id, [record], catalogue=catalogue, now=now
        )
        if not result.acked:
            raise ApiError(
                Errno(result.errno or Errno.RECORD_INVALID), zh=result.reason_zh, en=result.reason_en
            )
        with storage.transaction(readonly=True) as tx:
            case = tx.get_case(state.case_id)
            reviews = tx.reviews_for_case(state.case_id)
            current = tx.case_state(state.case_id)
            flag = state_time_flag(tx, current) if current else ""
        assert case is not None
        status = review_status(
            case,
            reviews,
            hq_stage=current.hq_stage if current else None,
            time_flag=flag,
        )
        return ReviewOutcome(
            review=to_json_dict(review),
            record_status="duplicate" if result.status == "duplicate" else "accepted",
            status=status,
            status_zh=status.label("zh"),
            counts_as_approved=status.counts_as_approved,
        )

    @router.get(
        "/v1/reports/daylog",
        responses={**_ERRORS, 200: {"content": {"application/pdf": {}, "text/csv": {}}}},
        response_class=Response,
        tags=["reports"],
    )
    async def daylog_file(
        caller: Caller,
        day: Day = None,
        squad: SquadQ = None,
        format: Annotated[Literal["pdf", "csv"], Query()] = "pdf",
    ) -> Response:
        squad_code = squad_scope(caller, squad)
        log = await run_in_threadpool(read_log, squad_code, check_day(day or today()))
        return await daylog_response(log, format)

    return router
