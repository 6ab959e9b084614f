"""The HQ HTTP service: ``create_app(storage, blobs, settings)`` builds the FastAPI app (run under uvicorn).

Routes are listed in ``sync.protocol``'s docstring. Every answer other than 2xx is an ``ErrorBody`` with a
stable errno and both languages; an unknown failure is 500 ``INTERNAL`` without internals, a busy
database 503 ``UNAVAILABLE`` with Retry-After. Request bodies are bounded before they are read:
``BodyLimit`` refuses a declared Content-Length over the route's limit and stops counting bytes that go
past it; photos are streamed to a temporary file with a cap and their hash checked before anything is
stored. Push batches go to ``hq.ingest.ingest_batch`` (one transaction; the answer is sent after commit).
"""

import contextlib
import hashlib
import os
import sqlite3
import tempfile
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path as FsPath
from typing import Annotated, Any
from urllib.parse import unquote

import psycopg
from fastapi import Depends, FastAPI, Header, Path, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from enforcement.catalogue import Catalogue, load_catalogue
from enforcement.codec import to_json_dict
from enforcement.model import Role
from hq.auth import ApiError, Auth, Principal
from hq.blobs import BlobHashMismatch, BlobStore
from hq.dashboard import install_dashboard
from hq.ingest import emit_case_state, ingest_batch
from hq.partials import OffsetMismatch, PartialUploads, uploader_key
from hq.photocheck import NotEvidence, check_evidence
from hq.review import build_router as build_review_router
from hq.settings import Settings
from hq.storage.base import CaseState, ChangeKind, CursorError, Storage, StorageError
from hq.storage.base import Change as StoredChange
from sync.protocol import (
    DEVICE_ID_RULE,
    PROTOCOL_HEADER,
    RECORD_ID_PATTERN,
    RECORD_ID_RULE,
    SHA256_RE,
    SUPPORTED_PROTOCOLS,
    UPLOAD_OFFSET_HEADER,
    CaseDetail,
    CaseList,
    CaseSummary,
    Change,
    DeviceInfo,
    DeviceList,
    Errno,
    ErrorBody,
    PhotoUploadResult,
    PullPage,
    PushBatch,
    PushResponse,
    RevokeResponse,
    ServerInfo,
    SignInRequest,
    SignInResponse,
    SubjectList,
    error_body,
    http_status,
)

ASGIApp = Callable[
    [MutableMapping[str, Any], Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]],
    Awaitable[None],
]

_ERROR_STATUSES = (400, 401, 403, 404, 409, 413, 422, 426, 429, 503)
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {s: {"model": ErrorBody} for s in _ERROR_STATUSES}


# ------------------------------------------------------------------------------------------ errors


def error_response(error: ApiError | Errno, headers: dict[str, str] | None = None) -> JSONResponse:
    if isinstance(error, Errno):
        error = ApiError(error)
    body = error_body(error.errno, zh=error.zh, en=error.en, detail=error.detail)
    return JSONResponse(
        body.model_dump(mode="json"),
        status_code=http_status(error.errno),
        headers=error.headers | (headers or {}),
    )


def _unsupported_protocol(version: object) -> ApiError:
    return ApiError(
        Errno.UNSUPPORTED_PROTOCOL,
        detail={"protocol": version, "supported": sorted(SUPPORTED_PROTOCOLS)},
    )


def _is_busy(exc: BaseException) -> bool:
    """A database that is locked / unreachable right now (retry later), by backend-neutral inspection."""
    if isinstance(exc, sqlite3.OperationalError):
        return True
    name = type(exc).__name__
    module = type(exc).__module__
    return module.startswith("psycopg") and name in {"OperationalError", "PoolTimeout", "ConnectionTimeout"}


def install_error_handlers(app: FastAPI, settings: Settings) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        body = exc.body
        version = body.get("protocol") if isinstance(body, dict) else None
        if isinstance(version, int) and not isinstance(version, bool) and version not in SUPPORTED_PROTOCOLS:
            return error_response(_unsupported_protocol(version))
        errors = exc.errors()
        first = errors[0] if errors else {}
        where = ".".join(str(p) for p in first.get("loc", ()))
        message_zh = message_en = str(first.get("msg", ""))
        if first.get("type") == "string_pattern_mismatch" and first.get("ctx", {}).get("pattern") == (
            RECORD_ID_PATTERN
        ):
            # pydantic's text would show the pattern, in English
            device = str(first.get("loc", ("",))[-1]) == "device_id"
            message_zh, message_en = DEVICE_ID_RULE if device else RECORD_ID_RULE
        return error_response(
            ApiError(
                Errno.VALIDATION,
                zh=f"请求字段“{where}”无效：{message_zh}",
                en=f"Invalid request field '{where}': {message_en}",
                detail={"field": where, "errors": len(errors)},
            )
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        errno = {404: Errno.NOT_FOUND, 405: Errno.METHOD_NOT_ALLOWED}.get(exc.status_code, Errno.VALIDATION)
        return error_response(errno)

    @app.exception_handler(CursorError)
    async def _cursor(request: Request, exc: CursorError) -> JSONResponse:
        return error_response(Errno.BAD_CURSOR)

    async def _busy(request: Request, exc: Exception) -> JSONResponse:
        """The database is locked, unreachable, or a concurrent copy of the request won a race: retry."""
        return error_response(
            Errno.UNAVAILABLE, headers={"Retry-After": str(settings.retry_after_unavailable)}
        )

    # Handled here (the connection stays usable), not by the catch-all below (which logs and closes it).
    for busy in (StorageError, sqlite3.OperationalError, psycopg.OperationalError):
        app.add_exception_handler(busy, _busy)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        if _is_busy(exc):
            return await _busy(request, exc)
        return error_response(Errno.INTERNAL)


# ---------------------------------------------------------------------------------- body limits


class _BodyTooLarge(Exception):
    pass


class BodyLimit:
    """ASGI middleware: JSON bodies are capped before the app reads them (413 with an errno).

    ``limits(method, path)`` gives the cap and the errno to answer, or None when the route streams its own
    body (photo upload)."""

    def __init__(self, app: ASGIApp, limits: Callable[[str, str], tuple[int, Errno] | None]) -> None:
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
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None:
            try:
                too_big = int(declared) > cap
            except ValueError:
                too_big = False
            if too_big:
                await error_response(errno)(scope, receive, send)
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
                await error_response(errno)(scope, receive, send)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except _BodyTooLarge:
            if not answered:
                await error_response(errno)(scope, receive, send)


# ---------------------------------------------------------------------------------------- helpers


def _summary(state: CaseState) -> CaseSummary:
    return CaseSummary(
        case_id=state.case_id,
        case_no=state.case_no,
        version=state.version,
        officer_badge=state.officer_badge,
        squad_code=state.squad_code,
        district=state.district,
        subject_id=state.subject_id,
        violation_code=state.violation_code,
        occurred_at=state.occurred_at,
        received_at=state.received_at,
        device_stage=state.device_stage,
        chosen_stage=state.chosen_stage,
        hq_stage=state.hq_stage,
        hq_ordinal=state.hq_ordinal,
        stage_conflict=state.stage_conflict,
        explain_zh=state.explain_zh,
        explain_en=state.explain_en,
        photos_expected=state.photos_expected,
        photos_stored=state.photos_stored,
        complete=state.complete,
        latest=state.latest,
        review=state.review,
    )


def wire_change(change: StoredChange) -> Change:
    """A stored change as the phone receives it (``sync.protocol`` documents the data shapes)."""
    data = dict(change.data)
    if change.kind is ChangeKind.TOMBSTONE:
        data = {"kind": "subject", "id": change.key}
    return Change(kind=change.kind.value, id=change.key, data=data)


def _client_address(request: Request, settings: Settings) -> str:
    if settings.trust_forwarded_for:
        forwarded = request.headers.get("x-forwarded-for", "")
        if forwarded:
            return forwarded.split(",")[0].strip()
    return request.client.host if request.client else "unknown"


class _Spool:
    """A temporary upload file in the blob store's temp dir; removed unless adopted or kept as a partial.
    Unbuffered: what the file holds is what HQ received (a cut upload is kept as it stands)."""

    def __init__(self, directory: FsPath) -> None:
        fd, name = tempfile.mkstemp(prefix="upload-", dir=directory)
        self.handle = os.fdopen(fd, "wb", buffering=0)
        self.path = FsPath(name)

    def write(self, chunk: bytes) -> None:
        self.handle.write(chunk)

    def finish(self) -> None:
        self.handle.flush()
        os.fsync(self.handle.fileno())
        self.handle.close()

    def discard(self) -> None:
        if not self.handle.closed:
            self.handle.close()
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()


def _upload_offset(value: str | None) -> int:
    """The ``Upload-Offset`` of a resumed photo upload (0 when absent); VALIDATION when not a number."""
    if value is None:
        return 0
    text = value.strip()
    if not text.isascii() or not text.isdigit() or len(text) > 12:
        raise ApiError(
            Errno.VALIDATION,
            zh=f"请求头 {UPLOAD_OFFSET_HEADER} 须为非负整数",
            en=f"{UPLOAD_OFFSET_HEADER} must be a non-negative integer",
            detail={"field": UPLOAD_OFFSET_HEADER},
        )
    return int(text)


# -------------------------------------------------------------------------------------------- app


def create_app(
    storage: Storage,
    blobs: BlobStore,
    settings: Settings | None = None,
    *,
    catalogue: Catalogue | None = None,
) -> FastAPI:
    """The HQ app over ``storage`` (its schema must exist) and ``blobs`` (photo files)."""
    settings = settings or Settings()
    catalogue = catalogue or load_catalogue()
    auth = Auth(storage, settings)
    app = FastAPI(
        title="StreetPatrol HQ 街巡指挥中心",
        version="1",
        description="Sync and review service of StreetPatrol. Errors: ErrorBody with a stable errno.",
    )
    app.state.storage = storage
    app.state.blobs = blobs
    app.state.settings = settings
    app.state.auth = auth
    # Spools of requests a dead HQ process left behind, and cut-off uploads kept past their time.
    blobs.sweep_temp(settings.stale_temp_age)
    partials = PartialUploads(
        blobs.partial_dir(),
        max_age=settings.partial_upload_ttl,
        max_total_bytes=settings.partial_uploads_max_bytes,
    )
    partials.sweep()
    app.state.partials = partials
    install_error_handlers(app, settings)

    def limits(method: str, path: str) -> tuple[int, Errno] | None:
        if method == "PUT" and path.startswith("/v1/photos/"):
            return None  # streamed with its own cap
        if path == "/v1/push":
            return settings.max_batch_bytes, Errno.BATCH_TOO_LARGE
        return settings.max_json_bytes, Errno.VALIDATION

    app.add_middleware(BodyLimit, limits=limits)

    @app.middleware("http")
    async def guard(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        # A NUL in the path or query can name nothing and PostgreSQL cannot even compare it: refuse here.
        query = request.scope.get("query_string", b"").decode()
        if "\x00" in unquote(request.scope.get("path", "") + "?" + query):
            refused = ApiError(Errno.VALIDATION, detail={"reason": "NUL in the URL"})
            response: Response = error_response(refused)
        else:
            response = await call_next(request)
        # Browsers must take every answer for what its Content-Type says (a stored photo is image/jpeg).
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response

    bearer = HTTPBearer(auto_error=False, description="The per-device token from /v1/auth/sign-in")

    def check_protocol(
        protocol: Annotated[int | None, Header(alias=PROTOCOL_HEADER, include_in_schema=False)] = None,
    ) -> None:
        if protocol is not None and protocol not in SUPPORTED_PROTOCOLS:
            raise _unsupported_protocol(protocol)

    def principal(
        _: Annotated[None, Depends(check_protocol)],
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    ) -> Principal:
        return auth.authenticate(credentials.credentials if credentials else None)

    Caller = Annotated[Principal, Depends(principal)]
    Sha = Annotated[str, Path(description="SHA-256 of the photo file, 64 lowercase hex digits")]

    def require_sha(sha256: str) -> None:
        if not SHA256_RE.match(sha256):
            raise ApiError(Errno.BAD_HASH, detail={"sha256": sha256[:80]})

    # -- service

    @app.get("/v1/health", response_model=ServerInfo, responses=ERROR_RESPONSES, tags=["service"])
    def health() -> ServerInfo:
        return ServerInfo(protocols=sorted(SUPPORTED_PROTOCOLS), server_time=settings.clock())

    # -- auth and devices

    @app.post(
        "/v1/auth/sign-in",
        response_model=SignInResponse,
        responses=ERROR_RESPONSES,
        tags=["auth"],
        dependencies=[Depends(check_protocol)],
    )
    def sign_in(body: SignInRequest, request: Request) -> SignInResponse:
        if body.protocol not in SUPPORTED_PROTOCOLS:
            raise _unsupported_protocol(body.protocol)
        return auth.sign_in(body, _client_address(request, settings))

    @app.post("/v1/auth/sign-out", response_model=RevokeResponse, responses=ERROR_RESPONSES, tags=["auth"])
    def sign_out(caller: Caller) -> RevokeResponse:
        count = auth.sign_out(caller)
        return RevokeResponse(device_id=caller.device_id, revoked=count, server_time=settings.clock())

    @app.get("/v1/devices", response_model=DeviceList, responses=ERROR_RESPONSES, tags=["auth"])
    def devices(caller: Caller, badge: str | None = None) -> DeviceList:
        if badge not in (None, caller.badge):
            caller.require_hq()
        now = settings.clock()
        with storage.transaction(readonly=True) as tx:
            rows = tx.list_devices(badge or caller.badge)
            counts = {row.device_id: tx.active_token_count(row.device_id, now) for row in rows}
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

    @app.post(
        "/v1/devices/{device_id}/revoke",
        response_model=RevokeResponse,
        responses=ERROR_RESPONSES,
        tags=["auth"],
    )
    def revoke_device(device_id: str, caller: Caller, badge: str | None = None) -> RevokeResponse:
        count = auth.revoke_device(caller, device_id, badge)
        return RevokeResponse(device_id=device_id, revoked=count, server_time=settings.clock())

    # -- push

    @app.post("/v1/push", response_model=PushResponse, responses=ERROR_RESPONSES, tags=["sync"])
    def push(body: PushBatch, caller: Caller) -> PushResponse:
        if body.protocol not in SUPPORTED_PROTOCOLS:
            raise _unsupported_protocol(body.protocol)
        if body.device_id != caller.device_id:
            raise ApiError(Errno.DEVICE_MISMATCH)
        if len(body.records) > settings.max_batch_records:
            raise ApiError(
                Errno.BATCH_TOO_MANY_RECORDS,
                detail={"records": len(body.records), "max_records": settings.max_batch_records},
            )
        results = ingest_batch(
            storage, caller.officer, caller.device_id, body.records, catalogue=catalogue, now=settings.clock()
        )
        return PushResponse(results=results, server_time=settings.clock())

    # -- photos

    def _photo_cases(sha256: str) -> list[CaseState]:
        with storage.transaction(readonly=True) as tx:
            states = [tx.case_state(case_id) for case_id in tx.cases_with_photo(sha256)]
        return [s for s in states if s is not None]

    def _have_photo(sha256: str) -> bool:
        with storage.transaction(readonly=True) as tx:
            row = tx.get_photo(sha256)
        return row is not None and row.stored and blobs.has(sha256)

    @app.exception_handler(ClientDisconnect)
    async def _gone(request: Request, exc: ClientDisconnect) -> Response:
        # The phone's link dropped mid-body (kept as a partial): an answer nobody reads, not an error log.
        return Response(status_code=400)

    def _uploader(caller: Principal) -> str:
        return uploader_key(caller.badge, caller.device_id)

    @app.head("/v1/photos/{sha256}", responses=ERROR_RESPONSES, tags=["photos"])
    def photo_exists(sha256: Sha, caller: Caller) -> Response:
        """200 when HQ has the photo (in the caller's scope); 404 otherwise, with ``Upload-Offset`` when HQ
        keeps a cut-off upload of it from the caller's device (resume from there)."""
        require_sha(sha256)
        states = _photo_cases(sha256)
        if any(caller.can_read_case(s) for s in states) and _have_photo(sha256):
            return Response(status_code=200)
        held = partials.held(sha256, _uploader(caller))
        if any(s.officer_badge == caller.badge for s in states) and blobs.has(sha256):
            held = blobs.size(sha256)  # stored, but its row not recorded (a 503 after the body): all of it
        return Response(status_code=404, headers={UPLOAD_OFFSET_HEADER: str(held)} if held else None)

    @app.get(
        "/v1/photos/{sha256}",
        responses={**ERROR_RESPONSES, 200: {"content": {"image/jpeg": {}}}},
        response_class=FileResponse,
        tags=["photos"],
    )
    def photo(sha256: Sha, caller: Caller) -> FileResponse:
        require_sha(sha256)
        states = _photo_cases(sha256)
        if not states:
            raise ApiError(Errno.PHOTO_NOT_FOUND)
        if not any(caller.can_read_case(s) for s in states):
            raise ApiError(Errno.FORBIDDEN)
        if not _have_photo(sha256):
            raise ApiError(Errno.PHOTO_NOT_FOUND)
        return FileResponse(blobs.path(sha256), media_type="image/jpeg")

    @app.put(
        "/v1/photos/{sha256}",
        response_model=PhotoUploadResult,
        responses=ERROR_RESPONSES,
        tags=["photos"],
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
            },
            "parameters": [
                {
                    "name": UPLOAD_OFFSET_HEADER,
                    "in": "header",
                    "required": False,
                    "description": "Resume a cut-off upload: the body is the file from this byte on "
                    "(at most what HEAD reported HQ holds)",
                    "schema": {"type": "integer", "minimum": 0},
                }
            ],
        },
    )
    async def upload_photo(sha256: Sha, request: Request, caller: Caller) -> PhotoUploadResult:
        """Store the photo whose bytes are the body (from ``Upload-Offset`` on, when resuming a cut-off
        upload; see ``sync.protocol``). A body cut off mid-way is kept as a partial of the caller's device."""
        require_sha(sha256)
        media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media_type not in ("", "application/octet-stream", "image/jpeg"):
            raise ApiError(Errno.PHOTO_MEDIA_TYPE, detail={"content_type": media_type[:100]})
        offset = _upload_offset(request.headers.get(UPLOAD_OFFSET_HEADER))
        if offset > settings.max_photo_bytes:
            raise ApiError(Errno.PHOTO_TOO_LARGE, detail={"max_bytes": settings.max_photo_bytes})
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit():
            if offset + int(declared) > settings.max_photo_bytes:
                raise ApiError(Errno.PHOTO_TOO_LARGE, detail={"max_bytes": settings.max_photo_bytes})
            if offset + int(declared) == 0:
                raise ApiError(Errno.PHOTO_EMPTY)
        states = await run_in_threadpool(_photo_cases, sha256)
        if not any(s.officer_badge == caller.badge for s in states):
            raise ApiError(Errno.PHOTO_NOT_IN_MANIFEST)
        uploader = _uploader(caller)
        if await run_in_threadpool(_have_photo, sha256):
            await run_in_threadpool(partials.discard, sha256, uploader)
            return PhotoUploadResult(sha256=sha256, stored=False, already_had=True)
        if await run_in_threadpool(blobs.has, sha256):
            # The file was stored but its row not recorded: the database failed after the whole body had
            # arrived (503). HEAD told the phone HQ holds all of it, so the body is empty (an older phone
            # sends it whole again): it is not read, the row is recorded from the stored file.
            await run_in_threadpool(partials.discard, sha256, uploader)
            size = await run_in_threadpool(blobs.size, sha256)
            return await run_in_threadpool(_record_photo, sha256, size, caller, True)
        spool = _Spool(blobs.temp_dir())
        try:
            digest = hashlib.sha256()
            if offset:
                try:
                    await run_in_threadpool(
                        partials.copy_prefix, sha256, uploader, offset, spool.handle, digest
                    )
                except OffsetMismatch as exc:
                    raise ApiError(
                        Errno.UPLOAD_OFFSET_MISMATCH,
                        detail={"offset": exc.held, "claimed": offset},
                        headers={UPLOAD_OFFSET_HEADER: str(exc.held)},
                    ) from exc
            size = offset
            try:
                async for chunk in request.stream():
                    size += len(chunk)
                    if size > settings.max_photo_bytes:
                        raise ApiError(Errno.PHOTO_TOO_LARGE, detail={"max_bytes": settings.max_photo_bytes})
                    digest.update(chunk)
                    spool.write(chunk)
            except ClientDisconnect:
                # Cut off mid-body: keep what arrived, so the phone resumes from there.
                spool.handle.close()
                await run_in_threadpool(partials.keep, sha256, uploader, spool.path)
                raise
            if size == 0:
                raise ApiError(Errno.PHOTO_EMPTY)
            if digest.hexdigest() != sha256:
                await run_in_threadpool(partials.discard, sha256, uploader)
                raise ApiError(Errno.PHOTO_HASH_MISMATCH, detail={"received_bytes": size, "offset": offset})
            await run_in_threadpool(spool.finish)
            try:
                await run_in_threadpool(check_evidence, spool.path)
            except NotEvidence as exc:
                await run_in_threadpool(partials.discard, sha256, uploader)
                raise ApiError(Errno.PHOTO_NOT_EVIDENCE, detail={"reason": str(exc)}) from exc
            result = await run_in_threadpool(_store_photo, sha256, spool.path, size, caller)
            await run_in_threadpool(partials.discard, sha256, uploader)
            return result
        finally:
            spool.discard()

    def _store_photo(sha256: str, temp: FsPath, size: int, caller: Principal) -> PhotoUploadResult:
        try:
            stored = blobs.adopt(sha256, temp)
        except BlobHashMismatch as exc:
            raise ApiError(Errno.PHOTO_HASH_MISMATCH) from exc
        return _record_photo(sha256, size, caller, stored)

    def _record_photo(sha256: str, size: int, caller: Principal, stored: bool) -> PhotoUploadResult:
        """Record a photo whose file is in the blob store: its row, the cases it completes, the audit."""
        now = settings.clock()
        with storage.transaction() as tx:
            completed = tx.mark_photo_stored(sha256, size, now, uploaded_by=caller.badge)
            for case_id in completed:
                state = tx.case_state(case_id)
                if state is not None:
                    emit_case_state(tx, state)
            tx.audit(
                caller.badge, "photo_stored", target=sha256, detail={"size": size, "completed": completed}
            )
        return PhotoUploadResult(
            sha256=sha256, stored=stored, already_had=not stored, completed_cases=completed
        )

    # -- pull

    @app.get("/v1/changes", response_model=PullPage, responses=ERROR_RESPONSES, tags=["sync"])
    def changes(
        caller: Caller,
        cursor: Annotated[str | None, Query(max_length=200)] = None,
        limit: Annotated[int | None, Query(ge=1)] = None,
    ) -> PullPage:
        size = min(limit or settings.default_pull_limit, settings.max_pull_limit)
        now = settings.clock()
        with storage.transaction(readonly=True) as tx:
            page = tx.changes_after(
                cursor or None,
                district=caller.district,
                badge=caller.badge,
                squad=caller.officer.squad_code if caller.role is Role.LEADER else None,
                history_since=now - settings.history_window,
                squad_since=now - settings.squad_window,
                limit=size,
            )
        return PullPage(
            changes=[wire_change(c) for c in page.changes],
            cursor=page.cursor,
            more=page.more,
            server_time=now,
        )

    # -- scoped reads

    @app.get("/v1/cases", response_model=CaseList, responses=ERROR_RESPONSES, tags=["read"])
    def cases(
        caller: Caller,
        officer_badge: str | None = None,
        squad_code: str | None = None,
        conflicts_only: bool = False,
        limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    ) -> CaseList:
        filters: dict[str, Any] = {"officer_badge": officer_badge, "squad_code": squad_code}
        if caller.role is Role.LEADER:
            if squad_code not in (None, caller.officer.squad_code):
                raise ApiError(Errno.FORBIDDEN)
            filters["squad_code"] = caller.officer.squad_code
        elif not caller.is_hq:
            if officer_badge not in (None, caller.badge) or squad_code is not None:
                raise ApiError(Errno.FORBIDDEN)
            filters["officer_badge"] = caller.badge
        with storage.transaction(readonly=True) as tx:
            states = tx.list_cases(conflicts_only=conflicts_only, limit=limit, **filters)
        return CaseList(cases=[_summary(s) for s in states if caller.can_read_case(s)])

    @app.get("/v1/cases/{case_id}", response_model=CaseDetail, responses=ERROR_RESPONSES, tags=["read"])
    def case_detail(case_id: str, caller: Caller) -> CaseDetail:
        with storage.transaction(readonly=True) as tx:
            state = tx.case_state(case_id)
            if state is None:
                raise ApiError(Errno.NOT_FOUND)
            if not caller.can_read_case(state):
                raise ApiError(Errno.FORBIDDEN)
            case = tx.get_case(case_id)
            reviews = tx.reviews_for_case(case_id)
            missing = tx.missing_photos(case_id)
        if case is None:
            raise ApiError(Errno.NOT_FOUND)
        return CaseDetail(
            case=to_json_dict(case),
            state=_summary(state),
            reviews=[to_json_dict(r) for r in reviews],
            missing_photos=missing,
        )

    @app.get("/v1/subjects", response_model=SubjectList, responses=ERROR_RESPONSES, tags=["read"])
    def subjects(
        caller: Caller,
        district: str | None = None,
        limit: Annotated[int, Query(ge=1, le=5000)] = 1000,
    ) -> SubjectList:
        wanted = district or caller.district
        if not caller.can_read_district(wanted):
            raise ApiError(Errno.FORBIDDEN)
        with storage.transaction(readonly=True) as tx:
            rows = tx.list_subjects(wanted, limit=limit)
        return SubjectList(subjects=[to_json_dict(s) for s in rows])

    @app.get("/v1/subjects/{subject_id}", responses=ERROR_RESPONSES, tags=["read"])
    def subject(subject_id: str, caller: Caller) -> dict[str, Any]:
        with storage.transaction(readonly=True) as tx:
            row = tx.get_subject(subject_id)
        if row is None:
            raise ApiError(Errno.NOT_FOUND)
        if not caller.can_read_district(row.district):
            raise ApiError(Errno.FORBIDDEN)
        return to_json_dict(row)

    app.include_router(build_review_router(storage, settings, catalogue, principal))
    install_dashboard(app, storage, auth, settings, catalogue)
    return app
