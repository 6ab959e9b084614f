"""The storage contract's change feed, run unchanged against SQLite and PostgreSQL: scoping, cursors,
tombstones and windows, the squad feed, and delivery in commit order under concurrent writers (the rest
of the contract is in ``test_storage_contract.py``)."""

from __future__ import annotations

import random
import threading
import time
from dataclasses import replace

import pytest

from hq.storage.base import (
    ChangeKind,
    ChangeScope,
    CursorError,
    Storage,
    UserRow,
)
from hq.storage.sqlite import SqliteStorage
from testkit.records import (
    DISTRICT,
    LEADER,
    NOW,
    OFFICER,
    days,
    raw_sql,
)

# ------------------------------------------------------------------------------------------ feed


def _emit(storage: Storage, kind: ChangeKind, key: str, scope: ChangeScope, **data: object) -> None:
    with storage.transaction() as tx:
        tx.emit(kind, key, data, scope)


def test_changes_are_scoped_to_the_caller(storage: Storage) -> None:
    _emit(storage, ChangeKind.CATALOGUE, "catalogue", ChangeScope.everyone(), version="1")
    _emit(storage, ChangeKind.SUBJECT, "s1", ChangeScope(district=DISTRICT), name="a")
    _emit(storage, ChangeKind.SUBJECT, "s2", ChangeScope(district="二七区"), name="b")
    _emit(storage, ChangeKind.REVIEW, "r1", ChangeScope(badge="1023"), decision="approve")
    _emit(storage, ChangeKind.REVIEW, "r2", ChangeScope(badge="1024"), decision="return")
    with storage.transaction(readonly=True) as tx:
        mine = tx.changes_after(None, district=DISTRICT, badge="1023")
        theirs = tx.changes_after(None, district="二七区", badge="1024")
    assert [c.key for c in mine.changes] == ["catalogue", "s1", "r1"]
    assert [c.key for c in theirs.changes] == ["catalogue", "s2", "r2"]
    assert mine.changes[1].data == {"name": "a"}
    assert not mine.more


def test_cursor_pages_and_resumes(storage: Storage) -> None:
    for n in range(5):
        _emit(storage, ChangeKind.SUBJECT, f"s{n}", ChangeScope(district=DISTRICT), n=n)
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        with storage.transaction(readonly=True) as tx:
            page = tx.changes_after(cursor, district=DISTRICT, badge="1023", limit=2)
        seen += [c.key for c in page.changes]
        cursor, pages = page.cursor, pages + 1
        if not page.more:
            break
    assert seen == [f"s{n}" for n in range(5)]
    assert pages == 3
    with storage.transaction(readonly=True) as tx:
        assert tx.changes_after(cursor, district=DISTRICT, badge="1023").changes == []
    _emit(storage, ChangeKind.SUBJECT, "s0", ChangeScope(district=DISTRICT), n=99)  # an update
    with storage.transaction(readonly=True) as tx:
        page = tx.changes_after(cursor, district=DISTRICT, badge="1023")
        fresh = tx.changes_after(None, district=DISTRICT, badge="1023")
    assert [(c.key, c.data) for c in page.changes] == [("s0", {"n": 99})]
    assert [c.key for c in fresh.changes] == ["s1", "s2", "s3", "s4", "s0"]  # newest change per key only


def test_tombstone_replaces_its_subject(storage: Storage) -> None:
    _emit(storage, ChangeKind.SUBJECT, "s1", ChangeScope(district=DISTRICT), name="a")
    with storage.transaction(readonly=True) as tx:
        before = tx.changes_after(None, district=DISTRICT, badge="1023").cursor
    _emit(storage, ChangeKind.TOMBSTONE, "s1", ChangeScope(district=DISTRICT))
    with storage.transaction(readonly=True) as tx:
        fresh = tx.changes_after(None, district=DISTRICT, badge="1023")
        since = tx.changes_after(before, district=DISTRICT, badge="1023")
    assert [(c.kind, c.key) for c in fresh.changes] == [(ChangeKind.TOMBSTONE, "s1")]
    assert [(c.kind, c.key) for c in since.changes] == [(ChangeKind.TOMBSTONE, "s1")]


def test_history_window_trims_old_cases(storage: Storage) -> None:
    recent, old = (NOW - days(10)).isoformat(), (NOW - days(400)).isoformat()
    with storage.transaction() as tx:
        tx.emit(ChangeKind.HISTORY, "subj-a", {"subject_id": "subj-a", "entries": [
            {"case_id": "x", "occurred_at": old}, {"case_id": "y", "occurred_at": recent}]},
            ChangeScope(district=DISTRICT), occurred_at=NOW - days(10))  # fmt: skip
        tx.emit(ChangeKind.HISTORY, "subj-b", {"subject_id": "subj-b", "entries": [
            {"case_id": "z", "occurred_at": old}]},
            ChangeScope(district=DISTRICT), occurred_at=NOW - days(400))  # fmt: skip
    with storage.transaction(readonly=True) as tx:
        page = tx.changes_after(None, district=DISTRICT, badge="1023", history_since=NOW - days(365))
        everything = tx.changes_after(None, district=DISTRICT, badge="1023")
    assert [c.key for c in page.changes] == ["subj-a"]
    assert [e["case_id"] for e in page.changes[0].data["entries"]] == ["y"]
    assert [c.key for c in everything.changes] == ["subj-a", "subj-b"]


# -------------------------------------------------------------------------------- the squad feed

ZD02_LEADER = replace(LEADER, badge="2002", squad_code="ZD02", name="钱队长")


def _squad_pull(
    storage: Storage, cursor: str | None = None, *, badge: str, squad: str | None = None
) -> tuple[list[str], str]:
    with storage.transaction(readonly=True) as tx:
        page = tx.changes_after(cursor, district=DISTRICT, badge=badge, squad=squad)
    return [c.key for c in page.changes], page.cursor


def test_squad_changes_reach_only_that_squads_leaders(storage: Storage) -> None:
    _emit(storage, ChangeKind.CATALOGUE, "catalogue", ChangeScope.everyone(), version="1")
    _emit(storage, ChangeKind.SQUAD_CASE, "c1", ChangeScope(squad="ZD01"), n=1)
    _emit(storage, ChangeKind.SQUAD_CASE, "c2", ChangeScope(squad="ZD02"), n=2)
    _emit(storage, ChangeKind.SQUAD_SHIFT, "sh1", ChangeScope(squad="ZD01"), n=3)
    _emit(storage, ChangeKind.CASE_STATE, "c1", ChangeScope(badge=OFFICER.badge), n=4)
    _emit(storage, ChangeKind.SUBJECT, "s1", ChangeScope(district=DISTRICT), n=5)
    assert _squad_pull(storage, badge=LEADER.badge, squad="ZD01")[0] == ["catalogue", "c1", "sh1", "s1"]
    assert _squad_pull(storage, badge=ZD02_LEADER.badge, squad="ZD02")[0] == ["catalogue", "c2", "s1"]
    # an officer of the squad (no squad= given) gets none of it, only their own and the district's
    assert _squad_pull(storage, badge=OFFICER.badge)[0] == ["catalogue", "c1", "s1"]
    with storage.transaction(readonly=True) as tx:
        kinds = [c.kind for c in tx.changes_after(None, district=DISTRICT, badge=OFFICER.badge).changes]
    assert ChangeKind.SQUAD_CASE not in kinds
    assert ChangeKind.SQUAD_SHIFT not in kinds
    assert kinds[1] is ChangeKind.CASE_STATE


def test_squad_cursor_is_exclusive_and_the_newest_emit_wins(storage: Storage) -> None:
    for n in range(3):
        _emit(storage, ChangeKind.SQUAD_CASE, f"c{n}", ChangeScope(squad="ZD01"), n=n)
    seen: list[str] = []
    cursor = None
    for _ in range(3):
        with storage.transaction(readonly=True) as tx:
            page = tx.changes_after(cursor, district=DISTRICT, badge=LEADER.badge, squad="ZD01", limit=1)
        seen += [c.key for c in page.changes]
        cursor = page.cursor
    assert seen == ["c0", "c1", "c2"]
    assert _squad_pull(storage, cursor, badge=LEADER.badge, squad="ZD01")[0] == []
    _emit(storage, ChangeKind.SQUAD_CASE, "c0", ChangeScope(squad="ZD01"), n=99)  # reviewed: sent again
    _emit(storage, ChangeKind.SQUAD_CASE, "c9", ChangeScope(squad="ZD02"), n=9)  # another squad's
    with storage.transaction(readonly=True) as tx:
        page = tx.changes_after(cursor, district=DISTRICT, badge=LEADER.badge, squad="ZD01")
    assert [(c.key, c.data) for c in page.changes] == [("c0", {"n": 99})]
    assert _squad_pull(storage, badge=LEADER.badge, squad="ZD01")[0] == ["c1", "c2", "c0"]


def test_squad_changes_outside_the_pull_window_are_skipped(storage: Storage) -> None:
    with storage.transaction() as tx:
        for key, kind, age in (
            ("new-case", ChangeKind.SQUAD_CASE, 3),
            ("old-case", ChangeKind.SQUAD_CASE, 400),
            ("new-shift", ChangeKind.SQUAD_SHIFT, 1),
            ("old-shift", ChangeKind.SQUAD_SHIFT, 366),
        ):
            tx.emit(kind, key, {}, ChangeScope(squad="ZD01"), occurred_at=NOW - days(age))  # fmt: skip
    window = NOW - days(365)
    with storage.transaction(readonly=True) as tx:
        page = tx.changes_after(
            None, district=DISTRICT, badge=LEADER.badge, squad="ZD01", history_since=window
        )
    assert [c.key for c in page.changes] == ["new-case", "new-shift"]
    assert _squad_pull(storage, badge=LEADER.badge, squad="ZD01")[0] == [
        "new-case", "old-case", "new-shift", "old-shift"
    ]  # fmt: skip


def test_squad_changes_have_their_own_shorter_window(storage: Storage) -> None:
    """A leader's phone gets the squad's recent days (``squad_since``), while subject history keeps the
    year the staged rule needs (``history_since``)."""
    with storage.transaction() as tx:
        for key, kind, age in (
            ("case-10d", ChangeKind.SQUAD_CASE, 10),
            ("case-90d", ChangeKind.SQUAD_CASE, 90),
            ("shift-70d", ChangeKind.SQUAD_SHIFT, 70),
            ("shift-2d", ChangeKind.SQUAD_SHIFT, 2),
        ):
            tx.emit(kind, key, {}, ChangeScope(squad="ZD01"), occurred_at=NOW - days(age))  # fmt: skip
        tx.emit(
            ChangeKind.HISTORY, "subject-1", {"entries": []}, ChangeScope(district=DISTRICT),
            occurred_at=NOW - days(200),
        )  # fmt: skip
    with storage.transaction(readonly=True) as tx:
        page = tx.changes_after(
            None, district=DISTRICT, badge=LEADER.badge, squad="ZD01",
            history_since=NOW - days(365), squad_since=NOW - days(62),
        )  # fmt: skip
    assert [c.key for c in page.changes] == ["case-10d", "shift-2d", "subject-1"]


def test_a_database_made_before_the_squad_feed_gets_its_column_at_open(storage: Storage) -> None:
    _emit(storage, ChangeKind.SUBJECT, "s1", ChangeScope(district=DISTRICT), name="a")
    run = raw_sql(storage)
    run("DROP INDEX changes_squad", ())
    run("DROP INDEX changes_unscoped", ())  # a later index over the column: no such database had it
    run("ALTER TABLE changes DROP COLUMN scope_squad", ())
    storage.create_schema()  # what opening HQ does
    assert _squad_pull(storage, badge=OFFICER.badge)[0] == ["s1"]
    _emit(storage, ChangeKind.SQUAD_CASE, "c1", ChangeScope(squad="ZD01"))
    assert _squad_pull(storage, badge=LEADER.badge, squad="ZD01")[0] == ["s1", "c1"]
    assert _squad_pull(storage, badge=OFFICER.badge)[0] == ["s1"]


def test_foreign_or_garbled_cursor_is_refused(storage: Storage, tmp_path: object) -> None:
    _emit(storage, ChangeKind.CATALOGUE, "catalogue", ChangeScope.everyone())
    other = SqliteStorage(":memory:")
    other.create_schema()
    with other.transaction(readonly=True) as tx:
        foreign = tx.changes_after(None, district=DISTRICT, badge="1023").cursor
    other.close()
    for bad in (foreign, "not a cursor!", "bm9jb2xvbg"):
        with pytest.raises(CursorError) as err, storage.transaction(readonly=True) as tx:
            tx.changes_after(bad, district=DISTRICT, badge="1023")
        assert err.value.field == "cursor"
        assert err.value.zh


# -------------------------------------------------------------------- commit order (PostgreSQL)


@pytest.mark.postgres
def test_a_commit_that_finishes_after_a_later_one_is_still_delivered(pg_storage: Storage) -> None:
    """Transaction A starts (and writes) first, B second; B commits first, a reader pulls, then A
    commits. Numbering at commit gives B the lower number, so the reader's cursor, already past B, still
    gets A. (Numbering at write time would give A 1 and B 2: the reader would see 2, move its cursor past
    1 and never receive A.) SQLite cannot interleave writers like this: BEGIN IMMEDIATE serialises them."""
    storage = pg_storage
    with storage.transaction() as first:
        first.emit(ChangeKind.SUBJECT, "A", {"n": "A"}, ChangeScope(district=DISTRICT))
        first.put_user(UserRow(OFFICER, "h"))
        with storage.transaction() as second:
            second.emit(ChangeKind.SUBJECT, "B", {"n": "B"}, ChangeScope(district=DISTRICT))
        with storage.transaction(readonly=True) as reader:
            page = reader.changes_after(None, district=DISTRICT, badge="x")
        assert [c.key for c in page.changes] == ["B"]
    with storage.transaction(readonly=True) as reader:
        after = reader.changes_after(page.cursor, district=DISTRICT, badge="x")
    assert [c.key for c in after.changes] == ["A"]


@pytest.mark.postgres
def test_a_reader_never_sees_a_number_before_its_predecessors_commit(pg_storage: Storage) -> None:
    """While A is inside its commit step (numbered, not yet committed), B's commit waits, and a reader
    sees neither: no number becomes visible ahead of a smaller one."""
    storage = pg_storage
    a_numbered = threading.Event()
    release_a = threading.Event()
    b_done = threading.Event()

    def writer_a() -> None:
        with storage.transaction() as tx:
            tx.emit(ChangeKind.SUBJECT, "A", {}, ChangeScope(district=DISTRICT))
            original = tx.commit_step  # type: ignore[attr-defined]

            def slow_commit_step() -> None:
                original()
                a_numbered.set()
                release_a.wait(10)

            tx.commit_step = slow_commit_step  # type: ignore[attr-defined]

    def writer_b() -> None:
        a_numbered.wait(10)
        with storage.transaction() as tx:
            tx.emit(ChangeKind.SUBJECT, "B", {}, ChangeScope(district=DISTRICT))
        b_done.set()

    threads = [threading.Thread(target=writer_a), threading.Thread(target=writer_b)]
    for thread in threads:
        thread.start()
    assert a_numbered.wait(10)
    assert not b_done.wait(0.3)  # B waits for A's commit to finish
    with storage.transaction(readonly=True) as reader:
        assert reader.changes_after(None, district=DISTRICT, badge="x").changes == []
    release_a.set()
    for thread in threads:
        thread.join(10)
    with storage.transaction(readonly=True) as reader:
        assert [c.key for c in reader.changes_after(None, district=DISTRICT, badge="x").changes] == ["A", "B"]


def test_concurrent_writers_lose_no_change_for_a_polling_reader(storage: Storage) -> None:
    """Many writers commit in random order while a reader polls with its cursor: it gets every change."""
    writers, per_writer = 6, 8
    rng = random.Random(4)
    delays = [[rng.random() * 0.01 for _ in range(per_writer)] for _ in range(writers)]
    done = threading.Event()
    received: list[str] = []

    def write(w: int) -> None:
        for n in range(per_writer):
            with storage.transaction() as tx:
                tx.emit(ChangeKind.SUBJECT, f"{w}-{n}", {}, ChangeScope(district=DISTRICT))
                time.sleep(delays[w][n])  # commits overtake each other

    def read() -> None:
        cursor = None
        while True:
            finished = done.is_set()
            with storage.transaction(readonly=True) as tx:
                page = tx.changes_after(cursor, district=DISTRICT, badge="x", limit=7)
            received.extend(c.key for c in page.changes)
            cursor = page.cursor
            if finished and not page.more:
                return

    threads = [threading.Thread(target=write, args=(w,)) for w in range(writers)]
    reader = threading.Thread(target=read)
    reader.start()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    done.set()
    reader.join(30)
    assert sorted(received) == sorted(f"{w}-{n}" for w in range(writers) for n in range(per_writer))
