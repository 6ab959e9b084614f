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

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from enforcement.codec import to_json_dict
from enforcement.labels import subject_label
from enforcement.model import Review, ReviewDecision
from enforcement.policy import Policy
from enforcement.restaging import StagedHistory
from enforcement.staging import StageDecision, StagePolicy
from hq.feed import emit_case_state, emit_history
from hq.policy import current, policy_of, verdict_under
from hq.storage.base import CaseState, ChangeKind, ChangeScope, StageVerdict, Tx
from hq.subjectmatch import group_history, identity_group
from hq.tally import Counted, TallyDelta, facts_of

__all__ = ["apply_review", "restage_after", "verdict_of"]


def apply_review(
    tx: Tx,
    review: Review,
    at: datetime,
    *,
    policy: StagePolicy | None = None,
    tally: TallyDelta | None = None,
) -> CaseState:
    """Store a (checked) review and publish what follows from it: the decision to the case's officer, the
    case's state, and, when it changes what counts (a withdrawal), the subject's history and the stages
    of the subject's later cases. Used for pushed reviews and for reviews made at HQ. ``tally``: the push
    batch's delta the change is added to (``hq.tally``), else it is written before returning."""
    before = tx.case_state(review.case_id)
    if before is None:
        raise ValueError(f"review of an unknown case {review.case_id}")
    if before.subject_id:
        tx.lock_subjects([before.subject_id])
    tx.save_review(review, at)
    state = tx.case_state(review.case_id)
    assert state is not None
    payload = tx.case_payloads([review.case_id]).get(review.case_id)  # a review leaves it as it is
    counted = Counted.of_json(payload) if payload is not None else None
    delta = tally if tally is not None else TallyDelta()
    delta.change(
        facts_of(before, counted if before.latest else None),
        facts_of(state, counted if state.latest else None),
    )  # what ``changing`` reads before and after, from the two states and the one payload
    if tally is None:
        delta.write(tx)
    tx.emit(ChangeKind.REVIEW, review.id, to_json_dict(review), ChangeScope(badge=state.officer_badge))
    emit_case_state(tx, state, case=payload)
    withdrawn = ReviewDecision.WITHDRAW.value
    if state.subject_id and (before.review == withdrawn) != (state.review == withdrawn):
        # only a withdrawal (or its reversal) changes what counts: the history and the later stages
        restage_after(tx, state.subject_id, state.occurred_at, skip_case_no=state.case_no, policy=policy,
                      cause=review.case_id, tally=tally)  # fmt: skip
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
    tally: TallyDelta | None = None,
) -> list[CaseState]:
    """Recompute HQ's stage of the subject's cases at or after ``occurred_at`` (a late arrival, an
    amendment or a withdrawal can change what counted for them); returns the changed ones. Each change
    is a ``restaged`` audit event naming ``cause``, the case version whose arrival or review caused it.
    The subject's whole identity group is restaged over its history (``hq.subjectmatch``); ``occurred_at``
    None: every case of it (a merge, a split, a new strong match). ``tally``: the push batch's delta the
    changes are added to (``hq.tally``), else they are written before returning. A push batch's late
    first versions are restaged together instead (``hq.restage_late``)."""
    members = sorted(identity_group(tx, subject_id))
    later = [s for m in members for s in tx.list_cases(subject_id=m, since=occurred_at, limit=10_000)]
    later = [s for s in later if s.case_no != skip_case_no]
    if not later:
        return []
    history = group_history(tx, subject_id, members=members)
    # read once for every later case (one query, not one a case): the stored JSON gives each case's street
    # class and phone policy version (``stage_policy_for``), what the tally counts, and its device
    payloads = tx.case_payloads([s.case_id for s in later])
    settings = Settings(tx, policy)
    staged = StagedHistory(history)  # sorted once for every later case (``enforcement.restaging``)
    steps: list[Step] = []
    for state in later:
        data = payloads.get(state.case_id, {})
        decision = staged.decide(state.violation_code, state.occurred_at, settings.of(state, data),
                                 case_no=state.case_no)  # fmt: skip
        if (decision.stage, decision.ordinal) != (state.hq_stage, state.hq_ordinal):
            steps.append(Step(state, verdict_under(decision, int(data.get("policy_version", 0))), cause))
    return write_steps(tx, steps, payloads, tally=tally)


class Settings:
    """Each case's stage policy: the batch's given ``policy``, else the version the case was staged under
    (``hq.policy``: never a newer one) with its street class, each version read once."""

    def __init__(self, tx: Tx, policy: StagePolicy | None) -> None:
        self.tx = tx
        self.policy = policy
        self.versions: dict[int, Policy] = {}

    def of(self, state: CaseState, data: Mapping[str, Any]) -> StagePolicy:
        if self.policy is not None:
            return self.policy
        if state.policy_version not in self.versions:
            self.versions[state.policy_version] = policy_of(self.tx, state.policy_version) or current(self.tx)
        return self.versions[state.policy_version].stage_policy_for_extra(data.get("extra") or {})


@dataclass(frozen=True)
class Step:
    """One restage of one case: its state before, its new verdict, the case version that caused it."""

    state: CaseState
    verdict: StageVerdict
    cause: str

    def after(self) -> CaseState:
        """The state ``Tx.set_verdict`` would read back."""
        verdict = self.verdict
        return replace(self.state, hq_stage=verdict.stage, hq_ordinal=verdict.ordinal,
                       stage_conflict=verdict.stage != self.state.device_stage, explain_zh=verdict.explain_zh,
                       explain_en=verdict.explain_en, policy_version=verdict.policy_version)  # fmt: skip


def write_steps(
    tx: Tx, steps: list[Step], payloads: Mapping[str, Mapping[str, Any]], *, tally: TallyDelta | None
) -> list[CaseState]:
    """Store and publish restages, in order (a case may be restaged more than once): each case's last
    verdict written once, its last state published once, its tally facts changed from its first state to
    its last, and every step audited as ``restaged`` naming its cause. Returns the cases' last states."""
    if not steps:
        return []
    first: dict[str, CaseState] = {}
    last: dict[str, Step] = {}
    for step in steps:
        first.setdefault(step.state.case_id, step.state)
        last[step.state.case_id] = step
    tx.set_verdicts([(case_id, step.verdict) for case_id, step in last.items()])
    missing = tx.missing_photos_of(list(last))
    told = _Told(tx)
    delta = tally if tally is not None else TallyDelta()
    changed = []
    for case_id, step in last.items():
        updated = step.after()
        data = payloads.get(case_id, {})
        counted = Counted.of_json(data) if data else None
        # the payload is unchanged: the facts from its first state to its last
        delta.change(facts_of(first[case_id], counted), facts_of(updated, counted))
        changed.append(updated)
        told.emit(updated, data, missing[case_id])
    for step in steps:
        tx.audit("system", "restaged", target=step.state.case_id,
                 detail={"from": int(step.state.hq_stage), "to": int(step.verdict.stage),
                         "caused_by": step.cause, "subject_id": step.state.subject_id})  # fmt: skip
    if tally is None:
        delta.write(tx)
    return changed


class _Told:
    """``emit_case_state`` for the restaged cases of one subject's identity, each reading once what the
    cases share (their officer's name, their subject's label, their device's first sign-in)."""

    def __init__(self, tx: Tx) -> None:
        self.tx = tx
        self.names: dict[str, str] = {}
        self.labels: dict[str, str] = {}
        self.first_seen: dict[str, datetime | None] = {}

    def emit(self, state: CaseState, data: Mapping[str, Any], missing: list[str]) -> None:
        tx = self.tx
        if state.officer_badge not in self.names:
            user = tx.get_user(state.officer_badge)
            self.names[state.officer_badge] = user.officer.name if user is not None else ""
        subject_id = state.subject_id or ""
        if subject_id not in self.labels:
            subject = tx.get_subject(subject_id, include_deleted=True) if subject_id else None
            self.labels[subject_id] = subject_label(subject) if subject is not None else ""
        device_id = data.get("device_id")
        device_id = device_id if isinstance(device_id, str) else ""
        if device_id not in self.first_seen:
            self.first_seen[device_id] = tx.device_first_seen(device_id) if device_id else None
        name, label = self.names[state.officer_badge], self.labels[subject_id]
        emit_case_state(tx, state, case=data, officer_name=name, missing=missing, label=label,
                        first_seen=self.first_seen[device_id])  # fmt: skip
