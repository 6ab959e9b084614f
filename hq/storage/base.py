"""The storage contract of HQ: one interface, two backends (SQLite embedded, PostgreSQL).

Everything goes through a transaction::

    with storage.transaction() as tx:          # a writer (SQLite: BEGIN IMMEDIATE)
        user = tx.get_user("1023")
        tx.audit("1023", "sign_in", target=device_id)
    with storage.transaction(readonly=True) as tx:   # a consistent read snapshot
        page = tx.changes_after(cursor, district="金水区", badge="1023")

Leaving the ``with`` block normally commits; an exception rolls everything back (and propagates). Calls
return only after the commit, so an acknowledgement sent after ``with`` is durable.

Change feed (``emit`` / ``changes_after``): changes are numbered *at commit time*, in commit order, so a
transaction that began earlier but commits later is still delivered to a reader whose cursor has passed
earlier-started work (see ``hq.storage.postgres`` for how PostgreSQL guarantees it). Cursors are opaque
strings issued by the storage (never the device clock); a cursor from another database raises
``CursorError``. A change has a scope: everyone (catalogue), a district (subjects, tombstones, case
history), one officer (review decisions and HQ's state of their own cases), or one squad (the squad's case
versions and shifts, read by its leaders). Only the newest change of each ``(kind, key)`` is kept (a newer
one replaces the older), so a first pull gets the current state.

Audit log (``audit`` / ``audit_events``): events are buffered in the transaction and appended at commit in
the same ordered step, each carrying the SHA-256 of the one before (``hq.audit`` computes and verifies).

Errors::

    LocalizedError
    └── StorageError            base of this package's errors (also: the schema was never created, a
        │                       reference to a missing row, no free connection in time)
        ├── CursorError         a pull cursor this storage never issued
        ├── StorageUnavailable  the database is locked, unreachable or timed out right now: retry later
        │                       (raised from the driver's error: sqlite3 / psycopg ``OperationalError``,
        │                       psycopg_pool's ``PoolTimeout``)
        ├── StorageConflict     a uniqueness rule violated (e.g. a second latest version of a case)
        └── SchemaTooNew        the database's schema version is newer than this code knows
                                (``hq.storage.migrations``); refused before anything is written

The backends translate their drivers' operational errors at the boundary (``transaction``,
``create_schema``) with ``raise StorageUnavailable(...) from exc``, so no caller imports a driver. Other
driver errors (a programming error such as bad SQL) are bugs and propagate unchanged.

Why this module is long (over 600 lines): it is the one storage contract every backend implements,
kept whole so that it reads as one specification.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol, runtime_checkable

from enforcement.model import Case, HistoryEntry, Officer, Review, Shift, Stage, Subject
from enforcement.text import LocalizedError
from enforcement.workorders import Event as WorkOrderEvent
from enforcement.workorders import Figures as WorkOrderFigures
from enforcement.workorders import Stage as WorkOrderStage
from hq.storage.notice_rows import NoticeBookRow, NoticeFlagRow, NoticeSeries
from hq.storage.workorder_rows import PartnerRow, WorkOrderRow


class StorageError(LocalizedError):
    code = "storage"


class CursorError(StorageError):
    code = "bad_cursor"


class StorageConflict(StorageError):
    code = "storage_conflict"


class SchemaTooNew(StorageError):
    code = "schema_too_new"


class StorageUnavailable(StorageError):
    """The database cannot serve this transaction right now (locked, unreachable, timed out): retry."""

    code = "storage_unavailable"


# ---------------------------------------------------------------------------------------------- rows


@dataclass(frozen=True, slots=True)
class District:
    code: str  # the key officers carry in ``Officer.district`` (e.g. "金水区")
    name: str


@dataclass(frozen=True, slots=True)
class Squad:
    code: str  # e.g. "ZD01"
    name: str  # e.g. 人民路中队
    district: str  # District.code


@dataclass(frozen=True, slots=True)
class UserRow:
    """A user (officer, squad leader or HQ staff) and the argon2 hash of their PIN."""

    officer: Officer
    pin_hash: str
    active: bool = True

    @property
    def badge(self) -> str:
        return self.officer.badge


@dataclass(frozen=True, slots=True)
class DeviceRow:
    """One user on one device (a shared squad phone has a row per badge), with their last contact."""

    device_id: str
    badge: str
    created_at: datetime
    last_seen_at: datetime
    device_name: str = ""
    revoked_at: datetime | None = None  # this badge on this device is blocked until HQ re-enables it


@dataclass(frozen=True, slots=True)
class DeviceKey:
    """What HQ holds about one physical device: the SHA-256 of the device key bound to it (None: never
    bound, an older app) and whether the whole device is revoked (blocked for every badge)."""

    device_id: str
    key_hash: str | None
    bound_badge: str
    bound_at: datetime | None
    revoked_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class TokenRow:
    """A per-device bearer token; only its hash is stored."""

    token_hash: str
    device_id: str
    badge: str
    issued_at: datetime
    expires_at: datetime
    revoked_at: datetime | None = None
    last_used_at: datetime | None = None

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None

    def valid_at(self, now: datetime) -> bool:
        return self.revoked_at is None and now < self.expires_at


@dataclass(frozen=True, slots=True)
class SignInFailures:
    """Failed sign-ins under one throttling key (the caller picks it, e.g. badge or badge+address)."""

    key: str
    count: int
    first_at: datetime
    last_at: datetime
    locked_until: datetime | None = None


class RecordKind(StrEnum):
    CASE = "case"
    SUBJECT = "subject"
    SHIFT = "shift"
    REVIEW = "review"
    WORK_ORDER_ARRIVAL = "work_order_arrival"
    WORK_ORDER_RESOLUTION = "work_order_resolution"


@dataclass(frozen=True, slots=True)
class Receipt:
    """HQ's ledger entry of one accepted record payload: the exactly-once memory.

    Keyed by ``(record_id, payload_hash)``: an identical replay finds its receipt and gets the original
    answer back. ``result`` is the JSON form of the answer that was given (status, errno, hq_stage…).
    """

    record_id: str
    payload_hash: str
    kind: RecordKind
    badge: str
    device_id: str
    device_seq: int
    received_at: datetime
    result: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class StageVerdict:
    """HQ's authoritative stage of a case version, computed over HQ's whole history of the subject."""

    stage: Stage
    ordinal: int
    explain_zh: str = ""
    explain_en: str = ""
    policy_version: int = 0  # the policy version HQ staged it under (``enforcement.policy``)


@dataclass(frozen=True, slots=True)
class PolicyRow:
    """One published version of the staged rule's policy document (``enforcement.policy``)."""

    version: int  # 1, 2, … in publication order
    document: Mapping[str, Any]
    created_at: datetime
    created_by: str  # badge, or "cli"


@dataclass(frozen=True, slots=True)
class CaseState:
    """HQ's view of one case version beside what the device said."""

    case_id: str
    case_no: str
    version: int
    officer_badge: str
    squad_code: str
    district: str
    subject_id: str | None
    violation_code: str
    occurred_at: datetime
    received_at: datetime
    device_stage: Stage  # the stage the phone computed
    chosen_stage: Stage  # the stage the officer applied
    hq_stage: Stage
    hq_ordinal: int
    stage_conflict: bool  # hq_stage != device_stage: flagged for the squad leader
    explain_zh: str
    explain_en: str
    photos_expected: int
    photos_stored: int
    latest: bool  # False once an amendment superseded it
    review: str = ""  # ReviewDecision value of the newest review, "" when none
    policy_version: int = 0  # the policy version of HQ's stage (0: the built-in rule)

    @property
    def complete(self) -> bool:
        """Complete only when every photo of the case's manifest has arrived."""
        return self.photos_stored >= self.photos_expected


@dataclass(frozen=True, slots=True)
class NewCase:
    """A first case version to store with ``Tx.save_cases`` (what ``Tx.save_case`` takes, and its JSON)."""

    case: Case
    district: str
    verdict: StageVerdict
    received_at: datetime
    payload: Mapping[str, Any]  # ``codec.to_json_dict(case)``
    payload_text: str | None = None  # that as canonical JSON text, when the caller has it


#: A case version's place in the keyset order of ``Tx.cases_page``: ``(occurred_at, case_no, version)``.
CaseKey = tuple[datetime, str, int]
QueueKey = tuple[int, datetime, str]  # the review queue's order: 0 needs a decision / 1 not, time, case id


@dataclass(frozen=True, slots=True)
class QueueRow:
    """A latest case version of a squad's day as the review queue reads it (``Tx.queue_rows``)."""

    case_id: str
    case_no: str
    version: int
    occurred_at: datetime
    received_at: datetime
    hq_stage: Stage
    status: str  # CaseStatus value
    review: str  # ReviewDecision value of the version's newest review, "" when none
    needs_decision: bool  # 处罚 (applied or HQ's), a stage conflict, an implausible time, a notice flag
    device_first_seen: datetime | None  # its device's first sign-in at HQ (the time-flag rule)
    payload: dict[str, Any]  # the stored case JSON
    notice_flag: str = ""  # NoticeFlag value HQ gave its warning-notice number (``hq.notices``), or ""


@dataclass(frozen=True, slots=True)
class OffenderRow:
    """A subject's kept counts (``hq.tally``): counted cases, of them at 处罚, and the latest of each."""

    subject_id: str
    cases: int
    penalties: int
    last_at: datetime
    last_penalty_at: datetime | None


@dataclass(frozen=True, slots=True)
class PhotoRow:
    sha256: str
    size: int
    stored: bool
    stored_at: datetime | None = None
    uploaded_by: str = ""


class ChangeKind(StrEnum):
    CATALOGUE = "catalogue"
    SUBJECT = "subject"
    HISTORY = "history"
    REVIEW = "review"
    TOMBSTONE = "tombstone"
    CASE_STATE = "case_state"
    SQUAD_CASE = "squad_case"  # a case version as the squad's leaders see it (key: case id)
    SQUAD_SHIFT = "squad_shift"  # a shift of a squad member (key: shift id)
    ZONE = "zone"  # a zone feature of the current zone version, or its removal (key: zone id; hq.zones)
    POLICY = "policy"  # the staged rule's policy in force, to everyone (key: "policy")
    WORK_ORDER = "work_order"  # a work order for its officer (key "<id>@<badge>") or squad ("<id>#<squad>")
    SUBJECT_ALIAS = "subject_alias"  # a merged subject and the one it now is (key: the alias id; hq.merge)


#: Kinds a pull skips when they occurred before its ``history_since`` window (occurred_at: the case time).
HISTORY_KINDS: frozenset[ChangeKind] = frozenset({ChangeKind.HISTORY})
#: Kinds a pull skips when they occurred before its ``squad_since`` window (occurred_at: the case time, or a
#: shift's start): a leader's phone holds the squad's recent days, not a year of them.
SQUAD_KINDS: frozenset[ChangeKind] = frozenset({ChangeKind.SQUAD_CASE, ChangeKind.SQUAD_SHIFT})


@dataclass(frozen=True, slots=True)
class SubjectPair:
    """Two subjects of one district found alike (``hq.subjectmatch``); ``a < b``. ``strength``: ``strong``
    (a shared phone, plate or ID number: one identity for the staged rule unless ``split``) or ``weak``
    (similar name and kind: only suggested). ``state``: ``open`` (a merge suggestion), ``merged``,
    ``split`` (the leader said: two subjects)."""

    a: str
    b: str
    district: str
    strength: str
    reason: str  # the shared keys or "name", comma-separated
    state: str
    at: datetime
    by_badge: str = ""


@dataclass(frozen=True, slots=True)
class SubjectAlias:
    """A merged subject (``alias_id``) and the subject it now is (``survivor_id``)."""

    alias_id: str
    survivor_id: str
    district: str
    at: datetime
    by_badge: str


@dataclass(frozen=True, slots=True)
class SubjectRevision:
    """One accepted write of a subject: the whole record after it and the fields it changed."""

    subject_id: str
    version: int
    at: datetime
    by_badge: str
    device_id: str
    payload: Mapping[str, Any]
    changed: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SubjectConflict:
    """One field of a subject changed two ways from the same base (``hq.subjectedit``), until resolved."""

    id: str
    subject_id: str
    district: str
    field: str
    base_value: str
    hq_value: str
    pushed_value: str
    by_badge: str
    device_id: str
    at: datetime
    resolved_at: datetime | None = None
    resolved_by: str = ""


@dataclass(frozen=True, slots=True)
class ZoneVersion:
    """One imported zone set: ``data`` is the GeoJSON FeatureCollection (WGS84, RFC 7946)."""

    version: int
    imported_at: datetime
    imported_by: str
    features: int
    data: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class ChangeScope:
    """Who receives a change: everyone (all None), a district's users, one officer, or the leaders of one
    squad (``squad``: only callers passing ``squad=`` to ``changes_after`` get it)."""

    district: str | None = None
    badge: str | None = None
    squad: str | None = None

    @classmethod
    def everyone(cls) -> ChangeScope:
        return cls()


@dataclass(frozen=True, slots=True)
class Change:
    kind: ChangeKind
    key: str  # the record id (subject id, case id, review id, "catalogue")
    data: Mapping[str, Any]  # JSON form (codec.to_json_dict of the record, or {} for a tombstone)
    occurred_at: datetime | None = None  # history / squad_case: case time, squad_shift: start (pull window)


@dataclass(frozen=True, slots=True)
class ChangePage:
    changes: list[Change]
    cursor: str  # give it back on the next pull; always valid, even when ``changes`` is empty
    more: bool


@dataclass(frozen=True, slots=True)
class AuditEvent:
    seq: int
    at: datetime
    actor: str  # badge, "system" or "cli"
    action: str  # e.g. "sign_in", "push", "sequence_gap", "review", "token_revoked"
    target: str
    detail: Mapping[str, Any]
    prev_hash: str
    hash: str


@dataclass(frozen=True, slots=True)
class AuditHead:
    """The newest event's number and hash, stored apart from the events (catches a cut-off tail)."""

    seq: int
    hash: str


# ---------------------------------------------------------------------------------------- contract


@runtime_checkable
class Tx(Protocol):
    """One database transaction. Every method runs inside it; nothing is visible to others before the
    ``with`` block ends. ``at`` arguments are aware datetimes (stored in UTC)."""

    @property
    def spill_rows(self) -> int:
        """How many queued case versions or receipts a push batch sends ahead (``save_cases`` /
        ``add_receipts`` before its end; 0: once, at the end): > 0 where the database works while HQ's
        Python goes on (PostgreSQL's pipeline mode), so the batch's writes overlap its checks."""
        ...

    # -- organisation
    def put_district(self, district: District) -> None: ...
    def get_district(self, code: str) -> District | None: ...
    def put_squad(self, squad: Squad) -> None: ...
    def get_squad(self, code: str) -> Squad | None: ...
    def list_squads(self, district: str | None = None) -> list[Squad]: ...

    # -- users
    def put_user(self, user: UserRow) -> None:
        """Insert or replace the user with this badge."""
        ...

    def get_user(self, badge: str) -> UserRow | None: ...
    def list_users(self, *, squad_code: str | None = None, district: str | None = None) -> list[UserRow]: ...
    def set_pin_hash(self, badge: str, pin_hash: str) -> bool: ...
    def set_user_active(self, badge: str, active: bool) -> bool: ...

    # -- devices and tokens
    def touch_device(self, device_id: str, badge: str, at: datetime, device_name: str = "") -> DeviceRow:
        """Record that ``badge`` used ``device_id`` at ``at`` (creates the device × badge row on first use;
        other badges' rows on the device are untouched; an empty ``device_name`` keeps the stored one)."""
        ...

    def get_device(self, device_id: str, badge: str | None = None) -> DeviceRow | None:
        """``badge``'s row on the device, or (no badge) its most recently seen row."""
        ...

    def list_devices(self, badge: str | None = None, *, device_id: str | None = None) -> list[DeviceRow]:
        """Device × badge rows (of one user / one device when given), most recently seen first."""
        ...

    def device_first_seen(self, device_id: str) -> datetime | None:
        """The device's first sign-in at HQ: the earliest ``created_at`` of its rows, whichever badge (a
        shared squad phone signed in first by one officer, later by another, was first seen then), None for
        a device never seen. It never changes once the device is seen (rows are never deleted), so the
        time rule (``patrollog.reviewing.time_flag``) gives a case the same answer at ingest, in the
        leader's queue and on the leader's phone (``SquadCaseData.device_first_seen``)."""
        ...

    def active_token_count(self, device_id: str, now: datetime, badge: str | None = None) -> int: ...
    def set_device_revoked(self, device_id: str, at: datetime | None, badge: str | None = None) -> int:
        """Block (``at``) or re-enable (None) ``badge`` on the device, or (no badge) the whole device
        and every badge on it; returns how many rows changed (0: the device was never seen)."""
        ...

    def get_device_key(self, device_id: str) -> DeviceKey | None: ...
    def bind_device_key(self, device_id: str, key_hash: str, badge: str, at: datetime) -> DeviceKey:
        """Bind ``key_hash`` to the device unless a key is bound already; returns what is bound now."""
        ...

    def add_token(self, token: TokenRow) -> None: ...
    def get_token(self, token_hash: str) -> TokenRow | None: ...
    def touch_token(self, token_hash: str, at: datetime) -> None: ...
    def revoke_tokens(
        self,
        at: datetime,
        *,
        token_hash: str | None = None,
        device_id: str | None = None,
        badge: str | None = None,
    ) -> int:
        """Revoke the matching unrevoked tokens (at least one filter required); returns how many."""
        ...

    # -- sign-in throttling
    def get_failures(self, key: str) -> SignInFailures | None: ...
    def record_failure(self, key: str, at: datetime, locked_until: datetime | None = None) -> SignInFailures:
        """Count one more failure under ``key`` (sets ``locked_until`` when given)."""
        ...

    def clear_failures(self, key: str) -> None: ...
    def put_failures(self, failures: SignInFailures) -> None:
        """Insert or replace the counter under ``failures.key``."""
        ...

    def lock_signin(self, keys: Iterable[str]) -> None:
        """Serialise sign-in attempts on these throttling keys until this transaction ends (PostgreSQL:
        advisory locks; SQLite: writers are already serial), so a check and its count are one step."""
        ...

    # -- the exactly-once ledger and per-device sequence numbers
    def get_receipt(self, record_id: str, payload_hash: str) -> Receipt | None: ...
    def receipts_for(self, record_id: str) -> list[Receipt]:
        """Every accepted payload under this record id, oldest first."""
        ...

    def add_receipt(self, receipt: Receipt) -> None: ...
    def device_seq_high(self, device_id: str) -> int:
        """The highest ``device_seq`` seen from the device (0 when none)."""
        ...

    def set_device_seq_high(self, device_id: str, seq: int) -> None:
        """Raise the high-water mark to ``seq`` (never lowers it)."""
        ...

    # -- cases
    def save_case(
        self, case: Case, *, district: str, verdict: StageVerdict, received_at: datetime
    ) -> CaseState:
        """Store a new case version with its photo manifest; marks ``case.supersedes`` (if any) as no
        longer latest. Completeness is computed from the photos already stored. Emits nothing: the
        caller emits the changes it wants. ``StorageConflict`` if the id exists or ``supersedes`` is not
        the latest version: the transaction must then be rolled back (let the exception propagate).
        Another version claiming the same ``(case_no, version)`` or latest slot fails in the database
        (a concurrent amendment): the caller's transaction fails and is retried by the phone."""
        ...

    # -- set-based forms of the above, for a whole push batch (``hq.ingest.push``)
    def receipts_of(self, record_ids: Iterable[str]) -> list[Receipt]:
        """Every receipt under any of these record ids."""
        ...

    def existing_case_ids(self, case_ids: Iterable[str]) -> set[str]:
        """Which of these case version ids are stored."""
        ...

    def case_subjects(self, case_ids: Iterable[str]) -> dict[str, str | None]:
        """The subject of each stored case version among ``case_ids``."""
        ...

    def latest_case_nos(self, case_nos: Iterable[str]) -> set[str]:
        """Which of these case numbers have a stored (latest) version."""
        ...

    def subjects_by_id(self, subject_ids: Iterable[str]) -> dict[str, tuple[Subject, bool]]:
        """The stored subjects among ``subject_ids``, each with whether it is deleted."""
        ...

    def histories(self, subject_ids: Iterable[str]) -> dict[str, list[HistoryEntry]]:
        """``subject_history`` of each subject (absent: no case), in one query."""
        ...

    def held_photos(self, sha256s: Iterable[str]) -> set[tuple[str, str]]:
        """``(sha256, badge)``: which of these photos are stored with bytes uploaded by which officer."""
        ...

    def save_cases(self, cases: Sequence[NewCase]) -> None:
        """``save_case`` of many first versions (no ``supersedes``) at once, with their manifests."""
        ...

    def add_receipts(self, receipts: Sequence[Receipt]) -> None:
        """``add_receipt`` of many at once."""
        ...

    def set_verdict(self, case_id: str, verdict: StageVerdict) -> CaseState | None:
        """Replace HQ's stage of a stored case version (recomputed when an earlier case arrived late)."""
        ...

    def set_verdicts(self, verdicts: Sequence[tuple[str, StageVerdict]]) -> None:
        """``set_verdict`` of many case versions ``(case id, verdict)`` at once, read back by nobody (a
        restage knows each new state: ``hq.restage``)."""
        ...

    def get_case(self, case_id: str) -> Case | None: ...
    def case_state(self, case_id: str) -> CaseState | None: ...
    def latest_case_version(self, case_no: str) -> Case | None: ...
    def case_versions(self, case_no: str) -> list[Case]:
        """Every version of a case number, version 1 first."""
        ...

    def lock_subjects(self, subject_ids: Iterable[str], *, record_ids: Iterable[str] = ()) -> None:
        """Serialise work on these subjects' histories until this transaction ends, so two concurrent
        pushes about one subject each see the other's case (PostgreSQL: transaction-scoped advisory
        locks taken in one sorted step; SQLite: nothing to do, writers are already serial). Take them
        once, before reading any history. ``record_ids`` are locked in the same step: two copies of
        one batch (a phone's retry) then run one after the other, and the second finds the first's
        receipts instead of failing on the unique key."""
        ...

    def subject_history(self, subject_id: str, *, before: datetime | None = None) -> list[HistoryEntry]:
        """The latest version of every case of the subject, from all officers, occurring strictly before
        ``before`` (all when None), oldest first. A case withdrawn on review has status WITHDRAWN."""
        ...

    def list_cases(
        self,
        *,
        district: str | None = None,
        squad_code: str | None = None,
        officer_badge: str | None = None,
        subject_id: str | None = None,
        subject_ids: Collection[str] | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        latest_only: bool = True,
        conflicts_only: bool = False,
        limit: int = 500,
        received_since: datetime | None = None,
        received_until: datetime | None = None,
    ) -> list[CaseState]:
        """Case states by occurrence time, newest first, filtered (``since``/``until``: occurrence time;
        ``received_since``/``received_until``: HQ's receive time)."""
        ...

    # -- photos
    def get_photo(self, sha256: str) -> PhotoRow | None: ...
    def mark_photo_stored(
        self, sha256: str, size: int, at: datetime, uploaded_by: str = "", device_id: str = ""
    ) -> list[str]:
        """Record that the blob arrived, uploaded by officer ``uploaded_by`` from ``device_id`` (the file is
        stored once; each officer who sends its bytes is recorded once). Returns the ids of ``uploaded_by``'s
        case versions that became complete now (exactly once per case, also when photos of one case are
        stored by concurrent transactions): a case's photo counts only once its own officer uploaded it,
        so an upload without ``uploaded_by`` completes nothing."""
        ...

    def photo_uploaders(self, sha256: str) -> list[str]:
        """Badges of the officers who uploaded this photo's bytes (sorted)."""
        ...

    def cases_with_photo(self, sha256: str) -> list[str]:
        """Ids of the case versions whose manifest lists this photo."""
        ...

    def missing_photos(self, case_id: str) -> list[str]: ...
    def missing_photos_of(self, case_ids: Sequence[str]) -> dict[str, list[str]]:
        """``missing_photos`` of each of these case versions (one query per 500 ids; every id a key)."""
        ...

    # -- subject identity (issue #22: hq.subjectmatch, hq.merge, hq.subjectedit)
    def set_subject_keys(self, subject_id: str, district: str, keys: Iterable[str]) -> None:
        """Replace the subject's matching keys."""
        ...

    def subject_keys(self, subject_id: str) -> set[str]:
        """The subject's matching keys (empty when none are stored)."""
        ...

    def subject_name_keys(self, subject_ids: Iterable[str]) -> dict[str, str]:
        """Subject id → its ``name:<kind>:<name>`` key, for those of the subjects that have one."""
        ...

    def subjects_with_keys(self, district: str, keys: Iterable[str]) -> dict[str, set[str]]:
        """Subject id → which of ``keys`` it holds, for the district's subjects holding any."""
        ...

    def put_subject_pair(self, pair: SubjectPair) -> None:
        """Insert or replace the pair ``(pair.a, pair.b)`` (``a < b``)."""
        ...

    def get_subject_pair(self, a: str, b: str) -> SubjectPair | None:
        """The pair of two subjects, in either order."""
        ...

    def delete_subject_pair(self, a: str, b: str) -> bool: ...
    def subject_pairs(self, subject_ids: Iterable[str]) -> list[SubjectPair]:
        """Every pair touching one of the subjects."""
        ...

    def list_subject_pairs(
        self, district: str | None, *, states: Iterable[str] = ("open",), limit: int = 500
    ) -> list[SubjectPair]:
        """Pairs of a district (every district when None) in these states, newest first."""
        ...

    def put_subject_alias(self, alias: SubjectAlias) -> None: ...
    def drop_subject_alias(self, alias_id: str) -> bool: ...
    def subject_alias(self, alias_id: str) -> SubjectAlias | None: ...
    def aliases_of(self, survivor_id: str) -> list[SubjectAlias]: ...
    def add_subject_revision(self, revision: SubjectRevision) -> None: ...
    def subject_revisions(self, subject_id: str, *, limit: int = 500) -> list[SubjectRevision]:
        """The subject's writes, oldest first."""
        ...

    def add_subject_conflict(self, conflict: SubjectConflict) -> None: ...
    def list_subject_conflicts(
        self, district: str | None, *, subject_id: str | None = None, open_only: bool = True, limit: int = 500
    ) -> list[SubjectConflict]: ...
    def get_subject_conflict(self, conflict_id: str) -> SubjectConflict | None: ...
    def resolve_subject_conflict(self, conflict_id: str, at: datetime, by_badge: str) -> bool:
        """Mark an open conflict resolved; False when it is unknown or resolved already."""
        ...

    # -- subjects, shifts, reviews, catalogue
    def save_subject(self, subject: Subject, *, at: datetime, by_badge: str = "") -> None:
        """Insert or replace a subject (the registry is editable); undeletes a deleted one. Queues the
        SUBJECT change to the subject's district (registry writes are always published)."""
        ...

    def get_subject(self, subject_id: str, *, include_deleted: bool = False) -> Subject | None: ...
    def delete_subject(self, subject_id: str, at: datetime) -> bool:
        """Mark the subject deleted and queue its TOMBSTONE to its district; False if absent."""
        ...

    def list_subjects(self, district: str, *, limit: int = 1000) -> list[Subject]: ...
    def save_shift(self, shift: Shift) -> None:
        """Insert or replace a shift (closing a shift re-sends it with ``ended_at``)."""
        ...

    def get_shift(self, shift_id: str) -> Shift | None: ...
    def list_shifts(self, badge: str, *, since: datetime | None = None) -> list[Shift]: ...
    def save_review(self, review: Review, at: datetime) -> None:
        """Store a review (never edited) and set the case's newest review by ``decided_at``."""
        ...

    def get_review(self, review_id: str) -> Review | None: ...
    def reviews_for_case(self, case_id: str) -> list[Review]: ...
    def set_catalogue(self, version: str, data: Mapping[str, Any], at: datetime) -> None:
        """Store the catalogue and queue the CATALOGUE change ``{"version": …}`` to everyone."""
        ...

    def get_catalogue(self) -> tuple[str, dict[str, Any]] | None: ...

    # -- zones (hq.zones validates and diffs; the storage keeps the versions)
    def add_zone_version(self, data: Mapping[str, Any], *, at: datetime, by: str) -> int:
        """Store a zone set as the next version (1, 2, …; concurrent imports are serialised) and return
        its number."""
        ...

    def zone_version(self, version: int | None = None) -> ZoneVersion | None:
        """A stored zone version; None: the current (highest) one, or None when there is none."""
        ...

    # -- the staged rule's policy (every version kept)
    def add_policy(self, document: Mapping[str, Any], *, at: datetime, by: str) -> PolicyRow:
        """Publish a (checked) policy document as the next version (1 for the first) and queue the POLICY
        change ``{"version", "document", "created_at"}`` to everyone. Versions are never edited."""
        ...

    def get_policy(self, version: int | None = None) -> PolicyRow | None:
        """One version, or the newest when ``version`` is None; None when there is none."""
        ...

    def list_policies(self, *, limit: int = 200) -> list[PolicyRow]:
        """The published versions, newest first."""
        ...

    # -- work orders (hq.workorders folds the events; the storage keeps them and the order's summary)
    def add_work_order(self, order: WorkOrderRow) -> bool:
        """Insert a new order (False: the id exists, nothing changed)."""
        ...

    def get_work_order(self, order_id: str) -> WorkOrderRow | None: ...
    def set_work_order_summary(
        self,
        order_id: str,
        *,
        squad: str,
        officer: str,
        stage: WorkOrderStage,
        updated_at: datetime,
        closed_at: datetime | None,
        arrive_due: datetime,
        resolve_due: datetime,
        outcome: str,
        satisfaction: str,
        place: str | None = None,
        due_at: datetime | None = None,
        first_arrived_ok: bool = False,
        first_resolved_ok: bool = False,
    ) -> None:
        """Replace HQ's summary of the order (folded from its events); ``place`` None keeps it. The timer
        columns (``hq.storage.workorder_rows.summary_timers``): the next pending deadline, the first
        round's arrival and resolution on time."""
        ...

    def list_work_orders(
        self,
        *,
        district: str | None = None,
        squad: str | None = None,
        officer: str | None = None,
        unrouted: bool = False,
        open_only: bool = False,
        closed_only: bool = False,
        since: datetime | None = None,
        until: datetime | None = None,
        overdue_at: datetime | None = None,
        categories: Sequence[str] = (),
        limit: int = 1000,
    ) -> list[WorkOrderRow]:
        """Orders by intake time, newest first (at most 5,000), filtered; ``unrouted``: the manual queue;
        ``overdue_at``: only the orders overdue at that HQ time, the longest overdue first (indexed);
        ``categories``: only orders of these violation codes (none: all)."""
        ...

    def add_work_order_event(self, event: WorkOrderEvent, *, at_hq: datetime | None = None) -> bool:
        """Insert an event once (False: its id exists; events are never edited)."""
        ...

    def get_work_order_event(self, event_id: str) -> WorkOrderEvent | None: ...
    def work_order_events(self, order_id: str) -> list[WorkOrderEvent]:
        """The order's events in HQ's receive sequence (``seq`` 1, 2, …, numbered at insert)."""
        ...

    def work_order_events_of(self, order_ids: Sequence[str]) -> dict[str, list[WorkOrderEvent]]:
        """The events of each of these orders (as ``work_order_events``), a few queries for all of them:
        the lists refold hundreds of orders."""
        ...

    def work_order_figures(
        self,
        *,
        since: datetime,
        until: datetime,
        now: datetime,
        district: str | None = None,
        squads: Sequence[str] | None = None,
        by: str = "",
    ) -> dict[str, WorkOrderFigures]:
        """The bureau's figures (``enforcement.workorders.figures``) of the orders taken in [since, until)
        (of ``district`` / those squads), overdue counted at ``now``, from the summaries in one query:
        ``by`` "" (key ""), "category" or "squad" (keys the codes; groups without orders absent), or
        "category_squad" (keys "category|squad": both tables of the public page in one pass)."""
        ...

    def work_orders_with_photo(self, sha256: str, actor: str) -> list[str]:
        """Ids of the orders whose resolution events by officer ``actor`` name this photo (sorted)."""
        ...

    def put_partner(self, partner: PartnerRow) -> None:
        """Insert or replace the Open311 partner of this name (its key hash, active)."""
        ...

    def partner_by_key(self, key_hash: str) -> PartnerRow | None: ...
    def list_partners(self) -> list[PartnerRow]: ...
    def set_work_order_timers(self, data: Mapping[str, Any], at: datetime) -> None: ...
    def get_work_order_timers(self) -> dict[str, Any] | None: ...

    # -- warning-notice books (hq.storage.sql_notices)
    def put_notice_series(self, series: NoticeSeries) -> None: ...
    def get_notice_series(self, series: str) -> NoticeSeries | None: ...
    def list_notice_series(self, district: str | None = None) -> list[NoticeSeries]: ...
    def lock_notice_series(self, series: str) -> NoticeSeries:
        """The series, its row locked to the commit (issues of it wait); ``StorageError`` when unknown."""
        ...

    def add_notice_book(
        self, series: str, first: int, last: int, *, badge: str, district: str, at: datetime, by: str
    ) -> NoticeBookRow: ...
    def issue_notice_book(
        self, series: str, size: int, *, badge: str, district: str, at: datetime, by: str
    ) -> NoticeBookRow: ...
    def get_notice_book(self, book_id: str) -> NoticeBookRow | None: ...
    def notice_books(
        self, *, badge: str | None = None, district: str | None = None, limit: int = 1000
    ) -> list[NoticeBookRow]: ...
    def notice_book_at(self, series: str, number: int) -> NoticeBookRow | None: ...
    def use_notice_number(
        self, number: str, *, case_no: str, case_id: str, badge: str, book_id: str | None,
        seq_no: int | None, at: datetime,
    ) -> str: ...  # fmt: skip
    def release_notice_numbers(self, case_no: str, *, keep: str = "") -> int: ...
    def notice_numbers_used(self, book_ids: Iterable[str]) -> dict[str, set[int]]: ...
    def add_notice_flag(self, flag: NoticeFlagRow) -> None: ...
    def notice_flags(self, case_ids: Iterable[str]) -> dict[str, NoticeFlagRow]: ...

    # -- change feed
    def emit(
        self,
        kind: ChangeKind,
        key: str,
        data: Mapping[str, Any],
        scope: ChangeScope,
        *,
        occurred_at: datetime | None = None,
        text: str | None = None,
    ) -> None:
        """Queue a change; it is numbered and written at commit, in commit order. ``text``: the change's
        data as JSON text when the caller already has it encoded (stored as given; ``data`` is then not
        read)."""
        ...

    def emit_case(
        self,
        state: Mapping[str, Any],
        leaders: Mapping[str, Any],
        *,
        badge: str,
        squad: str,
        placed: datetime,
    ) -> None:
        """Queue HQ's state of one case version as ONE stored entry (key: the version's id, ``state
        ["case_id"]``) that pulls read as two changes: ``case_state`` (``state``: ``CaseStateData``'s JSON
        form) for the officer ``badge``, and ``squad_case`` for the leaders of ``squad`` when ``placed``
        (the case's best-known time) is inside their window. The leaders' data is not stored: a pull builds
        it from the version's ``cases`` row (the record as HQ stored it), ``state``'s stage, reason, receive
        time and missing photos, and ``leaders`` (``reviews``, ``officer_name``, ``subject_label``,
        ``device_first_seen``), exactly as ``hq.feed.squad_case_data`` would (no entry when the version
        has no row). It replaces the version's earlier ``case_state`` entry, as ``emit`` would."""
        ...

    def changes_after(
        self,
        cursor: str | None,
        *,
        district: str,
        badge: str,
        squad: str | None = None,
        history_since: datetime | None = None,
        squad_since: datetime | None = None,
        limit: int = 500,
    ) -> ChangePage:
        """Changes visible to an officer of ``district`` with ``badge``, after ``cursor`` (None: from the
        beginning), in commit order; with ``squad`` (the caller leads that squad) also the changes scoped
        to that squad. Changes of ``HISTORY_KINDS`` occurring before ``history_since`` are skipped (the
        caller passes now - 365 days), and those of ``SQUAD_KINDS`` before ``squad_since`` (or, when it is
        None, before ``history_since``). A case version's one entry (``emit_case``) gives its ``case_state``
        and ``squad_case`` together, in that order, never split across pages: a page holds at most
        ``limit`` changes, or two when ``limit`` is 1 and its first entry gives both."""
        ...

    # -- aggregates kept by ingest (``hq.tally`` decides what counts; ``hq.storage.sql_tally``)
    def tally_add(
        self,
        cases: Iterable[tuple[str, str, str, int, int, int, int]] = (),
        seized: Iterable[tuple[str, str, str, int, int]] = (),
        conflicts: Iterable[tuple[str, str, int]] = (),
        trend: Iterable[tuple[str, str, str, str, int, int]] = (),
    ) -> None:
        """Upsert-increment deltas: cases ``(day, squad, violation, stage, n, fined, fines_yuan)``,
        seizures ``(day, squad, kind, cases, items)``, open conflicts ``(day, squad, n)``, trend rows
        ``(unit "week"|"month", first day, squad, violation, stage, n)``."""
        ...

    def tally_recount_subjects(self, subject_ids: Iterable[str]) -> None: ...
    def tally_put_subjects(self, rows: Iterable[tuple[str, int, int, datetime, datetime | None]]) -> None: ...
    def tally_clear(self) -> None: ...
    def tally_cases(
        self, first_day: str, last_day: str, *, squad_code: str | None = None,
        violation_code: str | None = None,
    ) -> list[tuple[str, str, str, int, int, int, int]]: ...  # fmt: skip
    def tally_sum(
        self,
        first_day: str,
        last_day: str,
        by: Sequence[str],
        *,
        squad_code: str | None = None,
        violation_code: str | None = None,
    ) -> list[tuple[Any, ...]]:
        """``(*group, n, fined, fines_yuan)`` over the days grouped by ``by`` (of day, squad_code,
        violation_code, stage), non-zero groups only."""
        ...

    def tally_seized(
        self, first_day: str, last_day: str, *, squad_code: str | None = None
    ) -> list[tuple[str, str, str, int, int]]: ...
    def tally_trend(
        self,
        unit: str,
        first: str,
        last: str,
        *,
        squad_code: str | None = None,
        violation_code: str | None = None,
    ) -> list[tuple[str, int, int]]:
        """``(first day, stage, n)`` of the weeks or months whose first day is in ``[first, last]``."""
        ...  # fmt: skip

    def tally_trend_rows(self) -> list[tuple[str, str, str, str, int, int]]: ...
    def tally_conflicts(self) -> list[tuple[str, str, int]]: ...
    def tally_subjects(self) -> list[OffenderRow]: ...
    def tally_offenders(
        self, penalty_since: datetime, *, after: tuple[int, str] | None = None, limit: int = 20
    ) -> list[OffenderRow]: ...

    # -- the review queue (``hq.storage.sql_queue``)
    def queue_rows(
        self,
        squad_code: str,
        start: datetime,
        end: datetime,
        *,
        future_slack: timedelta,
        window: timedelta,
        device_slack: timedelta,
        waiting_only: bool = False,
        after: QueueKey | None = None,
        limit: int | None = None,
    ) -> list[QueueRow]:
        """The latest case versions of ``squad_code`` whose best-known time is in ``[start, end)``; with
        ``waiting_only`` those no review decided yet, in the queue's order (needs a decision first, time,
        case id), strictly after ``after``, at most ``limit``."""
        ...

    # -- keyset pages (no OFFSET: ``after`` is the previous page's last key)
    def cases_page(
        self,
        *,
        after: CaseKey | None = None,
        descending: bool = True,
        district: str | None = None,
        squad_code: str | None = None,
        officer_badge: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        latest_only: bool = True,
        conflicts_only: bool = False,
        open_conflicts: bool = False,
        limit: int = 100,
    ) -> list[CaseState]: ...
    def subjects_page(
        self, district: str, *, after: str | None = None, limit: int = 100
    ) -> list[Subject]: ...
    def case_payloads(self, case_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """The stored JSON (``codec.to_json_dict``) of the case versions among ``case_ids``, undecoded
        (absent ids left out): for counting, which reads a few fields of many versions."""
        ...

    # -- audit log
    def audit(
        self, actor: str, action: str, target: str = "", detail: Mapping[str, Any] | None = None
    ) -> None:
        """Queue an audit event; chained and written at commit."""
        ...

    def audit_events(self, after_seq: int = 0, limit: int = 1000) -> list[AuditEvent]: ...
    def audit_head(self) -> AuditHead | None: ...


@runtime_checkable
class Storage(Protocol):
    """A storage backend. Thread-safe: each transaction has its own connection."""

    backend: str  # "sqlite" | "postgres"

    def create_schema(self) -> None:
        """Create the tables if missing (idempotent)."""
        ...

    def transaction(self, *, readonly: bool = False) -> AbstractContextManager[Tx]: ...

    def close(self) -> None: ...


def iter_all_audit(storage: Storage, batch: int = 1000) -> Iterator[AuditEvent]:
    """Every audit event in order, read in pages (each page its own read transaction)."""
    after = 0
    while True:
        with storage.transaction(readonly=True) as tx:
            events = tx.audit_events(after, batch)
        yield from events
        if len(events) < batch:
            return
        after = events[-1].seq
