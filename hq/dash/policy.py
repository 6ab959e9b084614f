"""The dashboard's section on the staged rule's policy (``enforcement.policy``): the version in force, what
it sets (in Chinese, English beneath), and every published version with who and when. ``hq.dash.board``
puts it on the board (``Board.policy_html``)."""

from __future__ import annotations

from html import escape

from enforcement.model import LOCAL_TZ
from enforcement.policy import DEFAULT_POLICY, Policy, PolicyError, describe, parse_policy
from hq.storage.base import Tx

#: Versions listed (newest first); older ones stay at HQ (``streetpatrol-hq policy show --history``).
HISTORY_ROWS = 20


def policy_section(tx: Tx) -> str:
    rows = tx.list_policies(limit=HISTORY_ROWS)
    current = _parsed(rows[0].document, rows[0].version) if rows else DEFAULT_POLICY
    zh, en = describe(current, "zh"), describe(current, "en")
    lines = "".join(
        f'<li>{escape(z)}<br><small lang="en">{escape(e)}</small></li>' for z, e in zip(zh, en, strict=True)
    )
    history = "".join(
        f"<tr><td class=n>{row.version}</td><td>{escape(row.created_by)}</td>"
        f"<td>{row.created_at.astimezone(LOCAL_TZ):%Y-%m-%d %H:%M}</td>"
        f"<td>{escape(' · '.join(describe(_parsed(row.document, row.version), 'zh')[1:]))}</td></tr>"
        for row in rows
    )
    table = (
        "<table><thead><tr><th class=n>版本</th><th>发布人</th><th>发布时间</th><th>内容</th></tr></thead>"
        f"<tbody>{history or '<tr><td>尚未发布，使用内置规则</td></tr>'}</tbody></table>"
    )
    return (
        '<section class="wide" id="policy"><h2>执法计次政策 <small lang="en">Staged-rule policy</small></h2>'
        f'<ul id="policy-current">{lines}</ul>'
        f'<p>历次版本 <small lang="en">History</small></p>{table}</section>'
    )


def _parsed(document: object, version: int) -> Policy:
    """A stored version (always checked when published); never hide the board for one."""
    try:
        return parse_policy(document, version)
    except PolicyError:
        return DEFAULT_POLICY
