"""Evidence photos: any phone photo in, a small, upright, watermarked, hash-identified JPEG out.

With its resize jobs (``mobile.photoresize``), its decode plan and colour conversions
(``mobile.photodecode``) and its colour-profile conversion (``mobile.photocolour``), the only code that
imports PIL (Pillow 10.4 API: Flet's Android build ships that version, built with libjpeg, FreeType and
zlib only: no littlecms, no libwebp). The pipeline:

1. refuse what cannot be a photo before decoding it: empty files, files over ``max_bytes``, headers that
   declare more than ``max_pixels`` (Pillow's own decompression-bomb checks are translated, never leaked);
2. decode at reduced size when the source is much larger than the target: JPEG DCT scaling (``draft``),
   asking for the aspect-correct target so both dimensions fit (in the stored orientation), then a
   bicubic resize to ``long_edge`` (other formats: an integer ``reduce`` first when over 3x the target).
   A YCbCr-coded JPEG (every camera's) is decoded as YCbCr, with no colour conversion, and stays so: the
   JPEG encoder takes YCbCr as it is;
   A PNG is decoded a band of rows at a time and each band box-reduced at once (an interlaced one: only
   the Adam7 passes its reduction needs; an animated one: its IDAT image) (``mobile.photodecode.
   reduced_png``: never the whole image in memory); a WebP or HEIC is decoded at reduced size, a tile
   at a time or converted in bands from its library's buffer (``mobile.photowhole``, which chooses).
   Every decode's cost is planned from the header first (``decode_plan``, ``photowhole.whole_plan``)
   and a photo over ``decode_budget`` (256 MB) is refused before decoding; what is decoded whole is
   converted to RGB band by band while it is box-reduced (no whole-image conversion or turn);
3. normalise anything else to RGB (CMYK, 16-bit, palette, alpha flattened on white); resize and apply the
   EXIF orientation together, as jobs shared between the caller and two helper threads: horizontal
   bands, each turned on its own (the turn moves the small image, never the source); for YCbCr, bands
   of the luma and one job per colour plane, made at half size (what the encoder's 4:2:0 keeps). A
   camera JPEG is resized while it decodes: the decoder gets the file in pieces, and the rows it has
   finished are resized by a helper meanwhile (``_decode_streaming``). Colours coded for another RGB
   space than sRGB (an embedded Display P3 or Adobe RGB profile) are then converted to sRGB
   (``mobile.photocolour``), since the profile is not kept;
4. the thumbnail from the upright image; burn in the watermark (``mobile.watermark.Watermark``: time
   with zone, GPS or 无定位, badge, case number, violation) with the shipped CJK font, encode a
   progressive optimised JPEG with no metadata at all (no EXIF, ICC, XMP or comment: the app records
   what it needs in its database). The watermark's text is rendered while the photo decodes: it needs
   only the output size, which a JPEG's header and EXIF give before any pixel is decoded;
5. SHA-256 of the original bytes (hashed in a thread while decoding) and of the evidence file, whose hash is
   the photo's identity from phone to HQ.

Where the time goes (bench/photos.py prints it per stage): for a 48 MP JPEG, decoding at 1/4 scale is
about four fifths of the time and cannot be shortened (the entropy decoding of all the file's bytes,
one thread); the resize runs alongside it but for its last rows; then the progressive optimised encode,
about a tenth.
"""

from __future__ import annotations

import hashlib
import io
import queue
import warnings
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from typing import IO, cast

from fontTools.ttLib import TTFont
from PIL import Image, ImageDraw, ImageFile, ImageFont, WebPImagePlugin

from mobile import photoerrors
from mobile.photocolour import to_srgb
from mobile.photodecode import DecodePlan, PngLayout, decode_plan, png_layout, reduced_png
from mobile.photodecode import output_mode as _output_mode
from mobile.photodecode import to_rgb as _to_rgb
from mobile.photodecode import ycc_coded as _ycc_coded
from mobile.photoerrors import PhotoError
from mobile.photoresize import Jobs, Pieces, Resize, Stream, resize_upright, serve, upright_size
from mobile.photowhole import (
    HEIF_SUPPORTED,
    WholeSource,
    sniffed_format,
    whole_plan,
    whole_reduced,
    whole_source,
)
from mobile.watermark import Watermark
from patrollog.style import FALLBACK_FONTS, MAIN_FONT_FILE

FONT_FILE = MAIN_FONT_FILE
#: The font asset as the Flet app registers it (relative to the assets directory).
FONT_ASSET = f"fonts/{FONT_FILE}"
_HERE = Path(__file__).resolve().parent
#: The CJK font file the watermark uses: the app's own assets (packaged app) or the repository's.
FONT_PATH = next(
    (p for p in (_HERE / "assets" / FONT_ASSET, _HERE.parent / "assets" / FONT_ASSET) if p.is_file()),
    _HERE.parent / "assets" / FONT_ASSET,
)

#: The watermark's fonts: the main one, then the fallbacks (rare name hanzi, emoji) beside it, in the order
#: every surface tries them (``patrollog.style.FALLBACK_FONTS``).
FONT_PATHS: tuple[Path, ...] = (FONT_PATH, *(FONT_PATH.with_name(file) for _, file in FALLBACK_FONTS))

_JPEG_FORMATS = frozenset({"JPEG", "MPO"})  # MPO: JPEGs with a multi-picture index (many Android phones)
_ORIENTATION_TAG = 0x0112
__all__ = [
    "FONT_PATH",
    "FONT_PATHS",
    "DecodePlan",
    "PhotoError",
    "PhotoSettings",
    "ProcessedPhoto",
    "Watermark",
    "decode_plan",
    "process_photo",
    "text_runs",
]
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError)


@dataclass(frozen=True, slots=True)
class PhotoSettings:
    long_edge: int = 1600
    quality: int = 80
    thumb_edge: int = 320
    watermark: bool = True
    max_pixels: int = 100_000_000
    max_bytes: int = 40 * 2**20
    #: Memory a photo with no reduced-size decoding (PNG, WebP, HEIC) may take (``decode_plan``).
    decode_budget: int = 256 * 2**20

    def __post_init__(self) -> None:
        if not 64 <= self.long_edge <= 8192:
            raise ValueError(f"long_edge must be 64..8192 px, not {self.long_edge}")
        if not 1 <= self.quality <= 95:
            raise ValueError(f"quality must be 1..95, not {self.quality}")
        if not 16 <= self.thumb_edge <= self.long_edge:
            raise ValueError(f"thumb_edge must be 16..long_edge, not {self.thumb_edge}")
        if self.max_pixels <= 0 or self.max_bytes <= 0 or self.decode_budget <= 0:
            raise ValueError("max_pixels, max_bytes and decode_budget must be positive")


@dataclass(frozen=True, slots=True)
class ProcessedPhoto:
    evidence: bytes
    thumbnail: bytes
    sha256: str  # of ``evidence``: the photo's identity
    original_sha256: str
    width: int
    height: int

    @property
    def size(self) -> int:
        return len(self.evidence)


def process_photo(
    data: bytes, watermark: Watermark | None, settings: PhotoSettings = PhotoSettings()
) -> ProcessedPhoto:
    """Turn a phone photo into evidence. Raises PhotoError for anything unusable (never a Pillow error).

    Thread-safe and meant to run off the UI thread. It uses two helper threads of its own for the work
    that can overlap: the decode, hashing the original and the resize's jobs (for a camera JPEG, most
    of them while it decodes), while the caller renders the watermark text (a JPEG's header gives the
    output size). The thumbnail and the encodes follow: Pillow's encoders hold the GIL.
    """
    _check_bytes(data, settings)
    lines = watermark.lines() if settings.watermark and watermark is not None else None
    with ThreadPoolExecutor(max_workers=2) as pool:
        hashed: list[str] = []
        marks: list[_Overlay] = []

        def sized(size: tuple[int, int], mode: str) -> None:  # known before or after decoding
            if lines:
                marks.append(render_watermark(size, lines, mode))

        image = _decode(data, settings, pool, sized, lambda: hashed.append(_sha256(data)))
        thumbnail = _thumbnail(image, _fit(image.size, settings.thumb_edge))  # before the watermark
        if marks:
            marks[0].burn_into(image)
        evidence = _encode(image, quality=settings.quality, progressive=True)
        return ProcessedPhoto(
            evidence=evidence,
            thumbnail=thumbnail,
            sha256=_sha256(evidence),
            original_sha256=hashed[0],
            width=image.width,
            height=image.height,
        )


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# -- decoding -------------------------------------------------------------------------------------------
def _check_bytes(data: bytes, settings: PhotoSettings) -> None:
    if not data:
        raise photoerrors.empty()
    if len(data) > settings.max_bytes:
        raise photoerrors.too_large(len(data), settings.max_bytes)


def _too_many_pixels(pixels: int | None, settings: PhotoSettings) -> PhotoError:
    return photoerrors.too_many_pixels(pixels, settings.max_pixels)


def _unsupported(kind: str) -> PhotoError:
    """``photoerrors.unsupported`` naming what this build reads: WebP only where Pillow has libwebp
    (Flet's Android Pillow has not), HEIC only with pillow-heif."""
    readable = [
        "JPEG",
        "PNG",
        *(["WebP"] if WebPImagePlugin.SUPPORTED else []),
        *(["HEIC"] if HEIF_SUPPORTED else []),
    ]
    return photoerrors.unsupported(kind, readable)


def _open(data: bytes, settings: PhotoSettings, fp: IO[bytes] | None = None) -> Image.Image:
    """Read the header only (from ``fp``, a file over ``data``), and refuse what must not be decoded."""
    try:
        image = Image.open(fp or io.BytesIO(data))
    except Image.DecompressionBombError:
        raise _too_many_pixels(None, settings) from None
    except Image.UnidentifiedImageError:
        kind = sniffed_format(data)  # a format this build has no decoder for, or a damaged HEIC
        if kind is not None:
            raise (
                photoerrors.corrupt() if kind == "HEIF" and HEIF_SUPPORTED else _unsupported(kind)
            ) from None
        raise photoerrors.not_image() from None
    except _DECODE_ERRORS:
        raise photoerrors.corrupt() from None
    accepted = _JPEG_FORMATS | {"PNG", "WEBP"} | ({"HEIF"} if HEIF_SUPPORTED else set())
    if image.format not in accepted:
        raise _unsupported(image.format or "?")
    if image.width * image.height > settings.max_pixels:
        raise _too_many_pixels(image.width * image.height, settings)
    return image


def _decode(
    data: bytes,
    settings: PhotoSettings,
    pool: Executor,
    sized: Callable[[tuple[int, int], str], None] = lambda size, mode: None,
    also: Callable[[], object] = lambda: None,
) -> Image.Image:
    """The photo as an upright RGB or YCbCr image with its long edge at most ``settings.long_edge``.

    ``also`` is one more job, run on a ``pool`` thread while the photo decodes (hashing the original).
    ``sized`` is told the output size as soon as it is known, in this thread: for a JPEG (its EXIF comes
    with the header) while a ``pool`` thread decodes it, so that it can do work of its own meanwhile
    (Pillow's JPEG decoder runs without the GIL, its text rendering holds it); for other formats after
    decoding. ``pool`` also runs jobs of the resize: for a camera JPEG, most of them while the photo is
    still decoding (``_decode_streaming``).
    """
    jpeg = data[:2] == b"\xff\xd8"
    pieces = Pieces(data) if jpeg else None
    with warnings.catch_warnings():  # our own pixel limit governs; Pillow's warning must not escape
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        # Pillow warns before it gives up on a format it has no decoder for (WebP without libwebp): the
        # refusal says it (``_unsupported``)
        warnings.filterwarnings("ignore", "image file could not be identified", UserWarning)
        image = _open(data, settings, cast(IO[bytes], pieces))
        icc = image.info.get("icc_profile")  # the colour space its pixels are coded in (``to_srgb``)
        target = _fit(image.size, settings.long_edge)
        if pieces is not None and image.format in _JPEG_FORMATS:
            # DCT scaling: the smallest 1/2, 1/4, 1/8 that still covers target; a YCbCr-coded JPEG stays
            # YCbCr (the encoder takes it as it is, and its colour planes are resized at half size)
            image.draft("YCbCr" if _ycc_coded(image) else None, target)
            orientation = _orientation(image)  # a JPEG's EXIF is in its header: no decoding needed
            if _streams(image, target):
                image = _decode_streaming(image, pieces, target, orientation, settings, pool, sized, also)
                return _strip(to_srgb(image, icc))
            # one read of the whole file: the decoder gets all of it in one call instead of 64 KiB at a
            # time (no copies, no suspending and resuming between pieces: about 3 ms less at 48 MP)
            if isinstance(image, ImageFile.ImageFile):
                image.decodermaxblock = max(image.decodermaxblock, len(data))
            loading = pool.submit(image.load)
            hashing = pool.submit(also)
            sized(upright_size(target, orientation), _output_mode(image))
            with _decode_errors(image, settings):
                loading.result()
                image = _to_rgb(image)
        else:
            layout = png_layout(data, image) if image.format == "PNG" else None
            source = layout or whole_source(data, image.format)  # a PNG's bands, or a WebP's or HEIC's
            _check_budget(image, target, settings, source)  # from the header: before decoding
            hashing = pool.submit(also)
            with _decode_errors(image, settings):
                if isinstance(source, PngLayout):  # a PNG: decoded a band of rows at a time
                    if "exif" not in image.info:  # an eXIf chunk after the pixels, or none
                        image.info["exif"] = source.exif or b""
                    orientation = _orientation(image)
                    image = reduced_png(source, image, target)
                else:  # at reduced size, in tiles or bands, or whole (``mobile.photowhole``)
                    image, orientation = whole_reduced(data, image, source, target, _orientation)
            sized(upright_size(target, orientation), image.mode)
    image = resize_upright(_strip(image), target, orientation, pool)
    hashing.result()
    return _strip(to_srgb(image, icc))


#: A streamed JPEG reaches its decoder in this many pieces, each of at least _PIECE_BYTES.
_PIECES = 24
_PIECE_BYTES = 256 * 1024


def _streams(image: Image.Image, target: tuple[int, int]) -> bool:
    """Whether a JPEG (opened, drafted) is resized while it decodes: a camera's YCbCr JPEG that needs a
    resize after DCT scaling, not first an integer reduction (a source over 3x the target)."""
    if image.mode != "YCbCr" or image.size == target or image.height < target[1]:
        return False
    return min(image.width // target[0], image.height // target[1]) // 3 <= 1


def _decode_streaming(
    image: Image.Image,
    pieces: Pieces,
    target: tuple[int, int],
    orientation: int,
    settings: PhotoSettings,
    pool: Executor,
    sized: Callable[[tuple[int, int], str], None],
    also: Callable[[], object],
) -> Image.Image:
    """Decode a camera JPEG on a ``pool`` thread and resize the rows it has finished on the other while
    it goes on (``mobile.photoresize.Stream``); the rows left once it is done, on three threads.

    The entropy decoding of a JPEG is one thread's work from its first byte to its last (at 48 MP three
    quarters of the time), and the resize used to wait for all of it: now only its last rows do. The
    decoder gets the file in pieces (a 24th of it, at least 256 KiB, one per read of Pillow's loader);
    between two pieces the rows it has finished are found and their jobs queued. The helper hashes the
    original first: the decoder needs a while before its first rows are done.
    """
    resize = Resize(image.mode, image.size, target, orientation)
    todo: Jobs = queue.SimpleQueue()
    todo.put(also)
    stream = Stream(image, resize, todo)
    pieces.piece = max(_PIECE_BYTES, pieces.size // _PIECES)
    if isinstance(image, ImageFile.ImageFile):
        image.decodermaxblock = pieces.piece
    pieces.between = stream.seen
    helpers = [pool.submit(serve, todo)]  # one helper while decoding: the decoder has the other core
    try:
        loading = pool.submit(image.load)
        sized(upright_size(target, orientation), image.mode)
        with _decode_errors(image, settings):
            loading.result()
    except BaseException:
        todo.put(None)
        with suppress(Exception):  # the decode's error is the one to report
            helpers[0].result()
        raise
    finally:
        pieces.between = None
    try:
        stream.finish(_strip(image))
        helpers.append(pool.submit(serve, todo))  # the decoder's thread joins in
    finally:
        for _ in range(3):  # a None for each of the two helpers and this thread: none waits forever
            todo.put(None)
    serve(todo)
    for helper in helpers:
        helper.result()
    return _strip(resize.result())


@contextmanager
def _decode_errors(image: Image.Image, settings: PhotoSettings) -> Iterator[None]:
    """Pillow's errors while decoding ``image``, as the officer's PhotoError."""
    try:
        yield
    except Image.DecompressionBombError:
        raise _too_many_pixels(None, settings) from None
    except MemoryError:
        raise _too_many_pixels(image.width * image.height, settings) from None
    except _DECODE_ERRORS:
        raise photoerrors.corrupt() from None


def _strip(image: Image.Image) -> Image.Image:
    """``image`` with nothing of the source's comments, profiles or EXIF: Pillow's JPEG encoder writes an
    image's own "comment", and the images made from one copy its info."""
    image.info.clear()
    return image


def _fit(size: tuple[int, int], long_edge: int) -> tuple[int, int]:
    """``size`` scaled so its long edge is at most ``long_edge`` (never enlarged), aspect kept."""
    width, height = size
    scale = long_edge / max(width, height)
    if scale >= 1:
        return size
    return max(1, round(width * scale)), max(1, round(height * scale))


def _orientation(image: Image.Image) -> int:
    try:
        value = image.getexif().get(_ORIENTATION_TAG, 1)
    except Exception:  # a damaged EXIF block must not cost the photo; it is dropped anyway
        return 1
    return value if isinstance(value, int) else 1


def _check_budget(
    image: Image.Image, target: tuple[int, int], settings: PhotoSettings, source: PngLayout | WholeSource
) -> None:
    """Refuse a photo whose decode would need more memory than ``settings.decode_budget`` (a PNG with
    its layout is decoded in bands or pieces: none under the pixel limit comes near at 1600 px; a WebP
    or HEIC costs what its decoding holds: ``mobile.photowhole.whole_plan``)."""
    if isinstance(source, WholeSource):
        plan = whole_plan(source, image.mode, image.size, target)
    else:
        plan = decode_plan(image.mode, image.size, target, image.format, source.bits, source.interlaced)
    if plan.total <= settings.decode_budget:
        return
    raise photoerrors.too_much_memory(
        image.format or "?", image.size, image.mode, plan.total, settings.decode_budget
    )


# -- output ---------------------------------------------------------------------------------------------
def _thumbnail(source: Image.Image, size: tuple[int, int]) -> bytes:
    """A preview for lists, ``size``, from the upright evidence image before its watermark: box-reduced
    by the largest integer factor that keeps it at least ``size`` (1600 to 320 px: exactly 5), a small
    bilinear step where that is not exact, JPEG q70. About 2 ms at 1600 px."""
    factor = max(1, min(source.width // size[0], source.height // size[1]))
    small = source.reduce(factor) if factor > 1 else source
    if small.size != size:
        small = small.resize(size, Image.Resampling.BILINEAR)
    return _encode(small, quality=70, progressive=False)


def _encode(image: Image.Image, *, quality: int, progressive: bool) -> bytes:
    """A JPEG with no EXIF, ICC, XMP or comment: only what the app records itself goes with a photo."""
    out = io.BytesIO()
    # 4:2:0 (libjpeg's default, stated because a YCbCr image's colour planes are made for it)
    image.save(out, "JPEG", quality=quality, optimize=True, progressive=progressive, subsampling="4:2:0")
    return out.getvalue()


@lru_cache(maxsize=8)
def _font(size: int) -> ImageFont.FreeTypeFont:
    try:
        return ImageFont.truetype(str(FONT_PATH), size, layout_engine=ImageFont.Layout.BASIC)
    except OSError:
        raise PhotoError(
            "no_font",
            f"The watermark font is missing from the app ({FONT_FILE}); reinstall the app",
            f"应用缺少水印字体（{FONT_FILE}），请重新安装应用",
        ) from None


@lru_cache(maxsize=64)
def _fallback_font(index: int, size: int) -> ImageFont.FreeTypeFont | None:
    """Fallback font ``index`` (1.. in ``FONT_PATHS``) at ``size``; None when the app lacks its file."""
    try:
        return ImageFont.truetype(str(FONT_PATHS[index]), size, layout_engine=ImageFont.Layout.BASIC)
    except OSError:
        return None


@cache
def _cmap(index: int) -> frozenset[int]:
    """The code points font ``index`` of ``FONT_PATHS`` has (its cmap, read once); empty without its file."""
    try:
        with TTFont(str(FONT_PATHS[index]), lazy=True) as font:
            return frozenset(font.getBestCmap() or {})
    except (OSError, KeyError, AssertionError):
        return frozenset()


def _font_index(ch: str) -> int | None:
    """The first font of ``FONT_PATHS`` that has ``ch``; None for a character that only joins its neighbour
    (spaces, marks, variation selectors, joiners) or that no font has (it stays with the main font)."""
    if ch.isspace() or "\u200b" <= ch <= "\u200f" or "\ufe00" <= ch <= "\ufe0f":
        return None
    code = ord(ch)
    for index in range(len(FONT_PATHS)):
        if code in _cmap(index):
            return index
    return None


def text_runs(line: str) -> list[tuple[str, int]]:
    """``line`` cut into runs of one font each: (text, index in ``FONT_PATHS``), the main font first choice;
    a character no shipped font has stays in the main font's run (drawn as its missing-glyph box). A
    joining character (space, joiner, variation selector) stays in its neighbour's run when that font has
    it, else goes to the first font that has it: the emoji fonts have no space (the main font has), and a
    space after an emoji drawn in them would be their missing-glyph box."""
    runs: list[tuple[str, int]] = []
    for ch in line:
        index = _font_index(ch)
        if index is None:
            index = runs[-1][1] if runs else 0
            if ord(ch) not in _cmap(index):
                index = next((i for i in range(len(FONT_PATHS)) if ord(ch) in _cmap(i)), index)
        if runs and runs[-1][1] == index:
            runs[-1] = (runs[-1][0] + ch, index)
        else:
            runs.append((ch, index))
    return runs


def _line_fonts(size: int) -> list[ImageFont.FreeTypeFont]:
    main = _font(size)
    return [main, *(_fallback_font(i, size) or main for i in range(1, len(FONT_PATHS)))]


def _line_length(fonts: list[ImageFont.FreeTypeFont], line: str) -> float:
    return sum(fonts[index].getlength(text) for text, index in text_runs(line))


@dataclass(frozen=True, slots=True)
class _Overlay:
    """A rendered watermark: blend ``layer`` into ``box`` of the image through ``mask``."""

    box: tuple[int, int, int, int]
    layer: Image.Image  # grey, in the image's mode (RGB or YCbCr)
    mask: Image.Image  # L

    def burn_into(self, image: Image.Image) -> None:
        """Burn the watermark into ``image`` (in place)."""
        image.paste(self.layer, self.box, self.mask)


#: The dark box's opacity (of 255) under the white text.
_BOX_ALPHA = 150
# White text of coverage g over the box over pixel p gives p * (1 - a) * (1 - g) + g (a: box opacity):
# one blend of colour C through mask M, with M = 1 - (1 - a)(1 - g) and C = g / M. Both depend on g
# only, so they are tables over the text's coverage (in 0..255 steps).
_MASK_LUT = [round(255 - (255 - _BOX_ALPHA) * (255 - g) / 255) for g in range(256)]
_LAYER_LUT = [min(255, round(255 * g / m)) for g, m in zip(range(256), _MASK_LUT, strict=True)]


def render_watermark(size: tuple[int, int], lines: list[str], mode: str = "RGB") -> _Overlay:
    """The watermark for an image of ``size``: ``lines`` in white on a translucent dark box, lower left.

    ``mode`` is the image's, RGB or YCbCr. The layer is grey, which in YCbCr is the luma with both
    colour planes at 128; a blend is linear, so blending there equals blending in RGB.

    The font size follows the image width (width/36: about 11 pt when the photo fills a phone's width);
    a line too long for the image shrinks the font until it fits. Only the size is needed, so this runs
    while the photo is still decoding.
    """
    width, height = size
    margin = max(4, width // 64)
    font_size = max(8, width // 36)
    fonts = _line_fonts(font_size)
    widest = max(_line_length(fonts, line) for line in lines)
    room = width - 4 * margin
    while widest > room and font_size > 6:
        font_size = max(6, min(font_size - 1, int(font_size * room / widest)))
        fonts = _line_fonts(font_size)
        widest = max(_line_length(fonts, line) for line in lines)
    ascent, descent = fonts[0].getmetrics()
    step = round((ascent + descent) * 1.15)
    box_w = int(widest) + 2 * margin
    box_h = step * len(lines) + 2 * margin - (step - ascent - descent)
    left, top = min(margin, width // 4), max(0, height - margin - box_h)
    box = (left, top, max(left + 1, min(width, left + box_w)), max(top + 1, min(height, top + box_h)))
    coverage = Image.new("L", (box[2] - box[0], box[3] - box[1]), 0)
    draw = ImageDraw.Draw(coverage)
    for i, line in enumerate(lines):
        x, baseline = float(margin), margin + i * step + ascent
        for text, index in text_runs(line):  # each run in the font that has its characters
            draw.text((x, baseline), text, font=fonts[index], fill=255, anchor="ls")
            x += fonts[index].getlength(text)
    grey = coverage.point(_LAYER_LUT)
    if mode == "YCbCr":
        neutral = Image.new("L", grey.size, 128)
        layer = Image.merge("YCbCr", (grey, neutral, neutral))
    else:
        layer = grey.convert(mode)
    return _Overlay(box, layer, coverage.point(_MASK_LUT))


def watermarked(image: Image.Image, lines: list[str]) -> Image.Image:
    """A copy of ``image`` with ``lines`` burned into its lower left (see ``render_watermark``)."""
    marked = image.copy()
    render_watermark(image.size, lines, image.mode).burn_into(marked)
    return marked
