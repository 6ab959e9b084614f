"""The dashboard's subject page (当事人合并, issue #22): merge suggestions and field conflicts, for squad
leaders (their own district) and HQ (any district, ``?district=``; its own by default).

    GET  /dashboard/subjects?district=          the page, the sign-in form (not signed in), the Chinese 403
                                                page (another role, or a leader asking for another
                                                district): open merge suggestions (strong pairs flagged,
                                                weak ones by name or place) with both subjects' fields and
                                                cases side by side, the merged pairs, open field conflicts
    POST /dashboard/subjects/merge              form alias, into → ``hq.merge.merge_subjects``
    POST /dashboard/subjects/split              form a, b → ``hq.merge.split_subjects`` (不是同一当事人)
    POST /dashboard/subjects/unmerge            form alias → ``hq.merge.unmerge_subjects`` (撤销合并)
    POST /dashboard/subjects/resolve            form conflict, take=hq|pushed → ``hq.subjectedit``

A form that worked answers 303 back to the page (a reload does nothing twice); a refused one shows the
page again with the reason in Chinese and English, under the errno's status (a form without its ids:
422). POSTs without a session are 401, from another role 403 (JSON, as the other dashboard forms); the
browser guard (``hq.api.browser``) refuses cross-site POSTs; no inline script or style (CSP). A resident
ID number is shown masked, as in the JSON API.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from html import escape
from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from enforcement.catalogue import Catalogue
from enforcement.labels import KIND_ZH, subject_plate
from enforcement.model import LOCAL_TZ, CaseStatus, Role, Subject, SubjectKind
from enforcement.staging import stage_name
from hq.api.errors import ApiError
from hq.auth import Auth, Principal
from hq.dash.caller import cookie_caller, role_gate
from hq.dash.layout import forbidden_page, html_page, html_section, read_form, sign_in_page
from hq.merge import MergeRefused, merge_subjects, split_subjects, unmerge_subjects
from hq.settings import Settings
from hq.storage.base import Storage, SubjectPair, Tx
from hq.subjectedit import resolve_conflict, shown
from hq.subjectmatch import STRONG
from sync.protocol import RECORD_ID_PATTERN, Errno, http_status

PAGE = "/dashboard/subjects"
ROLES = (Role.LEADER, Role.HQ)
MAX_PAIRS = 50  # suggestions and conflicts listed (their cases are read one by one)
MAX_CASES = 20  # cases listed per subject of a pair
MAX_FORM = 4 * 1024

FIELD_ZH = {
    "kind": "类型", "name": "名称", "phone": "电话", "plate": "车牌", "address": "地址",
    "description": "说明", "id_number": "身份证号", "hardship": "困难户",
}  # fmt: skip
REASON_ZH = {"phone": "电话相同", "plate": "车牌相同", "id": "身份证号相同", "name": "名称相同",
             "place": "名称相近且在附近", "leader": "人工合并"}  # fmt: skip
REFUSED_ZH = {
    Errno.NOT_FOUND: ("当事人或冲突不存在", "No such subject or conflict"),
    Errno.FORBIDDEN: ("无权处理该辖区的当事人", "You may not act on this district's subjects"),
    Errno.SUBJECT_MERGE_INVALID: ("不能合并这两个当事人", "These two subjects cannot be merged"),
    Errno.SUBJECT_NOT_MERGED: ("该当事人没有被合并", "This subject is not merged"),
    Errno.SUBJECT_CONFLICT_RESOLVED: ("该冲突已处理", "This conflict is resolved already"),
}


Action = Callable[[Principal, list[str], dict[str, str]], None]


class FormError(Exception):
    """A form without what it needs: 422 with the page and the reason."""


def _reason(pair: SubjectPair) -> str:
    return "、".join(REASON_ZH.get(part, part) for part in pair.reason.split(",") if part)


def _local(moment: datetime | None) -> str:
    return moment.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M") if moment else ""


def _value(field: str, value: object) -> str:
    text = shown(field, value)
    if field == "kind":
        try:
            return KIND_ZH.get(SubjectKind(text), text)
        except ValueError:
            return text
    if field == "hardship":
        return "是" if text == "True" else "否"
    return text


def _card(tx: Tx, subject: Subject, catalogue: Catalogue, side: str) -> str:
    rows = [
        ("名称", subject.name or "（未填）"),
        ("类型", KIND_ZH.get(SubjectKind(subject.kind), str(subject.kind))),
        ("电话", subject.phone),
        ("车牌", subject_plate(subject)),
        ("地址", subject.address),
        ("身份证号", shown("id_number", subject.id_number)),
        ("困难户", "是" if subject.hardship else ""),
        ("登记", _local(subject.created_at)),
    ]
    fields = "".join(f"<dt>{k}</dt><dd>{escape(v)}</dd>" for k, v in rows if v)
    cases = []
    for entry in tx.subject_history(subject.id)[-MAX_CASES:]:
        v = catalogue.violations.get(entry.violation_code)
        void = "" if entry.status is CaseStatus.ACTIVE else "（不计）"
        state = tx.case_state(entry.case_id)
        stage = stage_name(state.hq_stage if state is not None else entry.stage)
        if state is not None and state.hq_stage != entry.stage:
            stage += f"（手机：{stage_name(entry.stage)}）"
        cases.append(
            f"<li>{escape(_local(entry.occurred_at))} {escape(v.name_zh if v else entry.violation_code)} "
            f"{escape(stage)}{void} <small>{escape(entry.case_no)}</small></li>"
        )
    listing = f"<ol>{''.join(cases)}</ol>" if cases else "<p>无违法记录</p>"
    return (
        f'<div class="side" id="subject-{escape(subject.id)}" data-side="{side}"><dl>{fields}</dl>'
        f"<h3>违法记录 · {len(cases)} 起</h3>{listing}</div>"
    )


def _hidden(**values: str) -> str:
    return "".join(f'<input type="hidden" name="{k}" value="{escape(v)}">' for k, v in values.items())


def _suggestion(tx: Tx, pair: SubjectPair, catalogue: Catalogue, district: str) -> str:
    a, b = tx.get_subject(pair.a), tx.get_subject(pair.b)
    if a is None or b is None:
        return ""
    # the earlier registration on the left: it survives the merge
    left, right = sorted((a, b), key=lambda s: (s.created_at or datetime.max.replace(tzinfo=LOCAL_TZ), s.id))
    strong = pair.strength == STRONG
    flag = ("强匹配 · 已按同一当事人核定阶段" if strong else "弱匹配 · 仅供参考") + f"（{_reason(pair)}）"
    back = _hidden(district=district)
    forms = (
        f'<form method="post" action="{PAGE}/merge">{_hidden(alias=right.id, into=left.id)}{back}'
        f'<button type="submit">合并（保留左侧）</button></form> '
        f'<form method="post" action="{PAGE}/split">{_hidden(a=pair.a, b=pair.b)}{back}'
        '<button type="submit">不是同一当事人</button></form>'
    )
    css = "pair strong" if strong else "pair weak"
    return (
        f'<article class="{css}" id="pair-{escape(pair.a)}-{escape(pair.b)}">'
        f'<p class="flag">{escape(flag)}</p><div class="sides">'
        f"{_card(tx, left, catalogue, 'left')}{_card(tx, right, catalogue, 'right')}</div>"
        f'<div class="actions">{forms}</div></article>'
    )


def _merged(tx: Tx, pair: SubjectPair, district: str) -> str:
    alias_row = tx.subject_alias(pair.a) or tx.subject_alias(pair.b)
    if alias_row is None:
        return ""
    alias, survivor = tx.get_subject(alias_row.alias_id), tx.get_subject(alias_row.survivor_id)
    names = [(s.name or subject_plate(s) or s.id[:8]) if s else "?" for s in (alias, survivor)]
    return (
        # each name isolated: a bidi override pasted into one must not reorder the arrow and the other
        f'<tr id="merged-{escape(alias_row.alias_id)}"><td><bdi>{escape(names[0])}</bdi> → '
        f"<bdi>{escape(names[1])}</bdi></td>"
        f"<td>{escape(_local(alias_row.at))}</td><td>{escape(alias_row.by_badge)}</td>"
        f'<td><form method="post" action="{PAGE}/unmerge">{_hidden(alias=alias_row.alias_id)}'
        f'{_hidden(district=district)}<button type="submit">撤销合并</button></form></td></tr>'
    )


def _conflicts(tx: Tx, district: str) -> tuple[int, str]:
    rows = []
    conflicts = tx.list_subject_conflicts(district, limit=MAX_PAIRS)
    for c in conflicts:
        subject = tx.get_subject(c.subject_id)
        name = (subject.name or subject_plate(subject)) if subject else c.subject_id[:8]
        cells = [
            name, FIELD_ZH.get(c.field, c.field), _value(c.field, c.base_value),
            _value(c.field, c.hq_value), _value(c.field, c.pushed_value), f"{c.by_badge} · {c.device_id}",
            _local(c.at),
        ]  # fmt: skip
        tds = "".join(f"<td>{escape(x)}</td>" for x in cells)
        forms = "".join(
            f'<form method="post" action="{PAGE}/resolve">{_hidden(conflict=c.id, take=take)}'
            f'{_hidden(district=district)}<button type="submit">{label}</button></form>'
            for take, label in (("hq", "保留现值"), ("pushed", "采用手机的值"))
        )
        rows.append(f'<tr id="conflict-{escape(c.id)}">{tds}<td>{forms}</td></tr>')
    heads = ["当事人", "字段", "原值", "指挥中心现值", "手机提交的值", "提交人", "时间", "处理"]
    table = (
        "<table><thead><tr>" + "".join(f"<th>{h}</th>" for h in heads) + "</tr></thead>"
        f"<tbody>{''.join(rows) or '<tr><td>无</td></tr>'}</tbody></table>"
    )
    return len(conflicts), table


def subjects_page(
    storage: Storage,
    catalogue: Catalogue,
    caller: Principal,
    district: str,
    *,
    note: str = "",
    error: str = "",
) -> str:
    me = caller.officer
    with storage.transaction(readonly=True) as tx:
        pairs = tx.list_subject_pairs(district, limit=MAX_PAIRS)
        pairs.sort(key=lambda p: (p.strength != STRONG, -p.at.timestamp()))
        suggestions = [_suggestion(tx, p, catalogue, district) for p in pairs]
        merged = [_merged(tx, p, district) for p in tx.list_subject_pairs(district, states=("merged",))]
        n_conflicts, conflicts = _conflicts(tx, district)
    suggestions = [s for s in suggestions if s]
    merged = [m for m in merged if m]
    header = (
        f"<header><h1>当事人合并 · {escape(district)}</h1>"
        f'<form method="post" action="/dashboard/sign-out">{escape(me.name)}（{escape(me.badge)}） '
        '<button type="submit">退出</button></form></header>'
    )
    notes = (f'<p class="error" role="alert" id="subjects-error">{escape(error)}</p>' if error else "") + (
        f'<p class="note" id="subjects-note">{escape(note)}</p>' if note else ""
    )
    back = '<p><a href="/dashboard">返回看板</a></p>' if caller.is_hq else ""
    merged_table = (
        "<table><thead><tr><th>被合并 → 保留</th><th>时间</th><th>操作人</th><th></th></tr></thead>"
        f"<tbody>{''.join(merged) or '<tr><td>无</td></tr>'}</tbody></table>"
    )
    sections = [
        html_section(
            "说明",
            notes + back + "<p>强匹配（电话、车牌或身份证号相同）已按同一当事人核定阶段，合并后各手机"
            "下次同步即显示为一个当事人；弱匹配（名称相近，或名称相近且案件在附近）仅为建议。</p>",
            "wide",
        ),
        html_section(
            f"合并建议（{len(suggestions)}）", "".join(suggestions) or "<p>无</p>", "wide", "suggestions"
        ),
        html_section(f"字段冲突（{n_conflicts}）", conflicts, "wide", "conflicts"),
        html_section(f"已合并（{len(merged)}）", merged_table, "wide", "merged"),
    ]
    return html_page("当事人合并", header + "<main>" + "".join(sections) + "</main>")


def _ids(form: dict[str, str], *names: str) -> list[str]:
    values = [form.get(name, "").strip() for name in names]
    if not all(re.fullmatch(RECORD_ID_PATTERN, v) for v in values):
        raise FormError()
    return values


def install_dashsubjects(
    app: FastAPI, storage: Storage, auth: Auth, settings: Settings, catalogue: Catalogue
) -> None:
    """Add the subject page's routes to ``app`` (``hq.app`` calls it after ``install_dashboard``)."""

    caller_of = cookie_caller(auth)

    def district_of(caller: Principal, wanted: str) -> str | None:
        district = wanted.strip()[:64] or caller.district
        return district if caller.can_read_district(district) else None

    allowed = role_gate(caller_of, ROLES)

    async def render(
        caller: Principal, district: str, *, note: str = "", error: str = "", status: int = 200
    ) -> HTMLResponse:
        html = await run_in_threadpool(
            lambda: subjects_page(storage, catalogue, caller, district, note=note, error=error)
        )
        return HTMLResponse(html, status_code=status)

    @app.get(PAGE, response_class=HTMLResponse, include_in_schema=False)
    async def page(request: Request) -> HTMLResponse:
        caller = await run_in_threadpool(caller_of, request)
        if caller is None:
            return HTMLResponse(sign_in_page())
        district = district_of(caller, request.query_params.get("district", ""))
        if caller.role not in ROLES or district is None:
            return HTMLResponse(forbidden_page(caller.officer.name), status_code=403)
        return await render(caller, district, note=request.query_params.get("done", "")[:100])

    async def act(request: Request, names: tuple[str, ...], action: Action, done: str) -> Response:
        caller = await allowed(request)
        form = read_form(await request.body(), MAX_FORM)
        district = district_of(caller, form.get("district", ""))
        if district is None:
            raise ApiError(Errno.FORBIDDEN)
        try:
            ids = _ids(form, *names)
        except FormError:
            return await render(caller, district, error="表单无效：缺少当事人或冲突编号 Bad form", status=422)
        try:
            await run_in_threadpool(lambda: action(caller, ids, form))
        except MergeRefused as err:
            zh, en = REFUSED_ZH.get(err.errno, ("操作未完成", "Not done"))
            text = f"{err.zh or zh}（{err.en or en}）"
            return await render(caller, district, error=text, status=http_status(err.errno))
        query = urlencode({"district": district, "done": done})
        return RedirectResponse(f"{PAGE}?{query}", status_code=303)

    def merge(caller: Principal, ids: list[str], _form: dict[str, str]) -> None:
        with storage.transaction() as tx:
            merge_subjects(tx, caller.officer, ids[0], ids[1], settings.clock())

    def split(caller: Principal, ids: list[str], _form: dict[str, str]) -> None:
        with storage.transaction() as tx:
            split_subjects(tx, caller.officer, ids[0], ids[1], settings.clock())

    def unmerge(caller: Principal, ids: list[str], _form: dict[str, str]) -> None:
        with storage.transaction() as tx:
            unmerge_subjects(tx, caller.officer, ids[0], settings.clock())

    def resolve(caller: Principal, ids: list[str], form: dict[str, str]) -> None:
        take = form.get("take", "")
        if take not in ("hq", "pushed"):
            raise MergeRefused(Errno.VALIDATION, "请选择保留哪个值", "Choose which value to keep")
        with storage.transaction() as tx:
            conflict = tx.get_subject_conflict(ids[0])
            if conflict is None:
                raise MergeRefused(Errno.NOT_FOUND)
            if not caller.can_read_district(conflict.district):
                raise MergeRefused(Errno.FORBIDDEN)
            if conflict.resolved_at is not None:
                raise MergeRefused(Errno.SUBJECT_CONFLICT_RESOLVED)
            resolve_conflict(tx, ids[0], take=take, by_badge=caller.badge, at=settings.clock())

    @app.post(PAGE + "/merge", include_in_schema=False)
    async def do_merge(request: Request) -> Response:
        return await act(request, ("alias", "into"), merge, "已合并")

    @app.post(PAGE + "/split", include_in_schema=False)
    async def do_split(request: Request) -> Response:
        return await act(request, ("a", "b"), split, "已标记为不是同一当事人")

    @app.post(PAGE + "/unmerge", include_in_schema=False)
    async def do_unmerge(request: Request) -> Response:
        return await act(request, ("alias",), unmerge, "已撤销合并")

    @app.post(PAGE + "/resolve", include_in_schema=False)
    async def do_resolve(request: Request) -> Response:
        return await act(request, ("conflict",), resolve, "冲突已处理")
