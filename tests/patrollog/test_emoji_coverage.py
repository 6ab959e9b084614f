"""Issue #14, emoji in names as people write them (shop names: 🧋 bubble tea, 🧧 red envelope): every emoji of
Unicode Emoji 17.0 is in a shipped font, one look for all of them — the emoji fallback, a subset of Google's
monochrome Noto Emoji (SIL OFL 1.1), holds every emoji the main font lacks — and the pictographs and
symbols of Symbola that Noto Emoji lacks (tiles, cards, dingbats, arrows) stay in a last fallback of
their own. Each has its licence and provenance beside it (``scripts/build_font.py --emoji-only``).

Unicode Emoji's code points by version come from ``scripts/unicode_emoji.txt`` (emoji-test.txt and
Basic_Emoji of Unicode 14.0 to 17.0: its header says whence)."""

from __future__ import annotations

import sys
import unicodedata
from pathlib import Path

import pytest
from fontTools.ttLib import TTFont

from patrollog.pdf import DEFAULT_FONT
from patrollog.style import FALLBACK_FONTS

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
import emoji_font  # noqa: E402  (scripts/emoji_font.py: the build's reader of unicode_emoji.txt)

EMOJI_FILE = DEFAULT_FONT.with_name("StreetPatrolEmoji.ttf")
SYMBOLS_FILE = DEFAULT_FONT.with_name("StreetPatrolSymbols.ttf")
#: Emoji that printed as 〓 with the Symbola emoji font (newer than Symbola): 🥰 🧧 🧨 🧋 (Unicode 11-13),
#: 🫠 🫶 (14.0), 🥱 🛺 🪧 🫖, 🫨 (15.0), 🫩 (16.0), 🫪 (17.0).
NEWER_THAN_SYMBOLA = "🥰🧧🧨🧋🫠🫶🥱🛺🪧🫖🫨\U0001fae9\U0001faea"
#: Pictographs only Symbola has: a mahjong tile, a playing card, a chess king, an arrow, a flag.
SYMBOLA_ONLY = "🀅🂡♔➔⚐"


def cmap(path: Path) -> set[int]:
    with TTFont(str(path), lazy=True) as font:
        return set(font.getBestCmap())


def shipped() -> set[int]:
    cps = cmap(DEFAULT_FONT)
    for _, file in FALLBACK_FONTS:
        cps |= cmap(DEFAULT_FONT.with_name(file))
    return cps


def hexes(cps: set[int]) -> list[str]:
    return [f"U+{cp:X}" for cp in sorted(cps)[:10]]


def test_the_emoji_data_is_unicode_emoji_14_to_17() -> None:
    versions = emoji_font.unicode_emoji()
    assert list(versions) == ["14.0", "15.0", "16.0", "17.0"]  # 15.1 added sequences of older code points
    counts = {v: (len(cps["basic"]), len(cps["basic"] | cps["sequence"])) for v, cps in versions.items()}
    assert counts == {
        "14.0": (1_366, 1_417), "15.0": (1_386, 1_437), "16.0": (1_393, 1_444), "17.0": (1_400, 1_451)
    }  # fmt: skip
    assert 0x1FAE8 in versions["15.0"]["basic"] - versions["14.0"]["basic"]  # 🫨 shaking face
    assert 0x1FAE9 in versions["16.0"]["basic"] - versions["15.0"]["basic"]  # 🫩
    assert {0x200D, 0xFE0F, 0x20E3, 0x1F1E8, 0xE007F} <= versions["14.0"]["sequence"]
    assert set(range(0x1F3FB, 0x1F400)) <= versions["14.0"]["basic"]  # skin tones show alone too
    # what Python 3.11 (Unicode 14) knows agrees: every 14.0 emoji is assigned, every 15.0+ one is not
    assert all(unicodedata.category(chr(cp)) != "Cn" for cp in versions["14.0"]["basic"])
    assert all(
        unicodedata.category(chr(cp)) == "Cn" for cp in versions["17.0"]["basic"] - versions["14.0"]["basic"]
    )


@pytest.mark.parametrize("version", ["15.0", "17.0"])
def test_every_emoji_of_unicode_emoji_is_shipped(version: str) -> None:
    """Every single-code-point emoji (fully qualified, alone or with U+FE0F) and every code point of every
    sequence of emoji-test.txt (joiners, skin tones, regional indicators, tags, keycaps) is in a shipped
    font: 15.0 at least, 17.0 (September 2025) as it stands."""
    emoji = emoji_font.unicode_emoji()[version]
    every = shipped()
    assert hexes(emoji["basic"] - every) == []
    assert hexes(emoji["sequence"] - every) == []


def test_one_look_every_emoji_the_main_font_lacks_is_noto_emoji() -> None:
    versions = emoji_font.unicode_emoji()["17.0"]
    main, emoji, symbols = cmap(DEFAULT_FONT), cmap(EMOJI_FILE), cmap(SYMBOLS_FILE)
    everything = versions["basic"] | versions["sequence"]
    assert hexes(everything - main - emoji) == []  # none from Symbola
    assert {ord(ch) for ch in NEWER_THAN_SYMBOLA} <= emoji
    # the main font keeps what it has (digits, #, *, ©, ®, ♀, ♂): a page of digits never needs the emoji font
    assert not emoji & main
    assert {ord(ch) for ch in "0123456789#*©®♀♂"} <= main
    assert all(unicodedata.category(chr(cp)) not in ("Cc", "Co") for cp in emoji)  # no PUA, no controls
    assert len(emoji) == 1_464
    # the last fallback: what Symbola has that neither has, in the blocks it was taken from
    assert {ord(ch) for ch in SYMBOLA_ONLY} <= symbols
    assert not symbols & (emoji | main)
    assert all(any(cp in block for block in emoji_font.SYMBOL_BLOCKS) for cp in symbols)


def test_the_emoji_font_is_noto_emoji_with_its_licence() -> None:
    families = [family for family, _ in FALLBACK_FONTS]
    assert families[-2:] == ["StreetPatrolEmoji", "StreetPatrolSymbols"]
    assert dict(FALLBACK_FONTS)["StreetPatrolEmoji"] == EMOJI_FILE.name
    with TTFont(str(EMOJI_FILE)) as font:
        names = font["name"]
        assert names.getDebugName(1) == "StreetPatrol Emoji"
        assert "Noto Emoji" in (names.getDebugName(5) or "")
        assert "Google" in (names.getDebugName(0) or "")
        assert "SIL Open Font License, Version 1.1" in (names.getDebugName(13) or "")
        assert "fvar" not in font  # one instance: fpdf2 and Pillow read no variations
        assert font["OS/2"].usWeightClass == 400
        assert "glyf" in font  # TrueType outlines: fpdf2, Pillow, Flutter, Chromium
        assert "GSUB" in font  # ZWJ sequences, skin tones and flags join where text is shaped
        assert "vmtx" not in font
    licence = EMOJI_FILE.with_name("StreetPatrolEmoji-LICENSE.txt").read_text(encoding="utf-8")
    for needed in (
        "Noto Emoji, Version 3.006", "SHA-256", "SIL OPEN FONT LICENSE Version 1.1", "Reserved Font Name",
        "1,464 code points", "Copyright 2013-2026 Google LLC",
    ):  # fmt: skip
        assert needed in licence, needed
    with TTFont(str(SYMBOLS_FILE), lazy=True) as font:
        assert font["name"].getDebugName(1) == "StreetPatrol Symbols"
    symbols = SYMBOLS_FILE.with_name("StreetPatrolSymbols-LICENSE.txt").read_text(encoding="utf-8")
    for needed in ("Symbola", "George Douros", "free for any use"):
        assert needed in symbols, needed
