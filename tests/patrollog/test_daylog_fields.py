"""What the day log says of each case (issue #14): the place when only GPS is known (with street and
grid), the warning-notice and seizure-receipt numbers and the second officer, the truck's plate in its
written form, and a subject registered by description. CSV, PDF and the labels they come from."""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from enforcement.catalogue import load_catalogue
from enforcement.labels import coordinates_text, place_text, subject_label, written_plate
from enforcement.model import Location, Subject, SubjectKind
from patrollog.csvlog import CASE_COLUMNS, daylog_csv
from patrollog.daylog import DayLog, build_daylog
from patrollog.pdf import daylog_pdf
from tests.patrollog.dayfixture import NAMES, SUBJECTS, fixture_day
from tests.patrollog.test_render import pdf_text

GPS_ONLY = Location(lat=34.7466, lon=113.6253, accuracy_m=8.0, grid_cell="JS-0412")
VENDOR = Subject("s-vendor", SubjectKind.MOBILE_VENDOR, description="推三轮车卖烤红薯")
TRUCK = Subject("s-truck", SubjectKind.VEHICLE, name="豫A12345", plate="豫AD12345")


def test_labels() -> None:
    assert written_plate("豫AD12345") == "豫A·D12345"
    assert written_plate("") == ""
    assert subject_label(VENDOR) == "流动摊贩：推三轮车卖烤红薯"
    assert subject_label(Subject("x", SubjectKind.VEHICLE, plate="豫AD12345")) == "豫A·D12345"
    assert subject_label(Subject("x", SubjectKind.SHOP, name="鑫㐂便利店", description="x")) == "鑫㐂便利店"
    assert subject_label(Subject("x", SubjectKind.UNKNOWN)) == ""
    assert coordinates_text(GPS_ONLY) == "34.74660, 113.62530"
    assert place_text(GPS_ONLY) == "34.74660, 113.62530（网格 JS-0412）"
    assert place_text(GPS_ONLY, {"street": "人民路"}) == "34.74660, 113.62530（人民路 · 网格 JS-0412）"
    assert place_text(Location(address="人民路夜市"), {"street": "人民路"}) == "人民路夜市"
    assert place_text(Location(no_fix_reason="室内无信号")) == "室内无信号"


@pytest.fixture(scope="module")
def log() -> DayLog:
    day = fixture_day()
    # case A: GPS only, in a zone's street; its subject registered by description
    cases = [replace(c, location=GPS_ONLY, extra={"street": "人民路"}) if c.id == day.a.id else c
             for c in day.cases]  # fmt: skip
    labels = {**SUBJECTS, "s-vendor": subject_label(VENDOR)}
    return build_daylog(date(2026, 11, 22), "ZD01", cases=cases, shifts=day.shifts, reviews=day.reviews,
                        catalogue=load_catalogue(), squad_name="人民路中队", officer_names=NAMES,
                        subject_labels=labels, hq_stages=day.hq_stages,
                        subject_plates={"s-truck": written_plate(TRUCK.plate)})  # fmt: skip


def _rows(log: DayLog) -> list[dict[str, str]]:
    rows = list(csv.reader(io.StringIO(daylog_csv(log))))
    header = rows.index(list(CASE_COLUMNS))
    return [dict(zip(CASE_COLUMNS, r, strict=True)) for r in rows[header + 1 :]]


def test_csv_has_the_place_papers_plate_and_description(log: DayLog) -> None:
    assert CASE_COLUMNS[-6:] == ("车牌", "警告通知书编号", "暂扣收据编号", "同行队员", "审核", "审核意见")
    by_no = {row["案件编号"]: row for row in _rows(log)}
    a = by_no["ZD01-1023-261122-K7Q2M-0001"]
    assert a["地点"] == "34.74660, 113.62530（人民路 · 网格 JS-0412）"
    assert (a["纬度"], a["经度"]) == ("34.746600", "113.625300")
    assert a["当事人"] == "流动摊贩：推三轮车卖烤红薯"
    b = by_no["ZD01-1023-261122-K7Q2M-0002"]
    assert (b["暂扣收据编号"], b["同行队员"]) == ("KY-1", "李娜 1024")
    assert b["地点"] == "人民路2号"
    assert by_no["ZD01-1023-261122-K7Q2M-0003"]["警告通知书编号"] == "JG-7"
    truck = by_no["ZD01-1023-261122-K7Q2M-0004"]
    assert (truck["当事人"], truck["车牌"]) == ("豫A12345", "豫A·D12345")


def test_pdf_has_them_too(log: DayLog, tmp_path: Path) -> None:
    flat = pdf_text(daylog_pdf(log), tmp_path)
    # the narrow columns wrap: look for pieces that stay on one line
    for needle in ("34.74660,", "113.62530", "JS-0412", "JG-7", "KY-1", "同行", "豫A·D12345", "流动摊贩"):
        assert needle in flat, needle
