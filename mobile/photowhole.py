"""WebP and HEIC, the formats whose libraries hand over whole pictures, within the phone's decode budget
(part of the photo pipeline: only ``mobile.photos`` imports it; it owns pillow-heif).

- WebP: libwebp decodes straight to the reduced size (``mobile.photowebp``: its rescaler averages the
  rows as they are decoded, into a buffer of ours), so a lossy WebP of any size under the pixel limit
  costs a few rows and the reduced image; alpha and lossless bitstreams cost what libwebp keeps whole
  (``photowebp.decoder_bytes``), planned from the header (``webp_plan``). Where libwebp cannot be
  reached (``webp_source`` is None: a Pillow build without its symbols, or an animation whose first frame
  is not the whole canvas) Pillow's whole decode stays, planned and refused over the budget as before.
- HEIC: a grid HEIC (as cameras write it) with no crop or alpha is decoded by libheif a tile at a
  time (``mobile.photoheif``), each tile turned upright here (rotation, mirroring); a row of tiles is
  pasted into a strip of the upright picture's width and box-reduced into the reduced image, so it
  costs a row of tiles and the reduced image at any size under the pixel limit (``heif_plan``). Any
  other HEIC (or where that libheif cannot be reached: ``heif_source`` is None) is decoded whole by
  pillow-heif into its own buffer, converted to RGB and box-reduced from slices of that buffer, a band
  of rows at a time, never copied whole into a Pillow image; what libheif holds at its peak is planned
  by ``decode_plan`` (its HEIF factor, measured in bench/photos.py ``--memory``).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

from PIL import Image

from mobile import photoheif, photowebp
from mobile.photodecode import DecodePlan, decode_plan, reduced_rgb, to_rgb

try:  # HEIC/HEIF where pillow-heif installs (not on every phone build)
    import pillow_heif

    pillow_heif.register_heif_opener()
    HEIF_SUPPORTED = True
except (ImportError, OSError):  # pragma: no cover - depends on the platform
    HEIF_SUPPORTED = False

__all__ = [
    "HEIF_SUPPORTED",
    "HeifSource",
    "WebPSource",
    "WholeSource",
    "heif_plan",
    "heif_source",
    "looks_heif",
    "reduced_heif",
    "reduced_webp",
    "sniffed_format",
    "webp_plan",
    "webp_source",
    "whole_plan",
    "whole_reduced",
    "whole_source",
]


#: The ftyp brands of HEIF files (HEIC images and sequences, and the generic ``mif1`` / ``msf1``).
_HEIF_BRANDS = (b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1")


def looks_heif(data: bytes) -> bool:
    """Whether ``data`` starts as a HEIF file does (what Pillow cannot identify without pillow-heif)."""
    return data[4:8] == b"ftyp" and data[8:12] in _HEIF_BRANDS


def sniffed_format(data: bytes) -> str | None:
    """The image format ``data`` starts as, for a file Pillow could not identify: one this build of
    Pillow has no decoder for (Flet's Android Pillow has no libwebp; Pillow 10.4 knows no AVIF or JPEG
    XL; pillow-heif is not on every phone); None for a file that is no image format known here."""
    if looks_heif(data):
        return "HEIF"
    if data[4:8] == b"ftyp" and data[8:12] in (b"avif", b"avis"):
        return "AVIF"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    if data[:2] == b"\xff\x0a" or data[:12] == b"\0\0\0\x0cJXL \r\n\x87\n":
        return "JPEG XL"
    return None


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


@dataclass(frozen=True, slots=True)
class HeifSource:
    """A grid HEIC that libheif decodes here a tile at a time: the upright picture's and a tile's size."""

    size: tuple[int, int]
    tile_size: tuple[int, int]


def heif_source(data: bytes) -> HeifSource | None:
    """How HEIC ``data`` is decoded: by libheif a tile at a time, or None for pillow-heif's whole decode
    (libheif not reachable or older than 1.19; a single picture; a crop or alpha;
    a header libheif cannot read, which the whole decode then reports)."""
    if not HEIF_SUPPORTED:
        return None
    tiled = photoheif.open_tiled(data)
    if tiled is None:
        return None
    with tiled:
        return HeifSource(tiled.size, tiled.upright_tile)


#: What decoding one tile holds inside libheif besides the tile's pixels (the HEVC decoder's context
#: and picture buffers, the tile's coded bytes), a bound measured in bench/photos.py ``--memory``.
_TILE_DECODER_BYTES = 24 * 2**20


def heif_plan(source: HeifSource, target: tuple[int, int]) -> DecodePlan:
    """The memory a grid HEIC decoded a tile at a time takes, from its header: ``decode``, libheif's
    decoder and one tile (YCbCr 4:2:0 and its RGB conversion, 4.5 B a pixel); ``band``, the strip of a
    row of tiles (and up to ``factor`` rows carried over) as a Pillow image, and two copies of a tile
    (turned upright, cropped to the picture); ``reduced``, the reduced image. The factor is
    ``decode_plan``'s."""
    (width, height), (tile_width, tile_height) = source.size, source.tile_size
    factor = max(1, min(width // target[0], height // target[1]))
    reduced_width, reduced_height = _reduced_size((width, height), factor)
    return DecodePlan(
        factor=factor,
        band_rows=tile_height,
        decode=_TILE_DECODER_BYTES + tile_width * tile_height * 9 // 2,
        reduced=reduced_width * reduced_height * 4,
        band=width * (tile_height + factor) * 4 + tile_width * tile_height * 8,
    )


def _reduced_tiles(data: bytes, source: HeifSource, target: tuple[int, int]) -> Image.Image | None:
    """Grid HEIC ``data`` as 8-bit RGB box-reduced by ``heif_plan``'s factor, decoded a tile at a time:
    a row of tiles is pasted into a strip, whose rows are reduced in blocks of ``factor`` (rows short of
    a block are carried over to the next strip), so every reduced pixel averages the same source pixels
    as a reduction of the whole picture. None when libheif no longer opens it as a grid."""
    tiled = photoheif.open_tiled(data)
    if tiled is None:
        return None
    factor = heif_plan(source, target).factor
    with tiled:
        (width, height), (tile_width, tile_height) = tiled.size, tiled.upright_tile
        transposes = [Image.Transpose[name] for name in tiled.transposes]
        out = Image.new("RGB", _reduced_size((width, height), factor))
        carry: Image.Image | None = None
        reduced_top = 0
        rows = tiled.rows()
        for index, (top, tiles) in enumerate(rows):
            first, end = max(0, top), min(height, top + tile_height)  # the rows of the picture it holds
            carried = carry.height if carry is not None else 0
            strip = Image.new("RGB", (width, carried + end - first))
            if carry is not None:
                strip.paste(carry, (0, 0))
            for column, row, left in tiles:
                tile = tiled.tile(column, row)
                pixels = cast(bytes, tile.buffer)  # libheif's memory (Pillow's stubs say bytes)
                image = Image.frombuffer("RGB", tile.size, pixels, "raw", "RGB", tile.stride, 1)
                for transpose in transposes:  # tile-sized copies
                    image = image.transpose(transpose)
                box = (max(0, -left), first - top, min(tile_width, width - left), end - top)
                strip.paste(image.crop(box), (max(0, left), carried))
                del image, pixels, tile
            last = index == len(rows) - 1
            usable = strip.height if last else strip.height // factor * factor
            if usable:
                reduced = (
                    strip.reduce(factor, (0, 0, width, usable))
                    if factor > 1
                    else strip.crop((0, 0, width, usable))
                )
                out.paste(reduced, (0, reduced_top))
                reduced_top += reduced.height
                del reduced
            carry = strip.crop((0, usable, width, strip.height)) if usable < strip.height else None
            del strip
    return out


def reduced_heif(data: bytes, target: tuple[int, int], source: HeifSource | None = None) -> Image.Image:
    """HEIC ``data``'s primary picture (upright: libheif applies its rotation and mirroring) as 8-bit
    RGB box-reduced by ``decode_plan``'s factor, converted band by band from slices of pillow-heif's own
    buffer: no full-size copy of it is made (Pillow's HEIF plugin copies it whole into its image). A grid
    HEIC with a ``source`` (``heif_source``) is decoded a tile at a time instead (``_reduced_tiles``).
    Raises ``photoheif.HeifError`` (a ValueError) for a tile libheif cannot decode."""
    if source is not None:  # planned for tiles: never a whole decode instead
        tiles = _reduced_tiles(data, source, target)
        if tiles is None:
            raise photoheif.HeifError(None, "the grid could not be opened again")
        return tiles
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


# -- routing: which decoding a WebP or HEIC gets -------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class WholeSource:
    """How a WebP or HEIC (opened by Pillow, not decoded) is decoded: ``webp`` by libwebp at reduced
    size, ``heif`` a grid by libheif a tile at a time; with neither, a HEIC by pillow-heif's whole decode
    converted in bands, a WebP by Pillow's whole decode (``reduced_rgb``)."""

    image_format: str | None
    webp: WebPSource | None = None
    heif: HeifSource | None = None


def whole_source(data: bytes, image_format: str | None) -> WholeSource:
    """The decoding of ``data``, a photo Pillow opened as ``image_format`` (not a JPEG or PNG)."""
    webp = webp_source(data) if image_format == "WEBP" else None
    heif = heif_source(data) if image_format == "HEIF" else None  # a grid: tile by tile
    return WholeSource(image_format, webp, heif)


def whole_plan(source: WholeSource, mode: str, size: tuple[int, int], target: tuple[int, int]) -> DecodePlan:
    """What decoding ``source`` (of ``mode`` and ``size`` as Pillow opens it) to ``target`` costs, from its
    header: ``webp_plan``, ``heif_plan`` or, for a whole decode, ``decode_plan`` with the format's factor."""
    if source.webp is not None:
        return webp_plan(source.webp, target)
    if source.heif is not None:
        return heif_plan(source.heif, target)
    return decode_plan(mode, size, target, source.image_format)


def whole_reduced(
    data: bytes,
    image: Image.Image,
    source: WholeSource,
    target: tuple[int, int],
    orientation: Callable[[Image.Image], int],
) -> tuple[Image.Image, int]:
    """``data`` (opened as ``image``, planned by ``whole_plan``) as 8-bit RGB reduced towards ``target``,
    and its EXIF ``orientation`` (read from ``image`` where it is: with the header for a WebP or HEIC
    decoded here, after a whole decode for one Pillow decodes, whose EXIF may follow the pixels)."""
    if source.webp is not None or source.image_format == "HEIF":  # decoded at reduced size / in bands
        turn = orientation(image)  # Pillow read the EXIF chunk with the header
        image.close()  # (pillow-heif: its own copy of the file goes)
        if source.webp is not None:
            return reduced_webp(data, source.webp, target), turn
        return reduced_heif(data, target, source.heif), turn
    image.load()
    turn = orientation(image)  # not a JPEG: its EXIF may follow the pixels
    return reduced_rgb(image, target), turn  # (a new image: the EXIF is read before)
