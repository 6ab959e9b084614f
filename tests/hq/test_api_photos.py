"""Photos over HTTP: keyed by hash, verified before storing, bounded, only for the caller's own cases."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from sync.protocol import Errno, PhotoUploadResult
from testkit.hqkit import (
    LEADER,
    OFFICER,
    OFFICER_B,
    OFFICER_C,
    Hq,
    hq_of,
    make_case,
    photo_bytes,
    photo_ref,
    push_body,
    sign_in,
)
from tests.hq.test_api import assert_error

OCTET = {"Content-Type": "application/octet-stream"}


@pytest.fixture
def hq(tmp_path: Path) -> Iterator[Hq]:
    yield from hq_of(tmp_path, max_photo_bytes=64 * 1024)


def pushed_case(client: httpx.Client, *photos: bytes) -> tuple[dict[str, str], str, list[str]]:
    """Officer 1023 pushes one case whose manifest lists ``photos``; returns auth, case id, hashes."""
    auth = sign_in(client, OFFICER, "phone-1")
    case = make_case(OFFICER, photos=tuple(photo_ref(p) for p in photos), device_id="phone-1")
    answer = client.post("/v1/push", json=push_body("phone-1", case), headers=auth).json()
    return auth, case.id, answer["results"][0]["missing_photos"]


def put(client: httpx.Client, data: bytes, auth: dict[str, str], sha: str | None = None) -> httpx.Response:
    sha = sha or hashlib.sha256(data).hexdigest()
    return client.put(f"/v1/photos/{sha}", content=data, headers=auth | OCTET)


def test_push_lists_missing_photos_and_the_last_upload_completes_the_case(
    client: httpx.Client, hq: Hq
) -> None:
    photos = [photo_bytes(f"p{i}") for i in range(3)]
    auth, case_id, missing = pushed_case(client, *photos)
    assert sorted(missing) == sorted(hashlib.sha256(p).hexdigest() for p in photos)
    results = [PhotoUploadResult.model_validate(put(client, p, auth).json()) for p in photos]
    assert [r.stored for r in results] == [True, True, True]
    assert [r.completed_cases for r in results] == [[], [], [case_id]]
    assert all(hq.blobs.has(hashlib.sha256(p).hexdigest()) for p in photos)
    detail = client.get(f"/v1/cases/{case_id}", headers=auth).json()
    assert detail["state"]["complete"]
    assert detail["missing_photos"] == []


def test_head_says_whether_hq_has_the_photo(client: httpx.Client) -> None:
    data = photo_bytes("a")
    auth, _, [sha] = pushed_case(client, data)
    assert client.head(f"/v1/photos/{sha}", headers=auth).status_code == 404
    put(client, data, auth)
    assert client.head(f"/v1/photos/{sha}", headers=auth).status_code == 200


def test_a_photo_hq_already_has_is_acknowledged_without_storing_again(client: httpx.Client, hq: Hq) -> None:
    data = photo_bytes("a")
    auth, _, [sha] = pushed_case(client, data)
    put(client, data, auth)
    again = PhotoUploadResult.model_validate(put(client, data, auth).json())
    assert again.already_had
    assert not again.stored
    # the body is not even read: a second upload with garbage is still acknowledged, nothing overwritten
    garbage = client.put(f"/v1/photos/{sha}", content=b"x" * 10, headers=auth | OCTET)
    assert garbage.json()["already_had"]
    assert hq.blobs.read(sha) == data


def test_a_hash_mismatch_stores_nothing(client: httpx.Client, hq: Hq) -> None:
    data = photo_bytes("a")
    auth, case_id, [sha] = pushed_case(client, data)
    damaged = data[:-1] + bytes([data[-1] ^ 1])
    assert_error(put(client, damaged, auth, sha=sha), 422, Errno.PHOTO_HASH_MISMATCH)
    assert not hq.blobs.has(sha)
    assert list(hq.blobs.temp_dir().iterdir()) == []
    assert client.get(f"/v1/cases/{case_id}", headers=auth).json()["missing_photos"] == [sha]


def test_only_photos_of_the_callers_own_cases_may_be_uploaded(client: httpx.Client, hq: Hq) -> None:
    data = photo_bytes("a")
    _, _, [sha] = pushed_case(client, data)
    other = sign_in(client, OFFICER_B, "phone-b")
    assert_error(put(client, data, other), 403, Errno.PHOTO_NOT_IN_MANIFEST)
    stray = photo_bytes("not in any manifest")
    assert_error(put(client, stray, other), 403, Errno.PHOTO_NOT_IN_MANIFEST)
    assert not hq.blobs.has(sha)


def test_oversized_photos_are_refused_declared_or_streamed(client: httpx.Client, hq: Hq) -> None:
    big = photo_bytes("big", 100 * 1024)
    auth, _, [sha] = pushed_case(client, big)
    assert_error(put(client, big, auth), 413, Errno.PHOTO_TOO_LARGE)

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted while streaming
        for start in range(0, len(big), 8192):
            yield big[start : start + 8192]

    streamed = client.put(f"/v1/photos/{sha}", content=chunks(), headers=auth | OCTET)
    assert_error(streamed, 413, Errno.PHOTO_TOO_LARGE)
    assert not hq.blobs.has(sha)
    assert list(hq.blobs.temp_dir().iterdir()) == []


def test_an_empty_body_and_a_bad_hash_are_refused(client: httpx.Client) -> None:
    data = photo_bytes("a")
    auth, _, [sha] = pushed_case(client, data)
    assert_error(put(client, b"", auth, sha=sha), 422, Errno.PHOTO_EMPTY)
    assert client.head("/v1/photos/NOT-A-HASH", headers=auth).status_code == 400  # HEAD: no body
    assert_error(client.get("/v1/photos/NOT-A-HASH", headers=auth), 400, Errno.BAD_HASH)
    assert_error(put(client, data, auth, sha="A" * 64), 400, Errno.BAD_HASH)


def test_photo_bytes_are_served_within_scope(client: httpx.Client) -> None:
    data = photo_bytes("a")
    auth, _, [sha] = pushed_case(client, data)
    put(client, data, auth)
    assert client.get(f"/v1/photos/{sha}", headers=auth).content == data
    leader = sign_in(client, LEADER, "leader-phone")
    assert client.get(f"/v1/photos/{sha}", headers=leader).content == data
    other_squad = sign_in(client, OFFICER_C, "phone-c")
    denied = client.get(f"/v1/photos/{sha}", headers=other_squad)
    assert_error(denied, 403, Errno.FORBIDDEN)
    assert data not in denied.content
    assert client.head(f"/v1/photos/{sha}", headers=other_squad).status_code == 404
