"""当事人合并 on the leader's phone (issue #22, ``IdentityState`` / ``IdentityView``), browserless against a
real HQ on loopback: the district's strong pair and a field conflict fetched, kept for offline, merged and
resolved at HQ through the phone's client; offline the screen says so in Chinese and English and changes
nothing; an officer's phone shows nothing of it."""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import pytest

from enforcement.codec import to_json_dict
from enforcement.model import LOCAL_TZ, Officer, Subject, SubjectKind, new_id
from hq.ingest.push import ingest_batch
from mobile.state.app_state import AppState
from mobile.state.identity import OFFLINE
from mobile.views.identity import IdentityView
from mobile.views.squad import SquadView
from sync.protocol import PushRecord
from testkit.hqkit import DISTRICT, LEADER, OFFICER, OFFICER_B, Hq, make_case
from tests.mobile.statekit import Apps, dead_url, sign_in
from tests.mobile.viewkit import open_screen, texts

_seq = itertools.count(1)


def push(hq: Hq, user: Officer, *records: tuple[str, Any, dict[str, Any]]) -> None:
    batch = [
        PushRecord(kind=kind, id=r.id, device_seq=next(_seq), payload=to_json_dict(r) | extra)
        for kind, r, extra in records
    ]
    results = ingest_batch(hq.storage, user, f"dev-{user.badge}", batch, now=hq.clock())
    assert all(r.status in ("accepted", "conflict") for r in results), results


@pytest.fixture
def vendors(hq: Hq) -> tuple[Subject, Subject]:
    """老王烧烤 registered twice with one phone number (a strong pair), and a field changed two ways on the
    first (an open conflict)."""
    day = datetime(2026, 11, 20, 21, 0, tzinfo=LOCAL_TZ)
    out = []
    for n, (officer, phone) in enumerate(((OFFICER, "13812345678"), (OFFICER_B, "138 1234 5678"))):
        vendor = Subject(new_id(), SubjectKind.MOBILE_VENDOR, name="老王烧烤", phone=phone, district=DISTRICT,
                         created_at=day + timedelta(days=n))  # fmt: skip
        case = make_case(officer, occurred_at=day + timedelta(days=n), subject_id=vendor.id)
        push(hq, officer, ("subject", vendor, {}), ("case", case, {}))
        out.append(vendor)
    push(hq, OFFICER, ("subject", replace(out[0], address="人民路1号"), {"base_version": 1}))
    push(hq, OFFICER_B, ("subject", replace(out[0], address="人民路9号"), {"base_version": 1}))
    return out[0], out[1]


@pytest.fixture
def leader(make_app: Apps, hq: Hq) -> AppState:
    app = make_app()
    sign_in(app, hq.serve().url, LEADER)
    return app


def test_the_leader_fetches_merges_and_resolves_on_the_phone(
    leader: AppState, hq: Hq, vendors: tuple[Subject, Subject]
) -> None:
    a, b = vendors
    shell, _squad = open_screen(leader, SquadView, "squad")
    assert "当事人合并与冲突" in texts(shell.body)
    shell.go("identity")
    screen = shell.screen
    assert isinstance(screen, IdentityView)
    assert "合并建议（0）" in texts(shell.body)  # nothing fetched yet
    asyncio.run(screen.refresh())
    shown = " ".join(texts(shell.body))
    assert "合并建议（1）" in shown
    assert "强匹配：已按同一当事人核定阶段" in shown
    assert "原因：电话相同" in shown
    assert "字段冲突（1）" in shown
    assert "地址：原值 — · 现值 人民路1号 · 手机 人民路9号（1024）" in shown
    # kept for offline: a fresh state over the same store shows the same lists
    leader.identity.load()
    assert len(leader.identity.suggestions) == 1
    [pair] = leader.identity.suggestions
    asyncio.run(screen.merge(pair))
    assert "已合并，正在同步" in texts(shell.body)
    with hq.storage.transaction(readonly=True) as tx:
        alias = tx.subject_alias(pair.b)
        assert alias is not None
        assert alias.survivor_id == pair.a
    assert {pair.a, pair.b} == {a.id, b.id}
    [conflict] = leader.identity.conflicts
    asyncio.run(screen.resolve(conflict, "pushed"))
    assert "冲突已处理" in texts(shell.body)
    with hq.storage.transaction(readonly=True) as tx:
        assert tx.get_subject(a.id).address == "人民路9号"  # type: ignore[union-attr]
    assert "字段冲突（0）" in texts(shell.body)


def test_offline_the_phone_says_merging_needs_hq_and_changes_nothing(
    leader: AppState, hq: Hq, vendors: tuple[Subject, Subject]
) -> None:
    asyncio.run(leader.identity.refresh())
    [pair] = leader.identity.suggestions
    leader.settings.update(hq_url=dead_url())
    shell, screen = open_screen(leader, IdentityView, "identity")
    asyncio.run(screen.merge(pair))
    shown = " ".join(texts(shell.body))
    assert "离线：合并和处理冲突需要连接指挥中心" in shown
    assert "合并建议（1）" in shown  # the last fetched lists stay
    assert leader.identity.error is OFFLINE
    assert OFFLINE.message("en").startswith("Offline: merging and resolving need a connection to HQ")
    with hq.storage.transaction(readonly=True) as tx:
        assert tx.subject_alias(pair.b) is None
    assert asyncio.run(leader.identity.refresh()) is False


def test_an_officers_phone_shows_nothing_of_it(
    make_app: Apps, hq: Hq, vendors: tuple[Subject, Subject]
) -> None:
    app = make_app()
    sign_in(app, hq.serve().url, OFFICER)
    shell, _screen = open_screen(app, IdentityView, "identity")
    assert "仅中队长可用" in texts(shell.body)
    assert "合并" not in texts(shell.body)
