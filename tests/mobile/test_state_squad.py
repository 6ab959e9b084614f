"""The squad leader's day on the phone (``mobile.state.squad``) over a real in-memory store filled the way
the squad feed fills it (``apply_squad_case`` / ``apply_squad_shift``), with the hand-worked fixture day of
``tests.patrollog.dayfixture`` (its docstring lists every figure checked here)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest

from enforcement.model import (
    LOCAL_TZ,
    Officer,
    ReviewDecision,
    Role,
    Stage,
)
from mobile.metakeys import SESSION_BADGE as SESSION_KEY
from mobile.state.errors import NotSignedIn
from mobile.state.squad import MAX_COMMENT, Filters, SquadError, SquadState
from mobile.store import Store
from patrollog.reviewing import ReviewStatus
from testkit.hqkit import LEADER, OFFICER, catalogue
from tests.mobile.squadkit import Poke, fill
from tests.mobile.statekit import Apps, PhoneClock, dead_url
from tests.patrollog.dayfixture import Day, amend, at, fixture_day

DAY = date(2026, 11, 22)


@pytest.fixture
def day() -> Day:
    return fixture_day()


@pytest.fixture
def store(day: Day) -> Store:
    store = Store.open(":memory:", catalogue=catalogue())
    fill(store, day)
    return store


@pytest.fixture
def link() -> Poke:
    return Poke()


@pytest.fixture
def clock() -> PhoneClock:
    return PhoneClock(at(23, 30))


@pytest.fixture
def squad(store: Store, link: Poke, clock: PhoneClock) -> SquadState:
    return SquadState(store, catalogue(), SimpleNamespace(officer=LEADER), link, now=clock)


def review_entries(store: Store) -> list[str]:
    return [e.record_id for e in store.outbox_pending(1000, 10**9) if e.kind == "review"]


def test_default_day_is_today_in_bureau_time(store: Store, link: Poke) -> None:
    late_utc = PhoneClock(datetime(2026, 11, 22, 17, 0, tzinfo=UTC))  # 01:00 on the 23rd in the bureau
    squad = SquadState(store, catalogue(), SimpleNamespace(officer=LEADER), link, now=late_utc)
    assert squad.day == date(2026, 11, 23)
    assert squad.snapshot().log.figures.cases == 0


def test_the_squads_day_figures_by_hand(squad: SquadState) -> None:
    snap = squad.snapshot()
    log = snap.log
    assert squad.day == DAY
    f = log.figures
    assert f.cases == 6
    assert dict(f.by_violation) == {"0306": 1, "0501": 1, "0504": 2, "0510": 2}
    assert dict(f.by_stage) == {Stage.PERSUASION: 3, Stage.WARNING: 2, Stage.PENALTY: 1}
    assert dict(f.seized) == {"烧烤炉": 3, "桌椅": 1}
    assert (f.fines_total, f.fined_cases, f.returned, f.voided, f.withdrawn) == (500, 1, 1, 1, 0)
    assert log.squad_name == "人民路中队"
    assert "取缔露天烧烤 2 起" in log.summary_line
    # per officer: shift start and end, counts
    officers = {o.badge: o for o in snap.officers}
    assert set(officers) == {"1023", "1024", "1026"}
    wang, li, zhao = officers["1023"], officers["1024"], officers["1026"]
    assert (wang.name, wang.first_start, wang.last_end, wang.figures.cases) == (
        "王㐂",
        at(18, 0),
        at(23, 30),
        4,
    )
    assert dict(wang.figures.by_stage) == {Stage.PERSUASION: 2, Stage.WARNING: 1, Stage.PENALTY: 1}
    assert (li.first_start, li.last_end, li.figures.cases) == (at(17, 30), at(22, 0), 2)
    assert len(li.shifts) == 2
    assert (zhao.first_start, zhao.last_end, zhao.figures.cases) == (at(8, 0), at(12, 0), 0)
    # the chart and the plan (no filter): counted cases only, the voided one left out
    assert snap.by_violation == [("0504", 2), ("0510", 2), ("0306", 1), ("0501", 1)]
    assert (len(snap.points), snap.without_fix) == (6, 0)
    assert len(snap.lines) == 7  # six counted + the voided one, each by its latest version


def test_filters_by_officer_type_and_stage(squad: SquadState, day: Day) -> None:
    squad.set_filter(officer="1024")
    assert [ln.case_id for ln in squad.snapshot().lines] == [day.d.id, day.e2.id]
    squad.set_filter(officer="", violation="0510")
    assert [ln.case_id for ln in squad.snapshot().lines] == [day.b.id, day.c.id]
    squad.set_filter(violation=None, stage=2)
    assert [ln.case_id for ln in squad.snapshot().lines] == [day.d.id, day.c.id]
    squad.set_filter(officer="1023", stage=Stage.PERSUASION)
    snap = squad.snapshot()
    assert [ln.case_id for ln in snap.lines] == [day.a.id, day.b.id, day.g2.id]
    assert snap.by_violation == [("0501", 1), ("0510", 1)]  # the voided 0505 is listed, not counted
    assert len(snap.points) == 2
    assert snap.log.figures.cases == 6  # the squad's figures stay whole
    squad.clear_filters()
    assert squad.filters == Filters()
    assert not squad.filters.active


def test_the_queue_puts_decisions_first_and_flags_penalty_and_conflict(squad: SquadState, day: Day) -> None:
    queue = squad.queue()
    assert [item.line.case_id for item in queue] == [day.c.id, day.a.id, day.e2.id, day.b.id]
    c = queue[0]
    assert c.needs_decision
    assert c.penalty  # HQ says 处罚
    assert c.conflict  # HQ's 处罚 differs from the phone's 警告
    assert c.line.hq_stage is Stage.PENALTY
    assert c.line.subject == "赵老三烧烤"
    assert c.line.officer_name == "王㐂"
    assert c.photos == 0
    assert c.case.stage_ordinal == 2
    rest = queue[1:]
    assert not any(item.needs_decision or item.penalty or item.conflict for item in rest)
    assert {item.line.review for item in rest} == {ReviewStatus.COUNTED}


def test_queue_items_carry_hqs_reason_for_its_stage(squad: SquadState, store: Store, day: Day) -> None:
    assert all(item.hq_reason("zh") == item.hq_reason("en") == "" for item in squad.queue())  # none sent yet
    # HQ's word on C (a conflict: the phone said 警告) and on B (no conflict), as the squad feed brings it
    store.apply_squad_case(day.c, hq_stage=Stage.PENALTY, hq_reason_zh="第3次 · 处罚：10-02 劝导，11-01 警告",
                           hq_reason_en="3rd · Penalty: 10-02 Persuasion, 11-01 Warning")  # fmt: skip
    store.apply_squad_case(day.b, hq_stage=Stage.PERSUASION, hq_reason_zh="第1次 · 劝导",
                           hq_reason_en="1st · Persuasion")  # fmt: skip
    queue = {item.line.case_id: item for item in squad.snapshot().queue}
    c, b, a = queue[day.c.id], queue[day.b.id], queue[day.a.id]
    assert c.conflict
    assert (c.hq_reason("zh"), c.hq_reason("en")) == (
        "第3次 · 处罚：10-02 劝导，11-01 警告",
        "3rd · Penalty: 10-02 Persuasion, 11-01 Warning",
    )
    assert not b.conflict
    assert (b.hq_reason_zh, b.hq_reason_en) == ("第1次 · 劝导", "1st · Persuasion")
    assert (a.hq_reason("zh"), a.hq_reason("en")) == ("", "")  # HQ's reason unknown
    assert [item.hq_reason("zh") for item in squad.queue()] == [c.hq_reason_zh, "", "", b.hq_reason_zh]


def test_approve_saves_a_review_queues_it_and_pokes_the_link(
    squad: SquadState, store: Store, link: Poke, day: Day, clock: PhoneClock
) -> None:
    review = squad.approve(day.c.id)
    assert review.decision is ReviewDecision.APPROVE
    assert review.reviewer_badge == LEADER.badge
    assert review.decided_at == clock.now
    assert review.decided_at.utcoffset() == LOCAL_TZ.utcoffset(None)
    assert (review.case_id, review.case_no, review.comment) == (day.c.id, day.c.case_no, "")
    assert review_entries(store) == [review.id]
    assert link.kicks == 1
    snap = squad.snapshot()
    assert [item.line.case_id for item in snap.queue] == [day.a.id, day.e2.id, day.b.id]
    line = next(ln for ln in snap.log.lines if ln.case_id == day.c.id)
    assert line.review is ReviewStatus.APPROVED
    assert snap.decisions[day.c.id].review == review  # who, when, what and why, for the screen
    assert snap.decisions[day.c.id].reviewer_name == "张伟"
    assert snap.decisions[day.f.id].review.comment == "罚款依据充分"  # pulled from HQ
    assert day.a.id not in snap.decisions
    assert line.review.counts_as_approved


def test_return_needs_a_reason_and_keeps_who_when_why(
    squad: SquadState, store: Store, link: Poke, day: Day, clock: PhoneClock
) -> None:
    for blank in ("", "   \n"):
        with pytest.raises(SquadError) as err:
            squad.return_case(day.b.id, blank)
        assert err.value.field == "comment"
        assert err.value.message("zh") == "退回案件须填写退回理由"
        assert "reason" in err.value.message("en")
    with pytest.raises(SquadError) as err:
        squad.return_case(day.b.id, "长" * (MAX_COMMENT + 1))
    assert err.value.field == "comment"
    assert review_entries(store) == []  # nothing saved by a refused decision
    assert link.kicks == 0
    clock.advance(5)
    review = squad.return_case(day.b.id, "  请补拍暂扣清单  ")
    assert (review.decision, review.reviewer_badge, review.comment) == (
        ReviewDecision.RETURN,
        "1001",
        "请补拍暂扣清单",
    )
    assert review.decided_at == at(23, 35)
    log = squad.daylog()
    assert log.figures.returned == 2
    assert set(log.returned_case_nos) == {day.b.case_no, day.e1.case_no}
    line = next(ln for ln in log.lines if ln.case_id == day.b.id)
    assert (line.review, line.review_comment) == (ReviewStatus.RETURNED, "请补拍暂扣清单")
    assert day.b.id not in [item.line.case_id for item in squad.queue()]
    with pytest.raises(SquadError) as err:  # a second tap: nothing new is queued
        squad.return_case(day.b.id, "请补拍暂扣清单")
    assert (err.value.field, err.value.code) == ("case_id", "already_decided")
    assert len(review_entries(store)) == 1
    clock.advance(1)  # the newest decision wins (patrollog.reviewing): a later one
    changed_mind = squad.approve(day.b.id)  # a returned case may still be approved
    assert review_entries(store) == [review.id, changed_mind.id]
    with pytest.raises(SquadError) as err:
        squad.approve(day.b.id)
    assert err.value.message("zh") == "该案件已通过审核"


def test_an_amended_case_comes_back_to_the_queue(squad: SquadState, store: Store, day: Day) -> None:
    squad.return_case(day.b.id, "请补拍暂扣清单")
    amended = amend(day.b, notes="已补拍")
    store.apply_squad_case(amended, hq_stage=None, officer_name="王㐂")  # pulled after the officer's resend
    queue = squad.queue()
    assert amended.id in [item.line.case_id for item in queue]
    assert day.b.id not in [item.line.case_id for item in queue]
    with pytest.raises(SquadError) as err:
        squad.approve(day.b.id)  # the returned version is no longer the latest
    assert (err.value.field, err.value.code) == ("case_id", "not_latest")
    squad.approve(amended.id)
    assert amended.id not in [item.line.case_id for item in squad.queue()]


@pytest.mark.parametrize(
    ("case_id", "code"),
    [("no-such-case", "unknown_case"), ("e1", "not_latest"), ("g2", "voided"), ("other", "other_squad")],
)
def test_cases_that_cannot_be_decided(
    squad: SquadState, store: Store, day: Day, case_id: str, code: str
) -> None:
    if case_id == "other":
        case_id = next(c.id for c in day.cases if c.squad_code == "ZD02")
    elif case_id in ("e1", "g2"):
        case_id = getattr(day, case_id).id
    with pytest.raises(SquadError) as err:
        squad.approve(case_id)
    assert (err.value.field, err.value.code) == ("case_id", code)
    assert err.value.message("zh")
    assert err.value.message("en")
    assert review_entries(store) == []


def test_only_a_signed_in_leader_decides(store: Store, link: Poke, clock: PhoneClock, day: Day) -> None:
    officer = SquadState(store, catalogue(), SimpleNamespace(officer=OFFICER), link, now=clock)
    assert not officer.is_leader
    with pytest.raises(SquadError) as err:
        officer.approve(day.c.id)
    assert (err.value.field, err.value.message("zh")) == ("role", "只有中队长可以查看中队和审核案件")
    with pytest.raises(SquadError):
        officer.snapshot()
    nobody = SquadState(store, catalogue(), SimpleNamespace(officer=None), link, now=clock)
    with pytest.raises(NotSignedIn):
        nobody.queue()
    other_leader = Officer("2001", "陈刚", "ZD02", "花园路中队", "金水区", Role.LEADER)
    theirs = SquadState(store, catalogue(), SimpleNamespace(officer=other_leader), link, now=clock)
    with pytest.raises(SquadError) as err:
        theirs.approve(day.c.id)
    assert err.value.code == "other_squad"
    assert review_entries(store) == []


def test_day_picker_takes_text_refuses_bad_and_future_days(squad: SquadState, day: Day) -> None:
    squad.set_filter(officer="1023")
    assert squad.set_day("2026-11-21") == date(2026, 11, 21)
    assert squad.filters == Filters()  # another day: the filters start over
    yesterday = squad.daylog()
    assert yesterday.figures.cases == 1
    assert [o.badge for o in yesterday.officers] == ["1023"]
    for text, code in (("2026/11/22", "day_bad"), ("明天", "day_bad"), ("", "day_bad")):
        with pytest.raises(SquadError) as err:
            squad.set_day(text)
        assert (err.value.field, err.value.code) == ("day", code)
    with pytest.raises(SquadError) as err:
        squad.set_day("2026-11-23")
    assert (err.value.field, err.value.code) == ("day", "day_future")
    assert "2026-11-22" in err.value.message("zh")
    with pytest.raises(SquadError) as err:
        squad.set_day(date(1999, 12, 31))
    assert err.value.code == "day_too_early"
    assert squad.day == date(2026, 11, 21)  # every refusal left the shown day alone
    assert not squad.before_feed
    assert squad.step_day(1) == DAY
    with pytest.raises(SquadError):
        squad.step_day(1)
    assert squad.day == DAY


def test_a_day_older_than_the_squad_feed_is_flagged(squad: SquadState) -> None:
    """HQ sends a leader's phone the squad's last SQUAD_FEED_DAYS days: an older day says so."""
    oldest_held = date.fromordinal(DAY.toordinal() - squad.feed_days)
    squad.set_day(oldest_held)
    assert not squad.before_feed
    squad.step_day(-1)
    assert squad.before_feed
    assert squad.daylog().figures.cases == 0


def test_offline_a_decision_waits_in_the_outbox(tmp_path: Path, store: Store, day: Day) -> None:
    """The whole app over the real sync link, no HQ to be had (a dead address, no device token): the review
    counts at once on the phone and waits in the outbox for the next sync."""
    apps = Apps(tmp_path)
    try:
        app = apps(clock=PhoneClock(at(23, 30)), store=store)
        app.settings.update(hq_url=dead_url())
        store.save_officer(LEADER)
        store.meta_set(SESSION_KEY, LEADER.badge)
        assert app.session.restore() == LEADER
        review = app.squad.approve(day.a.id, "现场处置得当")
        assert app.link.status.step == "failed"  # the poke tried a sync at once; it could not send
        assert review in store.squad_day("ZD01", DAY).reviews
        assert review_entries(store) == [review.id]
        line = next(ln for ln in app.squad.daylog().lines if ln.case_id == day.a.id)
        assert (line.review, line.review_comment) == (ReviewStatus.APPROVED, "现场处置得当")
    finally:
        apps.close()
