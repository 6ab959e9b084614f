"""HQ keeps only clean evidence JPEGs: each refusal class, and the phone pipeline's output passes."""

from __future__ import annotations

import io
import zipfile
from datetime import datetime
from pathlib import Path

import pytest
from PIL import Image

from enforcement.model import LOCAL_TZ
from hq.blobs.photocheck import NotEvidence, check_evidence
from mobile.photos import PhotoSettings, Watermark, process_photo


def jpeg(size: tuple[int, int] = (320, 240), **save: object) -> bytes:
    buffer = io.BytesIO()
    Image.linear_gradient("L").resize(size).convert("RGB").save(buffer, "JPEG", **save)
    return buffer.getvalue()


def segment(marker: int, payload: bytes) -> bytes:
    return b"\xff" + bytes([marker]) + (len(payload) + 2).to_bytes(2, "big") + payload


def write(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "upload"
    path.write_bytes(data)
    return path


def test_the_phone_pipelines_evidence_passes(tmp_path: Path) -> None:
    when = datetime(2026, 11, 22, 21, 0, tzinfo=LOCAL_TZ)
    mark = Watermark(when, 34.7, 113.6, "1023", "ZD01-1", "露天烧烤")
    evidence = process_photo(jpeg((2000, 1500)), mark, PhotoSettings()).evidence
    assert check_evidence(write(tmp_path, evidence)) == (1600, 1200)


def test_a_progressive_jpeg_passes(tmp_path: Path) -> None:
    assert check_evidence(write(tmp_path, jpeg(progressive=True))) == (320, 240)


def bomb() -> bytes:
    data = bytearray(jpeg((64, 64)))
    i = 2
    while data[i + 1] not in (0xC0, 0xC2):
        i += 2 + int.from_bytes(data[i + 2 : i + 4], "big")
    data[i + 5 : i + 9] = (65500).to_bytes(2, "big") * 2
    return bytes(data)


def zip_polyglot() -> bytes:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("index.html", "<script>alert(1)</script>")
    return jpeg() + archive.getvalue()


def between_scans(marker: int, payload: bytes) -> bytes:
    """A progressive JPEG with a segment slipped in before its second scan (past the header walk)."""
    data = jpeg(progressive=True)
    first = data.index(b"\xff\xda")
    second = data.index(b"\xff\xda", first + 2)
    return data[:second] + segment(marker, payload) + data[second:]


def png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buffer, "PNG")
    return buffer.getvalue()


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"<html><script>alert(1)</script></html>", id="html"),
        pytest.param(png(), id="png"),
        pytest.param(b"", id="empty"),
        pytest.param(jpeg()[: len(jpeg()) // 2], id="truncated"),
        pytest.param(jpeg()[:-2], id="no-end-marker"),
        pytest.param(zip_polyglot(), id="zip-polyglot"),
        pytest.param(jpeg()[:2] + segment(0xFE, b"<html></html>") + jpeg()[2:], id="comment"),
        pytest.param(jpeg()[:2] + segment(0xE1, bytes(65000)) * 3 + jpeg()[2:], id="huge-exif"),
        pytest.param(bomb(), id="bomb"),
        pytest.param(jpeg() + jpeg(), id="jpeg-after-the-end"),
        pytest.param(between_scans(0xE1, b"Exif\x00\x00" + bytes(64)), id="exif-between-scans"),
        pytest.param(between_scans(0xFE, b"<html></html>"), id="comment-between-scans"),
        pytest.param(between_scans(0xD8, b""), id="image-start-between-scans"),
    ],
)
def test_anything_else_is_refused(tmp_path: Path, data: bytes) -> None:
    with pytest.raises(NotEvidence):
        check_evidence(write(tmp_path, data))


def _saved(image: Image.Image, fmt: str = "JPEG", **params: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **params)
    return buffer.getvalue()


def _scene(size: tuple[int, int]) -> Image.Image:
    image = Image.linear_gradient("L").resize(size).convert("RGB")
    image.paste((220, 20, 20), (0, 0, max(1, size[0] // 3), max(1, size[1] // 3)))
    return image


def _ycck() -> bytes:
    """A YCCK JPEG (Adobe transform 2, as print workflows write CMYK): Pillow writes CMYK only, so its
    colour components are coded by hand and the Adobe marker patched."""
    c, m, y, k = _scene((400, 300)).convert("CMYK").split()
    luma, cb, cr = Image.merge("RGB", (c, m, y)).convert("YCbCr").split()
    inverted = [band.point(lambda v: 255 - v) for band in (luma, cb, cr)]
    data = bytearray(_saved(Image.merge("CMYK", (*inverted, k)), quality=95))
    adobe = data.index(b"Adobe")
    data[adobe + 11] = 2
    return bytes(data)


def _with_gps(orientation: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x8825] = {1: "N", 2: (34.0, 44.0, 50.0), 3: "E", 4: (113.0, 37.0, 31.0)}
    return _saved(_scene((640, 480)), exif=exif.tobytes())


def _palette_with_transparency() -> bytes:
    image = _scene((320, 240)).convert("P")
    return _saved(image, "PNG", transparency=0)


PHONE_INPUTS = {
    "cmyk-jpeg": lambda: _saved(_scene((400, 300)).convert("CMYK")),
    "ycck-jpeg": _ycck,
    "progressive-jpeg": lambda: _saved(_scene((2000, 1500)), progressive=True),
    "mpo": lambda: _saved(_scene((800, 600)), "MPO", save_all=True, append_images=[_scene((200, 150))]),
    **{f"exif-gps-orientation-{o}": (lambda o=o: _with_gps(o)) for o in range(1, 9)},
    "png-16-bit": lambda: _saved(Image.linear_gradient("L").resize((300, 200)).convert("I;16"), "PNG"),
    "png-rgba": lambda: _saved(_scene((300, 200)).convert("RGBA"), "PNG"),
    "png-palette-transparency": _palette_with_transparency,
    "grey-jpeg": lambda: _saved(_scene((400, 300)).convert("L")),
    "one-bit-png": lambda: _saved(_scene((400, 300)).convert("1"), "PNG"),
    "one-pixel": lambda: _saved(Image.new("RGB", (1, 1), "red")),
    "20000x10": lambda: _saved(Image.new("RGB", (20000, 10), "red")),
    "10x20000-png": lambda: _saved(Image.new("RGB", (10, 20000), "red"), "PNG"),
}


@pytest.mark.parametrize("name", list(PHONE_INPUTS))
def test_whatever_the_phone_makes_of_real_world_photos_passes(tmp_path: Path, name: str) -> None:
    when = datetime(2026, 11, 22, 21, 0, tzinfo=LOCAL_TZ)
    mark = Watermark(when, 34.7, 113.6, "1023", "ZD01-1", "露天烧烤")
    result = process_photo(PHONE_INPUTS[name](), mark, PhotoSettings())
    assert check_evidence(write(tmp_path, result.evidence)) == (result.width, result.height)
    assert max(result.width, result.height) <= 1600
    assert not Image.open(io.BytesIO(result.evidence)).getexif()  # no EXIF at all, so no GPS
