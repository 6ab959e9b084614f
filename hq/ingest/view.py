"""What a push batch reads, read once per table for the whole batch, and its new cases written together.

``hq.ingest.push`` applies a batch's records one by one, in order, with the answers of a one-by-one ingest;
``BatchView`` makes that cost a handful of statements per batch instead of a dozen per case:

- ``prefetch(records)`` reads, in one query per table, everything the batch's case records will ask
  about: the receipts of their record ids, which of their ids and case numbers are stored, their
  subjects, the identity groups and whole histories of those subjects (``hq.subjectmatch``), and which
  of their photos are already held. Anything asked about that was not prefetched is read then
  (read-through), so the view is never wrong, only sometimes slower.
- ``add_case`` / ``add_receipt`` / ``add_history`` queue a first case version (with its photo manifest,
  its tally facts), a receipt and a subject's history for the feed (the newest of a subject only), and
  update what the view answers, so a later case of the same batch sees the earlier ones exactly as it
  would see them stored. ``flush`` writes what is queued: one statement per table
  (``SqlBase._rows``), the summed tally delta (``hq.tally.TallyDelta``) and each queued history once.
  Where the storage pipelines its writes (``Tx.spill_rows``, PostgreSQL), queued case versions and
  receipts are sent ahead every ``spill_rows``, so the server writes them while the next cases are
  checked; the histories still wait for ``flush``. The tally delta (``tally``) also takes what the
  records written directly change (``hq.tally.changing(..., into=)``) and is written once, by ``finish``.
- ``invalidate`` flushes and forgets what was read: ``hq.ingest.push`` calls it around a review (which may
  withdraw a case and restage) and after a change of identity (``_regroup``). Other records written
  directly come after a ``flush``, so nothing queued is ever missing from what they read, and keep the
  view: an amendment is noted (``note_amended``: the view forgets the identities whose history it
  changed), a subject forgotten (``forget_subject``: its row), a shift or work-order event changes
  nothing the view holds. A first version that restages later cases is queued like any other
  (``add_late``): its restage runs at the next ``flush``, once everything it restages is written, as its
  arrival saw them (``hq.restage_late``); a restage changes only HQ's stage of stored cases, which the view
  does not hold.

The policy versions, the device row and the users looked up are kept for the whole batch (a push writes
none of them).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from enforcement.model import Case, HistoryEntry, Subject
from enforcement.policy import Policy
from enforcement.staging import StagePolicy
from hq.feed import emit_history
from hq.ingest.rules import is_uuid
from hq.policy import resolve
from hq.restage_late import LateArrival, restage_arrivals
from hq.storage.base import CaseState, NewCase, Receipt, RecordKind, Tx, UserRow
from hq.subjectmatch import identity_groups
from hq.tally import Counted, TallyDelta, facts_of
from sync.protocol import PushRecord

__all__ = ["BatchView"]

_UNSET: Any = object()
_CASE = RecordKind.CASE.value


class BatchView:
    def __init__(self, tx: Tx, device_id: str, policy: StagePolicy | None = None) -> None:
        self.tx = tx
        self.device_id = device_id
        self._policy = policy  # the batch's, for restaging (None: each case's own version)
        self._late: list[LateArrival] = []
        self._positions: dict[str, int] = {}  # case id -> its place among the cases queued since a flush
        self.warm = False
        self._cases: list[NewCase] = []
        self._spill = tx.spill_rows or -1  # -1: never (``len`` is never -1)
        self._receipts: list[Receipt] = []
        self._tally = TallyDelta()
        self._tally_due = False
        self._history: dict[str, tuple[str, list[HistoryEntry]]] = {}  # subject -> (district, entries)
        self._policies: dict[int, Policy] = {}
        self._first_seen: datetime | None = _UNSET
        self._users: dict[str, UserRow | None] = {}
        self._clear()

    def _clear(self) -> None:
        self.receipts: dict[str, list[Receipt]] = {}  # record id -> its receipts (ids read only)
        self.stored: dict[str, bool] = {}  # case version id -> stored
        self.latest: dict[str, bool] = {}  # case number -> has a (latest) version
        self.subjects: dict[str, tuple[Subject, bool] | None] = {}  # id -> (subject, deleted)
        self.groups: dict[str, set[str]] = {}
        self.histories: dict[str, list[HistoryEntry]] = {}  # ``Tx.subject_history`` of each subject
        self.held: dict[str, set[str]] = {}  # sha256 -> the officers whose upload of it is stored
        self.warm = False

    # -- reading
    def prefetch(self, records: Sequence[PushRecord | Mapping[str, Any]]) -> None:
        """Read what the case records among ``records`` will ask about (see the module doc)."""
        ids: set[str] = set()
        case_nos: set[str] = set()
        subject_ids: set[str] = set()
        photos: set[str] = set()
        for raw in records:
            kind: Any = raw.kind if isinstance(raw, PushRecord) else raw.get("kind")
            payload: Any = raw.payload if isinstance(raw, PushRecord) else raw.get("payload")
            if kind != _CASE or not isinstance(payload, Mapping):
                continue
            for name, into in (("id", ids), ("subject_id", subject_ids)):
                if is_uuid(payload.get(name)):
                    into.add(str(payload[name]))
            if isinstance(payload.get("case_no"), str):
                case_nos.add(payload["case_no"])
            listed = payload.get("photos")
            for photo in listed if isinstance(listed, list) else ():
                if isinstance(photo, Mapping) and isinstance(photo.get("sha256"), str):
                    photos.add(photo["sha256"])
        self._load_receipts(ids)
        self._load_stored(ids)
        self._load_latest(case_nos)
        self._load_groups(subject_ids)
        self._load_photos(photos)
        self.warm = True

    def _load_receipts(self, ids: Iterable[str]) -> None:
        wanted = {i for i in ids if i not in self.receipts}
        if not wanted:
            return
        for record_id in wanted:
            self.receipts[record_id] = []
        for receipt in self.tx.receipts_of(wanted):
            self.receipts[receipt.record_id].append(receipt)

    def _load_stored(self, ids: Iterable[str]) -> None:
        wanted = {i for i in ids if i not in self.stored}
        if wanted:
            found = self.tx.existing_case_ids(wanted)
            self.stored.update((i, i in found) for i in wanted)

    def _load_latest(self, case_nos: Iterable[str]) -> None:
        wanted = {n for n in case_nos if n not in self.latest}
        if wanted:
            found = self.tx.latest_case_nos(wanted)
            self.latest.update((n, n in found) for n in wanted)

    def _load_subjects(self, ids: Iterable[str]) -> None:
        wanted = {i for i in ids if i not in self.subjects}
        if wanted:
            found = self.tx.subjects_by_id(wanted)
            self.subjects.update((i, found.get(i)) for i in wanted)

    def _load_groups(self, subject_ids: Iterable[str]) -> None:
        wanted = {s for s in subject_ids if s not in self.groups}
        if not wanted:
            return
        self.groups.update(identity_groups(self.tx, wanted))
        members = {m for s in wanted for m in self.groups[s]}
        self._load_subjects(members)
        unread = {m for m in members if m not in self.histories}
        if unread:
            found = self.tx.histories(unread)
            self.histories.update((m, found.get(m, [])) for m in unread)

    def _load_photos(self, sha256s: Iterable[str]) -> None:
        wanted = {h for h in sha256s if h not in self.held}
        if not wanted:
            return
        for sha in wanted:
            self.held[sha] = set()
        for sha, badge in self.tx.held_photos(wanted):
            self.held[sha].add(badge)

    def get_receipt(self, record_id: str, payload_hash: str) -> Receipt | None:
        self._load_receipts([record_id])
        return next((r for r in self.receipts[record_id] if r.payload_hash == payload_hash), None)

    def case_stored(self, case_id: str) -> bool:
        self._load_stored([case_id])
        return self.stored[case_id]

    def has_latest(self, case_no: str) -> bool:
        self._load_latest([case_no])
        return self.latest[case_no]

    def subject(self, subject_id: str, *, include_deleted: bool = False) -> Subject | None:
        self._load_subjects([subject_id])
        found = self.subjects[subject_id]
        if found is None or (found[1] and not include_deleted):
            return None
        return found[0]

    def group(self, subject_id: str) -> set[str]:
        self._load_groups([subject_id])
        return self.groups[subject_id]

    def group_history(self, subject_id: str) -> list[HistoryEntry]:
        """``hq.subjectmatch.group_history`` as the batch so far left it."""
        members = sorted(self.group(subject_id))
        entries = {e.case_id: e for m in members for e in self.histories[m]}
        return sorted(entries.values(), key=lambda e: (e.occurred_at, e.case_no))

    def missing(self, case: Case) -> list[str]:
        """``Tx.missing_photos`` of the case as it would be stored."""
        manifest = sorted({photo.sha256 for photo in case.photos})
        self._load_photos(manifest)
        return [sha for sha in manifest if case.officer_badge not in self.held[sha]]

    def policy(self, named: int) -> Policy:
        if named not in self._policies:
            self._policies[named] = resolve(self.tx, named)
        return self._policies[named]

    def device_first_seen(self) -> datetime | None:
        """The pushing device's first sign-in at HQ (``Tx.device_first_seen``), read once per batch."""
        if self._first_seen is _UNSET:
            self._first_seen = self.tx.device_first_seen(self.device_id)
        return self._first_seen

    def user(self, badge: str) -> UserRow | None:
        if badge not in self._users:
            self._users[badge] = self.tx.get_user(badge)
        return self._users[badge]

    # -- writing
    def add_case(self, new: NewCase, state: CaseState) -> None:
        """Queue a first case version (``state``: as ``Tx.save_case`` would return it)."""
        self.note_stored(new.case)
        self._positions[new.case.id] = len(self._positions)
        self._cases.append(new)
        self._tally.change(None, facts_of(state, Counted.of_json(new.payload)))
        self._tally_due = True
        if len(self._cases) == self._spill:
            self.tx.save_cases(self._cases)
            self._cases = []

    def note_stored(self, case: Case) -> None:
        """Learn of a first case version, queued or stored."""
        if case.supersedes is not None:
            raise ValueError("only first versions are noted")
        self._load_stored([case.id])
        self._load_latest([case.case_no])
        if case.subject_id:
            self._load_groups([case.subject_id])
            entry = HistoryEntry.of(case)
            self.histories[case.subject_id].append(
                HistoryEntry(
                    entry.case_id,
                    entry.case_no,
                    entry.violation_code,
                    entry.occurred_at.astimezone(UTC),
                    entry.stage,
                    entry.status,
                    entry.version,
                )
            )  # fmt: skip  (as the database gives it back: in UTC)
            self.histories[case.subject_id].sort(key=lambda e: (e.occurred_at, e.case_no))
        self.stored[case.id] = True
        self.latest[case.case_no] = True

    def add_late(self, case: Case) -> None:
        """The queued first version ``case`` arrived after later cases of its identity: they are restaged
        at the next ``flush``, as its arrival sees them now (``hq.restage_late``)."""
        if not case.subject_id:
            raise ValueError("a case without a subject restages nothing")
        self._late.append(
            LateArrival(case.id, case.case_no, case.occurred_at, frozenset(self.group(case.subject_id)),
                        tuple(self.group_history(case.subject_id)), self._positions[case.id])
        )  # fmt: skip

    def note_amended(self, case: Case, subject_ids: Iterable[str | None]) -> None:
        """Learn of an amendment written directly (``Tx.save_case``): its version is stored, and the
        identities of these subjects (the one the case left, the one it is in) are read again when next
        asked about, their histories having changed; nothing else an amendment writes is held here."""
        self.stored[case.id] = True
        self.latest[case.case_no] = True
        members = {s for s in subject_ids if s}
        members |= {m for group in self.groups.values() if group & members for m in group}
        for key in [s for s, group in self.groups.items() if s in members or group & members]:
            del self.groups[key]
        for member in members:
            self.histories.pop(member, None)

    def forget_subject(self, subject_id: str) -> None:
        """A subject record was written directly: its row is read again when next asked about (its
        identity and history are unchanged unless ``invalidate`` followed a regrouping)."""
        self.subjects.pop(subject_id, None)

    def note_receipt(self, receipt: Receipt) -> None:
        """Learn of a receipt written directly."""
        if receipt.record_id in self.receipts:
            self.receipts[receipt.record_id].append(receipt)

    def add_receipt(self, receipt: Receipt) -> None:
        self._load_receipts([receipt.record_id])
        self.receipts[receipt.record_id].append(receipt)
        self._receipts.append(receipt)
        if len(self._receipts) == self._spill:
            self.tx.add_receipts(self._receipts)
            self._receipts = []

    def add_history(self, subject_id: str, district: str, entries: list[HistoryEntry]) -> None:
        """Queue ``hq.feed.emit_history`` of a subject; a later one of the same subject in the batch
        replaces it (as the feed keeps only the newest change of a key), so each is encoded once."""
        self._history.pop(subject_id, None)
        self._history[subject_id] = (district, entries)

    @property
    def tally(self) -> TallyDelta:
        """The batch's tally delta, for what is written directly too; ``finish`` writes it."""
        self._tally_due = True
        return self._tally

    def finish(self) -> None:
        """Write what is queued, then the batch's tally (after every version it counts is written)."""
        self.flush()
        if self._tally_due:
            self._tally.write(self.tx)
            self._tally_due = False

    def flush(self) -> None:
        """Write what is queued: the case versions with their manifests, the receipts, and emit the
        subjects' histories (in the order last given, before anything written directly)."""
        for subject_id, (district, entries) in self._history.items():
            emit_history(self.tx, subject_id, district, entries=entries)
        self._history = {}
        if self._cases:
            self.tx.save_cases(self._cases)
            self._cases = []
        if self._receipts:
            self.tx.add_receipts(self._receipts)
            self._receipts = []
        if self._late:  # once what they restage is written; before anything is written directly
            restage_arrivals(self.tx, self._late, self._positions, policy=self._policy, tally=self._tally)
            self._tally_due = True
            self._late = []
        self._positions = {}

    def invalidate(self) -> None:
        """Flush, and read again whatever is asked next (the caller is about to write directly)."""
        self.flush()
        self._clear()
