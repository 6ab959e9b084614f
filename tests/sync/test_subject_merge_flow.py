"""One vendor, one history (issue #22), end to end in process: a real HQ on loopback and two phones (real
AppStates). Both phones, offline, register the same vendor (the same phone number, typed differently) as a
new subject; after they sync HQ flags the pair and stages the later case 警告; the squad leader merges the
two; after their next sync both phones show one vendor with both cases.

The Chromium e2e of the same flow (tests/e2e/test_subject_merge.py) is still to be written: this is the
in-process stand-in the issue allows."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from enforcement.model import Stage, SubjectKind
from mobile.state.app_state import AppState
from testkit.hqkit import LEADER, OFFICER, OFFICER_B, Hq
from testkit.hqkit import sign_in as api_sign_in
from tests.mobile.statekit import Apps, PhoneClock, apps_of, dead_url, sign_in


@pytest.fixture
def apps(tmp_path: Path) -> Iterator[Apps]:
    yield from apps_of(tmp_path)


def _register_and_record(app: AppState, clock: PhoneClock, phone: str) -> tuple[str, str]:
    """Offline: a new 老王烧烤 subject and a 露天烧烤 case of it (劝导 on the phone: its first case)."""
    drafts = app.drafts
    clock.advance(10)
    drafts.start()
    drafts.choose_violation("0510")
    drafts.set_position(34.7466, 113.6253, 8.0)
    subject = drafts.create_subject(SubjectKind.MOBILE_VENDOR, name="老王烧烤", phone=phone)
    assert drafts.stage() is Stage.PERSUASION
    case = drafts.save()
    return subject.id, case.id


def test_two_phones_register_one_vendor_offline_then_the_leader_merges(hq: Hq, apps: Apps) -> None:
    url = hq.serve().url
    clock_a, clock_b = PhoneClock(), PhoneClock()
    clock_b.advance(30)  # phone B's case is the later one
    phone_a, phone_b = apps(clock=clock_a), apps(clock=clock_b)
    sign_in(phone_a, url, OFFICER)
    sign_in(phone_b, url, OFFICER_B)
    for app in (phone_a, phone_b):
        app.settings.update(hq_url=dead_url())  # offline from here
    subject_a, case_a = _register_and_record(phone_a, clock_a, "13812345678")
    subject_b, case_b = _register_and_record(phone_b, clock_b, "+86 138-1234-5678")
    for app in (phone_a, phone_b):
        app.settings.update(hq_url=url)
        app.today.sync_now()
    with hq.storage.transaction(readonly=True) as tx:
        assert tx.case_state(case_a).hq_stage is Stage.PERSUASION  # type: ignore[union-attr]
        later = tx.case_state(case_b)
        assert later is not None
        assert later.hq_stage is Stage.WARNING
        assert later.stage_conflict
    with httpx.Client(base_url=url, timeout=10) as client:
        leader = api_sign_in(client, LEADER, "leader-phone")
        listed = client.get("/v1/merge-suggestions", headers=leader).json()["suggestions"]
        assert [(s["strength"], s["reason"]) for s in listed] == [("strong", "phone")]
        assert {listed[0]["a"], listed[0]["b"]} == {subject_a, subject_b}
        merged = client.post(f"/v1/subjects/{subject_b}/merge", json={"into": subject_a}, headers=leader)
        assert merged.status_code == 200, merged.text
        assert merged.json()["survivor_id"] == subject_a
    for app in (phone_a, phone_b):
        app.today.sync_now()
        found = app.subjects.search("老王烧烤")
        assert [s.id for s in found] == [subject_a]  # one vendor
        app.subjects.select(subject_b)  # the alias opens the survivor
        assert app.subjects.selected is not None
        assert app.subjects.selected.id == subject_a
        assert {e.case_id for e in app.subjects.history} == {case_a, case_b}
    # the next registration of the same number offers the merged vendor first, offline
    phone_b.settings.update(hq_url=dead_url())
    drafts = phone_b.drafts
    drafts.start()
    drafts.choose_violation("0510")
    drafts.set_position(34.7466, 113.6253, 8.0)
    drafts.open_subject_form()
    drafts.type_subject("phone", "138 1234 5678")
    [(subject, why, history)] = drafts.likely_matches()
    assert (subject.id, why, {e.case_id for e in history}) == (subject_a, "phone", {case_a, case_b})


def test_two_phones_edit_one_subject_offline_and_neither_field_is_lost(hq: Hq, apps: Apps) -> None:
    url = hq.serve().url
    clock_a, clock_b = PhoneClock(), PhoneClock()
    phone_a, phone_b = apps(clock=clock_a), apps(clock=clock_b)
    sign_in(phone_a, url, OFFICER)
    sign_in(phone_b, url, OFFICER_B)
    subject_id, _case = _register_and_record(phone_a, clock_a, "13812345678")
    phone_a.today.sync_now()
    phone_b.today.sync_now()  # both hold HQ's version 1 of the subject
    for app in (phone_a, phone_b):
        app.settings.update(hq_url=dead_url())
        app.subjects.select(subject_id)
    phone_a.subjects.edit_selected(address="人民路夜市东口")
    phone_b.subjects.edit_selected(name="老王烧烤（夜市）")
    phone_b.subjects.edit_selected(description="蓝色三轮车")
    for app in (phone_a, phone_b):
        app.settings.update(hq_url=url)
        app.today.sync_now()
    phone_a.today.sync_now()
    with hq.storage.transaction(readonly=True) as tx:
        held = tx.get_subject(subject_id)
        assert tx.list_subject_conflicts(None) == []
    assert held is not None
    assert (held.address, held.name, held.description) == ("人民路夜市东口", "老王烧烤（夜市）", "蓝色三轮车")
    for app in (phone_a, phone_b):
        app.subjects.select(subject_id)
        assert app.subjects.selected is not None
        assert app.subjects.selected.address == "人民路夜市东口"
        assert app.subjects.selected.name == "老王烧烤（夜市）"
        edits = app.subjects.edits
        assert [(e["by_badge"], e["fields"]) for e in edits[:3]] == [
            (OFFICER_B.badge, ["description"]),
            (OFFICER_B.badge, ["name"]),
            (OFFICER.badge, ["address"]),
        ]
