"""The board's hook for work orders (issue #15): the bureau's figures line for a window
(受理热线投诉 N 件，1 小时内到场 N 件（到场率 x%），两日内办结 N 件（办结率 y%），
回访满意率 z%) and the link to the work-order pages (``hq.dash.orders``, which builds on
``hq.dash.board``; this module does not, so the board can import it), and the lists of orders the desk's
page and the JSON API show (``listed_orders``: every overdue order first, however old, then the newest).
Both are indexed queries over the orders' summaries (``bench/workorders.py`` measures them at 100,000
orders).
"""

from __future__ import annotations

from datetime import datetime
from html import escape

from enforcement.workorders import Figures
from hq.storage.base import Tx
from hq.storage.workorder_rows import WorkOrderRow

PAGE = "/dashboard/orders"


def figures_line(tx: Tx, since: datetime, until: datetime, now: datetime, district: str | None = None) -> str:
    """The bureau's line for the orders taken in [since, until) (of ``district``, or all): one indexed query
    over the orders' summaries (``Tx.work_order_figures``), every order of the window counted."""
    found = tx.work_order_figures(since=since, until=until, now=now, district=district)
    return found.get("", Figures()).line("zh")


def orders_section(tx: Tx, since: datetime, until: datetime, now: datetime) -> str:
    """The board's section: the figures line of the board's window and the link to the orders page."""
    line = figures_line(tx, since, until, min(now, until))
    return (
        '<section id="orders"><h2>热线工单</h2>'
        f'<p id="orders-figures">{escape(line)}</p>'
        f'<p><a href="{PAGE}" id="orders-link">受理、派遣、回访热线投诉</a></p></section>'
    )


def listed_orders(
    tx: Tx,
    now: datetime,
    *,
    district: str,
    squad: str | None = None,
    officer: str | None = None,
    limit: int = 500,
) -> list[WorkOrderRow]:
    """The orders a list shows: those overdue at ``now`` (the longest overdue first, up to ``limit``; an
    old overdue order is never pushed off by newer ones), then the newest others, ``limit`` in all."""
    scope = {"district": district, "squad": squad, "officer": officer}
    overdue = tx.list_work_orders(**scope, overdue_at=now, limit=limit)  # type: ignore[arg-type]
    seen = {row.id for row in overdue}
    newest = tx.list_work_orders(district=district, squad=squad, officer=officer, limit=limit)
    newest = [row for row in newest if row.id not in seen]
    return (overdue + newest)[:limit]
