"""The board's hook for work orders (issue #15): the bureau's figures line for a window
(受理热线投诉 N 件，1 小时内到场 N 件（到场率 x%），两日内办结 N 件（办结率 y%），
回访满意率 z%) and the link to the work-order pages (``hq.dashorders``, which builds on
``hq.dashboard``; this module does not, so the board can import it).
"""

from __future__ import annotations

from datetime import datetime
from html import escape

from enforcement.workorders import figures, replay
from hq.storage.base import Tx

PAGE = "/dashboard/orders"


def figures_line(tx: Tx, since: datetime, until: datetime, now: datetime, district: str | None = None) -> str:
    """The bureau's line for the orders taken in [since, until) (of ``district``, or all)."""
    rows = tx.list_work_orders(district=district, since=since, until=until, limit=5000)
    return figures([replay(tx.work_order_events(r.id), r.timer) for r in rows], now).line("zh")


def orders_section(tx: Tx, since: datetime, until: datetime, now: datetime) -> str:
    """The board's section: the figures line of the board's window and the link to the orders page."""
    line = figures_line(tx, since, until, min(now, until))
    return (
        '<section id="orders"><h2>热线工单</h2>'
        f'<p id="orders-figures">{escape(line)}</p>'
        f'<p><a href="{PAGE}" id="orders-link">受理、派遣、回访热线投诉</a></p></section>'
    )
