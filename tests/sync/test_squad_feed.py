"""The squad feed end to end over real HTTP: officers push cases and shifts, their leader's phone holds the
squad's day after a pull, a leader of another squad gets nothing, a return made on the leader's phone
reaches the officer, and the officer's amendment reaches the leader."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

from enforcement.model import (
    LOCAL_TZ,
    Officer,
    Review,
    ReviewDecision,
    Role,
    Stage,
    Subject,
    SubjectKind,
    SyncState,
    new_id,
)
from hq.auth import PinHasher
from hq.storage.base import UserRow
from mobile.hqclient import SyncClient
from patrollog.daylog import build_daylog
from patrollog.reviewing import ReviewStatus
from testkit.hqkit import (
    DISTRICT,
    LEADER,
    OFFICER,
    OFFICER_B,
    Hq,
    catalogue,
    make_case,
    push_body,
    sign_in,
)
from tests.sync.conftest import ClientFactory, Phone, signed_in

DAY = datetime(2026, 11, 22, tzinfo=LOCAL_TZ).date()
LEADER_ZD02 = Officer("2001", "孙强", "ZD02", "花园路中队", DISTRICT, Role.LEADER)
PIN_ZD02 = "862001"


def at(hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, 22, hour, minute, tzinfo=LOCAL_TZ)


def synced(client: SyncClient) -> None:
    report = client.sync_once()
    assert report.ok, report
    assert report.changes_rejected == 0


def test_the_squad_day_reaches_the_leader_and_a_return_goes_round(
    tmp_path: Path, hq: Hq, make_client: ClientFactory
) -> None:
    with hq.storage.transaction() as tx:
        tx.put_user(UserRow(LEADER_ZD02, PinHasher(hq.settings.pin_hashing).hash(PIN_ZD02)))
    phone_a, phone_b = Phone(tmp_path / "a"), Phone(tmp_path / "b")
    leader, other_leader = Phone(tmp_path / "leader"), Phone(tmp_path / "leader2")
    a = signed_in(make_client(phone_a), OFFICER)
    b = signed_in(make_client(phone_b), OFFICER_B)
    lead = signed_in(make_client(leader), LEADER)
    other = make_client(other_leader)
    other.sign_in(LEADER_ZD02.badge, PIN_ZD02)

    # two officers of ZD01 record their evening: cases (one with a photo) and shifts
    shift_a = phone_a.store.start_shift(OFFICER.badge, at(19), "G-017")
    first = phone_a.record_case(OFFICER, photos=1, occurred_at=at(21, 30))
    second = phone_a.record_case(OFFICER, occurred_at=at(22, 10))
    shift_a = phone_a.store.end_shift(shift_a.id, at(23))
    shift_b = phone_b.store.start_shift(OFFICER_B.badge, at(20))  # a night shift, still open
    third = phone_b.record_case(OFFICER_B, occurred_at=at(23, 40))
    synced(a)
    synced(b)

    synced(lead)
    day = leader.store.squad_day("ZD01", DAY)
    assert [c.id for c in day.cases] == [first.id, second.id, third.id]
    assert day.shifts == [shift_a, shift_b]
    assert day.hq_stages == {c.id: Stage.PERSUASION for c in (first, second, third)}
    assert day.officer_names[OFFICER.badge] == OFFICER.name
    assert day.officer_names[OFFICER_B.badge] == OFFICER_B.name
    assert day.reviews == []
    assert leader.store.squad_case(first.id) == first
    synced(other)
    assert other_leader.store.squad_day("ZD01", DAY).cases == []
    assert other_leader.store.squad_day("ZD01", DAY).shifts == []
    assert other_leader.store.squad_case(first.id) is None
    # officers' phones get none of the squad feed: only their own cases are in their squad day
    assert [c.id for c in phone_a.store.squad_day("ZD01", DAY).cases] == [first.id, second.id]

    # the leader returns the first case on the phone: it shows at once, and goes to HQ on the next sync
    returned = Review(new_id(), first.id, first.case_no, ReviewDecision.RETURN, LEADER.badge, at(23, 50),
                      "照片不清楚，请补拍")  # fmt: skip
    leader.store.save_review(returned)
    assert leader.store.squad_day("ZD01", DAY).reviews == [returned]
    synced(lead)
    assert leader.store.outbox_stats() == (0, 0)
    assert leader.store.squad_day("ZD01", DAY).reviews == [returned]  # HQ's echo did not duplicate it

    synced(a)
    assert phone_a.states()[first.id] is SyncState.RETURNED

    # the officer amends it as a new version; the leader's phone gets that version's data
    amended = replace(first, id=new_id(), version=2, supersedes=first.id, notes="已补拍现场照片")
    phone_a.store.save_case(amended)
    synced(a)
    synced(lead)
    known = leader.store.squad_day("ZD01", DAY)
    assert [c.id for c in known.cases] == [first.id, amended.id, second.id, third.id]
    pulled = leader.store.squad_case(amended.id)
    assert pulled is not None
    assert (pulled.version, pulled.notes, pulled.supersedes) == (2, "已补拍现场照片", first.id)
    log = build_daylog(
        DAY,
        "ZD01",
        cases=known.cases,
        shifts=known.shifts,
        reviews=known.reviews,
        catalogue=catalogue(),
        officer_names=known.officer_names,
        hq_stages=known.hq_stages,
    )
    line = next(line for line in log.lines if line.case_no == first.case_no)
    assert (line.case_id, line.version) == (amended.id, 2)
    assert line.review is not ReviewStatus.RETURNED  # the amendment is back in the queue
    assert line.review.waiting
    assert log.returned_case_nos == (first.case_no,)
    assert [(o.badge, len(o.shifts)) for o in log.officers] == [(OFFICER.badge, 1), (OFFICER_B.badge, 1)]


def test_a_new_leader_phone_gets_the_squads_recent_days_not_a_year(
    tmp_path: Path, hq: Hq, make_client: ClientFactory
) -> None:
    """The squad feed is windowed by HQ's ``squad_window`` (two months), shorter than the year of subject
    history the staged rule needs: a leader signing in on a new phone does not download a year of the
    squad's cases, yet the subject's older cases still reach it for the staged rule."""
    phone = Phone(tmp_path / "officer")
    officer = signed_in(make_client(phone), OFFICER)
    vendor = Subject(new_id(), SubjectKind.MOBILE_VENDOR, name="老周煎饼", district=DISTRICT)
    phone.store.save_subject(vendor)
    old = phone.record_case(OFFICER, occurred_at=at(21) - timedelta(days=90), subject_id=vendor.id)
    recent = phone.record_case(OFFICER, occurred_at=at(21), subject_id=vendor.id)
    synced(officer)

    leader = Phone(tmp_path / "leader")
    synced(signed_in(make_client(leader), LEADER))
    assert [c.id for c in leader.store.squad_day("ZD01", DAY).cases] == [recent.id]
    assert leader.store.squad_day("ZD01", old.occurred_at.astimezone(LOCAL_TZ).date()).cases == []
    assert leader.store.squad_case(old.id) is None
    history = leader.store.subject_history(vendor.id)
    assert {entry.case_no for entry in history} >= {old.case_no, recent.case_no}


def test_a_stage_conflict_reaches_the_leader_with_hqs_reason(
    tmp_path: Path, hq: Hq, make_client: ClientFactory
) -> None:
    """The officer's phone computes 劝导 while HQ knows two earlier cases of the subject: the leader's phone
    holds HQ's 处罚 and HQ's reason naming those two cases (their days and stages), in both languages."""
    vendor = Subject(new_id(), SubjectKind.MOBILE_VENDOR, name="赵老三烧烤", district=DISTRICT)
    with hq.storage.transaction() as tx:
        tx.save_subject(vendor, at=hq.clock())
    phone = Phone(tmp_path / "officer")
    officer = signed_in(make_client(phone), OFFICER)
    synced(officer)  # the phone has the subject, not yet any case of it
    # meanwhile a colleague's two earlier cases of the subject reach HQ (11-12 劝导, 11-13 警告)
    with hq.client() as http:
        auth = sign_in(http, OFFICER_B, "dev-b")
        for i in range(2):
            when = at(21, 30) - timedelta(days=10 - i)
            earlier = make_case(
                OFFICER_B,
                seq=i + 1,
                subject_id=vendor.id,
                device_id="dev-b",
                occurred_at=when,
                computed=Stage(i + 1),
            )
            answer = http.post("/v1/push", json=push_body("dev-b", earlier, first_seq=i + 1), headers=auth)
            assert answer.json()["results"][0]["status"] == "accepted"
    case = phone.record_case(OFFICER, subject_id=vendor.id, occurred_at=at(21, 30))
    assert case.computed_stage is Stage.PERSUASION  # the phone knew no earlier case
    report = officer.sync_once()
    assert report.ok
    assert report.stage_conflicts == [case.id]

    leader = Phone(tmp_path / "leader")
    synced(signed_in(make_client(leader), LEADER))
    day = leader.store.squad_day("ZD01", DAY)
    assert [c.id for c in day.cases] == [case.id]
    assert day.hq_stages == {case.id: Stage.PENALTY}
    assert day.hq_reasons == {
        case.id: ("第3次 · 处罚：11-12 劝导，11-13 警告", "3rd · Penalty: 11-12 Persuasion, 11-13 Warning")
    }
    assert day.subject_labels[vendor.id] == "赵老三烧烤"
