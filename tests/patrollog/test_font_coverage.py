"""Issue #14: every CJK Unified Ideograph of Extensions B to F (GB 18030-2022's rare name hanzi and beyond)
is in a shipped font — the main font (a Noto Sans CJK SC subset), the Han fallback (every hanzi of Hanazono
Mincho the main font lacks) or the Han Ext fallback (the hanzi of BabelStone Han both lack:
``scripts/build_font.py``) — and so are 𰻝/𰻞 (U+30EDD/U+30EDE, biáng, Extension G: the Shaanxi noodle
shops' sign, which Noto CJK, so the main font, has), the 14 Extension B/C hanzi Unicode added after
Hanazono's 2017 release, 3,045 of Extension G and 2,271 of Extension H (BabelStone's; the Han Ext fallback's
but for biáng and two more in the main font), and every hanzi of ``assets/fonts/fallback-hanzi.txt``.
The Han Ext fallback (Arphic Public License) stays a font of its own, with its licence: the OFL Han
fallback holds none of it. Every other CJK ideograph of Unicode 17.0 — the rest of Extensions G and H,
all of Extension I (Unicode 15.1) and Extension J (17.0), and the 18 hanzi 17.0 added to Extensions C and
E — is in the Han Rare fallback (Jigmo, CC0), with its licence and provenance file.

The assigned code points are this Python's Unicode data, so a newer Python (more assigned) can only make
the check stricter; what Python 3.11 (Unicode 14) does not know is named by code point (``NEWER``)."""

from __future__ import annotations

import unicodedata

from fontTools.ttLib import TTFont

from patrollog.pdf import DEFAULT_FONT
from patrollog.style import FALLBACK_FONTS

HAN_FILE = DEFAULT_FONT.with_name(dict(FALLBACK_FONTS)["StreetPatrolHan"])
HAN_EXT_FILE = DEFAULT_FONT.with_name("StreetPatrolHanExt.otf")
HAN_RARE_FILE = DEFAULT_FONT.with_name("StreetPatrolHanRare.otf")
BLOCKS = {
    "Extension B": range(0x20000, 0x2A6E0),
    "Extension C": range(0x2A700, 0x2B740),
    "Extension D": range(0x2B740, 0x2B820),
    "Extension E": range(0x2B820, 0x2CEB0),
    "Extension F": range(0x2CEB0, 0x2EBF0),
    "Compatibility Ideographs": range(0xF900, 0xFB00),
    "Compatibility Supplement": range(0x2F800, 0x2FA20),
}
#: Added to Unicode after Hanazono Mincho's 2017 release (13.0: U+2A6D7-2A6DD; 14.0: U+2A6DE-2A6DF,
#: U+2B735-2B738; 15.0: U+2B739): only the Han Ext fallback has them.
NEWER_THAN_HANAZONO = (*range(0x2A6D7, 0x2A6E0), *range(0x2B735, 0x2B73A))
BIANG, BIANG_TRADITIONAL = 0x30EDD, 0x30EDE  # 𰻝 𰻞
EXT_G = range(0x30000, 0x31350)
EXT_H = range(0x31350, 0x323B0)  # Unicode 15.0: 4,192 assigned, all of the range
#: Extension G hanzi at its start, middle and end that only the Han Ext fallback has (the main font, Noto
#: CJK, has four of Extension G: 𰻝 𰻞 and U+30729, U+3106C).
EXT_G_SAMPLES = (0x30000, 0x309D4, 0x3134A)
#: Extension H hanzi (Unicode 15) at its start, middle and end.
EXT_H_SAMPLES = (0x31350, 0x31A98, 0x323AF)
EXT_I = range(0x2EBF0, 0x2EE60)
EXT_J = range(0x323B0, 0x33480)
#: The ideographs Unicode assigned after Python 3.11's data (14.0), by code point: U+2B739 (15.0),
#: Extension H (15.0: 4,192, the whole block), Extension I (15.1: 622), and in 17.0 U+2B73A-2B73F
#: (Extension C), U+2CEA2-2CEAD (Extension E) and Extension J (4,298).
NEWER = {
    "Extension C": range(0x2B739, 0x2B740),
    "Extension E": range(0x2CEA2, 0x2CEAE),
    "Extension H": EXT_H,
    "Extension I": range(0x2EBF0, 0x2EE5E),
    "Extension J": range(0x323B0, 0x3347A),
}
#: Every block of CJK Unified Ideographs from Extension G on (Unicode 17.0).
LATE_BLOCKS = {"Extension G": EXT_G, "Extension H": EXT_H, "Extension I": EXT_I, "Extension J": EXT_J}
#: Hanzi only the Han Rare fallback has: Extension G and H ones BabelStone Han lacks, the first and last
#: of Extension I and J, and Unicode 17.0's newest of Extensions C and E.
RARE_SAMPLES = (0x30041, 0x31328, 0x31353, 0x323A6, 0x2EBF0, 0x2EE5D, 0x323B0, 0x33479, 0x2B73F, 0x2CEAD)


def cmap(path: object) -> set[int]:
    with TTFont(str(path), lazy=True) as font:
        return set(font.getBestCmap())


def assigned(block: range) -> set[int]:
    """The ideographs of ``block`` Unicode 17.0 assigned: this Python's data, and ``NEWER``."""
    newer = set().union(*(set(block) & set(cps) for cps in NEWER.values()))
    return {cp for cp in block if unicodedata.category(chr(cp)) == "Lo"} | newer


def shipped() -> set[int]:
    """The code points of every shipped font, whichever are in ``FALLBACK_FONTS``."""
    cps = cmap(DEFAULT_FONT)
    for _, file in FALLBACK_FONTS:
        cps |= cmap(DEFAULT_FONT.with_name(file))
    return cps


def test_extensions_b_to_f_are_in_a_shipped_font() -> None:
    main, han = cmap(DEFAULT_FONT), cmap(HAN_FILE)
    every = shipped()
    for block, cps in BLOCKS.items():
        lacking = assigned(cps) - every
        assert lacking == set(), (block, [f"U+{cp:X}" for cp in sorted(lacking)[:10]])
    # the whole of Extension B: ~42,700 hanzi, ~40,600 of them in the Han fallback
    assert len(assigned(BLOCKS["Extension B"]) & every) == len(assigned(BLOCKS["Extension B"])) >= 42_720
    assert len(han & set(BLOCKS["Extension B"])) > 40_000
    assert not han & main  # the fallback holds only what the main font lacks


def test_biang_extension_g_h_and_the_newer_b_c_hanzi_are_shipped() -> None:
    every = shipped()
    wanted = {BIANG, BIANG_TRADITIONAL, *EXT_G_SAMPLES, *EXT_H_SAMPLES, *NEWER_THAN_HANAZONO}
    assert len(NEWER_THAN_HANAZONO) == 14
    assert {f"U+{cp:X}" for cp in wanted - every} == set()
    # BabelStone Han's share of Extensions G (Unicode 13: 4,939) and H (Unicode 15: 4,192)
    assert len(assigned(EXT_G) & every) >= 3_045
    assert len(set(EXT_H) & every) >= 2_271


def test_every_ideograph_of_extensions_g_to_j_and_unicode_17_is_shipped() -> None:
    """Extensions G, H, I and J whole (Unicode 17.0: 4,939 + 4,192 + 622 + 4,298), and every block's
    newest: no CJK ideograph of Unicode 17.0 is in no shipped font."""
    every = shipped()
    counts = {block: len(assigned(cps)) for block, cps in LATE_BLOCKS.items()}
    assert counts == {"Extension G": 4_939, "Extension H": 4_192, "Extension I": 622, "Extension J": 4_298}
    for block, cps in {**BLOCKS, **LATE_BLOCKS}.items():
        lacking = assigned(cps) - every
        assert lacking == set(), (block, len(lacking), [f"U+{cp:X}" for cp in sorted(lacking)[:10]])
    assert len(assigned(BLOCKS["Extension C"])) == 4_160
    assert len(assigned(BLOCKS["Extension E"])) == 5_774


def test_the_han_rare_fallback_is_jigmo_with_its_licence_and_the_han_fallback_s_line_metrics() -> None:
    main, han, ext, rare = cmap(DEFAULT_FONT), cmap(HAN_FILE), cmap(HAN_EXT_FILE), cmap(HAN_RARE_FILE)
    assert dict(FALLBACK_FONTS)["StreetPatrolHanRare"] == HAN_RARE_FILE.name
    assert set(RARE_SAMPLES) <= rare
    assert not rare & (main | han | ext)  # only what the fonts before it lack
    # nothing but the Unicode 17.0 ideographs: 8,753 of them
    everything = set().union(*(assigned(cps) for cps in (*BLOCKS.values(), *LATE_BLOCKS.values())))
    assert rare <= everything
    assert len(rare) == 8_753
    assert set(EXT_I) & rare == assigned(EXT_I)
    assert set(EXT_J) & rare == assigned(EXT_J)
    with TTFont(str(HAN_RARE_FILE), lazy=True) as font, TTFont(str(HAN_FILE), lazy=True) as hanazono:
        names = font["name"]
        assert names.getDebugName(1) == "StreetPatrol Han Rare"
        assert "CC0 1.0" in (names.getDebugName(13) or "")
        assert "Jigmo" in (names.getDebugName(0) or "")
        # Jigmo and Hanazono are one designer's, 1,024 units per em: a line holding both does not jump
        assert font["head"].unitsPerEm == hanazono["head"].unitsPerEm == 1024
        for table, fields in (
            ("hhea", ("ascent", "descent", "lineGap")),
            ("OS/2", ("sTypoAscender", "sTypoDescender", "sTypoLineGap", "usWinAscent", "usWinDescent")),
        ):
            assert [getattr(font[table], f) for f in fields] == [getattr(hanazono[table], f) for f in fields]
        assert "CFF " in font
        assert "glyf" not in font
    licence = HAN_RARE_FILE.with_name("StreetPatrolHanRare-LICENSE.txt").read_text(encoding="utf-8")
    for needed in (
        "CC0 1.0 Universal", "Kamichi Koichi", "github.com/frankslin/jigmo-webfonts", "at commit",
        "jigmo-sc-", "Extension J 4,298", "Statement of Purpose",
    ):  # fmt: skip
        assert needed in licence, needed


def test_the_han_ext_fallback_is_a_font_of_its_own_with_its_licence() -> None:
    main, han, ext = cmap(DEFAULT_FONT), cmap(HAN_FILE), cmap(HAN_EXT_FILE)
    # every surface tries it after the Han fallback and before the emoji font
    assert [family for family, _ in FALLBACK_FONTS] == [
        "StreetPatrolHan",
        "StreetPatrolHanExt",
        "StreetPatrolHanRare",
        "StreetPatrolEmoji",
        "StreetPatrolSymbols",
    ]
    assert dict(FALLBACK_FONTS)["StreetPatrolHanExt"] == HAN_EXT_FILE.name
    assert {BIANG, BIANG_TRADITIONAL} <= main  # Noto CJK has biáng; the Han Ext fallback the rest
    assert {*EXT_G_SAMPLES, *EXT_H_SAMPLES, *NEWER_THAN_HANAZONO} <= ext
    assert not ext & (main | han)  # only what the fonts before it lack
    assert all(  # ideographs only: some of BabelStone's symbol glyphs are CC-BY-SA
        0x3400 <= cp <= 0x4DBF or 0x4E00 <= cp <= 0x9FFF or 0xF900 <= cp <= 0xFAFF or 0x20000 <= cp <= 0x3FFFF
        for cp in ext
    )
    # the OFL Han fallback took no APL glyph: nothing of Extension G/H or the newer B/C hanzi
    assert not han & ({*EXT_G, *EXT_H, *NEWER_THAN_HANAZONO})
    with TTFont(str(HAN_EXT_FILE), lazy=True) as font:
        names = font["name"]
        assert (names.getDebugName(13) or "").startswith("ARPHIC PUBLIC LICENSE")
        assert "BabelStone Han" in (names.getDebugName(10) or "")  # APL 2a: how and when it was changed
        assert names.getDebugName(1) == "StreetPatrol Han Ext"
    with TTFont(str(HAN_FILE), lazy=True) as font:
        assert "ARPHIC" not in str(font["name"].getDebugName(13) or "")
    licence = HAN_EXT_FILE.with_name("StreetPatrolHanExt-LICENSE.txt").read_text(encoding="utf-8")
    for needed in ("ARPHIC PUBLIC LICENSE", "fonts-babelstone-han", "BabelStone Han", "Changed on"):
        assert needed in licence, needed


def test_listed_name_hanzi_are_shipped() -> None:
    listed = DEFAULT_FONT.with_name("fallback-hanzi.txt").read_text(encoding="utf-8")
    hanzi = {ch for line in listed.splitlines() for ch in line.split("#", 1)[0] if not ch.isspace()}
    assert {"𪚥", "𡨸"} <= hanzi
    every = shipped()
    assert {ch for ch in hanzi if ord(ch) not in every} == set()
