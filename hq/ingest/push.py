"""Push batches into HQ's storage: one database transaction per batch, one answer per record.

``ingest_batch(storage, user, device_id, records)`` applies every record of a batch inside ONE
transaction and returns only after it committed, so every answer it gives is durable. Per record:

- **accepted** — stored now (a case whose HQ stage equals the phone's).
- **conflict** — a case stored now, but HQ's authoritative stage differs from the phone's
  (``hq_stage`` + the reason in zh/en); the case is flagged for the squad leader.
- **duplicate** — HQ already accepted exactly this payload under this id: the original answer again.
- **deferred** — not stored, send again later: what it refers to has not arrived (an amendment of an
  unknown version, a review of an unknown case).
- **refused** — never storable as is (errno + reason): invalid payload, another officer's record, an id
  already used for other content, an amendment of a version that is no longer the latest. The rest of
  the batch still applies.

Records are immutable once accepted, with two declared exceptions: a subject may be edited (the registry
is maintained in the field) and a shift may be closed (re-sent with ``ended_at``). Submitted cases are
never updated in place: an amendment is a new version (``supersedes`` = the latest version's id).

HQ's stage of a case is ``compute_stage`` over HQ's whole history of the subject (every officer's cases,
latest versions, later ones excluded by the rule itself), under the policy version the case was staged
under on the phone when HQ has it, else the one in force (``hq.policy``: the reason then says
"按第 N 版政策"); a restage keeps each case's version, so publishing a policy restages nothing. When a
case arrives late, the stored stages of the subject's later cases are recomputed too, and flagged where
they now differ from the phone's.

The subject's history is that of its whole identity (issue #22, ``hq.subjectmatch``): subjects of one
district sharing a phone, plate or resident ID number, or merged by a leader (``hq.merge``). A subject
record that joins an identity restages the identity's cases; a subject edit made from an older version
(``base_version``) is merged field by field (``hq.subjectedit``).

**Scope facts come from the session, never from the payload.** The caller (``user``, the token's
Principal) and the token's ``device_id`` decide: a case's officer, squad and device must be the
caller's (an amendment keeps its original's squad), its case number must parse by
``enforcement.numbering`` and carry that squad and the officer's badge; a subject keeps the district of
its stored row; a seizure's second officer must be an active officer of the case's squad in HQ's users
table (``enforcement.validation.second_officer_problem``). A mismatch is refused with its own errno
(``SCOPE_MISMATCH``, ``CASE_NO_INVALID``, ``SECOND_OFFICER_INVALID``); every text field of every record
is bounded by ``enforcement.limits`` (``TEXT_LIMITS``, refused ``TEXT_TOO_LONG`` naming the field).

**A warning-notice number outside the officer's notice books, or already on another case, is flagged,
not refused** (``hq.notices.check_case``): stored, answered with the reason, audited, and put in the
leader's queue as needing a decision.

**Implausible case times are flagged, not refused** (``patrollog.reviewing.time_flag``: more than
``FUTURE_SLACK`` after HQ's clock, older than the staged rule's look-back window, or more than
``DEVICE_SLACK`` before the device's first sign-in at HQ). The flag is stored with the case and puts it
in the leader's queue as needing a decision, with the reason. Every stage a late or amended case changes
(``hq.restage.restage_after``; a batch's late first versions together, ``hq.restage_late``) is an audit
event naming the case that caused it.

Per-device sequence numbers (``device_seq``, the phone's outbox order) are checked against the highest
seen: gaps are reported (``IngestReport.gaps``, an audit event) but never refuse anything.

The feed fan-out (``case_state`` to the officer, ``squad_case`` / ``squad_shift`` to the squad's
leaders, ``history`` to the district) lives in ``hq.feed``; ``emit_case_state`` is re-exported here.
Restaging and reviews (``restage_after``, ``apply_review``) live in ``hq.restage``; the record rules that
read no storage (refusals, ``payload_hash``, ``sequence_gaps``, re-exported here) in ``hq.ingest.rules``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, Literal

from enforcement.catalogue import Catalogue, load_catalogue
from enforcement.model import (
    CaseValidationError,
    Officer,
    Review,
    Role,
    Shift,
    Subject,
)
from enforcement.staging import StagePolicy
from enforcement.strictjson import UnstorableJson, check_storable
from enforcement.validation import validate_subject
from hq.feed import emit_squad_shift
from hq.ingest.cases import CaseBatch
from hq.ingest.rules import (
    NotStored,
    base_version_of,
    closes,
    deferred,
    invalid,
    is_uuid,
    payload_hash,
    record_ids,
    refused,
    sequence_gaps,
)
from hq.restage import apply_review
from hq.storage.base import (
    RecordKind,
    Storage,
    Tx,
)
from hq.subjectedit import apply_edit, publish_subject
from hq.subjectmatch import identity_groups, note_subject, subject_lock_keys
from hq.workorders import WorkOrderRefused, apply_phone_event
from sync.protocol import (
    Errno,
    PushRecord,
    RecordResult,
)

__all__ = ["IngestReport", "ingest", "ingest_batch", "payload_hash", "sequence_gaps"]


@dataclass(frozen=True, slots=True)
class IngestReport:
    results: list[RecordResult]
    gaps: list[tuple[int, int]] = field(default_factory=list)  # missing device_seq ranges (inclusive)


_CASE, _SUBJECT, _REVIEW = RecordKind.CASE.value, RecordKind.SUBJECT.value, RecordKind.REVIEW.value


@lru_cache(maxsize=1)
def _default_catalogue() -> Catalogue:
    return load_catalogue()


def ingest_batch(
    storage: Storage,
    user: Officer,
    device_id: str,
    records: Sequence[PushRecord | Mapping[str, Any]],
    *,
    catalogue: Catalogue | None = None,
    now: datetime | None = None,
    policy: StagePolicy | None = None,
) -> list[RecordResult]:
    """One answer per record, in order, after the batch's transaction committed (see the module doc)."""
    return ingest(storage, user, device_id, records, catalogue=catalogue, now=now, policy=policy).results


def ingest(
    storage: Storage,
    user: Officer,
    device_id: str,
    records: Sequence[PushRecord | Mapping[str, Any]],
    *,
    catalogue: Catalogue | None = None,
    now: datetime | None = None,
    policy: StagePolicy | None = None,
) -> IngestReport:
    """``ingest_batch`` with the sequence gaps it found."""
    with storage.transaction() as tx:
        # Before anything is read: the batch's subjects (histories it may change) and its record ids
        # (a concurrent copy of this batch waits, then finds our receipts: duplicates, not a conflict).
        tx.lock_subjects(_subjects_of(tx, records), record_ids=record_ids(records))
        batch = _Batch(tx, user, device_id, catalogue or _default_catalogue(), now or datetime.now(UTC),
                       policy, records)  # fmt: skip
        results = [batch.apply(record) for record in records]
        gaps = batch.finish()
    return IngestReport(results, gaps)


def _subjects_of(tx: Tx, records: Sequence[PushRecord | Mapping[str, Any]]) -> set[str]:
    """The subjects whose history a batch may change: of its cases (and of the versions they amend) and
    of the cases its reviews decide. Read before anything else (one query per table), to lock them all
    at once."""
    subjects: set[str] = set()
    refs: set[str] = set()
    for raw in records:
        kind, payload = (
            (raw.kind, raw.payload) if isinstance(raw, PushRecord) else (raw.get("kind"), raw.get("payload"))
        )
        if not isinstance(payload, Mapping):
            continue
        if kind == _CASE:
            if is_uuid(payload.get("subject_id")):
                subjects.add(payload["subject_id"])
            if is_uuid(payload.get("supersedes")):
                refs.add(payload["supersedes"])
        elif kind == _REVIEW and is_uuid(payload.get("case_id")):
            refs.add(payload["case_id"])
        if kind == _SUBJECT:  # a registration may join an identity (hq.subjectmatch)
            subjects |= subject_lock_keys(payload)
    subjects |= {s for s in tx.case_subjects(refs).values() if s}
    # the staged rule reads a subject's whole identity group: lock the groups too
    groups = identity_groups(tx, [s for s in subjects if is_uuid(s)])
    return subjects | {m for group in groups.values() for m in group}


class _Batch(CaseBatch):
    """A push's records applied in order: cases (``hq.ingest.cases``), subjects, shifts, reviews and
    work-order events, each answered once and again from the ledger (``hq.ingest.base``)."""

    def _apply(self, record: PushRecord) -> RecordResult:
        if record.kind == _CASE:
            return self._case(record)
        handler = {
            RecordKind.SUBJECT.value: self._subject,
            RecordKind.SHIFT.value: self._shift,
            RecordKind.REVIEW.value: self._review,
            RecordKind.WORK_ORDER_ARRIVAL.value: self._work_order,
            RecordKind.WORK_ORDER_RESOLUTION.value: self._work_order,
        }.get(record.kind)
        if handler is None:
            raise refused(Errno.UNKNOWN_KIND)
        if record.kind == RecordKind.REVIEW.value or not self.set_based:
            self.view.invalidate()  # a review may withdraw a case and restage: read afresh around it
            try:
                return handler(record)
            finally:
                self.view.invalidate()
        # a subject, a shift, a work-order event: read and written on the stored rows, after what is
        # queued (a resolution names a case that may be queued). Of what the view holds they change only
        # the subject's row (``_regroup`` reads afresh when an identity changes), so the view stays.
        self.view.flush()
        try:
            result = handler(record)
        except BaseException:
            self.view.invalidate()
            raise
        if record.kind == RecordKind.SUBJECT.value:
            self.view.forget_subject(record.id)
        return result

    # -- subjects
    def _subject(self, record: PushRecord) -> RecordResult:
        subject, canonical, digest = self._parse_json(Subject, record)
        base_version = base_version_of(record.payload)
        if base_version is not None:  # an edit: the same content as an earlier edit is still a new edit
            edit = {"base_version": base_version, "device": self.device_id, "seq": record.device_seq}
            digest = payload_hash(record.kind, {**canonical, **edit})
        receipt = self._replay(record, digest)
        if receipt is not None:
            return self._duplicate(receipt)
        try:
            clean = validate_subject(subject)
        except CaseValidationError as err:
            raise invalid(err) from err
        if not clean.district:
            clean = replace(clean, district=self.user.district)
        if clean.district != self.user.district and self.user.role is not Role.HQ:
            raise refused(
                Errno.RECORD_NOT_OWNED,
                "只能登记本辖区的当事人",
                "You may register subjects of your district only",
            )
        stored = self.tx.get_subject(clean.id, include_deleted=True)
        if stored is not None and self.tx.get_subject(clean.id) is None:
            raise refused(Errno.RECORD_INVALID, "该当事人已被指挥中心删除", "This subject was deleted at HQ")
        if stored is not None and stored.district != clean.district:
            # the stored row decides: an edit never moves a subject to another district
            raise refused(
                Errno.SCOPE_MISMATCH,
                f"该当事人属于{stored.district or '其他辖区'}，不能改到{clean.district}",
                f"This subject belongs to district {stored.district!r};"
                f" it cannot be moved to {clean.district!r}",
            )
        # an edit made from an older version is merged field by field (hq.subjectedit)
        clean, conflicts = apply_edit(
            self.tx, clean, base_version=base_version, by_badge=self.user.badge,
            device_id=self.device_id, at=self.now,
        )  # fmt: skip
        self.tx.save_subject(clean, at=self.now, by_badge=self.user.badge)  # publishes it to the district
        publish_subject(self.tx, clean)  # … with its version and edits
        self._regroup(note_subject(self.tx, clean, at=self.now, by_badge=self.user.badge), clean.id)
        if conflicts:
            fields = "、".join(c.field for c in conflicts)
            result = RecordResult(
                id=clean.id, status="accepted", complete=True,
                reason_zh=f"与他人的修改冲突（{fields}），已交中队长处理",
                reason_en=f"Conflicts with another edit ({fields}); sent to the squad leader",
            )  # fmt: skip
            return self._receipt(record, digest, result)
        return self._receipt(record, digest, RecordResult(id=clean.id, status="accepted", complete=True))

    # -- shifts
    def _shift(self, record: PushRecord) -> RecordResult:
        shift, digest = self._parse(Shift, record)
        receipt = self._replay(record, digest)
        if receipt is not None:
            return self._duplicate(receipt)
        if shift.officer_badge != self.user.badge:
            raise refused(Errno.RECORD_NOT_OWNED)
        times = [t for t in (shift.started_at, shift.ended_at) if t is not None]
        if any(t.tzinfo is None or t.utcoffset() is None for t in times):
            raise refused(Errno.RECORD_INVALID, "值班时间缺少时区", "The shift times have no time zone")
        if shift.ended_at is not None and shift.ended_at < shift.started_at:
            raise refused(Errno.RECORD_INVALID, "值班结束时间早于开始时间", "The shift ends before it starts")
        stored = self.tx.get_shift(shift.id)
        if stored is not None and not closes(stored, shift):
            raise refused(Errno.RECORD_ID_REUSED)
        self.tx.save_shift(shift)
        emit_squad_shift(self.tx, shift, self.user)
        return self._receipt(record, digest, RecordResult(id=shift.id, status="accepted", complete=True))

    # -- reviews
    def _review(self, record: PushRecord) -> RecordResult:
        review, digest = self._parse(Review, record)
        receipt = self._replay(record, digest)
        if receipt is not None:
            return self._duplicate(receipt)
        if self.tx.get_review(review.id) is not None:
            raise refused(Errno.RECORD_ID_REUSED)
        if self.user.role is Role.OFFICER or review.reviewer_badge != self.user.badge:
            raise refused(
                Errno.RECORD_NOT_OWNED, "只有中队长可以审核案件", "Only a squad leader may review cases"
            )
        state = self.tx.case_state(review.case_id)
        if state is None:
            raise deferred(Errno.UNKNOWN_CASE)
        in_scope = (
            (state.squad_code == self.user.squad_code)
            if self.user.role is Role.LEADER
            else (state.district == self.user.district)
        )
        if not in_scope:
            raise refused(
                Errno.RECORD_NOT_OWNED, "只能审核本中队的案件", "You may review your own squad's cases only"
            )
        if review.case_no != state.case_no:
            raise refused(
                Errno.RECORD_INVALID,
                "审核记录的案件编号与案件不符",
                "The review's case number does not match the case",
            )
        apply_review(self.tx, review, self.now, policy=self.policy, tally=self.view.tally)
        return self._receipt(record, digest, RecordResult(id=review.id, status="accepted", complete=True))

    # -- work-order events (hq.workorders; the same ledger: a replay gets its first answer)
    def _work_order(self, record: PushRecord) -> RecordResult:
        if record.payload.get("id") != record.id:
            raise refused(
                Errno.RECORD_INVALID, "记录编号与内容不符", "The record id does not match its payload"
            )
        try:  # before its hash: UTF-8 cannot encode a lone surrogate (the other kinds are parsed first)
            check_storable(record.payload)
        except UnstorableJson as bad:
            zh, en = f"工单记录无效：{bad.zh}", f"The work-order record is not valid: {bad.en}"
            raise refused(Errno.WORK_ORDER_EVENT_INVALID, zh, en) from None
        digest = payload_hash(record.kind, record.payload)
        receipt = self._replay(record, digest)
        if receipt is not None:
            return self._duplicate(receipt)
        if self.tx.receipts_for(record.id):
            raise refused(Errno.RECORD_ID_REUSED)
        try:
            apply_phone_event(self.tx, self.user, record.kind, record.payload, self.now)
        except WorkOrderRefused as err:
            status: Literal["refused", "deferred"] = "deferred" if err.status == "deferred" else "refused"
            raise NotStored(status, err.errno, err.zh, err.en) from err
        return self._receipt(record, digest, RecordResult(id=record.id, status="accepted", complete=True))
