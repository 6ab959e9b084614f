"""The squad leader's day on the phone: the squad's day log, filters, the review queue and decisions.

Everything comes from the phone's own store (``Store.squad_day``: the leader's pulled squad cases, shifts
and reviews plus anything made on this phone), so the screen works offline. The day log is
``patrollog.daylog.build_daylog``'s, the review rule ``patrollog.reviewing``'s: the phone and HQ give the
same answer. A decision is an ``enforcement.model.Review`` saved with ``Store.save_review`` (queued in the
outbox for HQ) and followed by a poke of the sync link; offline it simply waits in the outbox.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any, Protocol

from enforcement.catalogue import Catalogue
from enforcement.model import (
    LOCAL_TZ,
    Case,
    CaseStatus,
    Officer,
    Review,
    ReviewDecision,
    Role,
    Stage,
    local_date,
    new_id,
)
from enforcement.text import Lang, pick
from mobile.state.errors import AppStateError, NotSignedIn, localized
from mobile.state.leader_orders import order_facts
from mobile.state.observable import Observable
from mobile.state.ports import SyncSoon
from patrollog.daylog import CaseLine, DayLog, OfficerDay, build_daylog
from patrollog.plan import PlanPoint, plan_points
from patrollog.reviewing import DEFAULT_WINDOW_DAYS, ReviewStatus, flag_label, newest_review, time_flag
from sync.protocol import SQUAD_FEED_DAYS

#: The days the picker accepts (the same range HQ's review API accepts), never after today.
FIRST_DAY = date(2000, 1, 1)
#: HQ refuses longer review comments (hq.review.ReviewRequest): refuse them here, before they are queued.
MAX_COMMENT = 500


class SquadError(AppStateError):
    """A leader's request cannot be done (bad day, not a leader, a case that cannot be decided...)."""

    code = "squad"


class SquadStore(Protocol):
    def squad_day(self, squad_code: str, day: date) -> Any: ...
    def squad_work_orders(self, squad_code: str) -> list[tuple[dict[str, Any], datetime]]: ...
    def squad_case(self, case_id: str) -> Case | None: ...
    def save_review(self, review: Review) -> None: ...


class HasOfficer(Protocol):
    @property
    def officer(self) -> Officer | None: ...


@dataclass(frozen=True, slots=True)
class Filters:
    """Which case lines the screen shows (None: any)."""

    officer: str | None = None
    violation: str | None = None
    stage: Stage | None = None

    @property
    def active(self) -> bool:
        return self != Filters()


@dataclass(frozen=True, slots=True)
class QueueItem:
    """One case of the review queue: its day-log line plus what the leader needs to decide."""

    line: CaseLine
    case: Case  # the latest version itself (computed stage, photos, the officer's stage reason)
    penalty: bool  # 处罚, applied by the officer or HQ's
    conflict: bool  # HQ's stage differs from the stage the phone computed
    # HQ's reason for its stage, naming the earlier cases it counted ("第3次 · 处罚：10-02 劝导，11-01 警告");
    # "" when not known
    hq_reason_zh: str = ""
    hq_reason_en: str = ""

    def hq_reason(self, lang: Lang) -> str:
        """HQ's reason in ``lang`` ("" when HQ sent none in that language: never the other language)."""
        return pick(lang, self.hq_reason_zh, self.hq_reason_en)

    def time_flag_text(self, lang: Lang) -> str:
        """Why the case's time is implausible, in HQ's words (``time_flag_text``)."""
        return time_flag_text(self.line, lang)

    @property
    def needs_decision(self) -> bool:
        return self.line.review is ReviewStatus.NEEDS_DECISION

    @property
    def photos(self) -> int:
        return len(self.case.photos)


@dataclass(frozen=True, slots=True)
class SquadSnapshot:
    """What the squad screen shows, worked out once per render."""

    log: DayLog
    filters: Filters
    lines: list[CaseLine]  # the filtered case lines, by time
    queue: list[QueueItem]  # cases waiting for the leader: decisions needed first, then by time
    by_violation: list[tuple[str, int]]  # counted (active) filtered cases per violation code, most first
    points: list[PlanPoint]  # filtered counted cases with a GPS fix
    without_fix: int
    decisions: dict[str, Decision] = field(default_factory=dict)  # by case id, lines with a review

    @property
    def officers(self) -> tuple[OfficerDay, ...]:
        return self.log.officers


@dataclass(frozen=True, slots=True)
class Decision:
    """The deciding review of a case line: who (badge and name), when, what and why."""

    review: Review
    reviewer_name: str


@dataclass(frozen=True, slots=True)
class _Loaded:
    log: DayLog
    cases: dict[str, Case]  # every version the log was built from, by id
    reviews: list[Review]
    names: dict[str, str]  # badge -> name
    hq_reasons: dict[str, tuple[str, str]]  # case id -> HQ's reason for its stage (zh, en)


def _time_flags(
    cases: list[Case], received: dict[str, datetime], first_seen: dict[str, datetime]
) -> dict[str, str]:
    """HQ's ``TimeFlag`` values by case id, by HQ's rule (``patrollog.reviewing.time_flag``) over what the
    squad feed said of each version HQ received: its receive time (a time after it, or older than the
    look-back window) and its device's first sign-in at HQ (a time more than a day before it; a version
    pulled from an HQ that did not send it is not flagged so, until a later pull brings it)."""
    flags = {}
    for case in cases:
        if case.id in received:
            flag = time_flag(
                case.occurred_at,
                received[case.id],
                window_days=DEFAULT_WINDOW_DAYS,
                device_first_seen=first_seen.get(case.id),
            )
            if flag is not None:
                flags[case.id] = flag.value
    return flags


def time_flag_text(line: CaseLine, lang: Lang) -> str:
    """Why a case line's time is implausible ("" when it is not): the text HQ's review queue shows for the
    same flag (``QueueItem.time_flag_zh`` / ``time_flag_en`` of ``hq.reviewqueue``, from
    ``patrollog.reviewing.flag_label``)."""
    return flag_label(line.time_flag, lang)


def _conflict(case: Case, hq_stage: Stage | None) -> bool:
    return hq_stage is not None and Stage(hq_stage) != Stage(case.computed_stage)


class SquadState(Observable):
    """The signed-in leader's squad day. ``store`` is ``mobile.store.Store``; ``session`` has ``officer``;
    ``link`` is the sync link (``kick`` after a decision); ``now`` the phone's clock."""

    def __init__(
        self,
        store: SquadStore,
        catalogue: Catalogue,
        session: HasOfficer,
        link: SyncSoon,
        *,
        now: Callable[[], datetime],
    ) -> None:
        super().__init__()
        self._store = store
        self._catalogue = catalogue
        self._session = session
        self._link = link
        self._now = now
        self._day: date | None = None
        self.filters = Filters()

    def forget(self) -> None:
        """Back to today without filters (another officer or leader signs in on this phone)."""
        self._day = None
        self.filters = Filters()
        self.notify()

    # -- who and when ------------------------------------------------------------------------------------
    @property
    def is_leader(self) -> bool:
        officer = self._session.officer
        return officer is not None and Role(officer.role) is Role.LEADER

    def leader(self) -> Officer:
        officer = self._session.officer
        if officer is None:
            raise NotSignedIn()
        if Role(officer.role) is not Role.LEADER:
            raise localized(SquadError, "squad.not_leader", field="role", code="not_leader")
        return officer

    def today(self) -> date:
        return self._now().astimezone(LOCAL_TZ).date()

    @property
    def day(self) -> date:
        """The day shown: today (bureau-local) until the leader picks another one."""
        return self._day if self._day is not None else self.today()

    def set_day(self, value: date | str) -> date:
        """Show ``value`` (a date or text like 2026-11-22). A day that cannot be read, lies before 2000 or
        after today raises SquadError naming ``day``; the shown day stays as it was."""
        if isinstance(value, str):
            text = value.strip()
            try:
                value = date.fromisoformat(text)
            except ValueError:
                raise localized(SquadError, "squad.day_bad", field="day", code="day_bad", text=text) from None
        today = self.today()
        if value > today:
            raise localized(SquadError, "squad.day_future", field="day", code="day_future", today=today)
        if value < FIRST_DAY:
            raise localized(
                SquadError, "squad.day_too_early", field="day", code="day_too_early", first=FIRST_DAY
            )
        if value != self.day:
            self._day = value
            self.filters = Filters()  # another day has other officers and violations
            self.notify()
        return value

    feed_days = SQUAD_FEED_DAYS

    @property
    def before_feed(self) -> bool:
        """The shown day is older than what HQ's squad feed brings to a leader's phone
        (``SQUAD_FEED_DAYS``): its cases are read at HQ, the phone may hold none of them."""
        return (self.today() - self.day).days > self.feed_days

    def step_day(self, days: int) -> date:
        """The day before (``-1``) or after (``+1``) the shown one (never after today)."""
        return self.set_day(date.fromordinal(self.day.toordinal() + days))

    # -- filters -----------------------------------------------------------------------------------------
    _UNSET: Any = object()

    def set_filter(self, *, officer: Any = _UNSET, violation: Any = _UNSET, stage: Any = _UNSET) -> Filters:
        """Change some filters ("" or None: any). ``stage`` may be a Stage or its number."""
        changes: dict[str, Any] = {}
        if officer is not self._UNSET:
            changes["officer"] = officer or None
        if violation is not self._UNSET:
            changes["violation"] = violation or None
        if stage is not self._UNSET:
            changes["stage"] = None if stage in (None, "") else Stage(int(stage))
        self.filters = replace(self.filters, **changes)
        self.notify()
        return self.filters

    def clear_filters(self) -> None:
        self.filters = Filters()
        self.notify()

    # -- the day -----------------------------------------------------------------------------------------
    def _load(self, leader: Officer, day: date) -> _Loaded:
        data = self._store.squad_day(leader.squad_code, day)
        log = build_daylog(
            day,
            leader.squad_code,
            cases=data.cases,
            shifts=data.shifts,
            reviews=data.reviews,
            catalogue=self._catalogue,
            squad_name=leader.squad_name,
            officer_names=data.officer_names,
            subject_labels=data.subject_labels,
            hq_stages=data.hq_stages,
            subject_plates=data.subject_plates,
            # the squad's hotline work orders as HQ last folded them (HQ-time verdicts, #15)
            work_orders=[order_facts(d) for d, _ in self._store.squad_work_orders(leader.squad_code)],
            # placed by best-known time: HQ's receive time for a time a wrong phone clock made implausible,
            # which needs the leader's decision as at HQ, as does a time before the device's first sign-in
            # at HQ (the feed carries it: SquadCaseData.device_first_seen)
            received_at=data.received_at,
            time_flags=_time_flags(data.cases, data.received_at, data.device_first_seen),
        )
        names = {leader.badge: leader.name, **data.officer_names}
        cases = {case.id: case for case in data.cases}
        return _Loaded(log, cases, list(data.reviews), names, dict(data.hq_reasons))

    def daylog(self) -> DayLog:
        """The squad's day log of the shown day, from the phone's store."""
        return self._load(self.leader(), self.day).log

    def snapshot(self) -> SquadSnapshot:
        loaded = self._load(self.leader(), self.day)
        log = loaded.log
        f = self.filters
        lines = log.filtered(officer=f.officer, violation=f.violation, stage=f.stage)
        counted = Counter(line.violation_code for line in lines if line.status is CaseStatus.ACTIVE)
        points, without_fix = plan_points(lines)
        decisions = {}
        for line in log.lines:
            review = newest_review(loaded.cases[line.case_id], loaded.reviews)
            if review is not None:
                decisions[line.case_id] = Decision(review, loaded.names.get(review.reviewer_badge, ""))
        return SquadSnapshot(
            log=log,
            filters=f,
            lines=lines,
            queue=self._queue(log, loaded.cases, loaded.hq_reasons),
            by_violation=sorted(counted.items(), key=lambda kv: (-kv[1], kv[0])),
            points=points,
            without_fix=without_fix,
            decisions=decisions,
        )

    @staticmethod
    def _queue(log: DayLog, cases: dict[str, Case], reasons: dict[str, tuple[str, str]]) -> list[QueueItem]:
        waiting = sorted(
            (line for line in log.lines if line.review.waiting),
            key=lambda line: (line.review is not ReviewStatus.NEEDS_DECISION, line.occurred_at, line.case_no),
        )
        items = []
        for line in waiting:
            case = cases[line.case_id]  # every line is one of the versions the log was built from
            penalty = Stage(line.stage) is Stage.PENALTY or line.hq_stage is Stage.PENALTY
            zh, en = reasons.get(line.case_id, ("", ""))
            items.append(QueueItem(line, case, penalty, _conflict(case, line.hq_stage), zh, en))
        return items

    def queue(self) -> list[QueueItem]:
        """The shown day's cases waiting for the leader (see ``SquadSnapshot.queue``)."""
        loaded = self._load(self.leader(), self.day)
        return self._queue(loaded.log, loaded.cases, loaded.hq_reasons)

    # -- decisions ---------------------------------------------------------------------------------------
    def approve(self, case_id: str, comment: str = "") -> Review:
        """Approve the latest version of a squad case (a comment is optional)."""
        return self._decide(case_id, ReviewDecision.APPROVE, comment)

    def return_case(self, case_id: str, comment: str) -> Review:
        """Return a case to its officer, who amends it as a new version; the comment (why) is required."""
        if not comment.strip():
            raise localized(SquadError, "review.comment_required", field="comment", code="comment_required")
        return self._decide(case_id, ReviewDecision.RETURN, comment)

    def _decide(self, case_id: str, decision: ReviewDecision, comment: str) -> Review:
        leader = self.leader()
        comment = comment.strip()
        if len(comment) > MAX_COMMENT:
            raise localized(
                SquadError,
                "review.comment_too_long",
                field="comment",
                code="comment_too_long",
                max=MAX_COMMENT,
            )
        case = self._store.squad_case(case_id)
        if case is None:
            raise localized(SquadError, "review.unknown_case", field="case_id", code="unknown_case")
        if case.squad_code != leader.squad_code:
            raise localized(SquadError, "review.other_squad", field="case_id", code="other_squad")
        day = local_date(case.occurred_at)
        log = self._load(leader, day).log
        line = next((ln for ln in log.lines if ln.case_no == case.case_no), None)
        if line is None or line.case_id != case.id:
            raise localized(SquadError, "review.not_latest", field="case_id", code="not_latest")
        if line.status is CaseStatus.VOIDED:
            raise localized(SquadError, "review.voided", field="case_id", code="voided")
        # a second tap on the same decision has nothing new to say: nothing is queued
        if decision is ReviewDecision.APPROVE and line.review is ReviewStatus.APPROVED:
            raise localized(SquadError, "review.already_approved", field="case_id", code="already_decided")
        if decision is ReviewDecision.RETURN and line.review is ReviewStatus.RETURNED:
            raise localized(SquadError, "review.already_returned", field="case_id", code="already_decided")
        review = Review(
            id=new_id(),
            case_id=case.id,
            case_no=case.case_no,
            decision=decision,
            reviewer_badge=leader.badge,
            decided_at=self._now().astimezone(LOCAL_TZ),
            comment=comment,
        )
        self._store.save_review(review)
        self.notify()
        self._link.kick()  # offline the review waits in the outbox like any other record
        return review
