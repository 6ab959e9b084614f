"""The shell's one guard, without a browser: every handler a screen puts on the page goes through it (also
the ones a screen adds in place while the officer types), an unexpected error shows the error card in the
UI language (never Flet's English overlay, never an exception out of the handler), a refusal the state
explains (the store full while typing) is said in a message and the screen stays with what was typed, a
second tap on 保存案件 saves one case and begins no empty draft, and a sign-out on another page of the same
phone while the wizard is open here leaves nothing of the officer on this page, keeps the officer's draft,
and lets no tap on the old screen write into the next user's data. The Chromium twin of the last one is
tests/e2e/test_sign_out_elsewhere.py."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from types import MappingProxyType, SimpleNamespace
from typing import Any

import flet as ft
import pytest

from mobile.metakeys import DRAFT as DRAFT_KEY
from mobile.state.app_state import AppState
from mobile.state.backend import client_factory
from mobile.state.draft import Draft
from mobile.state.errors import DraftError
from mobile.views.new_case import NewCaseView
from mobile.views.shell import Shell
from mobile.views.subjects import SubjectsView
from mobile.views.today import TodayView
from mobile.views.workorder import WorkOrderView
from testkit.hqkit import LEADER, OFFICER, Hq
from tests.mobile.statekit import LIGHT_PIN_COST, Apps, PhoneClock, photo, saved_case, sign_in
from tests.mobile.test_views_shared_phone import ENGLISH_CRASH, button, click
from tests.mobile.test_views_workorders import file_orders
from tests.mobile.viewkit import controls, event, open_screen, started, texts, tree


@pytest.fixture
def app(make_app: Apps, hq: Hq) -> AppState:
    app = make_app()
    sign_in(app, hq.serve().url)
    return app


def tap(control: Any) -> Any:
    """What Flet does on a tap of ``control``: its (guarded) on_click with the event."""
    result = control.on_click(SimpleNamespace(control=control, data=None))
    if asyncio.iscoroutine(result):
        result = asyncio.run(result)
    return result


def tiles(shell: Shell) -> list[ft.ListTile]:
    return [c for c in tree(shell.body) if isinstance(c, ft.ListTile) and c.on_click is not None]


def assert_card(shell: Shell, title: str, home: str) -> None:
    shown = texts(shell.body)
    assert title in shown, shown
    assert home in shown, shown
    assert not any(sign in text for text in shown for sign in ENGLISH_CRASH if sign != "Error"), shown
    assert shell.route == "error"


@pytest.mark.parametrize(
    ("lang", "title", "home"), [("zh", "出错了", "回到今日"), ("en", "Something went wrong", "Back to Today")]
)
def test_a_search_result_added_while_typing_is_guarded(
    app: AppState,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    lang: str,
    title: str,
    home: str,
) -> None:
    """当事人: the results are added in place while the officer types (no re-render), each with its own
    handler. A state method failing under one of them shows the card in the UI language."""
    app.store.save_subject(_subject("老周煎饼"))
    app.settings.update(lang=lang)
    shell, screen = open_screen(app, SubjectsView, "subjects")
    screen.on_search(event("老周"))
    [result] = tiles(shell)

    def broken(subject_id: str) -> None:
        raise RuntimeError("select broke")

    monkeypatch.setattr(app.subjects, "select", broken)
    with caplog.at_level(logging.ERROR, logger="mobile.views.shell"):
        tap(result)  # does not raise
    assert_card(shell, title, home)
    assert [str(exc) for exc in shell.faults] == ["select broke"]
    assert any(r.exc_info and "select broke" in str(r.exc_info[1]) for r in caplog.records), caplog.text


def test_the_wizards_subject_results_while_typing_are_guarded(
    app: AppState, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The wizard's subject step fills its results in place as the search is typed: guarded too."""
    app.store.save_subject(_subject("老周煎饼"))
    shell, screen = open_screen(app, NewCaseView, "new_case")
    app.drafts.choose_violation("0510")
    app.drafts.go_to("subject")
    shell.render()
    screen.search_subject(event("老周"))
    found = [t for t in tiles(shell) if "老周煎饼" in texts(t)]
    assert len(found) == 1

    def broken(subject_id: str) -> None:
        raise KeyError("subject row")

    monkeypatch.setattr(app.drafts, "choose_subject", broken)
    tap(found[0])
    assert_card(shell, "出错了", "回到今日")
    click(shell, "回到今日")
    click(shell, "新建案件")
    assert app.drafts.draft is not None
    assert app.drafts.draft.violation_code == "0510"  # the draft is as it was


def test_a_full_store_while_typing_is_said_and_nothing_typed_is_lost(app: AppState) -> None:
    """SQLite refuses every write that needs a new page (``database or disk is full``, as on a phone with
    a full disk): each keystroke's write of the draft fails. The officer reads why, in Chinese, the
    wizard stays with the text, and once there is room again the text is in the stored draft, also after
    leaving the wizard and coming back."""
    shell, _screen = open_screen(app, NewCaseView, "new_case")
    app.drafts.choose_violation("0510")
    app.drafts.go_to("action")
    shell.render()
    notes = next(c for c in controls(shell.body) if isinstance(c, ft.TextField) and c.label == "备注")
    conn = app.store._conn  # the store's own connection: a real SQLITE_FULL, not a stand-in
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.execute(f"PRAGMA max_page_count = {pages}")
    text = "摊主称明天起去疏导点经营。" * 400  # far more than the free room of the file's pages
    notes.value = text
    notes.on_change(SimpleNamespace(control=notes, data=text))  # does not raise
    assert shell.route == "new_case"
    assert not shell.faults
    assert shell.messages, "no message said why"
    assert "保存失败" in shell.messages[-1], shell.messages
    assert "出错了" not in texts(shell.body)
    stored = Draft.from_json(app.store.meta_get(DRAFT_KEY.format(badge=OFFICER.badge)))
    assert stored is not None
    assert stored.notes == ""
    conn.execute("PRAGMA max_page_count = 1073741823")
    click(shell, "返回")
    click(shell, "新建案件")
    assert app.drafts.draft is not None
    assert app.drafts.draft.notes == text
    stored = Draft.from_json(app.store.meta_get(DRAFT_KEY.format(badge=OFFICER.badge)))
    assert stored is not None
    assert stored.notes == text


def test_a_second_tap_on_save_saves_one_case_and_begins_no_draft(app: AppState) -> None:
    """Both taps reach 保存案件's handler: one case, the Today screen, one message, no empty draft left
    for the next 新建案件."""
    drafts = app.drafts
    drafts.start()
    drafts.choose_violation("0510")
    drafts.update(address="人民路 12 号")
    drafts.create_subject("mobile_vendor", name="刘小摊")
    asyncio.run(drafts.add_photo(photo(3)))
    drafts.go_to("review")
    shell = started(app)
    click(shell, "新建案件")
    save = button(shell, "保存案件")
    tap(save)
    tap(save)
    assert shell.route == "today"
    assert len(app.today.cases()) == 1
    assert [m for m in shell.messages if m.startswith("已保存")] == [shell.messages[0]]
    assert not shell.faults
    assert app.drafts.draft is None
    assert app.store.meta_get(DRAFT_KEY.format(badge=OFFICER.badge)) is None


def test_sign_out_on_another_page_while_the_wizard_is_open(make_app: Apps, hq: Hq) -> None:
    """Two pages of one phone (two browser tabs of the web app share its state): the officer types in the
    wizard on page A; on page B the officer signs out and the squad leader signs in. Page A leaves the
    wizard at once (sign-in, then the leader's 今日), shows nothing the officer typed, no card; a tap that
    was on its way to the old wizard writes nothing into the leader's data; the officer's draft is kept
    and comes back at the officer's next sign-in."""
    app = make_app()
    url = hq.serve().url
    sign_in(app, url, OFFICER)
    page_a, page_b = started(app), started(app)
    click(page_a, "新建案件")
    app.drafts.choose_violation("0510")
    app.drafts.go_to("action")
    page_a.render()
    note = "摊主王某称明天搬走"
    notes = next(c for c in controls(page_a.body) if isinstance(c, ft.TextField) and c.label == "备注")
    notes.value = note  # what Flet sets from the browser, then the field's on_change
    notes.on_change(SimpleNamespace(control=notes, data=note))
    assert app.drafts.draft is not None
    assert app.drafts.draft.notes == note

    page_b.go("settings")
    click(page_b, "退出登录")
    assert page_a.route == "signin", page_a.route
    assert note not in " ".join(texts(page_a.body))
    sign_in(app, url, LEADER)
    for page in (page_a, page_b):
        page.go(page.route)  # what each page shows now
    assert page_a.route == "today"
    shown = " ".join(texts(page_a.body))
    assert note not in shown
    assert LEADER.name in shown
    assert OFFICER.name not in shown
    assert not page_a.faults
    assert not page_b.faults

    # a tap that was on its way to the old wizard: nothing is written for the leader
    notes.value = note + "（迟到的一下）"
    notes.on_change(SimpleNamespace(control=notes, data=notes.value))
    assert app.drafts.draft is None
    assert app.store.meta_get(DRAFT_KEY.format(badge=LEADER.badge)) is None
    assert page_a.route == "today"

    stored = Draft.from_json(app.store.meta_get(DRAFT_KEY.format(badge=OFFICER.badge)))
    assert stored is not None
    assert stored.notes == note
    page_b.go("settings")
    click(page_b, "退出登录")
    sign_in(app, url, OFFICER)
    page_a.go("today")
    click(page_a, "新建案件")
    assert app.drafts.draft is not None
    assert app.drafts.draft.notes == note
    assert note in " ".join(str(c.value) for c in controls(page_a.body) if isinstance(c, ft.TextField))


def _subject(name: str) -> Any:
    from enforcement.model import Subject, SubjectKind, new_id

    return Subject(id=new_id(), kind=SubjectKind.MOBILE_VENDOR, name=name)


def test_the_next_user_sees_none_of_the_previous_officers_work_orders(make_app: Apps, hq: Hq) -> None:
    """Officer 1023 pulled a work order (the caller's masked contact, the place); on the shared phone the
    squad leader signs in next: 今日 lists no order of 1023's, the order cannot be opened or acted on from a
    stale screen, and 1023 finds it again at the next sign-in."""
    clock = PhoneClock(hq.clock())
    app = make_app(clock=clock)
    url = hq.serve().url
    sign_in(app, url, OFFICER)
    [order_id] = file_orders(hq, "夜里露天烧烤")
    app.sync.sync_now()
    shell = started(app)
    assert [o.order_id for o in app.workorders.open_orders()] == [order_id]
    shell.go("work_order", order_id)
    stale = shell.screen
    assert isinstance(stale, WorkOrderView)
    assert "赵* 138****5678" in texts(shell.body)
    app.session.sign_out()
    sign_in(app, url, LEADER)
    shell.go("today")
    shown = texts(shell.body)
    assert "暂无待办工单" in shown, shown
    assert app.workorders.open_orders() == []
    shell.go("work_order", order_id)
    assert "赵* 138****5678" not in texts(shell.body)
    assert "工单不存在（可能已改派）" in texts(shell.body)
    with pytest.raises(DraftError):
        app.workorders.arrive(order_id)  # what the stale screen's 到达 would do
    assert not shell.faults
    app.session.sign_out()
    sign_in(app, url, OFFICER)
    assert [o.order_id for o in app.workorders.open_orders()] == [order_id]


def test_a_damaged_photo_file_never_blocks_the_wizard_or_the_case(app: AppState) -> None:
    """A photo file damaged on the phone's storage (its bytes no longer match its name) and its preview
    gone: the photos step still opens, with a broken image the officer can remove, and so does the saved
    case's detail and its photo viewer."""
    drafts = app.drafts
    drafts.start()
    drafts.choose_violation("0510")
    drafts.update(address="人民路 12 号")
    drafts.create_subject("mobile_vendor", name="刘小摊")
    added = asyncio.run(drafts.add_photo(photo(7)))
    kept = asyncio.run(drafts.add_photo(photo(8)))
    app.photos.thumbnail_path(added.sha256).unlink()
    damaged = app.photos.path(added.sha256)
    damaged.write_bytes(damaged.read_bytes()[:-100] + b"\0" * 100)
    drafts.go_to("photos")
    shell = started(app)
    click(shell, "新建案件")
    assert shell.route == "new_case", texts(shell.body)
    assert not shell.faults
    assert "2 张照片" in texts(shell.body)
    broken = [c for c in tree(shell.body) if isinstance(c, ft.Icon) and c.icon == ft.Icons.BROKEN_IMAGE]
    assert len(broken) == 1
    case = drafts.save()  # the damaged photo stays in the case: the evidence is HQ's to judge
    shell.go("case", case.id)
    assert shell.route == "case"
    assert "照片文件缺失或已损坏" in texts(shell.body)
    screen = shell.screen
    assert screen is not None
    screen.open_photo(added.sha256)  # type: ignore[attr-defined]
    assert shell.route == "case"
    assert "照片文件缺失或已损坏" in texts(shell.body)
    assert not shell.faults
    assert kept.sha256 != added.sha256


def test_a_case_under_another_catalogue_version_still_opens(make_app: Apps, hq: Hq) -> None:
    """A case saved under a catalogue version that had its violation code, read by a build whose catalogue
    no longer has it: 今日 lists it (by its code, a generic icon) and its detail opens; neither is the
    error card, so 今日 (the card's way back) is never what fails."""
    clock = PhoneClock()
    app = make_app(clock=clock)
    sign_in(app, hq.serve().url)
    case_id = saved_case(app)  # 0510 露天烧烤
    known = app.catalogue
    newer = dataclasses.replace(
        known,
        version=f"{known.version}+renumbered",
        violations=MappingProxyType({c: v for c, v in known.violations.items() if c != "0510"}),
    )
    updated = AppState(
        app.store,
        app.photos,
        newer,
        client_factory(app.store, app.photos, secrets=app.secrets),
        threaded=False,
        now=clock,
        monotonic=clock.monotonic,
        secrets=app.secrets,
        pin_cost=LIGHT_PIN_COST,
    )
    try:
        shell = started(updated)
        assert shell.route == "today", texts(shell.body)
        assert "0510" in texts(shell.body)
        shell.go("case", case_id)
        assert shell.route == "case", texts(shell.body)
        assert "0510" in texts(shell.body)
        assert not shell.faults
    finally:
        updated.stop()


def test_the_card_keeps_the_bottom_bar_when_today_itself_fails(
    app: AppState, monkeypatch: pytest.MonkeyPatch
) -> None:
    """今日 cannot be built (whatever the cause): 回到今日 brings the card back, so the card keeps the
    signed-in user's bottom bar and 同步 / 设置 (and the sign-out) stay reachable."""

    def broken(self: TodayView) -> ft.Control:
        raise LookupError("today broke")

    monkeypatch.setattr(TodayView, "build", broken)
    shell = started(app)
    assert_card(shell, "出错了", "回到今日")
    assert shell.nav.visible
    assert [str(d.label) for d in shell.nav.destinations] == ["今日", "当事人", "同步", "设置"]
    shell.nav.selected_index = 3
    assert shell.nav.on_change is not None
    shell.nav.on_change(SimpleNamespace(control=shell.nav, data="3"))
    assert shell.route == "settings"
    click(shell, "退出登录")
    assert shell.route == "signin"
    assert not app.session.signed_in
