"""The subject step's "可能是同一当事人" block and the subject detail's edits (issue #22), browserless."""

from __future__ import annotations

import pytest

from mobile.state.app_state import AppState
from mobile.views.new_case import NewCaseView
from mobile.views.subject_edit import SubjectEditView
from mobile.views.subjects import SubjectsView
from testkit.hqkit import Hq
from tests.mobile.statekit import Apps, saved_case, sign_in
from tests.mobile.viewkit import event, open_screen, texts


@pytest.fixture
def app(make_app: Apps, hq: Hq) -> AppState:
    app = make_app()
    sign_in(app, hq.serve().url)
    return app


def test_the_new_subject_form_offers_the_likely_same_subject_with_its_cases(app: AppState) -> None:
    saved_case(app)  # 刘小摊, one 露天烧烤
    _shell, screen = open_screen(app, NewCaseView, "new_case")
    screen.choose_violation("0510")
    screen.next()
    screen.open_subject_form()
    app.drafts.type_subject("name", "刘 小摊")
    block = screen.likely_block()
    shown = " ".join(texts(block))
    assert "可能是同一当事人" in shown
    assert "刘小摊 · 名称相近" in shown
    assert "1 起" in shown
    [(subject, why, history)] = app.drafts.likely_matches()
    assert (subject.name, why, len(history)) == ("刘小摊", "name", 1)
    screen.choose_likely(subject.id)
    assert app.drafts.subject() == subject
    assert app.drafts.subject_form() is None


def test_the_subject_detail_lists_hqs_edits(app: AppState) -> None:
    saved_case(app)
    subject = app.store.search_subjects("刘小摊")[0]
    app.store.apply_subject_meta(
        subject.id, 2,
        [{"version": 2, "at": "2026-11-22T21:30:00+08:00", "by_badge": "1024", "device_id": "d2",
          "fields": ["address"]}],
    )  # fmt: skip
    shell, screen = open_screen(app, SubjectsView, "subjects")
    screen.select(subject.id)
    shown = " ".join(texts(shell.body))
    assert "修改记录" in shown
    assert "第 2 版 · 2026-11-22 21:30 · 1024 · 地址" in shown


def test_the_subject_edit_form_checks_each_field_and_saves_offline_with_the_base_version(
    app: AppState,
) -> None:
    saved_case(app)
    subject = app.store.search_subjects("刘小摊")[0]
    app.store.apply_subject_meta(subject.id, 3, [])  # the phone holds HQ's version 3
    shell, screen = open_screen(app, SubjectsView, "subjects")
    screen.select(subject.id)
    assert "修改资料" in texts(shell.body)
    screen.edit()
    edit = shell.screen
    assert isinstance(edit, SubjectEditView)
    assert "修改当事人资料" in texts(shell.body)
    # each field is checked as typed, by the enforcement rules, with the reason under the field
    edit.setter("phone")(event("1381234"))
    assert "电话" in str(edit.fields["phone"].error)
    edit.setter("id_number")(event("110101199003071234"))  # a wrong check character
    assert edit.fields["id_number"].error
    edit.save()
    assert isinstance(shell.screen, SubjectEditView)  # not saved while a field is wrong
    assert app.store.get_subject(subject.id).phone == ""  # type: ignore[union-attr]
    edit.setter("id_number")(event(""))
    edit.setter("phone")(event("+86 138-1234-5678"))
    assert edit.fields["phone"].error is None
    edit.setter("plate")(event("豫a·d12345"))
    edit.setter("hardship")(event(True))
    edit.save()
    assert isinstance(shell.screen, SubjectsView)
    stored = app.store.get_subject(subject.id)
    assert stored is not None
    assert (stored.phone, stored.plate, stored.hardship) == ("13812345678", "豫AD12345", True)
    assert "豫A·D12345" in " ".join(texts(shell.body))  # the written form is what the detail shows
    queued = [e for e in app.store.outbox_pending() if e.kind == "subject" and e.record_id == subject.id]
    assert queued[-1].payload["base_version"] == 3


def test_the_subject_edit_form_gives_each_wrong_field_its_reason_in_both_languages(app: AppState) -> None:
    saved_case(app)
    subject = app.store.search_subjects("刘小摊")[0]
    app.subjects.select(subject.id)
    form = app.subject_edit.open()
    assert form["name"] == "刘小摊"
    error = app.subject_edit.set("plate", "not a plate")
    assert error is not None
    assert error.message("en") != error.message("zh")
    assert app.subject_edit.save() is None
    assert set(app.subject_edit.errors) == {"plate"}
