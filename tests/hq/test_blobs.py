"""FilesystemBlobStore: hash-verified, sharded, atomic."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from hq.blobs import BlobError, BlobHashMismatch, BlobNotFound, BlobStore, FilesystemBlobStore

DATA = b"\xff\xd8\xff\xe0 evidence photo bytes " * 100
SHA = hashlib.sha256(DATA).hexdigest()


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def test_put_stores_sharded_and_reads_back(tmp_path: Path) -> None:
    store = FilesystemBlobStore(tmp_path)
    assert isinstance(store, BlobStore)
    assert not store.has(SHA)
    assert store.put(SHA, DATA) is True
    assert store.has(SHA)
    assert store.read(SHA) == DATA
    assert store.size(SHA) == len(DATA)
    assert store.path(SHA) == tmp_path / SHA[:2] / SHA[2:4] / SHA
    with store.open(SHA) as handle:
        assert handle.read() == DATA
    assert store.put(SHA, DATA) is False  # already there: a no-op
    assert _files(tmp_path) == [store.path(SHA)]  # no temp file left behind


def test_hash_mismatch_stores_nothing(tmp_path: Path) -> None:
    store = FilesystemBlobStore(tmp_path)
    with pytest.raises(BlobHashMismatch) as err:
        store.put(SHA, DATA + b"x")
    assert err.value.field == "sha256"
    assert "未保存" in err.value.zh
    assert not store.has(SHA)
    assert _files(tmp_path) == []


@pytest.mark.parametrize("name", ["", "abc", SHA.upper(), SHA[:-1] + "g", "../" + SHA[3:]])
def test_bad_names_are_refused(tmp_path: Path, name: str) -> None:
    store = FilesystemBlobStore(tmp_path)
    with pytest.raises(BlobError) as err:
        store.has(name)
    assert err.value.field == "sha256"
    assert err.value.zh


def test_missing_blob(tmp_path: Path) -> None:
    store = FilesystemBlobStore(tmp_path)
    with pytest.raises(BlobNotFound):
        store.read(SHA)
    with pytest.raises(BlobNotFound):
        store.size(SHA)


def test_adopt_moves_a_verified_upload_in(tmp_path: Path) -> None:
    store = FilesystemBlobStore(tmp_path)
    spooled = store.temp_dir() / "upload-1"
    spooled.write_bytes(DATA)
    assert store.adopt(SHA, spooled) is True
    assert store.read(SHA) == DATA
    assert not spooled.exists()
    again = store.temp_dir() / "upload-2"
    again.write_bytes(DATA)
    assert store.adopt(SHA, again) is False
    assert not again.exists()


def test_adopt_refuses_a_damaged_upload(tmp_path: Path) -> None:
    store = FilesystemBlobStore(tmp_path)
    spooled = store.temp_dir() / "upload-1"
    spooled.write_bytes(DATA[:-1])
    with pytest.raises(BlobHashMismatch):
        store.adopt(SHA, spooled)
    assert not store.has(SHA)
    assert _files(tmp_path) == []


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
