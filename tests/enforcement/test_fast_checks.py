"""The fast paths of the per-record checks HQ runs on every pushed record (issue #17: CPU per case) give
exactly the answers of the walks they stand in front of: the codec's plain-JSON check (``_clean``) against
the per-string walk it replaced, the text-length check (``_fits``) against ``length_problems``, and
SQLite's UTC text (``utc_text``) against ``strftime``."""

from __future__ import annotations

import re
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from enforcement.codec import BAD_CHAR, MAX_LIST_ITEMS, _clean
from enforcement.limits import TEXT_LIMITS, TextTooLongError, _fits, check_lengths, length_problems
from enforcement.model import Location, SeizedItem
from hq.ingest.rules import is_uuid
from hq.storage.sqlcore import utc_text
from testkit.records import make_case


def _walk_clean(value: Any) -> bool:
    """The check as it was before the fast path: one regex search per string."""
    kind = type(value)
    if kind is str:
        return BAD_CHAR.search(value) is None
    if kind is dict:
        for key, item in value.items():
            if type(key) is not str or BAD_CHAR.search(key) is not None or not _walk_clean(item):
                return False
        return True
    if kind is list or kind is tuple:
        return len(value) <= MAX_LIST_ITEMS and all(_walk_clean(item) for item in value)
    return kind is int or kind is float or kind is bool or value is None


_TEXT = st.text(alphabet=st.sampled_from(["a", "街", "\x00", "\ud800", "\udc00", "😀", " "]), max_size=6)
_LEAF = st.one_of(_TEXT, st.integers(), st.floats(allow_nan=False), st.booleans(), st.none(),
                  st.just(b"bytes"), st.just(datetime(2026, 1, 1)))  # fmt: skip
_JSON = st.recursive(
    _LEAF,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.lists(st.none(), min_size=MAX_LIST_ITEMS - 1, max_size=MAX_LIST_ITEMS + 2),
        st.tuples(inner, inner),
        st.dictionaries(st.one_of(_TEXT, st.integers()), inner, max_size=4),
    ),
    max_leaves=20,
)


@settings(max_examples=400)
@given(_JSON)
def test_clean_answers_as_the_per_string_walk(value: Any) -> None:
    assert _clean(value) == _walk_clean(value)


def test_two_lone_surrogates_side_by_side_stay_bad() -> None:
    assert not _clean({"a": "\ud800", "b": "\udc00"})
    assert not _clean(["x\ud83d", "\ude00y"])
    assert _clean({"a": "街😀", "b": ["ok"]})


#: field → (its limit, how a case holding ``n`` characters there is made)
_FIELDS: dict[str, tuple[int, Any]] = {
    "notes": (TEXT_LIMITS["notes"], lambda c, n: replace(c, notes="注" * n)),
    "address": (TEXT_LIMITS["address"], lambda c, n: replace(
        c, location=Location(lat=34.75, lon=113.62, accuracy_m=8.0, address="路" * n))),
    "warning_notice_no": (32, lambda c, n: replace(c, warning_notice_no="9" * n)),
    "seized_note": (TEXT_LIMITS["seized_note"], lambda c, n: replace(
        c, seized_items=(SeizedItem(kind="炉", quantity=1, note="n" * n),))),
    "seized_kind": (TEXT_LIMITS["seized_kind"], lambda c, n: replace(
        c, seized_items=(SeizedItem(kind="炉" * n, quantity=1),))),
    "extra_key": (TEXT_LIMITS["extra_key"], lambda c, n: replace(c, extra={"k" * n: "v"})),
    "extra_value": (TEXT_LIMITS["extra_value"], lambda c, n: replace(c, extra={"k": "v" * n})),
    "case_no": (64, lambda c, n: replace(c, case_no="C" * n)),
}  # fmt: skip


@settings(max_examples=300)
@given(
    st.dictionaries(st.sampled_from(sorted(_FIELDS)), st.sampled_from([-1, 0, 1, 2])),
    st.sampled_from([None, *sorted(_FIELDS)]),
)
def test_fits_answers_as_length_problems(near: dict[str, int], over: str | None) -> None:
    """Fields at their limit, just under or just over it (``near``: characters past the limit, ``over``:
    one field one character over)."""
    case = make_case()
    for name, past in sorted(near.items()):
        limit, make = _FIELDS[name]
        case = make(case, limit + past)
    if over is not None:
        limit, make = _FIELDS[over]
        case = make(case, limit + 1)
    problems = list(length_problems(case))
    assert _fits(case) == (not problems)
    if over is not None:
        assert problems
    if problems:
        with pytest.raises(TextTooLongError) as raised:
            check_lengths(case)
        assert raised.value.field == problems[0].field  # the first problem, named as the walk names it
    else:
        check_lengths(case)


def test_the_limits_table_is_what_fits_checks() -> None:
    case = make_case()
    assert _fits(replace(case, notes="x" * TEXT_LIMITS["notes"]))
    assert not _fits(replace(case, notes="x" * (TEXT_LIMITS["notes"] + 1)))


_OFFSETS = st.integers(min_value=-23 * 60, max_value=23 * 60).map(lambda m: timezone(timedelta(minutes=m)))


@settings(max_examples=400)
@given(st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=_OFFSETS))
def test_utc_text_is_the_strftime_text(moment: datetime) -> None:
    utc = moment.astimezone(UTC)
    assert utc_text(moment) == utc.strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")
    assert utc_text(utc) == utc_text(moment)  # the cache answers by instant


_UUID_ISH = st.one_of(
    st.uuids().map(str),
    st.uuids().map(lambda u: str(u).upper()),
    st.uuids().map(lambda u: "{" + str(u) + "}"),
    st.uuids().map(lambda u: "urn:uuid:" + str(u)),
    st.uuids().map(lambda u: u.hex),
    st.uuids().map(lambda u: str(u) + "\n"),
    st.text(alphabet="0123456789abcdefg-", min_size=30, max_size=40),
)


@settings(max_examples=300)
@given(_UUID_ISH)
def test_is_uuid_answers_as_building_one(text: str) -> None:
    try:
        uuid.UUID(text)
        expected = True
    except ValueError:
        expected = False
    assert is_uuid(text) == expected


def test_bad_char_pattern_is_the_documented_one() -> None:
    assert BAD_CHAR.pattern == re.compile("[\x00\ud800-\udfff]").pattern
