"""Interlaced (Adam7) and animated (APNG) PNGs decoded in bands (issue #14, Photos): never whole.

An interlaced PNG is read pass by pass, only the passes its reduction needs (every 8th, 4th, 2nd pixel or
all of them: ``mobile.photodecode._reduced_adam7``); an animated one is its IDAT image, with its frames'
chunks skipped. The PNGs here are written by this test (random or smooth pixels, a random filter per row,
each Adam7 pass a standalone image), for every PNG kind, and checked against Pillow's whole decode.
"""

from __future__ import annotations

import io
import math
import random
import struct
import zlib
from collections.abc import Callable

import pytest
from PIL import Image, ImageFile

from mobile import photodecode
from mobile.photos import PhotoError, PhotoSettings, process_photo
from tests.mobile.test_photos_pngbands import CHANNELS, KINDS, chunk, filtered, opened

ADAM7 = photodecode._ADAM7
Sample = Callable[[int, int], tuple[int, ...]]


def pack(samples: list[int], depth: int) -> bytes:
    """Samples of ``depth`` bits packed as a PNG row holds them (MSB first; 16-bit big-endian)."""
    if depth == 8:
        return bytes(samples)
    if depth == 16:
        return b"".join(v.to_bytes(2, "big") for v in samples)
    per = 8 // depth
    out = bytearray()
    for i in range(0, len(samples), per):
        byte = 0
        for k, v in enumerate(samples[i : i + per]):
            byte |= v << (8 - depth * (k + 1))
        out.append(byte)
    return bytes(out)


def pass_sizes(size: tuple[int, int]) -> list[tuple[int, int]]:
    return [(max(0, -(-(size[0] - x0) // dx)), max(0, -(-(size[1] - y0) // dy))) for x0, y0, dx, dy in ADAM7]


def adam7_stream(
    size: tuple[int, int], depth: int, colour: int, sample: Sample, rng: random.Random
) -> list[bytes]:
    """The filtered rows of each Adam7 pass (an empty pass: no bytes at all)."""
    bits = depth * CHANNELS[colour]
    passes = []
    for (x0, y0, dx, dy), (width, height) in zip(ADAM7, pass_sizes(size), strict=True):
        if not width or not height:
            passes.append(b"")
            continue
        rows = [
            pack([v for i in range(width) for v in sample(x0 + i * dx, y0 + j * dy)], depth)
            for j in range(height)
        ]
        passes.append(filtered(rows, max(1, bits // 8), rng))
    return passes


def header(
    size: tuple[int, int], depth: int, colour: int, rng: random.Random, interlaced: bool = True
) -> bytes:
    head = chunk(b"IHDR", struct.pack(">IIBBBBB", *size, depth, colour, 0, 0, int(interlaced)))
    if colour == 3:
        entries = 1 << depth
        palette = bytes(
            v for i in range(entries) for v in (i * 255 // (entries - 1), 255 - i * 255 // (entries - 1), 90)
        )
        alpha = bytes(255 - i * 200 // entries for i in range(entries // 2))
        head += chunk(b"PLTE", palette) + chunk(b"tRNS", alpha)
    return b"\x89PNG\r\n\x1a\n" + head


def interlaced_png(
    size: tuple[int, int],
    depth: int,
    colour: int,
    sample: Sample,
    seed: int,
    *,
    splits: int = 4,
    frames: bool = False,
) -> bytes:
    """An interlaced PNG of ``sample``'s pixels, its stream cut into ``splits`` IDAT chunks; ``frames``:
    an APNG whose IDAT image is its first frame, and a second frame (of other pixels) after it."""
    rng = random.Random(seed)
    stream = zlib.compress(b"".join(adam7_stream(size, depth, colour, sample, rng)), 6)
    cuts = sorted(rng.randrange(len(stream)) for _ in range(splits - 1))
    body = b"".join(
        chunk(b"IDAT", stream[a:b]) for a, b in zip([0, *cuts], [*cuts, len(stream)], strict=True)
    )
    if frames:
        body = apng_frame_chunks(size, 0, 0) + body + apng_frame_chunks(size, 1, 1, rng.randbytes(300))
        body = chunk(b"acTL", struct.pack(">II", 2, 0)) + body
    return header(size, depth, colour, rng) + body + chunk(b"IEND", b"")


def apng_frame_chunks(size: tuple[int, int], sequence: int, frame: int, data: bytes | None = None) -> bytes:
    """An fcTL for the whole canvas (sequence number ``sequence``), and an fdAT of ``data`` after it."""
    control = chunk(b"fcTL", struct.pack(">IIIIIHHBB", sequence * 2, *size, 0, 0, 1, 10, 0, 0))
    if data is None:
        return control
    return control + chunk(b"fdAT", struct.pack(">I", sequence * 2 + 1) + zlib.compress(data))


def random_sample(depth: int, colour: int, seed: int) -> Sample:
    rng = random.Random(seed)
    top = (1 << depth) - 1
    channels = CHANNELS[colour]
    cache: dict[tuple[int, int], tuple[int, ...]] = {}

    def sample(x: int, y: int) -> tuple[int, ...]:
        if (x, y) not in cache:
            cache[x, y] = tuple(rng.randint(0, top) for _ in range(channels))
        return cache[x, y]

    return sample


def smooth_sample(depth: int, colour: int) -> Sample:
    """A photo-like smooth image: slow waves per channel (the alpha one too)."""
    top = (1 << depth) - 1
    channels = CHANNELS[colour]

    def sample(x: int, y: int) -> tuple[int, ...]:
        return tuple(
            round(top * (0.5 + 0.45 * math.sin(x / (41 + 9 * c) + c) * math.cos(y / (37 + 7 * c))))
            for c in range(channels)
        )

    return sample


def sampled(rgb: Image.Image, step: int) -> Image.Image:
    """Every ``step``-th pixel of every ``step``-th row of ``rgb`` (the top left one of each block)."""
    width, height = rgb.size
    grid_w, grid_h = -(-width // step), -(-height // step)
    raw = rgb.tobytes()
    out = bytearray()
    for y in range(0, height, step):
        row = raw[y * width * 3 : (y + 1) * width * 3]
        for x in range(0, width, step):
            out += row[3 * x : 3 * x + 3]
    return Image.frombytes("RGB", (grid_w, grid_h), bytes(out))


def whole_rgb(data: bytes) -> Image.Image:
    whole = opened(data)
    whole.load()
    return photodecode.to_rgb(whole)


SIZE = (203, 157)
IDS = [f"{d}-bit-type{c}" for d, c in KINDS]


@pytest.mark.parametrize(("depth", "colour"), KINDS, ids=IDS)
def test_all_seven_passes_give_the_pixels_of_the_whole_decode(
    depth: int, colour: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(photodecode, "_PNG_BAND_PIXELS", 500)  # every pass in bands of a few rows
    data = interlaced_png(SIZE, depth, colour, random_sample(depth, colour, depth * 10 + colour), seed=depth)
    expected = whole_rgb(data)
    for target in (SIZE, (120, 93)):  # no reduction (factor 1): every pass, every pixel
        image = opened(data)
        layout = photodecode.png_layout(data, image)
        assert layout is not None
        assert layout.interlaced
        plan = photodecode.decode_plan(image.mode, image.size, target, "PNG", layout.bits, True)
        assert (plan.factor, plan.step) == (1, 1)
        got = photodecode.reduced_png(layout, image, target)
        assert got.mode == "RGB"
        assert got.tobytes() == expected.tobytes()


@pytest.mark.parametrize(
    "size",
    [(1, 1), (1, 9), (9, 1), (3, 5), (7, 7), (8, 8), (17, 3), (33, 65)],
    ids=lambda s: f"{s[0]}x{s[1]}",
)
def test_tiny_interlaced_pngs_with_empty_passes(size: tuple[int, int]) -> None:
    # under 8 pixels a side some passes have no pixel, and no rows in the stream either
    for depth, colour in KINDS:
        data = interlaced_png(size, depth, colour, random_sample(depth, colour, 1), seed=1, splits=2)
        image = opened(data)
        layout = photodecode.png_layout(data, image)
        assert layout is not None
        assert photodecode.reduced_png(layout, image, size).tobytes() == whole_rgb(data).tobytes()


@pytest.mark.parametrize(("depth", "colour"), KINDS, ids=IDS)
def test_a_reduction_reads_the_passes_of_its_grid_and_gives_the_whole_decodes_pixels_there(
    depth: int, colour: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(photodecode, "_PNG_BAND_PIXELS", 500)
    data = interlaced_png(SIZE, depth, colour, random_sample(depth, colour, colour * 10 + depth), seed=colour)
    expected = whole_rgb(data)
    # factors 2 (step 2), 3 (2), 4 (4), 6 (4), 8 (8), 12 (8), 16 (8), 20 (8)
    for target, (factor, step) in {
        (101, 78): (2, 2), (67, 52): (3, 2), (50, 39): (4, 4), (33, 26): (6, 4), (25, 19): (8, 8),
        (16, 13): (12, 8), (12, 9): (16, 8), (10, 7): (20, 8),
    }.items():  # fmt: skip
        image = opened(data)
        layout = photodecode.png_layout(data, image)
        assert layout is not None
        plan = photodecode.decode_plan(image.mode, image.size, target, "PNG", layout.bits, True)
        assert (plan.factor, plan.step) == (factor, step)
        got = photodecode.reduced_png(layout, image, target)
        grid = sampled(expected, step)
        size = (-(-SIZE[0] // factor), -(-SIZE[1] // factor))
        if factor == step:
            want = grid
        elif factor % step == 0:
            want = grid.reduce(factor // step)
        else:
            want = grid.resize(size, Image.Resampling.BOX)
        assert got.size == size
        assert got.tobytes() == want.tobytes()


@pytest.mark.parametrize(("depth", "colour"), KINDS, ids=IDS)
def test_a_reduced_interlaced_png_is_close_to_the_whole_decode_reduced(depth: int, colour: int) -> None:
    # sampling one pixel per block instead of averaging them, the top left one (so the image moves by up
    # to half a reduced pixel): on a smooth image, a mean difference of a few levels in 255 (measured
    # 0.6-5.3 for 4 bits and more, under 12 for 1 and 2 bits, whose pixels are black or white)
    size = (320, 240)
    data = interlaced_png(size, depth, colour, smooth_sample(depth, colour), seed=7)
    whole = opened(data)
    whole.load()
    for target in ((106, 80), (53, 40), (32, 24)):  # factors 3, 6, 10: steps 2, 4, 8
        image = opened(data)
        layout = photodecode.png_layout(data, image)
        assert layout is not None
        got = photodecode.reduced_png(layout, image, target).tobytes()
        want = photodecode.reduced_rgb(whole, target).tobytes()
        assert len(got) == len(want)
        mean = sum(abs(a - b) for a, b in zip(got, want, strict=True)) / len(got)
        worst = max(abs(a - b) for a, b in zip(got, want, strict=True))
        assert mean <= (12 if depth < 4 else 6), (target, mean)
        if depth >= 4:  # a 1- or 2-bit image's edge is black on one side, white on the other
            assert worst <= 70, (target, worst)


def test_passes_a_reduction_does_not_need_are_not_inflated() -> None:
    # the stream is garbage from the middle of pass 6 on: a reduction by 2 or more (passes 1-5) never
    # reaches it; no reduction (all seven passes) finds it damaged
    size = (400, 300)
    rng = random.Random(3)
    passes = adam7_stream(size, 8, 2, smooth_sample(8, 2), rng)
    squeeze = zlib.compressobj(6)
    head = squeeze.compress(b"".join(passes[:5])) + squeeze.flush(zlib.Z_FULL_FLUSH)
    head += squeeze.compress(passes[5][: len(passes[5]) // 2]) + squeeze.flush(zlib.Z_FULL_FLUSH)
    stream = head + bytes(range(256)) * 40
    data = header(size, 8, 2, rng) + chunk(b"IDAT", stream) + chunk(b"IEND", b"")
    photo = process_photo(data, None, PhotoSettings(long_edge=200, thumb_edge=50))
    assert (photo.width, photo.height) == (200, 150)
    with pytest.raises(PhotoError) as caught:
        process_photo(data, None, PhotoSettings(long_edge=400, thumb_edge=50))
    assert caught.value.code == "truncated"
    assert "损坏" in caught.value.zh
    assert "damaged" in str(caught.value)


@pytest.mark.parametrize("long_edge", [400, 100], ids=["all-passes", "passes-1-3"])
def test_an_interlaced_png_cut_short_is_refused_as_incomplete(long_edge: int) -> None:
    data = interlaced_png((400, 300), 8, 6, random_sample(8, 6, 1), seed=2, splits=3)
    end = data.index(b"IEND") - 4
    settings = PhotoSettings(long_edge=long_edge, thumb_edge=50)
    assert process_photo(data, None, settings).width == long_edge
    for cut in (data[: end - 300], data[: len(data) // 3], data[:200]):  # late, in pass 1-3, at once
        with pytest.raises(PhotoError) as caught:
            process_photo(cut, None, settings)
        assert caught.value.code == "truncated"
        assert "不完整" in caught.value.zh
        assert "incomplete" in str(caught.value)


# -- APNG ---------------------------------------------------------------------------------------------------
def pillow_apng(default_image: bool, mode: str = "RGBA") -> bytes:
    frames = [Image.new(mode, (640, 480), c) for c in ((200, 0, 0, 255), (0, 200, 0, 255), (0, 0, 200, 255))]
    out = io.BytesIO()
    frames[0].save(out, "PNG", save_all=True, append_images=frames[1:], default_image=default_image)
    return out.getvalue()


def chunk_kinds(data: bytes) -> list[bytes]:
    kinds, pos = [], 8
    while pos + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        kinds.append(kind)
        pos += 12 + length
    return kinds


@pytest.mark.parametrize("default_image", [False, True], ids=["idat-is-frame-0", "idat-not-in-the-animation"])
def test_an_animated_png_is_its_idat_image_decoded_in_bands(
    default_image: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = pillow_apng(default_image)
    kinds = chunk_kinds(data)
    assert b"acTL" in kinds
    assert b"fdAT" in kinds
    first_fctl = kinds.index(b"fcTL")
    assert (first_fctl > kinds.index(b"IDAT")) is default_image  # an fcTL before the IDAT: frame 0
    expected = whole_rgb(data)  # Pillow's first frame: the IDAT image (red) either way
    assert expected.getpixel((5, 5)) == (200, 0, 0)
    image = opened(data)
    layout = photodecode.png_layout(data, image)
    assert layout is not None
    assert not layout.interlaced
    assert sum(len(part) for part in layout.idat) == sum(
        length for length, kind in chunk_table(data) if kind == b"IDAT"
    )
    assert (
        photodecode.reduced_png(layout, image, (320, 240)).tobytes()
        == photodecode.reduced_rgb(expected, (320, 240)).tobytes()
    )

    def no_whole_decoding(self: object) -> None:
        raise AssertionError("decoded a whole PNG")

    monkeypatch.setattr(ImageFile.ImageFile, "load", no_whole_decoding)  # a file's decoder, never
    evidence = Image.open(io.BytesIO(process_photo(data, None, PhotoSettings(long_edge=320)).evidence))
    monkeypatch.undo()
    red = evidence.convert("RGB").getpixel((160, 120))
    assert red[0] > 180
    assert red[1] < 30
    assert red[2] < 30


def chunk_table(data: bytes) -> list[tuple[int, bytes]]:
    table, pos = [], 8
    while pos + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        table.append((length, kind))
        pos += 12 + length
    return table


@pytest.mark.parametrize(
    ("depth", "colour"), [(8, 3), (16, 6), (1, 0)], ids=["palette", "16-bit-rgba", "1-bit"]
)
def test_an_interlaced_animated_png_is_its_idat_image(depth: int, colour: int) -> None:
    data = interlaced_png((160, 120), depth, colour, random_sample(depth, colour, 4), seed=4, frames=True)
    assert b"fdAT" in chunk_kinds(data)
    image = opened(data)
    assert getattr(image, "n_frames", 1) == 2
    layout = photodecode.png_layout(data, image)
    assert layout is not None
    assert layout.interlaced
    got = photodecode.reduced_png(layout, image, (160, 120))
    assert got.tobytes() == whole_rgb(data).tobytes()


def test_an_animated_png_cut_in_its_idat_image_is_refused_and_cut_in_its_frames_is_not() -> None:
    data = pillow_apng(False, "RGB")
    table = chunk_table(data)
    starts = [8]
    for length, _ in table:
        starts.append(starts[-1] + 12 + length)
    idat = next(i for i, (_, kind) in enumerate(table) if kind == b"IDAT")
    fdat = next(i for i, (_, kind) in enumerate(table) if kind == b"fdAT")
    with pytest.raises(PhotoError) as caught:
        process_photo(data[: starts[idat] + 8 + table[idat][0] // 2], None)
    assert caught.value.code == "truncated"
    assert "不完整" in caught.value.zh
    cut_in_frames = data[: starts[fdat] + 8 + table[fdat][0] // 2]
    evidence = Image.open(io.BytesIO(process_photo(cut_in_frames, None).evidence))
    assert evidence.getpixel((320, 240))[0] > 180  # the IDAT image is whole: it is the photo
