"""The test PostgreSQL: the server ``scripts/pg.sh`` starts, named by ``STREETPATROL_TEST_PG_DSN``.

Without that DSN the PostgreSQL cases are skipped, or fail when ``STREETPATROL_REQUIRE_PG=1`` (as
``scripts/test`` sets). For a local run:
``read -r PGDIR STREETPATROL_TEST_PG_DSN < <(bash scripts/pg.sh); export STREETPATROL_TEST_PG_DSN``.
Each test gets a fresh schema (``t_<random>``) dropped afterwards.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest
from psycopg import sql as pgsql
from psycopg.conninfo import conninfo_to_dict

from hq.storage.postgres import PostgresStorage
from testkit.hqkit import Hq, make_hq

PG_DSN_ENV = "STREETPATROL_TEST_PG_DSN"
REQUIRE_PG_ENV = "STREETPATROL_REQUIRE_PG"


def pg_dsn() -> str:
    """The test server's DSN; skips (or fails when required) without one."""
    dsn = os.environ.get(PG_DSN_ENV, "")
    if not dsn:
        if os.environ.get(REQUIRE_PG_ENV) == "1":
            pytest.fail(f"{REQUIRE_PG_ENV}=1 but {PG_DSN_ENV} is not set")
        pytest.skip(f"no PostgreSQL: set {PG_DSN_ENV} (bash scripts/pg.sh prints a DSN)")
    return dsn


def database_url(dsn: str, dbname: str) -> str:
    """A ``postgresql://`` URL for database ``dbname`` on the server of ``dsn`` (a URL or key=value
    conninfo). ``open_storage`` and ``serve --pg`` recognise PostgreSQL by that scheme: a key=value
    string (what ``make_conninfo`` returns) would be taken for a SQLite file name."""
    params = conninfo_to_dict(dsn)
    user = quote(str(params.get("user", "")), safe="")
    password = params.get("password")
    login = user + (":" + quote(str(password), safe="") if password else "")
    host, port = params.get("host", "127.0.0.1"), params.get("port", "5432")
    return f"postgresql://{login}@{host}:{port}/{quote(dbname, safe='')}"


@contextmanager
def fresh_database(dsn: str, prefix: str = "t") -> Iterator[str]:
    """A new, empty database on the server of ``dsn`` as a ``postgresql://`` URL (HQ serves its public
    schema), dropped afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(pgsql.SQL("CREATE DATABASE {}").format(pgsql.Identifier(name)))
    try:
        yield database_url(dsn, name)
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(pgsql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(pgsql.Identifier(name)))


def new_schema() -> str:
    """A fresh schema name for one test."""
    return f"t_{uuid.uuid4().hex[:16]}"


def drop_schema(dsn: str, schema: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(pgsql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(pgsql.Identifier(schema)))


def drop_bench_schemas(dsn: str) -> None:
    """Drops every ``bench_*`` schema a bench run (bench/ingest.py, bench/dashboard.py) left at ``dsn``."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        names = [
            r[0]
            for r in conn.execute("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'bench!_%' ESCAPE '!'")
        ]
        for name in names:
            conn.execute(f'DROP SCHEMA "{name}" CASCADE')


@contextmanager
def dropped_afterwards(dsn: str, schema: str) -> Iterator[str]:
    """Drops ``schema`` when the block ends, however it ends; yields the schema name."""
    try:
        yield schema
    finally:
        drop_schema(dsn, schema)


def fresh_storage(min_size: int = 1, max_size: int = 4) -> Iterator[PostgresStorage]:
    """Body of a fixture: a PostgreSQL storage in a fresh schema (created), closed and dropped afterwards."""
    dsn = pg_dsn()
    schema = new_schema()
    storage = PostgresStorage(dsn, schema=schema, min_size=min_size, max_size=max_size)
    try:
        storage.create_schema()
        yield storage
    finally:
        storage.close()
        drop_schema(dsn, schema)


def pg_hq_of(root: Path, *, max_size: int = 6) -> Iterator[Hq]:
    """Body of a fixture: HQ served on loopback over a fresh PostgreSQL schema (dropped afterwards)."""
    dsn = pg_dsn()
    schema = new_schema()
    hq = make_hq(root, lambda: PostgresStorage(dsn, schema=schema, min_size=1, max_size=max_size))
    try:
        hq.serve()
        yield hq
    finally:
        hq.close()
        drop_schema(dsn, schema)
