"""Reading a push batch's body without stalling HQ: count its records first, then parse it off the event loop.

FastAPI would parse a ``PushBatch`` body on the event loop, in full, before the route could look at the
number of records: a 1 MiB body of 330,000 empty records took seconds of validation and over a GiB of
error objects while every other request (``/v1/health`` too) waited. Here the push route reads the body
itself (``BodyLimit`` has already capped its bytes) and:

1. ``top_level`` walks the top level of the JSON object with ``json``'s ``raw_decode``, one small call
   per key and per record, and stops at record ``cap + 1``: an over-cap batch is answered
   BATCH_TOO_MANY_RECORDS (413) after a few hundred microseconds, the same errno as before, without
   building the rest of it;
2. ``parse_push`` reads the JSON as FastAPI does (``json.loads``; the walk's own decoded object when it
   read the whole body, so a body is decoded once) and validates it with ``PushBatch``
   (whose ``records`` list is bounded too); the route runs it in a worker thread. Its failures are the
   ``RequestValidationError`` FastAPI would have raised (loc starting with ``"body"``, ``body`` the parsed
   object), so the app's handler answers VALIDATION or UNSUPPORTED_PROTOCOL exactly as before.

Any body the walk cannot follow (not an object, bad JSON, too deep) is left to step 2, which refuses it.
"""

from __future__ import annotations

import json
from email.message import Message
from typing import Any

from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from sync.protocol import PushBatch

_DECODER = json.JSONDecoder()
_WS = " \t\n\r"


def _skip(text: str, i: int) -> int:
    while i < len(text) and text[i] in _WS:
        i += 1
    return i


class TooManyRecords(Exception):
    """The batch holds more than ``cap`` records (``count``: how many were counted before stopping)."""

    def __init__(self, count: int, cap: int) -> None:
        super().__init__(f"more than {cap} records")
        self.count = count
        self.cap = cap


def top_level(text: str, cap: int) -> tuple[int | None, Any]:
    """A walk over the top-level JSON object ``text``: (``cap + 1`` when its ``records`` array has more than
    ``cap`` items, counting stopped there, else None; the value of its ``protocol`` key, None when absent).
    (None, None) when ``text`` is not a JSON object this walk can follow (the full parse then decides)."""
    over, protocol, _ = _walk(text, cap)
    return over, protocol


def _walk(text: str, cap: int) -> tuple[int | None, Any, dict[str, Any] | None]:
    """``top_level``'s walk, and the object itself when the walk read all of it (nothing but whitespace
    after it): every value was decoded by the same ``json`` decoder ``json.loads`` uses, so it is what
    ``json.loads`` would return (the last of a repeated key wins, as there) and the body is not decoded
    twice. None when the walk stopped early or cannot follow the text (``json.loads`` then decides)."""
    over: int | None = None
    protocol: Any = None
    found: dict[str, Any] = {}
    try:
        i = _skip(text, 0)
        if text[i : i + 1] != "{":
            return None, None, None
        i = _skip(text, i + 1)
        if text[i : i + 1] == "}":
            return None, None, None
        while True:
            key, i = _DECODER.raw_decode(text, i)
            i = _skip(text, i)
            if not isinstance(key, str) or text[i : i + 1] != ":":
                return None, None, None
            i = _skip(text, i + 1)
            if key == "records" and text[i : i + 1] == "[":
                i, count = _skip(text, i + 1), 0
                records: list[Any] = []
                if text[i : i + 1] != "]":
                    while True:
                        record, i = _DECODER.raw_decode(text, i)
                        records.append(record)
                        count += 1
                        if count > cap:
                            return count, protocol, None
                        i = _skip(text, i)
                        if text[i : i + 1] == "]":
                            break
                        if text[i : i + 1] != ",":
                            return None, None, None
                        i = _skip(text, i + 1)
                i += 1
                found[key] = records
            else:
                value, i = _DECODER.raw_decode(text, i)
                if key == "protocol":
                    protocol = value
                found[key] = value
            i = _skip(text, i)
            if text[i : i + 1] == "}":
                whole = _skip(text, i + 1) == len(text)
                return over, protocol, found if whole else None
            if text[i : i + 1] != ",":
                return None, None, None
            i = _skip(text, i + 1)
    except (ValueError, RecursionError):
        return None, None, None


def is_json(content_type: str | None) -> bool:
    """Whether FastAPI would read a body of this Content-Type as JSON (none at all counts as JSON)."""
    if not content_type:
        return True
    message = Message()
    message["content-type"] = content_type
    if message.get_content_maintype() != "application":
        return False
    subtype = message.get_content_subtype()
    return subtype == "json" or subtype.endswith("+json")


def parse_push(body: bytes, content_type: str | None, cap: int) -> PushBatch:
    """The ``PushBatch`` of ``body`` (CPU-heavy: run it in a worker thread). ``TooManyRecords`` when it
    holds more than ``cap`` records (found before the rest is parsed); ``RequestValidationError`` as
    FastAPI raises it when the body does not validate."""
    if not is_json(content_type):
        raise RequestValidationError(
            [{"type": "model_attributes_type", "loc": ("body",), "msg": "Input should be a JSON object"}],
            body=None,
        )
    try:
        text = body.decode()
    except UnicodeDecodeError:
        text = ""  # the full parse names the error
    over, _, data = _walk(text, cap)
    if over is not None:
        raise TooManyRecords(over, cap)
    try:
        # json, as FastAPI reads a body: a lone surrogate escape parses (and is then refused per record);
        # the walk's object when it read the whole body (one decode, not two)
        if data is None:
            data = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise RequestValidationError(
            [{"type": "json_invalid", "loc": ("body", getattr(exc, "pos", 0)), "msg": "JSON decode error"}],
            body=None,
        ) from None
    try:
        return PushBatch.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_input=False)
        for error in errors:
            if error["type"] == "too_long" and tuple(error["loc"]) == ("records",):
                raise TooManyRecords(int(error.get("ctx", {}).get("actual_length", 0)), cap) from None
        raise RequestValidationError(
            [{**error, "loc": ("body", *error["loc"])} for error in errors], body=data
        ) from None
