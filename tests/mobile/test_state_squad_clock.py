"""The leader's phone (and the officer's) places a case by its best-known time, as HQ does (issue #14,
Clocks): a case from a phone whose clock said 2099 or 1970 and never learnt better is in the leader's day
log and review queue of the day HQ received it (``SquadCaseData.received_at``,
``patrollog.reviewing.best_known_time``), needs the leader's decision, and is on no 2099 or 1970 day; the
officer's own 今日 lists it on that day too (``CaseStateData.received_at``)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from enforcement.model import LOCAL_TZ
from mobile.state.app_state import AppState
from mobile.state.squad import SquadError
from patrollog.daylog import build_daylog
from patrollog.reviewing import ReviewStatus
from testkit.hqkit import LEADER, OFFICER, Hq, make_case, push_body
from testkit.hqkit import sign_in as api_sign_in
from tests.mobile.statekit import Apps, PhoneClock, apps_of, sign_in
from tests.mobile.test_state_clock import offline_without_reference, record

RECEIVED_DAY = date(2026, 11, 22)  # HQ's clock in testkit.hqkit: 22:00 in Beijing
Y2099 = datetime(2099, 3, 1, 9, 0, tzinfo=LOCAL_TZ)
Y1970 = datetime(1970, 1, 1, 8, 0, tzinfo=LOCAL_TZ)


@pytest.fixture
def leader_apps(tmp_path: Path) -> Iterator[Apps]:
    yield from apps_of(tmp_path / "leader")


def pushed(hq: Hq, *cases: object) -> None:
    """The cases as an officer's phone with a wrong clock and no reference sends them."""
    with hq.client() as client:
        auth = api_sign_in(client, OFFICER)
        answer = client.post("/v1/push", json=push_body(f"dev-{OFFICER.badge}", *cases), headers=auth)
        assert answer.status_code == 200, answer.text


def test_2099_and_1970_cases_are_in_the_leaders_day_of_hqs_receipt(hq: Hq, leader_apps: Apps) -> None:
    future = make_case(OFFICER, seq=1, occurred_at=Y2099)
    past = replace(make_case(OFFICER, seq=2), occurred_at=Y1970)
    plain = make_case(OFFICER, seq=3)
    pushed(hq, future, past, plain)
    leader = leader_apps()
    sign_in(leader, hq.serve().url, LEADER)  # the sign-in's sync pulls the squad feed
    leader.link.kick()
    squad = leader.squad
    assert squad.day == RECEIVED_DAY
    log = squad.daylog()
    assert {line.case_id for line in log.lines} == {future.id, past.id, plain.id}
    flags = {line.case_id: line.time_flag for line in log.lines}
    assert flags == {future.id: "time_future", past.id: "time_too_old", plain.id: ""}
    queue = {item.line.case_id: item for item in squad.queue()}
    assert set(queue) >= {future.id, past.id}
    assert queue[future.id].line.review is ReviewStatus.NEEDS_DECISION
    assert queue[past.id].line.review is ReviewStatus.NEEDS_DECISION
    # the phone keeps the case's own time for display: the leader sees what the phone said
    assert queue[future.id].line.occurred_at == Y2099
    squad.set_day(date(2026, 11, 21))
    assert squad.daylog().lines == ()
    for other in (date(2099, 3, 1), date(1970, 1, 1)):  # days the picker refuses: what the store gives
        data = leader.store.squad_day(OFFICER.squad_code, other)
        day = build_daylog(
            other, OFFICER.squad_code, cases=data.cases, shifts=data.shifts, reviews=data.reviews,
            catalogue=leader.catalogue, received_at=data.received_at,
        )  # fmt: skip
        assert day.lines == ()
    # HQ's own day logs agree with the phone's
    with hq.storage.transaction(readonly=True) as tx:
        from hq.daydata import load_daylog
        from testkit.hqkit import catalogue

        at_hq = load_daylog(tx, OFFICER.squad_code, RECEIVED_DAY, catalogue())
    assert {line.case_id for line in at_hq.lines} == {line.case_id for line in log.lines}


def test_a_1970_case_reaches_the_leaders_phone_at_all(hq: Hq, leader_apps: Apps) -> None:
    # HQ's squad feed holds the last SQUAD_FEED_DAYS days: a 1970 case dated by its own time never made it
    past = replace(make_case(OFFICER, seq=4), occurred_at=Y1970)
    pushed(hq, past)
    leader = leader_apps()
    sign_in(leader, hq.serve().url, LEADER)
    assert leader.store.squad_case(past.id) is not None


def test_a_leader_phone_at_2099_shows_hqs_day_with_the_case_on_it(hq: Hq, leader_apps: Apps) -> None:
    """The leader's own clock at 2099: after the sign-in's sync the phone knows HQ's time, so its day is
    HQ's today (not 2099), and the case HQ received today is on it."""
    future = make_case(OFFICER, seq=5, occurred_at=Y2099)
    pushed(hq, future)
    leader: AppState = leader_apps(clock=PhoneClock(datetime(2099, 6, 1, 10, 0, tzinfo=LOCAL_TZ)))
    sign_in(leader, hq.serve().url, LEADER)
    offset = leader.clock.offset()
    assert offset is not None
    assert offset.large
    assert leader.squad.today() == RECEIVED_DAY
    assert leader.squad.day == RECEIVED_DAY
    assert future.id in {line.case_id for line in leader.squad.daylog().lines}
    assert leader.squad.set_day(RECEIVED_DAY - timedelta(days=1)) == RECEIVED_DAY - timedelta(days=1)
    with pytest.raises(SquadError) as refused:
        leader.squad.set_day(date(2099, 6, 1))  # after HQ's today: refused, as on a right clock
    assert refused.value.code == "day_future"


def test_an_officers_2099_case_is_on_todays_list_once_hq_received_it(make_app: Apps, hq: Hq) -> None:
    """The officer's own phone: a case saved offline under a 2099 clock with no reference (so dated 2099)
    is on 今日 once the sync has told the phone HQ's time and when HQ received the case."""
    clock = PhoneClock()
    officer = make_app(clock=clock)
    url = hq.serve().url
    sign_in(officer, url)
    offline_without_reference(officer)
    clock.set(datetime(2099, 6, 1, 10, 0, tzinfo=LOCAL_TZ))
    case = record(officer, seed=9)
    assert case.occurred_at.year == 2099  # nothing told the phone better
    officer.settings.update(hq_url=url)  # back in reach: the sync brings HQ's time and the case's state
    officer.link.sync_now()
    assert officer.today.today() == RECEIVED_DAY
    assert [entry.case.id for entry in officer.today.cases()] == [case.id]
    assert officer.store.patrol_log(case.officer_badge, date(2099, 6, 1)) == []
