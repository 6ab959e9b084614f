import csv
import io
import shutil
import subprocess
from datetime import date
from pathlib import Path

import pytest
from pypdf import PdfReader

from enforcement.catalogue import load_catalogue
from patrollog.csvlog import CASE_COLUMNS, daylog_csv
from patrollog.daylog import DayLog, build_daylog
from patrollog.pdf import DEFAULT_FONT, daylog_pdf
from tests.patrollog.dayfixture import NAMES, SUBJECTS, fixture_day

SUMMARY = (
    "查处占道经营 3 起，取缔露天烧烤 2 起，暂扣烧烤炉 3 个、桌椅 1 套，查处渣土遗撒 1 起，罚款 1 起共 500 元"
)


@pytest.fixture(scope="module")
def log() -> DayLog:
    day = fixture_day()
    return build_daylog(date(2026, 11, 22), "ZD01", cases=day.cases, shifts=day.shifts, reviews=day.reviews,
                        catalogue=load_catalogue(), squad_name="人民路中队", officer_names=NAMES,
                        subject_labels=SUBJECTS, hq_stages=day.hq_stages)  # fmt: skip


@pytest.fixture(scope="module")
def pdf_bytes(log: DayLog) -> bytes:
    return daylog_pdf(log)


def test_csv_head_and_case_rows(log: DayLog) -> None:
    rows = list(csv.reader(io.StringIO(daylog_csv(log))))
    assert rows[0] == ["中队巡查日志", "2026-11-22"]
    assert rows[1] == ["中队", "ZD01", "人民路中队"]
    assert rows[2] == ["汇总", SUMMARY]
    start = rows.index(["执勤队员（警号）", "姓名", "上岗", "下岗", "班次", "案件数"])
    assert rows[start + 1 : start + 4] == [
        ["1023", "王㐂", "18:00", "23:30", "18:00-23:30", "4"],
        ["1024", "李娜", "17:30", "22:00", "17:30-20:00；20:30-22:00", "2"],
        ["1026", "赵敏", "08:00", "12:00", "08:00-12:00", "0"],
    ]
    types = rows.index(["违法类型", "代码", "起数"])
    assert rows[types + 1 : types + 6] == [
        ["道路遗撒（渣土运输）", "0306", "1"], ["无照经营游商", "0501", "1"], ["店外经营", "0504", "2"],
        ["露天烧烤", "0510", "2"], ["合计", "", "6"],
    ]  # fmt: skip
    stages = rows.index(["处置阶段", "起数"])
    assert rows[stages + 1 : stages + 4] == [["劝导", "3"], ["警告", "2"], ["处罚", "1"]]
    seized = rows.index(["暂扣物品", "数量"])
    assert rows[seized + 1 : seized + 3] == [["烧烤炉", "3"], ["桌椅", "1"]]
    assert ["罚款合计（元）", "500", "罚款案件", "1"] in rows
    assert ["退回案件", "1", "ZD01-1024-261122-K7Q2M-0002"] in rows
    header = rows.index(list(CASE_COLUMNS))
    cases = [dict(zip(CASE_COLUMNS, r, strict=True)) for r in rows[header + 1 :]]
    assert len(cases) == 7
    fine = next(c for c in cases if c["类型代码"] == "0306")
    assert (fine["罚款（元）"], fine["处置"], fine["审核"], fine["审核意见"]) == (
        "500",
        "罚款",
        "已通过",
        "罚款依据充分",
    )
    assert (fine["时间"], fine["队员"], fine["当事人"], fine["处置阶段"]) == (
        "2026-11-22 22:15",
        "王㐂",
        "豫A12345",
        "处罚",
    )
    conflict = next(c for c in cases if c["暂扣物品"] == "烧烤炉×2、桌椅×1")
    assert (conflict["处置阶段"], conflict["指挥中心阶段"], conflict["审核"]) == (
        "警告",
        "处罚",
        "待中队长决定",
    )
    amended = next(c for c in cases if c["案件编号"].endswith("1024-261122-K7Q2M-0002"))
    assert (amended["版本"], amended["审核"]) == ("2", "未审核")
    assert cases[0]["纬度"] == "34.751000"


def pdf_text(data: bytes, tmp_path: Path) -> str:
    """The PDF's text as poppler's pdftotext extracts it, whitespace removed."""
    if shutil.which("pdftotext") is None:
        pytest.skip("poppler-utils (pdftotext) is not installed")
    path = tmp_path / "log.pdf"
    path.write_bytes(data)
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True,
                          text=True).stdout  # fmt: skip
    return "".join(text.split())


def test_pdf_text_extracts_with_pdftotext(pdf_bytes: bytes, tmp_path: Path) -> None:
    assert pdf_bytes.startswith(b"%PDF-")
    flat = pdf_text(pdf_bytes, tmp_path)
    assert "中队巡查日志" in flat
    assert "人民路中队（ZD01）" in flat
    assert "".join(SUMMARY.split()) in flat
    assert "劝导3起，警告2起，处罚1起" in flat
    needles = ("王㐂", "李娜", "赵敏", "17:30", "23:30", "烧烤炉", "桌椅", "罚款1起共500元", "退回案件1起",
               "待中队长决定", "豫A12345", "已通过：罚款依据充分", "警告→处罚")  # fmt: skip
    for needle in needles:
        assert needle in flat, needle


def test_pdf_metadata_and_embedded_font(pdf_bytes: bytes) -> None:
    reader = PdfReader(io.BytesIO(pdf_bytes))
    assert reader.metadata is not None
    assert reader.metadata.title == "人民路中队（ZD01） 中队巡查日志 2026-11-22"
    fonts = {
        str(font["/BaseFont"])
        for page in reader.pages
        for font in page["/Resources"]["/Font"].values()  # type: ignore[index]
    }
    assert any("NotoSansSC" in name or "Noto" in name for name in fonts), fonts


def test_empty_day_pdf_and_csv(tmp_path: Path) -> None:
    log = build_daylog(
        date(2026, 11, 22), "ZD09", cases=[], shifts=[], reviews=[], catalogue=load_catalogue()
    )
    text = daylog_csv(log)
    assert "汇总,无案件" in text
    flat = pdf_text(daylog_pdf(log), tmp_path)
    assert "汇总：无案件" in flat
    assert "物品数量无0" in flat


def test_missing_font_is_an_error(log: DayLog, tmp_path: Path) -> None:
    assert DEFAULT_FONT.is_file()
    with pytest.raises(FileNotFoundError):
        daylog_pdf(log, font_path=tmp_path / "none.otf")
