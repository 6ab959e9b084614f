"""Bad input at HQ: hostile text, parameters, photos and bodies, and a long schemathesis run, all over real
HTTP on loopback.

Every hostile request must get a 4xx whose body is ``sync.protocol.ErrorBody`` (an errno whose HTTP status
is the one answered, both languages) — or, for text that is legitimately free text, the record stored
verbatim as data and never executed — HQ must stay up, and nothing refused may be stored.

Parts (each returns a ``Part``: probes counted by outcome, and the problems found):

- ``text_fields``: every string in a valid case, subject, shift and review payload (and the case's
  ``extra`` keys) replaced by each hostile string (SQL injection, path traversal, markup, NUL, control
  characters, a lone surrogate, 8,000 characters …) and pushed; a refused record must not be stored, an
  accepted one must read back verbatim; the tables must still be there afterwards.
- ``parameters``: the same strings in every path and query parameter of every operation of the OpenAPI,
  and edge values of typed ones (integers out of range, the first and last calendar days).
- ``photos``: uploads of hostile photos listed in the caller's case: not a JPEG, HTML, SVG, a
  decompression bomb, a truncated JPEG, a JPEG with a zip appended or HTML in a comment, 1 MB of EXIF,
  wrong content types, bytes that do not match the hash; and how a stored photo is served.
- ``bodies``: malformed and oversized bodies (deep nesting, huge numbers, invalid UTF-8, lone surrogates,
  over the size caps, declared or streamed, wrong content types).
- ``fuzz`` (bench only): schemathesis against the published OpenAPI as an officer, a leader and HQ.
- ``browser``: every kind of answer (board, exports, day log, API, an error) carries the CSP with
  ``frame-ancestors 'none'``, X-Frame-Options, Referrer-Policy and no-store; the pages hold no inline
  script or style; cross-site dashboard writes (Origin of another site, ``Origin: null``, Sec-Fetch-Site
  cross-site) are refused and the session survives; /docs and /redoc are off.
- ``records``: subjects named, and places written, as spreadsheet formulas come back from HQ's day-log
  CSV with a leading ``'``; the audit tail cut off with the head moved back passes ``verify`` alone and is
  found against the head published before (run last: it cuts HQ's audit log).
- ``auth``: attacks on sign-in and devices (issue #13; the suite's version is
  tests/reliability/test_attacks_auth.py): 40 parallel wrong PINs with the right one once locked, a
  stranger locking a badge out of its own bound phone, another badge signing in under a bound device id
  (no key, a wrong key), a revoked device signing in again, a disabled user's token; runs last (it locks
  badges).

The baseline ("accepted (control)") is the same probes with valid values, in the same run: they must be
accepted, so the refusals are HQ judging the input, not the harness failing. With a PostgreSQL DSN
(``--pg-dsn`` or ``STREETPATROL_TEST_PG_DSN``) every part runs on both backends.

The suite's version is tests/reliability/test_hostile_input.py (fewer strings, no fuzz; the suite's
bounded schemathesis run is tests/hq/test_openapi_fuzz.py).
Run from the repository root: ``.venv/bin/python -m bench.hostile`` (about a minute per backend); writes
bench/results/hostile.md.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import hashlib
import io
import itertools
import json
import os
import sqlite3
import tempfile
import threading
import time
import urllib.parse
import zipfile
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from enforcement.codec import to_json_dict
from enforcement.model import (
    LOCAL_TZ,
    Case,
    Disposition,
    Location,
    Officer,
    PhotoKind,
    PhotoRef,
    Review,
    ReviewDecision,
    SeizedItem,
    Shift,
    Stage,
    Subject,
    SubjectKind,
    new_id,
)
from enforcement.numbering import format_case_no
from hq.blobs import FilesystemBlobStore
from hq.demo import USERS as DEMO_USERS
from hq.partials import PartialUploads, uploader_key
from hq.storage.base import Storage, SubjectConflict
from sync.protocol import PROTOCOL_VERSION, UPLOAD_OFFSET_HEADER, Errno, ErrorBody, http_status

RESULTS = Path(__file__).resolve().parents[1] / "bench" / "results"

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
    """An Open311 GeoReport v2 error answer: a list of ``{code, description}`` with ``code`` the status."""
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


# ------------------------------------------------------------------------------- valid records


def valid_case(target: Target, *, photos: tuple[PhotoRef, ...] | None = None) -> Case:
    """A valid case of the target's officer with every optional text field filled (so each one is live).
    A 警告 needs a photo (the catalogue's min_photos): by default one photo record, never uploaded."""
    officer = target.users["officer"]
    if photos is None:
        photos = (PhotoRef(hashlib.sha256(f"hostile-{target.seq()}".encode()).hexdigest(), 120_000),)
    at = datetime(2026, 11, 22, 21, 30, tzinfo=LOCAL_TZ)
    return Case(
        id=new_id(),
        case_no=format_case_no(officer.squad_code, officer.badge, at.date(), "HXSTA", target.seq()),
        officer_badge=officer.badge,
        squad_code=officer.squad_code,
        device_id=target.devices["officer"],
        violation_code="0510",
        occurred_at=at,
        location=Location(34.7466, 113.6253, 8.0, "人民路夜市东口", "JS-0107", "信号弱"),
        subject_id=new_id(),  # a subject of its own: one subject's history growing by hundreds would slow HQ
        subject_unknown=False,
        computed_stage=Stage.PERSUASION,
        chosen_stage=Stage.WARNING,
        stage_override_reason="当事人屡劝不改，态度恶劣",
        stage_ordinal=1,
        disposition=Disposition.WARNING_NOTICE,
        legal_basis="《城市市容和环境卫生管理条例》第十四条",
        warning_notice_no="JG-2026-000123",
        seizure_receipt_no="ZK-2026-000456",
        second_officer_badge="1024" if officer.badge != "1024" else "1023",
        rectify_deadline=date(2026, 11, 25),
        referred_to="生态环境局",
        seized_items=(SeizedItem("烧烤炉", 1, "铁皮炉"),),
        photos=photos,
        notes="现场劝离，拍照取证",
        created_at=at,
        extra={"来源": "市民热线"},
    )


def valid_subject(target: Target) -> Subject:
    return Subject(
        id=new_id(),
        kind=SubjectKind.MOBILE_VENDOR,
        name="烧烤摊主",
        phone="13800138000",
        plate="豫A12345",
        address="人民路夜市",
        description="推车烧烤，蓝色雨棚",
        id_number="11010519491231002X",
        district=target.users["officer"].district,
        created_at=datetime(2026, 11, 22, 21, 0, tzinfo=LOCAL_TZ),
    )


def valid_shift(target: Target) -> Shift:
    start = datetime(2026, 11, 22, 18, 0, tzinfo=LOCAL_TZ)
    return Shift(new_id(), target.users["officer"].badge, start, start + timedelta(hours=4), "JS-0107")


def valid_review(target: Target, case: Case) -> Review:
    at = datetime(2026, 11, 22, 23, 0, tzinfo=LOCAL_TZ)
    leader = target.users["leader"]
    return Review(new_id(), case.id, case.case_no, ReviewDecision.APPROVE, leader.badge, at, "证据齐全")


def push(
    target: Target, client: httpx.Client, role: str, kind: str, payload: Any, record_id: Any
) -> httpx.Response:
    body = {
        "protocol": PROTOCOL_VERSION,
        "device_id": target.devices[role],
        "records": [{"kind": kind, "id": record_id, "device_seq": target.seq(), "payload": payload}],
    }
    return post_json(client, "/v1/push", body, target.auth[role])


def stored(target: Target, kind: str, record_id: str) -> dict[str, Any] | None:
    """The record as HQ stored it (codec JSON), or None. (An id that is not valid Unicode text, e.g. with a
    lone surrogate, cannot be in a UTF-8 database at all, nor one with NUL in PostgreSQL.)"""
    try:
        record_id.encode("utf-8")
    except UnicodeEncodeError:
        return None
    if "\x00" in record_id and getattr(target.storage, "path", None) is None:
        return None
    record: Any
    with target.storage.transaction(readonly=True) as tx:
        if kind == "case":
            record = tx.get_case(record_id)
        elif kind == "subject":
            record = tx.get_subject(record_id)
        elif kind == "shift":
            record = tx.get_shift(record_id)
        else:
            record = tx.get_review(record_id)
    return None if record is None else to_json_dict(record)


# ------------------------------------------------------------------------------------- text fields

Path_ = tuple[str | int, ...]


def string_paths(value: Any, path: Path_ = ()) -> Iterator[Path_]:
    """The path of every string leaf of a JSON value."""
    if isinstance(value, str):
        yield path
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from string_paths(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from string_paths(item, (*path, index))


def get_at(value: Any, path: Path_) -> Any:
    for step in path:
        value = value[step]
    return value


def set_at(value: Any, path: Path_, text: str) -> Any:
    result = copy.deepcopy(value)
    holder = result
    for step in path[:-1]:
        holder = holder[step]
    holder[path[-1]] = text
    return result


KEY = "<key>"  # marks a mutation of a dict key (the case's ``extra``)


def mutations(payload: dict[str, Any]) -> list[Path_]:
    """Every string leaf, and every key of ``extra``."""
    paths = list(string_paths(payload))
    paths += [("extra", KEY, key) for key in payload.get("extra", {})]
    return paths


def mutate(payload: dict[str, Any], path: Path_, text: str) -> dict[str, Any]:
    if len(path) == 3 and path[1] == KEY:
        result = copy.deepcopy(payload)
        result["extra"][text] = result["extra"].pop(path[2])
        return result
    return set_at(payload, path, text)


@dataclass
class Variant:
    """One pushed record: a valid payload of ``kind`` with ``text`` at ``path`` (None: the valid control)."""

    kind: str
    role: str
    path: Path_ | None
    text: str
    payload: dict[str, Any]

    @property
    def record_id(self) -> Any:
        return self.payload.get("id")

    @property
    def label(self) -> str:
        where = "(valid)" if self.path is None else ".".join(map(str, self.path))
        return f"{self.kind}.{where}"


def valid_payload(target: Target, kind: str, reviewed: Case | None) -> dict[str, Any]:
    """A valid payload of ``kind`` with fresh ids (reviews are of ``reviewed``, a case HQ accepted)."""
    if kind == "case":
        return to_json_dict(valid_case(target))
    if kind == "subject":
        return to_json_dict(valid_subject(target))
    if kind == "shift":
        return to_json_dict(valid_shift(target))
    assert reviewed is not None
    return to_json_dict(valid_review(target, reviewed))


def case_to_review(target: Target, client: httpx.Client) -> Case:
    case = valid_case(target)
    answer = push(target, client, "officer", "case", to_json_dict(case), case.id)
    if answer.status_code != 200 or answer.json()["results"][0]["status"] not in ("accepted", "conflict"):
        raise RuntimeError(f"the case to review was not accepted: {answer.text[:300]}")
    return case


def variants(target: Target, kind: str, text: str, reviewed: Case | None) -> list[Variant]:
    """The control and one variant per text field (and ``extra`` key) of ``kind`` carrying ``text``."""
    role = "leader" if kind == "review" else "officer"
    found = [Variant(kind, role, None, "", valid_payload(target, kind, reviewed))]
    for path in mutations(valid_payload(target, kind, reviewed)):
        found.append(
            Variant(kind, role, path, text, mutate(valid_payload(target, kind, reviewed), path, text))
        )
    return found


def push_many(target: Target, client: httpx.Client, role: str, batch: list[Variant]) -> httpx.Response:
    body = {
        "protocol": PROTOCOL_VERSION,
        "device_id": target.devices[role],
        "records": [
            {"kind": v.kind, "id": v.record_id, "device_seq": target.seq(), "payload": v.payload}
            for v in batch
        ],
    }
    return post_json(client, "/v1/push", body, target.auth[role])


def judge(
    target: Target, client: httpx.Client, variant: Variant, answer: httpx.Response, index: int
) -> tuple[str, str | None]:
    """The outcome of ``variant`` (record ``index`` of the pushed batch) and the problem, if any."""
    record_id = variant.record_id if isinstance(variant.record_id, str) else ""
    if answer.status_code >= 500:
        return BROKEN, f"HTTP {answer.status_code}: {answer.text[:120]}"
    if answer.status_code != 200:
        problem = error_problem(answer.status_code, "POST", answer.content)
        if problem is None and record_id and stored(target, variant.kind, record_id) is not None:
            problem = "refused with a 4xx, yet stored"
        return REFUSED, problem
    result = answer.json()["results"][index]
    if result["status"] in ("refused", "deferred"):
        if result.get("errno") not in {int(e) for e in Errno}:
            return RECORD_REFUSED, f"refused without an errno: {result}"
        if record_id and stored(target, variant.kind, record_id) is not None:
            return RECORD_REFUSED, "refused, yet stored"
        if variant.path is None:
            return RECORD_REFUSED, f"the valid control record was refused: {result['reason_en']}"
        return RECORD_REFUSED, None
    if result["status"] not in ("accepted", "conflict"):
        return BROKEN, f"unexpected record status {result['status']}"
    record = stored(target, variant.kind, record_id)
    if record is None:
        return VERBATIM, "acknowledged but not stored"
    if variant.path is None:
        return ACCEPTED, None
    return VERBATIM, read_back_problem(target, client, variant, record)


def read_back_problem(
    target: Target, client: httpx.Client, variant: Variant, record: dict[str, Any]
) -> str | None:
    """None when the stored record (and, for a case, the API's copy) holds the text verbatim."""
    path, text = variant.path, variant.text
    assert path is not None
    is_key = len(path) == 3 and path[1] == KEY

    def holds(data: dict[str, Any]) -> bool:
        if is_key:
            return text in data.get("extra", {})
        try:
            return bool(get_at(data, path) == text)
        except (KeyError, IndexError, TypeError):
            return False

    if not holds(record):
        return "stored, but the text did not read back verbatim"
    if variant.kind == "case" and "/" not in variant.record_id:
        detail = send(client, "GET", f"/v1/cases/{urllib.parse.quote(variant.record_id, safe='')}",
                      headers=target.auth["officer"])  # fmt: skip
        if detail.status_code != 200 or not holds(detail.json()["case"]):
            return f"stored, but the API read back {detail.status_code} without it"
    return None


KINDS = ("case", "subject", "shift", "review")


def text_fields(
    target: Target, names: tuple[str, ...] = tuple(HOSTILE), kinds: tuple[str, ...] = KINDS
) -> Part:
    """Each hostile string in each text field of each record kind; then the tables must be intact.

    The variants of one kind and string go in one batch; when HQ refuses or fails the whole batch, each is
    pushed alone, so every answer is judged for its own record."""
    part = Part("text fields")
    before = schema_snapshot(target.storage)
    with target.client() as client:
        for kind in kinds:
            reviewed = case_to_review(target, client) if kind == "review" else None
            for name in names:
                batch = variants(target, kind, HOSTILE[name], reviewed)
                answer = push_many(target, client, batch[0].role, batch)
                for index, variant in enumerate(batch):
                    if answer.status_code == 200:
                        outcome, problem = judge(target, client, variant, answer, index)
                    else:
                        alone = push_many(target, client, variant.role, [variant])
                        outcome, problem = judge(target, client, variant, alone, 0)
                    part.add(f"{variant.label} ← {name}", outcome, problem)
    after = schema_snapshot(target.storage)
    if after != before:
        part.add("schema", BROKEN, f"tables or integrity changed: {before} → {after}")
    if not target.alive():
        part.add("health", BROKEN, "HQ no longer answers")
    return part


# -------------------------------------------------------------------------------------- parameters


def operations(schema: dict[str, Any]) -> list[tuple[str, str, list[dict[str, Any]]]]:
    """(METHOD, path template, parameters) of every operation in the OpenAPI document."""
    found = []
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method in {"get", "put", "post", "delete", "patch", "head"}:
                found.append((method.upper(), path, operation.get("parameters", [])))
    return found


#: JSON bodies sent with an operation whose parameters are probed (so the parameter reaches the handler).
PROBE_BODIES: dict[str, dict[str, Any]] = {
    "/v1/review/{case_id}": {"decision": "approve", "comment": "核查无误"},
    "/v1/subject-conflicts/{conflict_id}/resolve": {"take": "hq"},
}


def parameter_probe(
    target: Target,
    client: httpx.Client,
    operation: tuple[str, str, list[dict[str, Any]]],
    defaults: dict[str, str],
    probed: tuple[str, str, str | None],
) -> tuple[str, str | None]:
    """One request of ``operation`` as HQ: parameter ``probed`` = (where, name, text) set to ``text``
    (None: its valid default); every other parameter that has a default gets it."""
    method, template, params = operation
    where, name, text = probed
    path_values = {p["name"]: defaults[p["name"]] for p in params if p.get("in") == "path"}
    query = {
        p["name"]: defaults[p["name"]] for p in params if p.get("in") == "query" and p["name"] in defaults
    }
    if text is not None:
        (path_values if where == "path" else query)[name] = text
    path = template
    for key, value in path_values.items():
        path = path.replace(
            "{" + key + "}", urllib.parse.quote(value.encode("utf-8", "surrogatepass"), safe="")
        )
    if query:
        path += "?" + urllib.parse.urlencode(
            {k: v.encode("utf-8", "surrogatepass") for k, v in query.items()}
        )
    headers = dict(target.auth["hq"])
    kwargs: dict[str, Any] = {}
    if method == "PUT":
        kwargs["content"] = b"\xff\xd8 not in any manifest"
        headers["Content-Type"] = OCTET
    elif template in PROBE_BODIES:
        kwargs["json"] = PROBE_BODIES[template]
    answer = send(client, method, path, headers=headers, **kwargs)
    if answer.status_code >= 500:
        return BROKEN, f"HTTP {answer.status_code}"
    leak = leaks(answer.content)
    if leak:
        return BROKEN, leak
    if answer.status_code >= 400:
        return REFUSED, error_problem(answer.status_code, method, answer.content)
    if text is None:
        return ACCEPTED, None
    if where == "path":
        kind = {"case_id": "case", "subject_id": "subject"}.get(name)
        if kind is not None and stored(target, kind, text) is not None:
            return ANSWERED, None  # a record with that very id exists (pushed earlier: data, verbatim)
        return ANSWERED, f"answered {answer.status_code} for a hostile {name}"
    return ANSWERED, None


def boundary_values(param: dict[str, Any]) -> list[str]:
    """Edge values for a typed parameter: integers out of any range, the first and last calendar days."""
    schema = param.get("schema", {})
    options = [schema, *schema.get("anyOf", [])]
    types = {o.get("type") for o in options}
    formats = {o.get("format") for o in options}
    values = []
    if "integer" in types:
        values += ["-1", "0", str(2**64)]
    if "date" in formats:
        values += ["0001-01-01", "9999-12-31"]
    if "boolean" in types:
        values += ["maybe"]
    return values


def parameters(
    target: Target,
    schema: dict[str, Any],
    defaults: dict[str, str],
    names: tuple[str, ...] = tuple(HOSTILE),
    bounds: bool = True,
) -> Part:
    """Each hostile string in each path and query parameter of each operation (sign-out excluded: it has
    none, and would revoke the token)."""
    part = Part("parameters")
    with target.client() as client:
        for operation in operations(schema):
            method, template, params = operation
            for param in params:
                where, name = param.get("in"), param["name"]
                if where not in ("path", "query"):
                    continue
                if where == "path":  # the control: the valid value
                    outcome, _ = parameter_probe(target, client, operation, defaults, (where, name, None))
                    part.outcomes[outcome] += 1
                probes = [
                    (n, HOSTILE[n][:2000]) for n in names
                ]  # 8,000 CJK characters: over httpx's URL limit
                probes += [(f"bound {v}", v) for v in (boundary_values(param) if bounds else [])]
                for text_name, text in probes:
                    outcome, problem = parameter_probe(
                        target, client, operation, defaults, (where, name, text)
                    )
                    part.add(f"{method} {template} {where}:{name} ← {text_name}", outcome, problem)
    if not target.alive():
        part.add("health", BROKEN, "HQ no longer answers")
    return part


# ------------------------------------------------------------------------------------------- photos


def _jpeg(size: tuple[int, int], *, exif: bytes | None = None) -> bytes:
    from PIL import Image

    image = Image.effect_noise(size, 50).convert("RGB")
    buffer = io.BytesIO()
    options: dict[str, Any] = {"quality": 85}
    if exif is not None:
        options["exif"] = exif
    image.save(buffer, "JPEG", **options)
    return buffer.getvalue()


def evidence_photo(size: tuple[int, int] = (320, 240)) -> bytes:
    """A fresh evidence file as the phone makes it (``mobile.photos.process_photo``)."""
    from mobile.photos import process_photo

    return process_photo(_jpeg(size), None).evidence


def camera_photo_with_exif() -> bytes:
    """A camera JPEG with an ordinary EXIF block (an older build might upload one)."""
    from PIL import Image

    exif = Image.Exif()
    exif[0x010F] = "Xiaomi"
    exif[0x0110] = "Redmi Note 12"
    exif[0x0132] = "2026:11:22 21:30:00"
    return _jpeg((320, 240), exif=exif.tobytes())


def segment(marker: int, payload: bytes) -> bytes:
    return b"\xff" + bytes([marker]) + (len(payload) + 2).to_bytes(2, "big") + payload


def jpeg_segments(data: bytes) -> Iterator[tuple[int, int, int]]:
    """(marker, offset, length) of each header segment up to the start of scan."""
    i = 2
    while i + 4 <= len(data) and data[i] == 0xFF:
        marker, length = data[i + 1], int.from_bytes(data[i + 2 : i + 4], "big")
        yield marker, i, length
        if marker == 0xDA:
            return
        i += 2 + length


def decompression_bomb() -> bytes:
    """A 2 KB JPEG whose frame header declares 65,500 × 65,500 pixels (4.3 gigapixels)."""
    data = bytearray(_jpeg((64, 64)))
    for marker, offset, _ in jpeg_segments(bytes(data)):
        if marker in (0xC0, 0xC1, 0xC2):
            data[offset + 5 : offset + 9] = (65500).to_bytes(2, "big") * 2
            return bytes(data)
    raise AssertionError("no frame header")


def png_photo() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.effect_noise((64, 64), 50).convert("RGB").save(buffer, "PNG")
    return buffer.getvalue()


def zip_polyglot(evidence: bytes) -> bytes:
    """A valid JPEG that is also a zip archive (central directory at the end) holding an HTML page."""
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("index.html", "<html><script>alert(document.cookie)</script></html>")
    return evidence + archive.getvalue()


def html_comment_polyglot(evidence: bytes) -> bytes:
    """A valid JPEG with an HTML page in a comment segment near the start (sniffable as HTML)."""
    html = b"<html><body><script>alert(document.cookie)</script></body></html>"
    return evidence[:2] + segment(0xFE, html) + evidence[2:]


def huge_exif(evidence: bytes) -> bytes:
    """A valid JPEG carrying 1 MB of APP1 (EXIF) segments."""
    block = segment(0xE1, b"Exif\x00\x00" + bytes(65527))
    return evidence[:2] + block * 16 + evidence[2:]


@dataclass(frozen=True)
class PhotoProbe:
    """An upload: ``data`` listed (by hash) in the caller's case, PUT with ``content_type``; or, with
    ``listed``, ``data`` PUT under the hash of ``listed``."""

    name: str
    make: Callable[[], bytes]
    content_type: str = OCTET
    accept: bool = False
    listed: Callable[[], bytes] | None = None


def photo_probes() -> list[PhotoProbe]:
    ev = evidence_photo
    return [
        PhotoProbe("evidence (control)", ev, accept=True),
        PhotoProbe("camera JPEG with EXIF (metadata: not evidence, #13)", camera_photo_with_exif),
        PhotoProbe("evidence as image/jpeg (control)", ev, "image/jpeg", accept=True),
        PhotoProbe("random bytes", lambda: hashlib.sha512(b"noise").digest() * 64),
        PhotoProbe(
            "HTML page", lambda: b"<!DOCTYPE html><html><script>alert(document.cookie)</script></html>"
        ),
        PhotoProbe(
            "SVG with script",
            lambda: b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
        ),
        PhotoProbe("PNG", png_photo),
        PhotoProbe("decompression bomb (65500x65500 declared)", decompression_bomb),
        PhotoProbe("truncated JPEG", lambda: (d := ev())[: len(d) // 2]),
        PhotoProbe("JPEG + zip polyglot", lambda: zip_polyglot(ev())),
        PhotoProbe("JPEG with HTML comment", lambda: html_comment_polyglot(ev())),
        PhotoProbe("JPEG with 1 MB EXIF", lambda: huge_exif(ev())),
        PhotoProbe("evidence as text/html", ev, "text/html"),
        PhotoProbe("evidence as application/json", ev, "application/json"),
        PhotoProbe("evidence as multipart/form-data", ev, "multipart/form-data; boundary=x"),
        PhotoProbe("evidence as form-urlencoded", ev, "application/x-www-form-urlencoded"),
        PhotoProbe(
            "HTML under a listed photo's hash", lambda: b"<html><script>alert(1)</script></html>", listed=ev
        ),
    ]


def photo_probe(target: Target, client: httpx.Client, probe: PhotoProbe) -> tuple[str, str | None]:
    """The officer lists the photo in a new case, then uploads it; refused photos must leave no trace."""
    data = probe.make()
    listed = probe.listed() if probe.listed else data
    sha = hashlib.sha256(listed).hexdigest()
    case = valid_case(target, photos=(PhotoRef(sha, len(listed), PhotoKind.DURING),))
    answer = push(target, client, "officer", "case", to_json_dict(case), case.id)
    if answer.status_code != 200 or sha not in answer.json()["results"][0]["missing_photos"]:
        return BROKEN, f"setup: the case was not accepted: {answer.text[:200]}"
    headers = target.auth["officer"] | {"Content-Type": probe.content_type}
    upload = send(client, "PUT", f"/v1/photos/{sha}", content=data, headers=headers)
    if probe.accept:
        if upload.status_code != 200 or not target.blobs.has(sha):
            return BROKEN, f"a valid photo was refused: {upload.status_code} {upload.text[:120]}"
        return ACCEPTED, None
    if upload.status_code >= 500:
        return BROKEN, f"HTTP {upload.status_code}"
    problem = error_problem(upload.status_code, "PUT", upload.content)
    if target.blobs.has(sha):
        problem = (problem + "; " if problem else "") + "stored"
    if list(target.blobs.temp_dir().iterdir()):
        problem = (problem + "; " if problem else "") + "left a temporary file"
    detail = send(client, "GET", f"/v1/cases/{case.id}", headers=target.auth["officer"])
    if problem is None and sha not in detail.json().get("missing_photos", []):
        problem = "the case no longer lists the photo as missing"
    return REFUSED, problem


def served_safely(target: Target, client: httpx.Client) -> tuple[str, str | None]:
    """A stored photo is served as ``image/jpeg`` with ``X-Content-Type-Options: nosniff`` (a browser must
    never sniff evidence bytes into HTML)."""
    data = evidence_photo()
    sha = hashlib.sha256(data).hexdigest()
    case = valid_case(target, photos=(PhotoRef(sha, len(data)),))
    push(target, client, "officer", "case", to_json_dict(case), case.id)
    send(
        client,
        "PUT",
        f"/v1/photos/{sha}",
        content=data,
        headers=target.auth["officer"] | {"Content-Type": OCTET},
    )
    answer = send(client, "GET", f"/v1/photos/{sha}", headers=target.auth["leader"])
    if answer.status_code != 200 or answer.content != data:
        return BROKEN, f"setup: GET answered {answer.status_code}"
    problems = []
    if answer.headers.get("content-type", "").split(";")[0] != "image/jpeg":
        problems.append(f"Content-Type {answer.headers.get('content-type')!r}")
    if answer.headers.get("x-content-type-options", "").lower() != "nosniff":
        problems.append("no X-Content-Type-Options: nosniff")
    return ANSWERED, "; ".join(problems) or None


def photos(target: Target, probes: list[PhotoProbe] | None = None) -> Part:
    part = Part("photos")
    with target.client() as client:
        for probe in probes or photo_probes():
            outcome, problem = photo_probe(target, client, probe)
            part.add(probe.name, outcome, problem)
        outcome, problem = served_safely(target, client)
        part.add("stored photo served", outcome, problem)
    if not target.alive():
        part.add("health", BROKEN, "HQ no longer answers")
    return part


# ------------------------------------------------------------------------------------------- bodies


@dataclass(frozen=True)
class BodyProbe:
    name: str
    path: str
    body: Callable[[Target], bytes | Iterator[bytes]]
    content_type: str = "application/json"
    role: str | None = "officer"  # None: no token (sign-in)


def _push_text(target: Target, **changes: Any) -> bytes:
    case = valid_case(target)
    body: dict[str, Any] = {
        "protocol": PROTOCOL_VERSION,
        "device_id": target.devices["officer"],
        "records": [{"kind": "case", "id": case.id, "device_seq": 1, "payload": to_json_dict(case)}],
    }
    body.update(changes)
    return json.dumps(body, ensure_ascii=True).encode()


def _sign_in(**fields: Any) -> bytes:
    return json.dumps(
        {"badge": "1023", "pin": "000000", "device_id": "d-1"} | fields, ensure_ascii=True
    ).encode()


def _chunks(prefix: bytes, filler: int, suffix: bytes) -> Callable[[Target], Iterator[bytes]]:
    def make(target: Target) -> Iterator[bytes]:
        def gen() -> Iterator[bytes]:
            yield prefix
            for _ in range(filler // 8192):
                yield b" " * 8192
            yield suffix

        return gen()

    return make


def body_probes() -> list[BodyProbe]:
    return [
        BodyProbe("push: 200,000-deep nesting", "/v1/push", lambda t: b"[" * 100_000 + b"]" * 100_000),
        BodyProbe(
            "push: 5,000-digit device_seq",
            "/v1/push",
            lambda t: _push_text(t).replace(b'"device_seq": 1', b'"device_seq": ' + b"9" * 5000),
        ),
        BodyProbe(
            "push: NaN device_seq",
            "/v1/push",
            lambda t: _push_text(t).replace(b'"device_seq": 1', b'"device_seq": NaN'),
        ),
        BodyProbe(
            "push: invalid UTF-8", "/v1/push", lambda t: _push_text(t).replace(b'"protocol"', b'"\xff\xfe"')
        ),
        BodyProbe("push: lone surrogate device_id", "/v1/push", lambda t: _push_text(t, device_id="\ud800")),
        BodyProbe("push: array", "/v1/push", lambda t: b"[]"),
        BodyProbe("push: empty", "/v1/push", lambda t: b""),
        BodyProbe("push: JSON as text/plain", "/v1/push", lambda t: _push_text(t), "text/plain"),
        BodyProbe(
            "push: 1.1 MB declared",
            "/v1/push",
            lambda t: _push_text(t).replace(b'"records"', b'"pad": "' + b"x" * 1_100_000 + b'", "records"'),
        ),
        BodyProbe(
            "push: 1.1 MB streamed", "/v1/push", _chunks(b'{"protocol": 1, "records": [', 1_100_000, b"]}")
        ),
        BodyProbe("push: 10,000 empty records", "/v1/push", lambda t: _push_text(t, records=[{}] * 10_000)),
        BodyProbe(
            "sign-in: 70 KB declared",
            "/v1/auth/sign-in",
            lambda t: _sign_in(device_name="x" * 70_000),
            role=None,
        ),
        BodyProbe(
            "sign-in: 70 KB streamed",
            "/v1/auth/sign-in",
            _chunks(b'{"badge": "1023", ', 70_000, b"}"),
            role=None,
        ),
        BodyProbe(
            "sign-in: lone surrogate badge", "/v1/auth/sign-in", lambda t: _sign_in(badge="\ud800"), role=None
        ),
        BodyProbe(
            "sign-in: NUL in badge", "/v1/auth/sign-in", lambda t: _sign_in(badge="10\x0023"), role=None
        ),
        BodyProbe(
            "sign-in: SQL in badge and PIN",
            "/v1/auth/sign-in",
            lambda t: _sign_in(badge="' OR '1'='1", pin="' OR '1'='1"),
            role=None,
        ),
        BodyProbe(
            "sign-in: form-urlencoded",
            "/v1/auth/sign-in",
            lambda t: b"badge=1023&pin=000000&device_id=d",
            "application/x-www-form-urlencoded",
            role=None,
        ),
    ]


def body_probe(target: Target, client: httpx.Client, probe: BodyProbe) -> tuple[str, str | None]:
    headers = {"Content-Type": probe.content_type}
    if probe.role is not None:
        headers |= target.auth[probe.role]
    body = probe.body(target)
    answer = send(client, "POST", probe.path, content=body, headers=headers)
    if answer.status_code >= 500:
        return BROKEN, f"HTTP {answer.status_code}"
    if answer.status_code == 200 and probe.path == "/v1/auth/sign-in":
        return BROKEN, "signed in"
    if answer.status_code == 200:
        results = answer.json().get("results", [])
        refused = all(r["status"] == "refused" and r.get("errno") for r in results)
        return RECORD_REFUSED, None if refused else f"accepted: {answer.text[:120]}"
    return REFUSED, error_problem(answer.status_code, "POST", answer.content)


def bodies(target: Target, probes: list[BodyProbe] | None = None) -> Part:
    part = Part("bodies")
    before = schema_snapshot(target.storage)
    with target.client() as client:
        for probe in probes or body_probes():
            outcome, problem = body_probe(target, client, probe)
            part.add(probe.name, outcome, problem)
    if schema_snapshot(target.storage) != before:
        part.add("schema", BROKEN, "tables or integrity changed")
    if not target.alive():
        part.add("health", BROKEN, "HQ no longer answers")
    return part


# ------------------------------------------------------------------- wire attacks (issue #13, items 3, 8)
# One request stalling HQ (a push of 330,000 empty records) and photos by hash (another officer's hash in
# one's own case, a camera original with GPS, a cut-off upload that is no JPEG). Each probe is refused and
# leaves nothing; the stall figure is /v1/health's p99 while three such pushes run, against idle.


def empty_records_push(device_id: str, count: int = 330_000) -> bytes:
    """The stalling body: ``count`` empty records, about 1 MB."""
    return (
        b'{"protocol": 1, "device_id": "' + device_id.encode() + b'", "records": ['
        + b",".join([b"{}"] * count) + b"]}"
    )  # fmt: skip


def _sign_in_badge(target: Target, badge: str) -> tuple[dict[str, str], str]:
    device = f"hostile-{badge}-{target.seq()}"
    with target.client() as client:
        answer = client.post(
            "/v1/auth/sign-in", json={"badge": badge, "pin": target.pins[badge], "device_id": device}
        )
    answer.raise_for_status()
    return {"Authorization": f"Bearer {answer.json()['token']}"}, device


def _case_of(target: Target, officer: Officer, device: str, data: bytes) -> Case:
    import dataclasses

    case = valid_case(target, photos=(PhotoRef(hashlib.sha256(data).hexdigest(), len(data)),))
    at = case.occurred_at
    return dataclasses.replace(
        case,
        officer_badge=officer.badge,
        squad_code=officer.squad_code,
        device_id=device,
        case_no=format_case_no(officer.squad_code, officer.badge, at.date(), "HXSTA", target.seq()),
        second_officer_badge="1023" if officer.badge != "1023" else "1024",
    )


def _push_case(client: httpx.Client, auth: dict[str, str], device: str, case: Case) -> bool:
    record = {"kind": "case", "id": case.id, "device_seq": 1, "payload": to_json_dict(case)}
    body = {"protocol": PROTOCOL_VERSION, "device_id": device, "records": [record]}
    answer = post_json(client, "/v1/push", body, auth)
    return answer.status_code == 200 and answer.json()["results"][0]["status"] in ("accepted", "conflict")


def camera_original_with_gps() -> bytes:
    """A camera original: EXIF with make, model, time and a GPS position."""
    from PIL import Image

    exif = Image.Exif()
    exif[0x010F], exif[0x0110] = "Xiaomi", "Redmi Note 12"
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2], gps[3], gps[4] = "N", (34.0, 45.0, 30.5), "E", (113.0, 39.0, 12.25)
    return _jpeg((640, 480), exif=exif.tobytes())


def _wire_refused(answer: httpx.Response, errno: Errno) -> str | None:
    if answer.status_code == http_status(errno) and answer.json().get("errno") == errno:
        return None
    return f"answered {answer.status_code} {answer.text[:100]}, not {errno.name}"


def wire_attacks(target: Target) -> Part:
    """Issue #13 items 3 and 8 as probes: each must be refused with its errno and leave nothing."""
    part = Part("wire attacks (#13)")
    officer = target.users["officer"]
    with target.client() as client:
        auth, device = _sign_in_badge(target, officer.badge)
        with target.storage.transaction(readonly=True) as tx:
            before = len(tx.list_cases(limit=10_000))
        json_auth = auth | {"Content-Type": "application/json"}
        answer = client.post("/v1/push", content=empty_records_push(device), headers=json_auth)
        with target.storage.transaction(readonly=True) as tx:
            grew = len(tx.list_cases(limit=10_000)) != before
        problem = _wire_refused(answer, Errno.BATCH_TOO_MANY_RECORDS) or ("cases stored" if grew else None)
        part.add("push: 330,000 empty records", BROKEN if problem else REFUSED, problem)

        # another officer's hash in my own case: a colleague and an officer of another squad
        data = evidence_photo()
        sha = hashlib.sha256(data).hexdigest()
        if _push_case(client, auth, device, _case_of(target, officer, device, data)):
            client.put(f"/v1/photos/{sha}", content=data, headers=auth | {"Content-Type": OCTET})
        for label, badge in (("colleague", "1024"), ("other squad", "2031")):
            thief_auth, thief_device = _sign_in_badge(target, badge)
            thief = next(u.officer for u in DEMO_USERS if u.officer.badge == badge)
            case = _case_of(target, thief, thief_device, data)
            listed = _push_case(client, thief_auth, thief_device, case)
            got = client.get(f"/v1/photos/{sha}", headers=thief_auth)
            with target.storage.transaction(readonly=True) as tx:
                state = tx.case_state(case.id)
            problem = None if listed else "the case was not stored"
            problem = problem or _wire_refused(got, Errno.PHOTO_NOT_FOUND)
            if problem is None and (state is None or state.complete):
                problem = "the case counts a photo its officer never uploaded"
            label = f"photo by hash: {label} lists the owner's hash"
            part.add(label, BROKEN if problem else REFUSED, problem)

        # a camera original with GPS, and the phone pipeline's output of it (control)
        from mobile.photos import process_photo

        original = camera_original_with_gps()
        for label, photo, accept in (
            ("camera original with GPS", original, False),
            ("the pipeline's output of it (control)", process_photo(original, None).evidence, True),
        ):
            photo_sha = hashlib.sha256(photo).hexdigest()
            _push_case(client, auth, device, _case_of(target, officer, device, photo))
            put = client.put(f"/v1/photos/{photo_sha}", content=photo, headers=auth | {"Content-Type": OCTET})
            if accept:
                problem = None if put.status_code == 200 else f"refused: {put.text[:100]}"
                part.add(label, BROKEN if problem else ACCEPTED, problem)
            else:
                problem = _wire_refused(put, Errno.PHOTO_NOT_EVIDENCE) or (
                    "stored" if target.blobs.has(photo_sha) else None
                )
                part.add(label, BROKEN if problem else REFUSED, problem)

        # a cut-off upload whose first bytes are no JPEG: not kept to resume
        evidence = evidence_photo()
        ev_sha = hashlib.sha256(evidence).hexdigest()
        _push_case(client, auth, device, _case_of(target, officer, device, evidence))
        partials = PartialUploads(target.blobs.partial_dir())
        partials.keep(ev_sha, uploader_key(officer.badge, device), _spool_of(target, b"<html>" * 1000))
        kept = partials.held(ev_sha, uploader_key(officer.badge, device))
        head = client.head(f"/v1/photos/{ev_sha}", headers=auth)
        problem = f"kept {kept} bytes" if kept or UPLOAD_OFFSET_HEADER in head.headers else None
        part.add("cut-off upload of HTML under a listed hash", BROKEN if problem else REFUSED, problem)
    if not target.alive():
        part.add("health", BROKEN, "HQ no longer answers")
    return part


def _spool_of(target: Target, data: bytes) -> Path:
    fd, name = tempfile.mkstemp(prefix="upload-", dir=target.blobs.temp_dir())
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    return Path(name)


def health_p99(url: str, seconds: float, stop: threading.Event | None = None) -> float:
    """p99 of /v1/health round trips (ms), polled back to back for ``seconds`` (or until ``stop``)."""
    samples: list[float] = []
    deadline = time.monotonic() + seconds
    with httpx.Client(base_url=url, timeout=60) as client:
        while time.monotonic() < deadline and not (stop and stop.is_set()):
            started = time.perf_counter()
            client.get("/v1/health")
            samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return samples[min(len(samples) - 1, int(len(samples) * 0.99))] if samples else float("nan")


def stall(target: Target, pushes: int = 3, rounds: int = 5) -> tuple[float, float]:
    """/v1/health p99 (ms) idle, then while ``pushes`` pushes of 330,000 empty records run at once,
    ``rounds`` times over (same HQ, same run)."""
    idle = health_p99(target.url, 2.0)
    auth, device = _sign_in_badge(target, target.users["officer"].badge)
    body = empty_records_push(device)
    done = threading.Event()

    def attacker() -> None:
        with httpx.Client(base_url=target.url, timeout=120) as client:
            for _ in range(rounds):
                client.post("/v1/push", content=body, headers=auth | {"Content-Type": "application/json"})

    threads = [threading.Thread(target=attacker) for _ in range(pushes)]
    for thread in threads:
        thread.start()
    result: list[float] = []
    poller = threading.Thread(target=lambda: result.append(health_p99(target.url, 600, done)))
    poller.start()
    for thread in threads:
        thread.join()
    done.set()
    poller.join()
    return idle, result[0]


# --------------------------------------------------------------------------------------------- fuzz


def fuzz(target: Target, schema_doc: dict[str, Any], positive: int, negative: int, seconds: float) -> Part:
    """schemathesis against the OpenAPI as each role: no 5xx, and every 4xx in the error shape."""
    import requests
    import schemathesis
    from hypothesis import HealthCheck, given, settings
    from hypothesis.errors import Unsatisfiable
    from schemathesis import GenerationMode

    part = Part("fuzz (schemathesis)")
    schema = schemathesis.openapi.from_dict(schema_doc)
    ops = [result.ok() for result in schema.get_all_operations()]  # type: ignore[union-attr]
    ops.sort(key=lambda op: op.label == "POST /v1/auth/sign-out")  # revokes the token: last
    deadline = time.monotonic() + seconds
    tokens = {role: target.sign_in(role) for role in ("officer", "leader", "hq")}
    session = requests.Session()

    def runner(
        role: str, auth: dict[str, str], operation: Any, mode: Any, examples: int
    ) -> Callable[[], None]:
        @settings(
            max_examples=examples, deadline=None, database=None, suppress_health_check=list(HealthCheck)
        )
        @given(case=operation.as_strategy(generation_mode=mode))
        def run(case: Any) -> None:
            if time.monotonic() > deadline:
                return
            headers = dict(case.headers or {}) | auth
            response = case.call(base_url=target.url, session=session, headers=headers, timeout=30)
            label = f"{role} {operation.label} [{mode.value}]"
            if response.status_code >= 500:
                part.add(label, BROKEN, f"HTTP {response.status_code}: {response.text[:120]}")
            elif response.status_code >= 400:
                part.add(
                    label, REFUSED, error_problem(response.status_code, case.method.upper(), response.content)
                )
            else:
                part.add(label, ANSWERED)

        return run

    for role, auth in tokens.items():
        for operation in ops:
            for mode, examples in ((GenerationMode.POSITIVE, positive), (GenerationMode.NEGATIVE, negative)):
                if time.monotonic() > deadline:
                    part.outcomes["skipped (time)"] += 1
                    continue
                with contextlib.suppress(Unsatisfiable):  # nothing in the operation can be made invalid
                    runner(role, auth, operation, mode, examples)()
    session.close()
    if not target.alive():
        part.add("health", BROKEN, "HQ no longer answers")
    return part


# ============================================================================ browser and records (#13)
# Browser hardening, CSV formula injection and the audit tail: separate from the input probes above.

EVIL_ORIGIN = "http://evil.example"
#: Cells a spreadsheet would run as formulas (OWASP's first characters).
FORMULAS = ('=HYPERLINK("http://x","y")', "+1+1", "@SUM(A1)", "-2+3", "\tx", "=cmd|' /C calc'!A0")


@contextlib.contextmanager
def dashboard_client(target: Target) -> Iterator[httpx.Client]:
    """A client holding HQ's dashboard cookie."""
    with target.client() as client:
        hq = target.users["hq"]
        client.post("/dashboard/sign-in", data={"badge": hq.badge, "pin": target.pins[hq.badge]})
        yield client


def header_problem(answer: httpx.Response) -> str | None:
    from hq.api.browser import CSP

    wanted = {
        "content-security-policy": CSP,
        "x-frame-options": "DENY",
        "referrer-policy": "same-origin",
        "cache-control": "no-store",
        "x-content-type-options": "nosniff",
    }
    wrong = [name for name, value in wanted.items() if answer.headers.get(name) != value]
    return f"{answer.status_code}: missing or wrong {', '.join(wrong)}" if wrong else None


def browser(target: Target) -> Part:
    """Security headers, inline code, cross-site dashboard writes, API docs (see the module docstring)."""
    import re

    part = Part("browser")
    squad = target.users["officer"].squad_code
    with dashboard_client(target) as client:
        pages = {
            "board": "/dashboard?days=7&until=2026-11-22",
            "export": "/dashboard/export.csv?days=7&until=2026-11-22",
            "daylog pdf": f"/dashboard/daylog?squad={squad}&until=2026-11-22",
            "daylog csv": f"/dashboard/daylog?squad={squad}&until=2026-11-22&format=csv",
            "bad window": "/dashboard?days=x",
            "openapi": "/openapi.json",
        }
        for label, url in pages.items():
            answer = send(client, "GET", url)
            part.add(f"headers {label}", NEUTRALISED, header_problem(answer))
        for label, url in (("api cases", "/v1/cases"), ("api health", "/v1/health")):
            answer = send(client, "GET", url, headers=target.auth["hq"])
            part.add(f"headers {label}", NEUTRALISED, header_problem(answer))
        board = send(client, "GET", "/dashboard").text
        inline = re.search(r"<script|<style|\sstyle\s*=|\son[a-z]+\s*=", board, re.IGNORECASE)
        part.add(
            "no inline script or style", NEUTRALISED, f"inline code: {inline.group()!r}" if inline else None
        )
        forged = {
            "sign-out, other Origin": ("/dashboard/sign-out", {"Origin": EVIL_ORIGIN}),
            "sign-out, Origin null": ("/dashboard/sign-out", {"Origin": "null"}),
            "sign-out, Sec-Fetch-Site cross-site": ("/dashboard/sign-out", {"Sec-Fetch-Site": "cross-site"}),
            "sign-in, other Origin (login CSRF)": ("/dashboard/sign-in", {"Origin": EVIL_ORIGIN}),
        }
        hq = target.users["hq"]
        for label, (url, headers) in forged.items():
            form = {"badge": hq.badge, "pin": target.pins[hq.badge]}
            answer = send(client, "POST", url, headers=headers, data=form)
            problem = error_problem(answer.status_code, "POST", answer.content)
            if problem is None and answer.status_code != 403:
                problem = f"answered {answer.status_code}, not 403"
            if problem is None and 'id="total-cases"' not in send(client, "GET", "/dashboard").text:
                problem = "the session did not survive"
            part.add(f"CSRF {label}", REFUSED, problem)
    with target.client() as client:
        for url in ("/docs", "/redoc"):
            answer = send(client, "GET", url)
            part.add(f"API docs {url}", REFUSED, error_problem(answer.status_code, "GET", answer.content))
    return part


def raw_sql(storage: Storage, sql: str, params: tuple[Any, ...] = ()) -> None:
    """SQL behind HQ's back (``?`` placeholders), autocommitted: how a tamperer edits rows."""
    path = getattr(storage, "path", None)
    if path is not None:
        conn = sqlite3.connect(path, isolation_level=None)
        try:
            conn.execute(sql, params)
        finally:
            conn.close()
        return
    import psycopg
    from psycopg import sql as pgsql

    with psycopg.connect(storage.dsn, autocommit=True) as pg:  # type: ignore[attr-defined]
        pg.execute(pgsql.SQL("SET search_path TO {}").format(pgsql.Identifier(storage.schema)))  # type: ignore[attr-defined]
        pg.execute(sql.replace("?", "%s"), params)


def records(target: Target) -> Part:
    """Formulas through HQ's day-log CSV; the audit tail cut off against a published head."""
    import csv
    from dataclasses import replace

    from hq.audit import ProblemKind, current_head, verify
    from patrollog.csvlog import CASE_COLUMNS
    from patrollog.csvsafe import FORMULA_STARTS, safe_text

    part = Part("records")
    officer = target.users["officer"]
    day = date(2026, 11, 23)  # a day of its own: only these cases in its log
    at = datetime(2026, 11, 23, 20, 0, tzinfo=LOCAL_TZ)
    subjects: dict[str, str] = {}  # formula -> subject id
    with target.client() as client:
        for formula in FORMULAS:
            subject = replace(valid_subject(target), id=new_id(), name=formula)
            answer = push(target, client, "officer", "subject", to_json_dict(subject), subject.id)
            result = answer.json()["results"][0]
            if result["status"] == "accepted":
                subjects[formula] = subject.id
            else:  # refused at input (e.g. a name starting with a control character): never reaches a CSV
                part.add(f"CSV 当事人 {formula!r}", RECORD_REFUSED, None if result.get("errno") else result)
            case = replace(
                valid_case(target),
                case_no=format_case_no(officer.squad_code, officer.badge, day, "HXCSV", target.seq()),
                occurred_at=at,
                created_at=at,
                subject_id=subject.id,
                location=Location(-33.9, -70.6, 8.0, formula),
            )
            answer = push(target, client, "officer", "case", to_json_dict(case), case.id)
            if answer.json()["results"][0]["status"] != "accepted":
                part.add(f"CSV {formula!r}", BROKEN, f"the case was not accepted: {answer.text[:120]}")
        answer = send(
            client,
            "GET",
            f"/v1/reports/daylog?squad={officer.squad_code}&day={day.isoformat()}&format=csv",
            headers=target.auth["hq"],
        )
    rows = list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig"))))
    start = rows.index(list(CASE_COLUMNS)) if list(CASE_COLUMNS) in rows else len(rows)
    lines = [dict(zip(CASE_COLUMNS, row, strict=False)) for row in rows[start + 1 :]]
    for formula in FORMULAS:
        # what HQ stored may be the text normalised at input (a leading tab trimmed from a name)
        with target.storage.transaction(readonly=True) as tx:
            subject_row = tx.get_subject(subjects[formula]) if formula in subjects else None
        written = {"地点": formula} | ({"当事人": subject_row.name} if subject_row else {})
        for column, text in written.items():
            cells = [line[column] for line in lines if line.get(column, "").lstrip("'") == text]
            safe = cells == [safe_text(text)] and cells[0][:1] not in FORMULA_STARTS
            part.add(f"CSV {column} {formula!r}", NEUTRALISED, None if safe else f"{column} cells: {cells!r}")
    coordinates = {line.get("纬度") for line in lines}
    part.add(
        "CSV coordinates stay numbers",
        NEUTRALISED,
        None if coordinates == {"-33.900000"} else repr(coordinates),
    )

    published = current_head(target.storage)  # as printed in a day log or by audit-head
    target.sign_in("officer")  # more events after publishing
    target.sign_in("leader")
    keep = max(published.seq - 1, 1)
    with target.storage.transaction(readonly=True) as tx:
        kept = tx.audit_events(keep - 1, 1)[0]
    raw_sql(target.storage, "DELETE FROM audit WHERE seq > ?", (keep,))
    raw_sql(target.storage, "UPDATE audit_head SET seq = ?, hash = ?", (kept.seq, kept.hash))
    alone = verify(target.storage)
    part.add("audit tail cut, verify alone (documented limit)", ANSWERED,
             None if alone == [] else f"verify alone found {alone}")  # fmt: skip
    found = [p.kind for p in verify(target.storage, [published])]
    part.add("audit tail cut, verify --expect published head", NEUTRALISED,
             None if found == [ProblemKind.NOT_IN_CHAIN] else f"found {found}")  # fmt: skip
    return part


# --------------------------------------------------------------------------- scope attacks (issue #13)
# Scope facts come from the session, never the payload (tests/reliability/test_attacks_scope.py is the
# suite's version): each probe is one record pushed by the officer that HQ must refuse with its errno,
# storing nothing.


def _scope_push(target: Target, client: httpx.Client, auth: dict[str, str], device: str, kind: str,
                record_id: str, payload: Any) -> tuple[httpx.Response, dict[str, Any] | None]:  # fmt: skip
    record = {"kind": kind, "id": record_id, "device_seq": target.seq(), "payload": payload}
    answer = post_json(client, "/v1/push", {"protocol": PROTOCOL_VERSION, "device_id": device,
                                            "records": [record]}, auth)  # fmt: skip
    results = answer.json().get("results") if answer.status_code == 200 else None
    return answer, (results[0] if results else None)


def _record_refused(answer: httpx.Response, result: dict[str, Any] | None, errno: Errno) -> str | None:
    if result is None:
        return f"answered {answer.status_code} {answer.text[:100]}"
    if result.get("status") != "refused" or result.get("errno") != int(errno):
        return f"record {result.get('status')} errno {result.get('errno')}, not refused {errno.name}"
    return None


def scope_attacks(target: Target) -> Part:
    """Issue #13 items 2, 9 and 10 as probes: squad, case number, second officer, district, text length."""
    import dataclasses

    part = Part("scope attacks (#13)")
    officer = target.users["officer"]
    with target.client() as client:
        auth, device = _sign_in_badge(target, officer.badge)
        base = _case_of(target, officer, device, b"scope")
        at = base.occurred_at.date()
        probes: list[tuple[str, Case, Errno]] = [
            ("case filed under another squad", dataclasses.replace(base, squad_code="ZD02",
             case_no=format_case_no("ZD02", officer.badge, at, "HXSTA", target.seq())), Errno.SCOPE_MISMATCH),
            ("case filed under a made-up squad", dataclasses.replace(base, squad_code="ZZ99",
             case_no=format_case_no("ZZ99", officer.badge, at, "HXSTA", target.seq())), Errno.SCOPE_MISMATCH),
            ("case naming another device", dataclasses.replace(base, device_id="someone-elses-phone"),
             Errno.SCOPE_MISMATCH),
            ("case number of another badge", dataclasses.replace(base,
             case_no=format_case_no(officer.squad_code, "2031", at, "HXSTA", target.seq())),
             Errno.CASE_NO_INVALID),
            ("case number that is no case number", dataclasses.replace(base, case_no="NOT-A-NUMBER"),
             Errno.CASE_NO_INVALID),
            ("seizure witnessed by a badge that does not exist",
             dataclasses.replace(base, second_officer_badge="9999"), Errno.SECOND_OFFICER_INVALID),
            ("seizure witnessed by an officer of another squad",
             dataclasses.replace(base, second_officer_badge="2031"), Errno.SECOND_OFFICER_INVALID),
            ("seizure witnessed by the HQ desk account",
             dataclasses.replace(base, second_officer_badge=target.users["hq"].badge),
             Errno.SECOND_OFFICER_INVALID),
            ("a 990 KB note", dataclasses.replace(base, notes="备注" * 495_000), Errno.TEXT_TOO_LONG),
        ]  # fmt: skip
        for label, case, errno in probes:
            case = dataclasses.replace(case, id=new_id())
            answer, result = _scope_push(target, client, auth, device, "case", case.id, to_json_dict(case))
            with target.storage.transaction(readonly=True) as tx:
                kept = tx.case_state(case.id) is not None
            problem = _record_refused(answer, result, errno) or ("stored" if kept else None)
            if answer.status_code == 413 and errno is Errno.TEXT_TOO_LONG:
                problem = None  # the body cap refused it even earlier: nothing parsed, nothing stored
            part.add(label, REFUSED if problem is None else BROKEN, problem)
        # a subject of the district, pushed again by its id with another district
        subject = dataclasses.replace(valid_subject(target), id=new_id())
        _scope_push(target, client, auth, device, "subject", subject.id, to_json_dict(subject))
        moved = dataclasses.replace(subject, district="花园区")
        answer, result = _scope_push(target, client, auth, device, "subject", moved.id, to_json_dict(moved))
        with target.storage.transaction(readonly=True) as tx:
            row = tx.get_subject(subject.id)
        # refused either way: SCOPE_MISMATCH (the stored row's district rules) or RECORD_NOT_OWNED (a
        # district other than the caller's own)
        problem = _record_refused(answer, result, Errno.SCOPE_MISMATCH) and _record_refused(
            answer, result, Errno.RECORD_NOT_OWNED
        )
        if row is not None and row.district != subject.district:
            problem = f"the stored subject moved to {row.district}"
        part.add("subject moved to another district", REFUSED if problem is None else BROKEN, problem)
    return part


# ---------------------------------------------------------------------------- auth attacks (issue #13)
# Attacks on sign-in and devices. Each probe is refused (4xx + errno: REFUSED) or, for the legitimate
# phone among them, let in (ACCEPTED); a token granted to an attacker, a right PIN hashed while locked or
# more PINs hashed than the allowance is a problem.

BOUND_KEY = "hostile-bound-phone-key-" + "0" * 20  # the leader's phone's device key (bound on first use)


def _auth_body(badge: str, pin: str, device_id: str, key: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"protocol": PROTOCOL_VERSION, "badge": badge, "pin": pin}
    body["device_id"] = device_id
    return body | ({"device_key": key} if key else {})


def _refused(part: Part, label: str, answer: httpx.Response, errno: Errno | None = None) -> None:
    problem = error_problem(answer.status_code, "POST", answer.content)
    if problem is None and errno is not None and answer.json().get("errno") != int(errno):
        problem = f"refused with errno {answer.json().get('errno')}, not {errno.name}"
    outcome = BROKEN if answer.status_code >= 500 else REFUSED if problem is None else ANSWERED
    part.add(label, outcome, problem)


def _audited(target: Target, action: str) -> int:
    with target.storage.transaction(readonly=True) as tx:
        return sum(1 for e in tx.audit_events(0, 1_000_000) if e.action == action)


def _throttle_race(target: Target, part: Part) -> None:
    """40 wrong guesses at once and the right PIN once the badge is locked: at most the allowance hashed."""
    badge = target.users["officer"].badge
    failed_before = _audited(target, "sign_in_failed")
    answers: list[httpx.Response] = []
    locked, guard = threading.Event(), threading.Lock()

    def guess(pin: str, after_lock: bool) -> None:
        if after_lock:
            locked.wait(30)
        with target.client() as client:
            answer = client.post("/v1/auth/sign-in", json=_auth_body(badge, pin, "hostile-guesser"))
        if answer.status_code == 429:
            locked.set()
        with guard:
            answers.append(answer)

    threads = [threading.Thread(target=guess, args=(f"{n:06d}x", False)) for n in range(40)]
    threads.append(threading.Thread(target=guess, args=(target.pins[badge], True)))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    hashed = _audited(target, "sign_in_failed") - failed_before
    granted = sum(1 for a in answers if a.status_code == 200)
    problem = None
    if granted or hashed > 5:  # ThrottleSettings.free_failures
        problem = f"{granted} token(s) granted, {hashed} PINs hashed (allowance 5)"
    label = "throttle race: 40 parallel guesses + the right PIN"
    part.add(label, REFUSED if problem is None else BROKEN, problem)


def _lockout_and_takeover(target: Target, part: Part) -> None:
    leader, hq = target.users["leader"], target.users["hq"]
    with target.client() as client:

        def attempt(badge: str, pin: str, device: str, key: str | None = None) -> httpx.Response:
            return client.post("/v1/auth/sign-in", json=_auth_body(badge, pin, device, key))

        def let_in(label: str, answer: httpx.Response) -> None:
            ok = answer.status_code == 200
            part.add(label, ACCEPTED if ok else BROKEN, None if ok else f"answered {answer.status_code}")

        pin = target.pins[leader.badge]
        own = attempt(leader.badge, pin, "hostile-bound", BOUND_KEY)
        let_in("bound phone: first sign-in binds its key", own)
        for n in range(8):
            attempt(leader.badge, f"{n:06d}x", "hostile-stranger")
        locked = attempt(leader.badge, pin, "hostile-stranger")
        _refused(part, "stranger: right PIN on a locked badge", locked, Errno.TOO_MANY_ATTEMPTS)
        own = attempt(leader.badge, pin, "hostile-bound", BOUND_KEY)
        let_in("locked badge: its bound phone still signs in", own)
        for label, key in (("takeover: bound device id, no key", None), ("takeover: wrong key", "y" * 43)):
            taken = attempt(hq.badge, target.pins[hq.badge], "hostile-bound", key)
            _refused(part, label, taken, Errno.DEVICE_BOUND)
        revoke = client.post("/v1/devices/hostile-bound/revoke", headers=target.auth["hq"])
        assert revoke.status_code == 200, revoke.text
        again = attempt(leader.badge, target.pins[leader.badge], "hostile-bound", BOUND_KEY)
        _refused(part, "revoked device signs in again", again, Errno.DEVICE_REVOKED)


def _disabled_user(target: Target, part: Part) -> None:
    leader = target.users["leader"]
    token = target.sign_in("leader")
    hq = target.users["hq"]
    with target.client() as client:
        form = {"badge": hq.badge, "pin": target.pins[hq.badge]}
        client.post("/dashboard/sign-in", data=form)
        client.post("/dashboard/users/disable", data={"badge": leader.badge})
        answer = client.get("/v1/changes", headers=token)
        _refused(part, "disabled user's token, next request", answer)
        client.post("/dashboard/users/enable", data={"badge": leader.badge})


def auth_attacks(target: Target) -> Part:
    part = Part("auth")
    _disabled_user(target, part)  # first: the others lock the officer's and the leader's badges
    _throttle_race(target, part)
    _lockout_and_takeover(target, part)
    if not target.alive():
        part.add("health", BROKEN, "HQ no longer answers")
    return part


# ------------------------------------------------------------------------------------------ the run


class Server:
    """uvicorn serving an app on 127.0.0.1 in a thread."""

    def __init__(self, app: Any) -> None:
        import uvicorn

        config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="critical", lifespan="off",
                                access_log=False)  # fmt: skip
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        while not self.server.started:
            if not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.01)
        self.url = f"http://127.0.0.1:{self.server.servers[0].sockets[0].getsockname()[1]}"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def demo_target(root: Path, pg_dsn: str = "") -> tuple[Target, Server, dict[str, Any]]:
    """HQ with the demo district over SQLite in ``root`` (or a fresh schema of the PostgreSQL at
    ``pg_dsn``), serving on loopback; its OpenAPI document."""
    from enforcement.catalogue import load_catalogue
    from hq.app import create_app
    from hq.demo import SUBJECTS, USERS, seed_demo
    from hq.settings import FAST_PIN_HASHING, Settings, ThrottleSettings
    from hq.storage.sqlite import SqliteStorage

    catalogue = load_catalogue()
    # every probe comes from 127.0.0.1: the per-address sign-in throttle would lock the harness out
    settings = Settings(
        pin_hashing=FAST_PIN_HASHING, throttle=ThrottleSettings(free_failures_per_address=10**6)
    )
    storage: Storage
    if pg_dsn:
        from hq.storage.postgres import PostgresStorage

        storage = PostgresStorage(pg_dsn, schema=f"hostile_{new_id()[:8]}", max_size=4)
    else:
        storage = SqliteStorage(root / "hq.db")
    storage.create_schema()
    seed_demo(storage, settings, catalogue=catalogue)
    blobs = FilesystemBlobStore(root / "blobs")
    app = create_app(storage, blobs, settings, catalogue=catalogue)
    server = Server(app)
    by_badge = {u.officer.badge: u for u in USERS}
    users = {
        "officer": by_badge["1023"].officer,
        "leader": by_badge["1001"].officer,
        "hq": by_badge["9001"].officer,
    }
    target = Target(
        server.url, storage, blobs, users, {u.officer.badge: u.pin for u in USERS}, SUBJECTS[0].id
    )
    for role in users:
        target.sign_in(role)
    return target, server, app.openapi()


def known_values(target: Target) -> dict[str, str]:
    """Valid path-parameter values: a stored case with a stored photo, the subject, a spare device."""
    data = evidence_photo()
    sha = hashlib.sha256(data).hexdigest()
    case = valid_case(target, photos=(PhotoRef(sha, len(data)),))
    with target.client() as client:
        push(target, client, "officer", "case", to_json_dict(case), case.id)
        send(
            client,
            "PUT",
            f"/v1/photos/{sha}",
            content=data,
            headers=target.auth["officer"] | {"Content-Type": OCTET},
        )
        order = send(
            client,
            "POST",
            "/v1/workorders",
            json={
                "source": "12345",
                "category": "0510",
                "description": "夜市露天烧烤，油烟扰民",
                "address": "人民路夜市",
                "lat": 34.7466,
                "lon": 113.6253,
            },
            headers=target.auth["hq"],
        )
    order_id = str(order.json().get("order_id", "")) if order.status_code == 200 else ""
    assert order_id, f"HQ filed no work order: {order.status_code} {order.text[:200]}"
    spare = target.devices["officer"]
    target.sign_in("officer")  # the spare device keeps existing; its token is superseded
    conflict_id = f"hostile-conflict-{next(target._seq)}"  # a subject field conflict to resolve (#22)
    with target.storage.transaction() as tx:
        tx.add_subject_conflict(
            SubjectConflict(conflict_id, target.subject_id, target.users["officer"].district, "address", "",
                            "人民路1号", "人民路2号", target.users["officer"].badge, spare, case.occurred_at)
        )  # fmt: skip
    return {
        "order_id": order_id,  # a work order HQ filed (the Open311 request id is the same id)
        "request_id": order_id,
        "conflict_id": conflict_id,
        "case_id": case.id,
        "subject_id": target.subject_id,
        "sha256": sha,
        "device_id": spare,
        "squad": target.users["officer"].squad_code,  # HQ must name the squad of a review queue or day log
    }


def table(parts: list[tuple[Part, float]]) -> str:
    columns = (ACCEPTED, REFUSED, RECORD_REFUSED, VERBATIM, ANSWERED, NEUTRALISED)
    lines = [
        "| part | probes | " + " | ".join(columns) + " | problems | seconds |",
        "|---|---:|" + "---:|" * (len(columns) + 2),
    ]
    for part, seconds in parts:
        cells = " | ".join(str(part.outcomes.get(c, 0)) for c in columns)
        lines.append(f"| {part.name} | {part.probes} | {cells} | {len(part.problems)} | {seconds:.1f} |")
    return "\n".join(lines)


def stall_table(idle: float, during: float) -> str:
    """The stall figure of issue #13 item 3 (target: during ≤ 2 × idle)."""
    return "\n".join(
        [
            "| /v1/health p99 | idle | during 3 pushes of 330,000 empty records | ratio (target ≤ 2×) |",
            "|---|---:|---:|---:|",
            f"| this run | {idle:.1f} ms | {during:.1f} ms | {during / idle:.2f}× |",
        ]
    )


def run_backend(
    args: argparse.Namespace, pg_dsn: str
) -> tuple[list[tuple[Part, float]], bool, tuple[float, float]]:
    """Every part against a fresh HQ over SQLite (or PostgreSQL at ``pg_dsn``); (part, seconds), whether
    HQ still answered at the end, and /v1/health's p99 idle and during three stalling pushes (ms)."""
    with tempfile.TemporaryDirectory(prefix="sp-hostile-") as tmp:
        target, server, schema = demo_target(Path(tmp), pg_dsn)
        try:
            parts: list[tuple[Part, float]] = []
            runs: list[Callable[[], Part]] = [
                lambda: text_fields(target),
                lambda: parameters(target, schema, known_values(target)),
                lambda: photos(target),
                lambda: bodies(target),
                lambda: wire_attacks(target),
                lambda: fuzz(target, schema, args.positive, args.negative, args.fuzz_seconds),
                lambda: browser(target),
                lambda: records(target),  # last: it cuts the audit log's tail
                lambda: scope_attacks(target),
                lambda: auth_attacks(target),  # after the others: it locks badges
            ]
            for make in runs:
                started = time.monotonic()
                part = make()
                parts.append((part, time.monotonic() - started))
            figures = stall(target)
            return parts, target.alive(), figures
        finally:
            server.stop()
            if pg_dsn:
                import psycopg

                with psycopg.connect(pg_dsn, autocommit=True) as pg:
                    pg.execute(f'DROP SCHEMA IF EXISTS "{target.storage.schema}" CASCADE')  # type: ignore[attr-defined]
            target.storage.close()


def report(
    backend: str, parts: list[tuple[Part, float]], alive: bool, figures: tuple[float, float] | None = None
) -> str:
    grouped: dict[str, list[str]] = {}
    for part, _ in parts:
        for label, what in part.problems:
            grouped.setdefault(f"{part.name}: {what[:150]}", []).append(label)
    distinct = [
        f"{what} — {len(labels)}×, e.g. {'; '.join(labels[:3])}" for what, labels in sorted(grouped.items())
    ]
    return "\n\n".join(
        [
            f"## {backend}: {sum(p.probes for p, _ in parts)} probes, HQ answering at the end: "
            f"{'yes' if alive else 'NO'}",
            table(parts),
            *([stall_table(*figures)] if figures else []),
            "Problems, grouped:\n\n" + ("\n".join(f"- {d}" for d in distinct) or "none"),
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--positive", type=int, default=100, help="schemathesis examples per operation")
    parser.add_argument("--negative", type=int, default=60)
    parser.add_argument("--fuzz-seconds", type=float, default=40.0, help="bound on the fuzz part per backend")
    parser.add_argument(
        "--pg-dsn",
        default=os.environ.get("STREETPATROL_TEST_PG_DSN", ""),
        help="also run over PostgreSQL (a fresh schema; default $STREETPATROL_TEST_PG_DSN)",
    )
    args = parser.parse_args()
    sections = [report("SQLite", *run_backend(args, ""))]
    if args.pg_dsn:
        sections.append(report("PostgreSQL", *run_backend(args, args.pg_dsn)))
    text = "\n\n".join(
        [
            "# Hostile input at HQ, over loopback HTTP",
            f"{len(HOSTILE)} hostile strings ({', '.join(HOSTILE)}) in every string of a valid case, "
            "subject, shift and review payload (and the case's `extra` keys) and in every path/query "
            f"parameter of the OpenAPI (as HQ); {len(photo_probes())} uploads + how a stored photo is "
            "served; "
            f"{len(body_probes())} malformed or oversized bodies; schemathesis with {args.positive} positive "
            f"+ {args.negative} negative examples per operation per role (officer, leader, HQ), at most "
            f"{args.fuzz_seconds:.0f} s. *accepted (control)*: the same probes with valid values, accepted — "
            "the baseline showing the harness does not simply refuse everything. A problem is a 5xx, a 4xx "
            "without "
            "the ErrorBody shape, a refused record that was stored, accepted text that did not read back "
            "verbatim, a hostile photo stored, or data answered for a hostile path.",
            *sections,
        ]
    )
    print(text)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "hostile.md").write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
