"""What both SQL backends share: the dialect seam, row helpers, timestamps, JSON and cursors.

The SQL is written once with ``?`` placeholders and portable syntax (``ON CONFLICT … DO UPDATE``,
``RETURNING``, partial indexes, ``TRUE``/``FALSE``), which SQLite ≥ 3.35 and PostgreSQL both accept; a
``Dialect`` translates placeholders and time values and says how to serialise the commit step.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, Protocol

from hq.storage.base import CursorError, StorageError

Row = Sequence[Any]


class Cursor(Protocol):
    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...
    def fetchall(self) -> list[Any]: ...


class Dialect(Protocol):
    """The few things SQLite and PostgreSQL do differently."""

    name: str
    #: How many queued rows of one kind a push batch sends ahead of its end (0: each table once, at
    #: the end): worth it only where the database works beside HQ's Python (PostgreSQL's pipeline).
    spill_rows: int

    def execute(self, conn: Any, sql: str, params: Sequence[Any] = ()) -> Cursor: ...
    def executemany(self, conn: Any, sql: str, rows: Iterable[Sequence[Any]]) -> None: ...
    def insert_rows(self, conn: Any, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """``executemany`` of an ``INSERT … VALUES (…)`` as one statement (``SqlBase._rows``)."""
        ...

    def text_in(self, column: str, values: Sequence[str]) -> tuple[str, list[Any]]:
        """``column IN (values)`` for a text column, and its parameters: the SQL text depends on how many
        values there are only where compiling it is cheap (SQLite); PostgreSQL takes one array, so the
        statement is one text whatever the count (psycopg parses and caches it once)."""
        ...

    def ts(self, value: datetime | None) -> Any:
        """A timezone-aware datetime as the database stores it."""
        ...

    def from_ts(self, value: Any) -> datetime | None: ...
    def lock_commit_step(self, conn: Any) -> None:
        """Serialise the commit step (numbering changes and audit events) until the commit ends."""
        ...

    def lock_keys(self, conn: Any, keys: Sequence[str]) -> None:
        """Transaction-scoped exclusive locks on these names (no-op where writers are serial)."""
        ...


def require_aware(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise StorageError(
            "times given to the storage must carry a time zone",
            zh="存储的时间必须带时区",
            field="at",
        )
    return value


def utc_text(value: datetime) -> str:
    """Fixed-width UTC text that sorts like the time it names (SQLite's time representation)."""
    return _utc_text(require_aware(value).astimezone(UTC))


@lru_cache(maxsize=1024)
def _utc_text(utc: datetime) -> str:
    """(A batch writes the same few instants many times: its clock reading, each case's time. Keyed by
    the UTC datetime: two of them are equal exactly when they name the same instant.)"""
    if utc.year >= 1000:  # the same text as the strftime below, several times faster
        return utc.replace(tzinfo=None).isoformat(timespec="microseconds") + "+00:00"
    return utc.strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")


def dumps(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def loads(text: str | None) -> Any:
    return json.loads(text) if text else {}


#: The largest change number a pull cursor can name (a signed 64-bit database integer).
MAX_CURSOR_SEQ = 2**63 - 1


def encode_cursor(epoch: str, seq: int) -> str:
    """An opaque pull cursor: the database's epoch and the last delivered change number."""
    return base64.urlsafe_b64encode(f"{epoch}:{seq}".encode()).decode().rstrip("=")


def decode_cursor(epoch: str, cursor: str | None) -> int:
    """The change number of a cursor this database issued (0 for None); ``CursorError`` otherwise."""
    if cursor is None or cursor == "":
        return 0
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        issued_by, seq_text = text.split(":")
        seq = int(seq_text)
        # only the number as encode_cursor writes it (int() also reads "+3", " 3", "1_0", "٣"), and one a
        # database integer holds (SQLite's driver raises OverflowError past 2**63 - 1)
        if seq_text != str(seq) or not 0 <= seq <= MAX_CURSOR_SEQ:
            raise ValueError(seq_text)
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise CursorError(
            "the sync cursor is not valid; sync again from the start",
            zh="同步位置无效，请重新同步",
            field="cursor",
        ) from exc
    if issued_by != epoch:
        raise CursorError(
            "the sync cursor was issued by another HQ database; sync again from the start",
            zh="同步位置来自其他指挥中心数据库，请重新同步",
            field="cursor",
        )
    return seq


@lru_cache(maxsize=64)
def split_insert(sql: str) -> tuple[str, tuple[str, ...], str]:
    """An ``INSERT … VALUES (…) …`` split around its one group of values: (the text up to ``VALUES``, the
    group's items — ``?`` or a literal such as ``TRUE``, ``''``, ``NULL`` —, the text after the group)."""
    at = sql.index(" VALUES (")
    depth, end = 0, at
    for end in range(at + len(" VALUES "), len(sql)):
        if sql[end] == "(":
            depth += 1
        elif sql[end] == ")":
            depth -= 1
            if depth == 0:
                break
    group = sql[at + len(" VALUES (") : end]
    if "?" in sql[:at] or "?" in sql[end + 1 :]:
        raise ValueError("only the group of values may hold parameters")
    return sql[:at], tuple(item.strip() for item in group.split(",")), sql[end + 1 :]


class SqlBase:
    """A transaction on one connection: query helpers the mixins build on."""

    def __init__(self, conn: Any, dialect: Dialect, *, epoch: str, readonly: bool) -> None:
        self.conn = conn
        self.d = dialect
        self.epoch = epoch
        self.readonly = readonly

    def _x(self, sql: str, params: Sequence[Any] = ()) -> Cursor:
        return self.d.execute(self.conn, sql, params)

    def _many(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        self.d.executemany(self.conn, sql, rows)

    def _rows(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """``_many`` as one statement for all the rows (``Dialect.insert_rows``): ``sql`` is an ``INSERT
        … VALUES (…)`` with one group of values. The rows must not touch one key twice (``ON CONFLICT …
        DO UPDATE`` refuses that in one statement)."""
        if rows:
            self.d.insert_rows(self.conn, sql, rows)

    def _one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        row: Row | None = self._x(sql, params).fetchone()
        return row

    def _all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        return list(self._x(sql, params).fetchall())

    def _in(self, column: str, values: Sequence[str]) -> tuple[str, list[Any]]:
        """``Dialect.text_in``: ``column IN (values)`` for a text column, and its parameters."""
        return self.d.text_in(column, values)

    def _ts(self, value: datetime | None) -> Any:
        return self.d.ts(None if value is None else require_aware(value))

    def _dt(self, value: Any) -> datetime:
        result = self.d.from_ts(value)
        assert result is not None
        return result

    def _dt_opt(self, value: Any) -> datetime | None:
        return self.d.from_ts(value)

    def _writable(self) -> None:
        if self.readonly:
            raise StorageError(
                "write in a read-only transaction", zh="只读事务中不能写入", field="transaction"
            )
