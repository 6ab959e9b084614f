"""The phone's secrets: a small key/value interface kept apart from the phone DB.

What lives here, never in the SQLite store: HQ's bearer token, a token whose revocation at HQ is still
pending (signed out while offline; the HQ client sends it first on the next connection and forgets it), and
a per-install device secret (32 random bytes) that keys the offline PIN verifier, so a copy of the store
file alone yields neither the token nor the PIN.

- ``SecretStore``       the Protocol (synchronous ``get``/``set``/``delete`` of short strings); the state
                        classes and the HQ client take one as a collaborator
- ``MemorySecretStore`` a dict behind a lock (tests; the app before a page attached its secure storage)
- ``MetaSecretStore``   over the store's ``meta`` table: only for benches and wire tests that simulate
                        phones; the officer app never uses it
- ``SecureStorageSecrets`` a write-through cache over Flet's secure storage extension
                        (``flet_secure_storage.SecureStorage``: Android Keystore on a phone, browser storage
                        in web mode). That extension is async and lives on a page; the cache answers the
                        synchronous reads of the state and of the sync worker thread, and every change is
                        sent to the page's storage on the page's event loop.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import threading
from collections.abc import Awaitable
from typing import Any, Protocol

from mobile import metakeys

log = logging.getLogger(__name__)

# -- the keys (stored names: renaming one orphans what phones already keep)
TOKEN = "streetpatrol.token"  # noqa: S105 (a key name, not a secret)
REVOKE_PENDING = "streetpatrol.revoke_pending"  # newline-separated tokens still to revoke at HQ
DEVICE_SECRET = "streetpatrol.device_secret"  # noqa: S105
DEVICE_KEY = "streetpatrol.device_key"  # the sign-in proof HQ binds to this phone (mobile.hqclient.devicekey)
KEYS = (TOKEN, REVOKE_PENDING, DEVICE_SECRET, DEVICE_KEY)

DEVICE_SECRET_BYTES = 32


class SecretStore(Protocol):
    """Short secret strings by key. Thread-safe; ``get`` of a missing key is None."""

    def get(self, key: str) -> str | None: ...
    def set(self, key: str, value: str) -> None: ...
    def delete(self, key: str) -> None: ...


class MemorySecretStore:
    """Secrets in a dict (lost with the process)."""

    def __init__(self, initial: dict[str, str] | None = None) -> None:
        self._values: dict[str, str] = dict(initial or {})
        self._lock = threading.Lock()

    def get(self, key: str) -> str | None:
        with self._lock:
            return self._values.get(key)

    def set(self, key: str, value: str) -> None:
        with self._lock:
            self._values[key] = value

    def delete(self, key: str) -> None:
        with self._lock:
            self._values.pop(key, None)

    def snapshot(self) -> dict[str, str]:
        with self._lock:
            return dict(self._values)


class _Meta(Protocol):
    def meta_get(self, key: str, default: Any = None) -> Any: ...
    def meta_set(self, key: str, value: Any) -> None: ...


class MetaSecretStore:
    """Secrets in the store's ``meta`` table under ``secret.<key>`` (benches and wire tests only: anyone with
    the file has them)."""

    def __init__(self, store: _Meta) -> None:
        self._store = store

    def get(self, key: str) -> str | None:
        value = self._store.meta_get(_meta_key(key))
        return value if isinstance(value, str) else None

    def set(self, key: str, value: str) -> None:
        self._store.meta_set(_meta_key(key), value)

    def delete(self, key: str) -> None:
        self._store.meta_set(_meta_key(key), None)


def _meta_key(key: str) -> str:
    return metakeys.TOKEN if key == TOKEN else f"secret.{key}"


class _AsyncStorage(Protocol):
    """What ``SecureStorageSecrets`` needs of ``flet_secure_storage.SecureStorage``."""

    def get(self, key: str) -> Awaitable[str | None]: ...
    def set(self, key: str, value: Any) -> Awaitable[None]: ...
    def remove(self, key: str) -> Awaitable[None]: ...


class SecureStorageSecrets:
    """A write-through cache over Flet's secure storage.

    ``attach(storage)`` (a coroutine, on the page's loop) loads the known keys and from then on every
    ``set``/``delete`` is also sent to ``storage``. Changes made before ``attach`` win over what storage
    held and are sent at attach. Only the first page to attach is used (the app's state is per process).
    """

    def __init__(self, *, timeout: float = 10.0) -> None:
        self._cache = MemorySecretStore()
        self._changed: dict[str, str | None] = {}  # changes made before attach
        self._storage: _AsyncStorage | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = threading.Lock()
        self._timeout = timeout
        self.attached = threading.Event()

    async def attach(self, storage: _AsyncStorage) -> bool:
        """Load the secrets kept on the device; False (memory only) if the storage did not answer."""
        with self._lock:
            if self._storage is not None:
                return True
        try:
            loaded = {key: await asyncio.wait_for(storage.get(key), self._timeout) for key in KEYS}
        except Exception:  # storage unavailable: secrets stay in memory for this run
            log.warning("secure storage did not answer; secrets kept in memory only", exc_info=True)
            return False
        with self._lock:
            for key, value in loaded.items():
                if key not in self._changed and isinstance(value, str):
                    self._cache.set(key, value)
            changed, self._changed = self._changed, {}
            self._storage = storage
            self._loop = asyncio.get_running_loop()
        for key, value in changed.items():
            await self._send(key, value)
        self.attached.set()
        return True

    def get(self, key: str) -> str | None:
        return self._cache.get(key)

    def set(self, key: str, value: str) -> None:
        self._change(key, value)

    def delete(self, key: str) -> None:
        self._change(key, None)

    def _change(self, key: str, value: str | None) -> None:
        with self._lock:
            if value is None:
                self._cache.delete(key)
            else:
                self._cache.set(key, value)
            if self._storage is None or self._loop is None:
                self._changed[key] = value
                return
            loop = self._loop
        asyncio.run_coroutine_threadsafe(self._send(key, value), loop)

    async def _send(self, key: str, value: str | None) -> None:
        storage = self._storage
        if storage is None:
            return
        try:
            if value is None:
                await storage.remove(key)
            else:
                await storage.set(key, value)
        except Exception:
            log.warning("secure storage refused a change of %s", key, exc_info=True)


def device_secret(store: SecretStore) -> bytes:
    """This install's device secret (made on first use: 32 random bytes)."""
    value = store.get(DEVICE_SECRET)
    if value:
        try:
            raw = bytes.fromhex(value)
        except ValueError:
            raw = b""
        if len(raw) == DEVICE_SECRET_BYTES:
            return raw
    raw = secrets.token_bytes(DEVICE_SECRET_BYTES)
    store.set(DEVICE_SECRET, raw.hex())
    return raw


def pending_revocations(store: SecretStore) -> list[str]:
    """Tokens signed out while offline whose revocation HQ has not confirmed yet."""
    return [t for t in (store.get(REVOKE_PENDING) or "").split("\n") if t]


def queue_revocation(store: SecretStore, token: str) -> None:
    tokens = pending_revocations(store)
    if token not in tokens:
        store.set(REVOKE_PENDING, "\n".join([*tokens, token]))


def forget_revocation(store: SecretStore, token: str) -> None:
    tokens = [t for t in pending_revocations(store) if t != token]
    if tokens:
        store.set(REVOKE_PENDING, "\n".join(tokens))
    else:
        store.delete(REVOKE_PENDING)
