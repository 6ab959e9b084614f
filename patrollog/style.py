"""How the squad's figures look wherever they are drawn: the stage colours of plan dots, chart bars and
legends, and the web font stack of SVG and HTML text. One home for the phone (the squad screen's canvas and
chart) and HQ (the day-log plan SVG, the dashboard page and its trend chart); it lives in ``patrollog``
because both sides may import that package and ``enforcement`` is the domain, not its presentation. Pure
constants, no imports beyond the stage enum.

The phone's own stage chips (``mobile.theme``) use darker shades with a text colour for contrast on a
touch screen; they are the chip's fact, not these.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from enforcement.model import Stage

#: Dot, bar and legend colour of each stage.
STAGE_COLOURS: Mapping[Stage, str] = MappingProxyType(
    {Stage.PERSUASION: "#4c9a6a", Stage.WARNING: "#e0a030", Stage.PENALTY: "#c8453c"}
)

#: The shipped fonts, files in ``assets/fonts`` (built by ``scripts/build_font.py``): the main CJK font,
#: then the fallbacks every surface (app, PDF, web page) tries, in order, for a character the main one lacks:
#: every hanzi of Hanazono Mincho the main font lacks (CJK Extensions B-F, compatibility ideographs), then
#: the hanzi of BabelStone Han both lack (Extensions G and H; Arphic Public License, so a font of its own),
#: then every CJK ideograph of Unicode 17.0 all three still lack, from Jigmo (CC0: the rest of Extensions G
#: and H, Extensions I and J), then monochrome emoji (Noto Emoji: every emoji of Unicode Emoji 17.0), then
#: the pictographs and symbols of Symbola that Noto Emoji lacks (tiles, cards, dingbats, arrows).
MAIN_FONT_FILE = "NotoSansSC-StreetPatrol.otf"
FALLBACK_FONTS: tuple[tuple[str, str], ...] = (
    ("StreetPatrolHan", "StreetPatrolHan.otf"),
    ("StreetPatrolHanExt", "StreetPatrolHanExt.otf"),
    ("StreetPatrolHanRare", "StreetPatrolHanRare.otf"),
    ("StreetPatrolEmoji", "StreetPatrolEmoji.ttf"),
    ("StreetPatrolSymbols", "StreetPatrolSymbols.ttf"),
)

#: The shipped CJK font as web pages declare it (``@font-face``), and the stack SVG and HTML text use.
FONT_FACE = "StreetPatrolSC"
FONT_STACK = ", ".join(
    [FONT_FACE, *(family for family, _ in FALLBACK_FONTS), "'Noto Sans CJK SC'", "sans-serif"]
)
