"""HQ test fixtures: a fresh storage per test on each backend, and HQ's app.

``storage`` is parametrized over SQLite (a file in tmp_path) and PostgreSQL (``testkit.pg``: a fresh schema
per test, dropped afterwards; skipped without ``STREETPATROL_TEST_PG_DSN``, failed when
``STREETPATROL_REQUIRE_PG=1``). Builders of valid records are in ``testkit.records``.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import httpx
import pytest

from hq.storage.base import Storage
from hq.storage.sqlite import SqliteStorage
from testkit import pg
from testkit.hqkit import Hq, hq_of


def _sqlite(tmp_path: Path) -> Iterator[Storage]:
    storage = SqliteStorage(tmp_path / "hq.db")
    storage.create_schema()
    try:
        yield storage
    finally:
        storage.close()


@pytest.fixture
def hq(tmp_path: Path) -> Iterator[Hq]:
    """HQ's app over a fresh SQLite file (a module may override it with other settings)."""
    yield from hq_of(tmp_path)


@pytest.fixture
def client(hq: Hq) -> Iterator[httpx.Client]:
    """An httpx client of ``hq`` served on loopback."""
    with hq.client() as client:
        yield client


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Storage]:
    """A fresh, empty HQ storage (schema created) on each backend."""
    yield from (_sqlite(tmp_path) if request.param == "sqlite" else pg.fresh_storage())


@pytest.fixture
def pg_storage() -> Iterator[Storage]:
    """A fresh PostgreSQL storage (for behaviour only concurrent writers show)."""
    yield from pg.fresh_storage()


FreshStorage = Callable[[], AbstractContextManager[Storage]]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def fresh_storage(request: pytest.FixtureRequest, tmp_path: Path) -> FreshStorage:
    """A maker of fresh, empty storages on each backend, for a property test that needs one per example
    (``with fresh_storage() as storage: ...``; a PostgreSQL schema is dropped when the block ends)."""
    numbers = itertools.count()

    def sqlite() -> Iterator[Storage]:
        root = tmp_path / f"example-{next(numbers)}"
        root.mkdir()
        yield from _sqlite(root)

    if request.param == "sqlite":
        return contextmanager(sqlite)
    pg.pg_dsn()  # skipped (or failed) here, not inside the property, without a PostgreSQL
    return contextmanager(pg.fresh_storage)
