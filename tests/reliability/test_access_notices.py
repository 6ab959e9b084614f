"""Who may do what with warning-notice books (issue #18), as one table: every notice-book operation × the
callers that matter, over real HTTP on loopback. Every row asserts on the response body.

The owner (an officer with a book) reads his books and gets them on pull; a colleague of the same squad
and an officer of another squad or district see only their own; the squad's leader reads the squad's
officers' books; HQ reads anyone's and alone issues books. Books are issued by ``POST /v1/notice-books``
(HQ), the CLI (``streetpatrol-hq notice-books``, run with the database's rights on the server: no API
caller) and on pulls (the caller's own books only: the token decides whose, never a parameter).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
import pytest

from hq.notices import assign_book, save_series
from testkit.hqkit import (
    DISTRICT,
    HQ_USER,
    LEADER,
    OFFICER,
    OFFICER_B,
    OFFICER_C,
    OFFICER_FAR,
    Hq,
    make_hq,
    sign_in,
)

T0 = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)

CALLERS = ("owner", "colleague", "leader", "other_squad", "other_district", "hq", "bad_token", "none")
SIGNED_IN = {
    "owner": OFFICER, "colleague": OFFICER_B, "leader": LEADER, "other_squad": OFFICER_C,
    "other_district": OFFICER_FAR, "hq": HQ_USER,
}  # fmt: skip
OK, NONE, DENY, AUTH = "ok", "none", "deny", "auth"

# fmt: off
TABLE: list[tuple[str, tuple[str, ...]]] = [
    #                                          owner colleg leader othsq othdi hq    badtk none
    ("GET /v1/notice-books",                  (OK,   NONE,  NONE,  NONE, NONE, NONE, AUTH, AUTH)),
    ("GET /v1/notice-books ?badge=owner",     (OK,   DENY,  OK,    DENY, DENY, OK,   AUTH, AUTH)),
    ("POST /v1/notice-books",                 (DENY, DENY,  DENY,  DENY, DENY, OK,   AUTH, AUTH)),
    ("GET /v1/changes ?books=true",           (OK,   NONE,  NONE,  NONE, NONE, NONE, AUTH, AUTH)),
]
# fmt: on


@dataclass
class World:
    hq: Hq
    client: httpx.Client
    headers: dict[str, dict[str, str]]
    book: str  # the owner's book id

    def auth(self, caller: str) -> dict[str, str]:
        if caller == "bad_token":
            return {"Authorization": "Bearer not-a-token-hq-issued"}
        return self.headers.get(caller, {})


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    hq = make_hq(tmp_path_factory.mktemp("notice-matrix"))
    with hq.storage.transaction() as tx:
        save_series(tx, "JG-2026-", district=DISTRICT, width=6, book_size=10, threshold=0, capacity=None,
                    auto=False, at=T0, by="cli")  # fmt: skip
        book = assign_book(tx, badge=OFFICER.badge, series="JG-2026-", at=T0, by="cli")
    with hq.client() as client:
        headers = {c: sign_in(client, o, f"nb-{c}") for c, o in SIGNED_IN.items()}
        yield World(hq, client, headers, book.book_id)
    hq.close()


Request = Callable[[World, str], httpx.Response]
REQUESTS: dict[str, Request] = {
    "GET /v1/notice-books": lambda w, c: w.client.get("/v1/notice-books", headers=w.auth(c)),
    "GET /v1/notice-books ?badge=owner": lambda w, c: w.client.get(
        "/v1/notice-books", params={"badge": OFFICER.badge}, headers=w.auth(c)
    ),
    "POST /v1/notice-books": lambda w, c: w.client.post(
        "/v1/notice-books", json={"badge": OFFICER.badge, "series": "JG-2026-"}, headers=w.auth(c)
    ),
    "GET /v1/changes ?books=true": lambda w, c: w.client.get(
        "/v1/changes", params={"books": "true"}, headers=w.auth(c)
    ),
}


def _book_ids(key: str, body: dict[str, object]) -> set[str]:
    if key.startswith("GET /v1/changes"):
        books = body.get("notice_books") or {}
        return {str(b["book_id"]) for b in books.get("books", [])}  # type: ignore[union-attr]
    return {str(b["book_id"]) for b in body.get("books", [])}  # type: ignore[union-attr]


CELLS = [(key, caller, want) for key, row in TABLE for caller, want in zip(CALLERS, row, strict=True)]


@pytest.mark.parametrize(("key", "caller", "want"), CELLS, ids=[f"{k} × {c}" for k, c, _ in CELLS])
def test_access(world: World, key: str, caller: str, want: str) -> None:
    before = _count_books(world)
    response = REQUESTS[key](world, caller)
    body = response.json()
    if want == AUTH:
        assert response.status_code == 401, response.text
        assert body["errno"] in (2002, 2003)
        assert "book_id" not in response.text
    elif want == DENY:
        assert response.status_code == 403, response.text
        assert body["errno"] == 2007
        assert world.book not in response.text
    elif key.startswith("POST"):
        assert response.status_code == 200, response.text
        assert body["badge"] == OFFICER.badge
        assert body["issued_by"] == SIGNED_IN[caller].badge
    else:
        assert response.status_code == 200, response.text
        assert (world.book in _book_ids(key, body)) is (want == OK)
    grew = _count_books(world) - before
    assert grew == (1 if key.startswith("POST") and want == OK else 0)  # nothing issued by a refusal


def _count_books(world: World) -> int:
    with world.hq.storage.transaction(readonly=True) as tx:
        return len(tx.notice_books(district=DISTRICT))
