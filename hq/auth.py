"""Who is asking: PINs (argon2id), per-device bearer tokens (only their SHA-256 stored), scopes, throttling.

- ``Auth.sign_in`` checks badge + PIN, slowed down per badge and per client address after repeated
  failures (429 + Retry-After, growing), and issues a fresh token for the device (earlier tokens of that
  device are revoked: one live token per device).
- ``Auth.authenticate`` turns a bearer token into a ``Principal`` or an ``ApiError`` (401 with the precise
  errno: missing / invalid / expired / revoked).
- ``Principal`` answers the scope questions: an officer reads and writes only their own cases and reads
  their district's subject registry; a squad leader reads their squad; HQ reads everything.

Every refusal is an ``ApiError`` (``hq.api.errors``: errno + both languages); the app turns it into an
``ErrorBody``.
"""

from __future__ import annotations

import hashlib
import math
import secrets
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from enforcement.model import Officer, Role
from hq.api.errors import ApiError
from hq.settings import PinHashing, Settings, ThrottleSettings
from hq.storage.base import CaseState, SignInFailures, Storage, TokenRow, Tx, UserRow
from sync.protocol import PROTOCOL_VERSION, Errno, SignInRequest, SignInResponse


def token_hash(token: str) -> str:
    """What is stored of a token: its SHA-256 (a token is 256 random bits, so no salt is needed)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(32)


class PinHasher:
    """argon2id hashing of PINs with the configured cost."""

    def __init__(self, params: PinHashing) -> None:
        self._hasher = PasswordHasher(
            time_cost=params.time_cost, memory_cost=params.memory_cost, parallelism=params.parallelism
        )
        # Verified against when the badge is unknown, so an unknown badge costs as much as a wrong PIN.
        self._dummy = self._hasher.hash(secrets.token_hex(8))
        # Each argon2 check takes memory_cost KiB: unbounded concurrent sign-ins could exhaust memory
        # (bench/load.py: 40 at once took HQ from 98 MiB to 2.6 GiB). At most one check per core runs
        # (per worker process: its share of the cores).
        self.slots = params.slots()
        self._slots = threading.BoundedSemaphore(self.slots)

    def hash(self, pin: str) -> str:
        with self._slots:
            return self._hasher.hash(pin)

    def verify(self, pin_hash: str | None, pin: str) -> bool:
        try:
            with self._slots:
                return self._hasher.verify(pin_hash or self._dummy, pin) and pin_hash is not None
        except (VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, pin_hash: str) -> bool:
        try:
            return self._hasher.check_needs_rehash(pin_hash)
        except InvalidHashError:
            return True


@dataclass(frozen=True, slots=True)
class Principal:
    """The signed-in caller of one request."""

    officer: Officer
    device_id: str
    token_hash: str = field(repr=False)
    expires_at: datetime

    @property
    def badge(self) -> str:
        return self.officer.badge

    @property
    def role(self) -> Role:
        return self.officer.role

    @property
    def district(self) -> str:
        return self.officer.district

    @property
    def is_hq(self) -> bool:
        return self.role is Role.HQ

    def can_read_case(self, state: CaseState) -> bool:
        """Own cases; a leader's squad; HQ everything."""
        if self.is_hq:
            return True
        if self.role is Role.LEADER and state.squad_code == self.officer.squad_code:
            return True
        return state.officer_badge == self.badge

    def can_read_district(self, district: str) -> bool:
        return self.is_hq or district == self.district

    def require_hq(self) -> None:
        if not self.is_hq:
            raise ApiError(Errno.FORBIDDEN)


def _lock_seconds(failures: int, free: int, throttle: ThrottleSettings) -> float:
    """How long a key is locked after its ``failures``-th failure (0 while within the free ones)."""
    if failures < free:
        return 0.0
    delay = throttle.base_delay.total_seconds() * 2.0 ** min(failures - free, 30)
    return min(delay, throttle.max_delay.total_seconds())


class Auth:
    """Sign-in, token checks and revocation over a ``Storage``."""

    def __init__(self, storage: Storage, settings: Settings) -> None:
        self.storage = storage
        self.settings = settings
        self.pins = PinHasher(settings.pin_hashing)

    # ------------------------------------------------------------------------------------ sign-in

    def _throttle_keys(self, badge: str, address: str) -> list[tuple[str, int]]:
        throttle = self.settings.throttle
        return [
            (f"badge:{badge}", throttle.free_failures),
            (f"addr:{address}", throttle.free_failures_per_address),
        ]

    def _current(self, tx: Tx, key: str, now: datetime) -> SignInFailures | None:
        failures = tx.get_failures(key)
        if failures is not None and now - failures.last_at > self.settings.throttle.forget_after:
            tx.clear_failures(key)
            return None
        return failures

    def _refuse_if_locked(self, badge: str, address: str, now: datetime) -> None:
        with self.storage.transaction() as tx:
            waits = [
                (failures.locked_until - now).total_seconds()
                for key, _free in self._throttle_keys(badge, address)
                if (failures := self._current(tx, key, now)) is not None
                and failures.locked_until is not None
                and failures.locked_until > now
            ]
        if waits:
            retry_after = max(1, math.ceil(max(waits)))
            raise ApiError(
                Errno.TOO_MANY_ATTEMPTS,
                zh=f"登录失败次数过多，请在{retry_after}秒后再试",
                en=f"Too many failed sign-ins; try again in {retry_after} s",
                detail={"retry_after": retry_after},
                headers={"Retry-After": str(retry_after)},
            )

    def _count_failure(self, badge: str, address: str, now: datetime) -> None:
        with self.storage.transaction() as tx:
            for key, free in self._throttle_keys(badge, address):
                before = self._current(tx, key, now)
                count = (before.count if before else 0) + 1
                seconds = _lock_seconds(count, free, self.settings.throttle)
                locked_until = now + timedelta(seconds=seconds) if seconds else None
                tx.record_failure(key, now, locked_until)
            tx.audit(badge, "sign_in_failed", target=address)

    def hash_pin(self, pin: str) -> str:
        return self.pins.hash(pin)

    def sign_in(self, request: SignInRequest, address: str) -> SignInResponse:
        """Check badge + PIN and issue a token for ``request.device_id``; ``address`` is the client's."""
        now = self.settings.clock()
        badge = request.badge.strip()
        self._refuse_if_locked(badge, address, now)
        with self.storage.transaction(readonly=True) as tx:
            user = tx.get_user(badge)
        if not self.pins.verify(user.pin_hash if user else None, request.pin) or user is None:
            self._count_failure(badge, address, now)
            raise ApiError(Errno.BAD_CREDENTIALS, field="pin")
        if not user.active:
            raise ApiError(Errno.ACCOUNT_DISABLED)
        return self._issue(user, request, address, now)

    def _issue(self, user: UserRow, request: SignInRequest, address: str, now: datetime) -> SignInResponse:
        token = new_token()
        expires_at = now + self.settings.token_ttl
        rehash = self.pins.hash(request.pin) if self.pins.needs_rehash(user.pin_hash) else None
        with self.storage.transaction() as tx:
            tx.clear_failures(f"badge:{user.badge}")
            tx.revoke_tokens(now, device_id=request.device_id)
            tx.touch_device(request.device_id, user.badge, now, request.device_name)
            tx.add_token(
                TokenRow(
                    token_hash=token_hash(token),
                    device_id=request.device_id,
                    badge=user.badge,
                    issued_at=now,
                    expires_at=expires_at,
                )
            )
            if rehash:
                tx.set_pin_hash(user.badge, rehash)
            tx.audit(user.badge, "sign_in", target=request.device_id, detail={"address": address})
        return SignInResponse(
            protocol=PROTOCOL_VERSION,
            token=token,
            expires_at=expires_at,
            officer=user.officer,
            device_id=request.device_id,
            server_time=now,
        )

    # ------------------------------------------------------------------------------------ tokens

    def authenticate(self, token: str | None) -> Principal:
        """The caller behind a bearer token, or ApiError 401 (403 for a disabled account)."""
        if not token:
            raise ApiError(Errno.TOKEN_MISSING)
        digest = token_hash(token)
        now = self.settings.clock()
        with self.storage.transaction(readonly=True) as tx:
            row = tx.get_token(digest)
            user = tx.get_user(row.badge) if row else None
        if row is None or user is None:
            raise ApiError(Errno.TOKEN_INVALID)
        if row.revoked:
            raise ApiError(Errno.TOKEN_REVOKED)
        if now >= row.expires_at:
            raise ApiError(Errno.TOKEN_EXPIRED)
        if not user.active:
            raise ApiError(Errno.ACCOUNT_DISABLED)
        if row.last_used_at is None or now - row.last_used_at >= self.settings.touch_interval:
            with self.storage.transaction() as tx:
                tx.touch_token(digest, now)
                tx.touch_device(row.device_id, row.badge, now)
        return Principal(
            officer=user.officer, device_id=row.device_id, token_hash=digest, expires_at=row.expires_at
        )

    def sign_out(self, principal: Principal) -> int:
        now = self.settings.clock()
        with self.storage.transaction() as tx:
            count = tx.revoke_tokens(now, token_hash=principal.token_hash)
            tx.audit(principal.badge, "sign_out", target=principal.device_id)
        return count

    def revoke_device(self, principal: Principal, device_id: str, badge: str | None = None) -> int:
        """Revoke the tokens of a device. An officer: only their own tokens on it (403 if it never was
        theirs). HQ: every token on it, or only ``badge``'s."""
        now = self.settings.clock()
        with self.storage.transaction() as tx:
            if principal.is_hq:
                count = tx.revoke_tokens(now, device_id=device_id, badge=badge or None)
                if count == 0 and tx.get_device(device_id) is None:
                    raise ApiError(Errno.NOT_FOUND)
            else:
                if badge not in (None, "", principal.badge):
                    raise ApiError(Errno.FORBIDDEN)
                device = tx.get_device(device_id)
                count = tx.revoke_tokens(now, device_id=device_id, badge=principal.badge)
                if count == 0 and (device is None or device.badge != principal.badge):
                    raise ApiError(Errno.FORBIDDEN)
            tx.audit(principal.badge, "token_revoked", target=device_id, detail={"count": count})
        return count
