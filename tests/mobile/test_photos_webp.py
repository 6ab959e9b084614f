"""WebP decoded at reduced size by libwebp (issue #14, Photos: every input under the pixel limit within a
fixed memory budget): the ctypes binding's layout, its pixels against Pillow's decode, the plan per kind
of bitstream, animations, EXIF orientation, damaged files, and the fallback to Pillow's whole decode
(planned and refused over the budget) where libwebp's symbols cannot be reached.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import io
import struct

import pytest
from PIL import Image, ImageChops, ImageDraw, ImageStat, WebPImagePlugin

from mobile import photodecode, photos, photowebp, photowhole
from mobile.photos import PhotoError, PhotoSettings, process_photo

pytestmark = pytest.mark.skipif(not photowebp.available(), reason="libwebp not reachable through Pillow")
SETTINGS = PhotoSettings()


def encode(image: Image.Image, **params: object) -> bytes:
    out = io.BytesIO()
    image.save(out, "WEBP", **params)
    return out.getvalue()


def smooth(size: tuple[int, int], alpha: bool = False) -> Image.Image:
    """Three gradients (and a fourth as alpha): no hard edge, so a scaled decode compares closely."""
    ramp = Image.linear_gradient("L").resize(size)
    image = Image.merge(
        "RGB",
        (
            ramp,
            ramp.transpose(Image.Transpose.FLIP_TOP_BOTTOM),
            ramp.transpose(Image.Transpose.FLIP_LEFT_RIGHT),
        ),
    )
    if alpha:
        image.putalpha(ramp.transpose(Image.Transpose.ROTATE_180))
    return image


def pillow_decoded(data: bytes) -> Image.Image:
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        return image.copy()


def as_image(decoded: photowebp.Decoded) -> Image.Image:
    return Image.frombuffer(
        decoded.mode, decoded.size, bytes(decoded.buffer), "raw", decoded.mode, decoded.stride, 1
    )


@pytest.fixture
def decodes(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int]]:
    """The sizes libwebp was asked to decode to; Pillow's own WebP decode fails the test."""
    seen: list[tuple[int, int]] = []
    original = photowebp.decode

    def spy(data: bytes, size: tuple[int, int], frame: tuple[int, int] | None = None) -> photowebp.Decoded:
        seen.append(size)
        return original(data, size, frame)

    def no_pillow_decode(self: object) -> None:
        raise AssertionError("Pillow decoded a WebP whole")

    monkeypatch.setattr(photowebp, "decode", spy)
    monkeypatch.setattr(WebPImagePlugin.WebPImageFile, "load", no_pillow_decode)
    return seen


# -- the binding ------------------------------------------------------------------------------------------
@pytest.mark.skipif(ctypes.sizeof(ctypes.c_void_p) != 8, reason="sizes measured on LP64")
def test_the_structures_have_libwebps_layout() -> None:
    # sizeof / offsetof printed by a C program compiled (gcc, x86_64) against decode.h of libwebp 1.4.0
    # and 1.6.0 (identical but for the ABI version 0x0209 / 0x0210); aarch64 (Android) is LP64 too
    assert ctypes.sizeof(photowebp._Features) == 40
    assert photowebp._Features.pad.offset == 20
    assert ctypes.sizeof(photowebp._RGBABuffer) == 24
    assert ctypes.sizeof(photowebp._YUVABuffer) == 80
    assert ctypes.sizeof(photowebp._DecBuffer) == 120
    assert photowebp._DecBuffer.u.offset == 16
    assert photowebp._DecBuffer.pad.offset == 96
    assert photowebp._DecBuffer.private_memory.offset == 112
    assert ctypes.sizeof(photowebp._Options) == 76
    assert photowebp._Options.use_scaling.offset == 28
    assert photowebp._Options.scaled_width.offset == 32
    assert photowebp._Options.use_threads.offset == 40
    assert photowebp._Options.pad.offset == 56
    assert ctypes.sizeof(photowebp._Config) == 240
    assert (photowebp._Config.output.offset, photowebp._Config.options.offset) == (40, 160)


def test_the_library_is_pillows_libwebp_1x() -> None:
    lib = photowebp._lib()
    assert lib is not None
    assert lib.version >> 16 == 1
    assert lib.abi == (0x0210 if lib.version >= 0x010600 else 0x0209 if lib.version >= 0x010100 else 0x0208)


@pytest.mark.parametrize("params", [{"quality": 80}, {"lossless": True}], ids=["lossy", "lossless"])
@pytest.mark.parametrize("alpha", [False, True], ids=["opaque", "alpha"])
def test_a_full_size_decode_equals_pillows(params: dict[str, object], alpha: bool) -> None:
    data = encode(smooth((801, 603), alpha), **params)
    found = photowebp.features(data)
    assert (found.width, found.height, found.has_alpha) == (801, 603, alpha)
    assert found.lossless == ("lossless" in params)
    decoded = photowebp.decode(data, (801, 603))
    assert decoded.mode == ("RGBA" if alpha else "RGB")
    reference = pillow_decoded(data).convert(decoded.mode)
    assert as_image(decoded).tobytes() == reference.tobytes()


@pytest.mark.parametrize("params", [{"quality": 80}, {"lossless": True}], ids=["lossy", "lossless"])
@pytest.mark.parametrize("alpha", [False, True], ids=["opaque", "alpha"])
@pytest.mark.parametrize("size", [(201, 151), (400, 300)])
def test_a_scaled_decode_is_pillows_decode_resized(
    params: dict[str, object], alpha: bool, size: tuple[int, int]
) -> None:
    data = encode(smooth((801, 603), alpha), **params)
    got = photodecode.to_rgb(as_image(photowebp.decode(data, size)))
    expected = photodecode.to_rgb(pillow_decoded(data)).resize(size, Image.Resampling.BOX)
    diff = ImageChops.difference(got, expected)
    # libwebp averages the lossy picture's YUV planes before converting them: a few levels apart
    assert max(high for _, high in diff.getextrema()) <= (2 if "lossless" in params else 8)
    assert max(ImageStat.Stat(diff).mean) <= (0.5 if "lossless" in params else 1.5)


def test_a_library_without_the_symbols_is_not_used() -> None:
    assert photowebp._load(None) is None
    assert photowebp._load("/nonexistent/libwebp.so") is None
    libc = ctypes.util.find_library("c")
    if libc is not None:  # a real library that lacks libwebp's decoder (a build with hidden symbols)
        assert photowebp._load(libc) is None


# -- the pipeline -----------------------------------------------------------------------------------------
def test_a_20_mp_webp_is_decoded_at_reduced_size(decodes: list[tuple[int, int]]) -> None:
    # refused before (Pillow's whole decode: 4 x the image, 320 MB); libwebp decodes it to 1667 x 1334
    data = encode(Image.new("L", (5000, 4000), 90), quality=50)
    photo = process_photo(data, None, SETTINGS)
    assert (photo.width, photo.height) == (1600, 1280)
    assert decodes == [(1667, 1334)]
    source = photowhole.webp_source(data)
    assert source is not None
    assert webp_total(source, (1600, 1280)) < 20 * 2**20
    got = Image.open(io.BytesIO(photo.evidence)).convert("L").getpixel((800, 640))
    assert abs(int(got) - 90) <= 2  # type: ignore[arg-type]


def webp_total(source: photowhole.WebPSource, target: tuple[int, int]) -> int:
    return photowhole.webp_plan(source, target).total


def features(width: int, height: int, alpha: bool = False, lossless: bool = False) -> photowebp.Features:
    return photowebp.Features(width, height, alpha, False, lossless)


def test_the_plan_follows_what_libwebp_keeps_whole() -> None:
    budget = SETTINGS.decode_budget
    target = (1600, 596)
    # lossy with no alpha: rows only, whatever the size (WebP's largest under the pixel limit)
    lossy = photowhole.webp_plan(photowhole.WebPSource(features(16383, 6100)), target)
    assert lossy.total < 32 * 2**20
    # alpha: the alpha plane and its lossless decoder's pixels (at worst 4 bytes): 5 B a pixel
    assert webp_total(photowhole.WebPSource(features(8000, 6000, alpha=True)), (1600, 1200)) > budget
    assert webp_total(photowhole.WebPSource(features(6000, 4000, alpha=True)), (1600, 1067)) <= budget
    # lossless: the whole ARGB image, 4 B a pixel
    assert webp_total(photowhole.WebPSource(features(8000, 8000, lossless=True)), (1600, 1600)) > budget
    assert webp_total(photowhole.WebPSource(features(7000, 5000, lossless=True)), (1600, 1143)) <= budget


def test_a_lossless_webp_over_the_budget_is_refused_before_decoding(decodes: list[tuple[int, int]]) -> None:
    # 6 MP lossless: 24 MB of ARGB inside libwebp, over a 16 MB budget
    small_budget = PhotoSettings(long_edge=400, thumb_edge=100, decode_budget=16 * 2**20)
    lossless = encode(smooth((3000, 2000)), lossless=True, method=0)
    with pytest.raises(PhotoError) as caught:
        process_photo(lossless, None, small_budget)
    assert caught.value.code == "too_much_memory"
    assert "WEBP" in caught.value.zh
    assert "内存" in caught.value.zh
    assert "16 MB" in str(caught.value)
    assert decodes == []
    lossy = encode(smooth((3000, 2000)), quality=70)  # the same picture, lossy: rows only
    assert process_photo(lossy, None, small_budget).width == 400
    assert decodes == [(429, 286)]  # reduced by 7 as it is decoded


def test_alpha_is_flattened_on_white_as_before(decodes: list[tuple[int, int]]) -> None:
    image = Image.new("RGBA", (3300, 2400), (200, 30, 30, 255))
    ImageDraw.Draw(image).rectangle((0, 0, 1649, 2399), fill=(0, 0, 0, 0))  # left half transparent
    data = encode(image, lossless=True)
    photo = Image.open(io.BytesIO(process_photo(data, None, SETTINGS).evidence))
    assert decodes == [(1650, 1200)]
    left = photo.getpixel((200, 600))
    right = photo.getpixel((1400, 600))
    assert all(v >= 250 for v in left)  # type: ignore[union-attr]
    assert abs(right[0] - 200) <= 8  # type: ignore[index]
    assert max(right[1], right[2]) <= 45  # type: ignore[index]


def test_exif_orientation_of_a_webp_is_applied(decodes: list[tuple[int, int]]) -> None:
    scene = Image.new("RGB", (640, 480), "white")
    draw = ImageDraw.Draw(scene)
    draw.rectangle((0, 0, 199, 159), fill=(220, 0, 0))  # red top left
    draw.rectangle((440, 0, 639, 159), fill=(0, 200, 0))  # green top right
    exif = Image.Exif()
    exif[0x0112] = 6  # stored turned, shown turned back clockwise
    data = encode(scene.transpose(Image.Transpose.ROTATE_90), lossless=True, exif=exif.tobytes())
    photo = process_photo(data, None, PhotoSettings(long_edge=160, thumb_edge=40))
    assert decodes == [(120, 160)]  # the stored (sideways) picture, reduced by 4
    upright = Image.open(io.BytesIO(photo.evidence)).convert("RGB")
    assert upright.size == (160, 120)
    red, green = upright.getpixel((16, 12)), upright.getpixel((144, 12))
    assert red[0] > 150  # type: ignore[index]
    assert red[1] < 90  # type: ignore[index]
    assert green[1] > 140  # type: ignore[index]
    assert green[0] < 90  # type: ignore[index]


# -- animations -------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("mode", "params", "bitstream"),
    [("RGB", {"lossless": True}, b"VP8L"), ("RGBA", {"quality": 90}, b"ALPH")],
    ids=["lossless", "lossy-alpha"],
)
def test_an_animation_gives_its_first_frame(
    mode: str, params: dict[str, object], bitstream: bytes, decodes: list[tuple[int, int]]
) -> None:
    frames = [Image.new(mode, (3200, 2400), colour) for colour in ((30, 60, 200, 255), (200, 60, 30, 255))]
    ImageDraw.Draw(frames[0]).rectangle((0, 0, 99, 99), fill=(0, 0, 0, 0))  # a transparent corner
    data = encode(frames[0], save_all=True, append_images=frames[1:], duration=100, **params)
    assert photowebp.features(data).has_animation
    frame = photowebp.first_frame(data)
    assert frame is not None
    assert data[frame[0] : frame[0] + 4] == bitstream
    photo = process_photo(data, None, SETTINGS)
    assert decodes == [(1600, 1200)]
    evidence = Image.open(io.BytesIO(photo.evidence))
    pixel = evidence.getpixel((800, 600))
    assert all(abs(a - b) <= 4 for a, b in zip(pixel, (30, 60, 200), strict=True))  # type: ignore[arg-type]
    if mode == "RGBA":  # flattened on white
        assert min(evidence.getpixel((10, 10))) >= 245  # type: ignore[type-var]


def u24(value: int) -> bytes:
    return value.to_bytes(3, "little")


def riff_chunk(kind: bytes, body: bytes) -> bytes:
    return kind + struct.pack("<I", len(body)) + body + b"\0" * (len(body) & 1)


def animation_with_small_first_frame() -> bytes:
    """An animated WebP (64 x 48 canvas, alpha) whose only frame, 32 x 24, is drawn at (8, 8)."""
    still = encode(Image.new("RGB", (32, 24), (200, 30, 30)), lossless=True)
    assert still[12:16] == b"VP8L"
    frame = u24(4) + u24(4) + u24(31) + u24(23) + u24(100) + b"\0" + still[12:]
    body = (
        b"WEBP"
        + riff_chunk(b"VP8X", bytes([0x12, 0, 0, 0]) + u24(63) + u24(47))  # alpha, animation
        + riff_chunk(b"ANIM", bytes(4) + b"\0\0")
        + riff_chunk(b"ANMF", frame)
    )
    return b"RIFF" + struct.pack("<I", len(body)) + body


def test_an_animation_whose_first_frame_is_not_the_canvas_falls_back_to_pillow() -> None:
    data = animation_with_small_first_frame()
    assert photowebp.first_frame(data) is None
    assert photowhole.webp_source(data) is None
    photo = Image.open(io.BytesIO(process_photo(data, None, SETTINGS).evidence))
    assert photo.size == (64, 48)
    assert all(v >= 245 for v in photo.getpixel((2, 2)))  # type: ignore[union-attr]  # canvas: white
    centre = photo.getpixel((24, 20))
    assert centre[0] > 150  # type: ignore[index]
    assert centre[1] < 90  # type: ignore[index]


def test_first_frame_reads_the_container() -> None:
    frames = [Image.new("RGB", (64, 48), colour) for colour in ("red", "blue")]
    data = encode(frames[0], save_all=True, append_images=frames[1:], duration=100, lossless=True)
    frame = photowebp.first_frame(data)
    assert frame is not None
    start = frame[0]
    assert data[start : start + 4] in (b"VP8L", b"VP8 ", b"ALPH")
    assert photowebp.features(data, frame).width == 64
    assert photowebp.first_frame(data[: start - 4]) is None  # the frame's chunk cut short
    assert photowebp.first_frame(encode(frames[0])) is None  # a still picture: no frame


# -- damaged files ----------------------------------------------------------------------------------------
def damaged() -> dict[str, bytes]:
    good = encode(smooth((640, 480)), quality=80)
    png = io.BytesIO()
    smooth((64, 48)).save(png, "PNG")
    inner = png.getvalue()
    return {
        "truncated in the bitstream": good[: len(good) // 2],
        "garbage after the header": good[:30] + bytes(range(256)) * 40,
        "a PNG inside a WebP container": b"RIFF"
        + struct.pack("<I", len(inner) + 12)
        + b"WEBPVP8 "
        + struct.pack("<I", len(inner))
        + inner,
        "lossy data labelled lossless": good[:12] + b"VP8L" + good[16:],
        "cut inside the header": good[:40],
    }


@pytest.mark.parametrize("name", list(damaged()))
def test_a_damaged_webp_says_so_in_both_languages(name: str) -> None:
    with pytest.raises(PhotoError) as caught:
        process_photo(damaged()[name], None, SETTINGS)
    assert caught.value.code == "truncated"
    assert caught.value.field == "photos"
    assert "不完整或已损坏" in caught.value.zh
    assert "incomplete or damaged" in str(caught.value)


def test_a_bitstream_cut_short_fails_inside_libwebp(decodes: list[tuple[int, int]]) -> None:
    # the header is whole, so the file reaches libwebp's decode, which finds too little data
    good = encode(smooth((640, 480)), quality=80)
    with pytest.raises(photowebp.WebPError) as caught:
        photowebp.decode(good[: len(good) // 2], (640, 480))
    assert caught.value.status == 7  # VP8_STATUS_NOT_ENOUGH_DATA
    with pytest.raises(PhotoError):
        process_photo(good[: len(good) // 2], None, SETTINGS)
    assert decodes == [(640, 480)]


# -- the fallback: Pillow's whole decode, planned -----------------------------------------------------------
def test_without_libwebps_symbols_pillows_whole_decode_is_planned_and_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(photowebp, "_lib", lambda: None)  # as a build with hidden symbols
    assert not photowebp.available()
    big = encode(Image.new("L", (5000, 4000), 90), quality=50)  # 20 MP: 320 MB to decode whole
    assert photowhole.webp_source(big) is None
    with pytest.raises(PhotoError) as caught:
        process_photo(big, None, SETTINGS)
    assert caught.value.code == "too_much_memory"
    assert "WEBP" in caught.value.zh
    loads: list[object] = []
    original = WebPImagePlugin.WebPImageFile.load

    def counted(self: WebPImagePlugin.WebPImageFile) -> object:
        loads.append(self)
        return original(self)

    monkeypatch.setattr(WebPImagePlugin.WebPImageFile, "load", counted)
    small = encode(Image.new("RGB", (4000, 3000), (20, 90, 160)), quality=50)  # 12 MP: 192 MB
    assert process_photo(small, None, SETTINGS).width == 1600
    assert loads  # Pillow's whole decode (its load runs more than once on the one image)
    assert all(image is loads[0] for image in loads)
    assert photos.decode_plan("RGB", (4000, 3000), (1600, 1200), "WEBP").total <= SETTINGS.decode_budget
