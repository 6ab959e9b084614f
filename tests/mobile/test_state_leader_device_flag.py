"""The leader's phone flags a case timed more than a day before its device's first sign-in at HQ exactly
as HQ's review queue does (issue #14, Clocks; ``patrollog.reviewing.TimeFlag.BEFORE_DEVICE``): the same
pushes reach a live HQ (SQLite and PostgreSQL), the leader's phone pulls the squad feed
(``SquadCaseData.device_first_seen``), and for every day the phone's queue and day log carry the very
flags, statuses and texts of ``hq.reviewqueue.read_queue`` and ``hq.daydata.load_daylog``. The device is
what counts: one officer's second phone is new, a squad phone shared with another officer is not. A row
pulled before the feed carried the date flags nothing of the kind (as before), until HQ sends the case again.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from enforcement.model import LOCAL_TZ, Case
from hq.daydata import load_daylog
from hq.reviewqueue import read_queue
from hq.storage.postgres import PostgresStorage
from mobile.state.app_state import AppState
from patrollog.reviewing import ReviewStatus, TimeFlag
from testkit import pg
from testkit.hqkit import LEADER, OFFICER, OFFICER_B, Hq, catalogue, make_case, make_hq, push_body
from testkit.hqkit import sign_in as api_sign_in
from tests.mobile.statekit import Apps, apps_of, sign_in

FIRST_DAY = date(2026, 11, 22)  # HQ's clock starts at 22:00 on it (Beijing): the first sign-ins
LATER = timedelta(days=2)  # then the officer's second phone, and the officer's first use of the squad phone
DAYS = (date(2026, 11, 20), FIRST_DAY, date(2026, 11, 24))


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=LOCAL_TZ)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def hq(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Hq]:
    """A served HQ over SQLite and over PostgreSQL (the keyset queue's SQL differs between them)."""
    if request.param == "sqlite":
        hq = make_hq(tmp_path / "hq")
        hq.serve()
        yield hq
        hq.close()
        return
    dsn = pg.pg_dsn()
    schema = pg.new_schema()
    hq = make_hq(
        tmp_path / "hq", open_storage=lambda: PostgresStorage(dsn, schema=schema, min_size=1, max_size=4)
    )
    hq.serve()
    try:
        yield hq
    finally:
        hq.close()
        pg.drop_schema(dsn, schema)


@pytest.fixture
def leader_apps(tmp_path: Path) -> Iterator[Apps]:
    yield from apps_of(tmp_path / "leader")


def _push(hq: Hq, badge_officer: object, device: str, *cases: Case) -> None:
    with hq.client() as client:
        auth = api_sign_in(client, badge_officer, device)  # type: ignore[arg-type]
        if cases:
            answer = client.post("/v1/push", json=push_body(device, *cases), headers=auth)
            assert answer.status_code == 200, answer.text
            assert {r["status"] for r in answer.json()["results"]} <= {"accepted", "conflict"}, answer.text


def _squad_day(hq: Hq) -> dict[str, Case]:
    """The officers' pushes: the officer's phone A and the squad phone (first used by 李娜) are signed in on
    the first day; two days later the officer's new phone B and the officer's first use of the squad
    phone. Returns the cases by name."""
    _push(hq, OFFICER, "dev-1023")
    _push(hq, OFFICER_B, "squad-phone")
    hq.clock.advance(LATER)
    cases = {
        # two days before phone A's first sign-in: flagged
        "a_early": make_case(OFFICER, seq=1, occurred_at=at(date(2026, 11, 20), 21, 30)),
        # the same evening as phone A's first sign-in: plausible
        "a_plain": make_case(OFFICER, seq=2, occurred_at=at(FIRST_DAY, 21, 30), violation_code="0504"),
        # on the new phone B, a day and more before B's first sign-in: flagged
        "b_early": make_case(
            OFFICER, seq=1, occurred_at=at(FIRST_DAY, 21, 0), device_id="dev-1023-b", install_tag="TESTB"
        ),
        # on the squad phone, before the officer's own first use of it but after the phone's: plausible
        "shared": make_case(
            OFFICER, seq=1, occurred_at=at(FIRST_DAY, 20, 0), device_id="squad-phone", install_tag="TESTS"
        ),
        # on phone B the day it was first signed in: plausible
        "b_plain": make_case(
            OFFICER, seq=2, occurred_at=at(DAYS[2], 20, 0), device_id="dev-1023-b", install_tag="TESTB"
        ),
    }
    _push(hq, OFFICER, "dev-1023", cases["a_early"], cases["a_plain"])
    _push(hq, OFFICER, "dev-1023-b", cases["b_early"], cases["b_plain"])
    _push(hq, OFFICER, "squad-phone", cases["shared"])
    return cases


def _phone_leader(leader_apps: Apps, hq: Hq) -> AppState:
    leader = leader_apps()
    sign_in(leader, hq.serve().url, LEADER)  # the sign-in's sync pulls the squad feed
    leader.link.kick()
    return leader


def _compare(hq: Hq, leader: AppState) -> dict[str, str]:
    """For every day: the phone's queue and day log against HQ's; returns the day logs' flags by case id."""
    squad = leader.squad
    flags: dict[str, str] = {}
    for day in DAYS:
        squad.set_day(day)
        phone_queue = squad.queue()
        phone_log = squad.daylog()
        with hq.storage.transaction(readonly=True) as tx:
            hq_queue = read_queue(tx, OFFICER.squad_code, day, catalogue(), limit=100)
            hq_log = load_daylog(tx, OFFICER.squad_code, day, catalogue())
        assert [(i.line.case_id, i.line.time_flag, i.needs_decision) for i in phone_queue] == [
            (i.case_id, i.time_flag, i.needs_decision) for i in hq_queue.items
        ], day
        for mine, theirs in zip(phone_queue, hq_queue.items, strict=True):
            assert (mine.time_flag_text("zh"), mine.time_flag_text("en")) == (
                theirs.time_flag_zh,
                theirs.time_flag_en,
            )
        assert {line.case_id: (line.time_flag, line.review) for line in phone_log.lines} == {
            line.case_id: (line.time_flag, line.review) for line in hq_log.lines
        }, day
        flags |= {line.case_id: line.time_flag for line in phone_log.lines}
    return flags


def test_the_leaders_phone_flags_exactly_the_cases_hqs_queue_flags(hq: Hq, leader_apps: Apps) -> None:
    cases = _squad_day(hq)
    leader = _phone_leader(leader_apps, hq)
    flags = _compare(hq, leader)
    before = TimeFlag.BEFORE_DEVICE.value
    assert flags == {
        cases["a_early"].id: before,
        cases["a_plain"].id: "",
        cases["b_early"].id: before,
        cases["shared"].id: "",  # the squad phone was first signed in by 李娜: the device is what counts
        cases["b_plain"].id: "",
    }
    leader.squad.set_day(FIRST_DAY)
    [first] = leader.squad.queue()[:1]
    assert first.line.case_id == cases["b_early"].id  # a decision needed comes first
    assert first.time_flag_text("zh") == "案发时间早于该设备首次登录，可能为倒签"
    assert first.time_flag_text("en") == "Case time is before the device first signed in (back-dated?)"


def test_a_case_pulled_before_the_date_was_sent_is_not_flagged_until_hq_sends_it_again(
    hq: Hq, leader_apps: Apps
) -> None:
    cases = _squad_day(hq)
    leader = _phone_leader(leader_apps, hq)
    # as a row pulled by the previous build (or from an HQ that did not send it) holds it: no date
    with leader.store._write() as conn:
        conn.execute("UPDATE squad_cases SET device_first_seen = NULL")
    squad = leader.squad
    squad.set_day(FIRST_DAY)
    lines = {line.case_id: line for line in squad.daylog().lines}
    early = lines[cases["b_early"].id]
    assert early.time_flag == ""  # as before this build: the phone cannot tell
    assert early.review is ReviewStatus.COUNTED
    # HQ sends the case again (here: the leader's own approval of it comes back with HQ's view)
    squad.approve(cases["b_early"].id)
    leader.link.kick()
    lines = {line.case_id: line for line in squad.daylog().lines}
    assert lines[cases["b_early"].id].time_flag == TimeFlag.BEFORE_DEVICE.value
    assert lines[cases["b_early"].id].review is ReviewStatus.APPROVED
    # a case HQ did not send again stays unflagged on the phone
    squad.set_day(DAYS[0])
    assert {line.case_id: line.time_flag for line in squad.daylog().lines} == {cases["a_early"].id: ""}
