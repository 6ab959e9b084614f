"""Open311 GeoReport v2 (``hq.open311``), as an ``APIRouter`` (tag ``open311``); every resource as ``.xml``
(the spec's required format) and ``.json``::

    GET  /open311/v2/discovery.{xml,json}
    GET  /open311/v2/services.{xml,json}
    GET  /open311/v2/services/{service_code}.{xml,json}   (service definition: no attributes; 404 unknown)
    GET  /open311/v2/requests.{xml,json}    ?service_request_id=a,b &service_code=a,b &status=open,closed
                                             &start_date= &end_date=   (no key; never personal data)
    POST /open311/v2/requests.{xml,json}    api_key (``streetpatrol-hq partner add``), service_code,
                                             lat + long and/or address_string, description, first_name,
                                             last_name, phone, media_url (checked, never fetched nor kept)
                                             (form-encoded as the spec says, or JSON)
    GET  /open311/v2/requests/{id}.{xml,json}

``jurisdiction_id`` is accepted (bounded) and ignored everywhere: one HQ serves one bureau. Errors are
Open311 error arrays ``[{"code": <HTTP status>, "description": …}]`` in the path's format, the description
in Chinese (``hq.api.open311_format``). A partner's request is filed as source ``online`` in the district
of HQ's demo/seeded squads (``Settings``' first district: the partner is the city's platform for this
bureau). The api_key is never compared as text: its SHA-256 is looked up (``hq.workorders.partner_of``),
so response times say nothing about a key's characters.
"""

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.concurrency import run_in_threadpool

from enforcement.catalogue import Catalogue
from enforcement.workorders import Source, replay
from hq import open311
from hq.api.open311_format import answer, refused
from hq.settings import Settings
from hq.storage.base import Storage
from hq.workorders import Complaint, WorkOrderRefused, file_order, partner_of

NOTICE = "1 小时内到场，两日内办结"
Jurisdiction = Annotated[str | None, Query(max_length=64, description="accepted and ignored")]
#: ``service_request_id``: at most ``MAX_IDS`` ids of 64 characters and their commas.
_IDS_CHARS = open311.MAX_IDS * 65


def build_router(
    storage: Storage, settings: Settings, catalogue: Catalogue, district_of: Callable[[], str]
) -> APIRouter:
    router = APIRouter(prefix="/open311/v2", tags=["open311"])

    def listed(filters: open311.Filters) -> list[dict[str, Any]]:
        with storage.transaction(readonly=True) as tx:
            if filters.ids:
                rows = [r for r in (tx.get_work_order(i) for i in filters.ids) if r is not None]
            else:
                rows = tx.list_work_orders(
                    since=filters.since,
                    until=filters.until,
                    categories=filters.codes,
                    open_only=filters.status == "open",
                    closed_only=filters.status == "closed",
                    limit=open311.MAX_REQUESTS,
                )
            events = tx.work_order_events_of([row.id for row in rows])
        return [open311.request_of(row, replay(events[row.id], row.timer), catalogue) for row in rows]

    def formats(fmt: str) -> None:
        path = f".{fmt}"

        @router.get(f"/discovery{path}", response_model=None, name=f"discovery_{fmt}")
        def discovery(request: Request, jurisdiction_id: Jurisdiction = None) -> Response:
            base = str(request.base_url).rstrip("/") + "/open311/v2/"
            return answer(open311.discovery(base, catalogue.version), fmt, "discovery")

        @router.get(f"/services{path}", response_model=None, name=f"services_{fmt}")
        def services(jurisdiction_id: Jurisdiction = None) -> Response:
            return answer(open311.services(catalogue), fmt, "services")

        @router.get(f"/services/{{service_code}}{path}", response_model=None, name=f"service_{fmt}")
        def service(request: Request, service_code: str, jurisdiction_id: Jurisdiction = None) -> Response:
            try:
                return answer(open311.service_definition(catalogue, service_code), fmt, "service_definition")
            except open311.Open311Error as err:
                return refused(err, request.url.path, request.headers.get("accept-language"))

        @router.get(f"/requests{path}", response_model=None, name=f"requests_{fmt}")
        def requests(
            request: Request,
            service_request_id: Annotated[str | None, Query(max_length=_IDS_CHARS)] = None,
            service_code: Annotated[str | None, Query(max_length=open311.MAX_CODES * 5)] = None,
            status: Annotated[str | None, Query(max_length=20)] = None,
            start_date: Annotated[str | None, Query(max_length=40)] = None,
            end_date: Annotated[str | None, Query(max_length=40)] = None,
            jurisdiction_id: Jurisdiction = None,
        ) -> Response:
            try:
                filters = open311.request_filters(
                    service_request_id=service_request_id,
                    service_code=service_code,
                    status=status,
                    start_date=start_date,
                    end_date=end_date,
                    now=settings.clock(),
                )
            except open311.Open311Error as err:
                return refused(err, request.url.path, request.headers.get("accept-language"))
            return answer(listed(filters), fmt, "requests")

        @router.get(f"/requests/{{request_id}}{path}", response_model=None, name=f"request_{fmt}")
        def request_one(request: Request, request_id: str, jurisdiction_id: Jurisdiction = None) -> Response:
            known = open311.ID_PATTERN.fullmatch(request_id)
            found = listed(open311.Filters(ids=(request_id,))) if known else []
            if not found:
                err = open311.Open311Error(404, "没有这个服务请求", "no such service request")
                return refused(err, request.url.path, request.headers.get("accept-language"))
            return answer(found, fmt, "requests")

        @router.post(f"/requests{path}", response_model=None, name=f"post_request_{fmt}")
        async def post_request(request: Request) -> Response:
            # The body is capped before it is read (``hq.api.limits.BodyLimit``: 413 over the cap).
            language = request.headers.get("accept-language")
            try:
                form = open311.post_form(await request.body(), request.headers.get("content-type", ""))
                partner = await run_in_threadpool(partner_of, storage, form.get("api_key"))
                if partner is None:
                    raise open311.Open311Error(403, "api_key 缺失或无效", "api_key missing or not valid")
                complaint = open311.posted(form, catalogue)
                order = await run_in_threadpool(
                    lambda: file_order(
                        storage,
                        Complaint(
                            Source.ONLINE,
                            complaint.service_code,
                            complaint.description,
                            complaint.address,
                            complaint.lat,
                            complaint.lon,
                            complaint.caller_name,
                            complaint.caller_phone,
                        ),
                        district=district_of(),
                        filed_by=f"partner:{partner.name}",
                        catalogue=catalogue,
                        now=settings.clock(),
                        partner=partner.name,
                    )
                )
            except open311.Open311Error as err:
                return refused(err, request.url.path, language)
            except WorkOrderRefused as err:
                wrapped = open311.Open311Error(400, err.zh or "投诉无法受理", err.en or err.errno.name)
                return refused(wrapped, request.url.path, language)
            filed = [{"service_request_id": order.id, "service_notice": NOTICE, "account_id": None}]
            return answer(filed, fmt, "requests")

    for fmt in open311.FORMATS:
        formats(fmt)
    return router
