"""What the officer reads when a photo cannot be used (part of the photo pipeline: ``mobile.photos``
raises these; no PIL here). Each says why, in Chinese and English, and what to do instead; the draft
and its other photos stay as they were (the form shows the message, nothing is saved or dropped)."""

from __future__ import annotations

from enforcement.text import LocalizedError

__all__ = ["PhotoError", "corrupt", "empty", "too_large", "too_many_pixels", "too_much_memory", "unsupported"]


class PhotoError(LocalizedError):
    """A photo the app cannot use; the officer reads why, and the rest of the form stays as typed.

    Codes: empty, not_image, truncated, too_large, too_many_pixels, too_much_memory, unsupported_format,
    no_font.
    """

    code = "photo"

    def __init__(self, code: str, en: str, zh: str) -> None:
        super().__init__(en, zh=zh, field="photos", code=code)


def empty() -> PhotoError:
    return PhotoError(
        "empty",
        "The photo file is empty (0 bytes); take or choose it again",
        "照片文件是空的（0 字节），请重新拍摄或选择",
    )


def too_large(size: int, max_bytes: int) -> PhotoError:
    mb, limit = size / 2**20, max_bytes / 2**20
    return PhotoError(
        "too_large",
        f"The photo file is too large ({mb:.1f} MB; the limit is {limit:.0f} MB)",
        f"照片文件过大（{mb:.1f} MB，上限 {limit:.0f} MB）",
    )


def too_many_pixels(pixels: int | None, max_pixels: int) -> PhotoError:
    """Over the pixel limit (``pixels`` None: Pillow's own limit tripped before ours could measure)."""
    limit = f"{max_pixels / 1e6:.0f}"
    if pixels is None:
        return PhotoError(
            "too_many_pixels",
            f"The photo has too many pixels to decode (the limit is {limit} MP)",
            f"照片像素过多，无法解码（上限 {limit} 百万像素）",
        )
    return PhotoError(
        "too_many_pixels",
        f"The photo has too many pixels ({pixels / 1e6:.0f} MP; the limit is {limit} MP)",
        f"照片像素过多（{pixels / 1e6:.0f} 百万像素，上限 {limit} 百万像素）",
    )


def too_much_memory(kind: str, size: tuple[int, int], mode: str, need: int, limit: int) -> PhotoError:
    """A decode planned (from the header) over the memory budget: ``need`` and ``limit`` in bytes."""
    width, height = size
    need_mb, limit_mb = need / 2**20, limit / 2**20
    return PhotoError(
        "too_much_memory",
        f"This {kind} image is too large to open on the phone ({width} x {height} px, "
        f"{mode}: it would need {need_mb:.0f} MB; the limit is {limit_mb:.0f} MB). "
        "Take the photo with the camera (JPEG) or choose a smaller image",
        f"这张 {kind} 图片太大，手机无法打开（{width} x {height} 像素，{mode}："
        f"需要 {need_mb:.0f} MB 内存，上限 {limit_mb:.0f} MB）。请用相机拍摄（JPEG）或选择较小的图片",
    )


#: How the officer knows each format by name.
_FORMAT_NAMES = {"HEIF": "HEIC", "WEBP": "WebP", "MPO": "JPEG"}


def unsupported(kind: str, readable: list[str]) -> PhotoError:
    """A photo in format ``kind`` (Pillow's name), which this phone cannot read or does not take as
    evidence; ``readable``: the formats it does read, named to the officer with what to do instead."""
    if kind == "HEIF":
        return PhotoError(
            "unsupported_format",
            "HEIC photos cannot be read on this phone: take the photo with the app's camera, or set the "
            "phone's camera to JPEG (Most Compatible) and choose it again",
            "本机无法读取 HEIC 照片：请用本应用的相机拍摄，或把手机相机格式设为 JPEG（兼容性最佳）后重新选择",
        )
    name = _FORMAT_NAMES.get(kind, kind)
    return PhotoError(
        "unsupported_format",
        f"{name} images cannot be used as evidence on this phone: take the photo with the app's camera, "
        f"or save it as JPEG and choose it again (this phone reads {', '.join(readable)})",
        f"本机不能使用 {name} 格式的图片作为证据：请用本应用的相机拍摄，或另存为 JPEG 后重新选择"
        f"（本机可读取 {'、'.join(readable)}）",
    )


def corrupt() -> PhotoError:
    return PhotoError(
        "truncated",
        "The photo file is incomplete or damaged; take or choose it again",
        "照片文件不完整或已损坏，请重新拍摄或选择",
    )


def not_image() -> PhotoError:
    return PhotoError("not_image", "The file is not an image", "所选文件不是图片")
