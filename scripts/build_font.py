"""Build the CJK font StreetPatrol ships: a subset of Noto Sans CJK SC, plus its licence.

Flutter web ignores system fonts and Pillow needs a font file for the photo watermark, so the app carries
one font file that both read: ``assets/fonts/NotoSansSC-StreetPatrol.otf`` (CFF outlines, OpenType).

Source: the face named exactly "Noto Sans CJK SC" inside Debian's ``NotoSansCJK-Regular.ttc``
(package fonts-noto-cjk). The collection's first face is the Japanese one, and a loose match on "CJK SC"
also hits "Noto Sans Mono CJK SC" (monospaced Latin), so the face is chosen by its exact family name.

Coverage: ASCII, Latin-1, General Punctuation, CJK Symbols and Punctuation, Halfwidth and Fullwidth Forms,
every GB2312 hanzi, every other character the GBK codec encodes that the face has (the rarer hanzi of
names and shop signs, plus GBK's symbols), all of CJK Extension A (GB 18030-2022 level 2) and every
supplementary-plane hanzi the face maps (Extension B and later: 2,365 in Noto CJK 2.004, e.g. 𠮷 and 𡈼).

Four fallback fonts follow it (``patrollog.style.FALLBACK_FONTS``), registered after it on every surface
(app, PDF, dashboard):

* ``StreetPatrolHan.otf``: every hanzi of Hanazono Mincho (HanaMinA/HanaMinB, Debian fonts-hanazono, SIL
  OFL) that the main font lacks: ~59,000, nearly all of CJK Extensions B to F (the few Unicode added after
  Hanazono's 2017 release excepted), the tail of the Unified block and the compatibility ideographs. The
  build prints the coverage per block. ``assets/fonts/fallback-hanzi.txt`` stays as a check: every name
  hanzi listed there must be in one of the hanzi fonts, or the build stops.
  Size: Hanazono's outlines are straight-line polygons (~190 points a glyph), 30.1 MB as TrueType ``glyf``
  without hints; the same outlines as CFF charstrings (an exact conversion: lines only) are 25.5 MB, and
  with CFF subroutines (``cffsubr``, AFDKO's ``tx``: the strokes repeat across glyphs) 18.6 MB. Hints,
  vertical metrics and layout tables are left out: the app, the PDF and the web page set horizontal text
  and do not hint. Building it takes some minutes (``tx`` subroutinises 59,000 glyphs).
* ``StreetPatrolHanExt.otf``: every hanzi of BabelStone Han (Debian fonts-babelstone-han 15.0.5, Arphic
  Public License) that the two fonts before it lack: CJK Extension G (3,041, with 𰻝 U+30EDD biáng of the
  Shaanxi noodle shops), Extension H (2,271), the 14 Extension B/C hanzi Unicode 13-15 added after
  Hanazono's release and the newest of the Unified block and Extension A (5,357 in all). Ideographs only:
  some of BabelStone's symbol glyphs are CC-BY-SA. A font of its own, so the OFL Han fallback never takes
  APL glyphs; its licence file (``StreetPatrolHanExt-LICENSE.txt``) carries the APL text and how and when
  it was changed (the APL's clause 2a; the font's description record says it too). Built like the Han
  fallback: CFF outlines with subroutines, 2.2 MB (4.2 MB as unhinted TrueType). ``--han-ext-only``
  builds just this font against the two already in ``--out`` (a minute, where the whole build takes many).
  Prerequisite: ``apt-get install fonts-babelstone-han``, or on a machine where it should not be
  installed ``apt-get download fonts-babelstone-han && dpkg-deb -x fonts-babelstone-han_*.deb DIR`` and
  ``--babelstone DIR/usr/share/fonts/truetype/babelstone/BabelStoneHan.ttf`` (the licence is read from
  ``DIR/usr/share/doc/fonts-babelstone-han``).
* ``StreetPatrolHanRare.otf``: every CJK ideograph the three hanzi fonts before it still lack, from Jigmo
  by Kamichi Koichi (release 20250912, CC0 1.0: public domain): the rest of Extensions G (1,894) and H
  (1,921), all of Extension I (622, Unicode 15.1) and Extension J (4,298, Unicode 17.0), and the 18
  hanzi Unicode 17.0 added to Extensions C and E (8,753 in all). Jigmo's glyphs are read from the
  chunked webfonts of https://github.com/frankslin/jigmo-webfonts (``scripts/jigmo_chunks.py``: plain
  Jigmo files only, glyph data only), converted to CFF with subroutines like the other Han fallbacks
  (3.5 MB; about 5.0 MB as the source's unhinted TrueType; 1.8 MB without Extension J), with the Han
  fallback's vertical metrics (Hanazono is Jigmo's designer's earlier font, 1,024 units per em, the same
  ink box), so a line holding both does not jump. Its licence and provenance file
  (``StreetPatrolHanRare-LICENSE.txt``) carries the CC0 legal code (Debian's
  ``/usr/share/common-licenses/CC0-1.0``). ``--han-rare-only --jigmo DIR`` builds just this font
  against the three already in ``--out``; ``DIR`` is a clone (or bare git directory) of that repository,
  or a directory of its ``jigmo-XXXXXX.woff2`` files.
* ``StreetPatrolEmoji.ttf``: Google's monochrome Noto Emoji (SIL OFL 1.1, release 3.006: every emoji of
  Unicode Emoji 17.0), the code points the main font lacks, TrueType outlines that fpdf2, Pillow and
  Flutter all draw (Noto Color Emoji is 11 MB of bitmaps), with its ligatures for ZWJ sequences, skin
  tones and flags (``scripts/emoji_font.py``). ``--emoji-only --noto-emoji TTF`` builds just the two emoji
  fonts; ``TTF`` is ``NotoEmoji_400Regular.ttf`` of the npm package ``@expo-google-fonts/noto-emoji`` or
  the Google Fonts repository's variable ``NotoEmoji[wght].ttf`` (instanced at weight 400).
* ``StreetPatrolSymbols.ttf``: the pictographs and symbols of Symbola (Debian fonts-symbola, "free for any
  use") that Noto Emoji lacks (mahjong and domino tiles, cards, dingbats, arrows), the last fallback.

Size: the subsetter follows GSUB closure by default, and Noto CJK's ``locl`` and vertical features pull in
the Japanese/Korean/Traditional variants of thousands of hanzi (11 MB). The app sets horizontal zh-Hans
text only, so ``locl`` and the vertical features are dropped (6 MB); hints and the other layout features
(kerning, proportional forms, Latin ligatures) stay. Run with ``--compare`` to measure the alternatives.

    .venv/bin/pip install cffsubr   # build-time only
    .venv/bin/python scripts/build_font.py --jigmo DIR --noto-emoji TTF [--source TTC] [--out DIR] \
        [--compare] [--babelstone TTF] [--symbola TTF]
    .venv/bin/python scripts/build_font.py --han-ext-only [--babelstone TTF]
    .venv/bin/python scripts/build_font.py --han-rare-only --jigmo DIR
    .venv/bin/python scripts/build_font.py --emoji-only --noto-emoji TTF [--symbola TTF]
"""

from __future__ import annotations

import argparse
import gzip
import io
import sys
import textwrap
import time
import unicodedata
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import emoji_font  # scripts/emoji_font.py (this script's directory is on sys.path)
import jigmo_chunks  # scripts/jigmo_chunks.py
from fontTools import subset
from fontTools.ttLib import TTCollection, TTFont, newTable

ROOT = Path(__file__).resolve().parents[1]
SOURCE = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
COPYRIGHT_FILE = Path("/usr/share/doc/fonts-noto-cjk/copyright")
FACE = "Noto Sans CJK SC"
FAMILY = "Noto Sans SC StreetPatrol"
POSTSCRIPT = "NotoSansSC-StreetPatrol"
OUT_NAME = f"{POSTSCRIPT}.otf"
RARE = (0x3402, 0x20BB7, 0x4DAE, 0x2123C)  # 㐂, 𠮷, 䶮, 𡈼: must be in the main font
HANAZONO = (
    Path("/usr/share/fonts/truetype/hanazono/HanaMinA.ttf"),
    Path("/usr/share/fonts/truetype/hanazono/HanaMinB.ttf"),
)
SYMBOLA = Path("/usr/share/fonts/truetype/ancient-scripts/Symbola_hint.ttf")
HAN_NAME = "StreetPatrolHan.otf"
#: BabelStone Han (Debian fonts-babelstone-han 15.0.5; ``--babelstone`` takes an extracted .deb's copy).
BABELSTONE = Path("/usr/share/fonts/truetype/babelstone/BabelStoneHan.ttf")
HAN_EXT_NAME = "StreetPatrolHanExt.otf"
HAN_EXT_LICENCE = "StreetPatrolHanExt-LICENSE.txt"
#: When this build's change to BabelStone Han was made (the APL's clause 2a asks each modified file to
#: say how and when it was changed); a fixed date, so the same source gives the same bytes.
HAN_EXT_MODIFIED = "2026-12-07"
#: What the third font must have, or the build stops: 𰻝 𰻞 (U+30EDD/U+30EDE, biáng, Extension G, the
#: Shaanxi noodle shops' sign), the 14 Extension B/C hanzi Unicode 13-15 added after Hanazono's release,
#: and one of Extension H (U+31350).
HAN_EXT_REQUIRED = frozenset({0x30EDD, 0x30EDE, 0x31350, *range(0x2A6D7, 0x2A6E0), *range(0x2B735, 0x2B73A)})
HAN_RARE_NAME = "StreetPatrolHanRare.otf"
HAN_RARE_LICENCE = "StreetPatrolHanRare-LICENSE.txt"
CC0_TEXT = Path("/usr/share/common-licenses/CC0-1.0")
HANZI_LIST = ROOT / "assets" / "fonts" / "fallback-hanzi.txt"
VERTICAL_AND_LOCALE = {"locl", "vert", "vrt2", "vkna", "vrtr", "valt", "vhal", "vkrn", "vpal"}

BLOCKS = {
    "ASCII": range(0x20, 0x7F),
    "Latin-1": range(0xA0, 0x100),
    "General Punctuation": range(0x2000, 0x2070),
    "CJK Symbols and Punctuation": range(0x3000, 0x3040),
    "Halfwidth and Fullwidth Forms": range(0xFF00, 0xFFF0),
}


#: The blocks of CJK ideographs (Unicode 17.0), for the coverage table the build prints.
HAN_BLOCKS = {
    "CJK Unified Ideographs": range(0x4E00, 0xA000),
    "Extension A": range(0x3400, 0x4DC0),
    "Compatibility Ideographs": range(0xF900, 0xFB00),
    "Extension B": range(0x20000, 0x2A6E0),
    "Extension C": range(0x2A700, 0x2B740),
    "Extension D": range(0x2B740, 0x2B820),
    "Extension E": range(0x2B820, 0x2CEB0),
    "Extension F": range(0x2CEB0, 0x2EBF0),
    "Extension I": range(0x2EBF0, 0x2EE60),
    "Compatibility Supplement": range(0x2F800, 0x2FA20),
    "Extension G": range(0x30000, 0x31350),
    "Extension H": range(0x31350, 0x323B0),
    "Extension J": range(0x323B0, 0x33480),
}


#: Ideographs Unicode 15.0 to 17.0 assigned that an older Python's data (3.11: Unicode 14) does not know:
#: U+2B739 (Extension C, 15.0), Extension H (4,192, 15.0), Extension I (622, 15.1), and Unicode 17.0's
#: U+2B73A-2B73F (Extension C), U+2CEA2-2CEAD (Extension E) and Extension J (4,298, U+323B0-33479).
NEWER_THAN_PYTHON = frozenset(
    {
        *range(0x2B739, 0x2B740), *range(0x2CEA2, 0x2CEAE), *range(0x2EBF0, 0x2EE5E),
        *range(0x31350, 0x323B0), *range(0x323B0, 0x3347A),
    }
)  # fmt: skip


def han_table(main: set[int], fallback: set[int], labels: tuple[str, str] = ("main font", "fallback")) -> str:
    """Per block: ideographs assigned (this Python's Unicode data), in the main font, in the fallback, in
    neither."""
    import unicodedata

    rows = [
        f"| block | assigned (Unicode {unicodedata.unidata_version}, 17.0) | {labels[0]} | {labels[1]} "
        "| neither |",
        "|---|---:|---:|---:|---:|",
    ]
    for block, cps in HAN_BLOCKS.items():
        assigned = assigned_han(cps) | (set(cps) & (main | fallback))
        rows.append(
            f"| {block} | {len(assigned):,} | {len(assigned & main):,} | {len(assigned & fallback):,} "
            f"| {len(assigned - main - fallback):,} |"
        )
    return "\n".join(rows)


def assigned_han(cps: range) -> set[int]:
    """The ideographs of ``cps`` assigned by Unicode 17.0: this Python's data plus ``NEWER_THAN_PYTHON``."""
    import unicodedata

    return {cp for cp in cps if unicodedata.category(chr(cp)) == "Lo"} | (set(cps) & NEWER_THAN_PYTHON)


def is_hanzi(cp: int) -> bool:
    return (
        0x3400 <= cp <= 0x4DBF  # Extension A
        or 0x4E00 <= cp <= 0x9FFF  # URO
        or 0xF900 <= cp <= 0xFAFF  # compatibility ideographs
        or 0x20000 <= cp <= 0x3FFFF  # Extensions B and later
    )


def encodes(cp: int, codec: str) -> bool:
    try:
        chr(cp).encode(codec)
    except UnicodeEncodeError:
        return False
    return True


def load_face(source: Path, face: str = FACE) -> TTFont:
    """The face of ``source`` (a .ttc) whose family name (name ID 1) is exactly ``face``."""
    collection = TTCollection(str(source))
    for font in collection.fonts:
        if font["name"].getDebugName(1) == face:
            return font
    names = [f["name"].getDebugName(1) for f in collection.fonts]
    raise SystemExit(f"{source}: no face named {face!r} (faces: {names})")


def coverage(cmap: Iterable[int]) -> dict[str, set[int]]:
    """The code points to keep, by group, restricted to what the face maps."""
    have = set(cmap)
    groups = {name: set(block) & have for name, block in BLOCKS.items()}
    groups["GB2312 hanzi"] = {cp for cp in have if is_hanzi(cp) and encodes(cp, "gb2312")}
    groups["other GBK hanzi"] = {
        cp for cp in have if is_hanzi(cp) and encodes(cp, "gbk") and cp not in groups["GB2312 hanzi"]
    }
    kept = set().union(*groups.values())
    groups["other GBK symbols"] = {cp for cp in have if cp > 0x7F and encodes(cp, "gbk")} - kept
    groups["CJK Extension A"] = {cp for cp in have if 0x3400 <= cp <= 0x4DBF}
    groups["Extension B and later (the face's)"] = {cp for cp in have if cp >= 0x20000 and is_hanzi(cp)}
    return groups


def options(*, drop_locale: bool = True, hinting: bool = True) -> subset.Options:
    opts = subset.Options()
    if drop_locale:
        opts.layout_features = [f for f in opts.layout_features if f not in VERTICAL_AND_LOCALE]
    opts.hinting = hinting
    opts.name_IDs = ["*"]  # keep the copyright, licence and licence URL records
    opts.notdef_outline = True  # a missing glyph shows as a box, never as silent nothing
    return opts


def make_subset(source: Path, unicodes: set[int], opts: subset.Options) -> TTFont:
    font = load_face(source)
    subsetter = subset.Subsetter(opts)
    subsetter.populate(unicodes=unicodes)
    subsetter.subset(font)
    return font


def rename(font: TTFont) -> None:
    """A modified version gets its own name, so it is never mistaken for the full Noto face."""
    name = font["name"]
    version = name.getDebugName(5) or ""
    for record in list(name.names):
        if record.nameID in (16, 17, 21, 22):
            name.removeNames(nameID=record.nameID)
    name.setName(FAMILY, 1, 3, 1, 0x409)
    name.setName("Regular", 2, 3, 1, 0x409)
    name.setName(f"{version.split(';')[0]};{POSTSCRIPT}", 3, 3, 1, 0x409)
    name.setName(FAMILY, 4, 3, 1, 0x409)
    name.setName(f"{version}; StreetPatrol subset", 5, 3, 1, 0x409)
    name.setName(POSTSCRIPT, 6, 3, 1, 0x409)
    name.names = [r for r in name.names if r.platformID == 3]
    cff = font["CFF "].cff
    cff.fontNames = [POSTSCRIPT]
    top = cff.topDictIndex[0]
    top.FamilyName = FAMILY
    top.FullName = FAMILY


def fallback_hanzi(path: Path = HANZI_LIST) -> set[int]:
    """The hanzi listed in ``fallback-hanzi.txt`` (anything after ``#`` on a line is a comment)."""
    text = "".join(line.split("#", 1)[0] for line in path.read_text(encoding="utf-8").splitlines())
    return {ord(ch) for ch in text if is_hanzi(ord(ch))}


def rename_truetype(
    font: TTFont, family: str, postscript: str, note: str, version: str | None = None
) -> None:
    """Give a modified fallback its own name (Windows records only)."""
    name = font["name"]
    version = (name.getDebugName(5) or "") if version is None else version
    for record in list(name.names):
        if record.nameID in (1, 2, 3, 4, 6, 16, 17, 21, 22):
            name.removeNames(nameID=record.nameID)
    name.setName(family, 1, 3, 1, 0x409)
    name.setName("Regular", 2, 3, 1, 0x409)
    name.setName(f"{version};{postscript}", 3, 3, 1, 0x409)
    name.setName(family, 4, 3, 1, 0x409)
    name.setName(f"{version}; {note}", 5, 3, 1, 0x409)
    name.setName(postscript, 6, 3, 1, 0x409)
    name.names = [r for r in name.names if r.platformID == 3]


def han_wanted(main_cmap: Iterable[int], sources: Iterable[Path] = HANAZONO) -> set[int]:
    """Every hanzi (``is_hanzi``) some Hanazono face maps and the main font lacks."""
    have: set[int] = set()
    for source in sources:
        with TTFont(str(source), lazy=True) as font:
            have |= {cp for cp in font.getBestCmap() if is_hanzi(cp)}
    return have - set(main_cmap)


def _charstring(glyphs: Any, name: str, advance: int) -> tuple[Any, int]:
    """A glyph of a TrueType glyph set as a Type 2 charstring (Hanazono's outlines are straight lines
    only, so the conversion is exact), and its left side bearing."""
    from fontTools.pens.boundsPen import BoundsPen
    from fontTools.pens.t2CharStringPen import T2CharStringPen

    pen = T2CharStringPen(advance, glyphs)
    glyphs[name].draw(pen)
    bounds = BoundsPen(glyphs)
    glyphs[name].draw(bounds)
    return pen.getCharString(), int(bounds.bounds[0]) if bounds.bounds else 0


def build_han_fallback(wanted: set[int], sources: Iterable[Path] = HANAZONO) -> tuple[bytes, set[int]]:
    """StreetPatrolHan.otf: the ``wanted`` hanzi, each from the first Hanazono face that has it, as one
    CFF-outline OpenType font with subroutines (module docstring: ~40% smaller than the same outlines
    as TrueType ``glyf``, lossless). No hinting, no vertical metrics, no layout tables: the app, the PDF
    and the web page set horizontal text and do not hint."""
    note = "StreetPatrol subset of Hanazono Mincho"
    return build_cff_fallback(
        wanted, sources, family="StreetPatrol Han", postscript="StreetPatrolHan", note=note
    )


def build_cff_fallback(
    wanted: set[int],
    sources: Iterable[Path | TTFont],
    *,
    family: str,
    postscript: str,
    note: str,
    extra_names: dict[int, str] | None = None,
    metrics_from: TTFont | None = None,
    version: str | None = None,
) -> tuple[bytes, set[int]]:
    """A fallback font of the ``wanted`` code points, each from the first of ``sources`` that has it, as
    one CFF-outline OpenType font with subroutines, named ``family``/``postscript`` (``note`` in its
    version string) plus the ``extra_names`` records (name ID → text). TrueType's quadratic curves become
    cubic ones (exact up to rounding to whole font units). No hinting, no vertical metrics, no layout
    tables: the app, the PDF and the web page set horizontal text and do not hint. The ascent, descent
    and line gap are the first source's, or ``metrics_from``'s (a font of the same units per em)."""
    import cffsubr  # build-time only (pip install cffsubr: AFDKO's tx)
    from fontTools.fontBuilder import FontBuilder

    faces = [source if isinstance(source, TTFont) else TTFont(str(source)) for source in sources]
    first = faces[0]
    lines = metrics_from or first
    if lines["head"].unitsPerEm != first["head"].unitsPerEm:
        raise SystemExit(f"{family}: the vertical metrics' font differs in units per em")
    upm = first["head"].unitsPerEm
    if any(face["head"].unitsPerEm != upm for face in faces):
        raise SystemExit(f"the faces of {family} differ in units per em")
    order = [".notdef"]
    charstrings: dict[str, Any] = {}
    metrics: dict[str, tuple[int, int]] = {}
    cmap: dict[int, str] = {}
    notdef_advance = first["hmtx"][".notdef"][0]
    charstrings[".notdef"], lsb = _charstring(first.getGlyphSet(), ".notdef", notdef_advance)
    metrics[".notdef"] = (notdef_advance, lsb)
    left = set(wanted)
    for face in faces:
        glyphs, best = face.getGlyphSet(), face.getBestCmap()
        for cp in sorted(left & set(best)):
            name = f"uni{cp:04X}" if cp <= 0xFFFF else f"u{cp:05X}"
            advance = face["hmtx"][best[cp]][0]
            charstrings[name], lsb = _charstring(glyphs, best[cp], advance)
            metrics[name] = (advance, lsb)
            order.append(name)
            cmap[cp] = name
        left -= set(best)
    if left:
        raise SystemExit(f"no fallback source has {', '.join(chr(cp) for cp in sorted(left))}")

    builder = FontBuilder(upm, isTTF=False)
    builder.setupGlyphOrder(order)
    builder.setupCharacterMap(cmap)
    builder.setupCFF(postscript, {"FullName": family, "FamilyName": family}, charstrings, {})
    builder.setupHorizontalMetrics(metrics)
    hhea = lines["hhea"]
    builder.setupHorizontalHeader(ascent=hhea.ascent, descent=hhea.descent, lineGap=hhea.lineGap)
    os2, line_os2 = first["OS/2"], lines["OS/2"]
    builder.setupOS2(
        version=4, usWeightClass=os2.usWeightClass, fsType=os2.fsType, achVendID=os2.achVendID,
        sTypoAscender=line_os2.sTypoAscender, sTypoDescender=line_os2.sTypoDescender,
        sTypoLineGap=line_os2.sTypoLineGap, usWinAscent=line_os2.usWinAscent,
        usWinDescent=line_os2.usWinDescent, panose=os2.panose,
        ulCodePageRange1=os2.ulCodePageRange1, ulCodePageRange2=os2.ulCodePageRange2,
    )  # fmt: skip
    builder.font["OS/2"].recalcUnicodeRanges(builder.font)
    builder.setupPost()
    builder.setupNameTable({"copyright": first["name"].getDebugName(0) or ""})
    builder.font["head"].fontRevision = first["head"].fontRevision
    builder.font["head"].created = first["head"].created
    builder.font["head"].modified = first["head"].modified
    if version is None:
        version = first["name"].getDebugName(5) or ""
    rename_truetype(builder.font, family, postscript, note, version=version)
    for name_id, text in (extra_names or {}).items():
        builder.font["name"].setName(text, name_id, 3, 1, 0x409)
    cffsubr.subroutinize(builder.font)
    return to_bytes(builder.font), wanted - left


def han_ext_wanted(have: Iterable[int], source: Path = BABELSTONE) -> set[int]:
    """Every hanzi (``is_hanzi``: ideographs only, never BabelStone's symbols, some of which are CC-BY-SA)
    that BabelStone Han maps and the fonts before it (``have``: the main font and the Han fallback) lack."""
    with TTFont(str(source), lazy=True) as font:
        return {cp for cp in font.getBestCmap() if is_hanzi(cp)} - set(have)


def build_han_ext_fallback(wanted: set[int], source: Path = BABELSTONE) -> tuple[bytes, set[int]]:
    """StreetPatrolHanExt.otf: the ``wanted`` hanzi of BabelStone Han (Arphic Public License), a font of
    its own (the OFL Han fallback never takes APL glyphs), built like the Han fallback (CFF outlines
    with subroutines: 2.2 MB, where the same glyphs as unhinted TrueType are 4.2 MB). It keeps the
    source's copyright and licence records and says how and when it was changed (APL clause 2a)."""
    with TTFont(str(source), lazy=True) as font:
        names = font["name"]
        version = names.getDebugName(5) or ""
        licence, licence_url = names.getDebugName(13) or "", names.getDebugName(14) or ""
    if "ARPHIC PUBLIC LICENSE" not in licence:
        raise SystemExit(f"{source}: its licence record is not the Arphic Public License: check the source")
    notice = (
        f"Modified {HAN_EXT_MODIFIED} by StreetPatrol (scripts/build_font.py): BabelStone Han "
        f"({version.split(';')[0]}) subset to {len(wanted):,} hanzi the other StreetPatrol fonts lack, "
        "outlines converted from TrueType to CFF, hints, vertical metrics and layout tables removed."
    )
    return build_cff_fallback(
        wanted, [source], family="StreetPatrol Han Ext", postscript="StreetPatrolHanExt",
        note="StreetPatrol subset of BabelStone Han", extra_names={10: notice, 13: licence, 14: licence_url},
    )  # fmt: skip


def build_han_rare_fallback(
    wanted: set[int], source: jigmo_chunks.Source, metrics_from: TTFont
) -> tuple[bytes, set[int]]:
    """StreetPatrolHanRare.otf: the ``wanted`` ideographs of Jigmo (CC0), read from ``source``'s chunks,
    built like the other Han fallbacks (CFF with subroutines), with ``metrics_from``'s (the Han
    fallback's) ascent, descent and line gap."""
    faces = source.fonts(wanted)
    if not faces:
        raise SystemExit(
            f"{source.origin}: no Jigmo chunk holds any of the {len(wanted):,} wanted ideographs"
        )
    have = set().union(*(face.getBestCmap() for face in faces))
    taken = wanted & have
    cc0 = "Jigmo by Kamichi Koichi (https://kamichikoichi.github.io/jigmo/): CC0 1.0, public domain"
    notice = (
        f"StreetPatrol (scripts/build_font.py) subset of Jigmo 20250912 to {len(taken):,} ideographs the "
        "other StreetPatrol fonts lack; outlines converted from TrueType to CFF; hints removed; the Han "
        "fallback's vertical metrics."
    )
    return build_cff_fallback(
        taken, faces, family="StreetPatrol Han Rare", postscript="StreetPatrolHanRare",
        note="StreetPatrol subset of Jigmo", version="Version 20250912", metrics_from=metrics_from,
        extra_names={
            0: cc0, 10: notice, 13: "CC0 1.0 Universal (public domain dedication)",
            14: "https://creativecommons.org/publicdomain/zero/1.0/",
        },
    )  # fmt: skip


def write_han_rare(out: Path, have: set[int], jigmo: Path) -> tuple[bytes, set[int]]:
    """Build StreetPatrolHanRare.otf (every assigned ideograph of ``HAN_BLOCKS`` not in ``have``, from
    Jigmo) and its licence into ``out``. Stops when Jigmo lacks one: nothing is left uncovered silently."""
    source = jigmo_chunks.read(jigmo)
    wanted = set().union(*(assigned_han(cps) for cps in HAN_BLOCKS.values())) - set(have)
    with TTFont(str(out / HAN_NAME), lazy=True) as han:
        font, kept = build_han_rare_fallback(wanted, source, han)
    lacking = wanted - kept
    if lacking:
        raise SystemExit(
            f"Jigmo lacks {len(lacking):,} ideographs no other font has, e.g. "
            f"{', '.join(f'U+{cp:X}' for cp in sorted(lacking)[:10])}"
        )
    by_block = {block: len(kept & set(cps)) for block, cps in HAN_BLOCKS.items()}
    (out / HAN_RARE_NAME).write_bytes(font)
    text = jigmo_chunks.licence(
        font_name=HAN_RARE_NAME, source=source, kept_by_block=by_block, total=len(kept),
        cc0=CC0_TEXT.read_text(encoding="utf-8"),
    )  # fmt: skip
    (out / HAN_RARE_LICENCE).write_text(text, encoding="utf-8")
    print(f"{HAN_RARE_NAME}: {len(font):,} bytes, {len(kept):,} code points")
    print(han_table(have, kept, ("earlier fonts", HAN_RARE_NAME)))
    return font, kept


def package_docs(source: Path, package: str = "fonts-babelstone-han") -> Path:
    """The Debian doc directory of the package that holds ``source`` (``/usr/share/fonts/…`` installed, or
    the same tree under the directory an extracted .deb went to)."""
    return source.parents[3] / "doc" / package


def apl_licence(source: Path, kept: set[int]) -> str:
    """StreetPatrolHanExt-LICENSE.txt: what the font is, where it comes from and how and when it was
    changed, the source package's copyright statement, then the Arphic Public License as the source font
    carries it (its licence record, unaltered)."""
    docs = package_docs(source)
    lines = (docs / "copyright").read_text(encoding="utf-8").splitlines()
    if "Files: *" not in lines:
        raise SystemExit(f"{docs / 'copyright'}: no 'Files: *' stanza")
    files = lines[lines.index("Files: *") :]
    stanza = files[: files.index("")] if "" in files else files
    with gzip.open(docs / "changelog.Debian.gz", "rt", encoding="utf-8") as changelog:
        package = changelog.readline().split(")")[0].replace(" (", " ")  # e.g. fonts-babelstone-han 15.0.5-2
    with TTFont(str(source), lazy=True) as font:
        notice = font["name"].getDebugName(0) or ""
        version = (font["name"].getDebugName(5) or "").split(";")[0]
        licence = font["name"].getDebugName(13) or ""
    if not licence.startswith("ARPHIC PUBLIC LICENSE"):
        raise SystemExit(f"{source}: its licence record is not the Arphic Public License")
    counts = ", ".join(
        f"{block} {len(kept & set(cps)):,}" for block, cps in HAN_BLOCKS.items() if kept & set(cps)
    )
    paragraphs = [
        f"StreetPatrol Han Ext ({HAN_EXT_NAME}) is a modified version of BabelStone Han, {version} "
        f"(https://www.babelstone.co.uk/Fonts/Han.html), from the Debian package {package} "
        f"({source.name}), made by scripts/build_font.py. The source font's copyright notice: {notice}",
        f"Changed on {HAN_EXT_MODIFIED}: subset to the {len(kept):,} CJK ideographs (hanzi) the other "
        f"StreetPatrol fonts lack ({counts}); outlines converted from TrueType to CFF; hints, vertical "
        "metrics and layout tables removed; renamed. The font's description record says the same.",
        "Only hanzi are taken. Debian's copyright statement (below) says some of BabelStone Han's symbol "
        "glyphs derive from Christopher J. Fynn's Wikimedia Commons images under CC-BY-SA 3.0/4.0: this "
        "font holds no symbol glyph, only ideographs, which the Arphic Public License covers. The modified "
        "font is Freely Available (clause 2b) in this repository, and scripts/build_font.py makes it again "
        "from the Debian package.",
    ]
    head = "\n\n".join(textwrap.fill(p, 100) for p in paragraphs)
    stanza_text = "\n".join(stanza)
    return (
        f"{head}\n\nThe source package's copyright statement:\n\n{stanza_text}\n\n"
        f"The Arphic Public License, as the source font carries it:\n\n{licence.rstrip()}\n"
    )


def write_emoji(out: Path, main_cmap: set[int], noto: Path, symbola: Path = SYMBOLA) -> set[int]:
    """Build StreetPatrolEmoji.ttf (Noto Emoji) and StreetPatrolSymbols.ttf (Symbola's rest) and their
    licences into ``out``; print their sizes and the coverage of Unicode Emoji by version. Returns the code
    points of both."""
    for path, hint in ((noto, "--noto-emoji"), (symbola, "--symbola")):
        if not path.is_file():
            raise SystemExit(f"{path}: missing ({hint}; module docstring)")
    emoji, emoji_kept, source = emoji_font.build_emoji(noto, main_cmap)
    symbols, symbols_kept = emoji_font.build_symbols(symbola, emoji_kept | main_cmap)
    (out / emoji_font.EMOJI_NAME).write_bytes(emoji)
    ofl = emoji_font.ofl_body(COPYRIGHT_FILE)
    (out / emoji_font.EMOJI_LICENCE).write_text(
        emoji_font.emoji_licence(noto, source, emoji_kept, ofl), encoding="utf-8"
    )
    (out / emoji_font.SYMBOLS_NAME).write_bytes(symbols)
    (out / emoji_font.SYMBOLS_LICENCE).write_text(
        emoji_font.symbols_licence(symbols_kept, Path("/usr/share/doc/fonts-symbola/copyright")),
        encoding="utf-8",
    )
    for name, data, kept in (
        (emoji_font.EMOJI_NAME, emoji, emoji_kept), (emoji_font.SYMBOLS_NAME, symbols, symbols_kept),
    ):  # fmt: skip
        zipped = emoji_font.zipped_size(data)
        print(f"{name}: {len(data):,} bytes ({zipped:,} zipped), {len(kept):,} code points")
    versions = emoji_font.unicode_emoji()
    sets = {f"Unicode Emoji {v}, single emoji": cps["basic"] for v, cps in versions.items()}
    sets |= {
        f"Unicode Emoji {v}, every code point": cps["basic"] | cps["sequence"] for v, cps in versions.items()
    }
    sets["Symbola's blocks (Unicode 14)"] = {
        cp for block in emoji_font.SYMBOL_BLOCKS for cp in block if unicodedata.category(chr(cp)) != "Cn"
    }
    fonts = {"main font": main_cmap, "emoji": emoji_kept, "symbols": symbols_kept}
    print(emoji_font.emoji_table(fonts, sets))
    return emoji_kept | symbols_kept


def copied_licence(what: str, copyright_file: Path) -> str:
    """A fallback's licence file: what it is, then Debian's copyright file of its source package."""
    return f"{what}\nMade by scripts/build_font.py. The source package's copyright and licence:\n\n" + (
        copyright_file.read_text(encoding="utf-8")
    )


def to_bytes(font: TTFont) -> bytes:
    font.recalcTimestamp = False  # keep the source's dates: the same source gives the same bytes
    out = io.BytesIO()
    font.save(out)
    return out.getvalue()


def licence_text(font: TTFont, copyright_file: Path = COPYRIGHT_FILE) -> str:
    """OFL.txt: the font's copyright notice followed by the SIL OFL 1.1 text from Debian's copyright file."""
    lines = copyright_file.read_text(encoding="utf-8").splitlines()
    start = len(lines) - 1 - lines[::-1].index("License: SIL-1.1")  # the stand-alone licence paragraph
    body: list[str] = []
    for line in lines[start + 1 :]:
        if not line.startswith(" "):
            break
        body.append("" if line.strip() == "." else line[1:])
    if not any("SIL OPEN FONT LICENSE Version 1.1" in line for line in body):
        raise SystemExit(f"{copyright_file}: no SIL OFL 1.1 text found")
    notice = font["name"].getDebugName(0) or ""
    trademark = font["name"].getDebugName(7) or ""
    head = textwrap.dedent(
        f"""\
        Copyright {notice}
        {trademark}

        {FAMILY} is a subset of {FACE} (Noto CJK, https://github.com/googlefonts/noto-cjk),
        made by scripts/build_font.py. It is a Modified Version under the licence below.

        This Font Software is licensed under the SIL Open Font License, Version 1.1.
        This license is copied below, and is also available with a FAQ at: https://openfontlicense.org

        """
    )
    return head + "\n".join(body).rstrip() + "\n"


def to_truetype(otf: bytes) -> bytes:
    """The same subset with quadratic (glyf) outlines, for the size comparison only."""
    from fontTools.pens.cu2quPen import Cu2QuPen
    from fontTools.pens.ttGlyphPen import TTGlyphPen

    font = TTFont(io.BytesIO(otf))
    glyphs = font.getGlyphSet()
    glyf = newTable("glyf")
    glyf.glyphOrder = font.getGlyphOrder()
    glyf.glyphs = {}
    for gname in glyf.glyphOrder:
        pen = TTGlyphPen(glyphs)
        glyphs[gname].draw(Cu2QuPen(pen, 1.0, reverse_direction=True))
        glyf[gname] = pen.glyph()
    font["glyf"] = glyf
    font["loca"] = newTable("loca")
    for tag in ("CFF ", "VORG"):
        if tag in font:
            del font[tag]
    maxp = font["maxp"]
    maxp.tableVersion = 0x00010000
    for attr in (
        "maxTwilightPoints", "maxStorage", "maxFunctionDefs", "maxInstructionDefs",
        "maxStackElements", "maxSizeOfInstructions", "maxComponentElements",
    ):  # fmt: skip
        setattr(maxp, attr, 0)
    maxp.maxZones = 1
    post = font["post"]
    post.formatType, post.extraNames, post.mapping = 2.0, [], {}
    font["head"].glyphDataFormat = 0
    font.sfntVersion = "\0\1\0\0"
    return to_bytes(font)


def woff2_size(otf: bytes) -> int | None:
    try:
        import brotli  # noqa: F401  (fontTools needs it for woff2)
    except ImportError:
        return None
    font = TTFont(io.BytesIO(otf))
    font.flavor = "woff2"
    return len(to_bytes(font))


def compare(source: Path, groups: dict[str, set[int]], chosen: bytes) -> list[tuple[str, str]]:
    """Sizes of the alternatives considered (slow: each is a full subset run)."""
    everything = set().union(*groups.values())
    gb2312_only = everything - groups["other GBK hanzi"] - groups["other GBK symbols"]
    rows = [("chosen: GBK set, no locl/vertical, hinted, OTF", f"{len(chosen):,}")]
    cases = [
        ("GB2312 set only, no locl/vertical, hinted, OTF", gb2312_only, options()),
        ("GBK set, default features (locl+vertical closure), OTF", everything, options(drop_locale=False)),
        ("GBK set, no locl/vertical, unhinted, OTF", everything, options(hinting=False)),
    ]
    for label, unicodes, opts in cases:
        rows.append((label, f"{len(to_bytes(make_subset(source, unicodes, opts))):,}"))
    rows.append(("chosen set as TTF (cu2qu, unhinted)", f"{len(to_truetype(chosen)):,}"))
    w2 = woff2_size(chosen)
    rows.append(("chosen set as woff2 (Pillow may not read it)", f"{w2:,}" if w2 else "brotli missing"))
    return rows


def write_han_ext(out: Path, have: set[int], source: Path) -> tuple[bytes, set[int]]:
    """Build StreetPatrolHanExt.otf (the hanzi of ``source`` not in ``have``) and its licence into ``out``;
    stops when it lacks one of ``HAN_EXT_REQUIRED``."""
    if not source.is_file():
        raise SystemExit(
            f"{source}: missing. apt-get install fonts-babelstone-han, or apt-get download "
            "fonts-babelstone-han && dpkg-deb -x fonts-babelstone-han_*.deb DIR, then --babelstone "
            "DIR/usr/share/fonts/truetype/babelstone/BabelStoneHan.ttf"
        )
    font, kept = build_han_ext_fallback(han_ext_wanted(have, source), source)
    lacking = HAN_EXT_REQUIRED - kept - have
    if lacking:
        raise SystemExit(
            f"{source} lacks {', '.join(f'U+{cp:X}' for cp in sorted(lacking))}: check the source"
        )
    (out / HAN_EXT_NAME).write_bytes(font)
    (out / HAN_EXT_LICENCE).write_text(apl_licence(source, kept), encoding="utf-8")
    print(f"{HAN_EXT_NAME}: {len(font):,} bytes, {len(kept):,} code points")
    print(han_table(have, kept, ("earlier fonts", HAN_EXT_NAME)))
    return font, kept


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=SOURCE)
    parser.add_argument("--out", type=Path, default=ROOT / "assets" / "fonts")
    parser.add_argument("--compare", action="store_true", help="also measure the alternatives (slow)")
    parser.add_argument(
        "--babelstone", type=Path, default=BABELSTONE, help="BabelStoneHan.ttf (installed or extracted .deb)"
    )
    parser.add_argument(
        "--han-ext-only", action="store_true",
        help=f"build only {HAN_EXT_NAME}, against the main and Han fonts already in --out",
    )  # fmt: skip
    parser.add_argument(
        "--jigmo", type=Path,
        help="Jigmo's chunked webfonts: a clone or bare git directory of "
        "github.com/frankslin/jigmo-webfonts, or a directory of its jigmo-XXXXXX.woff2 files",
    )  # fmt: skip
    parser.add_argument(
        "--han-rare-only", action="store_true",
        help=f"build only {HAN_RARE_NAME}, against the three hanzi fonts already in --out",
    )  # fmt: skip
    parser.add_argument(
        "--noto-emoji", type=Path,
        help="Noto Emoji: NotoEmoji_400Regular.ttf of the npm package @expo-google-fonts/noto-emoji, or "
        "the Google Fonts repository's variable NotoEmoji[wght].ttf",
    )  # fmt: skip
    parser.add_argument("--symbola", type=Path, default=SYMBOLA, help="Symbola_hint.ttf (fonts-symbola)")
    parser.add_argument(
        "--emoji-only", action="store_true",
        help=f"build only {emoji_font.EMOJI_NAME} and {emoji_font.SYMBOLS_NAME}, against --out's main font",
    )  # fmt: skip
    args = parser.parse_args(argv)
    if args.noto_emoji is None and not (args.han_ext_only or args.han_rare_only):
        parser.error("--noto-emoji TTF is required (npm pack @expo-google-fonts/noto-emoji: 400Regular)")
    if args.jigmo is None and not (args.han_ext_only or args.emoji_only):
        parser.error("--jigmo DIR is required (a clone of https://github.com/frankslin/jigmo-webfonts)")

    started = time.monotonic()
    have: set[int] = set()
    if args.emoji_only:
        with TTFont(str(args.out / OUT_NAME), lazy=True) as shipped:
            write_emoji(args.out, set(shipped.getBestCmap()), args.noto_emoji, args.symbola)
        print(f"({time.monotonic() - started:.0f} s)")
        return 0
    if args.han_rare_only:
        for file in (OUT_NAME, HAN_NAME, HAN_EXT_NAME):
            with TTFont(str(args.out / file), lazy=True) as shipped:
                have |= set(shipped.getBestCmap())
        write_han_rare(args.out, have, args.jigmo)
        print(f"({time.monotonic() - started:.0f} s)")
        return 0
    if args.han_ext_only:
        for file in (OUT_NAME, HAN_NAME):
            with TTFont(str(args.out / file), lazy=True) as shipped:
                have |= set(shipped.getBestCmap())
        listed = fallback_hanzi() - have - han_ext_wanted(have, args.babelstone)
        if listed:
            raise SystemExit(f"no shipped font has {''.join(chr(cp) for cp in sorted(listed))}")
        write_han_ext(args.out, have, args.babelstone)
        print(f"({time.monotonic() - started:.0f} s)")
        return 0
    face = load_face(args.source)
    groups = coverage(face.getBestCmap())
    unicodes = set().union(*groups.values())
    font = make_subset(args.source, unicodes, options())
    rename(font)
    data = to_bytes(font)
    missing = unicodes - set(TTFont(io.BytesIO(data)).getBestCmap())
    if not set(RARE) <= unicodes:
        raise SystemExit(f"the face lacks one of {''.join(map(chr, RARE))}: check the source")
    if missing:
        raise SystemExit(f"subset lost {len(missing)} code points, e.g. {sorted(missing)[:5]}")

    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / OUT_NAME).write_bytes(data)
    (args.out / "OFL.txt").write_text(licence_text(face), encoding="utf-8")

    main_cmap = set(TTFont(io.BytesIO(data)).getBestCmap())
    wanted = han_wanted(main_cmap)
    ext_wanted = han_ext_wanted(main_cmap | wanted, args.babelstone)
    listed = fallback_hanzi() - main_cmap - wanted - ext_wanted
    if listed:
        raise SystemExit(f"neither Hanazono nor BabelStone has {''.join(chr(cp) for cp in sorted(listed))}")
    han, han_kept = build_han_fallback(wanted)
    (args.out / HAN_NAME).write_bytes(han)
    (args.out / "StreetPatrolHan-LICENSE.txt").write_text(
        copied_licence(
            f"StreetPatrol Han ({HAN_NAME}) is a subset of Hanazono Mincho (HanaMinA/HanaMinB), converted\n"
            "to CFF outlines: a Modified Version used under the SIL Open Font License 1.1 (the package's\n"
            "second licence).",
            Path("/usr/share/doc/fonts-hanazono/copyright"),
        ),
        encoding="utf-8",
    )
    _, ext_kept = write_han_ext(args.out, main_cmap | han_kept, args.babelstone)
    write_han_rare(args.out, main_cmap | han_kept | ext_kept, args.jigmo)
    write_emoji(args.out, main_cmap, args.noto_emoji, args.symbola)
    print(f"{HAN_NAME}: {len(han):,} bytes, {len(han_kept):,} code points")
    print(han_table(main_cmap, han_kept))

    print(
        f"{args.out / OUT_NAME}: {len(data):,} bytes, {len(font.getGlyphOrder()):,} glyphs, "
        f"{len(unicodes):,} code points ({time.monotonic() - started:.0f} s)"
    )
    print("| group | code points |\n|---|---|")
    for group, cps in groups.items():
        print(f"| {group} | {len(cps):,} |")
    if args.compare:
        print("\n| alternative | bytes |\n|---|---|")
        for label, size in compare(args.source, groups, data):
            print(f"| {label} | {size} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
