"""The phone's client of HQ: sign-in, and the sync of the phone store with HQ over HTTP (httpx).

Only the phone uses it; HQ and the phone share just the wire protocol (``sync.protocol``). Modules:

- ``errors``    the SyncError hierarchy (what stopped a request, with texts for the officer)
- ``tls``       https only (cleartext to loopback only), certificate checks, a bureau's pinned CA
- ``transport`` one request with retries and backoff; the only module area on the phone that imports httpx
- ``uploads``   photo uploads: pipelined, one body on the wire at a time, resumable
- ``cycle``     ``SyncClient``: sign-in and ``sync_once`` (push, uploads, pull/apply); ``connect``
- ``report``    ``Phase``/``Progress`` for the progress line and the ``SyncReport`` a sync returns
- ``ports``     the Protocols of the phone store and photo files the client needs

The phone DB's meta keys the client writes (token, cursor, last confirmed sync, ...) are in
``mobile.metakeys``.
"""

from mobile.hqclient.cycle import SyncClient, connect
from mobile.hqclient.errors import (
    BadAnswer,
    CertificateRejected,
    CleartextRefused,
    DeviceBlocked,
    InsecureConnection,
    Interrupted,
    ProtocolMismatch,
    ServerRefused,
    ServerUnreachable,
    SignInFailed,
    SignInRequired,
    SyncError,
    SyncErrorCode,
    TlsUnavailable,
)
from mobile.hqclient.ports import ClientStore, OutboxRecord, PhotoFiles
from mobile.hqclient.report import PHASE_TEXT, Phase, Progress, ProgressCallback, SyncReport
from mobile.hqclient.tls import (
    CaInfo,
    check_ca_pem,
    cleartext_allowed,
    der_to_pem,
    describe_ca_pem,
    is_loopback_host,
)
from mobile.hqclient.transport import RetryPolicy
from mobile.hqclient.uploads import UPLOAD_WORKERS

__all__ = [
    "PHASE_TEXT",
    "UPLOAD_WORKERS",
    "BadAnswer",
    "CaInfo",
    "CertificateRejected",
    "CleartextRefused",
    "ClientStore",
    "DeviceBlocked",
    "InsecureConnection",
    "Interrupted",
    "OutboxRecord",
    "Phase",
    "PhotoFiles",
    "Progress",
    "ProgressCallback",
    "ProtocolMismatch",
    "RetryPolicy",
    "ServerRefused",
    "ServerUnreachable",
    "SignInFailed",
    "SignInRequired",
    "SyncClient",
    "SyncError",
    "SyncErrorCode",
    "SyncReport",
    "TlsUnavailable",
    "check_ca_pem",
    "cleartext_allowed",
    "connect",
    "der_to_pem",
    "describe_ca_pem",
    "is_loopback_host",
]
