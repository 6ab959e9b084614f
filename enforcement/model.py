"""The case model: plain, immutable records shared by the phone, the wire and HQ.

No I/O here. Every record carries a client-generated UUID (``id``) made on the phone, so records are
created offline and reach HQ exactly once by that id. Times are timezone-aware datetimes; dates in a
case number and in the staged rule are taken in the bureau's local zone (``LOCAL_TZ``).

Errors::

    LocalizedError (enforcement.text: message in zh and en, code, field)
    └── EnforcementError        base of every error this package raises
        ├── CatalogueError          malformed catalogue file (names file, entry, field)
        ├── CaseValidationError     a case is missing or has a bad field (names the field)
        ├── StageChoiceError        another stage chosen without a written reason
        └── IdentifierError         bad plate / resident ID / case number
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from enum import IntEnum, StrEnum

from enforcement.text import LocalizedError

#: Chinese bureaus work in China Standard Time (no DST). A fixed offset keeps the domain free of tzdata,
#: which phones may lack.
LOCAL_TZ = timezone(timedelta(hours=8), "CST")


class EnforcementError(LocalizedError):
    """Base of the enforcement package's errors: English and Chinese text, ``field`` where known."""

    code = "enforcement"


class CatalogueError(EnforcementError):
    code = "catalogue"


class CaseValidationError(EnforcementError):
    code = "case_invalid"


class StageChoiceError(EnforcementError):
    code = "stage_choice"


class IdentifierError(EnforcementError):
    code = "identifier"


def new_id() -> str:
    """A fresh client-generated record id (UUID4, canonical text form)."""
    return str(uuid.uuid4())


def local_date(moment: datetime) -> date:
    """The bureau-local calendar date of an aware datetime."""
    if moment.tzinfo is None:
        raise CaseValidationError("time must carry a time zone", zh="时间缺少时区", field="occurred_at")
    return moment.astimezone(LOCAL_TZ).date()


class Stage(IntEnum):
    """Staged enforcement (第三次违章处罚制): 1st persuasion, 2nd warning, 3rd and later penalty."""

    PERSUASION = 1  # 劝导
    WARNING = 2  # 警告
    PENALTY = 3  # 处罚


class SubjectKind(StrEnum):
    MOBILE_VENDOR = "mobile_vendor"  # 流动摊贩
    SHOP = "shop"  # 店铺
    VEHICLE = "vehicle"  # 车辆 (muck trucks, by plate)
    CONSTRUCTION_SITE = "construction_site"  # 工地
    UNKNOWN = "unknown"  # 不明 / 逃离


class CaseStatus(StrEnum):
    """Lifecycle of a case version. Only ACTIVE cases count for the staged rule."""

    ACTIVE = "active"
    VOIDED = "voided"  # 作废 by the officer (e.g. recorded in error)
    WITHDRAWN = "withdrawn"  # 撤销 on review by the squad leader


class ReviewState(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    RETURNED = "returned"


class Role(StrEnum):
    OFFICER = "officer"  # 执法队员
    LEADER = "leader"  # 中队长
    HQ = "hq"  # 指挥中心
    DESK = "desk"  # 热线受理（hotline desk: files complaints, assigns, follows up; sees callers' contacts）


class ReviewDecision(StrEnum):
    APPROVE = "approve"  # 通过
    RETURN = "return"  # 退回 (with a comment; the officer amends as a new version)
    WITHDRAW = "withdraw"  # 撤销 (the case no longer counts for the staged rule)


class SyncState(StrEnum):
    """Where a case is, as the phone sees it."""

    LOCAL = "local"  # on the phone only
    SENT = "sent"  # HQ has the record, photos still missing
    COMPLETE = "complete"  # HQ has the record and every photo of its manifest
    RETURNED = "returned"  # returned by the squad leader


class Disposition(StrEnum):
    """The main thing done on the spot. Seizure is recorded as seized items beside any disposition."""

    PERSUADED = "persuaded"  # 劝离
    CORRECTED = "corrected"  # 当场整改
    WARNING_NOTICE = "warning_notice"  # 警告通知书
    PENALTY = "penalty"  # 罚款 (fine within the catalogue range, legal basis cited)
    RECTIFY_ORDER = "rectify_order"  # 责令限期整改
    REFERRED = "referred"  # 移交其他部门


class PhotoKind(StrEnum):
    BEFORE = "before"
    DURING = "during"
    SEIZED = "seized"
    AFTER = "after"


@dataclass(frozen=True, slots=True)
class Location:
    """Where it happened. Either a GPS fix, or a typed address, or the reason there is none."""

    lat: float | None = None
    lon: float | None = None
    accuracy_m: float | None = None
    address: str = ""  # street / landmark typed by the officer
    grid_cell: str | None = None  # 网格 code when the district's grid is known
    no_fix_reason: str = ""  # e.g. "室内无信号"; required when neither GPS nor address is given

    @property
    def has_fix(self) -> bool:
        return self.lat is not None and self.lon is not None


@dataclass(frozen=True, slots=True)
class Officer:
    badge: str  # 警号 / 执法证号
    name: str
    squad_code: str  # e.g. "ZD01"
    squad_name: str = ""  # e.g. 人民路中队
    district: str = ""  # e.g. "金水区"
    role: Role = Role.OFFICER


@dataclass(frozen=True, slots=True)
class Shift:
    """A patrol shift (值班时段): started and ended by the officer on the phone."""

    id: str
    officer_badge: str
    started_at: datetime
    ended_at: datetime | None = None
    grid_cell: str = ""  # 网格 / road section patrolled
    #: When the phone's clock disagreed with HQ's (or the GPS's) at the end: the device clock's reading
    #: (``ended_at`` is the best-known time, never before ``started_at``) and the known offset in seconds
    #: (reference time - device time). Left out of the JSON form while None (``codec.to_json_dict``).
    device_ended_at: datetime | None = None
    clock_offset_s: int | None = None


@dataclass(frozen=True, slots=True)
class Review:
    """A squad leader's decision on one case version: who, when, why. Never edited; a later review of
    the same case supersedes an earlier one by ``decided_at``."""

    id: str
    case_id: str
    case_no: str
    decision: ReviewDecision
    reviewer_badge: str
    decided_at: datetime
    comment: str = ""


@dataclass(frozen=True, slots=True)
class Subject:
    """A registered subject (摸底建档). ``id_number`` is a resident ID, stored only when needed."""

    id: str
    kind: SubjectKind
    name: str = ""  # vendor's name or shop name (rare characters kept intact)
    phone: str = ""
    plate: str = ""  # normalised vehicle plate, e.g. 豫A12345: the key plates are matched and searched by
    address: str = ""
    description: str = ""
    id_number: str = ""
    district: str = ""
    hardship: bool = False  # 困难户: help before punishment
    created_at: datetime | None = None
    #: The plate as the officer wrote it (豫A·D12345, 豫A·1234挂): what every screen and report shows;
    #: "" on records from before it was kept (they show ``enforcement.labels.written_plate(plate)``).
    plate_written: str = ""


@dataclass(frozen=True, slots=True)
class SeizedItem:
    kind: str  # e.g. 烧烤炉, 烧烤架, 炭槽, 桌椅, 推车
    quantity: int
    note: str = ""


@dataclass(frozen=True, slots=True)
class PhotoRef:
    """A case's photo manifest entry. ``sha256`` of the evidence file is its identity phone → HQ."""

    sha256: str
    size: int
    kind: PhotoKind = PhotoKind.DURING
    width: int = 0
    height: int = 0


@dataclass(frozen=True, slots=True)
class Case:
    """One version of a case. Submitted versions are never changed: an amendment is a new ``Case`` with a
    new ``id``, the same ``case_no``, ``version + 1`` and ``supersedes`` = the id it replaces."""

    id: str
    case_no: str
    officer_badge: str
    squad_code: str
    device_id: str
    violation_code: str
    occurred_at: datetime
    location: Location
    subject_id: str | None  # None only when subject_unknown
    computed_stage: Stage
    chosen_stage: Stage
    disposition: Disposition
    subject_unknown: bool = False  # 不明 / 逃离
    stage_override_reason: str = ""
    stage_ordinal: int = 1  # 1 for first, 2 for second, ... (4+ is 处罚 repeated)
    fine_yuan: int | None = None
    legal_basis: str = ""
    warning_notice_no: str = ""
    seizure_receipt_no: str = ""
    second_officer_badge: str = ""
    rectify_deadline: date | None = None
    referred_to: str = ""
    seized_items: tuple[SeizedItem, ...] = ()
    photos: tuple[PhotoRef, ...] = ()
    notes: str = ""
    version: int = 1
    supersedes: str | None = None
    status: CaseStatus = CaseStatus.ACTIVE
    created_at: datetime | None = None
    extra: dict[str, str] = field(default_factory=dict)
    #: The policy version the phone staged it under (``enforcement.policy``; 0: the built-in rule, also
    #: what an older phone's case means). Left out of the JSON form at 0 (``codec.to_json_dict``).
    policy_version: int = 0
    #: The phone's clock when it disagreed with a reference (``enforcement.clock``): ``occurred_at`` is then
    #: the best-known time (device time + the known offset), ``device_occurred_at`` what the device clock
    #: read, ``clock_offset_s`` the offset (reference - device, seconds) and ``clock_source`` where the
    #: reference came from ("hq": HQ's ``Date`` at the last sync; "gps": the fix's time). All left out of
    #: the JSON form at their defaults, so the payload of a case that does not use them is unchanged.
    device_occurred_at: datetime | None = None
    clock_offset_s: int | None = None
    clock_source: str = ""

    @property
    def local_day(self) -> date:
        return local_date(self.occurred_at)


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """What the staged rule needs to know of an earlier case of the same subject."""

    case_id: str
    case_no: str
    violation_code: str
    occurred_at: datetime
    stage: Stage  # the stage applied (chosen) in that case
    status: CaseStatus = CaseStatus.ACTIVE
    version: int = 1

    @classmethod
    def of(cls, case: Case) -> HistoryEntry:
        return cls(
            case_id=case.id,
            case_no=case.case_no,
            violation_code=case.violation_code,
            occurred_at=case.occurred_at,
            stage=case.chosen_stage,
            status=case.status,
            version=case.version,
        )
