"""The dashboard's policy section (hq.dash.policy): the version in force and the history, zh with en."""

from __future__ import annotations

from datetime import date

from hq.dash.board import load_board
from hq.dash.policy import policy_section
from hq.policy import publish
from hq.storage.base import Storage
from testkit.records import NOW


def test_the_board_shows_the_policy_in_force_and_its_history(storage: Storage) -> None:
    with storage.transaction(readonly=True) as tx:
        builtin = policy_section(tx)
    assert "内置规则（第 0 版）" in builtin
    assert "built-in rule (version 0)" in builtin
    assert "尚未发布，使用内置规则" in builtin
    with storage.transaction() as tx:
        publish(tx, {"window_days": 180}, by="9001", at=NOW)
    with storage.transaction() as tx:
        publish(
            tx,
            {"fourth_and_later": "aggravated", "aggravate_over": 3, "note": "<b>从重</b>"},
            by="9002",
            at=NOW,
        )
    with storage.transaction(readonly=True) as tx:
        html = policy_section(tx)
        board = load_board(tx, date(2026, 11, 22), 3)
    assert "第 2 版政策" in html
    assert "一年内超过 3 次从重" in html
    assert "aggravated over 3 in a year" in html
    assert "&lt;b&gt;从重&lt;/b&gt;" in html  # escaped
    assert "<b>" not in html
    assert html.index("<td class=n>2</td>") < html.index("<td class=n>1</td>")  # newest first
    assert "9001" in html
    assert "回溯期 180 天" in html
    assert board.policy_html == html
