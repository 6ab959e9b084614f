"""What decoding a photo gives and costs: part of the photo pipeline (``mobile.photos`` imports it; with
``mobile.photoresize``, the only other module allowed PIL, see tests/test_layering.py).

- the colour coding of a JPEG (``ycc_coded``: decode a camera's YCbCr JPEG as stored) and the mode the
  evidence image will have (``output_mode``); ``to_rgb``: anything else normalised to 8-bit RGB;
- for formats with no reduced-size decoding (PNG, WebP, HEIC), the cost of a decode planned from the
  header (``decode_plan``: the decoder's peak, the reduced image and one band; ``mobile.photos`` refuses
  a photo over ``decode_budget`` with it) and the conversion to RGB band by band while box-reducing
  (``reduced_rgb``: no full-size copy).
"""

from __future__ import annotations

from dataclasses import dataclass

from PIL import Image

__all__ = ["DecodePlan", "decode_plan", "output_mode", "reduced_rgb", "to_rgb", "ycc_coded"]


#: Component ids a JPEG encoder gives R, G, B planes (libjpeg takes them as RGB, not YCbCr).
_RGB_COMPONENT_IDS = (82, 71, 66)


def ycc_coded(image: Image.Image) -> bool:
    """Whether a colour JPEG stores YCbCr, so that it can be decoded as such with no conversion.

    libjpeg takes three components as RGB only when an Adobe marker says transform 0 or the
    component ids are 'R', 'G', 'B' (which one wins differs between libjpeg versions); either
    means RGB here, so a YCbCr decode is never asked of an RGB-coded file (libjpeg refuses it).
    """
    layer = getattr(image, "layer", None)  # JpegImageFile: (id, h, v, table) per component
    if image.mode != "RGB" or not isinstance(layer, list) or len(layer) != 3:
        return False
    if "adobe" in image.info and image.info.get("adobe_transform") == 0:
        return False
    return tuple(component[0] for component in layer) != _RGB_COMPONENT_IDS


def output_mode(image: Image.Image) -> str:
    """The mode the evidence image will have once ``image`` (opened, drafted) is decoded."""
    return "YCbCr" if image.mode == "YCbCr" else "RGB"


def to_rgb(image: Image.Image) -> Image.Image:
    """8-bit RGB: 16-bit grey scaled (not clipped), palette/alpha flattened on white, CMYK converted.
    A YCbCr image (a JPEG decoded as stored) stays YCbCr: the rest of the pipeline takes both."""
    if image.mode == "YCbCr":
        return image
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


# -- the decode budget (formats with no reduced-size decoding) ------------------------------------------
#: Bytes per pixel of Pillow's own storage for a mode (RGB is stored in 4 bytes, "1" in one).
_MODE_BYTES = {"1": 1, "L": 1, "P": 1, "I;16": 2, "I;16B": 2, "I;16L": 2, "I;16N": 2}
#: How many times the decoded image's size a format's decoder holds at its peak. PNG decodes straight
#: into Pillow's image; Pillow's WebP decoder (libwebp's animation decoder) keeps its own RGBA canvas and
#: hands a copy of it over as bytes before they are unpacked into the image (measured: 16 B per pixel
#: for an RGB WebP, 4 x the image); pillow-heif decodes into its own buffer, then Pillow copies it.
_FORMAT_FACTOR = {"PNG": 1, "WEBP": 4, "HEIF": 2}
#: Source rows converted at a time: about this many source pixels per band.
_BAND_SOURCE_PIXELS = 1_000_000


@dataclass(frozen=True, slots=True)
class DecodePlan:
    """What decoding a non-JPEG photo costs, in bytes, before any pixel is decoded.

    ``decode``: the decoder's peak (the decoded image as Pillow stores it, times the format's factor);
    ``reduced``: the RGB image reduced by ``factor`` (box average) that the resize starts from;
    ``band``: one band of source rows, cropped and converted to RGB (two images of that size).
    ``total`` is what the photo holds at once at most, and is checked against ``decode_budget``.
    """

    factor: int
    band_rows: int
    decode: int
    reduced: int
    band: int

    @property
    def total(self) -> int:
        return self.decode + self.reduced + self.band


def decode_plan(
    mode: str, size: tuple[int, int], target: tuple[int, int], image_format: str | None
) -> DecodePlan:
    """The plan for a source of ``mode`` and ``size`` (as Pillow opens it) resized to ``target``.

    The reduction factor is the largest integer that keeps the reduced image at least ``target`` (as a
    JPEG's DCT scaling does: the resize then starts from 1-2x the target); conversions to RGB are made
    band by band on the way (crop, convert, reduce, paste), so no full-size copy of the source is made.
    """
    width, height = size
    factor = max(1, min(width // target[0], height // target[1]))
    rows = max(factor, _BAND_SOURCE_PIXELS // max(1, width) // factor * factor)
    decoded = width * height * _MODE_BYTES.get(mode, 4)
    reduced_size = (-(-width // factor)) * (-(-height // factor))
    return DecodePlan(
        factor=factor,
        band_rows=rows,
        decode=decoded * _FORMAT_FACTOR.get(image_format or "", 2),
        reduced=reduced_size * 4,
        band=width * min(rows, height) * (_MODE_BYTES.get(mode, 4) + 4),
    )


def reduced_rgb(image: Image.Image, target: tuple[int, int]) -> Image.Image:
    """``image`` (decoded, not a YCbCr JPEG) as 8-bit RGB, box-reduced by ``decode_plan``'s factor,
    converted in bands of source rows so that no full-size copy of it is ever made.

    A band's height is a multiple of the factor, so every reduced pixel averages the same source pixels
    as a reduction of the whole converted image would: the result is the same, pixel for pixel.
    """
    plan = decode_plan(image.mode, image.size, target, image.format)
    if image.mode == "RGB" or image.mode == "YCbCr":
        return image.reduce(plan.factor) if plan.factor > 1 else image
    width, height = image.size
    if plan.factor == 1 and plan.band_rows >= height:
        return to_rgb(image)
    out = Image.new("RGB", (-(-width // plan.factor), -(-height // plan.factor)))
    for top in range(0, height, plan.band_rows):
        band = to_rgb(image.crop((0, top, width, min(height, top + plan.band_rows))))
        if plan.factor > 1:
            band = band.reduce(plan.factor)
        out.paste(band, (0, top // plan.factor))
    return out
