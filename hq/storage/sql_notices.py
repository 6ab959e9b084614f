"""Warning-notice books (shared SQL; rows in ``hq.storage.notice_rows``, rules in ``hq.notices``).

Ranges never overlap within a series: every issue first takes the series row's lock (an ``UPDATE`` of
its own row: PostgreSQL holds it to the commit, so a concurrent issue of the same series waits and then
sees this one's book; SQLite has one writer at a time anyway), then looks for the free range under it.
The table's unique first and last numbers per series are the net behind that: a range that slipped past
the lock would fail its ``INSERT`` (``StorageConflict``; the caller retries) rather than be handed out.
"""

# The column lists are module constants, never input: the f-strings build no SQL from data.
# ruff: noqa: S608

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from enforcement.model import new_id
from hq.storage.base import StorageConflict, StorageError
from hq.storage.notice_rows import NoticeBookRow, NoticeFlagRow, NoticeSeries
from hq.storage.sqlcore import Row, SqlBase

_SERIES = "series, district, width, book_size, threshold, capacity, auto, next_no, created_at, created_by"
_BOOK = "b.book_id, b.series, b.first_no, b.last_no, s.width, b.badge, b.district, b.issued_at, b.issued_by"
_BOOK_FROM = "notice_books b JOIN notice_series s ON s.series = b.series"


class NoticesMixin(SqlBase):
    def _series(self, row: Row) -> NoticeSeries:
        return NoticeSeries(
            str(row[0]), str(row[1]), int(row[2]), int(row[3]), int(row[4]), int(row[5]), bool(row[6]),
            int(row[7]), self._dt(row[8]), str(row[9]),
        )  # fmt: skip

    def _book(self, row: Row) -> NoticeBookRow:
        return NoticeBookRow(
            str(row[0]), str(row[1]), int(row[2]), int(row[3]), int(row[4]), str(row[5]), str(row[6]),
            self._dt(row[7]), str(row[8]),
        )  # fmt: skip

    # -- series
    def put_notice_series(self, series: NoticeSeries) -> None:
        """Add a series or change its settings (width and ``next_no`` of an existing one are kept)."""
        self._writable()
        self._x(
            f"INSERT INTO notice_series ({_SERIES}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (series) DO UPDATE SET district = excluded.district,"
            " book_size = excluded.book_size,"
            " threshold = excluded.threshold, capacity = excluded.capacity, auto = excluded.auto",
            (series.series, series.district, series.width, series.book_size, series.threshold,
             series.capacity, series.auto, series.next_no, self._ts(series.created_at), series.created_by),
        )  # fmt: skip

    def get_notice_series(self, series: str) -> NoticeSeries | None:
        row = self._one(f"SELECT {_SERIES} FROM notice_series WHERE series = ?", (series,))
        return self._series(row) if row else None

    def list_notice_series(self, district: str | None = None) -> list[NoticeSeries]:
        if district is None:
            rows = self._all(f"SELECT {_SERIES} FROM notice_series ORDER BY series")
        else:
            rows = self._all(
                f"SELECT {_SERIES} FROM notice_series WHERE district = ? ORDER BY series", (district,)
            )
        return [self._series(row) for row in rows]

    def lock_notice_series(self, series: str) -> NoticeSeries:
        self._writable()
        if self._x("UPDATE notice_series SET next_no = next_no WHERE series = ?", (series,)).rowcount != 1:
            raise StorageError(f"no notice series {series!r}", zh=f"没有编号系列 {series}", field="series")
        found = self.get_notice_series(series)
        assert found is not None
        return found

    def _overlapping(self, series: str, first: int, last: int) -> NoticeBookRow | None:
        row = self._one(
            f"SELECT {_BOOK} FROM {_BOOK_FROM} WHERE b.series = ? AND b.last_no >= ? AND b.first_no <= ?"
            " ORDER BY b.last_no DESC LIMIT 1",
            (series, first, last),
        )
        return self._book(row) if row else None

    def _insert_book(
        self,
        found: NoticeSeries,
        first: int,
        last: int,
        badge: str,
        district: str,
        at: datetime,
        by: str,
        *,
        next_run: bool = False,
    ) -> NoticeBookRow:
        book_id = new_id()
        inserted = self._x(
            "INSERT INTO notice_books"
            " (book_id, series, first_no, last_no, badge, district, issued_at, issued_by)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (book_id, found.series, first, last, badge, district, self._ts(at), by),
        ).rowcount
        if inserted != 1:  # the unique net: another session issued this range
            raise StorageConflict(
                f"numbers {first}-{last} of {found.series} were just issued by another session",
                zh=f"编号 {found.series}{first}–{last} 刚被他人发放，请重试",
                field="range",
            )
        if next_run or first <= found.next_no <= last:  # (a range issued far ahead by hand leaves the gap)
            self._x("UPDATE notice_series SET next_no = ? WHERE series = ?", (last + 1, found.series))
        book = self.get_notice_book(book_id)
        assert book is not None
        return book

    def add_notice_book(
        self, series: str, first: int, last: int, *, badge: str, district: str, at: datetime, by: str
    ) -> NoticeBookRow:
        """Issue exactly ``first..last``; ``StorageConflict`` when it overlaps a book of the series or
        lies beyond its capacity."""
        found = self.lock_notice_series(series)
        if last > found.capacity:
            raise StorageConflict(
                f"{series} ends at {found.capacity}",
                zh=f"编号系列 {series} 止于 {found.capacity}",
                field="range",
            )
        clash = self._overlapping(series, first, last)
        if clash is not None:
            raise StorageConflict(
                f"numbers {first}-{last} overlap book {clash.first}-{clash.last} of officer {clash.badge}",
                zh=f"编号 {first}–{last} 与队员 {clash.badge} 的编号册 {clash.first}–{clash.last} 重叠",
                field="range",
            )
        return self._insert_book(found, first, last, badge, district, at, by)

    def issue_notice_book(
        self, series: str, size: int, *, badge: str, district: str, at: datetime, by: str
    ) -> NoticeBookRow:
        """Issue the next free ``size`` numbers of ``series`` (after ``next_no``, past any book issued by
        hand); ``StorageConflict`` when the series has no such run left."""
        found = self.lock_notice_series(series)
        first = max(found.next_no, 1)
        while True:
            last = first + size - 1
            if last > found.capacity:
                raise StorageConflict(
                    f"series {series} is used up (ends at {found.capacity})",
                    zh=f"编号系列 {series} 已发放完毕（止于 {found.capacity}）",
                    field="series",
                )
            clash = self._overlapping(series, first, last)
            if clash is None:
                return self._insert_book(found, first, last, badge, district, at, by, next_run=True)
            first = clash.last + 1

    def get_notice_book(self, book_id: str) -> NoticeBookRow | None:
        row = self._one(f"SELECT {_BOOK} FROM {_BOOK_FROM} WHERE b.book_id = ?", (book_id,))
        return self._book(row) if row else None

    def notice_books(
        self, *, badge: str | None = None, district: str | None = None, limit: int = 1000
    ) -> list[NoticeBookRow]:
        """Books of an officer or a district, oldest issued first."""
        where, params = [], []
        for column, value in (("b.badge", badge), ("b.district", district)):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        rows = self._all(
            f"SELECT {_BOOK} FROM {_BOOK_FROM}{clause} ORDER BY b.issued_at, b.series, b.first_no LIMIT ?",
            (*params, limit),
        )
        return [self._book(row) for row in rows]

    def notice_book_at(self, series: str, number: int) -> NoticeBookRow | None:
        row = self._one(
            f"SELECT {_BOOK} FROM {_BOOK_FROM} WHERE b.series = ? AND b.first_no <= ? AND b.last_no >= ?",
            (series, number, number),
        )
        return self._book(row) if row else None

    # -- numbers seen on cases
    def use_notice_number(
        self, number: str, *, case_no: str, case_id: str, badge: str, book_id: str | None,
        seq_no: int | None, at: datetime,
    ) -> str:  # fmt: skip
        """Record ``number`` as used by ``case_no``; the case number holding it (another one: a duplicate)."""
        self._writable()
        self._x(
            "INSERT INTO notice_uses (number, case_no, case_id, badge, book_id, seq_no, used_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (number) DO NOTHING",
            (number, case_no, case_id, badge, book_id, seq_no, self._ts(at)),
        )
        row = self._one("SELECT case_no FROM notice_uses WHERE number = ?", (number,))
        assert row is not None
        if str(row[0]) == case_no:
            self._x("UPDATE notice_uses SET case_id = ? WHERE number = ?", (case_id, number))
        return str(row[0])

    def release_notice_numbers(self, case_no: str, *, keep: str = "") -> int:
        """Free the numbers ``case_no`` held except ``keep`` (an amendment changed or dropped its number)."""
        self._writable()
        return self._x("DELETE FROM notice_uses WHERE case_no = ? AND number <> ?", (case_no, keep)).rowcount

    def notice_numbers_used(self, book_ids: Iterable[str]) -> dict[str, set[int]]:
        """The numbers seen used on cases, by book."""
        ids = sorted(set(book_ids))
        found: dict[str, set[int]] = {book_id: set() for book_id in ids}
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            where, params = self._in("book_id", chunk)
            for row in self._all(f"SELECT book_id, seq_no FROM notice_uses WHERE {where}", params):
                found[str(row[0])].add(int(row[1]))
        return found

    # -- flags
    def add_notice_flag(self, flag: NoticeFlagRow) -> None:
        self._writable()
        self._x(
            "INSERT INTO notice_flags (case_id, case_no, number, flag, other_case_no, at)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (case_id) DO UPDATE SET flag = excluded.flag,"
            " number = excluded.number, other_case_no = excluded.other_case_no",
            (flag.case_id, flag.case_no, flag.number, flag.flag, flag.other_case_no, self._ts(flag.at)),
        )

    def notice_flags(self, case_ids: Iterable[str]) -> dict[str, NoticeFlagRow]:
        ids = sorted(set(case_ids))
        found: dict[str, NoticeFlagRow] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            where, params = self._in("case_id", chunk)
            for row in self._all(
                f"SELECT case_id, case_no, number, flag, other_case_no, at FROM notice_flags WHERE {where}",
                params,
            ):
                found[str(row[0])] = NoticeFlagRow(
                    str(row[0]), str(row[1]), str(row[2]), str(row[3]), str(row[4]), self._dt(row[5])
                )
        return found
