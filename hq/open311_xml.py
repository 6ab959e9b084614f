"""Open311 GeoReport v2 answers as XML (the spec's required format; ``hq.open311`` builds the data).

``to_xml(payload, root, item)`` writes what the JSON answer holds, with the element names of the spec's
examples: a list under ``root`` holds one ``item`` element per entry (``<services><service>…``,
``<service_requests><request>…``, ``<errors><error>…``), a mapping is ``root``'s children in order
(``<discovery>``, ``<service_definition>``), and a list inside an entry holds the singular of its name
(``<endpoints><endpoint>``, ``<formats><format>``, ``<attributes><attribute>``, ``<values><value>``).
``None`` is an empty element, a bool ``true``/``false``.

It is made with ``xml.etree.ElementTree``, so ``<``, ``&`` and quotes in a complaint are escaped, and every
text first goes through ``clean``: a character XML 1.0 cannot hold (a control character other than tab,
line feed and carriage return, a lone surrogate, U+FFFE/U+FFFF) becomes U+FFFD, so whatever a caller once
typed, the document stays well formed UTF-8. Element names are fixed by HQ, never taken from a caller.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from typing import Any

MEDIA_TYPE = "text/xml; charset=utf-8"
DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'
#: Lists inside an entry, and the name of each of their elements.
SINGULAR = {"endpoints": "endpoint", "formats": "format", "attributes": "attribute", "values": "value"}
#: What XML 1.0 forbids in a document (``Char``): C0 controls but TAB/LF/CR, surrogates, U+FFFE, U+FFFF.
_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def clean(text: str) -> str:
    """``text`` with every character XML 1.0 forbids replaced by U+FFFD."""
    return _FORBIDDEN.sub("\ufffd", text)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return clean(str(value))


def _fill(element: ET.Element, name: str, value: Any) -> None:
    if isinstance(value, Mapping):
        for key, inner in value.items():
            _fill(ET.SubElement(element, key), key, inner)
    elif isinstance(value, Sequence) and not isinstance(value, str):
        child = SINGULAR.get(name, "item")
        for inner in value:
            _fill(ET.SubElement(element, child), child, inner)
    else:
        element.text = _text(value)


def to_xml(payload: Any, root: str, item: str | None = None) -> bytes:
    """The XML document of ``payload`` (a list of entries as ``item`` elements, or one mapping)."""
    element = ET.Element(root)
    if isinstance(payload, Mapping):
        _fill(element, root, payload)
    else:
        for entry in payload:
            _fill(ET.SubElement(element, item or "item"), item or "item", entry)
    return DECLARATION + ET.tostring(element, encoding="unicode").encode("utf-8")
