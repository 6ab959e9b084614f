"""The emoji fonts of ``scripts/build_font.py --emoji-only``: ``StreetPatrolEmoji.ttf`` from Google's
monochrome **Noto Emoji** (SIL OFL 1.1) and ``StreetPatrolSymbols.ttf``, the pictographic symbols of
Symbola that Noto Emoji lacks.

Noto Emoji (https://fonts.google.com/noto/specimen/Noto+Emoji) is the outline companion of Noto Color
Emoji: one monochrome glyph for every emoji of Unicode Emoji 17.0 (release 3.006; every code point of every
sequence of emoji-test.txt), drawn as TrueType outlines that fpdf2, Pillow's FreeType, Flutter and Chromium
all read, with a ``GSUB`` table that joins ZWJ sequences, skin tones, flags and keycaps where the text
is shaped (Chromium, Flutter). Its source is either the variable font of the Google Fonts repository
(``ofl/notoemoji/NotoEmoji[wght].ttf``: instanced here at ``wght`` 400, the weight of the main font) or
the static Regular that Google Fonts serves (``NotoEmoji_400Regular.ttf`` of the npm package
``@expo-google-fonts/noto-emoji``, which bundles it: font data only). Kept: every code point the font maps
(but its control and private-use ones) that the main font lacks (the main font keeps its digits,
``#``, ``*``, ``©``, ``®``, ``♀``, ``♂`` …, so a page of plain digits never fetches the emoji font),
the ligatures among them, unhinted (the source has no hints), without vertical metrics.

Symbola (Debian fonts-symbola, "free for any use") was the emoji fallback before: it stops at Unicode 9
for emoji. What it has and Noto Emoji lacks (mahjong and domino tiles, playing cards, dingbats,
arrows, geometric shapes, the non-emoji symbols of the pictograph blocks) stays, as the last fallback.
Measured (the build prints the first): Noto Emoji first and Symbola's rest after it is 1.20 MB (0.74 MB
zipped), Symbola whole and Noto Emoji's rest after it 1.24 MB (0.77 MB): the first is smaller and every emoji
then has Noto Emoji's look.
"""

from __future__ import annotations

import hashlib
import io
import textwrap
import unicodedata
from collections.abc import Iterable
from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTFont

EMOJI_NAME = "StreetPatrolEmoji.ttf"
EMOJI_LICENCE = "StreetPatrolEmoji-LICENSE.txt"
SYMBOLS_NAME = "StreetPatrolSymbols.ttf"
SYMBOLS_LICENCE = "StreetPatrolSymbols-LICENSE.txt"
#: The weight of the instance taken from a variable source (the main font, Noto Sans CJK SC, is Regular).
WEIGHT = 400
#: The blocks Symbola's glyphs are taken from (pictographs and symbols, as before).
SYMBOL_BLOCKS = (
    range(0x2600, 0x27C0),  # Miscellaneous Symbols, Dingbats
    range(0x2B00, 0x2C00),  # Miscellaneous Symbols and Arrows
    range(0x1F000, 0x1FB00),  # tiles, cards, enclosed, pictographs, emoticons, transport, supplemental
)
#: What Noto Emoji must have, or the build stops: 🥰 🧧 🧨 🧋 🫠 🫶 🥱 🛺 🪧 🫖 (Unicode 11-14), 🫨 (15.0),
#: 🫩 (16.0), 🫪 U+1FAEA (17.0), the joiner, the emoji variation selector and the skin-tone modifiers.
REQUIRED = frozenset(
    {
        0x1F970, 0x1F9E7, 0x1F9E8, 0x1F9CB, 0x1FAE0, 0x1FAF6, 0x1F971, 0x1F6FA, 0x1FAA7, 0x1FAD6,
        0x1FAE8, 0x1FAE9, 0x1FAEA, 0x200D, 0xFE0F, *range(0x1F3FB, 0x1F400),
    }
)  # fmt: skip
FAMILY = "StreetPatrol Emoji"
POSTSCRIPT = "StreetPatrolEmoji"


def load_noto_emoji(path: Path) -> TTFont:
    """Noto Emoji from ``path``: a static font as it is, a variable one instanced at ``WEIGHT``. Stops when
    the file is not Noto Emoji or lacks one of ``REQUIRED``."""
    from fontTools.varLib import instancer

    font = TTFont(str(path))
    family = font["name"].getDebugName(16) or font["name"].getDebugName(1)
    if family != "Noto Emoji":
        raise SystemExit(f"{path}: its family is {family!r}, not Noto Emoji")
    if "fvar" in font:
        font = instancer.instantiateVariableFont(font, {"wght": WEIGHT})
    lacking = REQUIRED - set(font.getBestCmap())
    if lacking:
        raise SystemExit(f"{path} lacks {', '.join(f'U+{cp:X}' for cp in sorted(lacking))}: an old release?")
    return font


def _options() -> subset.Options:
    opts = subset.Options()
    opts.hinting = False
    opts.name_IDs = ["*"]  # keep the copyright, licence and licence URL records
    opts.notdef_outline = True  # a missing glyph shows as a box, never as silent nothing
    opts.drop_tables += ["vhea", "vmtx", "STAT"]  # horizontal text only; one instance, no axes
    return opts


def _rename(font: TTFont, family: str, postscript: str, note: str) -> None:
    """A modified version gets its own name (Windows records only), never mistaken for the source."""
    name = font["name"]
    version = (name.getDebugName(5) or "").split(";")[0]
    for record in list(name.names):
        if record.nameID in (1, 2, 3, 4, 6, 16, 17, 21, 22, 25):
            name.removeNames(nameID=record.nameID)
    name.setName(family, 1, 3, 1, 0x409)
    name.setName("Regular", 2, 3, 1, 0x409)
    name.setName(f"{version};{postscript}", 3, 3, 1, 0x409)
    name.setName(family, 4, 3, 1, 0x409)
    name.setName(f"{version}; {note}", 5, 3, 1, 0x409)
    name.setName(postscript, 6, 3, 1, 0x409)
    name.names = [r for r in name.names if r.platformID == 3]


def _bytes(font: TTFont) -> bytes:
    font.recalcTimestamp = False  # keep the source's dates: the same source gives the same bytes
    out = io.BytesIO()
    font.save(out)
    return out.getvalue()


def build_emoji(source: Path, main_cmap: Iterable[int]) -> tuple[bytes, set[int], TTFont]:
    """StreetPatrolEmoji.ttf: every code point of Noto Emoji the main font lacks (with the ligatures among
    them) but its control characters and private-use ones (Google's legacy PUA emoji), unhinted, no
    vertical metrics. Returns the bytes, the code points kept and the source face."""
    source_font = load_noto_emoji(source)
    wanted = {cp for cp in source_font.getBestCmap() if unicodedata.category(chr(cp)) not in ("Cc", "Co")}
    wanted -= set(main_cmap)
    font = load_noto_emoji(source)
    subsetter = subset.Subsetter(_options())
    subsetter.populate(unicodes=wanted)
    subsetter.subset(font)
    _rename(font, FAMILY, POSTSCRIPT, "StreetPatrol subset of Noto Emoji")
    data = _bytes(font)
    kept = set(TTFont(io.BytesIO(data)).getBestCmap())
    if kept != wanted:
        raise SystemExit(f"the emoji subset lost {len(wanted - kept)} code points")
    return data, kept, source_font


def build_symbols(source: Path, emoji: Iterable[int]) -> tuple[bytes, set[int]]:
    """StreetPatrolSymbols.ttf: Symbola's glyphs of ``SYMBOL_BLOCKS`` that ``emoji`` (the emoji font's and
    the main font's code points) lacks."""
    font = TTFont(str(source))
    wanted = {cp for block in SYMBOL_BLOCKS for cp in block} & set(font.getBestCmap()) - set(emoji)
    opts = _options()
    opts.layout_features = ["*"]
    subsetter = subset.Subsetter(opts)
    subsetter.populate(unicodes=wanted)
    subsetter.subset(font)
    _rename(font, "StreetPatrol Symbols", "StreetPatrolSymbols", "StreetPatrol subset of Symbola")
    return _bytes(font), wanted


def ofl_body(copyright_file: Path) -> str:
    """The SIL OFL 1.1 text of a Debian copyright file's stand-alone ``License: SIL-1.1`` paragraph."""
    lines = copyright_file.read_text(encoding="utf-8").splitlines()
    start = len(lines) - 1 - lines[::-1].index("License: SIL-1.1")
    body: list[str] = []
    for line in lines[start + 1 :]:
        if not line.startswith(" "):
            break
        body.append("" if line.strip() == "." else line[1:])
    text = "\n".join(body).rstrip() + "\n"
    if "SIL OPEN FONT LICENSE Version 1.1" not in text:
        raise SystemExit(f"{copyright_file}: no SIL OFL 1.1 text found")
    return text


def emoji_licence(source: Path, source_font: TTFont, kept: set[int], ofl: str) -> str:
    """StreetPatrolEmoji-LICENSE.txt: what the font is, where it comes from (the source file's name, version
    and SHA-256) and how it was changed, then the SIL OFL 1.1."""
    names = source_font["name"]
    notice = names.getDebugName(0) or ""
    version = (names.getDebugName(5) or "").split(";")[0]
    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    static = "fvar" not in TTFont(str(source), lazy=True)
    paragraphs = [
        f"StreetPatrol Emoji ({EMOJI_NAME}) is a Modified Version of Noto Emoji, {version} "
        f"(https://github.com/googlefonts/noto-emoji, https://fonts.google.com/noto/specimen/Noto+Emoji), "
        f"made by scripts/build_font.py (scripts/emoji_font.py) from {source.name} (SHA-256 {digest}): "
        + (
            "the Regular (400) static instance Google Fonts serves, as the npm package "
            "@expo-google-fonts/noto-emoji bundles it."
            if static
            else f"the variable font of the Google Fonts repository, instanced at wght {WEIGHT}."
        ),
        f"Changed: subset to the {len(kept):,} code points it maps that the StreetPatrol main font lacks "
        "(with the ligatures among them); vertical metrics and the STAT table removed; renamed "
        '"StreetPatrol Emoji", so it is never taken for the source font.',
        f"The source font's copyright notice: {notice}",
    ]
    head = "\n\n".join(textwrap.fill(p, 100) for p in paragraphs)
    return (
        f"{head}\n\nThis Font Software is licensed under the SIL Open Font License, Version 1.1.\n"
        f"This license is copied below, and is also available with a FAQ at: https://openfontlicense.org\n\n{ofl}"
    )


def symbols_licence(kept: set[int], copyright_file: Path) -> str:
    """StreetPatrolSymbols-LICENSE.txt: what the font is, then Debian's copyright file of fonts-symbola."""
    what = (
        f"StreetPatrol Symbols ({SYMBOLS_NAME}) is a subset of Symbola by George Douros: its {len(kept):,} "
        f"pictographs and symbols that StreetPatrol Emoji ({EMOJI_NAME}, Noto Emoji) lacks."
    )
    return f"{what}\nMade by scripts/build_font.py. The source package's copyright and licence:\n\n" + (
        copyright_file.read_text(encoding="utf-8")
    )


def zipped_size(data: bytes) -> int:
    """``data``'s size in a zip archive at level 9 (what an app bundle, an APK, costs)."""
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("font", data)
    return len(out.getvalue())


def emoji_table(cps_by_font: dict[str, set[int]], emoji_sets: dict[str, set[int]]) -> str:
    """For each emoji set (e.g. the code points of Unicode Emoji 15.0's sequences): how many, and how many
    each font (in order, the first that has it) covers, and none."""
    fonts = list(cps_by_font)
    rows = [
        "| set | code points | " + " | ".join(fonts) + " | none |",
        "|---|---:|" + "---:|" * (len(fonts) + 1),
    ]
    for label, cps in emoji_sets.items():
        left, counts = set(cps), []
        for font in fonts:
            counts.append(len(left & cps_by_font[font]))
            left -= cps_by_font[font]
        rows.append(
            f"| {label} | {len(cps):,} | " + " | ".join(f"{n:,}" for n in counts) + f" | {len(left):,} |"
        )
    return "\n".join(rows)


#: Unicode Emoji's code points by the version that first lists them (file header says what and whence).
UNICODE_EMOJI = Path(__file__).resolve().with_name("unicode_emoji.txt")


def unicode_emoji(path: Path = UNICODE_EMOJI) -> dict[str, dict[str, set[int]]]:
    """``{version: {"basic": ..., "sequence": ...}}``, each version's sets holding every earlier version's
    too (so ``["15.0"]["basic"]`` is every single-code-point emoji of Unicode Emoji 15.0)."""
    added: dict[str, dict[str, set[int]]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        version, kind, *cps = line.split()
        added.setdefault(version, {"basic": set(), "sequence": set()})[kind] |= {int(cp, 16) for cp in cps}
    out: dict[str, dict[str, set[int]]] = {}
    basic: set[int] = set()
    sequence: set[int] = set()
    for version in sorted(added, key=lambda v: tuple(map(int, v.split(".")))):
        basic |= added[version]["basic"]
        sequence |= added[version]["sequence"]
        out[version] = {"basic": set(basic), "sequence": set(sequence)}
    return out
