"""Subject edits merged field by field, never lost (issue #22).

A pushed subject write may carry ``base_version`` (a payload key, optional: an older phone sends none): the
HQ version of the subject the officer's edit was made from (the phone learns it from the ``subject``
change's ``version``). ``apply_edit`` merges it with what HQ holds now, field by field against that base:

- a field the edit left as it was in the base keeps HQ's value (another device's change survives);
- a field only the edit changed (or changed to the same value as HQ) takes the edit's value;
- a field changed two ways is a **conflict**: HQ keeps its value, and the pushed one is recorded
  (``SubjectConflict``, both values and the base) for the leader until resolved (``resolve_conflict``).

Without ``base_version``, or when the edit was made from HQ's current version, the whole record wins, as
before. Every accepted write is a ``SubjectRevision`` (version 1, 2, …: who, from which device, when,
which fields changed): the subject's history, read at HQ (``GET /v1/subjects/{id}/history``) and sent
to the phones with the subject (``subject_change_data``: ``version`` and the last ``PHONE_EDITS`` edits).
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import datetime
from typing import Any

from enforcement.codec import to_json_dict
from enforcement.identifiers import mask_resident_id
from enforcement.model import Subject
from hq.storage.base import ChangeKind, ChangeScope, SubjectConflict, SubjectRevision, Tx

__all__ = [
    "FIELDS",
    "PHONE_EDITS",
    "apply_edit",
    "publish_subject",
    "resolve_conflict",
    "shown",
    "subject_change_data",
]

#: The fields an officer edits (the id, district and creation time never change by an edit).
FIELDS = ("kind", "name", "phone", "plate", "address", "description", "id_number", "hardship")
#: Edits of a subject the phones receive with it (the full history is read at HQ).
PHONE_EDITS = 20


def _text(value: Any) -> str:
    return str(value.value) if hasattr(value, "value") else str(value)


def shown(field: str, value: Any) -> str:
    """A field value as the API shows it in a conflict or the history: a resident ID never in full."""
    text = _text(value)
    return mask_resident_id(text) if field == "id_number" and text else text


def apply_edit(
    tx: Tx, clean: Subject, *, base_version: int | None, by_badge: str, device_id: str, at: datetime
) -> tuple[Subject, list[SubjectConflict]]:
    """What to store for this write and the conflicts it found (already recorded); records the revision."""
    stored = tx.get_subject(clean.id)
    revisions = tx.subject_revisions(clean.id, limit=5000)
    current = revisions[-1].version if revisions else (1 if stored is not None else 0)
    result, conflicts = clean, []
    if stored is not None and base_version is not None and base_version < current:
        base = next((r.payload for r in revisions if r.version == base_version), None)
        if base is not None:
            values: dict[str, Any] = {}
            for field in FIELDS:
                was, theirs, mine = _text(base.get(field, "")), getattr(stored, field), getattr(clean, field)
                if _text(mine) == was or _text(theirs) == _text(mine):
                    values[field] = theirs
                elif _text(theirs) == was:
                    values[field] = mine
                else:
                    values[field] = theirs
                    conflicts.append(
                        SubjectConflict(
                            id=str(uuid.uuid4()),
                            subject_id=clean.id,
                            district=stored.district,
                            field=field,
                            base_value=_text(was),
                            hq_value=_text(theirs),
                            pushed_value=_text(mine),
                            by_badge=by_badge,
                            device_id=device_id,
                            at=at,
                        )
                    )
            result = replace(clean, **values)
    if stored is None:
        changed = tuple(f for f in FIELDS if _text(getattr(result, f)) not in ("", "False"))
    else:
        changed = tuple(f for f in FIELDS if _text(getattr(result, f)) != _text(getattr(stored, f)))
    if stored is not None and not revisions:  # a subject stored before edit histories: its first version
        tx.add_subject_revision(SubjectRevision(clean.id, 1, at, "", "", to_json_dict(stored), ()))
        current = 1
    tx.add_subject_revision(
        SubjectRevision(clean.id, current + 1, at, by_badge, device_id, to_json_dict(result), changed)
    )
    for conflict in conflicts:
        tx.add_subject_conflict(conflict)
        tx.audit(
            by_badge, "subject_conflict", target=clean.id, detail={"field": conflict.field, "id": conflict.id}
        )
    return result, conflicts


def subject_change_data(tx: Tx, subject: Subject) -> dict[str, Any]:
    """The ``subject`` change's data: the codec dict plus ``version`` and the last edits (additive keys an
    older phone ignores)."""
    revisions = tx.subject_revisions(subject.id, limit=5000)
    data = to_json_dict(subject)
    data["version"] = revisions[-1].version if revisions else 1
    data["edits"] = [
        {
            "version": r.version,
            "at": r.at.isoformat(),
            "by_badge": r.by_badge,
            "device_id": r.device_id,
            "fields": list(r.changed),
        }
        for r in revisions[-PHONE_EDITS:]
    ]
    return data


def publish_subject(tx: Tx, subject: Subject) -> None:
    """Re-send the stored subject to its district with its version and edits (replaces the plain change
    ``save_subject`` queued in this transaction)."""
    tx.emit(
        ChangeKind.SUBJECT,
        subject.id,
        subject_change_data(tx, subject),
        ChangeScope(district=subject.district),
    )


def resolve_conflict(tx: Tx, conflict_id: str, *, take: str, by_badge: str, at: datetime) -> Subject | None:
    """Resolve a conflict: ``take`` "hq" keeps HQ's value, "pushed" writes the pushed value as a new
    revision. None when the conflict is unknown or resolved already."""
    conflict = tx.get_subject_conflict(conflict_id)
    if conflict is None or conflict.resolved_at is not None:
        return None
    stored = tx.get_subject(conflict.subject_id)
    if stored is None:
        return None
    tx.resolve_subject_conflict(conflict_id, at, by_badge)
    tx.audit(by_badge, "subject_conflict_resolved", target=conflict.subject_id,
             detail={"id": conflict_id, "field": conflict.field, "take": take})  # fmt: skip
    if take != "pushed":
        return stored
    value: Any = conflict.pushed_value
    if conflict.field == "hardship":
        value = value == "True"
    updated = replace(stored, **{conflict.field: value})
    revisions = tx.subject_revisions(stored.id, limit=5000)
    version = (revisions[-1].version if revisions else 1) + 1
    tx.add_subject_revision(
        SubjectRevision(stored.id, version, at, by_badge, "hq", to_json_dict(updated), (conflict.field,))
    )
    tx.save_subject(updated, at=at, by_badge=by_badge)
    publish_subject(tx, updated)
    return updated
