"""Warning-notice books (警告通知书编号册): ranges of printed notice numbers HQ assigns to one officer.

A book is a *series* (the printed prefix, e.g. ``JG-2026-``) and a range of numbers ``first..last``,
written zero-padded to ``width`` digits after the prefix (``JG-2026-000123``). HQ never assigns the same
number of a series twice (``hq.notices``); the phone fills the officer's next unused number from his own
books (``mobile.store_notices``). Used by HQ, the phone and the wire models, so it reads no storage.

A number typed by hand is matched to a series by its prefix and read by its digits, so ``JG-2026-123`` and
``JG-2026-000123`` are the same notice (``canonical``).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass

#: A series: 1-20 characters, no white space, not ending in a digit (where the number starts is plain).
SERIES_PATTERN = r"^[^\s]{0,19}[^\s0-9]$"
SERIES_RE = re.compile(SERIES_PATTERN)
#: Digits after the prefix.
MIN_WIDTH, MAX_WIDTH = 1, 10
#: The largest notice number of any series (fits ``MAX_WIDTH`` digits).
MAX_NUMBER = 10**MAX_WIDTH - 1
#: Numbers in one book (paper books hold 25-100; HQ may hand out a longer run, never longer than this).
MAX_BOOK_SIZE = 1000
# A number is at most 20 + 10 = 30 characters: it fits a case's 32 (``TEXT_LIMITS["warning_notice_no"]``).


@dataclass(frozen=True, slots=True)
class NoticeBook:
    """One book of one officer: numbers ``first..last`` of ``series``; ``used`` those known used."""

    book_id: str
    series: str
    first: int
    last: int
    width: int
    badge: str
    used: frozenset[int] = frozenset()

    @property
    def size(self) -> int:
        return self.last - self.first + 1

    def holds(self, number: int) -> bool:
        return self.first <= number <= self.last

    def text(self, number: int) -> str:
        return format_notice_no(self.series, number, self.width)


def series_problem(series: str, width: int) -> tuple[str, str] | None:
    """Why ``series`` / ``width`` cannot make notice numbers (zh, en), or None."""
    if not SERIES_RE.match(series):
        return (
            "编号前缀须为 1–20 个字符，不含空格，且不能以数字结尾",
            "a series prefix must be 1-20 characters without spaces, not ending in a digit",
        )
    if not MIN_WIDTH <= width <= MAX_WIDTH:
        return (f"编号位数须为 {MIN_WIDTH}–{MAX_WIDTH}", f"the width must be {MIN_WIDTH}-{MAX_WIDTH} digits")
    return None


def range_problem(first: int, last: int, width: int) -> tuple[str, str] | None:
    """Why ``first..last`` is no book of ``width`` digits (zh, en), or None."""
    if first < 0 or last < first:
        return (
            "编号范围无效：起始编号须不大于结束编号",
            "invalid range: the first number must not exceed the last",
        )
    if last >= 10**width:
        return (f"结束编号 {last} 超出 {width} 位", f"the last number {last} does not fit {width} digits")
    if last - first + 1 > MAX_BOOK_SIZE:
        return (f"一册最多 {MAX_BOOK_SIZE} 个编号", f"a book holds at most {MAX_BOOK_SIZE} numbers")
    return None


def format_notice_no(series: str, number: int, width: int) -> str:
    return f"{series}{number:0{width}d}"


def parse_notice_no(text: str, series: str) -> int | None:
    """The number of ``text`` in ``series`` (its digits after the prefix, any padding), else None."""
    text = text.strip()
    if not text.startswith(series):
        return None
    digits = text[len(series) :]
    if not digits or not digits.isascii() or not digits.isdigit() or len(digits) > MAX_WIDTH:
        return None
    return int(digits)


def match_series(text: str, series: Iterable[str]) -> tuple[str, int] | None:
    """The (series, number) ``text`` belongs to among ``series`` (the longest prefix that fits), else None."""
    for candidate in sorted(series, key=len, reverse=True):
        number = parse_notice_no(text, candidate)
        if number is not None:
            return candidate, number
    return None


def next_unused(books: Sequence[NoticeBook], used: Collection[str]) -> str:
    """The first number, in book order, neither used at HQ (``book.used``) nor among ``used`` (numbers on
    this phone's cases, as written); "" when every book is used up (or there is none)."""
    taken: dict[str, set[int]] = {}
    for text in used:
        for book in books:
            number = parse_notice_no(text, book.series)
            if number is not None:
                taken.setdefault(book.series, set()).add(number)
    for book in books:
        own = taken.get(book.series, set())
        for number in range(book.first, book.last + 1):
            if number not in book.used and number not in own:
                return book.text(number)
    return ""


def remaining(book: NoticeBook, used: Collection[int] = ()) -> int:
    """Numbers of ``book`` neither in ``book.used`` nor in ``used``."""
    gone = {n for n in (*book.used, *used) if book.holds(n)}
    return book.size - len(gone)
