"""Names in rare characters through the day-log CSV as the leader's phone exports it for spreadsheet
programs: UTF-8 with a BOM (without one, Excel reads a CSV in the system's ANSI code page: GBK on a Chinese
Windows, which has no Extension B hanzi and no emoji), every name back intact from the bytes, and a name
that would be a formula neutralised."""

from __future__ import annotations

import csv
import io

from mobile.state.squad_export import render
from patrollog.csvlog import CASE_COLUMNS
from tests.patrollog.test_names_pdf import day_with_subjects

NAMES = (
    "𠀀𪚥",  # Extension B
    "𰻞𰻞面馆",  # Extension G
    "👨\u200d👩\u200d👧\u200d👦",  # a ZWJ sequence only
    "🇨🇳葛\U000e0100记",  # a flag, an ideographic variation selector
    "Jose\u0301",  # a combining accent as typed
    "مەمەت",  # right to left
)


def test_rare_names_survive_the_csv_a_spreadsheet_opens() -> None:
    data = render(day_with_subjects(*NAMES, '=HYPERLINK("http://x","y")'), "csv")
    assert data.startswith(b"\xef\xbb\xbf")  # the BOM: Excel then reads UTF-8
    text = data.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    header = next(i for i, row in enumerate(rows) if tuple(row) == CASE_COLUMNS)
    subjects = [row[CASE_COLUMNS.index("当事人")] for row in rows[header + 1 :] if row]
    for name in NAMES:
        assert name in subjects, name
    assert '\'=HYPERLINK("http://x","y")' in subjects  # opens as text, not a live link
