"""The embedded SQLite backend (stdlib ``sqlite3``): one file, WAL, writers serialised.

Writers open with ``BEGIN IMMEDIATE``, so at most one write transaction runs at a time and its commit
step (numbering changes and audit events, ``hq.storage.sql_feed``) trivially happens in commit order:
SQLite has no concurrent writers whose commits could overtake each other. Readers use deferred
transactions and see a consistent WAL snapshot while a writer works. ``synchronous=FULL``: a commit is on
disk before the caller answers.
"""

from __future__ import annotations

import queue
import sqlite3
import threading
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from hq.storage.base import StorageUnavailable, Tx
from hq.storage.migrations import migrate
from hq.storage.sqlcore import Cursor, utc_text
from hq.storage.sqltx import SqlTx, read_epoch


class SqliteDialect:
    name = "sqlite"
    #: In-process: nothing is gained by sending rows ahead, a batch writes each table once at the end.
    spill_rows = 0

    def execute(self, conn: Any, sql: str, params: Sequence[Any] = ()) -> Cursor:
        cursor: Cursor = conn.execute(sql, params)
        return cursor

    def executemany(self, conn: Any, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        conn.executemany(sql, rows)

    def insert_rows(self, conn: Any, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """``executemany``: SQLite runs it as one prepared statement stepped per row, in process (a
        multi-row ``VALUES`` measured no faster here: it is compiled again for each row count)."""
        conn.executemany(sql, rows)

    def text_in(self, column: str, values: Sequence[str]) -> tuple[str, list[Any]]:
        return f"{column} IN ({', '.join('?' * len(values))})", list(values)

    def ts(self, value: datetime | None) -> Any:
        return None if value is None else utc_text(value)

    def from_ts(self, value: Any) -> datetime | None:
        return None if value is None else datetime.fromisoformat(value)

    def lock_commit_step(self, conn: Any) -> None:
        """Nothing to do: ``BEGIN IMMEDIATE`` already made this the only writer."""

    def lock_keys(self, conn: Any, keys: Sequence[str]) -> None:
        """Nothing to do: ``BEGIN IMMEDIATE`` already made this the only writer."""


class FairLock:
    """A lock handed to its waiters in the order they came (``threading.Lock`` wakes any of them)."""

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._held = False
        self._waiters: deque[threading.Lock] = deque()

    def acquire(self, timeout: float = -1) -> bool:
        with self._mutex:
            if not self._held:
                self._held = True
                return True
            turn = threading.Lock()
            turn.acquire()
            self._waiters.append(turn)
        if turn.acquire(timeout=timeout):
            return True  # handed over by release()
        with self._mutex:
            if turn in self._waiters:
                self._waiters.remove(turn)
                return False
        return True  # handed over between the timeout and the check: it is ours

    def release(self) -> None:
        with self._mutex:
            if self._waiters:
                self._waiters.popleft().release()  # still held: now by the first waiter
            else:
                self._held = False


@contextmanager
def _unavailable_when_busy() -> Iterator[None]:
    """sqlite3's ``OperationalError`` (locked past the busy timeout, unable to open the file, …) leaves
    this backend as ``StorageUnavailable``, its cause kept."""
    try:
        yield
    except sqlite3.OperationalError as exc:
        raise StorageUnavailable(
            f"the HQ database is unavailable right now ({exc}); try again",
            zh="指挥中心数据库繁忙，请稍后重试",
            field="storage",
        ) from exc


class SqliteStorage:
    """``hq.storage.base.Storage`` in a SQLite file (``":memory:"``: one private in-memory database)."""

    backend = "sqlite"

    def __init__(self, path: str | Path, *, max_connections: int = 8, busy_timeout_s: float = 30.0) -> None:
        self.path = str(path)
        self.dialect = SqliteDialect()
        self._memory = self.path == ":memory:"
        self._max = 1 if self._memory else max_connections
        self._busy_timeout_s = busy_timeout_s
        self._idle: queue.LifoQueue[sqlite3.Connection] = queue.LifoQueue()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        # SQLite has one writer at a time. Writers of this process queue here, before taking a pooled
        # connection, instead of sleep-retrying BEGIN IMMEDIATE while holding one (bench/load.py: worst
        # write latency at 8 threads fell from 2.2 s to ~0.2 s). Other processes still meet busy_timeout.
        # First come, first served: with a plain lock a push could lose the race to later photo writes
        # again and again (bench/load.py at 50 phones: push p99 3 s while the median was 0.2 s).
        self._writer = FairLock()
        self._epoch: str | None = None

    # -- connections
    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(
            self.path, isolation_level=None, check_same_thread=False, timeout=self._busy_timeout_s
        )
        if not self._memory:
            conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = FULL")
        return conn

    def _acquire(self) -> sqlite3.Connection:
        try:
            return self._idle.get_nowait()
        except queue.Empty:
            pass
        with self._lock:
            if len(self._all) < self._max:
                conn = self._connect()
                self._all.append(conn)
                return conn
        try:
            return self._idle.get(timeout=self._busy_timeout_s)
        except queue.Empty:
            raise StorageUnavailable(
                "the HQ database is busy (no free connection); try again",
                zh="指挥中心数据库繁忙，请稍后重试",
                field="storage",
            ) from None

    @contextmanager
    def _write_turn(self, readonly: bool) -> Iterator[None]:
        if readonly:
            yield
            return
        if not self._writer.acquire(timeout=self._busy_timeout_s):
            raise StorageUnavailable(
                "the HQ database is busy (writers queued too long); try again",
                zh="指挥中心数据库繁忙，请稍后重试",
                field="storage",
            )
        try:
            yield
        finally:
            self._writer.release()

    @contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        conn = self._acquire()
        try:
            yield conn
        finally:
            self._idle.put(conn)

    # -- contract
    def create_schema(self) -> None:
        """Create or migrate the schema (``hq.storage.migrations``) in one ``BEGIN IMMEDIATE``
        transaction, so two processes opening the same file migrate one after the other (the second finds
        nothing to do)."""
        with _unavailable_when_busy(), self._connection() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                migrate(conn, self.dialect)
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            self._epoch = read_epoch(conn, self.dialect)

    @contextmanager
    def transaction(self, *, readonly: bool = False) -> Iterator[Tx]:
        with _unavailable_when_busy(), self._write_turn(readonly), self._connection() as conn:
            if self._epoch is None:
                self._epoch = read_epoch(conn, self.dialect)
            conn.execute("BEGIN" if readonly else "BEGIN IMMEDIATE")
            try:
                tx = SqlTx(conn, self.dialect, epoch=self._epoch, readonly=readonly)
                yield tx
                tx.commit_step()
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise

    def close(self) -> None:
        with self._lock:
            for conn in self._all:
                conn.close()
            self._all.clear()
        while not self._idle.empty():
            self._idle.get_nowait()
