"""Where a case stands in the squad leader's review, from its latest version and the reviews of it.

The rule (issue #6):

- an ordinary case counts as approved unless the leader returns or withdraws it (``COUNTED``);
- a case at the 处罚 stage (applied by the officer or computed by HQ) and a case whose device stage
  differs from HQ's (a stage conflict) count as approved only after a leader's explicit decision; until
  then they are ``NEEDS_DECISION``;
- the newest review of the case's latest version (by ``decided_at``) decides: approve → ``APPROVED``,
  return → ``RETURNED`` (the officer amends it as a new version, which then has no review and comes back
  to the queue), withdraw → ``WITHDRAWN``;
- a case the officer voided is ``VOIDED``;
- a case whose time HQ found implausible (``TimeFlag``, set at ingest by ``time_flag``) needs a decision
  too, with the reason shown to the leader.

Pure functions over ``enforcement`` records: the phone (offline) and HQ give the same answer.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
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


class TimeFlag(StrEnum):
    """Why a case's time is implausible (flagged at HQ, never refused: the leader decides)."""

    FUTURE = "time_future"  # more than FUTURE_SLACK after HQ's clock when it arrived
    TOO_OLD = "time_too_old"  # older than the staged rule's look-back window when it arrived
    BEFORE_DEVICE = "time_before_device"  # more than DEVICE_SLACK before the device's first sign-in

    def label(self, lang: Lang = "zh") -> str:
        zh, en = _FLAG_LABELS[self]
        return zh if lang == "zh" else en


_FLAG_LABELS = {
    TimeFlag.FUTURE: (
        "案发时间晚于指挥中心收到时间（设备时钟可能有误）",
        "Case time is after HQ received it (device clock?)",
    ),
    TimeFlag.TOO_OLD: (
        "案发时间早于回溯期，可能为补录或倒签",
        "Case time is older than the look-back window (back-dated?)",
    ),
    TimeFlag.BEFORE_DEVICE: (
        "案发时间早于该设备首次登录，可能为倒签",
        "Case time is before the device first signed in (back-dated?)",
    ),
}


class NoticeFlag(StrEnum):
    """Why HQ flagged a case's warning-notice number (``hq.notices``; flagged, never refused: paper books
    are real and numbers are typed by hand, so the leader decides)."""

    NOT_IN_BOOK = "notice_not_in_book"  # in no book HQ issued
    OTHER_OFFICER = "notice_other_officer"  # in a book of another officer
    DUPLICATE = "notice_duplicate"  # already on another case

    def label(self, lang: Lang = "zh") -> str:
        zh, en = _NOTICE_LABELS[self]
        return zh if lang == "zh" else en


_NOTICE_LABELS = {
    NoticeFlag.NOT_IN_BOOK: (
        "警告通知书编号不在指挥中心发给该队员的编号册内",
        "Warning notice number is in none of the officer's notice books",
    ),
    NoticeFlag.OTHER_OFFICER: (
        "警告通知书编号属于其他队员的编号册",
        "Warning notice number belongs to another officer's notice book",
    ),
    NoticeFlag.DUPLICATE: (
        "警告通知书编号已用于另一案件",
        "Warning notice number is already used on another case",
    ),
}

#: A case may be this far after HQ's receive time (phone clocks drift; beyond it the time is implausible).
FUTURE_SLACK = timedelta(hours=2)
#: The look-back window ``best_known_time`` judges a time by (the built-in staged rule's).
DEFAULT_WINDOW_DAYS = 365
#: A case may be this far before its device's first sign-in at HQ (clock skew, time zones).
DEVICE_SLACK = timedelta(days=1)


def time_flag(
    occurred_at: datetime,
    received_at: datetime,
    *,
    window_days: int,
    device_first_seen: datetime | None = None,
) -> TimeFlag | None:
    """Whether a case's time is implausible when HQ receives it (see ``TimeFlag``), else None."""
    if occurred_at > received_at + FUTURE_SLACK:
        return TimeFlag.FUTURE
    if occurred_at < received_at - timedelta(days=window_days):
        return TimeFlag.TOO_OLD
    if device_first_seen is not None and occurred_at < device_first_seen - DEVICE_SLACK:
        return TimeFlag.BEFORE_DEVICE
    return None


def best_known_time(
    case: Case, received_at: datetime | None = None, *, window_days: int = DEFAULT_WINDOW_DAYS
) -> datetime:
    """The time a case is placed by (its day in the day log, its place in the review queue).

    ``case.occurred_at`` is already the phone's best-known time (device time + the known offset when the
    phone's clock disagreed with HQ's or the GPS's: ``enforcement.clock``). When HQ's receive time is
    known and the case's time is still implausible against it (``time_flag``: after it, or older than the
    look-back window; a back-dated-looking ``BEFORE_DEVICE`` time is kept, it is plausible as a time),
    the receive time is the best-known one: a phone whose clock said 2099 or 1970 and never learnt better
    puts its case on the day HQ received it, not in no day log at all. A leader's phone knows HQ's receive
    time of its squad's cases from the squad feed (``SquadCaseData.received_at``) and places them alike;
    without it (a case HQ has not received) the case is placed by ``occurred_at``."""
    return best_known_at(case.occurred_at, received_at, window_days=window_days)


def best_known_at(
    occurred_at: datetime, received_at: datetime | None, *, window_days: int = DEFAULT_WINDOW_DAYS
) -> datetime:
    """``best_known_time`` of a case's recorded time and HQ's receive time (None: not known): the rule
    for callers that hold the two times, not the case (HQ's squad feed, the leader phone's store)."""
    if received_at is None:
        return occurred_at
    flag = time_flag(occurred_at, received_at, window_days=window_days)
    if flag in (TimeFlag.FUTURE, TimeFlag.TOO_OLD):
        return received_at
    return occurred_at


def flag_label(flag: str, lang: Lang = "zh") -> str:
    """The leader's text of a stored flag value, a ``TimeFlag`` or a ``NoticeFlag`` ("" for none or a value
    this build does not know)."""
    for kind in (TimeFlag, NoticeFlag):
        try:
            return kind(flag).label(lang)
        except ValueError:
            continue
    return ""


def needs_decision(case: Case, *, hq_stage: Stage | None = None, time_flag: str = "") -> bool:
    """Whether the case needs a leader's explicit decision: 处罚 (applied or HQ's), a stage conflict
    (HQ's stage differs from the stage the phone computed) or a time HQ found implausible."""
    if time_flag:
        return True
    if Stage(case.chosen_stage) is Stage.PENALTY or hq_stage is Stage.PENALTY:
        return True
    return hq_stage is not None and Stage(hq_stage) != Stage(case.computed_stage)


def newest_review(case: Case, reviews: Iterable[Review]) -> Review | None:
    """The deciding review of this case version: the newest by ``decided_at`` (ties by id)."""
    own = [r for r in reviews if r.case_id == case.id]
    return max(own, key=lambda r: (r.decided_at, r.id), default=None)


def review_status(
    case: Case, reviews: Iterable[Review], *, hq_stage: Stage | None = None, time_flag: str = ""
) -> ReviewStatus:
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
    needs = needs_decision(case, hq_stage=hq_stage, time_flag=time_flag)
    return ReviewStatus.NEEDS_DECISION if needs else ReviewStatus.COUNTED
