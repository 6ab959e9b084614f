"""The ``parameters``, ``bodies`` and ``fuzz`` parts: hostile strings and typed edge values in every path and
query parameter of the OpenAPI, malformed and oversized request bodies (deep nesting, huge numbers,
invalid UTF-8, over the size caps, wrong content types), and the bench's bounded schemathesis run as an
officer, a leader and HQ.
"""

from __future__ import annotations

import contextlib
import json
import time
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx

from enforcement.codec import to_json_dict
from sync.protocol import PROTOCOL_VERSION
from testkit.hostile.core import (
    ACCEPTED,
    ANSWERED,
    BROKEN,
    HOSTILE,
    OCTET,
    RECORD_REFUSED,
    REFUSED,
    Part,
    Target,
    error_problem,
    leaks,
    schema_snapshot,
    send,
)
from testkit.hostile.records_probes import stored, valid_case

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
