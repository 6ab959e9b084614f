"""Mobile test fixtures: a live HQ on loopback (``hq``) and the ``make_app`` factory of whole AppStates
(``tests/mobile/statekit.py``), both stopped at the end of the test; a settable phone ``clock`` and ``app``,
one AppState on that clock with the officer signed in (modules that need another ``app`` define their own)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from mobile.state.app_state import AppState
from testkit.hqkit import Hq, hq_of
from tests.mobile.statekit import Apps, PhoneClock, apps_of, sign_in


@pytest.fixture
def hq(tmp_path: Path) -> Iterator[Hq]:
    """HQ over a fresh SQLite in tmp_path/hq, served on loopback."""
    yield from hq_of(tmp_path / "hq", serve=True)


@pytest.fixture
def make_app(tmp_path: Path) -> Iterator[Apps]:
    yield from apps_of(tmp_path)


@pytest.fixture
def clock() -> PhoneClock:
    return PhoneClock()


@pytest.fixture
def app(make_app: Apps, hq: Hq, clock: PhoneClock) -> AppState:
    app = make_app(clock=clock)
    sign_in(app, hq.serve().url)
    return app
