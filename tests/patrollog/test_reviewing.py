from dataclasses import replace

from enforcement.model import CaseStatus, ReviewDecision, Stage
from patrollog.reviewing import ReviewStatus, needs_decision, newest_review, review_status
from tests.patrollog.dayfixture import at, case, review


def test_ordinary_case_counts_until_returned() -> None:
    c = case("1023", 1, "0501", at(19, 0))
    assert review_status(c, []) is ReviewStatus.COUNTED
    assert ReviewStatus.COUNTED.counts_as_approved
    assert ReviewStatus.COUNTED.waiting
    returned = review(c, ReviewDecision.RETURN, at(20, 0), "补充地点")
    assert review_status(c, [returned]) is ReviewStatus.RETURNED
    assert not ReviewStatus.RETURNED.counts_as_approved


def test_penalty_and_conflict_need_a_decision() -> None:
    penalty = case("1023", 1, "0510", at(19, 0), Stage.PENALTY)
    assert needs_decision(penalty)
    assert review_status(penalty, []) is ReviewStatus.NEEDS_DECISION
    assert not ReviewStatus.NEEDS_DECISION.counts_as_approved
    plain = case("1023", 2, "0510", at(19, 0))
    assert not needs_decision(plain, hq_stage=Stage.PERSUASION)
    assert needs_decision(plain, hq_stage=Stage.WARNING)  # HQ differs from the phone
    assert needs_decision(plain, hq_stage=Stage.PENALTY)
    # the officer overrode the stage (with a reason) but HQ agrees with the phone: no conflict
    chosen = replace(plain, chosen_stage=Stage.WARNING, stage_override_reason="屡教不改")
    assert not needs_decision(chosen, hq_stage=Stage.PERSUASION)
    approved = review(penalty, ReviewDecision.APPROVE, at(22, 0))
    assert review_status(penalty, [approved]) is ReviewStatus.APPROVED


def test_newest_review_of_this_version_decides() -> None:
    c = case("1023", 1, "0510", at(19, 0), Stage.PENALTY)
    other = case("1023", 2, "0510", at(19, 0))
    first = review(c, ReviewDecision.RETURN, at(20, 0), "照片不清晰")
    later = review(c, ReviewDecision.APPROVE, at(21, 0))
    foreign = review(other, ReviewDecision.WITHDRAW, at(23, 0))
    assert newest_review(c, [later, first, foreign]) == later
    assert review_status(c, [later, first, foreign]) is ReviewStatus.APPROVED
    assert review_status(other, [foreign]) is ReviewStatus.WITHDRAWN


def test_voided_and_withdrawn_status() -> None:
    c = case("1023", 1, "0510", at(19, 0))
    assert review_status(replace(c, status=CaseStatus.VOIDED), []) is ReviewStatus.VOIDED
    assert review_status(replace(c, status=CaseStatus.WITHDRAWN), []) is ReviewStatus.WITHDRAWN
    assert ReviewStatus.NEEDS_DECISION.label() == "待中队长决定"
    assert ReviewStatus.APPROVED.label("en") == "Approved"
