"""The HQ API's errors: ``ApiError`` (a refusal with an errno), the ``ErrorBody`` answer and the handlers.

Every answer other than 2xx is an ``ErrorBody`` with a stable errno and both languages
(``sync.protocol``). What the handlers installed by ``install_error_handlers`` make of an exception::

    LocalizedError (enforcement.text)
    ├── ApiError                    its errno's status and body (+ its headers, e.g. Retry-After on 429)
    └── StorageError (hq.storage.base)
        ├── CursorError             400 BAD_CURSOR
        ├── StorageUnavailable      503 UNAVAILABLE + Retry-After (database locked, unreachable, timed out)
        └── StorageConflict         503 UNAVAILABLE + Retry-After (a concurrent copy of the request won)
    RequestValidationError          422 VALIDATION (426 UNSUPPORTED_PROTOCOL for an unknown body protocol),
                                    the field's problem in Chinese (``enforcement.fielderrors``)
    starlette HTTPException         404 NOT_FOUND, 405 METHOD_NOT_ALLOWED, else 422 VALIDATION
    ClientDisconnect                a bare 400 nobody reads (the phone's link dropped mid-body)
    anything else                   500 INTERNAL without internals (logged by the server)

Under ``/open311/`` the same refusals are Open311 GeoReport v2 error arrays (``[{"code", "description"}]``,
``open311_format.refusal``), which is what a partner's client parses, in the path's format (``….xml``: an
``<errors>`` document) with the description in Chinese (English when ``Accept-Language`` asks first for
it): a bad query field is 400, an unknown path 404, a body over the cap 413 (``hq.api.limits``), a busy
database 503 with ``Retry-After``, anything unexpected 500.

Busy-database answers are handled as ordinary exceptions (the connection stays usable), not by the
catch-all, which logs and closes it. Storage translates its drivers' errors into ``StorageError``s, so
nothing here knows a database driver.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from enforcement.codec import storable
from enforcement.fielderrors import describe
from enforcement.text import LocalizedError
from hq.api import open311_format
from hq.settings import Settings
from hq.storage.base import CursorError, StorageError, StorageUnavailable
from sync.protocol import (
    DEVICE_ID_RULE,
    ERRNO_MESSAGES,
    RECORD_ID_PATTERN,
    RECORD_ID_RULE,
    SUPPORTED_PROTOCOLS,
    Errno,
    ErrorBody,
    error_body,
    http_status,
)

_ERROR_STATUSES = (400, 401, 403, 404, 409, 413, 422, 426, 429, 503)
#: The ``responses`` of a JSON route in the OpenAPI document: every error status is an ``ErrorBody``.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {s: {"model": ErrorBody} for s in _ERROR_STATUSES}


class ApiError(LocalizedError):
    """A refusal the HTTP layer sends as ``ErrorBody`` with ``ERRNO_HTTP_STATUS[errno]``."""

    code = "api"

    def __init__(
        self,
        errno: Errno,
        *,
        zh: str | None = None,
        en: str | None = None,
        detail: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        field: str | None = None,
    ) -> None:
        default_zh, default_en = ERRNO_MESSAGES[errno]
        super().__init__(en or default_en, zh=zh or default_zh, field=field, code=errno.name.lower())
        self.errno = errno
        self.detail = dict(detail or {})
        self.headers = dict(headers or {})

    @property
    def status(self) -> int:
        return http_status(self.errno)


def error_response(error: ApiError | Errno, headers: dict[str, str] | None = None) -> JSONResponse:
    """The ``ErrorBody`` answer of ``error`` (an errno alone: its default texts). A text that echoes what the
    caller sent may hold a NUL or a lone surrogate, which ``ErrorBody`` (a ``WireModel``) refuses and UTF-8
    cannot encode: those are shown as U+FFFD, so a refusal never turns into a 500."""
    if isinstance(error, Errno):
        error = ApiError(error)
    body = error_body(error.errno, zh=_shown(error.zh), en=_shown(error.en), detail=error.detail)
    return JSONResponse(
        body.model_dump(mode="json"),
        status_code=http_status(error.errno),
        headers=error.headers | (headers or {}),
    )


def _shown(text: str) -> str:
    """``text`` with every NUL and lone surrogate replaced by U+FFFD (``text`` itself when it has none)."""
    if storable(text):
        return text
    return "".join("\ufffd" if ch == "\x00" or "\ud800" <= ch <= "\udfff" else ch for ch in text)


OPEN311_PREFIX = "/open311/"


def is_open311(path: str) -> bool:
    return path.startswith(OPEN311_PREFIX)


def _open311(
    request: Request, status: int, zh: str, en: str, headers: dict[str, str] | None = None
) -> Response:
    return open311_format.refusal(
        status,
        zh,
        en,
        path=request.url.path,
        accept_language=request.headers.get("accept-language"),
        headers=headers,
    )


def unsupported_protocol(version: object) -> ApiError:
    """426: the phone speaks a protocol version HQ does not (the body says which ones it does)."""
    return ApiError(
        Errno.UNSUPPORTED_PROTOCOL,
        detail={"protocol": version, "supported": sorted(SUPPORTED_PROTOCOLS)},
    )


def install_error_handlers(app: FastAPI, settings: Settings) -> None:
    """Turn every exception a request can end in into its ``ErrorBody`` (see the module docstring)."""

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        body = exc.body
        version = body.get("protocol") if isinstance(body, dict) else None
        if isinstance(version, int) and not isinstance(version, bool) and version not in SUPPORTED_PROTOCOLS:
            return error_response(unsupported_protocol(version))
        errors = exc.errors()
        first = errors[0] if errors else {}
        where = ".".join(str(p) for p in first.get("loc", ()))
        message_zh, message_en = describe(first)
        if first.get("type") == "string_pattern_mismatch" and first.get("ctx", {}).get("pattern") == (
            RECORD_ID_PATTERN
        ):
            # pydantic's text would show the pattern, in English
            device = str(first.get("loc", ("",))[-1]) == "device_id"
            message_zh, message_en = DEVICE_ID_RULE if device else RECORD_ID_RULE
        if is_open311(request.url.path):
            zh, en = f"请求字段“{where}”无效：{message_zh}", f"Invalid request field '{where}': {message_en}"
            return _open311(request, 400, zh, en)
        return error_response(
            ApiError(
                Errno.VALIDATION,
                zh=f"请求字段“{where}”无效：{message_zh}",
                en=f"Invalid request field '{where}': {message_en}",
                detail={"field": where, "errors": len(errors)},
            )
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        errno = {404: Errno.NOT_FOUND, 405: Errno.METHOD_NOT_ALLOWED}.get(exc.status_code, Errno.VALIDATION)
        if is_open311(request.url.path):
            status = exc.status_code if exc.status_code in (404, 405) else 400
            return _open311(request, status, *ERRNO_MESSAGES[errno], dict(exc.headers or {}))
        return error_response(errno)

    @app.exception_handler(CursorError)
    async def _cursor(request: Request, exc: CursorError) -> JSONResponse:
        # its own words: a page cursor (start from the first page) is not the pull cursor (sync again)
        return error_response(ApiError(Errno.BAD_CURSOR, zh=exc.zh, en=exc.en, detail={"field": "cursor"}))

    @app.exception_handler(StorageError)
    async def _busy(request: Request, exc: Exception) -> Response:
        """The database is locked, unreachable, or a concurrent copy of the request won a race: retry."""
        retry = {"Retry-After": str(settings.retry_after_unavailable)}
        if is_open311(request.url.path):
            return _open311(request, 503, *ERRNO_MESSAGES[Errno.UNAVAILABLE], retry)
        return error_response(Errno.UNAVAILABLE, headers=retry)

    @app.exception_handler(ClientDisconnect)
    async def _gone(request: Request, exc: ClientDisconnect) -> Response:
        # The phone's link dropped mid-body (kept as a partial): an answer nobody reads, not an error log.
        return Response(status_code=400)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        if isinstance(exc, StorageUnavailable):
            return await _busy(request, exc)
        if is_open311(request.url.path):
            return _open311(request, 500, *ERRNO_MESSAGES[Errno.INTERNAL])
        return error_response(Errno.INTERNAL)
