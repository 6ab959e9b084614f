"""Subject identity at HQ (issue #22), as an ``APIRouter`` (tag ``subjects``)::

    POST /v1/subjects/{subject_id}/merge   MergeRequest {into} → MergeResult
    POST /v1/subjects/{subject_id}/unmerge → MergeResult
    GET  /v1/merge-suggestions?limit=      → MergeSuggestionList (open alike pairs)

Scope from the token: a squad leader within their own district, HQ anywhere (suggestions: its own
district unless ``?district=``), officers 403 ``FORBIDDEN``. What a merge does: ``hq.merge``.
"""

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from enforcement.model import Role
from hq.api.errors import ERROR_RESPONSES, ApiError
from hq.auth import Principal
from hq.merge import MergeOutcome, MergeRefused, merge_subjects, unmerge_subjects
from hq.settings import Settings
from hq.storage.base import Storage
from sync.protocol import (
    MAX_MERGE_RESTAGED,
    MAX_MERGE_SUGGESTIONS,
    Errno,
    MergeRequest,
    MergeResult,
    MergeSuggestion,
    MergeSuggestionList,
    RecordId,
    RestagedCase,
)


def _result(outcome: MergeOutcome) -> MergeResult:
    return MergeResult(
        alias_id=outcome.alias_id,
        survivor_id=outcome.survivor_id,
        restaged=[
            RestagedCase(
                case_id=s.case_id, case_no=s.case_no, hq_stage=s.hq_stage, stage_conflict=s.stage_conflict
            )
            for s in outcome.restaged[:MAX_MERGE_RESTAGED]
        ],
    )


def _refusal(err: MergeRefused) -> ApiError:
    return ApiError(err.errno, zh=err.zh or None, en=err.en or None)


def build_router(storage: Storage, settings: Settings, principal: Callable[..., Principal]) -> APIRouter:
    router = APIRouter()
    Caller = Annotated[Principal, Depends(principal)]

    def leader_or_hq(caller: Principal) -> None:
        if caller.role is Role.OFFICER:
            raise ApiError(Errno.FORBIDDEN)

    @router.post(
        "/v1/subjects/{subject_id}/merge", response_model=MergeResult, responses=ERROR_RESPONSES,
        tags=["subjects"],
    )  # fmt: skip
    def merge(subject_id: RecordId, body: MergeRequest, caller: Caller) -> MergeResult:
        leader_or_hq(caller)
        try:
            with storage.transaction() as tx:
                outcome = merge_subjects(tx, caller.officer, subject_id, body.into, settings.clock())
        except MergeRefused as err:
            raise _refusal(err) from None
        return _result(outcome)

    @router.post(
        "/v1/subjects/{subject_id}/unmerge", response_model=MergeResult, responses=ERROR_RESPONSES,
        tags=["subjects"],
    )  # fmt: skip
    def unmerge(subject_id: RecordId, caller: Caller) -> MergeResult:
        leader_or_hq(caller)
        try:
            with storage.transaction() as tx:
                outcome = unmerge_subjects(tx, caller.officer, subject_id, settings.clock())
        except MergeRefused as err:
            raise _refusal(err) from None
        return _result(outcome)

    @router.get(
        "/v1/merge-suggestions", response_model=MergeSuggestionList, responses=ERROR_RESPONSES,
        tags=["subjects"],
    )  # fmt: skip
    def suggestions(
        caller: Caller,
        district: Annotated[str | None, Query(max_length=64)] = None,
        limit: Annotated[int, Query(ge=1, le=MAX_MERGE_SUGGESTIONS)] = 200,
    ) -> MergeSuggestionList:
        leader_or_hq(caller)
        wanted = district or caller.district
        if not caller.can_read_district(wanted):
            raise ApiError(Errno.FORBIDDEN)
        out = []
        with storage.transaction(readonly=True) as tx:
            for pair in tx.list_subject_pairs(wanted, limit=limit):
                a, b = tx.get_subject(pair.a), tx.get_subject(pair.b)
                if a is None or b is None:
                    continue
                out.append(
                    MergeSuggestion(
                        a=pair.a,
                        b=pair.b,
                        strength="strong" if pair.strength == "strong" else "weak",
                        reason=pair.reason[:400],
                        a_label=(a.name or a.plate)[:200],
                        b_label=(b.name or b.plate)[:200],
                    )
                )
        return MergeSuggestionList(suggestions=out)

    return router
