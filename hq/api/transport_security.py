"""Transport security at HQ: HSTS on answers served over TLS, and whether a cookie must be ``Secure``.

Whether a request came over TLS is ``request.url.scheme`` (the ASGI scope's ``scheme``): ``https`` when
uvicorn itself terminated TLS (``serve --tls-cert/--tls-key``), or when a *trusted* reverse proxy said so
in ``X-Forwarded-Proto``. uvicorn rewrites the scheme and the client address from the forwarded headers
only for peers listed in ``serve --trusted-proxy`` / ``STREETPATROL_TRUSTED_PROXIES`` (``hq.cli.main``), so
neither can be spoofed by a caller talking to HQ directly.

``Strict-Transport-Security`` is never sent over plain http: a browser ignores it there, and sending it
on the loopback development server would pin ``localhost`` to https in the developer's browser.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

#: One year, the usual value for a service that only ever speaks https.
HSTS_VALUE = b"max-age=31536000"


class StrictTransportSecurity:
    """ASGI middleware: ``Strict-Transport-Security`` on every answer to a request that arrived over TLS."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("scheme") != "https":
            await self.app(scope, receive, send)
            return

        async def send_with_hsts(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append((b"strict-transport-security", HSTS_VALUE))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_hsts)


def cookie_secure(request: Request, settings: Any) -> bool:
    """A cookie set in answer to ``request`` is ``Secure`` when the request arrived over https (directly or
    through a trusted proxy) or when the settings ask for secure cookies everywhere."""
    return request.url.scheme == "https" or bool(getattr(settings, "secure_cookies", False))
