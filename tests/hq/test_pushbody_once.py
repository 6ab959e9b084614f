"""``hq.api.pushbody.parse_push`` decodes a push body once: the record-counting walk keeps what it decoded
and, when it read the whole body, that object is validated instead of a second ``json.loads`` — with the
very same outcome as ``json.loads`` + ``PushBatch`` for every body (repeated keys, whitespace, a lone
surrogate escape, trailing data, bad JSON, another encoding)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from hq.api import pushbody
from hq.api.pushbody import parse_push
from sync.protocol import PushBatch

RECORD = {"kind": "case", "id": "c1", "device_seq": 1, "payload": {"id": "c1", "note": "张㐂𠮷"}}
GOOD = {"protocol": 1, "device_id": "d1", "records": [RECORD, {**RECORD, "id": "c2", "device_seq": 2}]}

BODIES = {
    "plain": json.dumps(GOOD).encode(),
    "utf8": json.dumps(GOOD, ensure_ascii=False).encode(),
    "spaced": b"  \n" + json.dumps(GOOD, indent=2).encode() + b" \r\n\t",
    "repeated key": json.dumps(GOOD)[:-1].encode() + b', "device_id": "d2"}',
    "repeated records": json.dumps(GOOD)[:-1].encode() + b', "records": []}',
    "lone surrogate": json.dumps(GOOD).replace("c1", "\\ud800", 1).encode(),
    "records not a list": json.dumps({**GOOD, "records": 5}).encode(),
    "trailing data": json.dumps(GOOD).encode() + b" {}",
    "cut off": json.dumps(GOOD).encode()[:-3],
    "empty object": b"{}",
    "not an object": b"[1, 2]",
    "utf-16": json.dumps(GOOD).encode("utf-16"),
    "bom": b"\xef\xbb\xbf" + json.dumps(GOOD).encode(),
}


def _reference(body: bytes) -> Any:
    """What the route did before: ``json.loads`` of the body, then ``PushBatch``."""
    try:
        data = json.loads(body)
    except ValueError:
        return "bad json"
    try:
        return PushBatch.model_validate(data)
    except ValidationError:
        return "invalid"


@pytest.mark.parametrize("name", sorted(BODIES))
def test_the_single_decode_gives_what_json_loads_gave(name: str) -> None:
    body = BODIES[name]
    expected = _reference(body)
    try:
        got: Any = parse_push(body, "application/json", 100)
    except RequestValidationError as exc:
        got = "bad json" if exc.errors()[0]["type"] == "json_invalid" else "invalid"
    assert got == expected


def test_a_whole_body_is_decoded_once(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[bytes] = []
    real = json.loads

    def counting(text: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append(text)
        return real(text, *args, **kwargs)

    monkeypatch.setattr(pushbody.json, "loads", counting)
    assert parse_push(BODIES["plain"], "application/json", 100) == PushBatch.model_validate(GOOD)
    assert calls == []
    parse_push(BODIES["bom"], "application/json", 100)  # the walk cannot follow it: json.loads decides
    assert len(calls) == 1
