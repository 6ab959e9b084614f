"""The case records of a push (``hq.ingest.push``): checked against the session, staged over the subject's
whole identity, written set-based through the batch view (``hq.ingest.view``) when nothing else changes,
else on the stored rows with the later cases restaged (see ``hq.ingest.push``'s module doc)."""

from __future__ import annotations

from datetime import UTC
from typing import Any

from enforcement.labels import subject_label
from enforcement.model import (
    Case,
    CaseValidationError,
    HistoryEntry,
    IdentifierError,
    Subject,
)
from enforcement.numbering import parse_case_no
from enforcement.staging import compute_stage
from enforcement.validation import second_officer_problem, validate_case
from hq.feed import emit_case_state, emit_group_history, emit_history
from hq.ingest.base import BatchBase
from hq.ingest.rules import (
    deferred,
    invalid,
    refused,
)
from hq.notices import check_case as check_notice
from hq.notices import flag_reason
from hq.policy import stage_policy_for, verdict_under
from hq.restage import restage_after
from hq.storage.base import (
    CaseState,
    NewCase,
    StageVerdict,
)
from hq.subjectmatch import note_place
from hq.tally import changing
from patrollog.reviewing import TimeFlag, time_flag
from sync.protocol import (
    Errno,
    PushRecord,
    RecordResult,
)


class CaseBatch(BatchBase):
    # -- cases
    def _case(self, record: PushRecord) -> RecordResult:
        case, case_json, case_text, digest = self._parse_text(Case, record)
        view = self.view
        if not self.set_based:
            view.invalidate()  # one by one: every record read and written on the stored rows
        elif case.supersedes:
            view.flush()  # an amendment reads and writes the stored versions directly
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
        flag = time_flag(
            case.occurred_at,
            self.now,
            window_days=policy.window_days,
            device_first_seen=view.device_first_seen(),
        )  # derived again from the stored row by hq.daydata for the leader's queue
        others = [e for e in history if e.case_no != case.case_no]
        if not self.set_based:
            try:  # the view was invalidated above: it read the stored rows
                return self._stored_case(record, digest, case, case_json, subject, verdict, flag, others)
            finally:
                view.invalidate()
        if case.supersedes:  # the view was flushed above: what it holds is what is stored
            try:  # it tells the view what it changed (``note_amended``)
                return self._stored_case(record, digest, case, case_json, subject, verdict, flag, others)
            except BaseException:
                view.invalidate()
                raise
        # a case earlier than others of its identity restages them (their HQ stage only) at the view's
        # next flush, from the stored rows (``hq.restage_late``); what the view holds stays true, as a
        # restage changes only that
        late = any(e.occurred_at >= case.occurred_at for e in others)
        return self._queued_case(
            record, digest, (case, case_json, case_text), subject, verdict, flag, others, restage=late
        )

    def _queued_case(
        self,
        record: PushRecord,
        digest: str,
        parsed: tuple[Case, dict[str, Any], str],
        subject: Subject | None,
        verdict: StageVerdict,
        flag: TimeFlag | None,
        others: list[HistoryEntry],
        *,
        restage: bool = False,
    ) -> RecordResult:
        """A first version: queued in the view, written with the batch (``BatchView.flush``); what it
        tells is what ``_stored_case`` would tell. ``restage``: it arrived after later cases of its
        identity, whose HQ stages are recomputed at the view's next flush (``BatchView.add_late``)."""
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
                        label=label, first_seen=view.device_first_seen())  # fmt: skip
        if case.subject_id:  # queued: a subject's history is encoded once per batch, as last given
            view.add_history(
                case.subject_id,
                (subject.district if subject else "") or self.user.district,
                sorted([*others, HistoryEntry.of(case)], key=lambda e: (e.occurred_at, e.case_no)),
            )
            members = view.group(case.subject_id)  # ``emit_group_history`` from the view
            if members != {case.subject_id}:
                entries = view.group_history(case.subject_id)
                for member in sorted(members - {case.subject_id}):
                    found = view.subject(member, include_deleted=True)
                    if found is not None:
                        view.add_history(member, found.district, entries)
            if restage:  # before the place is noted (which may regroup, flushing), as ``_stored_case`` does
                view.add_late(case)
        self._note_place(case, subject)
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
        """An amendment (or, one by one, any case): written, and what it changes restaged, on the stored
        rows."""
        previous = self.tx.case_state(case.supersedes) if case.supersedes else None
        with changing(self.tx, case.id, case.supersedes, into=self.view.tally):  # the kept counts (hq.tally)
            state = self.tx.save_case(
                case, district=self.user.district, verdict=verdict, received_at=self.now
            )
        if flag is not None:
            detail = {"flag": flag.value, "occurred_at": case.occurred_at.isoformat()}
            self.tx.audit(self.user.badge, "time_flagged", target=case.id, detail=detail)
        missing = emit_case_state(
            self.tx, state, case=case_json, officer_name=self.user.name, subject=subject,
            first_seen=self.view.device_first_seen(),
        )  # fmt: skip
        if previous is not None and previous.subject_id and previous.subject_id != case.subject_id:
            # the amendment moved the case to another subject: the old one's history lost a case
            restage_after(self.tx, previous.subject_id, previous.occurred_at, skip_case_no=case.case_no,
                          policy=self.policy, cause=case.id, tally=self.view.tally)  # fmt: skip
            moved_from = self.tx.get_subject(previous.subject_id)
            emit_history(
                self.tx, previous.subject_id, (moved_from.district if moved_from else "") or previous.district
            )
        if case.subject_id:
            since = case.occurred_at
            if previous is not None and previous.subject_id == case.subject_id:
                since = min(since, previous.occurred_at)  # an amendment may move the case later
            entries = sorted([*others, HistoryEntry.of(case)], key=lambda e: (e.occurred_at, e.case_no))
            if any(e.occurred_at >= since for e in others):
                restage_after(self.tx, case.subject_id, since, skip_case_no=case.case_no, policy=self.policy,
                              cause=case.id, tally=self.view.tally)  # fmt: skip
            emit_history(
                self.tx,
                case.subject_id,
                (subject.district if subject else "") or self.user.district,
                entries=entries,
            )
            emit_group_history(self.tx, case.subject_id, skip=case.subject_id)
        if previous is not None:  # the identities whose history changed are read again (one by one: all)
            self.view.note_amended(case, (previous.subject_id, case.subject_id))
        self._note_place(case, subject)
        return self._receipt(record, digest, self._case_result(case, state, verdict, missing))

    def _note_place(self, case: Case, subject: Subject | None) -> None:
        """Weak suggestions by place (``hq.subjectmatch.note_place``): the case's fix is kept against its
        subject. Should that change an identity (``note_subject``'s answer), ``_regroup``."""
        if subject is None or case.location.lat is None or case.location.lon is None:
            return
        fix = (case.location.lon, case.location.lat)
        self._regroup(note_place(self.tx, subject, fix, at=self.now, by_badge=self.user.badge), case.id)

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

    def _regroup(self, members: set[str], cause: str) -> None:
        """A strong match came or went (``members``: the subjects whose identity changed; none, nothing
        to do): each member's identity's cases are recounted over the group on the stored rows. The batch
        view writes what it queued first and reads afresh after (the identities it held changed)."""
        if not members:
            return
        self.view.flush()
        for member in sorted(members):
            restage_after(self.tx, member, None, skip_case_no="", policy=self.policy, cause=cause,
                          tally=self.view.tally)  # fmt: skip
            emit_group_history(self.tx, member)
        self.view.invalidate()
