"""The staged rule's policy reaches the phone (the ``policy`` change), the new-case wizard stages with it
offline, the case records its version, and HQ stages it with that same version."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from enforcement.model import Disposition, Stage, SubjectKind
from hq.policy import publish
from mobile import metakeys
from mobile.policyheld import held_version
from mobile.state.app_state import AppState
from testkit.hqkit import HQ_USER, Hq
from tests.mobile.statekit import Apps, PhoneClock, apps_of, dead_url, photo, sign_in


def _record(app: AppState, clock: PhoneClock, code: str, subject_id: str | None) -> str:
    drafts = app.drafts
    clock.advance(10)
    drafts.start()
    drafts.choose_violation(code)
    drafts.set_position(34.7466, 113.6253, 8.0)
    if subject_id is None:
        subject_id = drafts.create_subject(
            SubjectKind.SHOP, name="老王烧烤店", phone="13800138000", address="人民路12号"
        ).id
    else:
        drafts.choose_subject(subject_id)
    return subject_id


@pytest.fixture
def apps(tmp_path: Path) -> Iterator[Apps]:
    yield from apps_of(tmp_path)


def test_a_new_policy_reaches_the_phone_and_a_case_staged_offline_records_its_version(
    hq: Hq, apps: Apps
) -> None:
    clock = PhoneClock()
    app = apps(clock=clock)
    url = hq.serve().url
    sign_in(app, url)
    assert held_version(app.store.meta_get) == 0
    # HQ publishes: counted by category, 首违不罚 for 0504 (店外经营)
    with hq.storage.transaction() as tx:
        publish(tx, {"scope": "category", "first_violation_exempt": ["0504"]}, by=HQ_USER.badge,
                at=hq.clock())  # fmt: skip
    app.today.sync_now()
    assert held_version(app.store.meta_get) == 1
    assert app.store.meta_get(metakeys.POLICY)["document"]["scope"] == "category"
    # offline from here: the wizard stages with version 1
    app.settings.update(hq_url=dead_url())
    subject_id = _record(app, clock, "0510", None)
    first = app.drafts.save()
    assert (first.computed_stage, first.policy_version) == (Stage.PERSUASION, 1)
    _record(app, clock, "0508", subject_id)
    assert app.drafts.stage() is Stage.WARNING  # another 05 code (商业噪音) counts under "category"
    app.drafts.set_disposition(Disposition.WARNING_NOTICE)
    app.drafts.update(warning_notice_no="JG-2026-007")
    asyncio.run(app.drafts.add_photo(photo(2)))  # a 警告 needs its photo (the shipped catalogue's minimum)
    second = app.drafts.save()
    assert (second.computed_stage, second.policy_version) == (Stage.WARNING, 1)
    _record(app, clock, "0504", subject_id)
    decision = app.drafts.decision()
    assert decision is not None
    assert (decision.stage, decision.first_exempt) == (Stage.PERSUASION, True)
    assert "首违不罚" in app.drafts.explain("zh")
    third = app.drafts.save()
    assert (third.computed_stage, third.stage_ordinal, third.policy_version) == (Stage.PERSUASION, 1, 1)
    assert app.store.get_case(third.id) == third
    # HQ publishes version 2 meanwhile; back online, HQ stages the cases with version 1, as the phone did
    with hq.storage.transaction() as tx:
        publish(tx, {"scope": "subcategory"}, by=HQ_USER.badge, at=hq.clock())
    app.settings.update(hq_url=url)
    app.today.sync_now()
    with hq.storage.transaction(readonly=True) as tx:
        states = [tx.case_state(c.id) for c in (first, second, third)]
    assert [(s.hq_stage, s.policy_version, s.stage_conflict) for s in states if s] == [
        (Stage.PERSUASION, 1, False), (Stage.WARNING, 1, False), (Stage.PERSUASION, 1, False)
    ]  # fmt: skip
    assert held_version(app.store.meta_get) == 2  # and the pull brought version 2
