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
