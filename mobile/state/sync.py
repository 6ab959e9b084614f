"""The link to HQ: one background worker thread that owns every network call.

Sign-in and sync run on the worker, never on the UI path: callers get a ``Future``. The worker also
syncs on its own — right after ``kick()`` (a save, a tap on the status line), periodically while idle,
and with exponential backoff plus jitter after a failure — so records go out as soon as HQ becomes
reachable. The sync client itself is made by a factory *inside* the worker thread (it may open its own
store connection there), and is remade when the HQ address changes.

In tests the link runs ``threaded=False``: jobs run inline in the caller's thread, deterministically.
"""

from __future__ import annotations

import queue
import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Protocol, TypeVar

from enforcement.model import Officer
from enforcement.text import LocalizedError
from mobile.backoff import backoff_delay
from mobile.state.observable import Observable
from sync.protocol import Errno

T = TypeVar("T")


class SyncBackend(Protocol):
    """What the link needs of ``mobile.hqclient.SyncClient``."""

    def sign_in(self, badge: str, pin: str) -> Officer: ...

    def sync_once(self) -> Any: ...

    def revoke_pending(self) -> int:
        """Send the revocations of tokens signed out while offline (``mobile.secretstore``)."""
        ...

    def close(self) -> None: ...


#: (hq_url, on_progress) -> backend. Called in the worker thread.
BackendFactory = Callable[[str, Callable[[Any], None]], SyncBackend]
#: Classifies an exception raised by the backend: "offline" (HQ not reachable), "auth" (HQ wants a new
#: sign-in), "insecure" (the connection is not safe: certificate refused, cleartext; no automatic retry
#: until the officer acts) or "error" (anything else HQ or the phone refused).
ErrorKind = Callable[[BaseException], str]


@dataclass(frozen=True, slots=True)
class LinkStatus:
    """What the UI shows about the link. ``step`` is an i18n key suffix (``sync.step.<step>``)."""

    online: bool | None = None  # None until the first attempt
    syncing: bool = False
    step: str = "idle"
    records_done: int = 0
    records_total: int = 0
    bytes_done: int = 0
    bytes_total: int = 0
    last_success: datetime | None = None
    last_error_zh: str = ""
    last_error_en: str = ""
    needs_sign_in: bool = False
    blocked: bool = False  # HQ revoked this device: no automatic syncs until a sign-in succeeds again
    failures: int = 0
    insecure: bool = False  # stopped on a certificate/cleartext refusal: no automatic retry, tell the officer
    retry_at: float | None = None  # monotonic time of the next automatic attempt after a failure
    last_report: Any = None

    def error(self, lang: str) -> str:
        return self.last_error_zh if lang == "zh" else self.last_error_en


#: ``code`` values of the HQ client's errors (``mobile.hqclient.SyncErrorCode``), and what they mean for
#: the link.
OFFLINE_CODES = frozenset({"offline"})
AUTH_CODES = frozenset({"sign_in_again", "not_signed_in"})
INSECURE_CODES = frozenset({"insecure"})
BAD_CREDENTIALS_ERRNO = int(Errno.BAD_CREDENTIALS)
DEVICE_REVOKED_ERRNO = int(Errno.DEVICE_REVOKED)


def default_error_kind(exc: BaseException) -> str:
    """ "offline" (HQ not reachable), "auth" (token refused), "credentials" (wrong badge/PIN), "insecure"
    (certificate or cleartext refused), "blocked" (HQ revoked this device: 此设备已被停用，请联系指挥中心),
    "error"."""
    code = getattr(exc, "code", "")
    if code in INSECURE_CODES:
        return "insecure"
    if isinstance(exc, OSError | TimeoutError) or code in OFFLINE_CODES:
        return "offline"
    if code == "device_blocked" or getattr(exc, "errno", None) == DEVICE_REVOKED_ERRNO:
        return "blocked"
    if code in AUTH_CODES:
        return "auth"
    if getattr(exc, "errno", None) == BAD_CREDENTIALS_ERRNO:
        return "credentials"
    return "error"


#: The sync client's ``Progress.phase`` values as the link's steps (``sync.step.<step>`` texts).
PHASE_STEPS: dict[str, str] = {
    "connecting": "connect",
    "pushing": "push",
    "uploading_photos": "photos",
    "pulling": "pull",
    "idle": "done",
    "offline": "failed",
    "error": "failed",
}

_SYNC = object()
_STOP = object()
_RESET = object()


class SyncLink(Observable):
    """Runs sign-in and sync in the background; exposes ``status`` and notifies on every change."""

    def __init__(
        self,
        factory: BackendFactory,
        hq_url: Callable[[], str],
        *,
        threaded: bool = True,
        error_kind: ErrorKind = default_error_kind,
        now: Callable[[], datetime],
        backoff_base: float = 2.0,
        backoff_cap: float = 30.0,
        idle_interval: float = 60.0,
        rng: Callable[[], float] = random.random,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self._factory = factory
        self._hq_url = hq_url
        self._threaded = threaded
        self._error_kind = error_kind
        self._now = now
        #: told HQ's time at the end of every sync that finished (``mobile.state.clock``)
        self.on_server_time: Callable[[datetime], None] | None = None
        self._backoff_base = backoff_base
        self._backoff_cap = backoff_cap
        self._idle_interval = idle_interval
        self._rng = rng
        self._monotonic = monotonic
        self._jobs: queue.Queue[object] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._backend: SyncBackend | None = None
        self._backend_url = ""
        self._lock = threading.Lock()
        self._sync_queued = False
        self.auto = False  # automatic syncing only while an officer is signed in
        self.status = LinkStatus()

    def error_kind(self, exc: BaseException) -> str:
        """How the link classifies ``exc``: "offline", "auth" or "error"."""
        return self._error_kind(exc)

    # -- lifecycle -------------------------------------------------------------------------------------
    def start(self) -> None:
        if self._threaded and self._thread is None:
            self._thread = threading.Thread(target=self._run, name="streetpatrol-sync", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        if self._thread is not None:
            self._jobs.put(_STOP)
            self._thread.join(timeout)
            self._thread = None
        elif self._backend is not None:
            self._close_backend()

    def reset(self) -> None:
        """Make a new client at the next request (the trusted CA changed) and sync again."""
        if self._threaded:
            self._jobs.put(_RESET)
        else:
            self._close_backend()
        self._set(insecure=False)
        if self.auto:
            self.kick()

    def set_auto(self, on: bool) -> None:
        """Turn automatic syncing on (an officer signed in) or off (signed out); on also syncs now."""
        self.auto = on
        if on:
            self.kick()

    # -- requests --------------------------------------------------------------------------------------
    def submit(self, job: Callable[[SyncBackend], T]) -> Future[T]:
        """Run ``job(backend)`` on the worker; the future carries its result or exception."""
        future: Future[T] = Future()
        if self._threaded:
            self._jobs.put((job, future))
        else:
            self._execute(job, future)
        return future

    def sign_in(self, badge: str, pin: str) -> Future[Officer]:
        return self.submit(lambda backend: backend.sign_in(badge, pin))

    def kick(self) -> None:
        """Ask for a sync as soon as possible (no-op if one is already queued)."""
        if not self._threaded:
            self._sync_now()
            return
        with self._lock:
            if self._sync_queued:
                return
            self._sync_queued = True
        self._jobs.put(_SYNC)

    def sync_now(self) -> None:
        """Run one sync inline (tests, ``threaded=False``) or queue one (threaded)."""
        self.kick()

    # -- worker ----------------------------------------------------------------------------------------
    def _run(self) -> None:
        while True:
            try:
                item = self._jobs.get(timeout=self._wait_seconds())
            except queue.Empty:
                item = _SYNC
            if item is _STOP:
                self._close_backend()
                return
            if item is _RESET:
                self._close_backend()
                continue
            if item is _SYNC:
                with self._lock:
                    self._sync_queued = False
                self._sync_now()
            elif isinstance(item, tuple):
                job, future = item
                self._execute(job, future)

    def _wait_seconds(self) -> float | None:
        if not self.auto or self.status.insecure or self.status.blocked:
            return None  # nothing automatic: block until a job or a kick arrives
        retry_at = self.status.retry_at
        if retry_at is not None:
            return max(0.05, retry_at - self._monotonic())
        return self._idle_interval

    def _backend_for_url(self) -> SyncBackend:
        url = self._hq_url()
        if self._backend is None or url != self._backend_url:
            self._close_backend()
            self._backend = self._factory(url, self._on_progress)
            self._backend_url = url
        return self._backend

    def _close_backend(self) -> None:
        if self._backend is not None:
            try:
                self._backend.close()
            finally:
                self._backend = None

    def _execute(self, job: Callable[[SyncBackend], Any], future: Future[Any]) -> None:
        if not future.set_running_or_notify_cancel():
            return
        try:
            result = job(self._backend_for_url())
        except BaseException as exc:
            self._note_failure(exc, during_sync=False)
            future.set_exception(exc)
        else:
            self._set(online=True, needs_sign_in=False, insecure=False, blocked=False)
            future.set_result(result)

    def _sync_now(self) -> None:
        if self.status.blocked:  # HQ revoked this device: retrying cannot help until a sign-in succeeds
            return
        self._set(syncing=True, step="connect", records_done=0, records_total=0, bytes_done=0, bytes_total=0)
        try:
            report = self._backend_for_url().sync_once()
        except Exception as exc:
            self._note_failure(exc, during_sync=True)
            return
        error = getattr(report, "error", None)  # the sync client reports what stopped it
        if isinstance(error, BaseException):
            self._note_failure(error, during_sync=True, report=report)
            return
        server_time = getattr(report, "server_time", None)  # HQ's Date: the phone's clock reference
        if self.on_server_time is not None and isinstance(server_time, datetime):
            self.on_server_time(server_time)
        self._set(
            online=True,
            syncing=False,
            step="done",
            last_success=self._now(),
            last_error_zh="",
            last_error_en="",
            needs_sign_in=False,
            insecure=False,
            failures=0,
            retry_at=None,
            last_report=report,
        )

    def _note_failure(self, exc: BaseException, *, during_sync: bool, report: Any = None) -> None:
        kind = self._error_kind(exc)
        if isinstance(exc, LocalizedError):
            zh, en = exc.message("zh"), exc.message("en")
        else:
            zh, en = f"{type(exc).__name__}: {exc}", f"{type(exc).__name__}: {exc}"
        changes: dict[str, Any] = {"last_error_zh": zh, "last_error_en": en}
        if kind == "offline":
            changes["online"] = False
        elif kind == "auth":
            changes.update(online=True, needs_sign_in=True)
        elif kind == "insecure":
            changes.update(online=False, insecure=True)  # nothing was exchanged with a trusted HQ
        elif kind == "blocked":  # stop: no backoff, no automatic retry (HQ must re-enable the device)
            changes.update(online=True, blocked=True, syncing=False, step="failed", retry_at=None)
            during_sync = False
        else:
            changes["online"] = True
        if during_sync:
            failures = self.status.failures + 1
            delay = backoff_delay(  # jitter: phones of a squad must not retry in step
                failures - 1, base=self._backoff_base, cap=self._backoff_cap, jitter=self._rng()
            )
            changes.update(
                syncing=False,
                step="failed",
                failures=failures,
                # stop and tell: a refused certificate is not retried until the officer acts (a tap on
                # the status line, a new address or CA)
                retry_at=None if kind == "insecure" else self._monotonic() + delay,
                last_report=report,
            )
        self._set(**changes)

    def _on_progress(self, progress: Any) -> None:
        """Adapt the sync client's progress report (step name, records and bytes done/total)."""
        changes: dict[str, Any] = {}
        phase = getattr(progress, "phase", None)
        step = PHASE_STEPS.get(str(getattr(phase, "value", phase)))
        if step is not None and step not in ("done", "failed"):  # the end is set by _sync_now
            changes["step"] = step
        for name in ("records_done", "records_total", "bytes_done", "bytes_total"):
            value = getattr(progress, name, None)
            if isinstance(value, int):
                changes[name] = value
        if changes:
            self._set(**changes)

    def _set(self, **changes: Any) -> None:
        with self._lock:
            self.status = replace(self.status, **changes)
        self.notify()
