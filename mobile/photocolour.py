"""A photo's embedded colour profile honoured: its pixels brought to sRGB before the profile is dropped
(part of the photo pipeline: only ``mobile.photos`` imports it).

The evidence JPEG carries no metadata (``mobile.photos``), so it is read as sRGB everywhere: on the
phone, at HQ, in the dashboard. A photo whose pixels are coded for another RGB space (an iPhone's and
many Android flagships' Display P3, a camera's Adobe RGB) must therefore be converted, or its colours
come out wrong once its profile is gone: duller and shifted (a red shop sign, a vehicle's colour).

Flet's Android build of Pillow has no littlecms (``ImageCms``), so the conversion is done here, from the
profile's own description: an ICC profile of an RGB space as phones and cameras write it is a matrix and
three tone curves (``rXYZ``/``gXYZ``/``bXYZ`` colorants, ``rTRC``/``gTRC``/``bTRC`` as ``curv`` or
``para``; ICC.1:2010 sections 10.5, 10.18, 10.31), which ``rgb_profile`` reads. ``to_srgb`` applies
source curves → colorants (to the D50 PCS) → sRGB's inverse matrix → sRGB's curve, clipped to the sRGB
gamut (relative colorimetric), as a 3D lookup table (Pillow's ``Color3DLUT``, 33 points a side, made once
per profile in Python, applied in C by trilinear interpolation: a few ms for 2 MP). A YCbCr image (a
camera JPEG kept as decoded) is converted as it is: its conversion to RGB and back is in the table
(Pillow's own conversions lose up to 3 levels on the way).

A profile that is sRGB already, is not an RGB matrix/TRC profile (LUT-based, CMYK, grey) or cannot be
read is left alone: the pixels stay as decoded, as they always were.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import cast

from PIL import Image, ImageFilter

__all__ = ["RgbProfile", "rgb_profile", "to_srgb"]

Curve = Callable[[float], float]
Matrix = tuple[tuple[float, float, float], tuple[float, float, float], tuple[float, float, float]]

#: Points a side of the lookup table (33 is what colour-managed pipelines use for 8-bit data).
LUT_SIZE = 33
#: sRGB's colorants adapted to the D50 PCS (as the sRGB IEC61966-2.1 profile carries them): columns R, G, B.
_SRGB_COLORANTS: Matrix = (
    (0.4360747, 0.3850649, 0.1430804),
    (0.2225045, 0.7168786, 0.0606169),
    (0.0139322, 0.0971045, 0.7141733),
)
#: A profile whose colorants are this close to sRGB's and whose curves are within this of sRGB's is sRGB.
_SAME_COLORANT = 0.002
_SAME_CURVE = 0.5 / 255
#: What Color3DLUT's table holds at most (it keeps values in a signed 16-bit fixed point: -2..2).
_TABLE_MAX = 1.99
#: Bytes of a profile read at most (a matrix/TRC profile is a few KB; a camera's may hold large LUTs).
_MAX_PROFILE = 4 * 2**20


@dataclass(frozen=True, slots=True)
class RgbProfile:
    """An RGB matrix/TRC profile: ``colorants`` (rows X, Y, Z; columns R, G, B, D50) and a tone curve per
    channel (coded value 0..1 to linear light 0..1)."""

    colorants: Matrix
    curves: tuple[Curve, Curve, Curve]


def rgb_profile(icc: bytes | None) -> RgbProfile | None:
    """The RGB matrix/TRC profile ``icc`` describes, or None: none given, sRGB already, or not a profile
    this module converts from (see the module docstring). Never raises."""
    if not icc or len(icc) > _MAX_PROFILE:
        return None
    try:
        profile = _parse(icc)
        if profile is None or _is_srgb(profile):  # (which tries the curves over the whole range)
            return None
    except (struct.error, ArithmeticError, ValueError, TypeError):  # TypeError: a complex power
        return None
    return profile


def to_srgb(image: Image.Image, icc: bytes | None) -> Image.Image:
    """``image`` (RGB or YCbCr, 8-bit) with its colours converted from the ICC profile ``icc`` (the
    photo's own) to sRGB, in its own mode; as it is when ``rgb_profile`` gives None for ``icc``, or the
    mode is neither."""
    if not icc or image.mode not in ("RGB", "YCbCr"):
        return image
    lut = _lut(icc, image.mode)
    return image if lut is None else image.filter(lut)


# -- reading the profile -----------------------------------------------------------------------------------
def _parse(icc: bytes) -> RgbProfile | None:
    if len(icc) < 132 or icc[36:40] != b"acsp" or icc[16:20] != b"RGB " or icc[20:24] != b"XYZ ":
        return None
    (count,) = struct.unpack_from(">I", icc, 128)
    if count > 1000 or 132 + 12 * count > len(icc):
        return None
    tags: dict[bytes, bytes] = {}
    for i in range(count):
        signature, offset, size = struct.unpack_from(">4sII", icc, 132 + 12 * i)
        if offset + size > len(icc) or size < 8:
            return None
        tags[signature] = icc[offset : offset + size]
    needed = (b"rXYZ", b"gXYZ", b"bXYZ", b"rTRC", b"gTRC", b"bTRC")
    if not all(tag in tags for tag in needed):
        return None  # a LUT-based profile (A2B0 only): not converted here
    columns = [_xyz(tags[tag]) for tag in needed[:3]]
    colorants: Matrix = (
        (columns[0][0], columns[1][0], columns[2][0]),
        (columns[0][1], columns[1][1], columns[2][1]),
        (columns[0][2], columns[1][2], columns[2][2]),
    )
    curves = (_curve(tags[b"rTRC"]), _curve(tags[b"gTRC"]), _curve(tags[b"bTRC"]))
    _inverse(colorants)  # a singular matrix (ZeroDivisionError) is no profile
    return RgbProfile(colorants, curves)


def _s15(data: bytes, at: int) -> float:
    return float(struct.unpack_from(">i", data, at)[0]) / 65536


def _xyz(tag: bytes) -> tuple[float, float, float]:
    if tag[:4] != b"XYZ " or len(tag) < 20:
        raise ValueError("not an XYZ tag")
    return _s15(tag, 8), _s15(tag, 12), _s15(tag, 16)


#: Parameters of each ``para`` function type (ICC.1:2010 table 65).
_PARA_PARAMS = {0: 1, 1: 3, 2: 4, 3: 5, 4: 7}


def _curve(tag: bytes) -> Curve:
    kind = tag[:4]
    if kind == b"curv":
        (n,) = struct.unpack_from(">I", tag, 8)
        if n == 0:
            return _clipped(lambda x: x)
        if n == 1:
            gamma = struct.unpack_from(">H", tag, 12)[0] / 256
            return _clipped(lambda x: x**gamma)
        if n > 65536 or 12 + 2 * n > len(tag):
            raise ValueError("curve table cut short")
        table = [v / 65535 for v in struct.unpack_from(f">{n}H", tag, 12)]
        return _clipped(_interpolated(table))
    if kind == b"para":
        (function,) = struct.unpack_from(">H", tag, 8)
        count = _PARA_PARAMS.get(function)
        if count is None or 12 + 4 * count > len(tag):
            raise ValueError("unknown parametric curve")
        params = [_s15(tag, 12 + 4 * i) for i in range(count)]
        return _clipped(_parametric(function, params))
    raise ValueError("not a curve")


def _interpolated(table: Sequence[float]) -> Curve:
    last = len(table) - 1

    def curve(x: float) -> float:
        at = x * last
        i = min(int(at), last - 1)
        return table[i] + (table[i + 1] - table[i]) * (at - i)

    return curve


def _parametric(function: int, p: Sequence[float]) -> Curve:
    g = p[0]
    a, b, c, d, e, f = (*p[1:], 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)[:6]
    if function == 0:
        return lambda x: x**g
    if function == 1:
        return lambda x: (a * x + b) ** g if a * x + b > 0 else 0.0
    if function == 2:
        return lambda x: ((a * x + b) ** g if a * x + b > 0 else 0.0) + c
    if function == 3:
        return lambda x: (a * x + b) ** g if x >= d and a * x + b > 0 else c * x
    return lambda x: ((a * x + b) ** g if a * x + b > 0 else 0.0) + e if x >= d else c * x + f


def _clipped(curve: Curve) -> Curve:
    return lambda x: min(1.0, max(0.0, float(curve(x))))


def _srgb_decode(v: float) -> float:
    return v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4


def _srgb_encode(v: float) -> float:
    """sRGB's curve, extended beyond 0..1 (odd below 0) and not clipped: the table holds values
    a little outside 0..1 (Pillow keeps -2..2) and the filter clips its results, so a colour near the
    gamut's edge is interpolated between unclipped neighbours."""
    if v < 0:
        return -_srgb_encode(-v)
    out = v * 12.92 if v <= 0.0031308 else 1.055 * v ** (1 / 2.4) - 0.055
    return min(out, _TABLE_MAX)


def _is_srgb(profile: RgbProfile) -> bool:
    same_colorants = all(
        abs(v - s) <= _SAME_COLORANT
        for row, srgb_row in zip(profile.colorants, _SRGB_COLORANTS, strict=True)
        for v, s in zip(row, srgb_row, strict=True)
    )
    samples = [i / 32 for i in range(33)]
    # (a curve that cannot be evaluated over 0..1 raises here, before any table is made)
    off = [abs(curve(x) - _srgb_decode(x)) for curve in profile.curves for x in samples]
    return same_colorants and max(off) <= _SAME_CURVE


# -- the lookup table ----------------------------------------------------------------------------------------
def _inverse(m: Matrix) -> Matrix:
    (a, b, c), (d, e, f), (g, h, i) = m
    det = a * (e * i - f * h) - b * (d * i - f * g) + c * (d * h - e * g)
    if abs(det) < 1e-9:
        raise ZeroDivisionError("singular colorant matrix")
    return (
        ((e * i - f * h) / det, (c * h - b * i) / det, (b * f - c * e) / det),
        ((f * g - d * i) / det, (a * i - c * g) / det, (c * d - a * f) / det),
        ((d * h - e * g) / det, (b * g - a * h) / det, (a * e - b * d) / det),
    )


def _product(m: Matrix, n: Matrix) -> Matrix:
    rows = [tuple(sum(m[i][k] * n[k][j] for k in range(3)) for j in range(3)) for i in range(3)]
    return cast(Matrix, tuple(rows))


# JPEG's (JFIF's) full-range YCbCr, as libjpeg converts it (on 0..1 values).
def _ycc_to_rgb(y: float, cb: float, cr: float) -> tuple[float, float, float]:
    cb, cr = cb - 128 / 255, cr - 128 / 255
    return y + 1.402 * cr, y - 0.344136 * cb - 0.714136 * cr, y + 1.772 * cb


def _rgb_to_ycc(r: float, g: float, b: float) -> tuple[float, float, float]:
    y = 0.299 * r + 0.587 * g + 0.114 * b
    cb = -0.168736 * r - 0.331264 * g + 0.5 * b + 128 / 255
    cr = 0.5 * r - 0.418688 * g - 0.081312 * b + 128 / 255
    return tuple(min(_TABLE_MAX, max(-_TABLE_MAX, v)) for v in (y, cb, cr))  # type: ignore[return-value]


def _extended(curve: Curve) -> Curve:
    """``curve`` beyond 0..1: odd below 0, straight on above 1, so that a YCbCr value outside the RGB cube
    gives a value in line with its neighbours inside it (the table interpolates between both)."""
    top, slope = curve(1.0), (curve(1.0) - curve(1 - 1 / 64)) * 64

    def extended(x: float) -> float:
        if x < 0:
            return -curve(-x)
        return curve(x) if x <= 1 else top + (x - 1) * slope

    return extended


@lru_cache(maxsize=4)  # a table is ~3 MB of floats; a phone meets one or two profiles
def _lut(icc: bytes, mode: str) -> ImageFilter.Color3DLUT | None:
    """The table from the coding of ``icc`` to sRGB's, both in ``mode`` (RGB, or JPEG's YCbCr: its
    conversions to RGB and back folded in, unclipped between them); None when ``rgb_profile`` gives
    none."""
    profile = rgb_profile(icc)
    if profile is None:
        return None
    try:
        return ImageFilter.Color3DLUT(LUT_SIZE, _table(profile, mode))
    except (ArithmeticError, ValueError, TypeError):  # a curve that fails between the points it was tried at
        return None


def _table(profile: RgbProfile, mode: str) -> list[float]:
    """``_lut``'s table: ``LUT_SIZE`` cubed entries of three values, the first channel changing fastest."""
    (m00, m01, m02), (m10, m11, m12), (m20, m21, m22) = _product(_inverse(_SRGB_COLORANTS), profile.colorants)
    axis = [i / (LUT_SIZE - 1) for i in range(LUT_SIZE)]
    table: list[float] = []
    if mode == "YCbCr":
        r_curve, g_curve, b_curve = (_extended(curve) for curve in profile.curves)
        for cr in axis:  # the first channel changes fastest (Color3DLUT's order)
            for cb in axis:
                for y in axis:
                    r, g, b = _ycc_to_rgb(y, cb, cr)
                    lr, lg, lb = r_curve(r), g_curve(g), b_curve(b)
                    table += _rgb_to_ycc(
                        _srgb_encode(m00 * lr + m01 * lg + m02 * lb),
                        _srgb_encode(m10 * lr + m11 * lg + m12 * lb),
                        _srgb_encode(m20 * lr + m21 * lg + m22 * lb),
                    )
        return table
    lin_r, lin_g, lin_b = ([curve(x) for x in axis] for curve in profile.curves)  # once per grid value
    for lb in lin_b:
        for lg in lin_g:
            for lr in lin_r:
                table += (
                    _srgb_encode(m00 * lr + m01 * lg + m02 * lb),
                    _srgb_encode(m10 * lr + m11 * lg + m12 * lb),
                    _srgb_encode(m20 * lr + m21 * lg + m22 * lb),
                )
    return table
