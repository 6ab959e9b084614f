"""The SQL transaction object both backends hand out, and the schema setup they share."""

from __future__ import annotations

import secrets
from typing import Any

from hq.storage.base import StorageError
from hq.storage.schema import ADDED_COLUMNS, SCHEMA_VERSION, ddl
from hq.storage.sql_people import PeopleMixin
from hq.storage.sql_records import RecordsMixin
from hq.storage.sqlcore import Dialect


class SqlTx(PeopleMixin, RecordsMixin):
    """``hq.storage.base.Tx`` over one SQL connection inside one database transaction."""

    def __init__(self, conn: Any, dialect: Dialect, *, epoch: str, readonly: bool) -> None:
        super().__init__(conn, dialect, epoch=epoch, readonly=readonly)
        self._init_feed()


def _columns(conn: Any, dialect: Dialect, table: str) -> set[str] | None:
    """The columns of ``table`` (None when it does not exist yet)."""
    if dialect.name == "sqlite":
        rows = dialect.execute(conn, f"PRAGMA table_info({table})").fetchall()
        names = {str(row[1]) for row in rows}
    else:
        rows = dialect.execute(
            conn,
            "SELECT column_name FROM information_schema.columns"
            " WHERE table_schema = current_schema() AND table_name = ?",
            (table,),
        ).fetchall()
        names = {str(row[0]) for row in rows}
    return names or None


def add_missing_columns(conn: Any, dialect: Dialect) -> list[str]:
    """Add the ``schema.ADDED_COLUMNS`` an existing database (made by an earlier build) lacks; returns
    ``table.column`` of each one added."""
    added = []
    for table, column, sql_type in ADDED_COLUMNS:
        columns = _columns(conn, dialect, table)
        if columns is not None and column not in columns:
            dialect.execute(conn, f"ALTER TABLE {table} ADD COLUMN {column} {sql_type}")
            added.append(f"{table}.{column}")
    return added


def create_tables(conn: Any, dialect: Dialect) -> None:
    """Create the tables (adding columns an earlier build's tables lack) and this database's cursor epoch
    (inside the caller's transaction)."""
    add_missing_columns(conn, dialect)
    for statement in ddl(dialect.name):
        dialect.execute(conn, statement)
    for key, value in (("epoch", secrets.token_hex(8)), ("schema_version", str(SCHEMA_VERSION))):
        dialect.execute(
            conn, "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING", (key, value)
        )


def read_epoch(conn: Any, dialect: Dialect) -> str:
    """This database's cursor epoch; ``StorageError`` when the schema was never created."""
    row = dialect.execute(conn, "SELECT value FROM meta WHERE key = 'epoch'").fetchone()
    if row is None:
        raise StorageError(
            "the HQ database has no schema; run `streetpatrol-hq init`",
            zh="指挥中心数据库尚未初始化，请先运行 streetpatrol-hq init",
            field="storage",
        )
    return str(row[0])
