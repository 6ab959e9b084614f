"""HQ service settings: one frozen dataclass, built in code or from ``STREETPATROL_*`` environment
variables."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from enforcement.text import LocalizedError
from sync.protocol import (
    DEFAULT_PULL_LIMIT,
    MAX_BATCH_BYTES,
    MAX_BATCH_RECORDS,
    MAX_PHOTO_BYTES,
    MAX_PHOTO_EDGE,
    MAX_PULL_LIMIT,
    SQUAD_FEED_DAYS,
)

_N = TypeVar("_N", int, float)


def utc_now() -> datetime:
    """HQ's clock: the only time source for server_time, token expiry and throttling."""
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class PinHashing:
    """argon2id cost. The defaults are argon2-cffi's RFC 9106 "low memory" profile; tests pass a cheap one."""

    time_cost: int = 3
    memory_cost: int = 65536  # KiB
    parallelism: int = 4
    #: PIN checks one HQ process runs at once (each takes ``memory_cost``); None: one per core. ``serve
    #: --workers N`` gives each worker its share of the cores, so N processes together keep the same bound.
    concurrent: int | None = None

    def slots(self) -> int:
        return max(1, self.concurrent if self.concurrent is not None else (os.cpu_count() or 2))


#: Cheap hashing for tests and the benchmark (never for real PINs).
FAST_PIN_HASHING = PinHashing(time_cost=1, memory_cost=1024, parallelism=1)


@dataclass(frozen=True, slots=True)
class ThrottleSettings:
    """Sign-in slow-down: after ``free_failures`` failures for one badge (``free_failures_per_address`` for
    one client address: an office NAT serves many officers), each further failure locks that key for
    ``base_delay * 2**(failures - free)`` (capped); attempts while locked get 429 with Retry-After and are
    not checked. Counters are forgotten ``forget_after`` after the last failure; a success clears the
    badge's counter. An attempt from a phone proving the device key bound to that badge's device counts
    only against that device × badge (``free_failures_per_device``), so strangers locking the badge (or
    the address) do not lock out the officer's own phone."""

    free_failures: int = 5
    free_failures_per_address: int = 20
    free_failures_per_device: int = 5
    base_delay: timedelta = timedelta(seconds=2)
    max_delay: timedelta = timedelta(minutes=15)
    forget_after: timedelta = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything the HQ app needs besides its storage and blob store."""

    token_ttl: timedelta = timedelta(days=14)  # phones may stay offline for two weeks
    max_batch_records: int = MAX_BATCH_RECORDS
    max_batch_bytes: int = MAX_BATCH_BYTES
    max_photo_bytes: int = MAX_PHOTO_BYTES
    max_photo_edge: int = MAX_PHOTO_EDGE  # pixels, the long edge of an evidence photo (hq.blobs.photocheck)
    default_pull_limit: int = DEFAULT_PULL_LIMIT
    max_pull_limit: int = MAX_PULL_LIMIT
    max_json_bytes: int = 64 * 1024  # any other JSON body (sign-in …)
    pin_hashing: PinHashing = field(default_factory=PinHashing)
    throttle: ThrottleSettings = field(default_factory=ThrottleSettings)
    #: Reverse proxies (IP addresses or networks) whose X-Forwarded-For / X-Forwarded-Proto HQ believes
    #: (``serve`` hands them to uvicorn); empty: the forwarded headers are ignored, from everyone.
    trusted_proxies: tuple[str, ...] = ()
    retry_after_unavailable: int = 5  # seconds, sent with 503
    #: Subject history sent to phones on pull: whole local days (``hq.feed.history_since``), at least the
    #: policy's window.
    history_window: timedelta = timedelta(days=365)
    squad_window: timedelta = timedelta(days=SQUAD_FEED_DAYS)  # squad cases and shifts a leader's pull holds
    touch_interval: timedelta = timedelta(minutes=1)  # how often a token's last use is written
    partial_upload_ttl: timedelta = timedelta(days=2)  # a cut-off photo upload is kept this long to resume
    partial_uploads_max_bytes: int = 1 << 30  # all kept partial uploads together (oldest dropped first)
    stale_temp_age: timedelta = timedelta(hours=1)  # spool files not written for this long are removed
    #: Mark the dashboard's cookie ``Secure`` (sent over HTTPS only): on wherever browsers reach HQ by TLS.
    secure_cookies: bool = False
    #: Serve FastAPI's interactive docs (/docs, /redoc); they load scripts from a CDN, so off by default.
    api_docs: bool = False
    clock: Callable[[], datetime] = utc_now


def settings_from_env(env: Mapping[str, str] | None = None, base: Settings | None = None) -> Settings:
    """Settings with overrides from ``STREETPATROL_TOKEN_TTL_HOURS``, ``STREETPATROL_MAX_PHOTO_BYTES``,
    ``STREETPATROL_MAX_PHOTO_EDGE``, ``STREETPATROL_MAX_BATCH_RECORDS``, ``STREETPATROL_MAX_BATCH_BYTES``,
    ``STREETPATROL_TRUSTED_PROXIES`` (comma-separated addresses or networks), ``STREETPATROL_SECURE_COOKIES``,
    ``STREETPATROL_API_DOCS`` (flags: 1/true/yes) and the argon2 cost ``STREETPATROL_PIN_TIME_COST`` /
    ``STREETPATROL_PIN_MEMORY_KIB`` / ``STREETPATROL_PIN_PARALLELISM`` and the PIN checks one process runs at
    once, ``STREETPATROL_PIN_CONCURRENT``. A value that is not a positive number raises SettingsError
    naming the variable."""
    env = os.environ if env is None else env
    settings = base or Settings()
    changes: dict[str, object] = {}
    if "STREETPATROL_TOKEN_TTL_HOURS" in env:
        changes["token_ttl"] = timedelta(hours=_positive(env, "STREETPATROL_TOKEN_TTL_HOURS", float))
    names = {f.name for f in fields(Settings)}
    for name in ("max_photo_bytes", "max_photo_edge", "max_batch_records", "max_batch_bytes"):
        key = "STREETPATROL_" + name.upper()
        if key in env and name in names:
            changes[name] = _positive(env, key, int)
    if "STREETPATROL_TRUST_FORWARDED_FOR" in env:  # believed any caller's X-Forwarded-For: spoofable
        raise SettingsError(
            "STREETPATROL_TRUST_FORWARDED_FOR is gone: list the proxy in STREETPATROL_TRUSTED_PROXIES",
            zh="环境变量 STREETPATROL_TRUST_FORWARDED_FOR 已停用，"
            "请在 STREETPATROL_TRUSTED_PROXIES 中列出反向代理地址",
            field="STREETPATROL_TRUST_FORWARDED_FOR",
        )
    if "STREETPATROL_TRUSTED_PROXIES" in env:
        text = env["STREETPATROL_TRUSTED_PROXIES"]
        changes["trusted_proxies"] = proxy_addresses([p for p in text.split(",") if p.strip()])
    for name in ("secure_cookies", "api_docs"):
        key = "STREETPATROL_" + name.upper()
        if key in env:
            changes[name] = env[key].strip().lower() in {"1", "true", "yes"}
    pin_cost = {
        name: _positive(env, f"STREETPATROL_PIN_{key}", int)
        for name, key in (
            ("time_cost", "TIME_COST"),
            ("memory_cost", "MEMORY_KIB"),
            ("parallelism", "PARALLELISM"),
            ("concurrent", "CONCURRENT"),
        )
        if f"STREETPATROL_PIN_{key}" in env
    }
    if pin_cost:
        changes["pin_hashing"] = replace(settings.pin_hashing, **pin_cost)
    return replace(settings, **changes)  # type: ignore[arg-type]


class SettingsError(LocalizedError):
    code = "settings"


def proxy_addresses(values: Iterable[str], key: str = "STREETPATROL_TRUSTED_PROXIES") -> tuple[str, ...]:
    """``values`` as trusted-proxy entries (each an IP address or network, normalised), or SettingsError."""
    entries = []
    for value in values:
        text = value.strip()
        try:
            entry = ipaddress.ip_network(text, strict=False) if "/" in text else ipaddress.ip_address(text)
        except ValueError:
            raise SettingsError(
                f"{key}: {text!r} is not an IP address or network",
                zh=f"{key}：“{text}”不是 IP 地址或网段",
                field=key,
            ) from None
        entries.append(str(entry))
    return tuple(entries)


def _positive(env: Mapping[str, str], key: str, kind: Callable[[str], _N]) -> _N:
    """``env[key]`` read as a positive ``kind`` (int or float), or SettingsError naming ``key``."""
    text = env[key].strip()
    try:
        value = kind(text)
    except ValueError:
        value = None
    if value is None or not value > 0 or value != value or value == float("inf"):
        raise SettingsError(
            f"{key} must be a positive number, not {text!r}",
            zh=f"环境变量 {key} 须为正数，当前为“{text}”",
            field=key,
        )
    return value
