"""Every list pages (keyset cursors, ``hq.paging``), the dashboard reads the kept figures with filters and
trends, and the export streams: over HTTP on a served HQ (SQLite)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from enforcement.codec import to_json_dict
from enforcement.model import LOCAL_TZ, Stage, Subject, SubjectKind, new_id
from hq import export
from hq.export import iter_cases_csv, write_cases_csv
from sync.protocol import PROTOCOL_VERSION, Errno
from testkit.hqkit import (
    DISTRICT,
    HQ_USER,
    LEADER,
    OFFICER,
    OFFICER_C,
    PINS,
    Hq,
    make_case,
    make_hq,
    push_body,
    sign_in,
)


def at(day: int, hour: int) -> datetime:
    return datetime(2026, 11, day, hour, 10, tzinfo=LOCAL_TZ)


@pytest.fixture
def world(tmp_path: Path) -> Iterator[tuple[Hq, httpx.Client]]:
    """7 cases of 1023 (ZD01) on the 20th-22nd, one a conflict; 2 of 2031 (ZD02); 3 subjects."""
    hq = make_hq(tmp_path)
    with hq.client() as client:
        auth = sign_in(client, OFFICER, "dev-1023")
        subjects = [
            Subject(new_id(), SubjectKind.MOBILE_VENDOR, name=f"摊主{i}", district=DISTRICT) for i in range(3)
        ]
        records = [
            {"kind": "subject", "id": s.id, "device_seq": i + 1, "payload": to_json_dict(s)}
            for i, s in enumerate(subjects)
        ]
        body = {"protocol": PROTOCOL_VERSION, "device_id": "dev-1023", "records": records}
        assert client.post("/v1/push", json=body, headers=auth).status_code == 200
        mine = [make_case(OFFICER, seq=i + 1, occurred_at=at(20 + i % 3, 8 + i)) for i in range(6)]
        mine.append(make_case(OFFICER, seq=7, occurred_at=at(22, 20), computed=Stage.WARNING))  # a conflict
        pushed = client.post("/v1/push", json=push_body("dev-1023", *mine, first_seq=10), headers=auth)
        assert [r["status"] for r in pushed.json()["results"]] == ["accepted"] * 6 + ["conflict"]
        other = sign_in(client, OFFICER_C, "dev-2031")
        theirs = [make_case(OFFICER_C, seq=i + 1, occurred_at=at(21, 9 + i)) for i in range(2)]
        assert client.post("/v1/push", json=push_body("dev-2031", *theirs), headers=other).status_code == 200
        yield hq, client
    hq.close()


def _all_pages(
    client: httpx.Client, path: str, key: str, headers: dict[str, str], **params: Any
) -> list[Any]:
    items: list[Any] = []
    cursor = None
    for _ in range(20):
        answer = client.get(
            path, params={**params, **({"cursor": cursor} if cursor else {})}, headers=headers
        )
        assert answer.status_code == 200, answer.text
        items += answer.json()[key]
        cursor = answer.json()["next_cursor"]
        if cursor is None:
            return items
    raise AssertionError("too many pages")


def test_case_list_pages_newest_first_and_refuses_bad_cursors(world: tuple[Hq, httpx.Client]) -> None:
    _, client = world
    hq_auth = sign_in(client, HQ_USER, "dev-9001")
    first = client.get("/v1/cases", headers=hq_auth).json()
    assert len(first["cases"]) == 9
    assert first["next_cursor"] is None  # one page: what a client reading the first page always saw
    paged = _all_pages(client, "/v1/cases", "cases", hq_auth, limit=2)
    assert [c["case_id"] for c in paged] == [c["case_id"] for c in first["cases"]]
    times = [c["occurred_at"] for c in paged]
    assert times == sorted(times, reverse=True)
    cursor = client.get("/v1/cases", params={"limit": 2}, headers=hq_auth).json()["next_cursor"]
    for bad in ("nonsense", cursor[:-3], "eyJrIjoiY2FzZXMifQ"):
        answer = client.get("/v1/cases", params={"cursor": bad}, headers=hq_auth)
        assert (answer.status_code, answer.json()["errno"]) == (400, Errno.BAD_CURSOR)
    other_list = client.get("/v1/cases", params={"cursor": cursor, "squad_code": "ZD02"}, headers=hq_auth)
    assert (other_list.status_code, other_list.json()["errno"]) == (400, Errno.BAD_CURSOR)
    leader = sign_in(client, LEADER, "dev-1001")
    assert len(_all_pages(client, "/v1/cases", "cases", leader, limit=3)) == 7  # still only the own squad


def test_subjects_and_the_review_queue_page(world: tuple[Hq, httpx.Client]) -> None:
    _, client = world
    auth = sign_in(client, OFFICER, "dev-1023")
    everyone = client.get("/v1/subjects", headers=auth).json()["subjects"]
    assert len(everyone) == 3
    assert [s["id"] for s in _all_pages(client, "/v1/subjects", "subjects", auth, limit=2)] == [
        s["id"] for s in everyone
    ]
    leader = sign_in(client, LEADER, "dev-1001")
    whole = client.get("/v1/review/queue", params={"day": "2026-11-22"}, headers=leader).json()
    assert len(whole["items"]) >= 2
    assert whole["next_cursor"] is None
    paged = _all_pages(client, "/v1/review/queue", "items", leader, day="2026-11-22", limit=1)
    assert [i["case_id"] for i in paged] == [i["case_id"] for i in whole["items"]]
    assert paged[0]["needs_decision"]  # decisions first, across pages too
    bad = client.get("/v1/review/queue", params={"day": "2026-11-21", "cursor": "x"}, headers=leader)
    assert bad.status_code == 400


def test_dashboard_filters_trends_and_full_lists(world: tuple[Hq, httpx.Client]) -> None:
    hq, client = world
    form = {"badge": HQ_USER.badge, "pin": PINS[HQ_USER.badge]}
    assert client.post("/dashboard/sign-in", data=form).status_code in (200, 303)
    window = {"days": 3, "until": "2026-11-22"}
    board = client.get("/dashboard", params=window)
    assert board.status_code == 200
    assert '<p class="big" id="total-cases">9</p>' in board.text
    only = client.get("/dashboard", params={**window, "squad": "ZD02"})
    assert '<p class="big" id="total-cases">2</p>' in only.text
    none = client.get("/dashboard", params={**window, "violation": "9999"})
    assert '<p class="big" id="total-cases">0</p>' in none.text
    for trend in ("week", "month"):
        page = client.get("/dashboard", params={**window, "trend": trend})
        assert page.status_code == 200
        assert "每周" in page.text if trend == "week" else "每月" in page.text
    assert client.get("/dashboard", params={"trend": "year"}).status_code == 422
    conflicts = client.get("/dashboard/conflicts")
    assert conflicts.status_code == 200
    assert "已是最后一页" in conflicts.text
    assert client.get("/dashboard/offenders", params=window).status_code == 200
    cases = client.get("/dashboard/cases", params=window)
    assert cases.text.count("<tr>") == 10  # the header and 9 cases
    assert client.get("/dashboard/cases", params={**window, "cursor": "bad"}).status_code == 400
    with hq.storage.transaction(readonly=True) as tx:
        from hq.dash.board import load_board

        weekly = load_board(tx, date(2026, 11, 22), 3, trend="week")
    assert weekly.trend is not None
    assert sum(sum(c.values()) for c in weekly.trend.counts.values()) == 9


def test_the_export_streams_in_pages_with_the_same_rows(
    world: tuple[Hq, httpx.Client], monkeypatch: pytest.MonkeyPatch
) -> None:
    hq, client = world
    whole = io.StringIO()
    assert write_cases_csv(hq.storage, whole) == 9
    monkeypatch.setattr(export, "PAGE", 2)
    chunks = list(iter_cases_csv(hq.storage))
    assert len(chunks) >= 5  # one per page of 2 rows
    assert "".join(chunks) == whole.getvalue()
    rows = list(csv.DictReader(io.StringIO(whole.getvalue())))
    assert [r["occurred_at"] for r in rows] == sorted(r["occurred_at"] for r in rows)
    form = {"badge": HQ_USER.badge, "pin": PINS[HQ_USER.badge]}
    client.post("/dashboard/sign-in", data=form)
    with client.stream("GET", "/dashboard/export.csv", params={"days": 3, "until": "2026-11-22"}) as answer:
        assert answer.status_code == 200
        body = b"".join(answer.iter_bytes())
    assert body.decode("utf-8-sig") == whole.getvalue()
