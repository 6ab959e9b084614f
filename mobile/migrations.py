"""The phone store's schema, as numbered migrations (pure SQL, no driver imports).

``MIGRATIONS[i]`` brings a database from schema version ``i`` to ``i + 1``; the version lives in
``PRAGMA user_version``. ``mobile.store`` runs each pending migration in its own write transaction together
with the ``user_version`` bump, so a crash leaves the file at a whole version. A migration is never edited
once shipped: a change is a new ``mNNN_...`` function appended to the list.

Every migration takes ``db``: anything with ``execute(sql)`` (the store passes its sqlite_utils Database).

The shipped migrations are hand-written DDL and stay so. SQLite keeps each ``CREATE`` statement's text in
``sqlite_master``: a phone upgraded through these migrations and a new one must hold the same schema, and
sqlite-utils' ``create`` / ``add_column`` / ``create_index`` would write other text (quoted names) and
cannot express all of it (``WITHOUT ROWID``, ``AUTOINCREMENT``, table ``UNIQUE`` / ``CHECK`` constraints,
partial indexes). A later migration may use the sqlite_utils Database the store passes (``db.table(name)``
``.add_column``, ``.create_index``, ``db.table_names()``, ``.columns_dict``) where that is what it needs.

Conventions in the tables:
* ``*_at`` columns hold the ISO-8601 text of an aware datetime exactly as the codec writes it (offset kept);
  ``*_utc`` columns hold the same instant as integer microseconds since the Unix epoch, for ordering and
  ranges; ``local_day`` is the bureau-local date (``LOCAL_TZ``) as ``YYYY-MM-DD``.
* ``name_key`` / ``extra_key`` are search keys (NFKC + casefold) of a subject's name, and of its address,
  plate and description; ``subject_chars`` is their character index (one row per distinct character of
  each key, ``subject`` = ``subjects.n``, with the character's first position ``at`` (1-based) and the
  key's length), so a name search reads the postings of the query's characters instead of scanning
  every subject, and can rank candidates before reading them.
* ``record`` columns hold the full codec JSON (``enforcement.codec.to_json_dict``) so a record read back
  equals the one saved; the other columns are copies for querying.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

#: ``PRAGMA application_id`` of a StreetPatrol phone store ("SPST"): a SQLite file of another app is refused.
APPLICATION_ID = 0x53505354


class SqlExecutor(Protocol):
    def execute(self, sql: str, parameters: Any = ...) -> Any: ...


def _run(db: SqlExecutor, script: str) -> None:
    """Run ``;``-separated statements one by one (no ``executescript``: it would commit)."""
    for statement in script.split(";\n"):
        if statement.strip():
            db.execute(statement)


def m001_initial(db: SqlExecutor) -> None:
    """Tables of the first release; marks the file as this app's (``PRAGMA application_id``)."""
    db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    _run(
        db,
        """
CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE counters (
    name TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
CREATE TABLE officers (
    badge TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    squad_code TEXT NOT NULL,
    squad_name TEXT NOT NULL DEFAULT '',
    district TEXT NOT NULL DEFAULT '',
    role TEXT NOT NULL
);
CREATE TABLE shifts (
    id TEXT PRIMARY KEY,
    officer_badge TEXT NOT NULL,
    started_at TEXT NOT NULL,
    started_utc INTEGER NOT NULL,
    local_day TEXT NOT NULL,
    ended_at TEXT,
    grid_cell TEXT NOT NULL DEFAULT ''
);
CREATE TABLE subjects (
    n INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    name TEXT NOT NULL DEFAULT '',
    name_key TEXT NOT NULL DEFAULT '',
    phone TEXT NOT NULL DEFAULT '',
    plate TEXT NOT NULL DEFAULT '',
    address TEXT NOT NULL DEFAULT '',
    extra_key TEXT NOT NULL DEFAULT '',
    id_number TEXT NOT NULL DEFAULT '',
    hardship INTEGER NOT NULL DEFAULT 0,
    origin TEXT NOT NULL CHECK (origin IN ('local', 'remote')),
    record TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE subject_chars (
    ch TEXT NOT NULL,
    in_name INTEGER NOT NULL,
    subject INTEGER NOT NULL,
    at INTEGER NOT NULL,
    key_len INTEGER NOT NULL,
    PRIMARY KEY (ch, in_name, subject)
) WITHOUT ROWID;
CREATE TABLE cases (
    id TEXT PRIMARY KEY,
    case_no TEXT NOT NULL,
    version INTEGER NOT NULL,
    supersedes TEXT REFERENCES cases(id),
    is_current INTEGER NOT NULL DEFAULT 1,
    officer_badge TEXT NOT NULL,
    squad_code TEXT NOT NULL,
    device_id TEXT NOT NULL,
    violation_code TEXT NOT NULL,
    occurred_at TEXT NOT NULL,
    occurred_utc INTEGER NOT NULL,
    local_day TEXT NOT NULL,
    subject_id TEXT,
    subject_unknown INTEGER NOT NULL DEFAULT 0,
    computed_stage INTEGER NOT NULL,
    chosen_stage INTEGER NOT NULL,
    stage_ordinal INTEGER NOT NULL,
    stage_override_reason TEXT NOT NULL DEFAULT '',
    disposition TEXT NOT NULL,
    fine_yuan INTEGER,
    lat REAL,
    lon REAL,
    accuracy_m REAL,
    address TEXT NOT NULL DEFAULT '',
    grid_cell TEXT,
    no_fix_reason TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL,
    sync_state TEXT NOT NULL DEFAULT 'local',
    hq_stage INTEGER,
    record TEXT NOT NULL,
    saved_at TEXT NOT NULL,
    UNIQUE (case_no, version)
);
CREATE TABLE case_photos (
    case_id TEXT NOT NULL REFERENCES cases(id),
    ordinal INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    size INTEGER NOT NULL,
    kind TEXT NOT NULL,
    width INTEGER NOT NULL DEFAULT 0,
    height INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (case_id, ordinal)
);
CREATE TABLE photo_queue (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    sha256 TEXT NOT NULL UNIQUE,
    size INTEGER NOT NULL,
    kind TEXT NOT NULL,
    width INTEGER NOT NULL DEFAULT 0,
    height INTEGER NOT NULL DEFAULT 0,
    uploaded_at TEXT
);
CREATE TABLE seized_items (
    case_id TEXT NOT NULL REFERENCES cases(id),
    ordinal INTEGER NOT NULL,
    kind TEXT NOT NULL,
    quantity INTEGER NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (case_id, ordinal)
);
CREATE TABLE remote_history (
    subject_id TEXT NOT NULL,
    case_id TEXT NOT NULL,
    case_no TEXT NOT NULL,
    violation_code TEXT NOT NULL,
    occurred_at TEXT NOT NULL,
    occurred_utc INTEGER NOT NULL,
    stage INTEGER NOT NULL,
    status TEXT NOT NULL,
    version INTEGER NOT NULL,
    PRIMARY KEY (subject_id, case_id)
);
CREATE TABLE reviews (
    id TEXT PRIMARY KEY,
    case_id TEXT NOT NULL,
    case_no TEXT NOT NULL,
    decision TEXT NOT NULL,
    reviewer_badge TEXT NOT NULL,
    decided_at TEXT NOT NULL,
    decided_utc INTEGER NOT NULL,
    comment TEXT NOT NULL DEFAULT '',
    origin TEXT NOT NULL CHECK (origin IN ('local', 'remote'))
);
CREATE TABLE outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    record_id TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('case', 'subject', 'shift', 'review')),
    payload TEXT NOT NULL,
    size INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    parked_code TEXT NOT NULL DEFAULT '',
    parked_reason_zh TEXT NOT NULL DEFAULT '',
    parked_reason_en TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL
)
""",
    )


def m002_query_indexes(db: SqlExecutor) -> None:
    """Indexes for the phone's queries: patrol log, subject search, history, queues."""
    _run(
        db,
        """
CREATE INDEX cases_patrol_log ON cases (officer_badge, local_day, occurred_utc);
CREATE INDEX cases_by_subject ON cases (subject_id, occurred_utc) WHERE subject_id IS NOT NULL;
CREATE INDEX cases_by_violation ON cases (officer_badge, violation_code, case_no);
CREATE INDEX case_photos_by_hash ON case_photos (sha256);
CREATE INDEX photo_queue_waiting ON photo_queue (seq) WHERE uploaded_at IS NULL;
CREATE INDEX subjects_by_plate ON subjects (plate);
CREATE INDEX subjects_by_phone ON subjects (phone);
CREATE INDEX shifts_by_day ON shifts (officer_badge, local_day, started_utc);
CREATE INDEX shifts_open ON shifts (officer_badge) WHERE ended_at IS NULL;
CREATE INDEX reviews_by_case ON reviews (case_id, decided_utc);
CREATE INDEX outbox_pending ON outbox (seq) WHERE parked_code = '';
CREATE INDEX outbox_by_record ON outbox (kind, record_id)
""",
    )


def m003_squad_feed(db: SqlExecutor) -> None:
    """What a squad leader's phone pulls of the squad (``squad_case`` / ``squad_shift`` changes).

    ``squad_cases`` holds one row per pulled case VERSION (``id`` = the version's id) with HQ's view of it;
    its reviews go to ``reviews`` (origin 'remote'). ``squad_shifts`` holds the squad's shifts with their
    squad as HQ knew it when the shift was recorded; ``ended_utc`` is NULL while a shift is open."""
    _run(
        db,
        """
CREATE TABLE squad_cases (
    id TEXT PRIMARY KEY,
    case_no TEXT NOT NULL,
    version INTEGER NOT NULL,
    officer_badge TEXT NOT NULL,
    squad_code TEXT NOT NULL,
    occurred_utc INTEGER NOT NULL,
    local_day TEXT NOT NULL,
    subject_id TEXT,
    hq_stage INTEGER,
    hq_reason_zh TEXT NOT NULL DEFAULT '',
    hq_reason_en TEXT NOT NULL DEFAULT '',
    missing_photos INTEGER NOT NULL DEFAULT 0,
    officer_name TEXT NOT NULL DEFAULT '',
    subject_label TEXT NOT NULL DEFAULT '',
    record TEXT NOT NULL,
    received_at TEXT NOT NULL
);
CREATE INDEX squad_cases_by_day ON squad_cases (squad_code, local_day);
CREATE INDEX squad_cases_by_no ON squad_cases (case_no, version);
CREATE TABLE squad_shifts (
    id TEXT PRIMARY KEY,
    officer_badge TEXT NOT NULL,
    squad_code TEXT NOT NULL,
    officer_name TEXT NOT NULL DEFAULT '',
    started_at TEXT NOT NULL,
    started_utc INTEGER NOT NULL,
    ended_at TEXT,
    ended_utc INTEGER,
    grid_cell TEXT NOT NULL DEFAULT '',
    received_at TEXT NOT NULL
);
CREATE INDEX squad_shifts_by_start ON squad_shifts (squad_code, started_utc);
CREATE INDEX cases_by_squad_day ON cases (squad_code, local_day)
""",
    )


def m004_case_hq_reason(db: SqlExecutor) -> None:
    """HQ's reason for its stage of the officer's own cases (``case_state``: which earlier cases HQ
    counted, "第3次 · 处罚：10-02 劝导，11-01 警告"), kept beside ``cases.hq_stage``; '' while HQ sent
    none (an older HQ, a case synced before this version)."""
    _run(
        db,
        """
ALTER TABLE cases ADD COLUMN hq_reason_zh TEXT NOT NULL DEFAULT '';
ALTER TABLE cases ADD COLUMN hq_reason_en TEXT NOT NULL DEFAULT ''
""",
    )


def m005_cases_by_place(db: SqlExecutor) -> None:
    """Where cases were recorded, for the subjects near a GPS fix on the Today screen
    (``QueryStore.nearby_subjects``: a latitude range, the longitude read from the index)."""
    _run(db, "CREATE INDEX cases_by_place ON cases (lat, lon) WHERE lat IS NOT NULL")


def m006_zones(db: SqlExecutor) -> None:
    """The district's zones as HQ sent them (``zone`` changes, ``mobile.store_zones``): one row per zone
    of the current version, its GeoJSON feature (WGS84) in ``feature``; the version is the meta key
    ``zones.version``."""
    _run(
        db,
        """
CREATE TABLE zones (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    version INTEGER NOT NULL,
    feature TEXT NOT NULL
)
""",
    )


def m007_subject_merge(db: SqlExecutor) -> None:
    """Subjects merged at HQ (issue #22, ``subject_alias`` changes): each alias and the subject it now is,
    so search shows the survivor and its history holds both subjects' cases, offline; and each subject's
    HQ version (an edit names the version it was made from) with its last edits (JSON: who, device, when,
    which fields) as the ``subject`` change brought them."""
    _run(
        db,
        """
CREATE TABLE subject_aliases (
    alias_id TEXT PRIMARY KEY,
    survivor_id TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX subject_aliases_survivor ON subject_aliases (survivor_id);
CREATE TABLE subject_meta (
    subject_id TEXT PRIMARY KEY,
    hq_version INTEGER NOT NULL,
    edits TEXT NOT NULL
) WITHOUT ROWID
""",
    )


def m008_work_orders(db: SqlExecutor) -> None:
    """Work orders assigned to the officer (``work_order`` changes, ``mobile.store_workorders``): HQ's
    view of the order as JSON (``data``, ``sync.protocol.WorkOrderData``) with copies for ordering, and
    what the phone itself did before HQ confirmed it (``local_*``: the round, the arrival and resolution
    in best-known time, the closure, the case to link). The outbox is rebuilt to take the two new record
    kinds (its ``CHECK`` cannot be altered in place); its rows and sequence numbers are kept."""
    _run(
        db,
        """
CREATE TABLE work_orders (
    order_id TEXT PRIMARY KEY,
    round INTEGER NOT NULL,
    stage TEXT NOT NULL,
    arrive_due_utc INTEGER NOT NULL,
    resolve_due_utc INTEGER NOT NULL,
    data TEXT NOT NULL,
    local_round INTEGER NOT NULL DEFAULT 0,
    local_arrived_at TEXT,
    local_resolved_at TEXT,
    local_closure TEXT NOT NULL DEFAULT '',
    link_case_id TEXT NOT NULL DEFAULT '',
    received_at TEXT NOT NULL
);
ALTER TABLE outbox RENAME TO outbox_m007;
DROP INDEX outbox_pending;
DROP INDEX outbox_by_record;
CREATE TABLE outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    record_id TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (
        kind IN ('case', 'subject', 'shift', 'review', 'work_order_arrival', 'work_order_resolution')
    ),
    payload TEXT NOT NULL,
    size INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    parked_code TEXT NOT NULL DEFAULT '',
    parked_reason_zh TEXT NOT NULL DEFAULT '',
    parked_reason_en TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL
);
INSERT INTO outbox (seq, record_id, kind, payload, size, attempts, parked_code, parked_reason_zh,
    parked_reason_en, created_at)
    SELECT seq, record_id, kind, payload, size, attempts, parked_code, parked_reason_zh, parked_reason_en,
    created_at FROM outbox_m007;
DELETE FROM sqlite_sequence WHERE name = 'outbox';
UPDATE sqlite_sequence SET name = 'outbox' WHERE name = 'outbox_m007';
DROP TABLE outbox_m007;
CREATE INDEX outbox_pending ON outbox (seq) WHERE parked_code = '';
CREATE INDEX outbox_by_record ON outbox (kind, record_id)
""",
    )


def m009_notice_books(db: SqlExecutor) -> None:
    """Warning-notice books (``mobile.store_notices``): each officer's open books as HQ last sent them
    (``used``: the numbers HQ saw on cases, a JSON list) and the numbers this phone put on saved cases
    (``notice_used``, written in the case's own transaction)."""
    _run(
        db,
        """
CREATE TABLE notice_books (
    book_id TEXT PRIMARY KEY,
    badge TEXT NOT NULL,
    series TEXT NOT NULL,
    first_no INTEGER NOT NULL,
    last_no INTEGER NOT NULL,
    width INTEGER NOT NULL,
    used TEXT NOT NULL DEFAULT '[]',
    ord INTEGER NOT NULL,
    received_at TEXT NOT NULL
);
CREATE INDEX notice_books_badge ON notice_books (badge, ord);
CREATE TABLE notice_used (
    number TEXT PRIMARY KEY,
    badge TEXT NOT NULL,
    case_no TEXT NOT NULL,
    used_at TEXT NOT NULL
);
CREATE INDEX notice_used_badge ON notice_used (badge)
""",
    )


def m010_squad_work_orders(db: SqlExecutor) -> None:
    """The squad's work orders on a leader's phone (``work_order`` changes keyed ``<id>#<squad>``,
    ``mobile.store_workorders``): HQ's view of each order as JSON, with copies for ordering and filtering,
    and when the phone received it (what the leader's offline list shows and dates)."""
    _run(
        db,
        """
CREATE TABLE squad_work_orders (
    order_id TEXT PRIMARY KEY,
    squad TEXT NOT NULL,
    officer TEXT NOT NULL,
    intake_at_utc INTEGER NOT NULL,
    data TEXT NOT NULL,
    received_at TEXT NOT NULL
);
CREATE INDEX squad_work_orders_squad ON squad_work_orders (squad, intake_at_utc)
""",
    )


def m011_squad_case_hq_received(db: SqlExecutor) -> None:
    """When HQ received each pulled squad case version (``SquadCaseData.received_at``; NULL from an HQ
    that did not send it): the leader's day log and queue place a case whose time a wrong phone clock
    made implausible (2099, 1970) on the day HQ received it, as HQ does
    (``patrollog.reviewing.best_known_time``), and find it there by this index."""
    _run(
        db,
        """
ALTER TABLE squad_cases ADD COLUMN hq_received_at TEXT;
ALTER TABLE squad_cases ADD COLUMN hq_received_utc INTEGER;
CREATE INDEX squad_cases_by_hq_received ON squad_cases (squad_code, hq_received_utc)
    WHERE hq_received_utc IS NOT NULL
""",
    )


def m012_squad_case_device_first_seen(db: SqlExecutor) -> None:
    """The first sign-in at HQ of the device that recorded each pulled squad case version
    (``SquadCaseData.device_first_seen``, ISO text; NULL from an HQ that did not send it, or a row pulled
    before this build): the leader's day log and queue flag a case timed more than a day before it
    (``patrollog.reviewing.TimeFlag.BEFORE_DEVICE``) as HQ's queue does; NULL flags nothing of the kind."""
    _run(db, "ALTER TABLE squad_cases ADD COLUMN device_first_seen TEXT")


#: The schema, oldest first. ``len(MIGRATIONS)`` is the version this code writes.
MIGRATIONS: tuple[Callable[[SqlExecutor], None], ...] = (
    m001_initial,
    m002_query_indexes,
    m003_squad_feed,
    m004_case_hq_reason,
    m005_cases_by_place,
    m006_zones,
    m007_subject_merge,
    m008_work_orders,
    m009_notice_books,
    m010_squad_work_orders,
    m011_squad_case_hq_received,
    m012_squad_case_device_first_seen,
)
SCHEMA_VERSION = len(MIGRATIONS)
