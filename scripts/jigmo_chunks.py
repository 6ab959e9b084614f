"""Jigmo's glyphs for ``scripts/build_font.py --han-rare-only``: read from a public repository of chunked
webfonts made from Jigmo (https://github.com/frankslin/jigmo-webfonts), a git directory (bare or not) or a
plain directory of its ``fonts/*.woff2`` files.

Jigmo, by Kamichi Koichi (https://kamichikoichi.github.io/jigmo/), is dedicated to the public domain
under CC0 1.0. The repository cuts Jigmo, Jigmo2 and Jigmo3 (release 20250912, as its README and build
settings say) into woff2 files of 256 code points each, named by the first code point in hex
(``fonts/jigmo-031300.woff2`` holds U+31300-313FF). Only these plain Jigmo files are read: never the
repository's ``jigmo-sc-*``/``jigmo-tc-*`` files (GlyphWiki-modified variants) nor its Source Han Serif
and Source Serif files, and none of its code (the fonts are data). What this reads is glyph outlines,
advance widths and the font's name records; the vertical metrics of the font built from them are the
Han fallback's (Hanazono Mincho: the same designer's, drawn from the same GlyphWiki data, 1,024 units per
em, every advance 1,024 and the same ink box; the chunks' own ``hhea`` descent is positive, not usable).
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from fontTools.ttLib import TTFont

#: A plain Jigmo chunk: ``jigmo-`` and six hex digits (the variants are ``jigmo-sc-``/``jigmo-tc-``).
CHUNK = re.compile(r"(?:^|/)jigmo-([0-9a-f]{6})\.woff2$")
#: The Jigmo faces a chunk may come from (its name ID 1).
FAMILIES = frozenset({"Jigmo", "Jigmo2", "Jigmo3"})
CHUNK_SPAN = 0x100


@dataclass(frozen=True)
class Source:
    """Where the chunks were read: ``origin`` (a path), ``commit`` (a git commit, or "" for a directory)
    and the chunks, by first code point."""

    origin: str
    commit: str
    chunks: dict[int, bytes]

    def fonts(self, wanted: set[int]) -> list[TTFont]:
        """The chunks that may hold one of ``wanted``, as fonts, in code-point order; each must be a plain
        Jigmo face with 1,024 units per em, or the build stops."""
        out = []
        for first, data in sorted(self.chunks.items()):
            if not any(first <= cp < first + CHUNK_SPAN for cp in wanted):
                continue
            font = TTFont(io.BytesIO(data))
            family = font["name"].getDebugName(1)
            if family not in FAMILIES or font["head"].unitsPerEm != 1024:
                raise SystemExit(
                    f"{self.origin}: chunk {first:06x} is {family!r} at {font['head'].unitsPerEm} units "
                    "per em, not a plain Jigmo face"
                )
            out.append(font)
        return out


def _git(repo: Path, *args: str) -> bytes:
    git = shutil.which("git")
    if git is None:
        raise SystemExit("git is needed to read the Jigmo chunks from a git directory")
    # the arguments are this script's own: a commit, a path listed by git itself
    return subprocess.run([git, "-C", str(repo), *args], check=True, capture_output=True).stdout  # noqa: S603


def read(path: Path) -> Source:
    """The plain Jigmo chunks under ``path``: a git directory (its HEAD), a work tree with ``.git``, or
    a directory holding the ``.woff2`` files (or a ``fonts/`` directory of them)."""
    if (path / ".git").exists() or ((path / "HEAD").is_file() and (path / "objects").is_dir()):
        git_dir = path
        commit = _git(git_dir, "rev-parse", "HEAD").decode().strip()
        names = _git(git_dir, "ls-tree", "-r", "--name-only", commit, "fonts").decode().splitlines()
        chunks = {
            int(m.group(1), 16): _git(git_dir, "show", f"{commit}:{name}")
            for name in names
            if (m := CHUNK.search(name))
        }
        return Source(str(path), commit, chunks)
    folder = path / "fonts" if (path / "fonts").is_dir() else path
    if not folder.is_dir():
        raise SystemExit(f"{path}: neither a git directory nor a directory of Jigmo .woff2 chunks")
    chunks = {int(m.group(1), 16): f.read_bytes() for f in folder.iterdir() if (m := CHUNK.search(f.name))}
    if not chunks:
        raise SystemExit(f"{folder}: no jigmo-XXXXXX.woff2 chunk")
    return Source(str(path), "", chunks)


def licence(*, font_name: str, source: Source, kept_by_block: dict[str, int], total: int, cc0: str) -> str:
    """The licence and provenance file beside the font: what it is, where its glyphs come from, what was
    taken and how it was changed, then the CC0 1.0 legal code (``cc0``)."""
    import textwrap

    where = f"at commit {source.commit}" if source.commit else "(a directory of its files)"
    counts = ", ".join(f"{block} {n:,}" for block, n in kept_by_block.items() if n)
    paragraphs = [
        f"StreetPatrol Han Rare ({font_name}) holds glyphs of Jigmo by Kamichi Koichi "
        "(https://kamichikoichi.github.io/jigmo/), release 20250912, which its author dedicated to the "
        "public domain under the Creative Commons CC0 1.0 Universal dedication (below). No permission "
        "is needed to use, change or redistribute it; this file records where the glyphs come from.",
        "Source of the glyphs: the chunked webfonts of https://github.com/frankslin/jigmo-webfonts "
        f"{where}, files fonts/jigmo-XXXXXX.woff2 (plain Jigmo, Jigmo2 and Jigmo3 cut into 256 code "
        "points each; that repository's jigmo-sc-*/jigmo-tc-* files are GlyphWiki-modified variants and "
        "were not used). Only glyph data was taken from it (outlines and advance widths), none of its "
        "code (MIT) and none of its other fonts.",
        f"What was taken: the {total:,} CJK ideographs that no other StreetPatrol font has ({counts}). "
        "Changes: outlines converted from TrueType to CFF (quadratic curves as cubic ones), hints and "
        "the vertical-writing metrics (vhea/vmtx) dropped, the Han fallback's (Hanazono Mincho, by the "
        "same designer) ascent, descent and line gap set, renamed. Made by scripts/build_font.py "
        "--han-rare-only.",
    ]
    head = "\n\n".join(textwrap.fill(p, 100) for p in paragraphs)
    return f"{head}\n\nThe CC0 1.0 Universal legal code:\n\n{cc0.rstrip()}\n"
