"""Issue #14, names as people write them, end to end: the officer app itself (Flutter's CanvasKit in
Chromium, offline) draws CJK Extension B hanzi (𠮷, 𡨸, and 𠀁 𣑖 that only the full Han fallback has),
Extension C and F hanzi (𪜁, 𬺱), Extension G (𰻝 biáng, which the main font has, and 𰀀, which only the Han
Ext fallback has), Extension H (U+31350; U+31353, which only the Han Rare fallback has), Extensions I and J
(U+2EBF0, U+323B0: only the Han Rare fallback, Jigmo) and emoji (🔥, and those of shop names newer than
Symbola, the old emoji font: 🥰 🧧 🧋 🫩, which only the Noto Emoji fallback has; a ZWJ sequence joined into
one glyph) with the shipped fonts, not as missing-glyph boxes (tofu).

The check is by pixels: the subject form's name field is drawn with three of one character at a time and
cut out of the screen. A code point none of the shipped fonts has (U+10FFFD, private use) is what tofu
looks like in this app; a common hanzi (吉, in the main font) and blanks are the controls of the method.
Each rare character must look neither like the tofu nor like nothing, and the two hanzi must look unlike
each other. The form holding such a name is kept in docs/screenshots/, and the subject is saved."""

from __future__ import annotations

import io
import itertools
import shutil
from pathlib import Path

import pytest
from PIL import Image, ImageChops

from mobile.photos import _font_index
from testkit.browser import ARTIFACTS, Screen
from testkit.harness import REPO
from testkit.officer_ui import OfficerUi

pytestmark = pytest.mark.browser

MISSING = "\U0010fffd"  # private use, plane 16: in none of the shipped fonts
#: Hanzi that neither the main font (Noto CJK SC) nor the old listed Han fallback (𪚥 𡨸) has: Extension B
#: at its start and middle, Extension C and Extension F. The Han fallback (all of Hanazono's) draws them,
#: registered after the first screen (mobile.theme.LATE_FONTS).
EXTENDED = ("𠀁", "𣑖", "𪜁", "𬺱")  # U+20001, U+23456, U+2A701, U+2CEB1
#: 𰻝 (U+30EDD, in the main font), then Extension G and H hanzi only the Han Ext fallback (BabelStone Han)
#: has, also registered after the first screen.
EXT_G_H = ("𰻝", "𰀀", "\U00031350")  # U+30EDD, U+30000, U+31350
#: Hanzi only the Han Rare fallback (Jigmo) has, registered after the first screen too: Extension H beyond
#: BabelStone Han, Extension I (Unicode 15.1) and Extension J (Unicode 17.0).
RARE_HIJ = ("\U00031353", "\U0002ebf0", "\U000323b0")
#: Emoji only the emoji fallback (Noto Emoji) has, newer than Symbola: 🥰 U+1F970, 🧧 U+1F9E7, 🧋 U+1F9CB
#: (bubble tea), 🫩 U+1FAE9 (Unicode 16).
NEW_EMOJI = ("🥰", "🧧", "🧋", "\U0001fae9")
NAME_LABEL = "姓名 / 店名"
#: A pixel counts as different when a channel differs by more than this (anti-aliasing noise is smaller).
LEVEL = 48
#: Three glyphs drawn differently change at least this many pixels (a 16 px glyph has ~100 of ink).
ENOUGH = 60


def differing(a: bytes, b: bytes) -> int:
    one, two = Image.open(io.BytesIO(a)).convert("RGB"), Image.open(io.BytesIO(b)).convert("RGB")
    assert one.size == two.size, (one.size, two.size)
    diff = ImageChops.difference(one, two).convert("L")
    return sum(diff.histogram()[LEVEL + 1 :])


def ink_width(png: bytes, blank: bytes) -> int:
    """How wide the ink of a drawn field is: the columns that differ from the blank field."""
    one, two = Image.open(io.BytesIO(png)).convert("L"), Image.open(io.BytesIO(blank)).convert("L")
    box = ImageChops.difference(one, two).point(lambda v: 255 if v > LEVEL else 0).getbbox()
    return 0 if box is None else box[2] - box[0]


def drawn(screen: Screen, text: str) -> bytes:
    """The name field holding ``text``, drawn with the focus elsewhere (no caret)."""
    screen.fill(NAME_LABEL, text)
    screen.fill("电话", "13900003333")
    return screen.clip("textbox", NAME_LABEL)


def test_the_app_draws_rare_hanzi_and_emoji_not_tofu(screen: Screen) -> None:
    # the shipped fonts (the app's assets/fonts, the watermark's too) have the characters, and not MISSING
    for ch in "𠮷𡨸🔥吉" + "".join(EXTENDED + EXT_G_H + RARE_HIJ + NEW_EMOJI):
        assert _font_index(ch) is not None, ch
    assert _font_index(MISSING) is None
    ui = OfficerUi(screen)
    screen.wait_control("textbox", "执法证号")
    ui.sign_in("1023")
    ui.new_case("无照经营游商")
    ui.locate()
    ui.step(3)
    screen.tap("新建当事人")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shots = {
        "blank": drawn(screen, "   "),
        "tofu": drawn(screen, MISSING * 3),
        "吉": drawn(screen, "吉" * 3),
        "𠮷": drawn(screen, "𠮷" * 3),
        "𡨸": drawn(screen, "𡨸" * 3),
        "🔥": drawn(screen, "🔥" * 3),
        **{ch: drawn(screen, ch * 3) for ch in EXTENDED + EXT_G_H + RARE_HIJ + NEW_EMOJI},
    }
    joined = {text: drawn(screen, text * 3) for text in ("👨", "👨\u200d🍳", "👨🍳")}
    widths = {text: ink_width(png, shots["blank"]) for text, png in joined.items()}
    # Flutter shapes text: the ZWJ sequence 👨‍🍳 (cook) is one glyph of the emoji font, as wide as 👨, not
    # 👨 and 🍳 side by side
    assert widths["👨\u200d🍳"] < 1.3 * widths["👨"] < 1.3 * 0.75 * widths["👨🍳"], widths
    strip = [Image.open(io.BytesIO(png)).convert("RGB") for png in shots.values()]
    sheet = Image.new("RGB", (strip[0].width, sum(im.height for im in strip)), "white")
    # blanks, tofu, 吉, 𠮷, 𡨸, 🔥, then EXTENDED, EXT_G_H, RARE_HIJ and NEW_EMOJI as drawn
    for i, im in enumerate(strip):
        sheet.paste(im, (0, i * strip[0].height))
    sheet.save(ARTIFACTS / "app-rare-names-fields.png")
    # the method: tofu is drawn (a box), and a common hanzi is neither a box nor nothing
    assert differing(shots["tofu"], shots["blank"]) > ENOUGH
    assert differing(shots["吉"], shots["tofu"]) > ENOUGH
    assert differing(shots["吉"], shots["blank"]) > ENOUGH
    for ch in ("𠮷", "𡨸", "🔥", *EXTENDED, *EXT_G_H, *RARE_HIJ, *NEW_EMOJI):
        assert differing(shots[ch], shots["tofu"]) > ENOUGH, f"{ch} U+{ord(ch):X} is drawn as tofu"
        assert differing(shots[ch], shots["blank"]) > ENOUGH, f"{ch} U+{ord(ch):X} is not drawn at all"
    assert differing(shots["𠮷"], shots["𡨸"]) > ENOUGH  # two glyphs, not one fallback shape
    for one, two in itertools.pairwise(EXTENDED + EXT_G_H + RARE_HIJ + NEW_EMOJI):
        assert differing(shots[one], shots[two]) > ENOUGH, (one, two)
    # 𠮷 (土 over 口) is not 吉 (士 over 口): one stroke's length apart, a few dozen pixels at this size
    assert differing(shots["𠮷"], shots["吉"]) > 10
    # a subject named as people write it: the form as the officer sees it, then saved (the wizard moves on)
    screen.fill(NAME_LABEL, "𠮷野家🔥刘𡨸𣑖𬺱 𰻝𰻝面𰀀\U000323b0 🧋🧧")
    screen.fill("电话", "13900003333")
    shot = screen.screenshot("app-rare-names")
    screen.tap("保存当事人")
    assert ui.moved_on(3) > 3
    docs = REPO / "docs" / "screenshots" / "app-rare-names.png"
    docs.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(shot, docs)
    shutil.copyfile(ARTIFACTS / "app-rare-names-fields.png", docs.with_name("app-rare-names-fields.png"))
    assert Path(docs).stat().st_size > 5_000
