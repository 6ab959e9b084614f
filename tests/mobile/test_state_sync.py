"""The sync link: background worker, backoff after failures, progress steps, against a real HQ."""

from __future__ import annotations

import threading
from datetime import datetime
from pathlib import Path
from typing import Any

from enforcement.model import LOCAL_TZ, Officer
from mobile.hqclient import (
    CertificateRejected,
    CleartextRefused,
    RetryPolicy,
    ServerUnreachable,
    SignInRequired,
    TlsUnavailable,
)
from mobile.photostore import PhotoStore
from mobile.secretstore import TOKEN
from mobile.state.backend import client_factory
from mobile.state.sync import SyncLink, default_error_kind
from mobile.store import Store
from testkit.hqkit import Hq, catalogue
from tests.mobile.statekit import AT, Apps, dead_url, sign_in


class Failing:
    """A backend whose sync always fails as HQ being away."""

    def __init__(self) -> None:
        self.syncs = 0

    def sign_in(self, badge: str, pin: str) -> Officer:
        raise ServerUnreachable("test")

    def sync_once(self) -> Any:
        self.syncs += 1
        raise ServerUnreachable("test")

    def close(self) -> None:
        pass


def test_backoff_grows_with_jitter_and_is_capped() -> None:
    backend = Failing()
    link = SyncLink(
        lambda url, progress: backend,
        lambda: "http://hq",
        threaded=False,
        now=lambda: AT,
        backoff_base=2.0,
        backoff_cap=30.0,
        rng=lambda: 1.0,  # jitter at its top: factor 1.0
        monotonic=lambda: 100.0,
    )
    delays = []
    for _ in range(6):
        link.kick()
        assert link.status.retry_at is not None
        delays.append(link.status.retry_at - 100.0)
    assert delays == [2.0, 4.0, 8.0, 16.0, 30.0, 30.0]
    assert link.status.online is False
    assert link.status.failures == 6
    assert link.status.step == "failed"
    assert "指挥中心" in link.status.error("zh")


def test_error_kinds() -> None:
    assert default_error_kind(ServerUnreachable()) == "offline"
    assert default_error_kind(ConnectionRefusedError()) == "offline"
    assert default_error_kind(SignInRequired()) == "auth"
    assert default_error_kind(ValueError("x")) == "error"


class Rejected:
    """A backend whose HQ presents a certificate the phone refuses."""

    def __init__(self) -> None:
        self.syncs = 0

    def sign_in(self, badge: str, pin: str) -> Officer:
        raise CertificateRejected("unknown_ca")

    def sync_once(self) -> Any:
        self.syncs += 1
        raise CertificateRejected("expired")

    def close(self) -> None:
        pass


def test_a_refused_certificate_stops_and_tells_instead_of_retrying() -> None:
    assert default_error_kind(CertificateRejected("host_name")) == "insecure"
    assert default_error_kind(TlsUnavailable()) == "insecure"
    assert default_error_kind(CleartextRefused("hq")) == "insecure"
    backend = Rejected()
    link = SyncLink(
        lambda url, progress: backend,
        lambda: "https://hq",
        threaded=False,
        now=lambda: AT,
        monotonic=lambda: 1.0,
    )
    link.auto = True
    link.kick()
    assert backend.syncs == 1
    assert link.status.insecure is True
    assert link.status.retry_at is None  # no automatic retry ...
    assert link._wait_seconds() is None  # ... not even the idle one: the worker waits for the officer
    assert link.status.step == "failed"
    assert "证书" in link.status.error("zh")
    assert "过期" in link.status.error("zh")
    assert "expired" in link.status.error("en")
    link.reset()  # a new CA enrolled: the client is remade and the link syncs again at once
    assert backend.syncs == 2


def test_progress_steps_reach_the_status(make_app: Apps, hq: Hq) -> None:
    app = make_app()
    sign_in(app, hq.serve().url)
    steps: list[str] = []
    app.link.subscribe(lambda: steps.append(app.link.status.step))
    app.today.start_shift()
    assert steps[0] == "connect"
    assert {"push", "pull"} <= set(steps)
    assert steps[-1] == "done"
    assert app.link.status.online is True
    assert app.link.status.last_report is not None
    assert app.link.status.last_report.pushed == 1


def test_threaded_link_syncs_in_the_background(tmp_path: Path, hq: Hq) -> None:
    store = Store.open(":memory:", catalogue=catalogue())
    photos = PhotoStore(tmp_path / "photos")
    url = hq.serve().url
    link = SyncLink(
        client_factory(store, photos, retry=RetryPolicy(attempts=1)),
        lambda: url,
        now=lambda: datetime.now(LOCAL_TZ),
    )
    done = threading.Event()
    link.subscribe(lambda: done.set() if link.status.step == "done" else None)
    workers = []
    link.subscribe(lambda: workers.append(threading.current_thread().name))
    link.start()
    try:
        officer = link.sign_in("1023", "861023").result(timeout=30)
        assert officer.badge == "1023"
        store.start_shift("1023", datetime.now(LOCAL_TZ))
        link.kick()
        assert done.wait(timeout=30)
        assert store.outbox_stats()[0] == 0
        assert set(workers) == {"streetpatrol-sync"}  # never on the caller's thread
    finally:
        link.stop()
        store.close()


def test_auth_failure_asks_for_sign_in(make_app: Apps, hq: Hq) -> None:
    app = make_app()
    sign_in(app, hq.serve().url)
    app.secrets.set(TOKEN, "not-a-token")  # the token lives in the phone's SecretStore, not the file
    app.today.start_shift()
    assert app.link.status.needs_sign_in
    assert app.today.status().needs_sign_in
    assert app.store.outbox_stats()[0] == 1  # kept for later


def test_unreachable_hq_is_offline(make_app: Apps, hq: Hq) -> None:
    app = make_app()
    sign_in(app, hq.serve().url)
    app.settings.update(hq_url=dead_url())
    app.today.sync_now()
    assert app.link.status.online is False
    assert app.link.status.retry_at is not None
