"""Open311 GeoReport v2 for partner systems (12345 platforms, online portals): pure mapping, no I/O.

Services are the catalogue's citizen-reportable violation types: every violation of the categories in
``CITIZEN_CATEGORIES`` (01 市容环境, 02 宣传广告, 03 施工管理, 05 街面秩序: all things a resident sees and
reports), derived from the catalogue, so a new catalogue version brings its types along. ``group`` is
the category's name. A request is a work order: ``service_request_id`` the order's id, ``status``
open / closed (closed once resolved), the Chinese stage and outcome in ``status_notes``, times ISO 8601
with offsets (the bureau's zone, +08:00). A request as GET shows it never holds personal data: no caller
name or phone, no exact address (``address`` is the street-level place) and the point rounded to 3
decimals (~100 m).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from enforcement.catalogue import Catalogue
from enforcement.model import LOCAL_TZ
from enforcement.workorders import CLOSURE_TEXT, STAGE_TEXT, State
from hq.storage.workorder_rows import WorkOrderRow

CITIZEN_CATEGORIES = frozenset({"01", "02", "03", "05"})
#: Requests a GET lists at most.
MAX_REQUESTS = 1000


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
        "description": order.description[:1000],
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
