"""Whether a case or a subject may be saved: every refusal names the field and says, in words an officer
understands (zh + en), what to do.

``case_problems`` lists every problem of a case (a form can mark all fields at once); ``validate_case``
raises the first as ``CaseValidationError`` (``.field`` = the ``Case`` field name). The rules follow the
domain: a penalty cites its legal basis and stays within the catalogue's fine range; a seizure needs the
violation to allow it, an inventory receipt and two officers present; a stage other than the computed one
needs a written reason; an amendment names the version it replaces.

``validate_subject`` returns a normalised copy of a subject (plate, phone, ID number in canonical form,
text trimmed of spaces and invisible characters at its ends: ``enforcement.text.trimmed``) or raises
``CaseValidationError`` naming the ``Subject`` field. A required text counts only with something that
shows (``enforcement.text.blank``): a shop "named" by a zero-width space, or a stage override "reason" of
four of them, is refused like an empty one. Inside a text, every character is kept as typed.

Every free-text field is bounded by ``enforcement.limits.TEXT_LIMITS`` (a ``TextTooLongError`` naming the
field); HQ applies the same table to every pushed record.

The second officer of a seizure (``second_officer_problem``): the domain says a seizure needs two
officers present; the rule here is the strictest reasonable reading of who counts — an **active officer
or leader of the recording officer's own squad** (the squad code the case carries), not the recording
officer, never an HQ desk account. HQ checks it against its users table; the phone against the officers
it knows (it cannot know every badge offline, so there an unknown badge is left to HQ).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import date

from enforcement.catalogue import Catalogue, Violation
from enforcement.identifiers import (
    normalise_phone,
    normalise_plate,
    validate_resident_id,
    written_plate_form,
)
from enforcement.limits import check_lengths, length_problems
from enforcement.model import (
    Case,
    CaseValidationError,
    Disposition,
    IdentifierError,
    Location,
    Officer,
    Role,
    Stage,
    Subject,
    SubjectKind,
    local_date,
)
from enforcement.text import blank, trimmed, visible_length

MAX_PHOTOS = 9
#: A stage override reason needs at least this many characters that show ("屡教不改" is 4).
MIN_REASON_CHARS = 4

_SHA256 = re.compile(r"[0-9a-f]{64}")

_KIND_ZH = {
    SubjectKind.MOBILE_VENDOR: "流动摊贩",
    SubjectKind.SHOP: "店铺",
    SubjectKind.VEHICLE: "车辆",
    SubjectKind.CONSTRUCTION_SITE: "工地",
    SubjectKind.UNKNOWN: "不明当事人",
}


def clean_reason(text: str) -> str:
    """A written reason with surrounding space (and invisible characters) removed and inner runs of space
    collapsed."""
    return trimmed(" ".join(text.split()))


def reason_is_enough(text: str) -> bool:
    """At least ``MIN_REASON_CHARS`` characters that show (zero-width and other invisible ones do not
    count: four zero-width spaces are no reason)."""
    return visible_length(text) >= MIN_REASON_CHARS


def _problem(field: str, en: str, zh: str) -> CaseValidationError:
    return CaseValidationError(en, zh=zh, field=field)


def validate_case(
    case: Case, catalogue: Catalogue, *, subject: Subject | None = None, lengths_checked: bool = False
) -> None:
    """Raise ``CaseValidationError`` for the first problem of ``case`` (see ``case_problems``);
    ``lengths_checked``: the caller already refused over-long text (``limits.check_lengths``)."""
    for problem in case_problems(case, catalogue, subject=subject, lengths_checked=lengths_checked):
        raise problem


def case_problems(
    case: Case,
    catalogue: Catalogue,
    *,
    subject: Subject | None = None,
    officer_of: Callable[[str], Officer | None] | None = None,
    lengths_checked: bool = False,
) -> list[CaseValidationError]:
    """Every problem of ``case``, in the order of the form. ``subject``, when given, must be the case's
    subject; its kind is then checked against the violation's subject kinds. ``officer_of``, when given,
    looks a badge up in the caller's roster (None: not on it) for ``second_officer_problem``; an unknown
    badge is a problem only where the roster is complete (HQ calls the rule itself with ``complete``)."""
    violation = catalogue.violations.get(case.violation_code)
    checks = (
        _record(case),
        _violation(case, catalogue),
        _time(case),
        _location(case.location),
        _subject(case, violation, subject),
        _stage(case),
        _disposition(case, violation),
        _seizure(case, violation),
        _photos(case, catalogue),
        _version(case),
        () if lengths_checked else length_problems(case),
        _second_officer(case, officer_of),
    )
    return [problem for check in checks for problem in check]


def _second_officer(
    case: Case, officer_of: Callable[[str], Officer | None] | None
) -> Iterator[CaseValidationError]:
    second = case.second_officer_badge.strip()
    if officer_of is None or not case.seized_items or not second or second == case.officer_badge.strip():
        return  # nothing to look up (``_seizure`` names a missing or self second officer)
    problem = second_officer_problem(case, officer_of(second), complete=False)
    if problem is not None:
        yield problem


def second_officer_problem(
    case: Case, second: Officer | None, *, active: bool = True, complete: bool = True
) -> CaseValidationError | None:
    """Whether ``second`` (the officer found under ``case.second_officer_badge``, None when not found) may
    be the second officer present at the case's seizure: an active officer or leader of the case's squad
    other than the recording officer. ``complete``: the roster looked in has every officer (HQ), so a
    badge not found in it does not exist; the phone's roster is partial and leaves that to HQ."""
    badge = case.second_officer_badge.strip()
    if not case.seized_items or not badge:
        return None
    if second is None:
        if not complete:
            return None
        return _problem(
            "second_officer_badge",
            f"there is no officer with badge {badge}; enter the badge of the second officer present",
            f"没有证号为 {badge} 的执法队员，请填写在场的另一名执法队员的证号",
        )
    if second.badge == case.officer_badge:
        return _problem(
            "second_officer_badge", "the second officer must be someone else", "另一名执法人员不能是本人"
        )
    if second.role not in (Role.OFFICER, Role.LEADER):
        return _problem(
            "second_officer_badge",
            f"{badge} is not a field officer; the second officer must be an officer of your squad",
            f"{badge} 不是执法队员账号，另一名执法人员须为本中队队员",
        )
    if not active:
        return _problem(
            "second_officer_badge",
            f"officer {badge}'s account is disabled; enter an active officer of your squad",
            f"执法队员 {badge} 的账号已停用，请填写本中队在岗队员",
        )
    if second.squad_code != case.squad_code:
        return _problem(
            "second_officer_badge",
            f"officer {badge} is not of squad {case.squad_code}; the second officer must be of your squad",
            f"执法队员 {badge} 不属于 {case.squad_code} 中队，另一名执法人员须为本中队队员",
        )
    return None


def _record(case: Case) -> Iterator[CaseValidationError]:
    if not case.id.strip():
        yield _problem("id", "the record id is missing", "记录缺少编号")
    if not case.case_no.strip():
        yield _problem("case_no", "the case number is missing", "缺少案件编号")
    if not case.officer_badge.strip():
        yield _problem(
            "officer_badge",
            "the officer's badge number is missing; sign in again",
            "缺少执法队员编号，请重新登录",
        )
    if not case.squad_code.strip():
        yield _problem("squad_code", "the squad is missing; sign in again", "缺少所属中队，请重新登录")
    if not case.device_id.strip():
        yield _problem("device_id", "the device id is missing", "缺少设备编号")


def _violation(case: Case, catalogue: Catalogue) -> Iterator[CaseValidationError]:
    code = case.violation_code.strip()
    if not code:
        yield _problem("violation_code", "choose the violation type", "请选择违法类型")
    elif code not in catalogue:
        yield _problem(
            "violation_code",
            f"violation type {code} is not in catalogue {catalogue.version}; update it or choose again",
            f"违法类型“{code}”不在目录（{catalogue.version}）中，请更新目录或重新选择",
        )


def _time(case: Case) -> Iterator[CaseValidationError]:
    if case.occurred_at.tzinfo is None or case.occurred_at.utcoffset() is None:
        yield _problem("occurred_at", "the time of the violation has no time zone", "案发时间缺少时区")


def _location(location: Location) -> Iterator[CaseValidationError]:
    lat, lon = location.lat, location.lon
    if (lat is None) != (lon is None):
        yield _problem("location", "the GPS position is incomplete", "定位坐标不完整，请重新定位")
    elif lat is not None and lon is not None:
        if not (math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180):
            yield _problem(
                "location",
                "the GPS position is out of range (latitude -90..90, longitude -180..180)",
                "定位坐标超出范围（纬度 -90～90，经度 -180～180），请重新定位",
            )
        if location.accuracy_m is not None and not (
            math.isfinite(location.accuracy_m) and location.accuracy_m >= 0
        ):
            yield _problem("location", "the GPS accuracy is invalid", "定位精度无效，请重新定位")
    elif blank(location.address) and blank(location.no_fix_reason):
        yield _problem(
            "location",
            "get a GPS fix, type the address, or say why there is no fix",
            "请定位，或填写地址，或说明无法定位的原因",
        )


def _subject(
    case: Case, violation: Violation | None, subject: Subject | None
) -> Iterator[CaseValidationError]:
    has_id = bool(case.subject_id and case.subject_id.strip())
    if case.subject_unknown and has_id:
        yield _problem(
            "subject_id",
            "'subject unknown' is ticked, so no subject may be chosen",
            "已勾选“当事人不明”，不能同时选择当事人",
        )
    elif not case.subject_unknown and not has_id:
        yield _problem(
            "subject_id",
            "choose or register the subject; tick 'subject unknown' if they fled or cannot be identified",
            "请选择或登记当事人；当事人逃离或无法确认时请勾选“当事人不明”",
        )
    elif subject is not None and has_id:
        if subject.id != case.subject_id:
            yield _problem("subject_id", "the subject given is not the case's subject", "当事人与案件不符")
        elif violation is not None and subject.kind not in violation.subject_kinds:
            kind_zh = _KIND_ZH.get(subject.kind, str(subject.kind))
            yield _problem(
                "subject_id",
                f"{violation.name_en} does not apply to a subject of kind {subject.kind}",
                f"“{violation.name_zh}”不适用于此类当事人（{kind_zh}）",
            )


#: Highest policy version a case may name (``enforcement.policy``; HQ numbers versions from 1).
MAX_POLICY_VERSION = 1_000_000


_STAGES = frozenset(Stage)


def _stage(case: Case) -> Iterator[CaseValidationError]:
    stages = _STAGES
    if isinstance(case.policy_version, bool) or not 0 <= case.policy_version <= MAX_POLICY_VERSION:
        yield _problem("policy_version", "the policy version is invalid", "政策版本无效")
    if case.computed_stage not in stages:
        yield _problem("computed_stage", "the computed stage is invalid", "系统计算的处置阶段无效")
        return
    if case.chosen_stage not in stages:
        yield _problem("chosen_stage", "choose the stage", "请选择处置阶段")
        return
    if case.stage_ordinal < 1 or Stage(min(case.stage_ordinal, Stage.PENALTY)) != case.computed_stage:
        yield _problem(
            "stage_ordinal",
            f"violation count {case.stage_ordinal} does not match the computed stage",
            f"违法次数（第{case.stage_ordinal}次）与系统计算的处置阶段不符",
        )
    if case.chosen_stage != case.computed_stage and not reason_is_enough(case.stage_override_reason):
        yield _problem(
            "stage_override_reason",
            f"the stage you chose differs from the computed one; write the reason "
            f"(at least {MIN_REASON_CHARS} characters)",
            f"所选处置阶段与系统计算的不同，请写明理由（至少{MIN_REASON_CHARS}个字）",
        )


def _disposition(case: Case, violation: Violation | None) -> Iterator[CaseValidationError]:
    try:
        disposition = Disposition(case.disposition)
    except ValueError:
        yield _problem("disposition", "choose what was done", "请选择处置方式")
        return
    if disposition is Disposition.PENALTY:
        yield from _penalty(case, violation)
    elif case.fine_yuan is not None:
        yield _problem(
            "fine_yuan",
            "a fine is recorded only when the disposition is a penalty",
            "只有处置方式为“罚款”时才填写罚款金额",
        )
    if disposition is Disposition.WARNING_NOTICE and blank(case.warning_notice_no):
        yield _problem("warning_notice_no", "enter the warning notice number", "请填写警告通知书编号")
    if disposition is Disposition.RECTIFY_ORDER:
        day = local_date(case.occurred_at) if case.occurred_at.tzinfo is not None else None
        problem = deadline_problem(case.rectify_deadline, day)
        if problem is not None:
            yield problem
    if disposition is Disposition.REFERRED and blank(case.referred_to):
        yield _problem("referred_to", "enter the department the case is referred to", "请填写移交部门")


def _penalty(case: Case, violation: Violation | None) -> Iterator[CaseValidationError]:
    if case.chosen_stage != Stage.PENALTY:
        yield _problem(
            "disposition",
            "a fine needs the 'penalty' stage; to fine earlier, choose that stage and write the reason",
            "罚款须选择“处罚”阶段；如需提前处罚，请改选阶段并写明理由",
        )
    if violation is not None:
        if not violation.fines:
            yield _problem(
                "disposition",
                f"this bureau does not fine for {violation.name_en}; choose another disposition",
                f"“{violation.name_zh}”不由本局罚款，请选择其他处置方式（如移交）",
            )
        else:
            problem = fine_problem(case.fine_yuan, violation)
            if problem is not None:
                yield problem
    if blank(case.legal_basis):
        yield _problem("legal_basis", "cite the legal basis of the penalty", "请填写处罚依据")


# --- one field at a time: the same rule for the form's field as it is typed and for the whole case --------


def fine_range_text(violation: Violation) -> tuple[str, str]:
    """The fine range of ``violation`` as (en, zh) words ("50-500 yuan", "50～500 元"): the field's hint
    and every fine error say the range in these same words."""
    return (
        f"{violation.fine_min}-{violation.fine_max} yuan",
        f"{violation.fine_min}～{violation.fine_max} 元",
    )


def read_fine(value: int | str | None) -> int | None:
    """The fine as typed (digits, surrounding space allowed; "" is None); ``CaseValidationError`` naming
    ``fine_yuan`` when it is not a whole number of yuan."""
    if value is None or isinstance(value, int):
        return value
    text = value.strip()
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        raise _problem(
            "fine_yuan", "the fine must be a whole number of yuan", "罚款金额应为整数（元）"
        ) from None


def fine_problem(value: int | str | None, violation: Violation) -> CaseValidationError | None:
    """What is wrong with the fine of a penalty for ``violation`` (a number, or the text typed into the
    field), or None. ``case_problems`` and the form's fine field both ask this."""
    en, zh = fine_range_text(violation)
    try:
        fine = read_fine(value)
    except CaseValidationError as exc:
        return _problem("fine_yuan", f"{exc.en} ({en})", f"{exc.zh}（{zh}）")
    if fine is None:
        return _problem("fine_yuan", f"enter the fine ({en})", f"请填写罚款金额（{zh}）")
    if not violation.fine_min <= fine <= violation.fine_max or fine <= 0:
        return _problem("fine_yuan", f"the fine must be {en}", f"罚款金额应在 {zh}之间")
    return None


def read_deadline(value: date | str | None) -> date | None:
    """The rectification deadline as typed (``2026-12-31``; "" is None); ``CaseValidationError`` naming
    ``rectify_deadline`` when it is not such a date."""
    if value is None or isinstance(value, date):
        return value
    text = value.strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise _problem(
            "rectify_deadline",
            "the deadline must be a date like 2026-12-31",
            "整改期限格式应为 2026-12-31",
        ) from None


def deadline_problem(value: date | str | None, day: date | None) -> CaseValidationError | None:
    """What is wrong with the deadline of a rectification order for a violation on ``day`` (None: not
    known), or None. ``case_problems`` and the form's deadline field both ask this."""
    try:
        deadline = read_deadline(value)
    except CaseValidationError as exc:
        return exc
    if deadline is None:
        return _problem("rectify_deadline", "enter the deadline to rectify", "请填写整改期限")
    if day is not None and deadline <= day:
        return _problem(
            "rectify_deadline",
            "the deadline must be after the day of the violation",
            "整改期限应晚于案发当天",
        )
    return None


def _seizure(case: Case, violation: Violation | None) -> Iterator[CaseValidationError]:
    if not case.seized_items:
        return
    if violation is not None and not violation.seizure_allowed:
        yield _problem(
            "seized_items",
            f"items may not be seized for {violation.name_en}",
            f"“{violation.name_zh}”不允许暂扣物品",
        )
    for item in case.seized_items:
        if blank(item.kind):
            yield _problem("seized_items", "name each seized item", "请填写暂扣物品名称")
        elif item.quantity < 1:
            yield _problem(
                "seized_items",
                f"the quantity of '{item.kind}' must be at least 1",
                f"暂扣物品“{item.kind}”的数量至少为1",
            )
    if blank(case.seizure_receipt_no):
        yield _problem(
            "seizure_receipt_no",
            "enter the number of the seizure inventory (made in duplicate)",
            "请填写暂扣物品清单编号（清单一式二份）",
        )
    second = case.second_officer_badge.strip()
    if not second:
        yield _problem(
            "second_officer_badge",
            "a seizure needs two officers present; enter the second officer's badge",
            "暂扣须两名执法人员在场，请填写另一名执法人员编号",
        )
    elif second == case.officer_badge.strip():
        yield _problem(
            "second_officer_badge",
            "the second officer must be someone else",
            "另一名执法人员不能是本人",
        )


_STAGE_NAMES = {
    Stage.PERSUASION: ("劝导", "persuasion"),
    Stage.WARNING: ("警告", "warning"),
    Stage.PENALTY: ("处罚", "penalty"),
}


def _photos(case: Case, catalogue: Catalogue) -> Iterator[CaseValidationError]:
    if case.chosen_stage in _STAGES:  # the stage applied; an invalid one is ``_stage``'s problem
        needed = catalogue.min_photos_for(case.violation_code, Stage(case.chosen_stage))
        if len(case.photos) < needed:
            zh, en = _STAGE_NAMES[Stage(case.chosen_stage)]
            yield _problem(
                "photos",
                f"a {en} ({zh}) case needs at least {needed} photo{'s' if needed > 1 else ''} "
                f"(this one has {len(case.photos)}); take a photo before saving",
                f"{zh}案件至少需要{needed}张照片（当前{len(case.photos)}张），请先拍照再保存",
            )
    if len(case.photos) > MAX_PHOTOS:
        yield _problem(
            "photos",
            f"at most {MAX_PHOTOS} photos per case (this one has {len(case.photos)})",
            f"每起案件最多{MAX_PHOTOS}张照片（当前{len(case.photos)}张）",
        )
    seen: set[str] = set()
    for photo in case.photos:
        if not _SHA256.fullmatch(photo.sha256) or photo.size <= 0:
            yield _problem("photos", "a photo record is invalid", "照片记录无效，请重新拍摄")
        elif photo.sha256 in seen:
            yield _problem("photos", "the same photo was added twice", "同一张照片重复添加")
        seen.add(photo.sha256)


def _version(case: Case) -> Iterator[CaseValidationError]:
    if case.version < 1:
        yield _problem("version", "the version number is invalid", "版本号无效")
    elif case.version > 1 and not (case.supersedes and case.supersedes.strip()):
        yield _problem(
            "supersedes",
            "an amended case must name the version it replaces",
            "修改后的案件须注明所取代的原版本",
        )
    elif case.version == 1 and case.supersedes:
        yield _problem("supersedes", "a first version replaces nothing", "第一版不能取代其他版本")
    if case.supersedes and case.supersedes == case.id:
        yield _problem("supersedes", "a version cannot replace itself", "版本不能取代自身")


# --- subjects ------------------------------------------------------------------------------------------


def validate_subject(subject: Subject) -> Subject:
    """A normalised copy of ``subject``; ``CaseValidationError`` naming the field if it cannot be saved."""
    if not subject.id.strip():
        raise _problem("id", "the record id is missing", "记录缺少编号")
    check_lengths(subject)
    try:
        kind = SubjectKind(subject.kind)
    except ValueError:
        raise _problem("kind", "choose the kind of subject", "请选择当事人类型") from None
    try:
        plate = normalise_plate(subject.plate) if subject.plate.strip() else ""
        phone = normalise_phone(subject.phone) if subject.phone.strip() else ""
        id_number = validate_resident_id(subject.id_number) if subject.id_number.strip() else ""
    except IdentifierError as err:
        raise CaseValidationError(err.en, zh=err.zh, field=err.field) from err
    result = replace(
        subject,
        kind=kind,
        name=trimmed(subject.name),
        phone=phone,
        plate=plate,
        plate_written=_plate_written(subject, plate),
        address=trimmed(subject.address),
        description=trimmed(subject.description),
        id_number=id_number,
        district=trimmed(subject.district),
    )
    _check_kind_fields(result)
    return result


def _plate_written(subject: Subject, plate: str) -> str:
    """The written form to keep: the one already kept while it is still this plate, else the plate as typed
    (``written_plate_form``); "" without a plate."""
    if not plate:
        return ""
    for typed in (subject.plate_written, subject.plate):
        if typed.strip():
            try:
                if normalise_plate(typed) == plate:
                    return written_plate_form(typed)
            except IdentifierError:
                continue
    return ""


def _check_kind_fields(subject: Subject) -> None:
    kind = subject.kind
    if kind is SubjectKind.VEHICLE and not subject.plate:
        raise _problem("plate", "enter the vehicle's plate number", "请填写车牌号")
    if kind is SubjectKind.SHOP:
        if not subject.name:
            raise _problem("name", "enter the shop's name", "请填写店铺名称")
        if not subject.address:
            raise _problem("address", "enter the shop's address", "请填写店铺地址")
    if kind is SubjectKind.MOBILE_VENDOR and not (subject.name or subject.phone or subject.description):
        raise _problem(
            "name",
            "enter the vendor's name, phone or a description",
            "请至少填写摊贩的姓名、电话或特征描述之一",
        )
    if kind is SubjectKind.CONSTRUCTION_SITE and not (subject.name or subject.address):
        raise _problem("name", "enter the site's name or address", "请填写工地名称或地址")
    if kind is SubjectKind.UNKNOWN and not (subject.description or subject.name or subject.address):
        raise _problem(
            "description",
            "describe the subject (appearance, goods, place)",
            "请描述当事人特征（外貌、所售物品、地点等）",
        )
