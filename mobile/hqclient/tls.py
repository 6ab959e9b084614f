"""How the phone trusts HQ: https only (cleartext only to this machine), certificates verified, and a
bureau's own certificate authority pinned when it has one.

- ``is_loopback_host`` / ``check_cleartext``: ``http://`` is refused before any connection unless the
  host is loopback (127.0.0.0/8, ::1, ``localhost``: development) or a development build allows it
  (``STREETPATROL_DEV_ALLOW_HTTP=1``, read once at app start by ``mobile.app``).
- ``ssl_context(ca_pem)``: with a bureau CA (enrolled in the phone store, or shipped as
  ``assets/hq-ca.pem``) the context trusts *only* that CA; without one, the public CAs of ``certifi`` (the
  bundle httpx uses; Android's Python has no system store of its own). Host names and validity dates are
  always checked.
- ``describe_ca_pem(pem)``: each CA certificate's subject and expiry, for the settings screen.
- ``tls_refusal(exc)``: the SyncError for an httpx error that is a certificate or TLS refusal (unknown CA,
  wrong host name, expired, not TLS at all), or None for an ordinary network error (retried as usual).
"""

from __future__ import annotations

import ipaddress
import ssl
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import certifi

from mobile.hqclient.errors import CertificateRejected, CleartextRefused, TlsUnavailable

#: OpenSSL's X509_V_ERR_* numbers of ``SSLCertVerificationError.verify_code`` and what they mean here.
_VERIFY_REASONS = {
    9: "expired",  # not yet valid: the phone's clock or the certificate is wrong; shown as a date problem
    10: "expired",
    18: "unknown_ca",  # self-signed leaf
    19: "unknown_ca",  # self-signed CA in the chain
    20: "unknown_ca",  # issuer not found locally
    21: "unknown_ca",
    62: "host_name",
    64: "host_name",  # the address is an IP the certificate does not name
}
#: OpenSSL reasons of a server that does not speak TLS at all (a plain-http port).
_NOT_TLS = ("WRONG_VERSION_NUMBER", "HTTP_REQUEST", "RECORD_LAYER_FAILURE", "PACKET_LENGTH_TOO_LONG")


def is_loopback_host(host: str | None) -> bool:
    """``host`` is this machine: ``localhost`` or an address of 127.0.0.0/8 or ::1."""
    if not host:
        return False
    if host.lower().rstrip(".") == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def cleartext_allowed(url: str, *, allow_http: bool = False) -> bool:
    """``url`` may be used: https, or http to loopback (or to anything in a development build)."""
    parts = urlsplit(url)
    if parts.scheme == "https" or allow_http:
        return True
    return parts.scheme == "http" and is_loopback_host(parts.hostname)


def check_cleartext(url: str, *, allow_http: bool = False) -> None:
    """``CleartextRefused`` unless ``cleartext_allowed(url)``."""
    if not cleartext_allowed(url, allow_http=allow_http):
        raise CleartextRefused(urlsplit(url).hostname or url)


def ssl_context(ca_pem: str | None = None) -> ssl.SSLContext:
    """A client context trusting only ``ca_pem`` (PEM text of one or more CA certificates) when given,
    else the public CAs. ``ValueError`` when ``ca_pem`` holds no usable certificate."""
    if ca_pem and ca_pem.strip():
        try:
            context = ssl.create_default_context(cadata=ca_pem)
        except (ssl.SSLError, ValueError) as exc:
            raise ValueError(f"not a PEM CA certificate: {exc}") from exc
        if not context.get_ca_certs():
            raise ValueError("no CA certificate in the PEM text")
        return context
    return ssl.create_default_context(cafile=certifi.where())


def check_ca_pem(text: str) -> str:
    """``text`` stripped, if it is PEM holding at least one CA certificate; ``ValueError`` otherwise."""
    pem = text.strip()
    if "-----BEGIN CERTIFICATE-----" not in pem:
        raise ValueError("no PEM certificate")
    ssl_context(pem)
    return pem + "\n"


#: Short names of a certificate subject's attributes (RFC 4514), as an enrolled CA is shown.
_RDN_SHORT = {
    "commonName": "CN",
    "organizationName": "O",
    "organizationalUnitName": "OU",
    "countryName": "C",
    "stateOrProvinceName": "ST",
    "localityName": "L",
}


@dataclass(frozen=True, slots=True)
class CaInfo:
    """An enrolled CA certificate as the settings screen shows it."""

    subject: str  # e.g. "CN=金水区城管局根证书, O=金水区城市管理局"
    not_after: datetime  # UTC


def describe_ca_pem(pem: str) -> list[CaInfo]:
    """The subject and expiry of each CA certificate in ``pem``; ``ValueError`` when it holds none."""
    infos = []
    for cert in ssl_context(pem).get_ca_certs():
        subject: Any = cert.get("subject", ())  # ((("commonName", "…"),), …): typeshed types it loosely
        parts = [f"{_RDN_SHORT.get(str(key), str(key))}={value}" for rdn in subject for key, value in rdn]
        expires = datetime.fromtimestamp(ssl.cert_time_to_seconds(str(cert["notAfter"])), UTC)
        infos.append(CaInfo(", ".join(parts), expires))
    return infos


def der_to_pem(data: bytes) -> str:
    """A certificate file's text: PEM as it is, a DER certificate (many ``.crt`` / ``.cer`` files)
    turned into PEM; ``ValueError`` for anything else."""
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError:
        text = ""
    if "-----BEGIN CERTIFICATE-----" in text:
        return text
    if not data.startswith(b"\x30"):  # a DER certificate is an ASN.1 SEQUENCE
        raise ValueError("neither PEM nor a DER certificate")
    return ssl.DER_cert_to_PEM_cert(data)


def tls_refusal(exc: BaseException) -> CertificateRejected | TlsUnavailable | None:
    """The stop-and-tell error for ``exc`` (an httpx error, its causes searched) or None."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ssl.SSLCertVerificationError):
            reason = _VERIFY_REASONS.get(current.verify_code, "unknown_ca")
            return CertificateRejected(reason, current.verify_message or str(current))
        if isinstance(current, ssl.SSLError) and any(r in str(current) for r in _NOT_TLS):
            return TlsUnavailable(str(current))
        current = current.__cause__ or current.__context__
    return None
