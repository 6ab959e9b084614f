"""Open311 GeoReport v2 for partner systems (12345 platforms, online portals): pure mapping, no I/O.

Services are the catalogue's citizen-reportable violation types: every violation of the categories in
``CITIZEN_CATEGORIES`` (01 市容环境, 02 宣传广告, 03 施工管理, 05 街面秩序: all things a resident sees and
reports), derived from the catalogue, so a new catalogue version brings its types along. ``group`` is
the category's name. A request is a work order: ``service_request_id`` the order's id, ``status``
open / closed (closed once resolved), the Chinese stage and outcome in ``status_notes``, times ISO 8601
with offsets (the bureau's zone, +08:00). A request as GET shows it never holds personal data: no caller
name or phone, no exact address (``address`` is the street-level place) and the point rounded to 3
decimals (~100 m).

What a partner sends is read here too, bounded and checked before anything uses it; a refusal is an
``Open311Error`` (the HTTP status and the description in zh-CN and English):

- ``GET requests`` filters (``request_filters``): ``service_request_id`` a comma-separated list of at most
  ``MAX_IDS`` ids (it overrides every other filter, as the spec says), ``service_code`` and ``status``
  comma-separated lists, ``start_date`` / ``end_date`` W3C date-times with an offset. The spec's default
  window: 90 days back from now without dates, 90 days from the one date given, and never a span over 90
  days; at most ``MAX_REQUESTS`` requests, newest first. An empty parameter counts as not given.
- ``POST requests`` (``post_form``, ``posted``): form-encoded (the spec) or a JSON object of texts and
  numbers; every field within ``FIELD_LIMITS``; ``lat``/``long`` decimal numbers in range; ``media_url``
  an http(s) address, checked and never fetched or kept (HQ takes no partner-given URL anywhere).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

from enforcement.catalogue import Catalogue
from enforcement.model import LOCAL_TZ
from enforcement.workorders import CLOSURE_TEXT, STAGE_TEXT, State
from hq.storage.workorder_rows import WorkOrderRow

CITIZEN_CATEGORIES = frozenset({"01", "02", "03", "05"})
#: Requests a GET lists at most (the spec's default limit).
MAX_REQUESTS = 1000
#: The spec's default window and the longest span a GET may ask for.
WINDOW = timedelta(days=90)
#: Ids a ``service_request_id`` list may name; codes a ``service_code`` list.
MAX_IDS = 100
MAX_CODES = 50
#: What HQ serves: the path's extension and its media type (discovery lists them).
FORMATS = {"xml": "text/xml", "json": "application/json"}
ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
#: A W3C date-time (ISO 8601 subset) with its offset; a "+" a client left unencoded reads as a space.
_W3C = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?(?P<offset>Z|[+\- ]\d{2}:\d{2})")
_DECIMAL = re.compile(r"[+-]?\d{1,3}(?:\.\d{1,20})?")
#: Years a date filter may name (outside them no work order exists, and the window's arithmetic is safe).
YEARS = (1970, 2999)
#: The longest value HQ reads of each POST field (characters); the stored ones are bounded again by
#: ``enforcement.workorders.LIMITS``.
FIELD_LIMITS = {
    "api_key": 200,
    "jurisdiction_id": 64,
    "service_code": 16,
    "description": 4000,
    "address_string": 400,
    "address_id": 64,
    "lat": 32,
    "long": 32,
    "email": 254,
    "device_id": 64,
    "account_id": 64,
    "first_name": 64,
    "last_name": 64,
    "phone": 32,
    "media_url": 2000,
}
#: Fields a POST body may hold at most (``attribute[...]`` entries included).
MAX_FIELDS = 100


class Open311Error(Exception):
    """A refusal as the spec answers it: ``status`` is the HTTP status and the error's ``code``."""

    def __init__(self, status: int, zh: str, en: str) -> None:
        super().__init__(en)
        self.status, self.zh, self.en = status, zh, en


def language(accept_language: str | None) -> str:
    """``en`` when the caller's first preferred language is English, else ``zh`` (HQ's default)."""
    first = (accept_language or "")[:200].split(",")[0].split(";")[0].strip().lower()
    return "en" if first == "en" or first.startswith("en-") else "zh"


def iso(at: datetime | None) -> str | None:
    return at.astimezone(LOCAL_TZ).isoformat(timespec="seconds") if at is not None else None


def services(catalogue: Catalogue) -> list[dict[str, Any]]:
    groups = {c.code: c.name_zh for c in catalogue.categories}
    return [
        {
            "service_code": v.code,
            "service_name": v.name_zh,
            "description": v.name_en,
            "metadata": False,
            "type": "realtime",
            "keywords": ",".join(v.common_names),
            "group": groups.get(v.category, ""),
        }
        for v in catalogue.violations.values()
        if v.category in CITIZEN_CATEGORIES
    ]


def reportable(catalogue: Catalogue, code: str) -> bool:
    v = catalogue.violations.get(code)
    return v is not None and v.category in CITIZEN_CATEGORIES


def request_of(order: WorkOrderRow, state: State, catalogue: Catalogue) -> dict[str, Any]:
    r = state.current
    closed = r.resolved_at is not None
    notes = STAGE_TEXT[state.stage][0]
    if r.closure is not None:
        notes += "：" + CLOSURE_TEXT[r.closure][0]
    violation = catalogue.violations.get(order.category)
    return {
        "service_request_id": order.id,
        "status": "closed" if closed else "open",
        "status_notes": notes,
        "service_name": violation.name_zh if violation else "",
        "service_code": order.category,
        "description": order.description,  # at most 4,000 (``enforcement.workorders.LIMITS``), as the spec
        "agency_responsible": "城市管理行政执法局",
        "service_notice": "1 小时内到场，两日内办结",
        "requested_datetime": iso(order.intake_at),
        "updated_datetime": iso(order.updated_at or order.intake_at),
        "expected_datetime": iso(r.resolve_due),
        "address": order.place,
        "address_id": "",
        "zipcode": "",
        "lat": round(order.lat, 3) if order.lat is not None else None,
        "long": round(order.lon, 3) if order.lon is not None else None,
        "media_url": "",
    }


def error(code: int, description: str) -> list[dict[str, Any]]:
    return [{"code": code, "description": description[:300]}]


def service_definition(catalogue: Catalogue, code: str) -> dict[str, Any]:
    """``GET services/{code}``: HQ asks for no attributes (every service's ``metadata`` is false)."""
    if not reportable(catalogue, code):
        raise Open311Error(404, "没有这个服务类型（service_code）", "no such service_code")
    return {"service_code": code, "attributes": []}


def discovery(base_url: str, version: str) -> dict[str, Any]:
    return {
        "changeset": version,
        "contact": "城市管理行政执法局指挥中心",
        "key_service": "streetpatrol-hq partner add NAME",
        "endpoints": [
            {
                "specification": "http://wiki.open311.org/GeoReport_v2",
                "url": base_url,
                "changeset": version,
                "type": "production",
                "formats": list(FORMATS.values()),
            }
        ],
    }


# ------------------------------------------------------------------------------------ GET requests


@dataclass(frozen=True, slots=True)
class Filters:
    """What ``GET requests`` asked for: ``ids`` (then nothing else counts) or the window and filters."""

    ids: tuple[str, ...] = ()
    codes: tuple[str, ...] = ()
    status: str | None = None  # "open" / "closed"; None: both
    since: datetime | None = None
    until: datetime | None = None  # exclusive


def _listed(name: str, text: str, most: int) -> list[str]:
    items = list(dict.fromkeys(i.strip() for i in text.split(",") if i.strip()))
    if len(items) > most:
        raise Open311Error(400, f"{name} 至多列出 {most} 个", f"{name}: at most {most} values")
    return items


def when(name: str, text: str) -> datetime:
    """A W3C date-time with its offset (``Z`` or ±HH:MM) between ``YEARS``, else a 400."""
    bad = Open311Error(
        400,
        f"{name} 须为带时区的日期时间，如 2026-11-22T08:00:00+08:00",
        f"{name} must be a W3C date-time with an offset, e.g. 2026-11-22T08:00:00+08:00",
    )
    found = _W3C.fullmatch(text)
    if found is None:
        raise bad
    offset = found.group("offset")
    if offset.startswith(" "):
        text = text[: -len(offset)] + "+" + offset[1:]
    try:
        at = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise bad from None
    if not YEARS[0] <= at.year <= YEARS[1]:
        raise Open311Error(
            400, f"{name} 须在 {YEARS[0]}–{YEARS[1]} 年之间", f"{name}: a year from {YEARS[0]} to {YEARS[1]}"
        )
    return at


def request_filters(
    *,
    service_request_id: str | None,
    service_code: str | None,
    status: str | None,
    start_date: str | None,
    end_date: str | None,
    now: datetime,
) -> Filters:
    """The filters of a ``GET requests`` query (an empty parameter is one not given), or an
    ``Open311Error``; see the module doc for the window."""
    if service_request_id:
        ids = _listed("service_request_id", service_request_id, MAX_IDS)
        if not all(ID_PATTERN.fullmatch(i) for i in ids):
            raise Open311Error(
                400,
                "service_request_id 须为逗号分隔的服务请求编号",
                "service_request_id: comma-separated service request ids",
            )
        if ids:
            return Filters(ids=tuple(ids))
    codes = _listed("service_code", service_code or "", MAX_CODES)
    if not all(re.fullmatch(r"[0-9]{4}", c) for c in codes):
        raise Open311Error(400, "service_code 须为 4 位数字的服务类型代码", "service_code: 4-digit codes")
    statuses = set(_listed("status", status or "", 2))
    if not statuses <= {"open", "closed"}:
        raise Open311Error(400, "status 只能是 open 或 closed", "status: open or closed")
    start = when("start_date", start_date) if start_date else None
    end = when("end_date", end_date) if end_date else None
    if start is not None and end is not None:
        if start > end:
            raise Open311Error(400, "start_date 不能晚于 end_date", "start_date is after end_date")
        if end - start > WINDOW:
            raise Open311Error(400, "日期范围至多 90 天", "the date range spans more than 90 days")
    elif start is not None:
        end = start + WINDOW
    elif end is not None:
        start = end - WINDOW
    else:
        start = now - WINDOW
    until = end + timedelta(microseconds=1) if end is not None else None  # end_date is inclusive
    return Filters(
        codes=tuple(codes),
        status=statuses.pop() if len(statuses) == 1 else None,
        since=start,
        until=until,
    )


# ---------------------------------------------------------------------------------- POST requests

_UNREADABLE = Open311Error(
    400,
    "请求体无法读取：请用表单（application/x-www-form-urlencoded）或 JSON 对象，UTF-8 编码",
    "the body is unreadable: send a form (application/x-www-form-urlencoded) or a JSON object, in UTF-8",
)


def post_form(body: bytes, content_type: str) -> dict[str, str]:
    """The fields of a POST body: form-encoded (the spec) or a JSON object of texts and numbers."""
    kind = content_type.split(";")[0].strip().lower()
    if kind == "multipart/form-data":
        raise _UNREADABLE
    try:
        text = body.decode("utf-8")
        if kind == "application/json" or kind.endswith("+json"):
            raw = json.loads(text)
            if not isinstance(raw, dict) or len(raw) > MAX_FIELDS:
                raise _UNREADABLE
            form: dict[str, str] = {}
            for key, value in raw.items():
                if value is None:
                    continue
                if isinstance(value, bool) or not isinstance(value, str | int | float):
                    known = key in FIELD_LIMITS  # a name of the caller's own is never echoed
                    raise Open311Error(
                        400,
                        f"{key if known else 'JSON 字段'}须为文字或数字",
                        f"{key if known else 'a JSON field'}: a text or a number",
                    )
                form[key] = value if isinstance(value, str) else repr(value)
            return form
        fields = parse_qs(text, keep_blank_values=True, max_num_fields=MAX_FIELDS, strict_parsing=False)
        return {key: values[0] for key, values in fields.items()}
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise _UNREADABLE from None


def bounded(form: dict[str, str]) -> None:
    """Every known field within ``FIELD_LIMITS`` (a 400 naming the first one over)."""
    for name, limit in FIELD_LIMITS.items():
        if len(form.get(name, "")) > limit:
            raise Open311Error(400, f"{name} 超过 {limit} 个字符", f"{name} is over {limit} characters")


@dataclass(frozen=True, slots=True)
class Posted:
    """A partner's complaint as read from ``POST requests`` (``hq.workorders.check_complaint`` checks
    it again as any complaint)."""

    service_code: str
    description: str
    address: str
    lat: float | None
    lon: float | None
    caller_name: str
    caller_phone: str


def _coordinate(form: dict[str, str], name: str, limit: float) -> float | None:
    text = form.get(name, "").strip()
    if not text:
        return None
    number = float(text) if _DECIMAL.fullmatch(text) else None
    if number is None or not -limit <= number <= limit:
        raise Open311Error(
            400,
            f"{name} 须为 −{limit:g} 到 {limit:g} 之间的十进制数",
            f"{name}: a decimal from -{limit:g} to {limit:g}",
        )
    return number


def posted(form: dict[str, str], catalogue: Catalogue) -> Posted:
    """The complaint of a POST's fields (``bounded`` first), or an ``Open311Error``."""
    bounded(form)
    code = form.get("service_code", "").strip()
    if not code:
        raise Open311Error(400, "缺少 service_code", "service_code is missing")
    if not reportable(catalogue, code):
        raise Open311Error(400, "service_code 不在服务目录中", "service_code not found")
    lat, lon = _coordinate(form, "lat", 90), _coordinate(form, "long", 180)
    media = form.get("media_url", "").strip()
    if media:
        try:
            parts = urlsplit(media)
            web = parts.scheme.lower() in ("http", "https") and bool(parts.hostname)
        except ValueError:  # e.g. an unclosed IPv6 bracket
            web = False
        if not web:
            raise Open311Error(400, "media_url 须为 http(s) 网址", "media_url must be an http(s) URL")
    name = (form.get("last_name", "").strip() + form.get("first_name", "").strip()).strip()
    return Posted(
        code,
        form.get("description", ""),
        form.get("address_string", "").strip(),
        lat,
        lon,
        name,
        form.get("phone", "").strip(),
    )
