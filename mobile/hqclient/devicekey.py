"""This phone's device key: a random secret made once, sent with every sign-in (``SignInRequest.device_key``).

HQ binds its hash to the phone's device id at the first successful sign-in that presents it; from then on
a sign-in under that device id without the key is refused (``Errno.DEVICE_BOUND``), so nobody who read the
device id off a case can take the device over, while every badge signing in on this phone (a shared squad
phone) proves it. The key lives with the phone's other secrets (``mobile.secretstore``: Flet's secure
storage on a phone), never in the store file: a key an earlier build kept in the file's meta
(``metakeys.DEVICE_KEY``) is moved out on first use. This function is the only place that reads or makes it.
"""

from __future__ import annotations

import secrets

from mobile import metakeys, secretstore
from mobile.hqclient.ports import ClientStore
from mobile.secretstore import SecretStore

#: A key is 43 URL-safe characters (256 random bits); HQ accepts 32 to 128.
MIN_KEY_LENGTH = 32


def _usable(value: object) -> bool:
    return isinstance(value, str) and len(value) >= MIN_KEY_LENGTH


def device_key(vault: SecretStore, store: ClientStore) -> str:
    """The phone's device key from ``vault``, made and kept there on first use (or moved there from the
    store file where an earlier build kept it)."""
    key = vault.get(secretstore.DEVICE_KEY)
    if _usable(key):
        assert isinstance(key, str)
        return key
    legacy = store.meta_get(metakeys.DEVICE_KEY)
    key = legacy if _usable(legacy) else secrets.token_urlsafe(32)
    vault.set(secretstore.DEVICE_KEY, key)
    if legacy is not None:
        store.meta_set(metakeys.DEVICE_KEY, "")  # out of the file: the vault holds it now
    return key
