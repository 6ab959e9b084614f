"""The subject step's "可能是同一当事人" block and the subject detail's edits (issue #22), browserless."""

from __future__ import annotations

import pytest

from mobile.state.app_state import AppState
from mobile.views.new_case import NewCaseView
from mobile.views.subjects import SubjectsView
from testkit.hqkit import Hq
from tests.mobile.statekit import Apps, saved_case, sign_in
from tests.mobile.viewkit import open_screen, texts


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
