"""The squad leader's work orders on the phone (#15): each officer's open orders, overdue ones first (red
on the screen), counted against HQ's deadlines with the phone's best-known time; (re)assigning an order
to another officer of the squad online (``POST /v1/workorders/{id}/assign`` through the sync link's
worker; HQ checks the leader's squad from the token); offline the list is the last pulled state, dated,
and an assignment is refused with a clear note rather than queued (HQ's dispatch is online by nature:
the desk may be assigning the same order).

The orders come from the squad's ``work_order`` changes (``<id>#<squad>``) the leader's phone pulled
(``Store.squad_work_orders``); ``order_facts`` turns one into what the squad day log counts
(``patrollog.workorderlog``), from HQ's own on-time verdicts (HQ time), never the phone's clock. No Flet.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Protocol, cast

from enforcement.model import Officer, Role
from enforcement.text import Lang
from enforcement.workorders import Satisfaction
from mobile.state.clock import ClockState
from mobile.state.errors import AppStateError
from mobile.state.observable import Observable
from patrollog.workorderlog import OrderFacts

#: How long the screen waits for HQ's answer to an assignment.
ASSIGN_TIMEOUT_S = 20.0
_OPEN_STAGES = ("intake", "dispatched", "arrived")


class LeaderOrdersError(AppStateError):
    code = "leader_orders"


class SquadOrdersStore(Protocol):
    def squad_work_orders(self, squad_code: str) -> list[tuple[dict[str, Any], datetime]]: ...
    def squad_day(self, squad_code: str, day: date) -> Any: ...


class Link(Protocol):
    """What of the sync link (``mobile.state.sync.SyncLink``) an online assignment needs."""

    @property
    def status(self) -> Any: ...
    def submit(self, job: Callable[[Any], Any]) -> Future[Any]: ...
    def kick(self) -> None: ...


class AssignsWorkOrders(Protocol):
    def assign_work_order(self, order_id: str, badge: str) -> dict[str, Any]: ...


class HasOfficer(Protocol):
    @property
    def officer(self) -> Officer | None: ...


def _when(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) and value else None


def order_facts(data: dict[str, Any]) -> OrderFacts:
    """What the day log counts of a pulled order (``WorkOrderData`` as JSON): HQ's verdicts; from an HQ
    that sent none, round 1's own times against its deadlines (a later round's first is unknown: not on
    time)."""
    first_round = int(data.get("round") or 1) == 1
    arrived, resolved = _when(data.get("arrived_at")), _when(data.get("resolved_at"))
    arrive_due, resolve_due = _when(data.get("arrive_due")), _when(data.get("resolve_due"))
    arrived_ok = data.get("first_arrived_on_time")
    if arrived_ok is None:
        arrived_ok = first_round and arrived is not None and arrive_due is not None and arrived <= arrive_due
    resolved_ok = data.get("first_resolved_on_time")
    if resolved_ok is None:
        resolved_ok = (
            first_round and resolved is not None and resolve_due is not None and resolved <= resolve_due
        )
    due = _when(data.get("due_at"))
    if due is None and resolved is None and "first_arrived_on_time" not in data:
        due = resolve_due if arrived is not None else min(d for d in (arrive_due, resolve_due) if d)
    satisfaction = str(data.get("followed_up_satisfaction") or data.get("satisfaction") or "")
    intake = _when(data.get("intake_at"))
    assert intake is not None
    return OrderFacts(
        order_id=str(data["order_id"]),
        squad=str(data.get("squad") or ""),
        officer=str(data.get("officer") or ""),
        intake_at=intake,
        arrived_on_time=bool(arrived_ok),
        resolved_on_time=bool(resolved_ok),
        resolved=resolved is not None,
        satisfaction=satisfaction if satisfaction in set(Satisfaction) else "",
        due_at=due,
    )


@dataclass(frozen=True, slots=True)
class LeaderOrder:
    """One open order of the squad as the leader's list shows it."""

    order_id: str
    category: str
    where: str
    stage: str
    officer: str
    due: datetime  # the next deadline (arrival until arrived, then resolution)
    left: timedelta  # negative: overdue
    reassignments: int = 0

    @property
    def overdue(self) -> bool:
        return self.left < timedelta(0)


@dataclass(frozen=True, slots=True)
class OfficerOrders:
    badge: str  # "" for orders not assigned yet
    name: str
    orders: tuple[LeaderOrder, ...]

    @property
    def overdue(self) -> int:
        return sum(o.overdue for o in self.orders)


@dataclass(frozen=True, slots=True)
class LeaderOrdersSnapshot:
    groups: tuple[OfficerOrders, ...]  # officers with open orders first (most overdue first), then the rest
    officers: tuple[tuple[str, str], ...]  # (badge, name) the leader may assign to
    pulled_at: datetime | None  # when the phone last received a squad order from HQ
    offline: bool  # the last contact with HQ failed (or none yet): the list is the last pulled state
    note: str = ""
    error: str = ""
    open_total: int = field(default=0)


class LeaderOrdersState(Observable):
    def __init__(
        self,
        store: SquadOrdersStore,
        session: HasOfficer,
        link: Link,
        *,
        now: Callable[[], datetime],
        clock: ClockState | None = None,
    ) -> None:
        super().__init__()
        self._store = store
        self._session = session
        self._link = link
        self._now = now
        self.clock = clock
        self.note_zh = self.note_en = ""

    def leader(self) -> Officer:
        officer = self._session.officer
        if officer is None or officer.role is not Role.LEADER:
            raise LeaderOrdersError(
                "only a squad leader sees the squad's work orders", zh="只有中队长可查看中队工单"
            )
        return officer

    def _time(self) -> datetime:
        return self.clock.now() if self.clock is not None else self._now()

    def facts(self, squad_code: str) -> list[OrderFacts]:
        """The squad's pulled orders as the day log counts them."""
        return [order_facts(data) for data, _ in self._store.squad_work_orders(squad_code)]

    def snapshot(self, lang: Lang = "zh") -> LeaderOrdersSnapshot:
        leader = self.leader()
        now = self._time()
        pulled = self._store.squad_work_orders(leader.squad_code)
        names: dict[str, str] = {leader.badge: leader.name}
        day = self._store.squad_day(leader.squad_code, now.date())
        names.update(getattr(day, "officer_names", {}) or {})
        by_officer: dict[str, list[LeaderOrder]] = {}
        for data, _ in pulled:
            if data.get("stage") not in _OPEN_STAGES or data.get("resolved_at"):
                continue
            arrived = _when(data.get("arrived_at")) is not None
            due = _when(data.get("resolve_due" if arrived else "arrive_due"))
            resolve_due = _when(data.get("resolve_due"))
            if due is None or resolve_due is None:
                continue
            due = min(due, resolve_due)
            officer = str(data.get("officer") or "")
            by_officer.setdefault(officer, []).append(
                LeaderOrder(
                    order_id=str(data["order_id"]),
                    category=str(data.get("category") or ""),
                    where=str(data.get("address") or data.get("place") or ""),
                    stage=str(data.get("stage") or ""),
                    officer=officer,
                    due=due,
                    left=due - now,
                    reassignments=int(data.get("reassignments") or 0),
                )
            )
        groups = [
            OfficerOrders(
                badge, names.get(badge, ""), tuple(sorted(orders, key=lambda o: (o.left, o.order_id)))
            )
            for badge, orders in by_officer.items()
        ]
        groups.sort(key=lambda g: (-g.overdue, g.orders[0].left if g.orders else timedelta(0), g.badge))
        for data, _ in pulled:  # every officer the squad's orders name can be chosen too
            badge = str(data.get("officer") or "")
            if badge:
                names.setdefault(badge, "")
        status = self._link.status
        offline = status.online is not True
        return LeaderOrdersSnapshot(
            groups=tuple(groups),
            officers=tuple(sorted(names.items())),
            pulled_at=max((at for _, at in pulled), default=None),
            offline=offline,
            note=self.note_zh if lang == "zh" else self.note_en,
            open_total=sum(len(g.orders) for g in groups),
        )

    def assign(self, order_id: str, badge: str, *, timeout: float = ASSIGN_TIMEOUT_S) -> dict[str, Any]:
        """Assign (or reassign) the order to ``badge`` at HQ, online; then pull so the list shows HQ's
        answer. Offline (the last contact failed): refused with a note, nothing queued. HQ's refusal (not
        the squad's officer, the order resolved meanwhile…) comes back in both languages."""
        self.leader()
        self.note_zh = self.note_en = ""  # the last assignment's note does not outlive a new attempt
        badge = badge.strip()
        if not badge:
            raise LeaderOrdersError("choose an officer", zh="请选择队员", field="badge")
        if self._link.status.online is not True:
            raise LeaderOrdersError(
                "offline: assignments need a connection to HQ; the list is the last pulled state",
                zh="当前离线：改派需要连接指挥中心，列表为上次同步时的状态",
            )
        future = self._link.submit(
            lambda backend: cast(AssignsWorkOrders, backend).assign_work_order(order_id, badge)
        )
        try:
            answer = future.result(timeout=timeout)
        except TimeoutError:
            raise LeaderOrdersError(
                "HQ did not answer in time; try again", zh="指挥中心未及时响应，请重试"
            ) from None
        self.note_zh, self.note_en = f"已派给 {badge}", f"Assigned to {badge}"
        self._link.kick()
        self.notify()
        return answer
