"""Today, case detail (amend a returned case), subjects and the sync screen's parked records."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from enforcement.model import Stage, SubjectKind, SyncState
from mobile.state.app_state import AppState
from mobile.state.errors import DraftError, NotSignedIn
from testkit.hqkit import LEADER, Hq
from tests.mobile.statekit import AT, Apps, PhoneClock, dead_url, photo, returned, sign_in


@pytest.fixture
def app(app: AppState) -> AppState:
    """The signed-in app of ``conftest.app``, offline from here on."""
    app.settings.update(hq_url=dead_url())
    return app


def record(app: AppState, clock: PhoneClock, code: str = "0501", subject_id: str | None = None) -> str:
    clock.advance(5)
    drafts = app.drafts
    drafts.start()
    drafts.choose_violation(code)
    drafts.update(address="人民路与花园路交叉口")
    if subject_id:
        drafts.choose_subject(subject_id)
    else:
        subject_id = drafts.create_subject(SubjectKind.MOBILE_VENDOR, name="赵小摊", phone="13900139000").id
    if drafts.stage() is Stage.WARNING:
        drafts.update(warning_notice_no=f"JG-{clock.now:%H%M}")
    if drafts.stage() is not Stage.PERSUASION:  # 警告 and 处罚 need a photo (the catalogue's min_photos)
        asyncio.run(drafts.add_photo(photo(int(clock.now.timestamp()) % 100_000)))
    drafts.save()
    return subject_id


def test_today_needs_a_signed_in_officer(make_app: Apps) -> None:
    app = make_app()
    with pytest.raises(NotSignedIn):
        app.today.cases()


def test_shift_and_the_days_cases_newest_first(app: AppState, clock: PhoneClock) -> None:
    assert app.today.shift() is None
    shift = app.today.start_shift(" A-12 ")
    assert shift.grid_cell == "A-12"
    assert shift.started_at == AT
    assert app.today.start_shift() == shift  # already on shift
    subject_id = record(app, clock)
    record(app, clock, "0510", subject_id)
    codes = [entry.case.violation_code for entry in app.today.cases()]
    assert codes == ["0510", "0501"]
    clock.advance(60)
    ended = app.today.end_shift()
    assert ended is not None
    assert ended.ended_at == clock.now
    assert app.today.shift() is None
    assert app.today.end_shift() is None
    status = app.today.status()
    assert status.online is False
    assert status.records_waiting >= 3  # shift, subject and two cases (the shift's end may merge)
    assert not status.all_sent
    assert status.last_sync is not None


def test_status_after_a_sync_uses_hqs_clock(make_app: Apps, hq: Hq, clock: PhoneClock) -> None:
    app = make_app(clock=clock)
    sign_in(app, hq.serve().url)
    record(app, clock)
    status = app.today.status()
    assert status.online is True
    assert status.all_sent
    assert status.last_sync == hq.clock()  # HQ's time, not the phone's


def test_amend_a_returned_case_as_a_new_version(app: AppState, clock: PhoneClock) -> None:
    record(app, clock)
    case = app.today.cases()[0].case
    view = app.detail.load(case.id)
    assert view is not None
    assert not view.can_amend
    assert view.sync_state is SyncState.LOCAL
    with pytest.raises(DraftError):
        app.detail.amend(case.id)
    app.store.apply_review(
        returned(case, LEADER.badge, clock.now + timedelta(hours=1), "地点写得不具体，请补充门牌号")
    )
    view = app.detail.load(case.id)
    assert view is not None
    assert view.can_amend
    assert view.review is not None
    assert view.review.comment == "地点写得不具体，请补充门牌号"
    assert view.subject is not None
    assert view.subject.name == "赵小摊"
    app.detail.amend(case.id)
    draft = app.drafts.draft
    assert draft is not None
    assert draft.version == 2
    assert draft.supersedes == case.id
    assert draft.step == "review"
    app.drafts.update(address="人民路 88 号门前")
    amended = app.drafts.save()
    assert amended.case_no == case.case_no
    assert amended.version == 2
    assert amended.location.address == "人民路 88 号门前"
    newest = app.detail.load(amended.id)
    assert newest is not None
    assert [v.version for v in newest.versions] == [1, 2]
    old = app.detail.load(case.id)
    assert old is not None
    assert not old.latest
    assert not old.can_amend
    assert app.detail.load("no-such-case") is None


def test_case_detail_gives_hqs_reason_only_when_hqs_stage_differs(app: AppState, clock: PhoneClock) -> None:
    record(app, clock)
    case = app.today.cases()[0].case
    assert case.chosen_stage is Stage.PERSUASION
    view = app.detail.load(case.id)
    assert view is not None
    assert (view.hq_stage, view.hq_differs, view.hq_basis("zh"), view.hq_basis("en")) == (None, False, "", "")
    # HQ's word as a sync brings it (case_state): 处罚, counting two earlier cases of another officer
    reason_zh, reason_en = (
        "第3次 · 处罚：10-02 劝导，11-01 警告",
        "3rd · Penalty: 10-02 Persuasion, 11-01 Warning",
    )
    app.store.set_sync_state(
        case.id, SyncState.COMPLETE, Stage.PENALTY, hq_reason_zh=reason_zh, hq_reason_en=reason_en
    )
    view = app.detail.load(case.id)
    assert view is not None
    assert (view.hq_stage, view.hq_differs) == (Stage.PENALTY, True)
    assert (view.hq_basis("zh"), view.hq_basis("en")) == (reason_zh, reason_en)
    # an HQ that sent only a Chinese reason: the English screen gets none, never the Chinese one
    app.store.set_sync_state(case.id, SyncState.COMPLETE, Stage.WARNING, hq_reason_zh="第2次 · 警告")
    view = app.detail.load(case.id)
    assert view is not None
    assert (view.hq_basis("zh"), view.hq_basis("en")) == ("第2次 · 警告", "")
    # HQ agrees with the officer: nothing to explain, even with HQ's reason on the phone
    app.store.set_sync_state(case.id, SyncState.COMPLETE, Stage.PERSUASION, hq_reason_zh="第1次 · 劝导",
                             hq_reason_en="1st · Persuasion")  # fmt: skip
    view = app.detail.load(case.id)
    assert view is not None
    assert (view.hq_stage, view.hq_differs) == (Stage.PERSUASION, False)
    assert (view.hq_reason_zh, view.hq_reason_en) == ("第1次 · 劝导", "1st · Persuasion")
    assert (view.hq_basis("zh"), view.hq_basis("en")) == ("", "")


def test_subjects_search_and_history(app: AppState, clock: PhoneClock) -> None:
    subject_id = record(app, clock)
    record(app, clock, "0501", subject_id)
    assert app.subjects.search("  ") == []
    found = app.subjects.search("赵小摊")
    assert [s.id for s in found] == [subject_id]
    assert app.subjects.search("13900139000")[0].id == subject_id
    selected = app.subjects.select(subject_id)
    assert selected is not None
    assert selected.name == "赵小摊"
    assert len(app.subjects.history) == 2
    assert app.subjects.history[0].occurred_at > app.subjects.history[1].occurred_at
    assert app.subjects.history[1].stage is Stage.PERSUASION


def test_sync_screen_parked_records_and_retry(app: AppState, clock: PhoneClock, hq: Hq) -> None:
    record(app, clock)
    pending = app.sync.pending()
    assert pending.records >= 2
    entry = app.store.outbox_pending()[0]
    app.store.outbox_park(entry.seq, "record_invalid", "记录无效", "Record invalid")
    parked = app.sync.parked()
    assert [(p.seq, p.reason_zh) for p in parked] == [(entry.seq, "记录无效")]
    assert app.sync.pending().records == pending.records - 1
    app.settings.update(hq_url=hq.serve().url)
    app.sync.retry(entry.seq)
    assert app.sync.parked() == []
    assert app.sync.pending().records == 0
    assert app.sync.status.step == "done"
    assert app.sync.status.online


def test_sweep_keeps_draft_and_case_photos(app: AppState, clock: PhoneClock) -> None:
    import asyncio

    from tests.mobile.statekit import photo

    record(app, clock)
    app.drafts.start()
    app.drafts.choose_violation("0501")
    kept = asyncio.run(app.drafts.add_photo(photo(7)))
    dropped = asyncio.run(app.drafts.add_photo(photo(8)))
    app.drafts.remove_photo(dropped.sha256)
    assert app.sweep_photos() == 2  # the dropped photo's evidence file and its thumbnail
    assert app.photos.has(kept.sha256)
    assert app.photos.thumbnail_path(kept.sha256).exists()
    assert not app.photos.has(dropped.sha256)
