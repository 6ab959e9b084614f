"""The dashboard's fonts: the ``@font-face`` rules of its stylesheet and the static route that serves the
shipped font files (``assets/fonts``, built by ``scripts/build_font.py``).

The main CJK font has no ``unicode-range``: every page needs it (the sign-in page preloads it). Each
fallback (``patrollog.style.FALLBACK_FONTS``: the Han fallback of ~59,000 rare hanzi, ~18 MB; the Han Ext
fallback of Extensions G and H, ~2 MB; the Han Rare fallback of the rest of G and H and Extensions I and J,
~3.5 MB; the emoji font, Noto Emoji, 0.9 MB; Symbola's other symbols, 0.3 MB) declares the
``unicode-range`` of the code points its file maps, so a browser fetches it only for a page that holds
such a character (CSS Fonts 4: a face whose range does not include a character of the text is not
loaded). The ranges are read from each
file's cmap once, when HQ starts, and merged across small gaps into a few spans per block: a wider range
only means the browser considers the face for a character the fonts before it in ``FONT_STACK`` already
have, which it then takes from those.

Font files are served with ``Cache-Control: public, max-age=86400`` beside Starlette's ``ETag`` and
``Last-Modified``: a browser keeps the 18 MB fallback for a day, then revalidates (a 304 without a body).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from fontTools.ttLib import TTFont
from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from patrollog.style import FALLBACK_FONTS, FONT_FACE, MAIN_FONT_FILE

FONT_DIR = Path(__file__).resolve().parents[2] / "assets" / "fonts"
FONT_PREFIX = "/assets/fonts"
FONT_URL = f"{FONT_PREFIX}/{MAIN_FONT_FILE}"
FONT_CACHE = "public, max-age=86400"
#: Code points closer than this are one span of a ``unicode-range``.
RANGE_GAP = 0x400
_FORMATS = {".otf": "opentype", ".ttf": "truetype", ".woff2": "woff2", ".woff": "woff"}


def spans(code_points: set[int] | frozenset[int], gap: int = RANGE_GAP) -> list[tuple[int, int]]:
    """``code_points`` as sorted (first, last) spans, neighbours less than ``gap`` apart merged."""
    out: list[tuple[int, int]] = []
    for cp in sorted(code_points):
        if out and cp - out[-1][1] < gap:
            out[-1] = (out[-1][0], cp)
        else:
            out.append((cp, cp))
    return out


def unicode_range(code_points: set[int] | frozenset[int]) -> str:
    """A CSS ``unicode-range`` value covering ``code_points``."""
    return ", ".join(f"U+{a:X}" if a == b else f"U+{a:X}-{b:X}" for a, b in spans(code_points))


@cache
def _cmap(path: Path) -> frozenset[int]:
    try:
        with TTFont(str(path), lazy=True) as font:
            return frozenset(font.getBestCmap() or {})
    except (OSError, KeyError, AssertionError):
        return frozenset()


def font_faces(font_dir: Path = FONT_DIR) -> str:
    """The stylesheet's ``@font-face`` rules: the main font, then each fallback shipped in ``font_dir``
    with the ``unicode-range`` of its characters (a fallback whose file is missing is left out)."""
    rules = [
        f'@font-face {{ font-family: {FONT_FACE}; src: url("{FONT_URL}") format("opentype"); '
        "font-display: swap; }"
    ]
    for family, file in FALLBACK_FONTS:
        cmap = _cmap(font_dir / file)
        if not cmap:
            continue
        kind = _FORMATS.get(Path(file).suffix.lower(), "opentype")
        rules.append(
            f'@font-face {{ font-family: {family}; src: url("{FONT_PREFIX}/{file}") format("{kind}"); '
            f"font-display: swap; unicode-range: {unicode_range(cmap)}; }}"
        )
    return "\n".join(rules)


class FontFiles(StaticFiles):
    """The shipped font files, with a caching header (module docstring)."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        if response.status_code in (200, 206, 304):
            response.headers["Cache-Control"] = FONT_CACHE
        return response


def font_files(font_dir: Path = FONT_DIR) -> FontFiles:
    return FontFiles(directory=font_dir)
