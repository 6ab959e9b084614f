"""What the parent of the crash bench (``testkit/crash.py``) checks on a phone after each kill, doing what
the app does at start-up: the store opens (integrity check), no case is half-saved, no row dangles, no
reported case is lost, the case-number counter is past every number used, and the photo sweep leaves no
file that no row points at.
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from enforcement.catalogue import Catalogue
from enforcement.codec import case_from_dict
from enforcement.model import Case
from enforcement.numbering import parse_case_no
from mobile.photostore import PhotoStore, PhotoStoreError
from mobile.store import Store, StoreError


@dataclass
class Check:
    """What the parent found on a phone after one kill."""

    opened: bool = True
    error: str = ""
    cases: int = 0
    half_saved: list[str] = field(default_factory=list)
    dangling: list[str] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)
    counter_behind: bool = False
    orphans: int = 0  # evidence files and thumbnails no row pointed at, before the sweep
    temps: int = 0  # half-written temporary files, before the sweep
    swept: int = 0
    left: int = 0  # files no row points at (or temp files) still there after the sweep
    case_ids: set[str] = field(default_factory=set)

    @property
    def consistent(self) -> bool:
        return (
            self.opened
            and not self.half_saved
            and not self.dangling
            and not self.lost
            and not self.counter_behind
            and self.left == 0
        )


def _files(directory: Path) -> tuple[set[str], int]:
    """Hash-named ``.jpg`` stems and the number of temp files in a photo directory."""
    names, temps = set(), 0
    for entry in directory.iterdir():
        if entry.name.startswith(".") and entry.name.endswith(".tmp"):
            temps += 1
        elif entry.suffix == ".jpg":
            names.add(entry.stem)
    return names, temps


def _case_rows(conn: sqlite3.Connection) -> tuple[dict[str, Case], list[str]]:
    """Every case (by id) and what is half-saved about the rows."""
    cases = {
        row[0]: case_from_dict(json.loads(row[1])) for row in conn.execute("SELECT id, record FROM cases")
    }
    photos: dict[str, list[str]] = {}
    for case_id, sha in conn.execute("SELECT case_id, sha256 FROM case_photos ORDER BY case_id, ordinal"):
        photos.setdefault(case_id, []).append(sha)
    seized = Counter(row[0] for row in conn.execute("SELECT case_id FROM seized_items"))
    outbox = Counter(row[0] for row in conn.execute("SELECT record_id FROM outbox WHERE kind = 'case'"))
    queued = {row[0] for row in conn.execute("SELECT sha256 FROM photo_queue")}
    problems = []
    for case_id, case in cases.items():
        wanted = [p.sha256 for p in case.photos]
        if photos.get(case_id, []) != wanted:
            problems.append(f"{case_id}: photo rows {len(photos.get(case_id, []))} of {len(wanted)}")
        if seized[case_id] != len(case.seized_items):
            problems.append(f"{case_id}: seized items {seized[case_id]} of {len(case.seized_items)}")
        if outbox[case_id] != 1:
            problems.append(f"{case_id}: {outbox[case_id]} outbox entries")
        if not set(wanted) <= queued:
            problems.append(f"{case_id}: photos missing from the upload queue")
    for case_id in (set(photos) | set(seized) | set(outbox)) - set(cases):
        problems.append(f"{case_id}: rows of a case that is not there")
    return cases, problems


def check_phone(phone: Path, reported: set[str], catalogue: Catalogue) -> Check:
    """Reopen the phone's store as the app would after the kill, check it, and sweep its photos."""
    db = phone / "phone.db"
    try:
        store = Store.open(db, catalogue=catalogue)
    except StoreError as exc:
        return Check(opened=False, error=f"{type(exc).__name__}: {exc.en}")
    result = Check()
    try:
        photos = PhotoStore(phone / "photos")
        conn = sqlite3.connect(db.resolve().as_uri() + "?mode=ro", uri=True)
        try:
            cases, result.half_saved = _case_rows(conn)
            counter = conn.execute("SELECT value FROM counters WHERE name = 'case_no'").fetchone()
        finally:
            conn.close()
        result.cases, result.case_ids = len(cases), set(cases)
        used = max((parse_case_no(c.case_no).seq for c in cases.values()), default=0)
        result.counter_behind = used > (counter[0] if counter else 0)
        result.lost = sorted(reported - set(cases))
        keep = store.photo_hashes()
        for sha in sorted(keep):
            try:
                photos.read(sha)  # present, and its bytes hash to its name
            except PhotoStoreError:
                result.dangling.append(sha)
        evidence, temps_e = _files(photos.root / "evidence")
        thumbs, temps_t = _files(photos.root / "thumbs")
        result.orphans = len(evidence - keep) + len(thumbs - keep)
        result.temps = temps_e + temps_t
        result.swept = photos.sweep(keep)
        evidence, temps_e = _files(photos.root / "evidence")
        thumbs, temps_t = _files(photos.root / "thumbs")
        result.left = len(evidence - keep) + len(thumbs - keep) + temps_e + temps_t
        result.dangling += sorted(photos.missing(keep) - set(result.dangling))
    finally:
        store.close()
    return result
