"""Photos by SHA-256, as an ``APIRouter`` (tag ``photos``): HEAD / PUT / GET ``/v1/photos/{sha256}``.

    HEAD /v1/photos/{sha256}    200 when HQ has it in the caller's scope; 404 otherwise, with
                                ``Upload-Offset`` when HQ holds a cut-off upload of it from the caller
    PUT  /v1/photos/{sha256}    the file as the body (from ``Upload-Offset`` on when resuming) →
                                PhotoUploadResult; only for a photo named in the caller's own cases
    GET  /v1/photos/{sha256}    the JPEG, through a case in the caller's scope whose own officer
                                uploaded these bytes (the uploader, their squad's leaders, HQ)

An upload is streamed to a temporary file in the blob store with a cap (``max_photo_bytes``) and its hash
checked (``hq.photocheck`` then checks it is evidence) before ``hq.blobs`` adopts it; a body cut off
mid-way is kept as a partial of the caller's device (``hq.partials``). Recording a stored photo completes
the cases waiting for it (``hq.ingest.emit_case_state``) and is audited. Each officer who uploads a
photo's bytes is recorded (``photo_uploads``, badge and device; the file is stored once): a photo counts
for a case, and is served through it, only when the case's own officer uploaded it, so listing another
officer's hash in one's case neither completes the case nor opens the photo.
"""

import contextlib
import hashlib
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path as FsPath
from typing import Annotated, BinaryIO

from fastapi import APIRouter, Depends, Path, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, StreamingResponse
from starlette.requests import ClientDisconnect

from hq.api.errors import ERROR_RESPONSES, ApiError
from hq.auth import Principal
from hq.blobs import BlobHashMismatch, BlobStore
from hq.feed import emit_case_state
from hq.partials import OffsetMismatch, PartialStore, uploader_key
from hq.photocheck import NotEvidence, check_evidence
from hq.settings import Settings
from hq.storage.base import CaseState, Storage
from sync.protocol import SHA256_RE, UPLOAD_OFFSET_HEADER, Errno, PhotoUploadResult


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


def _uploader(caller: Principal) -> str:
    return uploader_key(caller.badge, caller.device_id)


def build_router(
    storage: Storage,
    blobs: BlobStore,
    partials: PartialStore,
    settings: Settings,
    principal: Callable[..., Principal],
) -> APIRouter:
    """The photo routes; ``principal`` is the app's bearer-token dependency."""
    router = APIRouter()
    Caller = Annotated[Principal, Depends(principal)]
    Sha = Annotated[str, Path(description="SHA-256 of the photo file, 64 lowercase hex digits")]

    def photo_cases(sha256: str) -> list[CaseState]:
        with storage.transaction(readonly=True) as tx:
            states = [tx.case_state(case_id) for case_id in tx.cases_with_photo(sha256)]
        return [s for s in states if s is not None]

    def uploaded_cases(sha256: str) -> list[CaseState]:
        """The cases listing the photo whose own officer uploaded its bytes: the photo is read through
        these only (a hash listed in someone else's case opens nothing)."""
        with storage.transaction(readonly=True) as tx:
            uploaders = set(tx.photo_uploaders(sha256))
            states = [tx.case_state(case_id) for case_id in tx.cases_with_photo(sha256)]
        return [s for s in states if s is not None and s.officer_badge in uploaders]

    def uploaded_by(sha256: str, badge: str) -> bool:
        with storage.transaction(readonly=True) as tx:
            return badge in tx.photo_uploaders(sha256)

    def order_photo(sha256: str, badge: str) -> list[str]:
        """The work orders whose resolution by this officer names the photo (#15)."""
        with storage.transaction(readonly=True) as tx:
            return tx.work_orders_with_photo(sha256, badge)

    def have_photo(sha256: str) -> bool:
        with storage.transaction(readonly=True) as tx:
            row = tx.get_photo(sha256)
        return row is not None and row.stored and blobs.has(sha256)

    @router.head("/v1/photos/{sha256}", responses=ERROR_RESPONSES, tags=["photos"])
    def photo_exists(sha256: Sha, caller: Caller) -> Response:
        """200 when HQ has the photo (in the caller's scope); 404 otherwise, with ``Upload-Offset`` when HQ
        keeps a cut-off upload of it from the caller's device (resume from there)."""
        _require_sha(sha256)
        if any(caller.can_read_case(s) for s in uploaded_cases(sha256)) and have_photo(sha256):
            return Response(status_code=200)
        held = partials.held(sha256, _uploader(caller))
        states = photo_cases(sha256)
        own = any(s.officer_badge == caller.badge for s in states)
        if own and blobs.has(sha256) and not have_photo(sha256):
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
        states = photo_cases(sha256)
        if not states:
            raise ApiError(Errno.PHOTO_NOT_FOUND)
        if not any(caller.can_read_case(s) for s in states):
            raise ApiError(Errno.FORBIDDEN)
        # Only through a case whose officer uploaded these bytes: the uploader, their squad's leaders, HQ.
        if not any(caller.can_read_case(s) for s in uploaded_cases(sha256)) or not have_photo(sha256):
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
    async def upload_photo(sha256: Sha, request: Request, caller: Caller) -> PhotoUploadResult:
        """Store the photo whose bytes are the body (from ``Upload-Offset`` on, when resuming a cut-off
        upload; see ``sync.protocol``). A body cut off mid-way is kept as a partial of the caller's device."""
        _require_sha(sha256)
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
        states = await run_in_threadpool(photo_cases, sha256)
        if not any(s.officer_badge == caller.badge for s in states) and not await run_in_threadpool(
            order_photo, sha256, caller.badge
        ):  # neither in the officer's own cases nor in their own work-order resolutions
            raise ApiError(Errno.PHOTO_NOT_IN_MANIFEST)
        uploader = _uploader(caller)
        stored = await run_in_threadpool(have_photo, sha256)
        if stored and await run_in_threadpool(uploaded_by, sha256, caller.badge):
            await run_in_threadpool(partials.discard, sha256, uploader)
            return PhotoUploadResult(sha256=sha256, stored=False, already_had=True)
        # Stored from another officer's upload: this officer's cases count it only once their phone sends
        # the same bytes (read and hashed below; the file is not written twice).
        if not stored and await run_in_threadpool(blobs.has, sha256):
            # The file was stored but its row not recorded: the database failed after the whole body had
            # arrived (503). HEAD told the phone HQ holds all of it, so the body is empty (an older phone
            # sends it whole again): it is not read, the row is recorded from the stored file.
            await run_in_threadpool(partials.discard, sha256, uploader)
            size = await run_in_threadpool(blobs.size, sha256)
            return await run_in_threadpool(record_photo, sha256, size, caller, True)
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
                await run_in_threadpool(check_evidence, spool.path, settings.max_photo_edge)
            except NotEvidence as exc:
                await run_in_threadpool(partials.discard, sha256, uploader)
                raise ApiError(Errno.PHOTO_NOT_EVIDENCE, detail={"reason": str(exc)}) from exc
            result = await run_in_threadpool(store_photo, sha256, spool.path, size, caller)
            await run_in_threadpool(partials.discard, sha256, uploader)
            return result
        finally:
            spool.discard()

    def store_photo(sha256: str, temp: FsPath, size: int, caller: Principal) -> PhotoUploadResult:
        try:
            stored = blobs.adopt(sha256, temp)
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
