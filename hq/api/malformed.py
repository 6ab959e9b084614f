"""HQ's answer to a request its HTTP server cannot parse: the house's ErrorBody, not uvicorn's English text.

uvicorn's parser refuses a request that is not HTTP as it reads it — a request target holding raw
non-ASCII bytes (an emoji typed into a URL by a hand-rolled client), a request line or header past the
parser's limits (a 100 KB query), a NUL or other control byte in a header value (``Bearer abc\\0def``),
conflicting ``Content-Length`` headers — before any ASGI app sees it, with ``400`` and the plain text
``Invalid HTTP request received.``: English only, no errno, no JSON for a phone or partner to read.

``HTTP_PROTOCOL`` names uvicorn's own HTTP protocol class with that one answer replaced: 400 with an
``ErrorBody`` (``VALIDATION``, zh + en, ``detail.reason``), ``nosniff`` and ``no-store`` as every HQ
answer has them, and the connection closed as before. ``hq.cli.serve`` (and the test kit's server) hand
it to uvicorn as ``http=``; nothing else of uvicorn's parsing changes. A name, not the class, so that
uvicorn's worker processes import it themselves.
"""

from __future__ import annotations

from importlib.util import find_spec

from uvicorn.protocols.http.h11_impl import H11Protocol

from sync.protocol import Errno, error_body

#: httptools (uvicorn's ``[standard]`` parser) is installed: uvicorn's default is then its protocol. Where it
#: is not (the phone-versions test venv, which starts HQ to sync against), uvicorn uses h11.
HAS_HTTPTOOLS = find_spec("httptools") is not None
#: uvicorn's pure-Python h11 protocol with the bilingual answer.
H11_PROTOCOL = "hq.api.malformed:H11ProtocolBilingual"
#: ``http=`` for uvicorn: the protocol uvicorn would choose itself ("auto"), with the bilingual answer.
HTTP_PROTOCOL = "hq.api.malformed:HttpToolsProtocolBilingual" if HAS_HTTPTOOLS else H11_PROTOCOL


def refusal_bytes(default_headers: list[tuple[bytes, bytes]]) -> bytes:
    """The whole 400 answer (status line, headers, ErrorBody) for a request that is not valid HTTP."""
    body = (
        error_body(
            Errno.VALIDATION,
            zh="请求不是有效的 HTTP 请求（网址或请求头格式错误、过长或含有控制字符）",
            en="The request is not valid HTTP (a malformed, over-long or control-character URL or header)",
            detail={"reason": "malformed HTTP request"},
        )
        .model_dump_json()
        .encode("utf-8")
    )
    lines = [b"HTTP/1.1 400 Bad Request"]
    lines += [name + b": " + value for name, value in default_headers]
    lines += [
        b"content-type: application/json",
        b"content-length: " + str(len(body)).encode("ascii"),
        b"x-content-type-options: nosniff",
        b"cache-control: no-store",
        b"connection: close",
    ]
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


if HAS_HTTPTOOLS:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    class HttpToolsProtocolBilingual(HttpToolsProtocol):
        """uvicorn's httptools protocol; a request it cannot parse gets ``refusal_bytes``."""

        def send_400_response(self, msg: str) -> None:
            self.transport.write(refusal_bytes(self.server_state.default_headers))
            self.transport.close()


class H11ProtocolBilingual(H11Protocol):
    """uvicorn's h11 protocol; a request it cannot parse gets ``refusal_bytes``."""

    def send_400_response(self, msg: str) -> None:
        self.transport.write(refusal_bytes(self.server_state.default_headers))
        self.transport.close()
