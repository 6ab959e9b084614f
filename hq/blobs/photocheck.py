"""What HQ accepts as an evidence photo, checked before a blob is stored.

Phones send only the evidence files their pipeline made (``mobile.photos``): baseline or progressive JPEG
whose long edge is at most the size the phone is set to (1600 px by default, ``PHOTO_EDGE_MAX`` = 4096 at
most; HQ's ``Settings.max_photo_edge``), no comment segments, no metadata at all (the one application
segment is a plain JFIF APP0: no EXIF, so no GPS, no XMP, ICC, IPTC or maker blocks), nothing after the
end-of-image marker. Anything else is refused, whatever its hash: a camera original (EXIF with GPS),
other formats (HTML, SVG, PNG), truncated files, declared dimensions of a decompression bomb, metadata
blocks, and polyglots (a JPEG that is also a zip or carries markup in a comment). The check reads the
segment headers up to the first scan itself, then walks the markers of the rest of the file (``_scan``):
past the first scan only what a (progressive) JPEG has between its scans may follow — Huffman and
quantisation tables, restart intervals, further scans — and the one end-of-image marker is the file's
last two bytes. So a metadata block, a comment or a second file hidden between the scans is refused as
one before the first scan is.

The image is not decoded. Decoding (Pillow at 1/8 scale, as this check did before) took 2 ms of CPU per
300 KB photo, more than the rest of an upload, and caught nothing more: a truncated file lacks its
end-of-image marker, and libjpeg only warns about damaged entropy-coded data, it does not refuse it.
"""

from __future__ import annotations

import re
from pathlib import Path

MAX_SIDE = 8192
MAX_PIXELS = 40_000_000
MAX_HEADER_BYTES = 128 * 1024  # APPn segments: evidence has none but JFIF; a camera's EXIF is ≤ 64 KB
_JFIF = b"JFIF\x00"
_SOF_MARKERS = {0xC0, 0xC1, 0xC2}
#: A marker in entropy-coded data: FF followed by neither a stuffed zero, a restart marker nor a fill FF.
_MARKER = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")
#: Markers a baseline or progressive JPEG has between its scans: tables, restart interval, a next scan.
_BETWEEN_SCANS = {0xC4, 0xDB, 0xDD, 0xDA}


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


def _frame_size(data: bytes) -> tuple[tuple[int, int], int]:
    """Walk the header segments up to start-of-scan; the declared (width, height) and where the first
    scan's entropy-coded data starts."""
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
        i += 2 + length
        if marker == 0xDA:
            break
    if size is None:
        raise NotEvidence("no frame header")
    return size, i


def _scan(data: bytes, start: int) -> None:
    """Walk the markers from the first scan's data on: only tables, restart intervals and further scans
    between the scans, each segment whole, and the end of image as the file's last two bytes."""
    i = start
    while True:
        found = _MARKER.search(data, i)
        if found is None:
            raise NotEvidence("no end-of-image marker (truncated)")
        at = found.start()
        marker = data[at + 1]
        if marker == 0xD9:
            if at + 2 != len(data):
                raise NotEvidence("data after the end of the image")
            return
        if marker == 0xFE:
            raise NotEvidence("comment segment (evidence carries none)")
        if 0xE0 <= marker <= 0xEF:
            raise NotEvidence(f"APP{marker - 0xE0} metadata segment between the scans")
        if marker not in _BETWEEN_SCANS:
            raise NotEvidence(f"marker {marker:02X} where only tables or a next scan may be")
        length = int.from_bytes(data[at + 2 : at + 4], "big")
        if length < 2 or at + 2 + length > len(data):
            raise NotEvidence("broken JPEG segment")
        i = at + 2 + length


def check_evidence(path: Path, max_edge: int = MAX_SIDE) -> tuple[int, int]:
    """(width, height) of an acceptable evidence JPEG at ``path`` whose long edge is at most ``max_edge``;
    ``NotEvidence`` otherwise."""
    data = path.read_bytes()
    (width, height), scan = _frame_size(data)
    if not (0 < width <= MAX_SIDE and 0 < height <= MAX_SIDE) or width * height > MAX_PIXELS:
        raise NotEvidence(f"{width}x{height} pixels is outside what evidence can be")
    if max(width, height) > max_edge:
        raise NotEvidence(f"{width}x{height} pixels: the long edge is over {max_edge} px")
    if not data.endswith(b"\xff\xd9"):
        raise NotEvidence("data after the end of the image (or truncated)")
    _scan(data, scan)
    return width, height
