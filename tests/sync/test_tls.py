"""HTTPS end to end with real TLS handshakes: the phone's client syncs with an HQ serving a bureau CA's
certificate (pinned on the phone), and refuses — each with its own error, at once, without retrying —
a wrong host name, an expired certificate, an unknown CA, a plain-http port behind an https address and
an http:// address that is not this machine. HQ adds HSTS and a Secure dashboard cookie over TLS only."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import trustme

from enforcement.model import SyncState
from mobile.hqclient import (
    CertificateRejected,
    CleartextRefused,
    RetryPolicy,
    SyncClient,
    TlsUnavailable,
    connect,
)
from mobile.hqclient.tls import ssl_context
from testkit.hqkit import HQ_USER, OFFICER, PINS, Hq, LiveServer, make_hq
from testkit.tlskit import TlsFiles, expired_not_after, issue
from tests.sync.conftest import Phone

RETRY = RetryPolicy(attempts=3, base_delay=0.01, max_delay=0.01)


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def hq_plain(tmp_path: Path) -> Iterator[Hq]:
    hq = make_hq(tmp_path / "hq")
    yield hq
    hq.close()


def serve_tls(hq: Hq, files: TlsFiles) -> LiveServer:
    hq.server = LiveServer(hq.app, tls=files.pair).start()
    return hq.server


@pytest.fixture
def tls_hq(hq_plain: Hq, ca: trustme.CA, tmp_path: Path) -> tuple[Hq, TlsFiles]:
    files = issue(tmp_path / "tls", ca)
    serve_tls(hq_plain, files)
    return hq_plain, files


def client(url: str, phone: Phone, ca_pem: str | None) -> SyncClient:
    return connect(url, phone.store, phone.photos, retry=RETRY, timeout=10, ca_pem=ca_pem)


def test_a_phone_syncs_over_tls_with_its_bureau_ca_pinned(tls_hq: tuple[Hq, TlsFiles], phone: Phone) -> None:
    hq, files = tls_hq
    url = hq.server.url if hq.server else ""
    assert url.startswith("https://")
    cases = [phone.record_case(photos=2) for _ in range(2)]
    sync = client(url, phone, files.ca_pem)
    try:
        sync.sign_in(OFFICER.badge, PINS[OFFICER.badge])
        report = sync.sync_once()  # push, photo uploads, pull
        assert report.ok, report.error
        assert report.pushed == 2
        assert report.photos_uploaded == 4
        assert set(phone.states().values()) == {SyncState.COMPLETE}
        with hq.storage.transaction(readonly=True) as tx:
            for case in cases:
                assert tx.get_case(case.id) is not None
        again = sync.sync_once()  # a second sync pulls over the same pinned connection
        assert again.ok, again.error
    finally:
        sync.http.close()


def test_hsts_and_a_secure_cookie_over_tls_only(tls_hq: tuple[Hq, TlsFiles], tmp_path: Path) -> None:
    hq, files = tls_hq
    assert hq.server is not None
    with httpx.Client(base_url=hq.server.url, verify=ssl_context(files.ca_pem), timeout=10) as https:
        health = https.get("/v1/health")
        assert health.headers["strict-transport-security"] == "max-age=31536000"
        signed = https.post("/dashboard/sign-in", data={"badge": HQ_USER.badge, "pin": PINS[HQ_USER.badge]})
        assert signed.status_code == 303
        assert "secure" in signed.headers["set-cookie"].lower()
    plain = LiveServer(hq.app).start()
    try:
        with httpx.Client(base_url=plain.url, timeout=10) as http:
            health = http.get("/v1/health")
            assert "strict-transport-security" not in health.headers
            signed = http.post(
                "/dashboard/sign-in", data={"badge": HQ_USER.badge, "pin": PINS[HQ_USER.badge]}
            )
            assert signed.status_code == 303
            assert "secure" not in signed.headers["set-cookie"].lower()
            # a caller is not a trusted proxy: its X-Forwarded-Proto does not make plain http look like TLS
            spoofed = http.get("/v1/health", headers={"X-Forwarded-Proto": "https"})
            assert "strict-transport-security" not in spoofed.headers
    finally:
        plain.stop()


def refusal(url: str, phone: Phone, ca_pem: str | None) -> BaseException:
    sync = client(url, phone, ca_pem)
    try:
        with pytest.raises((CertificateRejected, TlsUnavailable)) as caught:
            sync.sign_in(OFFICER.badge, PINS[OFFICER.badge])
        return caught.value
    finally:
        sync.http.close()


def test_a_certificate_for_another_host_name_is_refused(
    hq_plain: Hq, ca: trustme.CA, tmp_path: Path, phone: Phone
) -> None:
    files = issue(tmp_path / "tls", ca, "hq.other-bureau.example")
    server = serve_tls(hq_plain, files)
    error = refusal(server.url, phone, files.ca_pem)
    assert isinstance(error, CertificateRejected)
    assert error.reason == "host_name"
    assert "主机名" in error.zh
    assert "host name" in error.en


def test_an_expired_certificate_is_refused(
    hq_plain: Hq, ca: trustme.CA, tmp_path: Path, phone: Phone
) -> None:
    files = issue(tmp_path / "tls", ca, not_after=expired_not_after())
    server = serve_tls(hq_plain, files)
    error = refusal(server.url, phone, files.ca_pem)
    assert isinstance(error, CertificateRejected)
    assert error.reason == "expired"
    assert "过期" in error.zh


def test_a_certificate_of_an_unknown_ca_is_refused(tls_hq: tuple[Hq, TlsFiles], phone: Phone) -> None:
    hq, _files = tls_hq
    assert hq.server is not None
    other_bureau = trustme.CA().cert_pem.bytes().decode("ascii")
    for pinned in (other_bureau, None):  # pinned to another CA, or only the public CAs
        error = refusal(hq.server.url, phone, pinned)
        assert isinstance(error, CertificateRejected)
        assert error.reason == "unknown_ca"
        assert "证书颁发机构" in error.zh
    assert phone.store.outbox_stats() == (0, 0)


def test_https_to_a_plain_http_port_is_refused(hq_plain: Hq, phone: Phone, ca: trustme.CA) -> None:
    plain_url = hq_plain.serve().url
    downgraded = plain_url.replace("http://", "https://")
    error = refusal(downgraded, phone, ca.cert_pem.bytes().decode("ascii"))
    assert isinstance(error, TlsUnavailable)
    assert "HTTPS" in error.zh


@pytest.mark.parametrize("url", ["http://10.255.0.1:8080", "http://hq.example.cn", "http://[2001:db8::5]"])
def test_cleartext_to_another_machine_is_refused_before_any_connection(
    url: str, phone: Phone, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_connection(*args: object, **kwargs: object) -> None:
        raise AssertionError("a connection was attempted")

    monkeypatch.setattr("socket.create_connection", no_connection)
    monkeypatch.setattr("socket.getaddrinfo", no_connection)
    with pytest.raises(CleartextRefused) as caught:
        connect(url, phone.store, phone.photos)
    assert "为保护执法数据" in caught.value.zh
    assert "https://" in caught.value.en


def test_cleartext_to_this_machine_still_works(hq_plain: Hq, phone: Phone) -> None:
    sync = connect(hq_plain.serve().url, phone.store, phone.photos, retry=RETRY)
    try:
        assert sync.sign_in(OFFICER.badge, PINS[OFFICER.badge]).badge == OFFICER.badge
    finally:
        sync.http.close()
