"""Zones on the phone: pulled from HQ as versioned ``zone`` changes, looked up offline at the fix, and the
disposition 引导至疏导点 recorded on the case (additively: 劝离 + ``Case.extra``)."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime

import pytest

from enforcement.model import Disposition, SubjectKind
from hq.demo_zones import LAT, LON, demo_zones
from hq.policy import publish
from hq.zones import import_zones
from mobile.state.app_state import AppState
from mobile.state.draft_zones import EXTRA_GUIDED_SPOT, EXTRA_GUIDED_SPOT_NAME, EXTRA_STREET_CLASS
from testkit.hqkit import Hq
from tests.mobile.statekit import Apps, PhoneClock, sign_in

AT = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def put_zones(hq: Hq, doc: dict) -> None:
    import_zones(hq.storage, json.dumps(doc, ensure_ascii=False).encode(), by="9001", at=AT)


@pytest.fixture
def clock() -> PhoneClock:
    return PhoneClock()  # Sunday 2026-11-22 21:30: the 人民路 night market is open until 23:00


@pytest.fixture
def app(make_app: Apps, hq: Hq, clock: PhoneClock) -> AppState:
    put_zones(hq, demo_zones())
    app = make_app(clock=clock)
    sign_in(app, hq.serve().url)
    app.sync.sync_now()
    return app


def test_zones_arrive_versioned_and_then_only_what_changed(app: AppState, hq: Hq) -> None:
    store = app.store
    assert store.zones_version() == 1
    assert store.zone_count() == len(demo_zones()["features"])
    later = copy.deepcopy(demo_zones())
    later["features"] = [f for f in later["features"] if f["id"] != "sp-huayuan-morning"]
    later["features"][0]["properties"]["class"] = "regulated"
    put_zones(hq, later)
    app.sync.sync_now()
    assert store.zones_version() == 2
    assert store.zone_count() == len(later["features"])
    here = app.zones.standing(LAT, LON)
    assert here is not None
    assert here.street is not None
    assert here.street.street_class is not None
    assert here.street.street_class.value == "regulated"


def test_a_vending_case_at_the_fix_shows_the_street_grid_and_open_spot_and_records_guidance(
    app: AppState,
) -> None:
    drafts = app.drafts
    drafts.start()
    drafts.choose_violation("0501")
    drafts.set_position(LAT, LON, 8.0)
    where = drafts.whereabouts("zh")
    assert where is not None
    assert where.street == "人民路 · 商业街 · 管活：以疏为主"
    assert where.grid == "网格 JS-0101"
    assert where.nearest.startswith("最近开放的疏导点：人民路夜市疏导点，")
    assert "23:00 关闭" in where.nearest
    assert "小吃" in where.nearest
    assert where.next_open.startswith("下一个开放：")
    assert where.allowed == ""
    english = drafts.whereabouts("en")
    assert english is not None
    assert english.street == "人民路 · Commercial street · flexible: mainly guide"
    [choice, *_] = where.choices
    assert choice.label == "引导至人民路夜市疏导点"
    drafts.create_subject(SubjectKind.MOBILE_VENDOR, name="老周煎饼")
    drafts.guide_to_spot(choice.spot_id)
    assert drafts.disposition() is Disposition.PERSUADED
    case = drafts.save()
    assert case.extra[EXTRA_GUIDED_SPOT] == "sp-renmin-night"
    assert case.extra[EXTRA_GUIDED_SPOT_NAME] == "人民路夜市疏导点"
    assert case.extra[EXTRA_STREET_CLASS] == "commercial"
    assert case.location.grid_cell == "JS-0101"
    assert app.store.get_case(case.id) == case


def publish_policy(hq: Hq, document: dict) -> None:
    with hq.storage.transaction() as tx:
        publish(tx, document, by="9001", at=AT)


def test_inside_an_open_spot_the_app_says_vending_is_allowed(app: AppState, hq: Hq) -> None:
    # whether an open 疏导点 exempts vending is HQ's policy (the built-in version 0 says no: next test)
    publish_policy(hq, {"spot_exempts_vending": True})
    app.sync.sync_now()
    drafts = app.drafts
    drafts.start()
    drafts.choose_violation("0504")
    drafts.set_position(LAT + 0.0004, LON + 0.0008, 5.0)
    where = drafts.whereabouts("zh")
    assert where is not None
    assert where.allowed == "您在人民路夜市疏导点内，现在（至 23:00）允许在此经营"


def test_other_violations_get_no_spots_and_no_zones_means_nothing_shown(
    app: AppState, make_app: Apps, clock: PhoneClock
) -> None:
    drafts = app.drafts
    drafts.start()
    drafts.choose_violation("0510")
    drafts.set_position(LAT, LON, 8.0)
    where = drafts.whereabouts("zh")
    assert where is not None
    assert where.nearest == ""
    assert where.choices == ()
    assert where.street.startswith("人民路")
    bare = make_app(clock=clock)
    assert bare.zones.standing(LAT, LON) is None


def test_the_exemption_follows_the_policy_the_phone_holds(app: AppState, hq: Hq) -> None:
    drafts = app.drafts
    drafts.start()
    drafts.choose_violation("0501")
    drafts.set_position(LAT + 0.0004, LON + 0.0008, 5.0)  # inside the open 人民路 night market
    built_in = drafts.whereabouts("zh")
    assert built_in is not None
    assert built_in.allowed == "您在人民路夜市疏导点内（正在开放），但现行政策不豁免在疏导点内经营"
    english = drafts.whereabouts("en")
    assert english is not None
    assert english.allowed == (
        "You are in 人民路夜市疏导点 (open now), but the policy does not exempt vending here"
    )
    publish_policy(hq, {"spot_exempts_vending": True})
    app.sync.sync_now()
    here = app.zones.standing(LAT + 0.0004, LON + 0.0008)
    assert here is not None
    assert here.vending_allowed
    publish_policy(hq, {"spot_exempts_vending": False, "note": "疏导点暂停"})
    app.sync.sync_now()
    again = app.zones.standing(LAT + 0.0004, LON + 0.0008)
    assert again is not None
    assert again.inside_open_spot
    assert not again.vending_allowed


def test_a_spot_open_all_day_says_so_instead_of_a_closing_time(app: AppState) -> None:
    from hq.demo_zones import NEAR_ALL_DAY_FIX

    lon, lat = NEAR_ALL_DAY_FIX
    drafts = app.drafts
    drafts.start()
    drafts.choose_violation("0501")
    drafts.set_position(lat, lon, 5.0)
    where = drafts.whereabouts("zh")
    assert where is not None
    assert where.street == "农业路 · 商业街 · 管活：以疏为主"
    assert where.grid == "网格 JS-0202"
    assert where.nearest == "最近开放的疏导点：农业路便民疏导点，67 米，全天开放 · 早餐、水果、日用百货"
    english = drafts.whereabouts("en")
    assert english is not None
    assert english.nearest == (
        "Nearest open vending spot: 农业路便民疏导点, 67 m, open all day · 早餐、水果、日用百货"
    )
