"""Hostile callers of HQ's HTTP API, beyond ``test_attacks_wire``: each attack over real HTTP on loopback, on
both storage backends, now refused with the house's ErrorBody (zh + en, an errno), HQ still answering.

1. Forged cursors. A page cursor (``hq.paging``) and the pull cursor (``hq.storage.sqlcore``) are
   unsigned base64 of a known shape: a signed-in officer can write any key into one. A number outside a
   64-bit integer (a case version, a review-queue rank, an offender count, a pull change number) reached
   the database: SQLite's driver raised OverflowError, 500 INTERNAL, and the server dropped the
   connection. A NUL in a text key reached PostgreSQL, which cannot compare it. The pull cursor's number
   was read with ``int()``, which also takes ``+3``, `` 3``, ``1_0`` and other scripts' digits. Now every
   cursor key holds only what HQ itself writes into one, else 400 BAD_CURSOR; the refusal of a page
   cursor says "page", not the pull cursor's "sync again from the start".
2. A NUL (``%00``) in a dashboard form: a 500 from the sign-in's model (no token needed), from an error
   text echoing it, or from PostgreSQL. The form reader refuses it (422); an echoing refusal can no
   longer fail to be built (U+FFFD).
3. A zone file's extra properties were stored as sent: a lone surrogate (500), a NUL on PostgreSQL (500),
   NaN or Infinity (served as JSON a browser refuses). The file is refused whole (ZONES_INVALID).
4. Open311 intake: a JSON body nested 20,000 deep was a 500 before the key check; an object or a list was
   filed as its Python repr; a date with no UTC instant (0001-01-01T00:00+14:00) was a 500 on the public
   list. Each is a 400 Open311 error array now.
5. Pushed records: a lone surrogate in a work-order event (hashed before validation: a 500 for the
   batch); a review time without a zone (a StorageError: 503 + Retry-After, the leader's outbox blocked
   for ever) or without a UTC instant (OverflowError: 500). Each is refused with its record alone.
6. Requests uvicorn cannot parse (raw UTF-8 in the URL, a 100 KB query, a NUL in a header) were answered
   with its plain English text; now with the ErrorBody (``hq.api.malformed``).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from enforcement.codec import to_json_dict
from hq import paging
from hq.demo_zones import demo_zones
from sync.protocol import Errno
from testkit.hqkit import (
    DISTRICT,
    HQ_USER,
    LEADER,
    OFFICER,
    PINS,
    Hq,
    hq_of,
    make_case,
    push_body,
    sign_in,
)
from testkit.pg import pg_hq_of
from tests.hq.test_api import assert_error


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def hq(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Hq]:
    """HQ served on loopback over a fresh SQLite file or PostgreSQL schema, with one case of the officer."""
    served = hq_of(tmp_path, serve=True) if request.param == "sqlite" else pg_hq_of(tmp_path)
    for hq in served:
        with hq.client() as client:
            auth = sign_in(client, OFFICER, "phone-1")
            case = make_case(OFFICER, device_id="phone-1")
            pushed = client.post("/v1/push", json=push_body("phone-1", case), headers=auth)
            assert pushed.json()["results"][0]["status"] == "accepted", pushed.text
        yield hq


def refused_and_still_served(client: httpx.Client, answer: httpx.Response, status: int, errno: Errno) -> dict:
    """``answer`` is the ErrorBody of ``errno``; the same connection then still gets answers."""
    body = assert_error(answer, status, errno)
    assert client.get("/v1/health").status_code == 200
    return body


# ------------------------------------------------------------------------------------- 1: forged cursors


def _pull_cursor(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "number",
    ["9223372036854775808", "99999999999999999999", "-0", "+1", " 1", "1_0", "\u0663", "01"],
    ids=["2^63", "20-digits", "minus-zero", "plus", "space", "underscore", "arabic-indic", "leading-zero"],
)
def test_a_forged_pull_cursor_is_bad_cursor_not_a_500(hq: Hq, number: str) -> None:
    with hq.client() as client:
        auth = sign_in(client, OFFICER, "phone-1")
        issued = client.get("/v1/changes", headers=auth).json()["cursor"]
        epoch = base64.urlsafe_b64decode(issued + "=" * (-len(issued) % 4)).decode().split(":")[0]
        forged = _pull_cursor(f"{epoch}:{number}")
        answer = client.get("/v1/changes", params={"cursor": forged}, headers=auth)
        refused_and_still_served(client, answer, 400, Errno.BAD_CURSOR)
        # the largest change number a database can hold is still a position (nothing after it yet)
        top = client.get("/v1/changes", params={"cursor": _pull_cursor(f"{epoch}:{2**63 - 1}")}, headers=auth)
        assert top.status_code == 200, top.text
        assert top.json()["changes"] == []


AT = datetime(2026, 11, 22, 12, 0, tzinfo=UTC).isoformat()
DAY = "2026-11-22"
#: Keys an officer or leader can write into a page cursor: out of a 64-bit integer, or holding a NUL.
FORGED_KEYS: dict[str, tuple[str, list[Any], list[Any]]] = {
    # id: (kind, key with a number too large, key with a NUL)
    "cases": ("cases", [AT, "ZD01-1023-261122-TESTA-0001", 2**63], [AT, "ZD01-1023\x00", 1]),
    "queue": ("queue", [2**63, AT, "x"], [0, AT, "case\x00id"]),
    "dash-cases": ("dash-cases", [AT, "x", -(2**63) - 1], [AT, "x\x00", 1]),
    "dash-conflicts": ("dash-conflicts", [AT, "x", 10**30], [AT, "\x00", 1]),
    "dash-offenders": ("dash-offenders", [10**30, "subject"], [1, "subject\x00"]),
    "subjects": ("subjects", [str(10**30)], ["subject\x00"]),
}


def _browser(hq: Hq) -> httpx.Client:
    """HQ's duty officer signed in to the dashboard (the session cookie)."""
    browser = hq.client(follow_redirects=False)
    signed = browser.post("/dashboard/sign-in", data={"badge": HQ_USER.badge, "pin": PINS[HQ_USER.badge]})
    assert signed.status_code == 303, signed.text
    return browser


def _ask_with_cursor(hq: Hq, client: httpx.Client, route: str, key: list[Any]) -> httpx.Response:
    """The list ``route`` asked by its reader (officer, leader or HQ) with a cursor holding ``key``."""
    kind = FORGED_KEYS[route][0]
    if route == "cases":
        cursor = paging.encode(kind, [OFFICER.badge, None, False], key)
        return client.get("/v1/cases", params={"cursor": cursor}, headers=sign_in(client, OFFICER))
    if route == "queue":
        cursor = paging.encode(kind, [LEADER.squad_code, DAY], key)
        params = {"squad": LEADER.squad_code, "day": DAY, "limit": 5, "cursor": cursor}
        return client.get("/v1/review/queue", params=params, headers=sign_in(client, LEADER))
    if route == "subjects":
        cursor = paging.encode(kind, [DISTRICT], key)
        return client.get("/v1/subjects", params={"cursor": cursor}, headers=sign_in(client, OFFICER))
    browser = _browser(hq)
    try:
        if route == "dash-cases":
            cursor = paging.encode(kind, [DAY, 3, None], key)
            return browser.get("/dashboard/cases", params={"days": 3, "until": DAY, "cursor": cursor})
        if route == "dash-conflicts":
            return browser.get("/dashboard/conflicts", params={"cursor": paging.encode(kind, [None], key)})
        cursor = paging.encode(kind, [DAY, 3], key)
        return browser.get("/dashboard/offenders", params={"days": 3, "until": DAY, "cursor": cursor})
    finally:
        browser.close()


@pytest.mark.parametrize("forged", ["too-large", "nul"])
@pytest.mark.parametrize("route", sorted(FORGED_KEYS))
def test_a_forged_page_cursor_is_bad_cursor_not_a_500(hq: Hq, route: str, forged: str) -> None:
    _, too_large, nul = FORGED_KEYS[route]
    with hq.client() as client:
        answer = _ask_with_cursor(hq, client, route, too_large if forged == "too-large" else nul)
        if route == "subjects" and forged == "too-large":
            assert answer.status_code == 200, answer.text  # a subject id is text: any digits are a position
            return
        body = refused_and_still_served(client, answer, 400, Errno.BAD_CURSOR)
        # a page cursor's own words, not the pull cursor's "sync again from the start"
        assert "page" in body["message_en"]
        assert "翻页" in body["message_zh"]


# ------------------------------------------------------------------------------------- 2: a NUL in a form

#: Every field any dashboard form reads, each set to a NUL (``%00``): what a hostile browser can post.
NUL_FORM = "&".join(
    f"{name}=%00"
    for name in (
        "badge", "pin", "squad", "district", "source", "category", "description", "address", "lat",
        "lon", "caller_name", "caller_phone", "reached", "satisfaction", "comment", "reopen", "take",
        "alias", "into", "a", "b", "conflict",
    )
)  # fmt: skip
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


#: The dashboard's form posts (sign-out reads no form; a zone upload is multipart: section 3).
FORM_ROUTES = [
    "/dashboard/sign-in",
    "/dashboard/users/disable",
    "/dashboard/users/enable",
    "/dashboard/orders",
    "/dashboard/orders/x/route",
    "/dashboard/orders/x/assign",
    "/dashboard/orders/x/follow-up",
    "/dashboard/subjects/merge",
    "/dashboard/subjects/split",
    "/dashboard/subjects/unmerge",
    "/dashboard/subjects/resolve",
]


def stored_rows(hq: Hq) -> tuple[int, int, list[bool]]:
    """What a refused request must not change: audit events, work orders, users' active flags."""
    with hq.storage.transaction(readonly=True) as tx:
        audit = len(tx.audit_events(limit=100_000))
        orders = len(tx.list_work_orders(limit=10_000))
        return audit, orders, [user.active for user in tx.list_users()]


def test_the_form_table_covers_every_dashboard_form(hq: Hq) -> None:
    posts = {
        route.path.replace("{raw_id}", "x")
        for route in hq.app.routes
        if getattr(route, "path", "").startswith("/dashboard") and "POST" in getattr(route, "methods", ())
    }
    assert posts - {"/dashboard/sign-out", "/dashboard/zones"} == set(FORM_ROUTES)


@pytest.mark.parametrize("path", FORM_ROUTES)
def test_a_form_field_holding_a_nul_is_refused_in_both_languages(hq: Hq, path: str) -> None:
    """A NUL reached a pydantic model (the sign-in: a 500 to anyone, signed in or not), an error text that
    echoed it (disabling badge "\\0": the ErrorBody could not be built, 500) or PostgreSQL (a DataError,
    500). Now the form reader refuses it: 422 VALIDATION, nothing stored, the connection still served."""
    browser = _browser(hq)
    try:
        if path == "/dashboard/sign-in":
            browser.cookies.clear()  # an outsider
        before = stored_rows(hq)
        answer = browser.post(path, content=NUL_FORM.encode(), headers=FORM)
        body = refused_and_still_served(browser, answer, 422, Errno.VALIDATION)
        assert "NUL" in body["message_en"]
    finally:
        browser.close()
    assert stored_rows(hq) == before


# ------------------------------------------------------------------------------------- 3: a zone file's text

ZONE_VALUES = {
    "nul": '"a\\u0000b"',
    "lone-surrogate": '"\\ud800"',
    "nan": "NaN",
    "infinity": "-Infinity",
    "1e400": "1e400",  # a float json reads as inf
}


@pytest.mark.parametrize("where", ["extra-property", "collection-member"])
@pytest.mark.parametrize("value", sorted(ZONE_VALUES))
def test_a_zone_file_with_unstorable_text_or_numbers_is_refused_whole(hq: Hq, where: str, value: str) -> None:
    """HQ stored a zone file's properties as sent: a lone surrogate could not be written (500), a NUL
    neither on PostgreSQL (500), and NaN or an infinite number was kept for every phone and browser to
    download as JSON that JSON.parse refuses. Now the file is refused whole: 422 ZONES_INVALID (zh + en)."""
    doc = demo_zones()
    feature = doc["features"][0]
    # (a name, a code or an id holding such a value was refused already: the parser reads those)
    target = {"extra-property": (feature["properties"], "note"), "collection-member": (doc, "title")}[where]
    target[0][target[1]] = "@@HOSTILE@@"
    data = json.dumps(doc, ensure_ascii=False).replace('"@@HOSTILE@@"', ZONE_VALUES[value]).encode()
    with hq.client() as client:
        auth = sign_in(client, HQ_USER)
        answer = client.put(
            "/v1/zones", content=data, headers=auth | {"Content-Type": "application/geo+json"}
        )
        body = refused_and_still_served(client, answer, 422, Errno.ZONES_INVALID)
        assert body["detail"]["problems"], body
    with hq.storage.transaction(readonly=True) as tx:
        assert tx.zone_version() is None  # nothing imported


def test_a_refusal_that_echoes_a_nul_or_a_lone_surrogate_is_still_an_error_body() -> None:
    """Refusals name what was asked (``No user with badge …``). ErrorBody refuses a NUL or a lone surrogate
    in its texts, so such an echo was a 500; the echoed character is now shown as U+FFFD."""
    from hq.api.errors import ApiError, error_response

    refusal = ApiError(Errno.NOT_FOUND, zh="警号“a\x00b”不存在", en="No user with badge \ud800")
    answer = error_response(refusal)
    body = json.loads(answer.body)
    assert (answer.status_code, body["errno"]) == (404, Errno.NOT_FOUND)
    assert body["message_zh"] == "警号“a\ufffdb”不存在"
    assert body["message_en"] == "No user with badge \ufffd"


# ------------------------------------------------------------------------------------- 4: Open311 bodies

OPEN311 = "/open311/v2/requests.json"
JSON = {"Content-Type": "application/json"}


def _orders(hq: Hq) -> int:
    with hq.storage.transaction(readonly=True) as tx:
        return len(tx.list_work_orders(limit=10_000))


def test_an_open311_body_nested_deeper_than_json_reads_is_400_for_anyone(hq: Hq) -> None:
    """The Open311 intake parses its JSON body itself, before the api_key is checked: 20,000 nested arrays
    (40 KB, under the 64 KB cap) raised RecursionError, a 500, to a caller without any key."""
    deep = b'{"api_key": ' + b"[" * 20_000 + b"]" * 20_000 + b"}"
    with hq.client() as client:
        answer = client.post(OPEN311, content=deep, headers=JSON)
        assert answer.status_code == 400, answer.text
        [error] = answer.json()  # an Open311 error array, what a partner's client parses
        assert error["code"] == 400
        assert client.get("/v1/health").status_code == 200
    assert _orders(hq) == 0


@pytest.mark.parametrize("value", [{"a": [1, 2]}, ["人民路"], True])
def test_an_open311_field_that_is_not_text_or_a_number_is_400_not_its_repr(hq: Hq, value: Any) -> None:
    """A JSON object or list as a complaint's description was filed as Python's repr ("{'a': [1, 2]}"),
    true as "True". A partner's field is text or a number (lat/long), else 400 naming it."""
    from hq.workorders import add_partner

    key = add_partner(hq.storage, "partner", at=hq.clock())
    body = {"api_key": key, "service_code": "0510", "address_string": "人民路1号", "description": value}
    with hq.client() as client:
        answer = client.post(OPEN311, content=json.dumps(body).encode(), headers=JSON)
        assert answer.status_code == 400, answer.text
        [error] = answer.json()
        assert "description" in error["description"]
    assert _orders(hq) == 0


@pytest.mark.parametrize("param", ["start_date", "end_date"])
@pytest.mark.parametrize("value", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"])
def test_an_open311_date_without_a_utc_instant_is_400_not_a_500(hq: Hq, param: str, value: str) -> None:
    """The public Open311 list (no key) took any dated offset: 0001-01-01T00:00+14:00 is before year 1 in
    UTC, the storage's conversion raised OverflowError, a 500 to anyone. Now 400 in Open311's own form,
    naming the years a date filter may name (``hq.open311.YEARS``)."""
    with hq.client() as client:
        answer = client.get(OPEN311, params={param: value})
        assert answer.status_code == 400, answer.text
        [error] = answer.json()
        assert error["code"] == 400
        assert f"{param} 须在 1970–2999 年之间" in error["description"]
        assert client.get(OPEN311, params={param: "2026-11-22T00:00:00+08:00"}).status_code == 200


# ------------------------------------------------------------------------------------- 5: pushed records

ORDER_COMPLAINT = {
    "source": "12345", "category": "0510", "description": "夜间露天烧烤油烟扰民", "address": "人民路1号",
    "lat": 34.7585, "lon": 113.6735, "caller_name": "赵六", "caller_phone": "13812345678",
}  # fmt: skip


def _assigned_order(hq: Hq, client: httpx.Client) -> str:
    """A work order of ZD01 that HQ filed and assigned to the officer."""
    desk = sign_in(client, HQ_USER)
    order = client.post("/v1/workorders", json=ORDER_COMPLAINT, headers=desk).json()["order_id"]
    assert client.post(f"/v1/workorders/{order}/route", json={"squad": "ZD01"}, headers=desk).is_success
    assigned = client.post(f"/v1/workorders/{order}/assign", json={"badge": OFFICER.badge}, headers=desk)
    assert assigned.status_code == 200, assigned.text
    return str(order)


def _event(kind: str, order: str) -> dict[str, Any]:
    event: dict[str, Any] = {
        "id": f"{kind}-1", "order_id": order, "round": 1, "device_at": AT, "offset_s": 0,
    }  # fmt: skip
    if kind == "work_order_arrival":
        return event | {"lat": 34.7585, "lon": 113.6735}
    return event | {"closure": "no_violation", "note": "现场未见烧烤", "photos": ["a" * 64]}


def _push_one(client: httpx.Client, auth: dict[str, str], device: str, kind: str, payload: dict) -> dict:
    body = {
        "protocol": 1,
        "device_id": device,
        "records": [{"kind": kind, "id": payload["id"], "device_seq": 7, "payload": payload}],
    }
    # json.dumps escapes a lone surrogate (``\\ud800``), as a hostile client can send it
    answer = client.post("/v1/push", content=json.dumps(body).encode(), headers=auth | JSON)
    assert answer.status_code == 200, answer.text
    [result] = answer.json()["results"]
    return dict(result)


@pytest.mark.parametrize("field", ["note", "order_id", "device_at"])
@pytest.mark.parametrize("kind", ["work_order_arrival", "work_order_resolution"])
def test_a_work_order_event_with_a_lone_surrogate_is_refused_not_a_500(hq: Hq, kind: str, field: str) -> None:
    """A work-order event's payload was hashed (its identity for replays) before it was validated: a lone
    surrogate anywhere in it failed the UTF-8 encoding, a 500 for the whole batch. Now the record alone
    is refused (WORK_ORDER_EVENT_INVALID, zh + en) and nothing of it is stored."""
    with hq.client() as client:
        order = _assigned_order(hq, client)
        auth = sign_in(client, OFFICER, "phone-1")
        payload = _event(kind, order) | {field: "\ud800"}
        result = _push_one(client, auth, "phone-1", kind, payload)
        assert (result["status"], result["errno"]) == ("refused", Errno.WORK_ORDER_EVENT_INVALID), result
        assert result["reason_zh"]
        assert result["reason_en"]
        assert client.get("/v1/health").status_code == 200
    with hq.storage.transaction(readonly=True) as tx:
        assert [e.kind.value for e in tx.work_order_events(order)] == ["intake", "route", "assign"]


def test_a_malformed_work_order_event_is_refused_in_words_not_a_pydantic_dump(hq: Hq) -> None:
    """The refusal's English was pydantic's multi-line dump ("1 validation error for WorkOrderArrival …
    For further information visit https://errors.pydantic.dev …") and its Chinese the errno's default: now
    both name the field and say what is wrong with it."""
    with hq.client() as client:
        order = _assigned_order(hq, client)
        auth = sign_in(client, OFFICER, "phone-1")
        result = _push_one(
            client,
            auth,
            "phone-1",
            "work_order_arrival",
            _event("work_order_arrival", order) | {"round": "x"},
        )
        assert (result["status"], result["errno"]) == ("refused", Errno.WORK_ORDER_EVENT_INVALID), result
        assert "round" in result["reason_zh"]
        assert "round" in result["reason_en"]
        assert "pydantic" not in result["reason_en"]
        assert "\n" not in result["reason_en"]


def _review_payload(case_id: str, case_no: str) -> dict[str, Any]:
    return {
        "id": "review-1", "case_id": case_id, "case_no": case_no, "decision": "approve",
        "reviewer_badge": LEADER.badge, "decided_at": AT, "comment": "证据齐全",
    }  # fmt: skip


NAIVE = ("2026-11-22T20:00:00", "时区", "time zone")
BEFORE_YEAR_1 = ("0001-01-01T00:00:00+14:00", "范围", "range")
AFTER_9999 = ("9999-12-31T23:59:59-14:00", "范围", "range")


@pytest.mark.parametrize(
    ("kind", "field", "time"),
    [
        ("review", "decided_at", NAIVE),
        ("review", "decided_at", BEFORE_YEAR_1),
        ("review", "decided_at", AFTER_9999),
        ("subject", "created_at", NAIVE),
        ("subject", "created_at", AFTER_9999),
        ("shift", "started_at", BEFORE_YEAR_1),
    ],
    ids=["review-naive", "review-before-1", "review-after-9999", "subject-naive", "subject-after-9999",
         "shift-before-1"],
)  # fmt: skip
def test_a_record_time_the_storage_cannot_take_is_refused_with_its_record_alone(
    hq: Hq, kind: str, field: str, time: tuple[str, str, str]
) -> None:
    """A review whose decided_at had no offset reached the storage, which refuses naive times: a
    StorageError, answered 503 UNAVAILABLE with Retry-After, so the leader's phone sent the same batch
    again and again and every record behind it waited. A time with no UTC instant in years 1-9999
    (0001-01-01T00:00+14:00) raised OverflowError in SQLite's conversion: a 500. Such a time is now refused
    with its record alone (RECORD_INVALID, zh + en, naming the field); the batch's other records are stored.
    (A subject's created_at of either kind was stored as sent.)"""
    from testkit.records import make_subject

    value, zh_word, en_word = time
    with hq.client() as client:
        officer = sign_in(client, OFFICER, "phone-1")
        with hq.storage.transaction(readonly=True) as tx:
            [state] = tx.cases_page(limit=1)
        if kind == "review":
            auth, device, payload = (
                sign_in(client, LEADER, "leader-1"),
                "leader-1",
                _review_payload(state.case_id, state.case_no),
            )
        elif kind == "subject":
            auth, device = officer, "phone-1"
            payload = to_json_dict(make_subject(district=DISTRICT, name="赵记烧烤"))
        else:
            auth, device = officer, "phone-1"
            payload = {"id": "shift-1", "officer_badge": OFFICER.badge, "started_at": AT, "grid_cell": "G1"}
        payload[field] = value
        other = to_json_dict(make_subject(district=DISTRICT, name="同批的另一条"))
        body = {
            "protocol": 1,
            "device_id": device,
            "records": [
                {"kind": kind, "id": payload["id"], "device_seq": 7, "payload": payload},
                {"kind": "subject", "id": other["id"], "device_seq": 8, "payload": other},
            ],
        }
        answer = client.post("/v1/push", json=body, headers=auth)
        assert answer.status_code == 200, answer.text
        first, second = answer.json()["results"]
        assert (first["status"], first["errno"]) == ("refused", Errno.RECORD_INVALID), first
        assert field in first["reason_zh"]
        assert field in first["reason_en"]
        assert zh_word in first["reason_zh"]
        assert en_word in first["reason_en"]
        assert second["status"] == "accepted", second
    with hq.storage.transaction(readonly=True) as tx:
        assert tx.get_review("review-1") is None
        assert tx.get_shift("shift-1") is None
        assert tx.get_subject(other["id"]) is not None
        if kind == "subject":
            assert tx.get_subject(payload["id"]) is None


# ------------------------------------------------------------------------------------- 6: not even HTTP

#: Requests uvicorn's parser refuses before HQ's app sees them (each with a valid token where one fits).
MALFORMED = {
    "raw-utf8-in-url": "GET /v1/cases?officer_badge=😀 HTTP/1.1\r\n".encode(),
    "100-kb-query": b"GET /v1/cases?cursor=" + b"x" * 100_000 + b" HTTP/1.1\r\n",
    "nul-in-bearer": b"GET /v1/cases HTTP/1.1\r\nAuthorization: Bearer abc\x00def\r\n",
    "two-content-lengths": b"POST /v1/push HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 5\r\n",
    "negative-length": b"POST /v1/auth/sign-in HTTP/1.1\r\nContent-Length: -1\r\n",
}


def _raw(hq: Hq, head: bytes) -> bytes:
    import socket

    with socket.create_connection(("127.0.0.1", hq.serve().port), timeout=10) as conn:
        conn.sendall(head + b"Host: 127.0.0.1\r\n\r\n{}")
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
    return answer


@pytest.mark.parametrize("request_head", sorted(MALFORMED))
def test_a_request_that_is_not_http_gets_the_error_body_not_uvicorns_english(
    hq: Hq, request_head: str
) -> None:
    """uvicorn answered these with ``400`` and the plain text "Invalid HTTP request received." (English
    only, no errno, no JSON). Now the house's ErrorBody (VALIDATION, zh + en), and HQ serves on."""
    head, _, body = _raw(hq, MALFORMED[request_head]).partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400 "), head
    assert b"content-type: application/json" in head.lower()
    error = json.loads(body)
    assert (error["errno"], error["code"]) == (Errno.VALIDATION, "validation")
    assert error["message_zh"]
    assert error["message_en"]
    with hq.client() as client:
        assert client.get("/v1/health").status_code == 200


def test_hq_serve_hands_uvicorn_the_protocol_with_the_error_body() -> None:
    """What ``streetpatrol-hq serve`` passes to uvicorn (its workers import the class by this name)."""
    import argparse

    from uvicorn.config import Config

    from hq.api.malformed import HTTP_PROTOCOL, HttpToolsProtocolBilingual
    from hq.cli.serve import _uvicorn_transport
    from hq.settings import Settings

    transport = _uvicorn_transport(argparse.Namespace(tls_cert=None, tls_key=None), Settings())
    assert transport["http"] == HTTP_PROTOCOL
    config = Config(app=lambda *a: None, http=transport["http"])  # type: ignore[arg-type]
    config.load()
    assert config.http_protocol_class is HttpToolsProtocolBilingual


def test_without_httptools_the_h11_protocol_gives_the_error_body_too() -> None:
    """Where uvicorn's ``[standard]`` parser is not installed (the phone-versions venv starts HQ to sync
    against), ``HTTP_PROTOCOL`` would name a class that cannot be imported: uvicorn's h11 protocol, with
    the same answer, is the one it names then."""
    import asyncio

    from uvicorn.config import Config

    from hq.api.malformed import H11_PROTOCOL, H11ProtocolBilingual, refusal_bytes

    config = Config(app=lambda *a: None, http=H11_PROTOCOL)  # type: ignore[arg-type]
    config.load()
    assert config.http_protocol_class is H11ProtocolBilingual

    class Transport(asyncio.Transport):
        def __init__(self) -> None:
            super().__init__()
            self.written = b""
            self.closed = False

        def write(self, data: bytes | bytearray | memoryview) -> None:
            self.written += bytes(data)

        def close(self) -> None:
            self.closed = True

    protocol = H11ProtocolBilingual.__new__(H11ProtocolBilingual)
    protocol.transport = Transport()  # type: ignore[assignment]
    protocol.server_state = type("State", (), {"default_headers": [(b"server", b"hq")]})()  # type: ignore[assignment]
    protocol.send_400_response("Invalid HTTP request received.")
    assert protocol.transport.written == refusal_bytes([(b"server", b"hq")])  # type: ignore[attr-defined]
    assert protocol.transport.closed  # type: ignore[attr-defined]
    assert b'"errno":1001' in protocol.transport.written.replace(b" ", b"")  # type: ignore[attr-defined]


@pytest.mark.parametrize("field", ["lat", "lon"])
def test_a_coordinate_of_true_is_refused_not_read_as_one(hq: Hq, field: str) -> None:
    """``"lat": true`` was filed as 1.0 (pydantic's lax mode): a complaint placed in the sea off Africa. A
    coordinate is a number; true or false is a 422 naming the field in zh and en, nothing filed."""
    with hq.client() as client:
        desk = sign_in(client, HQ_USER)
        answer = client.post("/v1/workorders", json=ORDER_COMPLAINT | {field: True}, headers=desk)
        body = assert_error(answer, 422, Errno.VALIDATION)
        assert field in body["message_en"]
        assert "不能是 true 或 false" in body["message_zh"]
        long_text = ORDER_COMPLAINT | {"description": "居民反映油烟扰民，" * 400}  # 3,600 characters
        assert client.post("/v1/workorders", json=long_text, headers=desk).status_code == 200
    assert _orders(hq) == 1
