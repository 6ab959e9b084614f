"""File safety of the phone store: what happens before and while the SQLite file is opened.

``check_file`` looks at an existing file read-only before the store writes anything (SQLite header, this
app's ``PRAGMA application_id``, schema version, then an integrity check): a damaged file, another
application's database or one written by a newer app is refused with ``StoreCorrupt`` / ``StoreTooNew``
and left byte-for-byte as it was, so support can still recover it. A hot rollback journal left by a
first open the app was killed in is first rolled back by SQLite itself. ``configure`` sets up an opened
connection for durability: WAL journal (files only) with ``synchronous=FULL``, so a committed save
survives power loss, foreign keys on and a busy timeout.

Which integrity check runs depends on how the app last stopped. ``Store.close`` writes a clean-shutdown
marker into ``meta`` (``CLEAN_CLOSE_KEY``) as its last write and ``Store.open`` deletes it in its first
write transaction, so the marker is present only if every write of the last session ended with a clean
close. Marker present: the cheap check (``quick_check`` of the small tables the app reads at start,
``CHEAP_CHECK_TABLES``; a few ms). Marker missing (a kill, a power cut, a crash, a file from an older app
version, a file copied in): the full ``PRAGMA integrity_check`` of the whole file (about 1.5 s for a
200 MiB store here, several times that on a phone), exactly as every open did before. Damage that arrives
after a clean close (flash wear, a restored backup) is found by the full check the app runs on a schedule
in the background (``Store.check_integrity``, ``integrity_check_due``), which reports it the same way.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from mobile import metakeys
from mobile.migrations import APPLICATION_ID
from mobile.store_core import StoreCorrupt, StoreError, StoreTooNew

_SQLITE_HEADER = b"SQLite format 3\x00"

#: ``meta`` key of the clean-shutdown marker (its value: when the store was closed, ISO 8601).
CLEAN_CLOSE_KEY = metakeys.CLEAN_CLOSE
#: The tables the cheap check looks at on a clean open: what the app reads before its first screen
#: (settings, the signed-in officer, the open shift, what waits to be sent). The big tables (cases,
#: subjects and their indexes) are left to the scheduled full check.
CHEAP_CHECK_TABLES = ("meta", "officers", "shifts", "counters", "outbox")
#: What ``check_file`` did: nothing (no file or an empty one), the cheap check, the full check.
CHECK_NONE, CHECK_CHEAP, CHECK_FULL = "none", "cheap", "full"


def configure(conn: sqlite3.Connection, *, memory: bool) -> None:
    """Rows by name, busy timeout, WAL (not for ``:memory:``), ``synchronous=FULL``, foreign keys."""
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA busy_timeout = 5000")
    if not memory:
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise StoreError(
                f"could not switch the database to WAL (got {mode})",
                zh=f"无法启用数据库预写日志（WAL）模式：{mode}",
                code="store_open",
            )
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute("PRAGMA foreign_keys = ON")


def _roll_back_interrupted_write(path: Path) -> None:
    """Let SQLite recover a write the app was killed in (a hot rollback journal beside the file).

    Only a first open can leave one (a new file is switched to WAL through a rollback journal). A read-only
    connection cannot roll it back and would see the file as damaged on every later start; the first read
    on a read-write connection restores the last committed state, which is SQLite's own recovery, not a
    change of the officer's data."""
    journal = path.with_name(path.name + "-journal")
    if not journal.exists() or journal.stat().st_size == 0:
        return
    conn = sqlite3.connect(path)
    try:
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.DatabaseError:
        pass  # a damaged file: the read-only check below reports it
    finally:
        conn.close()


def _clean_close_marker(conn: sqlite3.Connection) -> bool:
    """True if the last session ended with ``Store.close`` (the marker is in ``meta``)."""
    try:
        row = conn.execute("SELECT 1 FROM meta WHERE key = ?", (CLEAN_CLOSE_KEY,)).fetchone()
    except sqlite3.DatabaseError:
        return False  # no meta table yet, or it cannot be read: the full check decides
    return row is not None


def integrity_problems(conn: sqlite3.Connection, tables: tuple[str, ...] | None = None) -> list[str]:
    """``PRAGMA integrity_check`` of the whole file (``tables`` None), else ``quick_check`` of each of
    ``tables`` with its indexes: ``[]`` when all is well, else SQLite's first problems."""
    try:
        if tables is None:
            rows = [row[0] for row in conn.execute("PRAGMA integrity_check(5)").fetchall()]
        else:
            rows = []
            for table in tables:
                rows += [row[0] for row in conn.execute(f"PRAGMA quick_check({table})").fetchall()]
    except sqlite3.DatabaseError as exc:
        return [str(exc)]
    return [row for row in rows if row != "ok"]


def damaged(path: Path, problems: list[str]) -> StoreCorrupt:
    """The error for a file that failed an integrity check (the same whether at open or later)."""
    detail = "; ".join(problems)
    return StoreCorrupt(
        f"{path.name} is damaged ({detail}); the file was left unchanged",
        zh=f"数据库文件 {path.name} 已损坏（{detail}），文件未作任何改动，请联系技术支持",
        field="path",
    )


def read_only(path: Path) -> sqlite3.Connection:
    """A read-only connection to ``path`` (it can never change the file)."""
    return sqlite3.connect(path.resolve().as_uri() + "?mode=ro", uri=True, check_same_thread=False)


def check_file(path: Path, schema_version: int, *, full: bool = False) -> str:
    """Refuse a damaged or too-new file (schema above ``schema_version``, the newest this app writes)
    without writing to it (read-only connection). Runs the full integrity check unless the file carries
    the clean-shutdown marker (``full`` forces it); returns which check ran (``CHECK_*``)."""
    if not path.exists():
        return CHECK_NONE
    if not path.is_file():
        raise StoreError(
            f"{path} is not a file",
            zh=f"{path} 不是文件，无法作为数据库打开",
            field="path",
            code="store_open",
        )
    with path.open("rb") as handle:
        header = handle.read(100)
    if not header:
        return CHECK_NONE  # an empty file is a new database
    if len(header) < 100 or not header.startswith(_SQLITE_HEADER):
        raise StoreCorrupt(
            f"{path.name} is not a StreetPatrol database (not SQLite); the file was left unchanged",
            zh=f"{path.name} 不是本应用的数据库文件（不是 SQLite），文件未作任何改动",
            field="path",
        )
    _roll_back_interrupted_write(path)
    conn = read_only(path)
    check = CHECK_FULL
    try:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        app_id = conn.execute("PRAGMA application_id").fetchone()[0]
        if app_id != APPLICATION_ID and (
            version or conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
        ):
            raise StoreCorrupt(
                f"{path.name} is a database of another application; the file was left unchanged",
                zh=f"{path.name} 是其他应用的数据库，不是本应用的数据文件，文件未作任何改动",
                field="path",
                code="store_foreign",
            )
        if version > schema_version:
            raise StoreTooNew(
                f"{path.name} was written by a newer app version (schema {version}, this app reads up to "
                f"{schema_version}); update the app. The file was left unchanged",
                zh=f"{path.name} 由更新版本的应用写入（数据版本 {version}，"
                f"本应用最高支持 {schema_version}），请升级应用。文件未作任何改动",
                field="path",
            )
        if not full and _clean_close_marker(conn):
            check = CHECK_CHEAP
        problems = integrity_problems(conn, CHEAP_CHECK_TABLES if check == CHECK_CHEAP else None)
    except sqlite3.DatabaseError as exc:
        problems = [str(exc)]
    finally:
        conn.close()
    if problems:
        raise damaged(path, problems)
    return check
