"""Zones, as an ``APIRouter`` (tag ``zones``).

GET /v1/zones    → the current zone set, a GeoJSON FeatureCollection (WGS84), for anyone signed in
PUT /v1/zones    GeoJSON bytes → ZoneImportResult; HQ only. A bad file is 422 ``ZONES_INVALID`` with
                 every problem (index, zh, en) in ``detail["problems"]`` and nothing stored; a file over
                 ``enforcement.zones.MAX_FILE_BYTES`` is 413 ``ZONES_TOO_LARGE`` (``hq.api.limits``).
"""

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool

from enforcement.zones import MAX_FILE_BYTES
from hq.api.errors import ERROR_RESPONSES, ApiError
from hq.auth import Principal
from hq.settings import Settings
from hq.storage.base import Storage
from hq.zones import ZonesRefused, export_zones, import_zones
from sync.protocol import MAX_ZONE_PROBLEMS, Errno, ZoneImportResult


def refusal(exc: ZonesRefused) -> ApiError:
    """The API error of a refused zone file: every problem (bounded) in ``detail``."""
    problems = [{"index": p.index, "zh": p.zh, "en": p.en} for p in exc.problems[:MAX_ZONE_PROBLEMS]]
    return ApiError(
        Errno.ZONES_INVALID,
        zh=f"区域文件有 {len(exc.problems)} 处错误，未导入任何内容：{exc.zh}",
        en=f"{len(exc.problems)} problem(s) in the zone file, nothing imported: {exc.en}",
        detail={"problems": problems, "count": len(exc.problems)},
        field="zones",
    )


def build_router(storage: Storage, settings: Settings, principal: Callable[..., Principal]) -> APIRouter:
    router = APIRouter()
    Caller = Annotated[Principal, Depends(principal)]

    @router.get("/v1/zones", responses=ERROR_RESPONSES, tags=["zones"])
    def zones(caller: Caller) -> dict[str, Any]:
        return export_zones(storage)

    @router.put("/v1/zones", response_model=ZoneImportResult, responses=ERROR_RESPONSES, tags=["zones"])
    async def put_zones(request: Request, caller: Caller) -> ZoneImportResult:
        if not caller.is_hq:
            raise ApiError(Errno.FORBIDDEN)
        body = await request.body()
        if len(body) > MAX_FILE_BYTES:
            raise ApiError(Errno.ZONES_TOO_LARGE)
        try:
            return await run_in_threadpool(import_zones, storage, body, by=caller.badge, at=settings.clock())
        except ZonesRefused as exc:
            raise refusal(exc) from None

    return router
