"""ICC profiles made at test time (no binary fixtures): RGB matrix/TRC profiles of the spaces phones and
cameras write (Display P3, Adobe RGB), built from their published primaries and white point with the
Bradford adaptation to the D50 PCS, as ICC.1:2010 lays them out. littlecms (``ImageCms``) reads them and is
the tests' oracle for what the colours must become."""

from __future__ import annotations

import struct
from collections.abc import Sequence

Vec = tuple[float, float, float]
Mat = tuple[Vec, Vec, Vec]

D65 = (0.3127, 0.3290)
D50_XYZ = (0.9642, 1.0, 0.8249)
#: (red, green, blue) chromaticities.
DISPLAY_P3 = ((0.680, 0.320), (0.265, 0.690), (0.150, 0.060))
ADOBE_RGB = ((0.640, 0.330), (0.210, 0.710), (0.150, 0.060))
#: sRGB's tone curve as ICC parametric function type 3 (g, a, b, c, d).
SRGB_PARA = (2.4, 1 / 1.055, 0.055 / 1.055, 1 / 12.92, 0.04045)
_BRADFORD: Mat = ((0.8951, 0.2664, -0.1614), (-0.7502, 1.7135, 0.0367), (0.0389, -0.0685, 1.0296))


def _mul(m: Mat, v: Vec) -> Vec:
    return (
        m[0][0] * v[0] + m[0][1] * v[1] + m[0][2] * v[2],
        m[1][0] * v[0] + m[1][1] * v[1] + m[1][2] * v[2],
        m[2][0] * v[0] + m[2][1] * v[1] + m[2][2] * v[2],
    )


def _inv(m: Mat) -> Mat:
    (a, b, c), (d, e, f), (g, h, i) = m
    det = a * (e * i - f * h) - b * (d * i - f * g) + c * (d * h - e * g)
    return (
        ((e * i - f * h) / det, (c * h - b * i) / det, (b * f - c * e) / det),
        ((f * g - d * i) / det, (a * i - c * g) / det, (c * d - a * f) / det),
        ((d * h - e * g) / det, (b * g - a * h) / det, (a * e - b * d) / det),
    )


def _xyz(xy: tuple[float, float]) -> Vec:
    x, y = xy
    return x / y, 1.0, (1 - x - y) / y


def d50_colorants(primaries: Sequence[tuple[float, float]], white: tuple[float, float] = D65) -> list[Vec]:
    """The red, green and blue colorants (XYZ, D50-adapted by Bradford) of an RGB space."""
    columns = [_xyz(p) for p in primaries]
    m: Mat = tuple(tuple(columns[j][i] for j in range(3)) for i in range(3))  # type: ignore[assignment]
    scale = _mul(_inv(m), _xyz(white))
    src, dst = _mul(_BRADFORD, _xyz(white)), _mul(_BRADFORD, D50_XYZ)
    gain: Mat = ((dst[0] / src[0], 0, 0), (0, dst[1] / src[1], 0), (0, 0, dst[2] / src[2]))
    adapt = _matmul(_inv(_BRADFORD), _matmul(gain, _BRADFORD))
    return [_mul(adapt, tuple(c * s for c in col)) for col, s in zip(columns, scale, strict=True)]  # type: ignore[arg-type]


def _matmul(m: Mat, n: Mat) -> Mat:
    return tuple(tuple(sum(m[i][k] * n[k][j] for k in range(3)) for j in range(3)) for i in range(3))  # type: ignore[return-value]


def _s15(v: float) -> bytes:
    return struct.pack(">i", round(v * 65536))


def _text(text: str, version: int) -> bytes:
    if version >= 4:  # multiLocalizedUnicodeType
        body = text.encode("utf-16-be")
        return b"mluc\0\0\0\0" + struct.pack(">II2s2sII", 1, 12, b"en", b"US", len(body), 28) + body
    raw = text.encode("ascii") + b"\0"
    return b"desc\0\0\0\0" + struct.pack(">I", len(raw)) + raw + b"\0" * 79


def rgb_profile(
    name: str,
    primaries: Sequence[tuple[float, float]],
    *,
    para: Sequence[float] | None = SRGB_PARA,
    gamma: float | None = None,
    table: Sequence[int] | None = None,
    version: int = 4,
) -> bytes:
    """An ICC RGB display profile: colorants of ``primaries`` (D65 white), and one tone curve for the
    three channels: ``para`` (function type 3, default sRGB's), or a ``curv`` of one ``gamma`` or of a
    ``table`` of 16-bit values."""
    red, green, blue = d50_colorants(primaries)
    if gamma is not None:
        curve = b"curv\0\0\0\0" + struct.pack(">IH", 1, round(gamma * 256)) + b"\0\0"
    elif table is not None:
        curve = b"curv\0\0\0\0" + struct.pack(f">I{len(table)}H", len(table), *table)
        curve += b"\0" * (-len(curve) % 4)
    else:
        assert para is not None
        curve = b"para\0\0\0\0" + struct.pack(">HH", 3, 0) + b"".join(_s15(p) for p in para)
    tags: list[tuple[bytes, bytes]] = [
        (b"desc", _text(name, version)),
        (b"cprt", _text("No copyright, test data", version)),
        (b"wtpt", b"XYZ \0\0\0\0" + b"".join(_s15(v) for v in D50_XYZ)),
        (b"rXYZ", b"XYZ \0\0\0\0" + b"".join(_s15(v) for v in red)),
        (b"gXYZ", b"XYZ \0\0\0\0" + b"".join(_s15(v) for v in green)),
        (b"bXYZ", b"XYZ \0\0\0\0" + b"".join(_s15(v) for v in blue)),
        (b"rTRC", curve),
        (b"gTRC", curve),
        (b"bTRC", curve),
    ]
    offset = 128 + 4 + 12 * len(tags)
    table_part, data_part = b"", b""
    for signature, body in tags:
        body += b"\0" * (-len(body) % 4)
        table_part += struct.pack(">4sII", signature, offset + len(data_part), len(body))
        data_part += body
    size = offset + len(data_part)
    major = b"\x04\x30\0\0" if version >= 4 else b"\x02\x10\0\0"
    header = (
        struct.pack(">I", size)
        + b"none"
        + major
        + b"mntrRGB XYZ "
        + struct.pack(">6H", 2025, 1, 1, 0, 0, 0)
        + b"acsp"
        + b"APPL"
        + b"\0" * 4  # flags
        + b"\0" * 8  # device manufacturer, model
        + b"\0" * 8  # attributes
        + struct.pack(">I", 0)  # rendering intent: perceptual
        + b"".join(_s15(v) for v in D50_XYZ)  # PCS illuminant
        + b"\0" * 4  # creator
        + b"\0" * 16  # profile id
        + b"\0" * 28
    )
    assert len(header) == 128, len(header)
    return header + struct.pack(">I", len(tags)) + table_part + data_part
