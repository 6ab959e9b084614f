"""The keys of the phone DB's ``meta`` table, in one place.

The store (``mobile.store``), the HQ client (``mobile.hqclient``) and the state (``mobile.state``) read and
write small values in ``meta`` by these names; nothing spells a key as a literal elsewhere. Renaming a key
orphans what phones in the field already stored under the old one: these strings are part of the phone DB.
"""

from __future__ import annotations

# -- the store's own (made at first open)
DEVICE_ID = "device_id"
INSTALL_TAG = "install_tag"
CLEAN_CLOSE = "clean_close"  # written by the last act of ``Store.close``, deleted by the first write of open
INTEGRITY_CHECKED = "integrity_checked_at"  # when the last full ``integrity_check`` passed
INTEGRITY_OPENS = "opens_since_integrity_check"

# -- the HQ client's (``mobile.hqclient``)
TOKEN = "sync.token"  # noqa: S105 (a meta key, not a secret)
TOKEN_EXPIRES = "sync.token_expires_at"  # noqa: S105
OFFICER = "sync.officer"
CURSOR = "sync.cursor"
LAST_CONFIRMED = "sync.last_confirmed"  # HQ's clock at the end of the last sync that finished
CATALOGUE_VERSION = "sync.hq_catalogue_version"
DEVICE_KEY = "auth.device_key"  # read and made only by mobile.hqclient.devicekey
POLICY = "sync.policy"  # the staged rule's policy in force at HQ: {"version", "document"} (mobile.policyheld)

# -- the state's (``mobile.state``)
SESSION_BADGE = "session.badge"
VERIFIERS = "auth.verifiers"
SETTINGS = "settings"
HQ_CA_PEM = "settings.hq_ca_pem"  # the bureau CA enrolled on this phone (PEM): the only CA trusted for HQ
CLOCK = "clock.reference"  # the last trusted time (HQ's Date or a GPS fix's) and the clocks then
DRAFT = "draft.{badge}"  # the officer's unsaved case draft, one per badge: ``DRAFT.format(badge=...)``
IDENTITY = "identity.{badge}"  # the leader's last fetched merge suggestions and conflicts (JSON, #22)
