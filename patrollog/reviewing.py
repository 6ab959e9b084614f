"""Where a case stands in the squad leader's review, from its latest version and the reviews of it.

The rule (issue #6):

- an ordinary case counts as approved unless the leader returns or withdraws it (``COUNTED``);
- a case at the 处罚 stage (applied by the officer or computed by HQ) and a case whose device stage
  differs from HQ's (a stage conflict) count as approved only after a leader's explicit decision; until
  then they are ``NEEDS_DECISION``;
- the newest review of the case's latest version (by ``decided_at``) decides: approve → ``APPROVED``,
  return → ``RETURNED`` (the officer amends it as a new version, which then has no review and comes back
  to the queue), withdraw → ``WITHDRAWN``;
- a case the officer voided is ``VOIDED``.

Pure functions over ``enforcement`` records: the phone (offline) and HQ give the same answer.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from enforcement.model import Case, CaseStatus, Review, ReviewDecision, Stage
from enforcement.text import Lang


class ReviewStatus(StrEnum):
    NEEDS_DECISION = "needs_decision"  # 待中队长决定 (处罚 or stage conflict)
    COUNTED = "counted"  # 未审核，默认计入
    APPROVED = "approved"  # 已通过
    RETURNED = "returned"  # 已退回
    WITHDRAWN = "withdrawn"  # 已撤销
    VOIDED = "voided"  # 已作废

    def label(self, lang: Lang = "zh") -> str:
        zh, en = _LABELS[self]
        return zh if lang == "zh" else en

    @property
    def counts_as_approved(self) -> bool:
        return self in (ReviewStatus.COUNTED, ReviewStatus.APPROVED)

    @property
    def waiting(self) -> bool:
        """Still in the leader's queue (no decision yet)."""
        return self in (ReviewStatus.NEEDS_DECISION, ReviewStatus.COUNTED)


_LABELS = {
    ReviewStatus.NEEDS_DECISION: ("待中队长决定", "Needs a decision"),
    ReviewStatus.COUNTED: ("未审核", "Not reviewed"),
    ReviewStatus.APPROVED: ("已通过", "Approved"),
    ReviewStatus.RETURNED: ("已退回", "Returned"),
    ReviewStatus.WITHDRAWN: ("已撤销", "Withdrawn"),
    ReviewStatus.VOIDED: ("已作废", "Voided"),
}


def needs_decision(case: Case, *, hq_stage: Stage | None = None) -> bool:
    """Whether the case needs a leader's explicit decision: 处罚 (applied or HQ's) or a stage conflict
    (HQ's stage differs from the stage the phone computed)."""
    if Stage(case.chosen_stage) is Stage.PENALTY or hq_stage is Stage.PENALTY:
        return True
    return hq_stage is not None and Stage(hq_stage) != Stage(case.computed_stage)


def newest_review(case: Case, reviews: Iterable[Review]) -> Review | None:
    """The deciding review of this case version: the newest by ``decided_at`` (ties by id)."""
    own = [r for r in reviews if r.case_id == case.id]
    return max(own, key=lambda r: (r.decided_at, r.id), default=None)


def review_status(case: Case, reviews: Iterable[Review], *, hq_stage: Stage | None = None) -> ReviewStatus:
    """The review status of a case version (see the module docstring). ``reviews`` may include reviews
    of other cases and versions; only those of ``case.id`` count. ``hq_stage``: HQ's stage when known."""
    if case.status == CaseStatus.VOIDED:
        return ReviewStatus.VOIDED
    review = newest_review(case, reviews)
    if review is not None:
        return {
            ReviewDecision.APPROVE: ReviewStatus.APPROVED,
            ReviewDecision.RETURN: ReviewStatus.RETURNED,
            ReviewDecision.WITHDRAW: ReviewStatus.WITHDRAWN,
        }[ReviewDecision(review.decision)]
    if case.status == CaseStatus.WITHDRAWN:
        return ReviewStatus.WITHDRAWN
    return ReviewStatus.NEEDS_DECISION if needs_decision(case, hq_stage=hq_stage) else ReviewStatus.COUNTED
