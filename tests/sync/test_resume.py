"""Resumable photo uploads over real HTTP on loopback: a PUT cut off mid-body leaves HQ a partial of the
caller's device; HEAD says how much (``Upload-Offset``) and the phone sends only the rest. Claims beyond
what HQ holds, resumed bytes that do not hash to the name, an HQ restart between cut and resume, and the
partial of another device, on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from enforcement.model import SyncState
from hq.storage.postgres import PostgresStorage
from mobile.hqclient import ServerUnreachable, SyncClient
from mobile.metakeys import TOKEN as META_TOKEN
from sync.protocol import UPLOAD_OFFSET_HEADER, Errno
from testkit.hqkit import (
    OFFICER,
    OFFICER_B,
    Hq,
    make_case,
    make_hq,
    photo_bytes,
    photo_ref,
    push_body,
    sign_in,
)
from testkit.pg import drop_schema, new_schema, pg_dsn
from tests.sync.conftest import ClientFactory, Phone, Sleeps, signed_in
from tests.sync.test_faults import Faulty, assert_nothing_lost_or_duplicated

SIZE = 200_000
OCTET = {"Content-Type": "application/octet-stream"}


def until(predicate: Callable[[], bool], what: str, limit: float = 10.0) -> None:
    """Wait (bounded) for something HQ does on its own threads; fails the test when it never happens."""
    deadline = time.monotonic() + limit
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"never happened: {what}")
        time.sleep(0.005)


def spooled(hq: Hq, size: int) -> bool:
    """HQ's upload spool holds ``size`` bytes (it received that much of a body)."""
    return any(p.stat().st_size >= size for p in hq.blobs.temp_dir().glob("upload-*"))


def partials(hq: Hq, sha: str) -> list[int]:
    """Sizes of the partials HQ keeps of ``sha`` (one per device)."""
    directory = hq.blobs.partial_dir()
    return sorted(p.stat().st_size for p in directory.glob(f"{sha}.*")) if directory.is_dir() else []


def held(client: httpx.Client, sha: str, auth: dict[str, str]) -> int | None:
    response = client.head(f"/v1/photos/{sha}", headers=auth)
    assert response.status_code == 404, response.status_code
    value = response.headers.get(UPLOAD_OFFSET_HEADER)
    return None if value is None else int(value)


def resume(
    client: httpx.Client, url: str, content: bytes, auth: dict[str, str], offset: str | bytes
) -> httpx.Response:
    """A PUT of ``content`` to ``url`` resuming at ``offset`` (the header's value, sent as given)."""
    return client.put(url, content=content, headers=auth | OCTET | {UPLOAD_OFFSET_HEADER: offset})


def cut_put(hq: Hq, sha: str, data: bytes, auth: dict[str, str], keep: int, offset: int = 0) -> None:
    """A PUT of ``data[offset:]`` announced whole, cut off (TCP reset) once HQ has ``keep`` of its bytes;
    returns when HQ kept the partial."""
    body = data[offset:]
    head = [f"PUT /v1/photos/{sha} HTTP/1.1", "Host: 127.0.0.1", f"Content-Length: {len(body)}"]
    head += [f"{k}: {v}" for k, v in (auth | OCTET).items()]
    if offset:
        head.append(f"{UPLOAD_OFFSET_HEADER}: {offset}")
    before = partials(hq, sha)
    with socket.create_connection(("127.0.0.1", hq.serve().port)) as conn:
        conn.sendall(("\r\n".join(head) + "\r\n\r\n").encode() + body[:keep])
        until(lambda: spooled(hq, offset + keep), "HQ received the first bytes")
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    until(lambda: partials(hq, sha) != before, "HQ kept the partial")


@pytest.fixture
def officer_case(hq: Hq) -> Iterator[tuple[httpx.Client, dict[str, str], bytes, str]]:
    """Officer 1023 on device "phone-1" pushed a case listing one photo of SIZE bytes."""
    data = photo_bytes("resume", SIZE)
    with hq.client() as client:
        auth = sign_in(client, OFFICER, "phone-1")
        case = make_case(OFFICER, photos=(photo_ref(data),), device_id="phone-1")
        assert client.post("/v1/push", json=push_body("phone-1", case), headers=auth).status_code == 200
        yield client, auth, data, hashlib.sha256(data).hexdigest()


def test_a_cut_body_is_kept_and_the_rest_completes_it(
    hq: Hq, officer_case: tuple[httpx.Client, dict[str, str], bytes, str]
) -> None:
    client, auth, data, sha = officer_case
    assert held(client, sha, auth) is None  # nothing yet: no header, as for a phone that never resumes
    cut_put(hq, sha, data, auth, 70_000)
    assert partials(hq, sha) == [70_000]
    assert held(client, sha, auth) == 70_000
    assert not hq.blobs.has(sha)
    answer = resume(client, f"/v1/photos/{sha}", data[70_000:], auth, "70000")
    assert answer.status_code == 200, answer.text
    assert answer.json()["stored"] is True
    assert hq.blobs.read(sha) == data
    assert partials(hq, sha) == []  # used up
    assert client.head(f"/v1/photos/{sha}", headers=auth).status_code == 200


def test_a_body_that_stalls_is_on_disk_as_far_as_it_came(
    hq: Hq, officer_case: tuple[httpx.Client, dict[str, str], bytes, str]
) -> None:
    """A slow link delivers 70,000 bytes, then 1,000 more, then stalls: HQ's spool holds all 71,000 (a
    piece smaller than the writer's buffer is not left waiting in it for the next), and a cut there keeps
    them all. Before, the small piece stayed in the buffer: the suite saw it as a flaky wait."""
    _client, auth, data, sha = officer_case
    head = [f"PUT /v1/photos/{sha} HTTP/1.1", "Host: 127.0.0.1", f"Content-Length: {len(data)}"]
    head += [f"{k}: {v}" for k, v in (auth | OCTET).items()]
    with socket.create_connection(("127.0.0.1", hq.serve().port)) as conn:
        conn.sendall(("\r\n".join(head) + "\r\n\r\n").encode() + data[:70_000])
        until(lambda: spooled(hq, 70_000), "HQ received the first piece")
        conn.sendall(data[70_000:71_000])
        until(lambda: spooled(hq, 71_000), "HQ wrote the small piece")
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    until(lambda: partials(hq, sha) != [], "HQ kept the partial")
    assert partials(hq, sha) == [71_000]


def test_a_second_cut_extends_the_partial_and_a_shorter_claim_is_taken(
    hq: Hq, officer_case: tuple[httpx.Client, dict[str, str], bytes, str]
) -> None:
    client, auth, data, sha = officer_case
    cut_put(hq, sha, data, auth, 50_000)
    cut_put(hq, sha, data, auth, 60_000, offset=50_000)  # the resume was cut off too
    assert held(client, sha, auth) == 110_000
    # the phone may resume from less than HQ holds (HQ keeps that prefix)
    answer = resume(client, f"/v1/photos/{sha}", data[100_000:], auth, "100000")
    assert answer.status_code == 200, answer.text
    assert hq.blobs.read(sha) == data


def test_a_claim_beyond_what_hq_holds_is_refused_with_the_held_offset(
    hq: Hq, officer_case: tuple[httpx.Client, dict[str, str], bytes, str]
) -> None:
    client, auth, data, sha = officer_case
    url = f"/v1/photos/{sha}"
    nothing = resume(client, url, data[1000:], auth, "1000")
    assert nothing.status_code == 409
    assert nothing.json()["errno"] == Errno.UPLOAD_OFFSET_MISMATCH
    assert nothing.json()["detail"]["offset"] == 0
    cut_put(hq, sha, data, auth, 40_000)
    beyond = resume(client, url, data[50_000:], auth, "50000")
    assert beyond.status_code == 409
    assert beyond.json()["detail"] == {"offset": 40_000, "claimed": 50_000}
    assert beyond.headers[UPLOAD_OFFSET_HEADER] == "40000"
    assert partials(hq, sha) == [40_000]  # untouched
    for bad in ("-5", "abc", "1e3", "1 2", "\uff19".encode()):
        malformed = resume(client, url, data, auth, bad)
        assert malformed.status_code == 422, bad
        assert malformed.json()["errno"] == Errno.VALIDATION
    too_far = resume(client, url, b"x", auth, str(2**30))
    assert too_far.status_code == 413
    assert not hq.blobs.has(sha)
    assert held(client, sha, auth) == 40_000


def test_resumed_bytes_that_do_not_hash_to_the_name_are_refused_and_the_partial_dropped(
    hq: Hq, officer_case: tuple[httpx.Client, dict[str, str], bytes, str]
) -> None:
    client, auth, data, sha = officer_case
    cut_put(hq, sha, data, auth, 80_000)
    rest = bytearray(data[80_000:])
    rest[5000] ^= 0xFF
    refused = resume(client, f"/v1/photos/{sha}", bytes(rest), auth, "80000")
    assert refused.status_code == 422
    assert refused.json()["errno"] == Errno.PHOTO_HASH_MISMATCH
    assert not hq.blobs.has(sha)
    assert partials(hq, sha) == []
    assert held(client, sha, auth) is None
    assert list(hq.blobs.temp_dir().iterdir()) == []
    whole = client.put(f"/v1/photos/{sha}", content=data, headers=auth | OCTET)
    assert whole.status_code == 200
    assert hq.blobs.read(sha) == data


def test_the_partial_of_another_device_is_neither_used_nor_harmed(
    hq: Hq, officer_case: tuple[httpx.Client, dict[str, str], bytes, str]
) -> None:
    client, auth, data, sha = officer_case
    url = f"/v1/photos/{sha}"
    # the same officer's second phone, and another officer whose case lists the same photo
    other_phone = sign_in(client, OFFICER, "phone-2")
    colleague = sign_in(client, OFFICER_B, "phone-b")
    case_b = make_case(OFFICER_B, photos=(photo_ref(data),), device_id="phone-b")
    assert client.post("/v1/push", json=push_body("phone-b", case_b), headers=colleague).status_code == 200
    cut_put(hq, sha, data, auth, 90_000)
    assert held(client, sha, other_phone) is None
    assert held(client, sha, colleague) is None
    stolen = resume(client, url, data[90_000:], colleague, "90000")
    assert stolen.status_code == 409
    assert stolen.json()["detail"]["offset"] == 0
    # the colleague's own cut, then a resume of damaged bytes: only the colleague's partial goes
    cut_put(hq, sha, data, colleague, 30_000)
    assert partials(hq, sha) == [30_000, 90_000]
    damaged = bytes(b ^ 1 for b in data[30_000:31_000]) + data[31_000:]
    refused = resume(client, url, damaged, colleague, "30000")
    assert refused.status_code == 422
    assert partials(hq, sha) == [90_000]
    assert held(client, sha, auth) == 90_000
    answer = resume(client, url, data[90_000:], auth, "90000")
    assert answer.status_code == 200, answer.text
    assert hq.blobs.read(sha) == data
    # a phone that resumes a photo HQ meanwhile got from another device is told HQ has it
    cut_put_after = resume(client, url, b"", other_phone, "5")
    assert cut_put_after.status_code == 200
    assert cut_put_after.json()["already_had"] is True


def test_two_devices_resuming_the_same_photo_at_once_both_succeed(
    hq: Hq, officer_case: tuple[httpx.Client, dict[str, str], bytes, str]
) -> None:
    client, auth, data, sha = officer_case
    other = sign_in(client, OFFICER, "phone-2")
    cut_put(hq, sha, data, auth, 20_000)
    cut_put(hq, sha, data, other, 120_000)
    answers: list[int] = []

    def resume(who: dict[str, str], offset: int) -> None:
        with hq.client() as own:
            headers = who | OCTET | {UPLOAD_OFFSET_HEADER: str(offset)}
            answers.append(own.put(f"/v1/photos/{sha}", content=data[offset:], headers=headers).status_code)

    threads = [threading.Thread(target=resume, args=a) for a in ((auth, 20_000), (other, 120_000))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers == [200, 200]
    assert hq.blobs.read(sha) == data


# ------------------------------------------------------------------------------------ the sync client


class CutOnce(httpx.BaseTransport):
    """Real HTTP; the first photo PUT is cut off (connection dropped) once HQ received ``keep`` bytes of
    its body. Records (Upload-Offset, body bytes sent) of every PUT try."""

    def __init__(self, hq: Hq, keep: int) -> None:
        self.inner = httpx.HTTPTransport()
        self.hq = hq
        self.keep = keep
        self.cuts = 1
        self.puts: list[tuple[int, int]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "PUT":
            offset = int(request.headers.get(UPLOAD_OFFSET_HEADER, "0"))
            request.stream = _Watched(request.stream, self, offset)  # type: ignore[arg-type]
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


class _Watched(httpx.SyncByteStream):
    def __init__(self, inner: object, owner: CutOnce, offset: int) -> None:
        self.inner = inner
        self.owner = owner
        self.offset = offset

    def __iter__(self) -> Iterator[bytes]:
        sent = 0
        try:
            for chunk in self.inner:  # type: ignore[attr-defined]
                if self.owner.cuts and sent + len(chunk) > self.owner.keep:
                    chunk = chunk[: self.owner.keep - sent]
                    sent += len(chunk)
                    yield chunk
                    total = self.offset + sent
                    until(lambda: spooled(self.owner.hq, total), "HQ received the bytes")  # noqa: B023
                    self.owner.cuts -= 1
                    raise httpx.WriteError("the link dropped mid-body (fault injected)")
                sent += len(chunk)
                yield chunk
        finally:
            self.owner.puts.append((self.offset, sent))


def wait_for_partial(hq: Hq, sleeps: Sleeps, then: Callable[[], None] | None = None) -> None:
    """At the client's first backoff after the cut: let HQ keep the partial (and run ``then``)."""

    def on_sleep(count: int) -> None:
        if count == 1:
            until(
                lambda: hq.blobs.partial_dir().is_dir() and any(hq.blobs.partial_dir().iterdir()),
                "partial",
            )
            if then is not None:
                then()

    sleeps.on_sleep = on_sleep


def resumed_sync(hq: Hq, phone: Phone, make_client: ClientFactory, sleeps: Sleeps, restart: bool) -> None:
    case = phone.record_case(photos=2, photo_size=SIZE)
    cutter = CutOnce(hq, keep=123_456)
    wait_for_partial(hq, sleeps, hq.restart if restart else None)
    # one upload at a time across a restart: an upload in flight while HQ stops would be answered 503 and
    # tried again (an empty resume when HQ stored its file but not its row), which this test does not count
    workers = 1 if restart else 2
    report = signed_in(make_client(phone, transport=cutter, upload_workers=workers)).sync_once()
    assert report.ok, report.error
    first, second = (p.sha256 for p in case.photos)
    # the cut photo: 123,456 bytes, then exactly the rest from there; the other photo once, whole
    assert sorted(cutter.puts) == sorted([(0, 123_456), (123_456, SIZE - 123_456), (0, SIZE)])
    assert sum(sent for _, sent in cutter.puts) == 2 * SIZE
    assert report.photos_uploaded == 2
    assert hq.blobs.read(first) == phone.photos.read(first)
    assert hq.blobs.read(second) == phone.photos.read(second)
    assert phone.states()[case.id] is SyncState.COMPLETE
    assert list(hq.blobs.partial_dir().iterdir()) == []
    assert_nothing_lost_or_duplicated(hq, phone)


@pytest.mark.parametrize("restart", [False, True], ids=["same-hq", "hq-restarted"])
def test_the_client_resumes_a_cut_upload_sending_only_the_rest(
    hq: Hq, phone: Phone, make_client: ClientFactory, sleeps: Sleeps, restart: bool
) -> None:
    resumed_sync(hq, phone, make_client, sleeps, restart)


def phone_auth(phone: Phone) -> dict[str, str]:
    return {"Authorization": f"Bearer {phone.store.meta_get(META_TOKEN)}"}


def pushed_without_photos(phone: Phone, make_client: ClientFactory) -> None:
    """The phone's case reaches HQ; its photo uploads fail (the link drops before each PUT)."""
    refuse_puts = Faulty(lambda request: "refuse" if request.method == "PUT" else None)
    report = signed_in(make_client(phone, transport=refuse_puts)).sync_once()
    assert isinstance(report.error, ServerUnreachable)
    assert report.pushed == 1


def test_the_client_starts_over_when_hqs_partial_does_not_hash(
    hq: Hq, phone: Phone, make_client: ClientFactory
) -> None:
    case = phone.record_case(photos=1, photo_size=SIZE)
    sha = case.photos[0].sha256
    pushed_without_photos(phone, make_client)
    data = phone.photos.read(sha)
    # garbled after the JPEG start (a partial that does not start like a JPEG is not even kept)
    garbled = data[:3] + bytes(b ^ 0x55 for b in data[3:70_000]) + data[70_000:]
    cut_put(hq, sha, garbled, phone_auth(phone), 70_000)
    counting = CutOnce(hq, keep=0)
    counting.cuts = 0
    report = make_client(phone, transport=counting).sync_once()
    assert report.ok, report.error
    assert counting.puts == [(70_000, SIZE - 70_000), (0, SIZE)]  # refused as a whole, then sent whole
    assert hq.blobs.read(sha) == data
    assert partials(hq, sha) == []
    assert_nothing_lost_or_duplicated(hq, phone)


class Overstating(CutOnce):
    """HEAD answers claim HQ holds ``claim`` bytes (HQ dropped the partial between HEAD and PUT)."""

    def __init__(self, hq: Hq, claim: int) -> None:
        super().__init__(hq, keep=0)
        self.cuts = 0
        self.claim = claim

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        if request.method != "HEAD" or response.status_code != 404:
            return response
        response.read()
        response.close()
        return httpx.Response(404, headers={UPLOAD_OFFSET_HEADER: str(self.claim)}, request=request)


def test_the_client_resumes_from_what_hq_holds_after_a_409(
    hq: Hq, phone: Phone, make_client: ClientFactory
) -> None:
    case = phone.record_case(photos=1, photo_size=SIZE)
    sha = case.photos[0].sha256
    pushed_without_photos(phone, make_client)
    cut_put(hq, sha, phone.photos.read(sha), phone_auth(phone), 60_000)
    overstating = Overstating(hq, claim=150_000)
    report = make_client(phone, transport=overstating).sync_once()
    assert report.ok, report.error
    assert overstating.puts == [(150_000, SIZE - 150_000), (60_000, SIZE - 60_000)]
    assert hq.blobs.read(sha) == phone.photos.read(sha)
    assert_nothing_lost_or_duplicated(hq, phone)


@pytest.mark.postgres
def test_the_client_resumes_a_cut_upload_on_postgres(tmp_path: Path, phone: Phone, sleeps: Sleeps) -> None:
    dsn = pg_dsn()
    schema = new_schema()
    hq = make_hq(tmp_path / "hq", lambda: PostgresStorage(dsn, schema=schema, min_size=1, max_size=4))
    clients: list[httpx.Client] = []

    def build(phone: Phone, *, transport: httpx.BaseTransport | None = None, **kwargs: Any) -> SyncClient:
        http = httpx.Client(base_url=hq.serve().url, transport=transport, timeout=10)
        clients.append(http)
        return SyncClient(http, phone.store, phone.photos, sleep=sleeps, rng=lambda: 0.5, **kwargs)

    try:
        resumed_sync(hq, phone, build, sleeps, restart=True)
    finally:
        for http in clients:
            http.close()
        hq.close()
        drop_schema(dsn, schema)
