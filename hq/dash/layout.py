"""The dashboard's page kit: the skeleton every page is drawn in (``html_page``: the stylesheet at
``STYLE_URL``, no inline style or script, so the browser guard's CSP holds), its sections and tables, the
sign-in and no-access pages, and ``read_form``: a posted form read within a size cap (over it, or a
field holding a NUL: 422 ``VALIDATION`` in zh and en) with one value per field.
"""

from __future__ import annotations

from collections.abc import Collection
from html import escape
from urllib.parse import parse_qs

from hq.api.errors import ApiError
from hq.dash.fonts import FONT_URL, font_faces
from patrollog.style import FONT_STACK
from sync.protocol import Errno

STYLE_URL = "/assets/dashboard.css"
#: Fields a posted form may hold at most (every dashboard form has fewer than ten).
MAX_FORM_FIELDS = 50


def read_form(body: bytes, max_bytes: int) -> dict[str, str]:
    """A posted ``application/x-www-form-urlencoded`` body as one value per field (the first), blank
    values kept; a body over ``max_bytes``, with more than ``MAX_FORM_FIELDS`` fields or with a NUL in a
    name or value is refused."""
    if len(body) > max_bytes:
        raise ApiError(Errno.VALIDATION, zh="表单过大", en="The form is too large")
    try:
        parsed = parse_qs(
            body.decode("utf-8", "replace"), keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS
        )
    except ValueError as err:  # more fields than max_num_fields
        raise ApiError(Errno.VALIDATION, zh="表单字段过多", en="The form has too many fields") from err
    if any("\x00" in k or "\x00" in v for k, values in parsed.items() for v in values):
        # ``%00``: no database stores it (PostgreSQL refuses it outright), no model takes it; the decode
        # above already replaced bytes that are not UTF-8, so a NUL is the one unstorable character left
        raise ApiError(
            Errno.VALIDATION,
            zh="表单含有无法保存的字符（NUL）",
            en="The form holds a character that cannot be stored (NUL)",
            detail={"reason": "NUL in the form"},
        )
    return {k: v[0] for k, v in parsed.items()}


STYLE = f"""
{font_faces()}
body {{ font-family: {FONT_STACK}; margin: 0; background: #f4f6f9;
  color: #222; }}
button, input, select, textarea, optgroup {{ font-family: {FONT_STACK}; font-size: 100%; }}
header {{ background: #1d3a5f; color: #fff; padding: 12px 24px; display: flex;
  justify-content: space-between; }}
main {{ padding: 16px 24px; display: grid; grid-template-columns: repeat(auto-fit, minmax(380px, 1fr));
  gap: 16px; }}
section {{ background: #fff; border-radius: 6px; padding: 12px 16px; box-shadow: 0 1px 2px #0002; }}
section.wide {{ grid-column: 1 / -1; }} svg {{ max-width: 100%; height: auto; }}
h1 {{ font-size: 20px; margin: 0; }} h2 {{ font-size: 16px; margin: 4px 0 10px; }}
table {{ border-collapse: collapse; width: 100%; font-size: 14px; }}
th, td {{ border-bottom: 1px solid #e3e6ea; padding: 4px 6px; text-align: left; }}
td.n, th.n {{ text-align: right; }} .big {{ font-size: 28px; font-weight: bold; }}
form.signin {{ max-width: 320px; margin: 80px auto; background: #fff; padding: 24px; border-radius: 6px; }}
form.signin input {{ width: 100%; padding: 8px; margin: 4px 0 12px; box-sizing: border-box; }}
.error {{ color: #b00020; }} a {{ color: #1d5fa8; }}
tr.overdue td {{ color: #b00020; background: #fdecee; }} tr.overdue td:first-child {{ font-weight: bold; }}
article.pair {{ border: 1px solid #d0d7e2; border-radius: 6px; padding: 8px 12px; margin: 8px 0;
  background: #fff; }} article.pair.strong {{ border-left: 6px solid #b00020; }}
article.pair.weak {{ border-left: 6px solid #c98a00; }} .pair .flag {{ font-weight: bold; margin: 0 0 6px; }}
.pair .sides {{ display: flex; gap: 16px; flex-wrap: wrap; }} .pair .side {{ flex: 1 1 280px; }}
.pair dl {{ display: grid; grid-template-columns: auto 1fr; gap: 2px 8px; margin: 0; }}
.pair dt {{ color: #667; }} .pair dd {{ margin: 0; }} .pair h3 {{ font-size: 100%; margin: 8px 0 4px; }}
.pair .actions form, td form {{ display: inline-block; margin: 4px 4px 0 0; }}
"""


def html_page(title: str, body: str) -> str:
    return (
        f'<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>{escape(title)}</title>'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<link rel="stylesheet" href="{STYLE_URL}">'
        f'<link rel="preload" href="{FONT_URL}" as="font" type="font/otf" crossorigin>'
        f"</head><body>{body}</body></html>"
    )


def sign_in_page(message: str = "") -> str:
    error = f'<p class="error" role="alert">{escape(message)}</p>' if message else ""
    return html_page(
        "指挥中心看板 · 登录",
        '<form class="signin" method="post" action="/dashboard/sign-in">'
        "<h1>指挥中心看板</h1><p>StreetPatrol HQ dashboard</p>"
        f"{error}"
        '<label for="badge">警号 Badge</label>'
        '<input id="badge" name="badge" autocomplete="username" required>'
        '<label for="pin">密码 PIN</label>'
        '<input id="pin" name="pin" type="password" inputmode="numeric" '
        'autocomplete="current-password" required>'
        '<button type="submit">登录 Sign in</button></form>',
    )


def forbidden_page(name: str) -> str:
    return html_page(
        "无权访问",
        '<form class="signin" method="post" action="/dashboard/sign-out"><h1>无权访问</h1>'
        f"<p>{escape(name)}，指挥中心看板仅限指挥中心人员使用。</p>"
        "<p>The HQ dashboard is for HQ staff only.</p>"
        '<button type="submit">退出登录 Sign out</button></form>',
    )


def html_table(header: list[str], rows: list[list[str]], numeric: Collection[int] = ()) -> str:
    head = "".join(f"<th{' class=n' if i in numeric else ''}>{escape(h)}</th>" for i, h in enumerate(header))
    body = "".join(
        "<tr>"
        + "".join(f"<td{' class=n' if i in numeric else ''}>{escape(c)}</td>" for i, c in enumerate(r))
        + "</tr>"
        for r in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body or '<tr><td>无</td></tr>'}</tbody></table>"


def html_section(title: str, content: str, css: str = "", anchor: str = "") -> str:
    attrs = (f' class="{css}"' if css else "") + (f' id="{anchor}"' if anchor else "")
    return f"<section{attrs}><h2>{escape(title)}</h2>{content}</section>"
