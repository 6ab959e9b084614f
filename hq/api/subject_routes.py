"""Subject identity at HQ (issue #22), as an ``APIRouter`` (tag ``subjects``)::

    POST /v1/subjects/{subject_id}/merge   MergeRequest {into} → MergeResult
    POST /v1/subjects/{subject_id}/unmerge → MergeResult
    GET  /v1/merge-suggestions?limit=      → MergeSuggestionList (open alike pairs)
    GET  /v1/subjects/{subject_id}/history → SubjectHistory (who changed which field, when, from where)
    GET  /v1/subject-conflicts             → SubjectConflictList (open field conflicts)
    POST /v1/subject-conflicts/{conflict_id}/resolve {take} → SubjectConflictOut

Scope from the token: a squad leader within their own district, HQ anywhere (suggestions and conflicts:
its own district unless ``?district=``), officers 403 ``FORBIDDEN``; a subject's history: whoever may
read the subject (its district; HQ). What a merge does: ``hq.merge``; edits: ``hq.subjectedit``.
"""

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from enforcement.model import Role
from hq.api.errors import ERROR_RESPONSES, ApiError
from hq.auth import Principal
from hq.merge import MergeOutcome, MergeRefused, merge_subjects, unmerge_subjects
from hq.settings import Settings
from hq.storage.base import Storage, SubjectConflict
from hq.subjectedit import resolve_conflict, shown
from sync.protocol import (
    MAX_MERGE_RESTAGED,
    MAX_MERGE_SUGGESTIONS,
    MAX_SUBJECT_EDITS,
    Errno,
    MergeRequest,
    MergeResult,
    MergeSuggestion,
    MergeSuggestionList,
    RecordId,
    ResolveConflictRequest,
    RestagedCase,
    SubjectConflictList,
    SubjectConflictOut,
    SubjectEdit,
    SubjectHistory,
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


def _conflict_out(c: SubjectConflict) -> SubjectConflictOut:
    return SubjectConflictOut(
        id=c.id, subject_id=c.subject_id, field=c.field, base_value=shown(c.field, c.base_value)[:2000],
        hq_value=shown(c.field, c.hq_value)[:2000], pushed_value=shown(c.field, c.pushed_value)[:2000],
        by_badge=c.by_badge, device_id=c.device_id, at=c.at, resolved=c.resolved_at is not None,
    )  # fmt: skip


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

    @router.get(
        "/v1/subjects/{subject_id}/history", response_model=SubjectHistory, responses=ERROR_RESPONSES,
        tags=["subjects"],
    )  # fmt: skip
    def history(subject_id: RecordId, caller: Caller) -> SubjectHistory:
        with storage.transaction(readonly=True) as tx:
            subject = tx.get_subject(subject_id)
            if subject is None:
                raise ApiError(Errno.NOT_FOUND)
            if not caller.can_read_district(subject.district):
                raise ApiError(Errno.FORBIDDEN)
            revisions = tx.subject_revisions(subject_id, limit=MAX_SUBJECT_EDITS)
        edits = [
            SubjectEdit(
                version=r.version,
                at=r.at,
                by_badge=r.by_badge[:32],
                device_id=r.device_id[:64],
                fields=list(r.changed)[:16],
            )
            for r in revisions
        ]
        return SubjectHistory(subject_id=subject_id, version=edits[-1].version if edits else 1, edits=edits)

    @router.get(
        "/v1/subject-conflicts",
        response_model=SubjectConflictList,
        responses=ERROR_RESPONSES,
        tags=["subjects"],
    )
    def conflicts(
        caller: Caller,
        district: Annotated[str | None, Query(max_length=64)] = None,
        limit: Annotated[int, Query(ge=1, le=MAX_SUBJECT_EDITS)] = 200,
    ) -> SubjectConflictList:
        leader_or_hq(caller)
        wanted = district or caller.district
        if not caller.can_read_district(wanted):
            raise ApiError(Errno.FORBIDDEN)
        with storage.transaction(readonly=True) as tx:
            rows = tx.list_subject_conflicts(wanted, limit=limit)
        return SubjectConflictList(conflicts=[_conflict_out(c) for c in rows])

    @router.post(
        "/v1/subject-conflicts/{conflict_id}/resolve", response_model=SubjectConflictOut,
        responses=ERROR_RESPONSES, tags=["subjects"],
    )  # fmt: skip
    def resolve(conflict_id: RecordId, body: ResolveConflictRequest, caller: Caller) -> SubjectConflictOut:
        leader_or_hq(caller)
        with storage.transaction() as tx:
            conflict = tx.get_subject_conflict(conflict_id)
            if conflict is None:
                raise ApiError(Errno.NOT_FOUND)
            if not caller.can_read_district(conflict.district):
                raise ApiError(Errno.FORBIDDEN)
            if conflict.resolved_at is not None:
                raise ApiError(Errno.SUBJECT_CONFLICT_RESOLVED)
            resolve_conflict(tx, conflict_id, take=body.take, by_badge=caller.badge, at=settings.clock())
            done = tx.get_subject_conflict(conflict_id)
        assert done is not None
        return _conflict_out(done)

    return router
