"""PhotoStore: content-addressed, durable evidence files; sweep and missing keep files and rows honest."""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import pytest

from mobile.photostore import PhotoCorruptError, PhotoMissingError, PhotoStore

PHOTO = b"\xff\xd8evidence bytes\xff\xd9"
OTHER = b"\xff\xd8another photo\xff\xd9"


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def store(tmp_path: Path) -> PhotoStore:
    return PhotoStore(tmp_path / "photos")


class FsyncLog:
    """Records what each os.fsync call made durable (a file path or a directory) and each rename."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.events: list[tuple[str, str]] = []
        real_fsync, real_replace = os.fsync, os.replace

        def fsync(fd: int) -> None:
            self.events.append(("fsync", os.readlink(f"/proc/self/fd/{fd}")))
            real_fsync(fd)

        def replace(src: str | Path, dst: str | Path) -> None:
            self.events.append(("replace", str(dst)))
            real_replace(src, dst)

        monkeypatch.setattr(os, "fsync", fsync)
        monkeypatch.setattr(os, "replace", replace)

    def fsynced(self) -> list[str]:
        return [target for kind, target in self.events if kind == "fsync"]


def test_put_returns_the_hash_and_stores_the_bytes(store: PhotoStore) -> None:
    digest = store.put(PHOTO)
    assert digest == sha(PHOTO)
    assert store.has(digest)
    assert store.read(digest) == PHOTO
    assert store.path(digest).name == f"{digest}.jpg"


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc to name fsynced descriptors")
def test_put_fsyncs_the_file_before_the_rename_and_the_directory_after(
    store: PhotoStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = FsyncLog(monkeypatch)
    digest = store.put(PHOTO)
    final = str(store.path(digest))
    kinds = [kind for kind, _ in log.events]
    assert kinds == ["fsync", "replace", "fsync"]
    temp_synced, (_, renamed_to), dir_synced = log.events[0][1], log.events[1], log.events[2][1]
    assert Path(temp_synced).parent == store.path(digest).parent
    assert temp_synced != final
    assert renamed_to == final
    assert dir_synced == str(store.path(digest).parent)


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc to name fsynced descriptors")
def test_thumbnails_are_written_durably_too(store: PhotoStore, monkeypatch: pytest.MonkeyPatch) -> None:
    digest = sha(PHOTO)
    log = FsyncLog(monkeypatch)
    store.put_thumbnail(digest, b"thumb")
    assert log.fsynced()[-1] == str(store.thumbnail_path(digest).parent)
    assert store.thumbnail_path(digest).read_bytes() == b"thumb"


def test_put_is_idempotent_and_writes_nothing_the_second_time(
    store: PhotoStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = store.put(PHOTO)
    mtime = store.path(first).stat().st_mtime_ns
    log = FsyncLog(monkeypatch)
    assert store.put(PHOTO) == first
    assert log.events == []
    assert store.path(first).stat().st_mtime_ns == mtime
    assert store.hashes() == {first}
    assert [p.name for p in store.path(first).parent.iterdir()] == [f"{first}.jpg"]  # no temp left over


def test_put_repairs_a_damaged_file_of_the_same_name(store: PhotoStore) -> None:
    digest = store.put(PHOTO)
    store.path(digest).write_bytes(b"X" * len(PHOTO))
    with pytest.raises(PhotoCorruptError) as err:
        store.read(digest)
    assert err.value.zh
    assert err.value.en
    assert err.value.field == "photos"
    store.put(PHOTO)
    assert store.read(digest) == PHOTO


def test_failed_write_leaves_no_file_and_no_temp(store: PhotoStore, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken_fsync(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(OSError, match="No space"):
        store.put(PHOTO)
    monkeypatch.undo()
    assert not store.has(sha(PHOTO))
    assert list(store.path(sha(PHOTO)).parent.iterdir()) == []


def test_empty_data_and_bad_names_are_refused(store: PhotoStore) -> None:
    with pytest.raises(ValueError, match="empty"):
        store.put(b"")
    for name in ("../../etc/passwd", "ABC", sha(PHOTO).upper(), sha(PHOTO)[:-1] + "/"):
        with pytest.raises(ValueError, match="SHA-256"):
            store.path(name)


def test_read_of_an_absent_photo_is_a_localized_error(store: PhotoStore) -> None:
    with pytest.raises(PhotoMissingError) as err:
        store.read(sha(PHOTO))
    assert err.value.code == "photo_missing"
    assert "本机" in err.value.message("zh")
    assert "missing" in err.value.message("en")


def test_sweep_removes_orphans_only(store: PhotoStore) -> None:
    kept, orphan = store.put(PHOTO), store.put(OTHER)
    store.put_thumbnail(kept, b"t1")
    store.put_thumbnail(orphan, b"t2")
    temp = store.path(kept).parent / f".{orphan}.deadbeef.tmp"
    temp.write_bytes(b"half a photo")
    foreign = store.path(kept).parent / "README.txt"
    foreign.write_text("not ours")

    assert store.sweep(keep={kept}) == 3  # the orphan, its thumbnail, the abandoned temp file
    assert store.has(kept)
    assert store.thumbnail_path(kept).exists()
    assert not store.has(orphan)
    assert not store.thumbnail_path(orphan).exists()
    assert not temp.exists()
    assert foreign.exists()
    assert store.sweep(keep={kept}) == 0


def test_sweep_spares_young_files_within_the_grace_period(store: PhotoStore) -> None:
    old, young = store.put(PHOTO), store.put(OTHER)
    long_ago = time.time() - 3600
    os.utime(store.path(old), (long_ago, long_ago))
    assert store.sweep(keep=set(), grace_seconds=600) == 1
    assert not store.has(old)
    assert store.has(young)


def test_missing_reports_rows_whose_file_is_gone(store: PhotoStore) -> None:
    present = store.put(PHOTO)
    gone = store.put(OTHER)
    store.path(gone).unlink()
    never = sha(b"never stored")
    assert store.missing([present, gone, never]) == {gone, never}
    assert store.missing([]) == set()


def test_the_store_reopens_on_existing_files(tmp_path: Path) -> None:
    digest = PhotoStore(tmp_path / "p").put(PHOTO)
    again = PhotoStore(tmp_path / "p")
    assert again.has(digest)
    assert again.read(digest) == PHOTO
