"""Review at HQ (issue #6): the leader's queue, decisions that behave like pushed review records, the
rule that 处罚 cases and stage conflicts need a decision, and the day-log download."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import httpx
import pytest

from enforcement.model import Case, Stage, new_id
from hq.storage.base import iter_all_audit
from sync.protocol import PROTOCOL_VERSION, Errno
from testkit.hqkit import (
    HQ_USER,
    LEADER,
    OFFICER,
    OFFICER_C,
    Hq,
    make_case,
    make_hq,
    push_body,
    sign_in,
)
from tests.hq.test_api import assert_error


@dataclass
class World:
    hq: Hq
    client: httpx.Client
    officer: dict[str, str]
    leader: dict[str, str]
    plain: Case  # 1023's 劝导 case, HQ agrees
    conflict: Case  # 1023's case the phone put at 处罚; HQ (no history) says 劝导
    far: Case  # 2031's case in squad ZD02


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    hq = make_hq(tmp_path)
    with hq.client() as client:
        officer = sign_in(client, OFFICER, "dev-1023")
        plain = make_case(OFFICER, seq=1, device_id="dev-1023")
        conflict = make_case(OFFICER, seq=2, device_id="dev-1023", computed=Stage.PENALTY)
        pushed = client.post("/v1/push", json=push_body("dev-1023", plain, conflict), headers=officer).json()
        assert [r["status"] for r in pushed["results"]] == ["accepted", "conflict"]
        other = sign_in(client, OFFICER_C, "dev-2031")
        far = make_case(OFFICER_C, seq=1, device_id="dev-2031")
        assert client.post("/v1/push", json=push_body("dev-2031", far), headers=other).status_code == 200
        yield World(hq, client, officer, sign_in(client, LEADER, "dev-1001"), plain, conflict, far)
    hq.close()


def queue(w: World, auth: dict[str, str] | None = None, **params: str) -> dict:
    response = w.client.get("/v1/review/queue", params=params, headers=auth or w.leader)
    assert response.status_code == 200, response.text
    return response.json()


def decide(w: World, case_id: str, decision: str, comment: str = "", **extra: str) -> httpx.Response:
    body = {"decision": decision, "comment": comment, **extra}
    return w.client.post(f"/v1/review/{case_id}", json=body, headers=w.leader)


def test_queue_puts_decisions_first(world: World) -> None:
    q = queue(world)
    assert (q["day"], q["squad_code"], q["squad_name"]) == ("2026-11-22", "ZD01", "人民路中队")
    assert [(i["case_id"], i["status"], i["needs_decision"]) for i in q["items"]] == [
        (world.conflict.id, "needs_decision", True),
        (world.plain.id, "counted", False),
    ]
    first = q["items"][0]
    assert (first["stage"], first["hq_stage"], first["stage_conflict"]) == (3, 1, True)
    assert first["status_zh"] == "待中队长决定"
    assert first["officer_name"] == OFFICER.name
    assert q["counts"] == {"needs_decision": 1, "counted": 1}
    assert q["summary_zh"] == "取缔露天烧烤 2 起"
    assert queue(world, day="2026-11-21")["items"] == []


def test_a_return_reaches_the_officer_and_the_amendment_comes_back(world: World) -> None:
    w = world
    answer = decide(w, w.plain.id, "return", "  照片不清晰，请补拍  ")
    assert answer.status_code == 200, answer.text
    outcome = answer.json()
    assert (outcome["record_status"], outcome["status"], outcome["counts_as_approved"]) == (
        "accepted", "returned", False,
    )  # fmt: skip
    assert outcome["review"]["comment"] == "照片不清晰，请补拍"
    assert outcome["review"]["reviewer_badge"] == LEADER.badge
    assert [i["case_id"] for i in queue(w)["items"]] == [w.conflict.id]

    # the officer's next pull carries the decision and the returned state
    changes = w.client.get("/v1/changes", headers=w.officer).json()["changes"]
    review = next(c for c in changes if c["kind"] == "review")
    assert (review["data"]["case_id"], review["data"]["decision"]) == (w.plain.id, "return")
    state = next(c for c in changes if c["kind"] == "case_state" and c["id"] == w.plain.id)
    assert state["data"]["state"] == "returned"

    # amended as a new version: back in the queue, counted again
    v2 = replace(w.plain, id=new_id(), version=2, supersedes=w.plain.id, notes="已补拍")
    pushed = w.client.post("/v1/push", json=push_body("dev-1023", v2, first_seq=3), headers=w.officer)
    assert pushed.json()["results"][0]["status"] == "accepted"
    items = {i["case_id"]: i for i in queue(w)["items"]}
    assert set(items) == {w.conflict.id, v2.id}
    assert (items[v2.id]["version"], items[v2.id]["status"]) == (2, "counted")

    # the old version can no longer be decided
    assert_error(decide(w, w.plain.id, "approve"), 409, Errno.VERSION_CONFLICT)


def test_penalty_and_conflict_count_only_after_a_decision(world: World) -> None:
    w = world
    review_id = new_id()
    answer = decide(w, w.conflict.id, "approve", "核实为第三次", review_id=review_id).json()
    assert (answer["status"], answer["status_zh"], answer["counts_as_approved"]) == (
        "approved",
        "已通过",
        True,
    )
    again = decide(w, w.conflict.id, "approve", "核实为第三次", review_id=review_id)
    assert again.status_code == 200
    assert again.json()["record_status"] == "duplicate"
    assert again.json()["review"] == answer["review"]
    assert queue(w)["counts"] == {"approved": 1, "counted": 1}
    # the same review id with other content is refused like a pushed record
    assert_error(decide(w, w.conflict.id, "return", "改判", review_id=review_id), 409, Errno.RECORD_ID_REUSED)

    # who, when, why is kept: the stored review and the audit chain
    detail = w.client.get(f"/v1/cases/{w.conflict.id}", headers=w.leader).json()
    assert [(r["decision"], r["reviewer_badge"], r["comment"]) for r in detail["reviews"]] == [
        ("approve", LEADER.badge, "核实为第三次")
    ]
    assert detail["state"]["review"] == "approve"
    events = [e for e in iter_all_audit(w.hq.storage) if e.action == "review"]
    assert [(e.actor, e.target, e.detail["decision"]) for e in events] == [
        (LEADER.badge, w.conflict.id, "approve")
    ]


def test_a_review_pushed_from_the_leaders_phone_counts_the_same(world: World) -> None:
    w = world
    record = {
        "id": new_id(), "case_id": w.conflict.id, "case_no": w.conflict.case_no, "decision": "withdraw",
        "reviewer_badge": LEADER.badge, "decided_at": "2026-11-22T22:30:00+08:00", "comment": "重复登记",
    }  # fmt: skip
    pushed = {"kind": "review", "id": record["id"], "device_seq": 1, "payload": record}
    body = {"protocol": PROTOCOL_VERSION, "device_id": "dev-1001", "records": [pushed]}
    assert w.client.post("/v1/push", json=body, headers=w.leader).json()["results"][0]["status"] == "accepted"
    q = queue(w)
    assert [i["case_id"] for i in q["items"]] == [w.plain.id]
    assert q["counts"] == {"withdrawn": 1, "counted": 1}


def test_refusals(world: World) -> None:
    w = world
    body = assert_error(decide(w, w.plain.id, "return", "   "), 422, Errno.VALIDATION)
    assert body["message_zh"] == "退回或撤销案件须填写理由"
    assert_error(decide(w, w.plain.id, "withdraw"), 422, Errno.VALIDATION)
    assert_error(decide(w, w.far.id, "approve"), 403, Errno.FORBIDDEN)  # another squad's case
    assert_error(decide(w, new_id(), "approve"), 404, Errno.NOT_FOUND)
    assert_error(decide(w, w.plain.id, "maybe"), 422, Errno.VALIDATION)
    officer_try = w.client.post(f"/v1/review/{w.plain.id}", json={"decision": "approve"}, headers=w.officer)
    assert_error(officer_try, 403, Errno.FORBIDDEN)
    assert_error(w.client.get("/v1/review/queue", headers=w.officer), 403, Errno.FORBIDDEN)
    assert_error(
        w.client.get("/v1/review/queue", params={"squad": "ZD02"}, headers=w.leader), 403, Errno.FORBIDDEN
    )
    assert_error(
        w.client.get("/v1/review/queue", params={"day": "22/11"}, headers=w.leader), 422, Errno.VALIDATION
    )
    assert_error(w.client.get("/v1/review/queue"), 401, Errno.TOKEN_MISSING)
    hq = sign_in(w.client, HQ_USER)
    assert_error(w.client.get("/v1/review/queue", headers=hq), 422, Errno.VALIDATION)
    assert_error(w.client.get("/v1/review/queue", params={"squad": "ZZ99"}, headers=hq), 404, Errno.NOT_FOUND)
    # nothing was stored by the refusals
    assert queue(w)["counts"] == {"needs_decision": 1, "counted": 1}


def test_hq_reviews_and_reads_any_squad(world: World) -> None:
    w = world
    hq = sign_in(w.client, HQ_USER)
    q = queue(w, hq, squad="ZD02")
    assert [i["case_id"] for i in q["items"]] == [w.far.id]
    answer = w.client.post(f"/v1/review/{w.far.id}", json={"decision": "approve"}, headers=hq)
    assert answer.json()["status"] == "approved"
    assert queue(w, hq, squad="ZD02")["items"] == []


def test_daylog_download(world: World) -> None:
    w = world
    decide(w, w.plain.id, "return", "照片不清晰")
    response = w.client.get("/v1/reports/daylog", params={"format": "csv"}, headers=w.leader)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert "filename*=UTF-8''" in response.headers["content-disposition"]
    text = response.content.decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows[:3] == [
        ["中队巡查日志", "2026-11-22"],
        ["中队", "ZD01", "人民路中队"],
        ["汇总", "取缔露天烧烤 2 起"],
    ]
    assert ["退回案件", "1", w.plain.case_no] in rows
    assert [OFFICER.badge, OFFICER.name, "", "", "", "2"] in rows  # no shift pushed: no times

    hq = sign_in(w.client, HQ_USER)
    pdf = w.client.get("/v1/reports/daylog", params={"squad": "ZD02", "day": "2026-11-22"}, headers=hq)
    assert pdf.status_code == 200
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF-")
    assert_error(w.client.get("/v1/reports/daylog", headers=w.officer), 403, Errno.FORBIDDEN)
    assert_error(
        w.client.get("/v1/reports/daylog", params={"squad": "ZD02"}, headers=w.leader), 403, Errno.FORBIDDEN
    )
    assert_error(
        w.client.get("/v1/reports/daylog", params={"format": "xls"}, headers=w.leader), 422, Errno.VALIDATION
    )


def test_the_routes_are_published(world: World) -> None:
    paths = world.client.get("/openapi.json").json()["paths"]
    assert {"/v1/review/queue", "/v1/review/{case_id}", "/v1/reports/daylog"} <= set(paths)
    assert set(paths["/v1/review/{case_id}"]) == {"post"}
    daylog = paths["/v1/reports/daylog"]["get"]
    assert {"application/pdf", "text/csv"} <= set(daylog["responses"]["200"]["content"])


def test_days_out_of_range_and_unknown_ids(world: World) -> None:
    w = world
    for day in ("0001-01-01", "9999-12-31", "1999-12-31"):
        body = assert_error(
            w.client.get("/v1/review/queue", params={"day": day}, headers=w.leader), 422, Errno.VALIDATION
        )
        assert body["message_zh"] == "日期须在 2000-01-01 至 2099-12-31 之间"
        assert_error(
            w.client.get("/v1/reports/daylog", params={"day": day}, headers=w.leader), 422, Errno.VALIDATION
        )
    assert queue(w, day="2099-12-31")["items"] == []
    assert_error(decide(w, "x" * 65, "approve"), 404, Errno.NOT_FOUND)
    assert_error(decide(w, "%ED%A0%80", "approve"), 404, Errno.NOT_FOUND)
