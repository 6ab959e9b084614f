"""Sync test fixtures: a real HQ on loopback uvicorn over tmp SQLite, and phones (the real phone Store and
PhotoStore in tmp_path) that record cases with photos. No sleeping: the client's sleep is recorded."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from enforcement.model import LOCAL_TZ, Case, Officer, PhotoKind, PhotoRef, SyncState
from mobile.hqclient import SyncClient
from mobile.photostore import PhotoStore
from mobile.store import Store
from testkit.hqkit import OFFICER, PINS, START, Hq, catalogue, hq_of, make_case, photo_bytes

AT = datetime(2026, 11, 22, 21, 30, tzinfo=LOCAL_TZ)  # when the test cases happen (phone time)


@dataclass
class Phone:
    """One phone install: its store file and photo directory survive ``restart``."""

    root: Path
    store: Store = field(init=False)
    photos: PhotoStore = field(init=False)
    recorded: list[Case] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self._open()

    def _open(self) -> None:
        self.store = Store.open(self.root / "phone.db", catalogue=catalogue())
        self.photos = PhotoStore(self.root / "photos")

    def restart(self) -> None:
        """The app was killed and started again: same files, fresh objects."""
        self.store.close()
        self._open()

    def record_case(
        self,
        officer: Officer = OFFICER,
        *,
        photos: int = 0,
        occurred_at: datetime | None = None,
        photo_size: int = 3000,
        subject_id: str | None = None,
        **changes: Any,
    ) -> Case:
        """Save a valid case with ``photos`` evidence files, as the officer would on the phone."""
        occurred = occurred_at or AT + timedelta(minutes=len(self.recorded))
        refs = []
        for i in range(photos):
            data = photo_bytes(f"{self.root}-{len(self.recorded)}-{i}", photo_size)
            sha = self.photos.put(data)
            refs.append(PhotoRef(sha256=sha, size=len(data), kind=PhotoKind.DURING, width=1600, height=1200))
        base = make_case(
            officer,
            photos=tuple(refs),
            occurred_at=occurred,
            device_id=self.store.device_id,
            subject_id=subject_id,
        )
        case_no = self.store.reserve_case_no(officer.squad_code, officer.badge, base.local_day)
        case = replace(base, case_no=case_no, **changes)
        self.store.save_case(case)
        self.recorded.append(case)
        return case

    def states(self) -> dict[str, SyncState]:
        """Each recorded case's sync state as the phone sees it."""
        result = {}
        # a case whose time HQ finds implausible (a year off) is listed on the day HQ received it
        received_day = START.astimezone(LOCAL_TZ).date()
        for case in self.recorded:
            logged = [
                lc
                for day in (case.local_day, received_day)
                for lc in self.store.patrol_log(case.officer_badge, day)
                if lc.case.id == case.id
            ]
            result[case.id] = logged[0].sync_state
        return result

    def close(self) -> None:
        self.store.close()


class Sleeps:
    """The client's injected sleep: records the delays and can run an action on a given call."""

    def __init__(self) -> None:
        self.delays: list[float] = []
        self.on_sleep: Callable[[int], None] | None = None
        self._lock = threading.Lock()

    def __call__(self, seconds: float) -> None:
        with self._lock:
            self.delays.append(seconds)
            count = len(self.delays)
        if self.on_sleep is not None:
            self.on_sleep(count)


@pytest.fixture
def hq(tmp_path: Path) -> Iterator[Hq]:
    yield from hq_of(tmp_path / "hq", serve=True)


@pytest.fixture
def phone(tmp_path: Path) -> Iterator[Phone]:
    phone = Phone(tmp_path / "phone")
    yield phone
    phone.close()


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def https() -> Iterator[list[httpx.Client]]:
    """The HTTP clients a test opens by hand (appended here), closed after it."""
    clients: list[httpx.Client] = []
    yield clients
    for http in clients:
        http.close()


ClientFactory = Callable[..., SyncClient]


@pytest.fixture
def make_client(hq: Hq, sleeps: Sleeps) -> Iterator[ClientFactory]:
    """Build a SyncClient for a phone against the live HQ (optionally through a faulty transport)."""
    clients: list[httpx.Client] = []

    def build(phone: Phone, *, transport: httpx.BaseTransport | None = None, **kwargs: Any) -> SyncClient:
        http = httpx.Client(base_url=hq.serve().url, transport=transport, timeout=10)
        clients.append(http)
        kwargs.setdefault("sleep", sleeps)
        kwargs.setdefault("rng", lambda: 0.5)
        return SyncClient(http, phone.store, phone.photos, **kwargs)

    yield build
    for http in clients:
        http.close()


def signed_in(client: SyncClient, officer: Officer = OFFICER) -> SyncClient:
    client.sign_in(officer.badge, PINS[officer.badge])
    return client
