"""Merging two subjects with their histories, and undoing it (issue #22).

``merge_subjects(tx, actor, alias_id, survivor_id, at)``: ``alias_id`` becomes an alias of
``survivor_id``: the pair is ``merged`` (``hq.subjectmatch``: one identity for the staged rule whatever
their keys), the ``subject_alias`` change tells every phone of the district to resolve the alias offline,
every case of the identity is recounted (``hq.restage.restage_after``; each changed stage is a
``restaged`` audit event whose ``caused_by`` names the merge, ``merge:<alias>-><survivor>``; a case whose
phone stage is now too low is a stage conflict in the leader's queue) and the identity's history is
published under each member. ``split_subjects`` answers an open suggestion "not the same".
``unmerge_subjects`` undoes a merge: the pair becomes ``split`` (two subjects,
even when they share a phone number), the alias goes, both identities are recounted back.

Scope comes from the caller: a squad leader merges subjects of their own district, HQ any district's
(both subjects of one district), officers never (``MergeRefused`` with ``FORBIDDEN``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from enforcement.model import Officer, Role
from hq.feed import emit_group_history
from hq.restage import restage_after
from hq.storage.base import CaseState, ChangeKind, ChangeScope, SubjectAlias, SubjectPair, Tx
from hq.subjectmatch import MERGED, OPEN, SPLIT, STRONG, identity_group
from sync.protocol import Errno, SubjectAliasData

__all__ = ["MergeOutcome", "MergeRefused", "merge_subjects", "split_subjects", "unmerge_subjects"]


class MergeRefused(Exception):
    def __init__(self, errno: Errno, zh: str = "", en: str = "") -> None:
        super().__init__(en or errno.name)
        self.errno = errno
        self.zh = zh
        self.en = en


@dataclass(frozen=True, slots=True)
class MergeOutcome:
    alias_id: str
    survivor_id: str  # "" after an unmerge
    restaged: list[CaseState]


def _may_merge(actor: Officer, district: str) -> None:
    if actor.role is Role.OFFICER:
        raise MergeRefused(Errno.FORBIDDEN, "只有中队长或指挥中心可以合并当事人",
                           "Only a squad leader or HQ may merge subjects")  # fmt: skip
    if actor.role is Role.LEADER and actor.district != district:
        raise MergeRefused(
            Errno.FORBIDDEN, "只能合并本辖区的当事人", "You may merge your district's subjects only"
        )


def _emit_alias(tx: Tx, alias_id: str, survivor_id: str, district: str) -> None:
    data = SubjectAliasData(alias_id=alias_id, survivor_id=survivor_id).model_dump(mode="json")
    tx.emit(ChangeKind.SUBJECT_ALIAS, alias_id, data, ChangeScope(district=district))


def merge_subjects(tx: Tx, actor: Officer, alias_id: str, survivor_id: str, at: datetime) -> MergeOutcome:
    """Merge ``alias_id`` into ``survivor_id`` (see the module doc)."""
    alias, survivor = tx.get_subject(alias_id), tx.get_subject(survivor_id)
    if alias is None or survivor is None:
        raise MergeRefused(Errno.NOT_FOUND)
    _may_merge(actor, alias.district)
    _may_merge(actor, survivor.district)
    if alias_id == survivor_id or alias.district != survivor.district:
        raise MergeRefused(Errno.SUBJECT_MERGE_INVALID)
    if tx.subject_alias(alias_id) is not None or tx.subject_alias(survivor_id) is not None:
        raise MergeRefused(Errno.SUBJECT_MERGE_INVALID, "其中一个当事人已被合并到其他当事人",
                           "One of the subjects is already merged into another")  # fmt: skip
    tx.lock_subjects(identity_group(tx, alias_id) | identity_group(tx, survivor_id))
    pair = tx.get_subject_pair(alias_id, survivor_id)
    tx.put_subject_pair(
        SubjectPair(alias_id, survivor_id, alias.district, pair.strength if pair else "manual",
                    pair.reason if pair else "leader", MERGED, at, actor.badge)
    )  # fmt: skip
    tx.put_subject_alias(SubjectAlias(alias_id, survivor_id, alias.district, at, actor.badge))
    for earlier in tx.aliases_of(alias_id):  # an alias of the alias now names the survivor
        tx.put_subject_alias(SubjectAlias(earlier.alias_id, survivor_id, earlier.district, at, actor.badge))
        _emit_alias(tx, earlier.alias_id, survivor_id, earlier.district)
    _emit_alias(tx, alias_id, survivor_id, alias.district)
    cause = f"merge:{alias_id}->{survivor_id}"
    tx.audit(actor.badge, "subject_merged", target=alias_id, detail={"into": survivor_id})
    restaged = restage_after(tx, survivor_id, None, skip_case_no="", cause=cause)
    emit_group_history(tx, survivor_id)
    return MergeOutcome(alias_id, survivor_id, restaged)


def unmerge_subjects(tx: Tx, actor: Officer, alias_id: str, at: datetime) -> MergeOutcome:
    """Undo the merge of ``alias_id`` (see the module doc)."""
    alias = tx.get_subject(alias_id)
    if alias is None:
        raise MergeRefused(Errno.NOT_FOUND)
    _may_merge(actor, alias.district)
    row = tx.subject_alias(alias_id)
    if row is None:
        raise MergeRefused(Errno.SUBJECT_NOT_MERGED)
    survivor_id = row.survivor_id
    tx.lock_subjects(identity_group(tx, alias_id) | identity_group(tx, survivor_id))
    pair = tx.get_subject_pair(alias_id, survivor_id)
    strength = pair.strength if pair else STRONG
    tx.put_subject_pair(SubjectPair(alias_id, survivor_id, alias.district, strength,
                                    pair.reason if pair else "leader", SPLIT, at, actor.badge))  # fmt: skip
    tx.drop_subject_alias(alias_id)
    _emit_alias(tx, alias_id, "", alias.district)
    cause = f"unmerge:{alias_id}->{survivor_id}"
    tx.audit(actor.badge, "subject_unmerged", target=alias_id, detail={"from": survivor_id})
    restaged = restage_after(tx, alias_id, None, skip_case_no="", cause=cause)
    restaged += restage_after(tx, survivor_id, None, skip_case_no="", cause=cause)
    emit_group_history(tx, alias_id)
    emit_group_history(tx, survivor_id)
    return MergeOutcome(alias_id, "", restaged)


def split_subjects(tx: Tx, actor: Officer, a_id: str, b_id: str, at: datetime) -> MergeOutcome:
    """ "Not the same" on an open suggestion: the pair becomes ``split`` (two subjects, even when they
    share a phone number; a later edit never reopens it) and, when the pair was strong (one identity for
    the staged rule until now), both identities are recounted (cause ``split:<a>-<b>``). A merged pair is
    undone with ``unmerge_subjects`` instead."""
    a, b = tx.get_subject(a_id), tx.get_subject(b_id)
    if a is None or b is None:
        raise MergeRefused(Errno.NOT_FOUND)
    _may_merge(actor, a.district)
    _may_merge(actor, b.district)
    pair = tx.get_subject_pair(a_id, b_id)
    if pair is None or pair.state != OPEN:
        raise MergeRefused(Errno.SUBJECT_MERGE_INVALID, "这两个当事人没有待处理的合并建议",
                           "These two subjects have no open merge suggestion")  # fmt: skip
    tx.lock_subjects(identity_group(tx, a_id) | identity_group(tx, b_id))
    tx.put_subject_pair(replace(pair, state=SPLIT, at=at, by_badge=actor.badge))
    tx.audit(actor.badge, "subject_split", target=pair.a, detail={"other": pair.b, "reason": pair.reason})
    if pair.strength != STRONG:
        return MergeOutcome(pair.a, "", [])
    cause = f"split:{pair.a}-{pair.b}"
    restaged = restage_after(tx, pair.a, None, skip_case_no="", cause=cause)
    restaged += restage_after(tx, pair.b, None, skip_case_no="", cause=cause)
    emit_group_history(tx, pair.a)
    emit_group_history(tx, pair.b)
    return MergeOutcome(pair.a, "", restaged)
