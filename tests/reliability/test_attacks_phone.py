"""Attacks on the phone (issue #13, item 4), each reproduced against the real app state, HQ on loopback
and a real phone DB file, and now refused.

- Sign-out used to clear the badge only: the bearer token stayed in plain SQLite and HQ accepted it
  afterwards. Now the token is deleted at once and revoked at HQ (online), or its revocation is queued
  and reaches HQ first on the next connection (offline).
- A copied phone DB file used to yield the token and, by brute force of the PBKDF2 verifier (a 4-digit
  PIN in minutes), the PIN. Now the file holds no token, and its verifier is keyed with the device secret
  (kept in the SecretStore, not the file): with the file alone not even one guess can be tested.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from mobile import metakeys, secretstore
from mobile.secretstore import MemorySecretStore
from mobile.state.errors import SignInError
from mobile.state.session import (
    KEYED_ALGO,
    check_keyed_verifier,
    check_verifier,
    make_verifier,
)
from mobile.store import Store
from testkit.hqkit import OFFICER, PINS, Hq, catalogue, make_hq
from tests.mobile.statekit import Apps, apps_of, dead_url, sign_in

PIN = PINS[OFFICER.badge]


@pytest.fixture
def hq(tmp_path: Path) -> Iterator[Hq]:
    hq = make_hq(tmp_path / "hq")
    hq.serve()
    yield hq
    hq.close()


@pytest.fixture
def make_app(tmp_path: Path) -> Iterator[Apps]:
    yield from apps_of(tmp_path)


def hq_accepts(hq: Hq, token: str) -> bool:
    """Whether HQ serves an authenticated request with ``token`` (a pull of changes)."""
    with httpx.Client(base_url=hq.serve().url, timeout=10) as http:
        response = http.get(
            "/v1/changes", headers={"Authorization": f"Bearer {token}", "X-StreetPatrol-Protocol": "1"}
        )
    assert response.status_code in (200, 401), response.text
    return response.status_code == 200


def file_bytes(db: Path) -> bytes:
    """Every byte of the phone DB as an attacker copying it would get (main file, WAL, journal)."""
    return b"".join(p.read_bytes() for p in sorted(db.parent.glob(db.name + "*")))


def test_sign_out_online_revokes_the_token_at_hq(make_app: Apps, hq: Hq) -> None:
    app = make_app()
    sign_in(app, hq.serve().url)
    token = app.secrets.get(secretstore.TOKEN)
    assert token
    assert hq_accepts(hq, token)
    assert app.store.meta_get(metakeys.TOKEN) is None  # never in the phone DB
    revoked = app.session.sign_out()
    assert revoked is not None
    assert revoked.result(timeout=10) == 1
    assert app.secrets.get(secretstore.TOKEN) is None
    assert secretstore.pending_revocations(app.secrets) == []
    assert not hq_accepts(hq, token)  # the attack: replaying the signed-out token


def test_sign_out_offline_forgets_at_once_and_revokes_on_reconnect(make_app: Apps, hq: Hq) -> None:
    app = make_app()
    sign_in(app, hq.serve().url)
    token = app.secrets.get(secretstore.TOKEN)
    assert token
    server = hq.serve()
    server.stop()  # the phone loses HQ
    app.session.sign_out()
    assert not app.session.signed_in
    assert app.secrets.get(secretstore.TOKEN) is None  # gone locally immediately
    assert app.store.meta_get(metakeys.TOKEN) is None
    assert secretstore.pending_revocations(app.secrets) == [token]  # queued, only for the revocation
    server.start()  # HQ back on the same address
    assert hq_accepts(hq, token)  # HQ has not heard of the sign-out yet
    app.link.sync_now()  # the next connection: the revocation goes first
    assert secretstore.pending_revocations(app.secrets) == []
    assert not hq_accepts(hq, token)


def test_queued_revocation_goes_first_on_the_next_sign_in(make_app: Apps, hq: Hq) -> None:
    app = make_app()
    sign_in(app, hq.serve().url)
    old = app.secrets.get(secretstore.TOKEN)
    assert old
    server = hq.serve()
    server.stop()
    app.session.sign_out()
    server.start()
    sign_in(app, server.url)  # offline verifier answers, and the quiet online renewal revokes first
    assert secretstore.pending_revocations(app.secrets) == []
    assert not hq_accepts(hq, old)
    new = app.secrets.get(secretstore.TOKEN)
    assert new
    assert new != old
    assert hq_accepts(hq, new)


def test_a_copied_phone_file_yields_neither_token_nor_pin(make_app: Apps, hq: Hq, tmp_path: Path) -> None:
    db = tmp_path / "phone" / "phone.db"
    db.parent.mkdir()
    store = Store.open(db, catalogue=catalogue())
    app = make_app(store=store)
    sign_in(app, hq.serve().url)  # online: HQ's token and a verifier
    app.session.sign_out()
    sign_in(app, hq.serve().url)  # against the verifier, the token renewed in the background
    token = app.secrets.get(secretstore.TOKEN)
    secret = app.secrets.get(secretstore.DEVICE_SECRET)
    assert token
    assert secret
    store.close()

    stolen = file_bytes(db)
    assert token.encode() not in stolen
    assert secret.encode() not in stolen
    assert bytes.fromhex(secret) not in stolen
    assert PIN.encode() not in stolen

    with sqlite3.connect(db) as conn:  # what the attacker reads out of the copy
        rows = dict(conn.execute("SELECT key, value FROM meta").fetchall())
    assert metakeys.TOKEN not in rows or rows[metakeys.TOKEN] in (None, "null")
    verifier = json.loads(rows[metakeys.VERIFIERS])[OFFICER.badge]
    assert verifier["algo"] == KEYED_ALGO
    # the file's data alone: no check can be made, not even with the right PIN
    assert not check_verifier(verifier, PIN)
    guesses = [b"", b"\0" * 32] + [str(v).encode() for v in rows.values()]  # every value the file holds
    for guess in guesses:
        assert not check_keyed_verifier(verifier, PIN, guess)
    # with the device secret (from the phone's secure storage) the right PIN verifies
    assert check_keyed_verifier(verifier, PIN, bytes.fromhex(secret))


def test_an_old_pbkdf2_verifier_verifies_once_and_is_replaced(make_app: Apps, hq: Hq) -> None:
    app = make_app()
    sign_in(app, hq.serve().url)
    app.session.sign_out()
    legacy = make_verifier(PIN, iterations=1000)  # what an older version kept in the file
    app.store.meta_set(metakeys.VERIFIERS, {OFFICER.badge: legacy})
    sign_in(app, dead_url())  # offline: the old verifier still lets the officer in
    assert app.session.signed_in_offline
    replaced = app.store.meta_get(metakeys.VERIFIERS)[OFFICER.badge]
    assert replaced["algo"] == KEYED_ALGO
    assert not check_verifier(replaced, PIN)
    app.session.sign_out()
    sign_in(app, dead_url())  # and the new one works offline
    assert app.session.signed_in_offline


def test_a_token_left_in_the_file_by_an_older_version_moves_to_the_secret_store(
    make_app: Apps, tmp_path: Path
) -> None:
    store = Store.open(":memory:", catalogue=catalogue())
    store.meta_set(metakeys.TOKEN, "old-token")
    secrets = MemorySecretStore()
    make_app(store=store, secrets=secrets)
    assert secrets.get(secretstore.TOKEN) == "old-token"
    assert store.meta_get(metakeys.TOKEN) is None


def test_without_the_device_secret_the_offline_sign_in_needs_hq(make_app: Apps, hq: Hq) -> None:
    """A copied file put in another phone (a fresh SecretStore): the verifier never matches."""
    app = make_app()
    sign_in(app, hq.serve().url)
    other = make_app(store=app.store, secrets=MemorySecretStore())
    other.session.sign_out()
    with pytest.raises(SignInError) as err:
        sign_in(other, dead_url())
    assert err.value.code in ("wrong_pin", "locked")
    assert not other.session.signed_in
