"""The UI text tables: same keys and placeholders in both languages, no English in the Chinese UI, no
Chinese in the English UI, and every key the app asks for exists."""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest

from mobile.i18n import ALLOWED_LATIN, EN, ZH, as_lang, human_bytes, t

ROOT = Path(__file__).resolve().parents[2]
T_CALL = re.compile(r"""\bt\(\s*[\w.]+,\s*"([a-z_.0-9]+)\"""")
LOCALIZED_CALL = re.compile(r"""localized\(\s*\w+,\s*"([a-z_.0-9]+)\"""")
PLACEHOLDER = re.compile(r"\{[^{}]*\}")
LATIN_WORD = re.compile(r"[A-Za-z]+")
CJK = re.compile(r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef\U00020000-\U0003134f]")


def fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_same_keys_and_placeholders() -> None:
    assert set(ZH) == set(EN)
    for key in ZH:
        assert fields(ZH[key]) == fields(EN[key]), key


@pytest.mark.parametrize("key", sorted(ZH))
def test_chinese_has_no_english_words(key: str) -> None:
    words = set(LATIN_WORD.findall(PLACEHOLDER.sub("", ZH[key])))
    assert words <= ALLOWED_LATIN, (key, words - ALLOWED_LATIN)


@pytest.mark.parametrize("key", sorted(EN))
def test_english_has_no_chinese(key: str) -> None:
    assert not CJK.search(EN[key]), key


def test_keys_used_by_the_app_exist() -> None:
    used: set[str] = set()
    for package in ("mobile/state", "mobile/views", "mobile/views/new_case", "mobile"):
        for path in (ROOT / package).glob("*.py"):
            used |= set(
                re.findall(r"""\bt\(\s*[\w.]+,\s*"([a-z_.0-9]+)\"""", path.read_text(encoding="utf-8"))
            )
            used |= set(
                re.findall(r"""localized\(\s*\w+,\s*"([a-z_.0-9]+)\"""", path.read_text(encoding="utf-8"))
            )
    assert used, "the scan found no keys"
    assert used - set(ZH) == set()


def test_t_fills_and_rejects_unknown_keys() -> None:
    assert t("zh", "case.saved", case_no="ZD01-1023-1") == "已保存：ZD01-1023-1"
    assert t("en", "status.waiting", records=2, photos=3) == "Waiting: 2 records · 3 photos"
    with pytest.raises(KeyError):
        t("zh", "no.such.key")


def test_language_fallback_and_sizes() -> None:
    assert as_lang("en") == "en"
    assert as_lang("fr") == "zh"
    assert as_lang(None) == "zh"
    assert human_bytes("en", 12) == "12 bytes"
    assert human_bytes("zh", 2048) == "2 KB"
    assert human_bytes("en", 3 * 1024 * 1024) == "3.0 MB"


@pytest.mark.parametrize(
    ("key", "fields", "one", "two"),
    [
        ("case.photos.count", {"n": 1}, "1 photo", "2 photos"),
        ("subjects.cases", {"n": 1}, "1 case", "2 cases"),
        ("today.photos_missing", {"n": 1}, "1 photo missing", "2 photos missing"),
        ("bytes.b", {"n": 1}, "1 byte", "2 bytes"),
        (
            "status.waiting",
            {"records": 1, "photos": 1},
            "Waiting: 1 record · 1 photo",
            "Waiting: 2 records · 2 photos",
        ),
        ("review.photos", {"n": 1}, "1 photo", "2 photos"),
        ("squad.officer_cases", {"n": 1}, "1 case", "2 cases"),
        ("review.count", {"n": 1, "m": 1}, "1 waiting, 1 needs a decision", "2 waiting, 2 need a decision"),
    ],
)
def test_english_counts_take_singular_and_plural(
    key: str, fields: dict[str, int], one: str, two: str
) -> None:
    assert t("en", key, **fields) == one
    assert t("en", key, **{name: 2 for name in fields}) == two


def test_chinese_counts_are_unchanged() -> None:
    assert t("zh", "case.photos.count", n=1) == "1 张照片"
    assert t("zh", "case.photos.count", n=2) == "2 张照片"
    assert t("zh", "subjects.cases", n=1) == "1 起"
    assert t("zh", "status.waiting", records=1, photos=2) == ZH["status.waiting"].format(records=1, photos=2)
