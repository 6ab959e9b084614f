"""``streetpatrol-hq serve`` over TLS and behind a reverse proxy, as a real process: https with HSTS, a bad
certificate or key refused before serving (zh + en, no traceback), and X-Forwarded-For / -Proto believed
only from a configured proxy, so a caller cannot choose the address the sign-in throttle and the audit log
see."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import trustme

from hq.cli.main import main, run_to_string
from hq.storage import open_storage
from hq.storage.base import iter_all_audit
from mobile.hqclient.tls import ssl_context
from sync.protocol import PROTOCOL_VERSION
from testkit.tlskit import TlsFiles, issue
from tests.hq.cli.test_cli import CHEAP_PINS, _free_port

ROOT = Path(__file__).resolve().parents[2]
SPOOFED = "203.0.113.66"


@pytest.fixture(autouse=True)
def cheap_pin_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in CHEAP_PINS.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("STREETPATROL_TRUSTED_PROXIES", raising=False)


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def tls(ca: trustme.CA, tmp_path: Path) -> TlsFiles:
    return issue(tmp_path / "tls", ca)


def serve_args(tmp_path: Path) -> list[str]:
    return ["serve", "--db", str(tmp_path / "hq.db"), "--blobs", str(tmp_path / "blobs")]


@pytest.mark.parametrize(
    ("which", "says_en", "says_zh"),
    [
        ("missing_cert", "no such file", "文件不存在"),
        ("missing_key", "no such file", "文件不存在"),
        ("wrong_key", "key", "私钥"),
        ("not_pem", "key", "私钥"),
        ("cert_only", "go together", "同时指定"),
    ],
)
def test_a_bad_certificate_or_key_is_one_clear_error_before_serving(
    tmp_path: Path,
    tls: TlsFiles,
    ca: trustme.CA,
    capsys: pytest.CaptureFixture[str],
    which: str,
    says_en: str,
    says_zh: str,
) -> None:
    other = issue(tmp_path / "other", ca, name="other")
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a certificate\n")
    pairs = {
        "missing_cert": ["--tls-cert", str(tmp_path / "nope.pem"), "--tls-key", str(tls.key)],
        "missing_key": ["--tls-cert", str(tls.cert), "--tls-key", str(tmp_path / "nope.key")],
        "wrong_key": ["--tls-cert", str(tls.cert), "--tls-key", str(other.key)],
        "not_pem": ["--tls-cert", str(garbage), "--tls-key", str(tls.key)],
        "cert_only": ["--tls-cert", str(tls.cert)],
    }
    code, _ = run_to_string([*serve_args(tmp_path), "--port", str(_free_port()), *pairs[which]])
    assert code == 1
    err = capsys.readouterr().err
    assert says_en in err
    assert says_zh in err
    assert "错误" in err
    assert "Traceback" not in err
    assert not (tmp_path / "hq.db").exists()  # refused before anything was opened


def test_a_bad_trusted_proxy_is_one_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*serve_args(tmp_path), "--trusted-proxy", "proxy.example"]) == 1
    err = capsys.readouterr().err
    assert "--trusted-proxy" in err
    assert "IP" in err


@pytest.fixture
def serve() -> Iterator[Any]:
    processes: list[subprocess.Popen[bytes]] = []

    def start(tmp_path: Path, *extra: str, verify: Any = True) -> str:
        db = tmp_path / "hq.db"
        if not db.exists():
            assert run_to_string(["seed-demo", "--db", str(db)])[0] == 0
        port = _free_port()
        process = subprocess.Popen(
            [sys.executable, "-m", "hq.cli.main", *serve_args(tmp_path), "--port", str(port), *extra],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env=os.environ | {"PYTHONPATH": str(ROOT)},
        )
        processes.append(process)
        scheme = "https" if "--tls-cert" in extra else "http"
        url = f"{scheme}://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{url}/v1/health", timeout=1, verify=verify).raise_for_status()
                return url
            except httpx.TransportError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise AssertionError(process.stderr.read().decode() if process.stderr else "") from None
                time.sleep(0.1)

    yield start
    for process in processes:
        if process.poll() is None:
            process.terminate()
            process.communicate(timeout=30)


def test_serve_speaks_tls_with_hsts(tmp_path: Path, tls: TlsFiles, serve: Any) -> None:
    context = ssl_context(tls.ca_pem)
    url = serve(tmp_path, "--tls-cert", str(tls.cert), "--tls-key", str(tls.key), verify=context)
    assert url.startswith("https://")
    with httpx.Client(base_url=url, verify=context, timeout=10) as client:
        answer = client.get("/v1/health")
        assert answer.status_code == 200
        assert answer.headers["strict-transport-security"] == "max-age=31536000"


def test_serve_tls_with_workers(tmp_path: Path, tls: TlsFiles, serve: Any) -> None:
    context = ssl_context(tls.ca_pem)
    extra = ("--tls-cert", str(tls.cert), "--tls-key", str(tls.key), "--workers", "2")
    url = serve(tmp_path, *extra, verify=context)
    answer = httpx.get(f"{url}/v1/health", verify=context, timeout=10)
    assert answer.headers["strict-transport-security"] == "max-age=31536000"


def failed_sign_in_addresses(tmp_path: Path, url: str, headers: dict[str, str]) -> list[str]:
    """Fail a sign-in with ``headers``; the address the audit log recorded for it."""
    body = {"protocol": PROTOCOL_VERSION, "badge": "1023", "pin": "000000", "device_id": "dev-x"}
    answer = httpx.post(f"{url}/v1/auth/sign-in", json=body, headers=headers, timeout=10)
    assert answer.status_code == 401
    storage = open_storage(str(tmp_path / "hq.db"))
    try:
        return [e.target for e in iter_all_audit(storage) if e.action == "sign_in_failed"]
    finally:
        storage.close()


def test_forwarded_headers_from_an_untrusted_peer_are_ignored(tmp_path: Path, serve: Any) -> None:
    url = serve(tmp_path)  # no --trusted-proxy: uvicorn's own default would trust 127.0.0.1
    spoof = {"X-Forwarded-For": SPOOFED, "X-Forwarded-Proto": "https"}
    assert failed_sign_in_addresses(tmp_path, url, spoof) == ["127.0.0.1"]
    assert "strict-transport-security" not in httpx.get(f"{url}/v1/health", headers=spoof).headers


def test_forwarded_headers_from_a_trusted_proxy_are_believed(tmp_path: Path, serve: Any) -> None:
    url = serve(tmp_path, "--trusted-proxy", "127.0.0.1")  # the proxy (nginx) on this machine
    proxied = {"X-Forwarded-For": SPOOFED, "X-Forwarded-Proto": "https"}
    assert failed_sign_in_addresses(tmp_path, url, proxied) == [SPOOFED]
    answer = httpx.get(f"{url}/v1/health", headers=proxied)
    assert answer.headers["strict-transport-security"] == "max-age=31536000"
    # a client's own X-Forwarded-For in front of the proxy's entry is not believed: the right-most
    # address the trusted proxy appended is the client
    chained = {"X-Forwarded-For": f"198.51.100.1, {SPOOFED}"}
    assert failed_sign_in_addresses(tmp_path, url, chained) == [SPOOFED, SPOOFED]


def test_trusted_proxies_from_the_environment(
    tmp_path: Path, serve: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STREETPATROL_TRUSTED_PROXIES", "127.0.0.0/8")
    url = serve(tmp_path)
    assert failed_sign_in_addresses(tmp_path, url, {"X-Forwarded-For": SPOOFED}) == [SPOOFED]


def test_the_old_spoofable_setting_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STREETPATROL_TRUST_FORWARDED_FOR", "1")
    assert main(serve_args(tmp_path)) == 1
    assert "STREETPATROL_TRUSTED_PROXIES" in capsys.readouterr().err
