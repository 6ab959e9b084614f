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

from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from fastapi import FastAPI, Request, Response

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


def cross_site(request: Request, *, trust_forwarded_host: bool = False) -> bool:
    """True when a browser says ``request`` was sent from another site (see the module docstring)."""
    origin = request.headers.get("origin")
    if origin is not None:
        hosts = {request.headers.get("host", "").lower()}
        if trust_forwarded_host and "x-forwarded-host" in request.headers:
            hosts.add(request.headers["x-forwarded-host"].split(",")[0].strip().lower())
        parts = urlsplit(origin.strip())
        return parts.scheme not in ("http", "https") or parts.netloc.lower() not in hosts
    site = request.headers.get("sec-fetch-site")
    if site is not None:
        return site.strip().lower() not in ("same-origin", "none")
    return False


def browser_guard(
    settings: Settings,
) -> Callable[[Request, Callable[[Request], Awaitable[Response]]], Awaitable[Response]]:
    """The HTTP middleware: refuse cross-site dashboard writes, mark every answer (module docstring)."""

    async def guard(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        path = request.url.path
        if (
            request.method not in SAFE_METHODS
            and (path == CSRF_PREFIX or path.startswith(CSRF_PREFIX + "/"))
            and cross_site(request, trust_forwarded_host=bool(settings.trusted_proxies))
        ):
            refused = ApiError(
                Errno.FORBIDDEN,
                zh="拒绝来自其他网站的请求，请在指挥中心看板页面内操作",
                en="Refused: the request came from another site; use the HQ dashboard itself",
                detail={"reason": "cross-site request"},
            )
            response: Response = error_response(refused)
        else:
            response = await call_next(request)
        headers = response.headers
        docs = settings.api_docs and path in DOCS_PATHS
        headers["Content-Security-Policy"] = DOCS_CSP if docs else CSP
        headers["X-Frame-Options"] = "DENY"
        headers["Referrer-Policy"] = "same-origin"
        if "cache-control" not in headers and not path.startswith("/assets/"):
            headers["Cache-Control"] = "no-store"
        return response

    return guard


def install_browser_guard(app: FastAPI, settings: Settings) -> None:
    """Add ``browser_guard(settings)`` as the outermost HTTP middleware."""
    app.middleware("http")(browser_guard(settings))
