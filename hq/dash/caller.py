"""Who is calling a dashboard page: the signed-in user behind the dashboard's cookie, and the gate a page's
actions pass through.

The dashboard's pages (``hq.dash.board``, ``hq.dash.orders``, ``hq.dash.subjects``,
``hq.dash.zones``) read the caller the same way: the cookie ``COOKIE`` holds the token HQ issued at the
dashboard's sign-in, and it is checked by ``hq.auth.Auth`` exactly as an API token is (expired, revoked
or unknown: no caller, and the page offers the sign-in). An action (a form post) needs a caller whose
role the page admits, else it is refused with ``TOKEN_MISSING`` (no caller) or ``FORBIDDEN`` (a role
the page does not admit), answered in zh and en
by ``hq.api.errors``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection

from fastapi import Request
from fastapi.concurrency import run_in_threadpool

from enforcement.model import Role
from hq.api.errors import ApiError
from hq.auth import Auth, Principal
from sync.protocol import Errno

__all__ = ["COOKIE", "CallerOf", "cookie_caller", "role_gate"]

#: The dashboard's session cookie (HttpOnly, SameSite=Strict; set by ``hq.dash.board``'s sign-in).
COOKIE = "sp_hq_token"

CallerOf = Callable[[Request], "Principal | None"]


def cookie_caller(auth: Auth) -> CallerOf:
    """The function giving a request's signed-in caller from its cookie, or None (blocking: it reads the
    token store, so pages call it in the thread pool)."""

    def caller_of(request: Request) -> Principal | None:
        try:
            return auth.authenticate(request.cookies.get(COOKIE))
        except ApiError:
            return None

    return caller_of


def role_gate(caller_of: CallerOf, roles: Collection[Role]) -> Callable[[Request], Awaitable[Principal]]:
    """The check an action runs first: the caller, when signed in with one of ``roles``; else ``ApiError``."""

    async def allowed(request: Request) -> Principal:
        caller = await run_in_threadpool(caller_of, request)
        if caller is None:
            raise ApiError(Errno.TOKEN_MISSING)
        if caller.role not in roles:
            raise ApiError(Errno.FORBIDDEN)
        return caller

    return allowed
