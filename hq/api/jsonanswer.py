"""Answers encoded in one pass: ``json_response(model)`` is the JSON FastAPI would send for a route's
``response_model``, without FastAPI validating HQ's freshly built model a second time and without the
intermediate dicts (pydantic-core writes the bytes). Routes on the phones' hot paths (push, pull, photo
upload) return it; their ``response_model`` still documents the answer in the OpenAPI."""

from __future__ import annotations

from fastapi import Response
from pydantic import BaseModel


def json_response(model: BaseModel, status_code: int = 200) -> Response:
    """``model`` as an ``application/json`` answer."""
    return Response(model.model_dump_json(), status_code=status_code, media_type="application/json")
