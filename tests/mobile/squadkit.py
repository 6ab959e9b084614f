"""Helpers of the squad leader tests: the hand-worked fixture day (``tests.patrollog.dayfixture``) put into
a phone store the way the squad feed puts it there, and a sync link stand-in that counts pokes."""

from __future__ import annotations

from collections.abc import Mapping

from mobile.store import Store
from tests.patrollog.dayfixture import NAMES, SUBJECTS, Day


class Poke:
    """Stands in for the sync link: counts the pokes."""

    def __init__(self) -> None:
        self.kicks = 0

    def kick(self) -> None:
        self.kicks += 1


def fill(store: Store, day: Day, hq_reasons: Mapping[str, tuple[str, str]] | None = None) -> None:
    """The fixture day as the squad feed delivers it: every case version with HQ's stage and its reviews,
    every shift with the officer's name. ``hq_reasons``: HQ's reason for its stage (zh, en) by case id,
    sent with that stage (the store keeps a reason only beside a stage)."""
    stray = set(hq_reasons or {}) - set(day.hq_stages)
    if stray:
        raise ValueError(f"HQ reasons for cases without an HQ stage: {sorted(stray)}")
    for case in day.cases:
        zh, en = (hq_reasons or {}).get(case.id, ("", ""))
        store.apply_squad_case(
            case,
            hq_stage=day.hq_stages.get(case.id),
            reviews=[r for r in day.reviews if r.case_id == case.id],
            officer_name=NAMES.get(case.officer_badge, ""),
            subject_label=SUBJECTS.get(case.subject_id or "", ""),
            hq_reason_zh=zh,
            hq_reason_en=en,
        )
    for shift in day.shifts:
        store.apply_squad_shift(shift, officer_name=NAMES[shift.officer_badge], squad_code="ZD01")
