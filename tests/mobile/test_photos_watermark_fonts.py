"""The watermark draws characters its main font lacks (a rare name hanzi 𪚥, an emoji 🔥 and the emoji
of shop names newer than Symbola, 🥰 🧧 🧋 🫩, Extension G to J hanzi) in the shipped fallback font that
has them (``patrollog.style.FALLBACK_FONTS``), never as the main font's missing box; 𰻝 (biáng,
Extension G) is drawn by the main font itself (Noto CJK has it)."""

from __future__ import annotations

import itertools

from fontTools.ttLib import TTFont
from PIL import Image, ImageChops, ImageDraw, ImageFont

from mobile.photos import FONT_PATHS, render_watermark, text_runs

RARE = "𪚥"  # U+2A6A5, only in StreetPatrolHan
#: Extension B and F hanzi the main font lacks and the old listed fallback did not hold (𪚥 𡨸 only)
EXT_B, EXT_F = "𣑖", "𬺱"  # U+23456, U+2CEB1
FIRE = "🔥"  # U+1F525, only in StreetPatrolEmoji
BIANG = "𰻝"  # U+30EDD, Extension G, in the main font
#: Extension G and H hanzi only StreetPatrolHanExt (BabelStone Han) has
EXT_G, EXT_H = "𰀀", "\U00031350"  # U+30000, U+31350
#: Hanzi only StreetPatrolHanRare (Jigmo) has: Extension H beyond BabelStone Han, I (Unicode 15.1), J (17.0)
RARE_H, EXT_I, EXT_J = "\U00031353", "\U0002ebf0", "\U000323b0"
LINE = f"事由 {RARE}记烧烤 {FIRE}露天烧烤 {EXT_B}{EXT_F}氏 ABC"


def cmap(index: int) -> set[int]:
    with TTFont(str(FONT_PATHS[index]), lazy=True) as font:
        return set(font.getBestCmap())


def test_each_run_is_in_a_font_that_has_its_characters() -> None:
    cmaps = [cmap(i) for i in range(len(FONT_PATHS))]
    assert ord(RARE) not in cmaps[0]  # the main font lacks both
    assert ord(FIRE) not in cmaps[0]
    runs = text_runs(LINE)
    assert "".join(text for text, _ in runs) == LINE
    for text, index in runs:
        for ch in text:
            assert ch.isspace() or ord(ch) in cmaps[index], (ch, FONT_PATHS[index].name)
    fonts = {ch: index for text, index in runs for ch in text}
    assert FONT_PATHS[fonts[RARE]].name == "StreetPatrolHan.otf"
    assert fonts[EXT_B] == fonts[EXT_F] == fonts[RARE]
    assert FONT_PATHS[fonts[FIRE]].name == "StreetPatrolEmoji.ttf"
    assert fonts["事"] == fonts["A"] == 0


def glyph(path: str, ch: str, size: int = 40) -> Image.Image:
    image = Image.new("L", (size * 2, size * 2), 0)
    ImageDraw.Draw(image).text((4, 4), ch, font=ImageFont.truetype(path, size), fill=255)
    return image


def test_rendered_watermark_shows_the_fallback_glyphs_not_boxes() -> None:
    size = (1440, 1000)
    box_only = render_watermark(size, [f"事由 {chr(0x10FFFD)}"])  # no font has it: the main font's box
    rare = render_watermark(size, [f"事由 {RARE}"])
    fire = render_watermark(size, [f"事由 {FIRE}"])
    assert ImageChops.difference(rare.mask, box_only.mask).getbbox() is not None
    assert ImageChops.difference(fire.mask, box_only.mask).getbbox() is not None
    assert ImageChops.difference(rare.mask, fire.mask).getbbox() is not None
    ext_b = render_watermark(size, [f"事由 {EXT_B}"])
    ext_f = render_watermark(size, [f"事由 {EXT_F}"])
    assert ImageChops.difference(ext_b.mask, box_only.mask).getbbox() is not None
    assert ImageChops.difference(ext_f.mask, box_only.mask).getbbox() is not None
    assert ImageChops.difference(ext_b.mask, ext_f.mask).getbbox() is not None
    # the reference: the main font draws both as the same missing-glyph box
    main = str(FONT_PATHS[0])
    assert ImageChops.difference(glyph(main, RARE), glyph(main, FIRE)).getbbox() is None
    assert ImageChops.difference(glyph(main, EXT_B), glyph(main, FIRE)).getbbox() is None
    whole = render_watermark(size, ["时间 2026-11-22 09:00:00 UTC+08:00", LINE])
    assert whole.mask.size[0] <= size[0]


def test_biang_and_extension_g_h_names_render_glyphs() -> None:
    assert ord(BIANG) in cmap(0)
    runs = text_runs(f"{BIANG}{BIANG}面馆 王{EXT_G}{EXT_H}")
    fonts = {ch: index for text, index in runs for ch in text}
    assert fonts[BIANG] == fonts["面"] == 0
    assert FONT_PATHS[fonts[EXT_G]].name == FONT_PATHS[fonts[EXT_H]].name == "StreetPatrolHanExt.otf"
    size = (1440, 1000)
    box_only = render_watermark(size, [f"事由 {chr(0x10FFFD)}"])
    drawn = {ch: render_watermark(size, [f"事由 {ch}"]) for ch in (BIANG, EXT_G, EXT_H)}
    for ch, image in drawn.items():
        assert ImageChops.difference(image.mask, box_only.mask).getbbox() is not None, f"U+{ord(ch):X}"
    assert ImageChops.difference(drawn[EXT_G].mask, drawn[EXT_H].mask).getbbox() is not None
    assert ImageChops.difference(drawn[BIANG].mask, drawn[EXT_G].mask).getbbox() is not None
    # the reference: the main font draws them as its missing-glyph box
    main = str(FONT_PATHS[0])
    assert ImageChops.difference(glyph(main, EXT_G), glyph(main, FIRE)).getbbox() is None
    assert ImageChops.difference(glyph(main, EXT_H), glyph(main, FIRE)).getbbox() is None


def test_extension_h_i_j_names_only_jigmo_has_render_glyphs() -> None:
    runs = text_runs(f"王{RARE_H}{EXT_I}{EXT_J}记")
    fonts = {ch: index for text, index in runs for ch in text}
    assert {FONT_PATHS[fonts[ch]].name for ch in (RARE_H, EXT_I, EXT_J)} == {"StreetPatrolHanRare.otf"}
    assert fonts["王"] == fonts["记"] == 0
    size = (1440, 1000)
    box_only = render_watermark(size, [f"事由 {chr(0x10FFFD)}"])
    drawn = {ch: render_watermark(size, [f"事由 {ch}"]) for ch in (RARE_H, EXT_I, EXT_J)}
    for ch, image in drawn.items():
        assert ImageChops.difference(image.mask, box_only.mask).getbbox() is not None, f"U+{ord(ch):X}"
    for one, two in ((RARE_H, EXT_I), (EXT_I, EXT_J)):
        assert ImageChops.difference(drawn[one].mask, drawn[two].mask).getbbox() is not None
    # Pillow's FreeType reads the file itself: the glyph has ink, unlike the main font's missing box
    rare_font, main = str(FONT_PATHS[fonts[EXT_J]]), str(FONT_PATHS[0])
    assert ImageChops.difference(glyph(rare_font, EXT_J), glyph(main, EXT_J)).getbbox() is not None
    assert glyph(rare_font, EXT_J).getbbox() is not None


#: Emoji of shop names the old emoji font (Symbola) lacked: 🥰 U+1F970, 🧧 U+1F9E7 (red envelope), 🧋
#: U+1F9CB (bubble tea), 🫩 U+1FAE9 (Unicode 16): only StreetPatrolEmoji (Noto Emoji) has them.
NEW_EMOJI = "🥰🧧🧋\U0001fae9"


def test_emoji_newer_than_symbola_render_in_the_emoji_font() -> None:
    """Runs in both venvs (scripts/test: Pillow 13 and the phone's 10.4), FreeType reading Noto Emoji's
    TrueType outlines; a ZWJ sequence stays in one run (the joiner has no glyph of its own to draw)."""
    runs = text_runs(f"王{NEW_EMOJI}奶茶 👨\u200d🍳👍🏽")
    fonts = {ch: index for text, index in runs for ch in text}
    assert {FONT_PATHS[fonts[ch]].name for ch in NEW_EMOJI + "👨\u200d🍳👍🏽"} == {"StreetPatrolEmoji.ttf"}
    assert fonts["王"] == fonts["奶"] == 0
    assert ("👨\u200d🍳👍🏽", fonts["👨"]) in runs
    size = (1440, 1000)
    box_only = render_watermark(size, [f"事由 {chr(0x10FFFD)}"])
    drawn = {ch: render_watermark(size, [f"事由 {ch}"]) for ch in NEW_EMOJI}
    for ch, image in drawn.items():
        assert ImageChops.difference(image.mask, box_only.mask).getbbox() is not None, f"U+{ord(ch):X}"
    for one, two in itertools.pairwise(NEW_EMOJI):
        assert ImageChops.difference(drawn[one].mask, drawn[two].mask).getbbox() is not None, (one, two)
    # Pillow's FreeType reads the file itself: each glyph has ink, unlike the main font's missing box
    emoji, main = str(FONT_PATHS[fonts["🧋"]]), str(FONT_PATHS[0])
    for ch in NEW_EMOJI:
        assert glyph(emoji, ch).getbbox() is not None, f"U+{ord(ch):X}"
        assert ImageChops.difference(glyph(emoji, ch), glyph(main, ch)).getbbox() is not None
    # the main font draws it as its missing-glyph box
    assert ImageChops.difference(glyph(main, "🧋"), glyph(main, FIRE)).getbbox() is None


def test_a_space_after_an_emoji_is_drawn_by_a_font_that_has_it() -> None:
    """The emoji and symbols fonts have no space (the main font has): a space, joiner or variation selector
    goes with its neighbour's run only when that font has it, so no space is drawn as a missing-glyph box."""
    line = "🧋 奶茶 🧧🥰 👨\u200d🍳👍🏽 🀅 王 ❤\ufe0f 1"
    runs = text_runs(line)
    assert "".join(text for text, _ in runs) == line
    cmaps = [cmap(i) for i in range(len(FONT_PATHS))]
    for text, index in runs:
        for ch in text:
            assert ord(ch) in cmaps[index], (f"U+{ord(ch):X}", FONT_PATHS[index].name)
    fonts = {FONT_PATHS[index].name for _, index in runs}
    assert {"StreetPatrolEmoji.ttf", "StreetPatrolSymbols.ttf"} <= fonts
    assert ("👨\u200d🍳👍🏽", FONT_PATHS.index(FONT_PATHS[0].with_name("StreetPatrolEmoji.ttf"))) in runs
