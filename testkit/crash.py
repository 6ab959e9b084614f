"""Crash consistency on the phone: SIGKILL a process that is saving cases with photos at random moments,
reopen the store after every kill, and check what survived.

The saver takes the app's real path (``mobile/state/new_case.py``): ``Store.reserve_case_no``, then for
each photo ``mobile.photos.process_photo`` (watermark naming the case number) → ``PhotoStore.put`` (temp
file, fsync, rename, directory fsync) and ``put_thumbnail``, then ``Store.save_case`` (case row, photo rows,
seized items and outbox entry in one transaction). After ``save_case`` returns it reports the case id with
one unbuffered ``write`` to a pipe: the parent knows exactly which cases the officer was told were saved.

After each kill the parent does what the app does at start-up, and checks:

- ``Store.open`` succeeds (it runs ``PRAGMA integrity_check``): **corrupt** databases;
- every case row has all its photo rows (same hashes, same order), its seized items, its photo-queue rows
  and exactly one outbox entry, and no child row or outbox entry lacks its case: **half-saved** cases;
- every hash a row points at has its file, whose bytes hash to its name: **dangling** rows;
- every case the saver reported is there: **lost** cases; the case-number counter is past every number used;
- ``PhotoStore.sweep(keep=store.photo_hashes())`` removes the orphans (photos of the case being saved when
  the kill came, half-written temp files) and leaves **no file** that no row points at, and no row without
  its file.

Baseline (same run): a naive saver doing the same work as the form goes, without the guarantees (the
case row first, then each photo's rows and its file written in place as it is processed, then the seized
items and the outbox entry, each statement its own autocommit transaction), to show what the checks
catch.

Processes: a "zygote" subprocess imports everything once and forks one saver per round (a round costs
milliseconds of start-up, not a Python start); the parent SIGKILLs the saver after a random delay and has
the zygote reap it before checking. ``--lanes`` zygotes run side by side, each on its own phone
directories; every ``--rounds-per-phone`` rounds a lane starts a fresh phone, so kills also land in the
first open (migrations).

A second app-path row kills savers within their first 30 ms, while ``Store.open`` creates a fresh store.

Run: ``.venv/bin/python bench/crash.py`` (500 + 200 kills of the app path, 100 of the baseline, bounded by
``--seconds``); writes bench/results/crash.md. ``tests/reliability/test_crash.py`` runs a short version.
The checks after each kill are in ``testkit/crash_check.py``.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

from enforcement.catalogue import Catalogue, load_catalogue
from enforcement.codec import to_json_dict
from enforcement.model import (
    LOCAL_TZ,
    Case,
    Disposition,
    Location,
    Officer,
    PhotoKind,
    PhotoRef,
    Role,
    SeizedItem,
    Stage,
    new_id,
)
from mobile.photos import ProcessedPhoto, Watermark, process_photo
from mobile.photostore import PhotoStore
from mobile.store import (
    CASE_INSERT,
    CASE_PHOTO_INSERT,
    OUTBOX_INSERT,
    PHOTO_QUEUE_INSERT,
    SEIZED_ITEM_INSERT,
    Store,
    case_child_rows,
    case_row,
)
from testkit.crash_check import check_phone

HERE = Path(__file__).resolve()
RESULTS = HERE.parents[1] / "bench" / "results" / "crash.md"
OFFICER = Officer("1023", "王㐂𠮷", "ZD01", "人民路中队", "金水区", Role.OFFICER)
SECOND_OFFICER = "1024"
#: A saver stops after this many cases (a round's kill always comes long before).
MAX_CASES_PER_ROUND = 60
KINDS = (PhotoKind.BEFORE, PhotoKind.DURING, PhotoKind.AFTER)


# ------------------------------------------------------------------------------------------ the saver


def _out(line: str) -> None:
    """One unbuffered write of one line to stdout (atomic on a pipe: lines of two processes never mix)."""
    os.write(1, (line.replace("\n", " ") + "\n").encode("utf-8"))


def make_sources(directory: Path, count: int = 4, size: tuple[int, int] = (1024, 768)) -> list[Path]:
    """``count`` camera-like source JPEGs (noise, so they do not compress to nothing). PIL only here, in
    the parent: the saver gets them as bytes and runs them through ``process_photo`` like a camera shot."""
    from PIL import Image

    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        image = Image.effect_noise(size, 40 + 10 * i).convert("RGB")
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=85)
        path = directory / f"source-{i}.jpg"
        path.write_bytes(buffer.getvalue())
        paths.append(path)
    return paths


def build_case(store: Store, rng: random.Random, case_no: str, refs: tuple[PhotoRef, ...]) -> Case:
    """A valid 露天烧烤 case; four in ten with seized grills and chairs (two officers, a receipt)."""
    now = datetime.now(LOCAL_TZ)
    seized: tuple[SeizedItem, ...] = ()
    receipt = second = ""
    if rng.random() < 0.4:
        seized = (SeizedItem("烧烤炉", 1), SeizedItem("桌椅", rng.randint(1, 6), "折叠桌椅"))
        receipt, second = f"ZK-{rng.randrange(10**6):06d}", SECOND_OFFICER
    return Case(
        id=new_id(),
        case_no=case_no,
        officer_badge=OFFICER.badge,
        squad_code=OFFICER.squad_code,
        device_id=store.device_id,
        violation_code="0510",
        occurred_at=now,
        location=Location(lat=34.7466, lon=113.6253, accuracy_m=8.0, address="人民路夜市"),
        subject_id=None,
        subject_unknown=True,
        computed_stage=Stage.PERSUASION,
        chosen_stage=Stage.PERSUASION,
        stage_ordinal=1,
        disposition=Disposition.PERSUADED,
        seized_items=seized,
        seizure_receipt_no=receipt,
        second_officer_badge=second,
        photos=refs,
        notes="夜市巡查，劝离",
        created_at=now,
    )


def _sources_for(rng: random.Random, sources: list[bytes]) -> list[bytes]:
    """1–3 distinct sources for one case's photos."""
    return [sources[i] for i in rng.sample(range(len(sources)), rng.randint(1, min(3, len(sources))))]


def _process(source: bytes, case_no: str) -> ProcessedPhoto:
    """A camera shot turned into evidence, watermarked with the case number (so every photo is unique)."""
    mark = Watermark(datetime.now(LOCAL_TZ), 34.7466, 113.6253, OFFICER.badge, case_no, "露天烧烤")
    return process_photo(source, mark)


def _ref(photo: ProcessedPhoto, ordinal: int) -> PhotoRef:
    return PhotoRef(photo.sha256, photo.size, KINDS[ordinal % len(KINDS)], photo.width, photo.height)


def save_one(store: Store, photos: PhotoStore, rng: random.Random, sources: list[bytes]) -> Case:
    """The app's path: reserve the number, process and store each photo durably, then save the case."""
    case_no = store.reserve_case_no(OFFICER.squad_code, OFFICER.badge, datetime.now(LOCAL_TZ).date())
    refs = []
    for ordinal, source in enumerate(_sources_for(rng, sources)):
        photo = _process(source, case_no)
        photos.put(photo.evidence)
        photos.put_thumbnail(photo.sha256, photo.thumbnail)
        refs.append(_ref(photo, ordinal))
    case = build_case(store, rng, case_no, tuple(refs))
    store.save_case(case)
    return case


def _record(case: Case) -> str:
    return json.dumps(to_json_dict(case), ensure_ascii=False, separators=(",", ":"))


def save_one_naively(
    store: Store, raw: sqlite3.Connection, photos: PhotoStore, rng: random.Random, sources: list[bytes]
) -> Case:
    """Baseline: the same rows and files saved as the form goes, without the guarantees. The case row
    first; then each photo as it is processed (its rows, then its file written in place: no temp file, no
    rename); then the final record, the seized items and the outbox entry. Every statement commits on its
    own (autocommit)."""
    case_no = store.reserve_case_no(OFFICER.squad_code, OFFICER.badge, datetime.now(LOCAL_TZ).date())
    case = build_case(store, rng, case_no, ())
    now = datetime.now(UTC).isoformat()
    raw.execute(CASE_INSERT, case_row(case, _record(case), now))
    refs: list[PhotoRef] = []
    for ordinal, source in enumerate(_sources_for(rng, sources)):
        photo = _process(source, case_no)
        refs.append(_ref(photo, ordinal))
        rows, queue, _ = case_child_rows(replace(case, photos=tuple(refs)))
        raw.execute(CASE_PHOTO_INSERT, rows[-1])
        raw.execute(PHOTO_QUEUE_INSERT, queue[-1])
        with open(photos.path(photo.sha256), "wb") as f:
            f.write(photo.evidence)
    case = replace(case, photos=tuple(refs))
    record = _record(case)
    raw.execute("UPDATE cases SET record = ? WHERE id = ?", (record, case.id))
    for item in case_child_rows(case)[2]:
        raw.execute(SEIZED_ITEM_INSERT, item)
    raw.execute(OUTBOX_INSERT, ("case", case.id, record, len(record.encode("utf-8")), now))
    return case


def saver(phone: Path, seed: int, naive: bool, sources: list[bytes], catalogue: Catalogue) -> None:
    """Open the phone's store (as the app starts) and save cases until killed, reporting each one."""
    rng = random.Random(seed)
    store = Store.open(phone / "phone.db", catalogue=catalogue)
    photos = PhotoStore(phone / "photos")
    raw = sqlite3.connect(phone / "phone.db", isolation_level=None) if naive else None
    if raw is not None:
        raw.execute("PRAGMA synchronous = FULL")
    _out("ready")
    for _ in range(MAX_CASES_PER_ROUND):
        if raw is None:
            case = save_one(store, photos, rng, sources)
        else:
            case = save_one_naively(store, raw, photos, rng, sources)
        _out(f"saved {case.id}")
    store.close()


def zygote(sources_dir: Path) -> None:
    """Read commands on stdin: ``go <phone> <seed> <naive>`` forks a saver (answers ``forked <pid>``),
    ``wait <pid>`` reaps it (answers ``exited <pid> <status>``), ``quit`` ends. Single-threaded, so
    forking is safe; savers write their lines to the same stdout with single writes."""
    sources = [p.read_bytes() for p in sorted(sources_dir.glob("*.jpg"))]
    catalogue = load_catalogue()
    # warm up (font, codecs) here so every saver inherits it; the helper threads are gone before any fork
    process_photo(sources[0], Watermark(datetime.now(LOCAL_TZ), None, None, OFFICER.badge, "warm-up", ""))
    _out("zygote ready")
    while line := sys.stdin.readline():
        command, *args = line.split()
        if command == "go":
            phone, seed, naive = Path(args[0]), int(args[1]), args[2] == "1"
            pid = os.fork()
            if pid == 0:  # the saver
                code = 0
                try:
                    saver(phone, seed, naive, sources, catalogue)
                except BaseException as exc:
                    _out(f"error {type(exc).__name__}: {exc}")
                    code = 2
                os._exit(code)
            _out(f"forked {pid}")
        elif command == "wait":
            pid = int(args[0])
            _, status = os.waitpid(pid, 0)
            _out(f"exited {pid} {status}")
        elif command == "quit":
            return


class Zygote:
    """The parent's handle on a zygote subprocess."""

    def __init__(self, sources_dir: Path) -> None:
        # run as a script, the zygote finds ``testkit`` (not installed) through the repository on its path
        path = os.pathsep.join(p for p in (str(HERE.parents[1]), os.environ.get("PYTHONPATH", "")) if p)
        self.proc = subprocess.Popen(
            [sys.executable, str(HERE), "--zygote", str(sources_dir)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env={**os.environ, "PYTHONPATH": path},
        )
        self._early: list[str] = []
        ready = self._read()
        if ready != "zygote ready":
            raise RuntimeError(f"the zygote did not start: {ready!r}")

    def _send(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write((line + "\n").encode())
        self.proc.stdin.flush()

    def _read(self) -> str:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("the zygote died")
        return line.decode("utf-8").rstrip("\n")

    def fork(self, phone: Path, seed: int, naive: bool) -> int:
        """Start a saver on ``phone``; its pid. (The saver may write lines before the zygote answers.)"""
        self._send(f"go {phone} {seed} {int(naive)}")
        while not (answer := self._read()).startswith("forked "):
            self._early.append(answer)
        return int(answer.split()[1])

    def reap(self, pid: int) -> tuple[list[str], int]:
        """The lines the saver wrote, and its wait status (read until the zygote reaped it)."""
        self._send(f"wait {pid}")
        lines, self._early = self._early, []
        while True:
            line = self._read()
            if line.startswith(f"exited {pid} "):
                return lines, int(line.split()[2])
            lines.append(line)

    def close(self) -> None:
        if self.proc.poll() is None:
            self._send("quit")
            self.proc.wait(timeout=10)
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None:
                stream.close()


# ---------------------------------------------------------------------------------------- the runs


@dataclass
class Tally:
    """Totals over the rounds of one saver kind."""

    rounds: int = 0
    killed: int = 0  # the kill came while the saver ran (it did not exit by itself)
    killed_mid_save: int = 0  # … after its store was open
    reported: int = 0  # cases the saver said were saved
    unreported: int = 0  # cases committed whose report the kill cut off
    corrupt: int = 0  # phones whose store Store.open refused after a kill
    half_saved: int = 0  # distinct cases, over all phones
    dangling: int = 0  # distinct photo hashes
    lost: int = 0  # distinct reported cases
    counter_behind: int = 0
    orphans: int = 0
    temps: int = 0
    swept: int = 0
    left: int = 0
    saver_errors: list[str] = field(default_factory=list)
    inconsistent_rounds: int = 0  # rounds that found something new wrong
    examples: list[str] = field(default_factory=list)

    def add(self, other: Tally) -> None:
        for name, value in vars(other).items():
            if isinstance(value, list):
                getattr(self, name).extend(value)
            else:
                setattr(self, name, getattr(self, name) + value)


def run_lane(
    lane: int,
    work: Path,
    sources_dir: Path,
    *,
    kills: int,
    deadline: float,
    naive: bool,
    rounds_per_phone: int,
    max_delay: float,
    seed: int,
    catalogue: Catalogue,
) -> Tally:
    """``kills`` rounds (or until ``deadline``, a ``time.monotonic`` value) of fork → random delay → SIGKILL →
    reap → check, on phones under ``work``."""
    rng = random.Random(seed)
    tally = Tally()
    zygote = Zygote(sources_dir)
    try:
        phone = work
        reported, seen, bad_cases, bad_photos = set[str](), set[str](), set[str](), set[str]()
        refused = False
        for n in range(kills):
            if time.monotonic() > deadline:
                break
            if n % rounds_per_phone == 0:
                phone = work / f"lane{lane}-phone{n // rounds_per_phone:03d}"
                reported, seen, bad_cases, bad_photos = set(), set(), set(), set()
                refused = False
                phone.mkdir()
            pid = zygote.fork(phone, rng.randrange(2**31), naive)
            time.sleep(rng.uniform(0, max_delay))
            os.kill(pid, signal.SIGKILL)
            lines, status = zygote.reap(pid)
            tally.rounds += 1
            killed = os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
            tally.killed += killed
            tally.killed_mid_save += killed and "ready" in lines
            saved = {line.split()[1] for line in lines if line.startswith("saved ")}
            tally.saver_errors += [line for line in lines if line.startswith("error ")]
            reported |= saved
            tally.reported += len(saved)
            check = check_phone(phone, reported, catalogue)
            new = check.case_ids - seen
            seen |= check.case_ids
            tally.unreported += len(new - saved)
            if not check.opened and not refused:  # once refused, every later open on it is refused too
                tally.corrupt += 1
            refused = refused or not check.opened
            # a damaged case or photo stays damaged: count each once per phone
            half_saved = {problem.split(":")[0] for problem in check.half_saved} - bad_cases
            dangling = set(check.dangling) - bad_photos
            lost = set(check.lost) - bad_cases
            bad_cases |= half_saved | lost
            bad_photos |= dangling
            tally.half_saved += len(half_saved)
            tally.dangling += len(dangling)
            tally.lost += len(lost)
            tally.counter_behind += check.counter_behind
            tally.orphans += check.orphans
            tally.temps += check.temps
            tally.swept += check.swept
            tally.left += check.left
            if half_saved or dangling or lost or not check.opened or check.left or check.counter_behind:
                tally.inconsistent_rounds += 1
                if len(tally.examples) < 5:
                    detail = check.error or "; ".join((check.half_saved + check.dangling + check.lost)[:3])
                    tally.examples.append(f"{phone.name} round {n}: {detail or 'files left after sweep'}")
    finally:
        zygote.close()
    return tally


def run(
    kills: int,
    *,
    naive: bool = False,
    lanes: int = 2,
    seconds: float = 100.0,
    rounds_per_phone: int = 25,
    max_delay: float = 0.5,
    seed: int = 7,
    work: Path | None = None,
    source_size: tuple[int, int] = (1024, 768),
) -> Tally:
    """``kills`` kill rounds spread over ``lanes`` zygotes running side by side, within ``seconds``
    (camera shots of ``source_size`` pixels)."""
    catalogue = load_catalogue()
    with tempfile.TemporaryDirectory(prefix="sp-crash-", dir=work) as tmp:
        root = Path(tmp)
        make_sources(root / "sources", size=source_size)
        deadline = time.monotonic() + seconds
        shares = [kills // lanes + (i < kills % lanes) for i in range(lanes)]
        tallies = [Tally() for _ in range(lanes)]
        failures: list[BaseException] = []

        def lane(i: int) -> None:
            try:
                tallies[i] = run_lane(
                    i, root, root / "sources", kills=shares[i], deadline=deadline, naive=naive,
                    rounds_per_phone=rounds_per_phone, max_delay=max_delay, seed=seed * 1000 + i,
                    catalogue=catalogue,
                )  # fmt: skip
            except BaseException as exc:
                failures.append(exc)

        threads = [threading.Thread(target=lane, args=(i,), name=f"crash-lane-{i}") for i in range(lanes)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if failures:
            raise failures[0]
    total = Tally()
    for tally in tallies:
        total.add(tally)
    return total


# -------------------------------------------------------------------------------------------- report

COLUMNS = (
    ("kills", "killed"),
    ("mid-save", "killed_mid_save"),
    ("cases reported saved", "reported"),
    ("committed, report cut off", "unreported"),
    ("corrupt DBs", "corrupt"),
    ("half-saved cases", "half_saved"),
    ("rows → missing/damaged photo", "dangling"),
    ("reported cases lost", "lost"),
    ("orphan files swept", "orphans"),
    ("temp files swept", "temps"),
    ("left after sweep", "left"),
)


def table(rows: list[tuple[str, Tally, float]]) -> str:
    head = "| saver | " + " | ".join(name for name, _ in COLUMNS) + " | seconds |"
    lines = [head, "|---|" + "---:|" * (len(COLUMNS) + 1)]
    for label, tally, seconds in rows:
        cells = " | ".join(str(getattr(tally, attr)) for _, attr in COLUMNS)
        lines.append(f"| {label} | {cells} | {seconds:.0f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=500)
    parser.add_argument("--first-open-kills", type=int, default=200)
    parser.add_argument("--baseline-kills", type=int, default=100)
    parser.add_argument("--lanes", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=120.0, help="bound on the whole run")
    parser.add_argument("--max-delay", type=float, default=0.5)
    parser.add_argument("--zygote", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.zygote is not None:
        zygote(args.zygote)
        return
    deadline = time.monotonic() + args.seconds
    plans = [  # label, kills, naive, fresh phone every … rounds, max delay, share of the remaining time
        ("app path: PhotoStore.put + Store.save_case", args.kills, False, 25, args.max_delay, 0.7),
        ("app path, first open (killed in 0–30 ms)", args.first_open_kills, False, 1, 0.03, 0.35),
        ("baseline: saved as the form goes, autocommit, files in place", args.baseline_kills, True, 25,
         args.max_delay, 1.0),
    ]  # fmt: skip
    rows = []
    for label, kills, naive, per_phone, max_delay, share in plans:
        started = time.monotonic()
        seconds = max(5.0, (deadline - started) * share)
        tally = run(kills, naive=naive, lanes=args.lanes, seconds=seconds, rounds_per_phone=per_phone,
                    max_delay=max_delay)  # fmt: skip
        rows.append((label, tally, time.monotonic() - started))
    app, first, base = (tally for _, tally, _ in rows)
    errors = app.saver_errors + first.saver_errors + base.saver_errors
    text = "\n\n".join(
        [
            "# Crash consistency: SIGKILL while saving cases with photos "
            f"({app.killed} + {first.killed} + {base.killed} kills)",
            table(rows),
            "Each round forks a saver that opens the phone store and saves 露天烧烤 cases with 1–3 photos "
            "(processed by `mobile.photos.process_photo`, 1024×768 sources, 40% with seized items), "
            f"SIGKILLs it after a random 0–{args.max_delay:.1f} s, then reopens the store (`Store.open`: "
            "integrity check), checks every case row against its photo rows, seized items, upload queue and "
            "outbox entry, every photo row against its file's hash, every reported case id, and runs the "
            "start-up sweep. *mid-save*: kills that came after the store was open. A fresh phone every 25 "
            "rounds (second row: every round, killed within 30 ms, while `Store.open` creates the file); "
            f"{args.lanes} lanes side by side. A corrupt DB is counted once per phone: once refused, every "
            "later round on that phone is refused too. Inconsistent rounds: "
            + ", ".join(f"{label.split(':')[0]} {tally.inconsistent_rounds}" for label, tally, _ in rows)
            + f". Saver errors: {len(errors)}.",
        ]
    )
    examples = [e for _, tally, _ in rows for e in tally.examples[:2]]
    if examples:
        text += "\n\nExamples: " + "; ".join(examples)
    print(text)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(text + "\n", encoding="utf-8")
    if errors:
        print("saver errors:", *errors[:5], sep="\n  ", file=sys.stderr)


if __name__ == "__main__":
    main()
