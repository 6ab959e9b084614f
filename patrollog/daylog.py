"""The squad's daily patrol log (中队巡查日志) as data: ``build_daylog`` assembles a ``DayLog`` from case
versions, shifts, reviews and the catalogue. No I/O: the phone builds it from its local store, HQ from
its storage; ``patrollog.pdf`` and ``patrollog.csvlog`` render it.

What it holds, for one squad and one bureau-local day:

- the officers on shift with their shift times (a shift is on the day when it overlaps it) and each
  officer's figures; an officer with cases but no shift record is listed too;
- the squad's figures (``enforcement.report.patrol_figures``: cases by type and stage, seized items,
  fines, the bureau-style summary line);
- returned cases: cases of the day the leader returned (any version), counted once each;
- one line per case (its latest version), with its review status (``patrollog.reviewing``);
- the hotline work orders received that day in the squad, in the bureau's phrasing, from HQ-time timers
  (``patrollog.workorderlog``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from types import MappingProxyType

from enforcement.catalogue import Catalogue
from enforcement.labels import coordinates_text, place_text
from enforcement.model import (
    LOCAL_TZ,
    Case,
    CaseStatus,
    Disposition,
    Location,
    Review,
    ReviewDecision,
    SeizedItem,
    Shift,
    Stage,
)
from enforcement.report import PatrolFigures, latest_versions, patrol_figures
from enforcement.workorders import Figures as OrderFigures
from patrollog.reviewing import ReviewStatus, best_known_time, newest_review, review_status
from patrollog.workorderlog import OrderFacts, day_figures
from patrollog.zonecount import ZoneCounts, zone_counts

#: How the log names what was done on the spot.
DISPOSITION_ZH: Mapping[Disposition, str] = MappingProxyType(
    {
        Disposition.PERSUADED: "劝离",
        Disposition.CORRECTED: "当场整改",
        Disposition.WARNING_NOTICE: "警告通知",
        Disposition.PENALTY: "罚款",
        Disposition.RECTIFY_ORDER: "责令限期整改",
        Disposition.REFERRED: "移交",
    }
)


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """The bureau-local day as ``[start, end)``."""
    start = datetime.combine(day, time.min, LOCAL_TZ)
    return start, start + timedelta(days=1)


@dataclass(frozen=True, slots=True)
class ShiftSpan:
    started_at: datetime
    ended_at: datetime | None  # None: still on shift (or the end was not recorded)
    grid_cell: str = ""


@dataclass(frozen=True, slots=True)
class OfficerDay:
    badge: str
    name: str
    shifts: tuple[ShiftSpan, ...]
    figures: PatrolFigures

    @property
    def first_start(self) -> datetime | None:
        return min((s.started_at for s in self.shifts), default=None)

    @property
    def last_end(self) -> datetime | None:
        ends = [s.ended_at for s in self.shifts]
        if not ends or None in ends:
            return None
        return max(e for e in ends if e is not None)


@dataclass(frozen=True, slots=True)
class CaseLine:
    """One case of the day (its latest version)."""

    case_id: str
    case_no: str
    version: int
    occurred_at: datetime
    officer_badge: str
    officer_name: str
    violation_code: str
    violation_name: str
    stage: Stage  # applied by the officer
    hq_stage: Stage | None
    subject: str  # the subject's label ("" when unknown)
    location: Location
    disposition: Disposition
    fine_yuan: int | None
    seized_items: tuple[SeizedItem, ...]
    status: CaseStatus
    review: ReviewStatus
    review_comment: str = ""
    time_flag: str = ""  # HQ's TimeFlag value ("" when the time is plausible or unknown)
    extra: Mapping[str, str] = field(default_factory=dict)  # the case's ``extra`` (patrollog.zonecount)
    plate: str = ""  # the subject's plate, written (豫A·D12345); "" when none is known
    warning_notice_no: str = ""  # 警告通知书编号
    seizure_receipt_no: str = ""  # 暂扣物品清单（收据）编号
    second_officer_badge: str = ""  # the second officer present at a seizure
    second_officer_name: str = ""
    notice_flag: str = ""  # HQ's NoticeFlag value ("" when the notice number is in order or unknown)

    @property
    def seized_text(self) -> str:
        return "、".join(f"{item.kind}×{item.quantity}" for item in self.seized_items)

    @property
    def place(self) -> str:
        """地点: the address, else the coordinates, else the no-fix reason; street and grid where known."""
        return place_text(self.location, self.extra)

    @property
    def coordinates(self) -> str:
        """``34.74660, 113.62530`` ("" without a fix)."""
        return coordinates_text(self.location)

    @property
    def second_officer(self) -> str:
        """``李娜 1024`` ("" when none)."""
        return f"{self.second_officer_name} {self.second_officer_badge}".strip()

    @property
    def documents_text(self) -> str:
        """The paperwork in one cell: ``警告通知书 J-0012；暂扣收据 ZK-0003；同行 李娜 1024``."""
        bits = []
        if self.warning_notice_no:
            bits.append(f"警告通知书 {self.warning_notice_no}")
        if self.seizure_receipt_no:
            bits.append(f"暂扣收据 {self.seizure_receipt_no}")
        if self.second_officer:
            bits.append(f"同行 {self.second_officer}")
        return "；".join(bits)


@dataclass(frozen=True, slots=True)
class DayLog:
    day: date
    squad_code: str
    squad_name: str
    officers: tuple[OfficerDay, ...]
    figures: PatrolFigures
    violation_names: Mapping[str, str]  # code -> Chinese name, for every code in figures.by_violation
    returned_case_nos: tuple[str, ...]
    lines: tuple[CaseLine, ...]
    review_counts: Mapping[ReviewStatus, int]
    #: hotline work orders received on the day in the squad (``patrollog.workorderlog``)
    work_orders: OrderFigures = field(default_factory=OrderFigures)

    @property
    def summary_line(self) -> str:
        return self.figures.summary_line("zh")

    @property
    def zones(self) -> ZoneCounts:
        """Guidance to 疏导点 and cases by street class and grid (``patrollog.zonecount``)."""
        return zone_counts(self.lines)

    def filtered(
        self, *, officer: str | None = None, violation: str | None = None, stage: Stage | None = None
    ) -> list[CaseLine]:
        """The case lines of one officer / violation code / applied stage (None: any)."""
        return [
            line
            for line in self.lines
            if (officer is None or line.officer_badge == officer)
            and (violation is None or line.violation_code == violation)
            and (stage is None or line.stage == stage)
        ]


def _on_day(shift: Shift, start: datetime, end: datetime) -> bool:
    return shift.started_at < end and (shift.ended_at is None or shift.ended_at >= start)


def build_daylog(
    day: date,
    squad_code: str,
    *,
    cases: Iterable[Case],
    shifts: Iterable[Shift],
    reviews: Iterable[Review],
    catalogue: Catalogue,
    squad_name: str = "",
    officer_names: Mapping[str, str] | None = None,
    subject_labels: Mapping[str, str] | None = None,
    hq_stages: Mapping[str, Stage] | None = None,
    time_flags: Mapping[str, str] | None = None,
    subject_plates: Mapping[str, str] | None = None,
    received_at: Mapping[str, datetime] | None = None,
    squad_codes: Collection[str] | None = None,
    notice_flags: Mapping[str, str] | None = None,
    work_orders: Iterable[OrderFacts] = (),
    now: datetime | None = None,
) -> DayLog:
    """The day log of ``squad_code`` on ``day``. ``cases``: case versions (others' squads and days are
    left out; every version of a case may be given); ``shifts``: shifts of the squad's officers;
    ``reviews``: reviews of the cases (any version); ``hq_stages``: HQ's stage by case id when known
    (stage conflicts need a decision); ``time_flags``: HQ's ``TimeFlag`` value by case id (flagged cases
    need a decision too, as do those with a ``notice_flags`` value: ``NoticeFlag`` by case id);
    ``received_at``: HQ's receive time by case id, where known (a case is on the day of its
    ``patrollog.reviewing.best_known_time``); names and labels for display
    (``enforcement.labels.subject_label``: a subject registered by description is named by it);
    ``subject_plates``: the written plate by subject id; ``squad_codes``: the squads whose cases it holds
    when it is a unit's across squads (HQ's own unit: all squads of the district; ``squad_code`` then names
    the unit), else ``squad_code`` alone; ``work_orders``: the squad's hotline work orders as HQ last
    folded them (those received on the day count; overdue at ``now``, default the end of the day)."""
    names = officer_names or {}
    labels = subject_labels or {}
    stages = hq_stages or {}
    plates = subject_plates or {}
    start, end = day_bounds(day)
    unit_codes = {squad_code} if squad_codes is None else set(squad_codes)
    squad_cases = [c for c in cases if c.squad_code in unit_codes]
    # the latest version decides the day: an amendment may move a case to another day
    # ... placed by its best-known time (HQ's receive time for a time a wrong phone clock made implausible)
    received = received_at or {}
    latest = [
        c for c in latest_versions(squad_cases) if start <= best_known_time(c, received.get(c.id)) < end
    ]
    day_nos = {c.case_no for c in latest}
    day_cases = [c for c in squad_cases if c.case_no in day_nos]
    all_reviews = list(reviews)
    case_nos = {c.id: c.case_no for c in day_cases}
    returned = sorted(
        {
            case_nos[r.case_id]
            for r in all_reviews
            if r.case_id in case_nos and r.decision == ReviewDecision.RETURN
        }
    )
    squad_figures = patrol_figures(day_cases, catalogue, returned=returned)

    day_shifts = [s for s in shifts if _on_day(s, start, end)]
    badges = sorted({s.officer_badge for s in day_shifts} | {c.officer_badge for c in latest})
    officers = []
    for badge in badges:
        spans = sorted(
            (
                ShiftSpan(s.started_at, s.ended_at, s.grid_cell)
                for s in day_shifts
                if s.officer_badge == badge
            ),
            key=lambda span: span.started_at,
        )
        own = [c for c in day_cases if c.officer_badge == badge]
        officers.append(
            OfficerDay(
                badge, names.get(badge, ""), tuple(spans), patrol_figures(own, catalogue, returned=returned)
            )
        )

    lines = []
    for case in sorted(latest, key=lambda c: (c.occurred_at, c.case_no)):
        flag = (time_flags or {}).get(case.id, "")
        notice_flag = (notice_flags or {}).get(case.id, "")
        status = review_status(case, all_reviews, hq_stage=stages.get(case.id), time_flag=flag or notice_flag)
        review = newest_review(case, all_reviews)
        lines.append(
            CaseLine(
                case_id=case.id,
                case_no=case.case_no,
                version=case.version,
                occurred_at=case.occurred_at.astimezone(LOCAL_TZ),
                officer_badge=case.officer_badge,
                officer_name=names.get(case.officer_badge, ""),
                violation_code=case.violation_code,
                violation_name=catalogue.label(case.violation_code),
                stage=Stage(case.chosen_stage),
                hq_stage=stages.get(case.id),
                subject=labels.get(case.subject_id or "", "") if case.subject_id else "",
                location=case.location,
                disposition=Disposition(case.disposition),
                fine_yuan=case.fine_yuan,
                seized_items=case.seized_items,
                status=CaseStatus(case.status),
                review=status,
                review_comment=review.comment if review else "",
                time_flag=flag,
                extra=dict(case.extra),
                plate=plates.get(case.subject_id or "", "") if case.subject_id else "",
                warning_notice_no=case.warning_notice_no,
                seizure_receipt_no=case.seizure_receipt_no,
                second_officer_badge=case.second_officer_badge,
                second_officer_name=names.get(case.second_officer_badge, ""),
                notice_flag=notice_flag,
            )
        )
    codes = set(squad_figures.by_violation) | {line.violation_code for line in lines}
    return DayLog(
        day=day,
        squad_code=squad_code,
        squad_name=squad_name,
        officers=tuple(officers),
        figures=squad_figures,
        violation_names=MappingProxyType({c: catalogue.label(c) for c in sorted(codes)}),
        returned_case_nos=tuple(returned),
        lines=tuple(lines),
        review_counts=MappingProxyType(dict(Counter(line.review for line in lines))),
        work_orders=day_figures(work_orders, day, unit_codes, now),
    )
