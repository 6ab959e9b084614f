"""Staged enforcement (第三次违章处罚制): 1st persuasion, 2nd warning, 3rd and later penalty.

``compute_stage`` is a pure function of the new case (violation code, time) and the subject's history;
the phone runs it offline over what it knows, HQ runs it again over the whole city's history and its
answer is authoritative. Both show the officer *why* (``StageDecision.explain`` / ``details``).

The rules, decided here once:

- **Calendar days, bureau-local.** The window is counted in local calendar days (``model.local_date``,
  China Standard Time), never in 24-hour periods: an earlier case counts when its local day is
  ``>= new local day - window_days``, so the boundary day itself counts (365 days back from
  2026-11-22 is 2025-11-22, which counts; 2025-11-21 does not). ``window_first_day`` is that rule, the
  one place it is written: the staging here and HQ's history feed to phones (``window_start``: HQ's
  ``history_since``, the pull window every phone gets) both use it, so a case at 00:30 on the first
  counted day reaches the phone and counts there as it does at HQ.
- **Not later.** An earlier case counts only if it occurred no later than the new case (same instant
  counts). A case recorded afterwards about an earlier moment is judged by the moment.
- **Scope.** ``SUBCATEGORY``: the same 4-digit code (露天烧烤 0510 counts only 0510); ``CATEGORY``: the
  same first 2 digits (any 05 街面秩序 case counts).
- **Versions.** Entries are deduplicated by ``case_no`` (exact repeats of one ``case_id`` collapse to
  one); only the highest version speaks for a case. A case whose latest version is VOIDED or WITHDRAWN
  never counts; its older versions are reported as superseded.
- **The case being amended** (``case_no`` argument) never counts, none of its versions.
- **Result.** ``ordinal = counted + 1``; ``stage = min(ordinal, 3)``; ``repeated = ordinal > 3``
  (a 4th or later case is 处罚 again, reported so local 从重 rules can be applied).
- **从重 (policy ``aggravate_over = N``).** A 处罚 is flagged ``aggravated`` when the subject's cases of
  the same violation (by the scope) in the 365 local days up to the new case, this one included, number
  more than N. The same exclusions apply (voided, withdrawn, later, superseded, the case itself); the
  year is counted like the window (the boundary day counts). The stage stays 处罚: 从重 is a flag.
- **首违不罚 (policy ``first_violation_exempt``: violation codes).** When the new case's code is listed
  and no *counted* earlier case has exactly that code, the stage is 劝导 whatever the count (e.g. under
  ``CATEGORY`` scope after other 05 cases): the first case of a minor violation is not punished. Its
  ordinal is then 1 (the first of this code; it still counts for later cases like any other) and
  ``first_exempt`` is set (only when this lowered the stage). "Corrected at once" is what the officer
  records (当场整改); staging does not check it, and an officer whose subject refuses to correct chooses
  another stage with a reason (``choose_stage``).

Every setting lives in ``StagePolicy``; its defaults are the rule as it was before policies existed, and
``enforcement.policy`` reads the published policy document (with its version) into one.

The ``stage`` recorded for an earlier case is the stage *applied* then (the officer's choice), which is
what ``explain`` lists.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum

from enforcement.model import LOCAL_TZ, CaseStatus, HistoryEntry, Stage, StageChoiceError, local_date
from enforcement.text import Lang
from enforcement.validation import MIN_REASON_CHARS, clean_reason, reason_is_enough

#: The year of the 从重 count ("more than N in a year"), in local calendar days like the window.
YEAR_DAYS = 365


class Scope(StrEnum):
    SUBCATEGORY = "subcategory"  # same 4-digit code
    CATEGORY = "category"  # same 2-digit category


@dataclass(frozen=True, slots=True)
class StagePolicy:
    window_days: int = 365
    scope: Scope = Scope.SUBCATEGORY
    aggravate_over: int | None = None  # 从重 flagged for more than N cases in a year; None: never
    first_violation_exempt: frozenset[str] = frozenset()  # 首违不罚 violation codes
    version: int = 0  # the published policy version these settings come from (0: built in)

    def __post_init__(self) -> None:
        if self.window_days < 0:
            raise ValueError("window_days must be >= 0")
        if self.aggravate_over is not None and self.aggravate_over < 1:
            raise ValueError("aggravate_over must be >= 1")

    def same_violation(self, a: str, b: str) -> bool:
        return a == b if self.scope is Scope.SUBCATEGORY else a[:2] == b[:2]


class ExclusionReason(StrEnum):
    OTHER_VIOLATION = "other_violation"
    OUTSIDE_WINDOW = "outside_window"
    LATER = "later"
    VOIDED = "voided"
    WITHDRAWN = "withdrawn"
    SUPERSEDED = "superseded"
    SAME_CASE = "same_case"


_STAGE_NAMES = {
    Stage.PERSUASION: ("劝导", "Persuasion"),
    Stage.WARNING: ("警告", "Warning"),
    Stage.PENALTY: ("处罚", "Penalty"),
}

_REASONS = {
    ExclusionReason.OTHER_VIOLATION: ("违法类型不同（{code}）", "different violation ({code})"),
    ExclusionReason.OUTSIDE_WINDOW: ("超出{days}天回溯期", "outside the {days}-day window"),
    ExclusionReason.LATER: ("晚于本案", "later than this case"),
    ExclusionReason.VOIDED: ("已作废", "voided"),
    ExclusionReason.WITHDRAWN: ("审核撤销", "withdrawn on review"),
    ExclusionReason.SUPERSEDED: ("已被新版本取代（第{version}版）", "superseded (version {version})"),
    ExclusionReason.SAME_CASE: ("本案的其他版本", "a version of this case"),
}


def stage_name(stage: Stage, lang: Lang = "zh") -> str:
    names = _STAGE_NAMES.get(stage)  # a Stage or its int (an IntEnum hashes as its value)
    zh, en = names if names is not None else _STAGE_NAMES[Stage(stage)]
    return zh if lang == "zh" else en


def ordinal_text(n: int, lang: Lang = "zh") -> str:
    """第3次 / 3rd."""
    if lang == "zh":
        return f"第{n}次"
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def window_first_day(day: date, window_days: int = 365) -> date:
    """The first bureau-local day counted for a case on local ``day``: ``day - window_days`` (that day
    itself counts, whatever the hour)."""
    return day - timedelta(days=window_days)


def window_start(moment: datetime, window_days: int = 365) -> datetime:
    """The first instant counted for a case at ``moment``: local midnight of ``window_first_day`` (what
    HQ's history feed sends phones from, so the phone's history covers every case the rule counts)."""
    first = window_first_day(local_date(moment), window_days)
    return datetime.combine(first, time.min, LOCAL_TZ)


def _day(entry: HistoryEntry) -> date:
    return local_date(entry.occurred_at)


def day_text(day: date, year: int) -> str:
    """``10-02`` within ``year`` (the new case's year), ``2025-10-02`` in any other year."""
    return f"{day:%m-%d}" if day.year == year else f"{day:%Y-%m-%d}"


#: The counted cases ``StageDecision.explain`` lists, the latest ones: the line a case carries (HQ stores
#: it with the case and sends it to phones) stays short however long the subject's history is.
EXPLAINED_CASES = 5


@dataclass(frozen=True, slots=True)
class StageDecision:
    stage: Stage
    ordinal: int
    repeated: bool
    counted: tuple[HistoryEntry, ...]  # oldest first
    excluded: tuple[tuple[HistoryEntry, ExclusionReason], ...]  # oldest first
    window_days: int = 365
    aggravated: bool = False  # 处罚 with 从重 flagged (policy ``aggravate_over``)
    first_exempt: bool = False  # 劝导 by 首违不罚 where the count alone gave more
    policy_version: int = 0  # the version of the policy that decided
    #: The new case's local day: an earlier case of another year is written with its year in ``explain``
    #: (None: month-day only, as a decision made before this field existed).
    day: date | None = None

    def explain(self, lang: Lang = "zh") -> str:
        """One line for the officer: "第3次 · 处罚：10-02 劝导，11-01 警告" (a case of an earlier year than
        the new case's with its year: "2025-12-30 劝导"); past ``EXPLAINED_CASES`` counted cases, the
        latest ones after "更早N次从略"."""
        head = f"{ordinal_text(self.ordinal, lang)} · {stage_name(self.stage, lang)}"
        if self.aggravated:
            head += "（从重）" if lang == "zh" else " (aggravated)"
        if self.first_exempt:
            head += "（首违不罚）" if lang == "zh" else " (first violation: no penalty)"
        if not self.counted:
            return head
        year = self.day.year if self.day is not None else None
        shown = self.counted[-EXPLAINED_CASES:]
        items = [f"{_day(e):%m-%d}" if year is None else day_text(_day(e), year) for e in shown]
        items = [f"{when} {stage_name(e.stage, lang)}" for when, e in zip(items, shown, strict=True)]
        if left := len(self.counted) - len(shown):  # the ordinal says how many; ``details`` lists them all
            items.insert(0, f"更早{left}次从略" if lang == "zh" else f"{left} earlier not listed")
        return f"{head}：{'，'.join(items)}" if lang == "zh" else f"{head}: {', '.join(items)}"

    def details(self, lang: Lang = "zh") -> list[str]:
        """One line per earlier case: counted ones first, then each excluded one with its reason."""
        lines = []
        for entry in self.counted:
            applied = stage_name(entry.stage, lang)
            lines.append(
                f"{_day(entry):%Y-%m-%d} {entry.case_no}：{applied}，计入"
                if lang == "zh"
                else f"{_day(entry):%Y-%m-%d} {entry.case_no}: {applied}, counted"
            )
        for entry, reason in self.excluded:
            zh, en = _REASONS[reason]
            words = (zh if lang == "zh" else en).format(
                code=entry.violation_code, days=self.window_days, version=entry.version
            )
            lines.append(
                f"{_day(entry):%Y-%m-%d} {entry.case_no}：{words}，不计入"
                if lang == "zh"
                else f"{_day(entry):%Y-%m-%d} {entry.case_no}: {words}, not counted"
            )
        return lines


def _sort_key(entry: HistoryEntry) -> tuple[datetime, str, int, str]:
    return (entry.occurred_at, entry.case_no, entry.version, entry.case_id)


def compute_stage(
    violation_code: str,
    occurred_at: datetime,
    history: Iterable[HistoryEntry],
    policy: StagePolicy = StagePolicy(),
    *,
    case_no: str | None = None,
) -> StageDecision:
    """The stage due for a new case of ``violation_code`` at ``occurred_at`` given the subject's history
    (any order, any duplicates). ``case_no``: the case being amended; its own versions never count."""
    new_day = local_date(occurred_at)
    first_day = window_first_day(new_day, policy.window_days)

    unique = {(e.case_id, e.version): e for e in history}.values()
    latest: dict[str, HistoryEntry] = {}
    for entry in sorted(unique, key=_sort_key):
        best = latest.get(entry.case_no)
        if best is None or (entry.version, entry.case_id) > (best.version, best.case_id):
            latest[entry.case_no] = entry

    counted: list[HistoryEntry] = []
    excluded: list[tuple[HistoryEntry, ExclusionReason]] = []
    for entry in unique:
        reason = _exclusion(
            entry, latest[entry.case_no], violation_code, occurred_at, first_day, policy, case_no
        )
        if reason is None:
            counted.append(entry)
        else:
            excluded.append((entry, reason))

    counted.sort(key=_sort_key)
    excluded.sort(key=lambda pair: (*_sort_key(pair[0]), pair[1].value))
    stage, ordinal, first_exempt = stage_of_count(counted, violation_code, policy)
    aggravated = False
    if policy.aggravate_over is not None and stage == Stage.PENALTY:
        year_first = window_first_day(new_day, YEAR_DAYS)
        in_year = sum(
            1
            for e in unique
            if _exclusion(e, latest[e.case_no], violation_code, occurred_at, year_first, policy, case_no)
            is None
        )
        aggravated = in_year + 1 > policy.aggravate_over
    return StageDecision(
        stage=stage,
        ordinal=ordinal,
        repeated=ordinal > Stage.PENALTY,
        counted=tuple(counted),
        excluded=tuple(excluded),
        window_days=policy.window_days,
        aggravated=aggravated,
        first_exempt=first_exempt,
        policy_version=policy.version,
        day=new_day,
    )


def stage_of_count(
    counted: Sequence[HistoryEntry], violation_code: str, policy: StagePolicy
) -> tuple[Stage, int, bool]:
    """The stage, the ordinal and whether 首违不罚 lowered the stage, for these counted earlier cases."""
    ordinal = len(counted) + 1
    stage = Stage(min(ordinal, Stage.PENALTY))
    exempt = violation_code in policy.first_violation_exempt and stage > Stage.PERSUASION
    if exempt and not any(e.violation_code == violation_code for e in counted):
        return Stage.PERSUASION, 1, True
    return stage, ordinal, False


def _exclusion(
    entry: HistoryEntry,
    latest: HistoryEntry,
    violation_code: str,
    occurred_at: datetime,
    first_day: date,
    policy: StagePolicy,
    case_no: str | None,
) -> ExclusionReason | None:
    if case_no is not None and entry.case_no == case_no:
        return ExclusionReason.SAME_CASE
    if entry is not latest:
        return ExclusionReason.SUPERSEDED
    if entry.status == CaseStatus.VOIDED:
        return ExclusionReason.VOIDED
    if entry.status == CaseStatus.WITHDRAWN:
        return ExclusionReason.WITHDRAWN
    if not policy.same_violation(entry.violation_code, violation_code):
        return ExclusionReason.OTHER_VIOLATION
    if entry.occurred_at > occurred_at:
        return ExclusionReason.LATER
    if _day(entry) < first_day:
        return ExclusionReason.OUTSIDE_WINDOW
    return None


def choose_stage(decision: StageDecision, chosen: Stage, reason: str) -> str:
    """The cleaned override reason for choosing ``chosen`` over the computed stage: ``""`` when they are
    the same; ``StageChoiceError`` when they differ and the reason has fewer than 4 non-space
    characters."""
    try:
        chosen = Stage(chosen)
    except ValueError:
        raise StageChoiceError(
            f"{chosen!r} is not a stage", zh="请选择处置阶段（劝导、警告或处罚）", field="chosen_stage"
        ) from None
    if chosen == decision.stage:
        return ""
    if not reason_is_enough(reason):
        raise StageChoiceError(
            f"you chose {stage_name(chosen, 'en')} instead of {stage_name(decision.stage, 'en')}: write the "
            f"reason (at least {MIN_REASON_CHARS} characters)",
            zh=f"您选择了“{stage_name(chosen)}”而非系统计算的“{stage_name(decision.stage)}”，"
            f"请写明理由（至少{MIN_REASON_CHARS}个字）",
            field="stage_override_reason",
        )
    return clean_reason(reason)
