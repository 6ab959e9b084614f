from datetime import date
from typing import Any

import pytest

from enforcement.catalogue import Catalogue, load_catalogue
from enforcement.model import CaseStatus, Stage
from patrollog.daylog import build_daylog
from patrollog.reviewing import ReviewStatus
from tests.patrollog.dayfixture import NAMES, SUBJECTS, amend, at, case, fixture_day

DAY = date(2026, 11, 22)


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return load_catalogue()


def test_hand_worked_day(catalogue: Catalogue) -> None:
    day = fixture_day()
    log = build_daylog(DAY, "ZD01", cases=day.cases, shifts=day.shifts, reviews=day.reviews,
                       catalogue=catalogue, squad_name="人民路中队", officer_names=NAMES,
                       subject_labels=SUBJECTS, hq_stages=day.hq_stages)  # fmt: skip
    f = log.figures
    assert f.cases == 6
    assert dict(f.by_violation) == {"0306": 1, "0501": 1, "0504": 2, "0510": 2}
    assert dict(f.by_stage) == {Stage.PERSUASION: 3, Stage.WARNING: 2, Stage.PENALTY: 1}
    assert dict(f.seized) == {"烧烤炉": 3, "桌椅": 1}
    assert (f.fines_total, f.fined_cases) == (500, 1)
    assert (f.returned, f.voided, f.withdrawn) == (1, 1, 0)
    assert log.returned_case_nos == (day.e1.case_no,)
    assert log.summary_line == (
        "查处占道经营 3 起，取缔露天烧烤 2 起，暂扣烧烤炉 3 个、桌椅 1 套，"
        "查处渣土遗撒 1 起，罚款 1 起共 500 元"
    )
    assert dict(log.violation_names) == {
        "0306": "道路遗撒（渣土运输）", "0501": "无照经营游商", "0504": "店外经营", "0505": "机动车乱停放",
        "0510": "露天烧烤",
    }  # fmt: skip

    # officers: on shift (any shift overlapping the day) or with cases; yesterday's shift left out
    assert [(o.badge, o.name, o.figures.cases) for o in log.officers] == [
        ("1023", "王㐂", 4), ("1024", "李娜", 2), ("1026", "赵敏", 0)
    ]  # fmt: skip
    wang, li, zhao = log.officers
    assert (wang.first_start, wang.last_end, len(wang.shifts)) == (at(18, 0), at(23, 30), 1)
    assert (li.first_start, li.last_end) == (at(17, 30), at(22, 0))
    assert [s.grid_cell for s in li.shifts] == ["G-02", "G-02"]
    assert (zhao.first_start, zhao.last_end) == (at(8, 0), at(12, 0))
    # equal counts: the lower catalogue code first (0306 before 0501)
    assert wang.figures.summary_line() == (
        "取缔露天烧烤 2 起，暂扣烧烤炉 3 个、桌椅 1 套，"
        "查处渣土遗撒 1 起，查处占道经营 1 起，罚款 1 起共 500 元"
    )
    assert li.figures.returned == 1
    assert wang.figures.voided == 1

    # one line per case (latest versions, the voided one included), in time order
    assert [line.case_no for line in log.lines] == [
        day.d.case_no, day.a.case_no, day.e2.case_no, day.b.case_no, day.c.case_no, day.f.case_no,
        day.g2.case_no,
    ]  # fmt: skip
    by_no = {line.case_no: line for line in log.lines}
    assert by_no[day.e2.case_no].version == 2
    assert by_no[day.e2.case_no].review is ReviewStatus.COUNTED  # the amendment is back in the queue
    assert by_no[day.c.case_no].review is ReviewStatus.NEEDS_DECISION  # stage conflict
    assert by_no[day.c.case_no].subject == "赵老三烧烤"
    assert by_no[day.c.case_no].seized_text == "烧烤炉×2、桌椅×1"
    assert by_no[day.f.case_no].review is ReviewStatus.APPROVED
    assert by_no[day.f.case_no].review_comment == "罚款依据充分"
    assert by_no[day.g2.case_no].status is CaseStatus.VOIDED
    assert by_no[day.a.case_no].subject == ""  # a label that is not known stays empty
    assert dict(log.review_counts) == {
        ReviewStatus.COUNTED: 3,
        ReviewStatus.APPROVED: 2,
        ReviewStatus.NEEDS_DECISION: 1,
        ReviewStatus.VOIDED: 1,
    }


def test_filters(catalogue: Catalogue) -> None:
    day = fixture_day()
    log = build_daylog(
        DAY, "ZD01", cases=day.cases, shifts=day.shifts, reviews=day.reviews, catalogue=catalogue
    )
    assert [x.case_no for x in log.filtered(officer="1024")] == [day.d.case_no, day.e2.case_no]
    assert [x.case_no for x in log.filtered(violation="0510")] == [day.b.case_no, day.c.case_no]
    assert [x.case_no for x in log.filtered(stage=Stage.WARNING)] == [day.d.case_no, day.c.case_no]
    assert log.filtered(officer="1023", violation="0504") == []
    assert len(log.filtered()) == 7


def test_other_day_and_squad_are_empty(catalogue: Catalogue) -> None:
    day = fixture_day()
    log = build_daylog(date(2026, 11, 23), "ZD01", cases=day.cases, shifts=day.shifts, reviews=day.reviews,
                       catalogue=catalogue)  # fmt: skip
    assert (log.figures.cases, log.lines, log.officers) == (0, (), ())
    assert log.summary_line == "无案件"
    zd02 = build_daylog(DAY, "ZD02", cases=day.cases, shifts=[], reviews=[], catalogue=catalogue)
    assert zd02.figures.cases == 1
    assert zd02.summary_line == "取缔露天烧烤 1 起"


def test_input_order_does_not_matter(catalogue: Catalogue) -> None:
    day = fixture_day()
    kw: dict[str, Any] = {"catalogue": catalogue, "officer_names": NAMES, "hq_stages": day.hq_stages}
    one = build_daylog(DAY, "ZD01", cases=day.cases, shifts=day.shifts, reviews=day.reviews, **kw)
    two = build_daylog(
        DAY, "ZD01", cases=day.cases[::-1], shifts=day.shifts[::-1], reviews=day.reviews[::-1], **kw
    )
    assert one == two


def test_an_amendment_that_moves_the_time_moves_the_case(catalogue: Catalogue) -> None:
    first = case("1023", 1, "0510", at(23, 50))
    moved = amend(first, occurred_at=at(0, 10, day=23))
    on_22 = build_daylog(DAY, "ZD01", cases=[first, moved], shifts=[], reviews=[], catalogue=catalogue)
    on_23 = build_daylog(date(2026, 11, 23), "ZD01", cases=[moved, first], shifts=[], reviews=[],
                         catalogue=catalogue)  # fmt: skip
    assert on_22.figures.cases == 0
    assert on_22.lines == ()
    assert on_23.figures.cases == 1
    assert [(x.case_no, x.version) for x in on_23.lines] == [(first.case_no, 2)]
