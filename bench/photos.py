"""Photo benchmark: mobile.photos against the naive Pillow pipeline and libvips, one run, same inputs.
(One script of about 700 lines: its inputs, variants, stage table and memory rows share one run's set-up.)

    .venv/bin/python bench/photos.py [--runs 10] [--out bench/results/photos.md]

Inputs are made here, deterministically: camera-like JPEGs at 12 MP (4032 x 3024) and 48 MP (8064 x 6048)
stored sideways with EXIF orientation 6, as phones store portrait shots, with sky and building gradients,
window grids, a shop sign and a plate in Chinese, a foliage band of strong texture and sensor-like noise
(sigma 5), saved at quality 92 like a phone camera (about 0.27 bytes per pixel).

Variants, each timed in its own subprocess so that its peak RSS (VmHWM from /proc, which sees Pillow's
and libvips' C allocations, unlike tracemalloc) is its own:

- pipeline: ``process_photo`` with the watermark (what the officer waits for: decode, orient, resize,
  thumbnail, watermark, encode, both hashes);
- pipeline, no watermark;
- naive: open, ``ImageOps.exif_transpose``, LANCZOS resize to 1600, save at quality 80 (no draft);
- libvips: ``pyvips.Image.thumbnail_buffer`` + ``jpegsave_buffer`` (Q 80, progressive, optimised,
  stripped), the near-limit reference, when pyvips imports (benchmark-only dependency).

Rounds interleave the variants so that a busy machine slows all of them alike; the median of all runs is
reported. Quality: PSNR of each output against a reference (full decode, orientation, LANCZOS, unencoded),
and PSNR and SSIM of the pipeline's output (no watermark) against the naive output. numpy is used here only.

Then a stage breakdown per size (one more subprocess): every stage of the naive path and of the pipeline
timed on its own, wall and CPU, to show where the time goes and how close the pipeline is to its floor
(decoding with draft, which no resize or encoder setting can shorten). The 1-minute load average is
sampled before every timed subprocess and reported: on a shared machine it says how far to trust a run.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import io
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from collections.abc import Callable

    from PIL.Image import Image as PILImage

    from mobile.watermark import Watermark

T = TypeVar("T")

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SIZES = {"12 MP": (4032, 3024), "48 MP": (8064, 6048)}
VARIANTS = ("pipeline", "pipeline_nowm", "naive", "vips")
LABELS = {
    "pipeline": "this pipeline (watermark on)",
    "pipeline_nowm": "this pipeline, no watermark",
    "naive": "naive Pillow",
    "vips": "libvips thumbnail + save",
    "idle": "(process floor: interpreter, imports, input bytes)",
}
TARGET_SPEEDUP = {"12 MP": 2.5, "48 MP": 5.0}


# -- inputs ----------------------------------------------------------------------------------------------
def camera_jpeg(stored_w: int, stored_h: int, seed: int = 7) -> bytes:
    """A portrait street scene, stored sideways (EXIF orientation 6) as a phone camera writes it."""
    import numpy as np
    from PIL import Image, ImageDraw, ImageFont

    from mobile.photos import FONT_PATH

    w, h = stored_h, stored_w  # the upright (display) size
    rng = np.random.default_rng(seed)
    y = np.linspace(0, 1, h, dtype=np.float32)[:, None, None]
    sky = np.array([120, 160, 230], np.float32) + y * np.array([60, 50, -20], np.float32)
    scene = Image.fromarray(np.ascontiguousarray(np.broadcast_to(sky, (h, w, 3)), dtype=np.uint8))
    draw = ImageDraw.Draw(scene)
    for i in range(6):  # buildings with window grids
        x0, top = w * i // 6, int(h * (0.15 + 0.1 * rng.random()))
        draw.rectangle(
            (x0, top, x0 + w // 6, int(h * 0.7)), fill=tuple(int(c) for c in rng.integers(90, 200, 3))
        )
        for wy in range(top + h // 40, int(h * 0.68), h // 25):
            for wx in range(x0 + w // 60, x0 + w // 6 - w // 40, w // 30):
                lit = rng.random() < 0.4
                draw.rectangle(
                    (wx, wy, wx + w // 60, wy + h // 60), fill=(240, 220, 150) if lit else (40, 50, 70)
                )
    draw.rectangle((0, int(h * 0.7), w, h), fill=(85, 85, 90))  # road
    sign = ImageFont.truetype(str(FONT_PATH), h // 25)
    draw.rectangle((w // 10, int(h * 0.45), w // 10 + w // 2, int(h * 0.45) + h // 18), fill=(180, 20, 20))
    draw.text((w // 10 + w // 40, int(h * 0.45)), "老王烧烤 · 夜市 24小时", font=sign, fill=(255, 240, 200))
    draw.rectangle((w // 2, int(h * 0.8), w // 2 + w // 4, int(h * 0.8) + h // 30), fill=(20, 60, 200))
    plate = ImageFont.truetype(str(FONT_PATH), h // 36)
    draw.text((w // 2 + w // 60, int(h * 0.8)), "豫A·12345", font=plate, fill=(255, 255, 255))
    pixels = np.asarray(scene, dtype=np.float32)
    band = slice(int(h * 0.6), int(h * 0.72))  # foliage: strong texture
    pixels[band] += rng.normal(0, 25, pixels[band].shape).astype(np.float32)
    pixels += rng.normal(0, 5, pixels.shape).astype(np.float32)  # sensor noise
    upright = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
    stored = upright.transpose(Image.Transpose.ROTATE_90)  # orientation 6: display turns it clockwise
    exif = Image.Exif()
    exif[0x0112] = 6
    exif[0x010F] = "StreetPatrol"
    exif[0x0110] = "BenchCam"
    out = io.BytesIO()
    stored.save(out, "JPEG", quality=92, exif=exif.tobytes())
    return out.getvalue()


#: Adam7's passes: (first column, first row, column step, row step).
_ADAM7 = ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2))


def png_solid(
    size: tuple[int, int], bit_depth: int, colour_type: int, interlaced: bool = False, animated: bool = False
) -> bytes:
    """A real PNG of one colour, written row by row: the cheapest worst case under the pixel limit (a
    small file that decodes to the most memory); ``interlaced``: Adam7's seven passes; ``animated``: an
    APNG whose IDAT image is its first frame, a 16 x 16 second frame after it."""
    import struct
    import zlib

    width, height = size
    channels = {0: 1, 2: 3, 4: 2, 6: 4}[colour_type]

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    squeeze = zlib.compressobj(1)
    parts = []
    for x0, y0, dx, dy in _ADAM7 if interlaced else ((0, 0, 1, 1),):
        pass_width, pass_height = max(0, -(-(width - x0) // dx)), max(0, -(-(height - y0) // dy))
        if not pass_width or not pass_height:
            continue  # an empty pass (an image under 8 pixels a side) has no rows at all
        row = b"\0" + b"\x40" * (-(-pass_width * channels * bit_depth // 8))
        group = max(1, min(64, 2**22 // len(row)))  # rows compressed at a time: about 4 MB at most
        parts += [squeeze.compress(row * group) for _ in range(pass_height // group)]
        parts.append(squeeze.compress(row * (pass_height % group)))
    parts.append(squeeze.flush())
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, int(interlaced))
    head, pixels = chunk(b"IHDR", ihdr), chunk(b"IDAT", b"".join(parts))
    if animated:
        head += chunk(b"acTL", struct.pack(">II", 2, 0))
        head += chunk(b"fcTL", struct.pack(">IIIIIHHBB", 0, width, height, 0, 0, 1, 10, 0, 0))
        row = b"\0" * (1 + -(-16 * channels * bit_depth // 8))
        pixels += chunk(b"fcTL", struct.pack(">IIIIIHHBB", 1, 16, 16, 0, 0, 1, 10, 0, 0))
        pixels += chunk(b"fdAT", struct.pack(">I", 2) + zlib.compress(row * 16))
    return b"\x89PNG\r\n\x1a\n" + head + pixels + chunk(b"IEND", b"")


#: Inputs of the memory section: the worst cases just under the 100 MP pixel limit (every PNG is decoded
#: in bands: an interlaced one pass by pass, only the passes its reduction needs; an animated one as its
#: IDAT image) and the interlaced PNG whose grid is the largest (no reduction: all seven passes); WebP and
#: HEIC rows follow (``WHOLE_INPUTS``).
MEMORY_INPUTS = {
    "PNG 1-bit grey, 99.9 MP": lambda: png_solid((10_000, 9_990), 1, 0),
    "PNG 8-bit grey, 99.9 MP": lambda: png_solid((10_000, 9_990), 8, 0),
    "PNG 16-bit grey, 99.9 MP": lambda: png_solid((10_000, 9_990), 16, 0),
    "PNG RGB, 99.9 MP": lambda: png_solid((10_000, 9_990), 8, 2),
    "PNG RGBA, 99.9 MP": lambda: png_solid((10_000, 9_990), 8, 6),
    "PNG 16-bit RGBA, 99.9 MP": lambda: png_solid((10_000, 9_990), 16, 6),
    "PNG interlaced RGBA, 99.9 MP": lambda: png_solid((10_000, 9_990), 8, 6, interlaced=True),
    "PNG interlaced 16-bit RGBA, 99.9 MP": lambda: png_solid((10_000, 9_990), 16, 6, interlaced=True),
    "PNG interlaced 16-bit RGBA, 10.2 MP (all 7 passes)": lambda: png_solid((3_199, 3_199), 16, 6, True),
    "APNG RGBA, 99.9 MP": lambda: png_solid((10_000, 9_990), 8, 6, animated=True),
    "APNG 16-bit RGBA, 99.9 MP": lambda: png_solid((10_000, 9_990), 16, 6, animated=True),
    # extreme shapes under the limit: rows too long for a band to hold a reduction factor's worth (wide)
    # and lines of a few pixels (narrow: each side reduced by its own factor)
    "PNG 16-bit RGBA, 100,000 x 1,000 (wide, 100:1)": lambda: png_solid((100_000, 1_000), 16, 6),
    "PNG 16-bit RGBA, 316,000 x 316 (wide, 1,000:1)": lambda: png_solid((316_000, 316), 16, 6),
    "PNG interlaced 16-bit RGBA, 316,000 x 316 (wide, 1,000:1)": lambda: png_solid(
        (316_000, 316), 16, 6, interlaced=True
    ),
    "PNG 16-bit RGBA, 4 x 25,000,000 (narrow line)": lambda: png_solid((4, 25_000_000), 16, 6),
    "PNG interlaced 16-bit RGBA, 4 x 25,000,000 (narrow line)": lambda: png_solid(
        (4, 25_000_000), 16, 6, interlaced=True
    ),
    "PNG interlaced RGBA, 7 x 14,000,000 (narrow line)": lambda: png_solid((7, 14_000_000), 8, 6, True),
    "PNG interlaced grey, 1 x 99,000,000 (narrow line)": lambda: png_solid((1, 99_000_000), 8, 0, True),
    "PNG 16-bit RGBA, 1,000,000 x 100 (wide line: rows of 8 MB)": lambda: png_solid((1_000_000, 100), 16, 6),
    "PNG RGBA, 14,000,000 x 7 (wide line: rows of 56 MB)": lambda: png_solid((14_000_000, 7), 8, 6),
    "PNG 16-bit RGBA, 25,000,000 x 4 (wide line: rows of 200 MB)": lambda: png_solid((25_000_000, 4), 16, 6),
    "PNG 1-bit grey, 100,000,001 x 1 (wide line, over the pixel limit)": lambda: png_solid(
        (100_000_001, 1), 1, 0
    ),
}


def gradients(size: tuple[int, int], alpha: bool = False) -> PILImage:
    """Three gradients (a cut-out alpha: a transparent quarter): smooth, cheap to encode at any size."""
    from PIL import Image, ImageDraw

    ramp = Image.linear_gradient("L").resize(size)
    flip = Image.Transpose
    image = Image.merge(
        "RGB", (ramp, ramp.transpose(flip.FLIP_TOP_BOTTOM), ramp.transpose(flip.FLIP_LEFT_RIGHT))
    )
    if alpha:
        mask = Image.new("L", size, 255)
        ImageDraw.Draw(mask).rectangle((0, 0, size[0] // 2, size[1] // 2), fill=0)
        image.putalpha(mask)
    return image


def webp_made(size: tuple[int, int], alpha: bool = False, lossless: bool = False) -> bytes:
    out = io.BytesIO()
    gradients(size, alpha).save(out, "WEBP", quality=60, lossless=lossless, method=0)
    return out.getvalue()


#: The grid HEICs of the memory rows, written by pillow-heif 1.9 (libheif 1.23) with ``heic_grid``: an
#: older pillow-heif (the phone-pinned venv's 0.22) ignores ``tile_size`` and writes a single picture,
#: which is not what phones write, so every venv measures these same files.
HEIC_DATA = Path(__file__).resolve().parent / "data"


def heic_grid_file(size: tuple[int, int], orientation: int = 1) -> Path:
    return HEIC_DATA / f"heic-grid-{size[0]}x{size[1]}-o{orientation}.heic"


@functools.cache
def heic_grid(size: tuple[int, int], orientation: int = 1) -> bytes:
    """A HEIC as phones write it: a grid of 512 px HEVC tiles (pillow-heif's ``tile_size``); an EXIF
    ``orientation`` other than 1 is written as irot / imir (a portrait photo: 6). The kept file
    (``HEIC_DATA``) where there is one; else made here, and refused where this pillow-heif writes no
    grid (a single picture would be measured under a grid's name)."""
    kept = heic_grid_file(size, orientation)
    if kept.exists():
        return kept.read_bytes()
    import pillow_heif
    from PIL import Image

    pillow_heif.register_heif_opener()
    exif = Image.Exif()
    exif[0x0112] = orientation
    out = io.BytesIO()
    try:
        gradients(size).save(out, "HEIF", quality=50, tile_size=512, exif=exif.tobytes())
    except TypeError as exc:
        raise SystemExit(f"{kept} is missing and this pillow-heif writes no grid HEIC") from exc
    return out.getvalue()


#: WebP (libwebp decodes it at reduced size; alpha and lossless keep 5 / 4 B a pixel inside libwebp) and
#: HEIC (a grid: libheif decodes it a tile at a time, ``mobile.photoheif``) rows of the memory section.
WHOLE_INPUTS = {
    "WebP lossy RGB, 16383 x 6100 (99.9 MP)": lambda: webp_made((16_383, 6_100)),
    "WebP lossy RGBA, 40 MP": lambda: webp_made((7_300, 5_480), alpha=True),
    "WebP lossless RGB, 48 MP": lambda: webp_made((8_000, 6_000), lossless=True),
    "WebP lossless RGB, 99.9 MP (refused)": lambda: webp_made((10_000, 9_990), lossless=True),
    "HEIC grid, 12 MP": lambda: heic_grid((4_032, 3_024)),
    "HEIC grid, 48 MP": lambda: heic_grid((8_064, 6_048)),
    "HEIC grid, 99.9 MP": lambda: heic_grid((10_000, 9_990)),
    "HEIC grid, 99.9 MP, portrait (irot)": lambda: heic_grid((10_000, 9_990), 6),
}


def memory_section(tmp: Path, margin_mb: int, only: str = "") -> tuple[list[str], list[str]]:
    """Peak RSS above the process floor of the pipeline on the worst non-JPEG inputs (those whose label
    contains ``only``), beside the 48 MP camera JPEG and the previous build's path (whole decode,
    whole-image conversion), same run."""
    jpeg = tmp / "mem-48mp.jpg"
    jpeg.write_bytes(camera_jpeg(*SIZES["48 MP"]))
    floor = spawn("idle", jpeg, 1, tmp)["rss_kb"] / 1024  # type: ignore[operator]
    reference = spawn("memory", jpeg, 1, tmp)
    jpeg_mb = reference["rss_kb"] / 1024 - floor  # type: ignore[operator]
    rows = [
        "### Memory: worst non-JPEG inputs under the pixel limit (`--memory`)",
        "",
        f"Peak RSS (VmHWM) above the process floor ({floor:.0f} MB: interpreter, imports, input bytes), "
        "one photo per subprocess (ms: its one timed run after a warm-up); the pipeline without watermark; "
        "previous = the path before banded decoding for these formats (whole decode, whole-image "
        "conversion to RGB, then the resize).",
        "",
        "| input | file KB | this pipeline MB | ms | previous path MB | result | vs 48 MP JPEG |",
        "|---|---:|---:|---:|---:|---|---:|",
        f"| camera JPEG, 48 MP (reference) | {jpeg.stat().st_size // 1024:,} | {jpeg_mb:.0f} | "
        f"{reference['times'][0]:.0f} | | evidence | |",  # type: ignore[index]
    ]
    worst = 0.0
    for label, make in {**MEMORY_INPUTS, **WHOLE_INPUTS}.items():
        if only not in label:
            continue
        path = tmp / f"mem-{len(rows)}.bin"
        path.write_bytes(make())
        got = spawn("memory_lifted" if "budget lifted" in label else "memory", path, 1, tmp)
        mb = got["rss_kb"] / 1024 - floor  # type: ignore[operator]
        out = got["output"]
        result = out.decode() if out.startswith(b"refused") else "evidence"  # type: ignore[union-attr]
        try:
            before = f"{spawn('previous', path, 1, tmp)['rss_kb'] / 1024 - floor:.0f}"  # type: ignore[operator]
        except RuntimeError:
            before = "failed"
        if "budget lifted" not in label:  # a measurement past the budget, not an input it takes
            worst = max(worst, mb)
        rows.append(
            f"| {label} | {path.stat().st_size // 1024:,} | {mb:.0f} | {got['times'][0]:.0f} | "  # type: ignore[index]
            f"{before} | {result} | {mb - jpeg_mb:+.0f} MB |"
        )
    verdict = (
        f"worst non-JPEG peak {worst:.0f} MB above the floor vs the 48 MP JPEG's {jpeg_mb:.0f} MB "
        f"(target: at most the JPEG's + {margin_mb} MB, the decode budget): "
        f"{'met' if worst <= jpeg_mb + margin_mb else 'NOT met'}"
    )
    return rows, [f"- memory: {verdict}"]


# -- workers (run in a subprocess each) ------------------------------------------------------------------
def make_variant(name: str):
    """A function bytes -> output bytes for ``name``."""
    if name in ("pipeline", "pipeline_nowm"):
        from mobile.photos import process_photo

        chosen = make_watermark() if name == "pipeline" else None
        return lambda data: process_photo(data, chosen).evidence
    if name in ("memory", "memory_lifted"):  # the pipeline, a refusal included (its code is the output)
        from mobile.photos import PhotoError, PhotoSettings, process_photo

        settings = PhotoSettings(decode_budget=2**40) if name == "memory_lifted" else PhotoSettings()

        def guarded(data: bytes) -> bytes:
            try:
                return process_photo(data, None, settings).evidence
            except PhotoError as error:
                return f"refused: {error.code}".encode()

        return guarded
    if name == "previous":  # the previous build's path for non-JPEGs: whole decode, whole conversion
        from concurrent.futures import ThreadPoolExecutor

        from PIL import Image

        from mobile import photos
        from mobile.photoresize import resize_upright

        def previous(data: bytes) -> bytes:
            image = Image.open(io.BytesIO(data))
            image.load()
            target = photos._fit(image.size, 1600)
            with ThreadPoolExecutor(2) as pool:
                image = resize_upright(photos._to_rgb(image), target, photos._orientation(image), pool)
            return photos._encode(image, quality=80, progressive=True)

        return previous
    if name == "naive":
        from PIL import Image, ImageOps

        def naive(data: bytes) -> bytes:
            image = ImageOps.exif_transpose(Image.open(io.BytesIO(data)))
            scale = 1600 / max(image.size)
            image = image.resize(
                (round(image.width * scale), round(image.height * scale)), Image.Resampling.LANCZOS
            )
            out = io.BytesIO()
            image.save(out, "JPEG", quality=80)
            return out.getvalue()

        return naive
    if name == "vips":
        import pyvips

        pyvips.cache_set_max(0)  # no operation cache: every run does the work
        return lambda data: pyvips.Image.thumbnail_buffer(data, 1600).jpegsave_buffer(
            Q=80, interlace=True, optimize_coding=True, strip=True
        )
    if name == "idle":
        return lambda data: b""
    raise SystemExit(f"unknown variant {name}")


def stage_times(data: bytes, runs: int) -> dict[str, tuple[float, float]]:
    """Each stage of the naive path and of the pipeline on its own: {stage: (median wall ms, CPU ms)}.

    The pipeline's stages call its own functions. A camera JPEG's decode and resize overlap (the resize
    is streamed alongside the decode), so they are timed together (``mobile.photos._decode``), and
    apart, for comparison: the decode alone (``_decode``'s settings: draft to the aspect-correct target,
    YCbCr when the file is, one read of the whole file) and the resize alone.
    CPU is the process's (all threads), so a banded stage shows its helpers' work too.
    """
    from concurrent.futures import ThreadPoolExecutor

    from PIL import Image, ImageOps

    from mobile import photoresize, photos

    lines = make_watermark().lines()
    found: dict[str, tuple[float, float]] = {}

    def timed(stage: str, run: Callable[[], T]) -> T:
        result = run()  # warm-up
        walls, cpus = [], []
        for _ in range(runs):
            start, start_cpu = time.perf_counter(), time.process_time()
            result = run()
            walls.append((time.perf_counter() - start) * 1000)
            cpus.append((time.process_time() - start_cpu) * 1000)
        found[stage] = (statistics.median(walls), statistics.median(cpus))
        return result

    def full_decode() -> Image.Image:
        image = Image.open(io.BytesIO(data))
        image.load()
        return image

    def draft_decode() -> Image.Image:
        image = Image.open(io.BytesIO(data))
        image.draft("YCbCr" if photos._ycc_coded(image) else None, photos._fit(image.size, 1600))
        image.decodermaxblock = max(image.decodermaxblock, len(data))  # as mobile.photos._decode
        image.load()
        return image

    def encoded(image: Image.Image, **params: object) -> bytes:
        out = io.BytesIO()
        image.save(out, "JPEG", **params)
        return out.getvalue()

    full = timed("naive: decode at full size", full_decode)
    upright = timed("naive: orient (exif_transpose, full size)", lambda: ImageOps.exif_transpose(full))
    size = photos._fit(upright.size, 1600)
    small = timed("naive: LANCZOS resize to 1600", lambda: upright.resize(size, Image.Resampling.LANCZOS))
    timed("naive: encode q80 baseline", lambda: encoded(small, quality=80))
    timed("pipeline: SHA-256 of the original (helper thread)", lambda: hashlib.sha256(data).hexdigest())
    drafted = timed(
        f"pipeline: decode with draft ({draft_decode().mode}), alone (for comparison)", draft_decode
    )
    orientation = photos._orientation(drafted)
    target = photos._fit(full.size, 1600)
    timed(
        "pipeline: resize + turn, one thread (for comparison)",
        lambda: photoresize.resize_upright(drafted, target, orientation),
    )
    settings = photos.PhotoSettings()
    with ThreadPoolExecutor(max_workers=2) as pool:
        timed(
            "pipeline: resize + turn as jobs after the decode, caller and 2 threads (for comparison: "
            "a photo that is not streamed)",
            lambda: photoresize.resize_upright(drafted, target, orientation, pool),
        )
        ours = timed(
            "pipeline: decode in pieces with the resize streamed alongside (1 helper), its last rows "
            "after (3 threads)",
            lambda: photos._decode(data, settings, pool),
        )
    thumb_size = photos._fit(ours.size, settings.thumb_edge)
    timed("pipeline: thumbnail 320 from the upright image", lambda: photos._thumbnail(ours, thumb_size))
    overlay = timed(
        "pipeline: render the watermark (helper, while decoding)",
        lambda: photos.render_watermark(ours.size, lines, ours.mode),
    )
    timed("pipeline: burn the watermark in", lambda: overlay.burn_into(ours))
    evidence = timed(
        f"pipeline: encode q80 progressive optimised ({ours.mode})",
        lambda: photos._encode(ours, quality=80, progressive=True),
    )
    timed("pipeline: SHA-256 of the evidence", lambda: hashlib.sha256(evidence).hexdigest())
    return found


def make_watermark() -> Watermark:
    from mobile.photos import Watermark

    return Watermark(
        datetime(2025, 11, 22, 21, 3, 27, tzinfo=timezone(timedelta(hours=8))),
        34.747123,
        113.625301,
        "012345",
        "ZD01-012345-251122-AB12-0003",
        "露天烧烤",
    )


def worker(name: str, path: str, runs: int, out_path: str) -> None:
    data = Path(path).read_bytes()
    if name == "stages":
        print(json.dumps({"stages": stage_times(data, runs)}))
        return
    run = make_variant(name)
    out = run(data)  # warm-up: imports, font, codec tables
    times, cpu = [], []
    for _ in range(runs):
        start, start_cpu = time.perf_counter(), time.process_time()
        out = run(data)
        times.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - start_cpu) * 1000)
    Path(out_path).write_bytes(out)
    print(json.dumps({"times": times, "cpu": cpu, "bytes": len(out), "rss_kb": peak_rss_kb()}))


def peak_rss_kb() -> int:
    """This process's peak resident set (VmHWM). ru_maxrss would do, but Linux carries it over from the
    parent across fork + exec, so a child spawned by a big parent reports the parent's peak."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


# -- the parent ------------------------------------------------------------------------------------------
@dataclass
class Result:
    times: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)  # CPU time of all the process's threads
    out_bytes: int = 0
    rss_kb: int = 0
    output: bytes = b""

    @property
    def median(self) -> float:
        return statistics.median(self.times)


def spawn(name: str, path: Path, runs: int, tmp: Path) -> dict[str, object]:
    out_path = tmp / f"{path.stem}.{name}.out"
    proc = subprocess.run(
        [sys.executable, __file__, "--worker", name, str(path), str(runs), str(out_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{name} on {path.name} failed:\n{proc.stderr[-2000:]}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    if "stages" not in result:
        result["output"] = out_path.read_bytes()
    return result


def vips_status() -> tuple[str | None, str]:
    """(None, libvips version) when pyvips works here, else (why not, "").

    Asked in a subprocess: libvips loaded into this process clashes with Pillow's own FreeType when the
    inputs' text is drawn (garbage glyph boxes), so only the vips worker ever imports it.
    """
    probe = "import pyvips; print('%d.%d.%d' % tuple(pyvips.version(i) for i in range(3)))"
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        lines = proc.stderr.strip().splitlines() or ["unknown error"]
        return f"pyvips unavailable ({lines[-1]})", ""
    return None, proc.stdout.strip()


def quality(results: dict[str, Result], data: bytes) -> dict[str, float]:
    import numpy as np
    from PIL import Image, ImageOps

    def rgb(raw: bytes) -> np.ndarray:
        return np.asarray(Image.open(io.BytesIO(raw)).convert("RGB"), dtype=np.float64)

    full = ImageOps.exif_transpose(Image.open(io.BytesIO(data)))
    scale = 1600 / max(full.size)
    ref_img = full.resize((round(full.width * scale), round(full.height * scale)), Image.Resampling.LANCZOS)
    ref = np.asarray(ref_img, dtype=np.float64)
    scores = {
        f"psnr_ref_{k}": psnr(rgb(r.output), ref) for k, r in results.items() if k != "idle" and r.output
    }
    ours, naive = rgb(results["pipeline_nowm"].output), rgb(results["naive"].output)
    scores["psnr_vs_naive"] = psnr(ours, naive)
    scores["ssim_vs_naive"] = ssim(ours, naive)
    return scores


def psnr(a, b) -> float:
    import numpy as np

    mse = float(np.mean((a - b) ** 2))
    return float("inf") if mse == 0 else 10 * float(np.log10(255**2 / mse))


def ssim(a, b, window: int = 8) -> float:
    """Mean SSIM of the luma, sliding window x window (integral images), constants of Wang et al. 2004."""
    import numpy as np

    weights = np.array([0.299, 0.587, 0.114])
    x, y = a @ weights, b @ weights

    def box_mean(img):
        c = np.cumsum(np.cumsum(np.pad(img, ((1, 0), (1, 0))), 0), 1)
        n = window
        return (c[n:, n:] - c[:-n, n:] - c[n:, :-n] + c[:-n, :-n]) / (n * n)

    mx, my = box_mean(x), box_mean(y)
    vx, vy = box_mean(x * x) - mx**2, box_mean(y * y) - my**2
    cov = box_mean(x * y) - mx * my
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    s = ((2 * mx * my + c1) * (2 * cov + c2)) / ((mx**2 + my**2 + c1) * (vx + vy + c2))
    return float(s.mean())


def table(
    label: str, data: bytes, results: dict[str, Result], scores: dict[str, float], vips: bool
) -> list[str]:
    naive = results["naive"].median
    floor = results["idle"].rss_kb
    lines = [
        f"### {label}: {SIZES[label][0]} x {SIZES[label][1]} JPEG, {len(data) / 2**20:.1f} MB, "
        "EXIF orientation 6",
        "",
        "| variant | median ms/photo (min–max) | speed vs naive | CPU ms/photo | peak RSS MB (over floor) | "
        "output KB | PSNR vs reference dB |",
        "|---|---|---|---|---|---|---|",
    ]
    for name in (*VARIANTS, "idle"):
        if name not in results or (name == "vips" and not vips):
            continue
        r = results[name]
        if name == "idle":
            lines.append(f"| {LABELS[name]} | | | | {r.rss_kb / 1024:.0f} | | |")
            continue
        psnr_cell = "(watermark)" if name == "pipeline" else f"{scores[f'psnr_ref_{name}']:.2f}"
        lines.append(
            f"| {LABELS[name]} | {r.median:.0f} ({min(r.times):.0f}–{max(r.times):.0f}) | "
            f"{naive / r.median:.2f}x | {statistics.median(r.cpu):.0f} | "
            f"{r.rss_kb / 1024:.0f} (+{(r.rss_kb - floor) / 1024:.0f}) | "
            f"{r.out_bytes / 1024:.0f} | {psnr_cell} |"
        )
    return lines


def stage_table(label: str, stages: object, results: dict[str, Result]) -> list[str]:
    """Where each path spends its time, stage by stage (each stage timed on its own, serially)."""
    lines = [
        f"Stages at {label} (each timed alone, median of runs; CPU counts every thread):",
        "",
        "| stage | wall ms | CPU ms |",
        "|---|---|---|",
    ]
    assert isinstance(stages, dict)
    for stage, (wall, cpu) in stages.items():
        lines.append(f"| {stage} | {wall:.1f} | {cpu:.1f} |")

    def total(prefix: str, skip: tuple[str, ...] = ()) -> float:
        return sum(v[0] for k, v in stages.items() if k.startswith(prefix) and not any(s in k for s in skip))

    helpers = ("(helper", "(for comparison")  # off the critical path, or not on this path at all
    lines += [
        f"| naive: sum of stages / measured end to end | {total('naive'):.0f} / "
        f"{results['naive'].median:.0f} | |",
        f"| pipeline: sum of its critical path / measured end to end (watermark on) | "
        f"{total('pipeline', helpers):.0f} / {results['pipeline'].median:.0f} | |",
    ]
    return lines


def verdicts(label: str, results: dict[str, Result], scores: dict[str, float], vips: bool) -> list[str]:
    ours, ours_plain, naive = results["pipeline"], results["pipeline_nowm"], results["naive"]
    speed = naive.median / ours.median
    loss = scores["psnr_ref_naive"] - scores["psnr_ref_pipeline_nowm"]
    cpu_speed = statistics.median(naive.cpu) / statistics.median(ours.cpu)
    needed = naive.median / TARGET_SPEEDUP[label]
    out = [
        f"- {label} speed: {speed:.2f}x naive with the watermark, "
        f"{naive.median / ours_plain.median:.2f}x without (target >= {TARGET_SPEEDUP[label]}x): "
        f"{'met' if speed >= TARGET_SPEEDUP[label] else 'NOT met'} (needs <= {needed:.1f} ms against this "
        f"run's naive median, measured {ours.median:.1f} ms: {ours.median - needed:+.1f} ms); "
        f"in CPU time {cpu_speed:.2f}x",
    ]
    if vips:
        ratio = ours.median / results["vips"].median
        out.append(
            f"- {label} vs libvips: {ratio:.2f}x its time with the watermark, "
            f"{ours_plain.median / results['vips'].median:.2f}x without (target <= 1.5x): "
            f"{'met' if ratio <= 1.5 else 'NOT met'}{' (faster than libvips)' if ratio < 1 else ''}"
        )
    out.append(
        f"- {label} output: {ours.out_bytes / 1024:.0f} KB (target <= 350 KB): "
        f"{'met' if ours.out_bytes <= 350 * 1024 else 'NOT met'}"
    )
    out.append(
        f"- {label} quality: PSNR loss vs naive {loss:+.2f} dB against the reference; pipeline vs naive "
        f"PSNR {scores['psnr_vs_naive']:.2f} dB, SSIM {scores['ssim_vs_naive']:.4f} "
        f"(target loss <= 0.5 dB or SSIM >= 0.98): "
        f"{'met' if loss <= 0.5 or scores['ssim_vs_naive'] >= 0.98 else 'NOT met'}"
    )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="photo pipeline benchmark")
    parser.add_argument("--runs", type=int, default=10, help="timed runs per variant (split over rounds)")
    parser.add_argument("--stage-runs", type=int, default=5, help="timed runs per stage in the breakdown")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "photos.md")
    parser.add_argument(
        "--worker", nargs=4, metavar=("VARIANT", "PATH", "RUNS", "OUT"), help=argparse.SUPPRESS
    )
    parser.add_argument(
        "--memory",
        action="store_true",
        help="only the memory section: peak RSS of the worst non-JPEG inputs vs the 48 MP JPEG",
    )
    parser.add_argument(
        "--only",
        default="",
        help="with --memory: only the inputs whose label contains this (e.g. HEIC), beside the JPEG; "
        "printed, not written to the results file",
    )
    args = parser.parse_args(argv)
    if args.worker:
        name, path, runs, out_path = args.worker
        worker(name, path, int(runs), out_path)
        return 0

    from PIL import __version__ as pillow_version

    if args.memory:
        with tempfile.TemporaryDirectory(prefix="bench-photos-") as tmp_name:
            rows, verdict = memory_section(Path(tmp_name), margin_mb=256, only=args.only)
        text = "\n".join(
            [
                f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, load average "
                f"{os.getloadavg()[0]:.2f}; Python {platform.python_version()}, Pillow {pillow_version}",
                "",
                *rows,
                "",
                *verdict,
            ]
        )
        print(text)
        if not args.only:
            out = args.out.with_name(args.out.stem + "-memory.md")
            out.write_text(text + "\n", encoding="utf-8")
        return 0

    vips_problem, vips_version = vips_status()
    variants = [v for v in VARIANTS if v != "vips" or vips_problem is None] + ["idle"]
    rounds = 5 if args.runs >= 10 else 1
    per_round = max(1, -(-args.runs // rounds))
    load = os.getloadavg()[0]
    report = [
        "## Photo pipeline benchmark (bench/photos.py)",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, load average {load:.2f} at start; "
        f"Python {platform.python_version()}, Pillow {pillow_version}"
        + (f", libvips {vips_version}" if vips_problem is None else ""),
        f"Runs: {rounds} interleaved rounds x {per_round} timed runs per variant (one warm-up each), "
        "each variant in its own subprocess; median reported.",
    ]
    if vips_problem:
        report.append(f"libvips reference skipped: {vips_problem}")
        print(f"libvips reference skipped: {vips_problem}", file=sys.stderr)
    summary: list[str] = []
    loads: list[float] = []  # the 1-minute load average before each subprocess
    with tempfile.TemporaryDirectory(prefix="bench-photos-") as tmp_name:
        tmp = Path(tmp_name)
        for label, (width, height) in SIZES.items():
            data = camera_jpeg(width, height)
            path = tmp / f"in-{label.split()[0]}mp.jpg"
            path.write_bytes(data)
            results = {name: Result() for name in variants}
            for _ in range(rounds):
                for name in variants:
                    loads.append(os.getloadavg()[0])
                    got = spawn(name, path, 1 if name == "idle" else per_round, tmp)
                    r = results[name]
                    r.times += got["times"]  # type: ignore[arg-type]
                    r.cpu += got["cpu"]  # type: ignore[arg-type]
                    r.out_bytes = int(got["bytes"])  # type: ignore[call-overload]
                    r.rss_kb = max(r.rss_kb, int(got["rss_kb"]))  # type: ignore[call-overload]
                    r.output = got["output"]  # type: ignore[assignment]
            scores = quality(results, data)
            stages = spawn("stages", path, args.stage_runs, tmp)["stages"]
            report += ["", *table(label, data, results, scores, vips_problem is None)]
            report += ["", *stage_table(label, stages, results)]
            summary += verdicts(label, results, scores, vips_problem is None)
    report[2] += f" (at the end: {os.getloadavg()[0]:.2f})"
    report.insert(
        3,
        f"Load average (1 min) during the timed runs, sampled before each of {len(loads)} subprocesses: "
        f"median {statistics.median(loads):.2f}, min {min(loads):.2f}, max {max(loads):.2f}.",
    )
    report += [
        "",
        "Targets:",
        *summary,
        "",
        "PSNR vs reference: against a full-resolution decode, oriented, LANCZOS-resized and not re-encoded.",
        "CPU ms: process CPU time (all threads) per photo, median; it is what a busy machine cannot hide.",
        "The pipeline row includes thumbnail, watermark and both SHA-256 hashes; naive and libvips make",
        "the evidence JPEG only. libvips runs with its default thread pool; the pipeline uses two pool",
        "threads besides the caller: one decodes the JPEG in pieces while the other hashes the original",
        "and resizes the rows decoded so far (the caller renders the watermark text meanwhile), then all",
        "three make the last rows and the thumbnail; naive is single-threaded. A camera JPEG stays YCbCr in",
        "the pipeline (decode, resize, encode). Stage tables: each stage timed alone.",
    ]
    text = "\n".join(report) + "\n"
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
