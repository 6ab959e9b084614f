"""Who is asking, as FastAPI dependencies: the protocol-header check and the bearer-token principal.

``check_protocol`` refuses an ``X-StreetPatrol-Protocol`` header (``sync.protocol.PROTOCOL_HEADER``) naming
a version HQ does not speak (426). ``principal_dependency(auth)`` is the dependency every signed-in
route takes (``Annotated[Principal, Depends(principal)]``): the protocol check, then
``hq.auth.Auth.authenticate`` on the bearer token (401 with the precise errno).

``token_dependency()`` is the same check without the database: the protocol header, and a bearer token
present at all (TOKEN_MISSING otherwise). The phones' hot routes (push, photo upload) take it and call
``Auth.authenticate`` first thing in the worker thread that does their work, so a request costs one
thread hop less; every refusal still comes before the route reads or stores anything of the caller's.

The header checks are ``async``: FastAPI runs a plain ``def`` dependency in a worker thread, and a hop
to a thread and back costs more than reading two headers.
"""

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Header
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from hq.api.errors import ApiError, unsupported_protocol
from hq.auth import Auth, Principal
from sync.protocol import PROTOCOL_HEADER, SUPPORTED_PROTOCOLS, Errno

_BEARER = HTTPBearer(auto_error=False, description="The per-device token from /v1/auth/sign-in")


async def check_protocol(
    protocol: Annotated[int | None, Header(alias=PROTOCOL_HEADER, include_in_schema=False)] = None,
) -> None:
    if protocol is not None and protocol not in SUPPORTED_PROTOCOLS:
        raise unsupported_protocol(protocol)


def principal_dependency(auth: Auth) -> Callable[..., Principal]:
    """The dependency that turns a request's bearer token into its ``Principal`` (through ``auth``)."""

    def principal(
        _: Annotated[None, Depends(check_protocol)],
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_BEARER)],
    ) -> Principal:
        return auth.authenticate(credentials.credentials if credentials else None)

    return principal


def token_dependency() -> Callable[..., Awaitable[str]]:
    """The dependency giving a request's bearer token, unchecked but present (``Auth.authenticate`` it)."""

    async def token(
        _: Annotated[None, Depends(check_protocol)],
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_BEARER)],
    ) -> str:
        if credentials is None or not credentials.credentials:
            raise ApiError(Errno.TOKEN_MISSING)
        return credentials.credentials

    return token
