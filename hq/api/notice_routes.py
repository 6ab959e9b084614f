"""Warning-notice books, as an ``APIRouter`` (tag ``notices``; rules in ``hq.notices``).

GET  /v1/notice-books?badge=   → NoticeBookList: the books of ``badge`` (default: the caller) with how
                                 many numbers HQ saw used. Anyone: their own; a leader: the officers of
                                 the squad; HQ: anyone. Otherwise 403 ``FORBIDDEN``.
POST /v1/notice-books          NoticeBookRequest → NoticeBookInfo: issue ``badge`` a book of ``series``
                                 (``first``..``last``, or the series' next free run). HQ only (403);
                                 a bad request is 422 ``NOTICE_BOOK_INVALID``, a taken range or a used-up
                                 series 409 ``NOTICE_BOOK_OVERLAP``.

Phones get their own open books on pull (``GET /v1/changes?books=true``, ``sync.protocol``).
"""

from collections.abc import Callable
from dataclasses import asdict
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import Field

from enforcement.model import Role
from enforcement.noticebook import MAX_NUMBER, SERIES_PATTERN
from hq.api.errors import ERROR_RESPONSES, ApiError
from hq.auth import Principal
from hq.notices import NoticeBookRefused, assign_book, book_states
from hq.settings import Settings
from hq.storage.base import Storage
from hq.storage.notice_rows import NoticeBookRow
from sync.protocol import Errno, WireModel

#: Books listed for one officer (oldest first).
MAX_LISTED_BOOKS = 500


class NoticeBookInfo(WireModel):
    """A book as ``GET/POST /v1/notice-books`` state it: the fields of ``NoticeBookRow`` (``info`` fills them
    from it, so a field added to one and not the other fails there) and what HQ saw used of it."""

    book_id: str
    series: str
    first: int
    last: int
    width: int
    badge: str
    district: str
    issued_at: datetime
    issued_by: str
    used: int = 0  # numbers HQ saw on cases
    remaining: int = 0


class NoticeBookList(WireModel):
    badge: str
    books: list[NoticeBookInfo] = Field(max_length=MAX_LISTED_BOOKS)


class NoticeBookRequest(WireModel):
    badge: str = Field(min_length=1, max_length=32)
    series: str = Field(pattern=SERIES_PATTERN)
    first: int | None = Field(default=None, ge=0, le=MAX_NUMBER)
    last: int | None = Field(default=None, ge=0, le=MAX_NUMBER)


def info(book: NoticeBookRow, used: int = 0) -> NoticeBookInfo:
    """A stored book as the API states it (every field of the row, plus what HQ saw used of it)."""
    return NoticeBookInfo(**asdict(book), used=used, remaining=book.last - book.first + 1 - used)


def build_router(storage: Storage, settings: Settings, principal: Callable[..., Principal]) -> APIRouter:
    router = APIRouter()
    Caller = Annotated[Principal, Depends(principal)]

    @router.get(
        "/v1/notice-books", response_model=NoticeBookList, responses=ERROR_RESPONSES, tags=["notices"]
    )
    def list_books(
        caller: Caller, badge: Annotated[str | None, Query(max_length=32)] = None
    ) -> NoticeBookList:
        whose = badge or caller.badge
        with storage.transaction(readonly=True) as tx:
            if whose != caller.badge and not caller.is_hq:
                user = tx.get_user(whose)
                same_squad = user is not None and user.officer.squad_code == caller.officer.squad_code
                if caller.role is not Role.LEADER or not same_squad:
                    raise ApiError(Errno.FORBIDDEN)
            states = book_states(tx, whose)[:MAX_LISTED_BOOKS]
        return NoticeBookList(badge=whose, books=[info(s.book, len(s.used)) for s in states])

    @router.post(
        "/v1/notice-books", response_model=NoticeBookInfo, responses=ERROR_RESPONSES, tags=["notices"]
    )
    def add_book(body: NoticeBookRequest, caller: Caller) -> NoticeBookInfo:
        caller.require_hq()
        try:
            with storage.transaction() as tx:
                book = assign_book(
                    tx, badge=body.badge, series=body.series, first=body.first, last=body.last,
                    at=settings.clock(), by=caller.badge,
                )  # fmt: skip
        except NoticeBookRefused as err:
            errno = Errno.NOTICE_BOOK_OVERLAP if err.code == "overlap" else Errno.NOTICE_BOOK_INVALID
            raise ApiError(errno, zh=err.zh, en=err.en, field=err.field) from None
        return info(book)

    return router
