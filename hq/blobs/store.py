"""Evidence photo files at HQ, addressed by their SHA-256.

``BlobStore`` is the seam: ``FilesystemBlobStore`` keeps files under a root directory (sharded
``ab/cd/<sha256>``, written to a temp file, fsynced, renamed into place, directory fsynced: a blob is
either wholly there or absent, even after a crash). An S3-compatible store implements the same
protocol (``put``/``adopt`` upload after verifying, ``open`` streams, ``path`` materialises a local copy):
``hq.blobs.s3.S3BlobStore``, chosen by ``serve --blobs s3://bucket/prefix``. Each store also keeps the
cut-off uploads (``partial_uploads``: ``hq.blobs.partials``) where every HQ process sharing it sees them.
Uploads are spooled in ``temp_dir()`` (a local directory in any store); ``sweep_temp`` removes spools
that requests of a dead process left.

A blob is stored only when its bytes hash to its name; otherwise ``BlobHashMismatch`` and nothing stored.

Errors::

    LocalizedError
    └── BlobError               bad name, unreadable file
        ├── BlobHashMismatch    the bytes do not hash to the name (nothing stored)
        └── BlobNotFound        no blob of that name
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import BinaryIO, Protocol, runtime_checkable

from enforcement.text import LocalizedError
from hq.blobs.partials import PartialStore, PartialUploads

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_CHUNK = 1 << 20


def sweep_spool(folder: Path, older_than: timedelta) -> int:
    """Remove the files directly in ``folder`` (a spool of half-written uploads) older than ``older_than``;
    how many. Age, not "everything at start": other HQ worker processes may be spooling into the same
    folder."""
    limit = time.time() - older_than.total_seconds()
    removed = 0
    for entry in os.scandir(folder):
        with contextlib.suppress(FileNotFoundError):
            if entry.is_file(follow_symlinks=False) and entry.stat().st_mtime < limit:
                os.unlink(entry.path)
                removed += 1
    return removed


class BlobError(LocalizedError):
    code = "blob"


class BlobHashMismatch(BlobError):
    code = "photo_hash_mismatch"


class BlobNotFound(BlobError):
    code = "photo_not_found"


def check_name(sha256: str) -> str:
    """``sha256`` if it is 64 lowercase hex digits; ``BlobError`` otherwise."""
    if not _SHA256.fullmatch(sha256):
        raise BlobError(
            f"not a photo hash: {sha256[:80]!r}", zh="照片编号无效（须为64位小写十六进制）", field="sha256"
        )
    return sha256


def _mismatch(sha256: str, actual: str) -> BlobHashMismatch:
    return BlobHashMismatch(
        f"the photo bytes hash to {actual}, not {sha256}; nothing stored",
        zh="照片内容与编号不符（传输损坏），未保存",
        field="sha256",
    )


def verify_file(sha256: str, path: Path, *, sync: bool = False) -> None:
    """``BlobHashMismatch`` unless the file at ``path`` hashes to ``sha256``; ``sync``: and make it durable
    (fsync)."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
        if sync:
            os.fsync(handle.fileno())
    if digest.hexdigest() != sha256:
        raise _mismatch(sha256, digest.hexdigest())


@runtime_checkable
class BlobStore(Protocol):
    def put(self, sha256: str, data: bytes) -> bool:
        """Store ``data`` under its hash; True if written now, False if already present."""
        ...

    def adopt(self, sha256: str, temp_path: Path, *, hashed: bool = False) -> bool:
        """Move a spooled upload (a file in ``temp_dir()``) into the store after checking its hash;
        True if stored now, False if already present (the temp file is then removed). ``hashed``: the
        caller hashed exactly the bytes it wrote to ``temp_path`` and made the file durable (HQ's own
        upload spool, ``hq.api.photo_routes``), so the file is not read and synced a second time."""
        ...

    def temp_dir(self) -> Path:
        """Where uploads are spooled before ``adopt`` (same file system as the store)."""
        ...

    def partial_uploads(
        self, *, max_age: timedelta, max_total_bytes: int, clock: Callable[[], float] = time.time
    ) -> PartialStore:
        """The cut-off uploads kept to resume (``hq.blobs.partials``), stored where this store's blobs are."""
        ...

    def sweep_temp(self, older_than: timedelta) -> int:
        """Remove temp files (spooled uploads) left behind by requests of a process that died: those not
        written for ``older_than``; returns how many. Subdirectories are left alone."""
        ...

    def has(self, sha256: str) -> bool: ...
    def size(self, sha256: str) -> int: ...
    def open(self, sha256: str) -> BinaryIO: ...
    def read(self, sha256: str) -> bytes: ...
    def path(self, sha256: str) -> Path:
        """A local file holding the blob (for serving it); ``BlobNotFound`` when absent."""
        ...


class FilesystemBlobStore:
    """``BlobStore`` in a directory tree: ``root/ab/cd/<sha256>``, temp files in ``root/tmp``, cut-off
    uploads in ``root/partial``."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self._tmp = self.root / "tmp"
        self._tmp.mkdir(parents=True, exist_ok=True)

    def _final(self, sha256: str) -> Path:
        check_name(sha256)
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def temp_dir(self) -> Path:
        return self._tmp

    def partial_dir(self) -> Path:
        """Where cut-off uploads are kept (same file system as ``temp_dir()``)."""
        return self.root / "partial"

    def partial_uploads(
        self, *, max_age: timedelta, max_total_bytes: int, clock: Callable[[], float] = time.time
    ) -> PartialStore:
        return PartialUploads(
            self.partial_dir(), max_age=max_age, max_total_bytes=max_total_bytes, clock=clock
        )

    def sweep_temp(self, older_than: timedelta) -> int:
        return sweep_spool(self._tmp, older_than)

    def has(self, sha256: str) -> bool:
        return self._final(sha256).is_file()

    def path(self, sha256: str) -> Path:
        final = self._final(sha256)
        if not final.is_file():
            raise BlobNotFound(f"no photo {sha256}", zh="指挥中心没有该照片", field="sha256")
        return final

    def size(self, sha256: str) -> int:
        return self.path(sha256).stat().st_size

    def open(self, sha256: str) -> BinaryIO:
        return self.path(sha256).open("rb")

    def read(self, sha256: str) -> bytes:
        return self.path(sha256).read_bytes()

    def put(self, sha256: str, data: bytes) -> bool:
        final = self._final(sha256)
        actual = hashlib.sha256(data).hexdigest()
        if actual != sha256:
            raise _mismatch(sha256, actual)
        if final.is_file():
            return False
        fd, name = tempfile.mkstemp(prefix="put-", dir=self._tmp)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            self._install(Path(name), final)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(name)
            raise
        return True

    def adopt(self, sha256: str, temp_path: Path, *, hashed: bool = False) -> bool:
        final = self._final(sha256)
        try:
            if not hashed:
                verify_file(sha256, Path(temp_path), sync=True)
            if final.is_file():
                return False
            self._install(Path(temp_path), final)
            return True
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temp_path)

    def _install(self, temp: Path, final: Path) -> None:
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(temp, final)
        _fsync_dir(final.parent)


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
