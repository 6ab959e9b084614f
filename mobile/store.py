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
is checked read-only first (SQLite header, schema version, an integrity check); a damaged file or one
written by a newer app is refused with ``StoreCorrupt`` / ``StoreTooNew`` and is left byte-for-byte as it
was, so support can still recover it. After a clean ``close`` (the clean-shutdown marker in ``meta``) the
open checks only the small tables the first screen reads; after anything else it runs the full
``PRAGMA integrity_check`` (see ``mobile.store_file``). The full check also runs on a schedule
(``integrity_check_due``: a day since the last one, or ``INTEGRITY_EVERY_OPENS`` opens) through
``check_integrity``, which the app calls on a background thread after the first screen is drawn; if it
finds damage the store refuses every later write with the same ``StoreCorrupt`` and does not mark its
close clean, so the next start refuses the file as before.

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

import contextlib
import json
import sqlite3
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
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
from mobile.store_file import (
    CHECK_FULL,
    CHECK_NONE,
    CLEAN_CLOSE_KEY,
    check_file,
    configure,
    damaged,
    integrity_problems,
    read_only,
)
from mobile.store_notices import NoticeStore
from mobile.store_outbox import OutboxEntry, OutboxStore
from mobile.store_queries import (
    NEARBY_SQL,
    OWN_HISTORY_SQL,
    PATROL_LOG_SQL,
    REMOTE_HISTORY_SQL,
    LoggedCase,
    NearbySubject,
    QueryStore,
    distance_m,
    place_box,
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
from mobile.store_workorders import WorkOrderStore
from mobile.store_zones import ZoneStore

#: ``meta`` keys of the integrity schedule: when the last full check passed (UTC, ISO 8601) and how many
#: opens there were since.
INTEGRITY_CHECKED_KEY = metakeys.INTEGRITY_CHECKED
INTEGRITY_OPENS_KEY = metakeys.INTEGRITY_OPENS
#: The full check is due once a day, or after this many opens, whichever comes first.
INTEGRITY_EVERY = timedelta(days=1)
INTEGRITY_EVERY_OPENS = 20


class Store(RecordStore, QueryStore, OutboxStore, ZoneStore, WorkOrderStore, NoticeStore):
    """The officer's offline store. Open with ``Store.open(path, catalogue=...)``; see the module doc."""

    def __init__(
        self,
        conn: sqlite3.Connection,
        catalogue: Catalogue,
        *,
        memory: bool,
        path: Path | None = None,
        open_check: str = CHECK_NONE,
    ) -> None:
        """Use ``Store.open``; this takes an already checked connection (autocommit mode)."""
        self.catalogue = catalogue
        self._lock = threading.RLock()
        self._closed = False
        self._path = path
        #: which check the open ran: ``"none"`` (new file), ``"cheap"`` (after a clean close), ``"full"``
        self.open_check = open_check
        configure(conn, memory=memory)
        self._conn = conn
        self._db = Database(conn, execute_plugins=False)
        self._migrate()
        with self._write():
            self._device_id = self._meta_init(metakeys.DEVICE_ID, lambda: str(uuid.uuid4()))
            self._install_tag = self._meta_init(metakeys.INSTALL_TAG, make_install_tag)
            # the marker goes in this session's first write: from here on only ``close`` puts it back
            conn.execute("DELETE FROM meta WHERE key = ?", (CLEAN_CLOSE_KEY,))
            if open_check == CHECK_FULL:
                self._integrity_passed(conn)
            else:
                opens = self._meta_value(conn, INTEGRITY_OPENS_KEY, 0)
                self._meta_put(conn, INTEGRITY_OPENS_KEY, (opens if isinstance(opens, int) else 0) + 1)

    @classmethod
    def open(cls, path: str | Path = ":memory:", *, catalogue: Catalogue, full_check: bool = False) -> Store:
        """Open (creating if needed) the store at ``path``; ``":memory:"`` for a throw-away store.

        Raises StoreCorrupt (damaged, not SQLite, or another application's database) / StoreTooNew (file
        untouched), StoreError if it cannot be opened at all. After a clean ``close`` only the cheap check
        runs (milliseconds); otherwise, or with ``full_check``, ``PRAGMA integrity_check`` reads the whole
        file (about 1.5 s for a 200 MiB store on a server disk). ``open_check`` says which ran.
        """
        memory = str(path) == ":memory:"
        check = CHECK_NONE
        if not memory:
            path = Path(path)
            check = check_file(path, SCHEMA_VERSION, full=full_check)
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
            return cls(conn, catalogue, memory=memory, path=None if memory else Path(path), open_check=check)
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
        """Close the store; the last write is the clean-shutdown marker (not on a file found damaged)."""
        with self._lock:
            if not self._closed:
                if self._damaged is None and self._path is not None:
                    # e.g. a full disk: no marker, so the next open checks fully
                    with contextlib.suppress(StoreError), self._write() as conn:
                        self._meta_put(conn, CLEAN_CLOSE_KEY, datetime.now(UTC).isoformat())
                self._closed = True
                self._db.close()

    # ------------------------------------------------------------------------------ integrity schedule

    @staticmethod
    def _meta_value(conn: sqlite3.Connection, key: str, default: Any) -> Any:
        row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return json.loads(row[0]) if row is not None else default

    @staticmethod
    def _meta_put(conn: sqlite3.Connection, key: str, value: Any) -> None:
        conn.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, dumps(value)),
        )

    def _integrity_passed(self, conn: sqlite3.Connection) -> None:
        self._meta_put(conn, INTEGRITY_CHECKED_KEY, datetime.now(UTC).isoformat())
        self._meta_put(conn, INTEGRITY_OPENS_KEY, 0)

    def integrity_check_due(self, now: datetime | None = None) -> bool:
        """True when the scheduled full check should run: never run on this file, a day since the last
        one, ``INTEGRITY_EVERY_OPENS`` opens since, or the clock now before the last one (a phone clock
        set back: check rather than trust it)."""
        if self._path is None:
            return False
        now = now or datetime.now(UTC)
        last = self.meta_get(INTEGRITY_CHECKED_KEY)
        opens = self.meta_get(INTEGRITY_OPENS_KEY, 0)
        if isinstance(opens, int) and opens >= INTEGRITY_EVERY_OPENS:
            return True
        try:
            checked = datetime.fromisoformat(last) if isinstance(last, str) else None
        except ValueError:
            checked = None
        if checked is None or checked.tzinfo is None:
            return True
        return not (checked - INTEGRITY_EVERY < now < checked + INTEGRITY_EVERY)

    def check_integrity(self) -> None:
        """The full ``PRAGMA integrity_check`` of the file, on a read-only connection of its own (the
        store stays usable meanwhile: call it from a background thread). Raises the same ``StoreCorrupt``
        an open would; from then on the store refuses writes and its close is not marked clean, so the
        next start refuses the file. The file is never changed by the check."""
        if self._path is None:
            return
        self._guard()
        conn = read_only(self._path)
        try:
            problems = integrity_problems(conn)
        finally:
            conn.close()
        if problems:
            error = damaged(self._path, problems)
            with self._lock:
                self._damaged = error
            raise error
        with self._write() as write:
            self._integrity_passed(write)

    @property
    def damage(self) -> StoreCorrupt | None:
        """The damage a background integrity check found, or None."""
        return self._damaged

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
    "NEARBY_SQL",
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
    "NearbySubject",
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
    "distance_m",
    "extra_candidates",
    "name_candidates",
    "phone_part",
    "place_box",
    "search_chars",
    "search_key",
    "subject_char_rows",
    "subject_row",
]
