"""Who may do what at HQ (issue #4), as one table: every operation of the published OpenAPI × every kind of
caller, over real HTTP on loopback. (Over 600 lines because the table is one literal, read as a whole.)

An officer writes and reads only their own cases and reads (and registers into) the subject registry of
their district; a squad leader reads and reviews their squad; HQ reads everything; a denial is 403 with an
errno and none of the data; a missing, expired or revoked token is 401 with its own errno. The table is
read against the app's OpenAPI, so an operation added without rows here fails
``test_the_table_has_a_row_for_every_operation_and_caller``.

The target of each row belongs to the *owner* (officer 1023 of squad ZD01, district 金水区): a case with a
stored photo, a photo listed but not yet uploaded, a device, a subject of the district, cases to review.
"""

from __future__ import annotations

import itertools
import json
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import httpx
import pytest

from enforcement.codec import to_json_dict
from enforcement.model import (
    LOCAL_TZ,
    Case,
    Officer,
    Review,
    ReviewDecision,
    Role,
    Subject,
    SubjectKind,
    new_id,
)
from hq.auth import PinHasher, new_token, token_hash
from hq.demo_zones import demo_zones
from hq.merge import merge_subjects
from hq.notices import assign_book, save_series
from hq.storage.base import SubjectConflict, TokenRow, UserRow
from hq.subjectmatch import note_subject
from sync.protocol import PROTOCOL_VERSION, Errno, http_status
from testkit.hostile import evidence_photo
from testkit.hqkit import (
    DISTRICT,
    HQ_USER,
    LEADER,
    OFFICER,
    OFFICER_B,
    OFFICER_C,
    OFFICER_FAR,
    PINS,
    Hq,
    make_case,
    make_hq,
    photo_ref,
    push_body,
    sign_in,
)

OTHER_LEADER = Officer("2001", "陈静", "ZD02", "花园路中队", DISTRICT, Role.LEADER)
OWNER = OFFICER
DAY = date(2026, 11, 22)  # the day of the owner's cases (make_case's default time)

#: Callers, in the table's column order, and who they are.
CALLERS = (
    "owner",
    "colleague",
    "other_squad",
    "leader",
    "other_leader",
    "far",
    "hq",
    "revoked",
    "expired",
    "none",
)
SIGNED_IN: dict[str, Officer] = {
    "owner": OWNER,  # officer 1023, ZD01
    "colleague": OFFICER_B,  # officer of the same squad
    "other_squad": OFFICER_C,  # officer of ZD02, same district
    "leader": LEADER,  # leader of ZD01
    "other_leader": OTHER_LEADER,  # leader of ZD02
    "far": OFFICER_FAR,  # officer of another district
    "hq": HQ_USER,
}
UNAUTHENTICATED = {
    "revoked": Errno.TOKEN_REVOKED,
    "expired": Errno.TOKEN_EXPIRED,
    "none": Errno.TOKEN_MISSING,
}

# Expected outcomes.
OK = "200, sees it"  # 2xx; the target's data is in the answer (when the row has a target)
NONE = "200, not in it"  # 2xx; a scoped answer without the target's data
DENY = "403"  # 403, an errno, the error shape only, none of the target's data
GONE = "404"  # HEAD of a photo outside the caller's scope: as if HQ did not have it
REF = "refused"  # push: 200, the record refused with RECORD_NOT_OWNED, nothing stored
AUTH = "401"  # 401 with the errno of the token's problem (revoked / expired / missing)
KEY = "403 open311"  # Open311 POST without a partner's api_key: 403 as an Open311 error array, nothing filed

# fmt: off
TABLE: list[tuple[str, tuple[str, ...]]] = [
    # operation [variant]                     owner collg o.sqd leadr o.ldr far   hq    revkd exprd none
    ("GET /v1/health",                          (OK,   OK,   OK,   OK,   OK,   OK,   OK,   OK,   OK,   OK)),
    ("POST /v1/auth/sign-in",                   (OK,   OK,   OK,   OK,   OK,   OK,   OK,   OK,   OK,   OK)),
    ("POST /v1/auth/sign-out",                  (OK,   OK,   OK,   OK,   OK,   OK,   OK,   AUTH, AUTH, AUTH)),
    ("GET /v1/devices",                         (OK,   OK,   OK,   OK,   OK,   OK,   OK,   AUTH, AUTH, AUTH)),
    ("GET /v1/devices ?badge=owner",            (OK,   DENY, DENY, DENY, DENY, DENY, OK,   AUTH, AUTH, AUTH)),
    ("POST /v1/devices/{device_id}/revoke",     (OK,   DENY, DENY, DENY, DENY, DENY, OK,   AUTH, AUTH, AUTH)),
    ("POST /v1/push : owner's case",            (OK,   REF,  REF,  REF,  REF,  REF,  REF,  AUTH, AUTH, AUTH)),
    ("POST /v1/push : review of owner's case",  (REF,  REF,  REF,  OK,   REF,  REF,  OK,   AUTH, AUTH, AUTH)),
    ("POST /v1/push : district's subject",      (OK,   OK,   OK,   OK,   OK,   REF,  OK,   AUTH, AUTH, AUTH)),
    ("HEAD /v1/photos/{sha256}",                (OK,   GONE, GONE, OK,   GONE, GONE, OK,   AUTH, AUTH, AUTH)),
    ("GET /v1/photos/{sha256}",                 (OK,   DENY, DENY, OK,   DENY, DENY, OK,   AUTH, AUTH, AUTH)),
    ("PUT /v1/photos/{sha256}",                 (OK,   DENY, DENY, DENY, DENY, DENY, DENY, AUTH, AUTH, AUTH)),
    ("GET /v1/changes",                         (OK,   NONE, NONE, OK,   NONE, NONE, NONE, AUTH, AUTH, AUTH)),
    ("GET /v1/cases",                           (OK,   NONE, NONE, OK,   NONE, NONE, OK,   AUTH, AUTH, AUTH)),
    ("GET /v1/cases ?officer_badge=owner",      (OK,   DENY, DENY, OK,   NONE, DENY, OK,   AUTH, AUTH, AUTH)),
    ("GET /v1/cases ?squad_code=owner's",       (DENY, DENY, DENY, OK,   DENY, DENY, OK,   AUTH, AUTH, AUTH)),
    ("GET /v1/cases/{case_id}",                 (OK,   DENY, DENY, OK,   DENY, DENY, OK,   AUTH, AUTH, AUTH)),
    ("GET /v1/subjects",                        (OK,   OK,   OK,   OK,   OK,   NONE, OK,   AUTH, AUTH, AUTH)),
    ("GET /v1/subjects ?district=owner's",      (OK,   OK,   OK,   OK,   OK,   DENY, OK,   AUTH, AUTH, AUTH)),
    ("GET /v1/subjects/{subject_id}",           (OK,   OK,   OK,   OK,   OK,   DENY, OK,   AUTH, AUTH, AUTH)),
    ("GET /v1/review/queue ?squad=owner's",     (DENY, DENY, DENY, OK,   DENY, DENY, OK,   AUTH, AUTH, AUTH)),
    ("POST /v1/review/{case_id}",               (DENY, DENY, DENY, OK,   DENY, DENY, OK,   AUTH, AUTH, AUTH)),
    ("GET /v1/reports/daylog ?squad=owner's",   (DENY, DENY, DENY, OK,   DENY, DENY, OK,   AUTH, AUTH, AUTH)),
    ("GET /v1/zones",                           (OK,   OK,   OK,   OK,   OK,   OK,   OK,   AUTH, AUTH, AUTH)),
    ("PUT /v1/zones",                           (DENY, DENY, DENY, DENY, DENY, DENY, OK,   AUTH, AUTH, AUTH)),
    ("GET /v1/policy",                          (DENY, DENY, DENY, DENY, DENY, DENY, OK,   AUTH, AUTH, AUTH)),
    # work orders (#15; the desk and partner callers: tests/reliability/test_access_workorders.py)
    ("POST /v1/workorders",                     (DENY, DENY, DENY, DENY, DENY, DENY, OK,   AUTH, AUTH, AUTH)),
    ("GET /v1/workorders",                      (OK,   NONE, NONE, OK,   NONE, NONE, OK,   AUTH, AUTH, AUTH)),
    ("GET /v1/workorders/{order_id}",           (OK,   DENY, DENY, OK,   DENY, DENY, OK,   AUTH, AUTH, AUTH)),
    ("POST /v1/workorders/{order_id}/route",    (DENY, DENY, DENY, DENY, DENY, DENY, OK,   AUTH, AUTH, AUTH)),
    ("POST /v1/workorders/{order_id}/assign",   (DENY, DENY, DENY, OK,   DENY, DENY, OK,   AUTH, AUTH, AUTH)),
    ("POST /v1/workorders/{order_id}/follow-up", (DENY, DENY, DENY, DENY, DENY, DENY, OK,  AUTH, AUTH, AUTH)),
    ("GET /open311/v2/discovery.json",          (OK,   OK,   OK,   OK,   OK,   OK,   OK,   OK,   OK,   OK)),
    ("GET /open311/v2/discovery.xml",           (OK,   OK,   OK,   OK,   OK,   OK,   OK,   OK,   OK,   OK)),
    ("GET /open311/v2/services.json",           (OK,   OK,   OK,   OK,   OK,   OK,   OK,   OK,   OK,   OK)),
    ("GET /open311/v2/services.xml",            (OK,   OK,   OK,   OK,   OK,   OK,   OK,   OK,   OK,   OK)),
    ("GET /open311/v2/services/{service_code}.json", (OK, OK, OK,  OK,   OK,   OK,   OK,   OK,   OK,   OK)),
    ("GET /open311/v2/services/{service_code}.xml", (OK, OK, OK,   OK,   OK,   OK,   OK,   OK,   OK,   OK)),
    ("GET /open311/v2/requests.json",           (OK,   OK,   OK,   OK,   OK,   OK,   OK,   OK,   OK,   OK)),
    ("GET /open311/v2/requests.xml",            (OK,   OK,   OK,   OK,   OK,   OK,   OK,   OK,   OK,   OK)),
    ("GET /open311/v2/requests/{request_id}.json", (OK, OK,  OK,   OK,   OK,   OK,   OK,   OK,   OK,   OK)),
    ("GET /open311/v2/requests/{request_id}.xml", (OK, OK,   OK,   OK,   OK,   OK,   OK,   OK,   OK,   OK)),
    ("POST /open311/v2/requests.json",          (KEY,  KEY,  KEY,  KEY,  KEY,  KEY,  KEY,  KEY,  KEY,  KEY)),
    ("POST /open311/v2/requests.xml",           (KEY,  KEY,  KEY,  KEY,  KEY,  KEY,  KEY,  KEY,  KEY,  KEY)),
    ("POST /v1/subjects/{subject_id}/merge",    (DENY, DENY, DENY, OK,   OK,   DENY, OK,   AUTH, AUTH, AUTH)),
    ("POST /v1/subjects/{subject_id}/unmerge",  (DENY, DENY, DENY, OK,   OK,   DENY, OK,   AUTH, AUTH, AUTH)),
    ("GET /v1/merge-suggestions",               (DENY, DENY, DENY, OK,   OK,   DENY, OK,   AUTH, AUTH, AUTH)),
    ("GET /v1/subjects/{subject_id}/history",   (OK,   OK,   OK,   OK,   OK,   DENY, OK,   AUTH, AUTH, AUTH)),
    ("GET /v1/subject-conflicts",               (DENY, DENY, DENY, OK,   OK,   DENY, OK,   AUTH, AUTH, AUTH)),
    ("POST /v1/subject-conflicts/{conflict_id}/resolve",
                                                (DENY, DENY, DENY, OK,   OK,   DENY, OK,   AUTH, AUTH, AUTH)),
    ("GET /v1/notice-books ?badge=owner",       (OK,   DENY, DENY, OK,   DENY, DENY, OK,   AUTH, AUTH, AUTH)),
    ("POST /v1/notice-books",                   (DENY, DENY, DENY, DENY, DENY, DENY, OK,   AUTH, AUTH, AUTH)),
]
# fmt: on
# Note: a leader asking for another squad's officer by badge gets their own squad's (empty) list, not 403:
# nothing leaks, so the table records it as NONE. The leader's pull holds the squad feed (squad_case of the
# owner's case); another squad's leader's does not.


@dataclass
class World:
    """A HQ with the owner's data, and a token (Authorization header) for every caller."""

    hq: Hq
    client: httpx.Client
    headers: dict[str, dict[str, str]]
    devices: dict[str, str]
    case: Case  # the owner's case, its photo stored, waiting for review
    photo: bytes  # the stored photo of ``case``
    upload: bytes  # a photo listed in another case of the owner, for PUT
    subject: Subject  # in the owner's district
    victim: str  # a device of the owner, for revoke
    to_review: Case  # reviewed by pushed review records
    to_decide: Case  # reviewed through POST /v1/review/{case_id}
    order: str = ""  # a work order of the owner's squad, assigned to the owner (HQ filed it)
    resolved: str = ""  # another, resolved by the owner (for the follow-up row)
    _n: Iterator[int] = field(default_factory=lambda: itertools.count(100))

    def fresh(self, caller: str) -> dict[str, str]:
        """A throw-away token of a signed-in caller on a new device (for the rows that spend it)."""
        if caller not in SIGNED_IN:
            return self.headers[caller]
        return sign_in(self.client, SIGNED_IN[caller], f"{caller}-{next(self._n)}")

    def seq(self) -> int:
        return next(self._n)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    hq = make_hq(tmp_path_factory.mktemp("matrix"))
    with hq.storage.transaction() as tx:
        pin = PINS[OTHER_LEADER.badge] = "862001"
        tx.put_user(UserRow(officer=OTHER_LEADER, pin_hash=PinHasher(hq.settings.pin_hashing).hash(pin)))
    subject = Subject(new_id(), SubjectKind.MOBILE_VENDOR, name="赵老三烧烤", district=DISTRICT)
    with hq.storage.transaction() as tx:
        tx.save_subject(subject, at=hq.clock())
    with hq.client() as client:
        devices = {caller: f"matrix-{caller}" for caller in SIGNED_IN}
        headers = {caller: sign_in(client, SIGNED_IN[caller], devices[caller]) for caller in SIGNED_IN}
        photo, upload = evidence_photo(), evidence_photo()
        own = devices["owner"]
        case = make_case(OWNER, photos=(photo_ref(photo),), device_id=own, seq=1)
        listing = make_case(OWNER, photos=(photo_ref(upload),), device_id=own, seq=2)
        to_review = make_case(OWNER, device_id=own, seq=3)
        to_decide = make_case(OWNER, device_id=own, seq=4)
        answer = client.post(
            "/v1/push", json=push_body(own, case, listing, to_review, to_decide), headers=headers["owner"]
        )
        assert [r["status"] for r in answer.json()["results"]] == ["accepted"] * 4, answer.text
        sha = photo_ref(photo).sha256
        put = client.put(f"/v1/photos/{sha}", content=photo, headers=headers["owner"] | OCTET)
        assert put.status_code == 200, put.text
        victim = "owner-spare-phone"
        sign_in(client, OWNER, victim)
        revoked = sign_in(client, OWNER, "owner-lost-phone")
        assert client.post("/v1/auth/sign-out", headers=revoked).status_code == 200
        expired = new_token()
        now = hq.clock()
        with hq.storage.transaction() as tx:
            issued = now - timedelta(days=15)
            tx.add_token(
                TokenRow(token_hash(expired), "owner-old-phone", OWNER.badge, issued, now - timedelta(days=1))
            )
        headers |= {"revoked": revoked, "expired": {"Authorization": f"Bearer {expired}"}, "none": {}}
        devices |= {"revoked": "owner-lost-phone", "expired": "owner-old-phone", "none": "no-phone"}
        order, resolved = _work_orders(hq, client, headers, devices)
        yield World(hq, client, headers, devices, case, photo, upload, subject, victim, to_review, to_decide,
                    order, resolved)  # fmt: skip
    hq.close()


OCTET = {"Content-Type": "application/octet-stream"}
#: A complaint inside ZD01's demo area (人民路).
COMPLAINT = {
    "source": "12345", "category": "0510", "description": "夜间露天烧烤油烟扰民", "address": "人民路1号",
    "lat": 34.7585, "lon": 113.6735, "caller_name": "赵六", "caller_phone": "13812345678",
}  # fmt: skip


def _work_orders(hq: Hq, client: httpx.Client, headers: dict[str, dict[str, str]],
                 devices: dict[str, str]) -> tuple[str, str]:  # fmt: skip
    """Two orders of ZD01 assigned to the owner by HQ; the owner resolved the second."""
    ids = []
    for _ in range(2):
        made = client.post("/v1/workorders", json=COMPLAINT, headers=headers["hq"])
        assert made.status_code == 200, made.text
        oid = made.json()["order_id"]
        assert client.post(
            f"/v1/workorders/{oid}/route", json={"squad": "ZD01"}, headers=headers["hq"]
        ).is_success
        got = client.post(f"/v1/workorders/{oid}/assign", json={"badge": OWNER.badge}, headers=headers["hq"])
        assert got.status_code == 200, got.text
        ids.append(oid)
    resolution = {
        "id": new_id(), "order_id": ids[1], "round": 1, "device_at": hq.clock().isoformat(),
        "offset_s": 0, "closure": "no_violation", "note": "现场未见烧烤", "photos": ["a" * 64],
    }  # fmt: skip
    body = {"protocol": PROTOCOL_VERSION, "device_id": devices["owner"],
            "records": [{"kind": "work_order_resolution", "id": resolution["id"], "device_seq": 900,
                         "payload": resolution}]}  # fmt: skip
    pushed = client.post("/v1/push", json=body, headers=headers["owner"])
    assert pushed.json()["results"][0]["status"] == "accepted", pushed.text
    return ids[0], ids[1]


Request = Callable[[World, str, dict[str, str]], httpx.Response]


def _push(world: World, caller: str, auth: dict[str, str], kind: str, record: object) -> httpx.Response:
    payload = to_json_dict(record)
    body = {
        "protocol": PROTOCOL_VERSION,
        "device_id": world.devices[caller],
        "records": [{"kind": kind, "id": payload["id"], "device_seq": world.seq(), "payload": payload}],
    }
    return world.client.post("/v1/push", json=body, headers=auth)


def _review(world: World, caller: str) -> Review:
    reviewer = SIGNED_IN.get(caller, OWNER).badge
    at = datetime(2026, 11, 22, 23, 0, tzinfo=LOCAL_TZ)
    case = world.to_review
    return Review(new_id(), case.id, case.case_no, ReviewDecision.APPROVE, reviewer, at, "证据齐全")


def _sign_in(w: World, c: str, a: dict[str, str]) -> httpx.Response:
    body = {"badge": OWNER.badge, "pin": PINS[OWNER.badge], "device_id": f"sign-in-{w.seq()}"}
    return w.client.post("/v1/auth/sign-in", json=body, headers=a)


def _zones() -> bytes:
    return json.dumps(demo_zones(), ensure_ascii=False).encode("utf-8")


def _sha(data: bytes) -> str:
    return photo_ref(data).sha256


def _two_subjects(w: World) -> tuple[str, str]:
    """Two fresh vendors of the owner's district sharing a phone number (a merge suggestion)."""
    n = w.seq()
    phone = f"139{n:08d}"
    pair = [Subject(new_id(), SubjectKind.MOBILE_VENDOR, name=f"孙记烤串{n}", phone=phone, district=DISTRICT)
            for _ in range(2)]  # fmt: skip
    with w.hq.storage.transaction() as tx:
        for subject in pair:
            tx.save_subject(subject, at=w.hq.clock())
            note_subject(tx, subject, at=w.hq.clock())
    return pair[0].id, pair[1].id


def _merge(w: World, a: dict[str, str]) -> httpx.Response:
    alias, survivor = _two_subjects(w)
    return w.client.post(f"/v1/subjects/{alias}/merge", json={"into": survivor}, headers=a)


def _unmerge(w: World, a: dict[str, str]) -> httpx.Response:
    alias, survivor = _two_subjects(w)
    with w.hq.storage.transaction() as tx:
        merge_subjects(tx, LEADER, alias, survivor, w.hq.clock())
    return w.client.post(f"/v1/subjects/{alias}/unmerge", headers=a)


SUGGESTED = ("matrix-twin-a", "matrix-twin-b")
CONFLICT_ID = "matrix-conflict"


def _suggestions(w: World, a: dict[str, str]) -> httpx.Response:
    with w.hq.storage.transaction() as tx:
        if tx.get_subject(SUGGESTED[0]) is None:
            for subject_id in SUGGESTED:
                twin = Subject(subject_id, SubjectKind.MOBILE_VENDOR, phone="13912340000", district=DISTRICT,
                               description="蓝色三轮车")  # fmt: skip
                tx.save_subject(twin, at=w.hq.clock())
                note_subject(tx, twin, at=w.hq.clock())
    return w.client.get("/v1/merge-suggestions", params={"limit": 500}, headers=a)


def _conflict(w: World, conflict_id: str) -> str:
    with w.hq.storage.transaction() as tx:
        if tx.get_subject_conflict(conflict_id) is None:
            tx.add_subject_conflict(
                SubjectConflict(conflict_id, w.subject.id, DISTRICT, "address", "", "人民路1号", "人民路2号",
                                OWNER.badge, w.devices["owner"], w.hq.clock())
            )  # fmt: skip
    return conflict_id


# How each row is asked (caller ``c`` with headers ``a``), and what in the answer shows the target's data.
def _open311_get(path: str) -> Request:
    """GET an Open311 resource (``{order}``: the owner's work order)."""
    return lambda w, c, a: w.client.get(f"/open311/v2/{path}".replace("{order}", w.order), headers=a)


def _open311_post(path: str) -> Request:
    """POST a complaint without a partner's api_key (the caller's bearer token is no key)."""
    form = {"service_code": "0510", "description": "烧烤", "lat": "34.7585", "long": "113.6735"}
    return lambda w, c, a: w.client.post(f"/open311/v2/{path}", data=form, headers=a)


REQUESTS: dict[str, Request] = {
    "GET /v1/health": lambda w, c, a: w.client.get("/v1/health", headers=a),
    "POST /v1/auth/sign-in": _sign_in,
    "POST /v1/auth/sign-out": lambda w, c, a: w.client.post("/v1/auth/sign-out", headers=w.fresh(c)),
    "GET /v1/devices": lambda w, c, a: w.client.get("/v1/devices", headers=a),
    "GET /v1/devices ?badge=owner": lambda w, c, a: w.client.get(
        "/v1/devices", params={"badge": OWNER.badge}, headers=a
    ),
    "POST /v1/devices/{device_id}/revoke": lambda w, c, a: w.client.post(
        f"/v1/devices/{w.victim}/revoke", headers=a
    ),
    "POST /v1/push : owner's case": lambda w, c, a: _push(
        w, c, a, "case", make_case(OWNER, device_id=w.devices[c], seq=w.seq())
    ),
    "POST /v1/push : review of owner's case": lambda w, c, a: _push(w, c, a, "review", _review(w, c)),
    "POST /v1/push : district's subject": lambda w, c, a: _push(
        w,
        c,
        a,
        "subject",
        Subject(new_id(), SubjectKind.SHOP, name="新登记店铺", address="人民路1号", district=DISTRICT),
    ),
    "HEAD /v1/photos/{sha256}": lambda w, c, a: w.client.head(f"/v1/photos/{_sha(w.photo)}", headers=a),
    "GET /v1/photos/{sha256}": lambda w, c, a: w.client.get(f"/v1/photos/{_sha(w.photo)}", headers=a),
    "PUT /v1/photos/{sha256}": lambda w, c, a: w.client.put(
        f"/v1/photos/{_sha(w.upload)}", content=w.upload, headers=a | OCTET
    ),
    "GET /v1/changes": lambda w, c, a: w.client.get("/v1/changes", params={"limit": 1000}, headers=a),
    "GET /v1/cases": lambda w, c, a: w.client.get("/v1/cases", headers=a),
    "GET /v1/cases ?officer_badge=owner": lambda w, c, a: w.client.get(
        "/v1/cases", params={"officer_badge": OWNER.badge}, headers=a
    ),
    "GET /v1/cases ?squad_code=owner's": lambda w, c, a: w.client.get(
        "/v1/cases", params={"squad_code": OWNER.squad_code}, headers=a
    ),
    "GET /v1/cases/{case_id}": lambda w, c, a: w.client.get(f"/v1/cases/{w.case.id}", headers=a),
    "GET /v1/subjects": lambda w, c, a: w.client.get("/v1/subjects", headers=a),
    "GET /v1/subjects ?district=owner's": lambda w, c, a: w.client.get(
        "/v1/subjects", params={"district": DISTRICT}, headers=a
    ),
    "GET /v1/subjects/{subject_id}": lambda w, c, a: w.client.get(f"/v1/subjects/{w.subject.id}", headers=a),
    "GET /v1/review/queue ?squad=owner's": lambda w, c, a: w.client.get(
        "/v1/review/queue", params={"squad": OWNER.squad_code, "day": DAY.isoformat()}, headers=a
    ),
    "POST /v1/review/{case_id}": lambda w, c, a: w.client.post(
        f"/v1/review/{w.to_decide.id}", json={"decision": "approve", "comment": "核查无误"}, headers=a
    ),
    "GET /v1/reports/daylog ?squad=owner's": lambda w, c, a: w.client.get(
        "/v1/reports/daylog",
        params={"squad": OWNER.squad_code, "day": DAY.isoformat(), "format": "csv"},
        headers=a,
    ),
    "GET /v1/zones": lambda w, c, a: w.client.get("/v1/zones", headers=a),
    "PUT /v1/zones": lambda w, c, a: w.client.put("/v1/zones", content=_zones(), headers=a),
    "GET /v1/policy": lambda w, c, a: w.client.get("/v1/policy", headers=a),
    "POST /v1/workorders": lambda w, c, a: w.client.post("/v1/workorders", json=COMPLAINT, headers=a),
    "GET /v1/workorders": lambda w, c, a: w.client.get("/v1/workorders", headers=a),
    "GET /v1/workorders/{order_id}": lambda w, c, a: w.client.get(f"/v1/workorders/{w.order}", headers=a),
    "POST /v1/workorders/{order_id}/route": lambda w, c, a: w.client.post(
        f"/v1/workorders/{w.order}/route", json={"squad": "ZD01"}, headers=a
    ),
    "POST /v1/workorders/{order_id}/assign": lambda w, c, a: w.client.post(
        f"/v1/workorders/{w.order}/assign", json={"badge": OWNER.badge}, headers=a
    ),
    "POST /v1/workorders/{order_id}/follow-up": lambda w, c, a: w.client.post(
        f"/v1/workorders/{w.resolved}/follow-up",
        json={"reached": True, "satisfaction": "satisfied"},
        headers=a,
    ),
    "GET /open311/v2/discovery.json": _open311_get("discovery.json"),
    "GET /open311/v2/discovery.xml": _open311_get("discovery.xml"),
    "GET /open311/v2/services.json": _open311_get("services.json"),
    "GET /open311/v2/services.xml": _open311_get("services.xml"),
    "GET /open311/v2/services/{service_code}.json": _open311_get("services/0510.json"),
    "GET /open311/v2/services/{service_code}.xml": _open311_get("services/0510.xml"),
    "GET /open311/v2/requests.json": _open311_get("requests.json"),
    "GET /open311/v2/requests.xml": _open311_get("requests.xml"),
    "GET /open311/v2/requests/{request_id}.json": _open311_get("requests/{order}.json"),
    "GET /open311/v2/requests/{request_id}.xml": _open311_get("requests/{order}.xml"),
    "POST /open311/v2/requests.json": _open311_post("requests.json"),
    "POST /open311/v2/requests.xml": _open311_post("requests.xml"),
    "POST /v1/subjects/{subject_id}/merge": lambda w, c, a: _merge(w, a),
    "POST /v1/subjects/{subject_id}/unmerge": lambda w, c, a: _unmerge(w, a),
    "GET /v1/merge-suggestions": lambda w, c, a: _suggestions(w, a),
    "GET /v1/subjects/{subject_id}/history": lambda w, c, a: w.client.get(
        f"/v1/subjects/{w.subject.id}/history", headers=a
    ),
    "GET /v1/subject-conflicts": lambda w, c, a: (
        _conflict(w, CONFLICT_ID),
        w.client.get("/v1/subject-conflicts", headers=a),
    )[1],
    "POST /v1/subject-conflicts/{conflict_id}/resolve": lambda w, c, a: w.client.post(
        f"/v1/subject-conflicts/{_conflict(w, f'matrix-conflict-{w.seq()}')}/resolve",
        json={"take": "hq"},
        headers=a,
    ),
    "GET /v1/notice-books ?badge=owner": lambda w, c, a: (
        _notice_book(w),
        w.client.get("/v1/notice-books", params={"badge": OWNER.badge}, headers=a),
    )[1],
    "POST /v1/notice-books": lambda w, c, a: (
        _notice_book(w),
        w.client.post("/v1/notice-books", json={"badge": OWNER.badge, "series": "JG-2026-"}, headers=a),
    )[1],
}


def _notice_book(w: World) -> str:
    """The owner's warning-notice book (issue #18), made on first use: its id."""
    with w.hq.storage.transaction() as tx:
        if tx.get_notice_series("JG-2026-") is None:
            save_series(tx, "JG-2026-", district=DISTRICT, width=6, book_size=10, threshold=0, capacity=None,
                        auto=False, at=w.hq.clock(), by="cli")  # fmt: skip
        books = tx.notice_books(badge=OWNER.badge)
        if not books:
            books = [assign_book(tx, badge=OWNER.badge, series="JG-2026-", at=w.hq.clock(), by="cli")]
        return books[0].book_id


#: What of the target an answer holds when the caller may see it (rows without an entry have no target).
MARKS: dict[str, Callable[[World], bytes]] = {
    "GET /v1/devices ?badge=owner": lambda w: w.victim.encode(),
    "GET /v1/photos/{sha256}": lambda w: w.photo,
    "GET /v1/changes": lambda w: w.case.id.encode(),
    "GET /v1/cases": lambda w: w.case.id.encode(),
    "GET /v1/cases ?officer_badge=owner": lambda w: w.case.id.encode(),
    "GET /v1/cases ?squad_code=owner's": lambda w: w.case.id.encode(),
    "GET /v1/cases/{case_id}": lambda w: w.case.id.encode(),
    "GET /v1/subjects": lambda w: w.subject.id.encode(),
    "GET /v1/subjects ?district=owner's": lambda w: w.subject.id.encode(),
    "GET /v1/subjects/{subject_id}": lambda w: w.subject.id.encode(),
    "GET /v1/review/queue ?squad=owner's": lambda w: w.case.id.encode(),
    "GET /v1/reports/daylog ?squad=owner's": lambda w: w.case.case_no.encode(),
    "GET /v1/policy": lambda w: b'"builtin_zh"',
    "GET /v1/workorders": lambda w: w.order.encode(),
    "GET /v1/workorders/{order_id}": lambda w: w.order.encode(),
    "GET /open311/v2/requests/{request_id}.json": lambda w: w.order.encode(),
    "GET /open311/v2/requests/{request_id}.xml": lambda w: w.order.encode(),
    "GET /v1/merge-suggestions": lambda w: SUGGESTED[0].encode(),
    "GET /v1/subjects/{subject_id}/history": lambda w: w.subject.id.encode(),
    "GET /v1/subject-conflicts": lambda w: CONFLICT_ID.encode(),
    "GET /v1/notice-books ?badge=owner": lambda w: _notice_book(w).encode(),
}


PUSHED = {
    "POST /v1/push : owner's case": "case",
    "POST /v1/push : review of owner's case": "review",
    "POST /v1/push : district's subject": "subject",
}


def operation(key: str) -> tuple[str, str]:
    """(METHOD, path) of a table key."""
    method, path = key.split()[:2]
    return method, path


ROWS = [(key, caller, expected) for key, row in TABLE for caller, expected in zip(CALLERS, row, strict=True)]


def test_the_table_has_a_row_for_every_operation_and_caller(world: World) -> None:
    published = {
        (method.upper(), path)
        for path, item in world.hq.app.openapi()["paths"].items()
        for method in item
        if method in {"get", "put", "post", "delete", "patch", "head"}
    }
    assert {operation(key) for key, _ in TABLE} == published
    assert all(len(row) == len(CALLERS) for _, row in TABLE)
    assert set(REQUESTS) == {key for key, _ in TABLE}
    assert set(MARKS) <= set(REQUESTS)


@pytest.mark.parametrize(("key", "caller", "expected"), ROWS, ids=[f"{k} | {c}" for k, c, _ in ROWS])
def test_access(world: World, key: str, caller: str, expected: str) -> None:
    answer = REQUESTS[key](world, caller, world.headers[caller])
    mark = MARKS.get(key, lambda w: b"")(world)
    body = answer.content

    if expected == AUTH:
        assert answer.status_code == 401, answer.text
        if answer.request.method != "HEAD":
            assert answer.json()["errno"] == int(UNAUTHENTICATED[caller])
        return
    if expected == KEY:
        assert answer.status_code == 403, answer.text
        if key.endswith(".xml"):  # <errors><error><code>403</code><description>…
            [error_element] = ET.fromstring(body).iterfind("error")
            assert [e.tag for e in error_element] == ["code", "description"]
            assert error_element.findtext("code") == "403"
            return
        [error] = answer.json()
        assert error["code"] == 403
        assert set(error) == {"code", "description"}
        return
    if expected == GONE:
        assert answer.status_code == 404
        assert body == b""
        return
    if expected == DENY:
        assert answer.status_code == 403, answer.text
        error = answer.json()
        assert set(error) == {"errno", "code", "message_zh", "message_en", "detail"}
        assert http_status(error["errno"]) == 403
        assert error["errno"] in {int(Errno.FORBIDDEN), int(Errno.PHOTO_NOT_IN_MANIFEST)}
        assert not mark or mark not in body
        return
    assert answer.status_code == 200, answer.text
    if key.startswith("POST /v1/push"):
        [result] = answer.json()["results"]
        if expected == REF:
            assert result["status"] == "refused", result
            assert result["errno"] == int(Errno.RECORD_NOT_OWNED)
            with world.hq.storage.transaction(readonly=True) as tx:
                stored = {
                    "case": lambda: tx.get_case(result["id"]),
                    "review": lambda: tx.get_review(result["id"]),
                    "subject": lambda: tx.get_subject(result["id"]),
                }[PUSHED[key]]()
            assert stored is None
        else:
            assert result["status"] in ("accepted", "conflict"), result
        return
    assert expected in (OK, NONE)
    if mark:
        assert (mark in body) == (expected == OK), (
            f"{key} as {caller}: target {'missing' if expected == OK else 'leaked'}"
        )


# ------------------------------------------------------------------------------------- the dashboard
# The dashboard's routes are not in the OpenAPI (include_in_schema=False), so the table above cannot see
# them: this one lists them × the callers that matter to a browser session. "xsite" is HQ's own session
# in a request another site made (Origin: http://evil.example): writes refused, reads answered (the
# SameSite=Strict cookie keeps a real cross-site browser from sending it at all).

DASH_CALLERS = ("hq", "leader", "owner", "none", "xsite", "desk")
#: (method, url) → expected status per caller, in DASH_CALLERS order.
DASHBOARD: list[tuple[str, tuple[int, ...]]] = [
    ("GET /dashboard", (200, 303, 403, 200, 200, 303)),  # a leader: to /dashboard/subjects
    ("GET /dashboard/export.csv?days=3&until=2026-11-22", (200, 403, 403, 401, 200, 403)),
    ("GET /dashboard/daylog?squad=ZD01&until=2026-11-22", (200, 403, 403, 401, 200, 403)),
    ("GET /assets/dashboard.css", (200, 200, 200, 200, 200, 200)),
    # hq.dash.fonts: the shipped fonts are public (the sign-in page needs them), read-only, nothing else
    ("GET /assets/fonts/StreetPatrolHan.otf", (200, 200, 200, 200, 200, 200)),
    ("GET /assets/fonts/StreetPatrolHanExt.otf", (200, 200, 200, 200, 200, 200)),
    ("GET /assets/fonts/StreetPatrolHanRare.otf", (200, 200, 200, 200, 200, 200)),
    ("GET /assets/fonts/StreetPatrolEmoji.ttf", (200, 200, 200, 200, 200, 200)),
    ("GET /assets/fonts/StreetPatrolSymbols.ttf", (200, 200, 200, 200, 200, 200)),
    ("GET /assets/fonts/absent.otf", (404, 404, 404, 404, 404, 404)),
    ("POST /assets/fonts/StreetPatrolHan.otf", (405, 405, 405, 405, 405, 405)),
    ("POST /dashboard/sign-in", (303, 303, 403, 422, 403, 303)),
    ("POST /dashboard/sign-out", (303, 303, 303, 303, 403, 303)),
    ("GET /dashboard/sign-out", (405, 405, 405, 405, 405, 405)),
    ("POST /dashboard/users/disable", (200, 403, 403, 401, 403, 403)),
    ("POST /dashboard/users/enable", (200, 403, 403, 401, 403, 403)),
    # hq.dash.zones: the page as /dashboard; an empty upload is refused whole (422) and stores nothing
    ("GET /dashboard/zones", (200, 403, 403, 200, 200, 403)),
    ("GET /dashboard/zones.geojson", (200, 403, 403, 401, 200, 403)),
    ("POST /dashboard/zones", (422, 403, 403, 401, 403, 403)),
    # hq.dash.public: the public disclosure page, no sign-in (its rows for every caller and the personal
    # data it must not show: tests/reliability/test_access_workorders.py)
    ("GET /dashboard/cases?days=3&until=2026-11-22", (200, 403, 403, 401, 200, 403)),
    ("GET /dashboard/conflicts", (200, 403, 403, 401, 200, 403)),
    ("GET /dashboard/offenders?days=3&until=2026-11-22", (200, 403, 403, 401, 200, 403)),
    ("GET /public", (200, 200, 200, 200, 200, 200)),
    ("GET /public?lang=en&month=2026-11", (200, 200, 200, 200, 200, 200)),
    ("GET /public/complaints.csv?month=2026-11", (200, 200, 200, 200, 200, 200)),
    # hq.dash.orders: the work-order pages, for the desk and HQ (an empty intake form is 422; the literal
    # "{raw_id}" is no order id: 404 once the session and the role passed)
    ("GET /dashboard/orders", (200, 403, 403, 200, 200, 200)),
    ("POST /dashboard/orders", (422, 403, 403, 401, 403, 422)),
    ("POST /dashboard/orders/{raw_id}/route", (404, 403, 403, 401, 403, 404)),
    ("POST /dashboard/orders/{raw_id}/assign", (404, 403, 403, 401, 403, 404)),
    ("POST /dashboard/orders/{raw_id}/follow-up", (404, 403, 403, 401, 403, 404)),
    # hq.dash.subjects: merge suggestions and field conflicts, for a leader (own district) and HQ; an empty
    # form names no subject or conflict (422 once the session and the role passed)
    ("GET /dashboard/subjects", (200, 200, 403, 200, 200, 403)),
    ("GET /dashboard/subjects?district=二七区", (200, 403, 403, 200, 200, 403)),
    ("POST /dashboard/subjects/merge", (422, 422, 403, 401, 403, 403)),
    ("POST /dashboard/subjects/split", (422, 422, 403, 401, 403, 403)),
    ("POST /dashboard/subjects/unmerge", (422, 422, 403, 401, 403, 403)),
    ("POST /dashboard/subjects/resolve", (422, 422, 403, 401, 403, 403)),
]
DASH_ROWS = [(key, c, e) for key, row in DASHBOARD for c, e in zip(DASH_CALLERS, row, strict=True)]
DESK = Officer("9101", "热线受理员", "ZH00", "指挥中心", DISTRICT, Role.DESK)
DASH_OFFICERS = {"hq": HQ_USER, "leader": LEADER, "owner": OWNER, "xsite": HQ_USER, "desk": DESK}


@pytest.mark.parametrize(
    ("key", "caller", "expected"), DASH_ROWS, ids=[f"{k} | {c}" for k, c, _ in DASH_ROWS]
)
def test_dashboard_access(
    tmp_path_factory: pytest.TempPathFactory, key: str, caller: str, expected: int
) -> None:
    from hq.dash.caller import COOKIE

    hq = make_hq(tmp_path_factory.mktemp("dashboard"))
    if caller == "desk":
        PINS[DESK.badge] = "269101"
        with hq.storage.transaction() as tx:
            tx.put_user(UserRow(officer=DESK, pin_hash=PinHasher(hq.settings.pin_hashing).hash("269101")))
    try:
        with hq.client() as client:
            officer = DASH_OFFICERS.get(caller)
            cookies: dict[str, str] = {}
            if officer is not None:
                cookies[COOKIE] = sign_in(client, officer, f"web-{caller}")["Authorization"].split()[1]
            headers = {"Origin": "http://evil.example"} if caller == "xsite" else {}
            method, url = key.split()
            form = (
                {"badge": officer.badge, "pin": PINS[officer.badge]} if officer and "sign-in" in url else {}
            ) or ({"badge": OFFICER_B.badge} if "/users/" in url else {})
            with hq.client(cookies=cookies) as browser:
                answer = browser.request(method, url, headers=headers, data=form or None)
            assert answer.status_code == expected, answer.text[:200]
            if (expected == 403 and caller == "xsite") or expected == 401:
                assert answer.json()["errno"] in {int(Errno.FORBIDDEN), int(Errno.TOKEN_MISSING)}
            if method == "POST" and caller == "xsite" and officer is not None:
                # the refused sign-out left the session alive
                with hq.client(cookies=cookies) as browser:
                    assert 'id="total-cases"' in browser.get("/dashboard").text
    finally:
        hq.close()


def test_the_dashboard_table_covers_every_dashboard_route(world: World) -> None:
    routes = {
        (method, route.path)
        for route in world.hq.app.routes
        if getattr(route, "path", "").startswith(("/dashboard", "/assets/dashboard", "/public"))
        for method in getattr(route, "methods", ()) - {"HEAD"}
    }
    listed = {(key.split()[0], key.split()[1].split("?")[0]) for key, _ in DASHBOARD}
    assert routes <= listed
