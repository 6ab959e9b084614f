"""Server info and scoped reads, as an ``APIRouter`` (tags ``service`` and ``read``).

    GET /v1/health                    → ServerInfo (no sign-in: the protocols HQ speaks, its clock)
    GET /v1/cases?officer_badge=&squad_code=&conflicts_only=&limit=&cursor=    → CaseList (+ next_cursor)
    GET /v1/cases/{case_id}           → CaseDetail (the case, HQ's state, its reviews, missing photos)
    GET /v1/subjects?district=&limit=&cursor= → SubjectList (+ next_cursor)

Both lists page by keyset (``hq.paging``: an opaque cursor holding the last row's key, tied to the
filters; a bad one is 400 ``BAD_CURSOR``): cases newest first by ``(occurred_at, case_no, version)``,
subjects by id. A client reading only the first page sees what it always saw.
    GET /v1/subjects/{subject_id}     → the subject

Scope (``hq.auth.Principal``): an officer reads their own cases and their district's subjects, a squad
leader their squad's cases, HQ everything; outside it the answer is 403 ``FORBIDDEN``.
"""

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from enforcement.codec import to_json_dict
from enforcement.model import Role
from hq import paging
from hq.api.errors import ERROR_RESPONSES, ApiError
from hq.auth import Principal
from hq.settings import Settings
from hq.storage.base import CaseState, Storage
from sync.protocol import (
    SUPPORTED_PROTOCOLS,
    CaseDetail,
    CaseList,
    CaseSummary,
    Errno,
    ServerInfo,
    SubjectList,
)


def case_summary(state: CaseState) -> CaseSummary:
    """HQ's state of one case version as the API lists it."""
    return CaseSummary(
        case_id=state.case_id,
        case_no=state.case_no,
        version=state.version,
        officer_badge=state.officer_badge,
        squad_code=state.squad_code,
        district=state.district,
        subject_id=state.subject_id,
        violation_code=state.violation_code,
        occurred_at=state.occurred_at,
        received_at=state.received_at,
        device_stage=state.device_stage,
        chosen_stage=state.chosen_stage,
        hq_stage=state.hq_stage,
        hq_ordinal=state.hq_ordinal,
        stage_conflict=state.stage_conflict,
        explain_zh=state.explain_zh,
        explain_en=state.explain_en,
        photos_expected=state.photos_expected,
        photos_stored=state.photos_stored,
        complete=state.complete,
        latest=state.latest,
        review=state.review,
    )


def build_health_router(settings: Settings) -> APIRouter:
    """``/v1/health``: what protocols HQ speaks and its clock (no sign-in)."""
    router = APIRouter()

    @router.get("/v1/health", response_model=ServerInfo, responses=ERROR_RESPONSES, tags=["service"])
    def health() -> ServerInfo:
        return ServerInfo(protocols=sorted(SUPPORTED_PROTOCOLS), server_time=settings.clock())

    return router


def build_router(storage: Storage, principal: Callable[..., Principal]) -> APIRouter:
    """The scoped reads of cases and subjects; ``principal`` is the app's bearer-token dependency."""
    router = APIRouter()
    Caller = Annotated[Principal, Depends(principal)]

    @router.get("/v1/cases", response_model=CaseList, responses=ERROR_RESPONSES, tags=["read"])
    def cases(
        caller: Caller,
        officer_badge: str | None = None,
        squad_code: str | None = None,
        conflicts_only: bool = False,
        limit: Annotated[int, Query(ge=1, le=1000)] = 200,
        cursor: Annotated[
            str | None, Query(max_length=1000, description="next_cursor of the page before")
        ] = None,
    ) -> CaseList:
        filters: dict[str, Any] = {"officer_badge": officer_badge, "squad_code": squad_code}
        if caller.role is Role.LEADER:
            if squad_code not in (None, caller.officer.squad_code):
                raise ApiError(Errno.FORBIDDEN)
            filters["squad_code"] = caller.officer.squad_code
        elif not caller.is_hq:
            if officer_badge not in (None, caller.badge) or squad_code is not None:
                raise ApiError(Errno.FORBIDDEN)
            filters["officer_badge"] = caller.badge
        scope = [filters["officer_badge"], filters["squad_code"], conflicts_only]
        after = paging.decode_case_key("cases", scope, cursor)
        with storage.transaction(readonly=True) as tx:  # keyset pages, newest first (hq.paging)
            states = tx.cases_page(after=after, conflicts_only=conflicts_only, limit=limit, **filters)
        more = paging.encode("cases", scope, paging.case_key(states[-1])) if len(states) == limit else None
        return CaseList(cases=[case_summary(s) for s in states if caller.can_read_case(s)], next_cursor=more)

    @router.get("/v1/cases/{case_id}", response_model=CaseDetail, responses=ERROR_RESPONSES, tags=["read"])
    def case_detail(case_id: str, caller: Caller) -> CaseDetail:
        with storage.transaction(readonly=True) as tx:
            state = tx.case_state(case_id)
            if state is None:
                raise ApiError(Errno.NOT_FOUND)
            if not caller.can_read_case(state):
                raise ApiError(Errno.FORBIDDEN)
            case = tx.get_case(case_id)
            reviews = tx.reviews_for_case(case_id)
            missing = tx.missing_photos(case_id)
        if case is None:
            raise ApiError(Errno.NOT_FOUND)
        return CaseDetail(
            case=to_json_dict(case),
            state=case_summary(state),
            reviews=[to_json_dict(r) for r in reviews],
            missing_photos=missing,
        )

    @router.get("/v1/subjects", response_model=SubjectList, responses=ERROR_RESPONSES, tags=["read"])
    def subjects(
        caller: Caller,
        district: str | None = None,
        limit: Annotated[int, Query(ge=1, le=5000)] = 1000,
        cursor: Annotated[
            str | None, Query(max_length=1000, description="next_cursor of the page before")
        ] = None,
    ) -> SubjectList:
        wanted = district or caller.district
        if not caller.can_read_district(wanted):
            raise ApiError(Errno.FORBIDDEN)
        after = paging.decode_text_key("subjects", [wanted], cursor)
        with storage.transaction(readonly=True) as tx:
            rows = tx.subjects_page(wanted, after=after, limit=limit)
        more = paging.encode("subjects", [wanted], [rows[-1].id]) if len(rows) == limit else None
        return SubjectList(subjects=[to_json_dict(s) for s in rows], next_cursor=more)

    @router.get("/v1/subjects/{subject_id}", responses=ERROR_RESPONSES, tags=["read"])
    def subject(subject_id: str, caller: Caller) -> dict[str, Any]:
        with storage.transaction(readonly=True) as tx:
            row = tx.get_subject(subject_id)
        if row is None:
            raise ApiError(Errno.NOT_FOUND)
        if not caller.can_read_district(row.district):
            raise ApiError(Errno.FORBIDDEN)
        return to_json_dict(row)

    return router
