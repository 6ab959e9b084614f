"""Cells that a spreadsheet program will not run as a formula (CSV / formula injection).

Excel, LibreOffice and others take a cell that starts with ``=``, ``+``, ``-`` or ``@`` (and, after
some imports, one that starts with a tab or carriage return) as a formula: a subject named
``=HYPERLINK("http://x","y")`` becomes a live link, ``=cmd|…`` a DDE call. Every CSV that HQ or the phone
writes passes its rows through ``safe_row``: a *text* cell that starts with one of those characters (or
their full-width forms, which CJK input methods produce and some programs convert) gets a single quote
``'`` in front (OWASP's advice), so it opens as the text it is. Cells of *numeric* columns are left as
they are when they really are a number (``-33.900000`` stays a coordinate); anything else in such a column
is neutralised like text. ints and floats are numbers by type and never touched.

Pure (no I/O): both the phone and HQ import it (``patrollog.csvlog``, ``hq.export``).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable

#: First characters that make a spreadsheet cell a formula (with the full-width ＝ ＋ － ＠).
FORMULA_STARTS = frozenset("=+-@\t\r\uff1d\uff0b\uff0d\uff20")

_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def is_number_text(text: str) -> bool:
    """True for a plain decimal number (``-33.9``, ``200``, ``1e3``), nothing else."""
    return _NUMBER.fullmatch(text) is not None


def safe_text(text: str) -> str:
    """``text`` with a ``'`` in front when a spreadsheet would take it for a formula."""
    return "'" + text if text[:1] in FORMULA_STARTS else text


def safe_cell(value: object, *, numeric: bool = False) -> object:
    """One cell: numbers (int, float, and number text in a ``numeric`` column) as they are, text made
    safe (``safe_text``), None as the empty cell."""
    if value is None:
        return ""
    if isinstance(value, int | float):  # bool is an int: written as True/False, harmless
        return value
    text = value if isinstance(value, str) else str(value)
    if numeric and is_number_text(text):
        return text
    return safe_text(text)


def safe_row(values: Iterable[object], numeric: Collection[int] = ()) -> list[object]:
    """A CSV row made safe; ``numeric`` holds the indexes of the row's numeric columns."""
    return [safe_cell(value, numeric=index in numeric) for index, value in enumerate(values)]
