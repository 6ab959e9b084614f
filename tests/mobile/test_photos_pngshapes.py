"""PNGs of extreme shapes under the pixel limit decoded within a fixed budget (issue #14, Photos).

Three shapes used to be refused from the header although under the limit, or to take hundreds of MB:
rows too long for a band to hold a reduction factor's worth of them (a PNG 100-1,000 times wider than
tall: the band was most of the image); lines (a side of a few pixels, millions long: the reduction factor
was the short side's, so the long side stayed millions of pixels, the grid of an interlaced one too); rows
of megabytes (a band held a row and the row before it, whole). Now a band's rows are reduced across at
once and gathered in a strip of a factor's rows (``mobile.photodecode._Strip``: within a level of the
whole decode's box average), a line is reduced by each side's own factor (``DecodePlan.box``; an
interlaced one from the passes whose grid has the reduced image's rows and columns, pass 1 alone reduced
as it is decoded), and rows of megabytes are unfiltered a piece of columns at a time, every row in step
(``mobile.photopngrows.column_pieces``: pixel for pixel). Only the pixel limit refuses a PNG now.
"""

from __future__ import annotations

import io
import json
import struct
import subprocess
import sys
import warnings
import zlib
from itertools import product
from pathlib import Path

import pytest
from PIL import Image

from mobile import photodecode, photos
from mobile.photos import PhotoError, PhotoSettings, decode_plan, process_photo
from tests.mobile.imagespy import spy_on_images
from tests.mobile.test_photos_memory import image_bytes, png_solid
from tests.mobile.test_photos_pngadam7 import interlaced_png, random_sample, sampled, smooth_sample, whole_rgb
from tests.mobile.test_photos_pngbands import KINDS, chunk, opened, png

SETTINGS = PhotoSettings()
#: What "a fixed budget" means here: the 48 MP camera JPEG's pipeline peaks at about +51 MB
#: (bench/photos.py --memory); every shape of the issue is planned within this.
FIXED = 64 * 2**20
IDS = [f"{d}-bit-type{c}" for d, c in KINDS]


def worst_difference(a: Image.Image, b: Image.Image) -> int:
    assert a.size == b.size
    return max(abs(x - y) for x, y in zip(a.tobytes(), b.tobytes(), strict=True))


def reduced(data: bytes, target: tuple[int, int]) -> tuple[Image.Image, photodecode.DecodePlan]:
    image = opened(data)
    layout = photodecode.png_layout(data, image)
    assert layout is not None
    plan = decode_plan(image.mode, image.size, target, "PNG", layout.bits, layout.interlaced)
    return photodecode.reduced_png(layout, image, target), plan


# -- the pixels, on small images with small bands ------------------------------------------------------
@pytest.mark.parametrize(("depth", "colour"), KINDS, ids=IDS)
def test_rows_gathered_in_a_strip_are_within_a_level_of_the_whole_decode(
    depth: int, colour: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # bands of one row (1,203 px: more than a band's 1,000), converted in pieces of 990 columns, gathered
    # in a strip of the box's rows: a square box (factor 30, the 37th row on its own), a line's box (30 x 7)
    monkeypatch.setattr(photodecode, "_PNG_BAND_PIXELS", 1_000)
    for size, target, box in (((1203, 37), (40, 1), (30, 30)), ((1203, 7), (40, 1), (30, 7))):
        data = png(size, depth, colour, seed=depth * 100 + colour + size[1])
        got, plan = reduced(data, target)
        assert plan.factors == box
        assert plan.band_rows == 1
        assert plan.strip > 0
        want = whole_rgb(data).reduce(box)
        assert got.mode == "RGB"
        assert worst_difference(got, want) <= 1  # two roundings (across, then down) instead of one


@pytest.mark.parametrize(("depth", "colour"), KINDS, ids=IDS)
def test_a_line_is_reduced_by_each_sides_own_factor_pixel_for_pixel(
    depth: int, colour: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(photodecode, "_PNG_BAND_PIXELS", 1_000)
    # tall: bands of 180 rows (a multiple of 30); wide rows of a band each, converted in pieces of 990
    for size, target, box in (((5, 3001), (1, 100), (5, 30)), ((3001, 3), (100, 3), (30, 1))):
        data = png(size, depth, colour, seed=depth * 7 + colour + size[0])
        got, plan = reduced(data, target)
        assert plan.factors == box
        assert plan.factor == min(box)  # the uniform factor would have left the long side whole
        assert plan.strip == 0
        assert got.tobytes() == whole_rgb(data).reduce(box).tobytes()


@pytest.mark.parametrize(("depth", "colour"), [(1, 0), (8, 3), (8, 6), (16, 2), (16, 6)])
def test_an_interlaced_line_is_read_from_pass_1_and_reduced_as_it_is_decoded(
    depth: int, colour: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(photodecode, "_PNG_BAND_PIXELS", 500)
    for size, target in (((5, 3001), (1, 100)), ((3001, 5), (100, 1))):
        data = interlaced_png(size, depth, colour, random_sample(depth, colour, depth + colour), seed=depth)
        got, plan = reduced(data, target)
        assert plan.steps == (8, 8)  # pass 1 alone: its grid has the reduced image's rows and columns
        reduced_size = (-(-size[0] // plan.factors[0]), -(-size[1] // plan.factors[1]))
        grid = sampled(whole_rgb(data), 8)  # every 8th pixel of every 8th row, from Pillow's whole decode
        pre = (max(1, grid.width // reduced_size[0]), max(1, grid.height // reduced_size[1]))
        want = grid.reduce(pre).resize(reduced_size, Image.Resampling.BOX)
        assert got.size == reduced_size
        assert worst_difference(got, want) <= 1  # (a wide one's rows gathered in a strip)


@pytest.mark.parametrize(("depth", "colour"), KINDS, ids=IDS)
def test_rows_decoded_in_pieces_of_columns_give_the_pixels_of_the_whole_decode(
    depth: int, colour: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # rows "of megabytes" (over 100 bytes here), every row in step, pieces of 8 to 136 columns: the
    # pixel before each piece re-coded for the decoder, whatever the row's filter
    monkeypatch.setattr(photodecode, "_LONG_ROW_BYTES", 100)
    monkeypatch.setattr(photodecode, "_PNG_BAND_PIXELS", 1_000)
    for size, target in (
        ((1203, 7), (1203, 7)),
        ((1203, 7), (40, 1)),
        ((1001, 13), (100, 2)),
        ((997, 3), (997, 3)),
    ):
        data = png(size, depth, colour, seed=depth * 31 + colour + size[1], splits=7)
        got, plan = reduced(data, target)
        assert 0 < plan.columns < size[0]
        want = whole_rgb(data)
        if plan.factors != (1, 1):
            want = want.reduce(plan.factors)
        assert got.tobytes() == want.tobytes()


@pytest.mark.parametrize(("depth", "colour"), [(1, 0), (8, 3), (8, 6), (16, 2), (16, 6)])
def test_an_interlaced_line_with_long_rows_reads_pass_1_in_pieces_of_columns(
    depth: int, colour: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(photodecode, "_LONG_ROW_BYTES", 20)
    monkeypatch.setattr(photodecode, "_PNG_BAND_PIXELS", 500)
    size, target = (8001, 30), (100, 1)  # a line (80 x 30): pass 1 is 1,001 x 4
    data = interlaced_png(size, depth, colour, random_sample(depth, colour, depth * colour), seed=depth)
    got, plan = reduced(data, target)
    assert plan.steps == (8, 8)
    assert plan.columns
    reduced_size = (-(-size[0] // plan.factors[0]), -(-size[1] // plan.factors[1]))
    grid = sampled(whole_rgb(data), 8)
    pre = (max(1, grid.width // reduced_size[0]), max(1, grid.height // reduced_size[1]))
    assert got.tobytes() == grid.reduce(pre).resize(reduced_size, Image.Resampling.BOX).tobytes()


def test_a_png_cut_or_damaged_in_rows_read_in_pieces_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(photodecode, "_LONG_ROW_BYTES", 100)
    data = png((1203, 7), 8, 6, seed=9, splits=1)
    end = data.index(b"IEND") - 4
    cut = data[: end - 3000]
    damaged = bytearray(data)
    start = data.index(b"IDAT") + 4
    damaged[start + 200 : start + 600] = bytes(range(200)) * 2
    for broken, words in ((cut, ("不完整", "incomplete")), (bytes(damaged), ("损坏", "damaged"))):
        with pytest.raises(PhotoError) as caught:
            process_photo(broken, None, PhotoSettings(long_edge=400, thumb_edge=50))
        assert caught.value.code == "truncated"
        assert words[0] in caught.value.zh
        assert words[1] in str(caught.value)


def every(rgb: Image.Image, across: int, down: int) -> Image.Image:
    """Every ``across``-th pixel of every ``down``-th row of ``rgb`` (the top left one of each block)."""
    rows = [rgb.crop((0, y, rgb.width, y + 1)) for y in range(0, rgb.height, down)]
    out = Image.new("RGB", (-(-rgb.width // across), len(rows)))
    for j, row in enumerate(rows):
        for i, x in enumerate(range(0, rgb.width, across)):
            out.putpixel((i, j), row.getpixel((x, 0)))
    return out


@pytest.mark.parametrize(
    ("size", "target", "steps"),
    [((16, 1000), (4, 100), (4, 8)), ((8, 1000), (4, 200), (2, 4)), ((8, 1000), (8, 400), (1, 2))],
    ids=["passes-1-2", "passes-1-4", "passes-1-6"],
)
def test_a_line_reads_the_passes_of_a_grid_of_other_steps_across_and_down(
    size: tuple[int, int], target: tuple[int, int], steps: tuple[int, int]
) -> None:
    # every other row of the next square grid: the passes 1-2, 1-4 or 1-6 hold every (4, 8), (2, 4) or
    # (1, 2) pixel, scattered into that grid
    data = interlaced_png(size, 8, 6, random_sample(8, 6, size[0]), seed=5)
    got, plan = reduced(data, target)
    assert plan.steps == steps
    grid = every(whole_rgb(data), *steps)
    across, down = plan.factors
    reduced_size = (-(-size[0] // across), -(-size[1] // down))
    if across % steps[0] == 0 and down % steps[1] == 0:
        want = grid.reduce((across // steps[0], down // steps[1]))
    else:
        pre = (max(1, grid.width // reduced_size[0]), max(1, grid.height // reduced_size[1]))
        want = grid.reduce(pre)
        if want.size != reduced_size:
            want = want.resize(reduced_size, Image.Resampling.BOX)
    assert got.tobytes() == want.tobytes()


def test_an_interlaced_line_is_close_to_the_whole_decode_reduced() -> None:
    for size, target in (((6, 4000), (1, 100)), ((4000, 6), (100, 1))):
        data = interlaced_png(size, 8, 2, smooth_sample(8, 2), seed=3)
        got, plan = reduced(data, target)
        want = whole_rgb(data).reduce(plan.factors)
        assert got.size == want.size
        diffs = [abs(a - b) for a, b in zip(got.tobytes(), want.tobytes(), strict=True)]
        assert sum(diffs) / len(diffs) <= 6, size


def test_the_plan_keeps_the_square_factor_where_both_sides_are_reduced_alike() -> None:
    # no change for every shape but lines: 4:3 to 1,000:1 keep one factor for both sides
    for size in ((4_000, 3_000), (10_000, 9_990), (99_950, 999), (316_000, 316), (316, 316_000)):
        plan = decode_plan("RGBA", size, photos._fit(size, 1600), "PNG", 32)
        assert plan.factors == (plan.factor, plan.factor), size
    assert decode_plan("RGBA", (4, 25_000_000), (1, 1600), "PNG", 32).factors == (4, 15_625)
    assert decode_plan("RGBA", (1, 99_000_000), (1, 1600), "PNG", 32, True).factors == (1, 61_875)


# -- the shapes of the issue, near the pixel limit -------------------------------------------------------
#: (width, height), bit depth, colour type, with a tRNS palette, interlaced
SHAPES = {
    "316,000 x 316 16-bit RGBA": ((316_000, 316), 16, 6, False, False),
    "316,000 x 316 1-bit grey": ((316_000, 316), 1, 0, False, False),
    "100,000 x 1,000 palette": ((100_000, 1_000), 8, 3, True, False),
    "100,000 x 1,000 16-bit RGBA": ((100_000, 1_000), 16, 6, False, False),
    "316 x 316,000 RGBA": ((316, 316_000), 8, 6, False, False),
    "4 x 25,000,000 RGBA": ((4, 25_000_000), 8, 6, False, False),
    "4 x 25,000,000 interlaced 16-bit RGBA": ((4, 25_000_000), 16, 6, False, True),
    "7 x 14,000,000 interlaced RGBA": ((7, 14_000_000), 8, 6, False, True),
    "1 x 99,000,000 interlaced grey": ((1, 99_000_000), 8, 0, False, True),
    "316,000 x 316 interlaced 16-bit RGBA": ((316_000, 316), 16, 6, False, True),
    "1,000,000 x 100 16-bit RGBA (in pieces)": ((1_000_000, 100), 16, 6, False, False),
    "14,000,000 x 7 RGBA (in pieces)": ((14_000_000, 7), 8, 6, False, False),
    "99,000,000 x 1 interlaced 1-bit (pass 1 in pieces)": ((99_000_000, 1), 1, 0, False, True),
}


@pytest.mark.parametrize("name", list(SHAPES))
def test_the_shapes_once_refused_are_decoded_within_a_fixed_budget(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    size, depth, colour, palette, interlaced = SHAPES[name]
    data = png_solid(size, depth, colour, 0x40, palette, interlaced)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        opened_png = Image.open(io.BytesIO(data))
    with opened_png:
        layout = photodecode.png_layout(data, opened_png)
        assert layout is not None
        target = photos._fit(size, 1600)
        plan = decode_plan(opened_png.mode, size, target, "PNG", layout.bits, interlaced)
    assert plan.total <= FIXED, plan
    # the resize starts from under twice the target each way (a bicubic resize's weights span the ratio:
    # 6.25 million rows into 1,600 took 200 MB of them)
    assert all(-(-s // f) < 2 * t for s, f, t in zip(size, plan.factors, target, strict=True))
    assert plan.grid <= 8 * 2**20  # never a grid of millions of rows

    def no_whole_decoding(self: object) -> None:
        raise AssertionError("decoded a whole PNG")

    made = spy_on_images(monkeypatch)
    monkeypatch.setattr(photos.ImageFile.ImageFile, "load", no_whole_decoding)
    photo = process_photo(data, None, SETTINGS)
    assert (photo.width, photo.height) == target
    largest = max(image_bytes(m, s) for m, s in made)
    assert largest <= max(plan.reduced, plan.band, plan.grid, plan.strip)
    monkeypatch.undo()
    if depth >= 8 and not palette:  # the colour as Pillow shows a small PNG of the same kind
        with Image.open(io.BytesIO(png_solid((64, 64), depth, colour, fill=0x40))) as small:
            expected = photodecode.to_rgb(small).getpixel((0, 0))
        evidence = Image.open(io.BytesIO(photo.evidence)).convert("RGB")
        got = evidence.getpixel((evidence.width // 2, evidence.height // 2))
        assert max(abs(a - b) for a, b in zip(got, expected, strict=True)) <= 2


#: Measures the peak RSS (VmHWM, which sees Pillow's C memory) of one photo in a fresh process, above
#: what the process held once its input was made and a small photo of its kind processed (threads, the
#: encoder's tables): argv = width, height, bit depth, colour type, interlaced.
MEASURE = """
import io, json, sys, warnings
from tests.mobile.test_photos_memory import png_solid
from mobile import photodecode, photos
from PIL import Image
def peak():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmHWM"))
w, h, depth, colour, interlaced = map(int, sys.argv[1:])
data = png_solid((w, h), depth, colour, 0x40, False, bool(interlaced))
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    image = Image.open(io.BytesIO(data))
layout = photodecode.png_layout(data, image)
plan = photodecode.decode_plan(image.mode, image.size, photos._fit(image.size, 1600), "PNG", layout.bits,
                               layout.interlaced)
del image, layout
photos.process_photo(png_solid((64, 64), depth, colour, 0x40, False, bool(interlaced)), None)  # a first one
with open("/proc/self/clear_refs", "w") as refs:
    refs.write("5")  # the peak from now on
before = peak()
photos.process_photo(data, None)
print(json.dumps({"peak": peak() - before, "plan": plan.total}))
"""

#: What the pipeline holds besides the decode (the output image and its resize, the thumbnail, the
#: encoders' buffers): measured 2-5 MB at 1600 px.
PIPELINE = 10 * 2**20


@pytest.mark.skipif(not Path("/proc/self/clear_refs").exists(), reason="measures VmHWM (Linux)")
@pytest.mark.parametrize(
    "shape",
    [
        (316_000, 316, 16, 6, 0),
        (100_000, 1_000, 8, 6, 0),
        (1_000_000, 100, 16, 6, 0),
        (14_000_000, 7, 8, 6, 0),
        (4, 25_000_000, 16, 6, 1),
        (1, 99_000_000, 8, 0, 1),
    ],
    ids=[
        "316000x316-16bit-rgba",
        "100000x1000-rgba",
        "1000000x100-16bit-rgba-in-pieces",
        "14000000x7-rgba-in-pieces",
        "4x25000000-interlaced-16bit-rgba",
        "1x99000000-interlaced",
    ],
)
def test_the_measured_peak_is_within_the_plan(shape: tuple[int, int, int, int, int]) -> None:
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-c", MEASURE, *map(str, shape)],
        capture_output=True,
        text=True,
        check=False,
        cwd=root,
        env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    measured = json.loads(done.stdout.strip().splitlines()[-1])
    assert measured["plan"] <= FIXED
    assert measured["peak"] <= measured["plan"] + PIPELINE, measured


# -- what stays refused ------------------------------------------------------------------------------------
def header_only(size: tuple[int, int], depth: int, colour: int) -> bytes:
    """A PNG that declares ``size`` but carries almost no pixel data (refused before decoding or found
    incomplete)."""
    ihdr = struct.pack(">IIBBBBB", *size, depth, colour, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64))


def refusal(data: bytes, monkeypatch: pytest.MonkeyPatch) -> PhotoError:
    def no_decoding(self: object) -> None:
        raise AssertionError("decoded a photo that is refused from its header")

    monkeypatch.setattr(photos.ImageFile.ImageFile, "load", no_decoding)
    monkeypatch.setattr(photodecode, "_png_bands", no_decoding)
    with pytest.raises(PhotoError) as caught:
        process_photo(data, None, SETTINGS)
    return caught.value


@pytest.mark.parametrize("size", [(316_500, 316), (4, 25_000_001), (100_001, 1_000)], ids=str)
def test_lines_over_the_pixel_limit_stay_refused(
    size: tuple[int, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    error = refusal(header_only(size, 8, 6), monkeypatch)
    assert error.code == "too_many_pixels"
    assert error.field == "photos"
    assert "百万像素" in error.zh
    assert "上限 100 百万像素" in error.zh
    assert "the limit is 100 MP" in str(error)


def test_every_png_shape_under_the_pixel_limit_is_planned_within_a_fixed_budget() -> None:
    # 1 to 99,999,999 pixels tall, either way, every PNG kind, plain and interlaced: none is refused for
    # memory any more (the widest rows, 100 million 16-bit RGBA pixels, 73 MB in pieces of columns)
    kinds = (("1", 1), ("L", 2), ("L", 8), ("P", 8), ("I;16", 16), ("LA", 32), ("RGB", 48), ("RGBA", 64))
    worst = 0
    for short in [*range(1, 40), 64, 100, 255, 256, 257, 316, 500, 1_000, 3_162, 9_990]:
        for area in (99_999_999, 50_000_000, 10_000_000):
            for size in ((area // short, short), (short, area // short)):
                target = photos._fit(size, 1600)
                for (mode, bits), interlaced in product(kinds, (False, True)):
                    plan = decode_plan(mode, size, target, "PNG", bits, interlaced)
                    assert plan.total <= 80 * 2**20, (size, mode, bits, interlaced)
                    worst = max(worst, plan.total)
    assert worst > FIXED  # (the bound above is not loose: 100,000,000 x 1 16-bit RGBA)
