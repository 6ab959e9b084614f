"""A squad's day read from HQ's storage into ``patrollog``'s day log (cases with every version, HQ's
stages, reviews, shifts, names, the hotline work orders received that day from their summaries). Used by
the review queue, the day-log download, the CLI and the dashboard, so all of them count the same way."""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, datetime, timedelta

from enforcement.catalogue import Catalogue
from enforcement.labels import subject_label, subject_plate
from enforcement.model import Case, Review, Shift, Stage
from enforcement.staging import StagePolicy
from hq.storage.base import CaseState, Tx
from hq.storage.workorder_rows import WorkOrderRow
from patrollog.daylog import DayLog, build_daylog, day_bounds
from patrollog.reviewing import time_flag
from patrollog.workorderlog import OrderFacts

#: Upper bound of case versions read for one squad-day (a squad of 30 officers × 50 cases is 1500).
MAX_DAY_VERSIONS = 100_000


def _devices(cases: list[Case]) -> dict[str, str]:
    return {case.id: case.device_id for case in cases}


def state_time_flag(
    tx: Tx,
    state: CaseState,
    *,
    devices: dict[str, str] | None = None,
    first_seen: dict[str, datetime | None] | None = None,
) -> str:
    """HQ's ``TimeFlag`` value of a stored case version ("" when its time is plausible): derived from the
    stored row (occurred and received times) and its device's first sign-in at HQ
    (``Tx.device_first_seen``), the same rule ``hq.ingest.push`` applies (and audits as ``time_flagged``) when
    the case arrives, and the leader's phone applies to the squad feed. No column holds it. ``first_seen``:
    a cache of first sign-ins by device id the caller keeps across calls."""
    device_id = (devices or {}).get(state.case_id)
    if device_id is None:
        case = tx.get_case(state.case_id)
        device_id = case.device_id if case else ""
    seen = first_seen if first_seen is not None else {}
    if device_id and device_id not in seen:
        seen[device_id] = tx.device_first_seen(device_id)
    flag = time_flag(
        state.occurred_at,
        state.received_at,
        window_days=StagePolicy().window_days,
        device_first_seen=seen.get(device_id) if device_id else None,
    )
    return flag.value if flag else ""


def load_daylog(
    tx: Tx,
    squad_code: str,
    day: date,
    catalogue: Catalogue,
    *,
    squads: Collection[str] | None = None,
    unit_name: str | None = None,
) -> DayLog:
    """The day log of ``squad_code`` on the bureau-local ``day`` from the storage behind ``tx``; with
    ``squads``, a unit's day across those squads (HQ's own unit: every squad of its district), named
    ``squad_code`` / ``unit_name``."""
    start, end = day_bounds(day)
    codes = [squad_code] if squads is None else sorted(set(squads))
    states: list[CaseState] = []
    seen: set[str] = set()
    for code in codes:
        # cases received on the day whose time a wrong phone clock made implausible (2099, 1970) belong to
        # it too (``patrollog.reviewing.best_known_time``; build_daylog keeps those whose best time is on
        # the day)
        for found in (
            tx.list_cases(squad_code=code, since=start, until=end, latest_only=False, limit=MAX_DAY_VERSIONS),
            tx.list_cases(
                squad_code=code,
                received_since=start,
                received_until=end,
                latest_only=False,
                limit=MAX_DAY_VERSIONS,
            ),
        ):
            states += [s for s in found if s.case_id not in seen]
            seen.update(s.case_id for s in found)
    hq_stages: dict[str, Stage] = {s.case_id: s.hq_stage for s in states}
    received = {s.case_id: s.received_at for s in states}

    cases: list[Case] = []
    for case_no in sorted({s.case_no for s in states}):
        cases.extend(tx.case_versions(case_no))  # every version, wherever its time
    reviews: list[Review] = []
    for case in cases:
        reviews.extend(tx.reviews_for_case(case.id))
        if case.id not in hq_stages and (state := tx.case_state(case.id)) is not None:
            hq_stages[case.id] = state.hq_stage
            received[case.id] = state.received_at
    devices = _devices(cases)
    first_seen: dict[str, datetime | None] = {}
    time_flags = {
        s.case_id: f for s in states if (f := state_time_flag(tx, s, devices=devices, first_seen=first_seen))
    }
    notice_flags = {case_id: row.flag for case_id, row in tx.notice_flags(c.id for c in cases).items()}
    names = {u.badge: u.officer.name for code in codes for u in tx.list_users(squad_code=code)}
    for badge in {c.officer_badge for c in cases} - set(names):
        user = tx.get_user(badge)
        names[badge] = user.officer.name if user else ""
    shifts: list[Shift] = []
    for badge in sorted(names):
        # a night shift may start the evening before
        shifts.extend(tx.list_shifts(badge, since=start - timedelta(days=1)))
    labels: dict[str, str] = {}
    plates: dict[str, str] = {}
    for subject_id in {c.subject_id for c in cases if c.subject_id}:
        subject = tx.get_subject(subject_id, include_deleted=True)
        if subject is not None:
            labels[subject_id] = subject_label(subject)
            plates[subject_id] = subject_plate(subject)
    orders = [
        order_facts(row)
        for code in codes
        for row in tx.list_work_orders(squad=code, since=start, until=end, limit=MAX_DAY_VERSIONS)
    ]
    squad = tx.get_squad(squad_code)
    name = unit_name if unit_name is not None else squad.name if squad else ""
    return build_daylog(
        day,
        squad_code,
        cases=cases,
        shifts=shifts,
        reviews=reviews,
        catalogue=catalogue,
        squad_name=name,
        officer_names=names,
        subject_labels=labels,
        hq_stages=hq_stages,
        time_flags=time_flags,
        notice_flags=notice_flags,
        subject_plates=plates,
        received_at=received,
        squad_codes=codes,
        work_orders=orders,
    )


def order_facts(row: WorkOrderRow) -> OrderFacts:
    """What the day log counts of an order: its summary's HQ-time timer columns (``hq.workorders``)."""
    return OrderFacts(
        order_id=row.id,
        squad=row.squad,
        officer=row.officer,
        intake_at=row.intake_at,
        arrived_on_time=row.first_arrived_ok,
        resolved_on_time=row.first_resolved_ok,
        resolved=row.closed_at is not None,
        satisfaction=row.satisfaction,
        due_at=row.due_at,
    )
