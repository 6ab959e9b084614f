"""``m013_one_feed_entry_per_case_version`` on both backends: a database whose case versions each hold two
feed entries (``case_state`` for the officer, ``squad_case`` with a copy of the record for the leaders), as
the builds before stored them, gets one entry per version; every caller's pull from the start is the very
same list of changes, a phone pulling on from an old cursor ends with the same data as before (nothing
lost; at most a ``case_state`` it had, again), and an entry the rebuild would not reproduce is left alone.

``split_case_feed`` writes a database back into the earlier form (the migration's inverse): the
``m012`` test uses it too."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from enforcement.model import ReviewDecision
from hq.api.sync_routes import wire_change
from hq.ingest.push import ingest_batch
from hq.storage import migrations
from hq.storage.base import Storage
from hq.storage.sql_feed import squad_case_of
from hq.storage.sqlcore import Dialect, encode_cursor
from testkit.records import DISTRICT, LEADER, NOW, OFFICER, OTHER_OFFICER, days, make_case, make_subject
from tests.hq.ingest.test_ingest import DEVICE, _review, rec
from tests.hq.test_feed_device_first_seen import _seed
from tests.hq.test_migrations import Place, opened, place, version_of

__all__ = ["place", "split_case_feed", "stretched_cursor"]  # the fixture, on both backends

#: who pulls: (badge, squad led or None)
CALLERS = {
    "officer": (OFFICER.badge, None),
    "other": (OTHER_OFFICER.badge, None),
    "leader": (LEADER.badge, LEADER.squad_code),
}


def split_case_feed(conn: Any, dialect: Dialect) -> None:
    """Every change number doubled (and the counter), and each case version's one entry split as the
    builds before ``m013`` stored it: ``case_state`` at 2n-1 for the officer, ``squad_case`` at 2n for
    the squad's leaders with the data a pull builds (the record copied from the ``cases`` row)."""
    dialect.execute(conn, "UPDATE changes SET seq = -2 * seq")  # two steps: no number is taken twice
    dialect.execute(conn, "UPDATE changes SET seq = -seq")
    dialect.execute(conn, "UPDATE counters SET value = 2 * value WHERE name = 'changes'")
    rows = dialect.execute(
        conn,
        "SELECT ch.seq, ch.key, ch.scope_squad, ch.occurred_at, ch.data, c.payload FROM changes ch"
        " JOIN cases c ON c.id = ch.key WHERE ch.kind = 'case_state' AND ch.scope_squad IS NOT NULL",
    ).fetchall()
    for seq, key, squad, occurred, text, payload in rows:
        state = json.loads(text)
        leaders = state.pop("leaders")
        squad_data = squad_case_of(state, leaders, payload)
        dump = json.dumps(squad_data, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
        dialect.execute(
            conn,
            "UPDATE changes SET seq = ?, scope_squad = NULL, occurred_at = NULL, data = ? WHERE seq = ?",
            (seq - 1, json.dumps(state, ensure_ascii=False, separators=(",", ":"), sort_keys=True), seq),
        )
        dialect.execute(
            conn,
            "INSERT INTO changes (seq, kind, key, scope_squad, occurred_at, data)"
            " VALUES (?, 'squad_case', ?, ?, ?, ?)",
            (seq, key, squad, occurred, dump),
        )


def stretched_cursor(cursor: str) -> str:
    """A cursor issued before ``split_case_feed``, at the same place after it."""
    epoch, seq = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode().split(":")
    return encode_cursor(epoch, 2 * int(seq))


def _pull(
    storage: Storage, caller: str, cursor: str | None = None, limit: int = 1000
) -> tuple[list[str], str]:
    """Every change the caller gets from ``cursor`` on (paged by ``limit``), as wire JSON; the cursor."""
    badge, squad = CALLERS[caller]
    found: list[str] = []
    while True:
        with storage.transaction(readonly=True) as tx:
            page = tx.changes_after(cursor, district=DISTRICT, badge=badge, squad=squad, limit=limit,
                                    history_since=NOW - days(365), squad_since=NOW - days(30))  # fmt: skip
        found += [wire_change(c).model_dump_json() for c in page.changes]
        cursor = page.cursor
        if not page.more:
            return found, cursor


def _state(changes: list[str]) -> dict[tuple[str, str], str]:
    """What a phone holds after applying ``changes`` in order: the newest of each kind and id."""
    held: dict[tuple[str, str], str] = {}
    for text in changes:
        change = json.loads(text)
        held[(change["kind"], change["id"])] = text
    return held


def _push(storage: Storage, *records: Any, user: Any = OFFICER) -> list[str]:
    return [r.status for r in ingest_batch(storage, user, DEVICE, list(records), now=NOW)]


def _count(place: Place, kind: str) -> int:
    with place.raw() as (conn, dialect):
        return int(
            dialect.execute(conn, "SELECT count(*) FROM changes WHERE kind = ?", (kind,)).fetchone()[0]
        )


def test_two_entries_per_version_become_one_and_every_pull_is_the_same(
    place: Place, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(migrations, "M013_CHUNK", 2)  # three pairs: two steps
    before = migrations.MIGRATIONS.index(migrations.m013_one_feed_entry_per_case_version)
    subject = make_subject(name="张㐂")
    first = make_case(subject_id=subject.id, photos=2, occurred_at=NOW - days(1))
    second = make_case(subject_id=subject.id)
    other = make_case(officer=OTHER_OFFICER, subject_id=subject.id, occurred_at=NOW - days(3))
    with opened(place) as storage:
        _seed(storage)
        assert _push(storage, rec("subject", subject), rec("case", first)) == ["accepted", "accepted"]
        middle = {name: _pull(storage, name)[1] for name in CALLERS}  # each phone pulled up to here
        assert _push(storage, rec("case", second))[0] in {"accepted", "conflict"}  # a second: 警告
        review = _review(first, ReviewDecision.RETURN)
        assert _push(storage, rec("review", review), user=LEADER) == ["accepted"]
        assert _push(storage, rec("case", other), user=OTHER_OFFICER)[0] in {"accepted", "conflict"}
        pulls = {
            (name, limit): _pull(storage, name, limit=limit)[0] for name in CALLERS for limit in (1000, 1)
        }
        tails = {name: _pull(storage, name, middle[name])[0] for name in CALLERS}
    assert any('"kind":"squad_case"' in c for c in pulls[("leader", 1000)])
    versions = _count(place, "case_state")
    assert versions == 3
    with place.raw() as (conn, dialect):  # as the builds before stored it
        split_case_feed(conn, dialect)
        dialect.execute(conn, "UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(before),))
    assert (_count(place, "squad_case"), _count(place, "case_state")) == (versions, versions)

    with opened(place) as storage:  # the new build opens it
        assert version_of(place) == migrations.SCHEMA_VERSION
        assert (_count(place, "squad_case"), _count(place, "case_state")) == (0, versions)
        for (name, limit), expected in pulls.items():
            assert _pull(storage, name, limit=limit)[0] == expected, (name, limit)
        for name in CALLERS:  # from a cursor the phone held before: the same data in the end
            got, _ = _pull(storage, name, stretched_cursor(middle[name]))
            assert _state(got) == _state(tails[name])
            extra = [c for c in got if c not in tails[name]]
            assert all('"kind":"case_state"' in c for c in extra)
            assert len(got) <= len(tails[name]) + 1
        _, end = _pull(storage, "leader")
        # the feed numbers on after the merged entries: a new case version comes after them, once
        third = make_case(subject_id=subject.id, occurred_at=NOW - days(2))
        assert _push(storage, rec("case", third))[0] in {"accepted", "conflict"}
        newer, _ = _pull(storage, "leader", end)
        assert [json.loads(c)["id"] for c in newer if '"kind":"squad_case"' in c].count(third.id) == 1
    assert _count(place, "squad_case") == 0
    with opened(place) as storage:  # opened again: nothing moves
        assert _pull(storage, "leader", end)[0] == newer


def test_an_entry_the_rebuild_would_not_reproduce_stays_as_stored(place: Place) -> None:
    before = migrations.MIGRATIONS.index(migrations.m013_one_feed_entry_per_case_version)
    kept, merged = make_case(), make_case()
    with opened(place) as storage:
        _seed(storage)
        assert _push(storage, rec("case", kept), rec("case", merged)) == ["accepted", "accepted"]
    with place.raw() as (conn, dialect):
        split_case_feed(conn, dialect)
        # an entry of an older HQ, before the leaders' entries carried the receive time
        text = dialect.execute(
            conn, "SELECT data FROM changes WHERE kind = 'squad_case' AND key = ?", (kept.id,)
        ).fetchone()[0]
        old = json.loads(text)
        old.pop("received_at")
        dump = json.dumps(old, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
        dialect.execute(
            conn, "UPDATE changes SET data = ? WHERE kind = 'squad_case' AND key = ?", (dump, kept.id)
        )
        dialect.execute(conn, "UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(before),))
    with opened(place) as storage:
        pulled = [json.loads(c) for c in _pull(storage, "leader")[0]]
    squad = {c["id"]: c["data"] for c in pulled if c["kind"] == "squad_case"}
    assert squad[kept.id] == old  # sent exactly as stored
    assert "received_at" in squad[merged.id]
    assert _count(place, "squad_case") == 1
