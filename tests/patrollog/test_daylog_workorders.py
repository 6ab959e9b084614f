"""Hotline work orders in the squad day log (#15): the bureau's line counts the squad's orders received on
the day, from HQ's on-time verdicts (never a phone clock), in the assembled log, the CSV and the PDF (its
text extracted back with pypdf and pdftotext)."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta
from pathlib import Path

from pypdf import PdfReader

from enforcement.catalogue import load_catalogue
from enforcement.model import LOCAL_TZ
from enforcement.workorders import Figures
from patrollog.csvlog import daylog_csv
from patrollog.daylog import DayLog, build_daylog
from patrollog.pdf import daylog_pdf
from patrollog.workorderlog import OrderFacts, day_figures, orders_line
from tests.patrollog.dayfixture import NAMES, SUBJECTS, fixture_day
from tests.patrollog.test_render import pdf_text

DAY = date(2026, 11, 22)
AT = datetime(2026, 11, 22, 9, 0, tzinfo=LOCAL_TZ)
LINE = (
    "受理热线投诉 4 件，1 小时内到场 3 件（到场率 75.0%），两日内办结 2 件（办结率 50.0%），回访满意率 50.0%"
)


def _facts() -> list[OrderFacts]:
    def one(n: int, **kw: object) -> OrderFacts:
        base: dict[str, object] = {"order_id": f"wo-{n}", "squad": "ZD01", "officer": "1023",
                                   "intake_at": AT + timedelta(hours=n), "arrived_on_time": True,
                                   "resolved_on_time": True, "resolved": True}  # fmt: skip
        return OrderFacts(**(base | kw))  # type: ignore[arg-type]

    return [
        one(1, satisfaction="satisfied"),
        one(2, satisfaction="unsatisfied"),
        one(3, resolved_on_time=False, resolved=False, due_at=AT + timedelta(days=2)),
        one(4, arrived_on_time=False, resolved_on_time=False, resolved=False, due_at=AT + timedelta(hours=5)),
        one(4, satisfaction="satisfied"),  # the same order twice (the leader's own and the squad's): once
        one(5, squad="ZD02"),  # another squad
        one(6, squad=""),  # still in the desk's queue
        one(7, intake_at=AT - timedelta(hours=10)),  # 23:00 the day before (bureau-local)
        one(8, intake_at=AT + timedelta(hours=15)),  # 00:00 the day after
    ]


def _log(orders: list[OrderFacts]) -> DayLog:
    day = fixture_day()
    return build_daylog(DAY, "ZD01", cases=day.cases, shifts=day.shifts, reviews=day.reviews,
                        catalogue=load_catalogue(), squad_name="人民路中队", officer_names=NAMES,
                        subject_labels=SUBJECTS, hq_stages=day.hq_stages, work_orders=orders)  # fmt: skip


def test_the_day_counts_the_squads_orders_received_that_day() -> None:
    f = day_figures(_facts(), DAY, {"ZD01"})
    assert (f.received, f.arrived_on_time, f.resolved_on_time, f.resolved, f.followed_up, f.satisfied) == (
        4, 3, 2, 2, 2, 1,
    )  # fmt: skip
    assert f.overdue == 1  # at the end of the day: order 4's deadline passed at 14:00, order 3's not yet
    assert day_figures(_facts(), DAY, {"ZD01"}, now=AT + timedelta(days=3)).overdue == 2
    assert f.line("zh") == LINE
    assert day_figures(_facts(), DAY, {"ZD01", "ZD02"}).received == 5
    assert orders_line(f) == f"热线工单：{LINE}；超时未办 1 件"
    assert day_figures([], DAY, {"ZD01"}) == Figures()


def test_the_log_csv_and_pdf_carry_the_bureaus_line(tmp_path: Path) -> None:
    log = _log(_facts())
    assert log.work_orders.line("zh") == LINE
    rows = list(csv.reader(io.StringIO(daylog_csv(log))))
    assert ["热线工单", LINE] in rows
    assert rows.index(["热线工单", LINE]) == 3  # right under the summary
    data = daylog_pdf(log)
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages).replace("\x00", "")
    flat = "".join(text.split())
    assert "".join(orders_line(log.work_orders).split()) in flat
    assert "".join(LINE.split()) in pdf_text(data, tmp_path)


def test_a_day_without_orders_prints_no_work_order_line(tmp_path: Path) -> None:
    log = _log([])
    assert log.work_orders == Figures()
    assert not any(row and row[0] == "热线工单" for row in csv.reader(io.StringIO(daylog_csv(log))))
    assert "受理热线投诉" not in pdf_text(daylog_pdf(log), tmp_path)
