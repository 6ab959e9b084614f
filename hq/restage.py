"""Restaging: HQ's stage of a subject's later cases recomputed when what counted for them changed.

``restage_after(tx, subject_id, occurred_at, ...)`` recomputes the stored stage of the subject's
identity group's cases at or after ``occurred_at`` (a late arrival, an amendment, a withdrawal, a merge),
each under the policy version it was staged under (``hq.policy``), and audits every change as
``restaged`` naming its cause. ``apply_review`` stores a checked review and publishes what follows from
it (the decision, the case's state, a restage when it changes what counts). ``verdict_of`` turns a
``StageDecision`` into the stored ``StageVerdict``.

Used by ``hq.ingest.push`` (pushed cases, subjects and reviews) and ``hq.merge`` (merges and splits).
"""

from __future__ import annotations

from datetime import datetime

from enforcement.codec import to_json_dict
from enforcement.model import Review
from enforcement.staging import StageDecision, StagePolicy, compute_stage
from hq.feed import emit_case_state, emit_history
from hq.policy import current, policy_of, stage_policy_for, verdict_under
from hq.storage.base import CaseState, ChangeKind, ChangeScope, StageVerdict, Tx
from hq.subjectmatch import group_history, identity_group
from hq.tally import changing

__all__ = ["apply_review", "restage_after", "verdict_of"]


def apply_review(tx: Tx, review: Review, at: datetime, *, policy: StagePolicy | None = None) -> CaseState:
    """Store a (checked) review and publish what follows from it: the decision to the case's officer, the
    case's state, and, when it changes what counts (a withdrawal), the subject's history and the stages
    of the subject's later cases. Used for pushed reviews and for reviews made at HQ."""
    before = tx.case_state(review.case_id)
    if before is None:
        raise ValueError(f"review of an unknown case {review.case_id}")
    if before.subject_id:
        tx.lock_subjects([before.subject_id])
    with changing(tx, review.case_id):
        tx.save_review(review, at)
    state = tx.case_state(review.case_id)
    assert state is not None
    tx.emit(ChangeKind.REVIEW, review.id, to_json_dict(review), ChangeScope(badge=state.officer_badge))
    emit_case_state(tx, state)
    if state.subject_id:
        restage_after(tx, state.subject_id, state.occurred_at, skip_case_no=state.case_no, policy=policy,
                      cause=review.case_id)  # fmt: skip
        subject = tx.get_subject(state.subject_id)
        emit_history(tx, state.subject_id, (subject.district if subject else "") or state.district)
    tx.audit(review.reviewer_badge, "review", target=review.case_id,
             detail={"decision": review.decision.value, "review_id": review.id})  # fmt: skip
    return state


def verdict_of(decision: StageDecision) -> StageVerdict:
    return StageVerdict(decision.stage, decision.ordinal, decision.explain("zh"), decision.explain("en"))


def restage_after(
    tx: Tx,
    subject_id: str,
    occurred_at: datetime | None,
    *,
    skip_case_no: str,
    policy: StagePolicy | None = None,
    cause: str = "",
) -> list[CaseState]:
    """Recompute HQ's stage of the subject's cases at or after ``occurred_at`` (a late arrival, an
    amendment or a withdrawal can change what counted for them); returns the changed ones. Each change
    is a ``restaged`` audit event naming ``cause``, the case version whose arrival or review caused it.
    The subject's whole identity group is restaged over its history (``hq.subjectmatch``); ``occurred_at``
    None: every case of it (a merge, a split, a new strong match)."""
    members = sorted(identity_group(tx, subject_id))
    later = [s for m in members for s in tx.list_cases(subject_id=m, since=occurred_at, limit=10_000)]
    if not later:
        return []
    history = group_history(tx, subject_id, members=members)
    changed = []
    for state in later:
        if state.case_no == skip_case_no:
            continue
        # each case with the policy version it was staged under (``hq.policy``): never a newer one
        case = tx.get_case(state.case_id)
        settings = policy or stage_policy_for(policy_of(tx, state.policy_version) or current(tx), case)
        decision = compute_stage(
            state.violation_code, state.occurred_at, history, settings, case_no=state.case_no
        )
        if (decision.stage, decision.ordinal) == (state.hq_stage, state.hq_ordinal):
            continue
        verdict = verdict_under(decision, case.policy_version if case is not None else 0)
        with changing(tx, state.case_id):
            updated = tx.set_verdict(state.case_id, verdict)
        if updated is not None:
            changed.append(updated)
            emit_case_state(tx, updated)
            tx.audit("system", "restaged", target=state.case_id,
                     detail={"from": int(state.hq_stage), "to": int(decision.stage),
                             "caused_by": cause, "subject_id": state.subject_id})  # fmt: skip
    return changed
