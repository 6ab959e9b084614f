"""WebP and HEIC, the formats whose libraries hand over whole pictures, within the phone's decode budget
(part of the photo pipeline: only ``mobile.photos`` imports it; it owns pillow-heif).

- WebP: libwebp decodes straight to the reduced size (``mobile.photowebp``: its rescaler averages the
  rows as they are decoded, into a buffer of ours), so a lossy WebP of any size under the pixel limit
  costs a few rows and the reduced image; alpha and lossless bitstreams cost what libwebp keeps whole
  (``photowebp.decoder_bytes``), planned from the header (``webp_plan``). Where libwebp cannot be
  reached (``webp_source`` is None: a Pillow build without its symbols, or an animation whose first frame
  is not the whole canvas) Pillow's whole decode stays, planned and refused over the budget as before.
- HEIC: pillow-heif (libheif) decodes the whole picture into its own buffer; it is converted to RGB and
  box-reduced from slices of that buffer, a band of rows at a time (``reduced_heif``), never copied
  whole into a Pillow image. What libheif holds at its peak is planned by ``decode_plan`` (its HEIF
  factor, measured in bench/photos.py ``--memory``).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import cast

from PIL import Image

from mobile import photowebp
from mobile.photodecode import DecodePlan, decode_plan, to_rgb

try:  # HEIC/HEIF where pillow-heif installs (not on every phone build)
    import pillow_heif

    pillow_heif.register_heif_opener()
    HEIF_SUPPORTED = True
except (ImportError, OSError):  # pragma: no cover - depends on the platform
    HEIF_SUPPORTED = False

__all__ = ["HEIF_SUPPORTED", "WebPSource", "reduced_heif", "reduced_webp", "webp_plan", "webp_source"]


@dataclass(frozen=True, slots=True)
class WebPSource:
    """A WebP that libwebp decodes here: the picture's ``features`` and, for an animation, its first
    frame's bitstream (offset and length in the file)."""

    features: photowebp.Features
    frame: tuple[int, int] | None = None


def webp_source(data: bytes) -> WebPSource | None:
    """How WebP ``data`` is decoded: by libwebp at reduced size, or None for Pillow's whole decode
    (libwebp not reachable; an animation whose first frame does not cover its canvas; a header libwebp
    cannot read, which Pillow's decode then reports)."""
    if not photowebp.available():
        return None
    try:
        found = photowebp.features(data)
        if not found.has_animation:
            return WebPSource(found)
        frame = photowebp.first_frame(data)
        if frame is None:
            return None
        return WebPSource(photowebp.features(data, frame), frame)
    except photowebp.WebPError:
        return None


def _reduced_size(size: tuple[int, int], factor: int) -> tuple[int, int]:
    return -(-size[0] // factor), -(-size[1] // factor)


def webp_plan(source: WebPSource, target: tuple[int, int]) -> DecodePlan:
    """The memory a WebP decoded by libwebp takes, from its header: ``decode``, what libwebp holds and
    the output buffer; ``reduced``, that buffer as a Pillow image; ``band``, flattening alpha on white
    (two images of the reduced size). The factor is ``decode_plan``'s (the resize then starts from 1-2x
    the target)."""
    found = source.features
    factor = max(1, min(found.width // target[0], found.height // target[1]))
    width, height = _reduced_size((found.width, found.height), factor)
    channels = 4 if found.has_alpha else 3
    return DecodePlan(
        factor=factor,
        band_rows=found.height,
        decode=photowebp.decoder_bytes(found) + width * height * channels,
        reduced=width * height * 4,
        band=width * height * 8 if found.has_alpha else 0,
    )


def reduced_webp(data: bytes, source: WebPSource, target: tuple[int, int]) -> Image.Image:
    """WebP ``data`` as 8-bit RGB at ``webp_plan``'s reduced size, decoded there by libwebp (alpha
    flattened on white, as ``to_rgb`` does). Raises ``photowebp.WebPError`` (a ValueError) for a file
    libwebp cannot decode."""
    plan = webp_plan(source, target)
    found = source.features
    size = _reduced_size((found.width, found.height), plan.factor)
    decoded = photowebp.decode(data, size, source.frame)
    pixels = cast(bytes, decoded.buffer)  # any buffer does (Pillow's stubs say bytes)
    return to_rgb(
        Image.frombuffer(decoded.mode, decoded.size, pixels, "raw", decoded.mode, decoded.stride, 1)
    )


def reduced_heif(data: bytes, target: tuple[int, int]) -> Image.Image:
    """HEIC ``data``'s primary picture (upright: libheif applies its rotation and mirroring) as 8-bit
    RGB box-reduced by ``decode_plan``'s factor, converted band by band from slices of pillow-heif's own
    buffer: no full-size copy of it is made (Pillow's HEIF plugin copies it whole into its image)."""
    heif = pillow_heif.open_heif(io.BytesIO(data), convert_hdr_to_8bit=True)
    pixels = heif.data  # decodes (libheif); the size may change with it (a crop in the file)
    mode, (width, height), stride = heif.mode, heif.size, heif.stride
    plan = decode_plan(mode, (width, height), target, "HEIF")
    out = Image.new("RGB", _reduced_size((width, height), plan.factor))
    view = memoryview(pixels)
    for top in range(0, height, plan.band_rows):
        count = min(plan.band_rows, height - top)
        rows = cast(bytes, view[top * stride : (top + count) * stride])  # a slice: no copy
        band = to_rgb(Image.frombuffer(mode, (width, count), rows, "raw", mode, stride, 1))
        if plan.factor > 1:
            band = band.reduce(plan.factor)
        out.paste(band, (0, top // plan.factor))
        del rows, band
    del view, pixels, heif
    return out
