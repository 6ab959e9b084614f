"""Rows of HQ's work orders (hotline complaints, ``enforcement.workorders``) as the storage keeps them, and
the JSON form of an order's events. Pure (no I/O); ``hq.storage.base`` names them in the contract."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from enforcement.workorders import Closure, Event, EventKind, Satisfaction, Source, Stage, State, Timer


@dataclass(frozen=True, slots=True)
class WorkOrderRow:
    """One work order: what was filed (the caller's name and phone are personal data: only the desk's own
    view shows them) and HQ's current summary of its events (squad, officer, stage, overdue bookkeeping)."""

    id: str
    district: str
    source: Source
    category: str  # a violation code of the catalogue
    description: str
    intake_at: datetime  # HQ time
    timer: Timer  # the timers it was taken in with
    address: str = ""
    lat: float | None = None
    lon: float | None = None
    place: str = ""  # the street-level place for the public (street / grid zone name), never the address
    caller_name: str = ""
    caller_phone: str = ""
    partner: str = ""  # the Open311 partner that filed it ("" for the desk)
    filed_by: str = ""  # badge of the desk user, or "partner:<name>"
    squad: str = ""  # "" = the desk's manual queue
    officer: str = ""
    stage: Stage = Stage.INTAKE
    updated_at: datetime | None = None
    closed_at: datetime | None = None  # resolved (current round), HQ time
    arrive_due: datetime | None = None
    resolve_due: datetime | None = None
    outcome: str = ""  # Closure value of the current round's resolution
    satisfaction: str = ""  # Satisfaction value of the latest follow-up
    due_at: datetime | None = None  # the next deadline still pending (``summary_timers``); None: none
    first_arrived_ok: bool = False  # the first round arrived within its timer
    first_resolved_ok: bool = False  # the first round resolved within its timer


@dataclass(frozen=True, slots=True)
class PartnerRow:
    """An Open311 partner system: its api_key is stored as SHA-256 only."""

    name: str
    key_hash: str
    created_at: datetime
    active: bool = True


def timer_json(timer: Timer) -> dict[str, int]:
    return {
        "arrive_s": int(timer.arrive.total_seconds()),
        "resolve_s": int(timer.resolve.total_seconds()),
        "follow_up_s": int(timer.follow_up.total_seconds()),
    }


def timer_of(data: Mapping[str, Any]) -> Timer:
    from datetime import timedelta

    return Timer(
        timedelta(seconds=int(data["arrive_s"])),
        timedelta(seconds=int(data["resolve_s"])),
        timedelta(seconds=int(data["follow_up_s"])),
    )


def event_json(e: Event) -> dict[str, Any]:
    """The event's fields beside its columns (id, order, kind, round, at, received_at, actor)."""
    return {
        "from_phone": e.from_phone,
        "offset_s": e.offset_s,
        "squad": e.squad,
        "officer": e.officer,
        "lat": e.lat,
        "lon": e.lon,
        "distance_m": e.distance_m,
        "closure": e.closure.value if e.closure else None,
        "case_id": e.case_id,
        "note": e.note,
        "department": e.department,
        "photos": list(e.photos),
        "reached": e.reached,
        "satisfaction": e.satisfaction.value if e.satisfaction else None,
        "comment": e.comment,
        "reopen": e.reopen,
    }


def event_of(
    eid: str,
    order_id: str,
    kind: str,
    round_: int,
    at: datetime,
    received_at: datetime,
    actor: str,
    data: Mapping[str, Any],
    *,
    seq: int = 0,
) -> Event:
    return Event(
        eid,
        order_id,
        EventKind(kind),
        at,
        received_at,
        actor=actor,
        round=round_,
        from_phone=bool(data.get("from_phone")),
        offset_s=data.get("offset_s"),
        squad=data.get("squad", ""),
        officer=data.get("officer", ""),
        lat=data.get("lat"),
        lon=data.get("lon"),
        distance_m=data.get("distance_m"),
        closure=Closure(data["closure"]) if data.get("closure") else None,
        case_id=data.get("case_id", ""),
        note=data.get("note", ""),
        department=data.get("department", ""),
        photos=tuple(data.get("photos", ())),
        reached=bool(data.get("reached", True)),
        satisfaction=Satisfaction(data["satisfaction"]) if data.get("satisfaction") else None,
        comment=data.get("comment", ""),
        reopen=bool(data.get("reopen")),
        seq=seq,
    )


def summary_timers(state: State) -> tuple[datetime | None, bool, bool]:
    """The timer columns of an order's summary: the next deadline still pending (arrival, resolution, or
    the follow-up after it; None when none is: ``State.overdue(now)`` is exactly ``due < now``), and
    whether the first round arrived and was resolved on time (what the bureau's figures count)."""
    r = state.current
    due: datetime | None
    if r.resolved_at is None:
        due = r.resolve_due if r.arrived_at is not None else min(r.arrive_due, r.resolve_due)
    elif r.followed_up_at is None:
        due = r.follow_up_due
    else:
        due = None
    return due, state.first.arrived_on_time, state.first.resolved_on_time
