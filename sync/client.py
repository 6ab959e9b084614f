"""The phone's sync client: drives the outbox and the photo queue to HQ and applies HQ's changes.

One ``sync_once`` does, in order: push the outbox in bounded batches (a record leaves the outbox only after
HQ answered that it has it, committed), upload the photos HQ lacks (checked by hash first, so nothing is
sent twice), pull HQ's changes page by page (the cursor is saved after each applied page), and finally
record "last confirmed sync" in *server* time (the device clock is never trusted).

Photo uploads are pipelined so that round trips do not serialise on a slow link: up to ``upload_workers``
uploads are outstanding at once (threads sharing the thread-safe ``httpx.Client``), but only one photo body
is on the wire at a time (``_BodyLane``): the next body starts the moment the previous one is written, while
the previous waits for HQ's answer. A cut connection therefore loses at most the body being written, and
photos still complete one by one. Uploads resume: HQ keeps what it received of a cut-off body, a HEAD tells
how much (``Upload-Offset``), and the next try (or the next sync) sends only the rest (``_transfer``).
Workers only talk HTTP and read files; the phone store, the counters,
``on_progress`` and every hook step except ``photo:send`` run on the thread that called ``sync_once``.
A photo leaves the queue only after HQ answered for it; when one upload fails, the others in flight are
stopped (no new tries), those HQ already answered are still recorded, and the first error is reported.

Failures:

- network errors and 5xx → retried with exponential backoff and jitter (``sleep``/``rng`` injectable);
  429/503 → wait as long as ``Retry-After`` says; when the attempts are used up, ``ServerUnreachable``.
- 401 → ``SignInRequired`` ("请重新登录" / "sign in again"); every record stays in the outbox.
- a 4xx about one record → that record is parked with HQ's reason (``Store.outbox_parked``) and the rest
  go on; a whole batch refused (413 too large, 422 malformed) is split until the bad record stands alone,
  then parked.
- 426 → ``ProtocolMismatch`` (update the app).

``sync_once`` returns a ``SyncReport``; its ``error`` is the LocalizedError that stopped it (None when it
finished). ``hook(step)`` is called at each step (tests raise there to simulate the app being killed).
"""

from __future__ import annotations

import contextlib
import random
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from enforcement.codec import case_from_dict, from_json_dict, subject_from_dict, to_json_dict
from enforcement.model import Officer, PhotoRef, Review, Shift, SyncState
from enforcement.text import LocalizedError
from sync.protocol import (
    CLIENT_BATCH_PAYLOAD_BYTES,
    ERRNO_MESSAGES,
    MAX_BATCH_RECORDS,
    PROTOCOL_HEADER,
    PROTOCOL_VERSION,
    UPLOAD_OFFSET_HEADER,
    CaseStateData,
    CatalogueData,
    Change,
    Errno,
    ErrorBody,
    HistoryData,
    PhotoUploadResult,
    PullPage,
    PushBatch,
    PushRecord,
    PushResponse,
    RecordResult,
    SignInRequest,
    SignInResponse,
    SquadCaseData,
    SquadShiftData,
    TombstoneData,
)

if TYPE_CHECKING:
    from mobile.photostore import PhotoStore
    from mobile.store import OutboxEntry, Store

M = TypeVar("M", bound=BaseModel)

# Keys in the phone store's meta table.
META_TOKEN = "sync.token"  # noqa: S105 (a meta key, not a secret)
META_TOKEN_EXPIRES = "sync.token_expires_at"  # noqa: S105
META_OFFICER = "sync.officer"
META_CURSOR = "sync.cursor"
META_LAST_CONFIRMED = "sync.last_confirmed"
META_CATALOGUE_VERSION = "sync.hq_catalogue_version"

PHOTO_PAGE = 50
#: Photo uploads outstanding at once (one body on the wire, the other awaiting HQ's answer). Two already
#: keep an 8 Mbit/s, 150 ms link full with ~300 KB photos (bench/shift_link.py: 1.01× the raw transfer);
#: more would only queue more bodies behind the lane. (Before uploads resumed, a cut cost every half-sent
#: photo whole: ~1 photo at 2 outstanding, ~2 at 4; now it costs what the link swallowed, ~0.5 photo.)
UPLOAD_WORKERS = 2
_CHUNK = 64 * 1024


class Phase(StrEnum):
    """What the sync is doing, for the progress line."""

    OFFLINE = "offline"
    CONNECTING = "connecting"
    PUSHING = "pushing"
    UPLOADING = "uploading_photos"
    PULLING = "pulling"
    IDLE = "idle"
    ERROR = "error"


PHASE_TEXT: dict[Phase, tuple[str, str]] = {
    Phase.OFFLINE: ("离线", "Offline"),
    Phase.CONNECTING: ("正在连接", "Connecting"),
    Phase.PUSHING: ("正在上传记录", "Sending records"),
    Phase.UPLOADING: ("正在上传照片", "Uploading photos"),
    Phase.PULLING: ("正在接收更新", "Receiving updates"),
    Phase.IDLE: ("已同步", "Up to date"),
    Phase.ERROR: ("同步出错", "Sync error"),
}


@dataclass(frozen=True, slots=True)
class Progress:
    phase: Phase
    records_done: int = 0
    records_total: int = 0
    bytes_done: int = 0
    bytes_total: int = 0

    def text(self, lang: str = "zh") -> str:
        zh, en = PHASE_TEXT[self.phase]
        return zh if lang == "zh" else en


class SyncError(LocalizedError):
    """Base of the sync client's errors (shown to the officer)."""

    code = "sync"


class SignInRequired(SyncError):
    """HQ does not accept the saved token (missing, expired, revoked): sign in again. Nothing is lost."""

    code = "sign_in_again"

    def __init__(self, errno: int | None = None) -> None:
        super().__init__(
            "Please sign in again; your records are kept on the phone",
            zh="请重新登录，未上传的记录仍保存在手机上",
        )
        self.errno = errno


class SignInFailed(SyncError):
    """Sign-in refused (wrong badge/PIN, throttled, disabled): carries HQ's errno and text."""

    code = "sign_in_failed"

    def __init__(self, body: ErrorBody, retry_after: float | None = None) -> None:
        super().__init__(body.message_en, zh=body.message_zh, field="pin")
        self.errno = body.errno
        self.retry_after = retry_after


class ServerUnreachable(SyncError):
    code = "offline"

    def __init__(self, detail: str = "") -> None:
        super().__init__(
            f"HQ cannot be reached; will retry later ({detail})" if detail else "HQ cannot be reached",
            zh="无法连接指挥中心，稍后自动重试",
        )


class ProtocolMismatch(SyncError):
    code = "protocol"

    def __init__(self, body: ErrorBody) -> None:
        super().__init__(body.message_en, zh=body.message_zh)
        self.errno = body.errno


class ServerRefused(SyncError):
    """HQ refused a whole request with a 4xx (carries its errno and both texts)."""

    code = "refused"

    def __init__(self, status: int, body: ErrorBody) -> None:
        super().__init__(body.message_en, zh=body.message_zh)
        self.status = status
        self.errno = body.errno
        self.body = body


class BadAnswer(SyncError):
    """HQ's answer could not be read (a proxy page, a truncated body): nothing is acknowledged."""

    code = "bad_answer"

    def __init__(self, detail: str) -> None:
        super().__init__(f"HQ's answer could not be read ({detail})", zh="指挥中心的应答无法识别，稍后重试")


def _parse(model: type[M], response: httpx.Response) -> M:
    try:
        return model.model_validate_json(response.content)
    except ValidationError as exc:
        raise BadAnswer(f"{model.__name__}, HTTP {response.status_code}") from exc


class Interrupted(Exception):
    """Raised by a test hook to simulate the app being killed at a step."""


class _UploadStopped(Exception):
    """Raised from a photo body waiting for the lane when the uploads are being stopped."""


class _BodyLane:
    """One photo body on the wire at a time: a body takes the lane when its first chunk is read and gives
    it back when its last chunk was handed to the socket (or its request ended: ``_request`` closes every
    body it sent). Uploads still overlap: the next body streams while earlier ones await HQ's answer."""

    def __init__(self, abort: threading.Event) -> None:
        self._lane = threading.Lock()
        self._abort = abort

    def body(self, path: Any, offset: int = 0) -> Iterator[bytes]:
        while not self._lane.acquire(timeout=0.05):
            if self._abort.is_set():
                raise _UploadStopped  # never a short body: the request fails before its first byte
        try:
            yield from _file_chunks(path, offset)
        finally:
            self._lane.release()


class _PhotoBody:
    """One try's PUT body: the file from ``offset`` on, with the headers that describe it (``_request``
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


@dataclass(frozen=True, slots=True)
class _Transfer:
    """What one upload worker did with one photo (applied to the phone store on the sync's thread)."""

    ref: PhotoRef
    outcome: str  # "known" (HQ had it, HEAD), "sent" (PUT answered), "skipped" (refused / gone), "stopped"
    result: PhotoUploadResult | None = None
    size: int = 0


@dataclass
class SyncReport:
    pushed: int = 0  # records HQ acknowledged (accepted, duplicate or conflict)
    duplicates: int = 0
    stage_conflicts: list[str] = field(default_factory=list)  # record ids HQ staged differently
    parked: list[str] = field(default_factory=list)  # record ids parked in this run
    deferred: int = 0
    photos_uploaded: int = 0
    photos_already_at_hq: int = 0
    photo_bytes: int = 0
    photos_skipped: list[str] = field(default_factory=list)  # missing locally or refused by HQ
    completed_cases: list[str] = field(default_factory=list)
    changes_applied: int = 0
    changes_rejected: int = 0
    server_time: datetime | None = None
    error: LocalizedError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


class ProgressCallback(Protocol):
    def __call__(self, progress: Progress) -> None: ...


def _error_body(response: httpx.Response) -> ErrorBody:
    try:
        return ErrorBody.model_validate_json(response.content)
    except ValidationError:
        errno = Errno.INTERNAL if response.status_code >= 500 else Errno.VALIDATION
        zh, en = ERRNO_MESSAGES[errno]
        return ErrorBody(
            errno=int(errno),
            code=errno.name.lower(),
            message_zh=zh,
            message_en=f"{en} (HTTP {response.status_code})",
        )


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    attempts: int = 6  # tries per request before ServerUnreachable
    base_delay: float = 1.0  # seconds, doubled per failed try
    max_delay: float = 60.0
    max_retry_after: float = 300.0  # a longer Retry-After ends this sync (reported) instead of waiting


class SyncClient:
    """Sync of one phone store with HQ over ``http`` (an ``httpx.Client`` whose base_url is HQ)."""

    def __init__(
        self,
        http: httpx.Client,
        store: Store,
        photos: PhotoStore,
        *,
        on_progress: ProgressCallback | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rng: Callable[[], float] = random.random,
        retry: RetryPolicy | None = None,
        hook: Callable[[str], None] | None = None,
        batch_records: int = MAX_BATCH_RECORDS,
        batch_bytes: int = CLIENT_BATCH_PAYLOAD_BYTES,
        upload_workers: int = UPLOAD_WORKERS,
    ) -> None:
        self.http = http
        self.store = store
        self.photos = photos
        self.on_progress = on_progress
        self.sleep = sleep
        self.rng = rng
        self.retry = retry or RetryPolicy()
        self.hook = hook
        self.batch_records = batch_records
        self.batch_bytes = batch_bytes
        self.upload_workers = max(1, upload_workers)
        self._server_time: datetime | None = None
        self._missing_at_hq: set[str] = set()  # photo hashes HQ said it lacks, during one sync
        self._abort = threading.Event()  # set while uploads stop: no new tries, waits cut short

    # ------------------------------------------------------------------------------------ plumbing

    def _step(self, name: str) -> None:
        if self.hook is not None:
            self.hook(name)

    def _progress(
        self, phase: Phase, done: int = 0, total: int = 0, bytes_done: int = 0, bytes_total: int = 0
    ) -> None:
        if self.on_progress is not None:
            self.on_progress(Progress(phase, done, total, bytes_done, bytes_total))

    def _headers(self, auth: bool = True) -> dict[str, str]:
        headers = {PROTOCOL_HEADER: str(PROTOCOL_VERSION)}
        if auth:
            token = self.store.meta_get(META_TOKEN)
            if not token:
                raise SignInRequired(int(Errno.TOKEN_MISSING))
            headers["Authorization"] = f"Bearer {token}"
        return headers

    def _pause(self, seconds: float) -> None:
        """Wait before a retry; the real-time default wakes early when the uploads are being stopped."""
        if self.sleep is time.sleep:
            self._abort.wait(seconds)
        else:
            self.sleep(seconds)

    def _backoff(self, attempt: int) -> float:
        """Exponential backoff with jitter: between half and all of base * 2**attempt (capped)."""
        ceiling = min(self.retry.max_delay, self.retry.base_delay * 2.0**attempt)
        return ceiling / 2 + ceiling / 2 * self.rng()

    def _request(
        self,
        method: str,
        path: str,
        *,
        auth: bool = True,
        ok_statuses: Iterable[int] = (),
        content_factory: Callable[[], Iterable[bytes]] | None = None,
        extra_headers: dict[str, str] | None = None,
        worker: bool = False,
        **kwargs: Any,
    ) -> httpx.Response:
        """One request with retries. Returns a 2xx (or an ``ok_statuses``) response; raises SyncError.
        ``content_factory`` makes a fresh body stream for each try (closed when the try ends; its
        ``headers``, if it has any, are sent with it).
        ``worker``: called on an upload thread (no progress callback; stops when the uploads stop)."""
        allowed = set(ok_statuses)
        last = ""
        for attempt in range(self.retry.attempts):
            if attempt:
                if worker and self._abort.is_set():
                    raise ServerUnreachable(last)
                if not worker:
                    self._progress(Phase.CONNECTING)
            stream = content_factory() if content_factory is not None else None
            if stream is not None:
                kwargs["content"] = stream
            headers = self._headers(auth) | (extra_headers or {}) | getattr(stream, "headers", {})
            try:
                response = self.http.request(method, path, headers=headers, **kwargs)
            except httpx.TransportError as exc:
                last = type(exc).__name__
                self._pause(self._backoff(attempt))
                continue
            except _UploadStopped:
                raise ServerUnreachable(last or "stopped") from None
            finally:
                close = getattr(stream, "close", None)
                if close is not None:
                    close()  # a body abandoned half-way gives its file and its lane back now
            status = response.status_code
            if status < 300 or status in allowed:
                return response
            if status in (429, 503):
                wait = _retry_after(response)
                if wait is not None and wait > self.retry.max_retry_after:
                    raise ServerUnreachable(f"HTTP {status}, retry after {wait:.0f} s")
                last = f"HTTP {status}"
                self._pause(wait if wait is not None else self._backoff(attempt))
                continue
            if status >= 500:
                last = f"HTTP {status}"
                self._pause(self._backoff(attempt))
                continue
            body = _error_body(response)
            if status == 401:
                raise SignInRequired(body.errno)
            if status == 426 or body.errno == Errno.UNSUPPORTED_PROTOCOL:
                raise ProtocolMismatch(body)
            raise ServerRefused(status, body)
        raise ServerUnreachable(last)

    def _note_server_time(self, moment: datetime) -> None:
        self._server_time = moment

    # ------------------------------------------------------------------------------------ sign-in

    def sign_in(self, badge: str, pin: str) -> Officer:
        """Sign in on this device; saves the token and the officer. Raises SignInFailed / SyncError."""
        request = SignInRequest(
            protocol=PROTOCOL_VERSION, badge=badge.strip(), pin=pin, device_id=self.store.device_id
        )
        try:
            response = self._request(
                "POST", "/v1/auth/sign-in", auth=False, json=request.model_dump(mode="json")
            )
        except ServerRefused as exc:
            raise SignInFailed(exc.body) from exc
        except SignInRequired as exc:  # 401 on sign-in = wrong badge or PIN
            zh, en = ERRNO_MESSAGES[Errno.BAD_CREDENTIALS]
            body = ErrorBody(
                errno=int(Errno.BAD_CREDENTIALS), code="bad_credentials", message_zh=zh, message_en=en
            )
            raise SignInFailed(body) from exc
        answer = _parse(SignInResponse, response)
        self.store.meta_set(META_TOKEN, answer.token)
        self.store.meta_set(META_TOKEN_EXPIRES, answer.expires_at.isoformat())
        self.store.meta_set(META_OFFICER, to_json_dict(answer.officer))
        self.store.save_officer(answer.officer)
        return answer.officer

    def sign_out(self) -> None:
        """Revoke this device's token at HQ (best effort) and forget it locally."""
        with contextlib.suppress(SyncError):
            self._request("POST", "/v1/auth/sign-out")
        self.store.meta_set(META_TOKEN, None)

    @property
    def signed_in(self) -> bool:
        return bool(self.store.meta_get(META_TOKEN))

    def last_confirmed_sync(self) -> datetime | None:
        """HQ's time at the end of the last sync that finished (not the device clock)."""
        value = self.store.meta_get(META_LAST_CONFIRMED)
        return datetime.fromisoformat(value) if value else None

    # ------------------------------------------------------------------------------------ sync

    def sync_once(self) -> SyncReport:
        """Push, upload photos, pull. Stops at the first error that stops everything (in ``error``)."""
        report = SyncReport()
        self._server_time = None
        self._missing_at_hq = set()
        try:
            self._progress(Phase.CONNECTING)
            self._push_all(report)
            self._upload_photos(report)
            self._pull_all(report)
        except ServerUnreachable as exc:
            report.error = exc
            self._progress(Phase.OFFLINE)
            return report
        except SyncError as exc:
            report.error = exc
            self._progress(Phase.ERROR)
            return report
        report.server_time = self._server_time
        if self._server_time is not None:
            self.store.meta_set(META_LAST_CONFIRMED, self._server_time.isoformat())
        self._progress(Phase.IDLE)
        return report

    # -- push

    def _push_all(self, report: SyncReport) -> None:
        records_total, bytes_total = self.store.outbox_stats()
        done = bytes_done = 0
        limit = self.batch_records
        stalled: set[int] = set()
        self._progress(Phase.PUSHING, 0, records_total, 0, bytes_total)
        while True:
            entries = self.store.outbox_pending(max_records=limit, max_bytes=self.batch_bytes)
            if not entries or all(e.seq in stalled for e in entries):
                return
            try:
                acked = self._push_batch(entries, report, stalled)
            except ServerRefused as exc:
                if exc.status not in (413, 422):
                    raise
                if len(entries) > 1:  # split until the record HQ cannot take stands alone
                    limit = max(1, len(entries) // 2)
                    continue
                self._park(entries[0], exc.errno, exc.body.message_zh, exc.body.message_en, report)
                limit = self.batch_records
                continue
            limit = self.batch_records
            done += acked[0]
            bytes_done += acked[1]
            self._progress(Phase.PUSHING, done, records_total, bytes_done, bytes_total)

    def _park(self, entry: OutboxEntry, errno: int | None, zh: str, en: str, report: SyncReport) -> None:
        known = errno is not None and errno in Errno._value2member_map_
        code = Errno(errno).name.lower() if known and errno is not None else f"errno_{errno}"
        self.store.outbox_park(entry.seq, code, zh, en)
        report.parked.append(entry.record_id)

    def _push_batch(
        self, entries: list[OutboxEntry], report: SyncReport, stalled: set[int]
    ) -> tuple[int, int]:
        records: list[PushRecord] = []
        sendable: list[OutboxEntry] = []
        for entry in entries:
            try:
                records.append(
                    PushRecord.model_validate(
                        {
                            "kind": entry.kind,
                            "id": entry.record_id,
                            "device_seq": entry.seq,
                            "payload": entry.payload,
                        }
                    )
                )
                sendable.append(entry)
            except ValidationError:  # cannot even be put on the wire: park it, visible to the officer
                zh, en = ERRNO_MESSAGES[Errno.RECORD_INVALID]
                self._park(entry, int(Errno.RECORD_INVALID), zh, en, report)
        if not records:
            return 0, 0
        entries = sendable
        batch = PushBatch(protocol=PROTOCOL_VERSION, device_id=self.store.device_id, records=records)
        self.store.outbox_attempted(e.seq for e in entries)
        self._step("push:send")
        response = self._request("POST", "/v1/push", json=batch.model_dump(mode="json"))
        answer = _parse(PushResponse, response)
        self._note_server_time(answer.server_time)
        self._step("push:answered")
        acked: list[int] = []
        acked_bytes = 0
        for entry, result in zip(entries, _match(entries, answer.results), strict=True):
            if result is None:  # HQ said nothing about it: it stays in the outbox
                stalled.add(entry.seq)
                continue
            if result.acked:
                self._missing_at_hq.update(result.missing_photos)
                if entry.kind == "case":
                    state = SyncState.COMPLETE if result.complete else SyncState.SENT
                    self.store.set_sync_state(entry.record_id, state, result.hq_stage)
                if result.status == "duplicate":
                    report.duplicates += 1
                if result.status == "conflict":
                    report.stage_conflicts.append(entry.record_id)
                acked.append(entry.seq)
                acked_bytes += entry.size
            elif result.status == "deferred":
                stalled.add(entry.seq)
                report.deferred += 1
            else:
                self._park(entry, result.errno, result.reason_zh, result.reason_en, report)
        self._step("push:applied")
        self.store.outbox_ack(acked)
        self._step("push:acked")
        report.pushed += len(acked)
        return len(acked), acked_bytes

    # -- photos

    def _upload_photos(self, report: SyncReport) -> None:
        """Upload every queued photo HQ lacks, ``upload_workers`` at a time (see the module doc)."""
        photos_total, bytes_total = self.store.photo_stats()
        done = bytes_done = 0
        skipped: set[str] = set()
        self._progress(Phase.UPLOADING, 0, photos_total, 0, bytes_total)
        auth = self._headers()  # read here: workers never touch the phone store
        self._abort.clear()
        lane = _BodyLane(self._abort)
        inflight: dict[Future[_Transfer], PhotoRef] = {}
        pending: list[PhotoRef] = []
        failure: SyncError | None = None
        with ThreadPoolExecutor(self.upload_workers, thread_name_prefix="sync-upload") as pool:
            try:
                while True:
                    while failure is None and len(inflight) < self.upload_workers:
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
                        # HQ listed it as missing in this run's push answers: no need to ask before sending.
                        missing = ref.sha256 in self._missing_at_hq
                        inflight[pool.submit(self._transfer, ref, missing, auth, lane)] = ref
                    if not inflight:
                        break
                    finished, _ = wait(inflight, return_when=FIRST_COMPLETED)
                    for future in finished:
                        ref = inflight.pop(future)
                        try:
                            transfer = future.result()
                        except SyncError as exc:  # stop the others; keep what HQ already answered
                            failure = failure or exc
                            self._abort.set()
                            continue
                        if self._applied(transfer, report, skipped):
                            done, bytes_done = done + 1, bytes_done + ref.size
                            self._progress(Phase.UPLOADING, done, photos_total, bytes_done, bytes_total)
            except BaseException:
                self._abort.set()  # killed (a hook) or a bug: no further tries, nothing more applied
                raise
            finally:
                pool.shutdown(wait=True, cancel_futures=True)
                self._abort.clear()
        if failure is not None:
            raise failure

    def _transfer(self, ref: PhotoRef, missing: bool, auth: dict[str, str], lane: _BodyLane) -> _Transfer:
        """On an upload thread: HEAD (unless HQ said it lacks the photo), then PUT the file streamed.

        Resumable: HQ keeps the bytes of a PUT that was cut off, and its HEAD answer says how many
        (``Upload-Offset``); the PUT then sends only the rest. A retry after a failed try asks again. When
        HQ holds fewer bytes than claimed (409) the PUT resumes from what HQ holds; when a resumed file
        does not hash to its name (HQ discarded its partial) it is sent once more from byte 0."""
        if self._abort.is_set():
            return _Transfer(ref, "stopped")
        path = f"/v1/photos/{ref.sha256}"
        request = self._request
        offset = 0
        if not missing:
            head = request("HEAD", path, auth=False, extra_headers=auth, ok_statuses=(404,), worker=True)
            if head.status_code == 200:
                return _Transfer(ref, "known")
            offset = _held_offset(head)
        if self._abort.is_set():
            return _Transfer(ref, "stopped")
        file_path = self.photos.path(ref.sha256)
        try:
            size = file_path.stat().st_size
        except FileNotFoundError:
            return _Transfer(ref, "skipped")
        headers = auth | {"Content-Type": "application/octet-stream"}
        tries = 0

        def body() -> _PhotoBody:
            nonlocal offset, tries
            tries += 1
            if tries > 1:  # the previous try failed (cut off, 5xx): HQ may hold more of it now
                again = request("HEAD", path, auth=False, extra_headers=auth, ok_statuses=(404,), worker=True)
                offset = size if again.status_code == 200 else _held_offset(again)
            offset = offset if 0 <= offset <= size else 0
            return _PhotoBody(lane.body(file_path, offset), offset, size)

        self._step("photo:send")
        restarted = False
        for _ in range(3):
            try:
                response = request(
                    "PUT", path, auth=False, worker=True, content_factory=body, extra_headers=headers
                )
            except ServerRefused as exc:
                if exc.errno == Errno.UPLOAD_OFFSET_MISMATCH:  # HQ holds less than claimed: from there
                    offset, tries = _int(exc.body.detail.get("offset")), 0
                    continue
                if exc.errno == Errno.PHOTO_HASH_MISMATCH and offset and not restarted:
                    offset, tries, restarted = 0, 0, True  # HQ's partial was bad and is gone: whole file
                    continue
                if exc.status in (403, 404, 409, 413, 422):
                    return _Transfer(ref, "skipped")  # e.g. its case is parked, or the file is damaged
                raise
            return _Transfer(ref, "sent", _parse(PhotoUploadResult, response), size)
        return _Transfer(ref, "skipped")

    def _applied(self, transfer: _Transfer, report: SyncReport, skipped: set[str]) -> bool:
        """Record one upload's outcome on the phone (sync thread); True when the photo is done."""
        sha256 = transfer.ref.sha256
        if transfer.outcome == "stopped":
            return False
        if transfer.outcome == "skipped":
            skipped.add(sha256)  # cannot now: left for the officer, the case stays incomplete
            report.photos_skipped.append(sha256)
            return False
        if transfer.outcome == "known":
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

    # -- pull

    def _pull_all(self, report: SyncReport) -> None:
        pages = 0
        self._progress(Phase.PULLING)
        while True:
            cursor = self.store.meta_get(META_CURSOR)
            params = {"cursor": cursor} if cursor else {}
            try:
                response = self._request("GET", "/v1/changes", params=params)
            except ServerRefused as exc:
                if exc.errno == Errno.BAD_CURSOR and cursor:  # e.g. HQ restored: start over
                    self.store.meta_set(META_CURSOR, None)
                    continue
                raise
            page = _parse(PullPage, response)
            self._note_server_time(page.server_time)
            for change in page.changes:
                if self._apply(change):
                    report.changes_applied += 1
                else:
                    report.changes_rejected += 1
            self._step("pull:applied")
            self.store.meta_set(META_CURSOR, page.cursor)
            self._step("pull:saved")
            pages += 1
            self._progress(Phase.PULLING, report.changes_applied, report.changes_applied)
            if not page.more:
                return

    def _apply(self, change: Change) -> bool:
        """Apply one change to the phone store; False when its data is unusable (it is skipped)."""
        try:
            if change.kind == "subject":
                self.store.apply_remote_subject(subject_from_dict(change.data))
            elif change.kind == "tombstone":
                self.store.delete_subject(TombstoneData.model_validate(change.data).id)
            elif change.kind == "history":
                history = HistoryData.model_validate(change.data)
                self.store.add_remote_history(history.subject_id, history.entries)
            elif change.kind == "review":
                self.store.apply_review(from_json_dict(Review, change.data))
            elif change.kind == "case_state":
                state = CaseStateData.model_validate(change.data)
                self.store.set_sync_state(
                    state.case_id,
                    state.state,
                    state.hq_stage,
                    hq_reason_zh=state.hq_reason_zh,
                    hq_reason_en=state.hq_reason_en,
                )
            elif change.kind == "catalogue":
                self.store.meta_set(META_CATALOGUE_VERSION, CatalogueData.model_validate(change.data).version)
            elif change.kind == "squad_case":
                squad_case = SquadCaseData.model_validate(change.data)
                self.store.apply_squad_case(
                    case_from_dict(squad_case.case),
                    hq_stage=squad_case.hq_stage,
                    reviews=[from_json_dict(Review, review) for review in squad_case.reviews],
                    officer_name=squad_case.officer_name,
                    subject_label=squad_case.subject_label,
                    missing_photos=squad_case.missing_photos,
                    hq_reason_zh=squad_case.hq_reason_zh,
                    hq_reason_en=squad_case.hq_reason_en,
                )
            elif change.kind == "squad_shift":
                squad_shift = SquadShiftData.model_validate(change.data)
                self.store.apply_squad_shift(
                    from_json_dict(Shift, squad_shift.shift),
                    officer_name=squad_shift.officer_name,
                    squad_code=squad_shift.squad_code,
                )
        except (ValidationError, LocalizedError):
            return False
        return True


def _match(entries: list[OutboxEntry], results: list[RecordResult]) -> list[RecordResult | None]:
    """HQ's result for each entry: by position when HQ answered every record in order (one record id may
    appear twice in a batch, e.g. a shift started and then ended), otherwise by id."""
    in_order = len(results) == len(entries) and all(
        r.id == e.record_id for r, e in zip(results, entries, strict=True)
    )
    if in_order:
        return list(results)
    by_id = {r.id: r for r in results}
    return [by_id.get(e.record_id) for e in entries]


def _file_chunks(path: Any, offset: int = 0) -> Iterator[bytes]:
    with open(path, "rb") as handle:
        handle.seek(offset)
        while chunk := handle.read(_CHUNK):
            yield chunk


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _held_offset(response: httpx.Response) -> int:
    """The bytes of a cut-off upload HQ holds for this device (``Upload-Offset`` of a 404 HEAD), else 0."""
    value = response.headers.get(UPLOAD_OFFSET_HEADER, "")
    return int(value) if value.isascii() and value.isdigit() and len(value) <= 12 else 0


def connect(
    hq_url: str,
    store: Store,
    photos: PhotoStore,
    *,
    on_progress: ProgressCallback | None = None,
    retry: RetryPolicy | None = None,
    timeout: float = 30.0,
) -> SyncClient:
    """A SyncClient talking to HQ at ``hq_url`` over its own ``httpx.Client``: the officer app's entry
    point (``mobile.state.backend``), so httpx stays inside this module. Close with ``client.http.close()``.
    """
    http = httpx.Client(base_url=hq_url, timeout=timeout)
    return SyncClient(http, store, photos, on_progress=on_progress, retry=retry)
