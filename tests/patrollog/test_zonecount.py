"""The day log counts guidance in the bureau's phrasing (引导至疏导点 N 起) and cases by street class and
grid, in the CSV and the PDF; a day without zone data adds nothing."""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from datetime import date
from pathlib import Path

from enforcement.catalogue import load_catalogue
from enforcement.model import CaseStatus, Location
from patrollog.csvlog import daylog_csv
from patrollog.daylog import build_daylog
from patrollog.pdf import daylog_pdf
from tests.patrollog.dayfixture import at, case
from tests.patrollog.test_render import pdf_text

DAY = date(2026, 11, 22)
GUIDED = {"guided_spot": "sp-renmin-night", "guided_spot_name": "人民路夜市疏导点",
          "street": "人民路", "street_class": "commercial"}  # fmt: skip


def cases() -> list:
    grid = Location(lat=34.7466, lon=113.6253, grid_cell="JS-0101")
    return [
        case("1023", 1, "0501", at(19, 0), location=grid, extra=GUIDED),
        case("1023", 2, "0504", at(19, 30), location=grid, extra=GUIDED),
        case("1024", 3, "0501", at(20, 0), extra={"street": "金水路", "street_class": "model"}),
        case("1024", 4, "0510", at(20, 30)),  # no zone data
        case("1024", 5, "0501", at(21, 0), location=grid, extra=GUIDED, status=CaseStatus.VOIDED),
    ]


def test_guidance_street_classes_and_grids_are_counted() -> None:
    log = build_daylog(DAY, "ZD01", cases=cases(), shifts=[], reviews=[], catalogue=load_catalogue())
    z = log.zones
    assert z.guidance_line == "引导至疏导点 2 起"
    assert z.class_line == "示范街 1 起，商业街 2 起"
    assert z.grid_line == "JS-0101 2 起"
    rows = list(csv.reader(io.StringIO(daylog_csv(log))))
    assert ["引导至疏导点", "2"] in rows
    assert ["街道类别：商业街", "2"] in rows
    assert ["网格：JS-0101", "2"] in rows


def test_the_pdf_has_the_line(tmp_path: Path) -> None:
    log = build_daylog(DAY, "ZD01", cases=cases(), shifts=[], reviews=[], catalogue=load_catalogue())
    text = pdf_text(daylog_pdf(log), tmp_path)
    assert "引导至疏导点2起；按街道类别：示范街1起，商业街2起；按网格：JS-01012起" in text


def test_a_day_without_zone_data_adds_no_rows() -> None:
    plain = [replace(c, extra={}, location=Location(lat=34.75, lon=113.62)) for c in cases()]
    log = build_daylog(DAY, "ZD01", cases=plain, shifts=[], reviews=[], catalogue=load_catalogue())
    assert log.zones.empty
    assert not any(row and row[0] == "引导至疏导点" for row in csv.reader(io.StringIO(daylog_csv(log))))
