"""WebP decoded at reduced size by libwebp itself (part of the photo pipeline; only ``mobile.photowhole``
imports it). No PIL here: ctypes over the libwebp that Pillow's own WebP extension is linked with.

Pillow decodes a WebP whole (libwebp's animation decoder keeps its own RGBA canvas and Pillow copies
it: 16 bytes a pixel at its peak), so a 20 MP WebP did not fit the phone's decode budget. libwebp's
advanced API decodes straight to a smaller size (``WebPDecoderConfig.options.use_scaling``: its rescaler
averages the source rows as they are decoded) into a buffer of ours (``is_external_memory``); what it
holds besides is, by the kind of bitstream (libwebp 1.0-1.6 ``src/dec``):

- lossy (VP8) with no alpha: a few macroblock rows (the YUV cache, the rescaler's rows): any size under
  the pixel limit fits;
- lossy with alpha: the whole alpha plane (1 byte a pixel, ``AllocateAlphaPlane``) and the alpha's
  lossless decoder, whose pixels are 1 byte (palette-only alpha) or 4 bytes a pixel;
- lossless (VP8L): the whole image as 32-bit ARGB (``AllocateInternalBuffers32b``: backward
  references may point anywhere above), 4 bytes a pixel.

``decoder_bytes`` states that cost before anything is decoded; the caller plans with it.

An animation's first frame is decoded alone when it covers the whole canvas (the first frame of an
animation is drawn on a transparent canvas, so it then is the picture); ``first_frame`` finds it in the
container (RIFF chunks, no demuxer). Otherwise ``decode`` says so (None) and the caller falls back to
Pillow's whole decode, planned from the header as before.

The structures below are transcribed from libwebp's ``src/webp/decode.h``, identical from 1.0 (decoder
ABI 0x0208) to 1.6 (0x0210): a layout that is wrong would corrupt memory, so the library is used only
when its version is 1.x (``WebPGetDecoderVersion``) and its own version check accepts the ABI version of
the header transcribed (``WebPInitDecoderConfigInternal`` refuses another major ABI version). A Pillow
build without these symbols (libwebp linked statically with hidden symbols, possible on Android) or
without WebP leaves ``available()`` false.
"""

from __future__ import annotations

import ctypes
import importlib.util
import struct
from dataclasses import dataclass
from functools import cache

__all__ = [
    "Decoded",
    "Features",
    "WebPError",
    "available",
    "decode",
    "decoder_bytes",
    "features",
    "first_frame",
]


# -- libwebp's decode.h (1.0 to 1.6; LP64 sizes: features 40, buffer 120, options 76, config 240) ---------
class _Features(ctypes.Structure):  # WebPBitstreamFeatures
    _fields_ = [
        ("width", ctypes.c_int),
        ("height", ctypes.c_int),
        ("has_alpha", ctypes.c_int),
        ("has_animation", ctypes.c_int),
        ("format", ctypes.c_int),  # 0 undefined / mixed, 1 lossy, 2 lossless
        ("pad", ctypes.c_uint32 * 5),
    ]


class _RGBABuffer(ctypes.Structure):  # WebPRGBABuffer
    _fields_ = [("rgba", ctypes.c_void_p), ("stride", ctypes.c_int), ("size", ctypes.c_size_t)]


class _YUVABuffer(ctypes.Structure):  # WebPYUVABuffer (only for the union's size and alignment)
    _fields_ = [
        ("y", ctypes.c_void_p),
        ("u", ctypes.c_void_p),
        ("v", ctypes.c_void_p),
        ("a", ctypes.c_void_p),
        ("y_stride", ctypes.c_int),
        ("u_stride", ctypes.c_int),
        ("v_stride", ctypes.c_int),
        ("a_stride", ctypes.c_int),
        ("y_size", ctypes.c_size_t),
        ("u_size", ctypes.c_size_t),
        ("v_size", ctypes.c_size_t),
        ("a_size", ctypes.c_size_t),
    ]


class _BufferUnion(ctypes.Union):
    _fields_ = [("RGBA", _RGBABuffer), ("YUVA", _YUVABuffer)]


class _DecBuffer(ctypes.Structure):  # WebPDecBuffer
    _fields_ = [
        ("colorspace", ctypes.c_int),  # WEBP_CSP_MODE (an int-sized enum)
        ("width", ctypes.c_int),
        ("height", ctypes.c_int),
        ("is_external_memory", ctypes.c_int),
        ("u", _BufferUnion),
        ("pad", ctypes.c_uint32 * 4),
        ("private_memory", ctypes.c_void_p),
    ]


class _Options(ctypes.Structure):  # WebPDecoderOptions
    _fields_ = [
        ("bypass_filtering", ctypes.c_int),
        ("no_fancy_upsampling", ctypes.c_int),
        ("use_cropping", ctypes.c_int),
        ("crop_left", ctypes.c_int),
        ("crop_top", ctypes.c_int),
        ("crop_width", ctypes.c_int),
        ("crop_height", ctypes.c_int),
        ("use_scaling", ctypes.c_int),
        ("scaled_width", ctypes.c_int),
        ("scaled_height", ctypes.c_int),
        ("use_threads", ctypes.c_int),
        ("dithering_strength", ctypes.c_int),
        ("flip", ctypes.c_int),
        ("alpha_dithering_strength", ctypes.c_int),
        ("pad", ctypes.c_uint32 * 5),
    ]


class _Config(ctypes.Structure):  # WebPDecoderConfig
    _fields_ = [("input", _Features), ("output", _DecBuffer), ("options", _Options)]


class _Guarded(ctypes.Structure):
    """The config with spare room after it: one more defence should a library write past our layout."""

    _fields_ = [("config", _Config), ("spare", ctypes.c_uint8 * 256)]


_MODE_RGB, _MODE_RGBA = 0, 1
_STATUS_OK = 0
#: VP8StatusCode names, for the error's text.
_STATUS = {
    1: "out of memory",
    2: "invalid parameter",
    3: "bitstream error",
    4: "unsupported feature",
    5: "suspended",
    6: "user abort",
    7: "not enough data",
}
#: Decoder ABI version of the decode.h a library version shipped (1.0: 0x0208; 1.1-1.5: 0x0209; 1.6: 0x0210).
_ABI_BY_VERSION = ((0x010600, 0x0210), (0x010100, 0x0209), (0x010000, 0x0208))
_SYMBOLS = ("WebPGetDecoderVersion", "WebPInitDecoderConfigInternal", "WebPGetFeaturesInternal", "WebPDecode")


class WebPError(ValueError):
    """libwebp could not decode the file (damaged, truncated, not WebP): ``status`` is its VP8StatusCode."""

    def __init__(self, status: int) -> None:
        super().__init__(f"WebP decoding failed: {_STATUS.get(status, f'status {status}')}")
        self.status = status


@dataclass(frozen=True, slots=True)
class _Lib:
    dll: ctypes.CDLL
    abi: int
    version: int


def _library_path() -> str | None:
    """The file of Pillow's WebP extension (linked with libwebp), found without importing PIL's API."""
    try:
        spec = importlib.util.find_spec("PIL._webp")
    except (ImportError, ValueError):
        return None
    return spec.origin if spec is not None and spec.origin else None


def _load(path: str | None) -> _Lib | None:
    """libwebp's decoder from ``path``, or None when it is not there, lacks a symbol or is not 1.x."""
    if path is None:
        return None
    try:
        dll = ctypes.CDLL(path)
        if not all(hasattr(dll, name) for name in _SYMBOLS):
            return None
    except OSError:
        return None
    dll.WebPGetDecoderVersion.restype = ctypes.c_int
    dll.WebPGetDecoderVersion.argtypes = []
    version = dll.WebPGetDecoderVersion()
    if version >> 16 != 1:  # only the layouts transcribed above
        return None
    abi = next(abi for since, abi in _ABI_BY_VERSION if version >= since)
    dll.WebPInitDecoderConfigInternal.restype = ctypes.c_int
    dll.WebPInitDecoderConfigInternal.argtypes = [ctypes.POINTER(_Config), ctypes.c_int]
    dll.WebPGetFeaturesInternal.restype = ctypes.c_int
    dll.WebPGetFeaturesInternal.argtypes = [
        ctypes.c_void_p,
        ctypes.c_size_t,
        ctypes.POINTER(_Features),
        ctypes.c_int,
    ]
    dll.WebPDecode.restype = ctypes.c_int
    dll.WebPDecode.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.POINTER(_Config)]
    probe = _Guarded()
    if not dll.WebPInitDecoderConfigInternal(ctypes.byref(probe.config), abi):
        return None  # the library refuses this ABI version: its layout may differ
    return _Lib(dll, abi, version)


@cache
def _lib() -> _Lib | None:
    return _load(_library_path())


def available() -> bool:
    """Whether WebPs are decoded here at reduced size (else: Pillow's whole decode, planned)."""
    return _lib() is not None


@dataclass(frozen=True, slots=True)
class Features:
    """What a WebP's header says: the picture's size, alpha, animation, and ``lossless`` (VP8L)."""

    width: int
    height: int
    has_alpha: bool
    has_animation: bool
    lossless: bool


def _features(lib: _Lib, address: int, size: int) -> Features:
    found = _Features()
    status = lib.dll.WebPGetFeaturesInternal(address, size, ctypes.byref(found), lib.abi)
    if status != _STATUS_OK:
        raise WebPError(status)
    return Features(
        found.width, found.height, bool(found.has_alpha), bool(found.has_animation), found.format == 2
    )


def features(data: bytes, frame: tuple[int, int] | None = None) -> Features:
    """The header of WebP ``data``, or of its ``frame`` (offset and length from ``first_frame``);
    raises WebPError when libwebp cannot read it."""
    lib = _lib()
    if lib is None:
        raise RuntimeError("libwebp is not available")
    start, length = _span(data, frame)
    return _features(lib, _address(data) + start, length)


def _span(data: bytes, frame: tuple[int, int] | None) -> tuple[int, int]:
    start, length = frame if frame is not None else (0, len(data))
    if start < 0 or length <= 0 or start + length > len(data):
        raise WebPError(7)  # not enough data
    return start, length


def _address(data: bytes) -> int:
    """Where ``data``'s bytes are (no copy: ``data`` must outlive the call)."""
    address = ctypes.cast(ctypes.c_char_p(data), ctypes.c_void_p).value
    assert address is not None
    return address


def first_frame(data: bytes) -> tuple[int, int] | None:
    """For an animated WebP: (offset, length) in ``data`` of its first frame's bitstream (its ALPH and
    VP8 chunks, or its VP8L chunk) when that frame covers the whole canvas; None otherwise (a frame at an
    offset or smaller than the canvas, no frame, or a container cut short)."""
    if len(data) < 30 or data[:4] != b"RIFF" or data[8:12] != b"WEBP" or data[12:16] != b"VP8X":
        return None
    canvas = (int.from_bytes(data[24:27], "little") + 1, int.from_bytes(data[27:30], "little") + 1)
    pos = 12
    while pos + 8 <= len(data):
        kind, length = data[pos : pos + 4], struct.unpack("<I", data[pos + 4 : pos + 8])[0]
        body = pos + 8
        if kind == b"ANMF":
            if length < 24 or body + length > len(data):
                return None
            head = data[body : body + 12]
            x, y = int.from_bytes(head[0:3], "little") * 2, int.from_bytes(head[3:6], "little") * 2
            size = (int.from_bytes(head[6:9], "little") + 1, int.from_bytes(head[9:12], "little") + 1)
            if (x, y) != (0, 0) or size != canvas:
                return None
            return body + 16, length - 16
        pos = body + length + (length & 1)
    return None


@dataclass(frozen=True, slots=True)
class Decoded:
    """Pixels decoded by libwebp: ``mode`` "RGB" or "RGBA", rows of ``stride`` bytes in ``buffer``."""

    mode: str
    size: tuple[int, int]
    stride: int
    buffer: ctypes.Array[ctypes.c_uint8]


def decoder_bytes(found: Features) -> int:
    """What libwebp holds besides the output buffer while decoding a picture with ``found`` features
    (see the module's docstring; the caller's plan adds the output): rows for a lossy picture, plus
    the alpha plane and its decoder's pixels (at worst 4 bytes) with alpha, the whole ARGB image for a
    lossless one. Measured in bench/photos.py (``--memory``)."""
    pixels = found.width * found.height
    rows = found.width * 512  # YUV cache and rescaler rows, a generous bound (about 120 B a column)
    if found.lossless:
        return pixels * 4 + rows
    return rows + (pixels * 5 if found.has_alpha else 0)


def decode(data: bytes, size: tuple[int, int], frame: tuple[int, int] | None = None) -> Decoded:
    """WebP ``data`` (or its ``frame``: offset and length from ``first_frame``) decoded to ``size``
    (at most its own; scaled down by libwebp's rescaler when smaller), RGBA when it has alpha else RGB.

    Raises WebPError for a file libwebp cannot decode (damaged, truncated), RuntimeError when libwebp is
    not available."""
    lib = _lib()
    if lib is None:
        raise RuntimeError("libwebp is not available")
    start, length = _span(data, frame)
    address = _address(data) + start
    found = _features(lib, address, length)
    if found.has_animation:  # the whole container of an animation: WebPDecode refuses it
        raise WebPError(4)
    width, height = min(size[0], found.width), min(size[1], found.height)
    if width <= 0 or height <= 0:
        raise WebPError(2)
    mode = "RGBA" if found.has_alpha else "RGB"
    stride = width * len(mode)
    buffer = (ctypes.c_uint8 * (stride * height))()
    guarded = _Guarded()
    config = guarded.config
    if not lib.dll.WebPInitDecoderConfigInternal(ctypes.byref(config), lib.abi):
        raise RuntimeError("libwebp refused its decoder configuration")
    options = config.options
    options.use_threads = 1
    if (width, height) != (found.width, found.height):
        options.use_scaling = 1
        options.scaled_width, options.scaled_height = width, height
    output = config.output
    output.colorspace = _MODE_RGBA if found.has_alpha else _MODE_RGB
    output.is_external_memory = 1
    output.u.RGBA.rgba = ctypes.addressof(buffer)
    output.u.RGBA.stride = stride
    output.u.RGBA.size = len(buffer)
    status = lib.dll.WebPDecode(address, length, ctypes.byref(config))
    if status != _STATUS_OK:
        raise WebPError(status)
    if (output.width, output.height) != (width, height):  # never seen: libwebp wrote what it was asked
        raise WebPError(2)
    return Decoded(mode, (width, height), stride, buffer)
