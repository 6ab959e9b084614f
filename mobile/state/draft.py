"""The case being recorded, as typed: a JSON-safe draft kept in the store's meta table.

Every field holds what the officer entered, text as text (a half-typed fine stays "12"), so nothing typed
is lost when a photo fails, the app goes to the background or the phone restarts. That includes what is
typed but not yet part of the case: the subject search, the open new-subject form, the stage being chosen
with its reason and the seized item being entered (``mobile.state.draft_form``). Conversion into an
``enforcement.model.Case`` happens only when saving (``mobile.state.new_case``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

#: The wizard's steps, in field order.
STEPS: tuple[str, ...] = ("violation", "location", "subject", "stage", "action", "photos", "review")

#: Which step shows a given Case field (to jump to the step of a validation error).
FIELD_STEP: dict[str, str] = {
    "violation_code": "violation",
    "location": "location",
    "subject_id": "subject",
    "subject_unknown": "subject",
    "chosen_stage": "stage",
    "computed_stage": "stage",
    "stage_override_reason": "stage",
    "disposition": "action",
    "fine_yuan": "action",
    "legal_basis": "action",
    "warning_notice_no": "action",
    "seizure_receipt_no": "action",
    "second_officer_badge": "action",
    "rectify_deadline": "action",
    "referred_to": "action",
    "seized_items": "action",
    "notes": "action",
    "photos": "photos",
}


@dataclass(slots=True)
class DraftPhoto:
    sha256: str
    size: int
    width: int
    height: int
    kind: str = "during"


@dataclass(slots=True)
class DraftSeized:
    kind: str
    quantity: int
    note: str = ""


@dataclass(slots=True)
class Draft:
    """One case being recorded (or a returned case being amended)."""

    case_id: str
    started_at: str  # ISO-8601 with offset: the case's occurred_at
    officer_badge: str
    case_no: str = ""  # reserved when the first photo is watermarked, or at save
    version: int = 1
    supersedes: str | None = None
    step: str = "violation"
    violation_code: str = ""
    lat: float | None = None
    lon: float | None = None
    accuracy_m: float | None = None
    address: str = ""
    grid_cell: str = ""
    no_fix_reason: str = ""
    subject_id: str | None = None
    subject_unknown: bool = False
    chosen_stage: int | None = None  # None: follow the computed stage
    stage_override_reason: str = ""
    disposition: str = ""
    fine_yuan: str = ""
    legal_basis: str = ""
    warning_notice_no: str = ""
    seizure_receipt_no: str = ""
    second_officer_badge: str = ""
    rectify_deadline: str = ""
    referred_to: str = ""
    notes: str = ""
    seized_items: list[DraftSeized] = field(default_factory=list)
    photos: list[DraftPhoto] = field(default_factory=list)
    # Typed on the wizard's screens but not (yet) part of the case; kept so that a restart loses nothing.
    subject_query: str = ""
    violation_query: str = ""  # the violation step's search (names and common names: 烧烤, 渣土)
    subject_form: dict[str, Any] | None = None  # the new-subject form while it is open
    stage_pick: int | None = None  # the stage being chosen instead of the computed one (None: not choosing)
    stage_pick_reason: str = ""
    seized_kind: str = ""
    seized_quantity: str = "1"
    # The 疏导点 the vendor was guided to (引导至疏导点; mobile.state.draft_zones): recorded on the case.
    guided_spot_id: str = ""
    guided_spot_name: str = ""
    # The clocks when the draft began (``mobile.state.clock``): the device's reading, the monotonic
    # clock's, and the offset used when the device clock was known to be wrong (``started_at`` is then
    # the best-known time). A draft begun under a wrong clock is recomputed once the clock is fixed.
    device_started_at: str = ""
    started_mono: float | None = None
    clock_offset_s: int | None = None
    clock_source: str = ""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Any) -> Draft | None:
        """The draft in ``data`` or None when it is not a draft this build understands."""
        if not isinstance(data, dict):
            return None
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        try:
            values["seized_items"] = [DraftSeized(**item) for item in values.get("seized_items", [])]
            values["photos"] = [DraftPhoto(**item) for item in values.get("photos", [])]
            draft = cls(**values)
        except (TypeError, ValueError):
            return None
        if draft.step not in STEPS:
            draft.step = "violation"
        if not isinstance(draft.subject_form, dict):
            draft.subject_form = None
        return draft

    @property
    def photo_hashes(self) -> set[str]:
        return {photo.sha256 for photo in self.photos}
