"""Today: the known subjects near a GPS fix with the stage their next case would get (state and screen)."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest

from enforcement import staging
from enforcement.model import LOCAL_TZ, Location, Stage
from mobile.views.screens import make_screen
from mobile.views.shell import Shell
from mobile.views.today import TodayView
from tests.mobile.statekit import PhoneClock, make_app
from tests.mobile.test_store import make_case, make_subject

NOW = datetime(2026, 11, 22, 21, 30, tzinfo=LOCAL_TZ)
HERE = (34.7466, 113.6253)
FAR = Location(lat=34.7566, lon=113.6253, accuracy_m=8.0, address="一公里外")  # ~1.1 km north


def stocked(tmp_path: Path, clock: PhoneClock) -> tuple[object, dict[str, str]]:
    app = make_app(tmp_path, clock=clock)
    store = app.store
    ids = {}
    for name in ("老周煎饼", "王㐂𠮷", "🍢阿婆", "远处的人"):
        ids[name] = store.save_subject(make_subject(name=name, phone="")).id
    three_days = NOW - timedelta(days=3)
    store.save_case(make_case(store, ids["老周煎饼"], when=three_days, seized=0))  # one earlier: 警告 next
    for days in (40, 10):  # two earlier: 处罚 next
        store.save_case(make_case(store, ids["王㐂𠮷"], when=NOW - timedelta(days=days), seized=0))
    store.save_case(
        make_case(store, ids["🍢阿婆"], when=NOW - timedelta(hours=2), seized=0, violation_code="0501")
    )
    store.save_case(make_case(store, ids["远处的人"], when=NOW - timedelta(hours=1), seized=0, location=FAR))
    return app, ids


def test_nearby_subjects_with_their_next_stage_recent_first(tmp_path: Path) -> None:
    app, _ = stocked(tmp_path, PhoneClock(NOW))
    assert app.today.nearby() == []  # no fix yet
    app.today.set_fix(*HERE)
    near = app.today.nearby()
    assert [(n.who, n.violation_code, n.days_ago, n.next_stage) for n in near] == [
        ("🍢阿婆", "0501", 0, Stage.WARNING),
        ("老周煎饼", "0510", 3, Stage.WARNING),
        ("王㐂𠮷", "0510", 10, Stage.PENALTY),
    ]
    # the very rule the wizard applies, over the same history
    history = app.store.subject_history(near[2].subject.id)
    assert near[2].decision == staging.compute_stage("0510", NOW, history)
    assert all(n.distance_m <= 150 for n in near)


@pytest.mark.parametrize(
    "clock", [datetime(1970, 1, 1, 8, tzinfo=LOCAL_TZ), datetime(2099, 12, 31, tzinfo=LOCAL_TZ)]
)
def test_a_phone_clock_in_1970_or_2099_does_not_break_it(tmp_path: Path, clock: datetime) -> None:
    phone = PhoneClock(NOW)
    app, _ = stocked(tmp_path, phone)
    phone.now = clock
    app.today.set_fix(*HERE)
    near = app.today.nearby()
    assert [n.who for n in near] == ["🍢阿婆", "老周煎饼", "王㐂𠮷"]
    assert all(n.days_ago >= 0 for n in near)
    # 1970: every earlier case is "later" than now; 2099: outside the window; either way nothing counts
    assert {n.next_stage for n in near} == {Stage.PERSUASION}


def test_no_position_or_nobody_near(tmp_path: Path) -> None:
    app, _ = stocked(tmp_path, PhoneClock(NOW))
    for lat, lon in ((float("nan"), 113.6), (91.0, 0.0), (0.0, 0.0), (89.9999, 179.9999)):
        app.today.set_fix(lat, lon)
        assert app.today.nearby() == []


def test_today_screen_lists_them_in_chinese_and_english(tmp_path: Path) -> None:
    app, _ = stocked(tmp_path, PhoneClock(NOW))
    view = TodayView(Shell(app, screens=make_screen))
    assert "查看附近当事人" in texts(view.nearby())  # no fix: the button
    app.today.set_fix(*HERE)
    zh = texts(view.nearby())
    assert "附近当事人" in zh
    name = app.catalogue.get("0510").name("zh")
    assert f"老周煎饼 · {name} · 3 天前 · 下次：警告" in zh
    assert any(line.startswith("王㐂𠮷 · ") and line.endswith(" · 10 天前 · 下次：处罚") for line in zh)
    assert any(line.startswith("🍢阿婆 · ") and line.endswith(" · 今天 · 下次：警告") for line in zh)
    app.settings.update(lang="en")
    en = texts(view.nearby())
    assert "Subjects nearby" in en
    assert any(
        line.startswith("老周煎饼 · ") and line.endswith(" · 3 days ago · next: Warning") for line in en
    )
    app.today.set_fix(0.0, 0.0)
    assert "No known subjects within 150 m" in texts(view.nearby())


def texts(control: object) -> list[str]:
    found: list[str] = []

    def walk(node: object) -> None:
        value = getattr(node, "value", None)
        if isinstance(value, str):
            found.append(value)
        for name in ("content", "controls", "text"):
            child = getattr(node, name, None)
            if isinstance(child, str):
                found.append(child)
            for item in child if isinstance(child, list) else [child] if child is not None else []:
                if not isinstance(item, str):
                    walk(item)

    walk(node=control)
    return found
