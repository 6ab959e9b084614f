"""One request to HQ with retries: the only place on the phone that speaks httpx.

``Transport.request`` sends the protocol header (and the bearer token unless told not to), retries network
errors and 5xx with exponential backoff and jitter (``mobile.backoff``), waits as long as a 429/503's
``Retry-After`` says (a longer wait than ``RetryPolicy.max_retry_after`` ends the request), and turns every
other answer into the client's errors (``mobile.hqclient.errors``): 401 → ``SignInRequired``, 426 →
``ProtocolMismatch``, another 4xx → ``ServerRefused``; a certificate or TLS refusal
(``mobile.hqclient.tls``) → ``CertificateRejected`` / ``TlsUnavailable`` at once, never retried; tries used
up → ``ServerUnreachable`` (chained to the last httpx error, if that was what failed). ``parse`` reads an
answer into its protocol model or raises ``BadAnswer``.

A request may run on an upload thread (``worker=True``): it then never reports progress and gives up as
soon as the uploads are being stopped (``abort``). Waits between tries are ``sleep`` (injectable); the
real-time default wakes early when the uploads are stopped.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass
from typing import Protocol, TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from mobile.backoff import backoff_delay
from mobile.hqclient.errors import (
    BadAnswer,
    DeviceBlocked,
    ProtocolMismatch,
    ServerRefused,
    ServerUnreachable,
    SignInRequired,
)
from mobile.hqclient.tls import tls_refusal
from sync.protocol import (
    ERRNO_MESSAGES,
    PROTOCOL_HEADER,
    PROTOCOL_VERSION,
    UPLOAD_OFFSET_HEADER,
    Errno,
    ErrorBody,
)

M = TypeVar("M", bound=BaseModel)

#: A JSON request body as the protocol models dump it (``model_dump(mode="json")``).
JsonBody = Mapping[str, object]


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    attempts: int = 6  # tries per request before ServerUnreachable
    base_delay: float = 1.0  # seconds, doubled per failed try
    max_delay: float = 60.0
    max_retry_after: float = 300.0  # a longer Retry-After ends this sync (reported) instead of waiting


class RequestBody(Protocol):
    """One try's streamed request body: its chunks, the headers that describe it, and ``close`` (called
    when the try ends, sent or not)."""

    headers: dict[str, str]

    def __iter__(self) -> Iterator[bytes]: ...

    def close(self) -> None: ...


class UploadStopped(Exception):
    """Raised from a request body waiting for its turn when the uploads are being stopped."""


class Transport:
    """Requests to HQ over ``http`` (an ``httpx.Client`` whose base_url is HQ), retried per ``retry``.

    ``token()`` gives the saved bearer token (None: not signed in); ``on_retry()`` is called before each
    retry of a request made on the sync's own thread (the progress line shows "connecting")."""

    def __init__(
        self,
        http: httpx.Client,
        token: Callable[[], str | None],
        *,
        sleep: Callable[[float], None] = time.sleep,
        rng: Callable[[], float] = random.random,
        retry: RetryPolicy | None = None,
        on_retry: Callable[[], None] | None = None,
    ) -> None:
        self.http = http
        self._token = token
        self.sleep = sleep
        self.rng = rng
        self.retry = retry or RetryPolicy()
        self._on_retry = on_retry
        self.abort = threading.Event()  # set while uploads stop: no new tries, waits cut short

    def headers(self, auth: bool = True) -> dict[str, str]:
        """The protocol header, and the bearer token when ``auth`` (``SignInRequired`` without one)."""
        headers = {PROTOCOL_HEADER: str(PROTOCOL_VERSION)}
        if auth:
            token = self._token()
            if not token:
                raise SignInRequired(int(Errno.TOKEN_MISSING))
            headers["Authorization"] = f"Bearer {token}"
        return headers

    def pause(self, seconds: float) -> None:
        """Wait before a retry; the real-time default wakes early when the uploads are being stopped."""
        if self.sleep is time.sleep:
            self.abort.wait(seconds)
        else:
            self.sleep(seconds)

    def backoff(self, attempt: int) -> float:
        """The wait after failed try ``attempt`` (0-based): ``mobile.backoff`` with this policy's numbers."""
        return backoff_delay(attempt, base=self.retry.base_delay, cap=self.retry.max_delay, jitter=self.rng())

    def request(
        self,
        method: str,
        path: str,
        *,
        auth: bool = True,
        ok_statuses: Collection[int] = (),
        body_factory: Callable[[], RequestBody] | None = None,
        extra_headers: Mapping[str, str] | None = None,
        worker: bool = False,
        json: JsonBody | None = None,
        params: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """One request with retries. Returns a 2xx (or an ``ok_statuses``) response; raises SyncError.
        ``body_factory`` makes a fresh body stream for each try (closed when the try ends; its ``headers``
        are sent with it).
        ``worker``: called on an upload thread (no progress callback; stops when the uploads stop)."""
        last = ""
        cause: httpx.TransportError | None = None
        for attempt in range(self.retry.attempts):
            if attempt:
                if worker and self.abort.is_set():
                    raise ServerUnreachable(last) from cause
                if not worker and self._on_retry is not None:
                    self._on_retry()
            body = body_factory() if body_factory is not None else None
            headers = (
                self.headers(auth) | dict(extra_headers or {}) | (body.headers if body is not None else {})
            )
            try:
                response = self.http.request(
                    method, path, headers=headers, content=body, json=json, params=params
                )
            except httpx.TransportError as exc:
                refused = tls_refusal(exc)
                if refused is not None:  # a certificate or TLS refusal: retrying cannot help
                    raise refused from exc
                last, cause = type(exc).__name__, exc
                self.pause(self.backoff(attempt))
                continue
            except UploadStopped:
                raise ServerUnreachable(last or "stopped") from None
            finally:
                if body is not None:
                    body.close()  # a body abandoned half-way gives its file and its lane back now
            status = response.status_code
            if status < 300 or status in ok_statuses:
                return response
            if status in (429, 503):
                wait = retry_after(response)
                if wait is not None and wait > self.retry.max_retry_after:
                    raise ServerUnreachable(f"HTTP {status}, retry after {wait:.0f} s")
                last, cause = f"HTTP {status}", None
                self.pause(wait if wait is not None else self.backoff(attempt))
                continue
            if status >= 500:
                last, cause = f"HTTP {status}", None
                self.pause(self.backoff(attempt))
                continue
            error = error_body(response)
            if status == 401:
                raise SignInRequired(error.errno)
            if status == 426 or error.errno == Errno.UNSUPPORTED_PROTOCOL:
                raise ProtocolMismatch(error)
            if error.errno == Errno.DEVICE_REVOKED:
                raise DeviceBlocked()
            raise ServerRefused(status, error)
        raise ServerUnreachable(last) from cause


def parse(model: type[M], response: httpx.Response) -> M:
    """HQ's answer as ``model``; ``BadAnswer`` when it is not one."""
    try:
        return model.model_validate_json(response.content)
    except ValidationError as exc:
        raise BadAnswer(f"{model.__name__}, HTTP {response.status_code}") from exc


def error_body(response: httpx.Response) -> ErrorBody:
    """HQ's error answer; one made from the status when the body is not HQ's (a proxy's page)."""
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


def retry_after(response: httpx.Response) -> float | None:
    """The seconds of a ``Retry-After`` header (None when absent or not a number)."""
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def held_offset(response: httpx.Response) -> int:
    """The bytes of a cut-off upload HQ holds for this device (``Upload-Offset`` of a 404 HEAD), else 0."""
    value = response.headers.get(UPLOAD_OFFSET_HEADER, "")
    return int(value) if value.isascii() and value.isdigit() and len(value) <= 12 else 0
