"""What decoding a photo gives and costs: part of the photo pipeline (``mobile.photos`` imports it; with
``mobile.photoresize``, the only other module allowed PIL, see tests/test_layering.py).

- the colour coding of a JPEG (``ycc_coded``: decode a camera's YCbCr JPEG as stored) and the mode the
  evidence image will have (``output_mode``); ``to_rgb``: anything else normalised to 8-bit RGB;
- for formats with no reduced-size decoding (PNG, WebP, HEIC), the cost of a decode planned from the
  header (``decode_plan``: the decoder's peak, the reduced image and one band; ``mobile.photos`` refuses
  a photo over ``decode_budget`` with it) and the conversion to RGB band by band while box-reducing
  (``reduced_rgb``: no full-size copy);
- a PNG is never decoded whole: ``png_layout`` finds its pixel data and ``reduced_png`` inflates it a
  band of rows at a time, has Pillow's own PNG decoder undo the row filters of each band, and
  box-reduces the band at once, so its memory is a band's and the reduced image's whatever its size
  (``decode_plan`` with ``bits``). Rows too long for a band to hold a reduction factor's worth of them
  (a PNG 100-1,000 times wider than tall) are reduced across a band at a time and gathered in a strip
  of a factor's rows (``_Strip``); a line (a side of a few pixels) is reduced by each side's own factor
  (``DecodePlan.box``), so the resize never starts from millions of rows; rows of megabytes in an image
  of a few hundred rows at most are unfiltered a piece of columns at a time, every row in step
  (``mobile.photopngrows``, the only module this one imports). An interlaced (Adam7) PNG is
  read pass by pass, only the passes that hold the grid of every 8th, 4th or 2nd pixel the reduction
  needs (all seven with no reduction), into that grid, then reduced: its memory adds the grid's
  (``decode_plan`` with ``interlaced``; a line's pass 1 is reduced as it is decoded, no grid). An
  animated PNG (APNG) is its IDAT image, Pillow's first frame. WebP and HEIC have no such decoding in
  Pillow: ``mobile.photowhole`` has libwebp decode a WebP at reduced size (planned by its own
  ``webp_plan``) and converts a HEIC in bands from pillow-heif's own buffer (planned here, HEIF factor).
"""

from __future__ import annotations

import math
import struct
from collections.abc import Iterator
from dataclasses import dataclass

from PIL import Image

from mobile.photopngrows import CURSOR_BYTES, column_pieces, png_bands
from mobile.photopngrows import EXACT_MODES as _EXACT_MODES
from mobile.photopngrows import LOW_BYTES as _LOW_BYTES
from mobile.photopngrows import Inflater as _Inflater

__all__ = [
    "DecodePlan",
    "PngLayout",
    "decode_plan",
    "output_mode",
    "png_layout",
    "reduced_png",
    "reduced_rgb",
    "to_rgb",
    "ycc_coded",
]


#: Component ids a JPEG encoder gives R, G, B planes (libjpeg takes them as RGB, not YCbCr).
_RGB_COMPONENT_IDS = (82, 71, 66)


def ycc_coded(image: Image.Image) -> bool:
    """Whether a colour JPEG stores YCbCr, so that it can be decoded as such with no conversion.

    libjpeg takes three components as RGB only when an Adobe marker says transform 0 or the
    component ids are 'R', 'G', 'B' (which one wins differs between libjpeg versions); either
    means RGB here, so a YCbCr decode is never asked of an RGB-coded file (libjpeg refuses it).
    """
    layer = getattr(image, "layer", None)  # JpegImageFile: (id, h, v, table) per component
    if image.mode != "RGB" or not isinstance(layer, list) or len(layer) != 3:
        return False
    if "adobe" in image.info and image.info.get("adobe_transform") == 0:
        return False
    return tuple(component[0] for component in layer) != _RGB_COMPONENT_IDS


def output_mode(image: Image.Image) -> str:
    """The mode the evidence image will have once ``image`` (opened, drafted) is decoded."""
    return "YCbCr" if image.mode == "YCbCr" else "RGB"


def to_rgb(image: Image.Image) -> Image.Image:
    """8-bit RGB: 16-bit grey scaled (not clipped), palette/alpha flattened on white, CMYK converted.
    A YCbCr image (a JPEG decoded as stored) stays YCbCr: the rest of the pipeline takes both."""
    if image.mode == "YCbCr":
        return image
    if image.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        image = image.convert("I").point(lambda v: v * (1 / 256)).convert("L")
    if image.mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    if image.mode in ("RGBA", "LA", "La", "RGBa", "PA"):
        rgba = image.convert("RGBA")
        flat = Image.new("RGB", rgba.size, (255, 255, 255))
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat
    return image if image.mode == "RGB" else image.convert("RGB")


# -- the decode budget (formats with no reduced-size decoding) ------------------------------------------
#: Bytes per pixel of Pillow's own storage for a mode (RGB is stored in 4 bytes, "1" in one).
_MODE_BYTES = {"1": 1, "L": 1, "P": 1, "I;16": 2, "I;16B": 2, "I;16L": 2, "I;16N": 2}
#: How many times the decoded image's size (as Pillow stores it: 4 bytes a pixel for RGB) a format's
#: decoder holds at its peak. PNG decodes straight into Pillow's image; Pillow's WebP decoder (libwebp's
#: animation decoder, used only where ``mobile.photowebp`` cannot reach libwebp) keeps its own RGBA
#: canvas and hands a copy of it over as bytes before they are unpacked into the image (measured: 16 B
#: per pixel for an RGB WebP, 4 x the image). A HEIC is converted from pillow-heif's own buffer in bands
#: (``mobile.photowhole.reduced_heif``): libheif holds the decoded YCbCr 4:2:0 picture (1.5 B a pixel)
#: and its RGB conversion (3 B) at once; the whole pipeline's peak above the process floor measured 4.35
#: to 4.76 B a pixel (12, 48 and 100 MP, single-image and 512-px grid HEICs: bench/photos.py --memory),
#: planned at 4.8 B (1.2 x 4) plus the reduced image and a band.
_FORMAT_FACTOR = {"PNG": 1.0, "WEBP": 4.0, "HEIF": 1.2}
#: Source rows converted at a time: about this many source pixels per band.
_BAND_SOURCE_PIXELS = 1_000_000
#: A PNG's rows (an interlaced one's passes') are decoded in bands of about this many pixels: a band's
#: decoding holds several copies of it (measured at 99.9 MP, against a million: 45 MB less at the peak
#: for 16-bit RGBA, 28 MB for RGBA, and no slower).
_PNG_BAND_PIXELS = 250_000
#: Rows over this many bytes (16-bit RGBA: 131,072 pixels; 1-bit: 8 million) in an image of at most
#: ``_PIECE_ROWS`` rows are unfiltered a piece of columns at a time, every row in step
#: (``mobile.photopngrows``): a one-row band of them holds 15-16 times a row's bytes.
_LONG_ROW_BYTES = 2**20
_PIECE_ROWS = 256
#: Adam7's seven passes, in the order an interlaced PNG stores them: (first column, first row, column
#: step, row step).
_ADAM7 = ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2))
#: The grid passes 1..n of Adam7 fill together: every (column step, row step) pixel (passes 1, 1-3, 1-5
#: and 1-7 hold every 8th, 4th, 2nd and every pixel; 1-2, 1-4 and 1-6 every other row of the next one).
_ADAM7_GRIDS = ((8, 8), (4, 8), (4, 4), (2, 4), (2, 2), (1, 2), (1, 1))


@dataclass(frozen=True, slots=True)
class DecodePlan:
    """What decoding a non-JPEG photo costs, in bytes, before any pixel is decoded.

    ``decode``: the decoder's peak (the decoded image as Pillow stores it, times the format's factor);
    ``reduced``: the RGB image reduced by ``factor`` (box average) that the resize starts from;
    ``band``: one band of source rows, cropped and converted to RGB (two images of that size).
    ``total`` is what the photo holds at once at most, and is checked against ``decode_budget``.
    For a PNG decoded in bands (``banded``), ``decode`` is what one band's decoding holds instead: its
    inflated rows, the stream handed to the decoder, the decoded band (twice for 16-bit colour), and
    ``band`` the decoded band and the RGB conversion of a piece of it at a time. A PNG is reduced by
    ``box`` (columns, rows): ``factor`` both ways, except for a line (a target side of a pixel or two)
    whose long side the uniform factor would leave over twice the target: then each side's own factor.
    Where a band holds fewer rows than the box (rows too long for a band to hold a box's worth), each
    band is reduced across at once and its rows gathered in a ``strip`` (the RGB image of the reduced
    width and a box's rows), reduced down once full. Rows of megabytes in an image of a few hundred rows
    at most are decoded ``columns`` at a time instead, every row in step (``mobile.photopngrows``):
    ``decode`` is then the rows' cursors and a piece of each row, ``band`` the piece as an image.
    An interlaced PNG is decoded pass by pass into the RGB grid of every ``step``-th column and
    ``row_step``-th row (``grid``: that RGB image's bytes, none when the grid is the reduced image),
    ``band_rows`` and ``band`` of the widest pass it reads.
    """

    factor: int
    band_rows: int
    decode: int
    reduced: int
    band: int
    banded: bool = False
    step: int = 1
    grid: int = 0
    box: tuple[int, int] = (0, 0)
    row_step: int = 0
    strip: int = 0
    columns: int = 0

    @property
    def total(self) -> int:
        return self.decode + self.reduced + self.band + self.grid + self.strip

    @property
    def factors(self) -> tuple[int, int]:
        """The reduction across and down (``box``; ``factor`` both ways where no box is set)."""
        return self.box if self.box[0] else (self.factor, self.factor)

    @property
    def steps(self) -> tuple[int, int]:
        """An interlaced PNG's grid: every ``step``-th column and ``row_step``-th row."""
        return self.step, self.row_step or self.step


def decode_plan(
    mode: str,
    size: tuple[int, int],
    target: tuple[int, int],
    image_format: str | None,
    bits: int | None = None,
    interlaced: bool = False,
) -> DecodePlan:
    """The plan for a source of ``mode`` and ``size`` (as Pillow opens it) resized to ``target``.

    The reduction factor is the largest integer that keeps the reduced image at least ``target`` (as a
    JPEG's DCT scaling does: the resize then starts from 1-2x the target); conversions to RGB are made
    band by band on the way (crop, convert, reduce, paste), so no full-size copy of the source is made.
    ``bits`` (bits per pixel as stored) says the source is a PNG decoded in bands (``reduced_png``): no
    whole decode, one band's decoding at a time, reduced by ``box`` (see ``DecodePlan``); with
    ``interlaced``, of the Adam7 passes the reduction needs (``step``, ``grid``: see ``DecodePlan``),
    whose widest pass is the one that bands are made of.
    """
    width, height = size
    across, down = max(1, width // target[0]), max(1, height // target[1])
    factor = min(across, down)
    if bits is None or max(across, down) < 2 * factor:
        across = down = factor
    reduced_w, reduced_h = -(-width // across), -(-height // down)
    step, row_step, grid, strip, columns = 1, 0, 0, 0, 0
    mode_bytes = _MODE_BYTES.get(mode, 4)
    if bits is not None and interlaced:
        passes = _adam7_passes(size, (reduced_w, reduced_h))
        step, row_step = _ADAM7_GRIDS[passes - 1]
        width = max(_pass_size(width, x0, dx) for x0, _, dx, _ in _ADAM7[:passes])
        rows = max(1, _PNG_BAND_PIXELS // max(1, width))
        grid_w, grid_h = -(-size[0] // step), -(-size[1] // row_step)
        # the grid, unless it is the reduced image itself
        grid = grid_w * grid_h * 4 if (grid_w, grid_h) != (reduced_w, reduced_h) else 0
        if passes == 1 and across != down:  # a line: pass 1 reduced as it comes (``_line_box``)
            (pre_w, pre_h), rows = _line_box((grid_w, grid_h), (reduced_w, reduced_h))
            grid = -(-grid_w // pre_w) * -(-grid_h // pre_h) * 4  # the grid reduced, before its resize
            if _in_pieces(grid_w, grid_h, bits):  # pass 1's rows of megabytes: in pieces, in step
                columns, rows = _piece_width(grid_w, grid_h, pre_w), grid_h
            elif rows < pre_h:
                strip = -(-grid_w // pre_w) * (pre_h + rows) * 4
        band = width * min(rows, height) * (mode_bytes + 4)
    elif bits is not None and _in_pieces(width, height, bits):  # every row in step, in pieces
        columns, rows = _piece_width(width, height, across), height
    elif bits is not None:
        rows = max(1, _PNG_BAND_PIXELS // max(1, width))
        if rows >= down:
            rows = rows // down * down
        else:  # each band reduced across, its rows gathered in a strip of a box's rows
            strip = reduced_w * (down + rows) * 4
        piece = _piece_columns(width, min(rows, height), across)
        band = width * (min(rows, height) + 1) * mode_bytes + piece * min(rows, height) * 8
    else:
        rows = max(factor, _BAND_SOURCE_PIXELS // max(1, width) // factor * factor)
        band = width * min(rows, height) * (mode_bytes + 4)
    band_rows = min(rows, height)
    if bits is None:
        decode = int(width * height * mode_bytes * _FORMAT_FACTOR.get(image_format or "", 2.0))
    elif columns:  # each row's cursor, a piece of each row, one row's piece decoded (copies of two rows)
        piece_bytes = -(-columns * bits // 8)
        decode = rows * (CURSOR_BYTES + piece_bytes) + 16 * (piece_bytes + 8) + 2 * 2**20
        band = columns * rows * (mode_bytes + 8)  # the piece as an image, converted to RGB
    else:  # rows inflated, the stream rebuilt, its decoded stand-in and bytes; 16-bit colour twice;
        # and what the band's last rows leave behind (copies of a few rows: the previous row kept, the
        # stand-in's bytes made in pieces; measured 15-16 rows' bytes at the peak for one-row bands of
        # 1-3 million pixels)
        raw_row = (width * bits + 7) // 8 + 1
        decode = (band_rows + 1) * (4 * raw_row + (2 * width * 4 if bits > 32 else 0)) + 8 * raw_row
    return DecodePlan(
        factor=factor,
        band_rows=rows,
        decode=decode,
        reduced=reduced_w * reduced_h * 4,
        band=band,
        banded=bits is not None,
        step=step,
        grid=grid,
        box=(across, down) if bits is not None else (0, 0),
        row_step=row_step if row_step != step else 0,
        strip=strip,
        columns=columns,
    )


def _in_pieces(width: int, height: int, bits: int) -> bool:
    """Whether a plain PNG's rows are decoded a piece of columns at a time (``DecodePlan.columns``)."""
    return (width * bits + 7) // 8 > _LONG_ROW_BYTES and height <= _PIECE_ROWS


def _piece_width(width: int, height: int, across: int) -> int:
    """The columns of a piece with every row: about a band's pixels, a multiple of 8 (whole bytes at
    any depth) and of the reduction ``across`` (a piece's reduction is the image's)."""
    align = math.lcm(8, across)
    return min(-(-width // align) * align, max(align, _PNG_BAND_PIXELS // height // align * align))


def _piece_columns(width: int, rows: int, across: int) -> int:
    """How many columns of a band of ``rows`` rows are converted to RGB at a time: about a band's pixels,
    a multiple of the reduction ``across`` (so a piece's reduction is the band's, pixel for pixel)."""
    if width * rows <= _PNG_BAND_PIXELS:
        return width
    return min(width, max(across, _PNG_BAND_PIXELS // rows // across * across))


def _adam7_passes(size: tuple[int, int], reduced: tuple[int, int]) -> int:
    """How many Adam7 passes an interlaced PNG of ``size`` reduced to ``reduced`` reads: the fewest
    whose grid (``_ADAM7_GRIDS``) has at least the reduced image's columns and rows."""
    for passes, (step, row_step) in enumerate(_ADAM7_GRIDS, start=1):
        if -(-size[0] // step) >= reduced[0] and -(-size[1] // row_step) >= reduced[1]:
            return passes
    return len(_ADAM7_GRIDS)


def _pass_size(extent: int, offset: int, step: int) -> int:
    """How many pixels of ``extent`` an Adam7 pass starting at ``offset`` every ``step`` holds."""
    return max(0, -(-(extent - offset) // step))


def reduced_rgb(image: Image.Image, target: tuple[int, int]) -> Image.Image:
    """``image`` (decoded, not a YCbCr JPEG) as 8-bit RGB, box-reduced by ``decode_plan``'s factor,
    converted in bands of source rows so that no full-size copy of it is ever made.

    A band's height is a multiple of the factor, so every reduced pixel averages the same source pixels
    as a reduction of the whole converted image would: the result is the same, pixel for pixel.
    """
    plan = decode_plan(image.mode, image.size, target, image.format)
    if image.mode == "RGB" or image.mode == "YCbCr":
        return image.reduce(plan.factor) if plan.factor > 1 else image
    width, height = image.size
    if plan.factor == 1 and plan.band_rows >= height:
        return to_rgb(image)
    out = Image.new("RGB", (-(-width // plan.factor), -(-height // plan.factor)))
    for top in range(0, height, plan.band_rows):
        band = to_rgb(image.crop((0, top, width, min(height, top + plan.band_rows))))
        if plan.factor > 1:
            band = band.reduce(plan.factor)
        out.paste(band, (0, top // plan.factor))
    return out


# -- PNG in bands -----------------------------------------------------------------------------------------
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
#: Channels per PNG colour type.
_PNG_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}


@dataclass(frozen=True, slots=True)
class PngLayout:
    """Where a PNG's pixels are: ``idat`` (its IDAT chunks' bodies, in order), the rawmode Pillow
    unpacks them with, bits per pixel and bytes per row (filter byte excluded); ``exif`` from an eXIf
    chunk (with Pillow's ``Exif\\0\\0`` prefix), wherever it is in the file. ``interlaced``: stored as
    Adam7's seven passes; ``whole``: the last IDAT chunk is complete (the end of the file does not cut
    it)."""

    rawmode: str
    bits: int
    row_bytes: int
    idat: tuple[memoryview, ...]
    exif: bytes | None
    interlaced: bool = False
    whole: bool = True


def png_layout(data: bytes, image: Image.Image) -> PngLayout | None:
    """The layout of PNG ``data`` (opened by Pillow as ``image``, not decoded), or None when it is not
    decoded in bands: a header Pillow read another way. An animated PNG (APNG) is its IDAT image, the
    one every viewer without animation shows and Pillow's first frame: the frames' chunks are skipped.
    A chunk cut short by the end of the file keeps what is there (the decode then says it is truncated,
    as Pillow's would)."""
    if data[:8] != _PNG_SIGNATURE or data[12:16] != b"IHDR" or len(data) < 33:
        return None
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", data[16:29])
    tile = getattr(image, "tile", None) or []
    if interlace > 1 or colour not in _PNG_CHANNELS or len(tile) != 1 or image.size != (width, height):
        return None
    codec, extents, _, rawmode = tile[0][:4]
    if codec != "zip" or tuple(extents) != (0, 0, width, height) or not isinstance(rawmode, str):
        return None
    bits = depth * _PNG_CHANNELS[colour]
    if bits > 8 and bits // 8 not in _EXACT_MODES and rawmode not in _LOW_BYTES:
        return None
    view = memoryview(data)
    idat: list[memoryview] = []
    exif = None
    whole = True
    pos = 8
    while pos + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        body = view[pos + 8 : pos + 8 + length]
        if kind == b"IDAT":
            idat.append(body)
            whole = len(body) == length
        if kind == b"eXIf":
            exif = b"Exif\x00\x00" + bytes(body)
        elif kind == b"IEND":
            break
        pos += 12 + length
    return PngLayout(rawmode, bits, (width * bits + 7) // 8, tuple(idat), exif, bool(interlace), whole)


def _png_bands(
    layout: PngLayout,
    image: Image.Image,
    rows: int,
    source: _Inflater | None = None,
    size: tuple[int, int] | None = None,
) -> Iterator[Image.Image]:
    """The PNG's rows, ``rows`` at a time (``mobile.photopngrows.png_bands``): of ``size`` read from
    ``source`` (an interlaced PNG's pass, the next in its stream), by default the whole image from the
    start of the IDAT stream."""
    source = source or _Inflater(layout.idat)
    return png_bands(source, image, rows, size or image.size, layout.bits, layout.rawmode)


def reduced_png(layout: PngLayout, image: Image.Image, target: tuple[int, int]) -> Image.Image:
    """A PNG (``image`` opened, not decoded; ``layout`` from ``png_layout``) as 8-bit RGB box-reduced by
    ``decode_plan``'s ``box``, decoded band by band: for a non-interlaced one, the same pixels as
    ``reduced_rgb`` of the whole decoded image (reduced by that box) with never more than a band of it in
    memory, or within a level of them where rows too long for a band are gathered in a strip
    (``_Strip``); for an interlaced one, see ``_reduced_adam7``."""
    plan = decode_plan(image.mode, image.size, target, "PNG", layout.bits, layout.interlaced)
    if layout.interlaced:
        return _reduced_adam7(layout, image, plan)
    if plan.columns:  # rows of megabytes: a piece of columns at a time, every row in step
        source = _Inflater(layout.idat)
        pieces = column_pieces(source, image, image.size, layout.bits, layout.rawmode, plan.columns)
        return _reduced_pieces(pieces, image.size, plan.factors, plan.columns)
    return _reduced_bands(_png_bands(layout, image, plan.band_rows), image.size, plan.factors, plan.band_rows)


def _reduced_pieces(
    pieces: Iterator[Image.Image], size: tuple[int, int], box: tuple[int, int], columns: int
) -> Image.Image:
    """The image of ``size`` whose ``pieces`` (every row, ``columns`` across, a multiple of the box's)
    come left to right, as 8-bit RGB box-reduced by ``box``: the pixels of the whole image reduced."""
    across, down = box
    out = Image.new("RGB", (-(-size[0] // across), -(-size[1] // down)))
    for left, piece in zip(range(0, size[0], columns), pieces, strict=True):
        rgb = to_rgb(piece)
        del piece
        out.paste(rgb.reduce(box) if box != (1, 1) else rgb, (left // across, 0))
        del rgb
    return out


def _reduced_bands(
    bands: Iterator[Image.Image], size: tuple[int, int], box: tuple[int, int], rows: int
) -> Image.Image:
    """The image of ``size`` whose ``bands`` (of ``rows`` rows, the last one fewer) come in order, as
    8-bit RGB box-reduced by ``box`` (across, down): each band converted a piece of columns at a time (a
    multiple of ``across``) and reduced at once; where ``rows`` is under ``down``, reduced across and
    gathered in a ``_Strip``."""
    width, height = size
    across, down = box
    out = Image.new("RGB", (-(-width // across), -(-height // down)))
    strip = _Strip(out, down) if rows < down else None
    top = 0
    for band in bands:
        # each piece reduced at once: across only when its rows go to the strip
        piece_box = (across, 1 if strip is not None else down)
        columns = _piece_columns(width, band.height, across)
        reduced = Image.new("RGB", (-(-width // across), -(-band.height // piece_box[1])))
        for left in range(0, width, columns):
            piece = band.crop((left, 0, min(width, left + columns), band.height)) if columns < width else band
            rgb = to_rgb(piece)
            del piece
            if piece_box != (1, 1):
                rgb = rgb.reduce(piece_box)
            reduced.paste(rgb, (left // across, 0))
            del rgb
        del band
        if strip is not None:
            strip.add(reduced)
        else:
            out.paste(reduced, (0, top // down))
            top += reduced.height * down
    if strip is not None:
        strip.finish()
    return out


class _Strip:
    """Rows of a PNG already reduced across, gathered ``down`` at a time and reduced down into ``out``
    (its rows in order, from the top): for rows too long for a band to hold ``down`` of them. Each
    reduced pixel is the average of the averages across: within a level of the box average of the same
    pixels (two roundings instead of one)."""

    def __init__(self, out: Image.Image, down: int) -> None:
        self.out, self.down = out, down
        self.rows = Image.new("RGB", (out.width, down))
        self.filled = 0
        self.top = 0

    def add(self, reduced: Image.Image) -> None:
        done = 0
        while done < reduced.height:
            take = min(reduced.height - done, self.down - self.filled)
            self.rows.paste(reduced.crop((0, done, reduced.width, done + take)), (0, self.filled))
            self.filled += take
            done += take
            if self.filled == self.down:
                self._flush()

    def _flush(self) -> None:
        rows = self.rows if self.filled == self.down else self.rows.crop((0, 0, self.out.width, self.filled))
        self.out.paste(rows.reduce((1, self.filled)), (0, self.top))
        self.top += 1
        self.filled = 0

    def finish(self) -> None:
        """Reduce the last rows, fewer than ``down`` (as a box reduction's last row averages them)."""
        if self.filled:
            self._flush()


def _reduced_adam7(layout: PngLayout, image: Image.Image, plan: DecodePlan) -> Image.Image:
    """An interlaced PNG as ``reduced_png`` makes it, from only the Adam7 passes its reduction needs.

    Pass p of the seven is an image of its own (every 8th, 4th or 2nd pixel of some rows and columns),
    stored after the one before in the IDAT stream. Passes 1 to n together hold the pixels of a grid
    (``_ADAM7_GRIDS``: passes 1, 1-3, 1-5 and 1-7 every 8th, 4th, 2nd and every row and column): the
    grid of ``plan.steps``, the fewest passes whose grid has the reduced image's columns and rows (for
    a square reduction: the largest step not over the reduction factor). Those passes are inflated and
    decoded a band of rows at a time (``_png_bands``, each pass from its own first row), converted to
    RGB and scattered into the grid; the stream is not inflated further. The grid is then box-reduced to
    the size ``reduced_png`` gives (a line's by an integer reduction first, then a box resize of under
    2x: a box resize's weights take 8 bytes per grid row it spans).
    So each reduced pixel averages one pixel of each ``step`` x ``row_step`` block of the source, its top
    left one, not all of them (a sampled box filter: the image moves by less than half a reduced pixel, and
    detail finer than the step can alias); with no reduction, all seven passes: the whole image, exactly.
    With the default 1600 px target the largest grid is about 10 MP (factors 1, 3, 7 and 15 read 4x
    the reduced image's pixels), 6.2 MP at 10,000 x 9,990.
    Passes not read are not checked: a file cut within its pixel data (``layout.whole`` false) is
    refused as a plain one cut short would be.
    """
    width, height = image.size
    step, row_step = plan.steps
    passes = _ADAM7_GRIDS.index((step, row_step)) + 1
    if passes < len(_ADAM7) and not layout.whole:
        raise ValueError("PNG data ends before its last row")
    across, down = plan.factors
    size = (-(-width // across), -(-height // down))
    source = _Inflater(layout.idat)
    if passes == 1 and across != down:  # a line from pass 1 alone: its grid, reduced as it is decoded
        grid = (_pass_size(width, 0, 8), _pass_size(height, 0, 8))
        pre, rows = _line_box(grid, size)
        if plan.columns:  # rows of megabytes: a piece of columns at a time, every row in step
            pieces = column_pieces(source, image, grid, layout.bits, layout.rawmode, plan.columns)
            out = _reduced_pieces(pieces, grid, pre, plan.columns)
        else:
            out = _reduced_bands(_png_bands(layout, image, rows, source, grid), grid, pre, rows)
        return out if out.size == size else out.resize(size, Image.Resampling.BOX)
    out = Image.new("RGB", (-(-width // step), -(-height // row_step)))
    for x0, y0, dx, dy in _ADAM7[:passes]:
        pass_w, pass_h = _pass_size(width, x0, dx), _pass_size(height, y0, dy)
        if not pass_w or not pass_h:
            continue  # an empty pass has no rows in the stream
        # the pass's pixel (i, j) is the grid's (left + i * apart, first + j * below): a row is spread
        # (nearest: each pixel ``apart`` times) and pasted through a mask of every ``apart``-th pixel
        left, apart, first, below = x0 // step, dx // step, y0 // row_step, dy // row_step
        spread = (pass_w * apart, 1)
        mask = Image.frombytes("L", spread, (b"\xff" + bytes(apart - 1)) * pass_w) if apart > 1 else None
        rows = max(1, _PNG_BAND_PIXELS // pass_w)
        bands = _png_bands(layout, image, rows, source, (pass_w, pass_h))
        for top, band in zip(range(0, pass_h, rows), bands, strict=True):
            rgb = to_rgb(band)
            if below == 1 and mask is None:
                out.paste(rgb, (left, first + top))
                continue
            for j in range(band.height):
                row = rgb.crop((0, j, pass_w, j + 1))
                if mask is not None:
                    row = row.resize(spread, Image.Resampling.NEAREST)
                out.paste(row, (left, first + (top + j) * below), mask)
    del source
    if out.size == size:
        return out
    if across % step == 0 and down % row_step == 0:
        return out.reduce((across // step, down // row_step))
    if across != down:  # a line: an integer reduction first, so that the box resize spans under 2x
        out = out.reduce(_line_box(out.size, size)[0])
        if out.size == size:
            return out
    return out.resize(size, Image.Resampling.BOX)


def _line_box(grid: tuple[int, int], size: tuple[int, int]) -> tuple[tuple[int, int], int]:
    """An interlaced line's grid reduced to at least ``size``: the integer box (across, down) that
    leaves it under 2x ``size`` (a box resize does the rest), and the rows of its bands."""
    box = (max(1, grid[0] // size[0]), max(1, grid[1] // size[1]))
    rows = max(1, _PNG_BAND_PIXELS // max(1, grid[0]))
    return box, rows // box[1] * box[1] if rows >= box[1] else rows
