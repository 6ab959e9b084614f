"""The day log as CSV text: a head block (date, squad, summary, officers on shift, cases by type and
stage, seized items, fines, returned cases), a blank row, then one row per case under its own header.

The text has no BOM; whoever writes it to a file for spreadsheet programs adds one (``CSV_BOM``). Every
row goes through ``patrollog.csvsafe.safe_row``: text that a spreadsheet would run as a formula (a subject
named ``=HYPERLINK(…)``) is written with a ``'`` in front; the coordinates stay numbers.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Collection, Iterable
from datetime import datetime

from enforcement.model import LOCAL_TZ, Stage
from enforcement.staging import stage_name
from patrollog.csvsafe import safe_row
from patrollog.daylog import DISPOSITION_ZH, DayLog
from patrollog.zonecount import zone_rows

CSV_BOM = "\ufeff"

CASE_COLUMNS = (
    "案件编号",
    "版本",
    "时间",
    "警号",
    "队员",
    "类型代码",
    "违法类型",
    "处置阶段",
    "指挥中心阶段",
    "当事人",
    "地点",
    "纬度",
    "经度",
    "处置",
    "罚款（元）",
    "暂扣物品",
    "车牌",
    "警告通知书编号",
    "暂扣收据编号",
    "同行队员",
    "审核",
    "审核意见",
)
#: Columns of a case row that hold numbers (kept as numbers; every other cell is text).
NUMERIC_CASE_COLUMNS = frozenset(CASE_COLUMNS.index(name) for name in ("版本", "纬度", "经度", "罚款（元）"))


def hhmm(moment: datetime | None) -> str:
    """Bureau-local HH:MM, or "" when unknown."""
    return moment.astimezone(LOCAL_TZ).strftime("%H:%M") if moment else ""


def daylog_csv(log: DayLog) -> str:
    """The CSV text of a day log (see the module docstring)."""
    out = io.StringIO()
    w = _SafeWriter(out)
    f = log.figures
    w.writerow(["中队巡查日志", log.day.isoformat()])
    w.writerow(["中队", log.squad_code, log.squad_name])
    w.writerow(["汇总", log.summary_line])
    if log.work_orders.received:
        w.writerow(["热线工单", log.work_orders.line("zh")])
    w.writerow([])
    w.writerow(["执勤队员（警号）", "姓名", "上岗", "下岗", "班次", "案件数"])
    for officer in log.officers:
        spans = "；".join(f"{hhmm(s.started_at)}-{hhmm(s.ended_at)}" for s in officer.shifts)
        w.writerow(
            [officer.badge, officer.name, hhmm(officer.first_start), hhmm(officer.last_end), spans,
             officer.figures.cases]
        )  # fmt: skip
    w.writerow([])
    w.writerow(["违法类型", "代码", "起数"])
    for code, count in f.by_violation.items():
        w.writerow([log.violation_names.get(code, code), code, count])
    w.writerow(["合计", "", f.cases])
    w.writerow([])
    w.writerow(["处置阶段", "起数"])
    for stage in Stage:
        w.writerow([stage_name(stage, "zh"), f.by_stage.get(stage, 0)])
    w.writerow([])
    w.writerow(["暂扣物品", "数量"])
    for kind, quantity in f.seized.items():
        w.writerow([kind, quantity])
    w.writerow([])
    w.writerow(["罚款合计（元）", f.fines_total, "罚款案件", f.fined_cases])
    w.writerow(["退回案件", f.returned, "；".join(log.returned_case_nos)])
    w.writerow(["作废案件", f.voided, "撤销案件", f.withdrawn])
    for row in zone_rows(log.zones):
        w.writerow(row)
    w.writerow([])
    w.writerow(CASE_COLUMNS)
    for line in log.lines:
        loc = line.location
        w.writerow(
            [
                line.case_no,
                line.version,
                line.occurred_at.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M"),
                line.officer_badge,
                line.officer_name,
                line.violation_code,
                line.violation_name,
                stage_name(line.stage, "zh"),
                stage_name(line.hq_stage, "zh") if line.hq_stage is not None else "",
                line.subject,
                line.place,
                "" if loc.lat is None else f"{loc.lat:.6f}",
                "" if loc.lon is None else f"{loc.lon:.6f}",
                DISPOSITION_ZH[line.disposition],
                "" if line.fine_yuan is None else line.fine_yuan,
                line.seized_text,
                line.plate,
                line.warning_notice_no,
                line.seizure_receipt_no,
                line.second_officer,
                line.review.label("zh"),
                line.review_comment,
            ],
            NUMERIC_CASE_COLUMNS,
        )
    return out.getvalue()


class _SafeWriter:
    """A ``csv.writer`` whose rows pass through ``safe_row`` (formula injection)."""

    def __init__(self, out: io.StringIO) -> None:
        self._writer = csv.writer(out, lineterminator="\n")

    def writerow(self, values: Iterable[object], numeric: Collection[int] = ()) -> None:
        self._writer.writerow(safe_row(values, numeric))
