"""The review round trip through a real HQ, at the state level (no browser): an officer's phone and the
squad leader's phone, each with its own store and the real sync client.

The officer saves a case and syncs; the leader's pull brings it into the squad's day and queue; the leader
returns it with a reason; the officer's next pull shows it returned; the officer amends it as version 2;
the leader's next pull puts version 2 in the queue; the leader approves it and HQ has both decisions."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from enforcement.model import ReviewDecision, SyncState
from mobile.state.app_state import AppState
from patrollog.reviewing import ReviewStatus
from testkit.hqkit import LEADER, OFFICER, Hq
from tests.mobile.statekit import Apps, apps_of, saved_case, sign_in


@pytest.fixture
def officer_apps(tmp_path: Path) -> Iterator[Apps]:
    yield from apps_of(tmp_path / "officer")


@pytest.fixture
def leader_apps(tmp_path: Path) -> Iterator[Apps]:
    yield from apps_of(tmp_path / "leader")


def logged(app: AppState, case_id: str) -> object:
    return next(entry for entry in app.today.cases() if entry.case.id == case_id)


def test_return_amend_approve_round_trip(hq: Hq, officer_apps: Apps, leader_apps: Apps) -> None:
    officer = officer_apps()
    sign_in(officer, hq.serve().url, OFFICER)
    leader = leader_apps()
    sign_in(leader, hq.serve().url, LEADER)
    assert leader.squad.is_leader
    assert not officer.squad.is_leader

    case_id = saved_case(officer, photo_seed=21)  # saving pokes the link: synced at once (inline link)
    leader.link.kick()
    [item] = leader.squad.queue()
    assert item.line.case_id == case_id
    assert (item.line.officer_name, item.line.subject, item.photos) == (OFFICER.name, "刘小摊", 1)
    assert item.line.review is ReviewStatus.COUNTED

    returned = leader.squad.return_case(case_id, "请补拍摊位全景")  # pokes the link: pushed at once
    assert leader.store.outbox_stats()[0] == 0  # HQ took it
    officer.link.kick()
    entry = logged(officer, case_id)
    assert entry.sync_state is SyncState.RETURNED  # type: ignore[attr-defined]
    assert entry.review.comment == "请补拍摊位全景"  # type: ignore[attr-defined]
    assert entry.review.reviewer_badge == LEADER.badge  # type: ignore[attr-defined]

    officer.detail.amend(case_id)
    officer.drafts.update(notes="已补拍全景")
    amended = officer.drafts.save()
    assert amended.version == 2
    leader.link.kick()
    [item] = leader.squad.queue()
    assert (item.line.case_id, item.line.version) == (amended.id, 2)
    log = leader.squad.daylog()
    assert log.figures.returned == 1  # the returned version still counts as returned once

    approved = leader.squad.approve(amended.id)
    assert leader.squad.queue() == []
    assert leader.store.outbox_stats()[0] == 0
    with hq.storage.transaction(readonly=True) as tx:
        at_hq = {r.id: r for r in tx.reviews_for_case(case_id)} | {
            r.id: r for r in tx.reviews_for_case(amended.id)
        }
    assert set(at_hq) == {returned.id, approved.id}
    assert at_hq[returned.id].decision is ReviewDecision.RETURN
    assert at_hq[approved.id].decision is ReviewDecision.APPROVE
    assert at_hq[approved.id].reviewer_badge == LEADER.badge
