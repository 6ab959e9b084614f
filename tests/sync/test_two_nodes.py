"""Two HQ nodes (``streetpatrol-hq serve`` processes on two ports) sharing one PostgreSQL database and
one S3 bucket (a loopback moto server): phones sync a shift with photos through a transport that picks a
node at random per request; one photo upload is cut off mid-body on one node and resumed on the other
(the partial is in the bucket, not on the node). Every case and every photo is at HQ exactly once."""

from __future__ import annotations

import hashlib
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from hq.storage import open_storage
from mobile.hqclient import SyncClient
from sync.protocol import UPLOAD_OFFSET_HEADER
from testkit.fleet import CHEAP_PIN_ENV, Device, HqProcess, fleet_officers, seed_hq
from testkit.pg import fresh_database, pg_dsn
from testkit.s3kit import S3Endpoint

KEEP = 5_000  # bytes of the cut photo the first node receives


def until(predicate: Callable[[], bool], what: str, limit: float = 90.0) -> None:
    deadline = time.monotonic() + limit
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"never happened: {what}")
        time.sleep(0.01)


@pytest.fixture
def database() -> Iterator[str]:
    """A fresh PostgreSQL database as a ``postgresql://`` URL (the CLI serves its public schema), dropped
    afterwards. (A key=value conninfo would have been taken for a SQLite file name by ``serve`` and
    ``open_storage``: the nodes would have shared a SQLite file, not PostgreSQL.)"""
    with fresh_database(pg_dsn()) as url:
        assert url.startswith("postgresql://")
        yield url


class TwoNodes(httpx.BaseTransport):
    """Each request to a node picked at random; the first photo PUT is cut off after ``KEEP`` bytes (once
    the node has them), and the resumed PUT (``Upload-Offset``) goes to the other node. While the cut PUT
    is on the wire, the phone's other photo PUTs (it sends some at once) go to the other node, so the
    cut node's spool holds the cut upload alone: ``_Cut`` cannot take another photo's bytes for it."""

    def __init__(self, nodes: list[HqProcess], spools: list[Path], seed: int) -> None:
        self.nodes = nodes
        self.spools = spools
        self.rng = random.Random(seed)
        self.inner = httpx.HTTPTransport()
        self.cut_on: int | None = None
        self.cutting = False
        self.routing = threading.Lock()  # the phone's upload lanes call from several threads
        self.resumed: list[tuple[int, int, int]] = []  # (node, offset, status) of resumed PUTs
        self.used = Counter[int]()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        offset = int(request.headers.get(UPLOAD_OFFSET_HEADER, "0"))
        with self.routing:
            node = self.rng.randrange(len(self.nodes))
            if request.method == "PUT" and self.cut_on is not None and (offset or self.cutting):
                node = 1 - self.cut_on
            elif request.method == "PUT" and self.cut_on is None:
                self.cut_on, self.cutting = node, True
                request.stream = _Cut(request.stream, self.spools[node], self)
        self.used[node] += 1
        request.url = request.url.copy_with(port=self.nodes[node].port)
        response = self.inner.handle_request(request)
        if request.method == "PUT" and offset:
            self.resumed.append((node, offset, response.status_code))
        return response

    def close(self) -> None:
        self.inner.close()


class _Cut(httpx.SyncByteStream):
    def __init__(self, inner: object, spool: Path, owner: TwoNodes) -> None:
        self.inner = inner
        self.spool = spool
        self.owner = owner

    def __iter__(self) -> Iterator[bytes]:
        sent = 0
        try:
            for chunk in self.inner:  # type: ignore[attr-defined]
                if sent + len(chunk) >= KEEP:
                    yield chunk[: KEEP - sent]
                    until(
                        lambda: any(p.stat().st_size >= KEEP for p in self.spool.rglob("upload-*")),
                        "the node received the first bytes",
                    )
                    raise httpx.WriteError("the link dropped mid-body (fault injected)")
                sent += len(chunk)
                yield chunk
        finally:
            self.owner.cutting = False


def test_two_nodes_share_database_and_bucket(tmp_path: Path, s3: S3Endpoint, database: str) -> None:
    officers = fleet_officers(3)
    seed_hq(database, officers)
    bucket = s3.new_bucket()
    client = s3.client()
    nodes, spools = [], []
    for i in range(2):
        spool = tmp_path / f"node{i}" / "tmp"
        spool.mkdir(parents=True)
        env = {**CHEAP_PIN_ENV, **s3.env(), "TMPDIR": str(spool)}
        nodes.append(HqProcess(database, f"s3://{bucket}/city", tmp_path / f"node{i}.log", env=env))  # type: ignore[arg-type]
        spools.append(spool)
    transport = TwoNodes(nodes, spools, seed=7)

    def partial_kept(_: float) -> None:
        """The phone's backoff after the cut, until the cut photo is resumed: the first node has put the
        partial in the bucket. (Any other backoff, e.g. a request that timed out on a loaded machine after
        the resume had consumed the partial, waits for nothing: the partial is gone by design.)"""
        if transport.cut_on is None or transport.resumed:
            return
        until(
            lambda: bool(client.list_objects_v2(Bucket=bucket, Prefix="city/partial/").get("Contents")),
            "the partial in the bucket",
        )

    devices: list[Device] = []
    try:
        for node in nodes:
            node.start()
        for officer in officers:
            device = Device(tmp_path / "phones" / officer.badge, officer, nodes[0].url, seed=officer.badge)
            device.http.close()
            device.http = httpx.Client(base_url=nodes[0].url, transport=transport, timeout=10.0)
            device.client = SyncClient(device.http, device.store, device.photos, sleep=partial_kept)
            devices.append(device)
            device.sign_in()
        for _ in range(3):
            for device in devices:
                device.record_case(photos=2)
                device.record_case(photos=1)
            for device in devices:
                for _ in range(5):
                    if device.sync().ok and device.done():
                        break
        assert all(d.done() for d in devices), [d.waiting() for d in devices]
        assert all(not d.not_complete() for d in devices)  # the phones show every case complete
        # the cut photo resumed on the other node, from where the first one stopped
        assert transport.cut_on is not None
        assert transport.resumed
        assert transport.resumed[0] == (1 - transport.cut_on, KEEP, 200)
        assert transport.used[0]
        assert transport.used[1]
    finally:
        for node in nodes:
            node.stop()
        for device in devices:
            device.close()
    cases = [c for d in devices for c in d.recorded]
    photos = {p.sha256 for c in cases for p in c.photos}
    storage = open_storage(database, create=False)
    try:
        with storage.transaction(readonly=True) as tx:
            states = tx.list_cases(latest_only=False, limit=10**7)
            rows = {sha: tx.get_photo(sha) for sha in photos}
            receipts = {c.id: len(tx.receipts_for(c.id)) for c in cases}
    finally:
        storage.close()
    assert Counter(s.case_id for s in states) == Counter(c.id for c in cases)  # every case once
    assert all(n == 1 for n in receipts.values())
    assert all(row is not None and row.stored for row in rows.values())
    listing = client.list_objects_v2(Bucket=bucket, Prefix="city/")
    keys = sorted(item["Key"] for item in listing.get("Contents", []))
    assert keys == sorted(f"city/blobs/{sha}" for sha in photos)  # every photo once, no partial left
    for sha in photos:
        body = client.get_object(Bucket=bucket, Key=f"city/blobs/{sha}")["Body"].read()
        assert hashlib.sha256(body).hexdigest() == sha
