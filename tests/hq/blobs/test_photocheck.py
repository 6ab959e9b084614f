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
