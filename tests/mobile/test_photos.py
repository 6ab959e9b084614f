"""The evidence photo pipeline, with every input made here (no binary fixtures)."""

from __future__ import annotations

import hashlib
import io
import struct
import warnings
import zlib
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import pytest
from PIL import Image, ImageChops, ImageDraw, ImageFile, ImageFont, ImageStat, PngImagePlugin, features

from enforcement.text import LocalizedError
from mobile import photoresize, photos
from mobile.photos import (
    FONT_PATH,
    PhotoError,
    PhotoSettings,
    ProcessedPhoto,
    Watermark,
    process_photo,
)

CST = timezone(timedelta(hours=8))
WATERMARK = Watermark(
    captured_at=datetime(2025, 11, 22, 21, 3, 27, tzinfo=CST),
    lat=34.747123,
    lon=113.625301,
    badge="012345",
    case_no="ZD01-012345-251122-AB12-0003",
    violation_name="露天烧烤",
)
NO_MARK = PhotoSettings(watermark=False)
DEFAULTS = PhotoSettings()


# -- making inputs ---------------------------------------------------------------------------------------
def encode(image: Image.Image, fmt: str = "JPEG", **params: object) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **params)
    return out.getvalue()


def camera_like(width: int, height: int) -> Image.Image:
    """Gradients and sensor-like noise, as a camera's JPEG carries them."""
    ramp = Image.linear_gradient("L").resize((width, height))
    noise = Image.effect_noise((width, height), 24).convert("L")
    image = Image.merge("RGB", (ramp, noise, ramp.transpose(Image.Transpose.FLIP_LEFT_RIGHT)))
    ImageDraw.Draw(image).rectangle((width // 3, height // 3, width // 2, height // 2), fill=(200, 20, 20))
    return image


def exif_with(orientation: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = "TestCam"  # Make
    return exif.tobytes()


def jpeg_markers(data: bytes) -> list[int]:
    """The JPEG's marker codes in order (scans skipped over)."""
    assert data[:2] == b"\xff\xd8"
    found, i = [0xD8], 2
    while i < len(data):
        assert data[i] == 0xFF, f"no marker at {i}"
        marker = data[i + 1]
        found.append(marker)
        if marker == 0xD9:
            break
        (length,) = struct.unpack(">H", data[i + 2 : i + 4])
        i += 2 + length
        if marker == 0xDA:  # entropy-coded data runs to the next marker that is not stuffing or RSTn
            while not (data[i] == 0xFF and data[i + 1] != 0 and not 0xD0 <= data[i + 1] <= 0xD7):
                i += 1
    return found


def png_header_only(width: int, height: int, colour_type: int = 2) -> bytes:
    """A PNG that declares ``width`` x ``height`` but carries almost no pixel data (8-bit; colour type
    2 RGB, 0 grey)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, colour_type, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64))


def jpeg_declaring(width: int, height: int) -> bytes:
    """A small real JPEG whose frame header is patched to declare another size."""
    data = encode(Image.new("RGB", (64, 48), "gray"))
    sof = data.index(b"\xff\xc0")
    return data[: sof + 5] + struct.pack(">HH", height, width) + data[sof + 9 :]


@pytest.fixture(scope="module")
def camera_jpeg() -> bytes:
    """A 2400 x 1800 camera-like JPEG with EXIF, an ICC profile and a comment."""
    return encode(
        camera_like(2400, 1800), quality=92, exif=exif_with(1), icc_profile=b"\0" * 128, comment=b"secret"
    )


def opened(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


# -- the pipeline ----------------------------------------------------------------------------------------
def test_output_is_a_small_progressive_jpeg_at_the_long_edge(camera_jpeg: bytes) -> None:
    result = process_photo(camera_jpeg, WATERMARK)
    evidence = opened(result.evidence)
    assert evidence.format == "JPEG"
    assert evidence.mode == "RGB"
    assert evidence.size == (1600, 1200) == (result.width, result.height)
    assert 0xC2 in jpeg_markers(result.evidence)  # progressive frame
    assert 20_000 < result.size == len(result.evidence) < 350_000
    thumb = opened(result.thumbnail)
    assert thumb.format == "JPEG"
    assert thumb.size == (320, 240)


def test_long_edge_is_configurable_and_portrait_keeps_its_aspect() -> None:
    data = encode(camera_like(900, 1500))
    result = process_photo(data, None, PhotoSettings(long_edge=1000, thumb_edge=100))
    assert (result.width, result.height) == (600, 1000)
    assert opened(result.thumbnail).size == (60, 100)


@pytest.mark.parametrize(("size", "expected"), [((5000, 3), (1600, 1)), ((3, 5000), (1, 1600))])
def test_extreme_aspect_ratios(size: tuple[int, int], expected: tuple[int, int]) -> None:
    result = process_photo(encode(Image.new("RGB", size, "red"), "PNG"), WATERMARK)
    assert (result.width, result.height) == expected


def test_small_photos_are_never_enlarged() -> None:
    result = process_photo(encode(camera_like(300, 200)), WATERMARK)
    assert (result.width, result.height) == (300, 200)


def small_sources_with_metadata() -> list[bytes]:
    """Photos under the long edge with orientation 1 skip resize and transpose: metadata must go anyway."""
    image = camera_like(300, 200)
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "secret")
    return [
        encode(image, quality=92, exif=exif_with(1), icc_profile=b"\0" * 128, comment=b"secret"),
        encode(image, "PNG", pnginfo=info, exif=exif_with(1), icc_profile=b"\0" * 128),
    ]


@pytest.mark.parametrize("source", ["camera", "small jpeg", "small png"])
def test_output_carries_no_metadata(source: str, camera_jpeg: bytes) -> None:
    data = {"camera": camera_jpeg, "small jpeg": small_sources_with_metadata()[0]}.get(
        source, small_sources_with_metadata()[-1]
    )
    result = process_photo(data, WATERMARK)
    for data in (result.evidence, result.thumbnail):
        markers = jpeg_markers(data)
        assert not [m for m in markers if 0xE1 <= m <= 0xEF], "APPn beyond JFIF (EXIF, XMP, ICC...)"
        assert 0xFE not in markers, "comment"
        image = opened(data)
        assert "exif" not in image.info
        assert "icc_profile" not in image.info
        assert not image.getexif()


def test_hash_identity_is_stable_and_names_the_evidence_bytes(camera_jpeg: bytes) -> None:
    first = process_photo(camera_jpeg, WATERMARK)
    again = process_photo(camera_jpeg, WATERMARK)
    assert again == first
    assert first.sha256 == hashlib.sha256(first.evidence).hexdigest()
    assert first.original_sha256 == hashlib.sha256(camera_jpeg).hexdigest()
    other_case = Watermark(**{**_fields(WATERMARK), "case_no": "ZD01-012345-251122-AB12-0004"})
    assert process_photo(camera_jpeg, other_case).sha256 != first.sha256
    assert process_photo(camera_jpeg, WATERMARK, PhotoSettings(quality=70)).sha256 != first.sha256


def _fields(mark: Watermark) -> dict[str, object]:
    return {name: getattr(mark, name) for name in Watermark.__slots__}


def test_concurrent_calls_give_the_same_bytes() -> None:
    inputs = [encode(camera_like(640 + 16 * i, 480)) for i in range(4)]
    serial = [process_photo(data, WATERMARK) for data in inputs]
    with ThreadPoolExecutor(max_workers=4) as pool:
        parallel = list(pool.map(lambda d: process_photo(d, WATERMARK), inputs))
    assert parallel == serial


def test_sources_far_over_the_target_are_reduced_first() -> None:
    source = camera_like(2000, 1600)
    out = photoresize.resize_upright(source, (250, 200), 1)
    reference = source.resize((250, 200), Image.Resampling.LANCZOS)
    assert out.size == (250, 200)
    assert max(ImageStat.Stat(ImageChops.difference(out, reference)).mean) < 3


# -- orientation -----------------------------------------------------------------------------------------
#: How a camera stores an upright scene for each EXIF orientation (TIFF/EXIF 2.3, tag 0x0112): the stored
#: pixels are the scene with this applied. Written out here, independently of the code under test.
STORE_AS = {
    1: None,
    2: Image.Transpose.FLIP_LEFT_RIGHT,  # mirrored
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,  # mirrored + rotated
    6: Image.Transpose.ROTATE_90,  # stored turned 90° counter-clockwise: display turns it clockwise
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_270,
}


def upright_scene() -> Image.Image:
    """640 x 480, white, a red block top left and a green block top right: unambiguous under all 8."""
    scene = Image.new("RGB", (640, 480), "white")
    draw = ImageDraw.Draw(scene)
    draw.rectangle((0, 0, 199, 159), fill=(220, 0, 0))
    draw.rectangle((440, 0, 639, 159), fill=(0, 200, 0))
    return scene


def colour_at(image: Image.Image, fx: float, fy: float) -> str:
    r, g, b = image.getpixel((int(fx * image.width), int(fy * image.height)))  # type: ignore[misc]
    if r > 150 and g < 90 and b < 90:
        return "red"
    if g > 140 and r < 90 and b < 90:
        return "green"
    if min(r, g, b) > 200:
        return "white"
    return f"other{(r, g, b)}"


@pytest.mark.parametrize("orientation", range(1, 9))
def test_every_exif_orientation_comes_out_upright(orientation: int) -> None:
    stored = upright_scene()
    if STORE_AS[orientation] is not None:
        stored = stored.transpose(STORE_AS[orientation])
    data = encode(stored, quality=95, exif=exif_with(orientation))
    # long edge 160 from 640: JPEG draft decodes at 1/4, so the draft size must be asked for correctly too
    result = process_photo(data, None, PhotoSettings(long_edge=160, thumb_edge=40, watermark=False))
    out = opened(result.evidence)
    assert out.size == (160, 120)
    assert colour_at(out, 0.1, 0.1) == "red"
    assert colour_at(out, 0.9, 0.1) == "green"
    assert colour_at(out, 0.1, 0.9) == "white"
    assert colour_at(out, 0.9, 0.9) == "white"
    assert opened(result.thumbnail).size == (40, 30)


def test_a_damaged_exif_block_costs_only_the_orientation() -> None:
    data = encode(upright_scene(), exif=b"Exif\0\0garbage-not-tiff")
    assert opened(process_photo(data, None, NO_MARK).evidence).size == (640, 480)


# -- watermark -------------------------------------------------------------------------------------------
def test_watermark_is_burned_into_the_lower_left_only(camera_jpeg: bytes) -> None:
    marked = opened(process_photo(camera_jpeg, WATERMARK).evidence)
    plain = opened(process_photo(camera_jpeg, None).evidence)
    diff = ImageChops.difference(marked, plain).convert("L").point(lambda v: 255 if v > 24 else 0)
    box = diff.getbbox()
    assert box is not None
    left, top, right, bottom = box
    assert left < 60
    assert bottom > 1150
    assert top > 600
    assert right < 1600 - 60
    band = marked.crop(box)
    assert ImageStat.Stat(ImageChops.difference(band, plain.crop(box))).mean[0] > 20
    bright = band.convert("L").point(lambda v: 255 if v > 220 else 0)
    assert ImageStat.Stat(bright).mean[0] > 5  # white text is there
    # nowhere near the box nothing changed
    assert (
        ImageChops.difference(marked.crop((0, 0, 1600, 500)), plain.crop((0, 0, 1600, 500))).getbbox() is None
    )


def test_watermark_setting_off_means_no_watermark(camera_jpeg: bytes) -> None:
    off = process_photo(camera_jpeg, WATERMARK, NO_MARK)
    assert off.evidence == process_photo(camera_jpeg, None).evidence
    assert off.thumbnail == process_photo(camera_jpeg, WATERMARK).thumbnail  # thumbnails are never marked


def test_watermark_fits_a_narrow_photo() -> None:
    mark = Watermark(**{**_fields(WATERMARK), "case_no": "ZD01-012345-251122-AB12-0003-LONG-LONG-LONG"})
    data = encode(camera_like(240, 400))
    marked = opened(process_photo(data, mark).evidence)
    plain = opened(process_photo(data, None).evidence)
    box = ImageChops.difference(marked, plain).convert("L").point(lambda v: 255 if v > 24 else 0).getbbox()
    assert box is not None
    assert box[0] >= 2
    assert box[2] <= 240 - 2


def test_watermark_text() -> None:
    assert WATERMARK.lines() == [
        "时间 2025-11-22 21:03:27 UTC+08:00",
        "位置 34.74712°N 113.62530°E",
        "警号 012345  案号 ZD01-012345-251122-AB12-0003",
        "事由 露天烧烤",
    ]
    west = Watermark(
        datetime(2025, 1, 2, 3, 4, 5, tzinfo=timezone(-timedelta(hours=3, minutes=30))),
        -33.9,
        -70.6,
        "7",
        "C",
        "X",
    )
    assert west.lines()[:2] == ["时间 2025-01-02 03:04:05 UTC-03:30", "位置 33.90000°S 70.60000°W"]
    no_fix = Watermark(**{**_fields(WATERMARK), "lat": None, "lon": None})
    assert no_fix.lines()[1] == "位置 无定位"


def test_watermark_fields_are_checked() -> None:
    with pytest.raises(ValueError, match="time zone"):
        Watermark(**{**_fields(WATERMARK), "captured_at": datetime(2025, 1, 1, 12, 0)})
    with pytest.raises(ValueError, match="together"):
        Watermark(**{**_fields(WATERMARK), "lon": None})
    with pytest.raises(ValueError, match="position"):
        Watermark(**{**_fields(WATERMARK), "lat": 91.0})


def test_a_missing_font_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> None:
    monkeypatch.setattr(photos, "FONT_PATH", FONT_PATH.with_name("absent.otf"))
    photos._font.cache_clear()
    try:
        with pytest.raises(PhotoError) as err:
            process_photo(encode(camera_like(320, 240)), WATERMARK)
        assert err.value.code == "no_font"
    finally:
        monkeypatch.undo()
        photos._font.cache_clear()


# -- conversions -----------------------------------------------------------------------------------------
def only_colour(result: ProcessedPhoto) -> tuple[float, ...]:
    return tuple(round(v) for v in ImageStat.Stat(opened(result.evidence)).mean)


def near(actual: tuple[float, ...], expected: tuple[int, ...], tolerance: int = 12) -> bool:
    return all(abs(a - e) <= tolerance for a, e in zip(actual, expected, strict=True))


def test_cmyk_jpeg_converts_to_rgb() -> None:
    cyan = encode(Image.new("CMYK", (64, 48), (255, 0, 0, 0)), quality=95)
    assert opened(cyan).mode == "CMYK"
    assert near(only_colour(process_photo(cyan, None)), (0, 255, 255))


def test_sixteen_bit_grey_png_is_scaled_not_clipped() -> None:
    grey = Image.new("I;16", (64, 48), 32768)
    data = encode(grey, "PNG")
    assert opened(data).mode.startswith("I")
    assert near(only_colour(process_photo(data, None)), (128, 128, 128), 3)


def test_sixteen_bit_rgb_png_converts() -> None:
    # Pillow reads 48-bit PNGs as 8-bit RGB; make one by hand: IHDR bit depth 16, colour type 2
    width, height, pixel = 8, 4, struct.pack(">HHH", 65535, 32768, 0)
    raw = b"".join(b"\0" + pixel * width for _ in range(height))

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    data = (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 16, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )
    assert near(only_colour(process_photo(data, None)), (255, 128, 0), 3)


def test_palette_png_with_transparency_is_flattened_on_white() -> None:
    image = Image.new("P", (64, 48), 1)
    image.putpalette([255, 0, 0, 0, 0, 0] + [0] * 762)
    ImageDraw.Draw(image).rectangle((0, 0, 31, 47), fill=0)  # left half red, right half transparent
    out = opened(process_photo(encode(image, "PNG", transparency=1), None).evidence)
    assert near(out.getpixel((8, 24)), (255, 0, 0))  # type: ignore[arg-type]
    assert near(out.getpixel((56, 24)), (255, 255, 255))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("mode", "colour", "expected"),
    [
        ("RGBA", (255, 0, 0, 128), (255, 127, 127)),
        ("RGBA", (0, 0, 0, 0), (255, 255, 255)),
        ("LA", (0, 0), (255,) * 3),
    ],
)
def test_alpha_is_flattened_on_white(mode: str, colour: tuple[int, ...], expected: tuple[int, ...]) -> None:
    data = encode(Image.new(mode, (64, 48), colour), "PNG")
    assert near(only_colour(process_photo(data, None)), expected)


def test_large_png_is_reduced_before_resizing() -> None:
    data = encode(camera_like(2000, 1000), "PNG", compress_level=1)
    result = process_photo(data, None, PhotoSettings(long_edge=400, thumb_edge=100))
    assert (result.width, result.height) == (400, 200)


@pytest.mark.skipif(not features.check("webp"), reason="Pillow built without WebP")
def test_webp_is_accepted() -> None:
    assert process_photo(encode(camera_like(320, 240), "WEBP"), None).width == 320


def test_mpo_jpeg_from_android_phones_is_accepted() -> None:
    first, second = camera_like(800, 600), camera_like(200, 150)
    data = encode(first, "MPO", save_all=True, append_images=[second])
    assert opened(data).format == "MPO"
    result = process_photo(data, None, PhotoSettings(long_edge=400, thumb_edge=100))
    assert (result.width, result.height) == (400, 300)


def test_heic_through_pillow_heif(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("pillow_heif")
    assert photos.HEIF_SUPPORTED
    data = encode(camera_like(640, 480), "HEIF", quality=90)
    result = process_photo(data, None, PhotoSettings(long_edge=320, thumb_edge=64))
    assert (result.width, result.height) == (320, 240)
    assert opened(result.evidence).format == "JPEG"
    # HEIC orientation is applied once (pillow-heif applies it and resets the EXIF tag)
    sideways = encode(upright_scene().transpose(Image.Transpose.ROTATE_90), "HEIF", exif=exif_with(6))
    upright = opened(process_photo(sideways, None, PhotoSettings(long_edge=160, thumb_edge=40)).evidence)
    assert upright.size == (160, 120)
    assert colour_at(upright, 0.1, 0.1) == "red"
    assert colour_at(upright, 0.9, 0.1) == "green"
    # a phone without pillow-heif says so in the officer's language
    monkeypatch.setattr(photos, "HEIF_SUPPORTED", False)
    with pytest.raises(PhotoError) as err:
        process_photo(data, None)
    assert err.value.code == "unsupported_format"
    assert "HEIC" in err.value.zh


def test_heic_without_any_heif_plugin_is_unsupported_not_garbage(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(photos, "HEIF_SUPPORTED", False)
    Image.init()  # every plugin registered first: undoing the patch must not drop those registered meanwhile
    monkeypatch.setattr(Image, "ID", [i for i in Image.ID if i != "HEIF"])
    heic_like = struct.pack(">I", 24) + b"ftypheic" + b"\0\0\0\0mif1heic" + b"\0" * 64
    with pytest.raises(PhotoError) as err:
        process_photo(heic_like, None)
    assert err.value.code == "unsupported_format"
    assert "HEIC" in err.value.en


# -- bad input -------------------------------------------------------------------------------------------
def photo_error(data: bytes, settings: PhotoSettings = DEFAULTS) -> PhotoError:
    with pytest.raises(PhotoError) as err:
        process_photo(data, WATERMARK, settings)
    error = err.value
    assert isinstance(error, LocalizedError)
    assert error.field == "photos"
    assert error.zh
    assert error.en
    assert error.message("zh") != error.message("en")
    return error


def test_zero_bytes() -> None:
    assert photo_error(b"").code == "empty"


@pytest.mark.parametrize("data", [b"hello, this is not a photo", bytes(range(256)) * 8, b"\xff\xd8"])
def test_not_an_image(data: bytes) -> None:
    assert photo_error(data).code in {"not_image", "truncated"}
    if not data.startswith(b"\xff\xd8"):
        assert photo_error(data).code == "not_image"


def test_truncated_jpeg(camera_jpeg: bytes) -> None:
    assert photo_error(camera_jpeg[: len(camera_jpeg) * 6 // 10]).code == "truncated"
    assert photo_error(camera_jpeg[:400]).code == "truncated"


def test_corrupt_jpeg_scan_data(camera_jpeg: bytes) -> None:
    start = camera_jpeg.index(b"\xff\xda") + 40
    damaged = bytearray(camera_jpeg)
    damaged[start : start + 4000 : 3] = b"\xff" * len(damaged[start : start + 4000 : 3])
    # the first of them a reserved marker code (libjpeg stops at it): whatever byte the noise put after
    # it, never a stuffed 0xFF, a fill byte or a marker libjpeg reads on (1 random photo in ~12 decoded)
    damaged[start : start + 2] = b"\xff\x02"
    assert photo_error(bytes(damaged)).code == "truncated"


def test_truncated_png() -> None:
    data = encode(camera_like(320, 240), "PNG")
    assert photo_error(data[: len(data) // 2]).code == "truncated"


def test_file_size_limit_is_checked_first() -> None:
    error = photo_error(b"\0" * 2048, PhotoSettings(max_bytes=1024))
    assert error.code == "too_large"
    assert "MB" in error.zh
    assert photo_error(b"\xff\xd8" + b"\0" * (40 * 2**20)).code == "too_large"  # the default, 40 MB


@pytest.mark.parametrize(
    "data", [png_header_only(12_000, 9_000), jpeg_declaring(12_000, 9_000)], ids=["png", "jpeg"]
)
def test_pixel_limit_is_checked_on_the_header_before_decoding(
    data: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_decoding(self: ImageFile.ImageFile) -> None:
        raise AssertionError("decoded a photo over the pixel limit")

    monkeypatch.setattr(ImageFile.ImageFile, "load", no_decoding)
    error = photo_error(data)  # 108 MP > 100 MP
    assert error.code == "too_many_pixels"
    assert "108" in error.zh


@pytest.mark.parametrize("data", [png_header_only(20_000, 10_000), jpeg_declaring(15_000, 15_000)])
def test_pillows_decompression_bomb_error_is_translated(data: bytes) -> None:
    assert photo_error(data).code == "too_many_pixels"  # over twice Pillow's limit: Pillow refuses itself


def test_pillows_decompression_bomb_warning_never_escapes() -> None:
    # 95 MP: over Pillow's warning threshold (89 MP), under a 100 MP setting and over a 50 MP one; grey,
    # so that its decode (95 MB) is within the decode budget too
    data = png_header_only(10_000, 9_500, colour_type=0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert photo_error(data, PhotoSettings(max_pixels=50_000_000)).code == "too_many_pixels"
        assert photo_error(data).code == "truncated"  # allowed, then found to carry no pixel data
    assert [w for w in caught if issubclass(w.category, Image.DecompressionBombWarning)] == []


@pytest.mark.parametrize("fmt", ["GIF", "BMP", "TIFF", "ICO"])
def test_unsupported_formats(fmt: str) -> None:
    error = photo_error(encode(camera_like(64, 48), fmt))
    assert error.code == "unsupported_format"
    assert fmt in error.en


def test_settings_are_checked() -> None:
    for bad in ({"long_edge": 10}, {"quality": 0}, {"quality": 100}, {"thumb_edge": 2000}, {"max_pixels": 0}):
        with pytest.raises(ValueError, match="must"):
            PhotoSettings(**bad)  # type: ignore[arg-type]


# -- the font --------------------------------------------------------------------------------------------
def test_the_shipped_font_renders_chinese() -> None:
    assert FONT_PATH.is_file()
    assert FONT_PATH.parent.name == "fonts"
    assert (
        (FONT_PATH.parent / "OFL.txt").read_text(encoding="utf-8").count("SIL OPEN FONT LICENSE Version 1.1")
    )
    font = ImageFont.truetype(str(FONT_PATH), 48)
    assert font.getname()[0] == "Noto Sans SC StreetPatrol"
    canvas = Image.new("L", (200, 80))
    ImageDraw.Draw(canvas).text((4, 4), "城管", font=font, fill=255)
    box = canvas.getbbox()
    assert box is not None
    assert box[2] - box[0] > 60  # two full-width glyphs

    def glyph(char: str) -> bytes:
        image = Image.new("L", (64, 64))
        ImageDraw.Draw(image).text((0, 0), char, font=font, fill=255)
        return image.tobytes()

    notdef = glyph("\uffff")
    for char in ("㐂", "𠮷", "城", "镕"):  # 镕: GB2312 misses it, GBK has it
        assert glyph(char) != notdef, char


def test_the_font_covers_gb2312_and_gbk_hanzi() -> None:
    ttLib = pytest.importorskip("fontTools.ttLib")
    with ttLib.TTFont(str(FONT_PATH), lazy=True) as font:
        cmap = font.getBestCmap()
    gb2312 = [cp for cp in range(0x4E00, 0xA000) if _encodes(cp, "gb2312")]
    assert len(gb2312) == 6763
    assert all(cp in cmap for cp in gb2312)
    assert all(cp in cmap for cp in range(0x20, 0x7F))
    assert all(ord(ch) in cmap for ch in "，。、：；？！“”《》（）·—…￥")
    assert sum(1 for cp in range(0x4E00, 0xA000) if cp in cmap and _encodes(cp, "gbk")) > 20_000


def _encodes(cp: int, codec: str) -> bool:
    try:
        chr(cp).encode(codec)
    except UnicodeEncodeError:
        return False
    return True
