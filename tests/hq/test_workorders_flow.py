"""A work order end to end at HQ (#15): Open311 conformance with plain httpx against a real HQ on loopback,
zone routing, assignment, the officer's pull and pushed events (clock corrected), follow-up and reopening,
and the public page without personal data."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import httpx

from enforcement.model import new_id
from hq.demo_zones import seed_demo_zones
from hq.workorders import add_partner
from sync.protocol import PROTOCOL_VERSION
from testkit.hqkit import HQ_USER, LEADER, OFFICER, make_hq, sign_in

NAME, PHONE, ADDRESS = "赵六", "13812345678", "人民路1号院内"
POINT = {"lat": "34.7466", "long": "113.6253"}  # on 人民路, inside ZD01's demo area


def _push(
    client: httpx.Client, headers: dict[str, str], device: str, kind: str, payload: dict, seq: int
) -> dict:
    body = {
        "protocol": PROTOCOL_VERSION,
        "device_id": device,
        "records": [{"kind": kind, "id": payload["id"], "device_seq": seq, "payload": payload}],
    }
    answer = client.post("/v1/push", json=body, headers=headers)
    assert answer.status_code == 200, answer.text
    return dict(answer.json()["results"][0])


def test_open311_to_follow_up_and_disclosure(tmp_path: Path) -> None:
    hq = make_hq(tmp_path)
    seed_demo_zones(hq.storage, hq.clock())
    key = add_partner(hq.storage, "12345平台", at=hq.clock())
    server = hq.serve()
    try:
        with httpx.Client(base_url=server.url, timeout=30) as web:
            # --- Open311 GeoReport v2, as a partner's client would use it
            discovery = web.get("/open311/v2/discovery.json").json()
            assert discovery["endpoints"][0]["formats"] == ["text/xml", "application/json"]
            services = web.get("/open311/v2/services.json").json()
            codes = {s["service_code"] for s in services}
            assert "0510" in codes
            assert all(
                {"service_code", "service_name", "group", "metadata", "type"} <= set(s) for s in services
            )
            refused = web.post("/open311/v2/requests.json", data={"service_code": "0510", "description": "x"})
            assert refused.status_code == 403
            assert refused.json()[0]["code"] == 403
            bad = web.post(
                "/open311/v2/requests.json", data={"api_key": key, "service_code": "9999", **POINT}
            )
            assert bad.status_code == 400
            assert set(bad.json()[0]) == {"code", "description"}
            form = {
                "api_key": key,
                "service_code": "0510",
                "description": "夜里露天烧烤，油烟很大",
                "address_string": ADDRESS,
                "first_name": "六",
                "last_name": "赵",
                "phone": PHONE,
                **POINT,
            }
            filed = web.post("/open311/v2/requests.json", data=form)
            assert filed.status_code == 200, filed.text
            rid = filed.json()[0]["service_request_id"]
            [one] = web.get(f"/open311/v2/requests/{rid}.json").json()
            assert one["status"] == "open"
            assert one["status_notes"].startswith("受理") or one["status_notes"].startswith("派遣")
            assert one["requested_datetime"].endswith("+08:00")
            listed = web.get("/open311/v2/requests.json", params={"status": "open"}).text
            for secret in (NAME, PHONE, ADDRESS, "34.7466", "113.6253"):
                assert secret not in listed
                assert secret not in str(one)
            assert web.get("/open311/v2/requests/nope.json").status_code == 404

            # --- routed to ZD01 by its area; the leader sees it, assigns the officer
            leader = sign_in(web, LEADER, "leader-phone")
            officer = sign_in(web, OFFICER, "officer-phone")
            hq_user = sign_in(web, HQ_USER, "hq-web")
            seen = web.get(f"/v1/workorders/{rid}", headers=leader).json()
            assert seen["squad"] == "ZD01"
            assert seen["caller_phone"] == "138****5678"
            assert (
                web.post(
                    f"/v1/workorders/{rid}/assign", json={"badge": OFFICER.badge}, headers=leader
                ).status_code
                == 200
            )
            pulled = web.get("/v1/changes", params={"limit": 1000}, headers=officer).json()["changes"]
            mine = [c for c in pulled if c["kind"] == "work_order" and c["id"] == f"{rid}@{OFFICER.badge}"]
            assert mine
            assert mine[0]["data"]["caller_name"] == "赵*"

            # --- the officer's phone: its clock 2 h ahead, it knows the offset; arrival 20 min after intake
            hq.clock.now += timedelta(minutes=20)
            device_at = hq.clock() + timedelta(hours=2)
            arrival = {
                "id": new_id(),
                "order_id": rid,
                "round": 1,
                "device_at": device_at.isoformat(),
                "offset_s": -7200,
                "lat": 34.7467,
                "lon": 113.6254,
            }
            assert (
                _push(web, officer, "officer-phone", "work_order_arrival", arrival, 1)["status"] == "accepted"
            )
            assert (
                _push(web, officer, "officer-phone", "work_order_arrival", arrival, 1)["status"]
                == "duplicate"
            )
            stranger = sign_in(web, LEADER, "leader-2")
            res = {
                "id": new_id(),
                "order_id": rid,
                "round": 1,
                "device_at": device_at.isoformat(),
                "closure": "self_corrected",
                "note": "摊主已收摊",
                "photos": ["b" * 64],
            }
            assert _push(web, stranger, "leader-2", "work_order_resolution", res, 1)["errno"] == 3021
            assert (
                _push(web, officer, "officer-phone", "work_order_resolution", res, 2)["status"] == "accepted"
            )
            state = web.get(f"/v1/workorders/{rid}", headers=hq_user).json()
            assert state["rounds"][0]["arrived_on_time"]
            assert state["rounds"][0]["resolved_on_time"]
            assert state["rounds"][0]["distance_m"] < 50

            # --- follow-up: 不满意 reopens round 2 of the same order
            fu = {"reached": True, "satisfaction": "unsatisfied", "comment": "还在烧烤", "reopen": True}
            again = web.post(f"/v1/workorders/{rid}/follow-up", json=fu, headers=hq_user).json()
            assert again["round"] == 2
            assert again["stage"] == "dispatched"

            # --- the public page and CSV: figures, no personal data
            page = web.get("/public")
            assert page.status_code == 200
            assert "受理热线投诉 1 件" in page.text
            csv_text = web.get("/public/complaints.csv").text
            for secret in (NAME, PHONE, ADDRESS):
                assert secret not in page.text
                assert secret not in csv_text
    finally:
        hq.close()
