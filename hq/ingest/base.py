"""The batch every push is applied as (``hq.ingest.push``): its transaction, the answers it counts, the
device's sequence numbers, and how a record is parsed, hashed and answered again from the ledger. The
record kinds' handlers are its subclasses: ``hq.ingest.cases.CaseBatch`` (cases, set-based) and
``hq.ingest.push``'s batch (subjects, shifts, reviews, work-order events)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from enforcement.catalogue import Catalogue
from enforcement.codec import from_json_dict, to_json_dict
from enforcement.fielderrors import first_problem
from enforcement.limits import TextTooLongError, check_lengths
from enforcement.model import (
    CaseValidationError,
    Officer,
)
from enforcement.staging import StagePolicy
from hq.ingest.rules import (
    NotStored,
    bad_time,
    canonical_text,
    invalid,
    payload_hash_of_text,
    refused,
    sequence_gaps,
)
from hq.ingest.view import BatchView
from hq.storage.base import (
    Receipt,
    RecordKind,
    Tx,
)
from sync.protocol import (
    Errno,
    PushRecord,
    RecordResult,
)

_KINDS = frozenset(kind.value for kind in RecordKind)


class BatchBase:
    #: False: every case is read and written on the stored rows one by one (``_stored_case``), as before
    #: set-based ingest; the property test's oracle (tests/hq/ingest/test_ingest_setbased_props.py).
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
        self.view = BatchView(tx, device_id, policy)
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
            result = self._not_stored(record_id, refused(Errno.RECORD_INVALID, *first_problem(exc)))
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
        self.view.finish()
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
        raise NotImplementedError  # the record kinds' handlers: ``hq.ingest.push``

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
        time = bad_time(parsed)
        if time is not None:
            where, zh, en = time
            raise refused(
                Errno.RECORD_INVALID, f"记录字段“{where}”的{zh}", f"The record's field '{where}' {en}"
            )
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
