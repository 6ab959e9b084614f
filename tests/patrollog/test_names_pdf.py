"""Names as people write them in the day-log PDF: CJK Extension A-J hanzi (𰻝𰻝面馆 too) and emoji (🧋 bubble
tea, 🧧, 🫩 of Unicode 16; ZWJ sequences, skin tones, flags and keycaps code point by code point) are set
in the main font or a fallback and extract back intact; a character no shipped font has prints as a
visible mark and is reported, never dropped; a very long name is capped at three lines in the case table."""

from __future__ import annotations

import io
import logging
import shutil
import subprocess
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
from fontTools.ttLib import TTFont
from fpdf import FPDF
from pypdf import PdfReader

from enforcement.catalogue import load_catalogue
from patrollog.daylog import DayLog, build_daylog
from patrollog.pdf import DEFAULT_FONT, ELLIPSIS, MAX_CELL_LINES, MISSING_MARK, _capped, render_daylog
from patrollog.style import FALLBACK_FONTS
from tests.patrollog.dayfixture import NAMES, SUBJECTS, fixture_day

#: 㐂 (Ext A), 䶮 (Ext A), 𠮷 𡈼 (Ext B, main font), 𪚥 (Ext B, fallback), 🔥🍢 (emoji fallback).
RARE_NAMES = ("王㐂", "𠮷野家", "刘䶮", "𡈼记面馆", "李𪚥", "🔥🍢烧烤")
LONG_NAME = "".join(f"第{i:03d}号很长的摊位名称" for i in range(20))[:200]
#: U+1FA00 NEUTRAL CHESS KING (a symbol of Unicode 12, not an emoji): no shipped font has it. Every CJK
#: ideograph of Unicode 17.0 (tests/patrollog/test_font_coverage.py) and every emoji of Unicode Emoji 17.0
#: (tests/patrollog/test_emoji_coverage.py) is in one.
NO_FONT = "\U0001fa00"


def day_with_subjects(*subjects: str) -> DayLog:
    day = fixture_day()
    log = build_daylog(date(2026, 11, 22), "ZD01", cases=day.cases, shifts=day.shifts, reviews=day.reviews,
                       catalogue=load_catalogue(), squad_name="人民路中队", officer_names=NAMES,
                       subject_labels=SUBJECTS, hq_stages=day.hq_stages)  # fmt: skip
    lines = list(log.lines)
    assert len(lines) >= len(subjects)
    for i, subject in enumerate(subjects):
        lines[i] = replace(lines[i], subject=subject)
    return replace(log, lines=tuple(lines))


def cmap_of(path: Path) -> set[int]:
    with TTFont(str(path), lazy=True) as font:
        return set(font.getBestCmap())


def extracted(data: bytes) -> str:
    """The PDF's text by pypdf, NULs (pypdf puts some between characters of this font) and whitespace out."""
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)
    return "".join(text.replace("\x00", "").split())


def test_shipped_fonts_cover_the_test_names() -> None:
    cmaps = [cmap_of(DEFAULT_FONT), *(cmap_of(DEFAULT_FONT.with_name(file)) for _, file in FALLBACK_FONTS)]
    for ch in "".join(RARE_NAMES) + MISSING_MARK + ELLIPSIS:
        assert any(ord(ch) in cmap for cmap in cmaps), f"U+{ord(ch):04X}"
    for ch in "㐂𠮷䶮𡈼" + MISSING_MARK + ELLIPSIS:  # in the main font itself (the watermark's only font)
        assert ord(ch) in cmaps[0], f"U+{ord(ch):04X}"
    assert not any(ord(NO_FONT) in cmap for cmap in cmaps)


def test_rare_names_round_trip(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="patrollog.pdf"):
        rendered = render_daylog(day_with_subjects(*RARE_NAMES))
    assert rendered.missing == ()
    assert not caplog.records
    text = extracted(rendered.data)
    for name in RARE_NAMES:
        assert name in text, name
    fonts = {
        str(font["/BaseFont"])
        for page in PdfReader(io.BytesIO(rendered.data)).pages
        for font in page["/Resources"]["/Font"].values()  # type: ignore[index]
    }
    assert any("StreetPatrolHan" in f for f in fonts), fonts
    assert any("StreetPatrolEmoji" in f for f in fonts), fonts


def test_a_character_without_a_font_is_marked_and_reported(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="patrollog.pdf"):
        rendered = render_daylog(day_with_subjects(f"张{NO_FONT}记"))
    assert rendered.missing == (NO_FONT,)
    assert f"张{MISSING_MARK}记" in extracted(rendered.data)
    assert any("U+1FA00" in r.getMessage() for r in caplog.records)


def test_a_200_character_name_is_capped_in_the_table() -> None:
    assert len(LONG_NAME) == 200
    short = render_daylog(day_with_subjects("短名"))
    rendered = render_daylog(day_with_subjects(LONG_NAME))
    text = extracted(rendered.data)
    assert LONG_NAME not in text
    assert LONG_NAME[:6] in text
    assert ELLIPSIS in text
    # the table grows by at most two lines' worth, not by thirty: same page count as a short name
    assert len(PdfReader(io.BytesIO(rendered.data)).pages) == len(PdfReader(io.BytesIO(short.data)).pages)


def test_capped_cell_text() -> None:
    pdf = FPDF()
    pdf.add_font("main", "", str(DEFAULT_FONT))
    pdf.add_page()
    pdf.set_font("main", size=8)
    capped = _capped(pdf, LONG_NAME, 24)
    lines = capped.split("\n")
    assert len(lines) == MAX_CELL_LINES
    assert lines[-1].endswith(ELLIPSIS)
    assert all(pdf.get_string_width(line) <= 24 for line in lines)
    assert "".join(lines)[:-1] == LONG_NAME[: len("".join(lines)) - 1]
    assert _capped(pdf, "赵老三烧烤", 24) == "赵老三烧烤"
    pdf.output()  # fpdf2 closes the font files it opened when it writes


#: Extension B hanzi in neither the main font (Noto CJK SC) nor the old listed fallback (𪚥 𡨸), spread
#: across the block (U+20001 … U+2A600), and one each of Extensions C, D, E and F: all in the Han fallback.
EXT_NAMES = ("张𠀁", "𢭚记面馆", "李𣑖", "王𦪙", "𪘀氏", "赵𪜁𫝁", "𫠥𬺱烧烤")


def pdf_fonts(data: bytes) -> set[str]:
    return {
        str(font["/BaseFont"])
        for page in PdfReader(io.BytesIO(data)).pages
        for font in page["/Resources"]["/Font"].values()  # type: ignore[index]
    }


def test_extension_b_to_f_names_round_trip_through_pdftotext(caplog: pytest.LogCaptureFixture) -> None:
    main = cmap_of(DEFAULT_FONT)
    han = cmap_of(DEFAULT_FONT.with_name(dict(FALLBACK_FONTS)["StreetPatrolHan"]))
    rare = [ch for name in EXT_NAMES for ch in name if ord(ch) > 0xFFFF]
    assert len(rare) == 9
    assert not any(ord(ch) in main for ch in rare)
    assert all(ord(ch) in han for ch in rare)
    assert not set(rare) & {"𪚥", "𡨸"}
    with caplog.at_level(logging.WARNING, logger="patrollog.pdf"):
        plain = render_daylog(day_with_subjects("张三", "李四"))
        rendered = render_daylog(day_with_subjects(*EXT_NAMES))
    assert rendered.missing == ()
    assert not caplog.records
    assert shutil.which("pdftotext"), "pdftotext (poppler-utils, scripts/setup.sh) is needed"
    text = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", "-", "-"], input=rendered.data, capture_output=True, check=True
    ).stdout.decode()
    text = "".join(text.split())
    for name in EXT_NAMES:
        assert name in text, name
    # the Han fallback is embedded as a subset of the glyphs used, and only into a log that needs it
    assert any("StreetPatrolHan" in f for f in pdf_fonts(rendered.data))
    assert not any("StreetPatrolHan" in f for f in pdf_fonts(plain.data))
    assert len(rendered.data) - len(plain.data) < 40_000, (len(plain.data), len(rendered.data))


#: 𰻝𰻝面馆 (biáng, Extension G: Noto CJK, so the main font, has it) and names with hanzi only the Han Ext
#: fallback (BabelStone Han) has: Extension G 𰀀 U+30000 and 𰧔 U+309D4, Extension H U+31350, and U+2A6D7
#: (Extension B) and U+2B739 (Extension C), added after Hanazono's release.
EXT_G_H_NAMES = ("𰻝𰻝面馆", "王𰀀", "𰧔记面馆", "李\U00031350", "赵\U0002a6d7\U0002b739")


def test_biang_and_extension_g_h_names_round_trip(caplog: pytest.LogCaptureFixture) -> None:
    main = cmap_of(DEFAULT_FONT)
    ext = cmap_of(DEFAULT_FONT.with_name("StreetPatrolHanExt.otf"))
    rare = [ch for name in EXT_G_H_NAMES[1:] for ch in name if ord(ch) > 0xFFFF]
    assert len(rare) == 5
    assert ord("𰻝") in main
    assert not any(ord(ch) in main for ch in rare)
    assert all(ord(ch) in ext for ch in rare)
    with caplog.at_level(logging.WARNING, logger="patrollog.pdf"):
        biang = render_daylog(day_with_subjects("𰻝𰻝面馆"))
        rendered = render_daylog(day_with_subjects(*EXT_G_H_NAMES))
    assert biang.missing == rendered.missing == ()
    assert not caplog.records
    assert "𰻝𰻝面馆" in extracted(biang.data)
    text = extracted(rendered.data)
    for name in EXT_G_H_NAMES:
        assert name in text, name
    # the Han Ext fallback is embedded (a subset) only into the log that needs it
    assert any("StreetPatrolHanExt" in f for f in pdf_fonts(rendered.data))
    assert not any("StreetPatrolHanExt" in f for f in pdf_fonts(biang.data))


#: Names with hanzi only the Han Rare fallback (Jigmo) has: Extension G U+31328 and Extension H U+31353
#: (both beyond BabelStone Han), Extension I U+2EBF0 (𮯰, Unicode 15.1), Extension J U+323B0 and U+33479
#: (Unicode 17.0), and Unicode 17.0's newest of Extensions C (U+2B73F) and E (U+2CEAD).
RARE_FONT_NAMES = (
    "张\U00031328",
    "\U00031353记面馆",
    "李\U0002ebf0",
    "王\U000323b0\U00033479",
    "赵\U0002b73f\U0002cead",
)


def test_extension_g_to_j_names_only_jigmo_has_round_trip(caplog: pytest.LogCaptureFixture) -> None:
    earlier = cmap_of(DEFAULT_FONT) | cmap_of(DEFAULT_FONT.with_name("StreetPatrolHanExt.otf"))
    earlier |= cmap_of(DEFAULT_FONT.with_name(dict(FALLBACK_FONTS)["StreetPatrolHan"]))
    rare_font = cmap_of(DEFAULT_FONT.with_name(dict(FALLBACK_FONTS)["StreetPatrolHanRare"]))
    rare = [ch for name in RARE_FONT_NAMES for ch in name if ord(ch) > 0xFFFF]
    assert len(rare) == 7
    assert not any(ord(ch) in earlier for ch in rare)
    assert all(ord(ch) in rare_font for ch in rare)
    with caplog.at_level(logging.WARNING, logger="patrollog.pdf"):
        ext = render_daylog(day_with_subjects(*EXT_G_H_NAMES))
        rendered = render_daylog(day_with_subjects(*RARE_FONT_NAMES))
    assert ext.missing == rendered.missing == ()
    assert not caplog.records
    assert MISSING_MARK not in extracted(rendered.data)
    for name in RARE_FONT_NAMES:
        assert name in extracted(rendered.data), name
    text = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", "-", "-"], input=rendered.data, capture_output=True, check=True
    ).stdout.decode()
    for name in RARE_FONT_NAMES:
        assert name in "".join(text.split()), name
    # the Han Rare fallback is embedded (a subset) only into the log that needs it
    assert any("StreetPatrolHanRare" in f for f in pdf_fonts(rendered.data))
    assert not any("StreetPatrolHanRare" in f for f in pdf_fonts(ext.data))
    assert len(rendered.data) - len(ext.data) < 40_000, (len(ext.data), len(rendered.data))


#: Shop names with emoji newer than Symbola, the old emoji font (each printed 〓 with it): 🥰 🧧 🧨 🧋
#: (Unicode 11-13), 🫠 🫶 (14.0), 🥱 🛺 🪧 🫖, 🫨 (15.0), 🫩 (16.0); and sequences: a ZWJ sequence
#: (👨‍🍳 cook), a skin tone (👍🏽), a flag (🇨🇳), a keycap (1️⃣), an emoji-presentation selector (❤️).
EMOJI_NAMES = (
    "🥰🧧🧨小卖部", "🧋奶茶", "🫠🫶🥱🛺🪧🫖茶馆", "🫨\U0001fae9面馆", "👨\u200d🍳厨房👍🏽好",
    "🇨🇳国旗1\ufe0f\u20e3号❤\ufe0f心",
)  # fmt: skip
#: Pictographs Noto Emoji lacks, only the last fallback (Symbola's) has: a mahjong tile, a playing card.
SYMBOL_NAME = "🀅🂡棋牌室"


def test_emoji_names_round_trip_code_point_by_code_point(caplog: pytest.LogCaptureFixture) -> None:
    """fpdf2 sets text code point by code point (no shaping here: uharfbuzz is not installed on the phone),
    so a ZWJ sequence prints as its parts (👨 and 🍳; the joiner, variation selector and tags have no
    width) and every part extracts back, the joiner too."""
    emoji = cmap_of(DEFAULT_FONT.with_name("StreetPatrolEmoji.ttf"))
    symbols = cmap_of(DEFAULT_FONT.with_name("StreetPatrolSymbols.ttf"))
    main = cmap_of(DEFAULT_FONT)
    assert all(ord(ch) in emoji for ch in "🥰🧧🧨🧋🫠🫶🥱🛺🪧🫖🫨\U0001fae9👨\u200d🍳👍🏽🇨🇳\ufe0f\u20e3")
    assert all(ord(ch) in symbols for ch in "🀅🂡")
    with caplog.at_level(logging.WARNING, logger="patrollog.pdf"):
        plain = render_daylog(day_with_subjects("张三"))
        rendered = render_daylog(day_with_subjects(*EMOJI_NAMES, SYMBOL_NAME))
    assert rendered.missing == ()
    assert not caplog.records
    text = extracted(rendered.data)
    assert MISSING_MARK not in text
    for name in (*EMOJI_NAMES, SYMBOL_NAME):
        assert name in text, [f"U+{ord(ch):X}" for ch in name]
    poppler = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", "-", "-"], input=rendered.data, capture_output=True, check=True
    ).stdout.decode()
    poppler = "".join(poppler.split())
    for name in ("🥰🧧🧨小卖部", "🧋奶茶", "👨\u200d🍳厨房", "🇨🇳国旗", SYMBOL_NAME):
        assert name in poppler, name
    fonts = pdf_fonts(rendered.data)
    assert any("StreetPatrolEmoji" in f for f in fonts), fonts
    assert any("StreetPatrolSymbols" in f for f in fonts), fonts
    assert not any("StreetPatrolEmoji" in f or "StreetPatrolSymbols" in f for f in pdf_fonts(plain.data))
    assert {ord(ch) for ch in "小卖部奶茶1"} <= main  # the main font keeps its own: the keycap's digit
