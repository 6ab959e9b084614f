"""The PostgreSQL backend: psycopg 3 over a ``psycopg_pool.ConnectionPool``.

Writers run in READ COMMITTED; read-only transactions in REPEATABLE READ (one snapshot for a whole pull
page). Concurrent writers are real here, so the change feed must not number changes while a transaction
runs: transaction A could take number 10, transaction B number 11, B commit first, and a reader that saw
11 would move its cursor past 10 before A's commit made it visible: change 10 would never be delivered.

Instead every transaction that queued changes or audit events ends with the *commit step*
(``hq.storage.sql_feed``): it takes a transaction-scoped advisory lock, reads the counters, writes the
numbered rows, and COMMITs, which releases the lock only after the commit is visible. Numbers are
therefore handed out in commit order; the next numbering transaction waits until we are visible, so a
reader's snapshot always holds a gap-free prefix of the numbers. Only this short tail of a transaction
is serialised; everything before it runs concurrently.

Write transactions run in psycopg's pipeline mode: a statement whose result is not read at once (an
insert, an update, a lock) is sent without waiting for the server's answer, so a push batch's rows sent
ahead (``Dialect.spill_rows``) are written by the server while HQ's Python checks the batch's next cases,
and its last statements and the COMMIT cost one round trip instead of one each. Reading rows, or a row
count (``_Sent.rowcount``), waits for the answers first; an error surfaces there or at the latest at the
COMMIT, and the whole transaction is rolled back as before.

Opening (``create_schema``) creates the schema and runs the pending migrations (``hq.storage.migrations``)
in one transaction holding a third advisory lock (``migration_lock``, per schema), so processes opening
the same database at once (``init`` twice, ``serve`` beside a CLI command) migrate one after the other:
the later one finds the database at the current version and does nothing.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import psycopg
from psycopg import pq
from psycopg import sql as pgsql
from psycopg_pool import ConnectionPool

from hq.storage.base import StorageUnavailable, Tx
from hq.storage.migrations import migrate
from hq.storage.sqlcore import Cursor, split_insert
from hq.storage.sqltx import SqlTx, read_epoch


class PostgresDialect:
    name = "postgres"
    #: A push batch sends its case rows and receipts ahead every 25 (see the module doc).
    spill_rows = 25

    def __init__(self, lock_key: int, space: int) -> None:
        self.lock_key = lock_key
        self.space = space
        self._translated: dict[str, str] = {}
        self._unnested: dict[str, str] = {}  # ``insert_rows``: its statements, and the columns' types
        self._types: dict[str, dict[str, str]] = {}

    def _sql(self, text: str) -> str:
        translated = self._translated.get(text)
        if translated is None:
            translated = self._translated[text] = text.replace("?", "%s")
        return translated

    def execute(self, conn: Any, sql: str, params: Sequence[Any] = ()) -> Cursor:
        cursor: Cursor = conn.execute(self._sql(sql), params)
        if conn.pgconn.pipeline_status != pq.PipelineStatus.OFF:
            return _Sent(cursor, conn)
        return cursor

    def executemany(self, conn: Any, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        with conn.cursor() as cursor:
            cursor.executemany(self._sql(sql), list(rows))

    def insert_rows(self, conn: Any, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """One ``INSERT … SELECT … FROM unnest(…)`` with one binary array per column: one short statement
        (psycopg parses and prepares it once) however many rows, where an ``executemany`` runs a
        statement per row and a multi-row ``VALUES`` binds (and psycopg parses) a parameter per value."""
        columns: list[list[Any]] = [[] for _ in rows[0]]
        for row in rows:
            for values, value in zip(columns, row, strict=True):
                values.append(value)
        conn.execute(self._unnest(conn, sql), columns)

    def _unnest(self, conn: Any, sql: str) -> str:
        text = self._unnested.get(sql)
        if text is None:
            head, items, tail = split_insert(sql)
            names = [name.strip() for name in head[head.index("(") + 1 : head.rindex(")")].split(",")]
            types = self._column_types(conn, head.split()[2], names)
            arrays: list[str] = []
            selected: list[str] = []
            for name, item in zip(names, items, strict=True):
                if item == "?":
                    selected.append(f"v.c{len(arrays)}")
                    arrays.append(f"%b::{types[name]}[]")
                else:
                    selected.append(item)
            # the code's own statement, its column names and the catalogue's types: no data in the text
            text = self._unnested[sql] = (
                f"{head} SELECT {', '.join(selected)} FROM unnest({', '.join(arrays)})"  # noqa: S608
                f" AS v({', '.join(f'c{n}' for n in range(len(arrays)))}){tail}"
            )
        return text

    def _column_types(self, conn: Any, table: str, names: Sequence[str]) -> dict[str, str]:
        types = self._types.get(table)
        if types is None or not set(names) <= types.keys():
            rows = conn.execute(
                "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute"
                " WHERE attrelid = to_regclass(%s) AND attnum > 0 AND NOT attisdropped",
                (table,),
            ).fetchall()
            types = self._types[table] = {str(r[0]): str(r[1]) for r in rows}
        return types

    def text_in(self, column: str, values: Sequence[str]) -> tuple[str, list[Any]]:
        """One text array: a statement with a parameter per value is parsed again by psycopg for every
        count over 50 parameters (``MAX_CACHED_STATEMENT_PARAMS``), a tenth of a push's client time."""
        return f"{column} = ANY(?::text[])", [list(values)]

    def ts(self, value: datetime | None) -> Any:
        return value

    def from_ts(self, value: Any) -> datetime | None:
        return value if value is None or isinstance(value, datetime) else datetime.fromisoformat(value)

    def lock_commit_step(self, conn: Any) -> None:
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (self.lock_key,)).fetchone()  # held on return

    def lock_keys(self, conn: Any, keys: Sequence[str]) -> None:
        """Two-key advisory locks (schema, name): a key space apart from the commit-step lock's. Taken in
        sorted order in one statement, so two batches locking overlapping subjects cannot deadlock."""
        if not keys:
            return
        names = sorted({_int4(zlib.crc32(key.encode())) for key in keys})
        conn.execute(
            "SELECT count(pg_advisory_xact_lock(%s, k)) FROM"
            " (SELECT k FROM unnest(%s::int4[]) AS k ORDER BY k) AS wanted",
            (self.space, names),
        ).fetchone()  # held on return, in a pipeline too (fetching waits for the answer)


class _Sent:
    """A statement's cursor in pipeline mode. Its rows are fetched on demand by psycopg itself, but its row
    count stays -1 until the pipeline is synced: reading it syncs first (a nested pipeline block syncs
    when it ends), so ``UPDATE … ; if rowcount == 1`` means what it means outside a pipeline."""

    __slots__ = ("_conn", "_cursor")

    def __init__(self, cursor: Any, conn: Any) -> None:
        self._cursor = cursor
        self._conn = conn

    @property
    def rowcount(self) -> int:
        if self._cursor.rowcount < 0:
            with self._conn.pipeline():
                pass
        count: int = self._cursor.rowcount
        return count

    def fetchone(self) -> Any:
        return self._cursor.fetchone()

    def fetchall(self) -> list[Any]:
        rows: list[Any] = self._cursor.fetchall()
        return rows


def _int4(value: int) -> int:
    """An unsigned 32-bit number as PostgreSQL's signed int4."""
    return (value ^ 0x8000_0000) - 0x8000_0000


@contextmanager
def _unavailable_when_busy() -> Iterator[None]:
    """psycopg's ``OperationalError`` (the server unreachable, a lock or statement timeout, a dropped
    connection, no pooled connection in time: ``PoolTimeout`` is one) leaves this backend as
    ``StorageUnavailable``, its cause kept."""
    try:
        yield
    except psycopg.OperationalError as exc:
        raise StorageUnavailable(
            f"the HQ database is unavailable right now ({type(exc).__name__}); try again",
            zh="指挥中心数据库繁忙，请稍后重试",
            field="storage",
        ) from exc


class PostgresStorage:
    """``hq.storage.base.Storage`` in PostgreSQL at ``dsn`` (tables in ``schema``, default ``public``)."""

    backend = "postgres"

    def __init__(self, dsn: str, *, schema: str = "public", min_size: int = 1, max_size: int = 10) -> None:
        self.dsn = dsn
        self.schema = schema
        # One lock per schema, so test schemas side by side do not wait for each other.
        self.dialect = PostgresDialect(
            0x5354_0000_0000 + zlib.crc32(schema.encode()), _int4(zlib.crc32(schema.encode()))
        )
        #: A one-key lock (a key space apart from the two-key ``lock_keys``), above every commit-step key.
        self.migration_lock = 0x5355_0000_0000 + zlib.crc32(schema.encode())
        self._epoch: str | None = None
        self.pool = ConnectionPool(
            dsn,
            min_size=min_size,
            max_size=max_size,
            configure=self._configure,
            open=False,
            name=f"streetpatrol-{schema}",
        )
        self.pool.open(wait=True, timeout=30)

    def _configure(self, conn: psycopg.Connection[Any]) -> None:
        conn.execute("SET TIME ZONE 'UTC'")
        conn.execute(pgsql.SQL("SET search_path TO {}").format(pgsql.Identifier(self.schema)))
        conn.commit()

    def create_schema(self) -> None:
        with _unavailable_when_busy(), self.pool.connection() as conn:
            try:
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (self.migration_lock,))
                schema = pgsql.Identifier(self.schema)
                conn.execute(pgsql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(schema))
                migrate(conn, self.dialect)
                conn.commit()
            except BaseException:
                conn.rollback()
                raise
            self._epoch = read_epoch(conn, self.dialect)
            conn.commit()

    @contextmanager
    def transaction(self, *, readonly: bool = False) -> Iterator[Tx]:
        with _unavailable_when_busy(), self.pool.connection() as conn:
            if self._epoch is None:
                self._epoch = read_epoch(conn, self.dialect)
                conn.commit()
            try:
                if readonly:
                    conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                tx = SqlTx(conn, self.dialect, epoch=self._epoch, readonly=readonly)
                if readonly:
                    yield tx
                else:
                    with conn.pipeline():  # see the module doc
                        yield tx
                        tx.commit_step()
                conn.commit()
            except BaseException:
                conn.rollback()
                raise

    def close(self) -> None:
        self.pool.close()
