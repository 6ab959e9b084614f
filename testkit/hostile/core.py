"""The hostile-input driver's common ground: the hostile strings (``HOSTILE``, ``SHORT``), a ``Part`` with
its outcomes (``REFUSED``, ``VERBATIM``, ``ACCEPTED`` …), how an answer is judged (``error_problem`` for
HQ's ErrorBody, ``open311_error`` for Open311, ``leaks`` for file contents), the ``Target`` (an HQ over
loopback with its signed-in users) and the request helpers ``send`` and ``post_json``.
"""

from __future__ import annotations

import itertools
import json
import sqlite3
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from enforcement.model import Officer
from hq.blobs.store import FilesystemBlobStore
from hq.storage.base import Storage
from sync.protocol import Errno, ErrorBody, http_status

RESULTS = Path(__file__).resolve().parents[2] / "bench" / "results"

#: Hostile strings, by name. None has leading or trailing blanks, so "verbatim" needs no caveat.
HOSTILE: dict[str, str] = {
    "sql_quote": "x'; DROP TABLE cases; --",
    "sql_or": 'x" OR "1"="1',
    "sql_union": "x' UNION SELECT token_hash, badge FROM tokens --",
    "sql_stacked": "x'); DELETE FROM subjects; --",
    "traversal": "../../../../etc/passwd",
    "traversal_win": "..\\..\\..\\windows\\win.ini",
    "traversal_encoded": "%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "markup": "<script>alert('街巡')</script>",
    "template": "{{7*7}}${7*7}#{7*7}",
    "nul": "a\x00b",
    "controls": "a\r\n\tb\x1b[31mc\x7f",
    "bidi": "abc\u202etxt.exe",
    "rare": "𠮷㐂\ufeff王",
    "lone_surrogate": "a\ud800b",
    "long": "占道经营" * 2000,
}
#: The suite's shorter list.
SHORT = ("sql_quote", "sql_stacked", "traversal", "markup", "nul", "lone_surrogate")

OCTET = "application/octet-stream"
PASSWD_MARKERS = ("root:x:0:0", "[fonts]", "daemon:")


# ------------------------------------------------------------------------------------------ outcomes


@dataclass
class Part:
    """The probes of one part, counted by outcome, and the problems found."""

    name: str
    outcomes: Counter[str] = field(default_factory=Counter)
    results: dict[str, str] = field(default_factory=dict)  # probe label -> outcome
    problems: list[tuple[str, str]] = field(default_factory=list)  # (probe label, what is wrong)

    def add(self, label: str, outcome: str, problem: str | None = None) -> None:
        self.outcomes[outcome] += 1
        self.results[label] = outcome
        if problem:
            self.outcomes["problem"] += 1
            self.problems.append((label, problem))

    @property
    def probes(self) -> int:
        return sum(n for outcome, n in self.outcomes.items() if outcome != "problem")


#: Outcome names.
REFUSED = "4xx + errno"
RECORD_REFUSED = "record refused"
VERBATIM = "stored verbatim"
ANSWERED = "answered, no data"
ACCEPTED = "accepted (control)"
BROKEN = "5xx or malformed"
NEUTRALISED = "neutralised / detected"


def error_problem(status: int, method: str, content: bytes) -> str | None:
    """None when a 4xx answer carries an ``ErrorBody`` whose errno's HTTP status is ``status``."""
    if not 400 <= status < 500:
        return f"answered {status}"
    if method == "HEAD":
        return None  # no body by definition
    if open311_error(status, content):
        return None  # the Open311 routes answer in GeoReport v2's own error shape
    try:
        body = ErrorBody.model_validate_json(content)
    except ValueError:
        return f"{status} without the error shape: {content[:80]!r}"
    try:
        errno = Errno(body.errno)
    except ValueError:
        return f"{status} with unknown errno {body.errno}"
    if http_status(errno) != status:
        return f"{status} with errno {errno.name}, which is HTTP {http_status(errno)}"
    if not (body.message_zh and body.message_en) or body.code != errno.name.lower():
        return f"{status} {errno.name}: incomplete error body"
    return None


def open311_error(status: int, content: bytes) -> bool:
    """An Open311 GeoReport v2 error answer: a list of ``{code, description}`` with ``code`` the status, in
    JSON or (a ``.xml`` path) as ``<errors><error><code/><description/></error>…</errors>``."""
    if content.startswith(b"<?xml"):
        try:
            root = ET.fromstring(content)
        except ET.ParseError:
            return False
        return (
            root.tag == "errors"
            and len(root) > 0
            and all(e.tag == "error" and e.findtext("code") == str(status) and e.findtext("description")
                    for e in root)
        )  # fmt: skip
    try:
        errors = json.loads(content)
    except ValueError:
        return False
    return (
        isinstance(errors, list)
        and bool(errors)
        and all(isinstance(e, dict) and e.get("code") == status and isinstance(e.get("description"), str)
                and e["description"] for e in errors)
    )  # fmt: skip


def leaks(content: bytes) -> str | None:
    text = content.decode("utf-8", "replace")
    return next((f"answer contains {m!r}" for m in PASSWD_MARKERS if m in text), None)


# ----------------------------------------------------------------------------------------- the target


@dataclass
class Target:
    """A running HQ under attack: URL, storage, blobs, callers, and one subject of the officer's
    district stored at HQ."""

    url: str
    storage: Storage
    blobs: FilesystemBlobStore
    users: dict[str, Officer]  # "officer", "leader" (same squad), "hq"
    pins: dict[str, str]  # by badge
    subject_id: str
    auth: dict[str, dict[str, str]] = field(default_factory=dict)
    devices: dict[str, str] = field(default_factory=dict)
    _seq: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30)

    def sign_in(self, role: str) -> dict[str, str]:
        """A fresh token of ``role`` on a fresh device (kept as the role's current one)."""
        user = self.users[role]
        device = f"hostile-{role}-{next(self._seq)}"
        with self.client() as client:
            answer = client.post(
                "/v1/auth/sign-in",
                json={"badge": user.badge, "pin": self.pins[user.badge], "device_id": device},
            )
        answer.raise_for_status()
        self.auth[role] = {"Authorization": f"Bearer {answer.json()['token']}"}
        self.devices[role] = device
        return self.auth[role]

    def seq(self) -> int:
        return next(self._seq)

    def alive(self) -> bool:
        try:
            with self.client() as client:
                return client.get("/v1/health").status_code == 200
        except httpx.TransportError:
            return False


def send(client: httpx.Client, method: str, url: str, **kwargs: Any) -> httpx.Response:
    """One request; sent again once if the connection was dropped (HQ closes it after a 500)."""
    try:
        return client.request(method, url, **kwargs)
    except httpx.TransportError:
        if not isinstance(kwargs.get("content", b""), bytes | str):
            raise
        return client.request(method, url, **kwargs)


def post_json(client: httpx.Client, url: str, body: Any, headers: dict[str, str]) -> httpx.Response:
    """JSON with ASCII escapes, so NUL and lone surrogates travel as ``\\u0000`` / ``\\ud800``."""
    content = json.dumps(body, ensure_ascii=True).encode("ascii")
    return send(client, "POST", url, content=content, headers=headers | {"Content-Type": "application/json"})


def schema_snapshot(storage: Storage) -> tuple[list[str], str]:
    """HQ's table names and its integrity verdict (SQLite: ``PRAGMA integrity_check``)."""
    path = getattr(storage, "path", None)
    if path is not None:
        conn = sqlite3.connect(Path(path).resolve().as_uri() + "?mode=ro", uri=True)
        try:
            names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
            verdict = conn.execute("PRAGMA integrity_check").fetchone()[0]
        finally:
            conn.close()
        return sorted(names), verdict
    import psycopg

    dsn, schema = storage.dsn, storage.schema  # type: ignore[attr-defined]
    with psycopg.connect(dsn) as pg:
        rows = pg.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s", (schema,)
        ).fetchall()
    return sorted(r[0] for r in rows), "ok"
