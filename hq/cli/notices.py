"""``streetpatrol-hq notice-books …`` (wired by ``hq.cli.main``): notice series and books (``hq.notices``).

    notice-books series SERIES --district D [--width 6] [--book-size 50] [--threshold 10] [--capacity N]
                        [--manual]        add a district's printed series or change it; HQ issues from
                                          it on pulls unless --manual
    notice-books assign --badge B --series S [--first N --last M]   a book to an officer: that exact
                                          range, else the series' next free run
    notice-books list [--badge B | --district D]                    books with numbers used / left

The CLI runs with the database's own rights (HQ's operators on the server); it is audited as ``--by``.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TextIO

from hq.notices import BookState, assign_book, book_states, save_series
from hq.storage.base import Storage
from hq.storage.notice_rows import NoticeBookRow


def add_notice_commands(commands: Any, add_storage_args: Callable[[argparse.ArgumentParser], None]) -> None:
    books = commands.add_parser("notice-books", help="warning-notice series and books 警告通知书编号册")
    actions = books.add_subparsers(dest="notice_command", required=True)
    series = actions.add_parser("series", help="add or change a district's series 编号系列")
    add_storage_args(series)
    series.add_argument("series", help="the printed prefix, e.g. JG-2026- 编号前缀")
    series.add_argument("--district", required=True)
    series.add_argument("--width", type=int, default=6, help="digits after the prefix 位数")
    series.add_argument("--book-size", type=int, default=50, help="numbers per book 每册编号数")
    series.add_argument("--threshold", type=int, default=10, help="issue a new book below this 补发阈值")
    series.add_argument("--capacity", type=int, help="the last number of the series 编号上限")
    series.add_argument("--manual", action="store_true", help="no books issued on pulls 不自动发放")
    series.add_argument("--by", default="cli")
    assign = actions.add_parser("assign", help="issue an officer a book 发放编号册")
    add_storage_args(assign)
    assign.add_argument("--badge", required=True)
    assign.add_argument("--series", required=True)
    assign.add_argument("--first", type=int)
    assign.add_argument("--last", type=int)
    assign.add_argument("--by", default="cli")
    listing = actions.add_parser("list", help="books and what is left 编号册列表")
    add_storage_args(listing)
    listing.add_argument("--badge")
    listing.add_argument("--district")


def _line(book: NoticeBookRow, used: int) -> str:
    left = book.last - book.first + 1 - used
    first, last = book.series + f"{book.first:0{book.width}d}", book.series + f"{book.last:0{book.width}d}"
    return f"{book.badge}\t{first}–{last}\t已用 used {used}\t剩余 left {left}\t{book.issued_by}"


def cmd_notice_books(
    args: argparse.Namespace, out: TextIO, open_storage: Callable[[argparse.Namespace], Storage]
) -> int:
    storage = open_storage(args)
    now = datetime.now(UTC)
    if args.notice_command == "series":
        with storage.transaction() as tx:
            row = save_series(
                tx, args.series, district=args.district, width=args.width, book_size=args.book_size,
                threshold=args.threshold, capacity=args.capacity, auto=not args.manual, at=now, by=args.by,
            )  # fmt: skip
        mode = "手工发放 manual" if not row.auto else f"自动补发 auto below {row.threshold}"
        print(
            f"编号系列 series {row.series}\t{row.district}\t{row.width} 位 digits\t"
            f"每册 per book {row.book_size}\t上限 up to {row.capacity}\t{mode}",
            file=out,
        )
        return 0
    if args.notice_command == "assign":
        with storage.transaction() as tx:
            book = assign_book(
                tx, badge=args.badge, series=args.series, first=args.first, last=args.last, at=now, by=args.by
            )
        print(f"已发放 issued: {_line(book, 0)}", file=out)
        return 0
    with storage.transaction(readonly=True) as tx:
        if args.badge:
            states = book_states(tx, args.badge)
        else:
            books = tx.notice_books(district=args.district)
            used = tx.notice_numbers_used(b.book_id for b in books)
            states = [BookState(b, frozenset(used.get(b.book_id, set()))) for b in books]
    for state in states:
        print(_line(state.book, len(state.used)), file=out)
    if not states:
        print("没有编号册 no books", file=out)
    return 0
