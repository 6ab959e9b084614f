"""Photo uploads that were cut off mid-body, kept so the phone can resume instead of starting over.

A *partial* is the prefix of one photo's bytes that HQ received from one signed-in device before the
connection dropped. It lives in a directory beside the blob store's temp files (same file system), one
file per (photo hash, uploader), named ``<sha256>.<uploader key>``. Nothing in it is trusted: the photo is
stored only after the whole file (prefix + the rest) hashes to its name and passes the evidence check;
a partial that fails either is discarded, and the phone starts over from byte 0. A cut-off body whose
first bytes are not a JPEG's start (``FF D8 FF``) can never become evidence: it is dropped at once, never
kept.

Partials are written once and never modified in place: a cut request publishes its whole spool file with
``os.replace`` (only when it holds more bytes than the partial already there), and a resumed request
copies the prefix it needs into its own spool. So two requests of the same photo (two devices, or one
device's retry racing the request it replaces, in one or several HQ processes) never corrupt each other:
each reads one complete version of the partial and writes only its own spool.

Bounded: a partial is at most the photo size limit; an uploader keeps at most ``max_per_uploader`` of
them, all uploaders together at most ``max_total_bytes`` (the oldest go first), and a partial not touched
for ``max_age`` is removed (``sweep``, run when HQ starts and whenever a partial is kept).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import BinaryIO, Protocol

_CHUNK = 1 << 20
_JPEG_START = b"\xff\xd8\xff"
_NAME = re.compile(r"^[0-9a-f]{64}\.[0-9a-f]{24}$")


class _Digest(Protocol):
    def update(self, data: bytes, /) -> None: ...


class OffsetMismatch(Exception):
    """A resume claimed more bytes than the partial holds; ``held`` is what HQ has (0: nothing)."""

    def __init__(self, held: int) -> None:
        super().__init__(f"HQ holds {held} bytes of this upload")
        self.held = held


def uploader_key(badge: str, device_id: str) -> str:
    """The file-name key of one officer's device (hex, so no badge or device text reaches a path)."""
    return hashlib.sha256(f"{badge}\n{device_id}".encode()).hexdigest()[:24]


class PartialUploads:
    """The partials in ``directory`` (created when missing); see the module doc."""

    def __init__(
        self,
        directory: str | Path,
        *,
        max_age: timedelta = timedelta(days=2),
        max_per_uploader: int = 4,
        max_total_bytes: int = 1 << 30,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.max_age = max_age
        self.max_per_uploader = max(1, max_per_uploader)
        self.max_total_bytes = max_total_bytes
        self.clock = clock  # file times are wall-clock times

    def _path(self, sha256: str, uploader: str) -> Path:
        return self.directory / f"{sha256}.{uploader}"

    def _fresh(self, mtime: float) -> bool:
        return self.clock() - mtime <= self.max_age.total_seconds()

    def held(self, sha256: str, uploader: str) -> int:
        """Bytes of ``sha256`` HQ holds from ``uploader`` (0 when none, or only an expired partial)."""
        try:
            info = self._path(sha256, uploader).stat()
        except FileNotFoundError:
            return 0
        return info.st_size if self._fresh(info.st_mtime) else 0

    def copy_prefix(self, sha256: str, uploader: str, offset: int, into: BinaryIO, digest: _Digest) -> None:
        """Write the first ``offset`` bytes of the partial into ``into`` (and ``digest``);
        ``OffsetMismatch`` when the partial holds fewer (or is expired or gone)."""
        try:
            handle = self._path(sha256, uploader).open("rb")
        except FileNotFoundError:
            raise OffsetMismatch(0) from None
        with handle:
            info = os.fstat(handle.fileno())
            held = info.st_size if self._fresh(info.st_mtime) else 0
            if held < offset:
                raise OffsetMismatch(held)
            left = offset
            while left > 0:
                chunk = handle.read(min(_CHUNK, left))
                if not chunk:  # cannot happen with an immutable file; never hand on a short prefix
                    raise OffsetMismatch(offset - left)
                into.write(chunk)
                digest.update(chunk)
                left -= len(chunk)

    def keep(self, sha256: str, uploader: str, spool: Path) -> bool:
        """Publish the spool file ``spool`` (same file system) as the partial of ``sha256`` from
        ``uploader`` unless the partial there already holds as many bytes or the spool does not start like a
        JPEG; True if published (the spool file is then moved, not copied). Applies the bounds afterwards."""
        size = spool.stat().st_size
        if size == 0 or size <= self.held(sha256, uploader):
            return False
        with spool.open("rb") as handle:
            start = handle.read(len(_JPEG_START))
        if not _JPEG_START.startswith(start):
            return False  # not a JPEG: nothing to resume (the caller removes the spool)
        with spool.open("rb") as handle:
            os.fsync(handle.fileno())  # a partial is the prefix HQ vouches for: it must survive a crash
        os.replace(spool, self._path(sha256, uploader))
        self.sweep()
        self._bound(uploader)
        return True

    def discard(self, sha256: str, uploader: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self._path(sha256, uploader).unlink()

    def _entries(self) -> list[tuple[float, int, Path]]:
        """(mtime, size, path) of every partial, oldest first."""
        entries = []
        for path in self.directory.iterdir():
            if not _NAME.fullmatch(path.name):
                continue
            with contextlib.suppress(FileNotFoundError):
                info = path.stat()
                entries.append((info.st_mtime, info.st_size, path))
        return sorted(entries)

    def sweep(self) -> int:
        """Remove partials not touched for ``max_age``; returns how many."""
        removed = 0
        for mtime, _, path in self._entries():
            if not self._fresh(mtime):
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
                    removed += 1
        return removed

    def _bound(self, uploader: str) -> None:
        entries = self._entries()
        own = [e for e in entries if e[2].name.endswith("." + uploader)]
        doomed = {e[2] for e in own[: max(0, len(own) - self.max_per_uploader)]}
        total = sum(size for _, size, path in entries if path not in doomed)
        for _, size, path in entries:
            if total <= self.max_total_bytes:
                break
            if path not in doomed:
                doomed.add(path)
                total -= size
        for path in doomed:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
