"""The photo pipeline's fast paths: banded resize and turn, the pre-rendered watermark, early orientation.

Every input is made here (no binary fixtures).
"""

from __future__ import annotations

import io
import random
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import pytest
from PIL import Image, ImageChops, ImageDraw, ImageStat

from mobile import photoresize, photos
from mobile.photos import PhotoSettings, Watermark, process_photo

CST = timezone(timedelta(hours=8))
WATERMARK = Watermark(
    datetime(2025, 11, 22, 21, 3, 27, tzinfo=CST), None, None, "012345", "ZD01-1", "占道经营"
)
TRANSPOSE = {  # EXIF orientation -> the turn that makes the stored pixels upright (EXIF 2.3, tag 0x0112)
    1: None,
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


def textured(width: int, height: int, noise: bool = True) -> Image.Image:
    """Gradients, hard edges and (``noise``) full-range noise: any misplaced or misturned band shows."""
    ramp = Image.linear_gradient("L").resize((width, height))
    noise_band = (
        Image.frombytes("L", (width, height), random.Random(width * height).randbytes(width * height))
        if noise
        else Image.radial_gradient("L").resize((width, height))
    )
    image = Image.merge(
        "RGB", (ramp, noise_band, ramp.transpose(Image.Transpose.ROTATE_90).resize((width, height)))
    )
    draw = ImageDraw.Draw(image)
    for i in range(0, width, 97):
        draw.line((i, 0, width - i, height), fill=(255, 255, 0), width=3)
    return image


def encode(image: Image.Image, fmt: str = "JPEG", **params: object) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **params)
    return out.getvalue()


def exif_with(orientation: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    return exif.tobytes()


def opened(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


# -- banded resize and turn ------------------------------------------------------------------------------
@pytest.mark.parametrize("orientation", range(1, 9))
def test_banded_resize_matches_the_whole_image_resize_then_turn(orientation: int) -> None:
    source = textured(1500, 1250)
    size = (1200, 1000)  # 1,200,000 output pixels: six bands
    assert size[0] * size[1] // photoresize.BAND_PIXELS >= photoresize.BANDS
    whole = source.resize(size, Image.Resampling.BICUBIC)
    turn = TRANSPOSE[orientation]
    if turn is not None:
        whole = whole.transpose(turn)
    with ThreadPoolExecutor(max_workers=2) as pool:
        banded = photoresize.resize_upright(source, size, orientation, pool)
    assert banded.size == whole.size
    assert banded.mode == "RGB"
    # The same filter over the same rows: only the rounding between the two passes differs (Pillow may
    # run them in the other order for a band: RMS about 1 on this noise), never a seam or a shifted or
    # misturned band (RMS over 30 here).
    assert rms(banded, whole) < 2


def rms(a: Image.Image, b: Image.Image) -> float:
    return max(ImageStat.Stat(ImageChops.difference(a, b)).rms)


def test_bands_the_pool_has_not_started_are_done_by_the_caller() -> None:
    """A helper thread busy elsewhere (or a slow core) never holds the resize up."""
    source = textured(1300, 1000)
    release = threading.Event()
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(release.wait, 30)  # the only helper is busy
        done = photoresize.resize_upright(source, (1040, 800), 6, pool)
        release.set()
    reference = source.resize((1040, 800), Image.Resampling.BICUBIC).transpose(Image.Transpose.ROTATE_270)
    assert done.size == (800, 1040)
    assert rms(done, reference) < 2


def test_small_outputs_are_one_band_and_need_no_pool() -> None:
    source = textured(300, 200)
    out = photoresize.resize_upright(source, (150, 100), 8)
    assert out.size == (100, 150)
    reference = source.resize((150, 100), Image.Resampling.BICUBIC).transpose(Image.Transpose.ROTATE_90)
    assert ImageChops.difference(out, reference).getbbox() is None


@pytest.mark.parametrize("orientation", [1, 3, 6, 8])
def test_a_large_turned_photo_comes_out_upright_at_the_long_edge(orientation: int) -> None:
    """Through process_photo: JPEG draft decode, bands, turn (the source is stored as a camera would)."""
    upright = textured(1200, 1600, noise=False)  # JPEG at q92 keeps it: the comparison below is fair
    ImageDraw.Draw(upright).rectangle((0, 0, 299, 299), fill=(230, 0, 0))  # red, top left when upright
    inverse = {6: Image.Transpose.ROTATE_90, 8: Image.Transpose.ROTATE_270, 3: Image.Transpose.ROTATE_180}
    stored = upright.transpose(inverse[orientation]) if orientation in inverse else upright
    result = process_photo(encode(stored, quality=92, exif=exif_with(orientation)), None, PhotoSettings(1000))
    out = opened(result.evidence)
    assert out.size == (750, 1000) == (result.width, result.height)
    r, g, b = out.getpixel((40, 40))  # type: ignore[misc]
    assert r > 180
    assert g < 60
    assert b < 60
    # against the upright scene through the same JPEG quality (chroma subsampling included)
    reference = opened(encode(upright, quality=92)).resize((750, 1000), Image.Resampling.LANCZOS)
    assert max(ImageStat.Stat(ImageChops.difference(out, reference)).mean) < 6


# -- the pre-rendered watermark --------------------------------------------------------------------------
def drawn_the_plain_way(image: Image.Image, lines: list[str]) -> Image.Image:
    """The watermark as two draws: a dark box at opacity 150, then white text (the reference)."""
    overlay = photos.render_watermark(image.size, lines)  # the geometry only
    left, top, right, bottom = overlay.box
    out = image.copy()
    out.paste((0, 0, 0), overlay.box, mask=Image.new("L", (right - left, bottom - top), 150))
    width = image.width
    font_size = max(8, width // 36)
    margin = max(4, width // 64)
    font = photos._font(font_size)
    ascent, descent = font.getmetrics()
    step = round((ascent + descent) * 1.15)
    draw = ImageDraw.Draw(out)
    for i, line in enumerate(lines):
        draw.text((left + margin, top + margin + i * step), line, font=font, fill=(255, 255, 255))
    return out


def test_the_one_blend_watermark_equals_box_then_text() -> None:
    image = textured(1200, 1600)
    lines = WATERMARK.lines()
    ours = photos.watermarked(image, lines)
    reference = drawn_the_plain_way(image, lines)
    diff = ImageChops.difference(ours, reference)
    assert max(high for _, high in diff.getextrema()) <= 2  # type: ignore[misc]  # rounding only
    changed = ImageChops.difference(ours, image).getbbox()
    assert changed is not None
    assert changed[0] < 40
    assert changed[3] > 1550
    assert (
        ImageChops.difference(ours.crop((0, 0, 1200, 1000)), image.crop((0, 0, 1200, 1000))).getbbox() is None
    )
    assert image.tobytes() == textured(1200, 1600).tobytes()  # the clean image is not touched


def test_the_watermark_tables_span_box_to_white() -> None:
    assert photos._MASK_LUT[0] == photos._BOX_ALPHA
    assert photos._LAYER_LUT[0] == 0
    assert photos._MASK_LUT[255] == 255
    assert photos._LAYER_LUT[255] == 255
    assert sorted(photos._MASK_LUT) == photos._MASK_LUT


def watermark_box(data: bytes, settings: PhotoSettings) -> tuple[int, int, int, int]:
    marked = opened(process_photo(data, WATERMARK, settings).evidence)
    plain = opened(process_photo(data, None, settings).evidence)
    box = ImageChops.difference(marked, plain).convert("L").point(lambda v: 255 if v > 24 else 0).getbbox()
    assert box is not None
    assert marked.size == plain.size
    return box


@pytest.mark.parametrize("orientation", [6, 8])
def test_a_turned_jpeg_gets_its_watermark_lower_left_of_the_upright_image(orientation: int) -> None:
    """The overlay is sized from the EXIF before decoding: it must be the upright (portrait) size."""
    stored = textured(1600, 1200)  # landscape as stored, portrait once turned
    box = watermark_box(encode(stored, quality=90, exif=exif_with(orientation)), PhotoSettings(1000))
    left, top, right, bottom = box  # upright: 750 x 1000
    assert left < 30
    assert bottom > 950
    assert right < 750 - 20
    assert top > 600


def test_a_turned_png_gets_its_watermark_lower_left_too() -> None:
    """PNG orientation is known only after decoding: the overlay starts then."""
    stored = textured(1600, 1200)
    box = watermark_box(encode(stored, "PNG", exif=exif_with(6), compress_level=1), PhotoSettings(1000))
    assert box[0] < 30
    assert box[3] > 950
    assert box[2] < 750 - 20


@pytest.mark.parametrize("size", [(400, 300), (1600, 1200), (2400, 1800)])
def test_the_thumbnail_never_shows_the_watermark_burned_into_the_image(size: tuple[int, int]) -> None:
    """The watermark goes into the evidence image in place, after the thumbnail took its own pixels:
    a copy when the image is under twice the thumbnail edge, a box reduce otherwise."""
    data = encode(textured(*size, noise=False), quality=90)
    marked, plain = process_photo(data, WATERMARK), process_photo(data, None)
    assert marked.thumbnail == plain.thumbnail
    assert marked.evidence != plain.evidence


def test_a_missing_font_is_named_as_such_for_a_png_too(monkeypatch: pytest.MonkeyPatch) -> None:
    """PNG watermarks are rendered after decoding: a font problem must not read as a damaged photo."""
    monkeypatch.setattr(photos, "FONT_PATH", photos.FONT_PATH.with_name("absent.otf"))
    photos._font.cache_clear()
    try:
        with pytest.raises(photos.PhotoError) as err:
            process_photo(encode(textured(320, 240), "PNG"), WATERMARK)
        assert err.value.code == "no_font"
    finally:
        monkeypatch.undo()
        photos._font.cache_clear()


def test_an_rgba_png_keeps_its_exif_orientation() -> None:
    """Flattening alpha makes a new image: the orientation is read before it."""
    stored = Image.new("RGBA", (300, 200), (255, 255, 255, 255))
    ImageDraw.Draw(stored).rectangle((0, 0, 99, 199), fill=(220, 0, 0, 255))  # red on the stored left
    result = process_photo(encode(stored, "PNG", exif=exif_with(6)), None, PhotoSettings(300, thumb_edge=50))
    out = opened(result.evidence)
    assert out.size == (200, 300)
    r, g, b = out.getpixel((100, 20))  # type: ignore[misc]  # turned clockwise: the left is now the top
    assert b < 60
    assert r > 180
    assert g < 60
