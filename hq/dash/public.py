"""The public disclosure page (投诉处理情况公开): no sign-in, ``/public`` (zh; ``?lang=en``) and
``/public/complaints.csv``.

Monthly figures (the bureau's line: 受理 N 件，1 小时内到场 …，两日内办结 …，回访满意率 …) by category and by
squad, and the list of closed complaints of the month with category, street-level place (the grid cell's or
street's name HQ found at the point; never the address or the point), dates and outcome. Never a caller's
name or phone. The CSV's cells pass ``patrollog.csvsafe.safe_row``. The page has no inline script or style
(the stylesheet is ``/assets/dashboard.css``), so the browser guard's CSP holds.
"""

from __future__ import annotations

import csv
import io
from dataclasses import astuple
from datetime import date, datetime
from html import escape
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, Response

from enforcement.catalogue import Catalogue
from enforcement.model import LOCAL_TZ
from enforcement.workorders import CLOSURE_TEXT, SATISFACTION_TEXT, Closure, Figures, Satisfaction
from hq.settings import Settings
from hq.storage.base import Storage
from hq.storage.workorder_rows import WorkOrderRow
from patrollog.csvsafe import safe_row

MAX_ROWS = 2000
# Module level: with ``from __future__ import annotations`` FastAPI resolves the parameters' annotations by
# name in the module's globals; aliases local to ``build_router`` were unresolvable (500 on ?lang=en).
Month = Annotated[str | None, Query(pattern=r"^20[0-9]{2}-(0[1-9]|1[0-2])$")]
Lang = Annotated[str, Query(pattern=r"^(zh|en)$")]


def month_bounds(month: str | None, today: date) -> tuple[datetime, datetime, str]:
    if month:
        year, mon = (int(x) for x in month.split("-"))
    else:
        year, mon = today.year, today.month
    start = datetime(year, mon, 1, tzinfo=LOCAL_TZ)
    end = datetime(year + (mon == 12), mon % 12 + 1, 1, tzinfo=LOCAL_TZ)
    return start, end, f"{year:04d}-{mon:02d}"


def _closed(storage: Storage, start: datetime, end: datetime) -> list[WorkOrderRow]:
    """The month's closed orders (newest first, at most ``MAX_ROWS``): their summaries, no refold."""
    with storage.transaction(readonly=True) as tx:
        return tx.list_work_orders(since=start, until=end, closed_only=True, limit=MAX_ROWS)


def closed_rows(data: list[WorkOrderRow], catalogue: Catalogue, lang: str) -> list[list[str]]:
    """One line per closed order: category, street-level place, dates, outcome, latest follow-up."""
    out = []
    for order in data:
        if order.closed_at is None:
            continue
        v = catalogue.violations.get(order.category)
        zh_en = CLOSURE_TEXT[Closure(order.outcome)] if order.outcome else ("", "")
        sat = SATISFACTION_TEXT[Satisfaction(order.satisfaction)] if order.satisfaction else ("", "")
        pick = 0 if lang == "zh" else 1
        out.append(
            [
                (v.name_zh if lang == "zh" else v.name_en) if v else order.category,
                order.place or ("（未注明街道）" if lang == "zh" else "(street not given)"),
                order.intake_at.astimezone(LOCAL_TZ).date().isoformat(),
                order.closed_at.astimezone(LOCAL_TZ).date().isoformat(),
                zh_en[pick],
                sat[pick],
            ]
        )
    return out


def _plus(a: Figures, b: Figures) -> Figures:
    return Figures(*(x + y for x, y in zip(astuple(a), astuple(b), strict=True)))


def build_router(storage: Storage, settings: Settings, catalogue: Catalogue) -> APIRouter:
    router = APIRouter()

    @router.get("/public", include_in_schema=False, response_class=HTMLResponse)
    def page(month: Month = None, lang: Lang = "zh") -> HTMLResponse:
        now = settings.clock()
        start, end, label = month_bounds(month, now.astimezone(LOCAL_TZ).date())
        zh = lang == "zh"
        # the month's figures: indexed aggregate queries over the orders' summaries (every order counted)
        with storage.transaction(readonly=True) as tx:
            squads = {s.code: s.name for s in tx.list_squads()}
            cells = tx.work_order_figures(since=start, until=end, now=now, by="category_squad")
        whole = Figures()
        by_cat: dict[str, Figures] = {}
        by_squad: dict[str, Figures] = {}
        for key, f in cells.items():
            code, _, squad = key.partition("|")
            v = catalogue.violations.get(code)
            cat = (v.name_zh if zh else v.name_en) if v else code
            team = squads.get(squad, squad) or ("待分派" if zh else "unassigned")
            whole = _plus(whole, f)
            by_cat[cat] = _plus(by_cat.get(cat, Figures()), f)
            by_squad[team] = _plus(by_squad.get(team, Figures()), f)

        def table(title: str, first: str, groups: dict[str, Figures]) -> str:
            head = (
                first,
                "受理" if zh else "received",
                "到场率" if zh else "on scene ≤1 h",
                "办结率" if zh else "resolved ≤2 d",
                "满意率" if zh else "satisfied",
            )
            body = "".join(
                f"<tr><td>{escape(k)}</td><td class=n>{f.received}</td><td class=n>{f.arrive_rate}%</td>"
                f"<td class=n>{f.resolve_rate}%</td><td class=n>{f.satisfaction_rate}%</td></tr>"
                for k, f in sorted(groups.items())
            )
            ths = "".join(f"<th>{escape(h)}</th>" for h in head)
            return f"<section><h2>{escape(title)}</h2><table><tr>{ths}</tr>{body}</table></section>"

        rows = closed_rows(_closed(storage, start, end), catalogue, lang)
        heads = (
            ("类别", "地点（街道）", "受理日期", "办结日期", "处置结果", "回访")
            if zh
            else ("category", "place (street)", "received", "resolved", "outcome", "follow-up")
        )
        listing = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in r) + "</tr>" for r in rows)
        summary = whole.line("zh" if zh else "en")
        title = f"投诉处理情况公开 · {label}" if zh else f"Complaints handled · {label}"
        html = (
            f'<!doctype html><html lang="{"zh-CN" if zh else "en"}"><head><meta charset="utf-8">'
            f'<title>{escape(title)}</title><link rel="stylesheet" href="/assets/dashboard.css"></head><body>'
            f'<h1>{escape(title)}</h1><p id="summary">{escape(summary)}</p>'
            + table("按类别" if zh else "By category", "类别" if zh else "category", by_cat)
            + table("按中队" if zh else "By squad", "中队" if zh else "squad", by_squad)
            + f"<section><h2>{'已办结投诉' if zh else 'Closed complaints'}</h2><table><tr>"
            + "".join(f"<th>{escape(h)}</th>" for h in heads)
            + f"</tr>{listing}</table></section>"
            + f'<p><a href="/public/complaints.csv?month={label}&amp;lang={lang}">CSV</a></p></body></html>'
        )
        return HTMLResponse(html)

    @router.get("/public/complaints.csv", include_in_schema=False)
    def csv_file(month: Month = None, lang: Lang = "zh") -> Response:
        now = settings.clock()
        start, end, label = month_bounds(month, now.astimezone(LOCAL_TZ).date())
        rows = closed_rows(_closed(storage, start, end), catalogue, lang)
        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow(
            ["类别", "地点", "受理日期", "办结日期", "处置结果", "回访"]
            if lang == "zh"
            else ["category", "place", "received", "resolved", "outcome", "follow_up"]
        )
        for r in rows:
            writer.writerow(safe_row(r))
        return Response(
            "\ufeff" + buf.getvalue(),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="complaints-{label}.csv"'},
        )

    return router
