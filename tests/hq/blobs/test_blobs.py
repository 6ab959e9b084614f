"""The blob contract (``hq.blobs.store.BlobStore``): hash-verified, atomic, on each store: the local directory
(``FilesystemBlobStore``: sharded files) and S3 (``hq.blobs.s3.S3BlobStore`` against a loopback moto
server). ``leftovers`` is everything a store holds besides its blobs: no temp file, spool or stray object."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from hq.blobs.s3 import S3BlobStore
from hq.blobs.store import BlobError, BlobHashMismatch, BlobNotFound, BlobStore, FilesystemBlobStore
from testkit.s3kit import S3Endpoint

DATA = b"\xff\xd8\xff\xe0 evidence photo bytes " * 100
SHA = hashlib.sha256(DATA).hexdigest()


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def _objects(store: S3BlobStore) -> list[str]:
    listing = store.client.list_objects_v2(Bucket=store.bucket)
    return sorted(item["Key"] for item in listing.get("Contents", []))


@pytest.fixture(params=["directory", "s3"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[BlobStore, Callable[[], list[str]]]:
    """(store, everything): ``everything()`` names every file and object the store holds."""
    if request.param == "directory":
        fs = FilesystemBlobStore(tmp_path)
        return fs, lambda: [p.relative_to(tmp_path).as_posix() for p in _files(tmp_path)]
    s3: S3Endpoint = request.getfixturevalue("s3")
    store = S3BlobStore(s3.new_bucket(), "city/", client=s3.client(), spool_dir=tmp_path / "spool")
    return store, lambda: _objects(store) + [f"spool/{p.name}" for p in _files(tmp_path / "spool")]


def _blob_entry(store: BlobStore, sha: str) -> str:
    return f"{sha[:2]}/{sha[2:4]}/{sha}" if isinstance(store, FilesystemBlobStore) else f"city/blobs/{sha}"


def test_put_stores_and_reads_back(backend: tuple[BlobStore, Callable[[], list[str]]]) -> None:
    store, everything = backend
    assert isinstance(store, BlobStore)
    assert not store.has(SHA)
    assert store.put(SHA, DATA) is True
    assert store.has(SHA)
    assert store.read(SHA) == DATA
    assert store.size(SHA) == len(DATA)
    with store.open(SHA) as handle:
        assert handle.read() == DATA
    assert store.put(SHA, DATA) is False  # already there: a no-op
    assert everything() == [_blob_entry(store, SHA)]  # no temp file left behind


def test_put_stores_sharded(tmp_path: Path) -> None:
    store = FilesystemBlobStore(tmp_path)
    store.put(SHA, DATA)
    assert store.path(SHA) == tmp_path / SHA[:2] / SHA[2:4] / SHA
    assert _files(tmp_path) == [store.path(SHA)]


def test_s3_path_materialises_a_local_copy(s3: S3Endpoint, tmp_path: Path) -> None:
    store = S3BlobStore.from_url(f"s3://{s3.new_bucket()}/a/b", client=s3.client(), spool_dir=tmp_path)
    assert store.prefix == "a/b/"
    store.put(SHA, DATA)
    assert store.path(SHA).read_bytes() == DATA


def test_hash_mismatch_stores_nothing(backend: tuple[BlobStore, Callable[[], list[str]]]) -> None:
    store, everything = backend
    with pytest.raises(BlobHashMismatch) as err:
        store.put(SHA, DATA + b"x")
    assert err.value.field == "sha256"
    assert "未保存" in err.value.zh
    assert not store.has(SHA)
    assert everything() == []


@pytest.mark.parametrize("name", ["", "abc", SHA.upper(), SHA[:-1] + "g", "../" + SHA[3:]])
def test_bad_names_are_refused(backend: tuple[BlobStore, Callable[[], list[str]]], name: str) -> None:
    store, _ = backend
    with pytest.raises(BlobError) as err:
        store.has(name)
    assert err.value.field == "sha256"
    assert err.value.zh


def test_missing_blob(backend: tuple[BlobStore, Callable[[], list[str]]]) -> None:
    store, _ = backend
    with pytest.raises(BlobNotFound):
        store.read(SHA)
    with pytest.raises(BlobNotFound):
        store.size(SHA)
    with pytest.raises(BlobNotFound):
        store.open(SHA)


def test_adopt_moves_a_verified_upload_in(backend: tuple[BlobStore, Callable[[], list[str]]]) -> None:
    store, everything = backend
    spooled = store.temp_dir() / "upload-1"
    spooled.write_bytes(DATA)
    assert store.adopt(SHA, spooled) is True
    assert store.read(SHA) == DATA
    assert not spooled.exists()
    again = store.temp_dir() / "upload-2"
    again.write_bytes(DATA)
    assert store.adopt(SHA, again) is False
    assert not again.exists()
    assert everything() == [_blob_entry(store, SHA)]


def test_adopt_of_a_hashed_upload_stores_it_as_an_unhashed_one_does(
    backend: tuple[BlobStore, Callable[[], list[str]]],
) -> None:
    """``hashed=True`` (HQ's own spool, hashed as it was written) skips the second read, not the rest:
    stored now, then already present, the temp file gone each time."""
    store, everything = backend
    spooled = store.temp_dir() / "upload-1"
    spooled.write_bytes(DATA)
    assert store.adopt(SHA, spooled, hashed=True) is True
    assert store.read(SHA) == DATA
    assert not spooled.exists()
    again = store.temp_dir() / "upload-2"
    again.write_bytes(DATA)
    assert store.adopt(SHA, again, hashed=True) is False
    assert not again.exists()
    assert everything() == [_blob_entry(store, SHA)]


def test_adopt_refuses_a_damaged_upload(backend: tuple[BlobStore, Callable[[], list[str]]]) -> None:
    store, everything = backend
    spooled = store.temp_dir() / "upload-1"
    spooled.write_bytes(DATA[:-1])
    with pytest.raises(BlobHashMismatch):
        store.adopt(SHA, spooled)
    assert not store.has(SHA)
    assert everything() == []


def test_a_crash_while_writing_leaves_no_partial_blob(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = FilesystemBlobStore(tmp_path)

    def crash(src: object, dst: object) -> None:
        raise OSError("disk gone")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk gone"):
        store.put(SHA, DATA)
    monkeypatch.undo()
    assert not store.has(SHA)
    assert _files(tmp_path) == []
    assert store.put(SHA, DATA)
    assert store.read(SHA) == DATA


def test_s3_a_failed_upload_leaves_nothing_under_the_photo_name(
    s3: S3Endpoint, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The object under a photo's name appears only when its upload of verified bytes completed."""
    store = S3BlobStore(s3.new_bucket(), client=s3.client(), spool_dir=tmp_path)
    spooled = store.temp_dir() / "upload-1"
    spooled.write_bytes(DATA)

    def cut(*args: object, **kwargs: object) -> None:
        raise OSError("link gone")

    monkeypatch.setattr(store.client, "upload_file", cut)
    with pytest.raises(OSError, match="link gone"):
        store.adopt(SHA, spooled)
    monkeypatch.undo()
    assert not store.has(SHA)
    assert _objects(store) == []
    assert store.put(SHA, DATA)
    assert store.read(SHA) == DATA
