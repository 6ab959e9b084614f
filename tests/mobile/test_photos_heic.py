"""HEIC converted band by band from pillow-heif's own buffer (issue #14, Photos): the same pixels as
Pillow's whole decode and conversion, no full-size Pillow image on the way, the plan measured in
bench/photos.py (``--memory``) and the largest HEIC the decode budget takes, damaged files.
"""

from __future__ import annotations

import io

import pytest
from PIL import Image, ImageDraw

from mobile import photodecode, photos, photowhole
from mobile.photos import PhotoError, PhotoSettings, decode_plan, process_photo
from tests.mobile.imagespy import spy_on_images

pillow_heif = pytest.importorskip("pillow_heif")
SETTINGS = PhotoSettings()


def heic(image: Image.Image, **params: object) -> bytes:
    out = io.BytesIO()
    image.save(out, "HEIF", quality=90, **params)
    return out.getvalue()


def scene(size: tuple[int, int], mode: str = "RGB") -> Image.Image:
    ramp = Image.linear_gradient("L").resize(size)
    image = Image.merge("RGB", (ramp, ramp.transpose(Image.Transpose.FLIP_LEFT_RIGHT), ramp.rotate(180)))
    ImageDraw.Draw(image).rectangle(
        (size[0] // 3, size[1] // 3, size[0] // 2, size[1] // 2), fill=(200, 20, 20)
    )
    if mode == "RGBA":
        image.putalpha(ramp.transpose(Image.Transpose.FLIP_TOP_BOTTOM))
    return image


@pytest.fixture
def made(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, tuple[int, int]]]:
    """Every image Pillow wraps while the test runs; pillow-heif's Pillow plugin must not decode."""

    def no_plugin_decode(self: object) -> None:
        raise AssertionError("pillow-heif's Pillow plugin decoded the HEIC (a whole copy)")

    monkeypatch.setattr(pillow_heif.as_plugin._LibHeifImageFile, "load", no_plugin_decode)
    return spy_on_images(monkeypatch)


@pytest.mark.parametrize("mode", ["RGB", "RGBA"])
def test_bands_from_pillow_heifs_buffer_equal_pillows_whole_decode(
    mode: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(photodecode, "_BAND_SOURCE_PIXELS", 20_000)  # many bands
    data = heic(scene((1003, 771), mode))
    with Image.open(io.BytesIO(data)) as whole:
        whole.load()
        assert whole.mode == mode
        expected = photodecode.to_rgb(whole).reduce(10)
    got = photowhole.reduced_heif(data, (100, 77))
    assert got.mode == "RGB"
    assert got.size == expected.size == (101, 78)
    assert got.tobytes() == expected.tobytes()


def test_a_heic_is_never_copied_whole_into_a_pillow_image(made: list[tuple[str, tuple[int, int]]]) -> None:
    data = heic(scene((3000, 2000)))
    made.clear()  # (making the input)
    photo = process_photo(data, None, PhotoSettings(long_edge=400, thumb_edge=100))
    assert (photo.width, photo.height) == (400, 267)
    plan = decode_plan("RGB", (3000, 2000), (400, 267), "HEIF")
    assert plan.factor == 7
    largest = max(size[0] * size[1] for _, size in made)
    assert largest <= 3000 * plan.band_rows  # a band of rows at most, never the 6 MP picture
    assert largest < 3000 * 2000 // 5


def test_the_plan_is_the_measured_peak_with_a_margin() -> None:
    # bench/photos.py --memory: 4.35-4.76 B a pixel above the process floor, whole pipeline (12, 48,
    # 100 MP; single-image and grid HEICs); planned at 4.8 B a pixel plus the reduced image and a band
    assert photodecode._FORMAT_FACTOR["HEIF"] * 4 >= 4.8
    for size, peak_mb in (((4032, 3024), 58), ((8064, 6048), 223), ((10000, 9990), 456)):
        plan = decode_plan("RGB", size, photos._fit(size, 1600), "HEIF")
        assert plan.total / 2**20 > peak_mb


@pytest.mark.parametrize(
    ("size", "fits"),
    [
        ((4032, 3024), True),  # 12 MP
        ((8064, 6048), True),  # 48 MP (a phone's largest)
        ((8366, 6274), True),  # 52.5 MP: the largest 4:3 HEIC within 256 MB
        ((8400, 6300), False),
        ((10000, 9990), False),  # 99.9 MP: refused from the header
    ],
)
def test_the_largest_heic_within_the_budget(size: tuple[int, int], fits: bool) -> None:
    plan = decode_plan("RGB", size, photos._fit(size, 1600), "HEIF")
    assert (plan.total <= SETTINGS.decode_budget) == fits


def test_a_heic_over_the_budget_is_refused_before_decoding(monkeypatch: pytest.MonkeyPatch) -> None:
    data = heic(scene((1200, 900)))

    def no_decoding(data: bytes, target: tuple[int, int], source: object = None) -> Image.Image:
        raise AssertionError("decoded a HEIC over the decode budget")

    monkeypatch.setattr(photowhole, "reduced_heif", no_decoding)
    with pytest.raises(PhotoError) as caught:
        process_photo(data, None, PhotoSettings(decode_budget=4 * 2**20))
    assert caught.value.code == "too_much_memory"
    assert "HEIF" in caught.value.zh
    assert "内存" in caught.value.zh


def test_a_damaged_heic_says_so_in_both_languages(monkeypatch: pytest.MonkeyPatch) -> None:
    reached: list[int] = []
    original = photowhole.reduced_heif

    def spy(data: bytes, target: tuple[int, int], source: photowhole.HeifSource | None) -> Image.Image:
        reached.append(len(data))
        return original(data, target, source)

    monkeypatch.setattr(photowhole, "reduced_heif", spy)
    data = heic(scene((640, 480)))
    cut = data[: len(data) * 2 // 3]  # the header whole: pillow-heif's decode finds the data missing
    for broken in (cut, data[:200] + bytes(range(256)) * 8):
        with pytest.raises(PhotoError) as caught:
            process_photo(broken, None, SETTINGS)
        assert caught.value.code == "truncated"
        assert "不完整或已损坏" in caught.value.zh
        assert "incomplete or damaged" in str(caught.value)
    assert len(cut) in reached
