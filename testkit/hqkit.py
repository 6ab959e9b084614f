"""Test kit for the HQ service and the sync client: a fresh HQ over tmp SQLite, users with known PINs, a
settable clock, valid cases, and a real uvicorn server on loopback (port 0) that can be restarted.

Imported by tests/sync/* and tests/hq/test_api*.py (plain helpers, no fixtures, so nothing here clashes
with the fixtures of tests/hq/conftest.py).
"""

from __future__ import annotations

import hashlib
import io
import random
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI

from enforcement.catalogue import Catalogue, load_catalogue
from enforcement.codec import to_json_dict
from enforcement.model import (
    LOCAL_TZ,
    Case,
    Location,
    Officer,
    PhotoKind,
    PhotoRef,
    Role,
    Stage,
)
from hq.api.malformed import HTTP_PROTOCOL
from hq.app import create_app
from hq.auth import PinHasher
from hq.blobs.store import FilesystemBlobStore
from hq.settings import FAST_PIN_HASHING, Settings
from hq.storage.base import District, Squad, Storage, UserRow
from hq.storage.sqlite import SqliteStorage
from sync.protocol import PROTOCOL_VERSION
from testkit import records

DISTRICT = "金水区"
OTHER_DISTRICT = "二七区"
SQUAD1 = Squad("ZD01", "人民路中队", DISTRICT)
SQUAD2 = Squad("ZD02", "花园路中队", DISTRICT)
SQUAD3 = Squad("EQ01", "大学路中队", OTHER_DISTRICT)
OFFICER = Officer("1023", "王㐂𠮷", "ZD01", "人民路中队", DISTRICT, Role.OFFICER)
OFFICER_B = Officer("1024", "李娜", "ZD01", "人民路中队", DISTRICT, Role.OFFICER)
OFFICER_C = Officer("2031", "刘洋", "ZD02", "花园路中队", DISTRICT, Role.OFFICER)
OFFICER_FAR = Officer("3001", "周敏", "EQ01", "大学路中队", OTHER_DISTRICT, Role.OFFICER)
LEADER = Officer("1001", "张伟", "ZD01", "人民路中队", DISTRICT, Role.LEADER)
HQ_USER = Officer("9001", "值班员", "ZH00", "指挥中心", DISTRICT, Role.HQ)
USERS = (OFFICER, OFFICER_B, OFFICER_C, OFFICER_FAR, LEADER, HQ_USER)
PINS = {o.badge: f"86{o.badge}" for o in USERS}

START = datetime(2026, 11, 22, 14, 0, tzinfo=UTC)

_CATALOGUE: Catalogue | None = None


def catalogue() -> Catalogue:
    global _CATALOGUE
    if _CATALOGUE is None:
        _CATALOGUE = load_catalogue()
    return _CATALOGUE


class Clock:
    """HQ's clock in tests: starts at START, moves only when told."""

    def __init__(self, now: datetime = START) -> None:
        self.now = now
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            return self.now

    def advance(self, delta: timedelta) -> None:
        with self._lock:
            self.now += delta


@dataclass
class Hq:
    root: Path
    storage: Storage
    blobs: FilesystemBlobStore
    settings: Settings
    clock: Clock
    open_storage: Callable[[], Storage]
    app: FastAPI = field(init=False)
    server: LiveServer | None = None

    def __post_init__(self) -> None:
        self.app = create_app(self.storage, self.blobs, self.settings, catalogue=catalogue())

    def serve(self) -> LiveServer:
        """The app on a loopback uvicorn (started on first use)."""
        if self.server is None:
            self.server = LiveServer(self.app).start()
        return self.server

    def restart(self) -> None:
        """HQ restarted: server stopped, storage reopened over the same files, a new app on the same port."""
        server = self.serve()
        server.stop()
        self.storage.close()
        self.storage = self.open_storage()
        self.storage.create_schema()
        self.app = create_app(self.storage, self.blobs, self.settings, catalogue=catalogue())
        server.start(self.app)

    def client(self, **kwargs: Any) -> httpx.Client:
        """An httpx client of the running server (real HTTP on loopback)."""
        return httpx.Client(base_url=self.serve().url, timeout=10, **kwargs)

    def close(self) -> None:
        if self.server is not None:
            self.server.stop()
        self.storage.close()


def make_hq(root: Path, open_storage: Callable[[], Storage] | None = None, **settings: Any) -> Hq:
    """A fresh HQ in ``root`` (SQLite there unless ``open_storage`` gives another backend) with the test
    users (PINs in ``PINS``) and cheap PIN hashing."""
    clock = Clock()
    config = replace(Settings(), pin_hashing=FAST_PIN_HASHING, clock=clock, **settings)
    root.mkdir(parents=True, exist_ok=True)
    open_storage = open_storage or (lambda: SqliteStorage(root / "hq.db"))
    storage = open_storage()
    storage.create_schema()
    pins = PinHasher(config.pin_hashing)
    with storage.transaction() as tx:
        tx.put_district(District(DISTRICT, DISTRICT))
        tx.put_district(District(OTHER_DISTRICT, OTHER_DISTRICT))
        for squad in (SQUAD1, SQUAD2, SQUAD3):
            tx.put_squad(squad)
        for officer in USERS:
            tx.put_user(UserRow(officer=officer, pin_hash=pins.hash(PINS[officer.badge])))
    return Hq(root, storage, FilesystemBlobStore(root / "blobs"), config, clock, open_storage)


def hq_of(root: Path, *, serve: bool = False, **settings: Any) -> Iterator[Hq]:
    """The body of an ``hq`` fixture: ``make_hq(root, **settings)``, served on loopback when ``serve``,
    closed after the test."""
    hq = make_hq(root, **settings)
    if serve:
        hq.serve()
    yield hq
    hq.close()


def sign_in(client: httpx.Client, officer: Officer, device_id: str | None = None) -> dict[str, str]:
    """Sign in through the API; returns the Authorization header."""
    response = client.post(
        "/v1/auth/sign-in",
        json={
            "protocol": PROTOCOL_VERSION,
            "badge": officer.badge,
            "pin": PINS[officer.badge],
            "device_id": device_id or f"dev-{officer.badge}",
        },
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


def photo_bytes(seed: str, size: int = 3000) -> bytes:
    """A deterministic evidence JPEG of exactly ``size`` bytes (HQ refuses anything but evidence JPEGs):
    noise seeded by ``seed`` sized to come close, then padded with DHT segments defining an unused Huffman
    table (no metadata segment: HQ refuses every APPn but JFIF). Below the size of the smallest such JPEG
    (~700 bytes) it is that smallest JPEG."""
    from PIL import Image

    rng = random.Random(seed)
    side, data, encoded = max(8, int((size / 2.0) ** 0.5)), b"", b""
    for _ in range(8):  # aim just under ``size``: the padding must stay small
        buffer = io.BytesIO()
        Image.frombytes("RGB", (side, side), rng.randbytes(side * side * 3)).save(buffer, "JPEG", quality=80)
        encoded = buffer.getvalue()
        if len(encoded) + _MIN_PAD <= size or len(encoded) == size:
            data = encoded
            if size - len(encoded) < 32_000:
                break
        if side == 8:
            return encoded  # nothing smaller exists
        side = max(8, int(side * (size / len(encoded)) ** 0.5 * 0.97))
    assert data, f"no JPEG fits in {size} bytes"
    at = 2 + 2 + int.from_bytes(data[4:6], "big")  # after SOI and JFIF APP0
    return data[:at] + _dht_padding(size - len(data)) + data[at:]


_MIN_PAD = 4 + 17  # one DHT segment holding one empty table


def _dht_padding(pad: int) -> bytes:
    """``pad`` bytes (0 or at least _MIN_PAD) of DHT segments (re)defining AC Huffman table 3, which no
    scan uses: a legitimate JPEG structure that carries no metadata."""
    out = b""
    while pad > 0:
        chunk = min(pad, 60_000)
        if 0 < pad - chunk < _MIN_PAD:
            chunk = pad - _MIN_PAD
        body, left = b"", chunk - 4
        while left > 0:
            table = min(left, 17 + 255)
            if 0 < left - table < 17:
                table = left - 17
            count = table - 17  # codes, all 16 bits long, each for symbol 0
            body += bytes([0x13]) + bytes(15) + bytes([count]) + bytes(count)
            left -= table
        out += b"\xff\xc4" + (chunk - 2).to_bytes(2, "big") + body
        pad -= chunk
    return out


def photo_ref(data: bytes, kind: PhotoKind = PhotoKind.DURING) -> PhotoRef:
    return PhotoRef(
        sha256=hashlib.sha256(data).hexdigest(), size=len(data), kind=kind, width=1600, height=1200
    )


def make_case(
    officer: Officer,
    *,
    photos: tuple[PhotoRef, ...] | None = None,
    occurred_at: datetime | None = None,
    seq: int = 1,
    device_id: str | None = None,
    install_tag: str = "TESTA",
    subject_id: str | None = None,
    computed: Stage = Stage.PERSUASION,
    violation_code: str = "0510",
) -> Case:
    """A valid first-version case (subject unknown unless ``subject_id``): ``testkit.records.make_case``
    numbered as a phone numbers it, at HQ's test location. ``photos`` by default: none for 劝导, one photo
    record for 警告 and 处罚 (the shipped catalogue's minimum; its photo is not uploaded unless the test
    does so)."""
    from enforcement.numbering import format_case_no

    if photos is None:
        tag = f"{officer.badge}-{install_tag}-{seq}-{int(computed)}-{occurred_at}"
        photos = (photo_ref(tag.encode()),) if computed >= Stage.WARNING else ()

    occurred = occurred_at or datetime(2026, 11, 22, 21, 30, tzinfo=LOCAL_TZ)
    case = records.make_case(
        officer=officer,
        subject_id=subject_id,
        occurred_at=occurred,
        stage=computed,
        case_no=format_case_no(
            officer.squad_code, officer.badge, occurred.astimezone(LOCAL_TZ).date(), install_tag, seq
        ),
        device_id=device_id or f"dev-{officer.badge}",  # the device ``sign_in`` uses by default
        violation_code=violation_code,
        location=Location(lat=34.7466, lon=113.6253, accuracy_m=8.0, address="人民路夜市"),
        created_at=occurred,
    )
    return replace(case, photos=photos)


def push_body(device_id: str, *cases: Case, first_seq: int = 1) -> dict[str, Any]:
    return {
        "protocol": PROTOCOL_VERSION,
        "device_id": device_id,
        "records": [
            {"kind": "case", "id": c.id, "device_seq": first_seq + i, "payload": to_json_dict(c)}
            for i, c in enumerate(cases)
        ],
    }


class LiveServer:
    """uvicorn serving an app in a thread on 127.0.0.1 (port 0 picks a free one; a restart reuses it)."""

    def __init__(self, app: FastAPI, port: int = 0, *, tls: tuple[Path, Path] | None = None) -> None:
        self.app = app
        self.port = port
        self.tls = tls  # (certificate chain, key) PEM files: serve https
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    def start(self, app: FastAPI | None = None) -> LiveServer:
        if app is not None:
            self.app = app
        settings = getattr(getattr(self.app, "state", None), "settings", None)  # an ASGI wrapper has none
        proxies: tuple[str, ...] = getattr(settings, "trusted_proxies", ())
        config = uvicorn.Config(
            self.app,
            host="127.0.0.1",
            port=self.port,
            log_level="error",
            lifespan="off",
            access_log=False,
            # as ``serve`` does: forwarded headers believed only from the app's configured proxies
            proxy_headers=bool(proxies),
            forwarded_allow_ips=",".join(proxies),
            http=HTTP_PROTOCOL,  # as ``serve``: a request that is not HTTP gets the ErrorBody
            ssl_certfile=str(self.tls[0]) if self.tls else None,
            ssl_keyfile=str(self.tls[1]) if self.tls else None,
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, name="hq-uvicorn", daemon=True)
        thread.start()
        deadline = time.monotonic() + 10
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.01)
        self.port = server.servers[0].sockets[0].getsockname()[1]
        self._server, self._thread = server, thread
        return self

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=10)
        self._server = self._thread = None

    def __enter__(self) -> LiveServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
