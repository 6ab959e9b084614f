"""User-facing text in the two UI languages, and the error base that carries it.

Every error a user can see (a form field, a bad photo, a refused sync record) derives from
``LocalizedError`` and carries its message in Chinese (default) and English, plus a stable ``code`` and the
``field`` it concerns. Layers define their own subclasses next to the code that raises them, so no single
string file becomes a merge point; the UI shows ``err.message(lang)``.
"""

from __future__ import annotations

from typing import Literal

Lang = Literal["zh", "en"]
LANGS: tuple[Lang, ...] = ("zh", "en")
DEFAULT_LANG: Lang = "zh"


class LocalizedError(Exception):
    """An error with a message for the user in each UI language.

    ``str(err)`` is the English text (logs, tracebacks); ``err.message("zh")`` is what the officer reads.
    """

    code: str = "error"

    def __init__(self, en: str, *, zh: str, field: str | None = None, code: str | None = None) -> None:
        super().__init__(en)
        self.en = en
        self.zh = zh
        self.field = field
        if code is not None:
            self.code = code

    def message(self, lang: Lang = DEFAULT_LANG) -> str:
        return self.zh if lang == "zh" else self.en


def pick(lang: Lang, zh: str, en: str) -> str:
    return zh if lang == "zh" else en


# -- what a person sees of a text ------------------------------------------------------------------------
#: Unicode's default-ignorable code points (DerivedCoreProperties.txt, Default_Ignorable_Code_Point):
#: invisible by definition (zero-width space and joiners, BOM, word joiner, bidi controls, soft hyphen,
#: Hangul fillers, variation selectors, tags). Pasted from a chat app or a file, they make two names that
#: look the same differ, or a required field look filled while nothing shows.
IGNORABLE_RANGES: tuple[tuple[int, int], ...] = (
    (0x00AD, 0x00AD), (0x034F, 0x034F), (0x061C, 0x061C), (0x115F, 0x1160), (0x17B4, 0x17B5),
    (0x180B, 0x180F), (0x200B, 0x200F), (0x202A, 0x202E), (0x2060, 0x206F), (0x3164, 0x3164),
    (0xFE00, 0xFE0F), (0xFEFF, 0xFEFF), (0xFFA0, 0xFFA0), (0xFFF0, 0xFFF8), (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A), (0xE0000, 0xE0FFF),
)  # fmt: skip
#: Default-ignorables that belong to the character before them (so are kept at the end of a text): the
#: zero-width joiner of an emoji sequence, variation selectors (❤️, 葛󠄀), the combining grapheme joiner,
#: Mongolian variation selectors and the tags of a subdivision flag.
_KEPT_AT_END = frozenset(
    {0x034F, 0x180B, 0x180C, 0x180D, 0x180F, 0x200D, *range(0xFE00, 0xFE10), *range(0xE0020, 0xE0080),
     *range(0xE0100, 0xE01F0)}
)  # fmt: skip


def ignorable(ch: str) -> bool:
    """Whether ``ch`` is a default-ignorable code point (``IGNORABLE_RANGES``)."""
    code = ord(ch)
    return code >= 0xAD and any(first <= code <= last for first, last in IGNORABLE_RANGES)


def trimmed(text: str) -> str:
    """``text`` without whitespace (U+3000 and no-break spaces too) or invisible characters at either end:
    ``str.strip`` that also takes a zero-width space, BOM or bidi mark pasted with a name. The inside is
    kept as written, and so is an emoji's or hanzi's joiner or variation selector at the end."""
    start, end = 0, len(text)
    while start < end and (text[start].isspace() or ignorable(text[start])):
        start += 1
    while end > start and (
        text[end - 1].isspace() or (ignorable(text[end - 1]) and ord(text[end - 1]) not in _KEPT_AT_END)
    ):
        end -= 1
    return text[start:end]


def visible_length(text: str) -> int:
    """The characters of ``text`` that show: neither whitespace nor default-ignorable."""
    return sum(1 for ch in text if not ch.isspace() and not ignorable(ch))


def blank(text: str) -> bool:
    """Whether nothing of ``text`` shows (empty, spaces, invisible characters only)."""
    return visible_length(text) == 0
