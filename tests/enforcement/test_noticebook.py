"""enforcement.noticebook: numbers of a warning-notice book, written and read back, and the next unused."""

from __future__ import annotations

import pytest

from enforcement.noticebook import (
    NoticeBook,
    format_notice_no,
    match_series,
    next_unused,
    parse_notice_no,
    range_problem,
    remaining,
    series_problem,
)


def book(
    first: int, last: int, used: set[int] | None = None, series: str = "JG-2026-", width: int = 6
) -> NoticeBook:
    return NoticeBook(f"b{first}", series, first, last, width, "1023", frozenset(used or set()))


def test_numbers_are_written_padded_and_read_with_any_padding() -> None:
    assert format_notice_no("JG-2026-", 7, 6) == "JG-2026-000007"
    assert parse_notice_no("JG-2026-000007", "JG-2026-") == 7
    assert parse_notice_no(" JG-2026-7 ", "JG-2026-") == 7
    assert parse_notice_no("JG-2026-", "JG-2026-") is None
    assert parse_notice_no("JG-2026-00x7", "JG-2026-") is None
    assert parse_notice_no("JG-2026-０７", "JG-2026-") is None  # full-width digits are no number here
    assert parse_notice_no("JS-0007", "JG-2026-") is None
    assert match_series("警字第0042号"[:-1], ["警字第", "警"]) == ("警字第", 42)
    assert match_series("AB-12", ["A", "AB-"]) == ("AB-", 12)
    assert match_series("ZZ-1", ["AB-"]) is None


def test_the_next_unused_number_skips_what_hq_and_the_phone_saw_used() -> None:
    books = [book(1, 3, {1}), book(10, 12)]
    assert next_unused(books, set()) == "JG-2026-000002"
    assert next_unused(books, {"JG-2026-2", "JG-2026-000003"}) == "JG-2026-000010"
    assert next_unused(books, {"JG-2026-000002", "JG-2026-000003", "JG-2026-000010", "JG-2026-000011",
                               "JG-2026-000012"}) == ""  # fmt: skip
    assert next_unused([], set()) == ""
    assert remaining(books[0]) == 2
    assert remaining(books[0], {2, 99}) == 1


@pytest.mark.parametrize(
    ("series", "width", "zh"),
    [("", 6, "编号前缀"), ("JG 2026-", 6, "编号前缀"), ("JG-2026", 6, "数字结尾"), ("JG-", 0, "位数"),
     ("J" * 20, 20, "位数"), ("J" * 21, 6, "编号前缀")],
)  # fmt: skip
def test_bad_series_are_explained_in_both_languages(series: str, width: int, zh: str) -> None:
    problem = series_problem(series, width)
    assert problem is not None
    assert zh in problem[0]
    assert problem[1]


def test_bad_ranges_are_explained() -> None:
    assert range_problem(1, 50, 6) is None
    assert "起始" in range_problem(5, 4, 6)[0]  # type: ignore[index]
    assert "超出 2 位" in range_problem(1, 100, 2)[0]  # type: ignore[index]
    assert "最多 1000" in range_problem(1, 1001, 6)[0]  # type: ignore[index]


def test_the_longest_number_fits_a_case() -> None:
    from enforcement.limits import TEXT_LIMITS
    from enforcement.noticebook import MAX_WIDTH

    assert (
        len(format_notice_no("J" * 19 + "-", 10**MAX_WIDTH - 1, MAX_WIDTH))
        <= TEXT_LIMITS["warning_notice_no"]
    )
