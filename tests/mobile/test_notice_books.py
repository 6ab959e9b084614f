"""The officer's warning-notice books on the phone (issue #18): pulled from HQ, kept offline, the next
unused number pre-filled by the wizard, a number used on a saved case marked used (offline too), books per
officer on a shared phone, and the manual fallback with its message in both languages."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from enforcement.model import Disposition, Stage
from enforcement.noticebook import NoticeBook
from hq.notices import assign_book, save_series
from mobile.i18n import t
from mobile.state.app_state import AppState
from sync.protocol import MAX_NOTICE_BOOKS, NoticeBookData, NoticeBookSet, PullPage
from testkit.hqkit import DISTRICT, OFFICER, OFFICER_B, Hq
from tests.mobile.statekit import PhoneClock, photo, sign_in
from tests.mobile.test_state_new_case_flow import saved_vendor_case

HERE = (34.7466, 113.6253)
T0 = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def repeat_vendor(app: AppState, clock: PhoneClock) -> str:
    """A vendor with one persuasion case: the next case is a 警告."""
    return saved_vendor_case(app, clock, "老周煎饼", "13900001111")


def warning_by_the_wizard(app: AppState, clock: PhoneClock, vendor: str) -> str:
    """The repeat vendor through the ordinary wizard (no quick pick); returns where it stops."""
    drafts = app.drafts
    clock.advance(30)
    drafts.start()
    drafts.choose_violation("0501")
    drafts.set_position(*HERE, 8.0, advance=True)
    drafts.choose_subject(vendor)
    assert drafts.stage() is Stage.WARNING
    assert drafts.disposition() is Disposition.WARNING_NOTICE
    assert drafts.draft is not None
    return drafts.draft.step


def test_the_wizard_fills_the_next_number_and_a_saved_case_uses_it_offline(
    app: AppState, hq: Hq, clock: PhoneClock
) -> None:
    with hq.storage.transaction() as tx:
        save_series(tx, "JG-2026-", district=DISTRICT, width=6, book_size=10, threshold=0, capacity=None,
                    auto=False, at=T0, by="cli")  # fmt: skip
        assign_book(tx, badge=OFFICER.badge, series="JG-2026-", first=5, last=6, at=T0, by="cli")
    vendor = repeat_vendor(app, clock)  # saved and synced: the book came down with the pull
    assert [(b.first, b.last, b.used) for b in app.store.notice_books(OFFICER.badge)] == [(5, 6, frozenset())]
    server = hq.serve()
    server.stop()  # offline from here
    assert warning_by_the_wizard(app, clock, vendor) == "photos"  # nothing to type: the camera is next
    drafts = app.drafts
    assert drafts.draft is not None
    assert drafts.draft.warning_notice_no == "JG-2026-000005"
    assert drafts.notice_hint() is None
    asyncio.run(drafts.add_photo(photo(1)))
    drafts.save()  # HQ has not heard of it: the phone already counts the number used
    assert app.store.notice_numbers_used() == {"JG-2026-000005"}
    assert app.store.next_notice_no(OFFICER.badge) == "JG-2026-000006"
    assert app.store.notice_numbers_left(OFFICER.badge) == 1
    server.start(hq.app)
    app.sync.sync_now()  # HQ saw number 5 on the case and says so
    assert [b.used for b in app.store.notice_books(OFFICER.badge)] == [frozenset({5})]
    assert app.store.next_notice_no(OFFICER.badge) == "JG-2026-000006"
    # the book is used up: the officer types the number, and the step says why, in both languages
    another = saved_vendor_case(app, clock, "王阿姨烤红薯", "")
    server.stop()  # (else the save's sync would bring HQ's books again)
    app.store.apply_notice_books(
        OFFICER.badge, [NoticeBook("b9", "JG-2026-", 7, 7, 6, OFFICER.badge, frozenset({7}))]
    )
    assert warning_by_the_wizard(app, clock, another) == "action"
    assert drafts.notice_hint() == "case.notice.used_up"
    assert "已用完" in t("zh", "case.notice.used_up")
    assert "used up" in t("en", "case.notice.used_up")


def test_with_no_book_the_number_is_typed_and_the_step_says_so(app: AppState, clock: PhoneClock) -> None:
    vendor = repeat_vendor(app, clock)
    assert warning_by_the_wizard(app, clock, vendor) == "action"
    assert app.drafts.draft is not None
    assert app.drafts.draft.warning_notice_no == ""
    assert app.drafts.notice_hint() == "case.notice.no_book"
    assert "尚未给您发放" in t("zh", "case.notice.no_book")
    assert "not issued you a notice book" in t("en", "case.notice.no_book")
    app.drafts.update(warning_notice_no="纸质-0042")  # typed from the paper book
    assert app.drafts.notice_hint() is None


def test_books_arrive_on_sync_per_officer_and_never_fill_another_officers_case(
    app: AppState, hq: Hq, clock: PhoneClock
) -> None:
    """A squad phone shared by 1023 and 1024: each one's pull brings his own book; a case of 1024 is filled
    from 1024's numbers, never 1023's, and 1023's numbers stay on the phone for him."""
    with hq.storage.transaction() as tx:
        save_series(tx, "JG-2026-", district=DISTRICT, width=6, book_size=10, threshold=3, capacity=None,
                    auto=True, at=T0, by="cli")  # fmt: skip
    app.sync.sync_now()
    mine = app.store.notice_books(OFFICER.badge)
    assert [(b.series, b.first, b.last) for b in mine] == [("JG-2026-", 1, 10)]
    assert app.store.next_notice_no(OFFICER.badge) == "JG-2026-000001"
    app.session.sign_out()
    sign_in(app, hq.serve().url, OFFICER_B)
    app.sync.sync_now()
    assert [(b.first, b.last) for b in app.store.notice_books(OFFICER_B.badge)] == [(11, 20)]
    assert [(b.first, b.last) for b in app.store.notice_books(OFFICER.badge)] == [(1, 10)]  # kept for him
    vendor = repeat_vendor(app, clock)
    warning_by_the_wizard(app, clock, vendor)
    assert app.drafts.draft is not None
    assert app.drafts.draft.warning_notice_no == "JG-2026-000011"


def test_the_wire_bounds_of_notice_books() -> None:
    good = {"book_id": "b1", "series": "JG-2026-", "first": 1, "last": 50, "width": 6, "used": [1, 50]}
    assert NoticeBookData.model_validate(good).used == [1, 50]
    for bad in (
        {**good, "used": [51]},  # outside the book
        {**good, "first": 10, "last": 9},
        {**good, "last": 1001},  # over MAX_BOOK_SIZE numbers
        {**good, "series": "JG-2026"},  # ends in a digit
        {**good, "series": "J G-"},
        {**good, "width": 0},
        {**good, "width": 2},  # 50 fits, but …
        {**good, "used": list(range(1, 1002))},
        {**good, "book_id": ""},
        {**good, "first": -1},
    ):
        if bad.get("width") == 2:
            bad = {**bad, "last": 100}
        with pytest.raises(ValidationError):
            NoticeBookData.model_validate(bad)
    with pytest.raises(ValidationError):
        NoticeBookSet.model_validate({"books": [good] * (MAX_NOTICE_BOOKS + 1)})
    page = PullPage.model_validate(
        {"changes": [], "cursor": "c", "more": False, "server_time": "2026-11-22T12:00:00Z",
         "notice_books": {"books": [good], "issued": 1}}
    )  # fmt: skip
    assert page.notice_books is not None
    assert page.notice_books.books[0].last == 50
    older = PullPage.model_validate({"changes": [], "cursor": "c", "more": False, "server_time": T0})
    assert older.notice_books is None  # an HQ that sends none
