"""Crash consistency on the phone (issue #7), the suite's short version of bench/crash.py: a process saving
cases with photos through the app's path is SIGKILLed at random moments; after each kill the store opens
(integrity-checked), no case is half-saved, no row points at a missing or damaged photo, every case the
saver reported is there, and the start-up sweep removes the orphans. Plus proof that the check itself
sees each kind of damage."""

from __future__ import annotations

import random
import signal
import sqlite3
import subprocess
import sys
from datetime import date
from pathlib import Path

from enforcement.catalogue import load_catalogue
from mobile.photostore import PhotoStore
from mobile.store import Store
from testkit.crash import check_phone, make_sources, run, save_one


def test_kills_mid_save_leave_no_corrupt_store_half_saved_case_or_dangling_photo(tmp_path: Path) -> None:
    tally = run(
        25,
        lanes=1,
        seconds=240,
        rounds_per_phone=13,
        max_delay=0.5,
        seed=11,
        work=tmp_path,
        source_size=(480, 360),
    )

    assert tally.saver_errors == []
    assert tally.rounds == 25
    # The kills really interrupted savers at work (after their store was open), which saved cases and
    # left photos of unsaved cases behind in between.
    assert tally.killed == tally.rounds
    assert tally.killed_mid_save >= 13
    assert tally.reported > 0
    assert tally.orphans > 0
    assert tally.corrupt == 0
    assert tally.half_saved == 0, tally.examples
    assert tally.dangling == 0, tally.examples
    assert tally.lost == 0, tally.examples
    assert tally.counter_behind == 0
    assert tally.left == 0  # the sweep left no file that no row points at
    assert tally.swept == tally.orphans + tally.temps


def _phone_with_cases(tmp_path: Path, count: int) -> tuple[Path, PhotoStore, list[str], list[list[str]]]:
    """A phone on which the app's path saved ``count`` cases; their ids and photo hashes."""
    phone = tmp_path / "phone"
    phone.mkdir()
    sources = [p.read_bytes() for p in make_sources(tmp_path / "sources", count=3, size=(320, 240))]
    store = Store.open(phone / "phone.db", catalogue=load_catalogue())
    photos = PhotoStore(phone / "photos")
    rng = random.Random(3)
    cases = [save_one(store, photos, rng, sources) for _ in range(count)]
    store.close()
    return phone, photos, [c.id for c in cases], [[p.sha256 for p in c.photos] for c in cases]


def test_the_check_sees_half_saved_cases_dangling_rows_lost_cases_and_orphans(tmp_path: Path) -> None:
    catalogue = load_catalogue()
    phone, photos, ids, hashes = _phone_with_cases(tmp_path, 3)
    clean = check_phone(phone, set(ids), catalogue)
    assert clean.consistent
    assert (clean.cases, clean.orphans, clean.temps, clean.swept) == (3, 0, 0, 0)

    conn = sqlite3.connect(phone / "phone.db")
    with conn:
        conn.execute("DELETE FROM outbox WHERE record_id = ?", (ids[0],))
    conn.close()
    photos.path(hashes[1][0]).unlink()
    torn = photos.path(hashes[2][0])
    torn.write_bytes(torn.read_bytes()[:1000])
    orphan = photos.put(b"\xff\xd8 a photo of a form the kill abandoned")
    (photos.root / "evidence" / ".half-written.tmp").write_bytes(b"\xff\xd8")

    damaged = check_phone(phone, {*ids, "reported-but-never-saved"}, catalogue)
    assert not damaged.consistent
    assert damaged.half_saved == [f"{ids[0]}: 0 outbox entries"]
    assert sorted(damaged.dangling) == sorted([hashes[1][0], hashes[2][0]])
    assert damaged.lost == ["reported-but-never-saved"]
    assert (damaged.orphans, damaged.temps, damaged.swept, damaged.left) == (1, 1, 2, 0)
    assert not photos.has(orphan)
    assert photos.has(hashes[0][0])  # the sweep never removes a file a row points at


def test_the_check_reports_a_damaged_store_without_touching_it(tmp_path: Path) -> None:
    phone, _, ids, _ = _phone_with_cases(tmp_path, 2)
    db = phone / "phone.db"
    data = bytearray(db.read_bytes())
    page = 4096
    data[page : 3 * page] = b"\x5a" * (2 * page)  # two pages of garbage where b-tree pages were
    db.write_bytes(bytes(data))

    result = check_phone(phone, set(ids), load_catalogue())
    assert not result.opened
    assert result.error.startswith("StoreCorrupt")
    assert db.read_bytes() == bytes(data)


def _python(code: str) -> int:
    """Run ``code`` in a fresh interpreter; its return code (negative: killed by that signal)."""
    return subprocess.run([sys.executable, "-c", code], check=False).returncode


def test_a_store_a_kill_left_with_a_hot_rollback_journal_opens_again(tmp_path: Path) -> None:
    """Found by bench/crash.py: an app killed while its first ``Store.open`` creates the file (switching a new
    file to WAL is a write through a rollback journal) leaves ``phone.db`` + ``phone.db-journal``. A
    read-write open would roll the hot journal back; ``Store.open`` checks the file on a read-only
    connection first, which cannot, and refuses the store as damaged ("attempt to write a readonly
    database") on this and every later start. Here a writer is killed with a hot journal on purpose."""
    db = tmp_path / "phone.db"
    assert _python(f"import sqlite3; c = sqlite3.connect({str(db)!r}); c.execute('CREATE TABLE x (y)')"
                   "; c.execute('DROP TABLE x'); c.close()") == 0  # fmt: skip
    killed = _python(
        "import os, signal, sqlite3\n"
        f"c = sqlite3.connect({str(db)!r}, isolation_level=None)\n"
        "c.execute('PRAGMA cache_size = 1'); c.execute('BEGIN IMMEDIATE'); c.execute('CREATE TABLE f (x)')\n"
        "for _ in range(300): c.execute('INSERT INTO f VALUES (?)', ('x' * 500,))\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    assert killed == -signal.SIGKILL
    assert (tmp_path / "phone.db-journal").stat().st_size > 0  # the hot journal of the killed write

    store = Store.open(db, catalogue=load_catalogue())
    number = store.reserve_case_no("ZD01", "1023", date(2026, 11, 22))
    store.close()
    with Store.open(db, catalogue=load_catalogue()) as again:
        assert again.reserve_case_no("ZD01", "1023", date(2026, 11, 22)) != number
