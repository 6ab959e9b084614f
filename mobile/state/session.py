"""Sign-in and sign-out of the officer on this phone.

The first sign-in of a badge on a phone goes to HQ (which checks the PIN and issues a device token, kept
in the phone's ``SecretStore``, never in the store file). After a successful online sign-in the phone keeps
a *verifier* of the PIN in the store's meta table, so later sign-ins also work offline. The verifier is
keyed with the install's device secret (``mobile.secretstore``, in secure storage, not in the store
file): scrypt (N=2^17, r=8, p=1: 128 MiB) over HMAC-SHA256(device secret, PIN) with a random salt. A copy
of the store file alone therefore cannot be used to test PINs at all; with the secret each guess costs one
memory-hard scrypt (``bench/pin_cost.py``). scrypt is CPython's own (``hashlib.scrypt``, from the same
OpenSSL ``_hashlib`` that ``hashlib.pbkdf2_hmac`` already needed here on Python 3.12), so the phone needs
no compiled package for it. Verifiers of older versions (PBKDF2-HMAC-SHA256, unkeyed) still verify, once: the
next successful sign-in, online or offline, replaces them.

A few wrong PINs offline disable the local verifier until the next online sign-in. Signing out forgets the
signed-in officer and deletes the token at once; its revocation goes to HQ now, or, offline, is queued and
sent first on the next connection. Unsynced records, photos and the verifier stay.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, Protocol

from enforcement.model import Officer
from mobile import metakeys, secretstore
from mobile.secretstore import MemorySecretStore, SecretStore
from mobile.state.errors import SignInError, localized
from mobile.state.observable import Observable
from mobile.state.settings import SettingsState
from mobile.state.sync import SyncLink

PBKDF2_ITERATIONS = 120_000  # the old verifiers' cost (still read, replaced on the next sign-in)
MAX_OFFLINE_FAILURES = 5
KEYED_ALGO = "scrypt-hmac-sha256"


@dataclass(frozen=True, slots=True)
class PinCost:
    """scrypt's parameters for the keyed PIN verifier (kept in each verifier, so they can change).
    Memory per guess: 128 * n * r bytes (128 MiB by default)."""

    n: int = 1 << 17
    r: int = 8
    p: int = 1

    @property
    def memory_bytes(self) -> int:
        return 128 * self.n * self.r * self.p


PIN_COST = PinCost()


class SessionStore(Protocol):
    def meta_get(self, key: str, default: Any = None) -> Any: ...
    def meta_set(self, key: str, value: Any) -> None: ...
    def save_officer(self, officer: Officer) -> None: ...
    def get_officer(self, badge: str) -> Officer | None: ...


def make_verifier(
    pin: str, *, iterations: int = PBKDF2_ITERATIONS, salt: bytes | None = None
) -> dict[str, Any]:
    """A JSON-safe verifier of ``pin`` (algorithm, iterations, salt, derived key; no PIN)."""
    salt = salt if salt is not None else secrets.token_bytes(16)
    key = hashlib.pbkdf2_hmac("sha256", pin.encode("utf-8"), salt, iterations)
    return {
        "algo": "pbkdf2-sha256",
        "iterations": iterations,
        "salt": salt.hex(),
        "key": key.hex(),
        "failures": 0,
    }


def check_verifier(verifier: dict[str, Any], pin: str) -> bool:
    """Whether ``pin`` matches ``verifier`` (constant-time comparison)."""
    if verifier.get("algo") != "pbkdf2-sha256":
        return False
    try:
        salt = bytes.fromhex(str(verifier["salt"]))
        expected = bytes.fromhex(str(verifier["key"]))
        iterations = int(verifier["iterations"])
    except (KeyError, ValueError):
        return False
    key = hashlib.pbkdf2_hmac("sha256", pin.encode("utf-8"), salt, iterations)
    return hmac.compare_digest(key, expected)


def _keyed_key(pin: str, secret: bytes, salt: bytes, cost: PinCost) -> bytes:
    keyed = hmac.new(secret, pin.encode("utf-8"), hashlib.sha256).digest()
    return hashlib.scrypt(
        keyed, salt=salt, n=cost.n, r=cost.r, p=cost.p, maxmem=cost.memory_bytes + (32 << 20), dklen=32
    )


def make_keyed_verifier(
    pin: str, secret: bytes, *, cost: PinCost = PIN_COST, salt: bytes | None = None
) -> dict[str, Any]:
    """A JSON-safe verifier of ``pin`` keyed with the device ``secret`` (no PIN, no secret in it)."""
    salt = salt if salt is not None else secrets.token_bytes(16)
    return {
        "algo": KEYED_ALGO,
        "n": cost.n,
        "r": cost.r,
        "p": cost.p,
        "salt": salt.hex(),
        "key": _keyed_key(pin, secret, salt, cost).hex(),
        "failures": 0,
    }


def check_keyed_verifier(verifier: dict[str, Any], pin: str, secret: bytes) -> bool:
    """Whether ``pin`` matches a keyed ``verifier`` under the device ``secret`` (constant-time)."""
    if verifier.get("algo") != KEYED_ALGO:
        return False
    try:
        salt = bytes.fromhex(str(verifier["salt"]))
        expected = bytes.fromhex(str(verifier["key"]))
        cost = PinCost(int(verifier["n"]), int(verifier["r"]), int(verifier["p"]))
    except (KeyError, ValueError):
        return False
    if not (2 <= cost.n <= 1 << 20 and cost.n & (cost.n - 1) == 0 and 1 <= cost.r <= 16 and cost.p == 1):
        return False  # a tampered file must not make the phone burn gigabytes
    return hmac.compare_digest(_keyed_key(pin, secret, salt, cost), expected)


def is_legacy(verifier: dict[str, Any]) -> bool:
    return verifier.get("algo") != KEYED_ALGO


class SessionState(Observable):
    """Who is signed in. ``sign_in`` is a coroutine: the network part runs on the sync link's worker."""

    def __init__(
        self,
        store: SessionStore,
        settings: SettingsState,
        link: SyncLink,
        *,
        error_kind: Callable[[BaseException], str] | None = None,
        iterations: int = PBKDF2_ITERATIONS,
        secrets: SecretStore | None = None,
        pin_cost: PinCost = PIN_COST,
    ) -> None:
        super().__init__()
        self._store = store
        self._settings = settings
        self._link = link
        self._error_kind = error_kind or link.error_kind
        self._iterations = iterations  # kept for callers that still pass it; new verifiers are keyed
        self._secrets: SecretStore = secrets if secrets is not None else MemorySecretStore()
        self._pin_cost = pin_cost
        self.officer: Officer | None = None
        self.signed_in_offline = False
        self.restore()

    # -- queries -----------------------------------------------------------------------------------------
    @property
    def signed_in(self) -> bool:
        return self.officer is not None

    def known_badges(self) -> list[str]:
        """Badges that signed in on this phone before (offline sign-in possible)."""
        return sorted(self._verifiers())

    def restore(self) -> Officer | None:
        """The officer still signed in from the last run (the app was killed in the background)."""
        badge = self._store.meta_get(metakeys.SESSION_BADGE)
        officer = self._store.get_officer(badge) if isinstance(badge, str) and badge else None
        self.officer = officer
        self._link.auto = officer is not None
        return officer

    # -- commands ----------------------------------------------------------------------------------------
    async def sign_in(self, hq_url: str, badge: str, pin: str) -> Officer:
        """Sign in ``badge``: offline against the local verifier when it matches, else through HQ.

        Raises SignInError (field badge / pin / hq_url) or SettingsError for a bad HQ address.
        """
        badge = badge.strip()
        if not badge:
            raise localized(SignInError, "signin.badge_required", field="badge")
        if not pin:
            raise localized(SignInError, "signin.pin_required", field="pin")
        self._settings.update(hq_url=hq_url)
        verifiers = self._verifiers()
        verifier = verifiers.get(badge)
        officer = self._store.get_officer(badge)
        if (
            verifier is not None
            and officer is not None
            and verifier.get("failures", 0) < MAX_OFFLINE_FAILURES
            and await self._check(verifier, pin)
        ):
            await self._remember(badge, pin, reset_only=not is_legacy(verifier))
            self._activate(officer, offline=True)
            self._refresh_token_quietly(badge, pin)
            return officer
        try:
            officer = await asyncio.wrap_future(self._link.sign_in(badge, pin))
        except Exception as exc:
            raise self._sign_in_failure(exc, badge) from exc
        self._store.save_officer(officer)
        await self._remember(badge, pin)
        self._activate(officer, offline=False)
        return officer

    def sign_out(self) -> Future[int] | None:
        """Forget the signed-in officer and delete HQ's token here at once; keep every record, photo and
        the verifier. The token's revocation is queued and sent to HQ on the link's worker (now, or first
        on the next connection when HQ is not reachable); the returned future tells how that went."""
        self._store.meta_set(metakeys.SESSION_BADGE, None)
        self.officer = None
        self.signed_in_offline = False
        self._link.set_auto(False)
        token = self._secrets.get(secretstore.TOKEN)
        self._secrets.delete(secretstore.TOKEN)
        self._store.meta_set(metakeys.TOKEN, None)  # a token an older version kept in the file
        future: Future[int] | None = None
        if token:
            secretstore.queue_revocation(self._secrets, token)
            future = self._link.submit(lambda backend: backend.revoke_pending())
            future.add_done_callback(_swallow)
        self.notify()
        return future

    # -- internals ---------------------------------------------------------------------------------------
    def _activate(self, officer: Officer, *, offline: bool) -> None:
        self._store.meta_set(metakeys.SESSION_BADGE, officer.badge)
        self.officer = officer
        self.signed_in_offline = offline
        self._link.set_auto(True)
        self.notify()

    def _verifiers(self) -> dict[str, dict[str, Any]]:
        raw = self._store.meta_get(metakeys.VERIFIERS) or {}
        return {str(k): v for k, v in raw.items() if isinstance(v, dict)} if isinstance(raw, dict) else {}

    # The PIN's key derivation (scrypt over tens of MiB, deliberately slow) runs on a worker thread:
    # ``sign_in`` is awaited by the sign-in screen on the UI's event loop, which it froze for 1-3 s on a
    # loaded machine (no repaint, no other tap, every other page of the process stalled).

    async def _check(self, verifier: dict[str, Any], pin: str) -> bool:
        if is_legacy(verifier):
            return await asyncio.to_thread(check_verifier, verifier, pin)
        secret = secretstore.device_secret(self._secrets)
        return await asyncio.to_thread(check_keyed_verifier, verifier, pin, secret)

    async def _remember(self, badge: str, pin: str, *, reset_only: bool = False) -> None:
        if reset_only and badge in self._verifiers():
            made = {**self._verifiers()[badge], "failures": 0}
        else:
            secret = secretstore.device_secret(self._secrets)
            made = await asyncio.to_thread(make_keyed_verifier, pin, secret, cost=self._pin_cost)
        verifiers = self._verifiers()  # read again after the wait: another badge may have signed in
        verifiers[badge] = made
        self._store.meta_set(metakeys.VERIFIERS, verifiers)

    def _count_offline_failure(self, badge: str) -> int:
        verifiers = self._verifiers()
        if badge not in verifiers:
            return 0
        failures = int(verifiers[badge].get("failures", 0)) + 1
        verifiers[badge] = {**verifiers[badge], "failures": failures}
        self._store.meta_set(metakeys.VERIFIERS, verifiers)
        return failures

    def _sign_in_failure(self, exc: Exception, badge: str) -> Exception:
        kind = self._error_kind(exc)
        verifier = self._verifiers().get(badge)
        if kind == "offline":
            if verifier is None or self._store.get_officer(badge) is None:
                return localized(SignInError, "signin.first_needs_hq", field="hq_url", code="first_needs_hq")
            if self._count_offline_failure(badge) >= MAX_OFFLINE_FAILURES:
                return localized(SignInError, "signin.locked", field="pin", code="locked")
            return localized(SignInError, "signin.wrong_pin", field="pin", code="wrong_pin")
        if kind == "credentials":
            return localized(SignInError, "signin.wrong_pin", field="pin", code="wrong_pin")
        return exc

    def _refresh_token_quietly(self, badge: str, pin: str) -> None:
        """After an offline sign-in, renew HQ's token in the background if HQ happens to be reachable."""
        future = self._link.sign_in(badge, pin)
        future.add_done_callback(_swallow)


def adopt_file_token(store: SessionStore, secrets: SecretStore) -> bool:
    """Move a token an older version kept in the store file into ``secrets`` (and out of the file)."""
    token = store.meta_get(metakeys.TOKEN)
    if not isinstance(token, str) or not token:
        return False
    if not secrets.get(secretstore.TOKEN):
        secrets.set(secretstore.TOKEN, token)
    store.meta_set(metakeys.TOKEN, None)
    return True


def _swallow(future: Future[Any]) -> None:
    future.exception()  # retrieve it so it is not reported as never retrieved; the link shows state
