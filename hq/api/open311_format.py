"""How Open311 answers go out: the format is the path's extension (``.xml`` → ``text/xml``, else JSON),
for data and refusals alike, so a partner asking ``…/requests.xml`` gets ``<errors>`` back, not JSON.

A refusal's description is HQ's Chinese unless the caller's ``Accept-Language`` puts English first
(``hq.open311.language``). The XML is written by ``hq.open311_xml``.
"""

from __future__ import annotations

from typing import Any

from fastapi import Response
from fastapi.responses import JSONResponse

from hq import open311, open311_xml

#: The XML root and item element of each kind of answer (as the spec's examples name them).
SHAPES: dict[str, tuple[str, str | None]] = {
    "discovery": ("discovery", None),
    "services": ("services", "service"),
    "service_definition": ("service_definition", None),
    "requests": ("service_requests", "request"),
    "errors": ("errors", "error"),
}


def format_of(path: str) -> str:
    return "xml" if path.lower().endswith(".xml") else "json"


def answer(
    payload: Any, fmt: str, shape: str, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    """``payload`` (the JSON answer's data) in ``fmt``."""
    if fmt == "xml":
        root, item = SHAPES[shape]
        return Response(
            open311_xml.to_xml(payload, root, item),
            status_code=status,
            media_type=open311_xml.MEDIA_TYPE,
            headers=headers,
        )
    return JSONResponse(payload, status_code=status, headers=headers)


def refusal(
    status: int,
    zh: str,
    en: str,
    *,
    path: str = "",
    accept_language: str | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """An Open311 error list (``[{"code": status, "description": …}]``) in the path's format."""
    description = en if open311.language(accept_language) == "en" else zh
    return answer(open311.error(status, description), format_of(path), "errors", status, headers)


def refused(error: open311.Open311Error, path: str, accept_language: str | None) -> Response:
    return refusal(error.status, error.zh, error.en, path=path, accept_language=accept_language)
