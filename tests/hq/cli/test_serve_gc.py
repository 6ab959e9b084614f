"""``serve`` hands uvicorn an app whose start-up objects the cyclic collector no longer walks
(``hq.cli.serve.settle_long_lived``): one process, and each ``--workers`` worker."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from hq.cli import serve
from hq.cli.main import run_to_string
from hq.storage.sqlite import SqliteStorage
from tests.hq.cli.test_cli import CHEAP_PINS


@pytest.fixture(autouse=True)
def _thawed(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for key, value in CHEAP_PINS.items():
        monkeypatch.setenv(key, value)
    gc.unfreeze()
    yield
    gc.unfreeze()


def test_one_process_serves_with_its_start_up_objects_frozen(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    frozen_when_served: list[int] = []

    def run(app: Any, **options: Any) -> None:
        frozen_when_served.append(gc.get_freeze_count())

    monkeypatch.setattr(uvicorn, "run", run)
    code, _ = run_to_string(["serve", "--db", str(tmp_path / "hq.db"), "--blobs", str(tmp_path / "blobs")])
    assert code == 0
    assert len(frozen_when_served) == 1
    assert frozen_when_served[0] > 10_000  # the app, its modules and validators


def test_a_worker_builds_its_app_with_its_start_up_objects_frozen(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    SqliteStorage(tmp_path / "hq.db").create_schema()
    monkeypatch.setenv(serve.SERVE_STORAGE_ENV, str(tmp_path / "hq.db"))
    monkeypatch.setenv(serve.SERVE_BLOBS_ENV, str(tmp_path / "blobs"))
    monkeypatch.delenv(serve.SERVE_POOL_ENV, raising=False)
    assert gc.get_freeze_count() == 0
    serve.worker_app()
    assert gc.get_freeze_count() > 10_000
