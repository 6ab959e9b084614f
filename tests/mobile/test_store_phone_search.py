"""Subject search by a part of a phone number (the last four digits, a middle part), in the phone store."""

from __future__ import annotations

from enforcement.model import SubjectKind
from mobile.store import phone_part
from tests.mobile.test_store import make_subject, open_store


def test_last_four_digits_and_a_middle_part_find_the_subject() -> None:
    store = open_store()
    vendor = store.save_subject(make_subject(name="老周煎饼", phone="13812345678"))
    other = store.save_subject(make_subject(name="别人", phone="13900001111"))
    assert [s.id for s in store.search_subjects("5678")] == [vendor.id]
    assert [s.id for s in store.search_subjects("1234")] == [vendor.id]
    assert [s.id for s in store.search_subjects("0000 1111")] == [other.id]
    assert [s.id for s in store.search_subjects("５６７８")] == [vendor.id]  # full-width digits


def test_several_phones_sharing_the_digits_newest_first() -> None:
    store = open_store()
    older = store.save_subject(make_subject(name="甲", phone="13800005678"))
    newer = store.save_subject(make_subject(name="乙", phone="13900005678"))
    store.save_subject(make_subject(name="丙", phone="13900001234"))
    assert [s.id for s in store.search_subjects("5678")] == [newer.id, older.id]
    assert [s.id for s in store.search_subjects("5678", limit=1)] == [newer.id]


def test_landline_digits_match_across_the_area_code_dash() -> None:
    store = open_store()
    shop = store.save_subject(
        make_subject(kind=SubjectKind.SHOP, name="老王烧烤", phone="0371-66889900", address="人民路3号")
    )
    assert [s.id for s in store.search_subjects("9900")] == [shop.id]
    assert [s.id for s in store.search_subjects("0371 6688")] == [shop.id]


def test_a_whole_number_still_matches_only_itself() -> None:
    store = open_store()
    vendor = store.save_subject(make_subject(name="甲", phone="13812345678"))
    store.save_subject(make_subject(name="乙", phone="13812345679"))
    assert [s.id for s in store.search_subjects("13812345678")] == [vendor.id]


def test_digits_also_find_plates_after_the_phones() -> None:
    store = open_store()
    truck = store.save_subject(make_subject(kind=SubjectKind.VEHICLE, name="", phone="", plate="豫AD12345"))
    vendor = store.save_subject(make_subject(name="甲", phone="13812345678"))
    assert [s.id for s in store.search_subjects("12345")] == [vendor.id, truck.id]
    assert [s.id for s in store.search_subjects("99999")] == []


def test_what_counts_as_part_of_a_phone_number() -> None:
    assert phone_part("5678") == "5678"
    assert phone_part(" 138-1234 ") == "1381234"
    assert phone_part("(0371)") == "0371"
    assert phone_part("567") is None  # too short to mean a phone
    assert phone_part("老周") is None
    assert phone_part("A5678") is None
    assert phone_part("") is None
