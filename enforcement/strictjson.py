"""JSON read for keeping: ``loads_storable`` is ``json.loads`` that refuses what HQ cannot store or send on.

``json.loads`` takes ``NaN``, ``Infinity`` and ``-Infinity``, reads ``1e400`` as an infinite float, and
decodes ``"\\u0000"`` and a lone ``"\\ud800"`` into Python text. None of them can be kept: a lone
surrogate cannot be encoded to UTF-8 (SQLite's write fails), PostgreSQL refuses a NUL, and a non-finite
number is written back as ``NaN``/``Infinity``, which a browser's ``JSON.parse`` and strict readers
refuse. A document HQ stores as received (a zone file's properties) is read with this instead; a value
of these kinds anywhere in it (key or value, at any depth) is ``UnstorableJson`` naming it in zh and en.
"""

from __future__ import annotations

import json
import math
from typing import Any

from enforcement.codec import storable


class UnstorableJson(ValueError):
    """Valid JSON holding a value that cannot be stored (``zh`` / ``en``: what and where)."""

    def __init__(self, zh: str, en: str) -> None:
        super().__init__(en)
        self.zh = zh
        self.en = en


def _constant(name: str) -> float:
    raise UnstorableJson(f"不能使用数值 {name}", f"the number {name} cannot be stored")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise UnstorableJson(f"数值 {text[:20]} 超出范围", f"the number {text[:20]} is out of range")
    return value


def loads_storable(text: str | bytes) -> Any:
    """``json.loads(text)`` (``ValueError`` / ``RecursionError`` as there), refusing non-finite numbers
    and text holding a NUL or a lone surrogate (``UnstorableJson``)."""
    doc = json.loads(text, parse_constant=_constant, parse_float=_finite)
    check_storable(doc)
    return doc


def check_storable(doc: Any) -> None:
    """``UnstorableJson`` when a key or text anywhere in the decoded JSON ``doc`` holds a NUL or a lone
    surrogate (what a request's JSON can carry, ``json`` decoding ``\\u0000`` and ``\\ud800``)."""
    stack: list[Any] = [doc]  # no recursion: json.loads already nests as deep as its C scanner allows
    while stack:
        value = stack.pop()
        if isinstance(value, str):
            if not storable(value):
                raise UnstorableJson(
                    "文本含有无法保存的字符（NUL 或不成对的代理项）",
                    "text holds a character that cannot be stored (NUL or a lone surrogate)",
                )
        elif isinstance(value, dict):
            stack.extend(value.keys())
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
