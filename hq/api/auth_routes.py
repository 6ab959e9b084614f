"""Sign-in and devices, as an ``APIRouter`` (tag ``auth``); the checks themselves are ``hq.auth.Auth``'s.

POST /v1/auth/sign-in                  SignInRequest → SignInResponse (throttled per badge and address)
POST /v1/auth/sign-out                 → RevokeResponse (the caller's token)
GET  /v1/devices?badge=                → DeviceList (own devices; another badge's: HQ only)
POST /v1/devices/{device_id}/revoke    → RevokeResponse (officer: own tokens on it; HQ: any); the
                                       device (or badge on it) then stays blocked: its sign-ins get
                                       DEVICE_REVOKED until ``streetpatrol-hq enable-device``
"""

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Depends, Request

from hq.api.callers import check_protocol
from hq.api.errors import ERROR_RESPONSES, unsupported_protocol
from hq.auth import Auth, Principal
from hq.settings import Settings
from hq.storage.base import Storage
from sync.protocol import (
    SUPPORTED_PROTOCOLS,
    DeviceInfo,
    DeviceList,
    RevokeResponse,
    SignInRequest,
    SignInResponse,
)


def client_address(request: Request, settings: Settings) -> str:
    """The caller's address. Behind a reverse proxy listed in ``Settings.trusted_proxies``, uvicorn has
    already put the client's address from ``X-Forwarded-For`` here (``hq.cli.main`` serve); from anyone else
    the header is ignored, so a caller cannot choose the address the throttle and the audit log see."""
    return request.client.host if request.client else "unknown"


def build_router(
    storage: Storage, settings: Settings, auth: Auth, principal: Callable[..., Principal]
) -> APIRouter:
    """The sign-in and device routes; ``principal`` is the app's bearer-token dependency."""
    router = APIRouter()
    Caller = Annotated[Principal, Depends(principal)]

    @router.post(
        "/v1/auth/sign-in",
        response_model=SignInResponse,
        responses=ERROR_RESPONSES,
        tags=["auth"],
        dependencies=[Depends(check_protocol)],
    )
    def sign_in(body: SignInRequest, request: Request) -> SignInResponse:
        if body.protocol not in SUPPORTED_PROTOCOLS:
            raise unsupported_protocol(body.protocol)
        return auth.sign_in(body, client_address(request, settings))

    @router.post("/v1/auth/sign-out", response_model=RevokeResponse, responses=ERROR_RESPONSES, tags=["auth"])
    def sign_out(caller: Caller) -> RevokeResponse:
        count = auth.sign_out(caller)
        return RevokeResponse(device_id=caller.device_id, revoked=count, server_time=settings.clock())

    @router.get("/v1/devices", response_model=DeviceList, responses=ERROR_RESPONSES, tags=["auth"])
    def devices(caller: Caller, badge: str | None = None) -> DeviceList:
        if badge not in (None, caller.badge):
            caller.require_hq()
        now = settings.clock()
        with storage.transaction(readonly=True) as tx:
            rows = tx.list_devices(badge or caller.badge)
            counts = {row.device_id: tx.active_token_count(row.device_id, now, row.badge) for row in rows}
        return DeviceList(
            devices=[
                DeviceInfo(
                    device_id=row.device_id,
                    badge=row.badge,
                    device_name=row.device_name,
                    created_at=row.created_at,
                    last_seen_at=row.last_seen_at,
                    active_tokens=counts[row.device_id],
                )
                for row in rows
            ]
        )

    @router.post(
        "/v1/devices/{device_id}/revoke",
        response_model=RevokeResponse,
        responses=ERROR_RESPONSES,
        tags=["auth"],
    )
    def revoke_device(device_id: str, caller: Caller, badge: str | None = None) -> RevokeResponse:
        count = auth.revoke_device(caller, device_id, badge)
        return RevokeResponse(device_id=device_id, revoked=count, server_time=settings.clock())

    return router
