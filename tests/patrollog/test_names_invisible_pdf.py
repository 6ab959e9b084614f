"""Names as they reach the day-log PDF from real keyboards and copy-paste: characters that are invisible by
definition (Unicode's default-ignorable code points: zero-width space, BOM, word joiner, bidi controls,
variation selectors no font has) are never printed as the missing-glyph mark; a name typed with combining
accents (NFD, as some keyboards and macOS file names give it) prints as its composed letters; a CJK
compatibility ideograph stays itself (NFC would change it into its unified twin). A script no shipped font
has (Arabic, Uyghur, Hebrew) still prints the missing mark and is reported: tofu, stated, not a crash."""

from __future__ import annotations

import logging

import pytest

from patrollog.pdf import MISSING_MARK, render_daylog
from tests.patrollog.test_names_pdf import day_with_subjects, extracted

#: Each name with what the PDF must show for it.
INVISIBLE = {
    "\u200b王五\u200b": "王五",  # zero-width space at both ends (copied from a chat app)
    "赵\u200b六": "赵六",  # and inside
    "\ufeff李四": "李四",  # a BOM at the start (a name pasted from a UTF-8 file)
    "孙\u2060七": "孙七",  # word joiner
    "周\u202e八": "周八",  # a right-to-left override: a spoof, never a glyph
    "葛\U000e0100洪": "葛洪",  # an ideographic variation selector no shipped font has: the base hanzi stays
    "吴\u00ad九": "吴九",  # soft hyphen
}


def test_invisible_characters_are_not_printed_as_missing(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="patrollog.pdf"):
        rendered = render_daylog(day_with_subjects(*INVISIBLE))
    assert rendered.missing == ()
    assert not caplog.records
    text = extracted(rendered.data)
    assert MISSING_MARK not in text
    for shown in INVISIBLE.values():
        assert shown in text, shown


def test_emoji_joiners_and_selectors_the_emoji_font_has_stay() -> None:
    family, heart = "👨\u200d👩\u200d👧\u200d👦", "❤\ufe0f"
    rendered = render_daylog(day_with_subjects(family, heart))
    assert rendered.missing == ()
    text = extracted(rendered.data)
    assert family in text
    assert heart in text


def test_decomposed_accents_print_as_composed_letters() -> None:
    names = ("Jose\u0301", "Lu\u0308 Xia\u030cn", "Zoe\u0308")  # José, Lü Xiǎn (pinyin), Zoë, in NFD
    rendered = render_daylog(day_with_subjects(*names))
    assert rendered.missing == ()
    text = extracted(rendered.data)
    for composed in ("José", "LüXiǎn", "Zoë"):
        assert composed in text, composed


def test_a_compatibility_ideograph_is_not_changed_into_its_unified_twin() -> None:
    name = "\uf900记Jose\u0301"  # U+F900 豈: NFC would make it U+8C48
    rendered = render_daylog(day_with_subjects(name))
    assert rendered.missing == ()
    text = extracted(rendered.data)
    assert "\uf900记José" in text
    assert "\u8c48" not in text


def test_a_script_no_shipped_font_has_is_marked_and_reported_not_a_crash() -> None:
    uyghur, hebrew = "مەمەت", "שלום"
    rendered = render_daylog(day_with_subjects(uyghur, hebrew))
    assert set(rendered.missing) == set(uyghur + hebrew)
    assert MISSING_MARK * 4 in extracted(rendered.data)
