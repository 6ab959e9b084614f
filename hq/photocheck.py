"""What HQ accepts as an evidence photo, checked before a blob is stored.

Phones send only the evidence files their pipeline made (``mobile.photos``): baseline or progressive JPEG
whose long edge is at most the size the phone is set to (1600 px by default, ``PHOTO_EDGE_MAX`` = 4096 at
most; HQ's ``Settings.max_photo_edge``), no comment segments, no metadata at all (the one application
segment is a plain JFIF APP0: no EXIF, so no GPS, no XMP, ICC, IPTC or maker blocks), nothing after the
end-of-image marker. Anything else is refused, whatever its hash: a camera original (EXIF with GPS),
other formats (HTML, SVG, PNG), truncated files, declared dimensions of a decompression bomb, metadata
blocks, and polyglots (a JPEG that is also a zip or carries markup in a comment). The check reads the
segment headers itself, then decodes the image at 1/8 scale with Pillow, which still walks every
entropy-coded byte, so truncation is caught cheaply.
"""

from __future__ import annotations

import warnings
from pathlib import Path

from PIL import Image

MAX_SIDE = 8192
MAX_PIXELS = 40_000_000
MAX_HEADER_BYTES = 128 * 1024  # APPn segments: evidence has none but JFIF; a camera's EXIF is ≤ 64 KB
_JFIF = b"JFIF\x00"
_SOF_MARKERS = {0xC0, 0xC1, 0xC2}


class NotEvidence(ValueError):
    """The bytes are not an evidence JPEG HQ keeps; ``str()`` says why (English, for logs and detail)."""


def _plain_jfif(marker: int, payload: bytes) -> None:
    """Refuse an application segment unless it is a plain JFIF APP0 (its 14 bytes, or a thumbnail of
    exactly the size it declares): EXIF (and its GPS), XMP, ICC, IPTC, maker notes… are not evidence."""
    if marker == 0xE1:
        kind = "XMP" if payload.startswith(b"http://ns.adobe.com/") else "EXIF"
        raise NotEvidence(f"{kind} metadata (APP1; evidence carries none)")
    if marker == 0xE2:
        raise NotEvidence("ICC profile or other APP2 metadata (evidence carries none)")
    if marker != 0xE0 or not payload.startswith(_JFIF) or len(payload) < 14:
        raise NotEvidence(f"APP{marker - 0xE0} metadata segment (evidence carries only JFIF)")
    if len(payload) != 14 + 3 * payload[12] * payload[13]:
        raise NotEvidence("JFIF segment with extra data")


def _frame_size(data: bytes) -> tuple[int, int]:
    """Walk the header segments up to start-of-scan; the declared (width, height)."""
    if not data.startswith(b"\xff\xd8\xff"):
        raise NotEvidence("not a JPEG file")
    i, header_bytes, size = 2, 0, None
    while True:
        if i + 4 > len(data) or data[i] != 0xFF:
            raise NotEvidence("broken JPEG header")
        marker = data[i + 1]
        length = int.from_bytes(data[i + 2 : i + 4], "big")
        if length < 2 or i + 2 + length > len(data):
            raise NotEvidence("broken JPEG segment")
        if marker == 0xFE:
            raise NotEvidence("comment segment (evidence carries none)")
        if 0xE0 <= marker <= 0xEF:
            header_bytes += length
            if header_bytes > MAX_HEADER_BYTES:
                raise NotEvidence(f"metadata over {MAX_HEADER_BYTES} bytes")
            _plain_jfif(marker, data[i + 4 : i + 2 + length])
        if marker in _SOF_MARKERS:
            if length < 8:
                raise NotEvidence("broken frame header")
            height = int.from_bytes(data[i + 5 : i + 7], "big")
            width = int.from_bytes(data[i + 7 : i + 9], "big")
            size = (width, height)
        elif 0xC3 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            raise NotEvidence("unsupported JPEG coding (lossless or arithmetic)")
        if marker == 0xDA:
            break
        i += 2 + length
    if size is None:
        raise NotEvidence("no frame header")
    return size


def check_evidence(path: Path, max_edge: int = MAX_SIDE) -> tuple[int, int]:
    """(width, height) of an acceptable evidence JPEG at ``path`` whose long edge is at most ``max_edge``;
    ``NotEvidence`` otherwise."""
    data = path.read_bytes()
    width, height = _frame_size(data)
    if not (0 < width <= MAX_SIDE and 0 < height <= MAX_SIDE) or width * height > MAX_PIXELS:
        raise NotEvidence(f"{width}x{height} pixels is outside what evidence can be")
    if max(width, height) > max_edge:
        raise NotEvidence(f"{width}x{height} pixels: the long edge is over {max_edge} px")
    if not data.endswith(b"\xff\xd9"):
        raise NotEvidence("data after the end of the image (or truncated)")
    refused = (OSError, SyntaxError, ValueError, Image.DecompressionBombError, Image.DecompressionBombWarning)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path, formats=["JPEG"]) as image:
                image.draft("RGB", (max(1, width // 8), max(1, height // 8)))
                image.load()
    except refused as exc:
        raise NotEvidence(f"the image does not decode: {exc}") from exc
    return width, height
