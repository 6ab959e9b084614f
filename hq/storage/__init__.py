"""HQ storage: one contract (``hq.storage.base``), two backends (SQLite embedded, PostgreSQL).

``open_storage(url)`` picks the backend: ``postgresql://…`` / ``postgres://…`` → PostgreSQL, anything
else (``sqlite:///path``, a plain file path, ``:memory:``) → SQLite.
"""

from __future__ import annotations

from hq.storage.base import Storage, StorageError, Tx

__all__ = ["Storage", "StorageError", "Tx", "open_storage"]


def open_storage(url: str, *, create: bool = True) -> Storage:
    """The storage at ``url``, with its schema created or migrated (``hq.storage.migrations``) when
    ``create``; ``SchemaTooNew`` when the database is newer than this code."""
    storage: Storage
    if url.startswith(("postgresql://", "postgres://")):
        from hq.storage.postgres import PostgresStorage

        storage = PostgresStorage(url)
    else:
        from hq.storage.sqlite import SqliteStorage

        path = url.removeprefix("sqlite:///") if url.startswith("sqlite:///") else url
        storage = SqliteStorage(path)
    if create:
        storage.create_schema()
    return storage
