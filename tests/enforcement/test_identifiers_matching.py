"""Matching keys of identifiers (issue #22): one normalisation for every way a number or name is typed."""

from __future__ import annotations

import pytest

from enforcement.identifiers import (
    format_plate,
    normalise_shop_name,
    phone_key,
    plate_key,
    resident_id_key,
    similar_names,
    strong_keys,
)


@pytest.mark.parametrize(
    "typed",
    ["13812345678", "+86 138 1234 5678", "+86-138-1234-5678", "0086 13812345678", "１３８１２３４５６７８"],
)
def test_every_way_of_typing_a_mobile_gives_one_key(typed: str) -> None:
    assert phone_key(typed) == "13812345678"


def test_a_landline_key_drops_the_dash_and_a_non_number_has_none() -> None:
    assert phone_key("0371-6688 9900") == phone_key("(0371)66889900") == "037166889900"
    assert phone_key("老王") == ""


def test_plates_match_whatever_the_separator_and_keep_their_written_form() -> None:
    assert plate_key("豫A·D12345") == plate_key("豫ad12345") == plate_key("豫A-D1234 5") == "豫AD12345"
    assert format_plate(plate_key("豫ad12345")) == "豫A·D12345"
    assert plate_key("not a plate") == ""


def test_a_resident_id_matches_only_with_its_check_character() -> None:
    assert resident_id_key("11010519491231002x") == "11010519491231002X"
    assert resident_id_key("110105194912310021") == ""  # wrong check character: no key


def test_strong_keys_name_their_kind() -> None:
    assert strong_keys("+86 138-1234-5678", "豫A·D12345", "11010519491231002X") == {
        "phone:13812345678",
        "plate:豫AD12345",
        "id:11010519491231002X",
    }
    assert strong_keys("", "", "") == frozenset()


def test_shop_names_ignore_width_case_spaces_and_punctuation_and_keep_rare_characters() -> None:
    assert normalise_shop_name("老王 烧烤（人民路店）") == normalise_shop_name("老王烧烤(人民路店)")
    assert normalise_shop_name("ＡＢＣ·小吃") == "abc小吃"
    assert normalise_shop_name("𠮷家 㐂铺") == "𠮷家㐂铺"


def test_similar_names() -> None:
    assert similar_names("老王烧烤", "老王 烧烤（夜市）")
    assert not similar_names("老王烧烤", "赵老三烤串")
    assert not similar_names("王", "老王烧烤")  # one character is not enough
