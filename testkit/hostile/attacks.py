"""The ``browser``, ``records``, ``scope_attacks`` and ``auth_attacks`` parts (issue #13): security headers
and cross-site dashboard writes, spreadsheet formulas in the day-log CSV and a cut audit tail, scope facts
taken from the payload instead of the session, and attacks on sign-in and devices (parallel wrong PINs,
lockouts, bound and revoked devices, a disabled user's token).
"""

from __future__ import annotations

import contextlib
import io
import sqlite3
import threading
from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

import httpx

from enforcement.codec import to_json_dict
from enforcement.model import LOCAL_TZ, Case, Location, new_id
from enforcement.numbering import format_case_no
from hq.storage.base import Storage
from sync.protocol import PROTOCOL_VERSION, Errno
from testkit.hostile.core import (
    ACCEPTED,
    ANSWERED,
    BROKEN,
    NEUTRALISED,
    RECORD_REFUSED,
    REFUSED,
    Part,
    Target,
    error_problem,
    post_json,
    send,
)
from testkit.hostile.records_probes import push, valid_case, valid_subject
from testkit.hostile.wire import _case_of, _sign_in_badge

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
