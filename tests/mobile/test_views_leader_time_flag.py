"""The leader's review queue and squad day show HQ's words for a case timed before its device's first
sign-in at HQ (issue #14, Clocks), in Chinese by default and in English when chosen; a case the feed sent
no first sign-in for shows no such flag."""

from __future__ import annotations

from datetime import timedelta

import flet as ft

from mobile.state.app_state import AppState
from mobile.views.review import ReviewView
from mobile.views.squad import SquadView
from patrollog.reviewing import TimeFlag
from tests.mobile.statekit import Apps
from tests.mobile.test_views_leader import open_screen, signed_in
from tests.mobile.viewkit import controls, texts
from tests.patrollog.dayfixture import Day, fixture_day

ZH = "案发时间早于该设备首次登录，可能为倒签"
EN = "Case time is before the device first signed in (back-dated?)"


def _flagged(make_app: Apps) -> tuple[AppState, Day]:
    """The fixture day on the leader's phone, HQ having received case B three days after it was recorded
    from a device first signed in two days after it (HQ's queue flags it ``time_before_device``)."""
    day = fixture_day()
    app = signed_in(make_app, day)
    when = day.b.occurred_at
    app.store.apply_squad_case(
        day.b, hq_stage=None, received_at=when + timedelta(days=3), device_first_seen=when + timedelta(days=2)
    )
    # case C: received the same way, from a device first seen the evening before: plausible
    app.store.apply_squad_case(
        day.c,
        hq_stage=None,
        received_at=when + timedelta(days=3),
        device_first_seen=when - timedelta(hours=6),
    )
    return app, day


def _keyed(shell_body: ft.Control, key: str) -> list[str]:
    [found] = [texts(c) for c in controls(shell_body) if getattr(c, "key", None) == key]
    return found


def test_the_review_queue_shows_hqs_flag_text(make_app: Apps) -> None:
    app, day = _flagged(make_app)
    [item] = [i for i in app.squad.queue() if i.line.case_id == day.b.id]
    assert item.line.time_flag == TimeFlag.BEFORE_DEVICE.value
    assert item.needs_decision
    shell = open_screen(app, "review")
    assert isinstance(shell.screen, ReviewView)
    shown = texts(shell.body)
    assert shown.count(ZH) == 1  # case B's, not case C's
    assert _keyed(shell.body, f"time_flag_{day.b.case_no}") == [ZH]
    assert not [c for c in controls(shell.body) if getattr(c, "key", None) == f"time_flag_{day.c.case_no}"]
    assert "待审核 4 起，其中须决定 2 起" in shown  # B now needs a decision too, as at HQ
    app.settings.update(lang="en")
    shell = open_screen(app, "review")
    shown = texts(shell.body)
    assert EN in shown
    assert ZH not in shown


def test_the_squad_days_case_line_shows_it(make_app: Apps) -> None:
    app, day = _flagged(make_app)
    shell = open_screen(app, "squad")
    assert isinstance(shell.screen, SquadView)
    assert _keyed(shell.body, f"line_time_flag_{day.b.case_no}") == [ZH]
    assert texts(shell.body).count(ZH) == 1
    app.settings.update(lang="en")
    assert _keyed(open_screen(app, "squad").body, f"line_time_flag_{day.b.case_no}") == [EN]


def test_without_a_first_sign_in_no_flag_is_shown(make_app: Apps) -> None:
    day = fixture_day()
    app = signed_in(make_app, day)
    # received, but from an HQ that did not say when the device first signed in
    app.store.apply_squad_case(day.b, hq_stage=None, received_at=day.b.occurred_at + timedelta(days=3))
    assert ZH not in texts(open_screen(app, "review").body)
    assert ZH not in texts(open_screen(app, "squad").body)
