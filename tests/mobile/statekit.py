"""Shared helpers of the state tests: a whole ``AppState`` over a real in-memory store, real photo files
in tmp_path, a settable phone clock, and the real sync client (pointed at a live HQ from
``testkit.hqkit`` or at a closed port). The link runs ``threaded=False``: every sync is inline."""

from __future__ import annotations

import asyncio
import io
import random
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

from PIL import Image, ImageDraw

from enforcement.model import LOCAL_TZ, Case, Officer, Review, ReviewDecision, new_id
from mobile.hqclient import RetryPolicy
from mobile.photostore import PhotoStore
from mobile.secretstore import MemorySecretStore, SecretStore
from mobile.state.app_state import AppState
from mobile.state.backend import client_factory
from mobile.state.session import PinCost
from mobile.store import Store
from testkit.hqkit import OFFICER, PINS, catalogue
from testkit.ports import free_port

#: scrypt at a token cost for the state tests (bench/pin_cost.py measures the real one)
LIGHT_PIN_COST = PinCost(n=16, r=1, p=1)

AT = datetime(2026, 11, 22, 21, 30, tzinfo=LOCAL_TZ)  # phone time of the tests (13:30 UTC, before HQ's 14:00)


class PhoneClock:
    """The phone's wall clock and its monotonic clock: ``advance`` moves both (time passes), ``set`` moves
    the wall clock only (the officer or a dead battery sets it; ``mobile.state.clock`` tells them apart)."""

    def __init__(self, now: datetime = AT) -> None:
        self.now = now
        self.mono = 1000.0

    def __call__(self) -> datetime:
        return self.now

    def monotonic(self) -> float:
        return self.mono

    def advance(self, minutes: int) -> None:
        self.now += timedelta(minutes=minutes)
        self.mono += minutes * 60

    def set(self, now: datetime) -> None:
        self.now = now


def dead_url() -> str:
    """An HQ address where nothing listens (a port just released)."""
    return f"http://127.0.0.1:{free_port()}"


class Apps:
    """Makes AppStates and stops them all at the end of a test (closing their HTTP connections)."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.made: list[AppState] = []

    def __call__(
        self,
        *,
        clock: PhoneClock | None = None,
        store: Store | None = None,
        secrets: SecretStore | None = None,
    ) -> AppState:
        if secrets is None and store is not None:  # the same install restarted: its secrets too
            secrets = next((a.secrets for a in self.made if a.store is store), None)
        app = make_app(self.tmp_path, clock=clock, store=store, secrets=secrets)
        self.made.append(app)
        return app

    def close(self) -> None:
        for app in self.made:
            app.stop()


def apps_of(tmp_path: Path) -> Iterator[Apps]:
    """Body of an ``apps`` fixture."""
    apps = Apps(tmp_path)
    yield apps
    apps.close()


def make_app(
    tmp_path: Path,
    *,
    clock: PhoneClock | None = None,
    store: Store | None = None,
    secrets: SecretStore | None = None,
) -> AppState:
    store = store or Store.open(":memory:", catalogue=catalogue())
    secrets = secrets if secrets is not None else MemorySecretStore()
    photos = PhotoStore(tmp_path / "photos")
    factory = client_factory(
        store, photos, retry=RetryPolicy(attempts=1, base_delay=0.0), timeout=10, secrets=secrets
    )
    clock = clock or PhoneClock()
    return AppState(
        store,
        photos,
        catalogue(),
        factory,
        threaded=False,
        now=clock,
        monotonic=clock.monotonic,
        pin_iterations=1000,
        pin_cost=LIGHT_PIN_COST,
        secrets=secrets,
    )


def sign_in(app: AppState, hq_url: str, officer: Officer = OFFICER, pin: str | None = None) -> Officer:
    return asyncio.run(
        app.session.sign_in(hq_url, officer.badge, pin if pin is not None else PINS[officer.badge])
    )


def saved_case(app: AppState, photo_seed: int = 9) -> str:
    """Record and save, through the drafts, a 露天烧烤 case of 刘小摊 at 人民路 12 号 with one photo
    (``photo(photo_seed)``); returns the case id."""
    drafts = app.drafts
    drafts.start()
    drafts.choose_violation("0510")
    drafts.update(address="人民路 12 号")
    drafts.create_subject("mobile_vendor", name="刘小摊")
    asyncio.run(drafts.add_photo(photo(photo_seed)))
    return drafts.save().id


def returned(case: Case, reviewer_badge: str, decided_at: datetime, comment: str) -> Review:
    """A leader's decision returning ``case`` to its officer for correction (as a sync would bring it)."""
    return Review(
        id=new_id(),
        case_id=case.id,
        case_no=case.case_no,
        decision=ReviewDecision.RETURN,
        reviewer_badge=reviewer_badge,
        decided_at=decided_at,
        comment=comment,
    )


def photo(seed: int, size: tuple[int, int] = (1200, 900)) -> bytes:
    """A camera-like JPEG (noise and shapes, so every seed gives different bytes)."""
    rng = random.Random(seed)
    image = Image.new("RGB", size, (rng.randrange(256), rng.randrange(256), rng.randrange(256)))
    draw = ImageDraw.Draw(image)
    for _ in range(30):
        x, y = rng.randrange(size[0]), rng.randrange(size[1])
        draw.rectangle(
            (x, y, x + rng.randrange(20, 200), y + rng.randrange(20, 200)), fill=rng.randrange(256)
        )
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    return out.getvalue()
