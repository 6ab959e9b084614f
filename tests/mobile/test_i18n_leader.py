"""The leader screens' text table (``mobile.i18n_leader``): same keys and placeholders in both languages,
its own key prefixes, and merged into ``mobile.i18n`` without replacing any of the officer app's keys."""

from __future__ import annotations

import ast
import string
from pathlib import Path

from mobile import i18n, i18n_leader

PREFIXES = ("squad.", "review.", "nav.squad", "nav.review")


def fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def own_keys_of_i18n() -> set[str]:
    """The keys written in mobile/i18n.py's own ZH and EN literals (before the merge)."""
    tree = ast.parse(Path(i18n.__file__).read_text(encoding="utf-8"))
    keys: set[str] = set()
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.AnnAssign)
            and isinstance(node.target, ast.Name)
            and node.target.id in {"ZH", "EN"}
        ):
            assert isinstance(node.value, ast.Dict)
            keys |= {k.value for k in node.value.keys if isinstance(k, ast.Constant)}
    assert keys, "the scan found no keys"
    return keys


def test_same_keys_and_placeholders() -> None:
    assert set(i18n_leader.ZH) == set(i18n_leader.EN)
    for key, zh in i18n_leader.ZH.items():
        assert fields(zh) == fields(i18n_leader.EN[key]), key


def test_keys_are_the_leader_screens_own_and_replace_nothing() -> None:
    assert all(key.startswith(PREFIXES) for key in i18n_leader.ZH)
    assert own_keys_of_i18n().isdisjoint(i18n_leader.ZH)


def test_merged_into_the_app_tables() -> None:
    for key, zh in i18n_leader.ZH.items():
        assert i18n.ZH[key] == zh
        assert i18n.EN[key] == i18n_leader.EN[key]
    assert {"PDF", "CSV"} <= i18n.ALLOWED_LATIN
    assert i18n.t("zh", "review.returned", case_no="ZD01-1") == "已退回：ZD01-1"
    assert i18n.t("en", "squad.queue_button", n=3) == "Review queue (3)"
