"""The phone's offline store: one SQLite file holding everything the officer records until HQ has it.

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

This is the only phone-side module that imports ``sqlite_utils``; the rest of the app sees only the
methods below and the model's records.
"""

from __future__ import annotations

import difflib
import json
import math
import sqlite3
import threading
import unicodedata
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from sqlite_utils import Database

from enforcement.catalogue import Catalogue
from enforcement.codec import case_from_dict, subject_from_dict, to_json_dict
from enforcement.identifiers import normalise_phone, normalise_plate
from enforcement.model import (
    Case,
    CaseStatus,
    EnforcementError,
    HistoryEntry,
    Officer,
    PhotoKind,
    PhotoRef,
    Review,
    ReviewDecision,
    Role,
    Shift,
    Stage,
    Subject,
    SyncState,
    local_date,
    new_id,
)
from enforcement.numbering import format_case_no, make_install_tag
from enforcement.text import LocalizedError
from enforcement.validation import validate_case, validate_subject
from mobile import metakeys, squadstore
from mobile.migrations import APPLICATION_ID, MIGRATIONS, SCHEMA_VERSION
from mobile.squadstore import SquadDay

T = TypeVar("T")

_SQLITE_HEADER = b"SQLite format 3\x00"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_CHUNK = 500  # bound on host parameters per statement


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


def _refuse(code: str, field: str, en: str, zh: str) -> StoreRefused:
    return StoreRefused(en, zh=zh, field=field, code=code)


# ---------------------------------------------------------------------------------------- records


@dataclass(frozen=True, slots=True)
class LoggedCase:
    """One line of the officer's patrol log: the current version of a case and where it stands."""

    case: Case
    sync_state: SyncState
    review: Review | None
    hq_stage: Stage | None
    photos_missing: int  # photos of this case not yet uploaded to HQ
    # HQ's reason for ``hq_stage``, naming the earlier cases HQ counted
    # ("第3次 · 处罚：10-02 劝导，11-01 警告"); "" when HQ sent none
    hq_reason_zh: str = ""
    hq_reason_en: str = ""


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    seq: int
    record_id: str
    kind: str  # "case" | "subject" | "shift" | "review"
    payload: dict[str, Any]
    size: int  # bytes of the JSON payload (UTF-8)
    attempts: int
    parked_code: str = ""
    parked_reason_zh: str = ""
    parked_reason_en: str = ""


# ---------------------------------------------------------------------------------------- helpers


def _utc_us(moment: datetime) -> int:
    """Microseconds since the Unix epoch of an aware datetime (for ordering and day ranges)."""
    return (moment - _EPOCH) // _MICROSECOND


def _aware(moment: object, field: str) -> datetime:
    if not isinstance(moment, datetime) or moment.tzinfo is None:
        raise _refuse(
            "time_not_aware", field, f"{field}: a time with a time zone is required", f"{field}：时间缺少时区"
        )
    return moment


def _text(value: object, field: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _refuse("required", field, f"{field} is required", f"缺少必填项：{field}")
    return value


def _enum(kind: Callable[[Any], T], value: object, field: str) -> T:
    try:
        return kind(value)
    except ValueError as exc:
        raise _refuse(
            "bad_value", field, f"{field}: {value!r} is not allowed", f"{field}：取值无效（{value}）"
        ) from exc


def _dumps(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def search_key(text: str) -> str:
    """The form names are matched in: NFKC (full-width → half-width) and case-folded; rare characters such
    as 㐂 or 𠮷 pass through unchanged."""
    return unicodedata.normalize("NFKC", text).casefold().strip()


def _try(parse: Callable[[str], str], text: str) -> str | None:
    try:
        return parse(text)
    except (EnforcementError, ValueError):
        return None


def _chunks(items: Sequence[T]) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


def _review_of(row: sqlite3.Row) -> Review:
    return Review(
        id=row["id"],
        case_id=row["case_id"],
        case_no=row["case_no"],
        decision=ReviewDecision(row["decision"]),
        reviewer_badge=row["reviewer_badge"],
        decided_at=datetime.fromisoformat(row["decided_at"]),
        comment=row["comment"],
    )


def _shift_of(row: sqlite3.Row) -> Shift:
    return Shift(
        id=row["id"],
        officer_badge=row["officer_badge"],
        started_at=datetime.fromisoformat(row["started_at"]),
        ended_at=datetime.fromisoformat(row["ended_at"]) if row["ended_at"] else None,
        grid_cell=row["grid_cell"],
    )


def _entry_of(row: sqlite3.Row) -> OutboxEntry:
    return OutboxEntry(
        seq=row["seq"],
        record_id=row["record_id"],
        kind=row["kind"],
        payload=json.loads(row["payload"]),
        size=row["size"],
        attempts=row["attempts"],
        parked_code=row["parked_code"],
        parked_reason_zh=row["parked_reason_zh"],
        parked_reason_en=row["parked_reason_en"],
    )


# ------------------------------------------------------------------------------------ row mapping
# Shared with bench/store.py, whose bulk loader fills a store through the same statements.

CASE_INSERT = (
    "INSERT INTO cases (id, case_no, version, supersedes, officer_badge, squad_code, device_id,"
    " violation_code, occurred_at, occurred_utc, local_day, subject_id, subject_unknown,"
    " computed_stage, chosen_stage, stage_ordinal, stage_override_reason, disposition, fine_yuan,"
    " lat, lon, accuracy_m, address, grid_cell, no_fix_reason, status, record, saved_at)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
CASE_PHOTO_INSERT = (
    "INSERT INTO case_photos (case_id, ordinal, sha256, size, kind, width, height)"
    " VALUES (?, ?, ?, ?, ?, ?, ?)"
)
PHOTO_QUEUE_INSERT = (
    "INSERT INTO photo_queue (sha256, size, kind, width, height) VALUES (?, ?, ?, ?, ?)"
    " ON CONFLICT (sha256) DO NOTHING"
)
SEIZED_ITEM_INSERT = (
    "INSERT INTO seized_items (case_id, ordinal, kind, quantity, note) VALUES (?, ?, ?, ?, ?)"
)
OUTBOX_INSERT = "INSERT INTO outbox (kind, record_id, payload, size, created_at) VALUES (?, ?, ?, ?, ?)"
SUBJECT_UPSERT = (
    "INSERT INTO subjects (id, kind, name, name_key, phone, plate, address, extra_key, id_number,"
    " hardship, origin, record, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, name = excluded.name,"
    " name_key = excluded.name_key, phone = excluded.phone, plate = excluded.plate,"
    " address = excluded.address, extra_key = excluded.extra_key, id_number = excluded.id_number,"
    " hardship = excluded.hardship, origin = excluded.origin, record = excluded.record,"
    " updated_at = excluded.updated_at"
)


def case_row(case: Case, record: str, saved_at: str) -> tuple[Any, ...]:
    """The ``cases`` row of a case version (``record`` = its codec JSON text), in CASE_INSERT order."""
    loc = case.location
    return (
        case.id,
        case.case_no,
        case.version,
        case.supersedes,
        case.officer_badge,
        case.squad_code,
        case.device_id,
        case.violation_code,
        case.occurred_at.isoformat(),
        _utc_us(case.occurred_at),
        case.local_day.isoformat(),
        case.subject_id,
        int(case.subject_unknown),
        int(case.computed_stage),
        int(case.chosen_stage),
        case.stage_ordinal,
        case.stage_override_reason,
        str(case.disposition),
        case.fine_yuan,
        loc.lat,
        loc.lon,
        loc.accuracy_m,
        loc.address,
        loc.grid_cell,
        loc.no_fix_reason,
        str(case.status),
        record,
        saved_at,
    )


def case_child_rows(case: Case) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """Rows for CASE_PHOTO_INSERT, PHOTO_QUEUE_INSERT and SEIZED_ITEM_INSERT."""
    queue = [(p.sha256, p.size, str(p.kind), p.width, p.height) for p in case.photos]
    photos = [(case.id, i, *photo) for i, photo in enumerate(queue)]
    seized = [(case.id, i, item.kind, item.quantity, item.note) for i, item in enumerate(case.seized_items)]
    return photos, queue, seized


def subject_row(subject: Subject, origin: str, updated_at: str) -> tuple[Any, ...]:
    """The ``subjects`` row (with its search keys), in SUBJECT_UPSERT order."""
    extra = " ".join(part for part in (subject.address, subject.plate, subject.description) if part)
    return (
        subject.id,
        str(subject.kind),
        subject.name,
        search_key(subject.name),
        subject.phone,
        subject.plate,
        subject.address,
        search_key(extra),
        subject.id_number,
        int(subject.hardship),
        origin,
        _dumps(to_json_dict(subject)),
        updated_at,
    )


# ----------------------------------------------------------------------------------------- queries
# Also shared with bench/store.py (its plain-sqlite3 floor runs the very same statements).

PATROL_LOG_SQL = (
    "SELECT c.id, c.record, c.sync_state, c.hq_stage, c.hq_reason_zh, c.hq_reason_en,"
    " (SELECT count(*) FROM case_photos p JOIN photo_queue q ON q.sha256 = p.sha256"
    " WHERE p.case_id = c.id AND q.uploaded_at IS NULL) AS missing"
    " FROM cases c WHERE c.officer_badge = ? AND c.local_day = ? AND c.is_current = 1"
    " ORDER BY c.occurred_utc DESC, c.rowid DESC"
)
# HQ's word on an own case (Store.set_sync_state): the reason stays when no stage came, or when the same
# stage came without a reason; otherwise it is the one that came ('' clears an old stage's reason).
SET_SYNC_STATE_SQL = (
    "UPDATE cases SET sync_state = :state,"
    " hq_reason_zh = CASE WHEN :stage IS NULL OR (:zh = '' AND :en = '' AND hq_stage IS :stage)"
    " THEN hq_reason_zh ELSE :zh END,"
    " hq_reason_en = CASE WHEN :stage IS NULL OR (:zh = '' AND :en = '' AND hq_stage IS :stage)"
    " THEN hq_reason_en ELSE :en END,"
    " hq_stage = coalesce(:stage, hq_stage) WHERE id = :id"
)
OWN_HISTORY_SQL = (
    "SELECT id, case_no, violation_code, occurred_at, chosen_stage, status, version FROM cases"
    " WHERE subject_id = ?"
)
REMOTE_HISTORY_SQL = (
    "SELECT case_id, case_no, violation_code, occurred_at, stage, status, version FROM remote_history"
    " WHERE subject_id = ?"
)
PLATE_SQL = "SELECT id, record FROM subjects WHERE plate = ? LIMIT ?"
PHONE_SQL = "SELECT id, record FROM subjects WHERE phone = ? LIMIT ?"
#: Subjects whose phone (area-code dash ignored) holds a run of digits, newest first.
PHONE_PART_SQL = (
    "SELECT id, record FROM subjects WHERE phone <> '' AND instr(replace(phone, '-', ''), ?) > 0"
    " ORDER BY n DESC LIMIT ?"
)
#: The fewest digits searched for inside phone numbers (the last four, a middle part).
PHONE_PART_MIN = 4


def phone_part(text: str) -> str | None:
    """The digits of ``text`` when it is only a part of a phone number (separators and full-width digits
    allowed), else None."""
    digits = "".join(c for c in unicodedata.normalize("NFKC", text) if c not in " -()（）")
    return digits if len(digits) >= PHONE_PART_MIN and digits.isascii() and digits.isdigit() else None


#: A name sharing fewer characters with the query than this ratio (difflib) is not shown as similar.
SIMILAR_RATIO = 0.5


def search_chars(key: str) -> set[str]:
    """The characters a search key is indexed under (spaces are not)."""
    return {c for c in key if not c.isspace()}


SUBJECT_CHAR_INSERT = "INSERT INTO subject_chars (ch, in_name, subject, at, key_len) VALUES (?, ?, ?, ?, ?)"
SUBJECT_CHAR_DELETE = "DELETE FROM subject_chars WHERE ch = ? AND in_name = ? AND subject = ?"


def subject_char_rows(n: int, name_key: str, extra_key: str) -> set[tuple[str, int, int, int, int]]:
    """``subject_chars`` rows of subject ``n`` (SUBJECT_CHAR_INSERT order)."""
    rows = set()
    for in_name, key in ((1, name_key), (0, extra_key)):
        rows |= {(c, in_name, n, key.index(c) + 1, len(key)) for c in search_chars(key)}
    return rows


def name_candidates(conn: sqlite3.Connection, key: str, limit: int) -> list[tuple[int, str, int]]:
    """``(subjects.n, name_key, position of key in it)`` of the subjects whose name holds at least ``need``
    of the query's distinct characters (all for one character, else max(2, 60%) of up to 8), read from the
    character index; those holding the most characters first, then those starting with the query's first
    character, then the shorter names; at most ``max(100, 5 * limit)``, and only these are read."""
    chars = sorted(search_chars(key))[:8]
    if not chars:
        return []
    need = max(2, math.ceil(len(chars) * 0.6)) if len(chars) >= 2 else 1
    params: dict[str, Any] = {"q": key, "first": key[0], "need": need, "cap": max(100, 5 * limit)}
    params.update({f"c{i}": c for i, c in enumerate(chars)})
    marks = ", ".join(f":c{i}" for i in range(len(chars)))
    sql = (
        "WITH best AS (SELECT subject, count(*) AS hits, max(key_len) AS key_len,"  # noqa: S608
        " max(ch = :first AND at = 1) AS starts FROM subject_chars"
        f" WHERE ch IN ({marks}) AND in_name = 1 GROUP BY subject HAVING count(*) >= :need"
        " ORDER BY hits DESC, starts DESC, key_len LIMIT :cap)"
        " SELECT s.n, s.name_key, instr(s.name_key, :q) FROM best b JOIN subjects s ON s.n = b.subject"
    )
    return [(row[0], row[1], row[2]) for row in conn.execute(sql, params).fetchall()]


def extra_candidates(conn: sqlite3.Connection, key: str, limit: int) -> list[tuple[int, str]]:
    """``(subjects.n, name_key)`` of up to ``limit`` subjects whose address, plate or description contains
    ``key``: the postings of the query's rarest character (counted up to 2,000), each checked, stopping
    at ``limit``."""
    chars = sorted(search_chars(key))
    if not chars or limit <= 0:
        return []
    counts = {
        c: conn.execute(
            "SELECT count(*) FROM (SELECT 1 FROM subject_chars WHERE ch = ? AND in_name = 0 LIMIT 2000)", (c,)
        ).fetchone()[0]
        for c in chars
    }
    rarest = min(chars, key=lambda c: counts[c])
    if counts[rarest] == 0:
        return []  # a character no address holds: nothing can contain the query
    rows = conn.execute(
        "SELECT s.n, s.name_key FROM subject_chars c JOIN subjects s ON s.n = c.subject"
        " WHERE c.ch = ? AND c.in_name = 0 AND instr(s.extra_key, ?) > 0 LIMIT ?",
        (rarest, key, limit),
    ).fetchall()
    return [(row[0], row[1]) for row in rows]


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


def _check_file(path: Path) -> None:
    """Refuse a damaged or too-new file without writing to it (read-only connection)."""
    if not path.exists():
        return
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
        return  # an empty file is a new database
    if len(header) < 100 or not header.startswith(_SQLITE_HEADER):
        raise StoreCorrupt(
            f"{path.name} is not a StreetPatrol database (not SQLite); the file was left unchanged",
            zh=f"{path.name} 不是本应用的数据库文件（不是 SQLite），文件未作任何改动",
            field="path",
        )
    _roll_back_interrupted_write(path)
    conn = sqlite3.connect(path.resolve().as_uri() + "?mode=ro", uri=True)
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
        if version > SCHEMA_VERSION:
            raise StoreTooNew(
                f"{path.name} was written by a newer app version (schema {version}, this app reads up to "
                f"{SCHEMA_VERSION}); update the app. The file was left unchanged",
                zh=f"{path.name} 由更新版本的应用写入（数据版本 {version}，"
                f"本应用最高支持 {SCHEMA_VERSION}），请升级应用。文件未作任何改动",
                field="path",
            )
        problems = [row[0] for row in conn.execute("PRAGMA integrity_check(5)").fetchall()]
    except sqlite3.DatabaseError as exc:
        problems = [str(exc)]
    finally:
        conn.close()
    if problems != ["ok"]:
        detail = "; ".join(problems)
        raise StoreCorrupt(
            f"{path.name} is damaged ({detail}); the file was left unchanged",
            zh=f"数据库文件 {path.name} 已损坏（{detail}），文件未作任何改动，请联系技术支持",
            field="path",
        )


# ------------------------------------------------------------------------------------------ store


class Store:
    """The officer's offline store. Open with ``Store.open(path, catalogue=...)``; see the module doc."""

    def __init__(self, conn: sqlite3.Connection, catalogue: Catalogue, *, memory: bool) -> None:
        """Use ``Store.open``; this takes an already checked connection (autocommit mode)."""
        self.catalogue = catalogue
        self._lock = threading.RLock()
        self._closed = False
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
            _check_file(path)
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

    # ------------------------------------------------------------------------------ transactions

    def _guard(self) -> None:
        if self._closed:
            raise StoreError("the store is closed", zh="数据库已关闭", code="store_closed")

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (``BEGIN IMMEDIATE`` … ``COMMIT``), rolled back on any error; SQLite
        errors become StoreWriteFailed."""
        with self._lock:
            self._guard()
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
        self._conn.execute("INSERT INTO meta (key, value) VALUES (?, ?)", (key, _dumps(value)))
        return value

    def meta_get(self, key: str, default: Any = None) -> Any:
        rows = self._rows("SELECT value FROM meta WHERE key = ?", (key,))
        return json.loads(rows[0][0]) if rows else default

    def meta_set(self, key: str, value: Any) -> None:
        """Store a JSON value under ``key`` (device id, sync cursor, token, settings …)."""
        _text(key, "key")
        try:
            text = _dumps(value)
        except (TypeError, ValueError) as exc:
            raise _refuse(
                "meta_not_json",
                "value",
                f"setting {key!r} is not JSON-serialisable",
                f"设置项 {key} 的值无法保存",
            ) from exc
        with self._write() as conn:
            conn.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, text),
            )

    @property
    def device_id(self) -> str:
        """This install's device id (UUID made at first open)."""
        return self._device_id

    @property
    def install_tag(self) -> str:
        """This install's tag in case numbers (``numbering.make_install_tag`` at first open)."""
        return self._install_tag

    # ----------------------------------------------------------------------------------- officers

    def save_officer(self, officer: Officer) -> None:
        """Insert or update the officer (from sign-in)."""
        _text(officer.badge, "badge")
        _text(officer.name, "name")
        _text(officer.squad_code, "squad_code")
        role = _enum(Role, officer.role, "role")
        with self._write() as conn:
            conn.execute(
                "INSERT INTO officers (badge, name, squad_code, squad_name, district, role)"
                " VALUES (?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (badge) DO UPDATE SET name = excluded.name, squad_code = excluded.squad_code,"
                " squad_name = excluded.squad_name, district = excluded.district, role = excluded.role",
                (
                    officer.badge,
                    officer.name,
                    officer.squad_code,
                    officer.squad_name,
                    officer.district,
                    role.value,
                ),
            )

    def get_officer(self, badge: str) -> Officer | None:
        rows = self._rows("SELECT * FROM officers WHERE badge = ?", (badge,))
        if not rows:
            return None
        row = rows[0]
        return Officer(
            badge=row["badge"],
            name=row["name"],
            squad_code=row["squad_code"],
            squad_name=row["squad_name"],
            district=row["district"],
            role=Role(row["role"]),
        )

    # ------------------------------------------------------------------------------------- shifts

    @staticmethod
    def _outbox_add(conn: sqlite3.Connection, kind: str, record_id: str, record: Any) -> None:
        payload = _dumps(to_json_dict(record))
        conn.execute(
            OUTBOX_INSERT,
            (kind, record_id, payload, len(payload.encode("utf-8")), datetime.now(UTC).isoformat()),
        )

    def start_shift(self, badge: str, at: datetime, grid_cell: str = "") -> Shift:
        """Start a patrol shift; refused while the officer has one open. Goes to the outbox (kind "shift")."""
        _text(badge, "officer_badge")
        _aware(at, "started_at")
        shift = Shift(id=new_id(), officer_badge=badge, started_at=at, grid_cell=grid_cell)
        with self._write() as conn:
            if conn.execute(
                "SELECT 1 FROM shifts WHERE officer_badge = ? AND ended_at IS NULL", (badge,)
            ).fetchone():
                raise _refuse(
                    "shift_open",
                    "officer_badge",
                    f"officer {badge} already has a shift open; end it first",
                    f"执法队员 {badge} 已有未结束的值班，请先结束",
                )
            conn.execute(
                "INSERT INTO shifts (id, officer_badge, started_at, started_utc, local_day, grid_cell)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (shift.id, badge, at.isoformat(), _utc_us(at), local_date(at).isoformat(), grid_cell),
            )
            self._outbox_add(conn, "shift", shift.id, shift)
        return shift

    def end_shift(self, shift_id: str, at: datetime) -> Shift:
        """End an open shift (not before it started). The ended record goes to the outbox again."""
        _aware(at, "ended_at")
        with self._write() as conn:
            row = conn.execute("SELECT * FROM shifts WHERE id = ?", (shift_id,)).fetchone()
            if row is None:
                raise _refuse("unknown_shift", "shift_id", f"no shift {shift_id}", "找不到该值班记录")
            shift = _shift_of(row)
            if shift.ended_at is not None:
                raise _refuse("shift_ended", "shift_id", "this shift has already ended", "该值班已经结束")
            if at < shift.started_at:
                raise _refuse(
                    "shift_end_before_start",
                    "ended_at",
                    "a shift cannot end before it started",
                    "结束时间早于开始时间",
                )
            shift = Shift(shift.id, shift.officer_badge, shift.started_at, at, shift.grid_cell)
            conn.execute("UPDATE shifts SET ended_at = ? WHERE id = ?", (at.isoformat(), shift_id))
            self._outbox_add(conn, "shift", shift.id, shift)
        return shift

    def open_shift(self, badge: str) -> Shift | None:
        rows = self._rows("SELECT * FROM shifts WHERE officer_badge = ? AND ended_at IS NULL", (badge,))
        return _shift_of(rows[0]) if rows else None

    def shifts_on(self, badge: str, day: date) -> list[Shift]:
        """The officer's shifts started on ``day`` (bureau-local), earliest first."""
        rows = self._rows(
            "SELECT * FROM shifts WHERE officer_badge = ? AND local_day = ? ORDER BY started_utc",
            (badge, day.isoformat()),
        )
        return [_shift_of(row) for row in rows]

    # ---------------------------------------------------------------------------------- numbering

    def reserve_case_no(self, squad_code: str, badge: str, day: date) -> str:
        """The next case number of this install, committed durably before it is returned: a number is
        never handed out twice, even if the case it was meant for is never saved."""
        with self._write() as conn:
            conn.execute(
                "INSERT INTO counters (name, value) VALUES ('case_no', 1)"
                " ON CONFLICT (name) DO UPDATE SET value = value + 1"
            )
            seq = int(conn.execute("SELECT value FROM counters WHERE name = 'case_no'").fetchone()[0])
            return format_case_no(squad_code, badge, day, self._install_tag, seq)

    # ----------------------------------------------------------------------------------- subjects

    @staticmethod
    def _put_subject(conn: sqlite3.Connection, subject: Subject, origin: str) -> None:
        """Insert or update the subject and its rows in the character index."""
        old = conn.execute(
            "SELECT n, name_key, extra_key FROM subjects WHERE id = ?", (subject.id,)
        ).fetchone()
        row = subject_row(subject, origin, datetime.now(UTC).isoformat())
        conn.execute(SUBJECT_UPSERT, row)
        if old is None:
            n = conn.execute("SELECT n FROM subjects WHERE id = ?", (subject.id,)).fetchone()[0]
            before: set[tuple[str, int, int, int, int]] = set()
        else:
            n, before = old[0], subject_char_rows(old[0], old[1], old[2])
        after = subject_char_rows(n, row[3], row[7])
        conn.executemany(SUBJECT_CHAR_DELETE, [row[:3] for row in before - after])
        conn.executemany(SUBJECT_CHAR_INSERT, after - before)

    def save_subject(self, subject: Subject) -> Subject:
        """Validate (normalising plate/phone, checking the ID number), save, queue for HQ; returns the
        normalised subject as stored."""
        subject = validate_subject(subject)
        _text(subject.id, "id")
        with self._write() as conn:
            self._put_subject(conn, subject, "local")
            self._outbox_add(conn, "subject", subject.id, subject)
        return subject

    def apply_remote_subject(self, subject: Subject) -> None:
        """Store a subject pulled from HQ (already validated there; not queued back)."""
        _text(subject.id, "id")
        with self._write() as conn:
            self._put_subject(conn, subject, "remote")

    def delete_subject(self, subject_id: str) -> None:
        """HQ's tombstone: the subject and the history pulled for it go. Cases keep their subject_id."""
        with self._write() as conn:
            old = conn.execute(
                "SELECT n, name_key, extra_key FROM subjects WHERE id = ?", (subject_id,)
            ).fetchone()
            if old is not None:
                conn.executemany(
                    SUBJECT_CHAR_DELETE, [r[:3] for r in subject_char_rows(old[0], old[1], old[2])]
                )
                conn.execute("DELETE FROM subjects WHERE n = ?", (old[0],))
            conn.execute("DELETE FROM remote_history WHERE subject_id = ?", (subject_id,))

    def get_subject(self, subject_id: str) -> Subject | None:
        rows = self._rows("SELECT record FROM subjects WHERE id = ?", (subject_id,))
        return subject_from_dict(json.loads(rows[0][0])) if rows else None

    def search_subjects(self, query: str, limit: int = 20) -> list[Subject]:
        """Subjects matching ``query``: plate exact (after normalising) or phone exact; when neither matches,
        phones holding the query's digits (e.g. the last four), then names / shop names (substring, then
        similar names sharing most characters), best first."""
        text = query.strip()
        if not text or limit <= 0:
            return []
        records: dict[str, str] = {}
        with self._read() as conn:
            plate = _try(normalise_plate, text)
            if plate:
                for row in conn.execute(PLATE_SQL, (plate, limit)).fetchall():
                    records.setdefault(row[0], row[1])
            phone = _try(normalise_phone, text)
            if phone:
                for row in conn.execute(PHONE_SQL, (phone, limit)).fetchall():
                    records.setdefault(row[0], row[1])
            digits = None if records else phone_part(text)
            if digits:  # part of a phone number
                for row in conn.execute(PHONE_PART_SQL, (digits, limit)).fetchall():
                    records.setdefault(row[0], row[1])
            if not records or digits:  # a plate or phone that matched needs no name search
                for subject_id, record in self._fuzzy(conn, search_key(text), limit):
                    records.setdefault(subject_id, record)
        return [subject_from_dict(json.loads(record)) for record in list(records.values())[:limit]]

    @staticmethod
    def _fuzzy(conn: sqlite3.Connection, key: str, limit: int) -> list[tuple[str, str]]:
        """Subjects ranked: name exact > prefix > contains the query > address/plate/description contains
        it > similar name (difflib ratio >= SIMILAR_RATIO). A later tier is looked at only while the
        earlier ones leave room. Within the substring tiers the shorter name is the closer one (difflib's
        ratio is then 2·len(query) / (len(query) + len(name)), so difflib is not needed there)."""
        ranked: list[tuple[int, float, int, int]] = []  # (tier, -similarity, length, subjects.n)
        similar: list[tuple[int, str]] = []
        for n, name, pos in name_candidates(conn, key, limit):
            if pos > 0:
                tier = 0 if name == key else 1 if name.startswith(key) else 2
                ranked.append((tier, -2 * len(key) / (len(key) + len(name)), len(name), n))
            else:
                similar.append((n, name))
        if len(ranked) < limit:
            seen = {rank[-1] for rank in ranked}
            extra = [(n, name) for n, name in extra_candidates(conn, key, limit + len(seen)) if n not in seen]
            ranked += [(3, 0.0, len(name), n) for n, name in extra[: limit - len(ranked)]]
        if len(ranked) < limit and similar:
            matcher = difflib.SequenceMatcher(None)
            matcher.set_seq2(key)  # difflib caches what it learns about the second sequence
            for n, name in similar:
                matcher.set_seq1(name)
                ratio = matcher.ratio()
                if ratio >= SIMILAR_RATIO:
                    ranked.append((4, -ratio, len(name), n))
        best = [rank[-1] for rank in sorted(ranked)[:limit]]
        if not best:
            return []
        marks = ",".join("?" * len(best))
        sql = f"SELECT n, id, record FROM subjects WHERE n IN ({marks})"  # noqa: S608
        found = {row[0]: (row[1], row[2]) for row in conn.execute(sql, best).fetchall()}
        return [found[n] for n in best]

    # -------------------------------------------------------------------------------------- cases

    def save_case(self, case: Case) -> None:
        """Validate, then write the case, its photo rows, seized items and outbox entry in ONE transaction.

        An amendment is a new version (``supersedes`` = the current version's id, ``version`` + 1, same
        ``case_no``). Saving the identical record twice is a no-op; a different record under a used id or
        case number is refused.
        """
        subject = self.get_subject(case.subject_id) if case.subject_id else None
        validate_case(case, self.catalogue, subject=subject)  # checks the subject's kind when it is known
        record = _dumps(to_json_dict(case))
        with self._write() as conn:
            existing = conn.execute("SELECT record FROM cases WHERE id = ?", (case.id,)).fetchone()
            if existing is not None:
                if existing[0] == record:
                    return
                raise _refuse(
                    "case_exists",
                    "id",
                    "a different case was already saved under this id",
                    "该案件编号已保存过其他内容",
                )
            self._check_version(conn, case)
            conn.execute(CASE_INSERT, case_row(case, record, datetime.now(UTC).isoformat()))
            photos, queue, seized = case_child_rows(case)
            conn.executemany(CASE_PHOTO_INSERT, photos)
            conn.executemany(PHOTO_QUEUE_INSERT, queue)
            conn.executemany(SEIZED_ITEM_INSERT, seized)
            conn.execute(
                OUTBOX_INSERT,
                ("case", case.id, record, len(record.encode("utf-8")), datetime.now(UTC).isoformat()),
            )

    @staticmethod
    def _check_version(conn: sqlite3.Connection, case: Case) -> None:
        """A first version needs an unused case number; an amendment must follow the current version."""
        if case.supersedes is None:  # validate_case already tied version 1 to no supersedes
            if conn.execute("SELECT 1 FROM cases WHERE case_no = ?", (case.case_no,)).fetchone():
                raise _refuse(
                    "case_no_used",
                    "case_no",
                    f"case number {case.case_no} is already used",
                    f"案件编号 {case.case_no} 已被使用",
                )
            return
        old = conn.execute(
            "SELECT case_no, version, is_current FROM cases WHERE id = ?", (case.supersedes,)
        ).fetchone()
        if old is None:
            raise _refuse(
                "supersedes_unknown",
                "supersedes",
                "the case being amended is not on this phone",
                "找不到被修改的案件",
            )
        if old["case_no"] != case.case_no:
            raise _refuse(
                "amend_case_no",
                "case_no",
                "an amendment keeps the case number",
                "修改后的案件须沿用原案件编号",
            )
        if not old["is_current"]:
            raise _refuse(
                "already_amended",
                "supersedes",
                "that version was already amended",
                "该版本已被修改过，请修改最新版本",
            )
        if case.version != old["version"] + 1:
            raise _refuse(
                "amend_version",
                "version",
                f"an amendment of version {old['version']} must be version {old['version'] + 1}",
                f"修改第 {old['version']} 版后应为第 {old['version'] + 1} 版",
            )
        conn.execute("UPDATE cases SET is_current = 0 WHERE id = ?", (case.supersedes,))

    def get_case(self, case_id: str) -> Case | None:
        rows = self._rows("SELECT record FROM cases WHERE id = ?", (case_id,))
        return case_from_dict(json.loads(rows[0][0])) if rows else None

    def case_versions(self, case_no: str) -> list[Case]:
        """Every stored version of a case, oldest first."""
        rows = self._rows("SELECT record FROM cases WHERE case_no = ? ORDER BY version", (case_no,))
        return [case_from_dict(json.loads(row[0])) for row in rows]

    def _latest_reviews(self, conn: sqlite3.Connection, case_ids: Sequence[str]) -> dict[str, Review]:
        latest: dict[str, Review] = {}
        for chunk in _chunks(case_ids):
            marks = ",".join("?" * len(chunk))
            for row in conn.execute(
                f"SELECT * FROM reviews WHERE case_id IN ({marks}) ORDER BY decided_utc, rowid",  # noqa: S608
                tuple(chunk),
            ):
                latest[row["case_id"]] = _review_of(row)
        return latest

    def patrol_log(self, badge: str, day: date) -> list[LoggedCase]:
        """The officer's cases of a bureau-local day (current versions), newest first."""
        with self._read() as conn:
            rows = conn.execute(PATROL_LOG_SQL, (badge, day.isoformat())).fetchall()
            reviews = self._latest_reviews(conn, [row["id"] for row in rows])
        return [
            LoggedCase(
                case=case_from_dict(json.loads(row["record"])),
                sync_state=SyncState(row["sync_state"]),
                review=reviews.get(row["id"]),
                hq_stage=Stage(row["hq_stage"]) if row["hq_stage"] is not None else None,
                photos_missing=row["missing"],
                hq_reason_zh=row["hq_reason_zh"],
                hq_reason_en=row["hq_reason_en"],
            )
            for row in rows
        ]

    def subject_history(self, subject_id: str) -> list[HistoryEntry]:
        """Earlier cases of a subject for the staged rule: every version saved here plus the history pulled
        from HQ, one entry per case version (HQ's entry wins for the same case id), oldest first. A case
        whose latest review withdrew it is marked WITHDRAWN."""
        with self._read() as conn:
            own = conn.execute(OWN_HISTORY_SQL, (subject_id,)).fetchall()
            remote = conn.execute(REMOTE_HISTORY_SQL, (subject_id,)).fetchall()
            reviews = self._latest_reviews(conn, [row[0] for row in own])
        entries: dict[str, HistoryEntry] = {}
        for row in [*own, *remote]:
            status = CaseStatus(row[5])
            review = reviews.get(row[0])
            if review is not None and review.decision == ReviewDecision.WITHDRAW:
                status = CaseStatus.WITHDRAWN
            entries[row[0]] = HistoryEntry(
                case_id=row[0],
                case_no=row[1],
                violation_code=row[2],
                occurred_at=datetime.fromisoformat(row[3]),
                stage=Stage(row[4]),
                status=status,
                version=row[6],
            )
        return sorted(entries.values(), key=lambda e: (e.occurred_at, e.case_no, e.version))

    def add_remote_history(self, subject_id: str, entries: Iterable[HistoryEntry]) -> None:
        """Store the subject's history pulled from HQ (replacing what was pulled before per case id)."""
        _text(subject_id, "subject_id")
        rows = []
        for entry in entries:
            _aware(entry.occurred_at, "occurred_at")
            rows.append(
                (
                    subject_id,
                    entry.case_id,
                    entry.case_no,
                    entry.violation_code,
                    entry.occurred_at.isoformat(),
                    _utc_us(entry.occurred_at),
                    int(_enum(Stage, entry.stage, "stage")),
                    str(_enum(CaseStatus, entry.status, "status")),
                    entry.version,
                )
            )
        with self._write() as conn:
            conn.executemany(
                "INSERT OR REPLACE INTO remote_history (subject_id, case_id, case_no, violation_code,"
                " occurred_at, occurred_utc, stage, status, version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )

    def violation_counts(self, badge: str) -> dict[str, int]:
        """How many cases (by case number) the officer recorded per violation code, most used first."""
        rows = self._rows(
            "SELECT violation_code, count(DISTINCT case_no) AS n FROM cases WHERE officer_badge = ?"
            " GROUP BY violation_code ORDER BY n DESC, violation_code",
            (badge,),
        )
        return {row[0]: row[1] for row in rows}

    # ------------------------------------------------------------------------------------ reviews

    def _put_review(self, conn: sqlite3.Connection, review: Review, origin: str) -> bool:
        cursor = conn.execute(
            "INSERT INTO reviews (id, case_id, case_no, decision, reviewer_badge, decided_at, decided_utc,"
            " comment, origin) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
            (
                review.id,
                review.case_id,
                review.case_no,
                str(review.decision),
                review.reviewer_badge,
                review.decided_at.isoformat(),
                _utc_us(review.decided_at),
                review.comment,
                origin,
            ),
        )
        if review.decision == ReviewDecision.RETURN:
            conn.execute(
                "UPDATE cases SET sync_state = ? WHERE id = ?", (SyncState.RETURNED.value, review.case_id)
            )
        return cursor.rowcount == 1

    @staticmethod
    def _check_review(review: Review) -> None:
        _text(review.id, "id")
        _text(review.case_id, "case_id")
        _text(review.reviewer_badge, "reviewer_badge")
        _aware(review.decided_at, "decided_at")
        _enum(ReviewDecision, review.decision, "decision")

    def apply_review(self, review: Review) -> None:
        """A review pulled from HQ (idempotent by id); a RETURN marks the case RETURNED."""
        self._check_review(review)
        with self._write() as conn:
            self._put_review(conn, review, "remote")

    def save_review(self, review: Review) -> None:
        """A squad leader's review made on this phone; queued for HQ (kind "review"). Returning or
        withdrawing a case needs a comment."""
        self._check_review(review)
        if review.decision != ReviewDecision.APPROVE and not review.comment.strip():
            raise _refuse(
                "review_comment",
                "comment",
                "returning or withdrawing a case needs a comment",
                "退回或撤销案件须填写意见",
            )
        with self._write() as conn:
            if not self._put_review(conn, review, "local"):
                raise _refuse("review_exists", "id", "this review was already saved", "该审核意见已保存")
            self._outbox_add(conn, "review", review.id, review)

    def set_sync_state(
        self,
        case_id: str,
        state: SyncState,
        hq_stage: Stage | None = None,
        *,
        hq_reason_zh: str = "",
        hq_reason_en: str = "",
    ) -> None:
        """Record what HQ said of a case; ``hq_stage`` None keeps the stage already recorded.

        ``hq_reason_zh`` / ``hq_reason_en``: HQ's reason for its stage (``case_state``), kept with the stage.
        Without a stage both stay as they are; a stage with a reason brings that reason; a stage without a
        reason keeps the stored reason only when it is the stored stage (a push answer, which has no
        reason, must not erase the reason pulled for the same stage) and clears it otherwise (an old
        reason never stands beside another stage)."""
        state = _enum(SyncState, state, "state")
        stage = int(_enum(Stage, hq_stage, "hq_stage")) if hq_stage is not None else None
        zh, en = (hq_reason_zh.strip(), hq_reason_en.strip()) if stage is not None else ("", "")
        with self._write() as conn:
            cursor = conn.execute(
                SET_SYNC_STATE_SQL, {"state": state.value, "stage": stage, "zh": zh, "en": en, "id": case_id}
            )
            if cursor.rowcount == 0:
                raise _refuse("unknown_case", "case_id", f"no case {case_id} on this phone", "本机没有该案件")

    # ------------------------------------------------------------------------------- squad feed
    # A leader's pulled squad records; the SQL lives in mobile.squadstore.

    def apply_squad_case(
        self,
        case: Case,
        *,
        hq_stage: Stage | None,
        reviews: Sequence[Review] = (),
        officer_name: str = "",
        subject_label: str = "",
        missing_photos: int = 0,
        hq_reason_zh: str = "",
        hq_reason_en: str = "",
    ) -> None:
        """A squad case version pulled from HQ (``squad_case``), with HQ's stage and the version's reviews;
        idempotent by case id and review id. Not queued back to HQ. ``hq_reason_zh`` / ``hq_reason_en``:
        HQ's reason for its stage (which earlier cases it counted), kept with the stage: when ``hq_stage``
        is None the stage and reason already stored stay."""
        _text(case.id, "id")
        _text(case.case_no, "case_no")
        _text(case.squad_code, "squad_code")
        _text(case.officer_badge, "officer_badge")
        _aware(case.occurred_at, "occurred_at")
        stage = _enum(Stage, hq_stage, "hq_stage") if hq_stage is not None else None
        for review in reviews:
            self._check_review(review)
            if review.case_id != case.id:
                raise _refuse(
                    "review_other_case",
                    "reviews",
                    f"a review of case {review.case_id} came with case {case.id}",
                    "审核意见与所附案件不符",
                )
        record = _dumps(to_json_dict(case))
        with self._write() as conn:
            squadstore.put_squad_case(
                conn,
                case,
                record,
                hq_stage=stage,
                reviews=reviews,
                officer_name=officer_name,
                subject_label=subject_label,
                missing_photos=missing_photos,
                hq_reason_zh=hq_reason_zh.strip(),
                hq_reason_en=hq_reason_en.strip(),
            )

    def apply_squad_shift(self, shift: Shift, *, officer_name: str = "", squad_code: str = "") -> None:
        """A squad member's shift pulled from HQ (``squad_shift``); idempotent by id, an end once known
        is kept. ``squad_code`` is the shift's squad as HQ sent it; when empty, the squad this phone knows
        the officer in."""
        _text(shift.id, "id")
        _text(shift.officer_badge, "officer_badge")
        _aware(shift.started_at, "started_at")
        if shift.ended_at is not None:
            _aware(shift.ended_at, "ended_at")
        with self._write() as conn:
            squad = squad_code or squadstore.squad_of_officer(conn, shift.officer_badge)
            squadstore.put_squad_shift(conn, shift, squad_code=squad, officer_name=officer_name)

    def squad_day(self, squad_code: str, day: date) -> SquadDay:
        """What this phone knows of the squad's bureau-local day (own and pulled records, reviews made
        here included at once): the inputs of ``patrollog.daylog.build_daylog``."""
        with self._read() as conn:
            return squadstore.load_squad_day(conn, squad_code, day)

    def squad_case(self, case_id: str) -> Case | None:
        """A case version by id: the phone's own, else a pulled squad case."""
        with self._read() as conn:
            record = squadstore.case_record(conn, case_id)
        return case_from_dict(json.loads(record)) if record is not None else None

    # ------------------------------------------------------------------------------------- outbox

    _OUTBOX_COLUMNS = (
        "seq, record_id, kind, payload, size, attempts, parked_code, parked_reason_zh, parked_reason_en"
    )

    def outbox_pending(self, max_records: int = 100, max_bytes: int = 512_000) -> list[OutboxEntry]:
        """The oldest unparked entries, up to ``max_records`` and ``max_bytes`` of payload (always at least
        one if any is pending, however large)."""
        rows = self._rows(
            f"SELECT {self._OUTBOX_COLUMNS} FROM outbox WHERE parked_code = '' ORDER BY seq LIMIT ?",  # noqa: S608
            (max(1, max_records),),
        )
        batch: list[OutboxEntry] = []
        total = 0
        for row in rows:
            if batch and total + row["size"] > max_bytes:
                break
            batch.append(_entry_of(row))
            total += row["size"]
        return batch

    def outbox_ack(self, seqs: Iterable[int]) -> None:
        """Delete exactly these entries (HQ acknowledged them); other entries are untouched."""
        numbers = sorted({int(seq) for seq in seqs})
        with self._write() as conn:
            for chunk in _chunks(numbers):
                marks = ",".join("?" * len(chunk))
                conn.execute(f"DELETE FROM outbox WHERE seq IN ({marks})", tuple(chunk))  # noqa: S608

    def outbox_attempted(self, seqs: Iterable[int]) -> None:
        """Count one more push attempt for these entries (for back-off and the sync screen)."""
        numbers = sorted({int(seq) for seq in seqs})
        with self._write() as conn:
            for chunk in _chunks(numbers):
                marks = ",".join("?" * len(chunk))
                sql = f"UPDATE outbox SET attempts = attempts + 1 WHERE seq IN ({marks})"  # noqa: S608
                conn.execute(sql, tuple(chunk))

    def outbox_park(self, seq: int, code: str, reason_zh: str, reason_en: str) -> None:
        """Set an entry aside (HQ refused it) with the reason in both languages; it is kept, not sent."""
        _text(code, "code")
        _text(reason_zh, "reason_zh")
        _text(reason_en, "reason_en")
        with self._write() as conn:
            cursor = conn.execute(
                "UPDATE outbox SET parked_code = ?, parked_reason_zh = ?, parked_reason_en = ? WHERE seq = ?",
                (code, reason_zh, reason_en, seq),
            )
            if cursor.rowcount == 0:
                raise _refuse(
                    "unknown_outbox_entry", "seq", f"no outbox entry {seq}", f"待发送队列中没有第 {seq} 条"
                )

    def outbox_parked(self) -> list[OutboxEntry]:
        rows = self._rows(
            f"SELECT {self._OUTBOX_COLUMNS} FROM outbox WHERE parked_code <> '' ORDER BY seq"  # noqa: S608
        )
        return [_entry_of(row) for row in rows]

    def outbox_unpark(self, seq: int | None = None) -> None:
        """Put a parked entry (or all, when ``seq`` is None) back in the queue."""
        clear = "UPDATE outbox SET parked_code = '', parked_reason_zh = '', parked_reason_en = ''"
        with self._write() as conn:
            if seq is None:
                conn.execute(clear + " WHERE parked_code <> ''")
            elif conn.execute(clear + " WHERE seq = ?", (seq,)).rowcount == 0:
                raise _refuse(
                    "unknown_outbox_entry", "seq", f"no outbox entry {seq}", f"待发送队列中没有第 {seq} 条"
                )

    def outbox_stats(self) -> tuple[int, int]:
        """(records, bytes) waiting to be sent; parked entries are not counted."""
        row = self._rows("SELECT count(*), coalesce(sum(size), 0) FROM outbox WHERE parked_code = ''")[0]
        return int(row[0]), int(row[1])

    # ------------------------------------------------------------------------------------- photos

    def photos_to_upload(self, limit: int = 50) -> list[PhotoRef]:
        """Photos no HQ upload has been confirmed for, oldest first."""
        rows = self._rows(
            "SELECT sha256, size, kind, width, height FROM photo_queue WHERE uploaded_at IS NULL"
            " ORDER BY seq LIMIT ?",
            (max(0, limit),),
        )
        return [PhotoRef(row[0], row[1], PhotoKind(row[2]), row[3], row[4]) for row in rows]

    def mark_photo_uploaded(self, sha256: str) -> None:
        """HQ has this photo; a hash the store does not know is ignored."""
        with self._write() as conn:
            conn.execute(
                "UPDATE photo_queue SET uploaded_at = ? WHERE sha256 = ? AND uploaded_at IS NULL",
                (datetime.now(UTC).isoformat(), sha256),
            )

    def photo_hashes(self) -> set[str]:
        """Every photo hash a stored case points at (files outside this set may be swept)."""
        rows = self._rows("SELECT sha256 FROM case_photos UNION SELECT sha256 FROM photo_queue")
        return {row[0] for row in rows}

    def photo_stats(self) -> tuple[int, int]:
        """(photos, bytes) waiting for upload."""
        row = self._rows(
            "SELECT count(*), coalesce(sum(size), 0) FROM photo_queue WHERE uploaded_at IS NULL"
        )[0]
        return int(row[0]), int(row[1])


__all__ = [
    "LoggedCase",
    "OutboxEntry",
    "SquadDay",
    "Store",
    "StoreCorrupt",
    "StoreError",
    "StoreRefused",
    "StoreTooNew",
    "StoreWriteFailed",
    "search_key",
]
