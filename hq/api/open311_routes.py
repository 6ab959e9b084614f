"""Open311 GeoReport v2 (``hq.open311``), as an ``APIRouter`` (tag ``open311``), JSON only::

    GET  /open311/v2/discovery.json
    GET  /open311/v2/services.json
    GET  /open311/v2/requests.json          ?service_request_id=a,b &service_code= &status=open|closed
                                             &start_date= &end_date=   (no key; never personal data)
    POST /open311/v2/requests.json          api_key (``streetpatrol-hq partner add``), service_code,
                                             lat + long and/or address_string, description, first_name,
                                             last_name, phone (form-encoded as the spec says, or JSON)
    GET  /open311/v2/requests/{id}.json

Errors are Open311 error arrays ``[{"code": <HTTP status>, "description": …}]``. A partner's request is
filed as source ``online`` in the district of HQ's demo/seeded squads (``Settings``' first district: the
partner is the city's platform for this bureau).
"""

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from enforcement.catalogue import Catalogue
from enforcement.workorders import Source, replay
from hq import open311
from hq.settings import Settings
from hq.storage.base import Storage
from hq.workorders import Complaint, WorkOrderRefused, file_order, partner_of

MAX_BODY = 64 * 1024
_ID = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"


def _err(status: int, text: str) -> JSONResponse:
    return JSONResponse(open311.error(status, text), status_code=status)


def _float(value: str | None) -> float | None:
    if value is None or value == "":
        return None
    number = float(value)
    if number != number or number in (float("inf"), float("-inf")):
        raise ValueError("not a number")
    return number


def build_router(
    storage: Storage, settings: Settings, catalogue: Catalogue, district_of: Callable[[], str]
) -> APIRouter:
    router = APIRouter(prefix="/open311/v2", tags=["open311"])

    @router.get("/discovery.json")
    def discovery(request: Request) -> dict[str, Any]:
        base = str(request.base_url).rstrip("/") + "/open311/v2/"
        return {
            "changeset": catalogue.version,
            "contact": "城市管理行政执法局指挥中心",
            "key_service": "streetpatrol-hq partner add NAME",
            "endpoints": [
                {
                    "specification": "http://wiki.open311.org/GeoReport_v2",
                    "url": base,
                    "changeset": catalogue.version,
                    "type": "production",
                    "formats": ["application/json"],
                }
            ],
        }

    @router.get("/services.json")
    def services() -> list[dict[str, Any]]:
        return open311.services(catalogue)

    def listed(ids: list[str] | None, **filters: Any) -> list[dict[str, Any]]:
        with storage.transaction(readonly=True) as tx:
            if ids is not None:
                rows = [r for r in (tx.get_work_order(i) for i in ids) if r is not None]
            else:
                rows = tx.list_work_orders(since=filters.get("since"), until=filters.get("until"), limit=500)
            out = []
            for row in rows:
                if filters.get("code") and row.category != filters["code"]:
                    continue
                state = replay(tx.work_order_events(row.id), row.timer)
                item = open311.request_of(row, state, catalogue)
                if filters.get("status") and item["status"] != filters["status"]:
                    continue
                out.append(item)
        return out

    @router.get("/requests.json", response_model=None)
    def requests(
        service_request_id: Annotated[str | None, Query(max_length=2000)] = None,
        service_code: Annotated[str | None, Query(pattern=r"^[0-9]{4}$")] = None,
        status: Annotated[str | None, Query(pattern=r"^(open|closed)(,(open|closed))?$")] = None,
        start_date: Annotated[datetime | None, Query()] = None,
        end_date: Annotated[datetime | None, Query()] = None,
    ) -> list[dict[str, Any]] | JSONResponse:
        ids = None
        if service_request_id is not None:
            import re

            ids = [i for i in service_request_id.split(",") if i][:100]
            if not all(re.fullmatch(_ID, i) for i in ids):
                return _err(400, "service_request_id: bad id")
        for at in (start_date, end_date):
            if at is not None and at.tzinfo is None:
                return _err(400, "dates must carry an offset (ISO 8601)")
            try:  # 0001-01-01T00:00+14:00 has no UTC instant (OverflowError in the storage: a 500)
                _ = at and at.astimezone(UTC)
            except OverflowError:
                return _err(400, "dates must fall within years 1-9999 in UTC")
        one_status = status if status in ("open", "closed") else None
        return listed(ids, code=service_code, status=one_status, since=start_date, until=end_date)

    @router.get("/requests/{request_id}.json", response_model=None)
    def request_one(request_id: str) -> list[dict[str, Any]] | JSONResponse:
        import re

        if not re.fullmatch(_ID, request_id):
            return _err(404, "no such request")
        found = listed([request_id])
        return found if found else _err(404, "no such request")

    @router.post("/requests.json", response_model=None)
    async def post_request(request: Request) -> list[dict[str, Any]] | JSONResponse:
        body = await request.body()
        if len(body) > MAX_BODY:
            return _err(413, "request too large")
        try:
            text = body.decode("utf-8")
            if request.headers.get("content-type", "").startswith("application/json"):
                raw = json.loads(text)
                if not isinstance(raw, dict):
                    return _err(400, "a JSON object is expected")
                # a field is text or a number (lat/long): str() of an object, a list or true would be filed
                # as Python's repr of it
                for name, value in raw.items():
                    if isinstance(value, dict | list | bool):
                        return _err(400, f"{str(name)[:64]} must be text or a number")
                form = {str(k): str(v) for k, v in raw.items() if v is not None}
            else:
                form = {k: v[0] for k, v in parse_qs(text, keep_blank_values=True).items()}
        except (UnicodeDecodeError, ValueError, RecursionError):  # RecursionError: nested too deep to read
            return _err(400, "the body is not valid")
        partner = await run_in_threadpool(partner_of, storage, form.get("api_key"))
        if partner is None:
            return _err(403, "api_key missing or not valid")
        code = form.get("service_code", "")
        if not open311.reportable(catalogue, code):
            return _err(400, "service_code not found")
        try:
            lat, lon = _float(form.get("lat")), _float(form.get("long"))
        except ValueError:
            return _err(400, "lat/long must be numbers")
        name = (form.get("last_name", "") + form.get("first_name", "")).strip()
        complaint = Complaint(
            Source.ONLINE,
            code,
            form.get("description", ""),
            form.get("address_string", ""),
            lat,
            lon,
            name,
            form.get("phone", ""),
        )
        try:
            order = await run_in_threadpool(
                lambda: file_order(
                    storage,
                    complaint,
                    district=district_of(),
                    filed_by=f"partner:{partner.name}",
                    catalogue=catalogue,
                    now=settings.clock(),
                    partner=partner.name,
                )
            )
        except WorkOrderRefused as err:
            return _err(400, err.en or err.errno.name)
        return [
            {"service_request_id": order.id, "service_notice": "1 小时内到场，两日内办结", "account_id": None}
        ]

    return router
