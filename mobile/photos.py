"""Evidence photos: any phone photo in, a small, upright, watermarked, hash-identified JPEG out.

The only module that imports PIL (Pillow 10.4 API: Flet's Android build ships that version). The pipeline:

1. refuse what cannot be a photo before decoding it: empty files, files over ``max_bytes``, headers that
   declare more than ``max_pixels`` (Pillow's own decompression-bomb checks are translated, never leaked);
2. decode at reduced size when the source is much larger than the target: JPEG DCT scaling (``draft``),
   asking for the aspect-correct target so both dimensions fit (in the stored orientation), then a
   bicubic resize to ``long_edge`` (other formats: an integer ``reduce`` first when over 3x the target);
3. normalise to RGB (CMYK, 16-bit, palette, alpha flattened on white) and apply the EXIF orientation on the
   small image;
4. make the thumbnail, burn in the watermark (``mobile.watermark.Watermark``: time with zone, GPS or
   无定位, badge, case number, violation) with the shipped CJK font, encode a progressive optimised JPEG
   with no metadata at all (no EXIF, ICC, XMP or comment: the app records what it needs in its database);
5. SHA-256 of the original bytes (hashed in a thread while decoding) and of the evidence file, whose hash is
   the photo's identity from phone to HQ.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from enforcement.text import LocalizedError
from mobile.watermark import Watermark

try:  # HEIC/HEIF where pillow-heif installs (not on every phone build)
    import pillow_heif

    pillow_heif.register_heif_opener()
    HEIF_SUPPORTED = True
except (ImportError, OSError):  # pragma: no cover - depends on the platform
    HEIF_SUPPORTED = False

FONT_FILE = "NotoSansSC-StreetPatrol.otf"
#: The font asset as the Flet app registers it (relative to the assets directory).
FONT_ASSET = f"fonts/{FONT_FILE}"
_HERE = Path(__file__).resolve().parent
#: The CJK font file the watermark uses: the app's own assets (packaged app) or the repository's.
FONT_PATH = next(
    (p for p in (_HERE / "assets" / FONT_ASSET, _HERE.parent / "assets" / FONT_ASSET) if p.is_file()),
    _HERE.parent / "assets" / FONT_ASSET,
)

_JPEG_FORMATS = frozenset({"JPEG", "MPO"})  # MPO: JPEGs with a multi-picture index (many Android phones)
_HEIF_BRANDS = (b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1")
_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_ORIENTATION_TAG = 0x0112
__all__ = ["FONT_PATH", "PhotoError", "PhotoSettings", "ProcessedPhoto", "Watermark", "process_photo"]
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError)


class PhotoError(LocalizedError):
    """A photo the app cannot use; the officer reads why, and the rest of the form stays as typed.

    Codes: empty, not_image, truncated, too_large, too_many_pixels, unsupported_format, no_font.
    """

    code = "photo"

    def __init__(self, code: str, en: str, zh: str) -> None:
        super().__init__(en, zh=zh, field="photos", code=code)


@dataclass(frozen=True, slots=True)
class PhotoSettings:
    long_edge: int = 1600
    quality: int = 80
    thumb_edge: int = 320
    watermark: bool = True
    max_pixels: int = 100_000_000
    max_bytes: int = 40 * 2**20

    def __post_init__(self) -> None:
        if not 64 <= self.long_edge <= 8192:
            raise ValueError(f"long_edge must be 64..8192 px, not {self.long_edge}")
        if not 1 <= self.quality <= 95:
            raise ValueError(f"quality must be 1..95, not {self.quality}")
        if not 16 <= self.thumb_edge <= self.long_edge:
            raise ValueError(f"thumb_edge must be 16..long_edge, not {self.thumb_edge}")
        if self.max_pixels <= 0 or self.max_bytes <= 0:
            raise ValueError("max_pixels and max_bytes must be positive")


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

    Thread-safe and meant to run off the UI thread; it uses two helper threads of its own for the work
    that overlaps (hashing the original while decoding, the thumbnail while encoding the evidence).
    """
    _check_bytes(data, settings)
    with ThreadPoolExecutor(max_workers=2) as pool:
        original_sha256 = pool.submit(lambda: hashlib.sha256(data).hexdigest())
        image = _decode(data, settings)
        thumbnail = pool.submit(_thumbnail, image, settings.thumb_edge)  # from the clean image
        if settings.watermark and watermark is not None:
            image = watermarked(image, watermark.lines())
        evidence = _encode(image, quality=settings.quality, progressive=True)
        return ProcessedPhoto(
            evidence=evidence,
            thumbnail=thumbnail.result(),
            sha256=hashlib.sha256(evidence).hexdigest(),
            original_sha256=original_sha256.result(),
            width=image.width,
            height=image.height,
        )


# -- decoding -------------------------------------------------------------------------------------------
def _check_bytes(data: bytes, settings: PhotoSettings) -> None:
    if not data:
        raise PhotoError(
            "empty",
            "The photo file is empty (0 bytes); take or choose it again",
            "照片文件是空的（0 字节），请重新拍摄或选择",
        )
    if len(data) > settings.max_bytes:
        mb, limit = len(data) / 2**20, settings.max_bytes / 2**20
        raise PhotoError(
            "too_large",
            f"The photo file is too large ({mb:.1f} MB; the limit is {limit:.0f} MB)",
            f"照片文件过大（{mb:.1f} MB，上限 {limit:.0f} MB）",
        )


def _too_many_pixels(pixels: int | None, settings: PhotoSettings) -> PhotoError:
    limit = f"{settings.max_pixels / 1e6:.0f}"
    if pixels is None:  # Pillow's own limit tripped before ours could measure
        return PhotoError(
            "too_many_pixels",
            f"The photo has too many pixels to decode (the limit is {limit} MP)",
            f"照片像素过多，无法解码（上限 {limit} 百万像素）",
        )
    return PhotoError(
        "too_many_pixels",
        f"The photo has too many pixels ({pixels / 1e6:.0f} MP; the limit is {limit} MP)",
        f"照片像素过多（{pixels / 1e6:.0f} 百万像素，上限 {limit} 百万像素）",
    )


def _unsupported(kind: str) -> PhotoError:
    if kind == "HEIF":
        return PhotoError(
            "unsupported_format",
            "HEIC photos cannot be read on this phone; set the camera to JPEG (most compatible)",
            "本机无法读取 HEIC 照片，请把相机格式设为 JPEG（兼容性最佳）",
        )
    return PhotoError(
        "unsupported_format",
        f"Unsupported image format {kind}; use a JPEG, PNG or HEIC photo",
        f"不支持的图片格式 {kind}，请使用 JPEG、PNG 或 HEIC 照片",
    )


def _corrupt() -> PhotoError:
    return PhotoError(
        "truncated",
        "The photo file is incomplete or damaged; take or choose it again",
        "照片文件不完整或已损坏，请重新拍摄或选择",
    )


def _open(data: bytes, settings: PhotoSettings) -> Image.Image:
    """Read the header only, and refuse what must not be decoded."""
    try:
        image = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError:
        raise _too_many_pixels(None, settings) from None
    except Image.UnidentifiedImageError:
        if data[4:8] == b"ftyp" and data[8:12] in _HEIF_BRANDS:
            raise (_corrupt() if HEIF_SUPPORTED else _unsupported("HEIF")) from None
        raise PhotoError("not_image", "The file is not an image", "所选文件不是图片") from None
    except _DECODE_ERRORS:
        raise _corrupt() from None
    accepted = _JPEG_FORMATS | {"PNG", "WEBP"} | ({"HEIF"} if HEIF_SUPPORTED else set())
    if image.format not in accepted:
        raise _unsupported(image.format or "?")
    if image.width * image.height > settings.max_pixels:
        raise _too_many_pixels(image.width * image.height, settings)
    return image


def _decode(data: bytes, settings: PhotoSettings) -> Image.Image:
    """The photo as an upright RGB image with its long edge at most ``settings.long_edge``."""
    with warnings.catch_warnings():  # our own pixel limit governs; Pillow's warning must not escape
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        image = _open(data, settings)
        target = _fit(image.size, settings.long_edge)
        if image.format in _JPEG_FORMATS:
            image.draft(None, target)  # DCT scaling: the smallest 1/2, 1/4, 1/8 that still covers target
        try:
            image.load()
            orientation = _orientation(image)
            image = _to_rgb(image)
        except Image.DecompressionBombError:
            raise _too_many_pixels(None, settings) from None
        except MemoryError:
            raise _too_many_pixels(image.width * image.height, settings) from None
        except _DECODE_ERRORS:
            raise _corrupt() from None
    if image.size != target:
        image = _resize(image, target)
    if orientation in _TRANSPOSE:
        image = image.transpose(_TRANSPOSE[orientation])
    image.info.clear()  # nothing of the source (comments, profiles, EXIF) may reach the output
    return image


def _resize(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    """Bicubic resize; after draft the ratio is under 2, where bicubic is within 0.1 dB of LANCZOS and a
    third faster. Sources over 3x the target are first reduced by an integer factor (box average).

    (A two-thread banded resize was tried: 10-30% faster on an idle two-core machine, slower on a busy
    one, and on a phone's big.LITTLE cores the band on a little core would set the pace; not worth it.)
    """
    factor = min(image.width // size[0], image.height // size[1]) // 3
    if factor > 1:
        image = image.reduce(factor)
    return image.resize(size, Image.Resampling.BICUBIC)


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


def _to_rgb(image: Image.Image) -> Image.Image:
    """8-bit RGB: 16-bit grey scaled (not clipped), palette/alpha flattened on white, CMYK converted."""
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


# -- output ---------------------------------------------------------------------------------------------
def _thumbnail(image: Image.Image, long_edge: int) -> bytes:
    """A preview for lists: an integer box reduce (a third of a resize's cost), then a small bilinear step."""
    target = _fit(image.size, long_edge)
    factor = min(image.width // target[0], image.height // target[1])
    small = image.reduce(factor) if factor > 1 else image
    if small.size != target:
        small = small.resize(target, Image.Resampling.BILINEAR)
    return _encode(small, quality=70, progressive=False)


def _encode(image: Image.Image, *, quality: int, progressive: bool) -> bytes:
    """A JPEG with no EXIF, ICC, XMP or comment: only what the app records itself goes with a photo."""
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality, optimize=True, progressive=progressive)
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


def watermarked(image: Image.Image, lines: list[str]) -> Image.Image:
    """A copy of ``image`` with ``lines`` burned into its lower left: white text on a translucent dark box.

    The font size follows the image width (width/36: about 11 pt when the photo fills a phone's width);
    a line too long for the image shrinks the font until it fits.
    """
    image = image.copy()
    margin = max(4, image.width // 64)
    size = max(8, image.width // 36)
    font = _font(size)
    widest = max(font.getlength(line) for line in lines)
    room = image.width - 4 * margin
    while widest > room and size > 6:
        size = max(6, min(size - 1, int(size * room / widest)))
        font = _font(size)
        widest = max(font.getlength(line) for line in lines)
    ascent, descent = font.getmetrics()
    step = round((ascent + descent) * 1.15)
    box_w = int(widest) + 2 * margin
    box_h = step * len(lines) + 2 * margin - (step - ascent - descent)
    left, top = min(margin, image.width // 4), max(0, image.height - margin - box_h)
    box = (left, top, min(image.width, left + box_w), min(image.height, top + box_h))
    if box[2] > box[0] and box[3] > box[1]:  # a sliver of an image still gets what fits
        image.paste((0, 0, 0), box, mask=Image.new("L", (box[2] - box[0], box[3] - box[1]), 150))
    draw = ImageDraw.Draw(image)
    for i, line in enumerate(lines):
        draw.text((left + margin, top + margin + i * step), line, font=font, fill=(255, 255, 255))
    return image
