"""Who is asking: PINs (argon2id), per-device bearer tokens (only their SHA-256 stored), scopes, throttling.

- ``Auth.sign_in`` checks badge + PIN, slowed down per badge and per client address after repeated
  failures (429 + Retry-After, growing), and issues a fresh token for the device (earlier tokens of that
  device are revoked: one live token per device). Each attempt is checked and counted in ONE transaction
  *before* its PIN is hashed (so parallel guesses cannot all slip past the lock); a success refunds it.
- Devices: a phone sends its own random device key (``SignInRequest.device_key``); HQ binds its hash to
  the device id at the first successful sign-in presenting one. A bound device id then signs in only
  with that key (no takeover by someone who read the id off a case); a shared squad phone proves the key
  for every badge, each badge keeping its own device row and last contact. A phone proving its key for a
  badge that signed in on it before counts its failures per device × badge, so strangers locking the
  badge do not lock out the officer's own phone. Devices without a key (older apps) work as before.
- Revocation blocks: a revoked device (or badge on it) is refused with DEVICE_REVOKED until HQ re-enables
  it (``enable_device``); ``set_user_active`` disables a user and revokes all their tokens at once.
- ``Auth.authenticate`` turns a bearer token into a ``Principal`` or an ``ApiError`` (401 with the precise
  errno: missing / invalid / expired / revoked).
- ``Principal`` answers the scope questions: an officer reads and writes only their own cases and reads
  their district's subject registry; a squad leader reads their squad; HQ reads everything.

Every refusal is an ``ApiError`` (``hq.api.errors``: errno + both languages); the app turns it into an
``ErrorBody``.
"""

from __future__ import annotations

import hashlib
import hmac
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


@dataclass(frozen=True, slots=True)
class _Admission:
    """A sign-in attempt let through to the PIN check: the throttling keys it was counted under."""

    keys: tuple[tuple[str, int], ...]
    proven: bool  # it proved the device key bound to a device this badge signed in on
    key_hash: str | None  # SHA-256 of the device key it presented


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

    @staticmethod
    def _device_refusal(tx: Tx, badge: str, device_id: str, key_hash: str | None) -> Errno | None:
        """Why this device may not sign in ``badge`` at all (checked before any PIN is hashed): it is
        revoked (whole device, or this badge on it), or it is bound to a device key not presented."""
        bound = tx.get_device_key(device_id)
        row = tx.get_device(device_id, badge)
        if (bound is not None and bound.revoked_at is not None) or (row is not None and row.revoked_at):
            return Errno.DEVICE_REVOKED
        if (
            bound is not None
            and bound.key_hash is not None
            and (key_hash is None or not hmac.compare_digest(key_hash, bound.key_hash))
        ):
            return Errno.DEVICE_BOUND
        return None

    def _admit(
        self, tx: Tx, badge: str, device_id: str, key_hash: str | None, address: str, now: datetime
    ) -> _Admission | ApiError:
        """In ONE write transaction: refuse a revoked or foreign-bound device, then check and count the
        attempt (reserve it) under its throttling keys before any PIN is hashed. A phone proving the key
        bound to a device this badge signed in on counts only against ``device:<id>:<badge>``; anyone
        else against the badge and the client address."""
        refusal = self._device_refusal(tx, badge, device_id, key_hash)
        if refusal is not None:
            return ApiError(refusal)
        bound = tx.get_device_key(device_id)
        proven = (
            key_hash is not None
            and bound is not None
            and bound.key_hash is not None
            and tx.get_device(device_id, badge) is not None
        )
        throttle = self.settings.throttle
        keys = (
            [(f"device:{device_id}:{badge}", throttle.free_failures_per_device)]
            if proven
            else self._throttle_keys(badge, address)
        )
        tx.lock_signin(key for key, _free in keys)
        current = {key: self._current(tx, key, now) for key, _free in keys}
        waits = [
            (failures.locked_until - now).total_seconds()
            for failures in current.values()
            if failures is not None and failures.locked_until is not None and failures.locked_until > now
        ]
        if waits:
            retry_after = max(1, math.ceil(max(waits)))
            return ApiError(
                Errno.TOO_MANY_ATTEMPTS,
                zh=f"登录失败次数过多，请在{retry_after}秒后再试",
                en=f"Too many failed sign-ins; try again in {retry_after} s",
                detail={"retry_after": retry_after},
                headers={"Retry-After": str(retry_after)},
            )
        for key, free in keys:
            before = current[key]
            count = (before.count if before else 0) + 1
            seconds = _lock_seconds(count, free, throttle)
            locked_until = now + timedelta(seconds=seconds) if seconds else None
            tx.put_failures(SignInFailures(key, count, before.first_at if before else now, now, locked_until))
        return _Admission(tuple(keys), proven, key_hash)

    def _refund(self, tx: Tx, admission: _Admission, now: datetime) -> None:
        """A success: the badge's and the device's counters are cleared, the address gets its attempt
        back (an office NAT signs many officers in)."""
        for key, free in admission.keys:
            if not key.startswith("addr:"):
                tx.clear_failures(key)
                continue
            failures = self._current(tx, key, now)
            if failures is None:
                continue
            count = failures.count - 1
            if count <= 0:
                tx.clear_failures(key)
            else:
                locked_until = failures.locked_until if count >= free else None
                tx.put_failures(SignInFailures(key, count, failures.first_at, failures.last_at, locked_until))

    def hash_pin(self, pin: str) -> str:
        return self.pins.hash(pin)

    def sign_in(self, request: SignInRequest, address: str) -> SignInResponse:
        """Check badge + PIN and issue a token for ``request.device_id``; ``address`` is the client's.

        Order: the device check and the attempt's reservation (one transaction, refused attempts audited
        as ``sign_in_refused`` / ``sign_in_throttled``), then the PIN hash, then the token (the
        reservation refunded, the device key bound on first use)."""
        now = self.settings.clock()
        badge = request.badge.strip()
        key_hash = token_hash(request.device_key) if request.device_key else None
        context = {"address": address, "device_id": request.device_id}
        with self.storage.transaction() as tx:
            admitted = self._admit(tx, badge, request.device_id, key_hash, address, now)
            if isinstance(admitted, ApiError):
                throttled = admitted.errno is Errno.TOO_MANY_ATTEMPTS
                action = "sign_in_throttled" if throttled else "sign_in_refused"
                tx.audit(badge, action, target=address, detail={**context, "errno": int(admitted.errno)})
        if isinstance(admitted, ApiError):
            raise admitted
        with self.storage.transaction(readonly=True) as tx:
            user = tx.get_user(badge)
        if not self.pins.verify(user.pin_hash if user else None, request.pin) or user is None:
            with self.storage.transaction() as tx:
                detail = {**context, "proven": admitted.proven}
                tx.audit(badge, "sign_in_failed", target=address, detail=detail)
            raise ApiError(Errno.BAD_CREDENTIALS, field="pin")
        if not user.active:
            raise ApiError(Errno.ACCOUNT_DISABLED)
        return self._issue(user, request, address, now, admitted)

    def _issue(
        self, user: UserRow, request: SignInRequest, address: str, now: datetime, admitted: _Admission
    ) -> SignInResponse:
        token = new_token()
        expires_at = now + self.settings.token_ttl
        rehash = self.pins.hash(request.pin) if self.pins.needs_rehash(user.pin_hash) else None
        detail: dict[str, object] = {"address": address}
        with self.storage.transaction() as tx:
            # Revoked or bound by someone else while the PIN was checked: still no token.
            refusal = self._device_refusal(tx, user.badge, request.device_id, admitted.key_hash)
            if refusal is not None:
                raise ApiError(refusal)
            if admitted.key_hash is not None:
                before = tx.get_device_key(request.device_id)
                bound = tx.bind_device_key(request.device_id, admitted.key_hash, user.badge, now)
                if bound.key_hash != admitted.key_hash:
                    raise ApiError(Errno.DEVICE_BOUND)
                if before is None or before.key_hash is None:
                    detail["device_key"] = "bound"
            # under the same locks as the reservation: concurrent refunds of one address (an office NAT, a
            # shift start) must not overwrite each other's count (PostgreSQL: lost updates locked it out)
            tx.lock_signin(key for key, _free in admitted.keys)
            self._refund(tx, admitted, now)
            tx.revoke_tokens(now, device_id=request.device_id)  # one live token per physical phone
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
            tx.audit(user.badge, "sign_in", target=request.device_id, detail=detail)
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
        """Revoke the tokens of a device and block it until HQ re-enables it (``enable_device``): its
        sign-ins are then refused with DEVICE_REVOKED. An officer: only their own tokens on it and only
        themselves on it (403 if it never was theirs). HQ: the whole device (every badge), or only
        ``badge`` on it."""
        now = self.settings.clock()
        with self.storage.transaction() as tx:
            if principal.is_hq:
                count = tx.revoke_tokens(now, device_id=device_id, badge=badge or None)
                blocked = tx.set_device_revoked(device_id, now, badge or None)
                if count == 0 and blocked == 0:
                    raise ApiError(Errno.NOT_FOUND)
            else:
                if badge not in (None, "", principal.badge):
                    raise ApiError(Errno.FORBIDDEN)
                device = tx.get_device(device_id, principal.badge)
                count = tx.revoke_tokens(now, device_id=device_id, badge=principal.badge)
                if count == 0 and device is None:
                    raise ApiError(Errno.FORBIDDEN)
                tx.set_device_revoked(device_id, now, principal.badge)
            tx.audit(principal.badge, "token_revoked", target=device_id, detail={"count": count})
        return count

    def enable_device(self, actor: str, device_id: str, badge: str | None = None) -> int:
        """Lift a revocation (the whole device, or only ``badge`` on it); the phone then signs in again
        with the PIN. NOT_FOUND when HQ never saw the device (or that badge on it)."""
        with self.storage.transaction() as tx:
            count = tx.set_device_revoked(device_id, None, badge or None)
            if count == 0:
                raise ApiError(Errno.NOT_FOUND, zh=f"设备“{device_id}”不存在", en=f"No device {device_id}")
            tx.audit(actor, "device_enabled", target=device_id, detail={"badge": badge or ""})
        return count

    def set_user_active(self, actor: str, badge: str, active: bool) -> int:
        """Disable a user (every token of theirs revoked at once: their next request gets 401, their
        sign-ins 403 ACCOUNT_DISABLED) or enable them again; returns how many tokens were revoked."""
        now = self.settings.clock()
        with self.storage.transaction() as tx:
            if not tx.set_user_active(badge, active):
                raise ApiError(Errno.NOT_FOUND, zh=f"警号“{badge}”不存在", en=f"No user with badge {badge}")
            count = 0 if active else tx.revoke_tokens(now, badge=badge)
            action = "user_enabled" if active else "user_disabled"
            tx.audit(actor, action, target=badge, detail={"tokens_revoked": count})
        return count
