"""Photos by SHA-256, as an ``APIRouter`` (tag ``photos``): HEAD / PUT / GET ``/v1/photos/{sha256}``.

    HEAD /v1/photos/{sha256}    200 when HQ has it in the caller's scope; 404 otherwise, with
                                ``Upload-Offset`` when HQ holds a cut-off upload of it from the caller
    PUT  /v1/photos/{sha256}    the file as the body (from ``Upload-Offset`` on when resuming) →
                                PhotoUploadResult; only for a photo named in the caller's own cases
    GET  /v1/photos/{sha256}    the JPEG, through a case in the caller's scope whose own officer
                                uploaded these bytes (the uploader, their squad's leaders, HQ)

An upload is streamed to a temporary file in the blob store with a cap (``max_photo_bytes``) and its hash
checked (``hq.blobs.photocheck`` then checks it is evidence) before ``hq.blobs.store`` adopts it; a
body cut off mid-way is kept as a partial of the caller's device (``hq.blobs.partials``). Recording a
stored photo completes
the cases waiting for it (``hq.ingest.push.emit_case_state``) and is audited. Each officer who uploads a
photo's bytes is recorded (``photo_uploads``, badge and device; the file is stored once): a photo counts
for a case, and is served through it, only when the case's own officer uploaded it, so listing another
officer's hash in one's case neither completes the case nor opens the photo.
"""

import contextlib
import hashlib
import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path as FsPath
from typing import Annotated, BinaryIO

from fastapi import APIRouter, Depends, Path, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, StreamingResponse
from starlette.datastructures import Headers
from starlette.requests import ClientDisconnect

from hq.api.callers import token_dependency
from hq.api.errors import ERROR_RESPONSES, ApiError
from hq.api.jsonanswer import json_response
from hq.auth import Auth, Principal
from hq.blobs.partials import OffsetMismatch, PartialStore, uploader_key
from hq.blobs.photocheck import NotEvidence, check_evidence
from hq.blobs.store import BlobHashMismatch, BlobStore
from hq.feed import emit_case_state
from hq.settings import Settings
from hq.storage.base import CaseState, Storage
from sync.protocol import SHA256_RE, UPLOAD_OFFSET_HEADER, Errno, PhotoUploadResult


class _Spool:
    """A temporary upload file in the blob store's temp dir; removed unless adopted or kept as a partial.
    Buffered (a buffered writer writes every byte it is given or raises, where a raw file may write part
    of a chunk): the bytes hashed are the bytes in the file once it is closed, which is what lets the blob
    store take it without reading it again (``adopt(hashed=True)``). A cut upload is closed, so flushed,
    before it is kept as it stands."""

    def __init__(self, directory: FsPath) -> None:
        fd, name = tempfile.mkstemp(prefix="upload-", dir=directory)
        self.handle = os.fdopen(fd, "wb")
        self.path = FsPath(name)

    def write(self, chunk: bytes) -> None:
        self.handle.write(chunk)
        # handed to the file system chunk by chunk: a chunk smaller than the writer's buffer would
        # otherwise wait there for the next, so a body that stalls would not be on disk as received
        self.handle.flush()

    def finish(self) -> None:
        self.handle.flush()
        os.fsync(self.handle.fileno())
        self.handle.close()

    def discard(self) -> None:
        if not self.handle.closed:
            self.handle.close()
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()


def _chunks(handle: BinaryIO) -> Iterator[bytes]:
    """The bytes of an open blob, a chunk at a time; closes it at the end (or when the client goes)."""
    try:
        while chunk := handle.read(1 << 16):
            yield chunk
    finally:
        handle.close()


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


def _require_sha(sha256: str) -> None:
    if not SHA256_RE.match(sha256):
        raise ApiError(Errno.BAD_HASH, detail={"sha256": sha256[:80]})


def _checked_request(sha256: str, headers: Headers, max_bytes: int) -> int:
    """The upload's offset, once its hash, media type and declared sizes are acceptable."""
    _require_sha(sha256)
    media_type = headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type not in ("", "application/octet-stream", "image/jpeg"):
        raise ApiError(Errno.PHOTO_MEDIA_TYPE, detail={"content_type": media_type[:100]})
    offset = _upload_offset(headers.get(UPLOAD_OFFSET_HEADER))
    if offset > max_bytes:
        raise ApiError(Errno.PHOTO_TOO_LARGE, detail={"max_bytes": max_bytes})
    declared = headers.get("content-length")
    if declared is not None and declared.isdigit():
        if offset + int(declared) > max_bytes:
            raise ApiError(Errno.PHOTO_TOO_LARGE, detail={"max_bytes": max_bytes})
        if offset + int(declared) == 0:
            raise ApiError(Errno.PHOTO_EMPTY)
    return offset


def _uploader(caller: Principal) -> str:
    return uploader_key(caller.badge, caller.device_id)


@dataclass(frozen=True, slots=True)
class _PhotoFacts:
    """What HQ's records say of one photo: the cases listing it, who uploaded its bytes, whether its row
    says it is stored (the file itself is asked of the blob store)."""

    states: list[CaseState]
    uploaders: frozenset[str]
    recorded: bool

    @property
    def uploaded_cases(self) -> list[CaseState]:
        """The cases listing the photo whose own officer uploaded its bytes: the photo is read through
        these only (a hash listed in someone else's case opens nothing)."""
        return [s for s in self.states if s.officer_badge in self.uploaders]


def build_router(
    storage: Storage,
    blobs: BlobStore,
    partials: PartialStore,
    settings: Settings,
    principal: Callable[..., Principal],
    auth: Auth,
) -> APIRouter:
    """The photo routes; ``principal`` is the app's bearer-token dependency (an upload checks its token
    with ``auth`` in its first worker-thread hop, ``hq.api.callers.token_dependency``)."""
    router = APIRouter()
    Caller = Annotated[Principal, Depends(principal)]
    Token = Annotated[str, Depends(token_dependency())]
    Sha = Annotated[str, Path(description="SHA-256 of the photo file, 64 lowercase hex digits")]

    def facts(sha256: str) -> _PhotoFacts:
        """What HQ's records say of the photo, in one read transaction."""
        with storage.transaction(readonly=True) as tx:
            states = [tx.case_state(case_id) for case_id in tx.cases_with_photo(sha256)]
            uploaders = frozenset(tx.photo_uploaders(sha256))
            row = tx.get_photo(sha256)
        return _PhotoFacts([s for s in states if s is not None], uploaders, row is not None and row.stored)

    @router.head("/v1/photos/{sha256}", responses=ERROR_RESPONSES, tags=["photos"])
    def photo_exists(sha256: Sha, caller: Caller) -> Response:
        """200 when HQ has the photo (in the caller's scope); 404 otherwise, with ``Upload-Offset`` when HQ
        keeps a cut-off upload of it from the caller's device (resume from there)."""
        _require_sha(sha256)
        known = facts(sha256)
        on_disk = blobs.has(sha256)
        have = known.recorded and on_disk
        if have and any(caller.can_read_case(s) for s in known.uploaded_cases):
            return Response(status_code=200)
        held = partials.held(sha256, _uploader(caller))
        own = any(s.officer_badge == caller.badge for s in known.states)
        if own and on_disk and not have:
            held = blobs.size(sha256)  # stored, but its row not recorded (a 503 after the body): all of it
        return Response(status_code=404, headers={UPLOAD_OFFSET_HEADER: str(held)} if held else None)

    @router.get(
        "/v1/photos/{sha256}",
        responses={**ERROR_RESPONSES, 200: {"content": {"image/jpeg": {}}}},
        response_class=FileResponse,
        tags=["photos"],
    )
    def photo(sha256: Sha, caller: Caller) -> StreamingResponse:
        _require_sha(sha256)
        known = facts(sha256)
        if not known.states:
            raise ApiError(Errno.PHOTO_NOT_FOUND)
        if not any(caller.can_read_case(s) for s in known.states):
            raise ApiError(Errno.FORBIDDEN)
        # Only through a case whose officer uploaded these bytes: the uploader, their squad's leaders, HQ.
        readable = any(caller.can_read_case(s) for s in known.uploaded_cases)
        if not readable or not known.recorded or not blobs.has(sha256):
            raise ApiError(Errno.PHOTO_NOT_FOUND)
        # Streamed from the store (a local file or an S3 object), never materialised on this node.
        size = blobs.size(sha256)
        return StreamingResponse(
            _chunks(blobs.open(sha256)), media_type="image/jpeg", headers={"Content-Length": str(size)}
        )

    @router.put(
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
    async def upload_photo(sha256: Sha, request: Request, token: Token) -> Response:
        """Store the photo whose bytes are the body (from ``Upload-Offset`` on, when resuming a cut-off
        upload; see ``sync.protocol``). A body cut off mid-way is kept as a partial of the caller's device."""
        caller, offset, admission = await run_in_threadpool(admit_upload, token, sha256, request.headers)
        if admission is not None:
            return json_response(admission)
        uploader = _uploader(caller)
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
            result = await run_in_threadpool(
                finish_upload, sha256, spool, size, digest.hexdigest(), offset, caller
            )
            return json_response(result)
        finally:
            spool.discard()

    def admit_upload(
        token: str, sha256: str, headers: Headers
    ) -> tuple[Principal, int, PhotoUploadResult | None]:
        """Before the body is read (one worker-thread hop, one read transaction): the caller (the token
        checked first), the upload's offset, and None to read the body, or the answer itself when HQ needs
        no bytes (already uploaded by this officer, or stored but unrecorded). Refused when the request is
        malformed, or the photo is in none of the caller's cases nor their work-order resolutions."""
        caller = auth.authenticate(token)
        offset = _checked_request(sha256, headers, settings.max_photo_bytes)
        return caller, offset, admission(sha256, caller)

    def admission(sha256: str, caller: Principal) -> PhotoUploadResult | None:
        with storage.transaction(readonly=True) as tx:
            case_ids = tx.cases_with_photo(sha256)
            states = [s for s in (tx.case_state(case_id) for case_id in case_ids) if s is not None]
            if not any(s.officer_badge == caller.badge for s in states) and not tx.work_orders_with_photo(
                sha256, caller.badge
            ):  # neither in the officer's own cases nor in their own work-order resolutions
                raise ApiError(Errno.PHOTO_NOT_IN_MANIFEST)
            row = tx.get_photo(sha256)
            uploaded = caller.badge in tx.photo_uploaders(sha256) if row is not None and row.stored else False
        uploader = _uploader(caller)
        on_disk = blobs.has(sha256)
        stored = row is not None and row.stored and on_disk
        if stored and uploaded:
            partials.discard(sha256, uploader)
            return PhotoUploadResult(sha256=sha256, stored=False, already_had=True)
        # Stored from another officer's upload: this officer's cases count it only once their phone sends
        # the same bytes (read and hashed by the caller; the file is not written twice).
        if not stored and on_disk:
            # The file was stored but its row not recorded: the database failed after the whole body had
            # arrived (503). HEAD told the phone HQ holds all of it, so the body is empty (an older phone
            # sends it whole again): it is not read, the row is recorded from the stored file.
            partials.discard(sha256, uploader)
            return record_photo(sha256, blobs.size(sha256), caller, True)
        return None

    def finish_upload(
        sha256: str, spool: _Spool, size: int, received: str, offset: int, caller: Principal
    ) -> PhotoUploadResult:
        """After the whole body (one worker-thread hop): the hash, the evidence check, the blob and its
        row; the caller's partial of the photo is gone afterwards whatever the outcome."""
        uploader = _uploader(caller)
        if received != sha256:
            partials.discard(sha256, uploader)
            raise ApiError(Errno.PHOTO_HASH_MISMATCH, detail={"received_bytes": size, "offset": offset})
        spool.finish()
        try:
            check_evidence(spool.path, settings.max_photo_edge)
        except NotEvidence as exc:
            partials.discard(sha256, uploader)
            raise ApiError(Errno.PHOTO_NOT_EVIDENCE, detail={"reason": str(exc)}) from exc
        result = store_photo(sha256, spool.path, size, caller)
        partials.discard(sha256, uploader)
        return result

    def store_photo(sha256: str, temp: FsPath, size: int, caller: Principal) -> PhotoUploadResult:
        try:
            stored = blobs.adopt(sha256, temp, hashed=True)  # hashed as it arrived, synced by finish()
        except BlobHashMismatch as exc:
            raise ApiError(Errno.PHOTO_HASH_MISMATCH) from exc
        return record_photo(sha256, size, caller, stored)

    def record_photo(sha256: str, size: int, caller: Principal, stored: bool) -> PhotoUploadResult:
        """Record a photo whose file is in the blob store: its row, the cases it completes, the audit."""
        now = settings.clock()
        with storage.transaction() as tx:
            completed = tx.mark_photo_stored(
                sha256, size, now, uploaded_by=caller.badge, device_id=caller.device_id
            )
            for case_id in completed:
                state = tx.case_state(case_id)
                if state is not None:
                    emit_case_state(tx, state)
            orders = tx.work_orders_with_photo(sha256, caller.badge)
            tx.audit(
                caller.badge,
                "photo_stored",
                target=sha256,
                detail={"size": size, "completed": completed} | ({"work_orders": orders} if orders else {}),
            )
        return PhotoUploadResult(
            sha256=sha256, stored=stored, already_had=not stored, completed_cases=completed
        )

    return router
