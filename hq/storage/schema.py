"""HQ's tables, written once; ``ddl(backend)`` fills in each backend's types.

Times are ``{TS}`` (PostgreSQL ``timestamptz``; SQLite fixed-width UTC text that sorts like time),
flags ``{BOOL}``, JSON documents ``TEXT`` (kept byte-exact as received, keys sorted).
"""

from __future__ import annotations

SCHEMA_VERSION = 1

_TYPES = {
    "sqlite": {"TS": "TEXT", "BOOL": "INTEGER", "BIGINT": "INTEGER"},
    "postgres": {"TS": "TIMESTAMPTZ", "BOOL": "BOOLEAN", "BIGINT": "BIGINT"},
}

_DDL = """
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS counters (
    name TEXT PRIMARY KEY,
    value {BIGINT} NOT NULL
);
CREATE TABLE IF NOT EXISTS districts (
    code TEXT PRIMARY KEY,
    name TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS squads (
    code TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    district TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS users (
    badge TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    squad_code TEXT NOT NULL,
    squad_name TEXT NOT NULL,
    district TEXT NOT NULL,
    role TEXT NOT NULL,
    pin_hash TEXT NOT NULL,
    active {BOOL} NOT NULL
);
CREATE INDEX IF NOT EXISTS users_squad ON users (squad_code);
CREATE INDEX IF NOT EXISTS users_district ON users (district);
CREATE TABLE IF NOT EXISTS devices (
    device_id TEXT PRIMARY KEY,
    badge TEXT NOT NULL,
    created_at {TS} NOT NULL,
    last_seen_at {TS} NOT NULL,
    device_name TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS devices_badge ON devices (badge);
CREATE TABLE IF NOT EXISTS tokens (
    token_hash TEXT PRIMARY KEY,
    device_id TEXT NOT NULL,
    badge TEXT NOT NULL,
    issued_at {TS} NOT NULL,
    expires_at {TS} NOT NULL,
    revoked_at {TS},
    last_used_at {TS}
);
CREATE INDEX IF NOT EXISTS tokens_device ON tokens (device_id);
CREATE INDEX IF NOT EXISTS tokens_badge ON tokens (badge);
CREATE TABLE IF NOT EXISTS signin_failures (
    key TEXT PRIMARY KEY,
    count INTEGER NOT NULL,
    first_at {TS} NOT NULL,
    last_at {TS} NOT NULL,
    locked_until {TS}
);
CREATE TABLE IF NOT EXISTS receipts (
    record_id TEXT NOT NULL,
    payload_hash TEXT NOT NULL,
    kind TEXT NOT NULL,
    badge TEXT NOT NULL,
    device_id TEXT NOT NULL,
    device_seq {BIGINT} NOT NULL,
    received_at {TS} NOT NULL,
    result TEXT NOT NULL,
    PRIMARY KEY (record_id, payload_hash)
);
CREATE TABLE IF NOT EXISTS device_seqs (
    device_id TEXT PRIMARY KEY,
    high {BIGINT} NOT NULL
);
CREATE TABLE IF NOT EXISTS cases (
    id TEXT PRIMARY KEY,
    case_no TEXT NOT NULL,
    version INTEGER NOT NULL,
    supersedes TEXT,
    officer_badge TEXT NOT NULL,
    squad_code TEXT NOT NULL,
    district TEXT NOT NULL,
    subject_id TEXT,
    violation_code TEXT NOT NULL,
    occurred_at {TS} NOT NULL,
    status TEXT NOT NULL,
    received_at {TS} NOT NULL,
    device_stage INTEGER NOT NULL,
    chosen_stage INTEGER NOT NULL,
    hq_stage INTEGER NOT NULL,
    hq_ordinal INTEGER NOT NULL,
    stage_conflict {BOOL} NOT NULL,
    explain_zh TEXT NOT NULL,
    explain_en TEXT NOT NULL,
    photos_expected INTEGER NOT NULL,
    latest {BOOL} NOT NULL,
    review TEXT NOT NULL,
    payload TEXT NOT NULL,
    UNIQUE (case_no, version)
);
CREATE UNIQUE INDEX IF NOT EXISTS cases_one_latest ON cases (case_no) WHERE latest;
CREATE INDEX IF NOT EXISTS cases_subject ON cases (subject_id, occurred_at) WHERE latest;
CREATE INDEX IF NOT EXISTS cases_district ON cases (district, occurred_at);
CREATE INDEX IF NOT EXISTS cases_squad ON cases (squad_code, occurred_at);
CREATE INDEX IF NOT EXISTS cases_officer ON cases (officer_badge, occurred_at);
CREATE TABLE IF NOT EXISTS case_photos (
    case_id TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    PRIMARY KEY (case_id, sha256)
);
CREATE INDEX IF NOT EXISTS case_photos_sha ON case_photos (sha256);
CREATE TABLE IF NOT EXISTS photos (
    sha256 TEXT PRIMARY KEY,
    size {BIGINT} NOT NULL,
    stored {BOOL} NOT NULL,
    stored_at {TS},
    uploaded_by TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS subjects (
    id TEXT PRIMARY KEY,
    district TEXT NOT NULL,
    updated_at {TS} NOT NULL,
    by_badge TEXT NOT NULL,
    deleted_at {TS},
    payload TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS subjects_district ON subjects (district);
CREATE TABLE IF NOT EXISTS shifts (
    id TEXT PRIMARY KEY,
    officer_badge TEXT NOT NULL,
    started_at {TS} NOT NULL,
    payload TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS shifts_officer ON shifts (officer_badge, started_at);
CREATE TABLE IF NOT EXISTS reviews (
    id TEXT PRIMARY KEY,
    case_id TEXT NOT NULL,
    decided_at {TS} NOT NULL,
    received_at {TS} NOT NULL,
    payload TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS reviews_case ON reviews (case_id, decided_at);
CREATE TABLE IF NOT EXISTS catalogue (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    version TEXT NOT NULL,
    updated_at {TS} NOT NULL,
    data TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS changes (
    seq {BIGINT} PRIMARY KEY,
    kind TEXT NOT NULL,
    key TEXT NOT NULL,
    scope_district TEXT,
    scope_badge TEXT,
    scope_squad TEXT,
    occurred_at {TS},
    data TEXT NOT NULL,
    UNIQUE (kind, key)
);
CREATE INDEX IF NOT EXISTS changes_district ON changes (scope_district, seq);
CREATE INDEX IF NOT EXISTS changes_badge ON changes (scope_badge, seq);
CREATE INDEX IF NOT EXISTS changes_squad ON changes (scope_squad, seq);
CREATE TABLE IF NOT EXISTS audit (
    seq {BIGINT} PRIMARY KEY,
    at {TS} NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    detail TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS audit_head (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    seq {BIGINT} NOT NULL,
    hash TEXT NOT NULL
)
"""


#: Columns added after a table was first shipped: ``(table, column, type)``. ``create_tables`` adds each
#: one missing from an existing database (``ALTER TABLE … ADD COLUMN``) before the DDL's indexes run.
ADDED_COLUMNS: tuple[tuple[str, str, str], ...] = (("changes", "scope_squad", "TEXT"),)


def ddl(backend: str) -> list[str]:
    """The CREATE statements for ``backend`` ("sqlite" | "postgres"), each idempotent."""
    text = _DDL
    for name, sql_type in _TYPES[backend].items():
        text = text.replace("{" + name + "}", sql_type)
    return [statement.strip() for statement in text.split(";") if statement.strip()]


#: Tables in the order a benchmark or a test may empty them.
TABLES = (
    "meta", "counters", "districts", "squads", "users", "devices", "tokens", "signin_failures",
    "receipts", "device_seqs", "cases", "case_photos", "photos", "subjects", "shifts", "reviews",
    "catalogue", "changes", "audit", "audit_head",
)  # fmt: skip
