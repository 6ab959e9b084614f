"""Attacks on sign-in and devices (issue #13, items 1, 5 and 6), each reproduced over real HTTP on loopback
against a real HQ (``testkit.hqkit``), now refused with nothing stored or granted.

- Throttle race: 40 parallel wrong guesses and the right PIN among them; the lock check, the count and
  the hash were separate steps, so every guess was hashed and the right one got a token.
- Lockout: a stranger who knows a badge number locks it; the officer's own (bound) phone still signs in.
- Revoke that did not block: a revoked device signed in again with the PIN.
- Disable that did not kill tokens: ``disable-user`` (CLI) and the dashboard's form revoke them at once.
- Device takeover: signing in under another officer's device id (it is in every case payload) revoked
  their session and moved the device to the new badge.
- Shared squad phone: an officer who synced showed as 从未同步 after his leader signed in on the phone.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from psycopg import sql as pgsql

from enforcement.model import LOCAL_TZ
from hq.auth import PinHasher
from hq.cli import main as cli
from hq.dash.board import load_board
from hq.dash.caller import COOKIE
from hq.settings import ThrottleSettings
from hq.storage.postgres import PostgresStorage
from mobile.hqclient import DeviceBlocked
from sync.protocol import PROTOCOL_VERSION, Errno
from testkit.hqkit import (
    HQ_USER,
    LEADER,
    OFFICER,
    OFFICER_B,
    PINS,
    USERS,
    Hq,
    make_case,
    make_hq,
    push_body,
    sign_in,
)
from testkit.pg import pg_dsn
from tests.mobile.statekit import apps_of
from tests.mobile.statekit import sign_in as app_sign_in

ALLOWANCE = 5  # free failures per badge (and per device × badge for a phone proving its key)
THROTTLE = ThrottleSettings(
    free_failures=ALLOWANCE,
    free_failures_per_address=1000,  # all callers here share 127.0.0.1: the badge's allowance is under test
    free_failures_per_device=ALLOWANCE,
    base_delay=timedelta(minutes=5),
    max_delay=timedelta(minutes=15),
)
KEY = "k" * 11 + "-phone-of-1023-bound-key-000"  # a phone's device key (32–128 URL-safe characters)
OTHER_KEY = "x" * 43


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def hq(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Hq]:
    """A served HQ over SQLite and over PostgreSQL (where the attempt's check and count are serialised by
    advisory locks, not by a single writer)."""
    yield from served(request.param, tmp_path, THROTTLE)


def served(backend: str, tmp_path: Path, throttle: ThrottleSettings) -> Iterator[Hq]:
    """A served HQ on ``backend`` (PostgreSQL: a schema of its own, dropped afterwards) with ``throttle``."""
    if backend == "sqlite":
        hq = make_hq(tmp_path / "hq", throttle=throttle)
        hq.serve()
        yield hq
        hq.close()
        return
    dsn = pg_dsn()
    schema = f"t_{uuid.uuid4().hex[:16]}"
    hq = make_hq(
        tmp_path / "hq",
        open_storage=lambda: PostgresStorage(dsn, schema=schema, min_size=1, max_size=8),
        throttle=throttle,
    )
    hq.serve()
    try:
        yield hq
    finally:
        hq.close()
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(pgsql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(pgsql.Identifier(schema)))


def body(badge: str, pin: str, device_id: str, key: str | None = None) -> dict[str, Any]:
    answer: dict[str, Any] = {"protocol": PROTOCOL_VERSION, "badge": badge, "pin": pin}
    answer["device_id"] = device_id
    if key is not None:
        answer["device_key"] = key
    return answer


def own_sign_in(client: httpx.Client, badge: str, device_id: str, key: str | None = KEY) -> httpx.Response:
    """A sign-in with the badge's right PIN on ``device_id`` (a phone presenting ``key``)."""
    return client.post("/v1/auth/sign-in", json=body(badge, PINS[badge], device_id, key))


def errno_of(response: httpx.Response) -> int:
    return int(response.json()["errno"])


def audit_actions(hq: Hq) -> list[str]:
    with hq.storage.transaction(readonly=True) as tx:
        return [e.action for e in tx.audit_events()]


def tokens_of(hq: Hq, badge: str) -> int:
    now = hq.clock()
    with hq.storage.transaction(readonly=True) as tx:
        return sum(tx.active_token_count(d.device_id, now, badge) for d in tx.list_devices(badge))


def run_cli(hq: Hq, *args: str) -> tuple[int, str]:
    """``streetpatrol-hq COMMAND …`` against this HQ's database (either backend: a second storage of it)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(cli, "open_for", lambda _args: hq.open_storage())
        return cli.run_to_string([args[0], "--db", str(hq.root / "hq.db"), *args[1:]])


# ------------------------------------------------------------------------------ 1. throttle race, lockout


def test_parallel_guesses_hash_at_most_the_allowance_and_the_right_pin_is_refused_once_locked(
    hq: Hq, monkeypatch: pytest.MonkeyPatch
) -> None:
    hashed = []
    real_verify = PinHasher.verify

    def counting(self: PinHasher, pin_hash: str | None, pin: str) -> bool:
        hashed.append(pin)
        return real_verify(self, pin_hash, pin)

    monkeypatch.setattr(PinHasher, "verify", counting)
    locked = threading.Event()
    answers: list[httpx.Response] = []
    guard = threading.Lock()
    start = threading.Barrier(41)

    def guess(pin: str, wait_for_lock: bool) -> None:
        with hq.client() as client:
            start.wait()
            if wait_for_lock:
                assert locked.wait(30)
            answer = client.post("/v1/auth/sign-in", json=body(OFFICER.badge, pin, "attacker-box"))
            if answer.status_code == 429:
                locked.set()
            with guard:
                answers.append(answer)

    threads = [threading.Thread(target=guess, args=(f"{n:06d}", False)) for n in range(40)]
    right = threading.Thread(target=guess, args=(PINS[OFFICER.badge], True))
    for thread in [*threads, right]:
        thread.start()
    for thread in [*threads, right]:
        thread.join(60)
    statuses = sorted(a.status_code for a in answers)
    assert len(statuses) == 41
    assert len(hashed) <= ALLOWANCE, hashed  # at most the allowance reached the argon2 check
    assert statuses.count(401) <= ALLOWANCE
    assert 200 not in statuses
    assert statuses.count(429) >= 41 - ALLOWANCE
    assert PINS[OFFICER.badge] not in hashed  # the right PIN came once locked: refused unhashed
    assert tokens_of(hq, OFFICER.badge) == 0
    actions = audit_actions(hq)
    assert actions.count("sign_in_failed") == statuses.count(401)
    assert actions.count("sign_in_throttled") == statuses.count(429)  # throttled attempts are audited
    assert "sign_in" not in actions


def test_a_locked_out_badge_still_signs_in_from_its_bound_device(hq: Hq) -> None:
    with hq.client() as client:
        phone = own_sign_in(client, OFFICER.badge, "p-1023")
        assert phone.status_code == 200  # the phone's key is bound at this first sign-in
        for n in range(ALLOWANCE + 3):  # a stranger who knows the badge number locks it
            client.post("/v1/auth/sign-in", json=body(OFFICER.badge, f"9{n:05d}", "stranger"))
        stranger = client.post("/v1/auth/sign-in", json=body(OFFICER.badge, PINS[OFFICER.badge], "stranger"))
        assert stranger.status_code == 429  # the badge is locked for anyone else, even with the right PIN
        own = own_sign_in(client, OFFICER.badge, "p-1023")
        assert own.status_code == 200, own.text  # its own phone is not locked out
        borrowed = client.post("/v1/auth/sign-in", json=body(OFFICER.badge, "000000", "p-1023"))
        assert borrowed.status_code == 403
        assert errno_of(borrowed) == Errno.DEVICE_BOUND
        for n in range(ALLOWANCE):  # the phone's own allowance (a stolen phone) is separate and bounded
            client.post("/v1/auth/sign-in", json=body(OFFICER.badge, f"8{n:05d}", "p-1023", KEY))
        thief = own_sign_in(client, OFFICER.badge, "p-1023")
        assert thief.status_code == 429
    with hq.storage.transaction(readonly=True) as tx:
        events = [e for e in tx.audit_events() if e.action.startswith("sign_in_")]
    stranger_events = [e for e in events if e.detail.get("device_id") == "stranger"]
    assert {e.action for e in stranger_events} == {"sign_in_failed", "sign_in_throttled"}
    assert all(e.target == "127.0.0.1" for e in stranger_events)  # stranger attempts are audited
    assert any(e.action == "sign_in_refused" and e.detail["device_id"] == "p-1023" for e in events)


# ------------------------------------------------------------------------------ 5. revoke and disable block


def test_a_revoked_device_cannot_sign_in_again_until_hq_enables_it(hq: Hq) -> None:
    with hq.client() as client:
        officer = own_sign_in(client, OFFICER.badge, "p-1023")
        assert officer.status_code == 200
        desk = sign_in(client, HQ_USER, "hq-desk")
        assert client.post("/v1/devices/p-1023/revoke", headers=desk).status_code == 200
        again = own_sign_in(client, OFFICER.badge, "p-1023")
        assert again.status_code == 403
        assert errno_of(again) == Errno.DEVICE_REVOKED
        assert tokens_of(hq, OFFICER.badge) == 0
        # an officer revoking their own lost phone blocks it too
        sign_in(client, OFFICER_B, "b-spare")
        b_main = sign_in(client, OFFICER_B, "b-main")
        assert client.post("/v1/devices/b-spare/revoke", headers=b_main).status_code == 200
        lost = client.post("/v1/auth/sign-in", json=body(OFFICER_B.badge, PINS[OFFICER_B.badge], "b-spare"))
        assert errno_of(lost) == Errno.DEVICE_REVOKED
        assert run_cli(hq, "enable-device", "p-1023")[0] == 0
        back = own_sign_in(client, OFFICER.badge, "p-1023")
        assert back.status_code == 200, back.text
    assert run_cli(hq, "enable-device", "never-seen")[0] == 1


def test_the_phone_says_the_device_is_disabled_and_stops_retrying(hq: Hq, tmp_path: Path) -> None:
    for apps in apps_of(tmp_path / "phone"):
        app = apps()
        app_sign_in(app, hq.serve().url)
        device_id = app.store.device_id
        with hq.client() as client:
            desk = sign_in(client, HQ_USER, "hq-desk")
            assert client.post(f"/v1/devices/{device_id}/revoke", headers=desk).status_code == 200
        future = app.link.sign_in(OFFICER.badge, PINS[OFFICER.badge])  # the quiet renewal, say
        assert isinstance(future.exception(), DeviceBlocked)
        status = app.link.status
        assert status.blocked
        assert status.retry_at is None
        assert status.last_error_zh == "此设备已被停用，请联系指挥中心"
        assert "disabled" in status.last_error_en
        failures = status.failures
        app.link.kick()  # a save or a tap: no request, no backoff loop
        assert app.link.status.failures == failures
        assert app.link.status.blocked
        assert run_cli(hq, "enable-device", device_id)[0] == 0
        assert app.link.sign_in(OFFICER.badge, PINS[OFFICER.badge]).result() == OFFICER
        assert not app.link.status.blocked


def test_disable_user_kills_their_tokens_at_once_cli_and_dashboard(hq: Hq) -> None:
    with hq.client() as client:
        officer = sign_in(client, OFFICER, "p-1023")
        assert run_cli(hq, "disable-user", OFFICER.badge)[0] == 0
        assert client.get("/v1/changes", headers=officer).status_code in (401, 403)
        refused = client.post("/v1/auth/sign-in", json=body(OFFICER.badge, PINS[OFFICER.badge], "p-1023"))
        assert errno_of(refused) == Errno.ACCOUNT_DISABLED
        assert run_cli(hq, "enable-user", OFFICER.badge)[0] == 0
        assert client.get("/v1/changes", headers=sign_in(client, OFFICER, "p-1023")).status_code == 200
        assert run_cli(hq, "disable-user", "no-such-badge")[0] == 1

        other = sign_in(client, OFFICER_B, "p-1024")
        leader = httpx.Client(base_url=str(client.base_url), timeout=10)  # a leader's token as the cookie
        leader.cookies.set(COOKIE, sign_in(client, LEADER, "l-1001")["Authorization"].split()[1])
        assert leader.post("/dashboard/users/disable", data={"badge": OFFICER_B.badge}).status_code == 403
        leader.close()
        assert client.get("/v1/changes", headers=other).status_code == 200  # a leader cannot
        assert client.post("/dashboard/users/disable", data={"badge": OFFICER_B.badge}).status_code == 401
        form = {"badge": HQ_USER.badge, "pin": PINS[HQ_USER.badge]}
        assert client.post("/dashboard/sign-in", data=form).status_code in (200, 303)
        assert client.post("/dashboard/users/disable", data={"badge": OFFICER_B.badge}).status_code == 200
        assert client.get("/v1/changes", headers=other).status_code in (401, 403)
        assert client.post("/dashboard/users/enable", data={"badge": OFFICER_B.badge}).status_code == 200
        assert client.get("/v1/changes", headers=sign_in(client, OFFICER_B, "p-1024")).status_code == 200


# ------------------------------------------------------------------------------ 6. takeover, shared phone


def test_a_device_id_read_off_a_case_cannot_take_the_device_over(hq: Hq) -> None:
    with hq.client() as client:
        signed = own_sign_in(client, OFFICER.badge, "p-1023")
        owner = {"Authorization": f"Bearer {signed.json()['token']}"}
        for key in (None, OTHER_KEY):  # the attacker's own badge and PIN, the victim's device id
            attack = client.post(
                "/v1/auth/sign-in", json=body(OFFICER_B.badge, PINS[OFFICER_B.badge], "p-1023", key)
            )
            assert attack.status_code == 403
            assert errno_of(attack) == Errno.DEVICE_BOUND
        assert client.get("/v1/changes", headers=owner).status_code == 200  # the owner's session lives
    with hq.storage.transaction(readonly=True) as tx:
        assert [d.badge for d in tx.list_devices(device_id="p-1023")] == [OFFICER.badge]
        assert tx.list_devices(OFFICER_B.badge) == []
    assert tokens_of(hq, OFFICER_B.badge) == 0


def test_a_shared_squad_phone_keeps_each_officers_last_contact(hq: Hq) -> None:
    with hq.client() as client:
        signed = own_sign_in(client, OFFICER.badge, "squad-1")
        officer = {"Authorization": f"Bearer {signed.json()['token']}"}
        cases = [make_case(OFFICER, device_id="squad-1", seq=n) for n in range(1, 5)]
        assert client.post("/v1/push", json=push_body("squad-1", *cases), headers=officer).status_code == 200
        synced_at = hq.clock()
        hq.clock.advance(timedelta(hours=3))
        leader = client.post("/v1/auth/sign-in", json=body(LEADER.badge, PINS[LEADER.badge], "squad-1", KEY))
        assert leader.status_code == 200  # the same physical phone proves the key for every badge
    with hq.storage.transaction(readonly=True) as tx:
        rows = {d.badge: d for d in tx.list_devices(device_id="squad-1")}
        board = load_board(tx, hq.clock().astimezone(LOCAL_TZ).date(), 7)
    assert set(rows) == {OFFICER.badge, LEADER.badge}
    seen = {badge: at for badge, _name, _squad, at in board.last_seen}
    assert seen[OFFICER.badge] == synced_at  # not 从未同步
    assert seen[LEADER.badge] == hq.clock()


# ------------------------------------------------------------------------------ one address, many officers


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def nat_hq(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Hq]:
    """A served HQ whose per-address allowance (8) is above the sign-ins in flight at once below (6)."""
    throttle = ThrottleSettings(
        free_failures=1000, free_failures_per_address=8, free_failures_per_device=1000
    )
    yield from served(request.param, tmp_path, throttle)


def test_officers_signing_in_at_once_from_one_address_are_each_refunded(nat_hq: Hq) -> None:
    """Six officers behind one address (an office NAT at shift start) sign in five times each, all six at
    once: every success gives the address its attempt back, so it never locks. (On PostgreSQL concurrent
    refunds used to overwrite each other's count, and the address locked after a few rounds.)"""
    answers: list[int] = []
    guard = threading.Lock()
    start = threading.Barrier(len(USERS))

    def officer(badge: str) -> None:
        with nat_hq.client() as client:
            start.wait()
            for n in range(5):
                answer = client.post("/v1/auth/sign-in", json=body(badge, PINS[badge], f"nat-{badge}-{n}"))
                with guard:
                    answers.append(answer.status_code)

    threads = [threading.Thread(target=officer, args=(user.badge,)) for user in USERS]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert answers == [200] * len(USERS) * 5
