"""A camera JPEG resized while it decodes: the decoder gets the file in pieces (``photoresize.Pieces``),
the rows it has finished are found between two pieces and resized by a helper (``photoresize.Stream``),
the last rows and the thumbnail after (``photos._decode_streaming``).

The output must be the resize made after decoding (up to the rounding of where bands start), the same
every time, whatever the photo's rows hold, and a bad file must cost neither the error nor a thread.
Every input is made here; the pieces are made small so that a small photo comes in many of them.
"""

from __future__ import annotations

import io
from concurrent.futures import ThreadPoolExecutor

import pytest
from PIL import Image, ImageChops, ImageStat

from mobile import photoresize, photos
from mobile.photos import PhotoError, PhotoSettings, process_photo
from tests.mobile.test_photos_ycc import STORE_AS, WATERMARK, camera_jpeg, encode, scene

#: 1800 x 1350 stored, drafted to 900 x 675 (DCT scaling 1/2), resized to 600 x 450: streamed.
SETTINGS = PhotoSettings(long_edge=600, thumb_edge=120)


@pytest.fixture(autouse=True)
def small_pieces(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(photos, "_PIECE_BYTES", 4 * 1024)


@pytest.fixture
def streams(monkeypatch: pytest.MonkeyPatch) -> list[photoresize.Stream]:
    """Every Stream made, as it was when the decode ended (before ``finish``)."""
    seen: list[photoresize.Stream] = []
    finish = photoresize.Stream.finish

    def spy(self: photoresize.Stream, image: Image.Image) -> None:
        seen.append(self)
        self.made_while_decoding = self.made  # type: ignore[attr-defined]
        finish(self, image)

    monkeypatch.setattr(photoresize.Stream, "finish", spy)
    return seen


def decoded(data: bytes, *, stream: bool, monkeypatch: pytest.MonkeyPatch) -> Image.Image:
    with monkeypatch.context() as patch:
        if not stream:
            patch.setattr(photos, "_streams", lambda image, target: False)
        with ThreadPoolExecutor(max_workers=2) as pool:
            return photos._decode(data, SETTINGS, pool)


def assert_same_resize(got: Image.Image, expected: Image.Image) -> None:
    """The same image up to the rounding of where bands start (Pillow's box offsets): at most a few
    levels at a few pixels, nothing on average; a misplaced, missing or stale band is far off."""
    assert got.mode == expected.mode
    assert got.size == expected.size
    for plane, (a, b) in enumerate(zip(got.split(), expected.split(), strict=True)):
        difference = ImageChops.difference(a, b)
        _, high = difference.getextrema()
        assert isinstance(high, int), plane
        assert high <= 8, plane
        assert ImageStat.Stat(difference).mean[0] < 0.2, plane


@pytest.mark.parametrize("orientation", sorted(STORE_AS))
def test_the_streamed_resize_is_the_resize_after_decoding(
    orientation: int, monkeypatch: pytest.MonkeyPatch, streams: list[photoresize.Stream]
) -> None:
    data = camera_jpeg(1350, 1800, orientation)
    image = decoded(data, stream=True, monkeypatch=monkeypatch)
    reference = decoded(data, stream=False, monkeypatch=monkeypatch)
    assert len(streams) == 1
    assert image.size == (450, 600)  # the upright scene is 1350 x 1800, however it is stored
    assert_same_resize(image, reference)


def test_most_rows_are_made_while_the_photo_decodes(
    monkeypatch: pytest.MonkeyPatch, streams: list[photoresize.Stream]
) -> None:
    decoded(camera_jpeg(1350, 1800, 6), stream=True, monkeypatch=monkeypatch)
    (stream,) = streams
    assert stream.error is None
    assert stream.made_while_decoding >= 450 // 2  # type: ignore[attr-defined]
    assert stream.made == 450  # as stored: 600 x 450


def test_a_progressive_jpeg_streams_nothing_early_and_comes_out_right(
    monkeypatch: pytest.MonkeyPatch, streams: list[photoresize.Stream]
) -> None:
    """A progressive file's rows are only final after its last scan: libjpeg writes none before it has
    read the whole file, so everything is made after the decode."""
    data = camera_jpeg(1350, 1800, 6, progressive=True)
    image = decoded(data, stream=True, monkeypatch=monkeypatch)
    reference = decoded(data, stream=False, monkeypatch=monkeypatch)
    assert_same_resize(image, reference)
    (stream,) = streams
    assert stream.error is None
    assert stream.made_while_decoding == 0  # type: ignore[attr-defined]


def test_the_same_photo_gives_the_same_evidence_every_time() -> None:
    """Which rows go in which band depends on the pieces only, never on the threads' timing."""
    data = camera_jpeg(1350, 1800, 6)
    hashes = {process_photo(data, WATERMARK, SETTINGS).sha256 for _ in range(4)}
    assert len(hashes) == 1


@pytest.mark.parametrize("zero_rows", [(0, 450), (450, 900), (900, 1350)])
def test_rows_that_decode_to_zero_at_most_slow_the_stream_down(
    zero_rows: tuple[int, int], monkeypatch: pytest.MonkeyPatch, streams: list[photoresize.Stream]
) -> None:
    """Finished rows are told from unwritten ones by being non-zero. A third of a photo that decodes to
    Y = Cb = Cr = 0 (no camera's colour, but a file can say it) can hide how far the decoder has come
    while it is decoding that third: rows are then made after the decode instead, and right."""
    top, bottom = zero_rows
    stored = scene(1800, 1350).convert("YCbCr")
    stored.paste((0, 0, 0), (0, top, 1800, bottom))
    data = encode(stored, quality=92)
    image = decoded(data, stream=True, monkeypatch=monkeypatch)
    reference = decoded(data, stream=False, monkeypatch=monkeypatch)
    assert_same_resize(image, reference)
    inside = reference.crop((0, top // 3 + 10, 600, bottom // 3 - 10))
    assert inside.getextrema() == ((0, 0), (0, 0), (0, 0))
    (stream,) = streams
    assert stream.error is None
    if bottom == 1350:  # the decoder's last third cannot be seen: what it allows is made after
        assert stream.made_while_decoding <= top // 3  # type: ignore[attr-defined]


def test_an_error_while_streaming_costs_only_speed(
    monkeypatch: pytest.MonkeyPatch, streams: list[photoresize.Stream]
) -> None:
    data = camera_jpeg(1350, 1800, 6)
    reference = decoded(data, stream=False, monkeypatch=monkeypatch)

    def broken(self: photoresize.Resize, source_rows: int) -> int:
        raise RuntimeError("a bug in the stream")

    monkeypatch.setattr(photoresize.Resize, "rows_from", broken)
    image = decoded(data, stream=True, monkeypatch=monkeypatch)
    (stream,) = streams
    assert isinstance(stream.error, RuntimeError)
    assert stream.made_while_decoding == 0  # type: ignore[attr-defined]
    assert_same_resize(image, reference)


@pytest.mark.parametrize("keep", [0.3, 0.7, 0.95])
def test_a_truncated_photo_is_refused_while_streaming_and_no_thread_is_left_waiting(keep: float) -> None:
    data = camera_jpeg(1350, 1800, 6)
    cut = data[: int(len(data) * keep)]
    with ThreadPoolExecutor(max_workers=1) as runner:  # a hang fails the test instead of stopping it
        outcome = runner.submit(process_photo, cut, WATERMARK, SETTINGS)
        with pytest.raises(PhotoError) as caught:
            outcome.result(timeout=60)
    assert caught.value.code == "truncated"
    assert "不完整或已损坏" in caught.value.zh
    assert process_photo(data, WATERMARK, SETTINGS).width == 450  # and the next photo works


def test_a_photo_with_a_broken_middle_still_comes_out_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    """Garbage in the entropy-coded data: libjpeg decodes what it can (grey where it cannot); the photo
    comes out at its size, the streamed resize still the one made after decoding."""
    data = bytearray(camera_jpeg(1350, 1800, 6))
    middle = len(data) // 2
    data[middle : middle + 2000] = bytes(range(256)) * 7 + bytes(208)
    broken = bytes(data)
    outcomes: list[Image.Image | str] = []
    for stream in (False, True):
        try:
            outcomes.append(decoded(broken, stream=stream, monkeypatch=monkeypatch))
        except PhotoError as error:  # what libjpeg makes of it depends on its version: either is fine
            outcomes.append(error.code)
    reference, image = outcomes
    if isinstance(reference, str) or isinstance(image, str):
        assert outcomes == ["truncated", "truncated"]
    else:
        assert_same_resize(image, reference)


def test_only_camera_jpegs_needing_a_resize_are_streamed(
    monkeypatch: pytest.MonkeyPatch, streams: list[photoresize.Stream]
) -> None:
    png = io.BytesIO()
    scene(1800, 1350).save(png, "PNG")
    cmyk = encode(scene(1800, 1350).convert("CMYK"), quality=90)
    exact = camera_jpeg(900, 1200, 6)  # 1200 x 900 stored: DCT scaling 1/2 gives the target itself
    for data in (png.getvalue(), cmyk, exact):
        with ThreadPoolExecutor(max_workers=2) as pool:
            photos._decode(data, SETTINGS, pool)
    assert streams == []


# -- Pieces ---------------------------------------------------------------------------------------------
def test_pieces_is_a_seekable_file_that_hands_out_the_bytes_themselves_when_read_whole() -> None:
    data = bytes(range(256)) * 40
    pieces = photoresize.Pieces(data)
    assert pieces.read() is data
    assert pieces.read(10) == b""
    assert pieces.seek(-6, io.SEEK_END) == len(data) - 6
    assert pieces.read(4) == data[-6:-2]
    assert pieces.tell() == len(data) - 2
    pieces.seek(5)
    assert pieces.read(3) == data[5:8]
    assert pieces.seek(2, io.SEEK_CUR) == 10
    buffer = bytearray(4)
    assert pieces.readinto(buffer) == 4
    assert bytes(buffer) == data[10:14]


def test_pieces_call_between_before_each_piece_while_it_is_set() -> None:
    data = bytes(range(256)) * 40
    pieces = photoresize.Pieces(data)
    pieces.piece = 1000
    calls: list[int] = []
    pieces.between = lambda: calls.append(pieces.tell())
    got = b""
    while chunk := pieces.read(4096):
        assert len(chunk) <= 1000
        got += chunk
    assert got == data
    assert calls == [*range(0, 10001, 1000), 10240]  # the last read finds the end
    pieces.between = None
    pieces.seek(0)
    assert pieces.read(4096) == data[:4096]
