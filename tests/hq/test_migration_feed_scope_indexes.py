"""``m014_feed_scope_indexes`` on both backends: the change feed's scope indexes become partial (a row
enters only the indexes of the scopes it has; the rows scoped to everyone or to a squad alone get their own
index) and ``cases_squad``, a prefix of ``cases_squad_time``, goes. A database of the previous version
migrates losing nothing, every caller's pull returns what it returned before, and the pulls (and the
squad's case list) still reach every arm of their WHERE through an index."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from hq.storage import migrations
from hq.storage.base import ChangePage, Storage
from hq.storage.sqltx import SqlTx
from testkit.records import DISTRICT, LEADER, NOW, OFFICER
from tests.hq.test_migrations import Place, dump, fill, opened, place, version_of
from tests.hq.test_storage_contract import days

__all__ = ["place"]  # the fixture, on both backends

#: The indexes m014 makes partial or adds, with their predicates as each engine prints them (lower case,
#: no spaces or parentheses, so SQLite's text and PostgreSQL's ``pg_get_indexdef`` compare alike).
PARTIAL = {
    "changes_district": "wherescope_districtisnotnull",
    "changes_badge": "wherescope_badgeisnotnull",
    "changes_squad": "wherescope_squadisnotnull",
    "changes_unscoped": "wherescope_districtisnullandscope_badgeisnull",
}

#: The callers of the pulls: officer, leader (squad feed and the leaders' join), a district's HQ user.
CALLERS: dict[str, dict[str, Any]] = {
    "officer": {"district": DISTRICT, "badge": OFFICER.badge},
    "leader": {"district": DISTRICT, "badge": LEADER.badge, "squad": LEADER.squad_code},
    "hq": {"district": DISTRICT, "badge": "9001"},
}


def _indexes(place: Place, table: str) -> dict[str, str]:
    """``table``'s named indexes and their definitions, normalised (see ``PARTIAL``)."""
    with place.raw() as (conn, _dialect):
        if place.backend == "sqlite":
            rows = conn.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ?"
                " AND sql IS NOT NULL",
                (table,),
            ).fetchall()
        else:
            rows = conn.execute(
                "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema()"
                " AND tablename = %s",
                (table,),
            ).fetchall()
    return {name: "".join(c for c in text.lower() if c not in " ()") for name, text in rows}


def _pulls(storage: Storage) -> dict[str, list[tuple[str, str, Any]]]:
    """Every caller's whole pull from the start, windows on, in pages of 2 (so cursors are crossed)."""
    found: dict[str, list[tuple[str, str, Any]]] = {}
    for who, caller in CALLERS.items():
        cursor, got = None, []
        while True:
            with storage.transaction(readonly=True) as tx:
                page: ChangePage = tx.changes_after(
                    cursor, history_since=NOW - days(400), squad_since=NOW - days(30), limit=2, **caller
                )
            got += [(c.kind.value, c.key, c.data) for c in page.changes]
            cursor = page.cursor
            if not page.more:
                break
        found[who] = got
    return found


def _old_indexes(place: Place) -> None:
    """The indexes as m001 made them: what a database of the previous build has."""
    with place.raw() as (conn, dialect):
        for name in PARTIAL:
            dialect.execute(conn, f"DROP INDEX {name}")
        dialect.execute(conn, "CREATE INDEX changes_district ON changes (scope_district, seq)")
        dialect.execute(conn, "CREATE INDEX changes_badge ON changes (scope_badge, seq)")
        dialect.execute(conn, "CREATE INDEX changes_squad ON changes (scope_squad, seq)")
        dialect.execute(conn, "CREATE INDEX cases_squad ON cases (squad_code, occurred_at)")


def test_the_previous_version_migrates_and_every_pull_is_unchanged(place: Place) -> None:
    with opened(place) as storage:
        fill(storage)
    _old_indexes(place)  # still marked as this version: pulled through the old indexes first
    old = _indexes(place, "changes")
    assert "changes_unscoped" not in old
    assert not any("where" in old[n] for n in PARTIAL if n in old)
    assert "cases_squad" in _indexes(place, "cases")
    with opened(place) as storage:
        before = _pulls(storage)
    assert {len(v) for v in before.values()} != {0}
    assert any(kind == "squad_case" for kind, _, _ in before["leader"])
    rows = dump(place)
    previous = migrations.MIGRATIONS.index(migrations.m014_feed_scope_indexes)
    with place.raw() as (conn, dialect):
        dialect.execute(conn, "UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(previous),))
    assert version_of(place) == previous

    with opened(place) as storage:  # the new build opens it
        assert version_of(place) == migrations.SCHEMA_VERSION
        assert _pulls(storage) == before
    assert dump(place) == rows  # no row lost or changed
    new = _indexes(place, "changes")
    for name, predicate in PARTIAL.items():
        assert new[name].endswith(predicate), (name, new[name])
    assert "cases_squad" not in _indexes(place, "cases")
    assert "cases_squad_time" in _indexes(place, "cases")


@contextmanager
def _pull_sql(storage: Storage, caller: dict[str, Any]) -> Iterator[tuple[SqlTx, str, list[Any]]]:
    """The SQL (and parameters) a pull by ``caller`` sends, windows on, inside a read transaction."""
    with storage.transaction(readonly=True) as tx:
        assert isinstance(tx, SqlTx)
        sent: list[tuple[str, list[Any]]] = []
        read = tx._all

        def keep(sql: str, params: Any = ()) -> Any:
            sent.append((sql, list(params)))
            return read(sql, params)

        tx._all = keep  # type: ignore[method-assign]
        tx.changes_after(None, history_since=NOW - days(400), squad_since=NOW - days(30), **caller)
        tx._all = read  # type: ignore[method-assign]
        yield tx, *sent[0]


def _plan(tx: SqlTx, backend: str, sql: str, params: list[Any]) -> str:
    explain = "EXPLAIN QUERY PLAN " if backend == "sqlite" else "EXPLAIN "
    rows = tx._all(explain + sql, params)
    return "\n".join(str(row[-1] if backend == "sqlite" else row[0]) for row in rows)


def test_pulls_reach_every_arm_through_an_index(place: Place) -> None:
    """Officer, leader and HQ pulls: each arm of the OR by its index (SQLite's planner, with no
    statistics, always picks them; PostgreSQL's picks by cost, so it is asked with sequential scans off:
    what is checked is that each partial index is usable for its arm, i.e. the arm implies its predicate).
    PostgreSQL's leader pull walks the primary key in change order under its LIMIT, as it did before m014."""
    with opened(place) as storage:
        fill(storage)
        arms = {"changes_unscoped", "changes_district", "changes_badge"}
        for who, caller in CALLERS.items():
            if place.backend == "postgres" and who == "leader":
                continue
            with _pull_sql(storage, caller) as (tx, sql, params):
                if place.backend == "postgres":
                    tx._x("SET LOCAL enable_seqscan = off")
                plan = _plan(tx, place.backend, sql, params)
            wanted = arms | ({"changes_squad"} if "squad" in caller else set())
            assert all(name in plan for name in wanted), (who, plan)
            assert "SCAN changes\n" not in plan + "\n", (who, plan)
            assert "Seq Scan on changes" not in plan, (who, plan)
        with storage.transaction(readonly=True) as tx:  # the squad's cases by time: the index that stays
            assert isinstance(tx, SqlTx)
            if place.backend == "postgres":
                tx._x("SET LOCAL enable_seqscan = off")
            plan = _plan(
                tx,
                place.backend,
                "SELECT id FROM cases WHERE squad_code = ? AND occurred_at >= ? ORDER BY occurred_at",
                [OFFICER.squad_code, tx._ts(NOW - days(30))],
            )
            assert "cases_squad_time" in plan, plan
