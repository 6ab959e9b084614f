"""The case the enforcement tests start from, shared by their modules (each changes what it tests)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from enforcement.model import LOCAL_TZ, Case, Disposition, Location, Stage, new_id


def make_case(**changes: Any) -> Case:
    """A 露天烧烤 (0510) case of officer 1023 (squad ZD01) at 人民路夜市, a known subject persuaded at the
    first stage; ``changes`` replace any field."""
    case = Case(
        id=new_id(),
        case_no="ZD01-1023-261122-K7Q2M-0001",
        officer_badge="1023",
        squad_code="ZD01",
        device_id=new_id(),
        violation_code="0510",
        occurred_at=datetime(2026, 11, 22, 21, 30, tzinfo=LOCAL_TZ),
        location=Location(lat=34.75, lon=113.62, accuracy_m=8.0, address="人民路夜市"),
        subject_id=new_id(),
        computed_stage=Stage.PERSUASION,
        chosen_stage=Stage.PERSUASION,
        disposition=Disposition.PERSUADED,
    )
    return replace(case, **changes)
