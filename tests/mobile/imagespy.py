"""Which images Pillow makes while a photo is processed: the memory tests' proof that no whole-size copy of
a source is ever made (``made`` fixtures of the photo tests)."""

from __future__ import annotations

import pytest
from PIL import Image


def spy_on_images(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, tuple[int, int]]]:
    """(mode, size) of every image Pillow wraps from now to the end of the test, in order (a decoder's own
    target image is made before it is wrapped, and is not seen)."""
    seen: list[tuple[str, tuple[int, int]]] = []
    original = Image.Image._new

    def spy(self: Image.Image, im: object) -> Image.Image:
        new = original(self, im)  # type: ignore[arg-type]
        seen.append((new.mode, new.size))
        return new

    monkeypatch.setattr(Image.Image, "_new", spy)
    return seen
