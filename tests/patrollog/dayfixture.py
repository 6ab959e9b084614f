"""The hand-worked fixture day of squad ZD01 on 2026-11-22 (bureau time), shared by the patrollog tests.

Officer 1023 王㐂 (shift 18:00–23:30):
  A 19:10 0501 无照经营游商, 劝导, persuaded                      → counted without review
  B 20:05 0510 露天烧烤, 劝导, 烧烤炉 1 seized                    → counted
  C 21:40 0510 露天烧烤, 警告 (HQ says 处罚: a stage conflict), 烧烤炉 2 + 桌椅 1 seized → needs a decision
  F 22:15 0306 渣土遗撒, 处罚, fine 500 yuan                      → approved by the leader
  G 22:40 0505 机动车乱停放, voided in version 2                   → not counted (voided 1)
Officer 1024 李娜 (shifts 17:30–20:00 and 20:30–22:00):
  D 18:20 0504 店外经营, 警告, warning notice                      → approved
  E 19:45 0504 店外经营, 劝导; returned ("照片不清晰"), amended as version 2 → counted again, returned 1
Officer 1026 赵敏 (shift 08:00–12:00): no cases.
Left out: a ZD02 case of the day, a ZD01 case of the day before, 1023's shift of the day before.

Figures: 6 cases; 占道经营 3 (0501 ×1 + 0504 ×2), 露天烧烤 2, 渣土遗撒 1; stages 劝导 3, 警告 2, 处罚 1;
seized 烧烤炉 3 个, 桌椅 1 套; fines 1 case, 500 yuan; returned 1; voided 1; withdrawn 0.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from enforcement.model import (
    LOCAL_TZ,
    Case,
    CaseStatus,
    Disposition,
    Location,
    Review,
    ReviewDecision,
    SeizedItem,
    Shift,
    Stage,
    new_id,
)

NAMES = {"1023": "王㐂", "1024": "李娜", "1026": "赵敏", "1001": "张伟"}
SUBJECTS = {"s-bbq": "赵老三烧烤", "s-shop": "鑫㐂便利店", "s-truck": "豫A12345"}


def at(hour: int, minute: int, day: int = 22) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=LOCAL_TZ)


def case(badge: str, seq: int, code: str, when: datetime, stage: Stage = Stage.PERSUASION, **kw: Any) -> Case:
    base = Case(
        id=new_id(),
        case_no=f"ZD01-{badge}-261122-K7Q2M-{seq:04d}",
        officer_badge=badge,
        squad_code="ZD01",
        device_id=f"dev-{badge}",
        violation_code=code,
        occurred_at=when,
        location=Location(lat=34.75 + seq / 1000, lon=113.62 + seq / 1000, address=f"人民路{seq}号"),
        subject_id=None,
        subject_unknown=True,
        computed_stage=stage,
        chosen_stage=stage,
        stage_ordinal=int(stage),
        disposition=Disposition.PERSUADED,
    )
    return replace(base, **kw)


def amend(old: Case, **kw: Any) -> Case:
    return replace(old, id=new_id(), version=old.version + 1, supersedes=old.id, **kw)


def review(target: Case, decision: ReviewDecision, when: datetime, comment: str = "") -> Review:
    return Review(new_id(), target.id, target.case_no, decision, "1001", when, comment)


@dataclass
class Day:
    cases: list[Case]
    shifts: list[Shift]
    reviews: list[Review]
    hq_stages: dict[str, Stage]
    a: Case
    b: Case
    c: Case
    d: Case
    e1: Case
    e2: Case
    f: Case
    g2: Case


def fixture_day() -> Day:
    a = case("1023", 1, "0501", at(19, 10), subject_id="s-vendor", subject_unknown=False)
    b = case("1023", 2, "0510", at(20, 5), seized_items=(SeizedItem("烧烤炉", 1),), seizure_receipt_no="KY-1",
             second_officer_badge="1024")  # fmt: skip
    c = case("1023", 3, "0510", at(21, 40), Stage.WARNING, subject_id="s-bbq", subject_unknown=False,
             disposition=Disposition.WARNING_NOTICE, warning_notice_no="JG-7",
             seized_items=(SeizedItem("烧烤炉", 2), SeizedItem("桌椅", 1)))  # fmt: skip
    f = case("1023", 4, "0306", at(22, 15), Stage.PENALTY, subject_id="s-truck", subject_unknown=False,
             disposition=Disposition.PENALTY, fine_yuan=500, legal_basis="《条例》第二十条")  # fmt: skip
    g1 = case("1023", 5, "0505", at(22, 40))
    g2 = amend(g1, status=CaseStatus.VOIDED)
    d = case("1024", 1, "0504", at(18, 20), Stage.WARNING, subject_id="s-shop", subject_unknown=False,
             disposition=Disposition.WARNING_NOTICE, warning_notice_no="JG-8")  # fmt: skip
    e1 = case("1024", 2, "0504", at(19, 45))
    e2 = amend(e1, notes="补拍照片")
    other_squad = replace(
        case("2031", 1, "0510", at(20, 0)), squad_code="ZD02", case_no="ZD02-2031-261122-X-0001"
    )
    yesterday = case("1023", 9, "0510", at(21, 0, day=21))
    shifts = [
        Shift(new_id(), "1023", at(18, 0), at(23, 30), "G-01"),
        Shift(new_id(), "1023", at(18, 0, day=21), at(22, 0, day=21), "G-01"),
        Shift(new_id(), "1024", at(20, 30), at(22, 0), "G-02"),
        Shift(new_id(), "1024", at(17, 30), at(20, 0), "G-02"),
        Shift(new_id(), "1026", at(8, 0), at(12, 0), "G-03"),
    ]
    reviews = [
        review(e1, ReviewDecision.RETURN, at(20, 10), "照片不清晰"),
        review(d, ReviewDecision.APPROVE, at(23, 0)),
        review(f, ReviewDecision.APPROVE, at(23, 5), "罚款依据充分"),
    ]
    cases = [a, b, c, f, g1, g2, d, e1, e2, other_squad, yesterday]
    return Day(cases, shifts, reviews, {c.id: Stage.PENALTY, f.id: Stage.PENALTY}, a, b, c, d, e1, e2, f, g2)
