"""The change feed's data built directly by ``hq.feed`` equals the wire models' JSON form (what phones
parse): ``case_state``, ``squad_case`` (also as a pull builds it from a case version's one stored entry and
its record) and ``history`` entries, times in and out of UTC."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from enforcement.codec import to_json_dict
from enforcement.model import CaseStatus, HistoryEntry, Review, ReviewDecision, Stage, SyncState
from hq.feed import case_state_data, history_data, history_text, leaders_data, squad_case_data
from hq.storage.base import CaseState
from hq.storage.sql_feed import squad_case_of
from hq.storage.sqlcore import dumps, loads
from sync.protocol import CaseStateData, HistoryData, SquadCaseData
from testkit.records import NOW, make_case


def _state(stage: Stage) -> CaseState:
    return CaseState(
        case_id="c1", case_no="ZD01-1023-261122-K7Q2M-0001", version=1, officer_badge="1023",
        squad_code="ZD01", district="金水区", subject_id=None, violation_code="0510", occurred_at=NOW,
        received_at=NOW, device_stage=Stage.PERSUASION, chosen_stage=Stage.PERSUASION, hq_stage=stage,
        hq_ordinal=int(stage), stage_conflict=stage is not Stage.PERSUASION, explain_zh="第二次：警告",
        explain_en="2nd: warning", photos_expected=2, photos_stored=1, latest=True,
    )  # fmt: skip


@pytest.mark.parametrize("stage", list(Stage))
@pytest.mark.parametrize("sync_state", [SyncState.SENT, SyncState.COMPLETE, SyncState.RETURNED])
def test_case_state_data_is_the_models_json(stage: Stage, sync_state: SyncState) -> None:
    state = _state(stage)
    missing = ["b" * 64] if sync_state is SyncState.SENT else []
    model = CaseStateData(
        case_id=state.case_id, case_no=state.case_no, state=sync_state, hq_stage=state.hq_stage,
        hq_reason_zh=state.explain_zh, hq_reason_en=state.explain_en, missing_photos=missing,
        received_at=state.received_at,
    )  # fmt: skip
    assert case_state_data(state, sync_state, missing) == model.model_dump(mode="json")


@pytest.mark.parametrize("reviewed", [False, True])
@pytest.mark.parametrize(
    "first_seen",
    [None, NOW - timedelta(days=3), (NOW - timedelta(days=3)).astimezone(UTC).replace(microsecond=654321)],
    ids=["unknown", "local", "utc-us"],
)
def test_squad_case_data_is_the_models_json(reviewed: bool, first_seen: datetime | None) -> None:
    case = make_case()
    review = Review("r1", case.id, case.case_no, ReviewDecision.RETURN, "2001", NOW, "请补拍")
    reviews = [review] if reviewed else []
    state, missing = _state(Stage.WARNING), ["b" * 64, "c" * 64]
    model = SquadCaseData(
        case=to_json_dict(case), hq_stage=state.hq_stage, hq_reason_zh=state.explain_zh,
        hq_reason_en=state.explain_en, reviews=[to_json_dict(r) for r in reviews], officer_name="王㐂𠮷",
        subject_label="烧烤摊", missing_photos=len(missing), received_at=state.received_at,
        device_first_seen=first_seen,
    )  # fmt: skip
    built = squad_case_data(state, missing, to_json_dict(case), reviews, "王㐂𠮷", "烧烤摊", first_seen)
    # what the phone parses back is the very moment HQ read from its devices table
    assert SquadCaseData.model_validate(built).device_first_seen == first_seen
    assert built == model.model_dump(mode="json")
    # … and what a pull builds from the version's one feed entry (the officer's state and the leaders'
    # fields, stored and read back) and its stored record is that very data, keys in its stored order
    stored = loads(dumps({**case_state_data(state, SyncState.SENT, missing),
                          "leaders": leaders_data(reviews, "王㐂𠮷", "烧烤摊", first_seen)}))  # fmt: skip
    pulled = squad_case_of(stored, stored.pop("leaders"), dumps(to_json_dict(case)))
    assert pulled == built
    assert list(pulled) == list(loads(dumps(built)))
    assert stored == case_state_data(state, SyncState.SENT, missing)  # the officer's part, unchanged


def test_history_data_is_the_models_json() -> None:
    entries = [
        HistoryEntry("a", "N-1", "0510", NOW, Stage.PERSUASION),
        HistoryEntry("b", "N-2", "0501", (NOW + timedelta(hours=1)).astimezone(UTC), Stage.WARNING,
                     CaseStatus.WITHDRAWN, 2),
        HistoryEntry("c", "N-3", "0510", NOW.replace(microsecond=123456), Stage.PENALTY, CaseStatus.VOIDED),
    ]  # fmt: skip
    model = HistoryData(subject_id="s1", entries=entries)
    assert history_data("s1", entries) == model.model_dump(mode="json")
    assert history_data("s1", []) == HistoryData(subject_id="s1", entries=[]).model_dump(mode="json")
    # the text the feed stores reads back as the same data (ids with quotes and non-ASCII text too)
    assert json.loads(history_text("s1", entries)) == history_data("s1", entries)
    assert json.loads(history_text("s1", [])) == history_data("s1", [])
    odd = [HistoryEntry('a"\\b', "街巡-𠮷-1", "0510", NOW, Stage.PERSUASION)]
    assert json.loads(history_text('s"1', odd)) == history_data('s"1', odd)
