"""HQ storage: one contract (``hq.storage.base``), two backends (SQLite embedded, PostgreSQL).

``open_storage(url)`` picks the backend (``is_postgres``): ``postgresql://…`` / ``postgres://…`` or a
libpq key=value conninfo (``host=… dbname=…``) → PostgreSQL, anything else (``sqlite:///path``, a plain
file path, ``:memory:``) → SQLite.
"""

from __future__ import annotations

import re

from hq.storage.base import Storage, StorageError, Tx

__all__ = ["Storage", "StorageError", "Tx", "is_postgres", "open_storage"]

#: libpq's key=value form: every word is ``key=value`` and one of the keys names a server or database.
_CONNINFO = re.compile(r"^\s*(\w+\s*=\s*('[^']*'|\S+)\s*)+$")
_CONNINFO_KEYS = re.compile(r"(^|\s)(host|hostaddr|dbname|port|service|user)\s*=")


def is_postgres(url: str) -> bool:
    """Whether ``url`` names a PostgreSQL database: a ``postgresql://`` / ``postgres://`` URL or a libpq
    key=value conninfo (which a file path is never taken for, so ``--pg 'host=… dbname=…'`` can never
    quietly open a SQLite file of that name)."""
    if url.startswith(("postgresql://", "postgres://")):
        return True
    return bool(_CONNINFO.match(url) and _CONNINFO_KEYS.search(url))


def open_storage(url: str, *, create: bool = True) -> Storage:
    """The storage at ``url``, with its schema created or migrated (``hq.storage.migrations``) when
    ``create``; ``SchemaTooNew`` when the database is newer than this code."""
    storage: Storage
    if is_postgres(url):
        from hq.storage.postgres import PostgresStorage

        storage = PostgresStorage(url)
    else:
        from hq.storage.sqlite import SqliteStorage

        path = url.removeprefix("sqlite:///") if url.startswith("sqlite:///") else url
        storage = SqliteStorage(path)
    if create:
        storage.create_schema()
    return storage
