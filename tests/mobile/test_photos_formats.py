"""Photos in formats the phone does not take: each refused with what to do instead (the app's camera, or
save as JPEG), in Chinese and English, naming only formats this build reads; a format Pillow has no decoder
for in this build is called by its name, never "not an image". Flet's Android Pillow is built with libjpeg,
FreeType and zlib only: no libwebp (its WebP plugin then identifies nothing), and Pillow 10.4 knows no AVIF
or JPEG XL. Every input is made here."""

from __future__ import annotations

import struct

import pytest
from PIL import Image, WebPImagePlugin, features

from mobile import photos
from mobile.photos import PhotoError, PhotoSettings, process_photo
from tests.mobile.test_photos import camera_like, encode


def refusal(data: bytes) -> PhotoError:
    with pytest.raises(PhotoError) as err:
        process_photo(data, None, PhotoSettings(watermark=False))
    return err.value


def assert_says_what_to_do(error: PhotoError, name: str) -> None:
    assert error.code == "unsupported_format"
    assert error.field == "photos"
    for text, camera in ((error.en, "app's camera"), (error.zh, "本应用的相机")):
        assert name in text
        assert camera in text
        assert "JPEG" in text


def without_plugin(monkeypatch: pytest.MonkeyPatch, plugin: str) -> None:
    """Pillow as built without ``plugin`` (every plugin registered first, so that undoing the patch
    keeps those registered meanwhile)."""
    Image.init()
    monkeypatch.setattr(Image, "ID", [i for i in Image.ID if i != plugin])


@pytest.mark.skipif(not features.check("webp"), reason="the WebP is made with Pillow's WebP encoder")
def test_a_webp_on_a_pillow_without_libwebp_is_an_unsupported_format(monkeypatch: pytest.MonkeyPatch) -> None:
    data = encode(camera_like(320, 240), "WEBP")
    monkeypatch.setattr(WebPImagePlugin, "SUPPORTED", False)  # what Flet's Android Pillow has
    error = refusal(data)
    assert_says_what_to_do(error, "WebP")
    assert "WebP" not in error.en.split("reads")[1]  # not named as a format the phone reads


@pytest.mark.parametrize(
    ("name", "data", "plugin"),
    [
        ("AVIF", struct.pack(">I", 28) + b"ftypavif\0\0\0\0avifmif1miaf" + b"\0" * 64, "AVIF"),
        ("JPEG XL", b"\xff\x0a\xfa\x7f\x01\x90\x08" + b"\0" * 64, None),
        ("JPEG XL", b"\0\0\0\x0cJXL \r\n\x87\n" + b"\0" * 64, None),
    ],
    ids=["avif", "jpeg-xl-codestream", "jpeg-xl-container"],
)
def test_formats_pillow_cannot_identify_are_named(
    name: str, data: bytes, plugin: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    if plugin is not None:
        without_plugin(monkeypatch, plugin)
    assert_says_what_to_do(refusal(data), name)


@pytest.mark.skipif("avif" not in features.get_supported_modules(), reason="Pillow without AVIF")
def test_a_real_avif_is_refused_by_name() -> None:  # a Pillow that reads AVIF: still not evidence here
    assert_says_what_to_do(refusal(encode(camera_like(320, 240), "AVIF")), "AVIF")


def frames(fmt: str, mode: str = "RGB") -> bytes:
    first, second = camera_like(64, 48), camera_like(64, 48).rotate(180)
    if mode != "RGB":
        return encode(first.convert(mode), fmt)
    return encode(first, fmt, save_all=True, append_images=[second])


@pytest.mark.parametrize(
    ("name", "make"),
    [
        ("GIF", lambda: frames("GIF")),  # animated
        ("BMP", lambda: encode(camera_like(64, 48), "BMP")),
        ("TIFF", lambda: frames("TIFF")),  # two pages
        ("TIFF", lambda: frames("TIFF", "I;16")),  # 16-bit grey
        ("ICO", lambda: encode(camera_like(64, 48), "ICO")),
    ],
    ids=["gif-animated", "bmp", "tiff-multipage", "tiff-16bit", "ico"],
)
def test_other_image_formats_say_what_to_do(name: str, make: object) -> None:
    assert callable(make)
    assert_says_what_to_do(refusal(make()), name)


@pytest.mark.parametrize("heif", [False, True])
def test_the_refusal_names_only_the_formats_this_build_reads(
    heif: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(photos, "HEIF_SUPPORTED", heif)
    error = refusal(encode(camera_like(64, 48), "BMP"))
    assert ("HEIC" in error.en) is heif
    assert ("HEIC" in error.zh) is heif
    assert "JPEG" in error.en.split("reads")[1]


def test_a_heic_where_no_heif_decoder_is_installed_says_use_the_app_camera(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(photos, "HEIF_SUPPORTED", False)
    without_plugin(monkeypatch, "HEIF")
    heic_like = struct.pack(">I", 24) + b"ftypheic" + b"\0\0\0\0mif1heic" + b"\0" * 64
    assert_says_what_to_do(refusal(heic_like), "HEIC")


def test_an_unknown_file_is_still_not_an_image() -> None:
    # a RIFF that is no WebP (a WAV), an ISO-BMFF that is no HEIF/AVIF (an MP4 video), a PDF
    for data in (
        b"RIFF\0\0\0\0WAVEfmt " + bytes(64),
        b"\0\0\0\x18ftypmp42" + bytes(64),
        b"%PDF-1.7\n" + bytes(64),
    ):
        assert refusal(data).code == "not_image"
