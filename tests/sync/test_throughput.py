"""Pipelined photo uploads: several PUTs outstanding at once (round trips do not serialise on a slow
link), with every guarantee of the sequential client kept — a photo leaves the queue only once HQ
answered for it, a failed upload stops the others, a body cut half-way gives its lane back.

HQ is the real app on loopback uvicorn; ``PutGauge`` wraps it and counts the PUTs in flight at HQ.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from typing import Any

import httpx
import pytest

from mobile.hqclient import SignInRequired, SyncClient, SyncReport
from sync.protocol import Errno, error_body
from testkit.hqkit import Hq, LiveServer
from tests.sync.conftest import ClientFactory, Phone, Sleeps, signed_in
from tests.sync.test_faults import assert_nothing_lost_or_duplicated

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Any]]
Send = Callable[[Any], Awaitable[None]]


class PutGauge:
    """ASGI wrapper counting photo PUTs in flight at HQ (from their headers to the end of their answer).

    Until ``want`` PUTs were in flight together, an arriving PUT is held (up to ``patience`` seconds) so a
    second one can arrive while it is open: with a client that waits for each answer before sending the
    next photo, the peak stays at 1 however long it is held."""

    def __init__(self, app: Any, *, want: int = 2, patience: float = 3.0) -> None:
        self.app = app
        self.want = want
        self.patience = patience
        self.inflight = 0
        self.peak = 0
        self.puts = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "PUT":
            await self.app(scope, receive, send)
            return
        self.puts += 1
        self.inflight += 1
        self.peak = max(self.peak, self.inflight)
        open_ = True

        def answered() -> None:  # the end of its answer: from here the client may send the next PUT
            nonlocal open_
            if open_:
                open_ = False
                self.inflight -= 1

        async def send_counted(message: Any) -> None:
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                answered()  # before the last bytes leave: the client cannot start another PUT earlier
            await send(message)

        try:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + self.patience
            while self.peak < self.want and loop.time() < deadline:
                await asyncio.sleep(0.005)
            await self.app(scope, receive, send_counted)
        finally:
            answered()


@pytest.fixture
def gauge(hq: Hq) -> Iterator[tuple[PutGauge, str]]:
    """The HQ app behind a ``PutGauge`` on its own loopback port: (gauge, url)."""
    wrapped = PutGauge(hq.app)
    server = LiveServer(wrapped).start()  # type: ignore[arg-type]  # any ASGI app serves
    yield wrapped, server.url
    server.stop()


def client_at(url: str, phone: Phone, sleeps: Sleeps, https: list[httpx.Client], **kwargs: Any) -> SyncClient:
    http = httpx.Client(base_url=url, timeout=10, transport=kwargs.pop("transport", None))
    https.append(http)
    return SyncClient(http, phone.store, phone.photos, sleep=sleeps, rng=lambda: 0.5, **kwargs)


def test_photo_uploads_are_in_flight_together(
    hq: Hq, phone: Phone, gauge: tuple[PutGauge, str], sleeps: Sleeps, https: list[httpx.Client]
) -> None:
    meter, url = gauge
    for _ in range(6):
        phone.record_case(photos=3, photo_size=20_000)
    seen: list[tuple[int, int]] = []

    def progress(p: Any) -> None:
        if p.phase.value == "uploading_photos":
            seen.append((p.records_done, p.bytes_done))

    client = signed_in(client_at(url, phone, sleeps, https, upload_workers=4, on_progress=progress))
    report = client.sync_once()
    assert report.ok, report.error
    assert report.photos_uploaded == 18
    assert meter.puts == 18  # each photo sent once
    assert 2 <= meter.peak <= 4  # overlapping, and never more than the workers
    # progress counts photos HQ answered for, one at a time, up to all of them
    assert seen[0] == (0, 0)
    assert [done for done, _ in seen] == list(range(19))
    assert seen[-1] == (18, 18 * 20_000)
    assert sleeps.delays == []
    assert_nothing_lost_or_duplicated(hq, phone)


def test_one_worker_uploads_one_photo_at_a_time(
    hq: Hq, phone: Phone, sleeps: Sleeps, https: list[httpx.Client]
) -> None:
    """The gauge can see the difference: with one worker the peak stays at one."""
    meter = PutGauge(hq.app, patience=0.3)
    server = LiveServer(meter).start()  # type: ignore[arg-type]
    try:
        phone.record_case(photos=3)
        report = signed_in(client_at(server.url, phone, sleeps, https, upload_workers=1)).sync_once()
    finally:
        server.stop()
    assert report.ok, report.error
    assert (meter.puts, meter.peak) == (3, 1)
    assert_nothing_lost_or_duplicated(hq, phone)


class CutBodies(httpx.BaseTransport):
    """Real HTTP, but the first ``cuts`` photo PUTs fail after their first body chunk was read (the link
    dropped in the middle of a photo)."""

    def __init__(self, cuts: int) -> None:
        self.inner = httpx.HTTPTransport()
        self.cuts = cuts
        self.lock = threading.Lock()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "PUT":
            with self.lock:
                cut = self.cuts > 0
                self.cuts -= cut
            if cut:
                stream = request.stream
                assert isinstance(stream, httpx.SyncByteStream)
                next(iter(stream))  # the first 64 KiB left the phone…
                raise httpx.WriteError("connection reset mid-body (fault injected)", request=request)
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


def in_thread(run: Callable[[], SyncReport], seconds: float = 60) -> SyncReport:
    """Run a sync in a thread and fail (instead of hanging) if it does not end."""
    box: list[SyncReport] = []
    thread = threading.Thread(target=lambda: box.append(run()), daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), "the sync hung (a photo body kept the lane)"
    return box[0]


def test_a_body_cut_half_way_gives_the_lane_back_and_is_sent_again(
    hq: Hq, phone: Phone, make_client: ClientFactory, sleeps: Sleeps
) -> None:
    for _ in range(3):
        phone.record_case(photos=2, photo_size=200_000)
    client = signed_in(make_client(phone, transport=CutBodies(cuts=3), upload_workers=3))
    report = in_thread(client.sync_once)
    assert report.ok, report.error
    assert report.photos_uploaded == 6
    assert len(sleeps.delays) == 3  # one backoff per cut body, then it went through
    assert_nothing_lost_or_duplicated(hq, phone)


class RevokeAfter(httpx.BaseTransport):
    """Real HTTP; after ``allowed`` photo PUTs were answered, HQ answers 401 (token revoked) to PUTs."""

    def __init__(self, allowed: int) -> None:
        self.inner = httpx.HTTPTransport()
        self.allowed = allowed
        self.lock = threading.Lock()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "PUT":
            with self.lock:
                refuse = self.allowed <= 0
                self.allowed -= 1
            if refuse:
                body = error_body(Errno.TOKEN_REVOKED).model_dump(mode="json")
                return httpx.Response(401, json=body, request=request)
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


def test_a_401_during_uploads_keeps_every_unanswered_photo_queued(
    hq: Hq, phone: Phone, make_client: ClientFactory
) -> None:
    for _ in range(4):
        phone.record_case(photos=3)
    client = signed_in(make_client(phone, transport=RevokeAfter(allowed=5), upload_workers=4))
    report = client.sync_once()
    assert isinstance(report.error, SignInRequired)
    assert report.error.errno == Errno.TOKEN_REVOKED
    assert report.photos_uploaded == 5  # every photo HQ answered for is recorded, the others stay
    assert phone.store.photo_stats()[0] == 12 - 5
    assert sum(hq.blobs.has(p.sha256) for c in phone.recorded for p in c.photos) == 5
    assert_nothing_lost_or_duplicated(hq, phone, complete=False)
    again = signed_in(make_client(phone)).sync_once()
    assert again.ok, again.error
    assert again.photos_uploaded == 7
    assert_nothing_lost_or_duplicated(hq, phone)


class StopWhileWaiting(httpx.BaseTransport):
    """Three photo PUTs: the first takes the body lane and holds it; the second waits for the lane; the
    third is refused with 401, which stops the uploads while the second is still waiting."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.arrivals = 0
        self.lock = threading.Lock()
        self.holds = threading.Event()
        self.second_ended = threading.Event()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.method != "PUT":
            return self.inner.handle_request(request)
        with self.lock:
            self.arrivals += 1
            arrival = self.arrivals
        if arrival == 1:
            stream = request.stream
            assert isinstance(stream, httpx.SyncByteStream)
            next(iter(stream))  # the lane is ours
            self.holds.set()
            self.second_ended.wait(10)
            raise httpx.WriteError("link dropped (fault injected)", request=request)
        assert self.holds.wait(10)
        if arrival == 2:
            try:
                return self.inner.handle_request(request)  # its body waits for the lane
            finally:
                self.second_ended.set()
        time.sleep(0.2)  # let the second one reach the lane
        body = error_body(Errno.TOKEN_REVOKED).model_dump(mode="json")
        return httpx.Response(401, json=body, request=request)

    def close(self) -> None:
        self.inner.close()


def test_uploads_stopped_while_a_body_waits_for_the_lane_end_in_a_sync_error(
    hq: Hq, phone: Phone, make_client: ClientFactory
) -> None:
    """The waiting body never goes out short (which httpx would raise as a protocol error, escaping the
    sync): its request fails cleanly and the sync reports why it stopped; every photo stays queued."""
    phone.record_case(photos=3, photo_size=200_000)
    client = signed_in(make_client(phone, transport=StopWhileWaiting(), upload_workers=3))
    report = in_thread(client.sync_once)
    assert isinstance(report.error, SignInRequired)
    assert report.photos_uploaded == 0
    assert phone.store.photo_stats()[0] == 3
    assert_nothing_lost_or_duplicated(hq, phone, complete=False)
