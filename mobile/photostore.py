"""Evidence photo files on the phone, named by content hash (no PIL here: bytes in, bytes out).

Layout under ``root``::

    evidence/<sha256>.jpg   the evidence file; its SHA-256 is the photo's identity from phone to HQ
    thumbs/<sha256>.jpg     a small preview for lists (not evidence; may be absent)

Durability: a file is written to a temporary name, flushed and fsynced, renamed into place, and the
directory is fsynced, all before ``put`` returns. The store commits the database row that points at a
photo only after that, so a row never points at a file a crash could lose. Rows are the truth the other
way too: at start-up the app calls ``sweep(keep=store.photo_hashes() | draft hashes)`` to remove files no
row points at (photos of a form abandoned by a crash), and ``missing(store.photo_hashes())`` to find rows
whose file is gone, which it reports to the officer instead of dropping them silently.
"""

from __future__ import annotations

import hashlib
import os
import re
import time
import uuid
from collections.abc import Iterable
from pathlib import Path

from enforcement.text import LocalizedError

_SHA256 = re.compile(r"[0-9a-f]{64}")
_SUFFIX = ".jpg"
_TEMP_SUFFIX = ".tmp"


class PhotoStoreError(LocalizedError):
    """A photo file cannot be read back."""

    code = "photo_store"


class PhotoMissingError(PhotoStoreError):
    """A case points at a photo whose file is no longer on the phone."""

    code = "photo_missing"


class PhotoCorruptError(PhotoStoreError):
    """A photo file's bytes no longer hash to its name (storage damage)."""

    code = "photo_corrupt"


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _check_hash(sha256: str) -> str:
    """A photo name must be a lower-case SHA-256 hex digest (this also keeps paths inside the store)."""
    if not isinstance(sha256, str) or not _SHA256.fullmatch(sha256):
        raise ValueError(f"not a SHA-256 hex digest: {sha256!r}")
    return sha256


def _fsync_dir(directory: Path) -> None:
    """Make a rename in ``directory`` durable (a no-op where directories cannot be opened, e.g. Windows)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_atomic(target: Path, data: bytes) -> None:
    """Write ``data`` to ``target`` so that a crash leaves either no file or the whole file."""
    temp = target.with_name(f".{target.stem}.{uuid.uuid4().hex}{_TEMP_SUFFIX}")
    try:
        with open(temp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temp, target)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    _fsync_dir(target.parent)


class PhotoStore:
    """Content-addressed evidence photos and their thumbnails under ``root`` (created if needed)."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)
        self._evidence = self.root / "evidence"
        self._thumbs = self.root / "thumbs"
        for directory in (self._evidence, self._thumbs):
            directory.mkdir(parents=True, exist_ok=True)

    # -- names ------------------------------------------------------------------------------------------
    def path(self, sha256: str) -> Path:
        return self._evidence / f"{_check_hash(sha256)}{_SUFFIX}"

    def thumbnail_path(self, sha256: str) -> Path:
        return self._thumbs / f"{_check_hash(sha256)}{_SUFFIX}"

    # -- writing ----------------------------------------------------------------------------------------
    def put(self, data: bytes) -> str:
        """Store an evidence file durably and return its SHA-256; a no-op when it is already stored."""
        if not data:
            raise ValueError("an evidence file cannot be empty")
        sha256 = sha256_hex(data)
        target = self.path(sha256)
        if not (self._intact(target, len(data)) and sha256_hex(target.read_bytes()) == sha256):
            _write_atomic(target, data)  # absent, or damaged: (re)write it
        return sha256

    def put_thumbnail(self, sha256: str, data: bytes) -> None:
        """Store the preview of photo ``sha256`` (durably too: a dangling preview is swept like a photo)."""
        target = self.thumbnail_path(sha256)
        if not self._intact(target, len(data)):
            _write_atomic(target, data)

    @staticmethod
    def _intact(target: Path, size: int) -> bool:
        """Already there with the expected size."""
        try:
            return target.stat().st_size == size
        except FileNotFoundError:
            return False

    # -- reading ----------------------------------------------------------------------------------------
    def has(self, sha256: str) -> bool:
        return self.path(sha256).is_file()

    def read(self, sha256: str) -> bytes:
        """The evidence file's bytes, checked against their name."""
        try:
            data = self.path(sha256).read_bytes()
        except FileNotFoundError:
            raise PhotoMissingError(
                f"photo {sha256[:12]}… is missing from this phone",
                zh=f"照片 {sha256[:12]}… 已不在本机",
                field="photos",
            ) from None
        if sha256_hex(data) != sha256:
            raise PhotoCorruptError(
                f"photo {sha256[:12]}… is damaged on this phone",
                zh=f"照片 {sha256[:12]}… 在本机已损坏",
                field="photos",
            )
        return data

    def missing(self, expected: Iterable[str]) -> set[str]:
        """The hashes in ``expected`` that have no evidence file (rows to report to the officer)."""
        return {sha for sha in expected if not self.has(sha)}

    # -- housekeeping -----------------------------------------------------------------------------------
    def hashes(self) -> set[str]:
        """Every evidence file present."""
        return {p.stem for p in self._evidence.glob(f"*{_SUFFIX}") if _SHA256.fullmatch(p.stem)}

    def sweep(self, keep: set[str], *, grace_seconds: float = 0.0) -> int:
        """Remove evidence files and thumbnails whose hash is not in ``keep``, and abandoned temporary files.

        Call it at start-up, before any form can add photos; ``grace_seconds`` spares files younger than
        that (for a sweep while photos may be being added). Returns the number of files removed. Files whose
        names the store did not make are left alone.
        """
        removed = 0
        cutoff = time.time() - grace_seconds
        for directory in (self._evidence, self._thumbs):
            for entry in directory.iterdir():
                name = entry.name
                if name.startswith(".") and name.endswith(_TEMP_SUFFIX):
                    orphan = True
                elif name.endswith(_SUFFIX) and _SHA256.fullmatch(name[: -len(_SUFFIX)]):
                    orphan = name[: -len(_SUFFIX)] not in keep
                else:
                    continue
                if orphan and (grace_seconds <= 0 or self._older_than(entry, cutoff)):
                    entry.unlink(missing_ok=True)
                    removed += 1
        if removed:
            _fsync_dir(self._evidence)
            _fsync_dir(self._thumbs)
        return removed

    @staticmethod
    def _older_than(entry: Path, cutoff: float) -> bool:
        try:
            return entry.stat().st_mtime <= cutoff
        except FileNotFoundError:
            return False
