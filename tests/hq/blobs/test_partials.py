"""Cut-off uploads kept for resuming (``hq.blobs.partials``), on each store (a local directory, and objects in
an S3 bucket: ``hq.blobs.s3.S3PartialUploads`` against a loopback moto server), and the sweep of stale
spool files (``FilesystemBlobStore.sweep_temp``, also run when the HQ app starts)."""

from __future__ import annotations

import hashlib
import io
import os
import time
from datetime import timedelta
from pathlib import Path

import pytest

from hq.app import create_app
from hq.blobs.partials import OffsetMismatch, PartialStore, PartialUploads, uploader_key
from hq.blobs.s3 import S3PartialUploads
from hq.blobs.store import FilesystemBlobStore
from testkit.hqkit import make_hq
from testkit.s3kit import S3Endpoint

SHA_A = "a" * 64
SHA_B = "b" * 64
SOI = b"\xff\xd8\xff"  # a partial is kept only when it starts like a JPEG
SHA_C = "c" * 64


class FakeTime:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def spool(directory: Path, data: bytes, name: str = "upload-x") -> Path:
    path = directory / name
    path.write_bytes(data)
    return path


@pytest.fixture
def clock() -> FakeTime:
    return FakeTime()


class Backend:
    """Where the partials under test live, and what a test does to them behind the store's back."""

    def __init__(self, kind: str, tmp_path: Path, clock: FakeTime, s3: S3Endpoint | None) -> None:
        self.kind = kind
        self.tmp_path = tmp_path
        self.clock = clock
        if s3 is not None:
            self.client = s3.client()
            self.bucket = s3.new_bucket()
        (tmp_path / "tmp").mkdir()

    def make(self, **bounds: object) -> PartialStore:
        if self.kind == "directory":
            return PartialUploads(self.tmp_path / "partial", clock=self.clock, **bounds)  # type: ignore[arg-type]
        return S3PartialUploads(self.client, self.bucket, "city/", clock=self.clock, **bounds)  # type: ignore[arg-type]

    def age(self, partials: PartialStore, sha: str, who: str, when: float) -> None:
        """Set when the partial was kept."""
        if isinstance(partials, PartialUploads):
            os.utime(partials.directory / f"{sha}.{who}", (when, when))
        else:
            assert isinstance(partials, S3PartialUploads)
            partials.age(sha, who, when)

    def add_stray(self, partials: PartialStore, name: str) -> None:
        """Something that is not a partial where the partials are."""
        if isinstance(partials, PartialUploads):
            (partials.directory / name).write_bytes(b"left alone")
        else:
            self.client.put_object(Bucket=self.bucket, Key=f"city/partial/{name}", Body=b"left alone")

    def names(self, partials: PartialStore) -> list[str]:
        """Everything where the partials are."""
        if isinstance(partials, PartialUploads):
            return sorted(p.name for p in partials.directory.iterdir())
        listing = self.client.list_objects_v2(Bucket=self.bucket, Prefix="city/partial/")
        return sorted(item["Key"].removeprefix("city/partial/") for item in listing.get("Contents", []))


@pytest.fixture(params=["directory", "s3"])
def backend(request: pytest.FixtureRequest, tmp_path: Path, clock: FakeTime) -> Backend:
    s3 = request.getfixturevalue("s3") if request.param == "s3" else None
    return Backend(request.param, tmp_path, clock, s3)


@pytest.fixture
def partials(backend: Backend) -> PartialStore:
    return backend.make(max_age=timedelta(hours=1), max_per_uploader=2)


def test_keep_publishes_only_a_longer_prefix_and_copy_prefix_hands_it_on(
    tmp_path: Path, partials: PartialStore
) -> None:
    me = uploader_key("1023", "phone-1")
    assert partials.held(SHA_A, me) == 0
    assert partials.keep(SHA_A, me, spool(tmp_path / "tmp", SOI + b"3456789"))
    assert not (tmp_path / "tmp" / "upload-x").exists()  # moved, not copied
    assert not partials.keep(SHA_A, me, spool(tmp_path / "tmp", SOI + b"34"))  # shorter: the longer stays
    assert partials.held(SHA_A, me) == 10
    out, digest = io.BytesIO(), hashlib.sha256()
    partials.copy_prefix(SHA_A, me, 6, out, digest)
    assert out.getvalue() == SOI + b"345"
    assert digest.hexdigest() == hashlib.sha256(SOI + b"345").hexdigest()
    with pytest.raises(OffsetMismatch) as beyond:
        partials.copy_prefix(SHA_A, me, 11, io.BytesIO(), hashlib.sha256())
    assert beyond.value.held == 10
    with pytest.raises(OffsetMismatch) as other:
        partials.copy_prefix(SHA_A, uploader_key("1023", "phone-2"), 1, io.BytesIO(), hashlib.sha256())
    assert other.value.held == 0
    assert not partials.keep(SHA_B, me, spool(tmp_path / "tmp", b""))  # nothing received: nothing kept
    partials.discard(SHA_A, me)
    partials.discard(SHA_A, me)  # twice is fine
    assert partials.held(SHA_A, me) == 0


def test_expired_partials_are_not_offered_and_are_swept(
    tmp_path: Path, partials: PartialStore, clock: FakeTime, backend: Backend
) -> None:
    me = uploader_key("1023", "phone-1")
    partials.keep(SHA_A, me, spool(tmp_path / "tmp", SOI))
    clock.now += 2 * 3600
    assert partials.held(SHA_A, me) == 0
    with pytest.raises(OffsetMismatch):
        partials.copy_prefix(SHA_A, me, 1, io.BytesIO(), hashlib.sha256())
    backend.add_stray(partials, "not-a-partial")
    assert partials.sweep() == 1
    assert backend.names(partials) == ["not-a-partial"]


def test_an_uploader_keeps_a_bounded_number_and_all_together_a_bounded_size(
    tmp_path: Path, clock: FakeTime, backend: Backend
) -> None:
    partials = backend.make(max_per_uploader=2, max_total_bytes=26)
    me, you = uploader_key("1023", "p1"), uploader_key("1024", "p2")
    ages = iter(range(100, 0, -1))  # each partial kept is younger than the one before

    def keep(sha: str, who: str, data: bytes) -> None:
        partials.keep(sha, who, spool(tmp_path / "tmp", data))
        backend.age(partials, sha, who, clock.now - next(ages))

    keep(SHA_A, me, SOI + b"x" * 2)
    keep(SHA_B, me, SOI + b"x" * 2)
    keep(SHA_C, me, SOI + b"y" * 3)  # a third of mine: my oldest goes
    assert [partials.held(s, me) for s in (SHA_A, SHA_B, SHA_C)] == [0, 5, 6]
    keep(SHA_A, you, SOI + b"z" * 17)  # 31 bytes in all, over 26: the oldest of all goes first
    assert [partials.held(s, me) for s in (SHA_A, SHA_B, SHA_C)] == [0, 0, 6]
    assert partials.held(SHA_A, you) == 20


def test_sweep_temp_removes_only_stale_spool_files(tmp_path: Path) -> None:
    blobs = FilesystemBlobStore(tmp_path / "blobs")
    old = spool(blobs.temp_dir(), b"dead request", "upload-old")
    fresh = spool(blobs.temp_dir(), b"live request", "upload-new")
    (blobs.temp_dir() / "sub").mkdir()
    long_ago = time.time() - 7200
    os.utime(old, (long_ago, long_ago))
    assert blobs.sweep_temp(timedelta(hours=1)) == 1
    assert sorted(p.name for p in blobs.temp_dir().iterdir()) == ["sub", "upload-new"]
    assert fresh.exists()


def test_hq_start_sweeps_stale_spools_and_expired_partials(tmp_path: Path) -> None:
    hq = make_hq(tmp_path / "hq")
    try:
        old = spool(hq.blobs.temp_dir(), b"killed mid-upload", "upload-1")
        fresh = spool(hq.blobs.temp_dir(), b"another worker's upload", "upload-2")
        hq.blobs.partial_dir().mkdir(exist_ok=True)
        expired = hq.blobs.partial_dir() / f"{SHA_A}.{uploader_key('1023', 'p')}"
        expired.write_bytes(b"cut long ago")
        long_ago = time.time() - 30 * 86400
        for path in (old, expired):
            os.utime(path, (long_ago, long_ago))
        create_app(hq.storage, hq.blobs, hq.settings)
        assert not old.exists()
        assert fresh.exists()
        assert not expired.exists()
    finally:
        hq.close()


def test_a_cut_body_that_does_not_start_like_a_jpeg_is_dropped_at_once(
    tmp_path: Path, partials: PartialStore, backend: Backend
) -> None:
    """Issue #13: a cut-off upload of anything but a JPEG can never become evidence: not kept two days."""
    me = uploader_key("1023", "phone-1")
    for junk in (b"<html>" + b"x" * 1000, b"PK\x03\x04", b"\xff\xd8\x00", b"\x00"):
        assert not partials.keep(SHA_A, me, spool(tmp_path / "tmp", junk))
        assert partials.held(SHA_A, me) == 0
    assert backend.names(partials) == []
    assert partials.keep(SHA_A, me, spool(tmp_path / "tmp", b"\xff\xd8"))  # a JPEG's start, cut short
    assert partials.held(SHA_A, me) == 2
