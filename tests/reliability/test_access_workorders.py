"""Who may do what with work orders (#15), as one table: every work-order and Open311 operation and the
public pages × the callers that matter to them, over real HTTP on loopback.

The desk files, routes, assigns and follows up, and alone sees the caller's name and phone; HQ does the
same with them masked; a squad's leader sees and assigns the squad's orders; an officer sees the orders
assigned to them; an Open311 partner files with its api_key and reads, like everyone, only the public
form of a request. Personal data (the caller's name and phone, the exact address and point) never appears
in Open311's GET answers or on the public page and CSV; the caller's name and phone never reach anyone but
the desk. Every row asserts on the response body. The main table (``test_access_matrix.py``) holds the
phone-side callers (revoked, expired, another district) of the same operations.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import httpx
import pytest

from enforcement.model import Officer, Role, new_id
from hq.auth import PinHasher
from hq.demo_zones import seed_demo_zones
from hq.storage.base import UserRow
from hq.workorders import add_partner
from sync.protocol import PROTOCOL_VERSION
from testkit.hqkit import DISTRICT, HQ_USER, LEADER, OFFICER, OFFICER_B, PINS, Hq, make_hq, sign_in

DESK = Officer("9101", "热线受理员", "ZH00", "指挥中心", DISTRICT, Role.DESK)
OTHER_LEADER = Officer("2001", "陈静", "ZD02", "花园路中队", DISTRICT, Role.LEADER)

NAME, PHONE, ADDRESS, LAT, LON = "赵六", "13812345678", "人民路1号院内", "34.7466", "113.6253"
COMPLAINT = {
    "source": "12345", "category": "0510", "description": "夜间露天烧烤油烟扰民", "address": ADDRESS,
    "lat": float(LAT), "lon": float(LON), "caller_name": NAME, "caller_phone": PHONE,
}  # fmt: skip

#: Callers, in the table's column order.
CALLERS = (
    "desk",
    "partner",  # a valid Open311 api_key (as a bearer token on /v1: it is no session)
    "wrong_key",  # an api_key HQ never issued
    "no_key",  # a partner's client without its key
    "assigned",  # the officer the order is assigned to (1023)
    "not_assigned",  # a colleague of the same squad (1024)
    "leader",  # the order's squad's leader
    "other_leader",  # another squad's leader
    "hq",
    "public",  # no credentials at all
)
SIGNED_IN = {
    "desk": DESK,
    "assigned": OFFICER,
    "not_assigned": OFFICER_B,
    "leader": LEADER,
    "other_leader": OTHER_LEADER,
    "hq": HQ_USER,
}
OK, NONE, DENY, AUTH, KEY, GONE = "ok", "none", "deny", "auth", "key", "gone"

# fmt: off
TABLE: list[tuple[str, tuple[str, ...]]] = [
    #                                            desk  partnr wrong nokey asgnd notas leadr othld hq    public
    ("POST /v1/workorders",                     (OK,   AUTH, AUTH, AUTH, DENY, DENY, DENY, DENY, OK,   AUTH)),
    ("GET /v1/workorders",                      (OK,   AUTH, AUTH, AUTH, OK,   NONE, OK,   NONE, OK,   AUTH)),
    ("GET /v1/workorders/{order_id}",           (OK,   AUTH, AUTH, AUTH, OK,   DENY, OK,   DENY, OK,   AUTH)),
    ("GET /v1/workorders/{unknown}",            (GONE, AUTH, AUTH, AUTH, GONE, GONE, GONE, GONE, GONE, AUTH)),
    ("POST /v1/workorders/{order_id}/route",    (OK,   AUTH, AUTH, AUTH, DENY, DENY, DENY, DENY, OK,   AUTH)),
    ("POST /v1/workorders/{order_id}/assign",   (OK,   AUTH, AUTH, AUTH, DENY, DENY, OK,   DENY, OK,   AUTH)),
    ("POST /v1/workorders/{order_id}/follow-up", (OK,  AUTH, AUTH, AUTH, DENY, DENY, DENY, DENY, OK,   AUTH)),
    ("GET /open311/v2/discovery.json",          (OK,   OK,   OK,   OK,   OK,   OK,   OK,   OK,   OK,   OK)),
    ("GET /open311/v2/discovery.xml",           (OK,   OK,   OK,   OK,   OK,   OK,   OK,   OK,   OK,   OK)),
    ("GET /open311/v2/services.json",           (OK,   OK,   OK,   OK,   OK,   OK,   OK,   OK,   OK,   OK)),
    ("GET /open311/v2/services.xml",            (OK,   OK,   OK,   OK,   OK,   OK,   OK,   OK,   OK,   OK)),
    ("GET /open311/v2/services/{service_code}.json", (OK, OK, OK,  OK,   OK,   OK,   OK,   OK,   OK,   OK)),
    ("GET /open311/v2/services/{service_code}.xml", (OK, OK, OK,   OK,   OK,   OK,   OK,   OK,   OK,   OK)),
    ("GET /open311/v2/services/{unknown}.json", (GONE, GONE, GONE, GONE, GONE, GONE, GONE, GONE, GONE, GONE)),
    ("GET /open311/v2/services/{unknown}.xml",  (GONE, GONE, GONE, GONE, GONE, GONE, GONE, GONE, GONE, GONE)),
    ("GET /open311/v2/requests.json",           (OK,   OK,   OK,   OK,   OK,   OK,   OK,   OK,   OK,   OK)),
    ("GET /open311/v2/requests.xml",            (OK,   OK,   OK,   OK,   OK,   OK,   OK,   OK,   OK,   OK)),
    ("GET /open311/v2/requests/{request_id}.json", (OK, OK,  OK,   OK,   OK,   OK,   OK,   OK,   OK,   OK)),
    ("GET /open311/v2/requests/{request_id}.xml", (OK, OK,   OK,   OK,   OK,   OK,   OK,   OK,   OK,   OK)),
    ("GET /open311/v2/requests/{unknown}.json", (GONE, GONE, GONE, GONE, GONE, GONE, GONE, GONE, GONE, GONE)),
    ("GET /open311/v2/requests/{unknown}.xml",  (GONE, GONE, GONE, GONE, GONE, GONE, GONE, GONE, GONE, GONE)),
    ("POST /open311/v2/requests.json",          (KEY,  OK,   KEY,  KEY,  KEY,  KEY,  KEY,  KEY,  KEY,  KEY)),
    ("POST /open311/v2/requests.xml",           (KEY,  OK,   KEY,  KEY,  KEY,  KEY,  KEY,  KEY,  KEY,  KEY)),
    ("GET /public",                             (OK,   OK,   OK,   OK,   OK,   OK,   OK,   OK,   OK,   OK)),
    ("GET /public?lang=en",                     (OK,   OK,   OK,   OK,   OK,   OK,   OK,   OK,   OK,   OK)),
    ("GET /public/complaints.csv",              (OK,   OK,   OK,   OK,   OK,   OK,   OK,   OK,   OK,   OK)),
]
# fmt: on
#: Rows whose answer is Open311's or the public's: never the address or the point either.
PUBLIC_ROWS = {key for key, _ in TABLE if "/open311/" in key or key.startswith("GET /public")}


@dataclass
class World:
    hq: Hq
    client: httpx.Client
    headers: dict[str, dict[str, str]]
    key: str  # the partner's api_key
    order: str  # assigned to OFFICER (ZD01)
    resolved: str  # resolved by OFFICER, followed up by nobody yet
    place: str  # the public place of the orders (the demo zone's name)

    def auth(self, caller: str) -> dict[str, str]:
        if caller == "partner":
            return {"Authorization": f"Bearer {self.key}"}
        if caller == "wrong_key":
            return {"Authorization": "Bearer sp311_not-a-key-hq-issued"}
        return self.headers.get(caller, {})

    def api_key(self, caller: str) -> dict[str, str]:
        """The Open311 api_key a caller's client would send (signed-in callers send none)."""
        return {"partner": {"api_key": self.key}, "wrong_key": {"api_key": "sp311_not-a-key"}}.get(caller, {})


def _filed(hq: Hq, client: httpx.Client, headers: dict[str, dict[str, str]]) -> str:
    made = client.post("/v1/workorders", json=COMPLAINT, headers=headers["desk"])
    assert made.status_code == 200, made.text
    oid = str(made.json()["order_id"])
    got = client.post(f"/v1/workorders/{oid}/assign", json={"badge": OFFICER.badge}, headers=headers["desk"])
    assert got.status_code == 200, got.text
    return oid


def _resolved(w: World) -> str:
    """A fresh order of ZD01, resolved by its officer (a follow-up spends it)."""
    oid = _filed(w.hq, w.client, w.headers)
    resolution = {
        "id": new_id(), "order_id": oid, "round": 1, "device_at": w.hq.clock().isoformat(),
        "offset_s": 0, "closure": "no_violation", "note": "现场未见烧烤", "photos": ["a" * 64],
    }  # fmt: skip
    body = {"protocol": PROTOCOL_VERSION, "device_id": "wo-assigned",
            "records": [{"kind": "work_order_resolution", "id": resolution["id"],
                         "device_seq": int(w.hq.clock().timestamp() * 1000) % 10**9 + len(oid),
                         "payload": resolution}]}  # fmt: skip
    pushed = w.client.post("/v1/push", json=body, headers=w.headers["assigned"])
    assert pushed.json()["results"][0]["status"] == "accepted", pushed.text
    return oid


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    hq = make_hq(tmp_path_factory.mktemp("wo-matrix"))
    pins = PinHasher(hq.settings.pin_hashing)
    for officer, pin in ((DESK, "269101"), (OTHER_LEADER, "862001")):
        PINS[officer.badge] = pin
        with hq.storage.transaction() as tx:
            tx.put_user(UserRow(officer=officer, pin_hash=pins.hash(pin)))
    seed_demo_zones(hq.storage, hq.clock())
    key = add_partner(hq.storage, "12345平台", at=hq.clock())
    with hq.client() as client:
        headers = {c: sign_in(client, o, f"wo-{c}") for c, o in SIGNED_IN.items()}
        order = _filed(hq, client, headers)
        w = World(hq, client, headers, key, order, "", "")
        w.resolved = _resolved(w)
        with hq.storage.transaction(readonly=True) as tx:
            stored = tx.get_work_order(order)
        assert stored is not None
        assert stored.squad == "ZD01"
        assert stored.place
        w.place = stored.place
        yield w
    hq.close()


Request = Callable[[World, str], httpx.Response]


def _open311_get(path: str) -> Request:
    """GET an Open311 resource with the caller's key and token (``{order}``: the order, ``{new}``: an id
    HQ never gave)."""

    def get(w: World, c: str) -> httpx.Response:
        url = f"/open311/v2/{path}".replace("{order}", w.order).replace("{new}", new_id())
        return w.client.get(url, params=w.api_key(c), headers=w.auth(c))

    return get


def _open311_post(path: str) -> Request:
    """POST a complaint, with the caller's api_key if it has one."""
    form = {
        "service_code": "0510", "description": "烧烤", "lat": LAT, "long": LON, "address_string": ADDRESS,
        "first_name": "六", "last_name": "赵", "phone": PHONE,
    }  # fmt: skip
    return lambda w, c: w.client.post(f"/open311/v2/{path}", data=w.api_key(c) | form, headers=w.auth(c))


REQUESTS: dict[str, Request] = {
    "POST /v1/workorders": lambda w, c: w.client.post("/v1/workorders", json=COMPLAINT, headers=w.auth(c)),
    "GET /v1/workorders": lambda w, c: w.client.get("/v1/workorders", headers=w.auth(c)),
    "GET /v1/workorders/{order_id}": lambda w, c: w.client.get(
        f"/v1/workorders/{w.order}", headers=w.auth(c)
    ),
    "GET /v1/workorders/{unknown}": lambda w, c: w.client.get(
        f"/v1/workorders/{new_id()}", headers=w.auth(c)
    ),
    "POST /v1/workorders/{order_id}/route": lambda w, c: w.client.post(
        f"/v1/workorders/{w.order}/route", json={"squad": "ZD01"}, headers=w.auth(c)
    ),
    "POST /v1/workorders/{order_id}/assign": lambda w, c: w.client.post(
        f"/v1/workorders/{w.order}/assign", json={"badge": OFFICER.badge}, headers=w.auth(c)
    ),
    "POST /v1/workorders/{order_id}/follow-up": lambda w, c: w.client.post(
        f"/v1/workorders/{w.resolved}/follow-up",
        json={"reached": True, "satisfaction": "satisfied", "comment": "满意"},
        headers=w.auth(c),
    ),
    "GET /open311/v2/discovery.json": _open311_get("discovery.json"),
    "GET /open311/v2/discovery.xml": _open311_get("discovery.xml"),
    "GET /open311/v2/services.json": _open311_get("services.json"),
    "GET /open311/v2/services.xml": _open311_get("services.xml"),
    "GET /open311/v2/services/{service_code}.json": _open311_get("services/0510.json"),
    "GET /open311/v2/services/{service_code}.xml": _open311_get("services/0510.xml"),
    "GET /open311/v2/services/{unknown}.json": _open311_get("services/9999.json"),
    "GET /open311/v2/services/{unknown}.xml": _open311_get("services/9999.xml"),
    "GET /open311/v2/requests.json": _open311_get("requests.json"),
    "GET /open311/v2/requests.xml": _open311_get("requests.xml"),
    "GET /open311/v2/requests/{request_id}.json": _open311_get("requests/{order}.json"),
    "GET /open311/v2/requests/{request_id}.xml": _open311_get("requests/{order}.xml"),
    "GET /open311/v2/requests/{unknown}.json": _open311_get("requests/{new}.json"),
    "GET /open311/v2/requests/{unknown}.xml": _open311_get("requests/{new}.xml"),
    "POST /open311/v2/requests.json": _open311_post("requests.json"),
    "POST /open311/v2/requests.xml": _open311_post("requests.xml"),
    "GET /public": lambda w, c: w.client.get("/public", headers=w.auth(c)),
    "GET /public?lang=en": lambda w, c: w.client.get("/public", params={"lang": "en"}, headers=w.auth(c)),
    "GET /public/complaints.csv": lambda w, c: w.client.get("/public/complaints.csv", headers=w.auth(c)),
}

#: What of the target an answer holds when the caller may see it.
MARKS: dict[str, Callable[[World], str]] = {
    "GET /v1/workorders": lambda w: w.order,
    "GET /v1/workorders/{order_id}": lambda w: w.order,
    "POST /v1/workorders/{order_id}/route": lambda w: w.order,
    "POST /v1/workorders/{order_id}/assign": lambda w: w.order,
    "GET /open311/v2/requests.json": lambda w: w.order,
    "GET /open311/v2/requests.xml": lambda w: w.order,
    "GET /open311/v2/requests/{request_id}.json": lambda w: w.order,
    "GET /open311/v2/requests/{request_id}.xml": lambda w: w.order,
    "GET /public": lambda w: w.place,
    "GET /public?lang=en": lambda w: w.place,
    "GET /public/complaints.csv": lambda w: w.place,
}


def _open311_errors(answer: httpx.Response) -> list[int]:
    """The codes of an Open311 error answer, JSON or XML by the path (each error: code and description)."""
    if answer.request.url.path.endswith(".xml"):
        errors = list(ET.fromstring(answer.content).iterfind("error"))
        assert all([e.tag for e in error] == ["code", "description"] for error in errors)
        return [int(error.findtext("code") or 0) for error in errors]
    assert all(set(error) == {"code", "description"} for error in answer.json())
    return [int(error["code"]) for error in answer.json()]


ROWS = [(key, caller, expected) for key, row in TABLE for caller, expected in zip(CALLERS, row, strict=True)]


def test_the_table_covers_every_work_order_open311_and_public_route(world: World) -> None:
    # The published operations (the app's routes are wrapped per included router: read the OpenAPI).
    published = {
        (method.upper(), path)
        for path, item in world.hq.app.openapi()["paths"].items()
        if path.startswith(("/v1/workorders", "/open311"))
        for method in item
    }
    listed = {(key.split()[0], key.split()[1].split("?")[0]) for key, _ in TABLE}
    assert len(published) >= 17
    assert published == {(m, p) for m, p in listed if not p.startswith("/public") and "{unknown}" not in p}
    assert set(REQUESTS) == {key for key, _ in TABLE}
    assert all(len(row) == len(CALLERS) for _, row in TABLE)


@pytest.mark.parametrize(("key", "caller", "expected"), ROWS, ids=[f"{k} | {c}" for k, c, _ in ROWS])
def test_access(world: World, key: str, caller: str, expected: str) -> None:
    if key.endswith("/follow-up") and expected == OK:
        world.resolved = _resolved(world)  # each follow-up spends its order
    answer = REQUESTS[key](world, caller)
    body = answer.text
    mark = MARKS.get(key, lambda w: "")(world)

    # personal data, whatever the status
    if caller != "desk" or expected != OK or key.startswith("GET /public") or "/open311/" in key:
        assert NAME not in body, f"{key} as {caller}: the caller's name leaked"
        assert PHONE not in body, f"{key} as {caller}: the caller's phone leaked"
    if key in PUBLIC_ROWS:
        for secret in (ADDRESS, LAT, LON):
            assert secret not in body, f"{key} as {caller}: {secret} leaked"

    if expected == AUTH:
        assert answer.status_code == 401, body
        assert "errno" in answer.json()
        return
    if expected == KEY:
        assert answer.status_code == 403, body
        assert _open311_errors(answer) == [403]
        return
    if expected == DENY:
        assert answer.status_code == 403, body
        assert set(answer.json()) == {"errno", "code", "message_zh", "message_en", "detail"}
        assert not mark or mark not in body
        return
    if expected == GONE:
        assert answer.status_code == 404, body
        if "/open311/" in key:
            assert _open311_errors(answer) == [404]
        return
    assert answer.status_code == 200, body
    if mark:
        assert (mark in body) == (expected == OK), (
            f"{key} as {caller}: target {'missing' if expected == OK else 'leaked'}"
        )
    if key.startswith("GET /public/"):
        assert answer.headers["content-type"].startswith("text/csv")
    if caller == "desk" and key.startswith(("GET /v1/workorders/{order_id}", "POST /v1/workorders")):
        assert NAME in body  # the desk's own view holds the contact in full
        assert PHONE in body
    if key.startswith("POST /open311/v2/requests."):
        if key.endswith(".xml"):
            filed_id = ET.fromstring(answer.content).findtext("request/service_request_id") or ""
        else:
            [filed] = answer.json()
            filed_id = filed["service_request_id"]
        with world.hq.storage.transaction(readonly=True) as tx:
            order = tx.get_work_order(filed_id)
        assert order is not None
        assert (order.partner, order.caller_phone, order.source.value) == ("12345平台", PHONE, "online")
