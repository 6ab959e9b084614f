"""Benchmark: one officer's shift reaching HQ over a slow link, against the raw transfer of the same bytes.

A shift is 60 cases with 3 evidence photos each (~300 KB JPEGs of noise, barely compressible), in a real phone
Store + PhotoStore. HQ is the real app (``hq.app.create_app``) on uvicorn over loopback, SQLite (WAL,
synchronous=FULL) and the filesystem blob store, seeded with the demo district.

The link is ``ShapedProxy`` (``testkit/shapedlink.py``): a standard-library asyncio TCP proxy on loopback
that shapes each direction as one shared bottleneck (a FIFO drained at ``UP_MBIT`` / ``DOWN_MBIT``, at
most ``QUEUE_S`` of backlog before it stops reading, so senders feel back-pressure) and delays every chunk
by half of ``RTT_S``.

Rows (fresh HQ, phone and proxy each, same run):

- **raw stream**: the client run's upstream byte count sent as one TCP stream through the proxy to a
  sink that answers one byte when it has them all: the floor for moving those bytes over this link.
- **client**: ``SyncClient.sync_once`` through the proxy (pipelined photo uploads, ``UPLOAD_WORKERS``
  outstanding, ``--workers`` to change); its wall time against the raw stream (target ≤ 1.15×: round
  trips must not serialise).
- **cut at 50 %**: the same sync, but when half of the clean run's upstream bytes have passed, the proxy
  resets every connection and refuses new ones; the sync ends offline, the link comes back, a second
  ``sync_once`` finishes. "Re-sent" = upstream bytes of both runs minus the clean run's (target ≤ one
  photo); photo body bytes streamed twice are counted on the phone's side too.
- ``--sequential`` adds the client with one upload at a time (the pre-pipelining behaviour).
- **loopback** rows keep the old comparison: the per-record baseline (one push per record, HEAD + PUT
  per photo) beside the client, with no proxy.

``--tls``: instead, the client row over plain http and over https (HQ's uvicorn serving a trustme CA's
certificate, the phone pinning that CA, ``mobile.hqclient.tls``) through the same shaped link, beside the
raw stream, in one run; prints the TLS/plain ratio and writes bench/results/shift_link_tls.md.

Prints a Markdown table and writes bench/results/shift_link.md. Run: ``.venv/bin/python bench/shift_link.py``
(about three minutes: each link run moves ~55 MB at 8 Mbit/s, as the spec asks).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import os
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import uvicorn

if __package__ in (None, ""):  # run as a script: make ``bench`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from enforcement.catalogue import load_catalogue
from enforcement.model import LOCAL_TZ, PhotoKind, PhotoRef
from hq.app import create_app
from hq.blobs.store import FilesystemBlobStore
from hq.demo import USERS, seed_demo
from hq.settings import FAST_PIN_HASHING, Settings
from hq.storage.sqlite import SqliteStorage
from mobile.hqclient import UPLOAD_WORKERS, RetryPolicy, ServerUnreachable, SyncClient
from mobile.hqclient.tls import ssl_context
from mobile.photostore import PhotoStore
from mobile.store import Store
from sync.protocol import PROTOCOL_VERSION, UPLOAD_OFFSET_HEADER, PushResponse
from testkit.fleet import night_market_case, noise_jpeg, tagged_jpeg
from testkit.shapedlink import DOWN_MBIT, QUEUE_S, RTT_S, UP_MBIT, ShapedProxy, Sink

CASES = 60
PHOTOS_PER_CASE = 3
PHOTO_BYTES = 300 * 1024
TARGET_RATIO = 1.15
RESULTS = Path(__file__).resolve().parent / "results" / "shift_link.md"
OFFICER = USERS[1]  # 1023 王㐂, ZD01


# -------------------------------------------------------------------------------- HQ and phone


#: (certificate, key, CA PEM) HQ serves and the phone pins, set by ``--tls`` for the TLS row.
TLS: tuple[Path, Path, str] | None = None


class Server:
    def __init__(self, root: Path) -> None:
        tls = TLS
        catalogue = load_catalogue()
        settings = Settings(pin_hashing=FAST_PIN_HASHING)
        self.storage = SqliteStorage(root / "hq.db")
        self.storage.create_schema()
        seed_demo(self.storage, settings, catalogue=catalogue)
        self.blobs = FilesystemBlobStore(root / "blobs")
        app = create_app(self.storage, self.blobs, settings, catalogue=catalogue)
        # "critical": the cut run resets uploads mid-body on purpose, which uvicorn would log as errors
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=0,
            log_level="critical",
            lifespan="off",
            access_log=False,
            ssl_certfile=str(tls[0]) if tls else None,
            ssl_keyfile=str(tls[1]) if tls else None,
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        while not self.server.started:
            time.sleep(0.01)
        self.port = self.server.servers[0].sockets[0].getsockname()[1]
        self.url = f"{'https' if tls else 'http'}://127.0.0.1:{self.port}"

    def case_count(self) -> int:
        with self.storage.transaction(readonly=True) as tx:
            return len(tx.list_cases(limit=100_000))

    def close(self) -> None:
        self.server.should_exit = True
        self.thread.join()
        self.storage.close()


_BASE_JPEG: tuple[bytes, int, int] | None = None


def evidence_jpeg(tag: str) -> tuple[bytes, int, int]:
    """A ~PHOTO_BYTES evidence JPEG of noise (barely compressible) with its own hash (HQ keeps only
    evidence JPEGs); one noise image per run, variants by ``tagged_jpeg``."""
    global _BASE_JPEG
    if _BASE_JPEG is None:
        _BASE_JPEG = noise_jpeg("shift-link", PHOTO_BYTES)
    base, width, height = _BASE_JPEG
    return tagged_jpeg(base, tag), width, height


def photo_size() -> int:
    """Bytes of one evidence photo of this run (all are the same size)."""
    return len(evidence_jpeg("size")[0])


def record_shift(root: Path) -> tuple[Store, PhotoStore]:
    """A phone with one shift of cases and photos."""
    store = Store.open(root / "phone.db", catalogue=load_catalogue())
    photos = PhotoStore(root / "photos")
    officer = OFFICER.officer
    start = datetime(2026, 11, 22, 18, 0, tzinfo=LOCAL_TZ)
    run = os.urandom(8).hex()  # fresh hashes per row: every HQ is new anyway
    for i in range(CASES):
        refs = []
        for j in range(PHOTOS_PER_CASE):
            data, width, height = evidence_jpeg(f"{run}-{i}-{j}")
            refs.append(PhotoRef(photos.put(data), len(data), PhotoKind.DURING, width, height))
        occurred = start + timedelta(minutes=7 * i)
        case_no = store.reserve_case_no(officer.squad_code, officer.badge, occurred.date())
        case = night_market_case(officer, store.device_id, case_no, occurred, tuple(refs))
        store.save_case(case)
    return store, photos


class Counting(httpx.BaseTransport):
    """Real HTTP; counts requests and the photo body bytes the phone streamed."""

    def __init__(self, verify: Any = True) -> None:
        self.inner = httpx.HTTPTransport(verify=verify)
        self.requests = 0
        self.put_bytes = 0
        self.resumed = 0  # PUTs that resumed a cut-off upload (Upload-Offset)
        self.heads = 0
        self.head_bytes = 0  # request line and headers of the HEAD requests, as HTTP/1.1 puts them
        self._lock = threading.Lock()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        with self._lock:
            self.requests += 1
        if request.method == "HEAD":
            line = f"HEAD {request.url.raw_path.decode()} HTTP/1.1\r\n"
            fields = "".join(f"{k}: {v}\r\n" for k, v in request.headers.items())
            with self._lock:
                self.heads += 1
                self.head_bytes += len(line) + len(fields.encode()) + 2
        if request.method == "PUT":
            request.stream = _Counted(request.stream, self)
            if UPLOAD_OFFSET_HEADER in request.headers:
                with self._lock:
                    self.resumed += 1
        return self.inner.handle_request(request)

    def add(self, size: int) -> None:
        with self._lock:
            self.put_bytes += size

    def close(self) -> None:
        self.inner.close()


class _Counted(httpx.SyncByteStream):
    def __init__(self, inner: object, counter: Counting) -> None:
        self.inner = inner
        self.counter = counter

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self.inner:  # type: ignore[attr-defined]
            self.counter.add(len(chunk))
            yield chunk

    def close(self) -> None:
        close = getattr(self.inner, "close", None)
        if close is not None:
            close()


@dataclass
class Env:
    server: Server
    store: Store
    photos: PhotoStore
    seeded: int


@contextlib.contextmanager
def environment() -> Iterator[Env]:
    """A fresh HQ and a phone holding one recorded shift."""
    with tempfile.TemporaryDirectory(prefix="shift-link-") as tmp:
        root = Path(tmp)
        (root / "hq").mkdir()
        (root / "phone").mkdir()
        server = Server(root / "hq")
        seeded = server.case_count()
        store, photos = record_shift(root / "phone")
        try:
            yield Env(server, store, photos, seeded)
        finally:
            store.close()
            server.close()


def signed_in_client(
    env: Env, url: str, workers: int, retry: RetryPolicy | None = None
) -> tuple[SyncClient, Counting]:
    counting = Counting(verify=ssl_context(TLS[2])) if TLS else Counting()
    if TLS:
        url = url.replace("http://", "https://")
    http = httpx.Client(base_url=url, transport=counting, timeout=60)
    client = SyncClient(http, env.store, env.photos, upload_workers=workers, retry=retry)
    client.sign_in(OFFICER.officer.badge, OFFICER.pin)
    return client, counting


def check_complete(env: Env) -> None:
    assert env.server.case_count() == env.seeded + CASES
    assert env.store.outbox_stats() == (0, 0)
    assert env.store.photo_stats() == (0, 0)


# ----------------------------------------------------------------------------------------- rows


@dataclass
class Row:
    run: str
    link: str
    requests: int
    seconds: float
    up_bytes: int
    note: str = ""


def run_client(workers: int) -> Row:
    with environment() as env:
        proxy = ShapedProxy(("127.0.0.1", env.server.port))
        try:
            client, counting = signed_in_client(env, proxy.url, workers)
            up0 = proxy.up_bytes
            requests0 = counting.requests
            started = time.perf_counter()
            report = client.sync_once()
            seconds = time.perf_counter() - started
            assert report.ok, report.error
            assert report.photos_uploaded == CASES * PHOTOS_PER_CASE
            check_complete(env)
            client.http.close()
        finally:
            proxy.close()
    label = f"client, {workers} upload{'s' if workers > 1 else ''} outstanding"
    return Row(label, "shaped", counting.requests - requests0, seconds, proxy.up_bytes - up0)


def run_raw(size: int) -> Row:
    sink = Sink(size)
    proxy = ShapedProxy(("127.0.0.1", sink.port))
    data = os.urandom(size)
    try:
        started = time.perf_counter()
        with socket.create_connection(("127.0.0.1", proxy.port)) as conn:
            conn.sendall(data)
            assert conn.recv(1) == b"k"
        seconds = time.perf_counter() - started
    finally:
        proxy.close()
        sink.close()
    return Row("raw stream of the same bytes", "shaped", 1, seconds, size)


@dataclass
class CutResult:
    row: Row
    resent: int
    photo_resent: int
    heads: int
    head_bytes: int
    lost_on_link: int  # upstream bytes the proxy took in but never handed on (the cut swallowed them)
    offline_error: str


def run_cut(clean_up_bytes: int, workers: int) -> CutResult:
    photo_total = CASES * PHOTOS_PER_CASE * photo_size()
    with environment() as env:
        proxy = ShapedProxy(("127.0.0.1", env.server.port))
        try:
            quick = RetryPolicy(attempts=2, base_delay=0.2, max_delay=0.5)
            client, counting = signed_in_client(env, proxy.url, workers, retry=quick)
            up0 = proxy.up_bytes
            requests0 = counting.requests
            proxy.cut_after = up0 + clean_up_bytes // 2
            started = time.perf_counter()
            first = client.sync_once()
            assert isinstance(first.error, ServerUnreachable), first.error
            proxy.heal()
            second = client.sync_once()
            seconds = time.perf_counter() - started
            assert second.ok, second.error
            check_complete(env)
            client.http.close()
        finally:
            proxy.close()
    up = proxy.up_bytes - up0
    row = Row(
        "client, cut at 50 % then resumed",
        "shaped",
        counting.requests - requests0,
        seconds,
        up,
        note=f"{first.photos_uploaded} + {second.photos_uploaded} photos sent, "
        f"{second.photos_already_at_hq} found at HQ, {counting.resumed} upload(s) resumed from HQ's offset",
    )
    return CutResult(
        row,
        up - clean_up_bytes,
        counting.put_bytes - photo_total,
        counting.heads,
        counting.head_bytes,
        proxy.up_bytes - proxy.up_delivered,
        first.error.code,
    )


def run_loopback(way: str) -> Row:
    with environment() as env:
        counting = Counting()
        with httpx.Client(base_url=env.server.url, transport=counting, timeout=60) as http:
            started = time.perf_counter()
            (legacy_baseline if way == "baseline" else legacy_client)(http, env)
            seconds = time.perf_counter() - started
        check_complete(env)
    return Row(f"{way} (old comparison)", "loopback", counting.requests, seconds, 0)


def legacy_client(http: httpx.Client, env: Env) -> None:
    client = SyncClient(http, env.store, env.photos)
    client.sign_in(OFFICER.officer.badge, OFFICER.pin)
    assert client.sync_once().ok


def legacy_baseline(http: httpx.Client, env: Env) -> None:
    """One push request per record, and for each photo a HEAD check then a PUT of its bytes."""
    store, photos = env.store, env.photos
    answer = http.post(
        "/v1/auth/sign-in",
        json={"badge": OFFICER.officer.badge, "pin": OFFICER.pin, "device_id": store.device_id},
    )
    auth = {"Authorization": f"Bearer {answer.json()['token']}"}
    for entry in store.outbox_pending(max_records=10_000, max_bytes=2**40):
        body = {
            "protocol": PROTOCOL_VERSION,
            "device_id": store.device_id,
            "records": [
                {"kind": entry.kind, "id": entry.record_id, "device_seq": entry.seq, "payload": entry.payload}
            ],
        }
        result = PushResponse.model_validate_json(http.post("/v1/push", json=body, headers=auth).content)
        assert result.results[0].acked
        store.outbox_ack([entry.seq])
    for ref in store.photos_to_upload(limit=10_000):
        path = f"/v1/photos/{ref.sha256}"
        if http.head(path, headers=auth).status_code == 404:
            data = photos.read(ref.sha256)
            assert hashlib.sha256(data).hexdigest() == ref.sha256
            response = http.put(
                path, content=data, headers=auth | {"Content-Type": "application/octet-stream"}
            )
            assert response.status_code == 200, response.text
        store.mark_photo_uploaded(ref.sha256)


# ----------------------------------------------------------------------------------------- main


def table(rows: list[Row], raw: Row, cut: CutResult, workers: int) -> str:
    mb = 2**20
    photo = photo_size()
    lines = [
        f"# Shift link: {CASES} cases × {PHOTOS_PER_CASE} photos × {photo / 1024:.0f} KB to HQ",
        "",
        f"Shaped link: {UP_MBIT:g} Mbit/s up, {DOWN_MBIT:g} Mbit/s down, {RTT_S * 1000:.0f} ms round trip "
        f"(loopback proxy, {QUEUE_S * 1000:.0f} ms bottleneck queue).",
        "",
        "| run | link | requests | seconds | upstream MB | vs raw stream |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for row in rows:
        ratio = f"{row.seconds / raw.seconds:.3f}×" if row.link == "shaped" else "–"
        up = f"{row.up_bytes / mb:.2f}" if row.up_bytes else "–"
        lines.append(f"| {row.run} | {row.link} | {row.requests} | {row.seconds:.2f} | {up} | {ratio} |")
    client = next(r for r in rows if r.run.startswith("client, ") and "1 upload " not in r.run)
    verdict = "met" if client.seconds / raw.seconds <= TARGET_RATIO else "NOT met"
    lines += [
        "",
        f"- Pipelined client vs raw stream: **{client.seconds / raw.seconds:.3f}×** "
        f"(target ≤ {TARGET_RATIO}×: {verdict}).",
        f"- Cut at 50 % of the upstream bytes (every connection reset, new ones refused until the link "
        f"returns; the first sync ends `{cut.offline_error}`), then resumed: **{cut.resent:,} bytes** "
        f"sent again over the link ({cut.resent / photo:.3f} photo; target ≤ 1 photo = "
        f"{photo:,} bytes: {'met' if cut.resent <= photo else 'NOT met'}); photo body bytes "
        f"the phone streamed twice (also into connections the dead link reset at once): "
        f"{cut.photo_resent / 1024:.0f} KB. {cut.row.note}. Of the bytes sent again, "
        f"{cut.head_bytes:,} are the {cut.heads} HEAD requests of the second sync (the clean run needs "
        f"none: the push answers list the missing photos), {cut.lost_on_link:,} were on the link when it "
        "was cut (bottleneck queue and delay line: HQ never received them), and "
        f"the rest, {cut.resent - cut.head_bytes - cut.lost_on_link:+,}, is what differs besides: request "
        "headers of the requests each run sent, and body bytes that reached HQ's socket but were dropped "
        "with the connection (the kernel's receive buffer, uvicorn's unread body buffer). "
        "Uploads resume: HQ keeps the body bytes it "
        "received of a cut-off PUT (per device), its HEAD answer says how many (`Upload-Offset`), and the "
        "phone sends only the rest; what is sent again is what the dead link swallowed (the proxy's "
        "queue and the socket buffers) plus the HEAD requests of the second sync.",
        "",
        "raw stream: the client run's upstream byte count as one TCP stream through the same proxy "
        "(timed until the sink acknowledges the last byte). client: `SyncClient.sync_once` (records in "
        "batches, photos HQ listed as missing sent without a HEAD, streamed from files, up to "
        f"{workers} uploads outstanding with one body on the wire at a time), timed from the "
        "first request to the end of the final pull; sign-in excluded; the cut row's time covers both "
        "syncs and the offline retries between. Upstream bytes are counted at the proxy. loopback "
        "rows: no proxy; the old baseline sends one push per record and HEAD + PUT (bytes in memory) "
        "per photo. Same machine, same run, fresh HQ (SQLite WAL+FULL), phone and "
        "proxy per row.",
    ]
    return "\n".join(lines) + "\n"


def run_tls(workers: int) -> None:
    """Plain http and https through the same shaped link, same run: TLS's cost."""
    global TLS
    import trustme

    from testkit.tlskit import issue

    plain = run_client(workers)
    with tempfile.TemporaryDirectory() as tmp:
        files = issue(Path(tmp), trustme.CA())
        TLS = (files.cert, files.key, files.ca_pem)
        try:
            secure = run_client(workers)
        finally:
            TLS = None
    raw = run_raw(plain.up_bytes)
    lines = [
        f"# Shift link over TLS: {CASES} cases × {PHOTOS_PER_CASE} photos, {UP_MBIT:g} Mbit/s, "
        f"{RTT_S * 1000:.0f} ms round trip",
        "",
        "| run | requests | seconds | upstream MB | vs raw stream | vs plain http |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for label, row in (("raw stream", raw), ("client, plain http", plain), ("client, https (TLS)", secure)):
        lines.append(
            f"| {label} | {row.requests} | {row.seconds:.2f} | {row.up_bytes / 2**20:.2f} | "
            f"{row.seconds / raw.seconds:.3f}× | {row.seconds / plain.seconds:.3f}× |"
        )
    lines += [
        "",
        f"TLS costs **{secure.seconds / plain.seconds:.3f}×** the plain-http time and "
        f"{(secure.up_bytes - plain.up_bytes) / 1024:+,.0f} KB upstream (handshakes, record overhead). "
        "Same run, fresh HQ and phone per row; TLS 1.3 with an ECDSA P-256 certificate (trustme), the phone "
        "pinning its CA; httpx keeps connections alive, so each connection pays one handshake.",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    (RESULTS.parent / "shift_link_tls.md").write_text(text, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sequential", action="store_true", help="also run one upload at a time")
    parser.add_argument("--workers", type=int, default=UPLOAD_WORKERS, help="uploads outstanding")
    parser.add_argument("--tls", action="store_true", help="client over plain http and https, same run")
    args = parser.parse_args()
    if args.tls:
        run_tls(args.workers)
        return
    rows = [run_loopback("baseline"), run_loopback("client")]
    client = run_client(args.workers)
    raw = run_raw(client.up_bytes)
    rows += [raw, client]
    if args.sequential:
        rows.append(run_client(1))
    cut = run_cut(client.up_bytes, args.workers)
    rows.append(cut.row)
    text = table(rows, raw, cut, args.workers)
    print(text)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
