"""A photo coded in another colour space than sRGB (Display P3 as iPhones and many Android phones write it,
Adobe RGB as cameras do) comes out in sRGB: the evidence JPEG carries no profile, so every screen reads it as
sRGB, and its colours must already be sRGB's. The profiles are made here (``tests/mobile/icckit.py``) and
littlecms codes the scenes in them; ``mobile.photocolour`` must not need littlecms (Flet's Android Pillow
has none)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageStat, features

from hq.blobs.photocheck import check_evidence
from mobile import photocolour
from mobile.photos import PhotoSettings, process_photo
from tests.mobile import icckit

pytestmark = pytest.mark.skipif(not features.check("littlecms2"), reason="the oracle, ImageCms, needs it")

#: Patches (left, top, right, bottom as fractions of the scene) and their sRGB colours: saturated ones,
#: where another space's coding differs most, and neutrals, which must stay neutral.
PATCHES = {
    "red": ((0.05, 0.05, 0.3, 0.3), (220, 20, 20)),
    "green": ((0.35, 0.05, 0.65, 0.3), (20, 190, 30)),
    "blue": ((0.7, 0.05, 0.95, 0.3), (25, 40, 210)),
    "yellow": ((0.05, 0.4, 0.3, 0.65), (235, 220, 30)),
    "skin": ((0.35, 0.4, 0.65, 0.65), (200, 140, 110)),
    "white": ((0.7, 0.4, 0.95, 0.65), (245, 245, 245)),
    "grey": ((0.05, 0.72, 0.3, 0.95), (128, 128, 128)),
    "dark": ((0.35, 0.72, 0.65, 0.95), (30, 30, 30)),
}
P3 = icckit.rgb_profile("Display P3", icckit.DISPLAY_P3)
ADOBE = icckit.rgb_profile("Adobe RGB (1998)", icckit.ADOBE_RGB, para=None, gamma=563 / 256, version=2)
#: A camera profile whose curve is a table (gamma 2.2 in 1024 steps).
GAMMA_22 = [round(65535 * (i / 1023) ** 2.2) for i in range(1024)]
TABLE = icckit.rgb_profile("P3 table", icckit.DISPLAY_P3, table=GAMMA_22)
NO_MARK = PhotoSettings(watermark=False)


def scene(width: int, height: int) -> Image.Image:
    image = Image.new("RGB", (width, height), (90, 90, 90))
    draw = ImageDraw.Draw(image)
    for (left, top, right, bottom), colour in PATCHES.values():
        draw.rectangle((left * width, top * height, right * width, bottom * height), fill=colour)
    return image


def coded_in(image: Image.Image, profile: bytes) -> Image.Image:
    """The sRGB ``image``'s colours as ``profile``'s space codes them (littlecms, relative colorimetric)."""
    from PIL import ImageCms

    srgb = ImageCms.createProfile("sRGB")
    target = ImageCms.ImageCmsProfile(io.BytesIO(profile))
    coded = ImageCms.profileToProfile(image, srgb, target, renderingIntent=1, outputMode="RGB")
    assert coded is not None
    return coded


def encode(image: Image.Image, fmt: str = "JPEG", **params: object) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **params)
    return out.getvalue()


def patch_colours(data: bytes) -> dict[str, tuple[float, ...]]:
    image = Image.open(io.BytesIO(data)).convert("RGB")
    width, height = image.size
    colours = {}
    for name, ((left, top, right, bottom), _) in PATCHES.items():
        inset = 0.03  # away from the edges, where JPEG's colour subsampling blurs
        box = (
            round((left + inset) * width),
            round((top + inset) * height),
            round((right - inset) * width),
            round((bottom - inset) * height),
        )
        colours[name] = tuple(ImageStat.Stat(image.crop(box)).mean)
    return colours


def lab(colour: tuple[float, ...]) -> tuple[float, float, float]:
    """CIELAB (D65) of an sRGB colour."""

    def linear(v: float) -> float:
        v /= 255
        return v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4

    def f(t: float) -> float:
        return t ** (1 / 3) if t > 0.008856 else 7.787 * t + 16 / 116

    r, g, b = (linear(v) for v in colour)
    x = (0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.9505
    y = 0.2126 * r + 0.7152 * g + 0.0722 * b
    z = (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.089
    return 116 * f(y) - 16, 500 * (f(x) - f(y)), 200 * (f(y) - f(z))


def delta_e(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    """CIE76 colour difference: about 2.3 is the least a viewer notices."""
    return float(sum((p - q) ** 2 for p, q in zip(lab(a), lab(b), strict=True)) ** 0.5)


def worst_delta_e(data: bytes) -> float:
    """The largest colour difference of a patch of the image ``data`` from its sRGB colour."""
    return max(delta_e(colour, PATCHES[name][1]) for name, colour in patch_colours(data).items())


@pytest.mark.parametrize(
    ("profile", "size", "fmt"),
    [
        (P3, (2400, 1800), "JPEG"),  # a camera JPEG: decoded while it is resized, kept in YCbCr
        (P3, (800, 600), "JPEG"),  # no resize
        (P3, (2400, 1800), "PNG"),  # iCCP, decoded in bands
        (ADOBE, (1200, 900), "JPEG"),  # ICC v2, one gamma
        (TABLE, (1200, 900), "JPEG"),  # a curve table
    ],
    ids=["p3-jpeg-camera", "p3-jpeg-small", "p3-png", "adobe-rgb-jpeg", "table-curve-jpeg"],
)
def test_a_photo_in_another_colour_space_comes_out_in_srgb(
    profile: bytes, size: tuple[int, int], fmt: str, tmp_path: Path
) -> None:
    original = scene(*size)
    coded = coded_in(original, profile)
    params: dict[str, object] = {"icc_profile": profile}
    if fmt == "JPEG":
        params["quality"] = 95
    source = encode(coded, fmt, **params)
    # the coding is far enough from sRGB that reading it as sRGB is visibly wrong (what the old pipeline did)
    assert worst_delta_e(encode(coded, "PNG")) > 15

    result = process_photo(source, None, NO_MARK)

    assert worst_delta_e(result.evidence) < 2.3  # measured 0.8 (P3), 1.7 (Adobe RGB, the table)
    assert worst_delta_e(result.thumbnail) < 3
    evidence = Image.open(io.BytesIO(result.evidence))
    assert "icc_profile" not in evidence.info  # sRGB, as every reader takes a JPEG without a profile
    path = tmp_path / "evidence.jpg"
    path.write_bytes(result.evidence)
    assert check_evidence(path, 1600) == (result.width, result.height)


def test_a_p3_heic_comes_out_in_srgb() -> None:
    pytest.importorskip("pillow_heif")
    original = scene(800, 600)
    result = process_photo(encode(coded_in(original, P3), "HEIF", quality=95, icc_profile=P3), None, NO_MARK)
    assert worst_delta_e(result.evidence) < 2.3


def test_srgb_and_unreadable_profiles_leave_the_pixels_as_they_were() -> None:
    """An sRGB profile, or one this conversion does not read (damaged, cut short, no matrix, CMYK …),
    gives the same evidence bytes as no profile at all, and never an error."""
    from PIL import ImageCms

    original = scene(1200, 900)
    plain = process_photo(encode(original, quality=95), None, NO_MARK).evidence
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    no_matrix = P3.replace(b"rXYZ", b"rXYy")  # a LUT-based profile has no colorants
    cmyk = P3[:16] + b"CMYK" + P3[20:]
    bad_curve = P3.replace(b"para\0\0\0\0\0\x03", b"para\0\0\0\0\0\x09")  # no such function type
    for profile in (srgb, b"\0" * 128, P3[:200], no_matrix, cmyk, bad_curve, b"junk" * 40):
        assert photocolour.rgb_profile(profile) is None
        source = encode(original, quality=95, icc_profile=profile)
        assert process_photo(source, None, NO_MARK).evidence == plain


def test_the_profile_reader_finds_the_published_display_p3_colorants() -> None:
    # Apple's "Display P3" profile carries these (s15Fixed16, D50): the profile kit reproduces them
    profile = photocolour.rgb_profile(P3)
    assert profile is not None
    expected = (
        (0.515121, 0.291977, 0.157104),
        (0.241196, 0.692245, 0.066574),
        (-0.001053, 0.041885, 0.784073),
    )
    for row, want in zip(profile.colorants, expected, strict=True):
        assert row == pytest.approx(want, abs=2e-4)
    assert [profile.curves[0](x) for x in (0.0, 0.04045, 0.5, 1.0)] == pytest.approx(
        [0.0, 0.00313, 0.21404, 1.0], abs=2e-5
    )
