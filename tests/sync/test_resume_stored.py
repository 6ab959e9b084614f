"""A photo whose file HQ stored but whose row it could not record: the database was busy (or HQ was
stopping) after the whole body had arrived, and the PUT was answered 503. HQ then says it holds every
byte (HEAD: 404 with ``Upload-Offset`` = the file's size), a PUT resuming from there with no body
records it, and the phone's retry sends none of the photo again. Real HTTP on loopback.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from enforcement.model import SyncState
from hq.storage.base import StorageError
from hq.storage.sql_records import RecordsMixin
from sync.protocol import UPLOAD_OFFSET_HEADER
from testkit.hqkit import Hq
from tests.sync.conftest import ClientFactory, Phone, signed_in
from tests.sync.test_faults import assert_nothing_lost_or_duplicated
from tests.sync.test_resume import OCTET, SIZE, held, officer_case, partials

__all__ = ["officer_case"]  # a fixture used here


@pytest.fixture
def busy_once(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The next recording of a stored photo fails as a busy database does (then it works again)."""
    failed: list[str] = []
    record = RecordsMixin.mark_photo_stored

    def flaky(self: RecordsMixin, sha256: str, *args: Any, **kwargs: Any) -> list[str]:
        if not failed:
            failed.append(sha256)
            raise StorageError("database is locked (fault injected)", zh="数据库忙（注入的故障）")
        return record(self, sha256, *args, **kwargs)

    monkeypatch.setattr(RecordsMixin, "mark_photo_stored", flaky)
    return failed


def test_hq_holds_a_stored_but_unrecorded_photo_whole_and_records_it_from_an_empty_resume(
    hq: Hq, officer_case: tuple[httpx.Client, dict[str, str], bytes, str], busy_once: list[str]
) -> None:
    client, auth, data, sha = officer_case
    first = client.put(f"/v1/photos/{sha}", content=data, headers=auth | OCTET)
    assert first.status_code == 503, first.text
    assert first.json()["errno"] == 5002
    assert busy_once == [sha]
    assert hq.blobs.read(sha) == data  # the file is in the store; its row says it is not
    assert held(client, sha, auth) == SIZE  # all of it: resume from the end
    assert partials(hq, sha) == []
    again = client.put(
        f"/v1/photos/{sha}", content=b"", headers=auth | OCTET | {UPLOAD_OFFSET_HEADER: str(SIZE)}
    )
    assert again.status_code == 200, again.text
    assert again.json()["stored"] is True
    assert again.json()["completed_cases"]  # the case is complete now
    assert client.head(f"/v1/photos/{sha}", headers=auth).status_code == 200
    assert client.get(f"/v1/photos/{sha}", headers=auth).content == data


def test_a_whole_body_resent_to_such_a_photo_is_not_needed_but_still_taken(
    hq: Hq, officer_case: tuple[httpx.Client, dict[str, str], bytes, str], busy_once: list[str]
) -> None:
    """An older phone that sends the whole photo again is answered as well (its bytes are not read)."""
    client, auth, data, sha = officer_case
    assert client.put(f"/v1/photos/{sha}", content=data, headers=auth | OCTET).status_code == 503
    again = client.put(f"/v1/photos/{sha}", content=data, headers=auth | OCTET)
    assert again.status_code == 200, again.text
    assert client.head(f"/v1/photos/{sha}", headers=auth).status_code == 200


def test_only_a_device_whose_case_lists_the_photo_is_told_hq_holds_it(
    hq: Hq, officer_case: tuple[httpx.Client, dict[str, str], bytes, str], busy_once: list[str]
) -> None:
    from testkit.hqkit import OFFICER_B, sign_in

    client, auth, data, sha = officer_case
    assert client.put(f"/v1/photos/{sha}", content=data, headers=auth | OCTET).status_code == 503
    other = sign_in(client, OFFICER_B, "phone-b")
    answer = client.head(f"/v1/photos/{sha}", headers=other)
    assert answer.status_code == 404
    assert UPLOAD_OFFSET_HEADER not in answer.headers


class CountingPuts(httpx.BaseTransport):
    """Real HTTP; records (Upload-Offset, body bytes) of every photo PUT."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.puts: list[tuple[int, int]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "PUT":
            request.read()
            self.puts.append((int(request.headers.get(UPLOAD_OFFSET_HEADER, "0")), len(request.content)))
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


@pytest.fixture
def counting() -> Iterator[CountingPuts]:
    transport = CountingPuts()
    yield transport
    transport.close()


def test_the_phone_never_sends_a_photo_again_after_a_503_that_came_after_all_of_it(
    hq: Hq, phone: Phone, make_client: ClientFactory, busy_once: list[str], counting: CountingPuts
) -> None:
    case = phone.record_case(photos=2, photo_size=SIZE)
    report = signed_in(make_client(phone, transport=counting, upload_workers=1)).sync_once()
    assert report.ok, report.error
    assert len(busy_once) == 1  # one PUT was answered 503 after its whole body
    # each photo's bytes once: the 503'd one is followed by an empty resume from its end
    assert sorted(counting.puts) == [(0, SIZE), (0, SIZE), (SIZE, 0)]
    assert report.photos_uploaded == 2
    for ref in case.photos:
        assert hq.blobs.read(ref.sha256) == phone.photos.read(ref.sha256)
    assert phone.states()[case.id] is SyncState.COMPLETE
    assert_nothing_lost_or_duplicated(hq, phone)
