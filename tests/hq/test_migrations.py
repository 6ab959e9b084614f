"""HQ's schema migrations (``hq.storage.migrations``) on both backends: a fresh database gets the latest
version; a database made before migrations (the baseline, at its legacy marker, with data) is recognised
and upgraded losing nothing; a newer one is refused untouched (in Chinese and English, by the CLI too);
opening twice, or from two processes at once, migrates once."""

from __future__ import annotations

import sqlite3
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql as pgsql

from enforcement.model import ReviewDecision, Shift
from hq import tally
from hq.cli import main as cli
from hq.ingest.push import ingest_batch
from hq.storage import migrations
from hq.storage.base import (
    ChangeKind,
    ChangeScope,
    District,
    RecordKind,
    SchemaTooNew,
    Squad,
    Storage,
    StorageError,
    TokenRow,
    UserRow,
)
from hq.storage.postgres import PostgresDialect, PostgresStorage
from hq.storage.sqlcore import Dialect
from hq.storage.sqlite import SqliteDialect, SqliteStorage
from testkit.pg import pg_dsn
from testkit.records import DISTRICT, LEADER, NOW, OFFICER, make_case, make_subject, raw_sql
from tests.hq.ingest.test_ingest import _review, rec
from tests.hq.test_storage_contract import days

DEVICE = "device-1"


@dataclass
class Place:
    """Where a database lives, before and after HQ opens it."""

    backend: str
    open: Callable[[], Storage]  # a storage object on it, schema NOT created
    raw: Callable[[], Any]  # a context manager: (conn, dialect) in one transaction, committed at the end


def _sqlite_place(path: Path) -> Place:
    @contextmanager
    def raw() -> Iterator[tuple[Any, Dialect]]:
        conn = sqlite3.connect(path, isolation_level=None)
        try:
            conn.execute("BEGIN IMMEDIATE")
            yield conn, SqliteDialect()
            conn.execute("COMMIT")
        finally:
            conn.close()

    return Place("sqlite", lambda: SqliteStorage(path), raw)


def _postgres_place(dsn: str, schema: str) -> Place:
    @contextmanager
    def raw() -> Iterator[tuple[Any, Dialect]]:
        with psycopg.connect(dsn) as conn:
            conn.execute(pgsql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(pgsql.Identifier(schema)))
            conn.execute(pgsql.SQL("SET search_path TO {}").format(pgsql.Identifier(schema)))
            conn.execute("SET TIME ZONE 'UTC'")
            yield conn, PostgresDialect(0, 0)
            conn.commit()

    return Place("postgres", lambda: PostgresStorage(dsn, schema=schema, min_size=1, max_size=4), raw)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def place(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Place]:
    """An empty place for one HQ database on each backend (a file; a PostgreSQL schema dropped after)."""
    if request.param == "sqlite":
        yield _sqlite_place(tmp_path / "hq.db")
        return
    dsn = pg_dsn()
    schema = f"t_{uuid.uuid4().hex[:16]}"
    try:
        yield _postgres_place(dsn, schema)
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(pgsql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(pgsql.Identifier(schema)))


@pytest.fixture
def source(place: Place, tmp_path: Path) -> Iterator[Place]:
    """A second empty place on the same backend as ``place``: the database today's code fills."""
    if place.backend == "sqlite":
        yield _sqlite_place(tmp_path / "source.db")
        return
    dsn = pg_dsn()
    schema = f"t_{uuid.uuid4().hex[:16]}"
    try:
        yield _postgres_place(dsn, schema)
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(pgsql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(pgsql.Identifier(schema)))


@contextmanager
def opened(place: Place, *, create: bool = True) -> Iterator[Storage]:
    storage = place.open()
    try:
        if create:
            storage.create_schema()
        yield storage
    finally:
        storage.close()


def version_of(place: Place) -> int:
    with place.raw() as (conn, dialect):
        return migrations.stored_version(conn, dialect)


def columns_of(place: Place) -> dict[str, list[str]]:
    """Each HQ table's columns as they stand in the place's database (a table it lacks: none)."""
    found: dict[str, list[str]] = {}
    with place.raw() as (conn, _dialect):
        for table in migrations.TABLES:
            if place.backend == "sqlite":
                found[table] = [row[1] for row in conn.execute(f"PRAGMA table_info({table})").fetchall()]
            else:
                found[table] = [
                    row[0]
                    for row in conn.execute(
                        "SELECT column_name FROM information_schema.columns "
                        "WHERE table_schema = current_schema() AND table_name = %s ORDER BY ordinal_position",
                        (table,),
                    ).fetchall()
                ]
    return found


def make_legacy(place: Place, source: Place) -> None:
    """A database as the builds before migrations left it: the baseline tables (frozen as
    ``m001_initial``) and the marker they wrote (``meta.schema_version`` = '1'), holding the rows of
    ``source`` (filled through today's code) in the baseline's columns. Copying keeps the legacy database
    independent of every later migration: today's code never writes to the baseline tables directly."""
    with place.raw() as (conn, dialect):
        migrations.m001_initial(conn, dialect)
    baseline = {table: cols for table, cols in columns_of(place).items() if cols}
    rows: dict[str, list[tuple[Any, ...]]] = {}
    with source.raw() as (conn, dialect):
        for table, cols in baseline.items():
            rows[table] = [
                tuple(r) for r in dialect.execute(conn, f"SELECT {', '.join(cols)} FROM {table}").fetchall()
            ]
    with place.raw() as (conn, dialect):
        for table, cols in baseline.items():
            dialect.execute(conn, f"DELETE FROM {table}")
            marks = ", ".join("?" for _ in cols)
            for row in rows[table]:
                dialect.execute(conn, f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({marks})", row)
        dialect.execute(conn, "UPDATE meta SET value = '1' WHERE key = 'schema_version'")


def fill(storage: Storage) -> None:
    """Data in every corner, through the real API: people, devices, tokens, pushed cases, subjects,
    shifts and reviews (with their feed entries), a catalogue, sign-in failures and audit events."""
    with storage.transaction() as tx:
        tx.put_district(District(DISTRICT, DISTRICT))
        tx.put_squad(Squad(OFFICER.squad_code, OFFICER.squad_name, DISTRICT))
        tx.put_user(UserRow(OFFICER, "hash-1"))
        tx.put_user(UserRow(LEADER, "hash-2"))
        tx.touch_device(DEVICE, OFFICER.badge, NOW, "华为 Mate")
        tx.add_token(TokenRow("tok-hash", DEVICE, OFFICER.badge, NOW, NOW + days(30)))
        tx.record_failure("1023@device-1", NOW)
        tx.set_catalogue("2026.11", {"violations": []}, NOW)
        tx.audit("9001", "add_user", target=OFFICER.badge, detail={"role": "officer"})
    subject = make_subject()
    first = make_case(subject_id=subject.id, occurred_at=NOW - days(3), photos=1)
    second = make_case(subject_id=subject.id)
    shift = Shift(id=str(uuid.uuid4()), officer_badge=OFFICER.badge, started_at=NOW - timedelta(hours=2))
    records = [rec(RecordKind.SUBJECT, subject), rec(RecordKind.CASE, first), rec(RecordKind.CASE, second),
               rec(RecordKind.SHIFT, shift)]  # fmt: skip
    results = ingest_batch(storage, OFFICER, DEVICE, records, now=NOW)
    assert {r.status for r in results} <= {"accepted", "conflict"}, results
    review = rec(RecordKind.REVIEW, _review(first, ReviewDecision.APPROVE))
    assert [r.status for r in ingest_batch(storage, LEADER, "device-2", [review], now=NOW)] == ["accepted"]
    with storage.transaction() as tx:
        tx.emit(ChangeKind.SUBJECT, "extra", {"x": 1}, ChangeScope(district=DISTRICT))


def dump(place: Place, columns: dict[str, list[str]] | None = None) -> dict[str, list[str]]:
    """Every row of every HQ table, sorted (what "losing nothing" compares; not the schema version, which
    migrating moves on); with ``columns``, only those columns of each table (what an older schema had:
    later migrations add columns with defaults)."""
    with opened(place, create=False) as storage:
        run = raw_sql(storage)
        only = {"meta": " WHERE key <> 'schema_version'"}

        def picked(table: str) -> str:
            return ", ".join(columns[table]) if columns else "*"

        return {
            table: sorted(
                repr(row) for row in run(f"SELECT {picked(table)} FROM {table}{only.get(table, '')}", ())
            )
            for table in migrations.TABLES
            if columns is None or columns.get(table)
        }


# ---------------------------------------------------------------------------------------------- tests


def test_a_fresh_database_gets_the_latest_version(place: Place) -> None:
    assert version_of(place) == 0
    with opened(place) as storage, storage.transaction() as tx:
        tx.put_user(UserRow(OFFICER, "h"))
    assert version_of(place) == migrations.SCHEMA_VERSION == len(migrations.MIGRATIONS)


def test_opening_twice_is_idempotent(place: Place) -> None:
    with opened(place) as storage:
        fill(storage)
    before = dump(place)
    with opened(place):
        pass
    with opened(place) as storage, storage.transaction(readonly=True) as tx:
        assert tx.get_user(OFFICER.badge) is not None
    assert dump(place) == before
    assert version_of(place) == migrations.SCHEMA_VERSION


@pytest.mark.parametrize("before_squad_feed", [False, True], ids=["baseline", "before-squad-feed"])
def test_a_database_made_before_migrations_is_upgraded_losing_nothing(
    place: Place, source: Place, before_squad_feed: bool
) -> None:
    with opened(source) as storage:
        fill(storage)
    make_legacy(place, source)
    if before_squad_feed:  # as a build before the squad feed left it (its squad rows lose their scope)
        with place.raw() as (conn, dialect):
            dialect.execute(conn, "DROP INDEX changes_squad")
            dialect.execute(conn, "ALTER TABLE changes DROP COLUMN scope_squad")
    legacy = columns_of(place)
    before = dump(place, legacy)
    assert all(before[table] for table in ("users", "devices", "cases", "subjects", "changes", "audit"))
    assert version_of(place) == 1
    with opened(place) as storage:  # what opening HQ does
        with storage.transaction(readonly=True) as tx:
            page = tx.changes_after(None, district=DISTRICT, badge=LEADER.badge, squad=OFFICER.squad_code)
            assert len(tx.list_cases(limit=100)) == 2
        assert ChangeKind.SUBJECT in {c.kind for c in page.changes}
    assert dump(place, legacy) == before
    assert version_of(place) == migrations.SCHEMA_VERSION
    with opened(place) as storage, storage.transaction() as tx:  # and it takes squad-scoped changes now
        tx.emit(ChangeKind.SQUAD_CASE, "c-new", {"x": 1}, ChangeScope(squad="ZD01"))


def test_a_newer_database_is_refused_untouched(place: Place) -> None:
    with opened(place) as storage:
        fill(storage)
    newer = migrations.SCHEMA_VERSION + 1
    with place.raw() as (conn, dialect):
        dialect.execute(conn, "UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(newer),))
    before = dump(place)
    # ``init`` / ``serve`` migrate on open; the workers of ``serve --workers`` only read it
    for step in ("create_schema", "transaction"):
        storage = place.open()
        try:
            with pytest.raises(SchemaTooNew) as err:
                _open_by(storage, step)
        finally:
            storage.close()
        assert isinstance(err.value, StorageError)
        assert f"结构版本为 {newer}" in err.value.zh
        assert f"schema version {newer}, newer than" in err.value.en
    assert dump(place) == before
    assert version_of(place) == newer


def _open_by(storage: Storage, step: str) -> None:
    if step == "create_schema":
        storage.create_schema()
    else:
        with storage.transaction(readonly=True):
            pass


def test_the_cli_refuses_a_newer_database_without_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "hq.db"
    assert cli.main(["init", "--db", str(path)]) == 0
    conn = sqlite3.connect(path)
    conn.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    conn.commit()
    conn.close()
    capsys.readouterr()
    assert cli.main(["init", "--db", str(path)]) == 1
    err = capsys.readouterr().err
    assert "错误：指挥中心数据库的结构版本为 99" in err
    assert "error: the HQ database is at schema version 99, newer than" in err
    assert "Traceback" not in err


def test_an_older_database_is_not_served_before_it_is_migrated(place: Place) -> None:
    """``serve --workers`` workers open without migrating: a database behind the code is refused."""
    with place.raw() as (conn, dialect):
        dialect.execute(conn, "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    storage = place.open()
    try:
        with pytest.raises(StorageError) as err, storage.transaction(readonly=True):
            pass
        assert "init" in err.value.en
        assert "init" in err.value.zh
    finally:
        storage.close()


@pytest.mark.postgres
def test_two_processes_opening_a_fresh_postgres_database_migrate_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    dsn = pg_dsn()
    schema = f"t_{uuid.uuid4().hex[:16]}"
    place = _postgres_place(dsn, schema)
    runs: list[str] = []
    real = migrations.MIGRATIONS[0]

    def counted(conn: Any, dialect: Dialect) -> None:
        runs.append(threading.current_thread().name)
        real(conn, dialect)

    monkeypatch.setattr(migrations, "MIGRATIONS", (counted, *migrations.MIGRATIONS[1:]))
    storages = [place.open() for _ in range(4)]
    start = threading.Barrier(len(storages))
    errors: list[BaseException] = []

    def open_one(storage: Storage) -> None:
        try:
            start.wait(10)
            storage.create_schema()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=open_one, args=(s,)) for s in storages]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert errors == []
        assert len(runs) == 1
        epochs = set()
        for storage in storages:
            with storage.transaction(readonly=True) as tx:
                epochs.add(tx.changes_after(None, district=DISTRICT, badge="1023").cursor)
        assert len(epochs) == 1
        assert version_of(place) == migrations.SCHEMA_VERSION
    finally:
        for storage in storages:
            storage.close()
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(pgsql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(pgsql.Identifier(schema)))


def test_the_trend_rollup_is_filled_from_the_day_rows_a_database_already_holds(place: Place) -> None:
    """``m011_city_scale`` fills ``agg_trend`` (weeks from Monday, months) from the kept day rows."""
    before = migrations.MIGRATIONS.index(migrations.m011_city_scale)
    rows = [
        ("2026-10-31", "ZD01", "0510", 1, 2),  # a Saturday: the week of Monday 10-26, the month of 10-01
        ("2026-11-01", "ZD01", "0510", 1, 3),  # a Sunday: the same week, another month
        ("2026-11-02", "ZD01", "0510", 1, 5),  # a Monday: a new week
        ("2026-11-02", "ZD02", "0101", 3, 7),
        ("2026-11-03", "ZD02", "0101", 3, 0),  # an emptied cell adds no row
    ]
    with place.raw() as (conn, dialect):
        for migration in migrations.MIGRATIONS[:before]:
            migration(conn, dialect)
        dialect.execute(conn, "INSERT INTO meta (key, value) VALUES ('schema_version', ?)", (str(before),))
        for row in rows:
            dialect.execute(
                conn,
                "INSERT INTO agg_cases (day, squad_code, violation_code, stage, n, fined, fines_yuan)"
                " VALUES (?, ?, ?, ?, ?, 0, 0)",
                row,
            )
    with opened(place) as storage, storage.transaction(readonly=True) as tx:
        kept = tally.kept(tx)
        assert tally.comparable(kept)["trend"] == tally.rollup(kept.figures.cases)
        assert sorted(tx.tally_trend_rows()) == [
            ("month", "2026-10-01", "ZD01", "0510", 1, 2),
            ("month", "2026-11-01", "ZD01", "0510", 1, 8),
            ("month", "2026-11-01", "ZD02", "0101", 3, 7),
            ("week", "2026-10-26", "ZD01", "0510", 1, 5),
            ("week", "2026-11-02", "ZD01", "0510", 1, 5),
            ("week", "2026-11-02", "ZD02", "0101", 3, 7),
        ]
