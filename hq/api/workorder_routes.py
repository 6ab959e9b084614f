"""Work orders (hotline complaints) for the desk, leaders, officers and HQ, as an ``APIRouter`` (tag
``workorders``; ``hq.workorders`` does the work)::

    POST /v1/workorders                       WorkOrderIn → the order (desk, HQ)
    GET  /v1/workorders                       → {orders}: desk/HQ their district's, a leader the squad's,
                                                an officer the ones assigned to them; overdue first
    GET  /v1/workorders/{order_id}            → the order (same scope; else 404)
    POST /v1/workorders/{order_id}/route      {squad} (desk, HQ)
    POST /v1/workorders/{order_id}/assign     {badge} (desk, HQ; a leader: own squad's officers)
    POST /v1/workorders/{order_id}/follow-up  {reached, satisfaction, comment, reopen} (desk, HQ)

The caller's name and phone appear in full only to the desk; everyone else gets them masked.
"""

from collections.abc import Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends
from pydantic import BeforeValidator, Field

from enforcement.catalogue import Catalogue
from enforcement.model import Role
from enforcement.workorders import LIMITS, EventKind, Satisfaction, Source, replay
from hq.api.errors import ERROR_RESPONSES, ApiError
from hq.auth import Principal
from hq.dash.figures import listed_orders
from hq.settings import Settings
from hq.storage.base import Storage
from hq.workorders import (
    Complaint,
    WorkOrderRefused,
    assign,
    can_see,
    file_order,
    follow_up,
    route,
    view,
)
from sync.protocol import RECORD_ID_PATTERN, Errno, WireModel, WireValueError


def _not_true_or_false(value: object) -> object:
    """A coordinate is a number: JSON's ``true`` is not 1.0 (pydantic's lax mode would take it as that)."""
    if isinstance(value, bool):
        raise WireValueError("a number is expected, not true or false", "应为数字，不能是 true 或 false")
    return value


Coordinate = Annotated[float | None, BeforeValidator(_not_true_or_false)]


class WorkOrderIn(WireModel):
    source: Literal["12345", "12319", "bureau", "online", "walk_in"]
    category: str = Field(pattern=r"^[0-9]{4}$")
    # as long as the desk's form and Open311 take it (``enforcement.workorders.LIMITS``)
    description: str = Field(min_length=1, max_length=LIMITS["description"])
    address: str = Field(default="", max_length=200)
    lat: Coordinate = Field(default=None, ge=-90, le=90)
    lon: Coordinate = Field(default=None, ge=-180, le=180)
    caller_name: str = Field(default="", max_length=64)
    caller_phone: str = Field(default="", max_length=32)


class RouteIn(WireModel):
    squad: str = Field(min_length=1, max_length=32)


class AssignIn(WireModel):
    badge: str = Field(min_length=1, max_length=32)


class FollowUpIn(WireModel):
    reached: bool = True
    satisfaction: Literal["satisfied", "basic", "unsatisfied"] | None = None
    comment: str = Field(default="", max_length=500)
    reopen: bool = False


def api_error(err: WorkOrderRefused) -> ApiError:
    return ApiError(err.errno, zh=err.zh or None, en=err.en or None)


def build_router(
    storage: Storage, settings: Settings, catalogue: Catalogue, principal: Callable[..., Principal]
) -> APIRouter:
    router = APIRouter()
    Caller = Annotated[Principal, Depends(principal)]
    OrderId = Annotated[str, Field(pattern=RECORD_ID_PATTERN)]
    tags: list[str | Any] = ["workorders"]

    def one(order_id: str, caller: Principal) -> dict[str, Any]:
        with storage.transaction(readonly=True) as tx:
            order = tx.get_work_order(order_id)
            if order is None:
                raise ApiError(Errno.NOT_FOUND, zh="工单不存在", en="Unknown work order")
            if not can_see(caller.officer, order):
                raise ApiError(Errno.FORBIDDEN)
            events = tx.work_order_events(order_id)
            state = replay(events, order.timer)
            named = {sha for e in events if e.kind is EventKind.RESOLVE for sha in e.photos}
            received = sum(1 for sha in named if (row := tx.get_photo(sha)) is not None and row.stored)
        # resolution photos (#15): how many the resolutions name, how many HQ has received
        return view(order, state, caller.officer, settings.clock()) | {
            "photos_named": len(named),
            "photos_received": received,
        }

    @router.post("/v1/workorders", responses=ERROR_RESPONSES, tags=tags)
    def create(body: WorkOrderIn, caller: Caller) -> dict[str, Any]:
        if caller.role not in (Role.DESK, Role.HQ):
            raise ApiError(Errno.FORBIDDEN)
        complaint = Complaint(
            Source(body.source),
            body.category,
            body.description,
            body.address,
            body.lat,
            body.lon,
            body.caller_name,
            body.caller_phone,
        )
        try:
            order = file_order(
                storage,
                complaint,
                district=caller.district,
                filed_by=caller.badge,
                catalogue=catalogue,
                now=settings.clock(),
            )
        except WorkOrderRefused as err:
            raise api_error(err) from None
        return one(order.id, caller)

    @router.get("/v1/workorders", responses=ERROR_RESPONSES, tags=tags)
    def listing(caller: Caller) -> dict[str, Any]:
        me = caller.officer
        now = settings.clock()
        with storage.transaction(readonly=True) as tx:
            if me.role in (Role.DESK, Role.HQ):
                rows = listed_orders(tx, now, district=me.district)
            elif me.role is Role.LEADER:
                rows = listed_orders(tx, now, district=me.district, squad=me.squad_code)
            else:
                rows = listed_orders(tx, now, district=me.district, officer=me.badge)
            events = tx.work_order_events_of([r.id for r in rows])
            states = [(r, replay(events[r.id], r.timer)) for r in rows]
        orders = [view(r, s, me, now) for r, s in states]
        orders.sort(key=lambda o: (not o["overdue"], o["time_left_s"]))
        return {"orders": orders}

    @router.get("/v1/workorders/{order_id}", responses=ERROR_RESPONSES, tags=tags)
    def detail(order_id: OrderId, caller: Caller) -> dict[str, Any]:
        return one(order_id, caller)

    def acted(order_id: str, caller: Principal, work: Callable[[], object]) -> dict[str, Any]:
        """Run one change of the order: a refusal is its ApiError, else the order as it is now."""
        try:
            work()
        except WorkOrderRefused as err:
            raise api_error(err) from None
        return one(order_id, caller)

    @router.post("/v1/workorders/{order_id}/route", responses=ERROR_RESPONSES, tags=tags)
    def do_route(order_id: OrderId, body: RouteIn, caller: Caller) -> dict[str, Any]:
        now = settings.clock()
        return acted(
            order_id, caller, lambda: route(storage, order_id, body.squad, caller=caller.officer, now=now)
        )

    @router.post("/v1/workorders/{order_id}/assign", responses=ERROR_RESPONSES, tags=tags)
    def do_assign(order_id: OrderId, body: AssignIn, caller: Caller) -> dict[str, Any]:
        now = settings.clock()
        return acted(
            order_id, caller, lambda: assign(storage, order_id, body.badge, caller=caller.officer, now=now)
        )

    @router.post("/v1/workorders/{order_id}/follow-up", responses=ERROR_RESPONSES, tags=tags)
    def do_follow_up(order_id: OrderId, body: FollowUpIn, caller: Caller) -> dict[str, Any]:
        sat = Satisfaction(body.satisfaction) if body.satisfaction else None

        def work() -> None:
            follow_up(storage, order_id, caller=caller.officer, now=settings.clock(), reached=body.reached,
                      satisfaction=sat, comment=body.comment, reopen=body.reopen)  # fmt: skip

        return acted(order_id, caller, work)

    return router
