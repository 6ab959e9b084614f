"""Hotline complaints as work orders (热线投诉工单): states, transitions, timers, on time or overdue. Pure.

A complaint (from the 12345 / 12319 hotlines, the bureau's own hotline, an online platform or a walk-in)
becomes a work order with a place, a category (a violation code of the catalogue), a description and the
caller's contact (personal data: ``mask_name`` / ``mask_phone`` everywhere but the desk's own view).
Its life is a set of **events**; the order's state is a pure function of that set (``replay``)::

    受理 intake ──route──▶ 派遣 dispatched (squad; an officer assigned; reassignment recorded)
         ──arrive──▶ 到达 arrived ──resolve──▶ 办结 resolved (a linked case, or closed as 未发现违法 /
         当事人已自行整改 / 移交 with a note and ≥ 1 photo) ──follow_up──▶ 回访 followed up
         (reached or not; 满意 / 基本满意 / 不满意 + comment). 不满意 with ``reopen``: a new *round* of the
         same order, back to dispatched (same officer), new deadlines from the reopening.

**Time.** Every deadline is HQ time: intake (or the reopening) + the timer of the order's source and
category (``Timers``: 1 h to arrive, 2 days to resolve by default; HQ sets them as data, and the order
keeps the timers it was taken in with). An event from a phone carries the phone's clock (``device_at``)
and the offset the phone knows (``offset_s`` = HQ − phone, measured against HQ's ``server_time`` at its
last contact; ``None``: it knows none). HQ computes the corrected time (``corrected_at``) and bounds it by
what HQ itself knows: never before the officer was assigned (HQ time), never after HQ received the event,
and an unknown or implausible offset (over ``MAX_OFFSET``) means HQ's receipt time. So a phone clock that
is ahead only makes an event later, and no phone clock can put an event before the order reached its
officer: a late order never becomes on time by a phone's say-so.

**Order of arrival does not matter.** ``replay`` dedupes events by id and folds them in one total order
that every replica computes alike: (round, kind precedence, corrected time, HQ's receive sequence, id).
The kind precedence puts what happens first in an order's life first (a round opens with its reopening,
then intake, route, assign, arrive, resolve, follow-up); events of one kind at the same HQ instant (two
routes or an assignment and a reassignment in one tick of a coarse clock) fold in the order HQ stored them
(``seq``: the storage numbers each order's events 1, 2, … as it inserts them, under a per-order lock, and
every node reads the same numbers back). The random event id only separates events HQ never stored
(``seq`` 0, e.g. in tests), so the same set of stored events, arriving late, twice or shuffled, gives the
same state on every node.

**On time** (per round; the figures use the first round, as the complaint was received): arrived on time
when the corrected arrival is at or before ``arrive_due``; resolved on time likewise with ``resolve_due``.
**Overdue** at ``now``: not arrived past ``arrive_due``, or not resolved past ``resolve_due``, or resolved
but not followed up past ``follow_up_due``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum

from enforcement.text import Lang


class Source(StrEnum):
    HOTLINE_12345 = "12345"  # 12345 政务服务便民热线
    HOTLINE_12319 = "12319"  # 12319 城建（城管）热线
    BUREAU = "bureau"  # 局热线 / 行风热线
    ONLINE = "online"  # 网络（网站、平台、Open311 partners）
    WALK_IN = "walk_in"  # 现场（来访、现场反映）


SOURCE_TEXT: Mapping[Source, tuple[str, str]] = {
    Source.HOTLINE_12345: ("热线 12345", "Hotline 12345"),
    Source.HOTLINE_12319: ("热线 12319", "Hotline 12319"),
    Source.BUREAU: ("局热线", "Bureau hotline"),
    Source.ONLINE: ("网络", "Online"),
    Source.WALK_IN: ("现场", "Walk-in"),
}


class Stage(StrEnum):
    INTAKE = "intake"  # 受理
    DISPATCHED = "dispatched"  # 派遣
    ARRIVED = "arrived"  # 到达
    RESOLVED = "resolved"  # 办结
    FOLLOWED_UP = "followed_up"  # 回访


STAGE_TEXT: Mapping[Stage, tuple[str, str]] = {
    Stage.INTAKE: ("受理", "Intake"),
    Stage.DISPATCHED: ("派遣", "Dispatched"),
    Stage.ARRIVED: ("到达", "Arrived"),
    Stage.RESOLVED: ("办结", "Resolved"),
    Stage.FOLLOWED_UP: ("回访", "Followed up"),
}


class Closure(StrEnum):
    CASE = "case"  # 立案处置：a linked case
    NO_VIOLATION = "no_violation"  # 未发现违法
    SELF_CORRECTED = "self_corrected"  # 当事人已自行整改
    TRANSFERRED = "transferred"  # 移交（其他部门）


CLOSURE_TEXT: Mapping[Closure, tuple[str, str]] = {
    Closure.CASE: ("立案处置", "Case recorded"),
    Closure.NO_VIOLATION: ("未发现违法", "No violation found"),
    Closure.SELF_CORRECTED: ("当事人已自行整改", "Corrected by the party"),
    Closure.TRANSFERRED: ("移交", "Transferred"),
}


class Satisfaction(StrEnum):
    SATISFIED = "satisfied"  # 满意
    BASIC = "basic"  # 基本满意
    UNSATISFIED = "unsatisfied"  # 不满意


SATISFACTION_TEXT: Mapping[Satisfaction, tuple[str, str]] = {
    Satisfaction.SATISFIED: ("满意", "Satisfied"),
    Satisfaction.BASIC: ("基本满意", "Fairly satisfied"),
    Satisfaction.UNSATISFIED: ("不满意", "Unsatisfied"),
}


class EventKind(StrEnum):
    INTAKE = "intake"  # HQ: the desk or a partner filed it
    ROUTE = "route"  # HQ: to a squad ("" = the desk's manual queue)
    ASSIGN = "assign"  # HQ: an officer assigned (a later one is a reassignment)
    ARRIVE = "arrive"  # phone: the assigned officer on the spot (time, GPS, distance)
    RESOLVE = "resolve"  # phone: resolved (linked case, or a closure with note and photo)
    FOLLOW_UP = "follow_up"  # HQ: the desk's follow-up call (回访)
    REOPEN = "reopen"  # HQ: 不满意 reopened the order: the next round


#: Fold order within a round: what happened first in the order's life comes first (a round opens with its
#: REOPEN; the first round with INTAKE).
_RANK = {k: i for i, k in enumerate(EventKind)} | {EventKind.REOPEN: -1}

#: An offset the phone claims beyond this is not believed (HQ's receipt time is used).
MAX_OFFSET = timedelta(days=2)
#: An arrival farther than this from the complaint's point is flagged (not refused).
FAR_M = 300.0
#: Text bounds of a work order's fields (characters). A complaint's description may be as long as Open311
#: GeoReport v2 allows (4,000: a hotline's transcription); phones get its first ``sync.protocol.WO_TEXT``.
LIMITS: Mapping[str, int] = {
    "address": 200,
    "description": 4000,
    "caller_name": 64,
    "caller_phone": 32,
    "note": 500,
    "comment": 500,
    "department": 64,
    "partner": 64,
}
#: At most this many photo hashes on a resolution.
MAX_PHOTOS = 9


class WorkOrderError(ValueError):
    """A transition or an input the domain refuses, in both languages."""

    def __init__(self, en: str, zh: str, field: str = "") -> None:
        super().__init__(en)
        self.en, self.zh, self.field = en, zh, field


@dataclass(frozen=True, slots=True)
class Timer:
    arrive: timedelta = timedelta(hours=1)
    resolve: timedelta = timedelta(days=2)
    follow_up: timedelta = timedelta(days=3)  # after resolution


@dataclass(frozen=True, slots=True)
class Timers:
    """HQ's timers as data: a default, and overrides by source, by category (2-digit or 4-digit code) or
    by both; the most specific wins (source+code, source+category, code, category, source, default)."""

    default: Timer = Timer()
    overrides: Mapping[str, Timer] = field(default_factory=dict)  # keys "source|code", "|code", "source|"

    def for_order(self, source: Source, code: str) -> Timer:
        for key in (f"{source}|{code}", f"{source}|{code[:2]}", f"|{code}", f"|{code[:2]}", f"{source}|"):
            if key in self.overrides:
                return self.overrides[key]
        return self.default

    def to_json(self) -> dict[str, object]:
        def one(t: Timer) -> dict[str, int]:
            return {"arrive_s": int(t.arrive.total_seconds()), "resolve_s": int(t.resolve.total_seconds()),
                    "follow_up_s": int(t.follow_up.total_seconds())}  # fmt: skip

        return {
            "default": one(self.default),
            "overrides": {k: one(v) for k, v in sorted(self.overrides.items())},
        }


def _seconds(raw: object, name: str) -> timedelta:
    if not isinstance(raw, int) or isinstance(raw, bool) or not 60 <= raw <= 90 * 86400:
        raise WorkOrderError(
            f"{name} must be whole seconds from 60 to 90 days", f"{name} 须为 60 秒至 90 天的整数秒"
        )
    return timedelta(seconds=raw)


def parse_timers(data: object) -> Timers:
    """Timers from their JSON form (``Timers.to_json``); ``WorkOrderError`` when malformed."""
    if not isinstance(data, Mapping):
        raise WorkOrderError("timers must be a JSON object", "时限设置须为 JSON 对象")

    def one(raw: object) -> Timer:
        if not isinstance(raw, Mapping):
            raise WorkOrderError("a timer must be a JSON object", "时限须为 JSON 对象")
        base = Timer()
        return Timer(
            _seconds(raw.get("arrive_s", int(base.arrive.total_seconds())), "arrive_s"),
            _seconds(raw.get("resolve_s", int(base.resolve.total_seconds())), "resolve_s"),
            _seconds(raw.get("follow_up_s", int(base.follow_up.total_seconds())), "follow_up_s"),
        )

    overrides = data.get("overrides", {})
    if not isinstance(overrides, Mapping) or len(overrides) > 500:
        raise WorkOrderError(
            "overrides must be an object of at most 500 keys", "覆盖项须为不超过 500 项的对象"
        )
    parsed: dict[str, Timer] = {}
    for key, raw in overrides.items():
        src, sep, code = str(key).partition("|")
        if (
            not sep
            or (src and src not in Source.__members__.values())
            or (code and not (code.isdigit() and len(code) in (2, 4)))
        ):
            raise WorkOrderError(
                f"bad override key {key!r} (source|code)", f"覆盖项键“{key}”无效（来源|代码）"
            )
        parsed[str(key)] = one(raw)
    return Timers(one(data.get("default", {})), parsed)


DEFAULT_TIMERS = Timers()


@dataclass(frozen=True, slots=True)
class Event:
    """One event of a work order. HQ events carry HQ's time in ``at`` (``received_at`` = ``at``); phone
    events carry the phone's clock in ``at`` with ``offset_s`` and HQ's receipt time in ``received_at``."""

    id: str
    order_id: str
    kind: EventKind
    at: datetime
    received_at: datetime
    actor: str = ""  # badge, "desk:<badge>", "partner:<name>", "system"
    round: int = 1
    from_phone: bool = False
    offset_s: float | None = None  # HQ − phone, as the phone knows it; None: unknown
    squad: str = ""  # ROUTE
    officer: str = ""  # ASSIGN
    lat: float | None = None  # ARRIVE
    lon: float | None = None
    distance_m: float | None = None
    closure: Closure | None = None  # RESOLVE
    case_id: str = ""
    note: str = ""
    department: str = ""
    photos: tuple[str, ...] = ()
    reached: bool = True  # FOLLOW_UP: the caller was reached
    satisfaction: Satisfaction | None = None
    comment: str = ""
    reopen: bool = False
    #: HQ's receive sequence within the order (1, 2, …; assigned by the storage at insert; 0: not stored)
    seq: int = 0


def corrected_at(event: Event, not_before: datetime | None = None) -> datetime:
    """HQ's time of an event: its own for HQ events; for a phone event the phone's clock corrected by the
    offset it knows, never after HQ received it and never before ``not_before`` (when the order reached
    the officer); HQ's receipt time when the offset is unknown or implausible."""
    if not event.from_phone:
        return event.at
    if event.offset_s is None or abs(event.offset_s) > MAX_OFFSET.total_seconds():
        return event.received_at
    when = min(event.at + timedelta(seconds=event.offset_s), event.received_at)
    if not_before is not None and when < not_before:
        when = not_before
    return when


@dataclass(frozen=True, slots=True)
class Round:
    """One round of an order (round 1: as received; later rounds: reopened after 不满意)."""

    number: int
    started_at: datetime
    arrive_due: datetime
    resolve_due: datetime
    arrived_at: datetime | None = None
    arrive_distance_m: float | None = None
    far: bool = False
    resolved_at: datetime | None = None
    closure: Closure | None = None
    case_id: str = ""
    note: str = ""
    department: str = ""
    photos: tuple[str, ...] = ()
    resolved_by: str = ""
    follow_up_due: datetime | None = None
    followed_up_at: datetime | None = None
    reached: bool | None = None
    satisfaction: Satisfaction | None = None
    comment: str = ""

    @property
    def arrived_on_time(self) -> bool:
        return self.arrived_at is not None and self.arrived_at <= self.arrive_due

    @property
    def resolved_on_time(self) -> bool:
        return self.resolved_at is not None and self.resolved_at <= self.resolve_due


@dataclass(frozen=True, slots=True)
class State:
    """A work order's state, folded from its events."""

    order_id: str
    stage: Stage
    intake_at: datetime
    squad: str = ""  # "" while in the desk's manual queue
    officer: str = ""
    assigned_at: datetime | None = None
    reassignments: int = 0
    #: (badge, HQ time the order first reached them), in assignment order
    assigned: tuple[tuple[str, datetime], ...] = ()
    rounds: tuple[Round, ...] = ()

    @property
    def current(self) -> Round:
        return self.rounds[-1]

    @property
    def first(self) -> Round:
        return self.rounds[0]

    def overdue(self, now: datetime) -> bool:
        r = self.current
        if r.resolved_at is None:
            return (r.arrived_at is None and now > r.arrive_due) or now > r.resolve_due
        return r.followed_up_at is None and r.follow_up_due is not None and now > r.follow_up_due

    def time_left(self, now: datetime) -> timedelta:
        """Until the next deadline of the current round (negative: overdue by that much)."""
        r = self.current
        if r.resolved_at is None:
            due = r.arrive_due if r.arrived_at is None else r.resolve_due
            due = min(due, r.resolve_due)
        else:
            due = r.follow_up_due or r.resolved_at
        return due - now

    @property
    def closed(self) -> bool:
        return self.stage in (Stage.RESOLVED, Stage.FOLLOWED_UP)


def fold_key(event: Event) -> tuple[int, int, datetime, int, str]:
    """The total order ``replay`` folds events in (see the module doc): round, kind precedence, corrected
    time, then HQ's receive sequence; the id last (only events HQ never stored tie on all the rest)."""
    return (event.round, _RANK[event.kind], corrected_at(event), event.seq, event.id)


def replay(events: Iterable[Event], timer: Timer = Timer()) -> State:
    """The order's state from its events, whatever order they arrived in (duplicates by id ignored).
    ``timer``: the order's timers (kept with the order from intake). ``WorkOrderError`` without intake."""
    unique: dict[str, Event] = {}
    for e in events:  # a copy read twice keeps one, the same one whatever order the copies came in
        kept = unique.get(e.id)
        if kept is None or fold_key(e) < fold_key(kept):
            unique[e.id] = e
    ordered = sorted(unique.values(), key=fold_key)
    intake = next((e for e in ordered if e.kind is EventKind.INTAKE), None)
    if intake is None:
        raise WorkOrderError("a work order needs its intake event", "工单缺少受理记录")
    start = intake.at
    state = State(intake.order_id, Stage.INTAKE, start,
                  rounds=(Round(1, start, start + timer.arrive, start + timer.resolve),))  # fmt: skip
    for event in ordered:
        state = _apply(state, event, timer)
    return state


def _with_round(state: State, rnd: Round, stage: Stage | None = None) -> State:
    return replace(state, rounds=(*state.rounds[:-1], rnd), stage=stage or state.stage)


def _floor(state: State, e: Event) -> datetime:
    """The earliest HQ time a phone event can have: its round's start, and when its officer got the order."""
    reached = dict(state.assigned).get(e.actor)
    start = state.current.started_at
    return max(start, reached) if reached is not None else max(start, state.assigned_at or start)


def _apply(state: State, e: Event, timer: Timer) -> State:
    if e.kind is EventKind.REOPEN:
        if e.round != state.current.number + 1 or state.current.resolved_at is None:
            return state
        start = e.at
        new = Round(e.round, start, start + timer.arrive, start + timer.resolve)
        stage = Stage.DISPATCHED if state.officer else Stage.INTAKE
        return replace(state, rounds=(*state.rounds, new), stage=stage)
    if e.round != state.current.number:
        return state  # an event of a round that never started (or is over) changes nothing
    r = state.current
    if e.kind is EventKind.ROUTE:
        return replace(state, squad=e.squad)
    if e.kind is EventKind.ASSIGN:
        re_ = state.reassignments + (1 if state.officer and e.officer != state.officer else 0)
        stage = Stage.DISPATCHED if state.stage is Stage.INTAKE else state.stage
        seen = dict(state.assigned)
        assigned = state.assigned if e.officer in seen else (*state.assigned, (e.officer, e.at))
        return replace(state, officer=e.officer, assigned_at=e.at, reassignments=re_, stage=stage,
                       assigned=assigned)  # fmt: skip
    if e.kind is EventKind.ARRIVE:
        if r.arrived_at is not None or r.resolved_at is not None:
            return state
        when = corrected_at(e, _floor(state, e))
        far = e.distance_m is not None and e.distance_m > FAR_M
        return _with_round(state, replace(r, arrived_at=when, arrive_distance_m=e.distance_m, far=far),
                           Stage.ARRIVED)  # fmt: skip
    if e.kind is EventKind.RESOLVE:
        if r.resolved_at is not None:
            return state
        when = corrected_at(e, _floor(state, e))
        if r.arrived_at is not None and when < r.arrived_at:
            when = r.arrived_at
        arrived = r.arrived_at if r.arrived_at is not None else when  # resolved on the spot: there then
        rnd = replace(r, arrived_at=arrived, resolved_at=when, closure=e.closure, case_id=e.case_id,
                      note=e.note, department=e.department, photos=e.photos, resolved_by=e.actor,
                      follow_up_due=when + timer.follow_up)  # fmt: skip
        return _with_round(state, rnd, Stage.RESOLVED)
    if e.kind is EventKind.FOLLOW_UP:
        if r.resolved_at is None or r.followed_up_at is not None:
            return state
        rnd = replace(
            r, followed_up_at=e.at, reached=e.reached, satisfaction=e.satisfaction, comment=e.comment
        )
        return _with_round(state, rnd, Stage.FOLLOWED_UP)
    return state  # INTAKE: already the start


# ---------------------------------------------------------------------------------------- checks


def check_resolution(
    closure: Closure | None, case_id: str, note: str, photos: tuple[str, ...], department: str = ""
) -> None:
    """A resolution is a linked case, or a closure with a note and at least one photo (移交: a department)."""
    if closure is None:
        raise WorkOrderError("a resolution needs a closure kind", "办结须选择处置结果", "closure")
    if closure is Closure.CASE:
        if not case_id:
            raise WorkOrderError("a resolution by case needs the case id", "立案处置须关联案件", "case_id")
        return
    if not note.strip():
        raise WorkOrderError("a closure without a case needs a note", "未立案办结须填写说明", "note")
    if not photos:
        raise WorkOrderError(
            "a closure without a case needs at least one photo", "未立案办结须至少一张照片", "photos"
        )
    if len(photos) > MAX_PHOTOS:
        raise WorkOrderError(f"at most {MAX_PHOTOS} photos", f"照片最多 {MAX_PHOTOS} 张", "photos")
    if closure is Closure.TRANSFERRED and not department.strip():
        raise WorkOrderError("a transfer names the department", "移交须填写接收部门", "department")


def check_lengths(values: Mapping[str, str]) -> None:
    for name, value in values.items():
        limit = LIMITS.get(name)
        if limit is not None and len(value) > limit:
            raise WorkOrderError(f"{name} is over {limit} characters", f"{name} 超过 {limit} 个字符", name)


def can_transition(state: State, kind: EventKind) -> bool:
    """Whether an event of ``kind`` would move the order now (the routes refuse what would not)."""
    r = state.current
    match kind:
        case EventKind.ROUTE | EventKind.ASSIGN:
            return r.resolved_at is None
        case EventKind.ARRIVE:
            return bool(state.officer) and r.arrived_at is None and r.resolved_at is None
        case EventKind.RESOLVE:
            return bool(state.officer) and r.resolved_at is None
        case EventKind.FOLLOW_UP:
            return r.resolved_at is not None and r.followed_up_at is None
        case EventKind.REOPEN:
            return r.followed_up_at is not None and r.satisfaction is Satisfaction.UNSATISFIED
    return False


# ---------------------------------------------------------------------------------------- masking


def mask_name(name: str) -> str:
    """张三 → 张*, 欧阳娜娜 → 欧***: the first character only."""
    name = name.strip()
    return name[:1] + "*" * max(1, len(name) - 1) if name else ""


def mask_phone(phone: str) -> str:
    """13812345678 → 138****5678; short numbers keep their last 2 digits only."""
    digits = "".join(ch for ch in phone if ch.isdigit())
    if len(digits) >= 7:
        return digits[:3] + "****" + digits[-4:]
    return "*" * max(0, len(digits) - 2) + digits[-2:] if digits else ""


# ---------------------------------------------------------------------------------------- figures


@dataclass(frozen=True, slots=True)
class Figures:
    """The bureau's figures over a set of orders (first rounds; satisfaction of the latest follow-up that
    reached the caller)."""

    received: int = 0
    arrived_on_time: int = 0
    resolved_on_time: int = 0
    resolved: int = 0
    followed_up: int = 0
    satisfied: int = 0  # 满意 + 基本满意
    overdue: int = 0

    @staticmethod
    def _rate(n: int, d: int) -> float:
        return round(100.0 * n / d, 1) if d else 0.0

    @property
    def arrive_rate(self) -> float:
        return self._rate(self.arrived_on_time, self.received)

    @property
    def resolve_rate(self) -> float:
        return self._rate(self.resolved_on_time, self.received)

    @property
    def satisfaction_rate(self) -> float:
        return self._rate(self.satisfied, self.followed_up)

    def line(self, lang: Lang = "zh") -> str:
        if lang == "zh":
            return (
                f"受理热线投诉 {self.received} 件，"
                f"1 小时内到场 {self.arrived_on_time} 件（到场率 {self.arrive_rate}%），"
                f"两日内办结 {self.resolved_on_time} 件（办结率 {self.resolve_rate}%），"
                f"回访满意率 {self.satisfaction_rate}%"
            )
        return (
            f"{self.received} hotline complaints received, "
            f"{self.arrived_on_time} reached within 1 hour ({self.arrive_rate}%), "
            f"{self.resolved_on_time} resolved within 2 days ({self.resolve_rate}%), "
            f"follow-up satisfaction {self.satisfaction_rate}%"
        )


def figures(states: Iterable[State], now: datetime) -> Figures:
    received = arrived = resolved_ot = resolved = followed = satisfied = overdue = 0
    for s in states:
        received += 1
        arrived += s.first.arrived_on_time
        resolved_ot += s.first.resolved_on_time
        resolved += s.current.resolved_at is not None
        overdue += s.overdue(now)
        latest = next((r for r in reversed(s.rounds) if r.followed_up_at is not None and r.reached), None)
        if latest is not None and latest.satisfaction is not None:
            followed += 1
            satisfied += latest.satisfaction in (Satisfaction.SATISFIED, Satisfaction.BASIC)
    return Figures(received, arrived, resolved_ot, resolved, followed, satisfied, overdue)


def text(table: Mapping[object, tuple[str, str]], key: object, lang: Lang = "zh") -> str:
    zh, en = table[key]
    return zh if lang == "zh" else en
