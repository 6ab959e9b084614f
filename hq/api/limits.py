"""What the HQ API refuses before a route runs: oversized bodies, NULs in URLs; and the ``nosniff`` header.

``BodyLimit`` (ASGI middleware) refuses a declared Content-Length over the route's cap and stops
counting bytes that go past it (413 with the route's errno); ``body_limits(settings)`` gives each route's
cap: a push batch ``max_batch_bytes`` (``BATCH_TOO_LARGE``), a zone file ``MAX_FILE_BYTES``
(``ZONES_TOO_LARGE``), any other JSON body ``max_json_bytes`` (``BODY_TOO_LARGE``, saying the cap), a
photo upload none here (it streams its body with its own cap, ``hq.api.photo_routes``).
``install_limits`` adds both middlewares to the app.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import unquote

from fastapi import FastAPI
from starlette.datastructures import MutableHeaders

from enforcement.zones import MAX_FILE_BYTES
from hq.api import open311_format
from hq.api.errors import ApiError, error_response, is_open311
from hq.settings import Settings
from sync.protocol import Errno

ASGIApp = Callable[
    [MutableMapping[str, Any], Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]],
    Awaitable[None],
]
Limits = Callable[[str, str], tuple[int, Errno] | None]


#: Routes whose body is a zone file (``hq.api.zone_routes``, ``hq.dash.zones``).
ZONE_UPLOAD_PATHS = frozenset({"/v1/zones", "/dashboard/zones"})


class _BodyTooLarge(Exception):
    pass


class BodyLimit:
    """ASGI middleware: JSON bodies are capped before the app reads them (413 with an errno).

    ``limits(method, path)`` gives the cap and the errno to answer, or None when the route streams its own
    body (photo upload)."""

    def __init__(self, app: ASGIApp, limits: Limits) -> None:
        self.app = app
        self.limits = limits

    async def __call__(
        self,
        scope: MutableMapping[str, Any],
        receive: Callable[[], Awaitable[Any]],
        send: Callable[[Any], Awaitable[None]],
    ) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limits(scope["method"], scope["path"])
        if limit is None:
            await self.app(scope, receive, send)
            return
        cap, errno = limit
        path = scope["path"]
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        language = headers.get(b"accept-language", b"").decode("latin-1")
        if declared is not None:
            try:
                too_big = int(declared) > cap
            except ValueError:
                too_big = False
            if too_big:
                await _too_large(path, cap, errno, language)(scope, receive, send)
                return
        received = 0
        exceeded = False
        answered = False

        async def limited_receive() -> Any:
            nonlocal received, exceeded
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > cap:
                    exceeded = True
                    raise _BodyTooLarge
            return message

        async def guarded_send(message: Any) -> None:
            # Once the cap was passed, whatever the app makes of the failed read (FastAPI turns it into a
            # 400) is replaced by the 413.
            nonlocal answered
            if not exceeded:
                answered = answered or message["type"] == "http.response.start"
                await send(message)
            elif not answered:
                answered = True
                await _too_large(path, cap, errno, language)(scope, receive, send)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except _BodyTooLarge:
            if not answered:
                await _too_large(path, cap, errno, language)(scope, receive, send)


def _too_large(path: str, cap: int, errno: Errno, language: str = "") -> Any:
    """The 413 of a body over ``cap``: says the cap (an Open311 error array under ``/open311/``)."""
    kib = max(1, cap // 1024)
    if is_open311(path):
        return open311_format.refusal(
            413,
            f"请求内容过大：最多 {kib} KB",
            f"The request body is too large: at most {kib} KB",
            path=path,
            accept_language=language,
        )
    if errno is not Errno.BODY_TOO_LARGE:
        return error_response(errno)  # its own message (a push batch, a zone file)
    return error_response(
        ApiError(
            errno,
            zh=f"请求内容过大：最多 {kib} KB",
            en=f"The request body is too large: at most {kib} KB",
            detail={"max_bytes": cap},
        )
    )


def body_limits(settings: Settings) -> Limits:
    """Each route's body cap and the errno of its 413 (None: the route caps its own streamed body)."""

    def limits(method: str, path: str) -> tuple[int, Errno] | None:
        if method == "PUT" and path.startswith("/v1/photos/"):
            return None  # streamed with its own cap
        if path == "/v1/push":
            return settings.max_batch_bytes, Errno.BATCH_TOO_LARGE
        if path in ZONE_UPLOAD_PATHS:  # a GeoJSON file (hq.zones)
            return MAX_FILE_BYTES, Errno.ZONES_TOO_LARGE
        return settings.max_json_bytes, Errno.BODY_TOO_LARGE

    return limits


class UrlGuard:
    """ASGI middleware: refuse a NUL in the URL; mark every answer ``nosniff``. (Plain ASGI: see
    ``hq.api.browser.BrowserGuard`` for why not ``BaseHTTPMiddleware``.)"""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(
        self,
        scope: MutableMapping[str, Any],
        receive: Callable[[], Awaitable[Any]],
        send: Callable[[Any], Awaitable[None]],
    ) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def marked(message: Any) -> None:
            if message["type"] == "http.response.start":
                # Browsers must take every answer for what its Content-Type says (a stored photo is
                # image/jpeg).
                MutableHeaders(scope=message)["X-Content-Type-Options"] = "nosniff"
            await send(message)

        # A NUL in the path or query can name nothing and PostgreSQL cannot even compare it: refuse here.
        query = scope.get("query_string", b"").decode()
        if "\x00" in unquote(scope.get("path", "") + "?" + query):
            refused = ApiError(Errno.VALIDATION, detail={"reason": "NUL in the URL"})
            if is_open311(scope.get("path", "")):
                language = dict(scope.get("headers") or []).get(b"accept-language", b"").decode("latin-1")
                zh, en = "网址含有空字符（NUL）", "NUL in the URL"
                answer = open311_format.refusal(400, zh, en, path=scope["path"], accept_language=language)
                await answer(scope, receive, marked)
                return
            await error_response(refused)(scope, receive, marked)
            return
        await self.app(scope, receive, marked)


def install_limits(app: FastAPI, settings: Settings) -> None:
    """``BodyLimit`` with ``body_limits(settings)``, then (outside it) ``UrlGuard``, as the app had them."""
    app.add_middleware(BodyLimit, limits=body_limits(settings))
    app.add_middleware(UrlGuard)
