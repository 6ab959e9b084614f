from dataclasses import replace
from datetime import datetime
from typing import Any

import pytest

from enforcement.catalogue import Catalogue, load_catalogue
from enforcement.model import (
    LOCAL_TZ,
    Case,
    CaseStatus,
    Disposition,
    Location,
    SeizedItem,
    Stage,
    new_id,
)
from enforcement.report import headline, latest_versions, patrol_figures
from tests.enforcement.cases import make_case


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return load_catalogue()


_seq = iter(range(1, 10_000))


def case(code: str, stage: Stage = Stage.PERSUASION, **changes: Any) -> Case:
    fields: dict[str, Any] = {
        "case_no": f"ZD01-1023-261122-K7Q2M-{next(_seq):04d}",
        "device_id": "dev",
        "violation_code": code,
        "occurred_at": datetime(2026, 11, 22, 21, 0, tzinfo=LOCAL_TZ),
        "location": Location(address="人民路夜市"),
        "computed_stage": stage,
        "chosen_stage": stage,
        "stage_ordinal": int(stage),
    }
    return make_case(**(fields | changes))


def amend(old: Case, **changes: Any) -> Case:
    return replace(old, id=new_id(), version=old.version + 1, supersedes=old.id, **changes)


def fixture_day() -> tuple[list[Case], set[str]]:
    """The hand-worked day:

    - 2 open-air barbecues (0510): one persuaded with 1 grill + 2 charcoal troughs seized, one fined 500
      with 2 grills + 1 rack seized → 取缔露天烧烤 2 起，暂扣烧烤炉 3 个、炭槽 2 个、烧烤架 1 个;
    - street vending: 1 mobile vendor (0501) + 2 shops (0504), one of them amended from a 200 to a 300
      fine (counted once, with the amended fine) → 查处占道经营 3 起;
    - 1 parked car (0505), returned by the squad leader;
    - a muck-spill case (0306) voided in its 2nd version and a 0307 case withdrawn: not counted.

    Fines: 500 + 300 = 800 in 2 cases. Stages applied: persuasion 3, warning 1, penalty 2.
    """
    penalty = {"disposition": Disposition.PENALTY, "legal_basis": "依法"}
    bbq1 = case("0510", seized_items=(SeizedItem("烧烤炉", 1), SeizedItem("炭槽", 2)))
    bbq2 = case(
        "0510",
        Stage.PENALTY,
        fine_yuan=500,
        seized_items=(SeizedItem("烧烤炉", 2), SeizedItem("烧烤架", 1)),
        **penalty,
    )
    vendor = case("0501")
    shop_warned = case(
        "0504", Stage.WARNING, disposition=Disposition.WARNING_NOTICE, warning_notice_no="JG-1"
    )
    shop_v1 = case("0504", Stage.PENALTY, fine_yuan=200, **penalty)
    shop_v2 = amend(shop_v1, fine_yuan=300)
    parked = case("0505")
    muck_v1 = case("0306")
    muck_v2 = amend(muck_v1, status=CaseStatus.VOIDED)
    muck_withdrawn = case("0307", status=CaseStatus.WITHDRAWN)
    cases = [bbq1, shop_v2, bbq2, vendor, shop_warned, muck_v2, shop_v1, parked, muck_v1, muck_withdrawn]
    return cases, {parked.case_no, muck_v1.case_no}


def test_hand_worked_day(catalogue: Catalogue) -> None:
    cases, returned = fixture_day()
    figures = patrol_figures(cases, catalogue, returned=returned)
    assert figures.cases == 6
    assert dict(figures.by_violation) == {"0501": 1, "0504": 2, "0505": 1, "0510": 2}
    assert dict(figures.by_stage) == {Stage.PERSUASION: 3, Stage.WARNING: 1, Stage.PENALTY: 2}
    assert dict(figures.seized) == {"烧烤炉": 3, "炭槽": 2, "烧烤架": 1}
    assert (figures.fines_total, figures.fined_cases) == (800, 2)
    assert (figures.returned, figures.voided, figures.withdrawn) == (1, 1, 1)
    assert figures.summary_line("zh") == (
        "查处占道经营 3 起，取缔露天烧烤 2 起，暂扣烧烤炉 3 个、炭槽 2 个、烧烤架 1 个，"
        "查处机动车乱停放 1 起，罚款 2 起共 800 元"
    )
    assert figures.summary_line("en") == (
        "Dealt with 3 street-vending cases; stopped 2 open-air barbecues; "
        "seized 3 × 烧烤炉, 2 × 炭槽, 1 × 烧烤架; "
        "dealt with 1 illegally parked motor vehicle; fined 2 cases, 800 yuan in all"
    )
    assert figures.stage_line("zh") == "劝导 3 起，警告 1 起，处罚 2 起"
    assert figures.stage_line("en") == "Persuasion 3, Warning 1, Penalty 2"


def test_input_order_does_not_matter(catalogue: Catalogue) -> None:
    cases, returned = fixture_day()
    assert patrol_figures(cases, catalogue, returned=returned) == patrol_figures(
        list(reversed(cases)), catalogue, returned=returned
    )


def test_empty_day(catalogue: Catalogue) -> None:
    figures = patrol_figures([], catalogue)
    assert figures.cases == 0
    assert figures.summary_line() == "无案件"
    assert figures.summary_line("en") == "No cases"
    assert figures.stage_line() == "劝导 0 起，警告 0 起，处罚 0 起"


def test_headlines(catalogue: Catalogue) -> None:
    assert headline(catalogue.get("0501"), catalogue) == "占道经营"
    assert headline(catalogue.get("0504"), catalogue) == "占道经营"
    assert headline(catalogue.get("0306"), catalogue) == "渣土遗撒"
    assert headline(catalogue.get("0307"), catalogue) == "渣土遗撒"
    assert headline(catalogue.get("0510"), catalogue) == "露天烧烤"
    assert headline(catalogue.get("0201"), catalogue) == "非法小广告"


def test_muck_spills_grouped(catalogue: Catalogue) -> None:
    figures = patrol_figures([case("0306"), case("0307"), case("0307")], catalogue)
    assert figures.summary_line() == "查处渣土遗撒 3 起"
    assert figures.summary_line("en") == "Dealt with 3 muck spills"


def test_latest_versions_keeps_highest() -> None:
    v1 = case("0510")
    v2 = amend(v1, notes="补充")
    v3 = amend(v2, notes="再补充")
    assert latest_versions([v2, v3, v1, v2]) == [v3]


def test_unknown_code_is_reported_by_code(catalogue: Catalogue) -> None:
    figures = patrol_figures([case("0777")], catalogue)
    assert figures.summary_line() == "查处0777 1 起"
