"""pydantic's refusals worded in Chinese (``enforcement.fielderrors``), the English beside them; and a
record's refusal (``enforcement.codec``) in both languages."""

from __future__ import annotations

import re

import pytest
from pydantic import BaseModel, Field, ValidationError

from enforcement.codec import from_json_dict
from enforcement.fielderrors import GENERAL_ZH, describe
from enforcement.model import CaseValidationError, Subject
from sync.protocol import WireValueError

#: pydantic's English, which used to stand in the Chinese text.
ENGLISH = re.compile(r"\b(should|Input|valid|Field|required|characters|items)\b")


class _Form(BaseModel):
    name: str = Field(max_length=3)
    tags: list[str] = Field(default_factory=list, max_length=2)
    count: int = Field(default=0, ge=1)


def _first(**data: object) -> dict:
    with pytest.raises(ValidationError) as caught:
        _Form.model_validate(data)
    return dict(caught.value.errors()[0])


def test_lengths_and_numbers_in_chinese_with_their_limits() -> None:
    assert describe(_first(name="abcd"))[0] == "最多 3 个字符"
    assert describe(_first(name="a", tags=["x", "y", "z"]))[0] == "最多 2 项"
    assert describe(_first(name="a", count=0))[0] == "应不小于 1"
    assert describe(_first(name="a", count="abc"))[0] == "应为整数"
    assert describe(_first())[0] == "缺少此字段"
    zh, en = describe(_first(name="abcd"))
    assert "3" in en
    assert not ENGLISH.search(zh)


def test_an_unknown_error_type_gets_a_general_chinese_sentence() -> None:
    assert describe({"type": "something_new", "msg": "Something new went wrong"}) == (
        GENERAL_ZH,
        "Something new went wrong",
    )


def test_a_wire_models_own_refusal_keeps_its_chinese() -> None:
    error = {
        "type": "value_error",
        "msg": "Value error, x",
        "ctx": {"error": WireValueError("x", "中文原因")},
    }
    assert describe(error) == ("中文原因", "Value error, x")


def test_a_template_whose_context_is_missing_still_says_something() -> None:
    zh, _ = describe({"type": "string_too_long", "msg": "too long", "ctx": {}})
    assert zh == "最多"  # the limit is in the English; never a KeyError, never "{max_length}"


def test_a_records_refusal_names_the_field_in_both_languages() -> None:
    with pytest.raises(CaseValidationError) as caught:
        from_json_dict(Subject, {"kind": "vendor"})
    assert caught.value.zh.startswith("记录字段“")
    assert not ENGLISH.search(caught.value.zh)
    assert "Subject: field '" in caught.value.en
