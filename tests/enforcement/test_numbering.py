from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from enforcement.model import IdentifierError
from enforcement.numbering import (
    CROCKFORD,
    CaseNumber,
    format_case_no,
    make_install_tag,
    parse_case_no,
)

DAY = date(2026, 11, 22)


def test_format_example() -> None:
    assert format_case_no("ZD01", "1023", DAY, "K7Q2M", 42) == "ZD01-1023-261122-K7Q2M-0042"


def test_sequence_grows_past_four_digits() -> None:
    text = format_case_no("ZD01", "1023", DAY, "K7Q2M", 123456)
    assert text.endswith("-123456")
    assert parse_case_no(text).seq == 123456


def test_parse_round_trip() -> None:
    number = parse_case_no(" ZD01-1023-261122-K7Q2M-0042 ")
    assert number == CaseNumber("ZD01", "1023", DAY, "K7Q2M", 42)
    assert str(number) == "ZD01-1023-261122-K7Q2M-0042"


def test_install_tag_shape() -> None:
    tags = {make_install_tag() for _ in range(200)}
    for tag in tags:
        assert len(tag) == 5
        assert set(tag) <= set(CROCKFORD)
    assert len(tags) > 190  # 200 draws from 32^5 values: repeats are vanishingly rare
    assert not set("ILOU") & set(CROCKFORD)
    assert len(CROCKFORD) == 32


@pytest.mark.parametrize(
    "text",
    [
        "",
        "ZD01-1023-261122-K7Q2M",  # no sequence
        "ZD01-1023-261122-K7Q2M-042",  # sequence too short
        "ZD01-1023-261122-K7Q2M-0000",  # sequence 0
        "ZD01-1023-261122-K7Q2M-00042",  # padded beyond the width
        "ZD01-1023-261122-K7Q2I-0042",  # I is not Crockford
        "ZD01-1023-261122-K7Q2-0042",  # tag too short
        "ZD01-1023-261322-K7Q2M-0042",  # month 13
        "ZD01-1023-260230-K7Q2M-0042",  # 30 February
        "zd01-1023-261122-K7Q2M-0042",  # lower case squad
        "ZD01-10-23-261122-K7Q2M-0042",  # hyphen inside the badge
        "ZD01 1023 261122 K7Q2M 0042",
    ],
)
def test_parse_refuses(text: str) -> None:
    with pytest.raises(IdentifierError) as err:
        parse_case_no(text)
    assert err.value.field == "case_no"
    assert err.value.zh


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (("", "1023", DAY, "K7Q2M", 1), "squad_code"),
        (("ZD-01", "1023", DAY, "K7Q2M", 1), "squad_code"),
        (("ZD01", "", DAY, "K7Q2M", 1), "officer_badge"),
        (("ZD01", "10-23", DAY, "K7Q2M", 1), "officer_badge"),
        (("ZD01", "1023", DAY, "K7Q2", 1), "install_tag"),
        (("ZD01", "1023", DAY, "K7Q2U", 1), "install_tag"),
        (("ZD01", "1023", DAY, "K7Q2M", 0), "case_no"),
        (("ZD01", "1023", DAY, "K7Q2M", True), "case_no"),
        (("ZD01", "1023", date(1999, 12, 31), "K7Q2M", 1), "case_no"),
    ],
)
def test_format_refuses(args: tuple[str, str, date, str, int], field: str) -> None:
    with pytest.raises(IdentifierError) as err:
        format_case_no(*args)
    assert err.value.field == field


tags = st.text(alphabet=CROCKFORD, min_size=5, max_size=5)
seqs = st.integers(min_value=1, max_value=10**7)
days = st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31))
squads = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=1, max_size=12)
badges = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=1, max_size=16)


@given(squads, badges, days, tags, seqs)
def test_format_parse_round_trip(squad: str, badge: str, day: date, tag: str, seq: int) -> None:
    text = format_case_no(squad, badge, day, tag, seq)
    assert parse_case_no(text) == CaseNumber(squad, badge, day, tag, seq)


@given(
    st.lists(st.tuples(tags, seqs), min_size=2, max_size=30, unique=True),
    st.lists(days, min_size=30, max_size=30),
)
def test_distinct_tag_and_seq_never_collide_whatever_the_dates(
    pairs: list[tuple[str, int]], dates: list[date]
) -> None:
    # Same officer and squad throughout; dates arbitrary (clock changes, repeats): numbers stay distinct.
    numbers = [format_case_no("ZD01", "1023", dates[i], tag, seq) for i, (tag, seq) in enumerate(pairs)]
    assert len(set(numbers)) == len(numbers)
    # And a number never loses its (tag, seq) identity.
    assert [(parse_case_no(n).install_tag, parse_case_no(n).seq) for n in numbers] == pairs
