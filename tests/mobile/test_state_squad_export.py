"""The day log exported on the phone (``mobile.state.squad_export``): PDF and CSV files in the app's data
directory, the text checked, and directories that cannot be written."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest

from mobile.state.squad import SquadState
from mobile.state.squad_export import DayLogExport, ExportError, render
from mobile.store import Store
from testkit.hqkit import LEADER, catalogue
from tests.mobile.squadkit import Poke, fill
from tests.mobile.statekit import PhoneClock
from tests.patrollog.dayfixture import at, fixture_day


@pytest.fixture
def squad() -> SquadState:
    store = Store.open(":memory:", catalogue=catalogue())
    fill(store, fixture_day())
    return SquadState(store, catalogue(), SimpleNamespace(officer=LEADER), Poke(), now=PhoneClock(at(23, 30)))


def test_csv_export_is_written_with_a_bom_and_the_days_figures(squad: SquadState, tmp_path: Path) -> None:
    exported = DayLogExport(squad, tmp_path / "data" / "exports").export("csv")
    assert exported.path == tmp_path / "data" / "exports" / "daylog-ZD01-2026-11-22.csv"
    assert exported.path.read_bytes() == exported.data
    assert exported.media_type == "text/csv"
    text = exported.data.decode("utf-8")
    assert text.startswith("\ufeff中队巡查日志,2026-11-22")
    assert "中队,ZD01,人民路中队" in text
    assert "合计,,6" in text
    assert "罚款合计（元）,500,罚款案件,1" in text
    assert "1023,王㐂,18:00,23:30" in text
    assert [p.name for p in exported.path.parent.iterdir()] == [exported.filename]  # no temporary left


def test_pdf_export_has_the_chinese_text(squad: SquadState, tmp_path: Path) -> None:
    exported = DayLogExport(squad, tmp_path).export("pdf")
    assert exported.data.startswith(b"%PDF-")
    assert exported.path.read_bytes() == exported.data
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    text = subprocess.run(
        ["pdftotext", "-layout", str(exported.path), "-"], capture_output=True, check=True, text=True
    ).stdout
    assert "中队巡查日志" in text
    assert "人民路中队" in text
    assert "取缔露天烧烤 2 起" in text


def test_a_later_day_overwrites_nothing_of_another(squad: SquadState, tmp_path: Path) -> None:
    export = DayLogExport(squad, tmp_path)
    first = export.export("csv")
    squad.set_day("2026-11-21")
    second = export.export("csv")
    assert first.path != second.path
    assert first.path.read_bytes() == first.data
    assert "合计,,1" in second.data.decode("utf-8")


def test_a_directory_that_cannot_be_made_is_a_clear_error(squad: SquadState, tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the export folder should be", encoding="utf-8")
    with pytest.raises(ExportError) as err:
        DayLogExport(squad, blocker / "exports").export("pdf")
    assert err.value.field == "export_dir"
    assert err.value.code == "export_failed"
    assert str(blocker / "exports") in err.value.message("zh")
    assert "数据仍完整保存在本机" in err.value.message("zh")
    assert "still safe" in err.value.message("en")
    assert blocker.read_text(encoding="utf-8") == "a file where the export folder should be"
    assert squad.daylog().figures.cases == 6  # the store is untouched


def test_a_target_that_cannot_be_replaced_leaves_no_temporary(squad: SquadState, tmp_path: Path) -> None:
    """Running as root, permissions cannot block a write; a directory in the file's place does."""
    occupied = tmp_path / "daylog-ZD01-2026-11-22.csv"
    occupied.mkdir()
    (occupied / "keep.txt").write_text("keep", encoding="utf-8")
    with pytest.raises(ExportError) as err:
        DayLogExport(squad, tmp_path).export("csv")
    assert err.value.field == "export_dir"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["daylog-ZD01-2026-11-22.csv"]
    assert (occupied / "keep.txt").read_text(encoding="utf-8") == "keep"


def test_unknown_format_is_refused(squad: SquadState, tmp_path: Path) -> None:
    with pytest.raises(ExportError) as err:
        DayLogExport(squad, tmp_path).export("xlsx")  # type: ignore[arg-type]
    assert err.value.field == "format"
    assert list(tmp_path.iterdir()) == []
    assert render(squad.daylog(), "csv").startswith("\ufeff".encode())


def test_csv_export_names_the_truck_plate_the_papers_and_a_described_subject(tmp_path: Path) -> None:
    from enforcement.model import Subject, SubjectKind

    store = Store.open(":memory:", catalogue=catalogue())
    store.save_subject(Subject("s-truck", SubjectKind.VEHICLE, name="顺达渣土", plate="豫AD12345"))
    store.save_subject(Subject("s-vendor", SubjectKind.MOBILE_VENDOR, description="推三轮车卖烤红薯"))
    fill(store, fixture_day())
    leader = SimpleNamespace(officer=LEADER)
    squad = SquadState(store, catalogue(), leader, Poke(), now=PhoneClock(at(23, 30)))
    text = DayLogExport(squad, tmp_path).export("csv").data.decode("utf-8")
    assert "车牌,警告通知书编号,暂扣收据编号,同行队员" in text
    assert ",豫A·D12345,,,,已通过," in text  # the 渣土 truck's plate, written
    assert "流动摊贩：推三轮车卖烤红薯" in text  # not 不明
    assert ",,KY-1,李娜 1024,未审核," in text
    assert ",JG-7,,," in text
