"""The dashboard's work-order pages (热线工单, issue #15): the hotline desk's and HQ's screen for complaints.

    GET  /dashboard/orders                      the page (desk or HQ), the sign-in form (not signed in),
                                                the Chinese 403 page (another role): the bureau's figures
                                                line of the month, the intake form and the district's
                                                orders, overdue ones first (``tr.overdue``, red in
                                                ``/assets/dashboard.css``), each with its forms
    POST /dashboard/orders                      the intake form → ``hq.workorders.file_order``
    POST /dashboard/orders/{id}/route           form squad → ``hq.workorders.route``
    POST /dashboard/orders/{id}/assign          form badge → ``hq.workorders.assign``
    POST /dashboard/orders/{id}/follow-up       form reached, satisfaction, comment, reopen →
                                                ``hq.workorders.follow_up``

A form that worked answers 303 back to the page (a reload files nothing twice); a refused one shows the
page again with the reason in Chinese, under the errno's status. POSTs without a session are 401, from
another role 403 (JSON, as the other dashboard forms). The browser guard (``hq.api.browser``) refuses
cross-site POSTs under ``/dashboard``; the pages have no inline script or style. The caller's name and
phone are shown in full to the desk only (HQ sees them masked, as in the JSON API).

The board's hook (the bureau's figures line of its window and a link here) is ``hq.dash.figures``, apart
from this module because this one builds on ``hq.dash.board``'s page helpers.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta
from html import escape
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from enforcement.catalogue import Catalogue
from enforcement.model import LOCAL_TZ, Role
from enforcement.workorders import (
    SATISFACTION_TEXT,
    SOURCE_TEXT,
    STAGE_TEXT,
    EventKind,
    Satisfaction,
    Source,
    State,
    can_transition,
    mask_name,
    mask_phone,
    replay,
)
from hq.api.errors import ApiError
from hq.auth import Auth, Principal
from hq.dash.caller import cookie_caller, role_gate
from hq.dash.figures import PAGE, figures_line, listed_orders
from hq.dash.layout import forbidden_page, html_page, html_section, read_form, sign_in_page
from hq.settings import Settings
from hq.storage.base import Storage
from hq.storage.workorder_rows import WorkOrderRow
from hq.workorders import Complaint, WorkOrderRefused, assign, file_order, follow_up, route
from sync.protocol import RECORD_ID_PATTERN, Errno, http_status

ROLES = (Role.DESK, Role.HQ)
MAX_LISTED = 500
MAX_FORM = 16 * 1024


def _local(moment: datetime | None) -> str:
    return moment.astimezone(LOCAL_TZ).strftime("%m-%d %H:%M") if moment else ""


def _left(state: State, now: datetime) -> str:
    seconds = int(state.time_left(now).total_seconds())
    minutes = abs(seconds) // 60
    text = (
        f"{minutes // 1440}天{minutes % 1440 // 60}时"
        if minutes >= 1440
        else f"{minutes // 60}时{minutes % 60}分"
    )
    return ("超时 " if seconds < 0 else "剩余 ") + text


def _options(pairs: list[tuple[str, str]], chosen: str = "") -> str:
    return "".join(
        f'<option value="{escape(v)}"{" selected" if v == chosen else ""}>{escape(t)}</option>'
        for v, t in pairs
    )


def _intake_form(catalogue: Catalogue) -> str:
    sources = [(s.value, SOURCE_TEXT[s][0]) for s in Source]
    categories = [(code, f"{code} {v.name_zh}") for code, v in sorted(catalogue.violations.items())]
    return (
        f'<form method="post" action="{PAGE}" id="intake" class="intake">'
        f'<label>来源 <select name="source">{_options(sources)}</select></label> '
        f'<label>类别 <select name="category">{_options(categories)}</select></label><br>'
        '<label>投诉内容 <textarea name="description" maxlength="4000" rows="2" required>'
        "</textarea></label><br>"
        '<label>地址 <input name="address" maxlength="200"></label> '
        '<label>纬度 <input name="lat" inputmode="decimal" maxlength="20"></label> '
        '<label>经度 <input name="lon" inputmode="decimal" maxlength="20"></label><br>'
        '<label>来电人 <input name="caller_name" maxlength="64" autocomplete="off"></label> '
        '<label>电话 <input name="caller_phone" maxlength="32" autocomplete="off"></label> '
        '<button type="submit">受理</button></form>'
    )


def _actions(order: WorkOrderRow, state: State, squads: list[tuple[str, str]]) -> str:
    base = f"{PAGE}/{quote(order.id)}"
    out = []
    if can_transition(state, EventKind.ROUTE):
        out.append(
            f'<form method="post" action="{base}/route">'
            f'<select name="squad">{_options(squads, state.squad)}</select> '
            '<button type="submit">派遣</button></form>'
        )
        out.append(
            f'<form method="post" action="{base}/assign"><input name="badge" maxlength="32" size="6" '
            f'placeholder="警号" value="{escape(state.officer)}"> <button type="submit">指派</button></form>'
        )
    if can_transition(state, EventKind.FOLLOW_UP):
        sats = [(s.value, SATISFACTION_TEXT[s][0]) for s in Satisfaction]
        out.append(
            f'<form method="post" action="{base}/follow-up">'
            '<label><input type="checkbox" name="reached" value="1" checked> 已联系上</label> '
            f'<select name="satisfaction">{_options(sats)}</select> '
            '<input name="comment" maxlength="500" size="10" placeholder="回访记录"> '
            '<label><input type="checkbox" name="reopen" value="1"> 不满意重办</label> '
            '<button type="submit">回访</button></form>'
        )
    return "".join(out)


def orders_page(
    storage: Storage,
    catalogue: Catalogue,
    caller: Principal,
    now: datetime,
    *,
    note: str = "",
    error: str = "",
) -> str:
    me = caller.officer
    desk = me.role is Role.DESK
    local = now.astimezone(LOCAL_TZ)
    month = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    with storage.transaction(readonly=True) as tx:
        line = figures_line(tx, month, now + timedelta(seconds=1), now, me.district)
        rows = listed_orders(tx, now, district=me.district, limit=MAX_LISTED)
        events = tx.work_order_events_of([r.id for r in rows])
        states = [(r, replay(events[r.id], r.timer)) for r in rows]
        squads = [(s.code, f"{s.code} {s.name}") for s in tx.list_squads() if s.district == me.district]
    states.sort(key=lambda rs: (not rs[1].overdue(now), rs[1].closed, rs[1].time_left(now)))
    body_rows = []
    for order, state in states:
        overdue = state.overdue(now)
        v = catalogue.violations.get(order.category)
        name = order.caller_name if desk else mask_name(order.caller_name)
        phone = order.caller_phone if desk else mask_phone(order.caller_phone)
        place = order.address or order.place
        if order.lat is not None and order.lon is not None:
            place += f"（{order.lat:.5f}, {order.lon:.5f}）"
        cells = [
            STAGE_TEXT[state.stage][0] + (f" 第{state.current.number}轮" if state.current.number > 1 else ""),
            _local(order.intake_at),
            SOURCE_TEXT[order.source][0],
            v.name_zh if v else order.category,
            order.description[:120],
            place,
            " ".join(x for x in (name, phone) if x),
            state.squad or "待派遣",
            state.officer,
            "已回访"
            if state.stage.value == "followed_up"
            else ("已办结" if state.closed else _left(state, now)),
        ]
        tds = "".join(f"<td>{escape(c)}</td>" for c in cells)
        css = ' class="overdue"' if overdue else ""
        body_rows.append(
            f'<tr id="order-{escape(order.id)}"{css}>{tds}<td>{_actions(order, state, squads)}</td></tr>'
        )
    heads = ["状态", "受理时间", "来源", "类别", "内容", "地址", "来电人", "中队", "队员", "时限", "操作"]
    table = (
        "<table><thead><tr>"
        + "".join(f"<th>{h}</th>" for h in heads)
        + f"</tr></thead><tbody>{''.join(body_rows) or '<tr><td>无</td></tr>'}</tbody></table>"
    )
    header = (
        f"<header><h1>热线工单 · {escape(me.district)}</h1>"
        f'<form method="post" action="/dashboard/sign-out">{escape(me.name)}（{escape(me.badge)}） '
        '<button type="submit">退出</button></form></header>'
    )
    notes = (f'<p class="error" role="alert" id="orders-error">{escape(error)}</p>' if error else "") + (
        f'<p class="note" id="orders-note">{escape(note)}</p>' if note else ""
    )
    back = '<p><a href="/dashboard">返回看板</a></p>' if caller.is_hq else ""
    sections = [
        html_section("本月", f'<p id="orders-figures">{escape(line)}</p>{back}', "wide"),
        html_section("受理投诉", notes + _intake_form(catalogue), "wide", "intake-section"),
        html_section(f"工单（{len(states)}）", table, "wide", "orders"),
    ]
    return html_page("热线工单", header + "<main>" + "".join(sections) + "</main>")


def _float(text: str) -> float | None:
    text = text.strip()
    if not text:
        return None
    value = float(text)
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError(text)
    return value


def install_dashorders(
    app: FastAPI, storage: Storage, auth: Auth, settings: Settings, catalogue: Catalogue
) -> None:
    """Add the work-order pages' routes to ``app`` (``hq.app`` calls it after ``install_dashboard``)."""

    caller_of = cookie_caller(auth)

    allowed = role_gate(caller_of, ROLES)

    async def render(
        caller: Principal, *, note: str = "", error: str = "", status: int = 200
    ) -> HTMLResponse:
        html = await run_in_threadpool(
            lambda: orders_page(storage, catalogue, caller, settings.clock(), note=note, error=error)
        )
        return HTMLResponse(html, status_code=status)

    async def refused(caller: Principal, err: WorkOrderRefused) -> HTMLResponse:
        text = err.zh or {
            Errno.FORBIDDEN: "无权操作此工单",
            Errno.WORK_ORDER_STATE: "工单当前状态不能这样操作",
        }.get(err.errno, "操作未完成")
        return await render(caller, error=text, status=http_status(err.errno))

    def done(text: str) -> RedirectResponse:
        return RedirectResponse(f"{PAGE}?done={quote(text)}", status_code=303)

    def order_id(raw: str) -> str:
        if not re.fullmatch(RECORD_ID_PATTERN, raw):
            raise ApiError(Errno.NOT_FOUND, zh="工单不存在", en="no such work order")
        return raw

    @app.get(PAGE, response_class=HTMLResponse, include_in_schema=False)
    async def page(request: Request) -> HTMLResponse:
        caller = await run_in_threadpool(caller_of, request)
        if caller is None:
            return HTMLResponse(sign_in_page())
        if caller.role not in ROLES:
            return HTMLResponse(forbidden_page(caller.officer.name), status_code=403)
        note = request.query_params.get("done", "")[:100]
        return await render(caller, note=note)

    @app.post(PAGE, response_class=HTMLResponse, include_in_schema=False)
    async def intake(request: Request) -> Response:
        caller = await allowed(request)
        form = read_form(await request.body(), MAX_FORM)
        try:
            source = Source(form.get("source", ""))
            lat, lon = _float(form.get("lat", "")), _float(form.get("lon", ""))
        except ValueError:
            return await render(caller, error="来源或坐标无效", status=422)
        complaint = Complaint(
            source,
            form.get("category", "").strip(),
            form.get("description", ""),
            form.get("address", "").strip(),
            lat,
            lon,
            form.get("caller_name", "").strip(),
            form.get("caller_phone", "").strip(),
        )
        try:
            order = await run_in_threadpool(
                lambda: file_order(
                    storage,
                    complaint,
                    district=caller.district,
                    filed_by=caller.badge,
                    catalogue=catalogue,
                    now=settings.clock(),
                )
            )
        except WorkOrderRefused as err:
            return await refused(caller, err)
        return done(f"已受理（{order.squad or '待派遣'}）")

    async def act(caller: Principal, work: Callable[[], object], message: str) -> Response:
        """Run one change of an order (in a worker thread): a refusal shows on the page, else ``message``."""
        try:
            await run_in_threadpool(work)
        except WorkOrderRefused as err:
            return await refused(caller, err)
        return done(message)

    @app.post(PAGE + "/{raw_id}/route", include_in_schema=False)
    async def do_route(raw_id: str, request: Request) -> Response:
        caller = await allowed(request)
        oid, form = order_id(raw_id), read_form(await request.body(), MAX_FORM)
        squad = form.get("squad", "").strip()[:32]
        return await act(
            caller, lambda: route(storage, oid, squad, caller=caller.officer, now=settings.clock()),
            f"已派遣至 {squad}",
        )  # fmt: skip

    @app.post(PAGE + "/{raw_id}/assign", include_in_schema=False)
    async def do_assign(raw_id: str, request: Request) -> Response:
        caller = await allowed(request)
        oid, form = order_id(raw_id), read_form(await request.body(), MAX_FORM)
        badge = form.get("badge", "").strip()[:32]
        return await act(
            caller, lambda: assign(storage, oid, badge, caller=caller.officer, now=settings.clock()),
            f"已指派 {badge}",
        )  # fmt: skip

    @app.post(PAGE + "/{raw_id}/follow-up", include_in_schema=False)
    async def do_follow_up(raw_id: str, request: Request) -> Response:
        caller = await allowed(request)
        oid, form = order_id(raw_id), read_form(await request.body(), MAX_FORM)
        reached = form.get("reached", "") in ("1", "on", "true")
        try:
            sat = Satisfaction(form["satisfaction"]) if reached and form.get("satisfaction") else None
        except ValueError:
            return await render(caller, error="满意度无效", status=422)
        reopen = form.get("reopen", "") in ("1", "on", "true")

        def work() -> None:
            follow_up(storage, oid, caller=caller.officer, now=settings.clock(), reached=reached,
                      satisfaction=sat, comment=form.get("comment", ""), reopen=reopen)  # fmt: skip

        return await act(caller, work, "已记录回访" + ("，工单重新办理" if reopen else ""))
