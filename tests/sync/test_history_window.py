"""HQ's history feed to phones and the staged rule share one window (``enforcement.staging.window_start``):
whole bureau-local days, so a case early on the 365th day before reaches the phone and counts there as it
does at HQ (a 365×24 h feed left it out and the phone disagreed with HQ)."""

from __future__ import annotations

from datetime import datetime, timedelta

from enforcement.model import LOCAL_TZ, Stage, Subject, SubjectKind, new_id
from enforcement.staging import compute_stage, window_first_day
from testkit.hqkit import DISTRICT, OFFICER, OFFICER_B, Hq, make_case, push_body, sign_in
from tests.sync.conftest import ClientFactory, Phone, signed_in


def test_a_case_at_0030_on_the_365th_day_before_counts_on_the_phone_and_at_hq(
    hq: Hq, phone: Phone, make_client: ClientFactory
) -> None:
    now = hq.clock().astimezone(LOCAL_TZ)  # 22:00 local
    first_day = window_first_day(now.date(), 365)
    boundary = datetime.combine(first_day, datetime.min.time(), LOCAL_TZ) + timedelta(minutes=30)
    assert now - boundary > timedelta(days=365)  # outside a 365×24 h window, inside the day rule
    subject = Subject(new_id(), SubjectKind.MOBILE_VENDOR, name="钱记烧烤", district=DISTRICT)
    with hq.storage.transaction() as tx:
        tx.save_subject(subject, at=hq.clock())
    earlier = make_case(OFFICER_B, subject_id=subject.id, device_id="dev-b", occurred_at=boundary)
    with hq.client() as http:
        auth = sign_in(http, OFFICER_B, "dev-b")
        answer = http.post("/v1/push", json=push_body("dev-b", earlier), headers=auth).json()
        assert answer["results"][0]["status"] == "accepted"
    client = signed_in(make_client(phone))
    assert client.sync_once().ok
    # the phone got the boundary case and the rule counts it there
    history = phone.store.subject_history(subject.id)
    assert [e.case_id for e in history] == [earlier.id]
    at = now + timedelta(minutes=5)
    assert compute_stage("0510", at, history).stage is Stage.WARNING
    # the phone's case, staged 警告 offline, agrees with HQ
    case = phone.record_case(
        subject_id=subject.id,
        occurred_at=at,
        photos=1,
        computed_stage=Stage.WARNING,
        chosen_stage=Stage.WARNING,
        stage_ordinal=2,
    )
    report = client.sync_once()
    assert report.ok
    assert report.stage_conflicts == []
    [logged] = [lc for lc in phone.store.patrol_log(OFFICER.badge, case.local_day) if lc.case.id == case.id]
    assert logged.hq_stage is Stage.WARNING
