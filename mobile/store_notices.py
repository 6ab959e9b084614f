"""The officer's warning-notice books on the phone (``notice_books``, ``notice_used``; migration
``m009_notice_books``; rules in ``enforcement.noticebook``).

HQ sends each officer's open books on a pull (``sync.protocol.NoticeBookSet``): ``apply_notice_books``
replaces what the phone held for him. A case saved with a 警告通知书 marks its number used on this phone in
the case's own transaction (``mark_notice_used``, called by ``Store.save_case``), so a number is used once
even before HQ hears of the case; ``next_notice_no`` is the first number of the officer's books that
neither HQ nor this phone has seen used ("" when none is left: the officer types the number). Books are per
officer: on a squad phone shared by two officers, one's numbers never fill the other's case.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime

from enforcement.model import Case, Disposition
from enforcement.noticebook import NoticeBook, next_unused, parse_notice_no, remaining
from mobile.store_core import StoreCore


def mark_notice_used(conn: sqlite3.Connection, case: Case) -> None:
    """Inside ``save_case``'s transaction: the case's warning-notice number, if any, is used."""
    number = case.warning_notice_no.strip()
    if number and Disposition(case.disposition) is Disposition.WARNING_NOTICE:
        conn.execute(
            "INSERT INTO notice_used (number, badge, case_no, used_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (number) DO NOTHING",
            (number, case.officer_badge, case.case_no, datetime.now(UTC).isoformat()),
        )


class NoticeStore(StoreCore):
    def apply_notice_books(self, badge: str, books: Sequence[NoticeBook]) -> None:
        """HQ's whole word on the officer's open books (oldest first): they replace what was held."""
        now = datetime.now(UTC).isoformat()
        with self._write() as conn:
            conn.execute("DELETE FROM notice_books WHERE badge = ?", (badge,))
            conn.executemany(
                "INSERT INTO notice_books (book_id, badge, series, first_no, last_no, width, used, ord,"
                " received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (book_id) DO UPDATE SET badge = excluded.badge, used = excluded.used,"
                " ord = excluded.ord, received_at = excluded.received_at",
                [
                    (b.book_id, badge, b.series, b.first, b.last, b.width, json.dumps(sorted(b.used)), n, now)
                    for n, b in enumerate(books)
                ],
            )

    def notice_books(self, badge: str) -> list[NoticeBook]:
        rows = self._rows(
            "SELECT book_id, series, first_no, last_no, width, used FROM notice_books WHERE badge = ?"
            " ORDER BY ord",
            (badge,),
        )
        return [
            NoticeBook(
                str(r[0]), str(r[1]), int(r[2]), int(r[3]), int(r[4]), badge, frozenset(json.loads(r[5]))
            )
            for r in rows
        ]

    def notice_numbers_used(self) -> set[str]:
        """Every number this phone put on a saved case (any officer's: a number is one paper notice)."""
        return {str(r[0]) for r in self._rows("SELECT number FROM notice_used")}

    def next_notice_no(self, badge: str) -> str:
        """The officer's next unused notice number, "" when his books (if any) are used up."""
        return next_unused(self.notice_books(badge), self.notice_numbers_used())

    def notice_numbers_left(self, badge: str) -> int:
        """Unused numbers left in the officer's books on this phone."""
        used = self.notice_numbers_used()
        total = 0
        for book in self.notice_books(badge):
            own = {n for text in used if (n := _number(text, book)) is not None}
            total += remaining(book, own)
        return total


def _number(text: str, book: NoticeBook) -> int | None:
    number = parse_notice_no(text, book.series)
    return number if number is not None and book.holds(number) else None
