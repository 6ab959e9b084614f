"""The repeat vendor in one tap: a draft started from a subject seen near the fix (``start_from``), the
wizard on the first step that needs the officer, the warning notice number from the officer's notice book."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from enforcement.model import Disposition, Stage, SubjectKind
from hq.notices import assign_book, save_series
from mobile.state.app_state import AppState
from mobile.state.errors import DraftError
from testkit.hqkit import DISTRICT, Hq
from tests.mobile.statekit import PhoneClock, photo
from tests.mobile.test_state_new_case_flow import saved_vendor_case

HERE = (34.7466, 113.6253)
T0 = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def saved_warning(app: AppState, clock: PhoneClock, subject_id: str, notice_no: str) -> None:
    drafts = app.drafts
    clock.advance(30)
    drafts.start_from(subject_id, "0501", HERE)
    assert drafts.disposition() is Disposition.WARNING_NOTICE
    drafts.update(warning_notice_no=notice_no)
    asyncio.run(drafts.add_photo(photo(3)))
    drafts.save()
    assert drafts.draft is None


def test_a_nearby_subject_starts_the_case_on_the_photos_step(
    app: AppState, hq: Hq, clock: PhoneClock
) -> None:
    vendor = saved_vendor_case(app, clock, "老周煎饼", "13900001111")
    app.today.set_fix(*HERE)
    near = app.today.nearby()
    assert [(n.subject.id, n.violation_code, n.next_stage) for n in near] == [(vendor, "0501", Stage.WARNING)]
    clock.advance(30)
    drafts = app.drafts
    draft = drafts.start_from(near[0].subject.id, near[0].violation_code, app.today.fix)
    assert (draft.violation_code, draft.subject_id, (draft.lat, draft.lon)) == ("0501", vendor, HERE)
    assert drafts.stage() is Stage.WARNING  # the same stage Today showed
    assert drafts.disposition() is Disposition.WARNING_NOTICE
    assert draft.warning_notice_no == ""  # no notice book on this phone: the officer types it
    assert drafts.notice_hint() == "case.notice.no_book"
    assert draft.step == "action"
    assert "location" not in drafts.missing()
    # ... and once HQ's book for the officer is on the phone, the next quick pick goes straight to the camera
    with hq.storage.transaction() as tx:
        save_series(tx, "JG-2026-", district=DISTRICT, width=6, book_size=50, threshold=0, capacity=None,
                    auto=False, at=T0, by="cli")  # fmt: skip
        assign_book(tx, badge="1023", series="JG-2026-", first=123, last=130, at=T0, by="cli")
    app.sync.sync_now()
    assert [(b.first, b.last) for b in app.store.notice_books("1023")] == [(123, 130)]
    drafts.update(warning_notice_no="JG-2026-000123")
    asyncio.run(drafts.add_photo(photo(1)))
    drafts.save()
    clock.advance(30)
    app.today.set_fix(*HERE)
    assert app.today.nearby()[0].next_stage is Stage.PENALTY
    other = saved_vendor_case(app, clock, "王阿姨烤红薯", "")
    clock.advance(30)
    draft = drafts.start_from(other, "0501", HERE)
    assert draft.warning_notice_no == "JG-2026-000124"
    assert draft.step == "photos"  # nothing to type: the camera / picker opens by itself
    asyncio.run(drafts.add_photo(photo(2)))
    assert drafts.advance_from("photos")
    assert draft.step == "review"
    assert drafts.problems() == []
    drafts.save()


def test_a_first_offence_and_a_penalty_stop_where_the_officer_is_needed(
    app: AppState, clock: PhoneClock
) -> None:
    drafts = app.drafts
    subject = drafts.create_subject(SubjectKind.MOBILE_VENDOR, name="新摊主", phone="")
    drafts.discard()
    draft = drafts.start_from(subject.id, "0501", HERE)
    assert drafts.stage() is Stage.PERSUASION
    assert (draft.step, draft.warning_notice_no) == ("photos", "")
    drafts.discard()
    draft = drafts.start_from(subject.id, "0501", None)  # no fix: the location step asks for it
    assert draft.step == "location"
    drafts.discard()
    vendor = saved_vendor_case(app, clock, "老周煎饼", "13900001111")
    saved_warning(app, clock, vendor, "JG-0001")
    clock.advance(30)
    draft = drafts.start_from(vendor, "0501", HERE)
    assert drafts.stage() is Stage.PENALTY
    assert draft.step == "action"  # the fine is the officer's to enter


def test_an_unsaved_draft_is_not_replaced(app: AppState, clock: PhoneClock) -> None:
    vendor = saved_vendor_case(app, clock, "老周煎饼", "13900001111")
    drafts = app.drafts
    drafts.start()
    assert not drafts.draft_in_progress()  # an empty draft is simply used
    drafts.choose_violation("0306")
    with pytest.raises(DraftError) as raised:
        drafts.start_from(vendor, "0501", HERE)
    assert raised.value.zh == "还有未保存的草稿：请先完成或放弃它"
    assert drafts.draft is not None
    assert drafts.draft.violation_code == "0306"
    drafts.discard()
    assert drafts.start_from(vendor, "0501", HERE).violation_code == "0501"
