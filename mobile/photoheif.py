"""A grid HEIC decoded tile by tile by libheif itself (part of the photo pipeline; only
``mobile.photowhole`` imports it). No PIL here: ctypes over the libheif that pillow-heif bundles.

pillow-heif decodes a HEIC whole (libheif assembles the grid's tiles into one YCbCr picture, then
converts all of it to RGB: about 4.5 bytes a pixel at its peak), so a HEIC over about 52 MP did not fit
the phone's decode budget. A camera HEIC is a grid of small HEVC pictures (512 x 512 on most phones);
libheif (1.19 and later) decodes one of them at a time (``heif_image_handle_decode_image_tile``),
converted to 8-bit interleaved RGB, so the caller holds a tile and whatever it builds from it.

Tiles are decoded as stored (``ignore_transformations`` set in libheif's own decoding options): a
rotation (``irot``) or mirroring (``imir``) is applied by the caller to each tile (``transposes``) and
``rows`` says where each tile goes in the upright picture (libheif's own placement of turned tiles,
``top_offset``/``left_offset``, changed meaning between 1.19 and 1.23 and is not used). Only that goes
this way (``open_tiled`` says None otherwise, and the caller decodes whole): a grid of more than one
tile, whose primary image has no crop (``clap``) and no alpha (libheif 1.19-1.23 decodes a tile's alpha
from the alpha image's tile at the same index, which it marks as unverified, and pillow-heif writes an
RGBA HEIC as a single picture, so no such file was at hand to check it against).

The two structures passed by value or filled in below are transcribed from libheif's headers, identical
in 1.19 (``heif.h``) and 1.20-1.23 (``heif_error.h``, ``heif_tiling.h``), and their offsets were
checked with a C program compiled against both (LP64: ``heif_error`` 16 bytes: code 0, subcode 4,
message 8; ``heif_image_tiling`` 72 bytes: num_columns 4 ... left_offset 32, extra_dimension_size 40;
``heif_decoding_options.ignore_transformations`` at byte 1, the one field written here, in a structure
libheif allocates; the property fourccs and mirror directions likewise). Every other type is an opaque
pointer or an int-sized enum. The library is used only when it is 1.x at
1.19 or later (``heif_get_version_number``) and has every symbol used here.
"""

from __future__ import annotations

import ctypes
import importlib.util
from dataclasses import dataclass
from functools import cache
from pathlib import Path

__all__ = ["HeifError", "Tile", "Tiled", "available", "open_tiled"]


# -- libheif's headers (1.19 heif.h; 1.20-1.23 heif_error.h, heif_tiling.h) -----------------------------
class _Error(ctypes.Structure):  # struct heif_error (returned by value)
    _fields_ = [("code", ctypes.c_int), ("subcode", ctypes.c_int), ("message", ctypes.c_char_p)]


class _Tiling(ctypes.Structure):  # struct heif_image_tiling
    _fields_ = [
        ("version", ctypes.c_int),
        ("num_columns", ctypes.c_uint32),
        ("num_rows", ctypes.c_uint32),
        ("tile_width", ctypes.c_uint32),
        ("tile_height", ctypes.c_uint32),
        ("image_width", ctypes.c_uint32),
        ("image_height", ctypes.c_uint32),
        ("top_offset", ctypes.c_uint32),
        ("left_offset", ctypes.c_uint32),
        ("number_of_extra_dimensions", ctypes.c_uint8),
        ("extra_dimension_size", ctypes.c_uint32 * 8),
    ]


class _GuardedTiling(ctypes.Structure):
    """The tiling with spare room after it: one more defence should a library write past our layout."""

    _fields_ = [("tiling", _Tiling), ("spare", ctypes.c_uint8 * 256)]


_COLORSPACE_RGB = 1  # heif_colorspace_RGB
_CHROMA_RGB = 10  # heif_chroma_interleaved_RGB (always 8 bits a sample, a 10-bit HEIC included)
_CHANNEL_INTERLEAVED = 10  # heif_channel_interleaved
_IROT, _IMIR = 0x69726F74, 0x696D6972  # heif_item_property_type_transform_rotation / _mirror (fourcc)
#: Pillow's transposes for libheif's transformations: irot's counter-clockwise angle, imir's direction
#: (heif_transform_mirror_direction_vertical 0: top and bottom swap; horizontal 1: left and right).
_ROTATIONS = {90: "ROTATE_90", 180: "ROTATE_180", 270: "ROTATE_270"}
_MIRRORS = {0: "FLIP_TOP_BOTTOM", 1: "FLIP_LEFT_RIGHT"}
#: heif_decoding_options: ``uint8_t version`` then ``uint8_t ignore_transformations`` (version 1
#: fields, at the same place in every version; the structure is libheif's own, from its allocator).
_IGNORE_TRANSFORMATIONS_OFFSET = 1
_MIN_VERSION = 0x01130000  # 1.19.0: tile decoding and the tiling structure
_P = ctypes.c_void_p
_SIGNATURES: dict[str, tuple[type | None, list[type]]] = {
    "heif_get_version_number": (ctypes.c_uint32, []),
    "heif_context_alloc": (_P, []),
    "heif_context_free": (None, [_P]),
    "heif_context_read_from_memory_without_copy": (_Error, [_P, _P, ctypes.c_size_t, _P]),
    "heif_context_get_primary_image_handle": (_Error, [_P, ctypes.POINTER(_P)]),
    "heif_image_handle_release": (None, [_P]),
    "heif_image_handle_get_item_id": (ctypes.c_uint32, [_P]),
    "heif_image_handle_get_width": (ctypes.c_int, [_P]),
    "heif_image_handle_get_height": (ctypes.c_int, [_P]),
    "heif_image_handle_has_alpha_channel": (ctypes.c_int, [_P]),
    "heif_image_handle_get_image_tiling": (_Error, [_P, ctypes.c_int, ctypes.POINTER(_Tiling)]),
    "heif_image_handle_decode_image_tile": (
        _Error,
        [_P, ctypes.POINTER(_P), ctypes.c_int, ctypes.c_int, _P, ctypes.c_uint32, ctypes.c_uint32],
    ),
    "heif_item_get_transformation_properties": (ctypes.c_int, [_P, ctypes.c_uint32, _P, ctypes.c_int]),
    "heif_image_get_width": (ctypes.c_int, [_P, ctypes.c_int]),
    "heif_image_get_height": (ctypes.c_int, [_P, ctypes.c_int]),
    "heif_image_get_bits_per_pixel_range": (ctypes.c_int, [_P, ctypes.c_int]),
    "heif_image_get_plane_readonly": (_P, [_P, ctypes.c_int, ctypes.POINTER(ctypes.c_int)]),
    "heif_image_release": (None, [_P]),
    "heif_decoding_options_alloc": (_P, []),
    "heif_decoding_options_free": (None, [_P]),
    "heif_item_get_property_type": (ctypes.c_int, [_P, ctypes.c_uint32, ctypes.c_uint32]),
    "heif_item_get_property_transform_rotation_ccw": (ctypes.c_int, [_P, ctypes.c_uint32, ctypes.c_uint32]),
    "heif_item_get_property_transform_mirror": (ctypes.c_int, [_P, ctypes.c_uint32, ctypes.c_uint32]),
}


class HeifError(ValueError):
    """libheif could not read or decode the file (damaged, truncated): its error code and message."""

    def __init__(self, error: _Error | None, what: str = "") -> None:
        message = (error.message or b"").decode("utf-8", "replace") if error is not None else what
        code = f" (code {error.code}.{error.subcode})" if error is not None else ""
        super().__init__(f"HEIF decoding failed: {message}{code}")
        self.code = error.code if error is not None else 0


def _library_path() -> str | None:
    """The libheif that pillow-heif's extension is linked with (its wheel's ``pillow_heif.libs`` or
    ``.dylibs``), found without importing pillow-heif."""
    try:
        spec = importlib.util.find_spec("pillow_heif")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    package = Path(next(iter(spec.submodule_search_locations)))
    found = sorted(package.parent.glob("pillow_heif.libs/libheif*.so*"))
    found += sorted(package.glob(".dylibs/libheif*.dylib"))
    return str(found[0]) if found else None


def _open(path: str) -> ctypes.CDLL:
    """``dlopen`` of libheif. A wheel's bundled libraries (``pillow_heif.libs``: libheif, libde265,
    libx265, libaom, their names hashed) need not find each other: pillow-heif 0.22's libheif has no
    run path, so opening it fails (``libx265-….so: cannot open``) unless pillow-heif was imported first.
    Then its neighbours are opened first, each once its own needs are loaded, and libheif finds them
    among the loaded libraries by name."""
    try:
        return ctypes.CDLL(path)
    except OSError:
        pending = [p for p in sorted(Path(path).parent.glob("*.so*")) if str(p) != path]
        while pending:
            failed = []
            for neighbour in pending:
                try:
                    ctypes.CDLL(str(neighbour), mode=ctypes.RTLD_GLOBAL)
                except OSError:
                    failed.append(neighbour)
            if len(failed) == len(pending):
                break
            pending = failed
        return ctypes.CDLL(path)


def _load(path: str | None) -> ctypes.CDLL | None:
    """libheif from ``path``, or None when it is not there, lacks a symbol or is older than 1.19."""
    if path is None:
        return None
    try:
        dll = _open(path)
        if not all(hasattr(dll, name) for name in _SIGNATURES):
            return None
    except OSError:
        return None
    for name, (restype, argtypes) in _SIGNATURES.items():
        function = getattr(dll, name)
        function.restype, function.argtypes = restype, argtypes
    version = dll.heif_get_version_number()
    if version >> 24 != 1 or version < _MIN_VERSION:  # only the layouts transcribed above
        return None
    return dll


@cache
def _lib() -> ctypes.CDLL | None:
    return _load(_library_path())


def available() -> bool:
    """Whether grid HEICs are decoded here a tile at a time (else: pillow-heif's whole decode)."""
    return _lib() is not None


def _check(error: _Error) -> None:
    if error.code != 0:
        raise HeifError(error)


@dataclass(frozen=True, slots=True)
class Tile:
    """One decoded tile, 8-bit RGB: ``size`` as decoded, the grid's tile size (a whole tile: the grid's last
    column and row reach past the picture), rows of ``stride`` bytes in ``buffer`` (libheif's memory:
    valid until the next tile is decoded or the file is closed)."""

    size: tuple[int, int]
    stride: int
    buffer: ctypes.Array[ctypes.c_uint8]


class Tiled:
    """A grid HEIC open in libheif (``open_tiled``): its size, its tiling, and ``tile`` to decode one.
    Use it as a context manager; ``data`` must outlive it (libheif reads it in place)."""

    def __init__(
        self,
        dll: ctypes.CDLL,
        context: int,
        handle: int,
        tiling: _Tiling,
        data: bytes,
        transforms: tuple[tuple[str, int], ...] = (),
    ) -> None:
        self._data = data  # libheif reads it in place: kept alive with the context
        self._dll, self._context, self._handle, self._image = dll, context, handle, _P()
        self._options = dll.heif_decoding_options_alloc() or 0
        if self._options:  # tiles as stored: their turns are applied by the caller (``rows``)
            ctypes.c_uint8.from_address(self._options + _IGNORE_TRANSFORMATIONS_OFFSET).value = 1
        #: the grid as stored: the picture's size before its transformations, a tile's, columns and rows
        self.stored_size = (int(tiling.image_width), int(tiling.image_height))
        self.tile_size = (int(tiling.tile_width), int(tiling.tile_height))
        self.grid = (int(tiling.num_columns), int(tiling.num_rows))
        self.transforms = transforms  # ("rot", ccw angle) / ("mir", direction), in the file's order
        self.transposes = tuple(
            _ROTATIONS[value] if kind == "rot" else _MIRRORS[value]
            for kind, value in transforms
            if value or kind == "mir"
        )
        turned = sum(value for kind, value in transforms if kind == "rot") % 180 == 90
        #: the upright picture's size and a tile's, once turned
        self.size = self.stored_size[::-1] if turned else self.stored_size
        self.upright_tile = self.tile_size[::-1] if turned else self.tile_size

    def rows(self) -> list[tuple[int, list[tuple[int, int, int]]]]:
        """The grid's tiles by rows of the upright picture, top to bottom: (top, [(column, row, left)])
        where a tile, turned by ``transposes``, goes at (left, top) (negative where the stored grid
        reached past the picture's edge and a turn brought that edge to the top or left)."""
        placed: dict[int, list[tuple[int, int, int]]] = {}
        tile_width, tile_height = self.tile_size
        for row in range(self.grid[1]):
            for column in range(self.grid[0]):
                (width, height) = self.stored_size
                x0, y0 = column * tile_width, row * tile_height
                x1, y1 = x0 + tile_width, y0 + tile_height
                for kind, value in self.transforms:
                    if kind == "mir" and value == 1:
                        x0, x1 = width - x1, width - x0
                    elif kind == "mir":
                        y0, y1 = height - y1, height - y0
                    elif value == 90:  # counter-clockwise: (x, y) -> (y, width - 1 - x)
                        x0, x1, y0, y1 = y0, y1, width - x1, width - x0
                        width, height = height, width
                    elif value == 180:
                        x0, x1, y0, y1 = width - x1, width - x0, height - y1, height - y0
                    elif value == 270:  # (x, y) -> (height - 1 - y, x)
                        x0, x1, y0, y1 = height - y1, height - y0, x0, x1
                        width, height = height, width
                placed.setdefault(y0, []).append((column, row, x0))
        return sorted(placed.items())

    def __enter__(self) -> Tiled:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _release_image(self) -> None:
        if self._image.value:
            self._dll.heif_image_release(self._image)
            self._image = _P()

    def close(self) -> None:
        self._release_image()
        if self._options:
            self._dll.heif_decoding_options_free(self._options)
            self._options = 0
        if self._handle:
            self._dll.heif_image_handle_release(self._handle)
            self._handle = 0
        if self._context:
            self._dll.heif_context_free(self._context)
            self._context = 0

    def tile(self, column: int, row: int) -> Tile:
        """The tile at ``column``, ``row`` of the grid decoded to 8-bit RGB(A) (the previous tile's
        memory is released first). Raises HeifError for a tile libheif cannot decode."""
        if not (0 <= column < self.grid[0] and 0 <= row < self.grid[1]) or not self._handle:
            raise IndexError((column, row))
        self._release_image()
        dll, image = self._dll, _P()
        if self.transforms and not self._options:
            raise HeifError(None, "no decoding options")
        _check(
            dll.heif_image_handle_decode_image_tile(
                self._handle,
                ctypes.byref(image),
                _COLORSPACE_RGB,
                _CHROMA_RGB,
                self._options or None,
                column,
                row,
            )
        )
        if not image.value:
            raise HeifError(None, "no tile image")
        self._image = image
        width = dll.heif_image_get_width(image, _CHANNEL_INTERLEAVED)
        height = dll.heif_image_get_height(image, _CHANNEL_INTERLEAVED)
        stride = ctypes.c_int()
        plane = dll.heif_image_get_plane_readonly(image, _CHANNEL_INTERLEAVED, ctypes.byref(stride))
        bits = dll.heif_image_get_bits_per_pixel_range(image, _CHANNEL_INTERLEAVED)
        # every tile of a grid has the first one's size (what the caller planned for): a file whose
        # tiles differ is refused rather than trusted
        if not plane or bits != 8 or (width, height) != self.tile_size or stride.value < width * 3:
            raise HeifError(None, f"unexpected tile ({width} x {height}, {bits} bits, stride {stride.value})")
        buffer = (ctypes.c_uint8 * (stride.value * height)).from_address(plane)
        return Tile((width, height), stride.value, buffer)


def _tiling(dll: ctypes.CDLL, handle: int) -> _Tiling:
    guarded = _GuardedTiling()
    _check(dll.heif_image_handle_get_image_tiling(handle, 0, ctypes.byref(guarded.tiling)))
    return guarded.tiling


def _transforms(dll: ctypes.CDLL, context: int, item: int) -> tuple[tuple[str, int], ...] | None:
    """The item's rotations and mirrorings in the file's order, or None for a crop (``clap``) or
    anything else libheif counts as a transformation."""
    count = dll.heif_item_get_transformation_properties(context, item, None, 0)
    if count <= 0:
        return () if count == 0 else None
    if count > 8:
        return None
    ids = (ctypes.c_uint32 * count)()
    got = dll.heif_item_get_transformation_properties(context, item, ids, count)
    if got != count:
        return None
    found: list[tuple[str, int]] = []
    for prop in ids:
        kind = dll.heif_item_get_property_type(context, item, prop)
        if kind == _IROT:
            angle = dll.heif_item_get_property_transform_rotation_ccw(context, item, prop)
            if angle not in (0, 90, 180, 270):
                return None
            found.append(("rot", angle))
        elif kind == _IMIR:
            direction = dll.heif_item_get_property_transform_mirror(context, item, prop)
            if direction not in _MIRRORS:
                return None
            found.append(("mir", direction))
        else:
            return None
    return tuple(found)


def _usable_tiling(
    dll: ctypes.CDLL, context: int, handle: ctypes.c_void_p, data: bytes
) -> tuple[_Tiling, tuple[tuple[str, int], ...]] | None:
    """The primary image's tiling and transformations, its handle put in ``handle``, when
    ``open_tiled`` takes it."""
    address = ctypes.cast(ctypes.c_char_p(data), _P).value
    if dll.heif_context_read_from_memory_without_copy(context, address, len(data), None).code != 0:
        return None
    if dll.heif_context_get_primary_image_handle(context, ctypes.byref(handle)).code != 0 or not handle.value:
        return None
    try:
        tiling = _tiling(dll, handle.value)
    except HeifError:
        return None
    item = dll.heif_image_handle_get_item_id(handle)
    size = (dll.heif_image_handle_get_width(handle), dll.heif_image_handle_get_height(handle))
    transforms = _transforms(dll, context, item)
    if transforms is None:
        return None
    stored = (tiling.image_width, tiling.image_height)
    turned = sum(value for kind, value in transforms if kind == "rot") % 180 == 90
    usable = (
        tiling.num_columns * tiling.num_rows > 1
        and tiling.number_of_extra_dimensions == 0
        and tiling.tile_width > 0
        and tiling.tile_height > 0
        and size == (stored[::-1] if turned else stored)
        and tiling.num_columns * tiling.tile_width >= tiling.image_width
        and tiling.num_rows * tiling.tile_height >= tiling.image_height
        and not dll.heif_image_handle_has_alpha_channel(handle)
    )
    return (tiling, transforms) if usable else None


def open_tiled(data: bytes) -> Tiled | None:
    """HEIC ``data``'s primary image open for tile decoding, or None when it is not decoded that way
    here (libheif not reachable or too old; a single picture; a transformation; alpha;
    a file libheif cannot read, whose error the whole decode then reports). ``data`` must outlive it."""
    dll = _lib()
    if dll is None:
        return None
    context = dll.heif_context_alloc()
    if not context:
        return None
    handle = _P()
    usable = _usable_tiling(dll, context, handle, data)
    if usable is None or not handle.value:
        if handle.value:
            dll.heif_image_handle_release(handle)
        dll.heif_context_free(context)
        return None
    return Tiled(dll, context, handle.value, usable[0], data, usable[1])
