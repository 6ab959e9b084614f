"""The phone's offline store: one SQLite file holding everything the officer records until HQ has it.

``Store`` is the one object the app uses; it is built from focused parts sharing its one connection:

* ``mobile.store_core``: errors, argument checks, the connection's lock and transactions (``StoreCore``);
* ``mobile.store_file``: file safety (the read-only check before opening, WAL / ``synchronous=FULL``);
* ``mobile.store_rows``: row <-> model mapping and the hot insert statements (shared with bench/store.py);
* ``mobile.store_subjects``: subjects, their character index and subject search (``SubjectStore``);
* ``mobile.store_records``: officers, shifts, case numbers, cases, reviews, sync state (``RecordStore``);
* ``mobile.store_queries``: the day log, a subject's earlier cases, the squad day (``QueryStore``);
* ``mobile.store_outbox``: the outbox and the photo upload queue (``OutboxStore``);
* ``mobile.store_squad``: the SQL of a leader's pulled squad records.

This module opens the file, runs the migrations and keeps the settings (``meta``). Every name the store
exported before it was split is still importable from here.

Durability: WAL journal with ``synchronous=FULL`` (a committed save survives power loss), schema by
numbered migrations (``mobile.migrations``, version in ``PRAGMA user_version``). On open, an existing file
is checked read-only first (SQLite header, schema version, ``PRAGMA integrity_check``); a damaged file or one
written by a newer app is refused with ``StoreCorrupt`` / ``StoreTooNew`` and is left byte-for-byte as it
was, so support can still recover it.

Atomicity: every method that writes runs in one ``BEGIN IMMEDIATE`` transaction; a case, its photo rows,
its seized items and its outbox entry commit together or not at all. Records are validated
(``enforcement.validation``) before anything is written.

Threads: the app calls the store from the UI thread and from the sync worker thread. There is one
connection, opened with ``check_same_thread=False``, and every public method holds ``Store._lock`` (an
``RLock``) for its whole duration, so calls are serialised and no two threads ever share a cursor or a
transaction. Read methods fetch all rows before returning, so no read snapshot is left open.

SQL: the store hands its sqlite-utils Database (``self._db``) to the migrations, and uses it for the
bookkeeping writes where naming the columns once is clearer than a hand-written ``INSERT ... ON CONFLICT``
(settings in ``meta``, the signed-in officer, the history HQ sends for a subject). Raw ``sqlite3``
statements stay on the hot paths bench/store.py measures (saving a case, the day log, subject search, a
subject's earlier cases), whose statements the benchmark's plain-sqlite3 floor runs too, and wherever a
statement carries logic of its own (HQ's stage and reason, the squad feed's merge rules, counters, the
outbox): there sqlite-utils would add schema lookups to every call and hide the SQL that matters.

The ``store*`` modules are the only phone-side modules that import ``sqlite3`` or ``sqlite_utils``; the
rest of the app sees only the methods of ``Store`` and the model's records.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from enforcement.catalogue import Catalogue
from enforcement.numbering import make_install_tag
from mobile import metakeys
from mobile.migrations import MIGRATIONS, SCHEMA_VERSION
from mobile.store_core import (
    StoreCorrupt,
    StoreError,
    StoreRefused,
    StoreTooNew,
    StoreWriteFailed,
    need_text,
    refuse,
)
from mobile.store_file import check_file, configure
from mobile.store_outbox import OutboxEntry, OutboxStore
from mobile.store_queries import (
    OWN_HISTORY_SQL,
    PATROL_LOG_SQL,
    REMOTE_HISTORY_SQL,
    LoggedCase,
    QueryStore,
)
from mobile.store_records import SET_SYNC_STATE_SQL, RecordStore
from mobile.store_rows import (
    CASE_INSERT,
    CASE_PHOTO_INSERT,
    OUTBOX_INSERT,
    PHOTO_QUEUE_INSERT,
    SEIZED_ITEM_INSERT,
    SUBJECT_UPSERT,
    case_child_rows,
    case_row,
    dumps,
    search_key,
    subject_row,
)
from mobile.store_squad import SquadDay
from mobile.store_subjects import (
    PHONE_PART_MIN,
    PHONE_PART_SQL,
    PHONE_SQL,
    PLATE_SQL,
    SIMILAR_RATIO,
    SUBJECT_CHAR_DELETE,
    SUBJECT_CHAR_INSERT,
    extra_candidates,
    name_candidates,
    phone_part,
    search_chars,
    subject_char_rows,
)


class Store(RecordStore, QueryStore, OutboxStore):
    """The officer's offline store. Open with ``Store.open(path, catalogue=...)``; see the module doc."""

    def __init__(self, conn: sqlite3.Connection, catalogue: Catalogue, *, memory: bool) -> None:
        """Use ``Store.open``; this takes an already checked connection (autocommit mode)."""
        self.catalogue = catalogue
        self._lock = threading.RLock()
        self._closed = False
        configure(conn, memory=memory)
        self._conn = conn
        self._db = Database(conn, execute_plugins=False)
        self._migrate()
        with self._write():
            self._device_id = self._meta_init(metakeys.DEVICE_ID, lambda: str(uuid.uuid4()))
            self._install_tag = self._meta_init(metakeys.INSTALL_TAG, make_install_tag)

    @classmethod
    def open(cls, path: str | Path = ":memory:", *, catalogue: Catalogue) -> Store:
        """Open (creating if needed) the store at ``path``; ``":memory:"`` for a throw-away store.

        Raises StoreCorrupt (damaged, not SQLite, or another application's database) / StoreTooNew (file
        untouched), StoreError if it cannot be opened at all. ``PRAGMA integrity_check`` reads the whole
        file: about a second for a 200 MB store on a server disk, so the app opens the store off the UI
        thread.
        """
        memory = str(path) == ":memory:"
        if not memory:
            path = Path(path)
            check_file(path, SCHEMA_VERSION)
        try:
            conn = sqlite3.connect(
                ":memory:" if memory else str(path), check_same_thread=False, isolation_level=None
            )
        except sqlite3.Error as exc:
            raise StoreError(
                f"cannot open the database at {path}: {exc}",
                zh=f"无法打开数据库 {path}：{exc}",
                field="path",
                code="store_open",
            ) from exc
        try:
            return cls(conn, catalogue, memory=memory)
        except sqlite3.Error as exc:  # e.g. a read-only file or folder: WAL cannot be set up
            conn.close()
            raise StoreError(
                f"cannot open the database at {path}: {exc}",
                zh=f"无法打开数据库 {path}：{exc}",
                field="path",
                code="store_open",
            ) from exc
        except BaseException:
            conn.close()
            raise

    def close(self) -> None:
        with self._lock:
            if not self._closed:
                self._closed = True
                self._db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def schema_version(self) -> int:
        return int(self._rows("PRAGMA user_version")[0][0])

    def _migrate(self) -> None:
        version = int(self._conn.execute("PRAGMA user_version").fetchone()[0])
        if version > SCHEMA_VERSION:  # the file check did this already; kept for :memory: and races
            raise StoreTooNew(
                f"schema {version} is newer than this app's {SCHEMA_VERSION}",
                zh=f"数据版本 {version} 高于本应用支持的 {SCHEMA_VERSION}，请升级应用",
            )
        for number in range(version, SCHEMA_VERSION):
            with self._write():
                MIGRATIONS[number](self._db)
                self._conn.execute(f"PRAGMA user_version = {number + 1}")

    # --------------------------------------------------------------------------------------- meta

    def _meta_init(self, key: str, make: Callable[[], str]) -> str:
        row = self._conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        if row is not None:
            return str(json.loads(row[0]))
        value = make()
        self._conn.execute("INSERT INTO meta (key, value) VALUES (?, ?)", (key, dumps(value)))
        return value

    def meta_get(self, key: str, default: Any = None) -> Any:
        rows = self._rows("SELECT value FROM meta WHERE key = ?", (key,))
        return json.loads(rows[0][0]) if rows else default

    def meta_set(self, key: str, value: Any) -> None:
        """Store a JSON value under ``key`` (device id, sync cursor, token, settings …)."""
        need_text(key, "key")
        try:
            text = dumps(value)
        except (TypeError, ValueError) as exc:
            raise refuse(
                "meta_not_json",
                "value",
                f"setting {key!r} is not JSON-serialisable",
                f"设置项 {key} 的值无法保存",
            ) from exc
        with self._write():
            self._db.table("meta").upsert({"key": key, "value": text}, pk="key")

    @property
    def device_id(self) -> str:
        """This install's device id (UUID made at first open)."""
        return self._device_id

    @property
    def install_tag(self) -> str:
        """This install's tag in case numbers (``numbering.make_install_tag`` at first open)."""
        return self._install_tag


__all__ = [
    "CASE_INSERT",
    "CASE_PHOTO_INSERT",
    "OUTBOX_INSERT",
    "OWN_HISTORY_SQL",
    "PATROL_LOG_SQL",
    "PHONE_PART_MIN",
    "PHONE_PART_SQL",
    "PHONE_SQL",
    "PHOTO_QUEUE_INSERT",
    "PLATE_SQL",
    "REMOTE_HISTORY_SQL",
    "SEIZED_ITEM_INSERT",
    "SET_SYNC_STATE_SQL",
    "SIMILAR_RATIO",
    "SUBJECT_CHAR_DELETE",
    "SUBJECT_CHAR_INSERT",
    "SUBJECT_UPSERT",
    "LoggedCase",
    "OutboxEntry",
    "SquadDay",
    "Store",
    "StoreCorrupt",
    "StoreError",
    "StoreRefused",
    "StoreTooNew",
    "StoreWriteFailed",
    "case_child_rows",
    "case_row",
    "extra_candidates",
    "name_candidates",
    "phone_part",
    "search_chars",
    "search_key",
    "subject_char_rows",
    "subject_row",
]
