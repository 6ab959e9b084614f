"""Hotline work orders in the squad's day log (issue #15), in the bureau's phrasing: 受理热线投诉 N 件，
1 小时内到场 N 件（到场率 x%），两日内办结 N 件（办结率 y%），回访满意率 z%.

The counts are HQ's, in HQ time: whether the complaint (the order's first round) was reached within its
arrival timer and resolved within its resolution timer is what HQ folded from the order's events
(``enforcement.workorders``), never the phone's own clock. The phone passes what it last pulled (the
``work_order`` changes of the squad), HQ its orders' summaries; both hand ``OrderFacts`` to
``day_figures``, so the two logs count alike. An order counts on the bureau-local day it was received
(its intake), in the squad it is routed to.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from enforcement.model import LOCAL_TZ
from enforcement.workorders import Figures, Satisfaction

_SATISFIED = (Satisfaction.SATISFIED.value, Satisfaction.BASIC.value)


@dataclass(frozen=True, slots=True)
class OrderFacts:
    """One order as the day log counts it (HQ's view, HQ time)."""

    order_id: str
    squad: str  # "" while in the desk's manual queue
    officer: str
    intake_at: datetime
    arrived_on_time: bool  # the first round, within its arrival timer
    resolved_on_time: bool  # the first round, within its resolution timer
    resolved: bool  # the current round is resolved
    satisfaction: str = ""  # the latest follow-up that reached the caller ("" none)
    due_at: datetime | None = None  # the next deadline still pending (None: none)


def day_figures(
    orders: Iterable[OrderFacts], day: date, squad_codes: Collection[str], now: datetime | None = None
) -> Figures:
    """The bureau's figures of the orders received on the bureau-local ``day`` in these squads; overdue
    counted at ``now`` (default: the end of the day)."""
    start = datetime.combine(day, time.min, LOCAL_TZ)
    end = start + timedelta(days=1)
    at = now or end
    received = arrived = resolved_ot = resolved = followed = satisfied = overdue = 0
    seen: set[str] = set()
    for o in orders:
        if o.order_id in seen or o.squad not in squad_codes or not start <= o.intake_at < end:
            continue
        seen.add(o.order_id)
        received += 1
        arrived += o.arrived_on_time
        resolved_ot += o.resolved_on_time
        resolved += o.resolved
        followed += bool(o.satisfaction)
        satisfied += o.satisfaction in _SATISFIED
        overdue += o.due_at is not None and o.due_at < at
    return Figures(received, arrived, resolved_ot, resolved, followed, satisfied, overdue)


def orders_line(figures: Figures) -> str:
    """``热线工单：受理热线投诉 …`` for the log's head (the overdue count when there is any)."""
    line = f"热线工单：{figures.line('zh')}"
    if figures.overdue:
        line += f"；超时未办 {figures.overdue} 件"
    return line
