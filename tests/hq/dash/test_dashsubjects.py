"""The dashboard's subject page (issue #22, ``hq.dash.subjects``): a squad leader of the district and HQ see
strong and weak merge suggestions with both subjects' cases side by side and the open field conflicts;
Merge, Not the same, Undo merge and resolving a conflict work from the page's forms; another district's
leader, an officer and a bad form are refused with a reason."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from enforcement.codec import to_json_dict
from enforcement.model import LOCAL_TZ, Officer, Role, Stage, Subject, SubjectKind, new_id
from hq.auth import PinHasher
from hq.ingest.push import ingest_batch
from hq.storage.base import UserRow
from sync.protocol import PushRecord
from testkit.hqkit import (
    DISTRICT,
    HQ_USER,
    LEADER,
    OFFICER,
    OFFICER_B,
    OTHER_DISTRICT,
    PINS,
    Hq,
    make_case,
    make_hq,
)

_seq = itertools.count(1)
FAR_LEADER = Officer("3101", "孙队长", "EQ01", "大学路中队", OTHER_DISTRICT, Role.LEADER)


def push(hq: Hq, user: Officer, *records: tuple[str, Any]) -> list[Any]:
    batch = [
        PushRecord(kind=kind, id=r.id, device_seq=next(_seq), payload=to_json_dict(r) | extra)
        for kind, r, extra in ((k, r, {}) if not isinstance(r, tuple) else (k, *r) for k, r in records)
    ]
    return ingest_batch(hq.storage, user, f"dev-{user.badge}", batch, now=hq.clock())


@dataclass
class World:
    hq: Hq
    a: Subject
    b: Subject
    case_a: str
    case_b: str


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    """Two officers registered 老王烧烤 with one phone number written two ways, each with a 0510 case."""
    hq = make_hq(tmp_path)
    day = datetime(2026, 11, 20, 21, 0, tzinfo=LOCAL_TZ)
    out: list[Any] = []
    for n, (officer, phone) in enumerate(((OFFICER, "13812345678"), (OFFICER_B, "+86 138-1234-5678"))):
        vendor = Subject(new_id(), SubjectKind.MOBILE_VENDOR, name="老王烧烤", phone=phone, district=DISTRICT,
                         created_at=day + timedelta(days=n))  # fmt: skip
        case = make_case(officer, occurred_at=day + timedelta(days=n), subject_id=vendor.id)
        results = push(hq, officer, ("subject", vendor), ("case", case))
        assert [r.status for r in results] == ["accepted", "accepted" if n == 0 else "conflict"]
        out += [vendor, case.case_no]
    try:
        yield World(hq, out[0], out[2], out[1], out[3])
    finally:
        hq.close()


@contextmanager
def browser_of(hq: Hq, officer: Officer) -> Iterator[httpx.Client]:
    with hq.client() as client:
        answer = client.post("/dashboard/sign-in", data={"badge": officer.badge, "pin": PINS[officer.badge]})
        assert answer.status_code == 303, answer.text
        yield client


def test_the_leader_sees_the_strong_pair_with_both_histories_and_merges_then_undoes(world: World) -> None:
    with browser_of(world.hq, LEADER) as web:
        page = web.get("/dashboard/subjects")
        assert page.status_code == 200
        [pair] = re.findall(r'<article class="pair strong".*?</article>', page.text)
        assert "强匹配" in pair
        assert "电话相同" in pair
        assert pair.count("老王烧烤") == 2
        assert world.case_a in pair
        assert world.case_b in pair
        assert "警告（手机：劝导）" in pair  # the later case, staged over the identity's history
        # the earlier registration is on the left and survives
        left = pair.index(f'id="subject-{world.a.id}"')
        assert left < pair.index(f'id="subject-{world.b.id}"')
        assert f'name="alias" value="{world.b.id}"' in pair
        merged = web.post(
            "/dashboard/subjects/merge", data={"alias": world.b.id, "into": world.a.id, "district": DISTRICT}
        )
        assert merged.status_code == 303
        after = web.get(merged.headers["location"])
        assert "已合并" in after.text
        assert f'id="merged-{world.b.id}"' in after.text
        assert "合并建议（0）" in after.text
        with world.hq.storage.transaction(readonly=True) as tx:
            alias = tx.subject_alias(world.b.id)
            assert alias is not None
            assert alias.survivor_id == world.a.id
            assert [e.action for e in tx.audit_events() if e.action == "subject_merged"] == ["subject_merged"]
        undone = web.post("/dashboard/subjects/unmerge", data={"alias": world.b.id, "district": DISTRICT})
        assert undone.status_code == 303
        assert "已撤销合并" in web.get(undone.headers["location"]).text
        with world.hq.storage.transaction(readonly=True) as tx:
            assert tx.subject_alias(world.b.id) is None
            # split: two subjects even though they share the phone number; the later case back to 劝导
            states = {s.case_no: s.hq_stage for s in tx.list_cases(limit=10)}
        assert states[world.case_b] is Stage.PERSUASION


def test_not_the_same_splits_the_suggestion_and_restages(world: World) -> None:
    with browser_of(world.hq, HQ_USER) as web:
        split = web.post("/dashboard/subjects/split", data={"a": world.a.id, "b": world.b.id})
        assert split.status_code == 303
        assert "合并建议（0）" in web.get(split.headers["location"]).text
        again = web.post("/dashboard/subjects/split", data={"a": world.a.id, "b": world.b.id})
        assert again.status_code == 422
        assert "没有待处理的合并建议" in again.text
    with world.hq.storage.transaction(readonly=True) as tx:
        states = {s.case_no: s.hq_stage for s in tx.list_cases(limit=10)}
    assert states[world.case_b] is Stage.PERSUASION


def test_a_field_conflict_shows_both_values_and_is_resolved_from_the_page(world: World) -> None:
    base = world.a
    push(world.hq, OFFICER, ("subject", (replace(base, address="人民路1号"), {"base_version": 1})))
    push(world.hq, OFFICER_B, ("subject", (replace(base, address="人民路9号"), {"base_version": 1})))
    with browser_of(world.hq, LEADER) as web:
        page = web.get("/dashboard/subjects").text
        [row] = re.findall(r'<tr id="conflict-[^"]+">.*?</tr>', page)
        assert "地址" in row
        assert "人民路1号" in row
        assert "人民路9号" in row
        conflict_id = re.search(r'name="conflict" value="([^"]+)"', row).group(1)  # type: ignore[union-attr]
        bad = web.post("/dashboard/subjects/resolve", data={"conflict": conflict_id, "take": "both"})
        assert bad.status_code == 422
        assert "请选择保留哪个值" in bad.text
        done = web.post("/dashboard/subjects/resolve", data={"conflict": conflict_id, "take": "pushed"})
        assert done.status_code == 303
        assert "字段冲突（0）" in web.get(done.headers["location"]).text
        twice = web.post("/dashboard/subjects/resolve", data={"conflict": conflict_id, "take": "hq"})
        assert twice.status_code == 409
        assert "该冲突已处理" in twice.text
    with world.hq.storage.transaction(readonly=True) as tx:
        assert tx.get_subject(base.id).address == "人民路9号"  # type: ignore[union-attr]


def test_a_weak_suggestion_by_place_is_listed_as_such(world: World) -> None:
    near = Subject(new_id(), SubjectKind.MOBILE_VENDOR, name="老王烧烤摊", district=DISTRICT)
    case = make_case(OFFICER, occurred_at=datetime(2026, 11, 22, 20, 0, tzinfo=LOCAL_TZ), subject_id=near.id)
    push(world.hq, OFFICER, ("subject", near), ("case", case))
    with browser_of(world.hq, LEADER) as web:
        page = web.get("/dashboard/subjects").text
    weak = re.findall(r'<article class="pair weak".*?</article>', page)
    assert len(weak) == 2  # the new 老王烧烤摊 with each 老王烧烤
    assert all("弱匹配" in w and "名称相近且在附近" in w and "老王烧烤摊" in w for w in weak)
    assert page.index('class="pair strong"') < page.index('class="pair weak"')  # strong pairs first


def test_scope_and_bad_forms(world: World) -> None:
    with world.hq.storage.transaction() as tx:
        PINS[FAR_LEADER.badge] = "863101"
        tx.put_user(
            UserRow(officer=FAR_LEADER, pin_hash=PinHasher(world.hq.settings.pin_hashing).hash("863101"))
        )
    try:
        with browser_of(world.hq, FAR_LEADER) as web:
            own = web.get("/dashboard/subjects")
            assert own.status_code == 200
            assert "合并建议（0）" in own.text  # another district's pairs are not shown
            assert web.get("/dashboard/subjects", params={"district": DISTRICT}).status_code == 403
            refused = web.post("/dashboard/subjects/merge", data={"alias": world.b.id, "into": world.a.id})
            assert refused.status_code == 403
            assert "只能合并本辖区的当事人" in refused.text
            assert (
                web.post(
                    "/dashboard/subjects/merge",
                    data={"alias": world.b.id, "into": world.a.id, "district": DISTRICT},
                ).status_code
                == 403
            )
        with browser_of(world.hq, HQ_USER) as web:
            assert 'href="/dashboard/subjects" id="subjects-link"' in web.get("/dashboard").text
            assert "合并建议（1）" in web.get("/dashboard/subjects", params={"district": DISTRICT}).text
            empty = web.post("/dashboard/subjects/merge", data={"alias": world.b.id})
            assert empty.status_code == 422
            assert "表单无效" in empty.text
            assert web.post("/dashboard/subjects/merge", content=b"x" * 10_000).status_code == 422
            gone = web.post("/dashboard/subjects/unmerge", data={"alias": world.b.id})
            assert gone.status_code == 409
            assert "该当事人没有被合并" in gone.text
    finally:
        PINS.pop(FAR_LEADER.badge, None)


def test_names_in_any_script_show_intact_and_a_bidi_override_cannot_reorder_the_merged_row(
    tmp_path: Path,
) -> None:
    """Two registrations of one vendor (one phone number), named in right-to-left Uyghur and with a
    right-to-left override pasted inside: each name is shown as stored, and in the merged row, where both
    stand in one cell, each is isolated (``<bdi>``) so the override cannot run on into the arrow and the
    other name (``老王 → 烧烤`` read backwards)."""
    hq = make_hq(tmp_path)
    try:
        day = datetime(2026, 11, 20, 21, 0, tzinfo=LOCAL_TZ)
        names = ("مەمەت كاۋاپ", "𠀀👨\u200d👩\u200d👧\u200d👦老\u202e王烧烤")
        vendors = []
        for n, (officer, name) in enumerate(zip((OFFICER, OFFICER_B), names, strict=True)):
            vendor = Subject(new_id(), SubjectKind.MOBILE_VENDOR, name=name, phone="13812345678",
                             district=DISTRICT, created_at=day + timedelta(days=n))  # fmt: skip
            case = make_case(officer, occurred_at=day + timedelta(days=n), subject_id=vendor.id)
            push(hq, officer, ("subject", vendor), ("case", case))
            vendors.append(vendor)
        with browser_of(hq, LEADER) as web:
            page = web.get("/dashboard/subjects").text
            for name in names:
                assert name in page
            merged = web.post(
                "/dashboard/subjects/merge",
                data={"alias": vendors[1].id, "into": vendors[0].id, "district": DISTRICT},
            )
            after = web.get(merged.headers["location"]).text
        [row] = re.findall(rf'<tr id="merged-{vendors[1].id}">.*?</tr>', after)
        assert f"<bdi>{names[1]}</bdi> → <bdi>{names[0]}</bdi>" in row
    finally:
        hq.close()
