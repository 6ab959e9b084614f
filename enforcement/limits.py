"""How long each free-text field of a record may be: one table for the phone's forms, the wire models and
HQ (no I/O).

Limits are in characters (``len`` of the Python string, so a CJK character or an emoji counts as one).
They are generous for real use and far below what hurts a database row, a PDF line or a phone screen:

========================  =====  ============================================================
field                     chars  why
========================  =====  ============================================================
name                         64  a vendor's or shop's name (the longest registered shop names ~30)
address                     200  street, number, landmark
no_fix_reason               200  "室内无信号, 地下商场B2层" …
description                 500  a subject's appearance, goods, place
stage_override_reason       500  the officer's written reason for another stage
comment                     500  a leader's review comment (as HQ's review form has always allowed)
notes                      2000  a case's free notes (a page of text)
legal_basis                 200  article citations
referred_to                  64  a department's name
warning_notice_no / …        32  document numbers (warning notice, seizure inventory)
seized_kind                  32  an item kind (烧烤炉, 推车 …)
seized_note                 200  a note on a seized item
grid_cell                    32  a grid / road-section code
phone / plate / id_number    32  raw identifiers before normalisation
district                     32  a district code (金水区)
extra_key / extra_value   32/200 free ``Case.extra`` entries
device_name                 100  the phone's name at sign-in
========================  =====  ============================================================

Identifier-like fields (ids, badges, squad codes, case numbers, hashes) have their own format rules
elsewhere; ``check_lengths`` still bounds them (``_IDENTIFIER``) so nothing unbounded reaches storage.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from typing import Any

from enforcement.model import CaseValidationError

#: field (as named in ``enforcement.model``; a few qualified where one name means two things) → characters.
TEXT_LIMITS: Mapping[str, int] = {
    "name": 64,
    "officer_name": 64,
    "address": 200,
    "no_fix_reason": 200,
    "description": 500,
    "stage_override_reason": 500,
    "comment": 500,
    "notes": 2000,
    "legal_basis": 200,
    "referred_to": 64,
    "warning_notice_no": 32,
    "seizure_receipt_no": 32,
    "seized_kind": 32,
    "seized_note": 200,
    "grid_cell": 32,
    "phone": 32,
    "plate": 32,
    "id_number": 32,
    "district": 32,
    "extra_key": 32,
    "extra_value": 200,
    "device_name": 100,
}

#: Bound for identifier-like text without its own entry (ids, badges, codes, case numbers, hashes).
_IDENTIFIER = 64

#: Field names shown to the officer (zh) in a refusal.
_FIELD_ZH = {
    "name": "名称/姓名", "address": "地址", "no_fix_reason": "无法定位原因", "description": "特征描述",
    "stage_override_reason": "改选阶段理由", "comment": "审核意见", "notes": "备注",
    "legal_basis": "处罚依据",
    "referred_to": "移交部门", "warning_notice_no": "警告通知书编号", "seizure_receipt_no": "暂扣清单编号",
    "seized_kind": "暂扣物品名称", "seized_note": "暂扣物品备注", "grid_cell": "网格", "phone": "电话",
    "plate": "车牌号", "id_number": "身份证号", "district": "辖区", "extra_key": "附加项名称",
    "extra_value": "附加项内容", "device_name": "设备名称",
}  # fmt: skip


class TextTooLongError(CaseValidationError):
    """A free-text field over its ``TEXT_LIMITS`` entry (``field``: the record's field path)."""

    code = "text_too_long"


def limit_of(field: str) -> int:
    """The character limit of a field name (``TEXT_LIMITS``, else the identifier bound)."""
    return TEXT_LIMITS.get(field, _IDENTIFIER)


def too_long(field: str, text: str, *, path: str | None = None) -> TextTooLongError | None:
    """The refusal for ``text`` in ``field`` when it is over the limit, else None."""
    limit = limit_of(field)
    if len(text) <= limit:
        return None
    where = path or field
    label = _FIELD_ZH.get(field, where)
    return TextTooLongError(
        f"field '{where}' is too long: {len(text)} characters, at most {limit}",
        zh=f"“{label}”过长：{len(text)} 个字，最多 {limit} 个字",
        field=where,
    )


def _key(owner: str, name: str) -> str:
    if name == "plate_written":
        return "plate"
    if owner == "SeizedItem":
        return {"kind": "seized_kind", "note": "seized_note"}.get(name, name)
    return name


#: Per record class: each field's name, its ``TEXT_LIMITS`` key and limit (built once per class).
_PLANS: dict[type[Any], tuple[tuple[str, str, int], ...]] = {}
_IS_RECORD: dict[type[Any], bool] = {}


def _plan(cls: type[Any]) -> tuple[tuple[str, str, int], ...]:
    plan = _PLANS.get(cls)
    if plan is None:
        owner = cls.__name__
        plan = _PLANS[cls] = tuple(
            (f.name, _key(owner, f.name), limit_of(_key(owner, f.name))) for f in dataclasses.fields(cls)
        )
    return plan


def _is_record(value: Any) -> bool:
    kind = type(value)
    known = _IS_RECORD.get(kind)
    if known is None:
        known = _IS_RECORD[kind] = dataclasses.is_dataclass(kind)
    return known


def length_problems(record: Any, path: str = "") -> Iterator[TextTooLongError]:
    """Every text field of a model record (recursing into nested records, tuples and ``extra``) that is
    over its limit, named by its path (``location.address``, ``seized_items.0.note``)."""
    if not _is_record(record):
        return
    for name, key, limit in _plan(type(record)):
        value = getattr(record, name)
        if isinstance(value, str):
            if len(value) > limit:
                problem = too_long(key, value, path=f"{path}.{name}" if path else name)
                if problem is not None:
                    yield problem
        elif isinstance(value, tuple):
            where = f"{path}.{name}" if path else name
            for index, item in enumerate(value):
                yield from length_problems(item, f"{where}.{index}")
        elif isinstance(value, dict):
            where = f"{path}.{name}" if path else name
            for k, v in value.items():
                for field, text in (("extra_key", k), ("extra_value", v)):
                    if isinstance(text, str) and (problem := too_long(field, text, path=f"{where}.{k}")):
                        yield problem
        elif _is_record(value):
            yield from length_problems(value, f"{path}.{name}" if path else name)


def _fits(record: Any) -> bool:
    """True when no text of ``record`` is over its limit: ``length_problems`` finding nothing, without a
    generator or a path per field (the common case; a False takes the walk that names the field)."""
    for name, _, limit in _plan(type(record)):
        value = getattr(record, name)
        kind = type(value)
        if kind is str or isinstance(value, str):
            if len(value) > limit:
                return False
        elif value is None or kind in _SCALARS:
            continue
        elif isinstance(value, tuple):
            for item in value:
                if _is_record(item) and not _fits(item):
                    return False
        elif isinstance(value, dict):
            for k, v in value.items():
                if isinstance(k, str) and len(k) > _EXTRA_KEY:
                    return False
                if isinstance(v, str) and len(v) > _EXTRA_VALUE:
                    return False
        elif _is_record(value) and not _fits(value):
            return False
    return True


_SCALARS = frozenset({int, float, bool})
_EXTRA_KEY = limit_of("extra_key")
_EXTRA_VALUE = limit_of("extra_value")


def check_lengths(record: Any) -> None:
    """Raise the first ``TextTooLongError`` of ``record`` (see ``length_problems``)."""
    if _is_record(record) and _fits(record):
        return
    for problem in length_problems(record):
        raise problem
