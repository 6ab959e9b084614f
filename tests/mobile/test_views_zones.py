"""The case detail screen shows what zones recorded on a case: the guidance (引导至 <spot>), the street
and its class, the grid cell; zh and en. A case without them shows none of these rows."""

from __future__ import annotations

import json

import flet as ft

from enforcement.model import SubjectKind
from hq.demo_zones import LAT, LON, demo_zones
from hq.zones import import_zones
from mobile.views.case_detail import CaseDetailView
from testkit.hqkit import Hq
from tests.mobile.statekit import AT, Apps, PhoneClock, saved_case, sign_in
from tests.mobile.viewkit import started, texts, tree


def detail_rows(shell: object) -> dict[str, str]:
    """label → value of the detail's rows (a Row of two texts)."""
    rows: dict[str, str] = {}
    for node in tree(shell.body):  # type: ignore[attr-defined]
        if isinstance(node, ft.Row) and len(node.controls) == 2:
            label, value = node.controls
            if isinstance(label, ft.Text) and isinstance(value, ft.Text):
                rows[str(label.value)] = str(value.value)
    return rows


def test_the_detail_shows_guidance_street_class_and_grid(make_app: Apps, hq: Hq) -> None:
    data = json.dumps(demo_zones(), ensure_ascii=False).encode()
    import_zones(hq.storage, data, by="9001", at=AT)
    app = make_app(clock=PhoneClock())  # Sunday 21:30: the 人民路 night market is open
    sign_in(app, hq.serve().url)
    app.sync.sync_now()
    drafts = app.drafts
    drafts.start()
    drafts.choose_violation("0501")
    drafts.set_position(LAT, LON, 8.0)
    drafts.create_subject(SubjectKind.MOBILE_VENDOR, name="老周煎饼")
    where = drafts.whereabouts("zh")
    assert where is not None
    drafts.guide_to_spot(where.choices[0].spot_id)
    case = drafts.save()

    shell = started(app)
    shell.go("case", case.id)
    assert isinstance(shell.screen, CaseDetailView)
    rows = detail_rows(shell)
    assert rows["疏导"] == "引导至 人民路夜市疏导点"
    assert rows["街道"] == "人民路 · 商业街"
    assert rows["网格"] == "JS-0101"
    assert "劝导离开" in texts(shell.body)  # the disposition stays 劝离

    app.settings.update(lang="en")
    shell.render()
    rows = detail_rows(shell)
    assert rows["Guidance"] == "Guided to 人民路夜市疏导点"
    assert rows["Street"] == "人民路 · Commercial street"
    assert rows["Grid"] == "JS-0101"


def test_a_case_without_zone_facts_shows_no_zone_rows(make_app: Apps, hq: Hq) -> None:
    app = make_app()
    sign_in(app, hq.serve().url)
    case_id = saved_case(app)
    shell = started(app)
    shell.go("case", case_id)
    shown = set(texts(shell.body))
    assert not {"疏导", "街道", "网格"} & shown
    assert not [t for t in shown if t.startswith("引导至")]
