import pytest
from hypothesis import given
from hypothesis import strategies as st

from enforcement.identifiers import (
    PROVINCES,
    format_plate,
    mask_resident_id,
    normalise_phone,
    normalise_plate,
    parse_plate,
    resident_id_check_char,
    validate_resident_id,
)
from enforcement.model import IdentifierError

PLATE_CHARS = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"
LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"

provinces = st.sampled_from(PROVINCES)
letters = st.sampled_from(LETTERS)
serial = st.text(alphabet=PLATE_CHARS, min_size=5, max_size=5)
separators = st.sampled_from(["", "·", "-", " ", " · ", "•"])


def test_there_are_31_provinces() -> None:
    assert len(PROVINCES) == len(set(PROVINCES)) == 31


@pytest.mark.parametrize(
    ("typed", "canonical", "printed", "kind"),
    [
        ("豫a·12345", "豫A12345", "豫A·12345", "ordinary"),
        ("豫A 12345", "豫A12345", "豫A·12345", "ordinary"),
        ("京n-5b8c2", "京N5B8C2", "京N·5B8C2", "ordinary"),
        ("豫AD12345", "豫AD12345", "豫A·D12345", "new_energy"),
        ("沪a·fa1234", "沪AFA1234", "沪A·FA1234", "new_energy"),
        ("粤B 12345D", "粤B12345D", "粤B·12345D", "new_energy"),
        ("豫A·1234挂", "豫A1234挂", "豫A·1234挂", "trailer"),
        ("豫A1234学", "豫A1234学", "豫A·1234学", "learner"),
        ("豫A·0001警", "豫A0001警", "豫A·0001警", "police"),
        ("沪A·1234领", "沪A1234领", "沪A·1234领", "consulate"),
        ("粤Z·1234港", "粤Z1234港", "粤Z·1234港", "cross_border"),
        ("粤z 5678澳", "粤Z5678澳", "粤Z·5678澳", "cross_border"),
        ("使014·578", "使014578", "使014·578", "embassy"),
        ("豫Ａ１２３４５", "豫A12345", "豫A·12345", "ordinary"),  # full-width input
    ],
)
def test_plate_forms(typed: str, canonical: str, printed: str, kind: str) -> None:
    assert normalise_plate(typed) == canonical
    assert format_plate(typed) == printed
    assert parse_plate(typed).kind == kind


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "   ",
        "A12345",  # no province
        "台A12345",  # not a mainland plate province
        "豫112345",  # authority must be a letter
        "豫A1234",  # too short
        "豫A1234567",  # too long
        "豫AO1234",  # O is never used
        "豫AI1234",  # I is never used
        "豫A12345挂",  # suffix plates have 4 characters
        "豫A1234港",  # 港 only on 粤Z
        "粤B1234港",
        "豫AA12345",  # 6 characters but not a new-energy pattern
        "豫AD1234A",
        "使01457",
        "豫A12#45",
    ],
)
def test_bad_plates_are_refused(typed: str) -> None:
    with pytest.raises(IdentifierError) as err:
        normalise_plate(typed)
    assert err.value.field == "plate"
    assert err.value.zh
    assert err.value.en


def test_plate_error_hints_at_letter_o() -> None:
    with pytest.raises(IdentifierError) as err:
        normalise_plate("豫AO1234")
    assert "0" in err.value.zh


@given(provinces, letters, serial, separators, st.booleans())
def test_ordinary_plates_round_trip(province: str, letter: str, chars: str, sep: str, lower: bool) -> None:
    typed = f"{province}{letter}{sep}{chars}"
    if lower:
        typed = typed.lower()
    canonical = normalise_plate(typed)
    assert canonical == f"{province}{letter}{chars}"
    assert normalise_plate(format_plate(canonical)) == canonical
    assert normalise_plate(canonical) == canonical


@given(
    provinces,
    letters,
    st.sampled_from("DF"),
    st.sampled_from(PLATE_CHARS),
    st.text(alphabet="0123456789", min_size=4, max_size=4),
    separators,
)
def test_small_new_energy_plates(
    province: str, letter: str, df: str, second: str, digits: str, sep: str
) -> None:
    canonical = normalise_plate(f"{province}{letter}{sep}{df}{second}{digits}")
    assert canonical == f"{province}{letter}{df}{second}{digits}"
    assert parse_plate(canonical).kind == "new_energy"
    assert format_plate(canonical) == f"{province}{letter}·{df}{second}{digits}"


@given(st.text(max_size=12))
def test_plate_parser_never_crashes(text: str) -> None:
    try:
        canonical = normalise_plate(text)
    except IdentifierError as err:
        field = err.field
    else:
        field = "plate"
        assert normalise_plate(canonical) == canonical
    assert field == "plate"


# --- phones --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "canonical"),
    [
        ("13812345678", "13812345678"),
        ("138 1234 5678", "13812345678"),
        ("138-1234-5678", "13812345678"),
        ("+86 138 1234 5678", "13812345678"),
        ("008613812345678", "13812345678"),
        ("8613812345678", "13812345678"),
        ("１３８１２３４５６７８", "13812345678"),
        ("0371-66889900", "0371-66889900"),
        ("(0371) 6688 990", "0371-6688990"),
        ("（0371）66889900", "0371-66889900"),
        ("010 62345678", "010-62345678"),
        ("02162345678", "021-62345678"),
        ("400-123-4567", "4001234567"),
    ],
)
def test_phone_forms(typed: str, canonical: str) -> None:
    assert normalise_phone(typed) == canonical


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "1381234567",  # 10 digits
        "138123456789",  # 12 digits
        "12812345678",  # no 12x mobile prefix
        "66889900",  # landline without area code
        "0371-1688990",  # subscriber starts with 1
        "0071-66889900",
        "0371-668899001",
        "138 1234 567a",
        "13812345678转123",
    ],
)
def test_bad_phones_are_refused(typed: str) -> None:
    with pytest.raises(IdentifierError) as err:
        normalise_phone(typed)
    assert err.value.field == "phone"


def test_landline_without_area_code_says_so() -> None:
    with pytest.raises(IdentifierError) as err:
        normalise_phone("66889900")
    assert "区号" in err.value.zh


@given(st.sampled_from("3456789"), st.text(alphabet="0123456789", min_size=9, max_size=9), separators)
def test_every_mobile_normalises(second: str, rest: str, sep: str) -> None:
    number = f"1{second}{rest}"
    typed = f"{number[:3]}{sep}{number[3:7]}{sep}{number[7:]}"
    assert normalise_phone(typed) == number
    assert normalise_phone("+86" + typed) == number


# --- resident IDs --------------------------------------------------------------------------------------

VALID_ID = "11010519491231002X"  # the GB 11643 standard's published example


def test_standard_example_is_valid() -> None:
    assert resident_id_check_char(VALID_ID[:17]) == "X"
    assert validate_resident_id(VALID_ID) == VALID_ID
    assert validate_resident_id(" 110105 19491231 002x ") == VALID_ID


@pytest.mark.parametrize(
    ("typed", "fragment"),
    [
        ("", "请输入"),
        ("110105491231002", "15位"),
        ("11010519491231002", "18位"),
        ("01010519491231002X", "18位"),
        ("1101051949123100XX", "18位"),
        ("110105194902300020", "出生日期"),
        ("110105180001010020", "出生日期"),
        ("110105194912310021", "校验位"),
    ],
)
def test_bad_resident_ids(typed: str, fragment: str) -> None:
    with pytest.raises(IdentifierError) as err:
        validate_resident_id(typed)
    assert err.value.field == "id_number"
    assert fragment in err.value.zh
    if len(typed) > 10:
        assert typed not in err.value.zh
        assert typed not in err.value.en


def make_id(body: str) -> str:
    return body + resident_id_check_char(body)


id_bodies = st.builds(
    lambda region, born, seq: f"{region}{born:%Y%m%d}{seq:03d}",
    st.integers(100000, 999999),
    st.dates(min_value=__import__("datetime").date(1900, 1, 1)),
    st.integers(0, 999),
)


@given(id_bodies)
def test_generated_ids_validate_and_any_single_digit_change_is_caught(body: str) -> None:
    number = make_id(body)
    assert validate_resident_id(number.lower()) == number
    for position in (0, 5, 14, 16):
        digit = int(body[position])
        changed = body[:position] + str((digit + 1) % 10) + body[position + 1 :] + number[17]
        if changed[0] == "0":
            continue
        with pytest.raises(IdentifierError):
            validate_resident_id(changed)


@given(id_bodies)
def test_mask_never_shows_the_full_number(body: str) -> None:
    number = make_id(body)
    masked = mask_resident_id(number)
    assert len(masked) == 18
    assert masked[:3] == number[:3]
    assert masked[-2:] == number[-2:]
    assert masked[3:16] == "*" * 13
    assert number not in masked


@given(st.text(max_size=30))
def test_mask_never_leaks_anything_long(text: str) -> None:
    masked = mask_resident_id(text)
    cleaned = "".join(text.split())
    if len(cleaned) >= 6:
        assert masked != cleaned.upper()
    assert masked.count("*") >= len(masked) // 2
