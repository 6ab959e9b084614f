"""The JPEG path that stays in YCbCr: decode without colour conversion, luma and colour planes resized
apart (the colour planes at the half size 4:2:0 keeps), watermark blended in YCbCr, and the thumbnail
made from the upright image before the watermark.

Every input is made here (no binary fixtures).
"""

from __future__ import annotations

import io
import random
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import pytest
from PIL import Image, ImageChops, ImageDraw, ImageStat

from mobile import photoresize, photos
from mobile.photos import PhotoSettings, Watermark, process_photo

CST = timezone(timedelta(hours=8))
WATERMARK = Watermark(
    datetime(2025, 11, 22, 21, 3, 27, tzinfo=CST), 34.75, 113.63, "012345", "ZD01-1", "占道经营"
)
#: Upright patches (left, top, right, bottom as fractions of the scene) and their colours.
PATCHES = {
    "red": ((0.05, 0.05, 0.3, 0.25), (220, 20, 20)),
    "green": ((0.35, 0.05, 0.65, 0.25), (20, 190, 30)),
    "blue": ((0.7, 0.05, 0.95, 0.25), (25, 40, 210)),
    "yellow": ((0.05, 0.3, 0.3, 0.5), (235, 220, 30)),
    "white": ((0.35, 0.3, 0.65, 0.5), (250, 250, 250)),
    "grey": ((0.7, 0.3, 0.95, 0.5), (128, 128, 128)),
}
STORE_AS = {  # how a camera stores the upright scene for an EXIF orientation
    1: None,
    3: Image.Transpose.ROTATE_180,
    6: Image.Transpose.ROTATE_90,
    8: Image.Transpose.ROTATE_270,
    5: Image.Transpose.TRANSPOSE,
}


def scene(width: int, height: int) -> Image.Image:
    """Colour patches over mild noise (a camera's texture), upright."""
    noise = Image.frombytes("L", (width, height), random.Random(7).randbytes(width * height))
    base = Image.merge("RGB", (noise, noise, noise)).point(lambda v: 90 + v // 8)
    draw = ImageDraw.Draw(base)
    for (left, top, right, bottom), colour in PATCHES.values():
        draw.rectangle((left * width, top * height, right * width, bottom * height), fill=colour)
    return base


def encode(image: Image.Image, **params: object) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", **params)
    return out.getvalue()


def camera_jpeg(width: int, height: int, orientation: int = 6, **params: object) -> bytes:
    """The upright ``width`` x ``height`` scene stored as a camera would for ``orientation``."""
    stored = scene(width, height)
    turn = STORE_AS[orientation]
    if turn is not None:
        stored = stored.transpose(turn)
    exif = Image.Exif()
    exif[0x0112] = orientation
    return encode(stored, quality=92, exif=exif.tobytes(), **params)


def opened(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def patch_colour(image: Image.Image, name: str) -> tuple[float, ...]:
    """The mean colour of the middle of patch ``name`` (its edges are left out)."""
    (left, top, right, bottom), _ = PATCHES[name]
    w, h = image.size
    inset_x, inset_y = (right - left) * w / 4, (bottom - top) * h / 4
    box = (
        int(left * w + inset_x),
        int(top * h + inset_y),
        int(right * w - inset_x),
        int(bottom * h - inset_y),
    )
    return tuple(ImageStat.Stat(image.convert("RGB").crop(box)).mean)


def assert_patch_colours(image: Image.Image, *, within: float) -> None:
    """Every patch of the scene has its colour in ``image``, each channel within ``within`` levels."""
    for name, (_, colour) in PATCHES.items():
        got = patch_colour(image, name)
        assert max(abs(g - c) for g, c in zip(got, colour, strict=True)) < within, (name, got, colour)


def test_a_camera_jpeg_is_decoded_as_ycbcr_and_an_rgb_coded_one_is_not() -> None:
    assert photos._ycc_coded(Image.open(io.BytesIO(camera_jpeg(640, 480))))
    rgb_coded = Image.open(io.BytesIO(encode(scene(640, 480), keep_rgb=True)))
    assert rgb_coded.info.get("adobe_transform") == 0
    assert not photos._ycc_coded(rgb_coded)
    grey = Image.open(io.BytesIO(encode(scene(640, 480).convert("L"))))
    assert not photos._ycc_coded(grey)


@pytest.mark.parametrize("orientation", [1, 3, 5, 6, 8])
def test_colours_come_out_right_through_the_ycbcr_path(orientation: int) -> None:
    """Red, green, blue and the rest keep their colour: planes not swapped, colour planes turned and
    placed like the luma, no colour conversion missing or applied twice."""
    data = camera_jpeg(1800, 2400, orientation)  # stored 2400 x 1800 for 6, 8 and 5: draft at 1/2
    result = process_photo(data, None)
    out = opened(result.evidence)
    assert out.mode == "RGB"
    assert out.size == (1200, 1600)
    assert_patch_colours(out, within=12)
    thumb = opened(result.thumbnail)
    assert thumb.size == (240, 320)
    assert_patch_colours(thumb, within=16)


def test_the_ycbcr_path_matches_the_rgb_path() -> None:
    """The whole evidence, not only patch centres: close to resizing and turning the RGB decode."""
    data = camera_jpeg(1800, 2400, 6)
    out = opened(process_photo(data, None).evidence)
    rgb = Image.open(io.BytesIO(data))
    rgb.draft("RGB", (1600, 1200))
    reference = rgb.resize((1600, 1200), Image.Resampling.BICUBIC).transpose(Image.Transpose.ROTATE_270)
    assert max(ImageStat.Stat(ImageChops.difference(out, reference)).mean) < 4


def renumbered(data: bytes, ids: bytes) -> bytes:
    """``data`` (a baseline JPEG) with its three components renamed ``ids`` in the frame and scan."""
    out = bytearray(data)
    sof, sos = data.index(b"\xff\xc0"), data.index(b"\xff\xda")
    for i in range(3):
        out[sof + 10 + 3 * i] = ids[i]
        out[sos + 5 + 2 * i] = ids[i]
    return bytes(out)


@pytest.mark.parametrize("variant", ["adobe", "ids", "adobe-numbered"])
def test_rgb_coded_jpegs_still_decode_with_the_right_colours(variant: str) -> None:
    """libjpeg refuses a YCbCr decode of an RGB-coded JPEG: those take the RGB path."""
    data = encode(scene(1800, 2400), quality=92, keep_rgb=True)  # Adobe transform 0, ids 'R', 'G', 'B'
    if variant == "ids":  # no Adobe marker: libjpeg goes by the component ids 'R', 'G', 'B'
        start = data.index(b"\xff\xee")
        data = data[:start] + data[start + 2 + int.from_bytes(data[start + 2 : start + 4], "big") :]
        assert "adobe" not in Image.open(io.BytesIO(data)).info
    if variant == "adobe-numbered":  # ids as YCbCr's 1, 2, 3: the Adobe marker alone says RGB
        data = renumbered(data, b"\x01\x02\x03")
        assert [c[0] for c in Image.open(io.BytesIO(data)).layer] == [1, 2, 3]  # type: ignore[attr-defined]
    assert not photos._ycc_coded(Image.open(io.BytesIO(data)))
    out = opened(process_photo(data, None).evidence)
    assert out.size == (1200, 1600)
    assert_patch_colours(out, within=12)


def test_odd_output_sides_keep_full_size_colour_planes() -> None:
    """4:2:0 pairs pixels: an odd side gets its colour planes at full size, colours still right."""
    data = camera_jpeg(1001, 1503, 1)
    out = opened(process_photo(data, None, PhotoSettings(long_edge=1001, thumb_edge=100)).evidence)
    assert out.size == (667, 1001)
    assert_patch_colours(out, within=12)


def test_half_size_colour_planes_cover_two_by_two_pixels() -> None:
    plane = Image.frombytes("L", (1000, 750), random.Random(3).randbytes(1000 * 750))
    resize = photoresize.Resize("YCbCr", plane.size, (800, 600), 6)  # orientation 6: ROTATE_270
    resize.band(1, plane, 0, 600)
    spread = resize.planes[1]
    assert spread.size == (600, 800)
    half = spread.reduce(2)
    again = half.resize(spread.size, Image.Resampling.NEAREST, box=(0, 0, 300, 400))
    assert again.tobytes() == spread.tobytes()  # every 2 x 2 block holds one value
    reference = plane.resize((400, 300), Image.Resampling.BOX).transpose(Image.Transpose.ROTATE_270)
    assert half.tobytes() == reference.tobytes()


@pytest.mark.parametrize("orientation", [1, 6, 8, 3])
def test_plane_jobs_match_the_whole_image_resize(orientation: int) -> None:
    """The luma in bands and the colour planes as jobs of their own, on the caller and two helpers:
    each plane lands where the turn puts it (a swapped or misplaced plane is far off)."""
    source = scene(1500, 1250).convert("YCbCr")
    turn = {
        1: None,
        3: Image.Transpose.ROTATE_180,
        6: Image.Transpose.ROTATE_270,
        8: Image.Transpose.ROTATE_90,
    }
    with ThreadPoolExecutor(max_workers=2) as pool:
        got = photoresize.resize_upright(source, (1200, 1000), orientation, pool)
    assert got.mode == "YCbCr"
    whole = source.resize((1200, 1000), Image.Resampling.BICUBIC)
    step = turn[orientation]
    if step is not None:
        whole = whole.transpose(step)
    assert got.size == whole.size
    luma, cb, cr = (ImageChops.difference(a, b) for a, b in zip(got.split(), whole.split(), strict=True))
    assert ImageStat.Stat(luma).rms[0] < 2  # the same filter: rounding only
    assert ImageStat.Stat(cb).mean[0] < 3  # area average at half size vs bicubic at full size
    assert ImageStat.Stat(cr).mean[0] < 3


def test_the_watermark_blends_the_same_in_ycbcr_as_in_rgb() -> None:
    image = scene(1200, 1600)
    lines = WATERMARK.lines()
    in_rgb = photos.watermarked(image, lines)
    in_ycc = photos.watermarked(image.convert("YCbCr"), lines).convert("RGB")
    plain = image.convert("YCbCr").convert("RGB")  # the same round trip without the watermark
    box = photos.render_watermark(image.size, lines).box
    # the blend itself: what the watermark changed, in either mode (the round trip's rounding aside)
    rgb_delta = ImageChops.subtract(plain.crop(box), in_rgb.crop(box), offset=128)
    ycc_delta = ImageChops.subtract(plain.crop(box), in_ycc.crop(box), offset=128)
    assert max(high for _, high in ImageChops.difference(rgb_delta, ycc_delta).getextrema()) <= 6  # type: ignore[misc]
    # nowhere else
    assert (
        ImageChops.difference(in_ycc.crop((0, 0, 1200, 1000)), plain.crop((0, 0, 1200, 1000))).getbbox()
        is None
    )


def test_the_watermark_is_there_in_the_evidence_of_a_ycbcr_jpeg() -> None:
    data = camera_jpeg(1800, 2400, 6)
    marked = opened(process_photo(data, WATERMARK).evidence)
    plain = opened(process_photo(data, None).evidence)
    diff = ImageChops.difference(marked, plain).convert("L").point(lambda v: 255 if v > 24 else 0)
    box = diff.getbbox()
    assert box is not None
    assert box[0] < 40
    assert box[3] > 1550
    assert box[1] > 1000
    band = marked.crop(box)
    assert (
        ImageStat.Stat(band.convert("L")).mean[0] < ImageStat.Stat(plain.crop(box).convert("L")).mean[0] - 15
    )
    white = band.convert("L").point(lambda v: 255 if v > 220 else 0)
    assert ImageStat.Stat(white).mean[0] > 5  # the text is white, not tinted: grey stays grey
    r, g, b = ImageStat.Stat(band.crop((0, 0, 60, 20))).mean  # the dark box over the stored scene
    assert abs(r - g) < 12
    assert abs(g - b) < 12
    assert (
        ImageChops.difference(marked.crop((0, 0, 1200, 900)), plain.crop((0, 0, 1200, 900))).getbbox() is None
    )


@pytest.mark.parametrize(
    ("size", "orientation", "settings"),
    [
        ((1000, 750), 6, PhotoSettings()),
        ((1333, 997), 1, PhotoSettings(long_edge=1000, thumb_edge=97)),
        ((3001, 2003), 8, PhotoSettings()),
        ((961, 641), 3, PhotoSettings(long_edge=900, thumb_edge=130)),
    ],
)
def test_the_thumbnail_of_a_marked_image_is_the_clean_images(
    size: tuple[int, int], orientation: int, settings: PhotoSettings
) -> None:
    """Made from the decoded image while the evidence is resized, before the watermark goes in."""
    stored = scene(*size)
    exif = Image.Exif()
    exif[0x0112] = orientation
    data = encode(stored, quality=90, exif=exif.tobytes())
    marked, plain = process_photo(data, WATERMARK, settings), process_photo(data, None, settings)
    assert marked.thumbnail == plain.thumbnail
    assert marked.evidence != plain.evidence
