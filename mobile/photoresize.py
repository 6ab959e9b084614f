"""The evidence photo's resize and turn, as jobs that two or three threads share (``mobile.photos``' part).

The output (``size`` as stored, then turned upright by the EXIF orientation) is made in horizontal bands
of the stored image: each band is resized (``box``: the filter still reads the source rows around its
band, so the seams are invisible and the result is the whole-image resize), turned on its own and pasted
where the turn puts it. Turning the small bands costs less than turning the source.

A YCbCr image (a JPEG decoded without colour conversion) is made plane by plane: the luma in bands, each
colour plane at half the output size, where the JPEG encoder's 4:2:0 subsampling would average it down
to anyway (area average), then spread back over 2 x 2 pixels, which that averaging returns exactly:
about 30% less work than resizing three full planes.

Jobs go to one queue that the caller and up to two pool threads empty (``drain``), so a busy or slow core
(a phone's little core) holds up at most the job it is on, never half the image. ``Resize`` makes any
range of output rows from any source that holds the rows they read: ``mobile.photos`` makes the top
rows from a separately decoded top part of the photo while the whole photo is still decoding.

Bicubic: after the decoder's DCT scaling the ratio is under 2, where bicubic is within 0.1 dB of LANCZOS
and a third faster. Sources over 3x the target are first reduced by an integer factor (box average).

This module and ``mobile.photos`` (its only user) are the phone side's only users of PIL.
"""

from __future__ import annotations

import io
import queue
from collections.abc import Callable
from concurrent.futures import Executor
from functools import partial
from itertools import pairwise

from PIL import Image

TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_QUARTER_TURNS = frozenset(
    {
        Image.Transpose.ROTATE_90,
        Image.Transpose.ROTATE_270,
        Image.Transpose.TRANSPOSE,
        Image.Transpose.TRANSVERSE,
    }
)
#: The luma (or RGB) is made in up to this many bands, when each has at least BAND_PIXELS output pixels.
BANDS = 6
BAND_PIXELS = 200_000
_HELPERS = 2  # pool threads that take jobs besides the caller
Jobs = queue.SimpleQueue[Callable[[], object] | None]  # None: no more jobs (for ``serve``)

__all__ = [
    "BANDS",
    "BAND_PIXELS",
    "TRANSPOSE",
    "Jobs",
    "Pieces",
    "Resize",
    "Stream",
    "drain",
    "resize_upright",
    "serve",
    "upright_size",
]


def upright_size(size: tuple[int, int], orientation: int) -> tuple[int, int]:
    """``size`` (as stored) once an image of that size is turned by its EXIF ``orientation``."""
    return (size[1], size[0]) if TRANSPOSE.get(orientation) in _QUARTER_TURNS else size


def resize_upright(
    image: Image.Image,
    size: tuple[int, int],
    orientation: int,
    pool: Executor | None = None,
) -> Image.Image:
    """``image`` resized to ``size`` (as stored) and turned upright by its EXIF ``orientation``, as jobs
    on the caller and up to two ``pool`` threads (with no pool, the caller's serial resize).
    """
    transpose = TRANSPOSE.get(orientation)
    factor = min(image.width // size[0], image.height // size[1]) // 3
    if factor > 1:
        image = image.reduce(factor)
    if image.size == size or (image.mode != "YCbCr" and pool is None):
        part = image.resize(size, Image.Resampling.BICUBIC) if image.size != size else image
        return part.transpose(transpose) if transpose is not None else part
    resize = Resize(image.mode, image.size, size, orientation)
    todo: Jobs = queue.SimpleQueue()
    resize.queue(todo, image, 0, size[1], helpers=pool is not None)
    drain(todo, pool)
    return resize.result()


class Resize:
    """One resize-and-turn from a source of ``source_size`` to ``size`` (as stored), made by jobs that
    each write a range of output rows into the upright result (see the module docstring)."""

    def __init__(
        self, mode: str, source_size: tuple[int, int], size: tuple[int, int], orientation: int
    ) -> None:
        self.size = size
        self.source_height = source_size[1]
        self.scale = source_size[1] / size[1]
        self.support = 2 * max(self.scale, 1.0)  # bicubic's reach in source rows
        self.transpose = TRANSPOSE.get(orientation)
        self.ycc = mode == "YCbCr"
        # colour planes at half size where the encoder's 4:2:0 keeps half: both sides even
        half = self.ycc and size[0] % 2 == 0 and size[1] % 2 == 0
        self.grids = (1, 2, 2) if half else (1, 1, 1)
        upright = upright_size(size, orientation)
        planes = 3 if self.ycc else 1
        # every pixel of each plane is pasted over by the jobs
        self.planes = [Image.new("L" if self.ycc else mode, upright, None) for _ in range(planes)]

    def rows_from(self, source_rows: int) -> int:
        """How many output rows from the top (even, or all) read only the top ``source_rows`` source rows."""
        if source_rows >= self.source_height:
            return self.size[1]
        rows = int((source_rows - 1.5 - self.support) / self.scale - 0.5)  # one row of margin
        return max(0, min(self.size[1], rows) // 2 * 2)

    def reads(self, top: int, bottom: int) -> tuple[int, int]:
        """The source rows that output rows ``top``..``bottom`` read (Pillow's bicubic reads ``2 x scale``
        rows either side of a row's centre, rounded outwards; the colour planes' area average reads
        less), with a row of margin each side."""
        first = int((top + 0.5) * self.scale - self.support) - 1
        last = int((bottom - 0.5) * self.scale + self.support + 0.5) + 2
        return max(0, first), min(self.source_height, last)

    def queue(
        self, todo: Jobs, source: Image.Image, top: int, bottom: int, *, helpers: bool, origin: int = 0
    ) -> None:
        """Queue the jobs that make output rows ``top``..``bottom`` (even, or the last) from ``source``:
        the rows from ``origin`` on of the source, holding every one of them that those output rows read.

        The colour planes as one job each, then the luma (or RGB) in bands: one job when no helper will
        share them (that job takes the plane out: ``convert``, the same bytes as ``getchannel(0)`` in a
        third of the time, without the GIL), else the plane taken out here. No job queues another, so
        that a queue can be closed (``serve``) as soon as everything is queued.
        """
        count = max(1, min(BANDS, self.size[0] * (bottom - top) // BAND_PIXELS)) if helpers else 1
        cuts = [top + (bottom - top) * i // count for i in range(count + 1)]
        if self.ycc:
            for i in (1, 2):
                todo.put(partial(self._plane, i, source, top, bottom, origin))
            if count == 1:
                todo.put(partial(self._plane, 0, source, top, bottom, origin))
                return
            source = source.convert("L")
        for upper, lower in pairwise(cuts):
            todo.put(partial(self.band, 0, source, upper, lower, origin))

    def _plane(self, plane: int, source: Image.Image, top: int, bottom: int, origin: int) -> None:
        part = source.convert("L") if plane == 0 else source.getchannel(plane)
        self.band(plane, part, top, bottom, origin)

    def band(self, plane: int, source: Image.Image, top: int, bottom: int, origin: int = 0) -> None:
        """Output rows ``top``..``bottom`` of ``plane`` from ``source`` (that plane of the source's rows
        from ``origin`` on), turned and pasted where the turn puts them."""
        grid = self.grids[plane]
        part = source.resize(
            (self.size[0] // grid, (bottom - top) // grid),
            Image.Resampling.BOX if grid == 2 else Image.Resampling.BICUBIC,
            box=(0, top * self.scale - origin, source.width, bottom * self.scale - origin),
        )
        if self.transpose is not None:
            part = part.transpose(self.transpose)
        if grid == 2:  # nearest over a box of exactly half the output: pixel x takes half pixel x // 2
            part = part.resize(
                (part.width * 2, part.height * 2),
                Image.Resampling.NEAREST,
                box=(0, 0, part.width, part.height),
            )
        self.planes[plane].paste(part, _band_origin(self.transpose, self.size, top, bottom))

    def result(self) -> Image.Image:
        return Image.merge("YCbCr", self.planes) if self.ycc else self.planes[0]


def serve(todo: Jobs) -> None:
    """Run jobs from ``todo`` as they come, waiting for more, until it hands out a None."""
    while (job := todo.get()) is not None:
        job()


def drain(todo: Jobs, pool: Executor | None) -> None:
    """Run the jobs in ``todo`` (a job may queue more): the caller and up to two pool threads take
    them until none is left. A helper that has not started by then finds nothing to do."""

    def work() -> None:
        while True:
            try:
                job = todo.get_nowait()
            except queue.Empty:
                return
            if job is not None:
                job()

    helpers = [pool.submit(work) for _ in range(_HELPERS)] if pool is not None else []
    work()
    for helper in helpers:
        if not helper.cancel():
            helper.result()


def _band_origin(
    transpose: Image.Transpose | None, size: tuple[int, int], top: int, bottom: int
) -> tuple[int, int]:
    """Where rows ``top``..``bottom`` of an image of ``size`` land (upper left) once it is turned."""
    if transpose in (Image.Transpose.ROTATE_90, Image.Transpose.TRANSPOSE):
        return top, 0  # rows become columns, first row first
    if transpose in (Image.Transpose.ROTATE_270, Image.Transpose.TRANSVERSE):
        return size[1] - bottom, 0  # rows become columns, last row first
    if transpose in (Image.Transpose.FLIP_TOP_BOTTOM, Image.Transpose.ROTATE_180):
        return 0, size[1] - bottom
    return 0, top


class Pieces(io.RawIOBase):
    """A photo's bytes as a seekable binary file for Pillow, that can hand them to its decoder in pieces.

    While ``between`` is set, each read returns at most ``piece`` bytes (a view, not a copy: Pillow's
    loader copies what it keeps) and first calls ``between``. Pillow's loader reads between two calls of
    its decoder, so ``between`` runs in the decoding thread while the decoder is stopped, with every row
    it has written complete. Otherwise a read of the whole file returns the bytes themselves.
    """

    def __init__(self, data: bytes) -> None:
        super().__init__()
        self._data = data
        self._view = memoryview(data)
        self._pos = 0
        self.piece = len(data)
        self.between: Callable[[], object] | None = None

    @property
    def size(self) -> int:
        return len(self._data)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: len(self._data)}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def read(self, size: int | None = -1) -> bytes | memoryview:
        start = min(self._pos, len(self._data))
        end = len(self._data) if size is None or size < 0 else min(len(self._data), start + size)
        if self.between is not None:
            self.between()
            end = min(end, start + self.piece)
            self._pos = end
            return self._view[start:end]
        self._pos = end
        return self._data if (start, end) == (0, len(self._data)) else self._data[start:end]

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        chunk = self.read(len(buffer))
        memoryview(buffer).cast("B")[: len(chunk)] = chunk
        return len(chunk)


class Stream:
    """Output rows made while the photo is still decoding, from the rows its decoder has finished.

    ``seen`` is ``Pieces.between``: it finds how far the decoder has come and queues the jobs for the
    output rows that read only finished rows, once there are ``1 / steps`` of the output's rows or more
    to make. The decoder writes rows top to bottom into an image that starts all zero, so the first
    all-zero row (a binary search) bounds the finished ones: a decoded row that happens to be all zero
    (Y, Cb and Cr all 0 is no colour a camera makes) can only make that bound lower, never higher, and
    what is not made while decoding is made after it (``finish``). ``seen`` never raises into the
    decoder: an error stops the streaming (kept in ``error``), and ``finish`` makes the rest.
    """

    def __init__(self, image: Image.Image, resize: Resize, todo: Jobs, steps: int = 8) -> None:
        self.image = image  # being loaded: ``image.im`` exists from the loader's first read on
        self.resize = resize
        self.todo = todo
        self.step = max(2, resize.size[1] // steps)
        self.finished = 0  # source rows known to be complete
        self.made = 0  # output rows whose jobs are queued
        self.error: Exception | None = None
        self._view: Image.Image | None = None

    def seen(self) -> None:
        """Queue the jobs for the output rows the finished source rows now allow (decoder stopped)."""
        if self.error is not None:
            return
        try:
            self._seen()
        except Exception as error:  # kept in ``error``; the decode goes on
            self.error = error

    def _seen(self) -> None:
        if self._view is None:
            core = getattr(self.image, "im", None)
            if core is None:
                return
            self._view = self.image._new(core)  # the image being decoded, without loading it again
        view = self._view
        self.finished = self._finished(view)
        ready = self.resize.rows_from(self.finished)
        if ready - self.made < self.step:
            return
        first, last = self.resize.reads(self.made, ready)
        rows = view.crop((0, first, view.width, min(last, self.finished)))  # a copy: the decoder goes on
        self.resize.queue(self.todo, rows, self.made, ready, helpers=False, origin=first)
        self.made = ready

    def _finished(self, view: Image.Image) -> int:
        low, high = self.finished, view.height  # rows before ``low`` are written
        while low < high:
            middle = (low + high) // 2
            if view.crop((0, middle, view.width, middle + 1)).getbbox() is None:
                high = middle
            else:
                low = middle + 1
        return low

    def finish(self, image: Image.Image) -> None:
        """Queue the jobs for the output rows not made yet, from the decoded ``image``."""
        if self.made < self.resize.size[1]:
            first, last = self.resize.reads(self.made, self.resize.size[1])
            rows = image.crop((0, first, image.width, last))
            self.resize.queue(self.todo, rows, self.made, self.resize.size[1], helpers=True, origin=first)
            self.made = self.resize.size[1]
