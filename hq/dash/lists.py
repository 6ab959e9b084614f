"""The dashboard's full lists, paged, and its streamed CSV (HQ only; pages in Chinese, not in the OpenAPI).

    GET /dashboard/cases?days=&until=&squad=&cursor=      the window's cases, newest first
    GET /dashboard/conflicts?squad=&cursor=               stage conflicts waiting for a decision, newest first
    GET /dashboard/offenders?days=&until=&cursor=         subjects at 处罚 in the window, most cases first

Each page holds ``PAGE`` rows read by keyset (``Tx.cases_page`` / ``Tx.tally_offenders``) after the
opaque ``cursor`` of the page before (``hq.paging``; a bad one is 400 ``BAD_CURSOR``), so page 1,000
costs what page 1 does. ``streamed_csv`` sends the export as it is read (``hq.export.iter_cases_csv``).
The board's filter form and links are built here too (``board_filters``, ``filter_form``, ``more_link``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date, timedelta
from html import escape
from typing import Any
from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, StreamingResponse

from enforcement.model import LOCAL_TZ
from enforcement.staging import stage_name
from hq import paging
from hq.api.errors import ApiError
from hq.auth import Principal
from hq.dash.layout import html_page, html_table
from hq.export import iter_cases_csv
from hq.storage.base import CaseState, Storage
from patrollog.daylog import day_bounds
from sync.protocol import Errno

PAGE = 100
TRENDS = ("day", "week", "month")


def streamed_csv(storage: Storage, name: str, *, since: date, until: date) -> StreamingResponse:
    """The window's cases as a CSV download (a BOM first), streamed page by page in constant memory."""

    def body() -> Iterator[bytes]:
        yield "\ufeff".encode()
        for chunk in iter_cases_csv(storage, since=since, until=until):
            yield chunk.encode("utf-8")

    return StreamingResponse(
        body(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def _text_param(request: Request, name: str) -> str | None:
    value = request.query_params.get(name, "").strip()
    if not value:
        return None
    if len(value) > 32 or not value.isprintable():
        raise ApiError(Errno.VALIDATION, zh=f"参数 {name} 无效", en=f"Bad {name}", field=name)
    return value


def board_filters(request: Request) -> tuple[str | None, str | None, str]:
    """``squad``, ``violation`` and ``trend`` of the board's query (a 422 when malformed)."""
    trend = request.query_params.get("trend", "day")
    if trend not in TRENDS:
        raise ApiError(Errno.VALIDATION, zh="趋势须为 day、week 或 month", en="Bad trend", field="trend")
    return _text_param(request, "squad"), _text_param(request, "violation"), trend


def _query(**values: Any) -> str:
    return escape(urlencode({k: v for k, v in values.items() if v not in (None, "")}))


def filter_form(
    squad_names: dict[str, str], squad: str | None, violation: str | None, unit: str, until: date, days: int
) -> str:
    squads = "".join(
        f'<option value="{escape(code)}"{" selected" if code == squad else ""}>'
        f"{escape(code)} {escape(name)}</option>"
        for code, name in sorted(squad_names.items())
    )
    trends = "".join(
        f'<option value="{t}"{" selected" if t == unit else ""}>{label}</option>'
        for t, label in zip(TRENDS, ("按日", "按周", "按月"), strict=True)
    )
    return (
        '<form method="get" action="/dashboard" id="board-filters">'
        f'<label>中队 <select name="squad"><option value="">全部</option>{squads}</select></label> '
        f'<label>违法类型代码 <input name="violation" maxlength="32" size="6" '
        f'value="{escape(violation or "")}"></label> '
        f'<label>截至 <input type="date" name="until" value="{until.isoformat()}"></label> '
        f'<label>天数 <input type="number" name="days" min="1" max="92" value="{days}"></label> '
        f'<label>趋势 <select name="trend">{trends}</select></label> '
        '<button type="submit">筛选</button></form>'
    )


def more_link(path: str, shown: str, until: date, days: int) -> str:
    url = f"{path}?{_query(days=days, until=until.isoformat())}"
    return f'<p>（{escape(shown)}）<a href="{url}">查看全部</a></p>'


def cases_link(squad: str | None, until: date, days: int) -> str:
    return f"/dashboard/cases?{_query(days=days, until=until.isoformat(), squad=squad)}"


def _local(state: CaseState) -> str:
    return state.occurred_at.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M")


def install_lists(
    app: FastAPI,
    storage: Storage,
    caller_of: Callable[[Request], Principal | None],
    window: Callable[[Request], tuple[date, int]],
) -> None:
    """Add the paged list pages to ``app`` (``caller_of`` and ``window`` are the dashboard's)."""

    async def hq_only(request: Request) -> None:
        caller = await run_in_threadpool(caller_of, request)
        if caller is None:
            raise ApiError(Errno.TOKEN_MISSING)
        if not caller.is_hq:
            raise ApiError(Errno.FORBIDDEN)

    def page(title: str, table: str, next_url: str | None) -> HTMLResponse:
        more = f'<p><a href="{next_url}" id="next-page">下一页</a></p>' if next_url else "<p>已是最后一页</p>"
        body = (
            f'<header><h1>{escape(title)}</h1><a href="/dashboard">返回看板</a></header>'
            f'<main><section class="wide">{table}{more}</section></main>'
        )
        return HTMLResponse(html_page(title, body))

    def case_rows(states: list[CaseState]) -> list[list[str]]:
        return [
            [s.case_no, s.officer_badge, s.squad_code, s.violation_code, stage_name(s.device_stage, "zh"),
             stage_name(s.hq_stage, "zh"), _local(s)]
            for s in states
        ]  # fmt: skip

    header = ["案件编号", "警号", "中队", "违法类型", "设备阶段", "中心阶段", "时间"]

    @app.get("/dashboard/cases", include_in_schema=False)
    async def cases(request: Request) -> HTMLResponse:
        await hq_only(request)
        until, days = window(request)
        squad = _text_param(request, "squad")
        scope = [until.isoformat(), days, squad]
        after = paging.decode_case_key("dash-cases", scope, request.query_params.get("cursor"))
        since = day_bounds(until - timedelta(days=days - 1))[0]
        end = day_bounds(until)[1]

        def read() -> list[CaseState]:
            with storage.transaction(readonly=True) as tx:
                return tx.cases_page(after=after, squad_code=squad, since=since, until=end, limit=PAGE)

        states = await run_in_threadpool(read)
        nxt = None
        if len(states) == PAGE:
            cursor = paging.encode("dash-cases", scope, paging.case_key(states[-1]))
            nxt = f"/dashboard/cases?{_query(days=days, until=until.isoformat(), squad=squad, cursor=cursor)}"
        return page("案件列表", html_table(header, case_rows(states)), nxt)

    @app.get("/dashboard/conflicts", include_in_schema=False)
    async def conflicts(request: Request) -> HTMLResponse:
        await hq_only(request)
        squad = _text_param(request, "squad")
        after = paging.decode_case_key("dash-conflicts", [squad], request.query_params.get("cursor"))

        def read() -> list[CaseState]:
            with storage.transaction(readonly=True) as tx:
                return tx.cases_page(after=after, open_conflicts=True, squad_code=squad, limit=PAGE)

        states = await run_in_threadpool(read)
        nxt = None
        if len(states) == PAGE:
            cursor = paging.encode("dash-conflicts", [squad], paging.case_key(states[-1]))
            nxt = f"/dashboard/conflicts?{_query(squad=squad, cursor=cursor)}"
        return page("待决定的阶段冲突", html_table(header, case_rows(states)), nxt)

    @app.get("/dashboard/offenders", include_in_schema=False)
    async def offenders(request: Request) -> HTMLResponse:
        await hq_only(request)
        until, days = window(request)
        scope = [until.isoformat(), days]
        key = paging.decode("dash-offenders", scope, request.query_params.get("cursor"))
        after: tuple[int, str] | None = None
        if key is not None:
            if len(key) != 2 or type(key[0]) is not int or not isinstance(key[1], str):
                raise paging.bad_cursor()
            after = (key[0], key[1])
        since = day_bounds(until - timedelta(days=days - 1))[0]

        def read() -> list[list[str]]:
            with storage.transaction(readonly=True) as tx:
                rows = tx.tally_offenders(since, after=after, limit=PAGE)
                out = []
                for row in rows:
                    subject = tx.get_subject(row.subject_id, include_deleted=True)
                    label = (subject.name or subject.plate) if subject else row.subject_id
                    last = row.last_at.astimezone(LOCAL_TZ).date().isoformat()
                    out.append([label, str(row.cases), str(row.penalties), last, row.subject_id])
                return out

        rows = await run_in_threadpool(read)
        nxt = None
        if len(rows) == PAGE:
            cursor = paging.encode("dash-offenders", scope, [int(rows[-1][1]), rows[-1][4]])
            nxt = f"/dashboard/offenders?{_query(days=days, until=until.isoformat(), cursor=cursor)}"
        table = html_table(["当事人", "案件数", "处罚次数", "最近一次"], [r[:4] for r in rows], {1, 2})
        return page("屡犯当事人（已到处罚阶段）", table, nxt)
