"""The first sign-in at HQ of a pulled squad case's device on the leader's phone (issue #14, Clocks):
phone migration ``m012_squad_case_device_first_seen`` on a fresh in-memory store and on a file at the
previous schema version (its pulled rows keep everything and know no first sign-in), and
``Store.apply_squad_case`` keeping it: a later entry from an HQ that did not send it keeps the one known,
a later entry that sends it fills a row pulled without it."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from enforcement.codec import to_json_dict
from enforcement.model import LOCAL_TZ, Stage
from mobile import migrations
from mobile.store import StoreRefused
from mobile.store_rows import dumps, utc_us
from mobile.store_squad import SquadDay
from tests.mobile.test_store import SQUAD, make_case, open_store, raw
from tests.mobile.test_store_squad import DAY, LEADER, at

FIRST_SEEN = datetime(2026, 11, 21, 8, 0, tzinfo=LOCAL_TZ)
RECEIVED = datetime(2026, 11, 22, 22, 0, tzinfo=LOCAL_TZ)


def _columns(conn: object, table: str) -> set[str]:
    return {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}  # type: ignore[attr-defined]


def test_a_fresh_store_keeps_the_first_sign_in_and_a_later_pull_fills_it() -> None:
    store = open_store()
    store.save_officer(LEADER)
    with store._read() as conn:  # the in-memory database's own schema
        assert "device_first_seen" in _columns(conn, "squad_cases")
    known, unknown = (make_case(store, None, when=at(21), badge="1023", subject_unknown=True) for _ in "ab")
    store.apply_squad_case(
        known, hq_stage=Stage.PERSUASION, received_at=RECEIVED, device_first_seen=FIRST_SEEN
    )
    store.apply_squad_case(unknown, hq_stage=Stage.PERSUASION, received_at=RECEIVED)  # an older HQ's entry
    day = store.squad_day(SQUAD, DAY)
    assert day.device_first_seen == {known.id: FIRST_SEEN}
    assert day.received_at == {known.id: RECEIVED, unknown.id: RECEIVED}
    # an entry without it (an older HQ node, or one re-sent before it was known) keeps the stored one
    store.apply_squad_case(known, hq_stage=Stage.WARNING)
    # a later pull that brings it fills the row pulled without it
    store.apply_squad_case(unknown, hq_stage=Stage.PERSUASION, device_first_seen=FIRST_SEEN)
    day = store.squad_day(SQUAD, DAY)
    assert day.device_first_seen == {known.id: FIRST_SEEN, unknown.id: FIRST_SEEN}
    assert day.hq_stages[known.id] is Stage.WARNING
    # a time with no zone cannot be compared with a case's: refused naming the field, nothing stored
    other = make_case(store, None, when=at(21), badge="1023", subject_unknown=True)
    with pytest.raises(StoreRefused) as refused:
        store.apply_squad_case(other, hq_stage=Stage.PERSUASION, device_first_seen=datetime(2026, 11, 21, 8))
    assert refused.value.field == "device_first_seen"
    assert other.id not in {c.id for c in store.squad_day(SQUAD, DAY).cases}


def test_a_file_at_the_previous_schema_upgrades_keeping_its_pulled_cases(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A leader's phone DB written before this migration: its pulled case survives the upgrade, knows no
    first sign-in (the leader sees no such flag, as before), and the next pull fills it."""
    path = tmp_path / "patrol.db"
    previous = migrations.SCHEMA_VERSION - 1
    with monkeypatch.context() as old_app:
        old_app.setattr("mobile.store.MIGRATIONS", migrations.MIGRATIONS[:previous])
        old_app.setattr("mobile.store.SCHEMA_VERSION", previous)
        with open_store(path) as store:
            store.save_officer(LEADER)
            case = make_case(store, None, when=at(21), badge="1023", subject_unknown=True)
    conn = raw(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == previous
    assert "device_first_seen" not in _columns(conn, "squad_cases")
    # the row as the previous build's squad feed wrote it
    conn.execute(
        "INSERT INTO squad_cases (id, case_no, version, officer_badge, squad_code, occurred_utc, local_day,"
        " subject_id, hq_stage, hq_reason_zh, hq_reason_en, missing_photos, officer_name, subject_label,"
        " record, received_at, hq_received_at, hq_received_utc)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, NULL, 1, '', '', 0, '李明', '', ?, ?, ?, ?)",
        (
            case.id, case.case_no, case.version, case.officer_badge, case.squad_code,
            utc_us(case.occurred_at), case.local_day.isoformat(), dumps(to_json_dict(case)),
            RECEIVED.isoformat(), RECEIVED.isoformat(), utc_us(RECEIVED),
        ),
    )  # fmt: skip
    conn.close()

    with open_store(path) as store:  # the updated app opens the old file
        assert store.schema_version == migrations.SCHEMA_VERSION
        day = store.squad_day(SQUAD, DAY)
        assert isinstance(day, SquadDay)
        assert day.cases == [case]
        assert day.received_at == {case.id: RECEIVED}
        assert day.device_first_seen == {}
        store.apply_squad_case(case, hq_stage=Stage.PERSUASION, device_first_seen=FIRST_SEEN)
        assert store.squad_day(SQUAD, DAY).device_first_seen == {case.id: FIRST_SEEN}
    conn = raw(path)
    assert "device_first_seen" in _columns(conn, "squad_cases")
    conn.close()
