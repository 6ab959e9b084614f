"""Resolution photos of work orders (#15): ``PUT /v1/photos/{sha}`` takes a hash the officer's own
work-order resolution names (as it takes one of the officer's own cases) and counts it for that order;
another officer's resolution photo, or a hash nobody named, is still refused."""

from __future__ import annotations

import hashlib
from pathlib import Path

import httpx

from enforcement.model import new_id
from hq.demo_zones import seed_demo_zones
from sync.protocol import PROTOCOL_VERSION, Errno
from testkit.hqkit import HQ_USER, OFFICER, OFFICER_B, make_hq, photo_bytes, sign_in


def _push(client: httpx.Client, headers: dict[str, str], device: str, kind: str, payload: dict) -> dict:
    body = {
        "protocol": PROTOCOL_VERSION,
        "device_id": device,
        "records": [{"kind": kind, "id": payload["id"], "device_seq": 1, "payload": payload}],
    }
    answer = client.post("/v1/push", json=body, headers=headers)
    assert answer.status_code == 200, answer.text
    return dict(answer.json()["results"][0])


def test_a_resolution_photo_is_uploadable_by_its_officer_only_and_counted(tmp_path: Path) -> None:
    hq = make_hq(tmp_path)
    seed_demo_zones(hq.storage, hq.clock())
    server = hq.serve()
    try:
        with httpx.Client(base_url=server.url, timeout=30) as web:
            desk = sign_in(web, HQ_USER, "hq-web")
            officer = sign_in(web, OFFICER, "officer-phone")
            other = sign_in(web, OFFICER_B, "other-phone")
            complaint = {
                "source": "12345",
                "category": "0510",
                "description": "占道经营",
                "address": "人民路",
            }
            rid = web.post("/v1/workorders", json=complaint, headers=desk).json()["order_id"]
            assert web.post(
                f"/v1/workorders/{rid}/assign", json={"badge": OFFICER.badge}, headers=desk
            ).is_success
            data = photo_bytes("resolution", 4000)
            sha = hashlib.sha256(data).hexdigest()
            put = {"content-type": "application/octet-stream"}
            # before any resolution names it: refused
            early = web.put(f"/v1/photos/{sha}", content=data, headers=officer | put)
            assert early.json()["errno"] == Errno.PHOTO_NOT_IN_MANIFEST
            resolution = {
                "id": new_id(),
                "order_id": rid,
                "round": 1,
                "device_at": hq.clock().isoformat(),
                "offset_s": 0,
                "closure": "no_violation",
                "note": "现场未发现",
                "photos": [sha],
            }
            assert (
                _push(web, officer, "officer-phone", "work_order_resolution", resolution)["status"]
                == "accepted"
            )
            before = web.get(f"/v1/workorders/{rid}", headers=desk).json()
            assert (before["photos_named"], before["photos_received"]) == (1, 0)
            # another officer cannot upload it through someone else's resolution
            stranger = web.put(f"/v1/photos/{sha}", content=data, headers=other | put)
            assert stranger.json()["errno"] == Errno.PHOTO_NOT_IN_MANIFEST
            stored = web.put(f"/v1/photos/{sha}", content=data, headers=officer | put)
            assert stored.status_code == 200, stored.text
            assert stored.json()["stored"]
            after = web.get(f"/v1/workorders/{rid}", headers=desk).json()
            assert (after["photos_named"], after["photos_received"]) == (1, 1)
    finally:
        hq.close()
