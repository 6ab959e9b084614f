"""Mobile test fixtures: a live HQ on loopback (``hq``) and the ``make_app`` factory of whole AppStates
(``tests/mobile/statekit.py``), both stopped at the end of the test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from testkit.hqkit import Hq, make_hq
from tests.mobile.statekit import Apps, apps_of


@pytest.fixture
def hq(tmp_path: Path) -> Iterator[Hq]:
    """HQ over a fresh SQLite in tmp_path/hq, served on loopback."""
    hq = make_hq(tmp_path / "hq")
    hq.serve()
    yield hq
    hq.close()


@pytest.fixture
def make_app(tmp_path: Path) -> Iterator[Apps]:
    yield from apps_of(tmp_path)
