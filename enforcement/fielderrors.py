"""What a refused field is told, in both languages: pydantic's error (``type`` and ``ctx``) in Chinese,
its own English text beside it. Used wherever a pydantic refusal reaches a person: HQ's API answers
(``hq.api.errors``) and a record's refusal (``enforcement.codec``: a pushed record, a form's record).

pydantic words its errors in English only ("String should have at most 2000 characters"), and the API's
``message_zh`` and a refused record's ``reason_zh`` used to carry that text as it was. ``describe`` gives
the Chinese for the error types a request can meet (lengths, numbers, dates, patterns, choices,
missing or unknown fields, JSON); any other type gets a general Chinese sentence, never English in the
Chinese text. The English side stays pydantic's own message, which names the limit.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

#: pydantic error type → Chinese, formatted with the error's ``ctx``.
_ZH: dict[str, str] = {
    "missing": "缺少此字段",
    "extra_forbidden": "不允许此字段",
    "string_type": "应为文本",
    "string_too_short": "至少 {min_length} 个字符",
    "string_too_long": "最多 {max_length} 个字符",
    "string_pattern_mismatch": "格式不正确",
    "string_unicode": "应为有效的 UTF-8 文本",
    "too_short": "至少 {min_length} 项",
    "too_long": "最多 {max_length} 项",
    "int_type": "应为整数",
    "int_parsing": "应为整数",
    "int_from_float": "应为整数，不能带小数",
    "float_type": "应为数字",
    "float_parsing": "应为数字",
    "finite_number": "应为有限的数字",
    "decimal_parsing": "应为数字",
    "bool_type": "应为 true 或 false",
    "bool_parsing": "应为 true 或 false",
    "greater_than": "应大于 {gt}",
    "greater_than_equal": "应不小于 {ge}",
    "less_than": "应小于 {lt}",
    "less_than_equal": "应不大于 {le}",
    "multiple_of": "应为 {multiple_of} 的整数倍",
    "datetime_type": "应为日期时间（ISO 8601，如 2026-12-07T09:30:00+08:00）",
    "datetime_parsing": "日期时间格式不正确（应为 ISO 8601，如 2026-12-07T09:30:00+08:00）",
    "datetime_from_date_parsing": "日期时间格式不正确（应为 ISO 8601，如 2026-12-07T09:30:00+08:00）",
    "datetime_object_invalid": "日期时间无效",
    "timezone_aware": "日期时间须带时区（如 +08:00）",
    "timezone_naive": "日期时间不应带时区",
    "date_type": "应为日期（如 2026-12-07）",
    "date_parsing": "日期格式不正确（应为 2026-12-07 这样的格式）",
    "date_from_datetime_parsing": "日期格式不正确（应为 2026-12-07 这样的格式）",
    "date_from_datetime_inexact": "应为日期，不带时间",
    "time_parsing": "时间格式不正确（应为 09:30 这样的格式）",
    "uuid_type": "应为 UUID",
    "uuid_parsing": "应为 UUID",
    "enum": "应为以下之一：{expected}",
    "literal_error": "应为以下之一：{expected}",
    "dict_type": "应为对象",
    "model_type": "应为对象",
    "model_attributes_type": "应为对象",
    "list_type": "应为列表",
    "tuple_type": "应为列表",
    "set_type": "应为列表",
    "bytes_type": "应为文本",
    "json_invalid": "不是有效的 JSON",
    "json_type": "不是有效的 JSON",
    "url_parsing": "网址格式不正确",
    "url_type": "应为网址",
    "none_required": "应为空",
    "union_tag_invalid": "类型不正确：应为 {expected_tags} 之一",
    "union_tag_not_found": "缺少类型字段 {discriminator}",
    "value_error": "取值无效",
    "assertion_error": "取值无效",
}
GENERAL_ZH = "取值无效"


def _ctx(error: Mapping[str, Any]) -> dict[str, str]:
    context = error.get("ctx") or {}
    return {str(key): str(value)[:200] for key, value in context.items()}


def describe(error: Mapping[str, Any]) -> tuple[str, str]:
    """``(zh, en)`` for one pydantic error dict (``ValidationError.errors()`` / FastAPI's)."""
    en = str(error.get("msg", "")) or "invalid value"
    own = getattr((error.get("ctx") or {}).get("error"), "zh", None)  # sync.protocol.WireValueError
    if isinstance(own, str) and own:
        return own, en
    template = _ZH.get(str(error.get("type", "")))
    if template is None:
        return GENERAL_ZH, en
    try:
        return template.format(**_ctx(error)), en
    except (KeyError, IndexError, ValueError):
        return template.split("{", 1)[0].rstrip("：: ") or GENERAL_ZH, en


def first_problem(exc: ValueError) -> tuple[str, str]:
    """``(zh, en)``, one line each, naming the first bad field of a pydantic ``ValidationError`` (a record's
    refusal): not pydantic's multi-line English dump with its documentation links and the input echoed."""
    errors = getattr(exc, "errors", None)
    items = errors(include_url=False, include_input=False) if callable(errors) else []
    first: Mapping[str, Any] = items[0] if items else {}
    where = ".".join(str(p) for p in first.get("loc", ())) or "?"
    zh, en = describe(first)
    return f"记录字段“{where}”无效：{zh}", f"The record's field '{where}' is not valid: {en}"
