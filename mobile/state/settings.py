"""App settings kept in the store's meta table: language, HQ address, contrast, the bureau CA enrolled for
HQ; and the photo policy.

The HQ address must be ``https://`` unless it is this machine (loopback: development, ``scripts/run``);
a development build may allow ``http://`` anywhere (``allow_http``, from ``STREETPATROL_DEV_ALLOW_HTTP=1``
read once by ``mobile.app``). There is no switch for it in the app. An enrolled CA (PEM) becomes the only
authority the phone trusts for HQ (``mobile.hqclient.tls``).

The evidence photo's long edge and watermark are HQ's policy, not the officer's choice: they come from
the catalogue (``Catalogue.photo_long_edge`` / ``photo_watermark``, which HQ publishes with it) whenever
``SettingsState`` is given one (the app always does), and are then read-only: ``update`` refuses them.
Without a catalogue (older callers, tests of the stored values) they are stored settings as before.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from typing import Any, Protocol
from urllib.parse import urlsplit

from enforcement.catalogue import Catalogue
from enforcement.text import Lang
from mobile import metakeys
from mobile.hqclient import CaInfo, check_ca_pem, cleartext_allowed, der_to_pem, describe_ca_pem
from mobile.i18n import as_lang
from mobile.state.errors import SettingsError, localized
from mobile.state.observable import Observable

PHOTO_EDGE_MIN = 640
PHOTO_EDGE_MAX = 4096
DEFAULT_HQ_URL = "http://127.0.0.1:8080"
#: A picked CA certificate file larger than this is refused unread (a bureau's chain is a few KB).
MAX_CA_FILE = 256 * 1024


class MetaStore(Protocol):
    def meta_get(self, key: str, default: Any = None) -> Any: ...
    def meta_set(self, key: str, value: Any) -> None: ...


@dataclass(frozen=True, slots=True)
class Settings:
    lang: Lang = "zh"
    hq_url: str = DEFAULT_HQ_URL
    photo_long_edge: int = 1600
    watermark: bool = True
    high_contrast: bool = False


def normalise_hq_url(text: str, *, allow_http: bool = False) -> str:
    """``text`` as a base URL (scheme + host [+ port + path], no trailing slash) or SettingsError; an
    ``http://`` address is refused unless it is loopback or ``allow_http`` (development builds)."""
    value = text.strip().rstrip("/")
    if not value:
        raise localized(SettingsError, "signin.hq_required", field="hq_url")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise localized(SettingsError, "signin.hq_bad", field="hq_url")
    try:
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError as exc:
        raise localized(SettingsError, "signin.hq_bad", field="hq_url") from exc
    if not cleartext_allowed(value, allow_http=allow_http):
        raise localized(
            SettingsError, "signin.hq_cleartext", field="hq_url", https="https://", http="http://"
        )
    return value


class SettingsState(Observable):
    """Reads and writes ``Settings``; every change is persisted at once."""

    def __init__(
        self, store: MetaStore, catalogue: Catalogue | None = None, *, allow_http: bool = False
    ) -> None:
        super().__init__()
        self._store = store
        self.allow_http = allow_http
        self.on_trust_change: Callable[[], None] | None = None  # the link remakes its client
        self._policy: tuple[int, bool] | None = None
        self.settings = self._load()
        if catalogue is not None:
            self.apply_policy(catalogue)

    @property
    def photo_policy_from_hq(self) -> bool:
        """Whether the photo size and watermark are HQ's policy (read-only here)."""
        return self._policy is not None

    def apply_policy(self, catalogue: Catalogue) -> None:
        """Take the photo size and watermark from ``catalogue`` (at start, and when a new one arrives)."""
        self._policy = (catalogue.photo_long_edge, catalogue.photo_watermark)
        new = replace(self.settings, photo_long_edge=self._policy[0], watermark=self._policy[1])
        if new != self.settings:
            self.settings = new
            self.notify()

    def _load(self) -> Settings:
        raw = self._store.meta_get(metakeys.SETTINGS) or {}
        base = Settings()
        if not isinstance(raw, dict):
            return base
        known = {k: v for k, v in raw.items() if k in Settings.__slots__}
        try:
            loaded = replace(base, **known)
        except TypeError:
            return base
        return replace(loaded, lang=as_lang(loaded.lang))

    @property
    def lang(self) -> Lang:
        return self.settings.lang

    def update(
        self,
        *,
        lang: str | None = None,
        hq_url: str | None = None,
        photo_long_edge: int | str | None = None,
        watermark: bool | None = None,
        high_contrast: bool | None = None,
    ) -> Settings:
        """Validate and persist the given fields; SettingsError (naming the field) leaves all unchanged."""
        new = self.settings
        if self._policy is not None:
            for name, value, current in (
                ("photo_long_edge", photo_long_edge, new.photo_long_edge),
                ("watermark", watermark, new.watermark),
            ):
                if value is not None and str(value).strip() != str(current):
                    raise localized(SettingsError, "settings.photo_policy_hq", field=name)
            photo_long_edge = watermark = None
        if lang is not None:
            new = replace(new, lang=as_lang(lang))
        if hq_url is not None:
            new = replace(new, hq_url=normalise_hq_url(hq_url, allow_http=self.allow_http))
        if photo_long_edge is not None:
            new = replace(new, photo_long_edge=_photo_edge(photo_long_edge))
        if watermark is not None:
            new = replace(new, watermark=bool(watermark))
        if high_contrast is not None:
            new = replace(new, high_contrast=bool(high_contrast))
        self._store.meta_set(metakeys.SETTINGS, asdict(new))
        self.settings = new
        self.notify()
        return new

    @property
    def hq_ca_pem(self) -> str | None:
        """The bureau CA enrolled on this phone (PEM), or None."""
        value = self._store.meta_get(metakeys.HQ_CA_PEM)
        return value if isinstance(value, str) and value else None

    def enrol_hq_ca(self, pem: str) -> None:
        """Trust only the CA(s) in ``pem`` for HQ from now on; SettingsError when it holds none."""
        try:
            checked = check_ca_pem(pem)
        except ValueError as exc:
            raise localized(SettingsError, "settings.ca_bad", field="hq_ca") from exc
        self._store.meta_set(metakeys.HQ_CA_PEM, checked)
        self._trust_changed()

    def enrol_hq_ca_file(self, data: bytes) -> None:
        """``enrol_hq_ca`` from a picked certificate file (PEM, or DER as many ``.crt`` files are);
        SettingsError when it is not one."""
        try:
            if len(data) > MAX_CA_FILE:
                raise ValueError("too large for a CA certificate file")
            pem = der_to_pem(data)
        except ValueError as exc:
            raise localized(SettingsError, "settings.ca_bad", field="hq_ca") from exc
        self.enrol_hq_ca(pem)

    @property
    def hq_ca_info(self) -> list[CaInfo]:
        """Subject and expiry of each enrolled CA certificate (none enrolled: [])."""
        pem = self.hq_ca_pem
        if pem is None:
            return []
        try:
            return describe_ca_pem(pem)
        except ValueError:  # checked when enrolled; a store edited by hand shows as none
            return []

    def clear_hq_ca(self) -> None:
        """Forget the enrolled CA (the shipped one, if any, or the public CAs apply again)."""
        self._store.meta_set(metakeys.HQ_CA_PEM, None)
        self._trust_changed()

    def _trust_changed(self) -> None:
        if self.on_trust_change is not None:
            self.on_trust_change()
        self.notify()


def _photo_edge(value: int | str) -> int:
    try:
        edge = int(str(value).strip())
    except ValueError:
        edge = -1
    if not PHOTO_EDGE_MIN <= edge <= PHOTO_EDGE_MAX:
        raise localized(
            SettingsError,
            "settings.photo_size_bad",
            field="photo_long_edge",
            min=PHOTO_EDGE_MIN,
            max=PHOTO_EDGE_MAX,
        )
    return edge
