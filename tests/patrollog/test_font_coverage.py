"""Issue #14: every CJK Unified Ideograph of Extensions B to F (GB 18030-2022's rare name hanzi and beyond)
is in a shipped font — the main font (a Noto Sans CJK SC subset) or the Han fallback (every hanzi of
Hanazono Mincho the main font lacks, ``scripts/build_font.py``) — except the few Unicode added after
Hanazono's last release (2017), named here; and every hanzi of ``assets/fonts/fallback-hanzi.txt`` too.

The assigned code points are this Python's Unicode data, so a newer Python (more assigned) can only make
the check stricter; the gaps allowed are fixed ranges, not "whatever is missing"."""

from __future__ import annotations

import unicodedata

from fontTools.ttLib import TTFont

from patrollog.pdf import DEFAULT_FONT
from patrollog.style import FALLBACK_FONTS

HAN_FILE = DEFAULT_FONT.with_name(dict(FALLBACK_FONTS)["StreetPatrolHan"])
BLOCKS = {
    "Extension B": range(0x20000, 0x2A6E0),
    "Extension C": range(0x2A700, 0x2B740),
    "Extension D": range(0x2B740, 0x2B820),
    "Extension E": range(0x2B820, 0x2CEB0),
    "Extension F": range(0x2CEB0, 0x2EBF0),
    "Compatibility Ideographs": range(0xF900, 0xFB00),
    "Compatibility Supplement": range(0x2F800, 0x2FA20),
}
#: Added to Unicode after Hanazono Mincho's 2017 release (13.0: U+2A6D7-2A6DD, U+2B735; 14.0: U+2A6DE-F,
#: U+2B735-2B738; 15.0: U+2B739) and in neither font.
NEWER_THAN_HANAZONO = (range(0x2A6D7, 0x2A6E0), range(0x2B735, 0x2B740))


def cmap(path: object) -> set[int]:
    with TTFont(str(path), lazy=True) as font:
        return set(font.getBestCmap())


def assigned(block: range) -> set[int]:
    return {cp for cp in block if unicodedata.category(chr(cp)) == "Lo"}


def test_extensions_b_to_f_are_in_a_shipped_font() -> None:
    main, han = cmap(DEFAULT_FONT), cmap(HAN_FILE)
    shipped = main | han
    for block, cps in BLOCKS.items():
        lacking = assigned(cps) - shipped
        newer = {cp for cp in lacking if any(cp in r for r in NEWER_THAN_HANAZONO)}
        assert lacking == newer, (block, [f"U+{cp:X}" for cp in sorted(lacking - newer)[:10]])
    # the whole of Extension B minus the nine newer ones: ~42,700 hanzi, ~40,600 of them in the fallback
    assert len(assigned(BLOCKS["Extension B"]) & shipped) >= 42_711
    assert len(han & set(BLOCKS["Extension B"])) > 40_000
    assert not han & main  # the fallback holds only what the main font lacks


def test_listed_name_hanzi_are_shipped() -> None:
    listed = DEFAULT_FONT.with_name("fallback-hanzi.txt").read_text(encoding="utf-8")
    hanzi = {ch for line in listed.splitlines() for ch in line.split("#", 1)[0] if not ch.isspace()}
    assert {"𪚥", "𡨸"} <= hanzi
    shipped = cmap(DEFAULT_FONT) | cmap(HAN_FILE)
    assert {ch for ch in hanzi if ord(ch) not in shipped} == set()
