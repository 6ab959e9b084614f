"""The decode budget: every input under the pixel limit is processed within a fixed memory budget, or
refused from its header with a clear message (issue #14, Photos).

Pillow's image memory is C memory (tracemalloc does not see it), so these tests check what the pipeline
asks Pillow for: the plan made from the header (``decode_plan``), and, through a spy on the one place
Pillow wraps every new image (``Image.Image._new``), that no image made after the decode is larger than
a band of source rows or the reduced image: no full-size copy (mode conversion, transpose) is ever made.
Peak RSS is measured in ``bench/photos.py --memory``.
"""

from __future__ import annotations

import io
import struct
import warnings
import zlib

import pytest
from PIL import Image

from mobile import photodecode, photos
from mobile.photos import PhotoError, PhotoSettings, decode_plan, process_photo

SETTINGS = PhotoSettings()
LIMIT_SIDE = (10_000, 9_990)  # 99.9 MP: just under the 100 MP pixel limit


#: Adam7's passes: (first column, first row, column step, row step).
ADAM7 = ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2))


def chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_solid(
    size: tuple[int, int],
    bit_depth: int,
    colour_type: int,
    fill: int = 0,
    palette: bool = False,
    interlaced: bool = False,
) -> bytes:
    """A real PNG of one colour, written row by row (cheap even near the pixel limit: a solid colour
    compresses to almost nothing, and no image of that size is ever held here); ``interlaced``: Adam7."""
    width, height = size
    channels = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[colour_type]
    squeeze = zlib.compressobj(1)
    parts = []
    passes = ADAM7 if interlaced else ((0, 0, 1, 1),)
    for x0, y0, dx, dy in passes:
        pass_width, pass_height = max(0, -(-(width - x0) // dx)), max(0, -(-(height - y0) // dy))
        if not pass_width or not pass_height:
            continue
        row = b"\0" + bytes([fill]) * (-(-pass_width * channels * bit_depth // 8))
        block = row * 64
        parts.extend(squeeze.compress(block) for _ in range(pass_height // 64))
        parts.append(squeeze.compress(row * (pass_height % 64)))
    parts.append(squeeze.flush())
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, int(interlaced))
    extra = chunk(b"PLTE", bytes(range(48))) + chunk(b"tRNS", b"\x80") if palette else b""
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + extra + chunk(b"IDAT", b"".join(parts))


@pytest.fixture
def made(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, tuple[int, int]]]:
    """Every image Pillow wraps while the test runs (all but a decoder's own target image)."""
    seen: list[tuple[str, tuple[int, int]]] = []
    original = Image.Image._new

    def spy(self: Image.Image, im: object) -> Image.Image:
        new = original(self, im)  # type: ignore[arg-type]
        seen.append((new.mode, new.size))
        return new

    monkeypatch.setattr(Image.Image, "_new", spy)
    return seen


def image_bytes(mode: str, size: tuple[int, int]) -> int:
    return size[0] * size[1] * photodecode._MODE_BYTES.get(mode, 4)


# (PNG bit depth, colour type, with tRNS palette) of the worst cases under the limit: every PNG kind
ACCEPTED = {
    "1-bit grey": (1, 0, False),
    "8-bit grey": (8, 0, False),
    "palette with transparency": (8, 3, True),
    "16-bit grey": (16, 0, False),
    "RGB": (8, 2, False),
    "RGBA": (8, 6, False),
    "grey with alpha": (8, 4, False),
    "16-bit grey with alpha": (16, 4, False),
    "16-bit RGB": (16, 2, False),
    "16-bit RGBA": (16, 6, False),
}


@pytest.mark.parametrize("name", list(ACCEPTED))
def test_every_png_under_the_pixel_limit_is_decoded_in_bands_within_the_budget(
    name: str, made: list[tuple[str, tuple[int, int]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    depth, colour, palette = ACCEPTED[name]
    data = png_solid(LIMIT_SIDE, depth, colour, fill=0x40, palette=palette)
    with warnings.catch_warnings():  # over Pillow's own warning threshold, under ours
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        opened = Image.open(io.BytesIO(data))
    with opened:
        layout = photodecode.png_layout(data, opened)
        assert layout is not None
        assert layout.bits == depth * {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[colour]
        plan = decode_plan(opened.mode, opened.size, photos._fit(opened.size, 1600), "PNG", layout.bits)
    assert plan.banded
    assert plan.total <= SETTINGS.decode_budget

    def no_whole_decoding(self: object) -> None:
        raise AssertionError("decoded a whole PNG")

    monkeypatch.setattr(photos.ImageFile.ImageFile, "load", no_whole_decoding)
    photo = process_photo(data, None, SETTINGS)
    assert (photo.width, photo.height) == photos._fit(LIMIT_SIDE, 1600)
    # never an image near the source's size: bands, the reduced image, the output
    largest = max(image_bytes(m, s) for m, s in made)
    assert largest <= max(plan.reduced, plan.band)
    assert plan.decode + largest <= SETTINGS.decode_budget
    if depth >= 8 and not palette:  # the colour as Pillow shows a small PNG of the same kind
        monkeypatch.undo()  # (decoding the small one whole)
        with Image.open(io.BytesIO(png_solid((64, 64), depth, colour, fill=0x40))) as small:
            expected = photodecode.to_rgb(small).getpixel((0, 0))
        got = Image.open(io.BytesIO(photo.evidence)).getpixel((800, 800))
        assert max(abs(a - b) for a, b in zip(got, expected, strict=True)) <= 2


def test_an_interlaced_png_too_big_for_the_budget_is_refused_before_decoding(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Adam7 stores the image in seven passes: Pillow decodes it whole, so its cost is planned and refused
    data = png_solid(LIMIT_SIDE, 8, 6, interlaced=True)

    def no_decoding(self: object) -> None:
        raise AssertionError("decoded a photo over the decode budget")

    monkeypatch.setattr(photos.ImageFile.ImageFile, "load", no_decoding)
    with pytest.raises(PhotoError) as caught:
        process_photo(data, None, SETTINGS)
    error = caught.value
    assert error.code == "too_much_memory"
    assert error.field == "photos"
    assert "256 MB" in str(error)
    assert "256 MB" in error.zh
    assert "内存" in error.zh
    assert "10000 x 9990" in error.zh


def test_a_small_interlaced_png_is_decoded_whole() -> None:
    data = png_solid((3000, 2000), 8, 6, fill=0x80, interlaced=True)
    with Image.open(io.BytesIO(data)) as opened:
        assert photodecode.png_layout(data, opened) is None
        opened.load()  # a real interlaced PNG: Pillow reads it
    assert process_photo(data, None, SETTINGS).width == 1600


def test_a_camera_sized_rgb_png_is_accepted() -> None:
    # a 48 MP RGB(A) image is the largest realistic input a phone produces (screenshots are far smaller)
    plan = decode_plan("RGBA", (8000, 6000), (1600, 1200), "PNG")
    assert plan.total <= SETTINGS.decode_budget
    assert decode_plan("RGB", (4032, 3024), (1600, 1200), "WEBP").total <= SETTINGS.decode_budget


def test_the_budget_is_a_setting() -> None:
    data = png_solid((2000, 1500), 8, 6)
    with pytest.raises(PhotoError) as caught:
        process_photo(data, None, PhotoSettings(decode_budget=8 * 2**20))
    assert caught.value.code == "too_much_memory"
    assert process_photo(data, None, PhotoSettings()).width == 1600
    with pytest.raises(ValueError, match="decode_budget"):
        PhotoSettings(decode_budget=0)


@pytest.mark.parametrize("mode", ["P", "RGBA", "LA", "1", "I;16", "L", "RGB"])
def test_band_conversion_equals_converting_the_whole_image(
    mode: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(photodecode, "_BAND_SOURCE_PIXELS", 20_000)  # many bands of a small image
    source = Image.linear_gradient("L").resize((1003, 771)).rotate(30, expand=False, fillcolor=200)
    if mode == "P":
        image = source.convert("RGB").quantize(64)
        image.info["transparency"] = 3
    elif mode == "I;16":
        image = source.convert("I").point(lambda v: v * 257).convert("I;16")
    else:
        image = source.convert(mode) if mode != "RGBA" else source.convert("RGBA")
        if mode in ("RGBA", "LA"):
            image.putalpha(source.rotate(90).resize(image.size))
    target = (100, 77)
    factor = decode_plan(image.mode, image.size, target, "PNG").factor
    assert factor == 10
    banded = photos._reduced_rgb(image, target)
    whole = photos._to_rgb(image).reduce(factor)
    assert banded.mode == "RGB"
    assert banded.tobytes() == whole.tobytes()
