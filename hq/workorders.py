"""Work orders at HQ (issue #15): intake, dispatch, officers' events through the push, follow-up, fan-out.

- **Intake** (``file_order``): the desk (dashboard form or JSON API) or an Open311 partner files a complaint:
  place (address and/or point), a category of the catalogue, a description, the caller's name and phone
  (personal data: only the desk's own view shows them; everything else gets ``mask_name``/``mask_phone``)
  and the source. The order keeps the timers HQ set for its source and category (``Tx`` timers document,
  ``enforcement.workorders.Timers``).
- **Dispatch**: HQ routes it to the squad whose ``squad_area`` zone (``hq.zones``, ``enforcement.zones``)
  contains the point; outside every area (or no point) it waits in the desk's manual queue (``route``). The
  squad's leader (own squad only) or the desk assigns an officer (``assign``; a later one is a reassignment,
  recorded as its own event). The public place is the grid cell's or street's name at the point, never the
  address or the point.
- **Phone events** (``apply_phone_event``, called by ``hq.ingest.push`` for the ``work_order_arrival`` /
  ``work_order_resolution`` record kinds under the same exactly-once ledger): only by the officer the order
  is assigned to; the arrival's distance to the complaint's point is computed and a far one flagged.
- **Follow-up** (``follow_up``): by the desk; 不满意 with ``reopen`` starts the next round of the same order.

Every change refolds the order's events (``enforcement.workorders.replay``), stores the summary and emits
the ``work_order`` change to the assigned officer (key ``<id>@<badge>``; an officer reassigned away gets
``assigned_to_you: false``) and to the squad's leaders (key ``<id>#<squad>``; a rerouted order goes to
the old squad's leaders too, naming its new squad, so their phones let it go). Scope comes from the caller's
session, never from a request body.

It stays one module (about 600 lines): every step of an order's life at HQ writes the same events and
fans out the same changes, and reads best in one place.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError

from enforcement import geo
from enforcement.catalogue import Catalogue
from enforcement.fielderrors import first_problem
from enforcement.model import Officer, Role, new_id
from enforcement.workorders import (
    DEFAULT_TIMERS,
    Closure,
    Event,
    EventKind,
    Satisfaction,
    Source,
    State,
    Timers,
    WorkOrderError,
    can_transition,
    check_lengths,
    check_resolution,
    mask_name,
    mask_phone,
    parse_timers,
    replay,
)
from enforcement.zones import ZoneIndex, parse_collection
from hq.storage.base import ChangeKind, ChangeScope, Storage, Tx
from hq.storage.workorder_rows import PartnerRow, WorkOrderRow, summary_timers
from sync.protocol import WO_TEXT, Errno, WorkOrderArrival, WorkOrderData, WorkOrderResolution


class WorkOrderRefused(Exception):
    """An action or a phone event HQ does not take: errno and the reason in both languages."""

    def __init__(self, errno: Errno, zh: str = "", en: str = "", status: str = "refused") -> None:
        super().__init__(en or errno.name)
        self.errno, self.zh, self.en, self.status = errno, zh, en, status


def _invalid(err: WorkOrderError, errno: Errno = Errno.WORK_ORDER_INVALID) -> WorkOrderRefused:
    return WorkOrderRefused(errno, err.zh, str(err))


# ----------------------------------------------------------------------------------------- timers, zones


def timers_of(tx: Tx) -> Timers:
    data = tx.get_work_order_timers()
    return parse_timers(data) if data else DEFAULT_TIMERS


def set_timers(storage: Storage, data: Mapping[str, Any], *, by: str, at: datetime) -> Timers:
    timers = parse_timers(data)
    with storage.transaction() as tx:
        tx.set_work_order_timers(timers.to_json(), at)
        tx.audit(by, "work_order_timers", detail=timers.to_json())
    return timers


def clip(text: str, limit: int) -> str:
    """``text`` within ``limit`` characters; a longer one cut, with a closing "…" saying it goes on."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass(frozen=True, slots=True)
class Placed:
    squad: str = ""
    place: str = ""  # grid cell's or street's name (public)


def place_of(tx: Tx, lat: float | None, lon: float | None, at: datetime) -> Placed:
    if lat is None or lon is None:
        return Placed()
    current = tx.zone_version()
    if current is None:
        return Placed()
    import json

    parsed = parse_collection(json.dumps(dict(current.data)).encode("utf-8"))
    standing = ZoneIndex(parsed.zones).standing(lat, lon, at)
    squad = standing.squad.code if standing.squad is not None else ""
    public = standing.grid or standing.street
    return Placed(squad, public.name if public is not None else "")


# ----------------------------------------------------------------------------------------- intake


@dataclass(frozen=True, slots=True)
class Complaint:
    source: Source
    category: str
    description: str
    address: str = ""
    lat: float | None = None
    lon: float | None = None
    caller_name: str = ""
    caller_phone: str = ""


def check_complaint(c: Complaint, catalogue: Catalogue) -> None:
    if c.category not in catalogue.violations:
        raise WorkOrderRefused(Errno.WORK_ORDER_INVALID, "投诉类别不在目录中", "unknown category")
    if not c.description.strip():
        raise WorkOrderRefused(Errno.WORK_ORDER_INVALID, "请填写投诉内容", "the description is empty")
    if not c.address.strip() and (c.lat is None or c.lon is None):
        raise WorkOrderRefused(Errno.WORK_ORDER_INVALID, "请填写地址或位置", "give an address or a point")
    if (c.lat is None) != (c.lon is None) or (
        c.lat is not None and c.lon is not None and not (-90 <= c.lat <= 90 and -180 <= c.lon <= 180)
    ):
        raise WorkOrderRefused(Errno.WORK_ORDER_INVALID, "位置坐标无效", "the point is not valid")
    try:
        check_lengths(
            {
                "description": c.description,
                "address": c.address,
                "caller_name": c.caller_name,
                "caller_phone": c.caller_phone,
            }
        )
    except WorkOrderError as err:
        raise _invalid(err) from err
    for value in (c.description, c.address, c.caller_name, c.caller_phone):
        if "\x00" in value or any("\ud800" <= ch <= "\udfff" for ch in value):
            raise WorkOrderRefused(
                Errno.WORK_ORDER_INVALID, "文字含有无效字符", "text holds a NUL or surrogate"
            )


def file_order(
    storage: Storage,
    complaint: Complaint,
    *,
    district: str,
    filed_by: str,
    catalogue: Catalogue,
    now: datetime,
    partner: str = "",
) -> WorkOrderRow:
    """Take a complaint as a new work order and route it (see the module doc)."""
    check_complaint(complaint, catalogue)
    c = complaint
    with storage.transaction() as tx:
        timer = timers_of(tx).for_order(c.source, c.category)
        placed = place_of(tx, c.lat, c.lon, now)
        squad = placed.squad
        known = tx.get_squad(squad) if squad else None
        if partner and known is not None:  # a city platform's complaint: the district whose area holds it
            district = known.district
        if known is None or known.district != district:
            squad = ""
        order = WorkOrderRow(
            id=new_id(),
            district=district,
            source=c.source,
            category=c.category,
            description=c.description,
            intake_at=now,
            timer=timer,
            address=c.address,
            lat=c.lat,
            lon=c.lon,
            place=placed.place,
            caller_name=c.caller_name,
            caller_phone=c.caller_phone,
            partner=partner,
            filed_by=filed_by,
        )
        tx.add_work_order(order)
        tx.add_work_order_event(Event(new_id(), order.id, EventKind.INTAKE, now, now, actor=filed_by))
        if squad:
            tx.add_work_order_event(
                Event(new_id(), order.id, EventKind.ROUTE, now, now, actor="system", squad=squad)
            )
        tx.audit(
            filed_by,
            "work_order_intake",
            target=order.id,
            detail={"source": c.source.value, "category": c.category, "squad": squad},
        )
        refresh(tx, order.id, now)
        stored = tx.get_work_order(order.id)
    assert stored is not None
    return stored


# ----------------------------------------------------------------------------------------- desk and leader


def _order(tx: Tx, order_id: str, caller: Officer) -> tuple[WorkOrderRow, State]:
    order = tx.get_work_order(order_id)
    if order is None:
        raise WorkOrderRefused(Errno.NOT_FOUND, "工单不存在", "no such work order")
    if not can_see(caller, order):
        raise WorkOrderRefused(Errno.FORBIDDEN)
    return order, replay(tx.work_order_events(order_id), order.timer)


def hq_time(tx: Tx, order_id: str, now: datetime) -> datetime:
    """The time of HQ's next event of an order: ``now``, or just after the order's latest HQ event when the
    clock has not moved past it, so HQ's own events keep distinct times in the order HQ took them (the fold
    would order same-instant ones by HQ's receive sequence anyway: ``enforcement.workorders.fold_key``)."""
    latest = max((e.at for e in tx.work_order_events(order_id) if not e.from_phone), default=None)
    return now if latest is None or now > latest else latest + timedelta(microseconds=1)


def can_see(caller: Officer, order: WorkOrderRow) -> bool:
    """Desk and HQ: their district's orders; a leader: the squad's; an officer: the ones assigned to them."""
    if caller.district != order.district:
        return False
    if caller.role in (Role.DESK, Role.HQ):
        return True
    if caller.role is Role.LEADER:
        return bool(order.squad) and order.squad == caller.squad_code
    return order.officer == caller.badge


def route(storage: Storage, order_id: str, squad: str, *, caller: Officer, now: datetime) -> WorkOrderRow:
    """The desk (or HQ) sends an order of the manual queue (or any open one) to a squad of the district."""
    if caller.role not in (Role.DESK, Role.HQ):
        raise WorkOrderRefused(Errno.FORBIDDEN)
    with storage.transaction() as tx:
        order, state = _order(tx, order_id, caller)
        target = tx.get_squad(squad)
        if target is None or target.district != order.district:
            raise WorkOrderRefused(Errno.WORK_ORDER_INVALID, "中队不存在", "no such squad in the district")
        if not can_transition(state, EventKind.ROUTE):
            raise WorkOrderRefused(Errno.WORK_ORDER_STATE)
        now = hq_time(tx, order_id, now)
        tx.add_work_order_event(
            Event(
                new_id(),
                order_id,
                EventKind.ROUTE,
                now,
                now,
                actor=caller.badge,
                round=state.current.number,
                squad=squad,
            )
        )
        tx.audit(caller.badge, "work_order_route", target=order_id, detail={"squad": squad})
        refresh(tx, order_id, now, previous_squad=state.squad)
        stored = tx.get_work_order(order_id)
    assert stored is not None
    return stored


def assign(storage: Storage, order_id: str, badge: str, *, caller: Officer, now: datetime) -> WorkOrderRow:
    """The squad's leader (own squad) or the desk assigns an active officer of the order's squad (the desk:
    of any squad of the district; an unrouted order then goes to that officer's squad)."""
    if caller.role not in (Role.DESK, Role.HQ, Role.LEADER):
        raise WorkOrderRefused(Errno.FORBIDDEN)
    with storage.transaction() as tx:
        order, state = _order(tx, order_id, caller)
        user = tx.get_user(badge)
        if (
            user is None
            or not user.active
            or user.officer.role not in (Role.OFFICER, Role.LEADER)
            or (user.officer.district != order.district)
        ):
            raise WorkOrderRefused(Errno.WORK_ORDER_INVALID, "队员不存在或已停用", "no such active officer")
        squad = user.officer.squad_code
        if caller.role is Role.LEADER and squad != caller.squad_code:
            raise WorkOrderRefused(
                Errno.FORBIDDEN, "只能派给本中队队员", "assign your own squad's officers only"
            )
        if order.squad and squad != order.squad and caller.role is Role.LEADER:
            raise WorkOrderRefused(Errno.FORBIDDEN)
        if not can_transition(state, EventKind.ASSIGN):
            raise WorkOrderRefused(Errno.WORK_ORDER_STATE)
        rnd = state.current.number
        now = hq_time(tx, order_id, now)
        if squad != order.squad:
            tx.add_work_order_event(
                Event(
                    new_id(), order_id, EventKind.ROUTE, now, now, actor=caller.badge, round=rnd, squad=squad
                )
            )
        tx.add_work_order_event(
            Event(
                new_id(), order_id, EventKind.ASSIGN, now, now, actor=caller.badge, round=rnd, officer=badge
            )
        )
        tx.audit(
            caller.badge,
            "work_order_assign",
            target=order_id,
            detail={"officer": badge, "before": state.officer},
        )
        refresh(tx, order_id, now, previous_officer=state.officer, previous_squad=state.squad)
        stored = tx.get_work_order(order_id)
    assert stored is not None
    return stored


def follow_up(
    storage: Storage,
    order_id: str,
    *,
    caller: Officer,
    now: datetime,
    reached: bool,
    satisfaction: Satisfaction | None,
    comment: str = "",
    reopen: bool = False,
) -> WorkOrderRow:
    """The desk's follow-up call (回访) of the current round; 不满意 with ``reopen`` starts the next round."""
    if caller.role not in (Role.DESK, Role.HQ):
        raise WorkOrderRefused(Errno.FORBIDDEN)
    try:
        check_lengths({"comment": comment})
    except WorkOrderError as err:
        raise _invalid(err) from err
    if reached and satisfaction is None:
        raise WorkOrderRefused(Errno.WORK_ORDER_INVALID, "请选择满意度", "choose the caller's satisfaction")
    if reopen and satisfaction is not Satisfaction.UNSATISFIED:
        raise WorkOrderRefused(Errno.WORK_ORDER_INVALID, "只有不满意可以重新办理", "only 不满意 reopens")
    with storage.transaction() as tx:
        _, state = _order(tx, order_id, caller)
        if not can_transition(state, EventKind.FOLLOW_UP):
            raise WorkOrderRefused(
                Errno.WORK_ORDER_STATE, "工单尚未办结或已回访", "not resolved, or followed up"
            )
        rnd = state.current.number
        now = hq_time(tx, order_id, now)
        tx.add_work_order_event(
            Event(
                new_id(),
                order_id,
                EventKind.FOLLOW_UP,
                now,
                now,
                actor=caller.badge,
                round=rnd,
                reached=reached,
                satisfaction=satisfaction if reached else None,
                comment=comment,
                reopen=reopen,
            )
        )
        if reopen:
            tx.add_work_order_event(
                Event(new_id(), order_id, EventKind.REOPEN, now, now, actor=caller.badge, round=rnd + 1)
            )
        tx.audit(
            caller.badge,
            "work_order_follow_up",
            target=order_id,
            detail={
                "reached": reached,
                "satisfaction": satisfaction.value if satisfaction else None,
                "reopen": reopen,
            },
        )
        refresh(tx, order_id, now)
        stored = tx.get_work_order(order_id)
    assert stored is not None
    return stored


# ----------------------------------------------------------------------------------------- phone events


def apply_phone_event(tx: Tx, user: Officer, kind: str, payload: Mapping[str, Any], now: datetime) -> str:
    """Store one pushed work-order event (inside the push's transaction); returns its id. Raises
    ``WorkOrderRefused`` (status "deferred" for an order HQ does not have)."""
    model: type[WorkOrderArrival] | type[WorkOrderResolution] = (
        WorkOrderArrival if kind == "work_order_arrival" else WorkOrderResolution
    )
    try:
        parsed = model.model_validate(payload)
    except ValidationError as exc:
        raise WorkOrderRefused(Errno.WORK_ORDER_EVENT_INVALID, *first_problem(exc)) from None
    if parsed.device_at.tzinfo is None:
        raise WorkOrderRefused(Errno.WORK_ORDER_EVENT_INVALID, "时间缺少时区", "the time has no time zone")
    order = tx.get_work_order(parsed.order_id)
    if order is None:
        raise WorkOrderRefused(Errno.WORK_ORDER_UNKNOWN, status="deferred")
    state = replay(tx.work_order_events(order.id), order.timer)
    if state.officer != user.badge or order.district != user.district:
        raise WorkOrderRefused(Errno.WORK_ORDER_NOT_ASSIGNED)
    if parsed.round != state.current.number:
        raise WorkOrderRefused(
            Errno.WORK_ORDER_STATE, "工单已进入新一轮办理", "the order is in another round"
        )
    kind_of = EventKind.ARRIVE if isinstance(parsed, WorkOrderArrival) else EventKind.RESOLVE
    base = Event(
        parsed.id,
        order.id,
        kind_of,
        parsed.device_at,
        now,
        actor=user.badge,
        round=parsed.round,
        from_phone=True,
        offset_s=parsed.offset_s,
    )
    if isinstance(parsed, WorkOrderArrival):
        if not can_transition(state, EventKind.ARRIVE):
            raise WorkOrderRefused(Errno.WORK_ORDER_STATE)
        distance = None
        if (
            parsed.lat is not None
            and parsed.lon is not None
            and order.lat is not None
            and order.lon is not None
        ):
            distance = round(geo.haversine_m((parsed.lon, parsed.lat), (order.lon, order.lat)), 1)
        event = replace(base, lat=parsed.lat, lon=parsed.lon, distance_m=distance)
    else:
        if not can_transition(state, EventKind.RESOLVE):
            raise WorkOrderRefused(Errno.WORK_ORDER_STATE)
        closure = Closure(parsed.closure)
        photos = tuple(parsed.photos)
        try:
            check_resolution(closure, parsed.case_id or "", parsed.note, photos, parsed.department)
        except WorkOrderError as err:
            raise _invalid(err, Errno.WORK_ORDER_EVENT_INVALID) from err
        if closure is Closure.CASE:
            case = tx.case_state(parsed.case_id or "")
            if case is None or case.officer_badge != user.badge:
                raise WorkOrderRefused(
                    Errno.WORK_ORDER_STATE,
                    "关联的案件尚未送达或不属于您",
                    "the linked case is not at HQ (yet) or not yours",
                    status="deferred",
                )
        event = replace(
            base,
            closure=closure,
            case_id=parsed.case_id or "",
            note=parsed.note,
            department=parsed.department,
            photos=photos,
        )
    if not tx.add_work_order_event(event):
        raise WorkOrderRefused(Errno.RECORD_ID_REUSED)
    refresh(tx, order.id, now)
    return event.id


# ----------------------------------------------------------------------------------------- fold and fan out


def refresh(
    tx: Tx, order_id: str, now: datetime, *, previous_officer: str = "", previous_squad: str = ""
) -> State:
    order = tx.get_work_order(order_id)
    assert order is not None
    state = replay(tx.work_order_events(order_id), order.timer)
    r = state.current
    latest_fu = next((x for x in reversed(state.rounds) if x.satisfaction is not None), None)
    due, arrived_ok, resolved_ok = summary_timers(state)
    tx.set_work_order_summary(
        order_id,
        squad=state.squad,
        officer=state.officer,
        stage=state.stage,
        updated_at=now,
        closed_at=r.resolved_at,
        arrive_due=r.arrive_due,
        resolve_due=r.resolve_due,
        outcome=r.closure.value if r.closure else "",
        satisfaction=latest_fu.satisfaction.value if latest_fu and latest_fu.satisfaction else "",
        due_at=due,
        first_arrived_ok=arrived_ok,
        first_resolved_ok=resolved_ok,
    )
    order = replace(order, squad=state.squad, officer=state.officer)
    data = change_data(order, state)
    if state.officer:
        tx.emit(
            ChangeKind.WORK_ORDER,
            f"{order_id}@{state.officer}",
            data.model_dump(mode="json"),
            ChangeScope(badge=state.officer),
            occurred_at=order.intake_at,
        )
    if previous_officer and previous_officer != state.officer:
        gone = data.model_copy(update={"assigned_to_you": False})
        tx.emit(
            ChangeKind.WORK_ORDER,
            f"{order_id}@{previous_officer}",
            gone.model_dump(mode="json"),
            ChangeScope(badge=previous_officer),
            occurred_at=order.intake_at,
        )
    if previous_squad and previous_squad != state.squad:  # rerouted: the old squad's leaders let it go
        tx.emit(
            ChangeKind.WORK_ORDER,
            f"{order_id}#{previous_squad}",
            data.model_dump(mode="json"),
            ChangeScope(squad=previous_squad),
            occurred_at=order.intake_at,
        )
    if state.squad:
        tx.emit(
            ChangeKind.WORK_ORDER,
            f"{order_id}#{state.squad}",
            data.model_dump(mode="json"),
            ChangeScope(squad=state.squad),
            occurred_at=order.intake_at,
        )
    return state


def change_data(order: WorkOrderRow, state: State) -> WorkOrderData:
    r = state.current
    due, arrived_ok, resolved_ok = summary_timers(state)
    latest = next((x for x in reversed(state.rounds) if x.satisfaction is not None), None)
    return WorkOrderData(
        order_id=order.id,
        round=r.number,
        stage=state.stage.value,
        source=order.source.value,
        category=order.category,
        description=clip(order.description, WO_TEXT),
        address=order.address[:200],
        lat=order.lat,
        lon=order.lon,
        place=order.place[:200],
        caller_name=mask_name(order.caller_name),
        caller_phone=mask_phone(order.caller_phone),
        squad=state.squad,
        officer=state.officer,
        intake_at=order.intake_at,
        arrive_due=r.arrive_due,
        resolve_due=r.resolve_due,
        arrived_at=r.arrived_at,
        resolved_at=r.resolved_at,
        closure=r.closure.value if r.closure else "",
        far=r.far,
        reassignments=state.reassignments,
        satisfaction=r.satisfaction.value if r.satisfaction else "",
        first_arrived_on_time=arrived_ok,
        first_resolved_on_time=resolved_ok,
        due_at=due,
        followed_up_satisfaction=latest.satisfaction.value if latest and latest.satisfaction else "",
    )


def view(order: WorkOrderRow, state: State, caller: Officer, now: datetime) -> dict[str, Any]:
    """An order as the JSON API shows it to ``caller``: the caller's contact in full only to the desk."""
    desk = caller.role is Role.DESK
    data = change_data(order, state).model_dump(mode="json")
    data.pop("assigned_to_you")
    data |= {
        "caller_name": order.caller_name if desk else mask_name(order.caller_name),
        "caller_phone": order.caller_phone if desk else mask_phone(order.caller_phone),
        "partner": order.partner,
        "overdue": state.overdue(now),
        "time_left_s": int(state.time_left(now).total_seconds()),
        "rounds": [
            {
                "round": x.number,
                "arrive_due": x.arrive_due.isoformat(),
                "resolve_due": x.resolve_due.isoformat(),
                "arrived_at": x.arrived_at.isoformat() if x.arrived_at else None,
                "arrived_on_time": x.arrived_on_time,
                "resolved_on_time": x.resolved_on_time,
                "resolved_at": x.resolved_at.isoformat() if x.resolved_at else None,
                "closure": x.closure.value if x.closure else "",
                "case_id": x.case_id,
                "note": x.note,
                "department": x.department,
                "photos": list(x.photos),
                "far": x.far,
                "distance_m": x.arrive_distance_m,
                "reached": x.reached,
                "satisfaction": x.satisfaction.value if x.satisfaction else "",
                "comment": x.comment,
            }
            for x in state.rounds
        ],
    }
    return data


# ----------------------------------------------------------------------------------------- partners


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def add_partner(storage: Storage, name: str, *, at: datetime) -> str:
    """Create (or re-key) an Open311 partner; returns the api_key (shown once; only its hash is kept)."""
    name = name.strip()
    if not name or len(name) > 64:
        raise WorkOrderRefused(Errno.WORK_ORDER_INVALID, "名称须为 1–64 个字符", "name: 1-64 characters")
    key = "sp311_" + secrets.token_urlsafe(32)
    with storage.transaction() as tx:
        tx.put_partner(PartnerRow(name, key_hash(key), at, True))
        tx.audit("cli", "partner_add", target=name)
    return key


def partner_of(storage: Storage, api_key: str | None) -> PartnerRow | None:
    if not api_key or len(api_key) > 200:
        return None
    with storage.transaction(readonly=True) as tx:
        row = tx.partner_by_key(key_hash(api_key))
    return row if row is not None and row.active else None
