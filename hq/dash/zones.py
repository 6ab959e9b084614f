"""The dashboard's zones page (区域): upload a GeoJSON zone file, download the current set, and a plan of the
zones drawn without map tiles, with one day's cases as dots. HQ role only, like the rest of the dashboard.

    GET  /dashboard/zones?day=YYYY-MM-DD   the page (signed in as HQ), the sign-in form (not signed in),
                                           the Chinese 403 page (another role)
    POST /dashboard/zones                  a zone file → ``hq.zones.import_zones`` (all or nothing); the body
                                           is a ``multipart/form-data`` form (field ``file``, what the
                                           page's form sends) or the raw GeoJSON bytes. 200 with the new
                                           version's counts; 422 with every bad feature by index, in Chinese
                                           and English, and nothing stored. No session 401, another role 403.
    GET  /dashboard/zones.geojson          the current set (``hq.zones.export_bytes``) as a download

The plan (``zones_svg``) projects WGS84 onto a flat local plane around the middle of what it shows, as
``patrollog.plan`` does for a day's cases (metres east / north, equirectangular, one scale for both axes,
a round scale bar, north up). Streets are drawn at their buffer width (at least 3 px) in their class's
colour (示范街 red, 规范街 amber, 商业街 green), squad areas as dashed outlines, grid cells as thin grey
outlines with their codes, 疏导点 as blue markers (their area or radius), and the chosen day's counted
cases (voided and withdrawn ones left out) as dots in the colour of HQ's stage. SVG presentation
attributes only: no inline style, so the dashboard's CSP holds. ``install_dashzones`` adds the routes
(``hq.app`` calls it after ``hq.dash.board.install_dashboard``; the board links here).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from email.parser import BytesParser
from email.policy import HTTP
from html import escape

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response

from enforcement.model import LOCAL_TZ, CaseStatus, ReviewDecision, Stage
from enforcement.staging import stage_name
from enforcement.zones import STREET_CLASS_TEXT, StreetClass, Zone, ZoneKind, parse_feature
from hq.api.errors import ApiError
from hq.auth import Auth, Principal
from hq.dash.caller import cookie_caller
from hq.dash.layout import forbidden_page, html_page, html_section, html_table, sign_in_page
from hq.review import check_day
from hq.settings import Settings
from hq.storage.base import Storage, Tx
from hq.zones import ZonesRefused, export_bytes, export_zones, import_zones
from patrollog.daylog import day_bounds
from patrollog.plan import M_PER_DEG_LAT, M_PER_DEG_LON_EQUATOR, scale_bar
from patrollog.style import FONT_STACK, STAGE_COLOURS
from sync.protocol import Errno, ZoneImportResult

PAGE = "/dashboard/zones"
DOWNLOAD = "/dashboard/zones.geojson"
#: Cases drawn for one day (a district's busiest day is far below this).
MAX_DAY_CASES = 5_000
#: Problems listed on the page (the count says how many there were).
MAX_PROBLEMS_SHOWN = 200

CLASS_COLOURS: dict[StreetClass, str] = {
    StreetClass.MODEL: "#c8453c",
    StreetClass.REGULATED: "#e0a030",
    StreetClass.COMMERCIAL: "#3f9a5a",
}
SPOT_COLOUR = "#1d5fa8"
SQUAD_COLOUR = "#1d3a5f"
GRID_COLOUR = "#9aa3ad"


@dataclass(frozen=True, slots=True)
class CaseDot:
    lat: float
    lon: float
    stage: Stage
    label: str  # tooltip: "21:40 0501 ZD01-…"


@dataclass(frozen=True, slots=True)
class Projection:
    """WGS84 → picture pixels (y downwards) around a centre, one scale on both axes."""

    lon0: float
    lat0: float
    per_lon: float  # metres per degree of longitude at lat0
    scale: float  # pixels per metre
    cx: float
    cy: float

    def xy(self, lon: float, lat: float) -> tuple[float, float]:
        east = (lon - self.lon0) * self.per_lon
        north = (lat - self.lat0) * M_PER_DEG_LAT
        return self.cx + east * self.scale, self.cy - north * self.scale

    @classmethod
    def fit(cls, box: tuple[float, float, float, float], width: int, height: int, margin: int) -> Projection:
        """``box`` (lon0, lat0, lon1, lat1) fitted into ``width`` × ``height`` (at least 200 m shown)."""
        lon_a, lat_a, lon_b, lat_b = box
        lat0, lon0 = (lat_a + lat_b) / 2, (lon_a + lon_b) / 2
        per_lon = M_PER_DEG_LON_EQUATOR * math.cos(math.radians(lat0))
        span_x = max((lon_b - lon_a) * per_lon, 200.0)
        span_y = max((lat_b - lat_a) * M_PER_DEG_LAT, 200.0)
        scale = min((width - 2 * margin) / span_x, (height - 2 * margin) / span_y)
        return cls(lon0, lat0, per_lon, scale, width / 2, height / 2)


def parse_zones(features: Sequence[dict[str, object]]) -> list[Zone]:
    """The stored features as zones (stored ones were checked at import; an unreadable one is skipped)."""
    zones = []
    for feature in features:
        try:
            zones.append(parse_feature(feature))
        except ValueError:
            continue
    return zones


def _extent(zones: Sequence[Zone], dots: Sequence[CaseDot]) -> tuple[float, float, float, float] | None:
    lons: list[float] = []
    lats: list[float] = []
    for zone in zones:
        for polygon in zone.polygons:
            for lon, lat in polygon[0]:
                lons.append(lon)
                lats.append(lat)
        for line in zone.lines:
            for lon, lat in line:
                lons.append(lon)
                lats.append(lat)
    for dot in dots:
        lons.append(dot.lon)
        lats.append(dot.lat)
    if not lons:
        return None
    return min(lons), min(lats), max(lons), max(lats)


def _path(projection: Projection, rings: Sequence[Sequence[tuple[float, float]]], close: bool) -> str:
    parts = []
    for ring in rings:
        points = [projection.xy(lon, lat) for lon, lat in ring]
        head = f"M {points[0][0]:.1f} {points[0][1]:.1f}"
        tail = " ".join(f"L {x:.1f} {y:.1f}" for x, y in points[1:])
        parts.append(f"{head} {tail}{' Z' if close else ''}")
    return " ".join(parts)


def _title(zone: Zone) -> str:
    if zone.kind is ZoneKind.STREET and zone.street_class is not None:
        return f"{zone.name} · {STREET_CLASS_TEXT[zone.street_class][0]}"
    if zone.kind is ZoneKind.GRID_CELL:
        return f"网格 {zone.code} {zone.name}".strip()
    if zone.kind is ZoneKind.SQUAD_AREA:
        return f"{zone.name or zone.code}（{zone.code}）"
    hours = zone.feature.get("properties", {})
    shown = hours.get("hours") if isinstance(hours, dict) else None
    return f"疏导点 {zone.name} {shown or ''}".strip()


def zones_svg(zones: Sequence[Zone], dots: Sequence[CaseDot], *, width: int = 900, height: int = 720) -> str:
    """The plan of ``zones`` with ``dots`` (see the module docstring)."""
    margin = 24
    plan_h = height - 44
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" font-family="{FONT_STACK}" role="img" aria-label="区域示意图" id="zones-plan">',
        f'<rect x="0" y="0" width="{width}" height="{plan_h}" fill="#f7f7f2" stroke="#bbb"/>',
    ]
    box = _extent(zones, dots)
    if box is None:
        parts.append(
            f'<text x="{width / 2}" y="{plan_h / 2}" font-size="16" text-anchor="middle">'
            "尚未导入区域 · No zones imported yet</text></svg>"
        )
        return "".join(parts)
    projection = Projection.fit(box, width, plan_h, margin)
    by_kind = {kind: [z for z in zones if z.kind is kind] for kind in ZoneKind}
    for zone in by_kind[ZoneKind.GRID_CELL]:
        d = _path(projection, [p[0] for p in zone.polygons], True)
        x, y = projection.xy(zone.box.min_lon, zone.box.max_lat)
        parts.append(
            f'<g class="grid-cell"><path d="{d}" fill="none" stroke="{GRID_COLOUR}" stroke-width="1"/>'
            f'<text x="{x + 4:.1f}" y="{y + 14:.1f}" font-size="11" fill="#6b7480">{escape(zone.code)}</text>'
            f"<title>{escape(_title(zone))}</title></g>"
        )
    for zone in by_kind[ZoneKind.STREET]:
        colour = CLASS_COLOURS[zone.street_class or StreetClass.REGULATED]
        title = f"<title>{escape(_title(zone))}</title>"
        if zone.lines:
            stroke = max(zone.reach_m * 2 * projection.scale, 3.0)
            d = _path(projection, zone.lines, False)
            parts.append(
                f'<path class="street" d="{d}" fill="none" stroke="{colour}" stroke-width="{stroke:.1f}" '
                f'stroke-linecap="round" stroke-opacity="0.75">{title}</path>'
            )
        for polygon in zone.polygons:
            d = _path(projection, polygon, True)
            parts.append(
                f'<path class="street" d="{d}" fill="{colour}" fill-opacity="0.6" fill-rule="evenodd" '
                f'stroke="{colour}">{title}</path>'
            )
    for zone in by_kind[ZoneKind.SQUAD_AREA]:
        d = _path(projection, [p[0] for p in zone.polygons], True)
        x, y = projection.xy(zone.box.min_lon, zone.box.min_lat)
        parts.append(
            f'<g class="squad-area"><path d="{d}" fill="none" stroke="{SQUAD_COLOUR}" stroke-width="2.5" '
            f'stroke-dasharray="8 5"/><text x="{x + 6:.1f}" y="{y - 6:.1f}" font-size="13" '
            f'fill="{SQUAD_COLOUR}">{escape(zone.name or zone.code)}</text>'
            f"<title>{escape(_title(zone))}</title></g>"
        )
    for zone in by_kind[ZoneKind.VENDING_SPOT]:
        title = f"<title>{escape(_title(zone))}</title>"
        if zone.polygons:
            d = _path(projection, zone.polygons[0], True)
            parts.append(f'<path class="spot" d="{d}" fill="{SPOT_COLOUR}" fill-opacity="0.5" '
                         f'stroke="{SPOT_COLOUR}" stroke-width="2">{title}</path>')  # fmt: skip
            x, y = projection.xy((zone.box.min_lon + zone.box.max_lon) / 2, zone.box.max_lat)
        else:
            lon, lat = zone.lines[0][0]
            x, y = projection.xy(lon, lat)
            r = max(zone.reach_m * projection.scale, 5.0)
            parts.append(
                f'<g class="spot"><circle cx="{x:.1f}" cy="{y:.1f}" r="{r:.1f}" fill="{SPOT_COLOUR}" '
                f'fill-opacity="0.25" stroke="{SPOT_COLOUR}" stroke-width="1.5"/>'
                f'<path d="M {x:.1f} {y:.1f} l -6 -14 a 6 6 0 1 1 12 0 z" fill="{SPOT_COLOUR}" '
                f'stroke="#fff"/>{title}</g>'
            )
            y -= 14
        parts.append(f'<text x="{x:.1f}" y="{y - 4:.1f}" font-size="11" text-anchor="middle" '
                     f'fill="{SPOT_COLOUR}">{escape(zone.name)}</text>')  # fmt: skip
    for dot in dots:
        x, y = projection.xy(dot.lon, dot.lat)
        parts.append(
            f'<circle class="case" cx="{x:.1f}" cy="{y:.1f}" r="5" fill="{STAGE_COLOURS[dot.stage]}" '
            f'stroke="#fff" stroke-width="1.5"><title>{escape(dot.label)}</title></circle>'
        )
    parts.append(f'<text x="{width - 24}" y="24" font-size="14" text-anchor="middle">北</text>')
    parts.append(f'<path d="M {width - 24} 30 l -6 14 l 6 -4 l 6 4 z" fill="#333"/>')
    footer = height - 16
    bar = scale_bar(projection.scale, width)
    px = bar * projection.scale
    text = f"{bar / 1000:g} 千米" if bar >= 1000 else f"{bar:g} 米"
    parts.append(
        f'<path d="M 12 {footer - 10} v 6 h {px:.1f} v -6" fill="none" stroke="#333" stroke-width="2"/>'
    )
    parts.append(f'<text x="{12 + px + 6:.1f}" y="{footer - 4}" font-size="12">{text}</text>')
    legend = [(CLASS_COLOURS[c], STREET_CLASS_TEXT[c][0]) for c in StreetClass] + [
        (SPOT_COLOUR, "疏导点"),
        *[(STAGE_COLOURS[s], f"案件·{stage_name(s, 'zh')}") for s in Stage],
    ]
    widths = [14 + 12 * len(name) + 14 for _, name in legend]  # CJK at 12 px: about 12 px a character
    x = width - sum(widths) - 8
    for (colour, name), w in zip(legend, widths, strict=True):
        parts.append(f'<rect x="{x}" y="{footer - 13}" width="10" height="10" fill="{colour}"/>')
        parts.append(f'<text x="{x + 14}" y="{footer - 4}" font-size="12">{escape(name)}</text>')
        x += w
    parts.append("</svg>")
    return "".join(parts)


def day_dots(tx: Tx, day: date) -> tuple[list[CaseDot], int]:
    """The counted cases of ``day`` (bureau-local) with a GPS fix as dots, and how many have none."""
    start, end = day_bounds(day)
    dots: list[CaseDot] = []
    missing = 0
    for state in tx.list_cases(since=start, until=end, limit=MAX_DAY_CASES):
        if state.review == ReviewDecision.WITHDRAW.value:
            continue
        case = tx.get_case(state.case_id)
        if case is None or case.status != CaseStatus.ACTIVE:
            continue
        loc = case.location
        if loc.lat is None or loc.lon is None:
            missing += 1
            continue
        when = case.occurred_at.astimezone(LOCAL_TZ)
        label = f"{when:%H:%M} {case.violation_code} {case.case_no} · {stage_name(state.hq_stage, 'zh')}"
        dots.append(CaseDot(loc.lat, loc.lon, state.hq_stage, label))
    return dots, missing


# ------------------------------------------------------------------------------------------- page


def _counts(zones: Sequence[Zone]) -> str:
    names = {ZoneKind.STREET: "街道", ZoneKind.SQUAD_AREA: "中队辖区", ZoneKind.GRID_CELL: "网格",
             ZoneKind.VENDING_SPOT: "疏导点"}  # fmt: skip
    return "，".join(f"{names[k]} {sum(1 for z in zones if z.kind is k)}" for k in ZoneKind)


def _result_html(result: ZoneImportResult) -> str:
    return (
        f'<p id="zones-result" role="status">已导入第 {result.version} 版：共 {result.features} 个要素'
        f"（新增 {result.added}，修改 {result.changed}，删除 {result.removed}），将随下次同步发到手机。<br>"
        f'<small lang="en">Imported version {result.version}: {result.features} features ({result.added} '
        f"added, {result.changed} changed, {result.removed} removed); phones get them on their next sync."
        "</small></p>"
    )


def _refusal_html(exc: ZonesRefused) -> str:
    shown = exc.problems[:MAX_PROBLEMS_SHOWN]
    rows = "".join(
        f'<tr><td class="n">{"文件 file" if p.index < 0 else p.index}</td><td>{escape(p.zh)}</td>'
        f'<td lang="en">{escape(p.en)}</td></tr>'
        for p in shown
    )
    more = len(exc.problems) - len(shown)
    tail = f"<p>另有 {more} 处未列出 · {more} more not listed</p>" if more > 0 else ""
    return (
        f'<div id="zones-problems" role="alert"><p class="error">区域文件有 {len(exc.problems)} 处错误，'
        f'未导入任何内容。<br><small lang="en">{len(exc.problems)} problem(s) in the zone file; nothing '
        'was imported.</small></p><table><thead><tr><th class="n">要素序号 Feature</th><th>问题</th>'
        f'<th lang="en">Problem</th></tr></thead><tbody>{rows}</tbody></table>{tail}</div>'
    )


def zones_page(storage: Storage, caller: Principal, day: date, message: str = "") -> str:
    doc = export_zones(storage)
    version = int(doc.get("properties", {}).get("version", 0))
    zones = parse_zones(doc["features"])
    with storage.transaction(readonly=True) as tx:
        dots, missing = day_dots(tx, day)
    header = (
        "<header><h1>区域 · 疏导点 <small>Zones</small></h1>"
        f'<form method="post" action="/dashboard/sign-out"><a href="/dashboard" id="back-to-board">返回看板'
        f"</a> {escape(caller.officer.name)}（{escape(caller.badge)}） "
        '<button type="submit">退出</button></form></header>'
    )
    current = (
        f'<p id="zones-version">当前第 {version} 版，{len(zones)} 个要素：{_counts(zones)}。</p>'
        if version
        else '<p id="zones-version">尚未导入区域 · No zones imported yet.</p>'
    )
    upload = (
        f'{message}<form method="post" action="{PAGE}" enctype="multipart/form-data" id="zones-upload">'
        '<label>GeoJSON 文件 File <input type="file" name="file" accept=".geojson,.json,application/geo+json,'
        'application/json" required></label> <button type="submit">上传导入 Import</button></form>'
        "<p><small>整个文件要么全部导入，要么全部拒绝（逐个列出有问题的要素）。坐标为 WGS84。"
        "The file is imported whole or refused whole (every bad feature listed). WGS84 coordinates."
        "</small></p>"
        f'<p><a href="{DOWNLOAD}" id="zones-download" download>下载当前区域 Download (GeoJSON)</a></p>'
    )
    chooser = (
        f'<form method="get" action="{PAGE}" id="zones-day"><label>案件日期 Day '
        f'<input type="date" name="day" value="{day.isoformat()}"></label> '
        '<button type="submit">显示</button></form>'
        f'<p id="zones-day-cases">{day.isoformat()}：{len(dots)} 起有定位的案件'
        f"{f'，另有 {missing} 起无定位' if missing else ''}。</p>"
    )
    spots = [
        [z.name, " ".join(f"{k} {'/'.join(v)}" for k, v in _hours(z).items()), "、".join(z.goods),
         str(z.capacity), z.contact]
        for z in zones if z.kind is ZoneKind.VENDING_SPOT
    ]  # fmt: skip
    sections = [
        html_section("导入 / 下载 Import / download", current + upload, anchor="zones-import"),
        html_section("示意图 Plan", chooser + zones_svg(zones, dots), "wide", "zones-map"),
        html_section("疏导点 Vending spots",
                     html_table(["名称", "开放时间", "经营品类", "容量", "联系"], spots, {3}),
                     "wide", "zones-spots"),
    ]  # fmt: skip
    return html_page("区域 · 指挥中心看板", header + "<main>" + "".join(sections) + "</main>")


def _hours(zone: Zone) -> dict[str, list[str]]:
    props = zone.feature.get("properties")
    hours = props.get("hours") if isinstance(props, dict) else None
    if not isinstance(hours, dict):
        return {}
    return {str(k): [str(s) for s in v] for k, v in hours.items() if isinstance(v, list)}


def upload_bytes(content_type: str, body: bytes) -> bytes:
    """The zone file in a request body: the ``file`` part of a multipart form, or the body itself."""
    if not content_type.lower().startswith("multipart/form-data"):
        return body
    message = BytesParser(policy=HTTP).parsebytes(
        b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body
    )
    if not message.is_multipart():
        raise ApiError(Errno.VALIDATION, zh="上传的表单无法读取", en="The uploaded form cannot be read")
    for part in message.iter_parts():
        if part.get_param("name", header="content-disposition") == "file":
            payload = part.get_payload(decode=True)
            return payload if isinstance(payload, bytes) else b""
    raise ApiError(Errno.VALIDATION, zh="表单中没有文件（file）", en="No file in the form", field="file")


# ------------------------------------------------------------------------------------------ routes


def install_dashzones(app: FastAPI, storage: Storage, auth: Auth, settings: Settings) -> None:
    """Add the zones page's routes (module docstring) to ``app``."""

    caller_of = cookie_caller(auth)

    def hq_caller(caller: Principal | None) -> Principal:
        if caller is None:
            raise ApiError(Errno.TOKEN_MISSING)
        if not caller.is_hq:
            raise ApiError(Errno.FORBIDDEN)
        return caller

    def chosen_day(request: Request) -> date:
        text = request.query_params.get("day")
        try:
            day = date.fromisoformat(text) if text else settings.clock().astimezone(LOCAL_TZ).date()
            check_day(day)
        except (ValueError, ApiError) as exc:
            raise ApiError(Errno.VALIDATION, zh="日期无效", en="Bad day", field="day") from exc
        return day

    @app.get(PAGE, response_class=HTMLResponse, include_in_schema=False)
    async def page(request: Request) -> HTMLResponse:
        caller = await run_in_threadpool(caller_of, request)
        if caller is None:
            return HTMLResponse(sign_in_page())
        if not caller.is_hq:
            return HTMLResponse(forbidden_page(caller.officer.name), status_code=403)
        day = chosen_day(request)
        return HTMLResponse(await run_in_threadpool(zones_page, storage, caller, day))

    @app.post(PAGE, response_class=HTMLResponse, include_in_schema=False)
    async def upload(request: Request) -> HTMLResponse:
        caller = hq_caller(await run_in_threadpool(caller_of, request))
        data = upload_bytes(request.headers.get("content-type", ""), await request.body())
        at: datetime = settings.clock()
        try:
            result = await run_in_threadpool(import_zones, storage, data, by=caller.badge, at=at)
        except ZonesRefused as exc:
            html = await run_in_threadpool(zones_page, storage, caller, at.astimezone(LOCAL_TZ).date(),
                                           _refusal_html(exc))  # fmt: skip
            return HTMLResponse(html, status_code=422)
        html = await run_in_threadpool(
            zones_page, storage, caller, at.astimezone(LOCAL_TZ).date(), _result_html(result)
        )
        return HTMLResponse(html)

    @app.get(DOWNLOAD, include_in_schema=False)
    async def download(request: Request) -> Response:
        hq_caller(await run_in_threadpool(caller_of, request))
        data = await run_in_threadpool(export_bytes, storage)
        return Response(
            data,
            media_type="application/geo+json",
            headers={"Content-Disposition": 'attachment; filename="zones.geojson"'},
        )
