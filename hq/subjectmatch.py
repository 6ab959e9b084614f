"""One vendor, one history (issue #22): which subjects of a district are one identity for the staged rule.

Every subject HQ stores gets its matching keys (``keys_of``: ``enforcement.identifiers.strong_keys`` —
phone, plate, resident ID — and a weak ``name:<kind>:<normalised name>`` key). ``note_subject`` compares
them with the district's other subjects and keeps one ``SubjectPair`` per alike pair:

- **strong** (a shared phone, plate or ID number): the two are ONE identity for HQ's stage at once —
  ``group_history`` reads the history of the whole identity group — and the pair is an ``open`` merge
  suggestion until a leader merges it (``hq.merge``) or splits it (unmerge: two subjects after all);
- **weak** (same kind, same normalised name — reason ``name`` —, or same kind, similar names
  (``enforcement.identifiers.similar_names``) and cases near the same place — reason ``place``: a case's
  fix gives its subject a ``place:<x>:<y>`` key of a ~200 m grid cell (``note_place``, called by ingest),
  and subjects with keys in that cell or a neighbouring one are compared, ``MAX_NEAR`` at most per
  registration): only suggested, never counted.

The identity group of a subject (``identity_group``) is the set reachable over pairs that link: strong
and not ``split``, or ``merged``. A leader's decision (``merged`` / ``split``) is never changed by a
later edit; an ``open`` pair follows the keys (it goes when they no longer match).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from enforcement.geo import M_PER_DEG, Coord, grid_cell
from enforcement.identifiers import normalise_shop_name, similar_names, strong_keys
from enforcement.model import HistoryEntry, Subject
from hq.storage.base import SubjectPair, Tx

__all__ = [
    "MAX_GROUP", "MAX_NEAR", "MAX_PLACES", "MAX_WEAK", "MERGED", "OPEN", "SPLIT", "STRONG", "WEAK",
    "group_history", "identity_group", "identity_groups", "keys_of", "links", "note_place", "note_subject",
    "place_key", "subject_lock_keys",
]  # fmt: skip

STRONG, WEAK = "strong", "weak"
OPEN, MERGED, SPLIT = "open", "merged", "split"
#: An identity group never grows past this many subjects (a phone number typed into hundreds of records
#: by mistake must not make one history of a whole district).
MAX_GROUP = 50
#: New weak (name) suggestions one registration makes at most.
MAX_WEAK = 10
#: Cases within about this many metres (the same or a neighbouring grid cell) are "near the same place".
PLACE_CELL_M = 200.0
PLACE_CELL_DEG = PLACE_CELL_M / M_PER_DEG
#: Places (cells of its cases) a subject keeps for matching at most.
MAX_PLACES = 20
#: Subjects found only near a place whose names are read and compared, at most, per registration.
MAX_NEAR = 50


def keys_of(subject: Subject) -> set[str]:
    """The subject's matching keys: its strong keys, and ``name:<kind>:<key>`` when the name has 2+
    characters after normalising."""
    keys = set(strong_keys(subject.phone, subject.plate, subject.id_number))
    name = normalise_shop_name(subject.name)
    if len(name) >= 2:
        keys.add(f"name:{subject.kind.value}:{name}")
    return keys


def links(pair: SubjectPair) -> bool:
    """Whether the pair makes its two subjects one identity for the staged rule."""
    return pair.state == MERGED or (pair.strength == STRONG and pair.state != SPLIT)


def place_key(p: Coord) -> str:
    """The ``place:<x>:<y>`` key of the grid cell (``PLACE_CELL_M`` a side) a case's fix falls in."""
    x, y = grid_cell(p, PLACE_CELL_DEG)
    return f"place:{x}:{y}"


def _around(key: str) -> set[str]:
    """The place key and its eight neighbours' (cases in them are "near the same place")."""
    _, x, y = key.split(":")
    return {f"place:{int(x) + dx}:{int(y) + dy}" for dx in (-1, 0, 1) for dy in (-1, 0, 1)}


def _match(shared: set[str], *, known: bool) -> tuple[str, str] | None:
    """(strength, reason) of the subject and another sharing ``shared`` keys (or their places' cells),
    None when they are not alike; ``known``: the other is read to compare names (bounded by the caller)."""
    strong = sorted({k.split(":", 1)[0] for k in shared if not k.startswith(("name:", "place:"))})
    if strong:  # the reason names the kinds of key only: an ID number is never shown in full
        return STRONG, ",".join(strong)
    near = any(k.startswith("place:") for k in shared)
    if any(k.startswith("name:") for k in shared):
        return WEAK, "name,place" if near else "name"
    return (WEAK, "place") if near and known else None


def note_subject(tx: Tx, subject: Subject, *, at: datetime, by_badge: str = "", place: str = "") -> set[str]:
    """Store the subject's keys (with ``place``, a new ``place_key`` of one of its cases) and bring its
    ``open`` pairs up to date; returns the subjects whose identity group changed (empty when none did):
    their cases are to be restaged."""
    places = {k for k in tx.subject_keys(subject.id) if k.startswith("place:")} | (
        {place} if place else set()
    )
    keys = keys_of(subject)
    tx.set_subject_keys(subject.id, subject.district, keys | places)
    wanted = keys | {near for key in places for near in _around(key)}
    found = tx.subjects_with_keys(subject.district, wanted) if wanted else {}
    found.pop(subject.id, None)
    existing = {(p.b if p.a == subject.id else p.a): p for p in tx.subject_pairs([subject.id])}
    touched: set[str] = set()
    weak = 0
    matched: set[str] = set()
    # the pairs a leader already sees come first, so a busy place never drops one unread
    ordered = sorted(found.items(), key=lambda item: (item[0] not in existing, item[0]))
    near_only = [other for other, shared in ordered if all(k.startswith("place:") for k in shared)]
    mine = next((k for k in keys if k.startswith("name:")), "")
    # names of at most MAX_NEAR subjects found only near a place, read in one query (their name keys hold
    # the kind and the normalised name)
    names = tx.subject_name_keys(near_only[:MAX_NEAR]) if mine and near_only else {}
    unread = set(near_only) - names.keys()  # found only by place, no name read: never alike (a busy market)
    kind = f"name:{subject.kind.value}:"
    for other, shared in ordered:
        if other in unread:
            continue  # as ``_match`` would say: place alone, names unknown; an open pair of it goes below
        theirs = names.get(other, "")
        alike = theirs.startswith(kind) and similar_names(theirs[len(kind) :], mine[len(kind) :])
        found_as = _match(shared, known=alike)
        if found_as is None:
            continue
        strength, reason = found_as
        if strength == WEAK and other not in existing:
            weak += 1
            if weak > MAX_WEAK:
                continue  # a common name ("烧烤摊") suggests a few, not the whole district
        matched.add(other)
        pair = existing.get(other)
        if pair is not None and (pair.state != OPEN or (pair.strength, pair.reason) == (strength, reason)):
            continue  # a leader's decision stands; an unchanged suggestion stays as it is
        if (pair is not None and pair.strength == STRONG) or strength == STRONG:
            touched |= {subject.id, other}
        tx.put_subject_pair(
            SubjectPair(subject.id, other, subject.district, strength, reason, OPEN, at, by_badge)
        )
    for other, pair in existing.items():
        if other not in matched and pair.state == OPEN:
            tx.delete_subject_pair(pair.a, pair.b)
            if pair.strength == STRONG:
                touched |= {subject.id, other}
    return touched


def note_place(tx: Tx, subject: Subject, p: Coord, *, at: datetime, by_badge: str = "") -> set[str]:
    """A case of ``subject`` was recorded at ``p``: keep the place (at most ``MAX_PLACES`` per subject)
    and suggest subjects of similar name and the same kind with cases near it (never applied). Returns
    what ``note_subject`` returns; nothing is read when the place is known already."""
    key = place_key(p)
    current = tx.subject_keys(subject.id)
    if key in current or sum(k.startswith("place:") for k in current) >= MAX_PLACES:
        return set()
    return note_subject(tx, subject, at=at, by_badge=by_badge, place=key)


def identity_group(tx: Tx, subject_id: str) -> set[str]:
    """The subject and every subject linked to it (at most ``MAX_GROUP``)."""
    group = {subject_id}
    frontier = [subject_id]
    while frontier and len(group) < MAX_GROUP:
        found = []
        for pair in tx.subject_pairs(frontier):
            if not links(pair):
                continue
            for member in (pair.a, pair.b):
                if member not in group and len(group) < MAX_GROUP:
                    group.add(member)
                    found.append(member)
        frontier = found
    return group


def identity_groups(tx: Tx, subject_ids: Iterable[str]) -> dict[str, set[str]]:
    """``identity_group`` of each subject, the pairs of each level of the walk read for all at once."""
    by_member: dict[str, dict[tuple[str, str], SubjectPair]] = {}
    fetched: set[str] = set()
    groups = {s: {s} for s in sorted(set(subject_ids))}
    frontiers = {s: [s] for s in groups}
    while any(frontiers.values()):
        wanted = {m for frontier in frontiers.values() for m in frontier} - fetched
        if wanted:
            for pair in tx.subject_pairs(wanted):
                for member in (pair.a, pair.b):
                    by_member.setdefault(member, {})[(pair.a, pair.b)] = pair
            fetched |= wanted
        for subject_id, frontier in frontiers.items():
            group = groups[subject_id]
            if not frontier or len(group) >= MAX_GROUP:
                frontiers[subject_id] = []
                continue
            touching = {key: pair for m in frontier for key, pair in by_member.get(m, {}).items()}
            found = []
            for key in sorted(touching):  # the order ``Tx.subject_pairs`` gives them in
                pair = touching[key]
                if not links(pair):
                    continue
                for member in (pair.a, pair.b):
                    if member not in group and len(group) < MAX_GROUP:
                        group.add(member)
                        found.append(member)
            frontiers[subject_id] = found
    return groups


def group_history(tx: Tx, subject_id: str, *, members: Iterable[str] | None = None) -> list[HistoryEntry]:
    """The staged rule's history of the subject's whole identity group, oldest first."""
    ids = sorted(set(members) if members is not None else identity_group(tx, subject_id))
    entries = {e.case_id: e for member in ids for e in tx.subject_history(member)}
    return sorted(entries.values(), key=lambda e: (e.occurred_at, e.case_no))


def subject_lock_keys(payload: object) -> set[str]:
    """Lock names for a pushed subject payload's strong keys (taken with the batch's subject locks), so two
    concurrent registrations sharing a phone number see each other (PostgreSQL)."""
    if not isinstance(payload, dict):
        return set()
    fields = [payload.get(name) for name in ("phone", "plate", "id_number")]
    phone, plate, id_number = (value if isinstance(value, str) else "" for value in fields)
    return {f"key:{key}" for key in strong_keys(phone, plate, id_number)}
