"""The dashboard's stylesheet sets every control (buttons, inputs, selects) in the shipped font stack with
its fallbacks (rare name hanzi, emoji), each fallback with the ``unicode-range`` of its file so a browser
fetches the 18 MB Han fallback (or the 2 MB Han Ext one: Extensions G and H, or the 3.5 MB Han Rare one: the
rest of G and H, I and J) only for a page that needs it; font files are served with a caching header; and
Chromium loads the fallbacks and draws 𠮷, Extension B/C/F/G/H/I/J hanzi, 𰻝 (biáng), 🔥 and the emoji newer
than Symbola (🥰 🧧 🧋 🫩: Noto Emoji, in one colour, not the system's colour emoji font; a ZWJ sequence, a
skin tone and a flag joined into one glyph) with them (marked ``browser``)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hq.dash.fonts import FONT_CACHE, spans, unicode_range
from hq.dash.layout import STYLE_URL
from patrollog.style import FALLBACK_FONTS, FONT_FACE, FONT_STACK
from testkit.chromium import chromium
from testkit.hqkit import Hq, make_hq

ROOT = Path(__file__).resolve().parents[3]
#: Extension B (start, middle), C and F hanzi only the Han fallback has; U+10FFFD no shipped font has.
EXTENDED = "𠀁𣑖𪜁𬺱"
#: 𰻝 (biáng, Extension G: in the main font), and Extension G (𰀀) and H (U+31350) hanzi only the Han Ext
#: fallback (BabelStone Han) has.
EXT_G_H = "𰻝𰀀\U00031350"
#: Hanzi only the Han Rare fallback (Jigmo) has: Extension H beyond BabelStone Han (U+31353), Extension I
#: (U+2EBF0, Unicode 15.1) and J (U+323B0, Unicode 17.0).
RARE_HIJ = "\U00031353\U0002ebf0\U000323b0"
MISSING = "\U0010fffd"


@pytest.fixture
def hq(tmp_path: Path) -> Iterator[Hq]:
    hq = make_hq(tmp_path)
    yield hq
    hq.close()


def test_controls_use_the_font_stack(hq: Hq) -> None:
    with hq.client() as client:
        css = client.get(STYLE_URL).text
        rule = next(line for line in css.splitlines() if line.startswith("button, input, select, textarea"))
        assert f"font-family: {FONT_STACK}" in rule
        assert FONT_STACK.startswith(FONT_FACE)
        for family, file in FALLBACK_FONTS:
            assert family in FONT_STACK
            assert f'font-family: {family}; src: url("/assets/fonts/{file}")' in css
            served = client.get(f"/assets/fonts/{file}")
            assert served.status_code == 200
            assert served.headers["cache-control"] == FONT_CACHE
            # OpenType with CFF outlines (the Han fallback) or TrueType (the emoji fallback)
            assert served.content[:4] == (b"OTTO" if file.endswith(".otf") else b"\x00\x01\x00\x00")
            again = client.get(f"/assets/fonts/{file}", headers={"If-None-Match": served.headers["etag"]})
            assert again.status_code == 304
        han = next(line for line in css.splitlines() if "font-family: StreetPatrolHan;" in line)
        assert "unicode-range: " in han
        for ch in "𪚥𡨸" + EXTENDED:
            assert any(a <= ord(ch) <= b for a, b in _ranges(han)), ch
        assert not any(a <= ord("吉") <= b for a, b in _ranges(han))  # a plain page never fetches it
        ext = next(line for line in css.splitlines() if "font-family: StreetPatrolHanExt;" in line)
        assert 'src: url("/assets/fonts/StreetPatrolHanExt.otf") format("opentype")' in ext
        for ch in EXT_G_H + "\U0002a6d7\U0002b739":  # and two Extension B/C hanzi newer than Hanazono
            assert any(a <= ord(ch) <= b for a, b in _ranges(ext)), f"U+{ord(ch):X}"
        assert not any(a <= ord("吉") <= b for a, b in _ranges(ext))
        assert css.index("font-family: StreetPatrolHan;") < css.index("font-family: StreetPatrolHanExt;")
        rare = next(line for line in css.splitlines() if "font-family: StreetPatrolHanRare;" in line)
        assert 'src: url("/assets/fonts/StreetPatrolHanRare.otf") format("opentype")' in rare
        for ch in RARE_HIJ + "\U00031328\U00033479":
            assert any(a <= ord(ch) <= b for a, b in _ranges(rare)), f"U+{ord(ch):X}"
        for ch in "吉𪚥𠮷":  # the fonts before it have these: a page with them never fetches it
            assert not any(a <= ord(ch) <= b for a, b in _ranges(rare)), f"U+{ord(ch):X}"
        assert css.index("font-family: StreetPatrolHanExt;") < css.index("font-family: StreetPatrolHanRare;")
        main = next(line for line in css.splitlines() if f"font-family: {FONT_FACE};" in line)
        assert "unicode-range" not in main


def _ranges(rule: str) -> list[tuple[int, int]]:
    value = rule.split("unicode-range: ", 1)[1].split(";", 1)[0]
    out = []
    for part in value.split(", "):
        a, _, b = part.removeprefix("U+").partition("-")
        out.append((int(a, 16), int(b or a, 16)))
    return out


def test_unicode_range_spans() -> None:
    assert spans({0x20000, 0x20001, 0x20002, 0x20300, 0x30000}, gap=0x400) == [
        (0x20000, 0x20300),
        (0x30000, 0x30000),
    ]
    assert unicode_range({0x41, 0x42, 0x2000}) == "U+41-42, U+2000"
    assert unicode_range(set()) == ""


def _typed_and_loaded(page: Any, name: str) -> list[str]:
    """Type ``name`` into the sign-in form's badge field (it must read back whole) and return the font
    families Chromium loads to draw it in the page's font stack."""
    page.fill("#badge", name)
    assert page.input_value("#badge") == name
    families: list[str] = page.evaluate(
        "async (text) => (await document.fonts.load("
        "'16px ' + getComputedStyle(document.body).fontFamily, text)).map(f => f.family)",
        name,
    )
    return families


@pytest.mark.browser
def test_controls_and_rare_names_in_chromium(hq: Hq) -> None:
    url = hq.serve().url
    shot = ROOT / "artifacts" / "screenshots" / "dashboard-rare-names.png"
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 412, "height": 915}, locale="zh-CN")
        page.goto(f"{url}/dashboard")
        button = page.locator("button[type=submit]")
        assert page.evaluate("(b) => getComputedStyle(b).fontFamily", button.element_handle()).startswith(
            FONT_FACE
        )
        assert "登录" in button.inner_text()
        fetched: list[tuple[str, int, str]] = []
        page.on(
            "response",
            lambda r: fetched.append(
                (r.url.rsplit("/", 1)[-1], r.status, r.headers.get("cache-control", ""))
            ),
        )
        page.reload()
        page.evaluate("document.fonts.ready")
        # the sign-in page has no rare character: the Han fallback (18 MB) is not fetched; nor for an
        # emoji, which the emoji fallback after it in the stack has (without its unicode-range the
        # browser would fetch the Han fallback to look for 🔥 in it first)
        page.fill("#badge", "🔥")
        page.evaluate("async () => { await document.fonts.load('16px StreetPatrolEmoji', '🔥'); }")
        page.evaluate("document.fonts.ready")
        page.wait_for_timeout(500)
        assert any(name == "StreetPatrolEmoji.ttf" for name, _, _ in fetched), fetched
        assert not any(name.startswith("StreetPatrolHan") for name, _, _ in fetched), fetched
        # a name as people write it, typed into the sign-in form's input
        name = "𠮷野家🔥李𪚥" + EXTENDED + EXT_G_H + RARE_HIJ
        loaded = _typed_and_loaded(page, name)
        assert FONT_FACE in loaded, loaded
        for family, _ in FALLBACK_FONTS:
            assert family in loaded, loaded
        page.evaluate("document.fonts.ready")
        assert page.evaluate(f"document.fonts.check('16px {FONT_FACE}', '𠮷')")
        # Chromium accepted the file (its sanitiser rejects a malformed font: status "error")
        for family in ("StreetPatrolHan", "StreetPatrolHanExt", "StreetPatrolHanRare"):
            status = page.evaluate(
                "(family) => [...document.fonts].filter(f => f.family === family).map(f => f.status)",
                family,
            )
            assert status == ["loaded"], (family, status)
            assert (f"{family}.otf", 200, FONT_CACHE) in fetched, fetched
        # drawn with the page's font stack: each character unlike the missing-glyph box and unlike blank
        alpha = page.evaluate(DRAW_JS, [*EXTENDED, *EXT_G_H, *RARE_HIJ, MISSING, " "])
        for ch in EXTENDED + EXT_G_H + RARE_HIJ:
            assert _differing(alpha[ch], alpha[MISSING]) > 60, f"U+{ord(ch):X} drawn as tofu"
            assert _differing(alpha[ch], alpha[" "]) > 60, f"U+{ord(ch):X} not drawn"
        for one, two in itertools.pairwise(EXTENDED + EXT_G_H + RARE_HIJ):
            assert _differing(alpha[one], alpha[two]) > 60, (one, two)
        page.fill("#badge", name)
        shot.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 5_000


#: Each character drawn alone at 48 px in the body's font stack on a canvas: its alpha channel.
DRAW_JS = """(chars) => {
    const out = {};
    const stack = getComputedStyle(document.body).fontFamily;
    for (const ch of chars) {
        const canvas = document.createElement('canvas');
        canvas.width = canvas.height = 64;
        const g = canvas.getContext('2d');
        g.font = '48px ' + stack;
        g.fillText(ch, 4, 52);
        out[ch] = Array.from(g.getImageData(0, 0, 64, 64).data.filter((_, i) => i % 4 === 3));
    }
    return out;
}"""


def _differing(a: list[int], b: list[int]) -> int:
    return sum(1 for x, y in zip(a, b, strict=True) if abs(x - y) > 48)


#: Emoji of shop names only the emoji fallback (Noto Emoji) has, newer than Symbola: 🥰 🧧 🧋 🫩 (U+1FAE9,
#: Unicode 16); and 🀅 (a mahjong tile) only the symbols fallback (Symbola's rest) has.
NEW_EMOJI = "🥰🧧🧋\U0001fae9"
SYMBOL = "🀅"

#: Each character drawn black at 48 px on a canvas, in the body's font stack and in ``family`` alone (then
#: Chromium's own fallback: the system's fonts): RGBA of both.
DRAW_BOTH_JS = """([chars, family]) => {
    const out = {};
    const stack = getComputedStyle(document.body).fontFamily;
    for (const ch of chars) {
        out[ch] = [stack, family].map((fonts) => {
            const canvas = document.createElement('canvas');
            canvas.width = canvas.height = 64;
            const g = canvas.getContext('2d');
            g.fillStyle = '#000';
            g.font = '48px ' + fonts;
            g.fillText(ch, 4, 52);
            return Array.from(g.getImageData(0, 0, 64, 64).data);
        });
    }
    return out;
}"""


#: A ZWJ sequence (👨‍🍳 cook), a skin tone (👍🏽) and a flag (🇨🇳).
JOINED = ("👨\u200d🍳", "👍🏽", "🇨🇳")
WIDTHS_JS = """(texts) => {
    const g = document.createElement('canvas').getContext('2d');
    g.font = '48px StreetPatrolEmoji';
    return Object.fromEntries(texts.map((t) => [t, g.measureText(t).width]));
}"""


@pytest.mark.browser
def test_emoji_newer_than_symbola_in_chromium(hq: Hq) -> None:
    """Chromium fetches the emoji fallback for a shop name with 🧋 and draws each emoji from it: the same
    pixels as the face alone, one colour (a system colour emoji font would give colour), not the
    missing-glyph box, not blank, each unlike the others; 🀅 from the symbols fallback."""
    url = hq.serve().url
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 412, "height": 915}, locale="zh-CN")
        fetched: list[str] = []
        page.on("response", lambda r: fetched.append(r.url.rsplit("/", 1)[-1]))
        page.goto(f"{url}/dashboard")
        name = f"王{NEW_EMOJI}奶茶{SYMBOL}"
        loaded = _typed_and_loaded(page, name)
        assert "StreetPatrolEmoji" in loaded, loaded
        assert "StreetPatrolSymbols" in loaded, loaded
        page.evaluate("document.fonts.ready")
        for family in ("StreetPatrolEmoji", "StreetPatrolSymbols"):
            status = page.evaluate(
                "(family) => [...document.fonts].filter(f => f.family === family).map(f => f.status)",
                family,
            )
            assert status == ["loaded"], (family, status)  # Chromium's sanitiser accepted the file
            assert f"{family}.ttf" in fetched, fetched
        assert not any(name.startswith("StreetPatrolHan") for name in fetched), fetched
        emoji = page.evaluate(DRAW_BOTH_JS, [[*NEW_EMOJI, MISSING, " "], "StreetPatrolEmoji"])
        # shaped text joins a ZWJ sequence, a skin tone and a flag into one glyph of the emoji font
        widths = page.evaluate(WIDTHS_JS, [*JOINED, "👨", "🍳"])
        assert widths["👨"] == widths["🍳"] > 0
        for text in JOINED:
            assert widths[text] == widths["👨"], (text, widths)  # one glyph wide, not two
        symbol = page.evaluate(DRAW_BOTH_JS, [[SYMBOL], "StreetPatrolSymbols"])
    drawn = {ch: pair for ch, pair in {**emoji, **symbol}.items()}
    alpha = {ch: pair[0][3::4] for ch, pair in drawn.items()}
    for ch in NEW_EMOJI + SYMBOL:
        stack, alone = drawn[ch]
        assert stack == alone, f"U+{ord(ch):X} not drawn by its fallback face"
        coloured = sum(1 for i in range(0, len(stack), 4) if stack[i + 3] and max(stack[i : i + 3]) > 40)
        assert coloured == 0, f"U+{ord(ch):X} drawn in colour: a system emoji font, not the shipped one"
        assert _differing(alpha[ch], alpha[MISSING]) > 60, f"U+{ord(ch):X} drawn as tofu"
        assert _differing(alpha[ch], alpha[" "]) > 60, f"U+{ord(ch):X} not drawn"
    for one, two in itertools.pairwise(NEW_EMOJI + SYMBOL):
        assert _differing(alpha[one], alpha[two]) > 60, (one, two)
