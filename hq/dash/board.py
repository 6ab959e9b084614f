"""HQ's dashboard (指挥中心看板): server-rendered HTML at ``/dashboard``, for the HQ role (a squad leader
signing in lands on ``/dashboard/subjects``, the hotline desk on ``/dashboard/orders``).

    GET  /dashboard?days=14&until=YYYY-MM-DD   the board (signed in as HQ), the sign-in form (not signed
                                                in), or a 403 page in Chinese (another role)
    POST /dashboard/sign-in                    form badge + PIN → ``hq.auth.Auth.sign_in`` → HttpOnly cookie
    POST /dashboard/sign-out                   revokes the cookie's token
    POST /dashboard/users/disable|enable       form badge → ``hq.auth.Auth.set_user_active`` (HQ only;
                                                disabling revokes every token of the user at once)
    GET  /dashboard/export.csv?days=&until=    the window's cases as CSV (``hq.export.write_cases_csv``)
    GET  /assets/fonts/…                       the shipped fonts (``@font-face``: ``hq.dash.fonts``)
    GET  /assets/dashboard.css                 the pages' stylesheet (no inline style or script: CSP)

The cookie holds a token of the ordinary kind (one per browser sign-in, its own device id), so expiry,
revocation, throttling and the audit log work as for phones. The board: cases per day, squad, violation
and HQ stage over the window (latest versions; voided and withdrawn cases left out), a trend chart
(``hq.dash.chart``; by day, week or month), repeat offenders (subjects at 处罚, most cases first), stage
conflicts waiting for a decision, each officer's last contact with HQ, and a CSV export link (streamed).
The figures come from the aggregates ingest keeps (``hq.tally``), filtered by squad and violation
(``?squad=&violation=&trend=day|week|month``); each table shows its top ``TOP`` rows and links to the
full list, paged by keyset (``hq.dash.lists``: ``/dashboard/conflicts``, ``/dashboard/offenders``,
``/dashboard/cases``). These pages are not part of the
JSON API (not in the OpenAPI document). Browser hardening (CSP, no framing, no-store, cross-site POSTs
refused) is ``hq.api.browser``'s; the cookie is ``Secure`` when ``Settings.secure_cookies``.
"""

from __future__ import annotations

import secrets
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from html import escape

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from enforcement.catalogue import Catalogue
from enforcement.labels import subject_plate
from enforcement.model import LOCAL_TZ, Role, Stage
from enforcement.staging import stage_name
from hq.api.errors import ApiError
from hq.api.transport_security import cookie_secure
from hq.audit import GENESIS
from hq.auth import Auth, Principal
from hq.dash.caller import COOKIE, cookie_caller
from hq.dash.chart import trend_svg
from hq.dash.figures import orders_section
from hq.dash.fonts import FONT_PREFIX, font_files
from hq.dash.layout import (
    STYLE,
    STYLE_URL,
    forbidden_page,
    html_page,
    html_section,
    html_table,
    read_form,
    sign_in_page,
)
from hq.dash.lists import board_filters, cases_link, filter_form, install_lists, more_link, streamed_csv
from hq.dash.policy import policy_section
from hq.daydata import load_daylog
from hq.review import check_day, daylog_response, known_text
from hq.settings import Settings
from hq.storage.base import AuditHead, CaseState, Storage, Tx
from patrollog.daylog import DayLog, day_bounds
from sync.protocol import Errno, SignInRequest

MAX_DAYS = 92
MAX_FORM = 4 * 1024  # the sign-in and user forms' bodies
TOP = 20  # rows of each dashboard table; the full lists page (hq.dash.lists)
TREND_BUCKETS = 12


@dataclass(frozen=True, slots=True)
class Offender:
    subject_id: str
    label: str
    cases: int
    last_day: date


@dataclass(frozen=True, slots=True)
class Board:
    days: list[date]
    total: int
    by_day_stage: dict[date, dict[Stage, int]]
    by_day_squad: dict[date, Counter[str]]
    by_squad: Counter[str]
    by_violation: Counter[str]
    by_stage: Counter[Stage]
    offenders: list[Offender]
    conflicts: list[CaseState]
    last_seen: list[tuple[str, str, str, datetime | None]]  # badge, name, squad, last contact
    squads: dict[str, str]  # code -> name
    policy_html: str = ""  # the staged rule's policy in force and its history (hq.dash.policy)
    fines_yuan: int = 0
    seized: Counter[str] = field(default_factory=Counter)  # item kind -> items seized in the window
    open_conflicts: int = 0  # all open conflicts (``conflicts`` holds the newest ``TOP``)
    trend: Trend | None = None  # by week or month (None: by day over the window)
    squad: str | None = None  # the filters the figures were read with
    violation: str | None = None
    orders_html: str = ""  # the work orders' figures line of the window and the link (hq.dash.figures)


@dataclass(frozen=True, slots=True)
class Trend:
    unit: str  # "week" | "month"
    buckets: list[date]  # each bucket's first day, oldest first
    counts: dict[date, dict[Stage, int]]


def load_board(
    tx: Tx,
    until: date,
    days: int,
    *,
    squad: str | None = None,
    violation: str | None = None,
    trend: str = "day",
    now: datetime | None = None,
) -> Board:
    """The dashboard's figures for the ``days`` bureau-local days ending with ``until``, read from the
    aggregates ingest keeps (``hq.tally``): the cost does not grow with the cases of the window.
    ``squad`` / ``violation`` filter the counts; ``trend`` is ``day`` (the window), ``week`` or ``month``
    (the last ``TREND_BUCKETS`` of them up to ``until``). Tables hold the top ``TOP`` rows; the full
    lists page (``hq.dash.lists``); ``now`` is HQ's clock for the work orders' figures
    (``hq.dash.figures``)."""
    window = [until - timedelta(days=n) for n in range(days - 1, -1, -1)]
    first, last = window[0].isoformat(), until.isoformat()
    where = {"squad_code": squad, "violation_code": violation}
    by_day_stage: dict[date, dict[Stage, int]] = defaultdict(dict)
    by_day_squad: dict[date, Counter[str]] = defaultdict(Counter)
    by_squad: Counter[str] = Counter()
    by_violation: Counter[str] = Counter()
    by_stage: Counter[Stage] = Counter()
    fines = 0
    for day_text, squad_code, stage, n, _, yuan in tx.tally_sum(first, last, ("day", "squad_code", "stage"),
                                                       **where):  # fmt: skip
        day = date.fromisoformat(day_text)
        by_day_stage[day][Stage(stage)] = by_day_stage[day].get(Stage(stage), 0) + n
        by_day_squad[day][squad_code] += n
        by_squad[squad_code] += n
        by_stage[Stage(stage)] += n
        fines += yuan
    for code, n, _, _ in tx.tally_sum(first, last, ("violation_code",), **where):
        by_violation[code] = n
    seized: Counter[str] = Counter()
    for _, _, kind, _, items in tx.tally_seized(first, last, squad_code=squad):
        seized[kind] += items
    offenders = []
    for row in tx.tally_offenders(day_bounds(window[0])[0], limit=TOP):
        subject = tx.get_subject(row.subject_id, include_deleted=True)
        label = (subject.name or subject_plate(subject)) if subject else row.subject_id
        offenders.append(Offender(row.subject_id, label, row.cases, row.last_at.astimezone(LOCAL_TZ).date()))
    conflicts = tx.cases_page(open_conflicts=True, squad_code=squad, limit=TOP)
    open_conflicts = sum(n for _, code, n in tx.tally_conflicts() if squad in (None, code))
    seen: dict[str, datetime] = {}
    for device in tx.list_devices():
        if device.badge not in seen or device.last_seen_at > seen[device.badge]:
            seen[device.badge] = device.last_seen_at
    users = sorted(tx.list_users(), key=lambda u: (u.officer.squad_code, u.badge))
    start, end = day_bounds(window[0])[0], day_bounds(until)[1]
    last_seen = [
        (u.badge, u.officer.name, u.officer.squad_code, seen.get(u.badge))
        for u in users
        if u.officer.role is not Role.HQ
    ]
    return Board(
        days=window,
        total=sum(by_stage.values()),
        by_day_stage=dict(by_day_stage),
        by_day_squad=dict(by_day_squad),
        by_squad=by_squad,
        by_violation=by_violation,
        by_stage=by_stage,
        offenders=offenders,
        conflicts=conflicts,
        last_seen=last_seen,
        squads={sq.code: sq.name for sq in tx.list_squads()},
        policy_html=policy_section(tx),
        fines_yuan=fines,
        seized=seized,
        open_conflicts=open_conflicts,
        trend=trend_of(tx, until, trend, where) if trend != "day" else None,
        squad=squad,
        violation=violation,
        orders_html=orders_section(tx, start, end, now or end),  # work orders filed in the window
    )


def trend_of(tx: Tx, until: date, unit: str, where: dict[str, str | None]) -> Trend:
    """Cases by stage per week (Monday first) or per month, the last ``TREND_BUCKETS`` up to ``until``:
    the whole weeks or months from the rollup ingest keeps (``agg_trend``), the last one, when ``until``
    ends it early, from the day rows of its days up to ``until``."""
    if unit == "week":
        monday = until - timedelta(days=until.weekday())
        buckets = [monday - timedelta(weeks=n) for n in range(TREND_BUCKETS - 1, -1, -1)]
        after_last = buckets[-1] + timedelta(weeks=1)
    else:
        y, m = until.year, until.month
        starts = []
        for _ in range(TREND_BUCKETS):
            starts.append(date(y, m, 1))
            y, m = (y, m - 1) if m > 1 else (y - 1, 12)
        buckets = starts[::-1]
        after_last = date(until.year + until.month // 12, until.month % 12 + 1, 1)
    whole = buckets if until == after_last - timedelta(days=1) else buckets[:-1]
    counts: dict[date, dict[Stage, int]] = defaultdict(dict)
    if whole:
        for first_day, stage, n in tx.tally_trend(unit, whole[0].isoformat(), whole[-1].isoformat(), **where):
            bucket = date.fromisoformat(first_day)
            counts[bucket][Stage(stage)] = counts[bucket].get(Stage(stage), 0) + n
    if len(whole) < len(buckets):
        last = buckets[-1]
        for _, stage, n, _, _ in tx.tally_sum(last.isoformat(), until.isoformat(), ("day", "stage"),
                                             **where):  # fmt: skip
            counts[last][Stage(stage)] = counts[last].get(Stage(stage), 0) + n
    return Trend(unit, buckets, dict(counts))


# ------------------------------------------------------------------------------------------- pages


def _daylog_form(
    squads: dict[str, str], day: date, *, own: tuple[str, str] | None = None, days: int = 14
) -> str:
    """The day-log download: HQ's own unit ``own`` (code, name: a day log across every squad of its
    district) first, then each squad; the window's days in ISO order, newest first."""
    units = [(code, name) for code, name in sorted(squads.items()) if own is None or code != own[0]]
    if own is not None:
        units.insert(0, (own[0], f"{own[1]}（全部中队）"))
    options = "".join(
        f'<option value="{escape(code)}">{escape(code)} {escape(name)}</option>' for code, name in units
    )
    dates = "".join(
        f'<option value="{d}">{d}</option>'
        for d in ((day - timedelta(days=i)).isoformat() for i in range(days))
    )
    return (
        '<form method="get" action="/dashboard/daylog">'
        f'<label>中队 <select name="squad" id="daylog-squad">{options}</select></label> '
        f'<label>日期 <select name="until" id="daylog-day">{dates}</select></label> '
        '<label>格式 <select name="format"><option value="pdf">PDF</option><option value="csv">CSV</option>'
        '</select></label> <button type="submit">下载</button></form>'
    )


def _user_form(message: str = "") -> str:
    """Disable (every token revoked at once) or enable a user by badge: a POST form under the session."""
    note = f'<p class="note" id="user-note">{escape(message)}</p>' if message else ""
    return (
        f'{note}<form method="post" action="/dashboard/users/disable">'
        '警号 <input name="badge" maxlength="32">'
        ' <button type="submit">停用（立即注销登录）</button>'
        ' <button type="submit" formaction="/dashboard/users/enable">启用</button></form>'
    )


def _local(moment: datetime | None) -> str:
    return moment.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M") if moment else "从未同步"


_ZONES_LINK = (
    '<p><a href="/dashboard/zones?day={day}" id="zones-link">导入、下载区域，查看区域示意图与当日案件</a>'
    '<br><small lang="en">Zones: import, download, plan with the day\'s cases</small></p>'
    '<p><a href="/dashboard/subjects" id="subjects-link">当事人合并建议与字段冲突</a>'
    '<br><small lang="en">Subjects: merge suggestions and field conflicts</small></p>'
)


def board_page(board: Board, catalogue: Catalogue, caller: Principal, until: date, days: int) -> str:
    squads = sorted(board.by_squad) or sorted(board.squads)
    day_rows = [
        [d.isoformat(), *[str(board.by_day_squad.get(d, Counter())[s]) for s in squads],
         str(sum(board.by_day_squad.get(d, Counter()).values()))]
        for d in reversed(board.days)
    ]  # fmt: skip
    by_squad = [[s, board.squads.get(s, ""), str(n)] for s, n in board.by_squad.most_common()]
    by_violation = [
        [code, catalogue.label(code), str(n)]
        for code, n in sorted(board.by_violation.items(), key=lambda kv: (-kv[1], kv[0]))
    ]
    by_stage = [[stage_name(s, "zh"), str(board.by_stage.get(s, 0))] for s in Stage]
    offenders = [[o.label, str(o.cases), o.last_day.isoformat()] for o in board.offenders]
    conflicts = [
        [c.case_no, c.officer_badge, c.squad_code, stage_name(c.device_stage, "zh"),
         stage_name(c.hq_stage, "zh"),
         _local(c.occurred_at)]
        for c in board.conflicts
    ]  # fmt: skip
    last_seen = [[b, n, s, _local(at)] for b, n, s, at in board.last_seen]
    if board.trend is None:
        chart = trend_svg(board.days, board.by_day_stage, title=f"近 {days} 天每日案件数（按处置阶段）")
    else:
        unit = "周" if board.trend.unit == "week" else "月"
        chart = trend_svg(board.trend.buckets, board.trend.counts,
                          title=f"近 {TREND_BUCKETS} {unit}每{unit}案件数（按处置阶段）")  # fmt: skip
    trend_unit = board.trend.unit if board.trend else "day"
    chart = filter_form(board.squads, board.squad, board.violation, trend_unit, until, days) + chart
    export = f"/dashboard/export.csv?days={days}&amp;until={until.isoformat()}"
    first = board.days[0].isoformat()
    header = (
        f"<header><h1>指挥中心看板 · {escape(first)} 至 {until.isoformat()}</h1>"
        f'<form method="post" action="/dashboard/sign-out">{escape(caller.officer.name)}'
        f'（{escape(caller.badge)}） <button type="submit">退出</button></form></header>'
    )
    total = (
        f'<p class="big" id="total-cases">{board.total}</p>'
        f'<p>不含作废、撤销的案件。<a href="{export}" id="csv-export">导出 CSV</a></p>'
        f"<p>罚款 {board.fines_yuan} 元；暂扣 "
        + escape("，".join(f"{k} {n}" for k, n in board.seized.most_common()) or "无")
        + f'。<a href="{cases_link(board.squad, until, days)}">案件列表</a></p>'
    )
    squad_columns = set(range(1, len(squads) + 2))
    sections = [
        html_section("案件总数", total),
        html_section("按处置阶段（指挥中心核定）", html_table(["阶段", "起数"], by_stage, {1})),
        html_section("趋势", chart, "wide"),
        html_section("按日期、中队", html_table(["日期", *squads, "合计"], day_rows, squad_columns), "wide"),
        html_section("按中队", html_table(["代码", "中队", "起数"], by_squad, {2})),
        html_section(
            "中队巡查日志",
            _daylog_form(
                board.squads, until, own=(caller.officer.squad_code, caller.officer.squad_name), days=days
            ),
            anchor="daylog",
        ),
        # hq.dash.zones
        html_section("区域 · 疏导点", _ZONES_LINK.format(day=until.isoformat()), anchor="zones"),
        html_section("按违法类型", html_table(["代码", "违法类型", "起数"], by_violation, {2})),
        html_section("屡犯当事人（已到处罚阶段）",
                     html_table(["当事人", "案件数", "最近一次"], offenders, {1})
                     + more_link("/dashboard/offenders", f"前 {TOP} 名", until, days), anchor="offenders"),
        html_section(f"待决定的阶段冲突（{board.open_conflicts} 起）",
                     html_table(["案件编号", "警号", "中队", "设备阶段", "中心阶段", "时间"], conflicts)
                     + more_link("/dashboard/conflicts", f"最新 {TOP} 起", until, days),
                     "wide", "conflicts"),
        html_section("队员最近同步", html_table(["警号", "姓名", "中队", "最近联系指挥中心"], last_seen),
                     "wide", "last-sync"),
        html_section("停用 / 启用账号", _user_form(), anchor="users"),
        board.policy_html,
        board.orders_html,  # hq.dash.figures
    ]  # fmt: skip
    body = header + "<main>" + "".join(sections) + "</main>"
    return html_page("指挥中心看板", body)


# ------------------------------------------------------------------------------------------ routes


def install_dashboard(
    app: FastAPI, storage: Storage, auth: Auth, settings: Settings, catalogue: Catalogue
) -> None:
    """Add the dashboard's routes and the font's static route to ``app``."""
    app.mount(FONT_PREFIX, font_files(), name="fonts")

    @app.get(STYLE_URL, include_in_schema=False)
    async def stylesheet() -> Response:
        return Response(
            STYLE, media_type="text/css; charset=utf-8", headers={"Cache-Control": "max-age=3600"}
        )

    caller_of = cookie_caller(auth)

    def window(request: Request) -> tuple[date, int]:
        try:
            days = min(max(int(request.query_params.get("days", "14")), 1), MAX_DAYS)
            text = request.query_params.get("until")
            until = date.fromisoformat(text) if text else settings.clock().astimezone(LOCAL_TZ).date()
            check_day(until)
            check_day(until - timedelta(days=days - 1))
        except (ValueError, ApiError) as exc:
            raise ApiError(Errno.VALIDATION, zh="日期或天数无效", en="Bad day or number of days") from exc
        return until, days

    @app.get("/dashboard", response_class=HTMLResponse, include_in_schema=False)
    async def dashboard(request: Request) -> Response:
        caller = await run_in_threadpool(caller_of, request)
        if caller is None:
            return HTMLResponse(sign_in_page())
        if caller.role is Role.DESK:  # the hotline desk's pages are the work orders (hq.dash.orders)
            return RedirectResponse("/dashboard/orders", status_code=303)
        if caller.role is Role.LEADER:  # a squad leader's page is the district's subjects (hq.dash.subjects)
            return RedirectResponse("/dashboard/subjects", status_code=303)
        if not caller.is_hq:
            return HTMLResponse(forbidden_page(caller.officer.name), status_code=403)
        until, days = window(request)
        squad, violation, trend = board_filters(request)

        def render() -> str:
            with storage.transaction(readonly=True) as tx:
                board = load_board(
                    tx, until, days, squad=squad, violation=violation, trend=trend, now=settings.clock()
                )
            return board_page(board, catalogue, caller, until, days)

        return HTMLResponse(await run_in_threadpool(render))

    @app.post("/dashboard/sign-in", response_class=HTMLResponse, include_in_schema=False)
    async def sign_in(request: Request) -> Response:
        form = read_form(await request.body(), MAX_FORM)
        badge = form.get("badge", "").strip()[:32]
        pin = form.get("pin", "")[:64]
        if not badge or not pin:
            return HTMLResponse(sign_in_page("请输入警号和密码"), status_code=422)
        address = request.client.host if request.client else "unknown"
        body = SignInRequest(
            badge=badge, pin=pin, device_id=f"web-{secrets.token_hex(8)}", device_name="指挥中心看板"
        )
        try:
            signed = await run_in_threadpool(auth.sign_in, body, address)
        except ApiError as err:
            return HTMLResponse(sign_in_page(err.zh), status_code=err.status, headers=err.headers)
        if signed.officer.role not in (Role.HQ, Role.DESK, Role.LEADER):
            principal = await run_in_threadpool(auth.authenticate, signed.token)
            await run_in_threadpool(auth.sign_out, principal)
            return HTMLResponse(forbidden_page(signed.officer.name), status_code=403)
        home = {Role.DESK: "/dashboard/orders", Role.LEADER: "/dashboard/subjects"}.get(
            signed.officer.role, "/dashboard"
        )
        response = RedirectResponse(home, status_code=303)
        max_age = int((signed.expires_at - settings.clock()).total_seconds())
        response.set_cookie(
            COOKIE,
            signed.token,
            max_age=max_age,
            httponly=True,
            samesite="strict",
            path="/",
            secure=cookie_secure(request, settings),
        )
        return response

    @app.post("/dashboard/sign-out", include_in_schema=False)
    async def sign_out(request: Request) -> Response:
        caller = await run_in_threadpool(caller_of, request)
        if caller is not None:
            await run_in_threadpool(auth.sign_out, caller)
        response = RedirectResponse("/dashboard", status_code=303)
        response.delete_cookie(
            COOKIE, path="/", httponly=True, samesite="strict", secure=cookie_secure(request, settings)
        )
        return response

    async def user_active(request: Request, active: bool) -> Response:
        caller = await run_in_threadpool(caller_of, request)
        if caller is None:
            raise ApiError(Errno.TOKEN_MISSING)
        if not caller.is_hq:
            raise ApiError(Errno.FORBIDDEN)
        form = read_form(await request.body(), MAX_FORM)
        badge = form.get("badge", "").strip()[:32]
        if not badge:
            raise ApiError(Errno.VALIDATION, zh="请输入警号", en="A badge is required", field="badge")
        revoked = await run_in_threadpool(auth.set_user_active, caller.badge, badge, active)
        text = f"已启用 {badge}" if active else f"已停用 {badge}，注销 {revoked} 个登录"
        return HTMLResponse(
            html_page("账号", html_section("停用 / 启用账号", _user_form(text), anchor="users"))
        )

    @app.post("/dashboard/users/disable", include_in_schema=False)
    async def disable_user(request: Request) -> Response:
        return await user_active(request, False)

    @app.post("/dashboard/users/enable", include_in_schema=False)
    async def enable_user(request: Request) -> Response:
        return await user_active(request, True)

    install_lists(app, storage, caller_of, window)  # the full, paged lists (hq.dash.lists)

    @app.get("/dashboard/daylog", include_in_schema=False)
    async def daylog(request: Request) -> Response:
        caller = await run_in_threadpool(caller_of, request)
        if caller is None:
            raise ApiError(Errno.TOKEN_MISSING)
        if not caller.is_hq:
            raise ApiError(Errno.FORBIDDEN)
        until, _ = window(request)
        squad = request.query_params.get("squad", "")
        wanted = request.query_params.get("format", "pdf")
        if wanted not in ("pdf", "csv"):
            raise ApiError(
                Errno.VALIDATION, zh="格式须为 pdf 或 csv", en="format must be pdf or csv", field="format"
            )

        own = caller.officer

        def read() -> tuple[DayLog, tuple[int, str]]:
            with storage.transaction(readonly=True) as tx:
                head = tx.audit_head() or AuditHead(0, GENESIS)  # printed in the PDF (hq.audit)
                if squad and squad == own.squad_code:  # HQ's own unit: every squad of its district
                    codes = [sq.code for sq in tx.list_squads(own.district) if sq.code != own.squad_code]
                    name = f"{own.squad_name}（全部中队）"
                    log = load_daylog(tx, squad, until, catalogue, squads=codes, unit_name=name)
                    return log, (head.seq, head.hash)
                if not known_text(squad) or tx.get_squad(squad) is None:
                    raise ApiError(Errno.NOT_FOUND, zh=f"中队“{squad}”不存在", en=f"No squad {squad}")
                return load_daylog(tx, squad, until, catalogue), (head.seq, head.hash)

        log, head = await run_in_threadpool(read)
        return await daylog_response(log, "csv" if wanted == "csv" else "pdf", head)

    @app.get("/dashboard/export.csv", include_in_schema=False)
    async def export(request: Request) -> Response:
        caller = await run_in_threadpool(caller_of, request)
        if caller is None:
            raise ApiError(Errno.TOKEN_MISSING)
        if not caller.is_hq:
            raise ApiError(Errno.FORBIDDEN)
        until, days = window(request)
        since = until - timedelta(days=days - 1)
        name = f"cases-{since.isoformat()}-{until.isoformat()}.csv"
        return streamed_csv(storage, name, since=since, until=until)  # hq.dash.lists: constant memory
