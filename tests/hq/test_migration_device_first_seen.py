"""``m012_squad_feed_device_first_seen`` on both backends: a database whose squad feed entries were stored
before they carried the device's first sign-in sends again, after every stored change, exactly the entries
of cases timed more than a day before it, now with it; a leader's phone pulling on from its old cursor gets
those and nothing else, and the flag its rule then computes is HQ's."""

from __future__ import annotations

import json

from enforcement.catalogue import load_catalogue
from enforcement.codec import case_from_dict
from hq.reviewqueue import read_queue
from hq.storage import migrations
from hq.storage.base import ChangeKind, Storage
from patrollog.reviewing import DEFAULT_WINDOW_DAYS, TimeFlag, time_flag
from sync.protocol import SquadCaseData
from testkit.records import DISTRICT, LEADER, OFFICER, make_case
from tests.hq.test_feed_device_first_seen import AT, B_FIRST, _push, _rec, _seed
from tests.hq.test_migration_case_feed import split_case_feed, stretched_cursor
from tests.hq.test_migrations import Place, opened, place, version_of

__all__ = ["place"]  # the fixture, on both backends


def _leader_page(storage: Storage, cursor: str | None) -> tuple[dict[str, SquadCaseData], str]:
    with storage.transaction(readonly=True) as tx:
        page = tx.changes_after(
            cursor, district=DISTRICT, badge=LEADER.badge, squad=LEADER.squad_code, limit=1000
        )
    found = {
        c.key: SquadCaseData.model_validate(c.data) for c in page.changes if c.kind is ChangeKind.SQUAD_CASE
    }
    return found, page.cursor


def test_entries_stored_before_are_sent_again_when_the_date_flags_them(place: Place) -> None:
    before = migrations.MIGRATIONS.index(migrations.m012_squad_feed_device_first_seen)
    flagged = make_case(occurred_at=AT, device_id="phone-b")
    plain = make_case(device_id="phone-b")
    unseen = make_case(occurred_at=AT, device_id="never-signed-in")  # HQ has no first sign-in for it
    with opened(place) as storage:
        _seed(storage)
        assert _push(storage, "phone-b", _rec(flagged), _rec(plain)) == ["accepted", "accepted"]
        assert _push(storage, "never-signed-in", _rec(unseen)) == ["accepted"]
        _, cursor = _leader_page(storage, None)  # the leader's phone has pulled everything
    cursor = stretched_cursor(cursor)
    with place.raw() as (conn, dialect):  # as the previous build stored them: no date, that version
        split_case_feed(conn, dialect)  # and two entries per case version (before m013)
        for seq, text in dialect.execute(
            conn, "SELECT seq, data FROM changes WHERE kind = 'squad_case'"
        ).fetchall():
            data = json.loads(text)
            data.pop("device_first_seen", None)
            dumped = json.dumps(data, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
            dialect.execute(conn, "UPDATE changes SET data = ? WHERE seq = ?", (dumped, seq))
        dialect.execute(conn, "UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(before),))
    assert version_of(place) == before

    with opened(place) as storage:  # the new build opens it
        assert version_of(place) == migrations.SCHEMA_VERSION
        resent, later = _leader_page(storage, cursor)
        assert set(resent) == {flagged.id}
        data = resent[flagged.id]
        assert data.device_first_seen == B_FIRST
        assert case_from_dict(data.case) == flagged
        assert data.received_at is not None
        flag = time_flag(AT, data.received_at, window_days=DEFAULT_WINDOW_DAYS, device_first_seen=B_FIRST)
        assert flag is TimeFlag.BEFORE_DEVICE
        with storage.transaction(readonly=True) as tx:
            queue = read_queue(tx, OFFICER.squad_code, AT.date(), load_catalogue(), limit=100)
        assert {i.case_id: i.time_flag for i in queue.items} == {flagged.id: flag.value, unseen.id: ""}
        whole, _ = _leader_page(storage, None)  # a phone pulling from the start: the others as stored
        assert {k: v.device_first_seen for k, v in whole.items()} == {
            flagged.id: B_FIRST,
            plain.id: None,
            unseen.id: None,
        }
        # the feed numbers on after the re-sent entries: a new change comes after them
        assert _push(storage, "phone-b", _rec(make_case(device_id="phone-b"))) == ["accepted"]
        newer, _ = _leader_page(storage, later)
        assert len(newer) == 1
        assert next(iter(newer.values())).device_first_seen == B_FIRST
    with opened(place) as storage:  # opened again: nothing is sent twice
        assert _leader_page(storage, later)[0].keys() == newer.keys()
