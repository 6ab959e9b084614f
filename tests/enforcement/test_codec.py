from datetime import date

import pytest

from enforcement.codec import case_from_dict, subject_from_dict, to_json_dict
from enforcement.model import (
    Case,
    CaseValidationError,
    Disposition,
    PhotoKind,
    PhotoRef,
    SeizedItem,
    Stage,
    Subject,
    SubjectKind,
    new_id,
)
from tests.enforcement import cases


def make_case() -> Case:
    return cases.make_case(
        computed_stage=Stage.PENALTY,
        chosen_stage=Stage.PENALTY,
        disposition=Disposition.PENALTY,
        fine_yuan=200,
        seized_items=(SeizedItem("烧烤炉", 1), SeizedItem("炭槽", 2)),
        photos=(PhotoRef("a" * 64, 123456, PhotoKind.SEIZED, 1600, 1200),),
        rectify_deadline=date(2026, 11, 25),
    )


def test_case_round_trips_through_json_form() -> None:
    case = make_case()
    data = to_json_dict(case)
    assert data["chosen_stage"] == 3
    assert data["occurred_at"].endswith("+08:00")
    assert case_from_dict(data) == case


def test_rare_characters_survive() -> None:
    subject = Subject(id=new_id(), kind=SubjectKind.MOBILE_VENDOR, name="王㐂𠮷")
    assert subject_from_dict(to_json_dict(subject)).name == "王㐂𠮷"


def test_bad_field_is_named_in_both_languages() -> None:
    data = to_json_dict(make_case())
    data["chosen_stage"] = 7
    with pytest.raises(CaseValidationError) as err:
        case_from_dict(data)
    assert err.value.field == "chosen_stage"
    assert "chosen_stage" in err.value.message("zh")


def test_missing_field_is_named() -> None:
    data = to_json_dict(make_case())
    del data["violation_code"]
    with pytest.raises(CaseValidationError) as err:
        case_from_dict(data)
    assert err.value.field == "violation_code"


@pytest.mark.parametrize("bad", ["a\x00b", "\ud800", "x\udfffy"])
@pytest.mark.parametrize("where", ["case_no", "notes", "location"])
def test_unstorable_characters_are_refused_naming_the_field(bad: str, where: str) -> None:
    data = to_json_dict(make_case())
    if where == "location":
        data["location"]["address"] = bad
    else:
        data[where] = bad
    with pytest.raises(CaseValidationError) as err:
        case_from_dict(data)
    assert err.value.field == where
    assert "无效字符" in err.value.message("zh")


def test_unstorable_characters_in_keys_are_refused() -> None:
    data = to_json_dict(make_case())
    data["extra"] = {"来源\x00": "x"}
    with pytest.raises(CaseValidationError):
        case_from_dict(data)


def test_rare_but_valid_characters_pass() -> None:
    data = to_json_dict(make_case())
    data["notes"] = "㐂𠮷 ‮ \t\n"
    assert case_from_dict(data).notes == data["notes"]
