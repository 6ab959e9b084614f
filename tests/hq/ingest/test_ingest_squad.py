"""The squad feed HQ publishes while ingesting: ``squad_case`` and ``squad_shift`` for the squad's leaders."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

from enforcement.codec import to_json_dict
from enforcement.model import ReviewDecision, Shift, Stage, new_id
from hq.feed import emit_case_state
from hq.storage.base import ChangeKind, Storage, UserRow
from sync.protocol import SquadCaseData, SquadShiftData
from testkit.records import DISTRICT, LEADER, NOW, OFFICER, OTHER_OFFICER, days, make_case, make_subject
from tests.hq.ingest.test_ingest import _review, one, push, rec

ZD02_LEADER = replace(LEADER, badge="2002", squad_code="ZD02", name="钱队长")


def squad_feed(storage: Storage, leader: Any = LEADER) -> dict[tuple[ChangeKind, str], dict[str, Any]]:
    with storage.transaction(readonly=True) as tx:
        page = tx.changes_after(
            None, district=DISTRICT, badge=leader.badge, squad=leader.squad_code, limit=1000
        )
    return {
        (c.kind, c.key): dict(c.data)
        for c in page.changes
        if c.kind in (ChangeKind.SQUAD_CASE, ChangeKind.SQUAD_SHIFT)
    }


def test_an_ingested_case_reaches_its_squads_leaders_only(storage: Storage) -> None:
    subject = make_subject(name="张㐂")
    case = make_case(subject_id=subject.id, photos=2)
    push(storage, rec("subject", subject), rec("case", case))
    data = SquadCaseData.model_validate(squad_feed(storage)[(ChangeKind.SQUAD_CASE, case.id)])
    assert data.case == to_json_dict(case)
    assert data.hq_stage is Stage.PERSUASION
    assert data.hq_reason_zh
    assert data.hq_reason_en
    assert (data.officer_name, data.subject_label, data.missing_photos) == (OFFICER.name, "张㐂", 2)
    assert data.reviews == []
    assert squad_feed(storage, ZD02_LEADER) == {}
    with storage.transaction(readonly=True) as tx:  # officers (no squad= given) never get the squad feed
        kinds = {c.kind for c in tx.changes_after(None, district=DISTRICT, badge=OFFICER.badge).changes}
    assert ChangeKind.SQUAD_CASE not in kinds


def test_a_review_and_a_restage_send_the_case_again(storage: Storage) -> None:
    with storage.transaction() as tx:
        tx.put_user(UserRow(OFFICER, "x"))
        tx.put_user(UserRow(OTHER_OFFICER, "x"))
    sid = new_id()
    later = make_case(subject_id=sid)
    one(storage, rec("case", later))
    review = _review(later, ReviewDecision.RETURN)
    assert one(storage, rec("review", review), user=LEADER).status == "accepted"
    data = SquadCaseData.model_validate(squad_feed(storage)[(ChangeKind.SQUAD_CASE, later.id)])
    assert data.reviews == [to_json_dict(review)]
    assert data.officer_name == OFFICER.name  # read from the users table on this path
    # an earlier case of the subject arrives late: the later one is restaged to 警告 and sent again
    earlier = make_case(officer=OTHER_OFFICER, subject_id=sid, occurred_at=NOW - days(2))
    one(storage, rec("case", earlier), user=OTHER_OFFICER)
    feed = squad_feed(storage)
    assert SquadCaseData.model_validate(feed[(ChangeKind.SQUAD_CASE, later.id)]).hq_stage is Stage.WARNING
    assert SquadCaseData.model_validate(feed[(ChangeKind.SQUAD_CASE, earlier.id)]).officer_name == "李四"


def test_photo_arrival_sends_the_completed_case_again(storage: Storage) -> None:
    case = make_case(subject_id=new_id(), photos=1)
    one(storage, rec("case", case))
    assert squad_feed(storage)[(ChangeKind.SQUAD_CASE, case.id)]["missing_photos"] == 1
    with storage.transaction() as tx:  # what the photo upload route does
        for case_id in tx.mark_photo_stored(case.photos[0].sha256, 1000, NOW, OFFICER.badge):
            state = tx.case_state(case_id)
            assert state is not None
            emit_case_state(tx, state)
    data = SquadCaseData.model_validate(squad_feed(storage)[(ChangeKind.SQUAD_CASE, case.id)])
    assert data.missing_photos == 0
    assert data.case == to_json_dict(case)


def test_every_shift_record_reaches_the_squads_leaders(storage: Storage) -> None:
    shift = Shift(new_id(), OFFICER.badge, NOW - timedelta(hours=4), grid_cell="G-07")
    one(storage, rec("shift", shift))
    data = SquadShiftData.model_validate(squad_feed(storage)[(ChangeKind.SQUAD_SHIFT, shift.id)])
    assert (data.shift, data.officer_name, data.squad_code) == (to_json_dict(shift), OFFICER.name, "ZD01")
    closed = replace(shift, ended_at=NOW)
    one(storage, rec("shift", closed))
    data = SquadShiftData.model_validate(squad_feed(storage)[(ChangeKind.SQUAD_SHIFT, shift.id)])
    assert data.shift == to_json_dict(closed)
    assert squad_feed(storage, ZD02_LEADER) == {}
    refused = Shift(new_id(), OFFICER.badge, NOW, ended_at=NOW - timedelta(hours=1))
    assert one(storage, rec("shift", refused)).status == "refused"
    assert (ChangeKind.SQUAD_SHIFT, refused.id) not in squad_feed(storage)
