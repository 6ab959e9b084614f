"""HQ's squad day log counts the hotline work orders received that day in the squad (#15), from the
orders' HQ-time summaries: the same figures as a refold of every order's events, on SQLite and PostgreSQL,
and the line is in the day log's PDF."""

from __future__ import annotations

import io
from datetime import date, datetime, time, timedelta

from pypdf import PdfReader

from enforcement.catalogue import load_catalogue
from enforcement.model import LOCAL_TZ
from enforcement.workorders import figures
from hq.daydata import load_daylog
from hq.storage.base import Storage
from patrollog.pdf import daylog_pdf
from patrollog.workorderlog import orders_line
from tests.hq.test_workorder_timers import _fill


def test_the_squad_day_log_counts_its_orders_of_the_day(storage: Storage) -> None:
    made = _fill(storage, 160, seed=22)
    catalogue = load_catalogue()
    days = sorted({row.intake_at.astimezone(LOCAL_TZ).date() for row, _ in made.values()})
    checked = 0
    for day in days[:4]:
        end = datetime.combine(day + timedelta(days=1), time.min, LOCAL_TZ)
        for squads in (["ZD01"], ["ZD01", "ZD02"]):
            expected = figures(
                [
                    state
                    for row, state in made.values()
                    if row.intake_at.astimezone(LOCAL_TZ).date() == day and state.squad in squads
                ],
                end,
            )
            with storage.transaction(readonly=True) as tx:
                log = load_daylog(tx, squads[0], day, catalogue, squads=None if len(squads) == 1 else squads)
            assert log.work_orders == expected
            checked += expected.received
    assert checked > 10


def test_the_line_is_in_hqs_day_log_pdf(storage: Storage) -> None:
    made = _fill(storage, 40, seed=3)
    day: date = min(
        row.intake_at.astimezone(LOCAL_TZ).date() for row, state in made.values() if state.squad == "ZD01"
    )
    with storage.transaction(readonly=True) as tx:
        log = load_daylog(tx, "ZD01", day, load_catalogue())
    assert log.work_orders.received >= 1
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(daylog_pdf(log))).pages)
    assert "".join(orders_line(log.work_orders).split()) in "".join(text.replace("\x00", "").split())
