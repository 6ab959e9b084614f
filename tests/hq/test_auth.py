"""hq.auth: argon2 PINs, hashed tokens, and sign-in throttling per badge and per client address."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from hq.api.errors import ApiError
from hq.auth import Auth, PinHasher, token_hash
from hq.settings import FAST_PIN_HASHING, ThrottleSettings
from sync.protocol import Errno, SignInRequest
from testkit.hqkit import OFFICER, OFFICER_B, PINS, Hq, hq_of

THROTTLE = ThrottleSettings(
    free_failures=3,
    free_failures_per_address=6,
    base_delay=timedelta(seconds=2),
    max_delay=timedelta(seconds=60),
    forget_after=timedelta(hours=1),
)


@pytest.fixture
def hq(tmp_path: Path) -> Iterator[Hq]:
    yield from hq_of(tmp_path, throttle=THROTTLE)


@pytest.fixture
def auth(hq: Hq) -> Auth:
    return Auth(hq.storage, hq.settings)


def attempt(auth: Auth, badge: str, pin: str, address: str = "10.0.0.1") -> ApiError | None:
    try:
        auth.sign_in(SignInRequest(badge=badge, pin=pin, device_id="d1"), address)
    except ApiError as exc:
        return exc
    return None


def test_pins_are_argon2id_hashes_that_verify() -> None:
    pins = PinHasher(FAST_PIN_HASHING)
    digest = pins.hash("123456")
    assert digest.startswith("$argon2id$")
    assert "123456" not in digest
    assert pins.verify(digest, "123456")
    assert not pins.verify(digest, "123457")
    assert not pins.verify("not a hash", "123456")
    assert not pins.verify(None, "123456")


def test_tokens_are_stored_as_sha256_only(auth: Auth, hq: Hq) -> None:
    answer = auth.sign_in(SignInRequest(badge=OFFICER.badge, pin=PINS[OFFICER.badge], device_id="d1"), "a")
    assert len(token_hash(answer.token)) == 64
    with hq.storage.transaction(readonly=True) as tx:
        assert tx.get_token(answer.token) is None
        row = tx.get_token(token_hash(answer.token))
    assert row is not None
    assert row.expires_at == hq.clock() + hq.settings.token_ttl
    assert answer.server_time == hq.clock()


def test_failures_per_badge_lock_with_growing_retry_after(auth: Auth, hq: Hq) -> None:
    for _ in range(THROTTLE.free_failures - 1):
        assert attempt(auth, OFFICER.badge, "bad").errno == Errno.BAD_CREDENTIALS  # type: ignore[union-attr]
    assert attempt(auth, OFFICER.badge, "bad").errno == Errno.BAD_CREDENTIALS  # type: ignore[union-attr]
    locked = attempt(auth, OFFICER.badge, PINS[OFFICER.badge])  # even the right PIN waits
    assert locked is not None
    assert locked.errno == Errno.TOO_MANY_ATTEMPTS
    assert locked.status == 429
    assert locked.headers["Retry-After"] == "2"
    assert "秒" in locked.zh
    waits = []
    for _ in range(3):
        hq.clock.advance(timedelta(seconds=int(waits[-1]) if waits else 2))
        assert attempt(auth, OFFICER.badge, "bad").errno == Errno.BAD_CREDENTIALS  # type: ignore[union-attr]
        error = attempt(auth, OFFICER.badge, "bad")
        assert error is not None
        waits.append(int(error.headers["Retry-After"]))
    assert waits == [4, 8, 16]
    # another badge from another address is unaffected
    assert attempt(auth, OFFICER_B.badge, PINS[OFFICER_B.badge], "10.0.0.2") is None


def test_the_delay_is_capped_and_forgotten_later(auth: Auth, hq: Hq) -> None:
    for _ in range(12):
        attempt(auth, OFFICER.badge, "bad")
        hq.clock.advance(timedelta(seconds=61))
    error = attempt(auth, OFFICER.badge, "bad")
    assert error is not None
    error = attempt(auth, OFFICER.badge, "bad")
    assert error is not None
    assert error.errno == Errno.TOO_MANY_ATTEMPTS
    assert int(error.headers["Retry-After"]) <= 60
    hq.clock.advance(THROTTLE.forget_after + timedelta(seconds=1))
    assert attempt(auth, OFFICER.badge, PINS[OFFICER.badge]) is None


def test_a_success_clears_the_badge_counter(auth: Auth) -> None:
    for _ in range(THROTTLE.free_failures - 1):
        attempt(auth, OFFICER.badge, "bad")
    assert attempt(auth, OFFICER.badge, PINS[OFFICER.badge]) is None
    for _ in range(THROTTLE.free_failures - 1):
        assert attempt(auth, OFFICER.badge, "bad").errno == Errno.BAD_CREDENTIALS  # type: ignore[union-attr]


def test_one_address_guessing_many_badges_is_slowed_down(auth: Auth) -> None:
    for i in range(THROTTLE.free_failures_per_address):
        assert attempt(auth, f"guess{i}", "0000", "192.0.2.9").errno == Errno.BAD_CREDENTIALS  # type: ignore[union-attr]
    error = attempt(auth, "guess-next", "0000", "192.0.2.9")
    assert error is not None
    assert error.errno == Errno.TOO_MANY_ATTEMPTS
    assert attempt(auth, OFFICER.badge, PINS[OFFICER.badge], "192.0.2.10") is None


def test_throttling_over_http_answers_429_with_retry_after(hq: Hq) -> None:
    with hq.client() as client:
        body = {"badge": OFFICER.badge, "pin": "bad", "device_id": "d"}
        statuses = [
            client.post("/v1/auth/sign-in", json=body).status_code for _ in range(THROTTLE.free_failures + 1)
        ]
        assert statuses == [401] * THROTTLE.free_failures + [429]
        last = client.post("/v1/auth/sign-in", json=body)
        assert last.status_code == 429
        assert int(last.headers["Retry-After"]) >= 1
        assert last.json()["errno"] == int(Errno.TOO_MANY_ATTEMPTS)


def test_sign_in_failures_are_audited(auth: Auth, hq: Hq) -> None:
    attempt(auth, OFFICER.badge, "bad")
    attempt(auth, OFFICER.badge, PINS[OFFICER.badge])
    with hq.storage.transaction(readonly=True) as tx:
        actions = [e.action for e in tx.audit_events()]
    assert actions == ["sign_in_failed", "sign_in"]


def peak_concurrent_checks(pins: PinHasher, callers: int) -> int:
    """How many PIN checks ran at once when ``callers`` threads verified together (each check held long
    enough for the others to pile up)."""
    import threading
    import time

    stored = pins.hash("261023")
    running, peak, guard = 0, 0, threading.Lock()
    real = pins._hasher

    class Counting:
        def verify(self, pin_hash: str, pin: str) -> bool:
            nonlocal running, peak
            with guard:
                running += 1
                peak = max(peak, running)
            time.sleep(0.02)
            with guard:
                running -= 1
            return real.verify(pin_hash, pin)

    pins._hasher = Counting()  # type: ignore[assignment]
    threads = [threading.Thread(target=pins.verify, args=(stored, "261023")) for _ in range(callers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return peak


def test_at_most_one_pin_check_per_core_runs_at_once() -> None:
    import os

    assert 1 <= peak_concurrent_checks(PinHasher(FAST_PIN_HASHING), 24) <= (os.cpu_count() or 2)


def test_a_configured_share_of_pin_checks_is_kept() -> None:
    """``serve --workers N`` gives each worker its share (PinHashing.concurrent): with one slot, checks
    from many threads run one at a time."""
    from dataclasses import replace

    pins = PinHasher(replace(FAST_PIN_HASHING, concurrent=1))
    assert pins.slots == 1
    assert peak_concurrent_checks(pins, 8) == 1
    assert PinHasher(replace(FAST_PIN_HASHING, concurrent=0)).slots == 1  # never none at all
