"""The sync link's backend in the app: ``mobile.hqclient.SyncClient`` over a connection it owns.

``client_factory(store, photos)`` gives the ``BackendFactory`` that ``SyncLink`` calls in its worker thread
with the HQ address and its progress callback. The phone store is shared with the UI thread (``Store`` is
thread-safe: one connection behind a lock). Retries inside the client are few and short: the link itself
retries with backoff, and the officer must learn quickly that HQ is not reachable.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from enforcement.model import Officer
from mobile import metakeys
from mobile.hqclient import Progress, RetryPolicy, SyncClient, SyncReport, connect
from mobile.hqclient.identity import IdentityClient
from mobile.photostore import PhotoStore
from mobile.secretstore import SecretStore
from mobile.state.sync import BackendFactory, SyncBackend
from mobile.store import Store

#: Two quick tries per request; the link's own backoff handles longer outages.
APP_RETRY = RetryPolicy(attempts=2, base_delay=0.5, max_delay=2.0, max_retry_after=30.0)


class ClientBackend:
    """Adapts a SyncClient to ``SyncBackend`` (adds ``close``)."""

    def __init__(self, client: SyncClient) -> None:
        self.client = client

    @property
    def identity(self) -> IdentityClient:
        """The leader's merge and conflict requests (``mobile.state.identity``)."""
        return self.client.identity

    def sign_in(self, badge: str, pin: str) -> Officer:
        return self.client.sign_in(badge, pin)

    def sync_once(self) -> SyncReport:
        return self.client.sync_once()

    def revoke_pending(self) -> int:
        return self.client.revoke_pending()

    def assign_work_order(self, order_id: str, badge: str) -> dict[str, Any]:
        """A leader's online (re)assignment (``mobile.state.leader_orders``)."""
        return self.client.assign_work_order(order_id, badge)

    def close(self) -> None:
        self.client.http.close()


def client_factory(
    store: Store,
    photos: PhotoStore,
    *,
    retry: RetryPolicy = APP_RETRY,
    timeout: float = 15.0,
    secrets: SecretStore | None = None,
    shipped_ca: str | None = None,
    allow_http: bool = False,
) -> BackendFactory:
    """The factory of real backends for ``SyncLink``. ``secrets`` holds the token: the app passes the same
    ``SecretStore`` it gives ``AppState`` (without one the token is kept in the store's meta table). HQ's
    certificate is checked against the CA enrolled on the phone (``metakeys.HQ_CA_PEM``), else the one
    shipped with the app (``shipped_ca``, PEM), else the public CAs; ``allow_http``: a development build may
    use http:// to any host."""

    def make(hq_url: str, on_progress: Callable[[Any], None]) -> SyncBackend:
        def relay(progress: Progress) -> None:
            on_progress(progress)

        ca_pem = store.meta_get(metakeys.HQ_CA_PEM) or shipped_ca
        return ClientBackend(
            connect(
                hq_url,
                store,
                photos,
                on_progress=relay,
                retry=retry,
                timeout=timeout,
                secrets=secrets,
                ca_pem=ca_pem,
                allow_http=allow_http,
            )
        )

    return make
