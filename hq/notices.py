"""Warning-notice books at HQ (警告通知书编号册, issue #18): who holds which printed numbers, and what a
pushed case's number says.

- **Series** (``NoticeSeries``): a district's printed numbers ``1..capacity`` of a prefix, ``width`` digits.
  Made and changed with ``streetpatrol-hq notice-books series`` (``hq.cli.notices``).
- **Books**: a range of a series issued to one officer, by hand (``notice-books assign`` / ``POST
  /v1/notice-books``: an exact range or the next free run) or automatically: on a pull asking for books
  (``pull_books``), when the officer's unused numbers across his books are below the series' ``threshold``,
  HQ issues him the next free ``book_size`` numbers of his district's automatic series. Ranges never
  overlap (``hq.storage.sql_notices``: the series row's lock, unique first/last numbers as a net, one
  retry on ``StorageConflict``). Books are per officer: on a squad phone shared by two officers, each
  one's case is filled from his own books.
- **Push** (``check_case``): the number of a case with a 警告通知书 is recorded as used by the case
  (``notice_uses``: one case per number; an amendment keeps or moves it). A number already on another
  case, or — in a district that keeps notice series — in none of the officer's books, is **flagged, not
  refused** — paper books are real, an
  officer may have to write a number by hand (a book from before this system, a phone without a book left)
  — so the case is stored, the push answer carries the reason, an audit event ``notice_flagged`` is
  written and the case waits in the leader's review queue as needing a decision (``NoticeFlag``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from enforcement.model import Case, Disposition, Officer
from enforcement.noticebook import (
    MAX_BOOK_SIZE,
    format_notice_no,
    match_series,
    range_problem,
    series_problem,
)
from enforcement.text import LocalizedError
from hq.storage.base import Storage, StorageConflict, Tx
from hq.storage.notice_rows import NoticeBookRow, NoticeFlagRow, NoticeSeries
from patrollog.reviewing import NoticeFlag
from sync.protocol import MAX_NOTICE_BOOKS, NoticeBookData, NoticeBookSet

#: Who issued a book on a pull.
AUTO = "auto"


@dataclass(frozen=True, slots=True)
class BookState:
    book: NoticeBookRow
    used: frozenset[int]

    @property
    def remaining(self) -> int:
        return self.book.last - self.book.first + 1 - len(self.used)

    def wire(self) -> NoticeBookData:
        b = self.book
        return NoticeBookData(
            book_id=b.book_id,
            series=b.series,
            first=b.first,
            last=b.last,
            width=b.width,
            used=sorted(self.used),
        )


def book_states(tx: Tx, badge: str) -> list[BookState]:
    """The officer's books, oldest first, with the numbers HQ saw used on cases."""
    books = tx.notice_books(badge=badge)
    used = tx.notice_numbers_used(b.book_id for b in books)
    return [BookState(b, frozenset(used.get(b.book_id, set()))) for b in books]


def auto_series(tx: Tx, district: str) -> NoticeSeries | None:
    """The district's series HQ issues from on pulls (the first by name), else None."""
    return next((s for s in tx.list_notice_series(district) if s.auto), None)


def _needs_book(tx: Tx, officer: Officer) -> NoticeSeries | None:
    series = auto_series(tx, officer.district)
    if series is None:
        return None
    left = sum(state.remaining for state in book_states(tx, officer.badge))
    return series if left < series.threshold else None


def issue_next(tx: Tx, series: NoticeSeries, officer: Officer, *, at: datetime, by: str) -> NoticeBookRow:
    """The next free run of ``series`` to ``officer``, audited."""
    book = tx.issue_notice_book(
        series.series, series.book_size, badge=officer.badge, district=officer.district, at=at, by=by
    )
    tx.audit(by, "notice_book_issued", target=book.book_id, detail=_detail(book))
    return book


def _detail(book: NoticeBookRow) -> dict[str, object]:
    return {"badge": book.badge, "series": book.series, "first": book.first, "last": book.last}


def pull_books(storage: Storage, officer: Officer, *, now: datetime) -> NoticeBookSet:
    """The officer's open books for a pull, after issuing him the next run of his district's automatic
    series when his unused numbers fell below its threshold (checked again under the series lock, so two
    of his phones pulling at once get one new book, not two)."""
    issued = 0
    with storage.transaction(readonly=True) as tx:
        wanted = _needs_book(tx, officer)
    if wanted is not None:
        for attempt in range(2):  # a StorageConflict (the unique net) is retried once
            try:
                with storage.transaction() as tx:
                    tx.lock_notice_series(wanted.series)
                    series = _needs_book(tx, officer)
                    if series is not None:
                        issue_next(tx, series, officer, at=now, by=AUTO)
                        issued = 1
                break
            except StorageConflict:
                if attempt:
                    break  # the series is used up (or busy): the officer keeps what he has
    with storage.transaction(readonly=True) as tx:
        states = [s for s in book_states(tx, officer.badge) if s.remaining > 0]
    return NoticeBookSet(books=[s.wire() for s in states[:MAX_NOTICE_BOOKS]], issued=issued)


def check_case(tx: Tx, case: Case, officer: Officer, *, now: datetime) -> tuple[NoticeFlag, str] | None:
    """Record the case's warning-notice number as used by it; (flag, the other case's number or "") when
    HQ flags it (see the module doc), else None. An amendment that changed or dropped its number frees the
    old one."""
    number = case.warning_notice_no.strip()
    if Disposition(case.disposition) is not Disposition.WARNING_NOTICE or not number:
        if case.supersedes:  # a first version holds no number yet: nothing to free (no statement)
            tx.release_notice_numbers(case.case_no)
        return None
    every = tx.list_notice_series()
    found = match_series(number, [s.series for s in every])
    book = tx.notice_book_at(*found) if found is not None else None
    text = format_notice_no(book.series, found[1], book.width) if book and found else number
    tx.release_notice_numbers(case.case_no, keep=text)
    holder = tx.use_notice_number(
        text, case_no=case.case_no, case_id=case.id, badge=officer.badge,
        book_id=book.book_id if book else None, seq_no=found[1] if book and found else None, at=now,
    )  # fmt: skip
    flag: NoticeFlag | None = None
    if holder != case.case_no:
        flag = NoticeFlag.DUPLICATE
    elif book is None and any(s.district == officer.district for s in every):
        flag = NoticeFlag.NOT_IN_BOOK  # (a district that keeps no series issues no books: nothing to check)
    elif book is not None and book.badge != officer.badge:
        flag = NoticeFlag.OTHER_OFFICER
    if flag is None:
        return None
    other = holder if holder != case.case_no else ""
    tx.add_notice_flag(NoticeFlagRow(case.id, case.case_no, text, flag.value, other, now))
    tx.audit(
        officer.badge, "notice_flagged", target=case.id,
        detail={"flag": flag.value, "number": text, "other_case_no": other,
                "book_badge": book.badge if book else ""},
    )  # fmt: skip
    return flag, other


def flag_reason(flag: NoticeFlag, number: str, other: str) -> tuple[str, str]:
    """The push answer's reason for a flagged number (zh, en)."""
    zh, en = flag.label("zh"), flag.label("en")
    if other:
        zh, en = f"{zh}（{other}）", f"{en} ({other})"
    return f"{zh}：{number}，已提交中队长审核", f"{en}: {number}; sent to the squad leader for review"


class NoticeBookRefused(LocalizedError):
    """A book or series HQ cannot issue as asked: ``code`` "invalid" (bad request) or "overlap" (the range
    is taken or the series used up)."""


def save_series(
    tx: Tx, series: str, *, district: str, width: int, book_size: int, threshold: int, capacity: int | None,
    auto: bool, at: datetime, by: str,
) -> NoticeSeries:  # fmt: skip
    """Add a series or change its book size, threshold, capacity and ``auto`` (its width stays)."""
    problem = series_problem(series, width)
    if problem is None and not 1 <= book_size <= MAX_BOOK_SIZE:
        problem = (f"每册编号数须为 1–{MAX_BOOK_SIZE}", f"a book size must be 1-{MAX_BOOK_SIZE}")
    if problem is None and not 0 <= threshold <= MAX_BOOK_SIZE:
        problem = (f"补发阈值须为 0–{MAX_BOOK_SIZE}", f"the threshold must be 0-{MAX_BOOK_SIZE}")
    top = 10**width - 1
    if problem is None and capacity is not None and not 1 <= capacity <= top:
        problem = (f"编号上限须为 1–{top}", f"the capacity must be 1-{top}")
    if problem is None and tx.get_district(district) is None:
        problem = (f"没有辖区 {district}", f"no district {district}")
    existing = tx.get_notice_series(series)
    if problem is None and existing is not None and existing.width != width:
        problem = (
            f"编号系列 {series} 的位数为 {existing.width}，不能修改",
            f"{series} has width {existing.width}",
        )
    if problem is not None:
        raise NoticeBookRefused(problem[1], zh=problem[0], field="series", code="invalid")
    row = NoticeSeries(
        series, district, width, book_size, threshold, capacity or top, auto,
        existing.next_no if existing else 1, existing.created_at if existing else at,
        existing.created_by if existing else by,
    )  # fmt: skip
    tx.put_notice_series(row)
    tx.audit(by, "notice_series_saved", target=series, detail={
        "district": district, "width": width, "book_size": book_size, "threshold": threshold,
        "capacity": row.capacity, "auto": auto,
    })  # fmt: skip
    saved = tx.get_notice_series(series)
    assert saved is not None
    return saved


def assign_book(
    tx: Tx, *, badge: str, series: str, first: int | None = None, last: int | None = None,
    district: str | None = None, at: datetime, by: str,
) -> NoticeBookRow:  # fmt: skip
    """Issue officer ``badge`` a book of ``series``: exactly ``first..last``, else the series' next free run
    of its book size. ``district``: the issuer's district (None: any). Audited."""
    user = tx.get_user(badge)
    found = tx.get_notice_series(series)
    problem: tuple[str, str] | None = None
    if user is None or not user.active:
        problem = (f"没有在职队员 {badge}", f"no active officer {badge}")
    elif found is None:
        problem = (f"没有编号系列 {series}", f"no notice series {series}")
    elif found.district != user.officer.district or (district is not None and district != found.district):
        problem = (
            f"编号系列 {series} 属于{found.district}，不能发给其他辖区的队员",
            f"series {series} belongs to {found.district}; it cannot go to an officer of another district",
        )
    elif (first is None) != (last is None):
        problem = ("请同时给出起始和结束编号", "give both the first and the last number")
    elif first is not None and last is not None:
        problem = range_problem(first, last, found.width)
    if problem is not None:
        raise NoticeBookRefused(problem[1], zh=problem[0], field="range", code="invalid")
    assert user is not None
    assert found is not None
    try:
        if first is not None and last is not None:
            book = tx.add_notice_book(series, first, last, badge=badge, district=found.district, at=at, by=by)
        else:
            book = tx.issue_notice_book(
                series, found.book_size, badge=badge, district=found.district, at=at, by=by
            )
    except StorageConflict as err:
        raise NoticeBookRefused(err.en, zh=err.zh, field="range", code="overlap") from None
    tx.audit(by, "notice_book_issued", target=book.book_id, detail=_detail(book))
    return book
