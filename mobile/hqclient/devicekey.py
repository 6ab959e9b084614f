"""This phone's device key: a random secret made once, sent with every sign-in (``SignInRequest.device_key``).

HQ binds its hash to the phone's device id at the first successful sign-in that presents it; from then on
a sign-in under that device id without the key is refused (``Errno.DEVICE_BOUND``), so nobody who read the
device id off a case can take the device over, while every badge signing in on this phone (a shared squad
phone) proves it. The key lives in the phone DB's meta (``metakeys.DEVICE_KEY``); this function is the only
place that reads or makes it, so moving it into the platform's secure storage changes only this module.
"""

from __future__ import annotations

import secrets

from mobile import metakeys
from mobile.hqclient.ports import ClientStore


def device_key(store: ClientStore) -> str:
    """The phone's device key, made (43 URL-safe characters, 256 random bits) and kept on first use."""
    key = store.meta_get(metakeys.DEVICE_KEY)
    if isinstance(key, str) and len(key) >= 32:
        return key
    key = secrets.token_urlsafe(32)
    store.meta_set(metakeys.DEVICE_KEY, key)
    return key
