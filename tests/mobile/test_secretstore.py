"""The phone's SecretStore implementations: memory, and the write-through cache over Flet's async secure
storage (faked here: the real one needs a page and its Flutter client)."""

from __future__ import annotations

import asyncio
from typing import Any

from mobile import secretstore
from mobile.secretstore import MemorySecretStore, SecureStorageSecrets


class FakeSecureStorage:
    """``flet_secure_storage.SecureStorage``'s get/set/remove, async, over a dict."""

    def __init__(self, values: dict[str, str] | None = None) -> None:
        self.values = dict(values or {})

    async def get(self, key: str) -> str | None:
        await asyncio.sleep(0)
        return self.values.get(key)

    async def set(self, key: str, value: Any) -> None:
        await asyncio.sleep(0)
        self.values[key] = value

    async def remove(self, key: str) -> None:
        await asyncio.sleep(0)
        self.values.pop(key, None)


def test_attach_loads_the_device_kept_secrets_and_writes_through() -> None:
    storage = FakeSecureStorage({secretstore.TOKEN: "t1", secretstore.DEVICE_SECRET: "ab" * 32})
    secrets = SecureStorageSecrets()
    secrets.set(secretstore.TOKEN, "t2")  # changed before attach (a token moved out of an old file)

    async def run() -> None:
        assert await secrets.attach(storage)
        assert secrets.get(secretstore.DEVICE_SECRET) == "ab" * 32
        assert secrets.get(secretstore.TOKEN) == "t2"  # the newer change wins and is sent
        assert storage.values[secretstore.TOKEN] == "t2"
        secrets.delete(secretstore.TOKEN)  # e.g. from the sync worker: sent on the page's loop
        secrets.set(secretstore.REVOKE_PENDING, "t2")
        for _ in range(10):
            await asyncio.sleep(0)

    asyncio.run(run())
    assert secrets.attached.is_set()
    assert secretstore.TOKEN not in storage.values
    assert storage.values[secretstore.REVOKE_PENDING] == "t2"
    assert secretstore.device_secret(secrets) == bytes.fromhex("ab" * 32)


def test_a_storage_that_does_not_answer_leaves_secrets_in_memory() -> None:
    class Broken(FakeSecureStorage):
        async def get(self, key: str) -> str | None:
            raise RuntimeError("no secure storage here")

    secrets = SecureStorageSecrets()
    assert not asyncio.run(secrets.attach(Broken()))
    secrets.set(secretstore.TOKEN, "t")
    assert secrets.get(secretstore.TOKEN) == "t"


def test_device_secret_is_made_once_and_revocations_queue() -> None:
    secrets = MemorySecretStore()
    first = secretstore.device_secret(secrets)
    assert len(first) == 32
    assert secretstore.device_secret(secrets) == first
    secretstore.queue_revocation(secrets, "a")
    secretstore.queue_revocation(secrets, "b")
    secretstore.queue_revocation(secrets, "a")
    assert secretstore.pending_revocations(secrets) == ["a", "b"]
    secretstore.forget_revocation(secrets, "a")
    secretstore.forget_revocation(secrets, "b")
    assert secrets.get(secretstore.REVOKE_PENDING) is None
