"""Photo uploads to HQ: pipelined, one body on the wire at a time, resumable.

Up to ``workers`` uploads are outstanding at once (threads sharing the thread-safe ``httpx.Client``), but
only one photo body is on the wire at a time (``BodyLane``): the next body starts the moment the previous
one is written, while the previous waits for HQ's answer. A cut connection therefore loses at most the body
being written, and photos still complete one by one. Uploads resume: HQ keeps what it received of a
cut-off body, a HEAD tells how much (``Upload-Offset``), and the next try (or the next sync) sends only the
rest (``PhotoUploads.transfer``).

Workers only talk HTTP and read files (their result is a ``Transfer``); the phone store, the report, the
progress callback and every hook step except ``photo:send`` run on the thread that called ``run``. A photo
leaves the queue only after HQ answered for it; when one upload fails, the others in flight are stopped
(no new tries), those HQ already answered are still recorded, and the first error is raised.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from enforcement.model import PhotoRef, SyncState
from enforcement.text import LocalizedError
from mobile.hqclient.errors import ServerRefused, SyncError
from mobile.hqclient.ports import ClientStore, PhotoFiles
from mobile.hqclient.report import Phase, SyncReport
from mobile.hqclient.transport import Transport, UploadStopped, held_offset, parse
from sync.protocol import UPLOAD_OFFSET_HEADER, Errno, PhotoUploadResult

PHOTO_PAGE = 50
#: Photo uploads outstanding at once (one body on the wire, the other awaiting HQ's answer). Two already
#: keep an 8 Mbit/s, 150 ms link full with ~300 KB photos (bench/shift_link.py: 1.01× the raw transfer);
#: more would only queue more bodies behind the lane. (Before uploads resumed, a cut cost every half-sent
#: photo whole: ~1 photo at 2 outstanding, ~2 at 4; now it costs what the link swallowed, ~0.5 photo.)
UPLOAD_WORKERS = 2
_CHUNK = 64 * 1024


class BodyLane:
    """One photo body on the wire at a time: a body takes the lane when its first chunk is read and gives
    it back when its last chunk was handed to the socket (or its request ended: the transport closes every
    body it sent). Uploads still overlap: the next body streams while earlier ones await HQ's answer."""

    def __init__(self, abort: threading.Event) -> None:
        self._lane = threading.Lock()
        self._abort = abort

    def body(self, path: Path, offset: int = 0) -> Iterator[bytes]:
        while not self._lane.acquire(timeout=0.05):
            if self._abort.is_set():
                raise UploadStopped  # never a short body: the request fails before its first byte
        try:
            yield from _file_chunks(path, offset)
        finally:
            self._lane.release()


class PhotoBody:
    """One try's PUT body: the file from ``offset`` on, with the headers that describe it (the transport
    sends a body's ``headers``). ``offset`` > 0 resumes a cut-off upload HQ kept (``Upload-Offset``)."""

    def __init__(self, chunks: Iterator[bytes], offset: int, size: int) -> None:
        self._chunks = chunks
        self.offset = offset
        self.headers = {"Content-Length": str(size - offset)}
        if offset:
            self.headers[UPLOAD_OFFSET_HEADER] = str(offset)

    def __iter__(self) -> Iterator[bytes]:
        return self._chunks

    def close(self) -> None:
        close = getattr(self._chunks, "close", None)
        if close is not None:
            close()


class Outcome(Enum):
    """How one upload ended on its worker."""

    KNOWN = "known"  # HQ had it (HEAD)
    SENT = "sent"  # PUT answered
    SKIPPED = "skipped"  # refused by HQ or gone from the phone: left for the officer
    STOPPED = "stopped"  # the uploads were being stopped before it began


@dataclass(frozen=True, slots=True)
class Transfer:
    """What one upload worker did with one photo (applied to the phone store on the sync's thread)."""

    ref: PhotoRef
    outcome: Outcome
    result: PhotoUploadResult | None = None  # with SENT
    size: int = 0  # bytes of the file, with SENT


class PhotoUploads:
    """Uploads every queued photo HQ lacks for one sync (``run``)."""

    def __init__(
        self,
        transport: Transport,
        store: ClientStore,
        photos: PhotoFiles,
        *,
        workers: int,
        step: Callable[[str], None],
        progress: Callable[[Phase, int, int, int, int], None],
    ) -> None:
        self.transport = transport
        self.store = store
        self.photos = photos
        self.workers = max(1, workers)
        self._step = step
        self._progress = progress

    def run(self, report: SyncReport, missing_at_hq: set[str]) -> None:
        """Upload every queued photo HQ lacks, ``workers`` at a time (see the module doc). ``missing_at_hq``:
        hashes HQ listed as missing in this sync's push answers (no HEAD needed before sending)."""
        photos_total, bytes_total = self.store.photo_stats()
        done = bytes_done = 0
        skipped: set[str] = set()
        self._progress(Phase.UPLOADING, 0, photos_total, 0, bytes_total)
        auth = self.transport.headers()  # read here: workers never touch the phone store
        abort = self.transport.abort
        abort.clear()
        lane = BodyLane(abort)
        inflight: dict[Future[Transfer], PhotoRef] = {}
        pending: list[PhotoRef] = []
        failure: SyncError | None = None
        with ThreadPoolExecutor(self.workers, thread_name_prefix="sync-upload") as pool:
            try:
                while True:
                    while failure is None and len(inflight) < self.workers:
                        if not pending:
                            busy = skipped | {r.sha256 for r in inflight.values()}
                            pending = [
                                r
                                for r in self.store.photos_to_upload(limit=PHOTO_PAGE + len(busy))
                                if r.sha256 not in busy
                            ][::-1]
                            if not pending:
                                break
                        ref = pending.pop()
                        if not self.photos.has(ref.sha256):
                            skipped.add(ref.sha256)  # the file is gone from the phone; the case stays
                            report.photos_skipped.append(ref.sha256)  # incomplete (visible)
                            continue
                        self._step("photo:check")
                        missing = ref.sha256 in missing_at_hq
                        inflight[pool.submit(self.transfer, ref, missing, auth, lane)] = ref
                    if not inflight:
                        break
                    finished, _ = wait(inflight, return_when=FIRST_COMPLETED)
                    for future in finished:
                        ref = inflight.pop(future)
                        try:
                            transfer = future.result()
                        except SyncError as exc:  # stop the others; keep what HQ already answered
                            failure = failure or exc
                            abort.set()
                            continue
                        if self._applied(transfer, report, skipped):
                            done, bytes_done = done + 1, bytes_done + ref.size
                            self._progress(Phase.UPLOADING, done, photos_total, bytes_done, bytes_total)
            except BaseException:
                abort.set()  # killed (a hook) or a bug: no further tries, nothing more applied
                raise
            finally:
                pool.shutdown(wait=True, cancel_futures=True)
                abort.clear()
        if failure is not None:
            raise failure

    def transfer(self, ref: PhotoRef, missing: bool, auth: dict[str, str], lane: BodyLane) -> Transfer:
        """On an upload thread: HEAD (unless HQ said it lacks the photo), then PUT the file streamed.

        Resumable: HQ keeps the bytes of a PUT that was cut off, and its HEAD answer says how many
        (``Upload-Offset``); the PUT then sends only the rest. A retry after a failed try asks again. When
        HQ holds fewer bytes than claimed (409) the PUT resumes from what HQ holds; when a resumed file
        does not hash to its name (HQ discarded its partial) it is sent once more from byte 0."""
        abort = self.transport.abort
        if abort.is_set():
            return Transfer(ref, Outcome.STOPPED)
        path = f"/v1/photos/{ref.sha256}"
        request = self.transport.request
        offset = 0
        if not missing:
            head = request("HEAD", path, auth=False, extra_headers=auth, ok_statuses=(404,), worker=True)
            if head.status_code == 200:
                return Transfer(ref, Outcome.KNOWN)
            offset = held_offset(head)
        if abort.is_set():
            return Transfer(ref, Outcome.STOPPED)
        file_path = self.photos.path(ref.sha256)
        try:
            size = file_path.stat().st_size
        except FileNotFoundError:
            return Transfer(ref, Outcome.SKIPPED)
        headers = auth | {"Content-Type": "application/octet-stream"}
        tries = 0

        def body() -> PhotoBody:
            nonlocal offset, tries
            tries += 1
            if tries > 1:  # the previous try failed (cut off, 5xx): HQ may hold more of it now
                again = request("HEAD", path, auth=False, extra_headers=auth, ok_statuses=(404,), worker=True)
                offset = size if again.status_code == 200 else held_offset(again)
            offset = offset if 0 <= offset <= size else 0
            return PhotoBody(lane.body(file_path, offset), offset, size)

        self._step("photo:send")
        restarted = False
        for _ in range(3):
            try:
                response = request(
                    "PUT", path, auth=False, worker=True, body_factory=body, extra_headers=headers
                )
            except ServerRefused as exc:
                if exc.errno == Errno.UPLOAD_OFFSET_MISMATCH:  # HQ holds less than claimed: from there
                    offset, tries = _int(exc.body.detail.get("offset")), 0
                    continue
                if exc.errno == Errno.PHOTO_HASH_MISMATCH and offset and not restarted:
                    offset, tries, restarted = 0, 0, True  # HQ's partial was bad and is gone: whole file
                    continue
                if exc.status in (403, 404, 409, 413, 422):
                    return Transfer(ref, Outcome.SKIPPED)  # e.g. its case is parked, or the file is damaged
                raise
            return Transfer(ref, Outcome.SENT, parse(PhotoUploadResult, response), size)
        return Transfer(ref, Outcome.SKIPPED)

    def _applied(self, transfer: Transfer, report: SyncReport, skipped: set[str]) -> bool:
        """Record one upload's outcome on the phone (sync thread); True when the photo is done."""
        sha256 = transfer.ref.sha256
        if transfer.outcome is Outcome.STOPPED:
            return False
        if transfer.outcome is Outcome.SKIPPED:
            skipped.add(sha256)  # cannot now: left for the officer, the case stays incomplete
            report.photos_skipped.append(sha256)
            return False
        if transfer.outcome is Outcome.KNOWN:
            self._step("photo:known")
            self.store.mark_photo_uploaded(sha256)
            report.photos_already_at_hq += 1
            return True
        result = transfer.result
        assert result is not None
        self._step("photo:answered")
        self.store.mark_photo_uploaded(sha256)
        for case_id in result.completed_cases:
            try:
                self.store.set_sync_state(case_id, SyncState.COMPLETE)
            except LocalizedError:  # a case of the same photo that is not on this phone
                continue
            report.completed_cases.append(case_id)
        if result.already_had:
            report.photos_already_at_hq += 1
        else:
            report.photos_uploaded += 1
            report.photo_bytes += transfer.size
        return True


def _file_chunks(path: Path, offset: int = 0) -> Iterator[bytes]:
    with open(path, "rb") as handle:
        handle.seek(offset)
        while chunk := handle.read(_CHUNK):
            yield chunk


def _int(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0
