"""Rows of HQ's warning-notice books (``hq.notices``; SQL in ``hq.storage.sql_notices``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class NoticeSeries:
    """A printed series of a district: numbers ``1..capacity`` written with ``width`` digits after
    ``series``. With ``auto``, HQ issues an officer the next free ``book_size`` numbers on a pull when his
    unused numbers fall below ``threshold``; ``next_no`` is where the next free range is looked for."""

    series: str
    district: str
    width: int
    book_size: int
    threshold: int
    capacity: int
    auto: bool
    next_no: int
    created_at: datetime
    created_by: str


@dataclass(frozen=True, slots=True)
class NoticeBookRow:
    """Numbers ``first..last`` of ``series`` issued to officer ``badge`` (``by``: who issued it, "auto")."""

    book_id: str
    series: str
    first: int
    last: int
    width: int
    badge: str
    district: str
    issued_at: datetime
    issued_by: str


@dataclass(frozen=True, slots=True)
class NoticeFlagRow:
    """HQ's flag on a case version's notice number (``patrollog.reviewing.NoticeFlag`` value)."""

    case_id: str
    case_no: str
    number: str
    flag: str
    other_case_no: str
    at: datetime
