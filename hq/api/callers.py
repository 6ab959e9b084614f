"""Who is asking, as FastAPI dependencies: the protocol-header check and the bearer-token principal.

``check_protocol`` refuses an ``X-StreetPatrol-Protocol`` header (``sync.protocol.PROTOCOL_HEADER``) naming
a version HQ does not speak (426). ``principal_dependency(auth)`` is the dependency every signed-in
route takes (``Annotated[Principal, Depends(principal)]``): the protocol check, then
``hq.auth.Auth.authenticate`` on the bearer token (401 with the precise errno).
"""

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Header
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from hq.api.errors import unsupported_protocol
from hq.auth import Auth, Principal
from sync.protocol import PROTOCOL_HEADER, SUPPORTED_PROTOCOLS


def check_protocol(
    protocol: Annotated[int | None, Header(alias=PROTOCOL_HEADER, include_in_schema=False)] = None,
) -> None:
    if protocol is not None and protocol not in SUPPORTED_PROTOCOLS:
        raise unsupported_protocol(protocol)


def principal_dependency(auth: Auth) -> Callable[..., Principal]:
    """The dependency that turns a request's bearer token into its ``Principal`` (through ``auth``)."""
    bearer = HTTPBearer(auto_error=False, description="The per-device token from /v1/auth/sign-in")

    def principal(
        _: Annotated[None, Depends(check_protocol)],
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    ) -> Principal:
        return auth.authenticate(credentials.credentials if credentials else None)

    return principal
