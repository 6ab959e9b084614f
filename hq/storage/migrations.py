"""HQ's schema, as numbered migrations applied in order on open (both backends, one SQL text).

``MIGRATIONS[i]`` brings a database from schema version ``i`` to ``i + 1``; the version lives in the
``meta`` table (key ``schema_version``), 0 when there is no ``meta`` table yet. ``migrate`` runs every
pending migration and the version bump inside the caller's ONE transaction (both SQLite and PostgreSQL
roll DDL back), so a crash leaves the database at a whole version. A database whose version is newer than
``SCHEMA_VERSION`` is refused (``SchemaTooNew``) before anything is written. A migration is never edited
once shipped: a change is a new ``mNNN_...`` function appended to ``MIGRATIONS`` (as on the phone,
``mobile.migrations``).

The baseline ``m001_initial`` is the schema HQ created before it had migrations (``CREATE … IF NOT EXISTS``
on every open, plus a list of added columns); those builds wrote ``schema_version`` = 1 too, so their
databases are at version 1 here. One of them made before the squad feed may lack ``changes.scope_squad``:
at version 1 (and, checked cheaply, at every later one) ``migrate`` adds it (``_adopt_baseline``), as those
builds did at open.

Every migration takes ``conn`` and the backend's ``Dialect`` (``hq.storage.sqlcore``). Types: times are
``{TS}`` (PostgreSQL ``timestamptz``; SQLite fixed-width UTC text that sorts like time), flags ``{BOOL}``,
JSON documents ``TEXT`` (kept byte-exact as received, keys sorted).

Why this module is long (over 600 lines): the numbered DDL migrations, in order, in one place.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from pydantic import TypeAdapter

from hq.storage.base import SchemaTooNew, StorageError
from hq.storage.sqlcore import Dialect

_TYPES = {
    "sqlite": {"TS": "TEXT", "BOOL": "INTEGER", "BIGINT": "INTEGER"},
    "postgres": {"TS": "TIMESTAMPTZ", "BOOL": "BOOLEAN", "BIGINT": "BIGINT"},
}


def _run(conn: Any, dialect: Dialect, script: str) -> None:
    """Run ``;``-separated statements one by one, with ``{TS}``/``{BOOL}``/``{BIGINT}`` filled in."""
    for name, sql_type in _TYPES[dialect.name].items():
        script = script.replace("{" + name + "}", sql_type)
    for statement in script.split(";\n"):
        if statement.strip():
            dialect.execute(conn, statement.strip())


_M001 = """
CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE counters (
    name TEXT PRIMARY KEY,
    value {BIGINT} NOT NULL
);
CREATE TABLE districts (
    code TEXT PRIMARY KEY,
    name TEXT NOT NULL
);
CREATE TABLE squads (
    code TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    district TEXT NOT NULL
);
CREATE TABLE users (
    badge TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    squad_code TEXT NOT NULL,
    squad_name TEXT NOT NULL,
    district TEXT NOT NULL,
    role TEXT NOT NULL,
    pin_hash TEXT NOT NULL,
    active {BOOL} NOT NULL
);
CREATE INDEX users_squad ON users (squad_code);
CREATE INDEX users_district ON users (district);
CREATE TABLE devices (
    device_id TEXT PRIMARY KEY,
    badge TEXT NOT NULL,
    created_at {TS} NOT NULL,
    last_seen_at {TS} NOT NULL,
    device_name TEXT NOT NULL
);
CREATE INDEX devices_badge ON devices (badge);
CREATE TABLE tokens (
    token_hash TEXT PRIMARY KEY,
    device_id TEXT NOT NULL,
    badge TEXT NOT NULL,
    issued_at {TS} NOT NULL,
    expires_at {TS} NOT NULL,
    revoked_at {TS},
    last_used_at {TS}
);
CREATE INDEX tokens_device ON tokens (device_id);
CREATE INDEX tokens_badge ON tokens (badge);
CREATE TABLE signin_failures (
    key TEXT PRIMARY KEY,
    count INTEGER NOT NULL,
    first_at {TS} NOT NULL,
    last_at {TS} NOT NULL,
    locked_until {TS}
);
CREATE TABLE receipts (
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
CREATE TABLE device_seqs (
    device_id TEXT PRIMARY KEY,
    high {BIGINT} NOT NULL
);
CREATE TABLE cases (
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
CREATE UNIQUE INDEX cases_one_latest ON cases (case_no) WHERE latest;
CREATE INDEX cases_subject ON cases (subject_id, occurred_at) WHERE latest;
CREATE INDEX cases_district ON cases (district, occurred_at);
CREATE INDEX cases_squad ON cases (squad_code, occurred_at);
CREATE INDEX cases_officer ON cases (officer_badge, occurred_at);
CREATE TABLE case_photos (
    case_id TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    PRIMARY KEY (case_id, sha256)
);
CREATE INDEX case_photos_sha ON case_photos (sha256);
CREATE TABLE photos (
    sha256 TEXT PRIMARY KEY,
    size {BIGINT} NOT NULL,
    stored {BOOL} NOT NULL,
    stored_at {TS},
    uploaded_by TEXT NOT NULL
);
CREATE TABLE subjects (
    id TEXT PRIMARY KEY,
    district TEXT NOT NULL,
    updated_at {TS} NOT NULL,
    by_badge TEXT NOT NULL,
    deleted_at {TS},
    payload TEXT NOT NULL
);
CREATE INDEX subjects_district ON subjects (district);
CREATE TABLE shifts (
    id TEXT PRIMARY KEY,
    officer_badge TEXT NOT NULL,
    started_at {TS} NOT NULL,
    payload TEXT NOT NULL
);
CREATE INDEX shifts_officer ON shifts (officer_badge, started_at);
CREATE TABLE reviews (
    id TEXT PRIMARY KEY,
    case_id TEXT NOT NULL,
    decided_at {TS} NOT NULL,
    received_at {TS} NOT NULL,
    payload TEXT NOT NULL
);
CREATE INDEX reviews_case ON reviews (case_id, decided_at);
CREATE TABLE catalogue (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    version TEXT NOT NULL,
    updated_at {TS} NOT NULL,
    data TEXT NOT NULL
);
CREATE TABLE changes (
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
CREATE INDEX changes_district ON changes (scope_district, seq);
CREATE INDEX changes_badge ON changes (scope_badge, seq);
CREATE INDEX changes_squad ON changes (scope_squad, seq);
CREATE TABLE audit (
    seq {BIGINT} PRIMARY KEY,
    at {TS} NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    detail TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE TABLE audit_head (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    seq {BIGINT} NOT NULL,
    hash TEXT NOT NULL
)
"""


def m001_initial(conn: Any, dialect: Dialect) -> None:
    """The tables of HQ before migrations (the baseline) and this database's cursor epoch."""
    _run(conn, dialect, _M001)
    dialect.execute(conn, "INSERT INTO meta (key, value) VALUES ('epoch', ?)", (secrets.token_hex(8),))


_M002_AUTH = """
CREATE TABLE devices_by_badge (
    device_id TEXT NOT NULL,
    badge TEXT NOT NULL,
    created_at {TS} NOT NULL,
    last_seen_at {TS} NOT NULL,
    device_name TEXT NOT NULL,
    revoked_at {TS},
    PRIMARY KEY (device_id, badge)
);
INSERT INTO devices_by_badge (device_id, badge, created_at, last_seen_at, device_name)
    SELECT device_id, badge, created_at, last_seen_at, device_name FROM devices;
DROP TABLE devices;
ALTER TABLE devices_by_badge RENAME TO devices;
CREATE INDEX devices_badge ON devices (badge);
CREATE TABLE device_keys (
    device_id TEXT PRIMARY KEY,
    key_hash TEXT,
    bound_badge TEXT NOT NULL,
    bound_at {TS},
    revoked_at {TS}
)
"""


def m002_auth_devices(conn: Any, dialect: Dialect) -> None:
    """Devices per device × badge (a shared squad phone keeps each officer's last contact; the old rows
    keep their last badge), a per-row ``revoked_at`` (blocked until HQ re-enables), and ``device_keys``:
    the hash of the key each phone bound at its first sign-in, and a whole-device ``revoked_at``."""
    _run(conn, dialect, _M002_AUTH)


_M003_PHOTOS = """
CREATE TABLE photo_uploads (
    sha256 TEXT NOT NULL,
    badge TEXT NOT NULL,
    device_id TEXT NOT NULL,
    uploaded_at {TS} NOT NULL,
    PRIMARY KEY (sha256, badge)
);
INSERT INTO photo_uploads (sha256, badge, device_id, uploaded_at)
    SELECT sha256, uploaded_by, '', stored_at FROM photos
    WHERE stored AND uploaded_by <> '' AND stored_at IS NOT NULL
"""


def m003_photos_uploaders(conn: Any, dialect: Dialect) -> None:
    """Who uploaded each stored photo (issue #13): one row per (photo, officer) whose bytes HQ received,
    with the device. A photo counts for a case, and may be read through it, only when the case's officer
    uploaded it. Existing photos are attributed to the officer recorded as their uploader."""
    _run(conn, dialect, _M003_PHOTOS)


def m004_zones(conn: Any, dialect: Dialect) -> None:
    """Zones (``hq.zones``): each import is a new version holding the whole GeoJSON FeatureCollection in
    WGS84 (RFC 7946), as imported with each feature's id set; the current set is the highest version."""
    _run(
        conn,
        dialect,
        """
CREATE TABLE zone_versions (
    version {BIGINT} PRIMARY KEY,
    imported_at {TS} NOT NULL,
    imported_by TEXT NOT NULL,
    features INTEGER NOT NULL,
    data TEXT NOT NULL
)
""",
    )


def m005_policy(conn: Any, dialect: Dialect) -> None:
    """The staged rule's policy as data (``enforcement.policy``): every published version, kept for ever
    (a case is staged again with the version it was staged under), and that version on each case
    (0: the built-in rule, which every case stored before this migration was staged under)."""
    _run(
        conn,
        dialect,
        """
CREATE TABLE policies (
    version INTEGER PRIMARY KEY,
    document TEXT NOT NULL,
    created_at {TS} NOT NULL,
    created_by TEXT NOT NULL
);
ALTER TABLE cases ADD COLUMN policy_version INTEGER NOT NULL DEFAULT 0
""",
    )


def m006_work_orders(conn: Any, dialect: Dialect) -> None:
    """Hotline complaints as work orders (``enforcement.workorders``, ``hq.workorders``): the orders (with
    the caller's contact, personal data), their events (never edited; the state is folded from them),
    Open311 partners (api keys stored as SHA-256) and HQ's timers as data (one JSON document)."""
    _run(
        conn,
        dialect,
        """
CREATE TABLE work_orders (
    id TEXT PRIMARY KEY,
    district TEXT NOT NULL,
    source TEXT NOT NULL,
    category TEXT NOT NULL,
    description TEXT NOT NULL,
    intake_at {TS} NOT NULL,
    timer TEXT NOT NULL,
    address TEXT NOT NULL DEFAULT '',
    lat DOUBLE PRECISION,
    lon DOUBLE PRECISION,
    place TEXT NOT NULL DEFAULT '',
    caller_name TEXT NOT NULL DEFAULT '',
    caller_phone TEXT NOT NULL DEFAULT '',
    partner TEXT NOT NULL DEFAULT '',
    filed_by TEXT NOT NULL DEFAULT '',
    squad TEXT NOT NULL DEFAULT '',
    officer TEXT NOT NULL DEFAULT '',
    stage TEXT NOT NULL,
    updated_at {TS},
    closed_at {TS},
    arrive_due {TS},
    resolve_due {TS},
    outcome TEXT NOT NULL DEFAULT '',
    satisfaction TEXT NOT NULL DEFAULT ''
);
CREATE INDEX work_orders_intake ON work_orders (district, intake_at);
CREATE INDEX work_orders_squad ON work_orders (squad, intake_at);
CREATE INDEX work_orders_officer ON work_orders (officer, intake_at);
CREATE TABLE work_order_events (
    id TEXT PRIMARY KEY,
    order_id TEXT NOT NULL REFERENCES work_orders (id),
    kind TEXT NOT NULL,
    round INTEGER NOT NULL,
    at {TS} NOT NULL,
    received_at {TS} NOT NULL,
    actor TEXT NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX work_order_events_order ON work_order_events (order_id);
CREATE TABLE partners (
    name TEXT PRIMARY KEY,
    key_hash TEXT NOT NULL UNIQUE,
    created_at {TS} NOT NULL,
    active {BOOL} NOT NULL
);
CREATE TABLE work_order_timers (
    id INTEGER PRIMARY KEY,
    data TEXT NOT NULL,
    updated_at {TS} NOT NULL
)
""",
    )


def m007_aggregates(conn: Any, dialect: Dialect) -> None:
    """Counts kept, not recounted (``hq.tally``): the dashboard's and reports' figures maintained by
    ingest in the case's own transaction (``day`` is the bureau-local day, ``YYYY-MM-DD``), per-subject
    counts for repeat offenders, and the indexes the paged lists and streamed exports walk (keyset order
    ``occurred_at, case_no, version``; open conflicts)."""
    _run(
        conn,
        dialect,
        """
CREATE TABLE agg_cases (
    day TEXT NOT NULL,
    squad_code TEXT NOT NULL,
    violation_code TEXT NOT NULL,
    stage INTEGER NOT NULL,
    n {BIGINT} NOT NULL,
    fined {BIGINT} NOT NULL,
    fines_yuan {BIGINT} NOT NULL,
    PRIMARY KEY (day, squad_code, violation_code, stage)
);
CREATE TABLE agg_seized (
    day TEXT NOT NULL,
    squad_code TEXT NOT NULL,
    kind TEXT NOT NULL,
    cases {BIGINT} NOT NULL,
    items {BIGINT} NOT NULL,
    PRIMARY KEY (day, squad_code, kind)
);
CREATE TABLE agg_conflicts (
    day TEXT NOT NULL,
    squad_code TEXT NOT NULL,
    n {BIGINT} NOT NULL,
    PRIMARY KEY (day, squad_code)
);
CREATE TABLE agg_subjects (
    subject_id TEXT PRIMARY KEY,
    n {BIGINT} NOT NULL,
    penalties {BIGINT} NOT NULL,
    last_at {TS},
    last_penalty_at {TS}
);
CREATE INDEX agg_subjects_penalty ON agg_subjects (last_penalty_at) WHERE penalties > 0;
CREATE INDEX cases_time ON cases (occurred_at, case_no, version);
CREATE INDEX cases_squad_time ON cases (squad_code, occurred_at, case_no, version);
CREATE INDEX cases_open_conflicts ON cases (occurred_at, case_no, version)
    WHERE latest AND stage_conflict AND review = '';
CREATE INDEX subjects_district_id ON subjects (district, id)
""",
    )


def m008_subject_merge(conn: Any, dialect: Dialect) -> None:
    """One vendor, one history (issue #22): each subject's matching keys (``enforcement.identifiers``:
    strong ``phone:``/``plate:``/``id:`` keys and a weak ``name:`` key), the pairs of subjects found alike
    (strong: one identity for the staged rule at once; weak: only suggested) with what the leader
    decided (``open`` / ``merged`` / ``split``), the aliases a merge made, and the registry's edit
    history (every accepted subject write, field by field) with the field conflicts it found."""
    _run(
        conn,
        dialect,
        """
CREATE TABLE subject_keys (
    subject_id TEXT NOT NULL,
    district TEXT NOT NULL,
    key TEXT NOT NULL,
    PRIMARY KEY (subject_id, key)
);
CREATE INDEX subject_keys_district ON subject_keys (district, key);
CREATE TABLE subject_pairs (
    a TEXT NOT NULL,
    b TEXT NOT NULL,
    district TEXT NOT NULL,
    strength TEXT NOT NULL,
    reason TEXT NOT NULL,
    state TEXT NOT NULL,
    at {TS} NOT NULL,
    by_badge TEXT NOT NULL,
    PRIMARY KEY (a, b)
);
CREATE INDEX subject_pairs_b ON subject_pairs (b);
CREATE INDEX subject_pairs_district ON subject_pairs (district, state);
CREATE TABLE subject_aliases (
    alias_id TEXT PRIMARY KEY,
    survivor_id TEXT NOT NULL,
    district TEXT NOT NULL,
    at {TS} NOT NULL,
    by_badge TEXT NOT NULL
);
CREATE INDEX subject_aliases_survivor ON subject_aliases (survivor_id);
CREATE TABLE subject_revisions (
    subject_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    at {TS} NOT NULL,
    by_badge TEXT NOT NULL,
    device_id TEXT NOT NULL,
    payload TEXT NOT NULL,
    changed TEXT NOT NULL,
    PRIMARY KEY (subject_id, version)
);
CREATE TABLE subject_conflicts (
    id TEXT PRIMARY KEY,
    subject_id TEXT NOT NULL,
    district TEXT NOT NULL,
    field TEXT NOT NULL,
    base_value TEXT NOT NULL,
    hq_value TEXT NOT NULL,
    pushed_value TEXT NOT NULL,
    by_badge TEXT NOT NULL,
    device_id TEXT NOT NULL,
    at {TS} NOT NULL,
    resolved_at {TS},
    resolved_by TEXT NOT NULL
);
CREATE INDEX subject_conflicts_district ON subject_conflicts (district, resolved_at)
""",
    )


def m009_notice_books(conn: Any, dialect: Dialect) -> None:
    """Warning-notice books (``hq.notices``): a district's printed series, the ranges issued to officers
    (a range never overlaps another of its series: issued under the series row's lock, with unique first
    and last numbers as a net), the numbers seen on cases (one case per number) and the flags of cases
    whose number is outside the officer's books or used twice."""
    _run(
        conn,
        dialect,
        """
CREATE TABLE notice_series (
    series TEXT PRIMARY KEY,
    district TEXT NOT NULL,
    width INTEGER NOT NULL,
    book_size INTEGER NOT NULL,
    threshold INTEGER NOT NULL,
    capacity {BIGINT} NOT NULL,
    auto {BOOL} NOT NULL,
    next_no {BIGINT} NOT NULL,
    created_at {TS} NOT NULL,
    created_by TEXT NOT NULL
);
CREATE TABLE notice_books (
    book_id TEXT PRIMARY KEY,
    series TEXT NOT NULL,
    first_no {BIGINT} NOT NULL,
    last_no {BIGINT} NOT NULL,
    badge TEXT NOT NULL,
    district TEXT NOT NULL,
    issued_at {TS} NOT NULL,
    issued_by TEXT NOT NULL,
    UNIQUE (series, first_no),
    UNIQUE (series, last_no),
    CHECK (first_no <= last_no)
);
CREATE INDEX notice_books_badge ON notice_books (badge, issued_at);
CREATE INDEX notice_books_range ON notice_books (series, last_no);
CREATE TABLE notice_uses (
    number TEXT PRIMARY KEY,
    case_no TEXT NOT NULL,
    case_id TEXT NOT NULL,
    badge TEXT NOT NULL,
    book_id TEXT,
    seq_no {BIGINT},
    used_at {TS} NOT NULL
);
CREATE INDEX notice_uses_book ON notice_uses (book_id);
CREATE INDEX notice_uses_case ON notice_uses (case_no);
CREATE TABLE notice_flags (
    case_id TEXT PRIMARY KEY,
    case_no TEXT NOT NULL,
    number TEXT NOT NULL,
    flag TEXT NOT NULL,
    other_case_no TEXT NOT NULL,
    at {TS} NOT NULL
)
""",
    )


def m010_work_order_seq_and_timers(conn: Any, dialect: Dialect) -> None:
    """Work orders (issue #15), two additions:

    - ``work_order_events.seq``: HQ's receive sequence within an order (1, 2, …), the tie-break of
      ``enforcement.workorders.replay`` for events of one kind at the same HQ instant, so every node folds
      an order alike; unique per order. Existing events are numbered in the order HQ read them before
      (received time, then id).
    - the timer columns of an order's summary, so the overdue lists and the bureau's figures are indexed
      queries rather than a refold of every order (the figures' indexes hold every column they count, so
      SQLite and PostgreSQL answer them from the index alone): ``due_at`` (the next deadline still
      pending, NULL when none), ``first_arrived_ok`` / ``first_resolved_ok`` (the first round on time: the
      figures count the complaint as received). Existing orders are refolded here once.
    """
    from enforcement.workorders import replay
    from hq.storage.sqlcore import loads
    from hq.storage.workorder_rows import event_of, summary_timers, timer_of

    _run(
        conn,
        dialect,
        """
ALTER TABLE work_order_events ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;
ALTER TABLE work_orders ADD COLUMN due_at {TS};
ALTER TABLE work_orders ADD COLUMN first_arrived_ok {BOOL} NOT NULL DEFAULT FALSE;
ALTER TABLE work_orders ADD COLUMN first_resolved_ok {BOOL} NOT NULL DEFAULT FALSE
""",
    )
    rows = dialect.execute(
        conn,
        "SELECT id, order_id, kind, round, at, received_at, actor, data FROM work_order_events"
        " ORDER BY order_id, received_at, id",
    ).fetchall()
    numbered: list[tuple[int, str]] = []
    by_order: dict[str, list[Any]] = {}
    for row in rows:
        events = by_order.setdefault(str(row[1]), [])
        events.append(row)
        numbered.append((len(events), str(row[0])))
    if numbered:
        dialect.executemany(conn, "UPDATE work_order_events SET seq = ? WHERE id = ?", numbered)
    for order_id, events in by_order.items():
        sql = "SELECT timer FROM work_orders WHERE id = ?"
        timer_row = dialect.execute(conn, sql, (order_id,)).fetchone()
        if timer_row is None:
            continue
        folded = [
            event_of(
                str(r[0]),
                str(r[1]),
                str(r[2]),
                int(r[3]),
                _aware(dialect, r[4]),
                _aware(dialect, r[5]),
                str(r[6]),
                loads(r[7]),
                seq=n,
            )
            for n, r in enumerate(events, 1)
        ]
        state = replay(folded, timer_of(loads(timer_row[0])))
        due, arrived_ok, resolved_ok = summary_timers(state)
        dialect.execute(
            conn,
            "UPDATE work_orders SET due_at = ?, first_arrived_ok = ?, first_resolved_ok = ? WHERE id = ?",
            (dialect.ts(due), arrived_ok, resolved_ok, order_id),
        )
    _run(
        conn,
        dialect,
        """
CREATE UNIQUE INDEX work_order_events_seq ON work_order_events (order_id, seq);
CREATE INDEX work_orders_intake_all ON work_orders (intake_at, category, squad, first_arrived_ok,
    first_resolved_ok, closed_at, satisfaction, due_at);
CREATE INDEX work_orders_figures ON work_orders (district, intake_at, first_arrived_ok, first_resolved_ok,
    closed_at, satisfaction, due_at, squad, category);
CREATE INDEX work_orders_due ON work_orders (district, due_at, id);
CREATE INDEX work_orders_squad_due ON work_orders (squad, due_at, id);
CREATE INDEX work_orders_officer_due ON work_orders (officer, due_at, id)
""",
    )


def _aware(dialect: Dialect, value: Any) -> Any:
    moment = dialect.from_ts(value)
    assert moment is not None
    return moment


def m012_squad_feed_device_first_seen(conn: Any, dialect: Dialect) -> None:
    """Squad feed entries (``squad_case``) stored before they carried the first sign-in of the case's
    device (``SquadCaseData.device_first_seen``) are sent again with it when the case is timed more than a
    day before it (the slack of ``patrollog.reviewing.time_flag`` when this was written): a leader's phone
    that pulled one already flags it after its next pull, as HQ's queue does. The other entries stay as they
    are (without the date the phone flags nothing of the kind, which for them is HQ's answer too). The
    first sign-in is the device's earliest row whichever badge, from the devices table; a device HQ never
    saw has none. Re-sent entries get new change numbers after every stored one, in their old order.

    A case was pushed by an officer signed in on its device, so it is found among the cases of the badges
    that have a row on the device, timed before the device's first sign-in less the slack (the
    ``cases_officer`` index): nothing is read of a device first seen before its officers' cases."""
    slack = timedelta(days=1)  # ``DEVICE_SLACK``, frozen here as a shipped migration is
    device = (
        "json_extract(c.payload, '$.device_id')"
        if dialect.name == "sqlite"
        else "(c.payload::json ->> 'device_id')"
    )
    rows = dialect.execute(conn, "SELECT device_id, badge, created_at FROM devices").fetchall()
    firsts: dict[str, datetime] = {}
    badges: dict[str, set[str]] = {}
    for device_id, badge, created in rows:
        moment = dialect.from_ts(created)
        assert moment is not None
        firsts[device_id] = min(firsts.get(device_id, moment), moment)
        badges.setdefault(device_id, set()).add(badge)
    found: list[tuple[int, str, datetime]] = []
    for device_id in sorted(firsts):
        first = firsts[device_id]
        for badge in sorted(badges[device_id]):
            found += [
                (int(seq), text, first)
                for seq, text in dialect.execute(
                    conn,
                    "SELECT ch.seq, ch.data FROM cases c JOIN changes ch ON ch.kind = 'squad_case'"  # noqa: S608
                    f" AND ch.key = c.id WHERE c.officer_badge = ? AND c.occurred_at < ? AND {device} = ?",
                    (badge, dialect.ts(first - slack), device_id),
                ).fetchall()
            ]
    counter = dialect.execute(conn, "SELECT value FROM counters WHERE name = 'changes'").fetchone()
    seq = int(counter[0]) if counter else 0
    moved = 0
    for old_seq, text, first in sorted(found):
        data = json.loads(text)
        if not isinstance(data, dict) or data.get("device_first_seen") is not None:
            continue
        data["device_first_seen"] = _WIRE_TIME.dump_python(first, mode="json")
        seq += 1
        moved += 1
        dialect.execute(
            conn,
            "UPDATE changes SET seq = ?, data = ? WHERE seq = ?",
            (seq, json.dumps(data, ensure_ascii=False, separators=(",", ":"), sort_keys=True), old_seq),
        )
    if moved:
        dialect.execute(
            conn,
            "INSERT INTO counters (name, value) VALUES ('changes', ?)"
            " ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            (seq,),
        )


#: a time as the wire models write it (``hq.feed``)
_WIRE_TIME: TypeAdapter[datetime] = TypeAdapter(datetime)


#: How many pairs ``m013`` merges per step.
M013_CHUNK = 1000


def m013_one_feed_entry_per_case_version(conn: Any, dialect: Dialect) -> None:
    """A case version's two feed entries — ``case_state`` for its officer and ``squad_case`` for the
    squad's leaders, a copy of the version's record — become the one entry this build writes
    (``Tx.emit_case``): the officer's state with the leaders' own fields under ``"leaders"``, scoped to the
    officer and the squad, dated as the leaders' entry was; a pull builds the leaders' data from it and the
    version's ``cases`` row. A pair is merged only when that rebuilt data equals the stored ``squad_case``
    (so every phone is sent exactly what it was sent before); any other entry stays as it is, and pulls
    read such an entry as before. The merged entry keeps the later of the pair's change numbers: a phone
    whose cursor lies between them gets its ``case_state`` once more, the same data (nothing is lost).
    Self-contained: the rebuild is written out here, as a shipped migration is frozen."""
    last = -1
    while True:  # ``M013_CHUNK`` pairs at a time, in change order: a city's feed is never held in memory
        pairs = dialect.execute(
            conn,
            "SELECT s.seq, s.scope_squad, s.occurred_at, s.data, c.seq, c.data, k.payload FROM changes s"
            " JOIN changes c ON c.kind = 'case_state' AND c.key = s.key AND c.scope_squad IS NULL"
            " JOIN cases k ON k.id = s.key WHERE s.kind = 'squad_case' AND s.seq > ?"
            " ORDER BY s.seq LIMIT ?",
            (last, M013_CHUNK),
        ).fetchall()
        if not pairs:
            return
        last = int(pairs[-1][0])
        merged = [_merged_case_entry(*pair) for pair in pairs]
        done = [m for m in merged if m is not None]
        if done:  # the leaders' entries first: their numbers are free before the merged entries take them
            dialect.executemany(conn, "DELETE FROM changes WHERE seq = ?", [(m[0],) for m in done])
            dialect.executemany(
                conn,
                "UPDATE changes SET seq = ?, scope_squad = ?, occurred_at = ?, data = ? WHERE seq = ?",
                [m[1:] for m in done],
            )


def _merged_case_entry(
    squad_seq: Any, squad: Any, occurred: Any, squad_text: Any, state_seq: Any, state_text: Any, payload: Any
) -> tuple[int, int, Any, Any, str, int] | None:
    """``m013``'s merge of one pair: (the leaders' entry to delete, the merged entry's number, squad, time,
    data, the officer's entry to update), or None when the rebuilt leaders' data is not the stored one."""
    leaders_of, state = json.loads(squad_text), json.loads(state_text)
    if not isinstance(leaders_of, dict) or not isinstance(state, dict) or "leaders" in state:
        return None
    leaders = {name: leaders_of.get(name) for name in ("device_first_seen", "officer_name", "reviews",
                                                        "subject_label")}  # fmt: skip
    try:
        rebuilt = {
            "case": json.loads(payload), "device_first_seen": leaders["device_first_seen"],
            "hq_reason_en": state["hq_reason_en"], "hq_reason_zh": state["hq_reason_zh"],
            "hq_stage": state["hq_stage"], "missing_photos": len(state["missing_photos"]),
            "officer_name": leaders["officer_name"], "received_at": state["received_at"],
            "reviews": leaders["reviews"], "subject_label": leaders["subject_label"],
        }  # fmt: skip
    except (KeyError, TypeError, ValueError):
        return None
    if rebuilt != leaders_of:
        return None
    data = json.dumps(
        {**state, "leaders": leaders}, ensure_ascii=False, separators=(",", ":"), sort_keys=True
    )
    return int(squad_seq), max(int(squad_seq), int(state_seq)), squad, occurred, data, int(state_seq)


#: The schema, oldest first. ``len(MIGRATIONS)`` is the version this code writes.
def m011_city_scale(conn: Any, dialect: Dialect) -> None:
    """HQ's reads at a whole city's scale (issue #20): the trend rollup ``agg_trend`` (cases per week or
    month × squad × violation × HQ stage, kept by ``hq.tally`` from the same deltas as ``agg_cases`` and
    filled here from it), the review queue's index over the cases a squad's day received (a case whose
    time a wrong phone clock made implausible is placed by its receive time), and repeat offenders walked
    in their list order (most cases first) instead of sorted after a range read."""
    _run(
        conn,
        dialect,
        """
CREATE TABLE agg_trend (
    unit TEXT NOT NULL,
    first_day TEXT NOT NULL,
    squad_code TEXT NOT NULL,
    violation_code TEXT NOT NULL,
    stage INTEGER NOT NULL,
    n {BIGINT} NOT NULL,
    PRIMARY KEY (unit, first_day, squad_code, violation_code, stage)
);
CREATE INDEX cases_squad_received ON cases (squad_code, received_at);
DROP INDEX agg_subjects_penalty;
CREATE INDEX agg_subjects_top ON agg_subjects (n DESC, subject_id, last_penalty_at) WHERE penalties > 0
""",
    )
    if dialect.name == "sqlite":
        month, week = "substr(day, 1, 8) || '01'", "date(day, '-6 days', 'weekday 1')"
    else:
        month, week = (
            "substr(day, 1, 8) || '01'",
            "to_char(day::date - (extract(isodow from day::date)::int - 1), 'YYYY-MM-DD')",
        )
    for unit, start in (("month", month), ("week", week)):  # constants: no SQL from data
        sql = (
            "INSERT INTO agg_trend (unit, first_day, squad_code, violation_code, stage, n)"  # noqa: S608
            f" SELECT '{unit}', {start}, squad_code, violation_code, stage, sum(n) FROM agg_cases"
            f" GROUP BY {start}, squad_code, violation_code, stage HAVING sum(n) <> 0"
        )
        dialect.execute(conn, sql)


def m014_feed_scope_indexes(conn: Any, dialect: Dialect) -> None:
    """Fewer index entries per change-feed row and per case (issue #17, ingest's writes): each scope index
    of ``changes`` holds only the rows that have that scope (a case version's entry has a badge and a
    squad, no district; a subject's history has a district only, so each used to add one or two entries
    of NULL to the other indexes), and the rows scoped to everyone (no district, no badge; by their NULL
    squad) or to a squad alone get their own small index, which a pull's first arm (``scope_* IS NULL``)
    reads where it read ``changes_squad`` before. Every arm of a pull's OR (``scope_district = ?``,
    ``scope_badge = ?``, ``scope_squad = ?``) implies its index's ``IS NOT NULL``, so both engines still
    reach each arm through an index. ``cases_squad (squad_code, occurred_at)`` is a prefix of
    ``cases_squad_time (squad_code, occurred_at, case_no, version)``, which serves every query it served:
    dropped. ``IF EXISTS``: it can run again over its own result (a database marked older by hand)."""
    _run(
        conn,
        dialect,
        """
DROP INDEX IF EXISTS changes_district;
DROP INDEX IF EXISTS changes_badge;
DROP INDEX IF EXISTS changes_squad;
DROP INDEX IF EXISTS changes_unscoped;
CREATE INDEX changes_district ON changes (scope_district, seq) WHERE scope_district IS NOT NULL;
CREATE INDEX changes_badge ON changes (scope_badge, seq) WHERE scope_badge IS NOT NULL;
CREATE INDEX changes_squad ON changes (scope_squad, seq) WHERE scope_squad IS NOT NULL;
CREATE INDEX changes_unscoped ON changes (scope_squad, seq)
    WHERE scope_district IS NULL AND scope_badge IS NULL;
DROP INDEX IF EXISTS cases_squad
""",
    )


#: The schema, oldest first. ``len(MIGRATIONS)`` is the version this code writes.
MIGRATIONS: tuple[Callable[[Any, Dialect], None], ...] = (
    m001_initial,
    m002_auth_devices,
    m003_photos_uploaders,
    m004_zones,
    m005_policy,
    m006_work_orders,
    m007_aggregates,
    m008_subject_merge,
    m009_notice_books,
    m010_work_order_seq_and_timers,
    m011_city_scale,
    m012_squad_feed_device_first_seen,
    m013_one_feed_entry_per_case_version,
    m014_feed_scope_indexes,
)
SCHEMA_VERSION = len(MIGRATIONS)


def _columns(conn: Any, dialect: Dialect, table: str) -> set[str]:
    """The columns of ``table`` (empty when it does not exist)."""
    if dialect.name == "sqlite":
        rows = dialect.execute(conn, f"PRAGMA table_info({table})").fetchall()
        return {str(row[1]) for row in rows}
    rows = dialect.execute(
        conn,
        "SELECT column_name FROM information_schema.columns"
        " WHERE table_schema = current_schema() AND table_name = ?",
        (table,),
    ).fetchall()
    return {str(row[0]) for row in rows}


def stored_version(conn: Any, dialect: Dialect) -> int:
    """The schema version the database says it is at (0: no HQ schema yet)."""
    if not _columns(conn, dialect, "meta"):
        return 0
    row = dialect.execute(conn, "SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    try:
        return int(row[0]) if row is not None else 0
    except ValueError:
        raise StorageError(
            f"the HQ database's schema version {row[0]!r} is not a number",
            zh="指挥中心数据库的结构版本无法识别",
            field="storage",
        ) from None


def _refuse_newer(version: int) -> None:
    if version > SCHEMA_VERSION:
        raise SchemaTooNew(
            f"the HQ database is at schema version {version}, newer than this HQ build knows"
            f" ({SCHEMA_VERSION}); open it with a newer HQ build",
            zh=f"指挥中心数据库的结构版本为 {version}，比本程序支持的版本（{SCHEMA_VERSION}）新，"
            "请使用更新版本的指挥中心程序打开",
            field="storage",
        )


def _adopt_baseline(conn: Any, dialect: Dialect) -> None:
    """A version-1 database of a build before the squad feed lacks ``changes.scope_squad`` (and its
    index): add them, as the builds before migrations did at every open."""
    if "scope_squad" not in _columns(conn, dialect, "changes"):
        dialect.execute(conn, "ALTER TABLE changes ADD COLUMN scope_squad TEXT")
        dialect.execute(conn, "CREATE INDEX IF NOT EXISTS changes_squad ON changes (scope_squad, seq)")


def migrate(conn: Any, dialect: Dialect) -> tuple[int, int]:
    """Bring the database to ``SCHEMA_VERSION`` inside the caller's transaction; returns the versions
    before and after. ``SchemaTooNew`` (nothing written) when it is newer than this code."""
    before = stored_version(conn, dialect)
    _refuse_newer(before)
    if before >= 1:  # idempotent: also a current database that lost the column gets it back
        _adopt_baseline(conn, dialect)
    for migration in MIGRATIONS[before:]:
        migration(conn, dialect)
    if before < SCHEMA_VERSION:
        dialect.execute(
            conn,
            "INSERT INTO meta (key, value) VALUES ('schema_version', ?)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (str(SCHEMA_VERSION),),
        )
    return before, SCHEMA_VERSION


def check_version(conn: Any, dialect: Dialect) -> None:
    """Refuse a database this code cannot serve as it is: no schema, an older one (run ``init``, which
    migrates) or a newer one (``SchemaTooNew``)."""
    version = stored_version(conn, dialect)
    _refuse_newer(version)
    if version == 0:
        raise StorageError(
            "the HQ database has no schema; run `streetpatrol-hq init`",
            zh="指挥中心数据库尚未初始化，请先运行 streetpatrol-hq init",
            field="storage",
        )
    if version < SCHEMA_VERSION:
        raise StorageError(
            f"the HQ database is at schema version {version}, older than this build's"
            f" ({SCHEMA_VERSION}); run `streetpatrol-hq init` to upgrade it",
            zh=f"指挥中心数据库的结构版本为 {version}，低于本程序的版本（{SCHEMA_VERSION}），"
            "请先运行 streetpatrol-hq init 升级",
            field="storage",
        )


#: Tables in the order a benchmark or a test may empty them.
TABLES = (
    "meta", "counters", "districts", "squads", "users", "devices", "device_keys", "tokens", "signin_failures",
    "receipts", "device_seqs", "cases", "case_photos", "photos", "subjects", "shifts", "reviews",
    "catalogue", "changes", "audit", "audit_head", "photo_uploads", "zone_versions", "policies",
    "work_order_events", "work_orders", "partners", "work_order_timers",
    "agg_cases", "agg_seized", "agg_conflicts", "agg_subjects",
    "subject_keys", "subject_pairs", "subject_aliases", "subject_revisions", "subject_conflicts",
    "notice_flags", "notice_uses", "notice_books", "notice_series", "agg_trend",
)  # fmt: skip
