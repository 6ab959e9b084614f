"""What the case draft refuses so that a wrong tap, a second tap or a sign-out half-way loses nothing:
no save while a photo is still being processed (it would be left out), no save without a draft (a
second tap begins no empty draft), a photo finished after its officer signed out goes to that officer's
kept draft and never to the next user's, a GPS fix asked for one draft is not written into another, and
an amendment never replaces another unsaved draft."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
from datetime import timedelta
from typing import Any

import pytest

from mobile.metakeys import DRAFT as DRAFT_KEY
from mobile.state.app_state import AppState
from mobile.state.draft import Draft
from mobile.state.errors import DraftError
from testkit.hqkit import LEADER, OFFICER, OFFICER_B, PINS, Hq
from tests.mobile.statekit import PhoneClock, photo, returned, saved_case, sign_in


class Gate:
    """Holds photo processing on its worker thread until ``open`` (the phone is slow with a big photo)."""

    def __init__(self, app: AppState, monkeypatch: pytest.MonkeyPatch) -> None:
        self.started = threading.Event()
        self.gate = threading.Event()
        real = app.drafts._process

        def slow(data: bytes, watermark: Any, settings: Any) -> Any:
            self.started.set()
            assert self.gate.wait(30), "the test never opened the gate"
            return real(data, watermark, settings)

        monkeypatch.setattr(app.drafts, "_process", slow)

    async def wait_started(self) -> None:
        assert await asyncio.to_thread(self.started.wait, 30)

    def open(self) -> None:
        self.gate.set()


def ready_draft(app: AppState) -> Draft:
    """A draft that saves: 露天烧烤 of 刘小摊 at 人民路 12 号 (no photo yet)."""
    draft = app.drafts.start()
    app.drafts.choose_violation("0510")
    app.drafts.update(address="人民路 12 号")
    app.drafts.create_subject("mobile_vendor", name="刘小摊")
    return draft


def stored_draft(app: AppState, badge: str) -> Draft | None:
    return Draft.from_json(app.store.meta_get(DRAFT_KEY.format(badge=badge)))


def test_no_save_while_a_photo_is_being_processed(app: AppState, monkeypatch: pytest.MonkeyPatch) -> None:
    ready_draft(app)
    gate = Gate(app, monkeypatch)

    async def scenario() -> None:
        adding = asyncio.create_task(app.drafts.add_photo(photo(1)))
        await gate.wait_started()
        with pytest.raises(DraftError) as refused:
            app.drafts.save()  # 保存案件 tapped while the photo is processed
        assert refused.value.code == "photos_busy"
        assert "照片还在处理中" in refused.value.message("zh")
        assert "still being processed" in refused.value.message("en")
        assert app.today.cases() == []
        gate.open()
        await adding

    asyncio.run(scenario())
    case = app.drafts.save()
    assert len(case.photos) == 1  # the photo is in the case
    assert stored_draft(app, OFFICER.badge) is None


def test_a_second_save_is_refused_and_begins_no_draft(app: AppState) -> None:
    ready_draft(app)
    asyncio.run(app.drafts.add_photo(photo(2)))
    app.drafts.save()
    with pytest.raises(DraftError) as refused:
        app.drafts.save()
    assert refused.value.code == "no_draft"
    assert "已保存或已放弃" in refused.value.message("zh")
    assert len(app.today.cases()) == 1
    assert app.drafts.draft is None
    assert stored_draft(app, OFFICER.badge) is None


def test_a_photo_finished_after_sign_out_goes_to_its_officers_draft(
    app: AppState, hq: Hq, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The officer adds a big photo, leaves the wizard and signs out while it is processed; another officer
    signs in and begins a case. The photo lands in the first officer's kept draft, not in the second's."""
    first = ready_draft(app)
    gate = Gate(app, monkeypatch)
    url = hq.serve().url

    async def scenario() -> None:
        adding = asyncio.create_task(app.drafts.add_photo(photo(4)))
        await gate.wait_started()
        app.session.sign_out()
        await app.session.sign_in(url, OFFICER_B.badge, PINS[OFFICER_B.badge])
        second = app.drafts.start()
        assert second.case_id != first.case_id
        gate.open()
        added = await adding
        assert app.drafts.draft is not None
        assert app.drafts.draft.photos == []  # nothing of the first officer's in the second's draft
        kept = stored_draft(app, OFFICER.badge)
        assert kept is not None
        assert kept.case_id == first.case_id
        assert [p.sha256 for p in kept.photos] == [added.sha256]
        theirs = stored_draft(app, OFFICER_B.badge)
        assert theirs is not None
        assert theirs.photos == []

    asyncio.run(scenario())
    app.session.sign_out()
    sign_in(app, url, OFFICER)
    resumed = app.drafts.start()
    assert resumed.case_id == first.case_id
    assert len(resumed.photos) == 1
    assert len(app.drafts.save().photos) == 1


def test_a_photo_finished_after_its_draft_was_discarded_begins_no_draft(
    app: AppState, monkeypatch: pytest.MonkeyPatch
) -> None:
    """放弃草稿 confirmed while a photo is processed: the photo joins nothing, and no new draft holding it
    is waiting at the next 新建案件."""
    ready_draft(app)
    gate = Gate(app, monkeypatch)

    async def scenario() -> None:
        adding = asyncio.create_task(app.drafts.add_photo(photo(6)))
        await gate.wait_started()
        app.drafts.discard()
        gate.open()
        with pytest.raises(DraftError) as gone:
            await adding
        assert gone.value.code == "draft_gone"
        assert "已保存或已放弃" in gone.value.message("zh")

    asyncio.run(scenario())
    assert app.drafts.draft is None
    assert stored_draft(app, OFFICER.badge) is None  # no draft begun for the late photo


def test_a_gps_fix_asked_for_one_draft_is_not_written_into_another(app: AppState, hq: Hq) -> None:
    asked = app.drafts.start()
    app.session.sign_out()
    sign_in(app, hq.serve().url, LEADER)
    assert app.drafts.set_position(34.7466, 113.6253, 8.0, advance=True, for_case=asked.case_id) is False
    assert app.drafts.draft is None
    assert stored_draft(app, LEADER.badge) is None
    kept = stored_draft(app, OFFICER.badge)
    assert kept is not None
    assert kept.lat is None
    app.session.sign_out()
    sign_in(app, hq.serve().url, OFFICER)
    draft = app.drafts.start()
    assert app.drafts.set_position(34.7466, 113.6253, 8.0, for_case=draft.case_id) is True
    assert app.drafts.draft is not None
    assert app.drafts.draft.lat == pytest.approx(34.7466)


def test_amending_a_returned_case_never_replaces_an_unsaved_draft(app: AppState, clock: PhoneClock) -> None:
    case_id = saved_case(app)
    case = app.store.get_case(case_id)
    assert case is not None
    app.store.apply_review(returned(case, LEADER.badge, clock.now + timedelta(hours=1), "请补充门牌号"))
    open_draft = app.drafts.start()
    app.drafts.choose_violation("0504")
    app.drafts.update(notes="店外经营，已劝导收回")
    with pytest.raises(DraftError) as refused:
        app.detail.amend(case_id)  # 修改并重新提交 tapped with another case half-recorded
    assert refused.value.code == "draft_open"
    assert "请先保存或放弃" in refused.value.message("zh")
    kept = stored_draft(app, OFFICER.badge)
    assert kept is not None
    assert kept.case_id == open_draft.case_id
    assert kept.notes == "店外经营，已劝导收回"
    assert app.drafts.draft is not None
    assert app.drafts.draft.case_id == open_draft.case_id
    app.drafts.discard()
    app.detail.amend(case_id)
    amendment = app.drafts.draft
    assert amendment is not None
    assert amendment.supersedes == case_id
    app.drafts.update(address="人民路 12 号东侧")
    app.detail.amend(case_id)  # a second tap continues the same amendment
    assert app.drafts.draft is not None
    assert app.drafts.draft.case_id == amendment.case_id
    assert app.drafts.draft.address == "人民路 12 号东侧"


def test_a_follower_that_fails_never_fails_the_save(
    app: AppState, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The case draft's followers (the work orders, which resolve the order a saved case was recorded
    for) run when it saves; one of them failing (here the store locked under it) is logged, and the save
    the officer tapped still reports the case saved, the draft cleared, exactly once."""
    ready_draft(app)
    asyncio.run(app.drafts.add_photo(photo(3)))

    def locked() -> bool:
        raise sqlite3.OperationalError("database is locked")

    monkeypatch.setattr(app.workorders, "check_linked_case", locked)
    with caplog.at_level(logging.ERROR, logger="mobile.state.observable"):
        case = app.drafts.save()
    assert [entry.case.id for entry in app.today.cases()] == [case.id]
    assert app.drafts.draft is None
    assert stored_draft(app, OFFICER.badge) is None
    assert any(r.exc_info and "database is locked" in str(r.exc_info[1]) for r in caplog.records), caplog.text
