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
(``hq.restage.restage_after``) is an audit event naming the case that caused it.

Per-device sequence numbers (``device_seq``, the phone's outbox order) are checked against the highest
seen: gaps are reported (``IngestReport.gaps``, an audit event) but never refuse anything.

The feed fan-out (``case_state`` to the officer, ``squad_case`` / ``squad_shift`` to the squad's
leaders, ``history`` to the district) lives in ``hq.feed``; ``emit_case_state`` is re-exported here.
Restaging and reviews (``restage_after``, ``apply_review``) live in ``hq.restage``; the record rules that
read no storage (refusals, ``payload_hash``, ``sequence_gaps``, re-exported here) in ``hq.ingestrules``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, Literal

from enforcement.catalogue import Catalogue, load_catalogue
from enforcement.codec import from_json_dict, to_json_dict
from enforcement.labels import subject_label
from enforcement.limits import TextTooLongError, check_lengths
from enforcement.model import (
    Case,
    CaseValidationError,
    HistoryEntry,
    IdentifierError,
    Officer,
    Review,
    Role,
    Shift,
    Subject,
)
from enforcement.numbering import parse_case_no
from enforcement.staging import StagePolicy, compute_stage
from enforcement.validation import second_officer_problem, validate_case, validate_subject
from hq.feed import emit_case_state, emit_group_history, emit_history, emit_squad_shift
from hq.ingestrules import (
    NotStored,
    base_version_of,
    canonical_text,
    closes,
    deferred,
    invalid,
    is_uuid,
    payload_hash,
    payload_hash_of_text,
    record_ids,
    refused,
    sequence_gaps,
)
from hq.ingestview import BatchView
from hq.notices import check_case as check_notice
from hq.notices import flag_reason
from hq.policy import stage_policy_for, verdict_under
from hq.restage import apply_review, restage_after
from hq.storage.base import (
    CaseState,
    NewCase,
    Receipt,
    RecordKind,
    StageVerdict,
    Storage,
    Tx,
)
from hq.subjectedit import apply_edit, publish_subject
from hq.subjectmatch import identity_groups, note_place, note_subject, subject_lock_keys
from hq.tally import changing
from hq.workorders import WorkOrderRefused, apply_phone_event
from patrollog.reviewing import TimeFlag, time_flag
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


_KINDS = frozenset(kind.value for kind in RecordKind)
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


class _Batch:
    #: False: every case is read and written on the stored rows one by one (``_stored_case``), as before
    #: set-based ingest; the property test's oracle (tests/hq/test_ingest_setbased_props.py).
    set_based = True

    def __init__(
        self,
        tx: Tx,
        user: Officer,
        device_id: str,
        catalogue: Catalogue,
        now: datetime,
        policy: StagePolicy | None,
        records: Sequence[PushRecord | Mapping[str, Any]] = (),
    ) -> None:
        self.tx = tx
        self.records = records
        self.position = 0  # records applied so far
        self.view = BatchView(tx, device_id)
        self.user = user
        self.device_id = device_id
        self.catalogue = catalogue
        self.now = now
        self.policy = policy  # None: each case's published version (``hq.policy``)
        self.seqs: list[int] = []
        self.counts: dict[str, int] = {}
        self.not_stored: list[dict[str, Any]] = []

    # -- the batch
    def apply(self, raw: PushRecord | Mapping[str, Any]) -> RecordResult:
        self.position += 1
        record_id = str(raw.id if isinstance(raw, PushRecord) else raw.get("id", ""))
        if not isinstance(raw, PushRecord) and raw.get("kind") not in _KINDS:
            result = self._not_stored(record_id, refused(Errno.UNKNOWN_KIND))
            self._count(result)
            return result
        try:
            record = raw if isinstance(raw, PushRecord) else PushRecord.model_validate(raw)
        except ValueError as exc:
            result = self._not_stored(record_id, refused(Errno.RECORD_INVALID, en=f"bad record: {exc}"[:300]))
            self._count(result)
            return result
        self.seqs.append(record.device_seq)
        try:
            result = self._apply(record)
        except NotStored as err:
            result = self._not_stored(record.id, err)
        self._count(result)
        return result

    def _count(self, result: RecordResult) -> None:
        self.counts[result.status] = self.counts.get(result.status, 0) + 1
        if result.status in ("refused", "deferred"):
            self.not_stored.append({"id": result.id, "status": result.status, "errno": result.errno})

    def finish(self) -> list[tuple[int, int]]:
        """Write what is queued, record the device's sequence high-water mark and audit the batch; returns
        the gaps."""
        self.view.flush()
        gaps = sequence_gaps(self.tx.device_seq_high(self.device_id), self.seqs)
        if self.seqs:
            self.tx.set_device_seq_high(self.device_id, max(self.seqs))
        if gaps:
            self.tx.audit(self.user.badge, "sequence_gap", target=self.device_id,
                          detail={"missing": [list(g) for g in gaps]})  # fmt: skip
        self.tx.audit(self.user.badge, "push", target=self.device_id,
                      detail={"counts": self.counts, "not_stored": self.not_stored[:100]})  # fmt: skip
        return gaps

    def _not_stored(self, record_id: str, err: NotStored) -> RecordResult:
        return RecordResult(
            id=record_id, status=err.status, errno=int(err.errno), reason_zh=err.zh, reason_en=err.en
        )

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
        self.view.invalidate()  # the other kinds read and write the stored rows directly
        try:
            return handler(record)
        finally:
            self.view.invalidate()

    def _parse(self, kind: type[Any], record: PushRecord) -> tuple[Any, str]:
        parsed, _, digest = self._parse_json(kind, record)
        return parsed, digest

    def _parse_json(self, kind: type[Any], record: PushRecord) -> tuple[Any, dict[str, Any], str]:
        """The record, its canonical JSON dict and the hash of that."""
        parsed, canonical, _, digest = self._parse_text(kind, record)
        return parsed, canonical, digest

    def _parse_text(self, kind: type[Any], record: PushRecord) -> tuple[Any, dict[str, Any], str, str]:
        """The record, its canonical JSON dict, that as JSON text (what the database stores) and its hash."""
        try:
            parsed = from_json_dict(kind, record.payload)
        except CaseValidationError as err:
            raise invalid(err) from err
        try:
            check_lengths(parsed)
        except TextTooLongError as err:
            raise invalid(err) from err
        if parsed.id != record.id:
            raise refused(
                Errno.RECORD_INVALID, "记录编号与内容不符", "The record id does not match its payload"
            )
        canonical = to_json_dict(parsed)
        text = canonical_text(canonical)
        return parsed, canonical, text, payload_hash_of_text(record.kind, text)

    def _replay(self, record: PushRecord, digest: str) -> Receipt | None:
        return self.tx.get_receipt(record.id, digest)

    def _receipt(
        self, record: PushRecord, digest: str, result: RecordResult, *, queued: bool = False
    ) -> RecordResult:
        kept = {"status": result.status, "errno": result.errno, "reason_zh": result.reason_zh,
                "reason_en": result.reason_en,
                "hq_stage": None if result.hq_stage is None else int(result.hq_stage)}  # fmt: skip
        receipt = Receipt(record.id, digest, RecordKind(record.kind), self.user.badge, self.device_id,
                          record.device_seq, self.now, kept)  # fmt: skip
        if queued:
            self.view.add_receipt(receipt)  # written with the batch's cases (``BatchView.flush``)
        else:
            self.tx.add_receipt(receipt)
            self.view.note_receipt(receipt)
        return result

    def _duplicate(
        self, receipt: Receipt, *, complete: bool = True, missing: Sequence[str] = ()
    ) -> RecordResult:
        original = receipt.result
        return RecordResult(
            id=receipt.record_id,
            status="duplicate",
            reason_zh=str(original.get("reason_zh", "")),
            reason_en=str(original.get("reason_en", "")),
            hq_stage=original.get("hq_stage"),
            complete=complete,
            missing_photos=list(missing),
        )

    # -- cases
    def _case(self, record: PushRecord) -> RecordResult:
        case, case_json, case_text, digest = self._parse_text(Case, record)
        view = self.view
        if case.supersedes or not self.set_based:
            view.invalidate()  # an amendment reads and writes the stored versions directly
        elif not view.warm:
            view.prefetch(self.records[self.position - 1 :])
        receipt = view.get_receipt(record.id, digest)
        if receipt is not None:
            missing = view.missing(case)  # the stored version has this very content
            return self._duplicate(receipt, complete=not missing, missing=missing)
        if view.case_stored(case.id):
            raise refused(Errno.RECORD_ID_REUSED)
        if case.officer_badge != self.user.badge:
            raise refused(
                Errno.RECORD_NOT_OWNED,
                f"案件属于队员 {case.officer_badge}，您只能提交自己的案件",
                f"The case belongs to officer {case.officer_badge}; you may submit only your own cases",
            )
        self._check_case_scope(case)
        subject = view.subject(case.subject_id) if case.subject_id else None
        try:
            validate_case(case, self.catalogue, subject=subject, lengths_checked=True)
        except CaseValidationError as err:
            raise invalid(err) from err
        self._check_second_officer(case)
        self._check_version(case)
        history = view.group_history(case.subject_id) if case.subject_id else []
        policy = self.policy or stage_policy_for(view.policy(case.policy_version), case)
        verdict = verdict_under(
            compute_stage(case.violation_code, case.occurred_at, history, policy, case_no=case.case_no),
            case.policy_version,
        )
        device = view.device()
        flag = time_flag(
            case.occurred_at,
            self.now,
            window_days=policy.window_days,
            device_first_seen=device.created_at if device is not None else None,
        )  # derived again from the stored row by hq.daydata for the leader's queue
        others = [e for e in history if e.case_no != case.case_no]
        if case.supersedes or not self.set_based:
            try:  # the view was invalidated above: it read the stored rows
                return self._stored_case(record, digest, case, case_json, subject, verdict, flag, others)
            finally:
                view.invalidate()
        if any(e.occurred_at >= case.occurred_at for e in others):
            # it restages the subject's later cases (their HQ stage only): on the stored rows, after the
            # queue; what the view holds stays true once it learns of this case
            view.flush()
            result = self._stored_case(record, digest, case, case_json, subject, verdict, flag, others)
            view.note_stored(case)
            return result
        return self._queued_case(record, digest, (case, case_json, case_text), subject, verdict, flag, others)

    def _queued_case(
        self,
        record: PushRecord,
        digest: str,
        parsed: tuple[Case, dict[str, Any], str],
        subject: Subject | None,
        verdict: StageVerdict,
        flag: TimeFlag | None,
        others: list[HistoryEntry],
    ) -> RecordResult:
        """A first version that changes no other case's stage: queued in the view, written with the
        batch (``BatchView.flush``); what it tells is what ``_stored_case`` would tell."""
        case, case_json, case_text = parsed
        view = self.view
        missing = view.missing(case)
        state = CaseState(
            case_id=case.id, case_no=case.case_no, version=case.version, officer_badge=case.officer_badge,
            squad_code=case.squad_code, district=self.user.district, subject_id=case.subject_id,
            violation_code=case.violation_code, occurred_at=case.occurred_at.astimezone(UTC),
            received_at=self.now.astimezone(UTC), device_stage=case.computed_stage,
            chosen_stage=case.chosen_stage, hq_stage=verdict.stage, hq_ordinal=verdict.ordinal,
            stage_conflict=verdict.stage != case.computed_stage, explain_zh=verdict.explain_zh,
            explain_en=verdict.explain_en, photos_expected=len({p.sha256 for p in case.photos}),
            photos_stored=len({p.sha256 for p in case.photos}) - len(missing), latest=True, review="",
            policy_version=verdict.policy_version,
        )  # fmt: skip
        view.add_case(NewCase(case, self.user.district, verdict, self.now, case_json, case_text), state)
        if flag is not None:
            detail = {"flag": flag.value, "occurred_at": case.occurred_at.isoformat()}
            self.tx.audit(self.user.badge, "time_flagged", target=case.id, detail=detail)
        shown = subject
        if shown is None and case.subject_id:
            shown = view.subject(case.subject_id, include_deleted=True)
        label = subject_label(shown) if shown is not None else ""
        emit_case_state(self.tx, state, case=case_json, officer_name=self.user.name, missing=missing,
                        label=label, case_text=case_text)  # fmt: skip
        if case.subject_id:
            emit_history(
                self.tx,
                case.subject_id,
                (subject.district if subject else "") or self.user.district,
                entries=sorted([*others, HistoryEntry.of(case)], key=lambda e: (e.occurred_at, e.case_no)),
            )
            members = view.group(case.subject_id)  # ``emit_group_history`` from the view
            if members != {case.subject_id}:
                entries = view.group_history(case.subject_id)
                for member in sorted(members - {case.subject_id}):
                    found = view.subject(member, include_deleted=True)
                    if found is not None:
                        emit_history(self.tx, member, found.district, entries=entries)
        self._note_place(case, subject, queued=True)
        return self._receipt(record, digest, self._case_result(case, state, verdict, missing), queued=True)

    def _case_result(
        self, case: Case, state: CaseState, verdict: StageVerdict, missing: list[str]
    ) -> RecordResult:
        conflict = state.stage_conflict
        reason_zh = f"指挥中心核定：{verdict.explain_zh}" if conflict else ""
        reason_en = f"HQ's stage: {verdict.explain_en}" if conflict else ""
        notice = check_notice(self.tx, case, self.user, now=self.now)  # flagged, never refused
        if notice is not None:
            zh, en = flag_reason(notice[0], case.warning_notice_no.strip(), notice[1])
            reason_zh = "；".join(filter(None, (reason_zh, zh)))
            reason_en = "; ".join(filter(None, (reason_en, en)))
        return RecordResult(
            id=case.id,
            status="conflict" if conflict else "accepted",
            reason_zh=reason_zh,
            reason_en=reason_en,
            hq_stage=verdict.stage,
            complete=not missing,
            missing_photos=missing,
        )

    def _stored_case(
        self,
        record: PushRecord,
        digest: str,
        case: Case,
        case_json: dict[str, Any],
        subject: Subject | None,
        verdict: StageVerdict,
        flag: TimeFlag | None,
        others: list[HistoryEntry],
    ) -> RecordResult:
        """An amendment, or a case that restages others: written and restaged on the stored rows."""
        previous = self.tx.case_state(case.supersedes) if case.supersedes else None
        with changing(self.tx, case.id, case.supersedes):  # the kept counts (hq.tally)
            state = self.tx.save_case(
                case, district=self.user.district, verdict=verdict, received_at=self.now
            )
        if flag is not None:
            detail = {"flag": flag.value, "occurred_at": case.occurred_at.isoformat()}
            self.tx.audit(self.user.badge, "time_flagged", target=case.id, detail=detail)
        missing = emit_case_state(
            self.tx, state, case=case_json, officer_name=self.user.name, subject=subject
        )
        if previous is not None and previous.subject_id and previous.subject_id != case.subject_id:
            # the amendment moved the case to another subject: the old one's history lost a case
            restage_after(self.tx, previous.subject_id, previous.occurred_at, skip_case_no=case.case_no,
                          policy=self.policy, cause=case.id)  # fmt: skip
            moved_from = self.tx.get_subject(previous.subject_id)
            emit_history(
                self.tx, previous.subject_id, (moved_from.district if moved_from else "") or previous.district
            )
        if case.subject_id:
            since = case.occurred_at
            if previous is not None and previous.subject_id == case.subject_id:
                since = min(since, previous.occurred_at)  # an amendment may move the case later
            if any(e.occurred_at >= since for e in others):
                restage_after(
                    self.tx,
                    case.subject_id,
                    since,
                    skip_case_no=case.case_no,
                    policy=self.policy,
                    cause=case.id,
                )
            emit_history(
                self.tx,
                case.subject_id,
                (subject.district if subject else "") or self.user.district,
                entries=sorted([*others, HistoryEntry.of(case)], key=lambda e: (e.occurred_at, e.case_no)),
            )
            emit_group_history(self.tx, case.subject_id, skip=case.subject_id)
        self._note_place(case, subject, queued=False)
        return self._receipt(record, digest, self._case_result(case, state, verdict, missing))

    def _note_place(self, case: Case, subject: Subject | None, *, queued: bool) -> None:
        """Weak suggestions by place (``hq.subjectmatch.note_place``): the case's fix is kept against its
        subject. Should that change an identity (``note_subject``'s answer), the members' cases are
        recounted on the stored rows: the batch view writes what it queued first and reads afresh after."""
        if subject is None or case.location.lat is None or case.location.lon is None:
            return
        fix = (case.location.lon, case.location.lat)
        members = note_place(self.tx, subject, fix, at=self.now, by_badge=self.user.badge)
        if not members:
            return
        if queued:
            self.view.flush()
        self._regroup(members, case.id)
        if queued:
            self.view.invalidate()

    def _check_case_scope(self, case: Case) -> None:
        """The case's squad, device and number against the session (see the module doc)."""
        previous = self.tx.case_state(case.supersedes) if case.supersedes else None
        squad = previous.squad_code if previous is not None else self.user.squad_code
        if case.squad_code != squad:
            whose = "原案件" if previous is not None else "您"
            whose_en = "the original case's" if previous is not None else "your"
            raise refused(
                Errno.SCOPE_MISMATCH,
                f"案件的中队（{case.squad_code}）与{whose}中队（{squad}）不符",
                f"The case's squad {case.squad_code} is not {whose_en} squad {squad}",
            )
        if case.device_id != self.device_id:
            raise refused(
                Errno.SCOPE_MISMATCH,
                f"案件的设备编号（{case.device_id}）与登录设备不符",
                f"The case's device {case.device_id} is not the signed-in device",
            )
        if case.supersedes:
            return  # an amendment keeps its original's number (``_check_version``), checked when it came
        try:
            number = parse_case_no(case.case_no)
        except IdentifierError as err:
            raise refused(Errno.CASE_NO_INVALID, err.zh, err.en) from err
        if (number.squad_code, number.badge) != (case.squad_code, case.officer_badge):
            raise refused(
                Errno.CASE_NO_INVALID,
                f"案件编号 {case.case_no} 须以本中队 {case.squad_code} 和本人证号 {case.officer_badge} 开头",
                f"Case number {case.case_no} must carry squad {case.squad_code}"
                f" and badge {case.officer_badge}",
            )

    def _check_second_officer(self, case: Case) -> None:
        """A seizure's second officer: an active officer of the case's squad in HQ's users table."""
        badge = case.second_officer_badge.strip()
        if not case.seized_items or not badge:
            return
        row = self.view.user(badge)
        problem = second_officer_problem(
            case, row.officer if row else None, active=row.active if row else False, complete=True
        )
        if problem is not None:
            raise refused(Errno.SECOND_OFFICER_INVALID, problem.zh, problem.en)

    def _check_version(self, case: Case) -> None:
        if case.supersedes is None:
            if self.view.has_latest(case.case_no):
                raise refused(
                    Errno.VERSION_CONFLICT,
                    f"案件编号 {case.case_no} 已被使用；修改案件须作为新版本提交",
                    f"Case number {case.case_no} is already used; submit a change as a new version",
                )
            return
        previous = self.tx.case_state(case.supersedes)
        if previous is None:
            raise deferred(Errno.SUPERSEDES_UNKNOWN)
        if previous.officer_badge != self.user.badge:
            raise refused(Errno.RECORD_NOT_OWNED)
        if previous.case_no != case.case_no or case.version != previous.version + 1:
            raise refused(
                Errno.RECORD_INVALID,
                f"修改后的案件须沿用案件编号 {previous.case_no}，版本号为 {previous.version + 1}",
                f"An amendment keeps case number {previous.case_no} and has version {previous.version + 1}",
            )
        if not previous.latest:
            raise refused(Errno.VERSION_CONFLICT)

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

    def _regroup(self, members: set[str], cause: str) -> None:
        """A strong match came or went: each member's identity's cases are recounted over the group."""
        for member in sorted(members):
            restage_after(self.tx, member, None, skip_case_no="", policy=self.policy, cause=cause)
            emit_group_history(self.tx, member)

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
        apply_review(self.tx, review, self.now, policy=self.policy)
        return self._receipt(record, digest, RecordResult(id=review.id, status="accepted", complete=True))

    # -- work-order events (hq.workorders; the same ledger: a replay gets its first answer)
    def _work_order(self, record: PushRecord) -> RecordResult:
        if record.payload.get("id") != record.id:
            raise refused(
                Errno.RECORD_INVALID, "记录编号与内容不符", "The record id does not match its payload"
            )
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
