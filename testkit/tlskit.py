"""Test certificates (trustme): a bureau CA and HQ certificates it issues — good, for another host name,
expired — written as PEM files for ``serve --tls-cert/--tls-key`` or ``LiveServer(tls=...)``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import trustme


@dataclass(frozen=True, slots=True)
class TlsFiles:
    cert: Path  # the certificate chain (leaf first)
    key: Path
    ca_pem: str  # the CA that issued it

    @property
    def pair(self) -> tuple[Path, Path]:
        return self.cert, self.key


def issue(
    root: Path,
    ca: trustme.CA,
    *hosts: str,
    name: str = "hq",
    not_after: datetime | None = None,
) -> TlsFiles:
    """A certificate of ``ca`` for ``hosts`` (default 127.0.0.1 and localhost) in ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    not_before = None if not_after is None else not_after - timedelta(days=30)
    leaf = ca.issue_cert(*(hosts or ("127.0.0.1", "localhost")), not_before=not_before, not_after=not_after)
    cert, key = root / f"{name}.pem", root / f"{name}.key"
    for blob in leaf.cert_chain_pems:
        with cert.open("ab") as handle:
            handle.write(blob.bytes())
    leaf.private_key_pem.write_to_path(str(key))
    return TlsFiles(cert, key, ca.cert_pem.bytes().decode("ascii"))


def expired_not_after() -> datetime:
    return datetime.now(UTC) - timedelta(days=1)
