"""The feed fan-out of HQ's state of cases and shifts: what each change tells which phones.

Whenever HQ's state of a case version changes (stored, restaged, reviewed, its photos complete)
``emit_case_state`` tells the officer (``case_state``: stage, HQ's reason, photos still missing, returned)
and the squad's leaders (``squad_case``, the version with HQ's stage and its reviews), in one stored entry
whose leaders' record a pull reads from the version's ``cases`` row (``Tx.emit_case``).
Every shift record stored goes to the leaders as ``squad_shift`` (``emit_squad_shift``); a subject's whole
case history goes to its district as ``history`` (``emit_history``).

These only queue changes in the caller's transaction (``Tx.emit``); the storage numbers them at commit.
Used by ``hq.ingest.push`` (pushes, reviews, restaging) and by the HQ app (photos complete).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from pydantic import TypeAdapter

from enforcement.codec import to_json_dict
from enforcement.labels import subject_label
from enforcement.model import HistoryEntry, Officer, Review, ReviewDecision, Shift, Subject, SyncState
from enforcement.policy import Policy
from enforcement.staging import window_start
from hq.storage.base import CaseState, ChangeKind, ChangeScope, Tx
from hq.storage.sqlcore import dumps
from hq.subjectmatch import group_history, identity_group
from patrollog.reviewing import best_known_at
from sync.protocol import SquadShiftData

__all__ = [
    "case_state_data", "emit_case_state", "emit_group_history", "emit_history", "emit_squad_shift",
    "history_data", "history_since", "history_text", "leaders_data", "squad_case_data",
]  # fmt: skip


class _Unset(enum.Enum):
    """Not given by the caller (``None`` is a value: a device HQ never saw)."""

    UNSET = "unset"


UNSET = _Unset.UNSET


def emit_case_state(
    tx: Tx,
    state: CaseState,
    *,
    case: Mapping[str, Any] | None = None,
    officer_name: str | None = None,
    subject: Subject | None = None,
    missing: Sequence[str] | None = None,
    label: str | None = None,
    first_seen: datetime | _Unset | None = UNSET,
) -> list[str]:
    """Tell the case's officer HQ's state of it (``case_state``: stage and HQ's reason for it, photos still
    missing, returned) and the squad's leaders the version as a whole (``squad_case``: the record, HQ's
    stage and reason, every review of the version, the officer's name, the subject's label and the first
    sign-in of the version's device), both in ONE stored entry (``Tx.emit_case``: the leaders' record is
    read from the version's ``cases`` row when pulled, not copied); returns the missing photos.
    ``case`` (its codec JSON), ``officer_name``, ``subject``: what the caller already holds (read from
    ``tx`` when not given); ``missing``: the photos still missing, ``label``: the subject's label,
    ``first_seen``: the first sign-in of the case's device (``Tx.device_first_seen``, else read from HQ's
    devices table for the stored version's device id), when the caller knows them."""
    missing = tx.missing_photos(state.case_id) if missing is None else list(missing)
    if state.review == ReviewDecision.RETURN.value:
        sync_state = SyncState.RETURNED
    else:
        sync_state = SyncState.SENT if missing else SyncState.COMPLETE
    data = case_state_data(state, sync_state, missing)
    if officer_name is None:
        user = tx.get_user(state.officer_badge)
        officer_name = user.officer.name if user is not None else ""
    if label is None:
        if subject is None and state.subject_id:
            subject = tx.get_subject(state.subject_id, include_deleted=True)
        label = subject_label(subject) if subject is not None else ""
    reviews = tx.reviews_for_case(state.case_id) if state.review else []
    if isinstance(first_seen, _Unset):
        if case is None:
            stored = tx.get_case(state.case_id)
            case = to_json_dict(stored) if stored is not None else {}
        # the stored version's device id, which ingest checked against the pushing token (hq.ingest.cases)
        device_id = case.get("device_id")
        first_seen = tx.device_first_seen(device_id) if isinstance(device_id, str) and device_id else None
    # dated by its best-known time: a 1970 or 2099 case a wrong clock made is in the leaders' window too
    placed = best_known_at(state.occurred_at, state.received_at)
    tx.emit_case(data, leaders_data(reviews, officer_name, label, first_seen), badge=state.officer_badge,
                 squad=state.squad_code, placed=placed)  # fmt: skip
    return missing


def emit_squad_shift(tx: Tx, shift: Shift, officer: Officer) -> None:
    """Publish a shift record to the leaders of its officer's squad (``squad_shift``, key: the shift id)."""
    data = SquadShiftData(shift=to_json_dict(shift), officer_name=officer.name, squad_code=officer.squad_code)
    tx.emit(ChangeKind.SQUAD_SHIFT, shift.id, data.model_dump(mode="json"),
            ChangeScope(squad=officer.squad_code), occurred_at=shift.started_at)  # fmt: skip


def emit_history(
    tx: Tx, subject_id: str, district: str, *, entries: Sequence[HistoryEntry] | None = None
) -> None:
    """Publish the subject's whole case history to its district (pulls trim it to their window).
    ``entries``: the history as ``tx.subject_history`` would give it now, when the caller has it."""
    if entries is None:
        entries = group_history(tx, subject_id)  # the whole identity's (hq.subjectmatch)
    newest = max((e.occurred_at for e in entries), default=None)
    tx.emit(ChangeKind.HISTORY, subject_id, {}, ChangeScope(district=district), occurred_at=newest,
            text=history_text(subject_id, entries))  # fmt: skip


#: a wire time as the models write it (``received_at``: when HQ received the case)
_TIME: TypeAdapter[datetime | None] = TypeAdapter(datetime | None)


def squad_case_data(
    state: CaseState,
    missing: Sequence[str],
    case: Mapping[str, Any],
    reviews: Sequence[Review],
    officer_name: str,
    label: str,
    first_seen: datetime | None = None,
) -> dict[str, Any]:
    """``SquadCaseData``'s JSON form, built directly (tests/hq/test_feed_forms.py: equal to the model's);
    ``first_seen``: the first sign-in at HQ of the version's device (``Tx.device_first_seen``)."""
    return {
        "case": dict(case),
        "hq_stage": int(state.hq_stage),
        "hq_reason_zh": state.explain_zh,
        "hq_reason_en": state.explain_en,
        "reviews": [to_json_dict(review) for review in reviews],
        "officer_name": officer_name,
        "subject_label": label,
        "missing_photos": len(missing),
        "received_at": _TIME.dump_python(state.received_at, mode="json"),
        "device_first_seen": _TIME.dump_python(first_seen, mode="json"),
    }


def leaders_data(
    reviews: Sequence[Review], officer_name: str, label: str, first_seen: datetime | None
) -> dict[str, Any]:
    """What a case version's feed entry keeps for its squad's leaders beside the officer's ``case_state``
    (``Tx.emit_case``): with it, the version's record and the state, a pull builds ``squad_case_data``."""
    return {
        "device_first_seen": _TIME.dump_python(first_seen, mode="json"),
        "officer_name": officer_name,
        "reviews": [to_json_dict(review) for review in reviews],
        "subject_label": label,
    }


def case_state_data(state: CaseState, sync_state: SyncState, missing: Sequence[str]) -> dict[str, Any]:
    """``CaseStateData``'s JSON form, built directly (tests/hq/test_feed_forms.py: equal to the model's)."""
    return {
        "case_id": state.case_id,
        "case_no": state.case_no,
        "state": sync_state.value,
        "hq_stage": int(state.hq_stage),
        "hq_reason_zh": state.explain_zh,
        "hq_reason_en": state.explain_en,
        "missing_photos": list(missing),
        "received_at": _TIME.dump_python(state.received_at, mode="json"),
    }


_ENTRIES: TypeAdapter[list[HistoryEntry]] = TypeAdapter(list[HistoryEntry])


def history_data(subject_id: str, entries: Sequence[HistoryEntry]) -> dict[str, Any]:
    """``HistoryData``'s JSON form, built directly (tests/hq/test_feed_forms.py: equal to the model's)."""
    return {"subject_id": subject_id, "entries": _ENTRIES.dump_python(list(entries), mode="json")}


def history_text(subject_id: str, entries: Sequence[HistoryEntry]) -> str:
    """``history_data`` as JSON text, the entries encoded by pydantic-core in one call (tests/hq/
    test_feed_forms.py: it reads back as ``history_data``)."""
    return f'{{"entries":{_ENTRIES.dump_json(list(entries)).decode()},"subject_id":{dumps(subject_id)}}}'


def history_since(now: datetime, window_days: int, policy: Policy | None = None) -> datetime:
    """Where a pull's subject history starts (``changes_after(history_since=…)``): the staged rule's own
    window (``enforcement.staging.window_start``) for a case recorded ``now``, over the longest window
    of ``window_days`` (HQ's setting) and the policy in force (a street class may look back further).
    Calendar days, not 24-hour periods: a case at 00:30 on the first counted day reaches the phone."""
    days = window_days
    if policy is not None:
        days = max(days, policy.staging.window_days, *(p.window_days for p in policy.street_classes.values()))
    return window_start(now, days)


def emit_group_history(tx: Tx, subject_id: str, *, skip: str = "") -> None:
    """Publish the identity's history under every member of the subject's identity group (but ``skip``),
    so each phone stages a case of any of them over all of it (``hq.subjectmatch``)."""
    members = identity_group(tx, subject_id)
    if len(members) == 1 and skip == subject_id:
        return
    entries = group_history(tx, subject_id, members=members)
    for member in sorted(members - {skip}):
        subject = tx.get_subject(member, include_deleted=True)
        if subject is not None:
            emit_history(tx, member, subject.district, entries=entries)
