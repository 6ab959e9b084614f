"""Every request is scoped: officers their own cases and their district's registry, leaders their squad,
HQ everything. A denial is 403 with an errno and no data."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from enforcement.codec import to_json_dict
from enforcement.model import Subject, SubjectKind, new_id
from sync.protocol import PROTOCOL_VERSION, Errno
from testkit.hqkit import (
    DISTRICT,
    HQ_USER,
    LEADER,
    OFFICER,
    OFFICER_B,
    OFFICER_C,
    OFFICER_FAR,
    OTHER_DISTRICT,
    Hq,
    make_case,
    make_hq,
    push_body,
    sign_in,
)
from tests.hq.test_api import assert_error


@pytest.fixture
def world(tmp_path: Path) -> Iterator[tuple[Hq, httpx.Client, dict[str, str]]]:
    """Officers 1023 (ZD01), 1024 (ZD01) and 2031 (ZD02) each pushed one case; case ids by badge."""
    hq = make_hq(tmp_path)
    with hq.client() as client:
        ids = {}
        for officer in (OFFICER, OFFICER_B, OFFICER_C):
            device = f"dev-{officer.badge}"
            auth = sign_in(client, officer, device)
            case = make_case(officer, device_id=device)
            assert client.post("/v1/push", json=push_body(device, case), headers=auth).status_code == 200
            ids[officer.badge] = case.id
        yield hq, client, ids
    hq.close()


def listed(client: httpx.Client, auth: dict[str, str], **params: str) -> set[str]:
    response = client.get("/v1/cases", params=params, headers=auth)
    assert response.status_code == 200, response.text
    return {c["officer_badge"] for c in response.json()["cases"]}


def test_an_officer_reads_only_their_own_cases(world: tuple[Hq, httpx.Client, dict[str, str]]) -> None:
    _, client, ids = world
    auth = sign_in(client, OFFICER)
    assert listed(client, auth) == {OFFICER.badge}
    assert client.get(f"/v1/cases/{ids[OFFICER.badge]}", headers=auth).status_code == 200
    denied = client.get(f"/v1/cases/{ids[OFFICER_B.badge]}", headers=auth)
    body = assert_error(denied, 403, Errno.FORBIDDEN)
    assert set(body) == {"errno", "code", "message_zh", "message_en", "detail"}
    assert ids[OFFICER_B.badge] not in denied.text
    assert_error(
        client.get("/v1/cases", params={"officer_badge": OFFICER_B.badge}, headers=auth), 403, Errno.FORBIDDEN
    )
    assert_error(client.get("/v1/cases", params={"squad_code": "ZD01"}, headers=auth), 403, Errno.FORBIDDEN)


def test_a_leader_reads_their_squad_only(world: tuple[Hq, httpx.Client, dict[str, str]]) -> None:
    _, client, ids = world
    auth = sign_in(client, LEADER)
    assert listed(client, auth) == {OFFICER.badge, OFFICER_B.badge}
    assert listed(client, auth, officer_badge=OFFICER_B.badge) == {OFFICER_B.badge}
    assert client.get(f"/v1/cases/{ids[OFFICER_B.badge]}", headers=auth).status_code == 200
    assert_error(client.get(f"/v1/cases/{ids[OFFICER_C.badge]}", headers=auth), 403, Errno.FORBIDDEN)
    assert_error(client.get("/v1/cases", params={"squad_code": "ZD02"}, headers=auth), 403, Errno.FORBIDDEN)
    assert listed(client, auth, officer_badge=OFFICER_C.badge) == set()


def test_hq_reads_everything(world: tuple[Hq, httpx.Client, dict[str, str]]) -> None:
    _, client, ids = world
    auth = sign_in(client, HQ_USER)
    assert listed(client, auth) == {OFFICER.badge, OFFICER_B.badge, OFFICER_C.badge}
    assert listed(client, auth, squad_code="ZD02") == {OFFICER_C.badge}
    for case_id in ids.values():
        assert client.get(f"/v1/cases/{case_id}", headers=auth).status_code == 200
    assert_error(client.get("/v1/cases/no-such-case", headers=auth), 404, Errno.NOT_FOUND)


def test_the_subject_registry_is_read_per_district(world: tuple[Hq, httpx.Client, dict[str, str]]) -> None:
    hq, client, _ = world
    here = Subject(new_id(), SubjectKind.MOBILE_VENDOR, name="赵老三烧烤", district=DISTRICT)
    there = Subject(new_id(), SubjectKind.SHOP, name="远方小店", district=OTHER_DISTRICT)
    with hq.storage.transaction() as tx:
        tx.save_subject(here, at=hq.clock())
        tx.save_subject(there, at=hq.clock())
    auth = sign_in(client, OFFICER)
    names = [s["name"] for s in client.get("/v1/subjects", headers=auth).json()["subjects"]]
    assert names == ["赵老三烧烤"]
    assert client.get(f"/v1/subjects/{here.id}", headers=auth).json()["name"] == "赵老三烧烤"
    assert_error(client.get(f"/v1/subjects/{there.id}", headers=auth), 403, Errno.FORBIDDEN)
    assert_error(
        client.get("/v1/subjects", params={"district": OTHER_DISTRICT}, headers=auth), 403, Errno.FORBIDDEN
    )
    far = sign_in(client, OFFICER_FAR)
    assert [s["name"] for s in client.get("/v1/subjects", headers=far).json()["subjects"]] == ["远方小店"]
    hq_auth = sign_in(client, HQ_USER)
    response = client.get("/v1/subjects", params={"district": OTHER_DISTRICT}, headers=hq_auth)
    assert [s["name"] for s in response.json()["subjects"]] == ["远方小店"]


def test_pulled_registry_changes_stay_in_their_district(
    world: tuple[Hq, httpx.Client, dict[str, str]],
) -> None:
    _, client, _ = world
    auth = sign_in(client, OFFICER, "dev-1023")
    subject = Subject(new_id(), SubjectKind.MOBILE_VENDOR, name="新登记摊贩", district=DISTRICT)
    body = {
        "protocol": PROTOCOL_VERSION,
        "device_id": "dev-1023",
        "records": [{"kind": "subject", "id": subject.id, "device_seq": 5, "payload": to_json_dict(subject)}],
    }
    assert client.post("/v1/push", json=body, headers=auth).json()["results"][0]["status"] == "accepted"
    colleague = sign_in(client, OFFICER_C)
    kinds = {(c["kind"], c["id"]) for c in client.get("/v1/changes", headers=colleague).json()["changes"]}
    assert ("subject", subject.id) in kinds
    far = sign_in(client, OFFICER_FAR)
    kinds = {(c["kind"], c["id"]) for c in client.get("/v1/changes", headers=far).json()["changes"]}
    assert ("subject", subject.id) not in kinds
