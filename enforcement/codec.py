"""JSON form of the domain records, one definition for the phone's outbox, the wire and HQ.

pydantic's ``TypeAdapter`` validates and serialises the model's dataclasses directly, so there is no
second, hand-written schema to drift from ``enforcement.model``. Validation failures become
``CaseValidationError`` naming the first bad field (``raise … from`` keeps pydantic's detail).
pydantic is on Flet's mobile wheel index (pydantic-core 2.23), so this runs on the phone too.
"""

from __future__ import annotations

import re
from typing import Any, TypeVar

from pydantic import TypeAdapter, ValidationError

from enforcement.fielderrors import describe
from enforcement.model import Case, CaseValidationError, HistoryEntry, Shift, Subject

T = TypeVar("T")


_ADAPTERS: dict[type[Any], TypeAdapter[Any]] = {}


def _adapter(kind: type[Any]) -> TypeAdapter[Any]:
    adapter = _ADAPTERS.get(kind)
    if adapter is None:
        adapter = _ADAPTERS[kind] = TypeAdapter(kind)
    return adapter


#: Fields added to a record after phones and HQs were in the field, left out of the JSON form while they
#: hold their default: the canonical form (and the payload hash HQ's exactly-once ledger keeps) of a record
#: that does not use them stays what it was, and an older reader never sees them.
_ADDED_FIELDS: dict[type[Any], dict[str, Any]] = {
    Case: {"policy_version": 0, "device_occurred_at": None, "clock_offset_s": None, "clock_source": ""},
    Shift: {"device_ended_at": None, "clock_offset_s": None},
    Subject: {"plate_written": ""},
}


def to_json_dict(record: Any) -> dict[str, Any]:
    """A JSON-safe dict (ISO-8601 times with offset, enum values) of a model record."""
    result: dict[str, Any] = _adapter(type(record)).dump_python(record, mode="json")
    for name, default in _ADDED_FIELDS.get(type(record), {}).items():
        if result.get(name) == default:
            del result[name]
    return result


#: A NUL or a lone UTF-16 surrogate: neither can be stored (PostgreSQL, UTF-8) or shown.
BAD_CHAR = re.compile("[\x00\ud800-\udfff]")


def storable(text: str) -> bool:
    """True when ``text`` holds no ``BAD_CHAR``, found by C code instead of the regex's per-character
    loop (the push path checks every text of every record): a NUL is a byte search, and encoding to
    UTF-8 refuses exactly the surrogates U+D800-U+DFFF (tests/enforcement/test_codec_storable.py)."""
    if "\x00" in text:
        return False
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _bad_text(value: Any, where: str) -> str | None:
    """The path of the first string holding a NUL or a lone surrogate (neither can be stored or shown)."""
    if isinstance(value, str):
        return where if BAD_CHAR.search(value) else None
    if isinstance(value, dict):
        for key, item in value.items():
            found = _bad_text(key, where) or _bad_text(item, f"{where}.{key}" if where else str(key))
            if found:
                return found
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            found = _bad_text(item, f"{where}.{index}" if where else str(index))
            if found:
                return found
    return None


#: No list in a record's JSON holds more items than this (a case has at most 9 photos and a few seized
#: items): a longer one is refused before pydantic builds (and explains) each of its items.
MAX_LIST_ITEMS = 64


def _long_list(value: Any, where: str) -> str | None:
    """The path of the first list holding more than MAX_LIST_ITEMS items."""
    if isinstance(value, list | tuple):
        if len(value) > MAX_LIST_ITEMS:
            return where
        items: Any = enumerate(value)
    elif isinstance(value, dict):
        items = value.items()
    else:
        return None
    for key, item in items:
        found = _long_list(item, f"{where}.{key}" if where else str(key))
        if found:
            return found
    return None


def _clean(value: Any) -> bool:
    """True when no list holds more than MAX_LIST_ITEMS items and no text a NUL or lone surrogate: one
    fast pass over plain JSON that gathers its texts (keys included) and searches them all at once;
    anything else (a problem, another type) takes the walks that name it."""
    texts: list[str] = []
    return _plain(value, texts) and storable("".join(texts))


def _plain(value: Any, texts: list[str]) -> bool:
    """True when ``value`` is plain JSON with no list over MAX_LIST_ITEMS items; appends its texts.
    (Joining texts makes no bad character: a Python string holds code points, so two lone surrogates
    side by side stay two lone surrogates.)"""
    kind = type(value)
    if kind is str:
        texts.append(value)
        return True
    if kind is dict:
        for key, item in value.items():
            if type(key) is not str:
                return False
            texts.append(key)
            kind = type(item)
            if kind is str:
                texts.append(item)
            elif not (item is None or kind is int or kind is float or kind is bool or _plain(item, texts)):
                return False
        return True
    if kind is list or kind is tuple:
        if len(value) > MAX_LIST_ITEMS:
            return False
        for item in value:  # noqa: SIM110 (a loop: all() over a generator costs more here)
            if not _plain(item, texts):
                return False
        return True
    return kind is int or kind is float or kind is bool or value is None


def from_json_dict(kind: type[T], data: Any) -> T:
    """The record of ``kind`` from its JSON dict; refuses bad input naming the field.

    Text holding a NUL character or a lone UTF-16 surrogate is refused here, before any layer tries to
    store it (PostgreSQL rejects NUL; UTF-8 encoders reject lone surrogates); so is a list of more than
    MAX_LIST_ITEMS items."""
    if not _clean(data):
        _refuse_unclean(kind, data)
    try:
        record: T = _adapter(kind).validate_python(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or kind.__name__
        zh, en = describe(first)
        raise CaseValidationError(
            f"{kind.__name__}: field '{where}': {en}",
            zh=f"记录字段“{where}”无效：{zh}",
            field=where,
        ) from exc
    return record


def _refuse_unclean(kind: type[Any], data: Any) -> None:
    """Refuse a long list, else bad text, naming the first (nothing when neither is found after all)."""
    where = _long_list(data, "")
    if where is not None:
        raise CaseValidationError(
            f"{kind.__name__}: field '{where}' holds more than {MAX_LIST_ITEMS} items",
            zh=f"字段“{where}”的条目超过{MAX_LIST_ITEMS}项",
            field=where.split(".")[0] or kind.__name__,
        )
    where = _bad_text(data, "")
    if where is not None:
        field = where.split(".")[0] or kind.__name__
        raise CaseValidationError(
            f"{kind.__name__}: field '{where}' holds an invalid character (NUL or lone surrogate)",
            zh=f"字段“{where}”含有无效字符",
            field=field,
        )


def case_from_dict(data: Any) -> Case:
    return from_json_dict(Case, data)


def subject_from_dict(data: Any) -> Subject:
    return from_json_dict(Subject, data)


def history_from_dict(data: Any) -> HistoryEntry:
    return from_json_dict(HistoryEntry, data)
