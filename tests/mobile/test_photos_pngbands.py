"""PNGs decoded a band of rows at a time (issue #14, Photos): the same pixels as Pillow's whole decode,
for every PNG kind Pillow reads, every row filter, IDAT split anywhere, and damaged or cut files
(interlaced and animated PNGs: test_photos_pngadam7.py).

The PNGs here are written by a small encoder of this test (random pixels, a random filter per row), not by
Pillow, whose encoder picks one filter for a whole image: the band decoder must carry each band's last
unfiltered row into the next for the Sub, Up, Average and Paeth filters of the next band's first row.
"""

from __future__ import annotations

import io
import random
import struct
import zlib

import pytest
from PIL import Image

from mobile import photodecode
from mobile.photos import PhotoError, PhotoSettings, process_photo

#: (bit depth, colour type) of every PNG kind (PNG specification, table 11.1).
KINDS = [
    (1, 0), (2, 0), (4, 0), (8, 0), (16, 0),
    (8, 2), (16, 2),
    (1, 3), (2, 3), (4, 3), (8, 3),
    (8, 4), (16, 4),
    (8, 6), (16, 6),
]  # fmt: skip
CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}


def chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def filtered(rows: list[bytes], unit: int, rng: random.Random) -> bytes:
    """The rows, each filtered with a random one of the five filters (PNG specification, 9.2)."""
    out = bytearray()
    previous = bytes(len(rows[0]))
    for row in rows:
        kind = rng.randrange(5)
        line = bytearray([kind])
        for i, x in enumerate(row):
            a = row[i - unit] if i >= unit else 0
            b = previous[i]
            c = previous[i - unit] if i >= unit else 0
            predictor = (0, a, b, (a + b) // 2, paeth(a, b, c))[kind]
            line.append((x - predictor) & 0xFF)
        out += line
        previous = row
    return bytes(out)


def png(
    size: tuple[int, int],
    depth: int,
    colour: int,
    seed: int,
    *,
    splits: int = 5,
    exif_after: bytes | None = None,
) -> bytes:
    """A PNG of random pixels with a random filter per row, its stream cut into ``splits`` IDAT chunks
    (one of them empty); ``exif_after``: an eXIf chunk after the pixel data."""
    rng = random.Random(seed)
    width, height = size
    bits = depth * CHANNELS[colour]
    row_bytes = (width * bits + 7) // 8
    rows = [rng.randbytes(row_bytes) for _ in range(height)]
    stream = zlib.compress(filtered(rows, max(1, bits // 8), rng), 6)
    cuts = sorted(rng.randrange(len(stream)) for _ in range(splits - 1))
    pieces = [stream[a:b] for a, b in zip([0, *cuts], [*cuts, len(stream)], strict=True)]
    pieces.insert(rng.randrange(len(pieces) + 1), b"")
    head = chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, 0))
    if colour == 3:
        entries = 1 << depth
        head += chunk(b"PLTE", rng.randbytes(3 * entries)) + chunk(b"tRNS", rng.randbytes(entries // 2))
    body = b"".join(chunk(b"IDAT", piece) for piece in pieces)
    tail = chunk(b"eXIf", exif_after) if exif_after is not None else b""
    return b"\x89PNG\r\n\x1a\n" + head + body + tail + chunk(b"IEND", b"")


def opened(data: bytes) -> Image.Image:
    return Image.open(io.BytesIO(data))


@pytest.mark.parametrize(("depth", "colour"), KINDS, ids=[f"{d}-bit-type{c}" for d, c in KINDS])
def test_bands_give_the_pixels_of_the_whole_decode(
    depth: int, colour: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(photodecode, "_PNG_BAND_PIXELS", 3_000)  # bands of a few rows
    data = png((203, 157), depth, colour, seed=depth * 10 + colour)
    whole = opened(data)
    whole.load()
    for target in ((203, 157), (40, 31), (20, 15)):  # no reduction, factor 5, factor 10
        image = opened(data)
        layout = photodecode.png_layout(data, image)
        assert layout is not None
        assert photodecode.decode_plan(image.mode, image.size, target, "PNG", layout.bits).band_rows < 157
        banded = photodecode.reduced_png(layout, image, target)
        assert banded.mode == "RGB"
        assert banded.tobytes() == photodecode.reduced_rgb(whole, target).tobytes()


def test_the_pipeline_reads_an_exif_orientation_written_after_the_pixels() -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # stored sideways: turn 90 degrees clockwise
    tiff = exif.tobytes()
    tiff = tiff.removeprefix(b"Exif\x00\x00")  # Pillow 10.4 writes the JPEG marker's prefix, later ones not
    data = png((300, 200), 8, 2, seed=3, exif_after=tiff)
    with opened(data) as image:
        assert "exif" not in image.info  # after the pixels: Pillow reads it only once decoded
        assert photodecode.png_layout(data, image) is not None
    photo = process_photo(data, None, PhotoSettings(long_edge=150, thumb_edge=50))
    assert (photo.width, photo.height) == (100, 150)


def test_a_png_cut_short_is_refused_as_incomplete() -> None:
    data = png((400, 300), 8, 6, seed=5, splits=1)
    end = data.index(b"IEND") - 4
    for cut in (data[: end - 9000], data[: end - 300]):  # the last rows missing, or many more
        with pytest.raises(PhotoError) as caught:
            process_photo(cut, None)
        assert caught.value.code == "truncated"
        assert "不完整" in caught.value.zh


def test_damaged_pixel_data_is_refused_as_damaged() -> None:
    data = bytearray(png((400, 300), 8, 2, seed=6, splits=1))
    start = data.index(b"IDAT") + 4
    data[start + 2000 : start + 2400] = bytes(range(200)) * 2  # not a deflate stream any more
    with pytest.raises(PhotoError) as caught:
        process_photo(bytes(data), None)
    assert caught.value.code == "truncated"
    assert "损坏" in caught.value.zh
