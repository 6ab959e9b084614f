"""A PNG's rows: its IDAT stream inflated as asked (``Inflater``) and unfiltered by Pillow's own PNG
decoder a band of rows at a time (``png_bands``) or, for rows too long for that, a piece of columns at a
time, every row in step (``column_pieces``). Part of the photo pipeline: only ``mobile.photodecode``
imports it (see tests/test_layering.py).

A PNG row is unfiltered against the row above it and its own pixel to the left, so a band of rows holds
at least one row and the row before it, whole: a row of 25 million 16-bit RGBA pixels is 200 MB. An image
with such rows has few of them (under 100 MP), so ``column_pieces`` gives each row its own cursor in the
inflated stream (a copy of the inflater at the row's start: zlib's state and window, under 64 KB) and
unfilters the rows a piece of columns at a time, top to bottom: a row's piece needs only the piece above
it (just made), that piece's pixel before it and its own pixel before it (both kept from the previous
piece). Pillow's decoder does the unfiltering, on a two-row stand-in: the piece above (with its pixel
before), then the row's filter byte and its piece, whose first pixel (the one kept from the previous
piece) is re-coded so that the decoder, which sees no pixel to its left, gives it back exactly. So an image
of any width costs its rows' cursors and a piece of each row, pixel for pixel Pillow's whole decode.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator

from PIL import Image

__all__ = ["EXACT_MODES", "LOW_BYTES", "Inflater", "column_pieces", "png_bands", "unfiltered"]

#: Byte-exact stand-ins, by the filter unit (bytes per pixel, at least 1) Pillow's PNG decoder takes
#: from them: decoding a band's rows as this mode gives back exactly the unfiltered bytes.
EXACT_MODES = {1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}
#: 16-bit colour (filter units of 6 and 8 bytes) has no byte-exact unpacker: the big-endian one keeps
#: each sample's first byte, the little-endian one its second; the two together give the row back.
LOW_BYTES = {"RGB;16B": "RGB;16L", "RGBA;16B": "RGBA;16L"}
#: What a row's cursor holds (zlib's inflate state with its 32 KB window, the object around it, the
#: unread tail of the 16 KB it was last fed).
CURSOR_BYTES = 64 * 1024


class Inflater:
    """A PNG's IDAT stream, inflated as asked: never more than the bytes asked for at a time."""

    def __init__(self, idat: tuple[memoryview, ...]) -> None:
        self._inflate = zlib.decompressobj()
        self._idat = idat
        self._next = 0  # the next IDAT chunk to inflate
        self._pending: bytes | memoryview = b""

    def copy(self) -> Inflater:
        """An inflater at the same place, that reads on by itself (zlib's state copied: its window)."""
        twin = Inflater(self._idat)
        twin._inflate, twin._next, twin._pending = self._inflate.copy(), self._next, self._pending
        return twin

    def read(self, need: int) -> list[bytes]:
        """The next ``need`` bytes of the inflated stream (ValueError if it is damaged or ends first).
        zlib is fed at most ``_FEED`` bytes at a time: what it leaves unread it copies (a tail of a whole
        chunk, each time, would be megabytes)."""
        parts: list[bytes] = []
        while need:
            if not self._pending and not self._inflate.eof and self._next < len(self._idat):
                self._pending = self._idat[self._next]
                self._next += 1
                continue
            if self._inflate.eof:
                raise ValueError("PNG data ends before its last row")
            fed = self._pending[:_FEED]
            try:  # with no input left, what zlib may still hold
                out = self._inflate.decompress(fed, need)
            except zlib.error:
                raise ValueError("PNG data is damaged") from None
            if not out and not fed:
                raise ValueError("PNG data ends before its last row")
            self._pending = self._pending[len(fed) - len(self._inflate.unconsumed_tail) :]
            parts.append(out)
            need -= len(out)
        return parts


#: The compressed bytes zlib is given at a time (``Inflater.read``).
_FEED = 16 * 1024


def png_bands(
    source: Inflater, image: Image.Image, rows: int, size: tuple[int, int], bits: int, rawmode: str
) -> Iterator[Image.Image]:
    """The image of ``size`` read from ``source`` (``bits`` per pixel, unpacked with ``rawmode``), ``rows``
    at a time, as images of ``image``'s mode (palette and transparency too).

    Each band's filtered rows are inflated
    (bounded: never more than the band), then handed to Pillow's PNG decoder behind the previous band's
    last row, unfiltered and marked "no filter": the first row's filters refer to it as the whole file's
    decoding would. The decoder unfilters into a byte-exact stand-in mode, whose bytes the real rawmode
    then unpacks.
    """
    width, height = size
    row_bytes = (width * bits + 7) // 8
    stride = 1 + row_bytes
    unit = max(1, bits // 8)
    exact = EXACT_MODES.get(unit) if rawmode not in LOW_BYTES else None
    previous = bytes(row_bytes)  # the row before the first is zeros (PNG's rule)
    for top in range(0, height, rows):
        count = min(rows, height - top)
        parts = source.read(count * stride)
        stream = zlib.compress(b"".join((b"\0", previous, *parts)), 0)
        del parts
        if exact is not None:
            surrogate = Image.frombytes(exact, (row_bytes // unit, count + 1), stream, "zip", exact)
            raw = surrogate.tobytes()
            del surrogate
            previous = raw[-row_bytes:]
            band = Image.frombytes(image.mode, (width, count), memoryview(raw)[row_bytes:], "raw", rawmode)
        else:
            high = Image.frombytes(image.mode, (width, count + 1), stream, "zip", rawmode)
            low = Image.frombytes(image.mode, (width, count + 1), stream, "zip", LOW_BYTES[rawmode])
            last = (0, count, width, count + 1)
            row = bytearray(row_bytes)
            row[0::2] = high.crop(last).tobytes()
            row[1::2] = low.crop(last).tobytes()
            previous = bytes(row)
            del low
            band = high.crop((0, 1, width, count + 1))
        if image.mode == "P" and image.palette is not None:
            band.putpalette(image.palette)
        if "transparency" in image.info:
            band.info["transparency"] = image.info["transparency"]
        yield band


def unfiltered(stream: bytes, width_bytes: int, rows: int, unit: int, mode: str, rawmode: str) -> bytes:
    """The unfiltered bytes of ``rows`` rows of ``width_bytes`` bytes, from ``stream`` (a zlib stream of
    those rows, each with its filter byte), decoded by Pillow's PNG decoder in a byte-exact stand-in mode
    (16-bit colour: twice, its high and its low bytes; ``mode`` and ``rawmode``: the image's)."""
    exact = EXACT_MODES.get(unit) if rawmode not in LOW_BYTES else None
    size = (width_bytes // unit, rows)
    if exact is not None:
        return Image.frombytes(exact, size, stream, "zip", exact).tobytes()
    high = Image.frombytes(mode, size, stream, "zip", rawmode).tobytes()
    low = Image.frombytes(mode, size, stream, "zip", LOW_BYTES[rawmode]).tobytes()
    out = bytearray(2 * len(high))
    out[0::2] = high
    out[1::2] = low
    return bytes(out)


def _predicted(kind: int, above: int) -> int:
    """What filter ``kind`` predicts for a row's first byte of a pixel, with nothing to its left and
    ``above`` over it (PNG specification, 9.2: Paeth of (0, b, 0) is b)."""
    return (0, 0, above, above // 2, above)[kind]


def column_pieces(
    source: Inflater,
    image: Image.Image,
    size: tuple[int, int],
    bits: int,
    rawmode: str,
    columns: int,
) -> Iterator[Image.Image]:
    """The image of ``size`` (``bits`` per pixel, unpacked with ``rawmode`` into ``image``'s mode, its
    palette and transparency too) read from ``source``'s position, ``columns`` pixels across at a time
    (a multiple of 8, the last piece fewer), each piece with every row. ``source`` is left after the
    image (its rows are read again through copies of it). ValueError for a damaged or short stream."""
    width, height = size
    row_bytes = (width * bits + 7) // 8
    unit = max(1, bits // 8)
    cursors: list[Inflater] = []
    for _ in range(height):  # a cursor at each row's start: inflate the stream once, a row at a time
        cursors.append(source.copy())
        for start in range(0, 1 + row_bytes, 2**20):  # (never more than a MB of it at once)
            source.read(min(2**20, 1 + row_bytes - start))
    kinds = [b"".join(cursor.read(1))[0] for cursor in cursors]
    if any(kind > 4 for kind in kinds):
        raise ValueError("PNG data is damaged")
    tails = [bytes(unit)] * height  # each row's last pixel of the piece before (none yet: zeros)
    piece_bytes = columns * bits // 8
    for start in range(0, row_bytes, piece_bytes):
        count = min(piece_bytes, row_bytes - start)
        above, above_tail = bytes(count), bytes(unit)  # the row before the first: zeros
        rows: list[bytes] = []
        for y, cursor in enumerate(cursors):
            filtered = b"".join(cursor.read(count))
            kind = kinds[y]
            if start:  # the pixel before, re-coded: the decoder sees 0 to its left, ``above_tail`` over it
                first = bytes(
                    (k - _predicted(kind, b)) & 0xFF for k, b in zip(tails[y], above_tail, strict=True)
                )
                lines = b"\0" + above_tail + above + bytes([kind]) + first + filtered
                raw = unfiltered(zlib.compress(lines, 0), unit + count, 2, unit, image.mode, rawmode)
                raw = raw[2 * unit + count :]
            else:
                lines = b"\0" + above + bytes([kind]) + filtered
                raw = unfiltered(zlib.compress(lines, 0), count, 2, unit, image.mode, rawmode)[count:]
            above_tail, tails[y] = tails[y], raw[-unit:]
            above = raw
            rows.append(raw)
        pixels = min(columns, width - start * 8 // bits)
        piece = Image.frombytes(image.mode, (pixels, height), b"".join(rows), "raw", rawmode)
        del rows
        if image.mode == "P" and image.palette is not None:
            piece.putpalette(image.palette)
        if "transparency" in image.info:
            piece.info["transparency"] = image.info["transparency"]
        yield piece
