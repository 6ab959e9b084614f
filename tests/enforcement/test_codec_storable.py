"""``enforcement.codec.storable`` says exactly what ``BAD_CHAR`` says: no NUL, no lone surrogate."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from enforcement.codec import BAD_CHAR, storable

#: Every kind of string the push path sees: ASCII, Latin-1, CJK (BMP), astral (emoji, Extension B and
#: beyond), NUL, and lone or paired-looking surrogates anywhere.
_ALPHABET = st.sampled_from(
    ["a", " ", "\x00", "é", "王", "\U00020bb7", "😀", "\ud800", "\udbff", "\udc00", "\udfff"]
)


@given(st.lists(_ALPHABET, max_size=12).map("".join) | st.text())
def test_storable_is_the_bad_character_search(text: str) -> None:
    assert storable(text) is (BAD_CHAR.search(text) is None)


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        ("", True),
        ("老周煎饼 𠮷 😀", True),
        ("nul\x00inside", False),
        ("王\x00", False),
        ("lone \ud83d high", False),
        ("lone \ude00 low", False),
        ("\ud83d\ude00", False),  # two lone surrogates side by side are still two lone surrogates
    ],
)
def test_storable_on_the_cases_that_matter(text: str, ok: bool) -> None:
    assert storable(text) is ok
