"""Opening the phone store: the cheap check after a clean close, the full check after anything else, and the
scheduled full check that still finds damage arriving after a clean close (reported, nothing overwritten)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from mobile import store_file
from mobile.state.app_state import AppState
from mobile.store import INTEGRITY_EVERY_OPENS, Store, StoreCorrupt
from mobile.views.screens import make_screen
from mobile.views.shell import Shell
from mobile.views.today import TodayView
from tests.mobile.statekit import make_app
from tests.mobile.test_store import make_case, make_subject, open_store

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def checks(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Spy on the integrity checks the store runs: "full" or "cheap" per call."""
    seen: list[str] = []
    real = store_file.integrity_problems

    def spy(conn: sqlite3.Connection, tables: tuple[str, ...] | None = None) -> list[str]:
        seen.append("full" if tables is None else "cheap")
        return real(conn, tables)

    monkeypatch.setattr(store_file, "integrity_problems", spy)
    return seen


def filled(path: Path, cases: int = 30) -> None:
    with open_store(path) as store:
        subject = store.save_subject(make_subject())
        for _ in range(cases):
            store.save_case(make_case(store, subject.id))


def test_clean_close_takes_the_cheap_path(tmp_path: Path, checks: list[str]) -> None:
    path = tmp_path / "phone.db"
    with open_store(path) as store:
        assert store.open_check == "none"  # a new file
    with open_store(path) as store:
        assert store.open_check == "cheap"
    assert checks == ["cheap"]
    with Store.open(path, catalogue=store.catalogue, full_check=True) as store:
        assert store.open_check == "full"  # the old open, on demand (bench/store.py times both)
    assert checks == ["cheap", "full"]


def test_unclean_shutdown_runs_the_full_check(tmp_path: Path, checks: list[str]) -> None:
    path = tmp_path / "phone.db"
    filled(path)
    killed = subprocess.run(  # the app dies after its open, with the store still open
        [
            sys.executable,
            "-c",
            "import os; from enforcement.catalogue import load_catalogue; from mobile.store import Store;"
            f"s = Store.open({str(path)!r}, catalogue=load_catalogue()); assert s.open_check == 'cheap';"
            " os._exit(9)",
        ],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        check=False,
    )
    assert killed.returncode == 9
    with open_store(path) as store:
        assert store.open_check == "full"
        assert len(store.subject_history(store.search_subjects("王㐂𠮷")[0].id)) == 30
    assert checks == ["full"]
    with open_store(path) as store:  # and after that clean close, the cheap one again
        assert store.open_check == "cheap"


def test_a_file_without_the_marker_gets_the_full_check(tmp_path: Path, checks: list[str]) -> None:
    path = tmp_path / "phone.db"
    filled(path, 2)
    conn = sqlite3.connect(path, isolation_level=None)  # e.g. a file of the previous app version
    conn.execute("DELETE FROM meta WHERE key = ?", (store_file.CLEAN_CLOSE_KEY,))
    conn.close()
    with open_store(path) as store:
        assert store.open_check == "full"
    assert checks == ["full"]


def test_schedule_a_day_or_every_n_opens_and_a_clock_set_back(tmp_path: Path) -> None:
    path = tmp_path / "phone.db"
    with open_store(path) as store:
        assert store.integrity_check_due()  # never checked
        store.check_integrity()
        now = datetime.now(UTC)
        assert not store.integrity_check_due(now)
        assert store.integrity_check_due(now + timedelta(days=1, minutes=1))
        assert store.integrity_check_due(datetime(1970, 1, 1, tzinfo=UTC))  # clock set back: check
        assert store.integrity_check_due(datetime(2099, 1, 1, tzinfo=UTC))
    for _ in range(INTEGRITY_EVERY_OPENS - 1):
        with open_store(path) as store:
            assert not store.integrity_check_due()
    with open_store(path) as store:
        assert store.integrity_check_due()


def _damage_cases_table(path: Path) -> tuple[int, bytes]:
    """Overwrite the b-tree root page of ``cases`` with garbage (behind SQLite's back); that page and its
    new bytes."""
    conn = sqlite3.connect(path)
    root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'cases'").fetchone()[0]
    page = conn.execute("PRAGMA page_size").fetchone()[0]
    conn.close()
    garbage = b"\x5a" * page
    with path.open("r+b") as handle:
        handle.seek((root - 1) * page)
        handle.write(garbage)
    return (root - 1) * page, garbage


def test_damage_after_a_clean_close_is_found_by_the_scheduled_check(tmp_path: Path) -> None:
    path = tmp_path / "phone.db"
    filled(path)
    assert not (tmp_path / "phone.db-wal").exists()  # checkpointed at the clean close
    offset, garbage = _damage_cases_table(path)

    app = make_app(tmp_path, store=Store.open(path, catalogue=open_store().catalogue))
    assert app.store.open_check == "cheap"  # the cheap check does not read the cases
    told: list[Any] = []
    app.health.subscribe(lambda: told.append(app.store_damage))
    assert app.check_store()  # due: the schedule never ran on this file
    assert isinstance(app.store_damage, StoreCorrupt)
    assert told == [app.store_damage]
    assert "已损坏" in app.store_damage.message("zh")
    assert "damaged" in app.store_damage.message("en")
    assert not app.check_store()  # once per process

    # the Today screen shows the same message an open would give
    shell = Shell(app, screens=make_screen)
    shown = [getattr(c, "value", None) for c in _walk(TodayView(shell).status_line())]
    assert app.store_damage.message("zh") in shown

    # nothing more is written to the damaged file, its close is not marked clean
    with pytest.raises(StoreCorrupt):
        app.store.meta_set("probe", 1)
    app.store.close()
    data = path.read_bytes()
    assert data[offset : offset + len(garbage)] == garbage
    with pytest.raises(StoreCorrupt):  # the next start refuses the file, as before, and leaves it be
        open_store(path)
    assert path.read_bytes() == data


def _walk(control: Any) -> list[Any]:
    found = [control]
    for name in ("content", "controls", "title", "subtitle", "leading", "trailing"):
        child = getattr(control, name, None)
        for item in child if isinstance(child, list) else [child] if child is not None else []:
            found += _walk(item)
    return found


def test_check_store_does_nothing_when_not_due(tmp_path: Path) -> None:
    path = tmp_path / "phone.db"
    with open_store(path) as store:
        store.check_integrity()
    app: AppState = make_app(tmp_path, store=open_store(path))
    assert not app.check_store()
    assert app.store_damage is None
    app.store.close()
