"""Opaque page cursors for HQ's lists (keyset pagination: the cursor holds the last row's sort key).

``encode(kind, scope, key)`` → an opaque URL-safe string; ``decode(kind, scope, cursor)`` gives the key
back or raises ``CursorError`` (the API's 400 ``BAD_CURSOR``) when the text is not one of ours, belongs to
another list (``kind``) or to the same list under other filters (``scope``, hashed in), or its key is not
of the list's shape. A cursor is a position, not a permission: each page is read under the caller's scope
again. Nor is it signed: a caller can write any key into one, so ``decode`` lets through only what
``encode`` writes — text without NUL (PostgreSQL cannot compare one) and integers a 64-bit database column
holds (SQLite's driver raises OverflowError past them) — before a key reaches the database.
Page sizes: ``DEFAULT_PAGE`` unless asked, never above ``MAX_PAGE`` (the routes' ``le=``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from hq.storage.base import CaseKey, CaseState, CursorError

DEFAULT_PAGE = 100
MAX_PAGE = 500
#: The integers a key may hold: a signed 64-bit database integer (a version, a rank, a count).
KEY_INT_MIN, KEY_INT_MAX = -(2**63), 2**63 - 1


def bad_cursor() -> CursorError:
    return CursorError(
        "the page cursor is not valid; start from the first page",
        zh="翻页位置无效，请从第一页开始",
        field="cursor",
    )


def _scope_hash(kind: str, scope: Sequence[Any]) -> str:
    text = json.dumps([kind, [str(s) for s in scope]], ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def encode(kind: str, scope: Sequence[Any], key: Sequence[Any]) -> str:
    text = json.dumps({"k": kind, "s": _scope_hash(kind, scope), "p": list(key)}, ensure_ascii=False)
    return base64.urlsafe_b64encode(text.encode("utf-8")).decode("ascii").rstrip("=")


def decode(kind: str, scope: Sequence[Any], cursor: str | None) -> list[Any] | None:
    """The key of a cursor of this list under these filters; None for no cursor (the first page)."""
    if cursor is None or cursor == "":
        return None
    if len(cursor) > 1000:
        raise bad_cursor()
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("utf-8"))
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise bad_cursor() from exc
    if not isinstance(data, dict) or data.get("k") != kind or data.get("s") != _scope_hash(kind, scope):
        raise bad_cursor()
    key = data.get("p")
    if not isinstance(key, list) or not all(_key_part(part) for part in key):
        raise bad_cursor()
    return key


def _key_part(value: Any) -> bool:
    """Whether ``value`` is something ``encode`` writes into a key: text without NUL, a 64-bit integer."""
    if isinstance(value, str):
        return "\x00" not in value
    return type(value) is int and KEY_INT_MIN <= value <= KEY_INT_MAX


def case_key(state: CaseState) -> list[Any]:
    return [state.occurred_at.isoformat(), state.case_no, state.version]


def decode_case_key(kind: str, scope: Sequence[Any], cursor: str | None) -> CaseKey | None:
    key = decode(kind, scope, cursor)
    if key is None:
        return None
    try:
        at, case_no, version = key
        moment = datetime.fromisoformat(at)
        if moment.tzinfo is None or not isinstance(case_no, str) or type(version) is not int:
            raise ValueError
    except (TypeError, ValueError) as exc:
        raise bad_cursor() from exc
    return (moment, case_no, version)


def decode_text_key(kind: str, scope: Sequence[Any], cursor: str | None) -> str | None:
    key = decode(kind, scope, cursor)
    if key is None:
        return None
    if len(key) != 1 or not isinstance(key[0], str) or "\x00" in key[0]:
        raise bad_cursor()
    return str(key[0])
