"""What HQ tells browsers, and what it refuses from them: security headers on every answer and a
cross-site check on every state-changing dashboard request.

Every answer carries:

- ``Content-Security-Policy`` (``CSP``): only HQ's own scripts, styles, fonts and images (the dashboard has
  no inline script or style: its stylesheet is ``/assets/dashboard.css``), no plugins, no ``<base>``,
  forms posting only to HQ, and ``frame-ancestors 'none'`` with ``X-Frame-Options: DENY`` (no page of HQ
  inside another site's frame: no click-jacking);
- ``Referrer-Policy: same-origin`` (a dashboard URL with its query never leaves HQ in a Referer; not
  ``no-referrer``, under which Chromium sends ``Origin: null`` on HQ's own form posts);
- ``Cache-Control: no-store`` unless the route set its own, except for the shipped assets under
  ``/assets/`` (board pages, exports, day logs and API answers are never kept by a browser or proxy).

The interactive API docs (``/docs``, ``/redoc``) are off unless ``Settings.api_docs``: FastAPI's pages load
swagger-ui / redoc from a CDN with an inline script, so when an operator turns them on those two pages get
a looser policy (``DOCS_CSP``) and nothing else does. ``/openapi.json`` is always served.

Cross-site requests (CSRF): a POST (or any method but GET/HEAD/OPTIONS) under ``/dashboard`` is refused
(403 ``FORBIDDEN``, zh + en) when the browser says it comes from another site: an ``Origin`` other than
HQ's own host (``Host``, or ``X-Forwarded-Host`` when HQ runs behind configured ``trusted_proxies`` — a
browser's cross-site form cannot set that header; ``Origin: null`` too), or
without ``Origin`` a ``Sec-Fetch-Site`` other than ``same-origin``/``none``. A request with neither header
is not from a browser (browsers send ``Origin`` on every cross-origin POST) and passes; the cookie is
``SameSite=Strict`` besides. This covers every dashboard form, present and future, in one place.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from fastapi import FastAPI, Request, Response
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hq.api.errors import ApiError, error_response
from hq.settings import Settings
from sync.protocol import Errno

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
#: Only for /docs and /redoc, and only when Settings.api_docs is on (FastAPI's pages use a CDN).
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net https://fonts.googleapis.com; "
    "font-src 'self' https://fonts.gstatic.com; img-src 'self' data: https://fastapi.tiangolo.com "
    "https://cdn.redoc.ly; worker-src 'self' blob:; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'"
)
DOCS_PATHS = ("/docs", "/docs/oauth2-redirect", "/redoc")
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_PREFIX = "/dashboard"


def _forwarded_host(headers: Headers) -> str | None:
    value = headers.get("x-forwarded-host")
    return value.split(",")[0].strip().lower() if value is not None else None


def cross_site(request: Request | Headers, *, trust_forwarded_host: bool = False) -> bool:
    """True when a browser says the request (or its headers) was sent from another site (see the module
    docstring)."""
    headers = request.headers if isinstance(request, Request) else request
    origin = headers.get("origin")
    if origin is not None:
        hosts = {headers.get("host", "").lower()}
        forwarded = _forwarded_host(headers) if trust_forwarded_host else None
        if forwarded is not None:
            hosts.add(forwarded)
        parts = urlsplit(origin.strip())
        return parts.scheme not in ("http", "https") or parts.netloc.lower() not in hosts
    site = headers.get("sec-fetch-site")
    if site is not None:
        return site.strip().lower() not in ("same-origin", "none")
    return False


def _refused() -> Response:
    refused = ApiError(
        Errno.FORBIDDEN,
        zh="拒绝来自其他网站的请求，请在指挥中心看板页面内操作",
        en="Refused: the request came from another site; use the HQ dashboard itself",
        detail={"reason": "cross-site request"},
    )
    return error_response(refused)


class BrowserGuard:
    """ASGI middleware: refuse cross-site dashboard writes, mark every answer (module docstring). Plain
    ASGI, not Starlette's ``BaseHTTPMiddleware``: that one runs every request (and every chunk of a
    photo upload's body) through a task group and memory streams, which cost HQ more than the routes."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.docs = settings.api_docs
        self.trust_forwarded_host = bool(settings.trusted_proxies)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        csp = DOCS_CSP if self.docs and path in DOCS_PATHS else CSP
        cacheable = path.startswith("/assets/")

        async def marked(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["Content-Security-Policy"] = csp
                headers["X-Frame-Options"] = "DENY"
                headers["Referrer-Policy"] = "same-origin"
                if not cacheable and "cache-control" not in headers:
                    headers["Cache-Control"] = "no-store"
            await send(message)

        if (
            scope["method"] not in SAFE_METHODS
            and (path == CSRF_PREFIX or path.startswith(CSRF_PREFIX + "/"))
            and cross_site(Headers(scope=scope), trust_forwarded_host=self.trust_forwarded_host)
        ):
            await _refused()(scope, receive, marked)
            return
        await self.app(scope, receive, marked)


def install_browser_guard(app: FastAPI, settings: Settings) -> None:
    """Add ``BrowserGuard`` (outside every middleware added before it)."""
    app.add_middleware(BrowserGuard, settings=settings)
