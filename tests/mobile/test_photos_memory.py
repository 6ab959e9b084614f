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
from itertools import product

import pytest
from PIL import Image

from mobile import photodecode, photos
from mobile.photos import PhotoError, PhotoSettings, decode_plan, process_photo
from tests.mobile.imagespy import spy_on_images

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
    animated: bool = False,
) -> bytes:
    """A real PNG of one colour, written row by row (cheap even near the pixel limit: a solid colour
    compresses to almost nothing, and no image of that size is ever held here); ``interlaced``: Adam7;
    ``animated``: an APNG whose IDAT image is its first frame, a small second frame after it."""
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
        group = max(1, min(64, 2**22 // len(row)))  # rows compressed at a time: about 4 MB at most
        block = row * group
        parts.extend(squeeze.compress(block) for _ in range(pass_height // group))
        parts.append(squeeze.compress(row * (pass_height % group)))
    parts.append(squeeze.flush())
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, int(interlaced))
    extra = chunk(b"PLTE", bytes(range(48))) + chunk(b"tRNS", b"\x80") if palette else b""
    pixels = chunk(b"IDAT", b"".join(parts))
    if animated:  # acTL, the IDAT image's fcTL, then a 16 x 16 frame of zeros at (0, 0)
        frame = struct.pack(">IIIIIHHBB", 0, width, height, 0, 0, 1, 10, 0, 0)
        extra += chunk(b"acTL", struct.pack(">II", 2, 0)) + chunk(b"fcTL", frame)
        second = struct.pack(">IIIIIHHBB", 1, 16, 16, 0, 0, 1, 10, 0, 0)
        row = b"\0" * (1 + -(-16 * channels * bit_depth // 8))
        pixels += chunk(b"fcTL", second) + chunk(b"fdAT", struct.pack(">I", 2) + zlib.compress(row * 16))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + extra + pixels + chunk(b"IEND", b"")


@pytest.fixture
def made(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, tuple[int, int]]]:
    """Every image Pillow wraps while the test runs (all but a decoder's own target image)."""
    return spy_on_images(monkeypatch)


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


#: How each PNG kind is stored: plain, interlaced (Adam7: only the passes a reduction needs are read), and
#: animated (APNG: its IDAT image), for the kinds whose bands differ most.
STORAGE = [(name, "plain") for name in ACCEPTED] + [(name, "interlaced") for name in ACCEPTED]
STORAGE += [(name, "animated") for name in ("1-bit grey", "palette with transparency", "RGBA", "16-bit RGBA")]


@pytest.mark.parametrize(("name", "storage"), STORAGE, ids=[f"{n}-{s}" for n, s in STORAGE])
def test_every_png_under_the_pixel_limit_is_decoded_in_bands_within_the_budget(
    name: str, storage: str, made: list[tuple[str, tuple[int, int]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    depth, colour, palette = ACCEPTED[name]
    interlaced, animated = storage == "interlaced", storage == "animated"
    data = png_solid(LIMIT_SIDE, depth, colour, 0x40, palette, interlaced, animated)
    with warnings.catch_warnings():  # over Pillow's own warning threshold, under ours
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        opened = Image.open(io.BytesIO(data))
    with opened:
        assert getattr(opened, "n_frames", 1) == (2 if animated else 1)
        layout = photodecode.png_layout(data, opened)
        assert layout is not None
        assert layout.interlaced is interlaced
        assert layout.bits == depth * {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[colour]
        target = photos._fit(opened.size, 1600)
        plan = decode_plan(opened.mode, opened.size, target, "PNG", layout.bits, interlaced)
    assert plan.banded
    assert plan.total <= SETTINGS.decode_budget
    assert (plan.step, plan.grid > 0) == ((4, True) if interlaced else (1, False))  # factor 6: passes 1-3

    def no_whole_decoding(self: object) -> None:
        raise AssertionError("decoded a whole PNG")

    monkeypatch.setattr(photos.ImageFile.ImageFile, "load", no_whole_decoding)
    photo = process_photo(data, None, SETTINGS)
    assert (photo.width, photo.height) == photos._fit(LIMIT_SIDE, 1600)
    # never an image near the source's size: bands, the reduced image (an interlaced PNG's grid), the output
    largest = max(image_bytes(m, s) for m, s in made)
    assert largest <= max(plan.reduced, plan.band, plan.grid, plan.strip)
    assert plan.decode + largest <= SETTINGS.decode_budget
    if depth >= 8 and not palette:  # the colour as Pillow shows a small PNG of the same kind
        monkeypatch.undo()  # (decoding the small one whole)
        with Image.open(io.BytesIO(png_solid((64, 64), depth, colour, fill=0x40))) as small:
            expected = photodecode.to_rgb(small).getpixel((0, 0))
        got = Image.open(io.BytesIO(photo.evidence)).getpixel((800, 800))
        assert max(abs(a - b) for a, b in zip(got, expected, strict=True)) <= 2


def test_the_plan_takes_every_shape_under_the_pixel_limit_up_to_rows_of_millions_of_pixels() -> None:
    # a plain, interlaced or animated PNG of any kind, 1:1 to 100,000:1 either way, near the limit or
    # smaller (rows of millions of pixels: test_photos_pngshapes.py)
    shapes = [(10_000, 9_990), (11_547, 8_660), (14_142, 7_071), (31_623, 3_162), (99_950, 999)]
    shapes += [(316_000, 316), (5_000, 5_000), (4_000, 3_000), (3_201, 3_199)]
    for width, height in shapes:
        for size in ((width, height), (height, width)):
            target = photos._fit(size, 1600)
            for mode, bits in (("1", 1), ("I;16", 16), ("P", 8), ("RGBA", 32), ("RGBA", 64), ("RGB", 48)):
                for interlaced in (False, True):
                    plan = decode_plan(mode, size, target, "PNG", bits, interlaced)
                    assert plan.total <= SETTINGS.decode_budget, (size, mode, bits, interlaced)


@pytest.mark.parametrize("long_edge", [640, 1024, 2560, 3200, 4096])
def test_the_plan_takes_every_png_at_every_photo_size_hq_may_set(long_edge: int) -> None:
    # HQ's policy sets the long edge (640-4096 px): a source under 2x that is not reduced (the reduced
    # image is the whole image; an interlaced one's grid of all seven passes is that image, counted once);
    # 4:3, square and 16:9, 10-99.9 MP, plain and interlaced
    for area in (99_900_000, 60_000_000, 40_000_000, 20_000_000, 10_000_000):
        for ratio in (1.0, 4 / 3, 16 / 9, 3 / 4, 9 / 16):
            width = int((area * ratio) ** 0.5)
            size = (width, area // width)
            target = photos._fit(size, long_edge)
            for (mode, bits), interlaced in product(
                (("1", 1), ("P", 8), ("RGBA", 32), ("RGBA", 64)), (False, True)
            ):
                plan = decode_plan(mode, size, target, "PNG", bits, interlaced)
                assert plan.total <= SETTINGS.decode_budget, (size, mode, bits, interlaced)
                if plan.factor == plan.step:
                    assert plan.grid == 0


def test_an_interlaced_png_over_a_smaller_budget_is_refused_before_decoding(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data = png_solid((4_000, 3_000), 8, 6, interlaced=True)

    def no_decoding(self: object) -> None:
        raise AssertionError("decoded a photo over the decode budget")

    monkeypatch.setattr(photos.ImageFile.ImageFile, "load", no_decoding)
    with pytest.raises(PhotoError) as caught:
        process_photo(data, None, PhotoSettings(decode_budget=8 * 2**20))
    error = caught.value
    assert error.code == "too_much_memory"
    assert error.field == "photos"
    assert "8 MB" in str(error)
    assert "8 MB" in error.zh
    assert "内存" in error.zh
    assert "4000 x 3000" in error.zh
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
    banded = photodecode.reduced_rgb(image, target)
    whole = photos._to_rgb(image).reduce(factor)
    assert banded.mode == "RGB"
    assert banded.tobytes() == whole.tobytes()
