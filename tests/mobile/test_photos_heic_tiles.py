"""A grid HEIC decoded a tile at a time by libheif (``mobile.photoheif``; issue #14, Photos): the same
pixels as pillow-heif's whole decode, a row of tiles and the reduced image in memory whatever the size
under the pixel limit (a 99.9 MP HEIC is now processed within the budget), the whole decode kept for
what the tile route does not handle (a single picture, a crop, alpha, no usable libheif); rotation and
mirroring applied tile by tile,
damaged files reported as before.

Grid files: pillow-heif 1.x writes them (``tile_size``); the phone venv's pillow-heif 0.22 cannot, so
four made with ``tile_size`` are kept in tests/mobile/data (``scene((1003, 771))`` of
test_photos_heic.py at quality 90 with 128 px tiles, plain and with EXIF orientation 5; a 10000 x 9990
grey picture with a red top-left quarter, a blue bottom-right quarter and a green 1000 px square at
(3000, 7000), quality 30, 512 px tiles, as phones write them; the 10-bit grid of ``ten_bit_grid``), and
every grid ``grid`` makes is kept in tests/mobile/data/grids (written by pillow-heif 1.9 with
``STREETPATROL_KEEP_GRIDS=1``), so the phone venv runs every tile test on its libheif 1.19.7 too.
"""

from __future__ import annotations

import array
import ctypes
import ctypes.util
import hashlib
import io
import os
from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageStat

from mobile import photodecode, photoheif, photos, photowhole
from mobile.photos import PhotoError, PhotoSettings, process_photo
from tests.mobile.imagespy import spy_on_images

from .test_photos_heic import heic, scene

pillow_heif = pytest.importorskip("pillow_heif")
DATA = Path(__file__).parent / "data"
SMALL_GRID = DATA / "grid-1003x771-tile128.heic"
LIMIT_GRID = DATA / "grid-10000x9990-tile512.heic"
SETTINGS = PhotoSettings()

LIBHEIF = tuple(int(part) for part in pillow_heif.libheif_info()["libheif"].split(".")[:2])
needs_libheif = pytest.mark.skipif(not photoheif.available(), reason="no libheif 1.19+ reachable")


#: Grid HEICs pillow-heif 1.x wrote for ``grid`` (``STREETPATROL_KEEP_GRIDS=1``): the phone-pinned venv's
#: pillow-heif 0.22 writes a single picture whatever ``tile_size`` says, and reads these instead, so its
#: libheif (1.19.7) goes through every tile test too.
KEPT_GRIDS = DATA / "grids"


def _kept(image: Image.Image, tile: int, params: dict[str, object]) -> Path:
    key = hashlib.sha256(repr(sorted(params.items())).encode()).hexdigest()[:12]
    return KEPT_GRIDS / f"{image.width}x{image.height}-{image.mode}-tile{tile}-{key}.heic"


def grid(image: Image.Image, tile: int, **params: object) -> bytes:
    """``image`` (a ``scene``) as a grid HEIC of ``tile`` px tiles: written here by pillow-heif 1.x, else the
    kept file of the same scene, else the test is skipped."""
    kept = _kept(image, tile, params)
    out = io.BytesIO()
    try:
        image.save(out, "HEIF", quality=90, tile_size=tile, **params)
        data = out.getvalue()
    except TypeError:
        data = b""
    wrote_grid = bool(data) and photowhole.heif_source(data) is not None
    if wrote_grid and os.environ.get("STREETPATROL_KEEP_GRIDS") == "1":
        KEPT_GRIDS.mkdir(exist_ok=True)
        kept.write_bytes(data)
    if not wrote_grid and kept.exists():
        return kept.read_bytes()
    if not data:
        pytest.skip("this pillow-heif writes no grid HEIC")
    if not wrote_grid and not params and image.mode == "RGB":
        pytest.skip("this pillow-heif ignored tile_size")
    return data


@pytest.fixture
def no_whole_decode(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> object:
        raise AssertionError("pillow-heif decoded the HEIC whole")

    monkeypatch.setattr(photowhole.pillow_heif, "open_heif", refuse)


@pytest.fixture
def made(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, tuple[int, int]]]:
    """Every image Pillow wraps while the test runs."""
    return spy_on_images(monkeypatch)


def assert_close(got: Image.Image, expected: Image.Image) -> None:
    assert got.mode == expected.mode == "RGB"
    assert got.size == expected.size
    extrema = ImageChops.difference(got, expected).getextrema()
    assert max(high for _, high in extrema) <= 2, extrema  # measured: 0 with libheif 1.19.7 and 1.23.7


def whole(data: bytes, target: tuple[int, int]) -> Image.Image:
    assert photowhole.heif_source(data) is not None
    return photowhole.reduced_heif(data, target)  # pillow-heif's whole decode, converted in bands


# -- the tile route -------------------------------------------------------------------------------------
@needs_libheif
@pytest.mark.parametrize("target", [(335, 257), (1003, 771), (100, 77)])  # factor 3, 1, 10
def test_tiles_equal_pillow_heifs_whole_decode_kept_file(target: tuple[int, int]) -> None:
    data = SMALL_GRID.read_bytes()
    source = photowhole.heif_source(data)
    assert source == photowhole.HeifSource((1003, 771), (128, 128))  # 8 x 7 tiles, the last ones cut
    assert_close(photowhole.reduced_heif(data, target, source), whole(data, target))


@needs_libheif
@pytest.mark.parametrize(
    ("size", "tile", "target"),
    [
        ((1024, 768), 256, (256, 192)),  # a multiple of the tile size
        ((1100, 700), 256, (100, 63)),  # not a multiple: the last column and row are cut
        ((2000, 1500), 512, (400, 300)),  # factor 5: blocks of rows straddle the tile rows
        ((700, 1300), 512, (123, 230)),  # portrait, factor 5, 2 x 3 tiles
    ],
)
def test_tiles_equal_pillow_heifs_whole_decode(
    size: tuple[int, int], tile: int, target: tuple[int, int]
) -> None:
    data = grid(scene(size), tile)
    source = photowhole.heif_source(data)
    assert source == photowhole.HeifSource(size, (tile, tile))
    assert_close(photowhole.reduced_heif(data, target, source), whole(data, target))


@needs_libheif
def test_a_grid_heic_goes_through_the_tiles_never_whole(
    no_whole_decode: None, made: list[tuple[str, tuple[int, int]]]
) -> None:
    photo = process_photo(SMALL_GRID.read_bytes(), None, PhotoSettings(long_edge=300, thumb_edge=100))
    assert (photo.width, photo.height) == (300, 231)
    largest = max(width * height for _, (width, height) in made)
    assert largest <= 1003 * (128 + 3)  # a strip: a row of tiles and the rows carried over


@needs_libheif
def test_a_heic_at_the_pixel_limit_is_processed_within_the_budget(
    no_whole_decode: None, made: list[tuple[str, tuple[int, int]]]
) -> None:
    data = LIMIT_GRID.read_bytes()
    source = photowhole.heif_source(data)
    assert source == photowhole.HeifSource((10_000, 9_990), (512, 512))
    plan = photowhole.heif_plan(source, photos._fit(source.size, SETTINGS.long_edge))
    assert plan.factor == 6
    assert plan.total <= SETTINGS.decode_budget
    # the whole decode's plan for the same picture (refused before this route existed)
    assert photos.decode_plan("RGB", source.size, (1600, 1598), "HEIF").total > SETTINGS.decode_budget
    photo = process_photo(data, None, SETTINGS)
    assert (photo.width, photo.height) == (1600, 1598)
    # nothing made is larger than a strip (10000 x 518) or the reduced image (1667 x 1665)
    assert max(width * height for _, (width, height) in made) <= 10_000 * (512 + 6)
    with Image.open(io.BytesIO(photo.evidence)) as evidence:
        evidence = evidence.convert("RGB")
        for (x, y), colour in {
            (400, 400): (200, 30, 30),  # the red quarter
            (1200, 1200): (30, 30, 200),  # the blue one
            (560, 1200): (30, 200, 30),  # the green square (3500, 7500) / 6.25
            (1200, 400): (128, 128, 128),
        }.items():
            got = evidence.getpixel((x, y))
            assert isinstance(got, tuple)
            assert all(abs(a - b) <= 12 for a, b in zip(got, colour, strict=True)), (x, y, got)


def test_the_tile_plan_holds_a_row_of_tiles_not_the_picture() -> None:
    # bench/photos.py --memory: the 99.9 MP grid HEIC peaks at +46 MB above the process floor (both
    # venvs, the pipeline's imports included); planned at 57 MB: libheif's decoder and a tile, a strip of
    # tiles, the reduced image
    plan = photowhole.heif_plan(photowhole.HeifSource((10_000, 9_990), (512, 512)), (1600, 1598))
    assert 46 * 2**20 < plan.total < 64 * 2**20
    assert plan.band == 10_000 * (512 + 6) * 4 + 512 * 512 * 8  # a strip and two copies of a tile
    small = photowhole.heif_plan(photowhole.HeifSource((4032, 3024), (512, 512)), (1600, 1200))
    assert small.total < plan.total


# -- what stays on the whole decode ---------------------------------------------------------------------
@needs_libheif
def test_a_single_picture_heic_is_decoded_whole() -> None:
    data = heic(scene((640, 480)))  # no tile_size: one HEVC picture
    assert photowhole.heif_source(data) is None
    photo = process_photo(data, None, PhotoSettings(long_edge=320, thumb_edge=100))
    assert (photo.width, photo.height) == (320, 240)


@needs_libheif
def test_an_rgba_heic_is_decoded_whole_and_flattened_on_white() -> None:
    data = grid(scene((700, 500), "RGBA"), 256)
    # decoded whole: pillow-heif writes it as one picture; a grid with alpha would be too (photoheif)
    assert photowhole.heif_source(data) is None
    got = photowhole.reduced_heif(data, (350, 250), None)
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        expected = photodecode.to_rgb(image).reduce(2)
    assert got.tobytes() == expected.tobytes()


ORIENTATIONS = {  # EXIF orientation -> Pillow's transpose of the stored picture that makes it upright
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


@needs_libheif
def test_a_rotated_and_mirrored_grid_is_turned_tile_by_tile_kept_file() -> None:
    """The kept file is the kept plain grid with orientation 5 (pillow-heif writes irot 270 then imir):
    the same stored tiles, turned here tile by tile, give the plain grid's pixels transposed, exactly."""
    turned = (DATA / "grid-1003x771-tile128-orientation5.heic").read_bytes()
    source = photowhole.heif_source(turned)
    assert source == photowhole.HeifSource((771, 1003), (128, 128))
    plain = SMALL_GRID.read_bytes()
    got = photowhole.reduced_heif(turned, (771, 1003), source)
    expected = photowhole.reduced_heif(plain, (1003, 771), photowhole.heif_source(plain))
    assert got.tobytes() == expected.transpose(ORIENTATIONS[5]).tobytes()


@needs_libheif
@pytest.mark.parametrize("orientation", sorted(ORIENTATIONS))
@pytest.mark.parametrize(("size", "tile"), [((1100, 700), 256), ((1003, 771), 128)])
def test_every_orientation_is_turned_as_pillow_heif_turns_it(
    orientation: int, size: tuple[int, int], tile: int
) -> None:
    exif = Image.Exif()
    exif[0x0112] = orientation  # pillow-heif writes it as irot / imir (libheif turns the picture)
    data = grid(scene(size), tile, exif=exif.tobytes())
    plain = grid(scene(size), tile)
    source = photowhole.heif_source(data)
    if source is None:
        pytest.skip("this pillow-heif wrote no grid")
    upright = size[::-1] if orientation >= 5 else size
    assert source == photowhole.HeifSource(upright, (tile, tile))
    got = photowhole.reduced_heif(data, upright, source)
    expected = photowhole.reduced_heif(plain, size, photowhole.heif_source(plain))
    assert got.tobytes() == expected.transpose(ORIENTATIONS[orientation]).tobytes()
    # and close to pillow-heif's whole decode, which turns the YCbCr 4:2:0 picture before converting
    # it (so, at an odd size, chroma shifts by half a sample at sharp colour edges)
    target = (upright[0] // 7, upright[1] // 7)
    reduced = photowhole.reduced_heif(data, target, source)
    difference = ImageChops.difference(reduced, whole(data, target))
    if size[0] % 2 == 0 and size[1] % 2 == 0:
        assert max(high for _, high in difference.getextrema()) <= 2
    else:
        # inside the outer ring of reduced pixels: libheif 1.19.7's whole decode of a turned picture of odd
        # size misplaces its last column or row (up to 113 levels there; 1.23.7's does not), while the
        # tiles equal the upright decode turned (asserted above) on every version
        inner = difference.crop((1, 1, difference.width - 1, difference.height - 1))
        assert max(ImageStat.Stat(inner).mean) < 0.2
        assert max(high for _, high in inner.getextrema()) <= 4
        if LIBHEIF >= (1, 23):
            assert max(ImageStat.Stat(difference).mean) < 0.5


def test_without_usable_libheif_the_whole_decode_and_its_refusal_stay(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(photoheif, "_lib", lambda: None)  # as on a build without the symbols
    assert not photoheif.available()
    small = SMALL_GRID.read_bytes()
    assert photowhole.heif_source(small) is None
    photo = process_photo(small, None, PhotoSettings(long_edge=300, thumb_edge=100))
    assert (photo.width, photo.height) == (300, 231)
    with pytest.raises(PhotoError) as caught:
        process_photo(LIMIT_GRID.read_bytes(), None, SETTINGS)
    assert caught.value.code == "too_much_memory"
    assert "内存" in caught.value.zh
    assert "HEIF" in str(caught.value)


def test_a_library_without_the_symbols_or_too_old_is_not_used(monkeypatch: pytest.MonkeyPatch) -> None:
    assert photoheif._load(None) is None
    assert photoheif._load("/nonexistent/libheif.so") is None
    libc = ctypes.util.find_library("c")
    assert libc is not None
    assert photoheif._load(libc) is None  # a library, but none of libheif's symbols
    path = photoheif._library_path()
    if path is None:
        pytest.skip("no libheif here")
    assert photoheif._load(path) is not None
    monkeypatch.setattr(photoheif, "_MIN_VERSION", 0x01FF0000)  # a libheif older than required
    assert photoheif._load(path) is None


# -- damaged files --------------------------------------------------------------------------------------
@needs_libheif
def test_a_damaged_grid_heic_says_so_in_both_languages(monkeypatch: pytest.MonkeyPatch) -> None:
    decoded: list[tuple[int, int]] = []
    original = photoheif.Tiled.tile

    def spy(self: photoheif.Tiled, column: int, row: int) -> photoheif.Tile:
        decoded.append((column, row))
        return original(self, column, row)

    monkeypatch.setattr(photoheif.Tiled, "tile", spy)
    data = SMALL_GRID.read_bytes()
    cut = data[: len(data) * 2 // 3]  # the header whole, the last tiles' data missing
    assert photowhole.heif_source(cut) is not None
    with pytest.raises(PhotoError) as caught:
        process_photo(cut, None, SETTINGS)
    assert caught.value.code == "truncated"
    assert "不完整或已损坏" in caught.value.zh
    assert "incomplete or damaged" in str(caught.value)
    assert decoded  # reached the tiles: a tile libheif could not decode
    with pytest.raises(photoheif.HeifError):
        photowhole.reduced_heif(cut, (335, 257), photowhole.heif_source(cut))


@needs_libheif
def test_a_tile_of_another_size_than_the_grid_says_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    original = photoheif.Tiled.__init__

    def smaller_tiles(self: photoheif.Tiled, *args: object) -> None:
        original(self, *args)  # type: ignore[arg-type]
        self.tile_size = (64, 64)  # as a file whose first tile is smaller than the others

    monkeypatch.setattr(photoheif.Tiled, "__init__", smaller_tiles)
    with pytest.raises(PhotoError) as caught:
        process_photo(SMALL_GRID.read_bytes(), None, SETTINGS)
    assert caught.value.code == "truncated"
    assert "不完整或已损坏" in caught.value.zh


@needs_libheif
def test_a_turned_grid_gives_the_same_evidence_as_the_whole_decode(monkeypatch: pytest.MonkeyPatch) -> None:
    data = (DATA / "grid-1003x771-tile128-orientation5.heic").read_bytes()
    settings = PhotoSettings(long_edge=500, thumb_edge=100)
    tiled = process_photo(data, None, settings)
    monkeypatch.setattr(photowhole, "heif_source", lambda data: None)  # pillow-heif's whole decode
    whole_decode = process_photo(data, None, settings)
    assert (tiled.width, tiled.height) == (whole_decode.width, whole_decode.height) == (384, 500)
    with Image.open(io.BytesIO(tiled.evidence)) as a, Image.open(io.BytesIO(whole_decode.evidence)) as b:
        difference = ImageChops.difference(a.convert("RGB"), b.convert("RGB"))
    assert max(ImageStat.Stat(difference).mean) < 1.0  # upright once: not turned twice (irot and EXIF)


def ten_bit_grid() -> bytes:
    """A 10-bit grid HEIC (the kept file where this pillow-heif writes no grid): red rising left to
    right, green top to bottom, blue constant, 1100 x 700, 256 px tiles."""
    width, height = 1100, 700
    red = [x * 65535 // (width - 1) for x in range(width)]
    rows = []
    for y in range(height):
        green = y * 65535 // (height - 1)
        rows.append(array.array("H", [v for x in range(width) for v in (red[x], green, 30000)]).tobytes())
    heif = pillow_heif.from_bytes(mode="RGB;16", size=(width, height), data=b"".join(rows))
    out = io.BytesIO()
    try:
        heif.save(out, quality=90, tile_size=256)
    except TypeError:
        return (DATA / "grid-1100x700-tile256-10bit.heic").read_bytes()
    data = out.getvalue()
    if photowhole.heif_source(data) is None:
        return (DATA / "grid-1100x700-tile256-10bit.heic").read_bytes()
    return data


@needs_libheif
def test_a_ten_bit_grid_is_decoded_to_8_bit_tiles() -> None:
    data = ten_bit_grid()
    assert pillow_heif.open_heif(io.BytesIO(data), convert_hdr_to_8bit=False).info["bit_depth"] == 10
    source = photowhole.heif_source(data)
    assert source == photowhole.HeifSource((1100, 700), (256, 256))
    assert_close(photowhole.reduced_heif(data, (275, 175), source), whole(data, (275, 175)))


def test_libheif_is_reached_in_a_process_that_never_imported_pillow_heif() -> None:
    """pillow-heif 0.22's bundled libheif has no run path to its neighbours (libx265, libde265, libaom):
    opened alone it failed, so a fresh process, whose first HEIC reached ``photoheif`` before anything
    imported pillow-heif, decoded every HEIC whole (the 48 MP grid at +256 MB)."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from mobile import photoheif\n"
        "print(photoheif.available(), 'pillow_heif' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.split() == [str(LIBHEIF >= (1, 19)), "False"]
