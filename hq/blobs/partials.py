"""Photo uploads that were cut off mid-body, kept so the phone can resume instead of starting over.

A *partial* is the prefix of one photo's bytes that HQ received from one signed-in device before the
connection dropped. It lives beside the blob store: with local files in a directory beside its temp files
(same file system), one file per (photo hash, uploader), named ``<sha256>.<uploader key>``; with the S3
store as one object per (photo hash, uploader) in the shared bucket (``hq.blobs.s3``), so every HQ node
sees it. Nothing in it is trusted: the photo is
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


class _Readable(Protocol):
    def read(self, size: int, /) -> bytes: ...


class OffsetMismatch(Exception):
    """A resume claimed more bytes than the partial holds; ``held`` is what HQ has (0: nothing)."""

    def __init__(self, held: int) -> None:
        super().__init__(f"HQ holds {held} bytes of this upload")
        self.held = held


def uploader_key(badge: str, device_id: str) -> str:
    """The file-name key of one officer's device (hex, so no badge or device text reaches a path)."""
    return hashlib.sha256(f"{badge}\n{device_id}".encode()).hexdigest()[:24]


class PartialStore:
    """The partials of one HQ (see the module doc): the bounds and the rules, over storage primitives that
    a backend supplies (``PartialUploads``: a local directory; ``hq.blobs.s3.S3PartialUploads``: objects in
    the shared bucket, so a phone resumes on whichever HQ node it reaches next). A partial is named
    ``<sha256>.<uploader key>``; its time is when it was kept."""

    def __init__(
        self,
        *,
        max_age: timedelta = timedelta(days=2),
        max_per_uploader: int = 4,
        max_total_bytes: int = 1 << 30,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.max_age = max_age
        self.max_per_uploader = max(1, max_per_uploader)
        self.max_total_bytes = max_total_bytes
        self.clock = clock  # partial times are wall-clock times

    # -- storage primitives (a backend implements these) --

    def _stat(self, name: str) -> tuple[int, float] | None:
        """(size, time kept) of partial ``name``; None when absent."""
        raise NotImplementedError

    def _read_prefix(self, name: str, offset: int, into: BinaryIO, digest: _Digest) -> None:
        """Copy the first ``offset`` bytes of ``name`` (checked fresh and long enough);
        ``OffsetMismatch`` when it holds fewer or is gone."""
        raise NotImplementedError

    def _publish(self, name: str, spool: Path) -> None:
        """Make the spool file the whole partial ``name`` in one step; the spool file is gone afterwards."""
        raise NotImplementedError

    def _remove(self, name: str) -> None:
        """Remove partial ``name`` (nothing when absent)."""
        raise NotImplementedError

    def _list(self) -> list[tuple[float, int, str]]:
        """(time kept, size, name) of every partial (names that are not partials' are left out)."""
        raise NotImplementedError

    # -- the rules --

    @staticmethod
    def _name(sha256: str, uploader: str) -> str:
        return f"{sha256}.{uploader}"

    def _fresh(self, mtime: float) -> bool:
        return self.clock() - mtime <= self.max_age.total_seconds()

    def held(self, sha256: str, uploader: str) -> int:
        """Bytes of ``sha256`` HQ holds from ``uploader`` (0 when none, or only an expired partial)."""
        info = self._stat(self._name(sha256, uploader))
        if info is None:
            return 0
        size, mtime = info
        return size if self._fresh(mtime) else 0

    def copy_prefix(self, sha256: str, uploader: str, offset: int, into: BinaryIO, digest: _Digest) -> None:
        """Write the first ``offset`` bytes of the partial into ``into`` (and ``digest``);
        ``OffsetMismatch`` when the partial holds fewer (or is expired or gone)."""
        self._read_prefix(self._name(sha256, uploader), offset, into, digest)

    def keep(self, sha256: str, uploader: str, spool: Path) -> bool:
        """Publish the spool file ``spool`` as the partial of ``sha256`` from ``uploader`` unless the partial
        there already holds as many bytes or the spool does not start like a JPEG; True if published (the
        spool file is then moved, not copied). Applies the bounds afterwards."""
        size = spool.stat().st_size
        if size == 0 or size <= self.held(sha256, uploader):
            return False
        with spool.open("rb") as handle:
            start = handle.read(len(_JPEG_START))
        if not _JPEG_START.startswith(start):
            return False  # not a JPEG: nothing to resume (the caller removes the spool)
        self._publish(self._name(sha256, uploader), spool)
        self.sweep()
        self._bound(uploader)
        return True

    def discard(self, sha256: str, uploader: str) -> None:
        self._remove(self._name(sha256, uploader))

    def _entries(self) -> list[tuple[float, int, str]]:
        """(time kept, size, name) of every partial, oldest first."""
        return sorted(e for e in self._list() if _NAME.fullmatch(e[2]))

    def sweep(self) -> int:
        """Remove partials not touched for ``max_age``; returns how many."""
        removed = 0
        for mtime, _, name in self._entries():
            if not self._fresh(mtime):
                self._remove(name)
                removed += 1
        return removed

    def _bound(self, uploader: str) -> None:
        entries = self._entries()
        own = [e for e in entries if e[2].endswith("." + uploader)]
        doomed = {e[2] for e in own[: max(0, len(own) - self.max_per_uploader)]}
        total = sum(size for _, size, name in entries if name not in doomed)
        for _, size, name in entries:
            if total <= self.max_total_bytes:
                break
            if name not in doomed:
                doomed.add(name)
                total -= size
        for name in doomed:
            self._remove(name)


class PartialUploads(PartialStore):
    """The partials in ``directory`` (created when missing), one file each; see the module doc."""

    def __init__(
        self,
        directory: str | Path,
        *,
        max_age: timedelta = timedelta(days=2),
        max_per_uploader: int = 4,
        max_total_bytes: int = 1 << 30,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(
            max_age=max_age, max_per_uploader=max_per_uploader, max_total_bytes=max_total_bytes, clock=clock
        )
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)

    def _stat(self, name: str) -> tuple[int, float] | None:
        try:
            info = (self.directory / name).stat()
        except FileNotFoundError:
            return None
        return info.st_size, info.st_mtime

    def _read_prefix(self, name: str, offset: int, into: BinaryIO, digest: _Digest) -> None:
        try:
            handle = (self.directory / name).open("rb")
        except FileNotFoundError:
            raise OffsetMismatch(0) from None
        with handle:
            info = os.fstat(handle.fileno())
            held = info.st_size if self._fresh(info.st_mtime) else 0
            if held < offset:
                raise OffsetMismatch(held)
            copy_exactly(handle, offset, into, digest)

    def _publish(self, name: str, spool: Path) -> None:
        with spool.open("rb") as handle:
            os.fsync(handle.fileno())  # a partial is the prefix HQ vouches for: it must survive a crash
        os.replace(spool, self.directory / name)

    def _remove(self, name: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            (self.directory / name).unlink()

    def _list(self) -> list[tuple[float, int, str]]:
        entries = []
        for path in self.directory.iterdir():
            with contextlib.suppress(FileNotFoundError):
                info = path.stat()
                entries.append((info.st_mtime, info.st_size, path.name))
        return entries


def copy_exactly(source: _Readable, count: int, into: BinaryIO, digest: _Digest) -> None:
    """Copy the next ``count`` bytes of ``source`` into ``into`` and ``digest``; ``OffsetMismatch`` when
    ``source`` ends sooner (never hand on a short prefix)."""
    left = count
    while left > 0:
        chunk = source.read(min(_CHUNK, left))
        if not chunk:
            raise OffsetMismatch(count - left)
        into.write(chunk)
        digest.update(chunk)
        left -= len(chunk)
