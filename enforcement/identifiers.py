"""Identifiers typed in the field: vehicle plates, phone numbers, resident ID numbers.

Each ``normalise_*`` / ``validate_*`` function accepts what an officer types (separators ``·`` ``-``
spaces, lower case, full-width characters) and returns one canonical form, or raises ``IdentifierError``
(zh + en, ``field`` = the Subject field: ``plate``, ``phone``, ``id_number``).

Plates (canonical form without separator, e.g. ``豫A12345``; ``format_plate`` adds the dot):

- ordinary: province + issuing-authority letter + 5 characters, e.g. 豫A12345, 京N5B8C2;
- new energy: province + letter + 6 characters, small cars ``D``/``F`` + letter-or-digit + 4 digits
  (豫AD12345, 沪AF1A234), large vehicles 5 digits + ``D``/``F`` (粤B12345D);
- suffixed: province + letter + 4 characters + 挂 (trailer), 学 (driving school), 警 (police),
  领 (consulate); 港 / 澳 only on 粤Z cross-border plates;
- embassy: 使 + 6 digits (使014578), shown as 使014·578.

The letters I and O never appear on plates (they read as 1 and 0); they are refused with a hint rather
than silently changed, because the plate is evidence. Military and armed-police plates are not supported.

Resident IDs (GB 11643-1999): 17 digits (6-digit region, birth date YYYYMMDD, 3-digit sequence) and a
check character (ISO 7064 MOD 11-2, may be X). They are shown only masked (``mask_resident_id``).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date

from enforcement.model import IdentifierError

#: The 31 provincial-level divisions of the mainland, by their plate character.
PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
SUFFIXES = "挂学警领港澳"
_PLATE_CHARS = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"  # no I, no O
_SEPARATORS = re.compile(r"[\s·•‧・.\-－—_()（）]+")

_ORDINARY = re.compile(rf"[{PROVINCES}][A-HJ-NP-Z][A-HJ-NP-Z0-9]{{5}}")
_NEW_ENERGY = re.compile(rf"[{PROVINCES}][A-HJ-NP-Z](?:[DF][A-HJ-NP-Z0-9][0-9]{{4}}|[0-9]{{5}}[DF])")
_SUFFIXED = re.compile(rf"[{PROVINCES}][A-HJ-NP-Z][A-HJ-NP-Z0-9]{{4}}[挂学警领]")
_CROSS_BORDER = re.compile(r"粤Z[A-HJ-NP-Z0-9]{4}[港澳]")
_EMBASSY = re.compile(r"使[0-9]{6}")


@dataclass(frozen=True, slots=True)
class PlateInfo:
    plate: str  # canonical, e.g. 豫AD12345
    kind: str  # ordinary | new_energy | trailer | learner | police | consulate | cross_border | embassy


_SUFFIX_KIND = {"挂": "trailer", "学": "learner", "警": "police", "领": "consulate", "港": "cross_border"}


def _clean(text: str) -> str:
    return _SEPARATORS.sub("", unicodedata.normalize("NFKC", text)).upper()


def parse_plate(text: str) -> PlateInfo:
    """The canonical plate and its kind; ``IdentifierError`` (field ``plate``) if it is not a plate."""
    plate = _clean(text)
    if not plate:
        raise IdentifierError("enter the plate number", zh="请输入车牌号", field="plate")
    if _EMBASSY.fullmatch(plate):
        return PlateInfo(plate, "embassy")
    if _CROSS_BORDER.fullmatch(plate):
        return PlateInfo(plate, "cross_border")
    if _SUFFIXED.fullmatch(plate):
        return PlateInfo(plate, _SUFFIX_KIND[plate[-1]])
    if _NEW_ENERGY.fullmatch(plate):
        return PlateInfo(plate, "new_energy")
    if _ORDINARY.fullmatch(plate):
        return PlateInfo(plate, "ordinary")
    raise _plate_error(text, plate)


def _plate_error(text: str, plate: str) -> IdentifierError:
    if plate[0] not in PROVINCES and plate[0] != "使":
        return IdentifierError(
            f"plate {text!r} must start with a province character such as 豫",
            zh=f"车牌“{text}”应以省份简称开头（如“豫”）",
            field="plate",
        )
    if "I" in plate[1:] or "O" in plate[1:]:
        return IdentifierError(
            f"plate {text!r}: plates never use the letters I or O (did you mean 1 or 0?)",
            zh=f"车牌“{text}”：车牌不使用字母 I 和 O，是否应为数字 1 或 0？",
            field="plate",
        )
    if plate[-1] in "港澳":
        return IdentifierError(
            f"plate {text!r}: 港/澳 plates are 粤Z + 4 characters",
            zh=f"车牌“{text}”：港澳车牌应为“粤Z”加4位字符",
            field="plate",
        )
    return IdentifierError(
        f"plate {text!r} is not a valid plate (e.g. 豫A·12345, new energy 豫A·D12345)",
        zh=f"车牌“{text}”格式不正确（如 豫A·12345，新能源 豫A·D12345）",
        field="plate",
    )


def normalise_plate(text: str) -> str:
    """``"豫a·12345"`` → ``"豫A12345"``; ``IdentifierError`` if it is not a plate."""
    return parse_plate(text).plate


def written_plate_form(text: str) -> str:
    """The plate as the officer wrote it, kept for showing: full-width characters made half-width, letters
    upper case, runs of spaces one space, trimmed (``" 豫a·d12345 "`` → ``"豫A·D12345"``, ``"豫A D12345"``
    stays); written with no separator at all it gets the printed one (``"豫ad12345"`` → ``"豫A·D12345"``).
    ``IdentifierError`` if it is not a plate. Never matched on: ``normalise_plate`` gives the key."""
    written = " ".join(unicodedata.normalize("NFKC", text).upper().split())
    canonical = normalise_plate(written)
    return format_plate(canonical) if written == canonical else written


def format_plate(plate: str) -> str:
    """The plate as printed: ``"豫A·12345"``, ``"粤Z·1234港"``, ``"使014·578"``."""
    canonical = normalise_plate(plate)
    if canonical[0] == "使":
        return f"{canonical[:4]}·{canonical[4:]}"
    return f"{canonical[:2]}·{canonical[2:]}"


# --- phones --------------------------------------------------------------------------------------------

_MOBILE = re.compile(r"1[3-9][0-9]{9}")
_THREE_DIGIT_AREA = re.compile(r"0(?:10|2[0-9])")
_SUBSCRIBER = re.compile(r"[2-9][0-9]{6,7}")
_SERVICE = re.compile(r"[48]00[0-9]{7}")
_PHONE_SEPARATORS = re.compile(r"[\s·•‧・.\-－—()（）]+")


def normalise_phone(text: str) -> str:
    """A mainland mobile (``"13812345678"``), a landline with its area code (``"0371-66889900"``,
    ``"010-62345678"``) or a 400/800 service number (``"4001234567"``).

    Accepts separators and brackets, full-width digits and a +86 / 0086 prefix; an extension
    (``转``/``ext``) is refused rather than dropped.
    """
    digits = _PHONE_SEPARATORS.sub("", unicodedata.normalize("NFKC", text))
    if not digits:
        raise IdentifierError("enter the phone number", zh="请输入电话号码", field="phone")
    if digits.startswith("+86"):
        digits = digits[3:]
    elif digits.startswith("0086"):
        digits = digits[4:]
    elif digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    if not digits.isascii() or not digits.isdigit():
        raise IdentifierError(
            f"phone {text!r} may contain only digits", zh=f"电话“{text}”只能包含数字", field="phone"
        )
    if _MOBILE.fullmatch(digits) or _SERVICE.fullmatch(digits):
        return digits
    if digits.startswith("0"):
        area_len = 3 if _THREE_DIGIT_AREA.match(digits) else 4
        area, number = digits[:area_len], digits[area_len:]
        if (area_len == 3 or area[1] in "3456789") and _SUBSCRIBER.fullmatch(number):
            return f"{area}-{number}"
    elif _SUBSCRIBER.fullmatch(digits):
        raise IdentifierError(
            f"phone {text!r}: add the area code (e.g. 0371)",
            zh=f"电话“{text}”：固定电话请加区号（如 0371）",
            field="phone",
        )
    raise IdentifierError(
        f"phone {text!r} is not a mobile (11 digits) or a landline with area code",
        zh=f"电话“{text}”不是11位手机号或带区号的固定电话",
        field="phone",
    )


# --- resident ID numbers -------------------------------------------------------------------------------

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_ID_SHAPE = re.compile(r"[1-9][0-9]{16}[0-9X]")


def resident_id_check_char(first17: str) -> str:
    """The GB 11643 check character (ISO 7064 MOD 11-2) of the first 17 digits."""
    total = sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11]


def validate_resident_id(text: str) -> str:
    """The canonical 18-character resident ID (upper-case X) if shape, birth date and check character
    are right; ``IdentifierError`` (field ``id_number``) otherwise. Messages never echo the number."""
    number = re.sub(r"\s+", "", unicodedata.normalize("NFKC", text)).upper()
    if not number:
        raise IdentifierError("enter the ID number", zh="请输入身份证号", field="id_number")
    if len(number) == 15 and number.isdigit():
        raise IdentifierError(
            "old 15-digit ID numbers are not accepted; enter the 18-character number",
            zh="不接受15位旧身份证号，请输入18位号码",
            field="id_number",
        )
    if not _ID_SHAPE.fullmatch(number):
        raise IdentifierError(
            "an ID number has 18 characters: 17 digits and a final digit or X",
            zh="身份证号应为18位：17位数字加1位数字或X",
            field="id_number",
        )
    try:
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        born = None
    if born is None or born.year < 1900:
        raise IdentifierError(
            "the birth date in the ID number is not a real date",
            zh="身份证号中的出生日期无效",
            field="id_number",
        )
    if resident_id_check_char(number[:17]) != number[17]:
        raise IdentifierError(
            "the ID number's check character is wrong (typing error?)",
            zh="身份证号校验位不符，请核对是否输错",
            field="id_number",
        )
    return number


def mask_resident_id(text: str) -> str:
    """First 3 and last 2 characters with stars between (``"410*************2X"``); never the full
    number, whatever is passed. Too-short input is all stars."""
    number = re.sub(r"\s+", "", unicodedata.normalize("NFKC", text)).upper()
    if len(number) < 10:
        return "*" * len(number)
    return number[:3] + "*" * (len(number) - 5) + number[-2:]


# --- matching keys (one subject registered twice) ----------------------------------------------------

_NAME_DROP = re.compile(r"[\s\W_]+", re.UNICODE)


def normalise_shop_name(text: str) -> str:
    """A name or shop name for matching only (never shown): NFKC (full-width letters and digits become
    half-width), case folded, spaces, punctuation and symbols removed. Rare characters (㐂, 𠮷) are kept
    intact. ``"老王 烧烤（人民路店）"`` and ``"老王烧烤(人民路店)"`` give the same key."""
    return _NAME_DROP.sub("", unicodedata.normalize("NFKC", text)).casefold()


def phone_key(text: str) -> str:
    """The phone number's matching key (``normalise_phone`` without the landline dash); "" when it is
    not a phone number."""
    try:
        return normalise_phone(text).replace("-", "")
    except IdentifierError:
        return ""


def plate_key(text: str) -> str:
    """The plate's matching key (the canonical plate without separators); "" when it is not a plate.
    The written form (``豫A·D12345``) stays what the officer typed for display."""
    try:
        return normalise_plate(text)
    except IdentifierError:
        return ""


def resident_id_key(text: str) -> str:
    """The resident ID's matching key (only a number whose check character is right); "" otherwise."""
    try:
        return validate_resident_id(text)
    except IdentifierError:
        return ""


def strong_keys(phone: str = "", plate: str = "", id_number: str = "") -> frozenset[str]:
    """The strong identifiers of a subject as matching keys (``phone:…``, ``plate:…``, ``id:…``): two
    subjects of one district sharing one are the same subject for the staged rule."""
    found = (("phone", phone_key(phone)), ("plate", plate_key(plate)), ("id", resident_id_key(id_number)))
    return frozenset(f"{prefix}:{key}" for prefix, key in found if key)


def similar_names(a: str, b: str) -> bool:
    """Whether two names are alike enough to suggest (never apply) a merge: equal keys, or one key of at
    least 2 characters inside the other."""
    ka, kb = normalise_shop_name(a), normalise_shop_name(b)
    if not ka or not kb:
        return False
    if ka == kb:
        return True
    short, long_ = sorted((ka, kb), key=len)
    return len(short) >= 2 and short in long_
