"""The phone store's foundations: its errors, argument checks, and ``StoreCore``, the one connection with
its lock and transactions that every store part (``mobile.store_subjects``, ``store_records``,
``store_queries``, ``store_outbox``) works through.

Threads: every public store method holds ``StoreCore._lock`` (an ``RLock``) for its whole duration, so
calls are serialised and no two threads ever share a cursor or a transaction. ``_write`` is one
``BEGIN IMMEDIATE`` transaction rolled back on any error (SQLite errors become ``StoreWriteFailed``);
``_read`` is one read snapshot, always closed on exit; ``_rows`` is a single locked statement.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlite_utils import Database

from enforcement.catalogue import Catalogue
from enforcement.codec import to_json_dict
from enforcement.text import LocalizedError
from mobile.store_rows import OUTBOX_INSERT, dumps

T = TypeVar("T")


# --------------------------------------------------------------------------------------------- errors


class StoreError(LocalizedError):
    """Base of the store's errors (zh + en text, ``field`` where one is concerned)."""

    code = "store"


class StoreCorrupt(StoreError):
    """The file is not a SQLite database or fails ``PRAGMA integrity_check``; it was not modified."""

    code = "store_corrupt"


class StoreTooNew(StoreError):
    """The file was written by a newer app (higher schema version); it was not modified."""

    code = "store_too_new"


class StoreRefused(StoreError):
    """A write refused because of what was asked (unknown record, duplicate, bad argument)."""

    code = "store_refused"


class StoreWriteFailed(StoreError):
    """SQLite failed during a write (disk full, I/O error ...); the transaction was rolled back."""

    code = "store_write_failed"


def refuse(code: str, field: str, en: str, zh: str) -> StoreRefused:
    return StoreRefused(en, zh=zh, field=field, code=code)


# ---------------------------------------------------------------------------------- argument checks


def need_aware(moment: object, field: str) -> datetime:
    if not isinstance(moment, datetime) or moment.tzinfo is None:
        raise refuse(
            "time_not_aware", field, f"{field}: a time with a time zone is required", f"{field}：时间缺少时区"
        )
    return moment


def need_text(value: object, field: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise refuse("required", field, f"{field} is required", f"缺少必填项：{field}")
    return value


def need_enum(kind: Callable[[Any], T], value: object, field: str) -> T:
    try:
        return kind(value)
    except ValueError as exc:
        raise refuse(
            "bad_value", field, f"{field}: {value!r} is not allowed", f"{field}：取值无效（{value}）"
        ) from exc


# ------------------------------------------------------------------------------------------ core


class StoreCore:
    """The connection, the lock and the transactions (built by ``mobile.store.Store``)."""

    catalogue: Catalogue
    _lock: threading.RLock
    _closed: bool
    _conn: sqlite3.Connection
    _db: Database
    _device_id: str
    _install_tag: str
    _damaged: StoreCorrupt | None = None  # set when a later integrity check found the file damaged

    def _guard(self) -> None:
        if self._closed:
            raise StoreError("the store is closed", zh="数据库已关闭", code="store_closed")

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (``BEGIN IMMEDIATE`` … ``COMMIT``), rolled back on any error; SQLite
        errors become StoreWriteFailed."""
        with self._lock:
            self._guard()
            if self._damaged is not None:  # nothing more is written to a damaged file: support recovers it
                raise self._damaged
            conn = self._conn
            try:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    yield conn
                    conn.execute("COMMIT")
                except BaseException:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    raise
            except sqlite3.Error as exc:
                raise StoreWriteFailed(
                    f"could not save ({exc}); nothing was written",
                    zh=f"保存失败（{exc}），本次内容均未写入",
                ) from exc

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        """A consistent read snapshot across several statements, always closed on exit."""
        with self._lock:
            self._guard()
            conn = self._conn
            conn.execute("BEGIN")
            try:
                yield conn
            finally:
                if conn.in_transaction:
                    conn.execute("COMMIT")

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        with self._lock:
            self._guard()
            return self._conn.execute(sql, params).fetchall()

    @property
    def in_transaction(self) -> bool:
        """True while a transaction is open (never between calls)."""
        with self._lock:
            return not self._closed and self._conn.in_transaction

    @staticmethod
    def _outbox_add(conn: sqlite3.Connection, kind: str, record_id: str, record: Any) -> None:
        payload = dumps(to_json_dict(record))
        conn.execute(
            OUTBOX_INSERT,
            (kind, record_id, payload, len(payload.encode("utf-8")), datetime.now(UTC).isoformat()),
        )
