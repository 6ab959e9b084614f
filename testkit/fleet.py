"""What bench/chaos.py, bench/load.py and tests/reliability share: HQ as a real ``streetpatrol-hq serve``
subprocess (killable, restartable, its RSS and CPU readable from /proc), officers seeded straight into its
storage, generated JPEG evidence, simulated phones (the real phone ``Store`` + ``PhotoStore`` +
``SyncClient``) recording a shift, and the final count of what HQ and the phones hold.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import math
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

import httpx
from PIL import Image

from enforcement.model import (
    LOCAL_TZ,
    Case,
    Disposition,
    Location,
    Officer,
    PhotoKind,
    PhotoRef,
    Role,
    Stage,
    SyncState,
    local_date,
    new_id,
)
from hq.auth import PinHasher
from hq.settings import FAST_PIN_HASHING, PinHashing
from hq.storage import open_storage
from hq.storage.base import District, Squad, UserRow
from mobile.hqclient import RetryPolicy, SignInRequired, SyncClient, SyncError, SyncReport
from mobile.photostore import PhotoStore
from mobile.store import Store
from testkit.hqkit import catalogue
from testkit.ports import free_port, owned_by

DISTRICT = District("金水区", "金水区")
SQUADS = (Squad("ZD01", "人民路中队", DISTRICT.code), Squad("ZD02", "花园路中队", DISTRICT.code))

#: Environment for ``streetpatrol-hq serve`` with cheap argon2 (the PINs seeded with FAST_PIN_HASHING
#: then verify cheaply and are not rehashed on sign-in).
CHEAP_PIN_ENV = {
    "STREETPATROL_PIN_TIME_COST": str(FAST_PIN_HASHING.time_cost),
    "STREETPATROL_PIN_MEMORY_KIB": str(FAST_PIN_HASHING.memory_cost),
    "STREETPATROL_PIN_PARALLELISM": str(FAST_PIN_HASHING.parallelism),
}

REPO = Path(__file__).resolve().parents[1]


# ------------------------------------------------------------------------------------------ officers


def fleet_officers(count: int, *, first: int = 7001) -> list[Officer]:
    """``count`` officers of 金水区 (badges 7001…), alternating between the two squads."""
    officers = []
    for i in range(count):
        squad = SQUADS[i % len(SQUADS)]
        badge = str(first + i)
        officers.append(Officer(badge, f"队员{badge}", squad.code, squad.name, squad.district, Role.OFFICER))
    return officers


def pin_for(badge: str) -> str:
    return f"8{badge}"


def seed_hq(storage_url: str, officers: Iterable[Officer], hashing: PinHashing = FAST_PIN_HASHING) -> None:
    """Create HQ's schema with the district, its squads and ``officers`` (PIN ``pin_for(badge)``)."""
    pins = PinHasher(hashing)
    storage = open_storage(storage_url, create=True)
    try:
        with storage.transaction() as tx:
            tx.put_district(DISTRICT)
            for squad in SQUADS:
                tx.put_squad(squad)
            for officer in officers:
                tx.put_user(UserRow(officer=officer, pin_hash=pins.hash(pin_for(officer.badge))))
    finally:
        storage.close()


# ------------------------------------------------------------------------------------------ photos


def noise_jpeg(seed: int | str, target_bytes: int) -> tuple[bytes, int, int]:
    """A JPEG of random noise of about ``target_bytes`` (noise barely compresses, like a busy street
    photo at high quality); returns (bytes, width, height)."""
    rng = random.Random(seed)
    pixels = max(64, target_bytes / 0.9)  # ~0.9 byte per pixel at quality 90
    width = max(8, int(math.sqrt(pixels * 4 / 3)))
    height = max(6, width * 3 // 4)
    image = Image.frombytes("RGB", (width, height), rng.randbytes(width * height * 3))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90)
    return out.getvalue(), width, height


def tagged_jpeg(base: bytes, tag: str) -> bytes:
    """A variant of the JPEG ``base`` with its own SHA-256: the last 8 steps of its first quantisation
    table (the finest frequencies) are derived from ``tag``. Still a plain baseline JPEG of the same size
    that decodes (a camera at a slightly different quality); no comment or metadata segment is added,
    since HQ refuses evidence carrying those."""
    i = 2
    while i + 4 <= len(base) and base[i] == 0xFF and base[i + 1] != 0xDA:
        length = int.from_bytes(base[i + 2 : i + 4], "big")
        if base[i + 1] == 0xDB and base[i + 4] >> 4 == 0:  # DQT with 8-bit steps: Pq/Tq, then 64 steps
            steps = bytes(1 + b % 255 for b in hashlib.sha256(tag.encode("utf-8")).digest()[:8])
            end = i + 5 + 64
            return base[: end - 8] + steps + base[end:]
        i += 2 + length
    raise ValueError("no 8-bit quantisation table before the scan")


# ------------------------------------------------------------------------------------------ HQ process


#: ``streetpatrol-hq`` of whichever tree is first on ``PYTHONPATH``: this one's ``hq.cli.main``, or an older
#: build's ``hq.cli`` module (bench/load.py serves a baseline build beside this one; the installed console
#: script names this build's module, which an older tree does not have).
_HQ_MAIN = """
import sys
try:
    from hq.cli.main import main
except ImportError:
    from hq.cli import main
sys.argv[0] = "streetpatrol-hq"
sys.exit(main())
"""


def _hq_command() -> list[str]:
    # -P: no working directory at the head of sys.path, so PYTHONPATH alone says which tree is served
    return [sys.executable, "-P", "-c", _HQ_MAIN]


class HqProcess:
    """``streetpatrol-hq serve`` on 127.0.0.1 in a subprocess; ``restart`` keeps the port."""

    def __init__(
        self,
        storage_url: str,
        blobs: Path,
        log: Path,
        *,
        port: int | None = None,
        env: Mapping[str, str] | None = None,
        serve_args: Sequence[str] = (),
    ) -> None:
        self.storage_url = storage_url
        self.serve_args = list(serve_args)  # e.g. ["--workers", "2"]
        self.blobs = blobs
        self.log = log
        self.port = port or free_port()
        # The repository first on the path: the server runs this checkout's code, packages included that
        # the editable install does not list.
        path = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p)
        self.env = {**os.environ, "PYTHONPATH": path, **(env or {})}
        self.proc: subprocess.Popen[bytes] | None = None
        self.restarts = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.proc is not None, "HQ is not running"
        return self.proc.pid

    def command(self) -> list[str]:
        where = (
            ["--pg", self.storage_url]
            if self.storage_url.startswith("postgres")
            else ["--db", self.storage_url]
        )
        serve = [*_hq_command(), "serve", *where, "--blobs", str(self.blobs), "--port", str(self.port)]
        return serve + self.serve_args

    def start(self, timeout: float = 30.0) -> HqProcess:
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(self.command(), stdout=log, stderr=subprocess.STDOUT, env=self.env)
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                tail = self.log.read_text(encoding="utf-8", errors="replace")[-2000:]
                raise RuntimeError(f"HQ exited with {self.proc.returncode}:\n{tail}")
            try:
                if httpx.get(self.url + "/v1/health", timeout=1.0).status_code == 200:
                    if owned_by(self.proc.pid, self.port) is False:
                        raise RuntimeError(f"another process answers on port {self.port}")
                    return self
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                self.stop(signal.SIGKILL)
                raise RuntimeError(f"HQ did not answer within {timeout} s")
            time.sleep(0.05)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15.0) -> None:
        """Send ``sig`` (SIGTERM: graceful; SIGKILL: a crash) and wait; SIGKILL if it lingers."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.proc = None

    def restart(self, sig: int = signal.SIGTERM) -> None:
        self.stop(sig)
        self.start()
        self.restarts += 1

    def _proc_file(self, name: str) -> str:
        return Path(f"/proc/{self.pid}/{name}").read_text(encoding="utf-8")

    def memory_kib(self, key: str = "VmHWM") -> int:
        """A line of /proc/<pid>/status in KiB (VmHWM: peak resident set; VmRSS: now), summed over HQ's
        processes (``serve --workers N``: the supervisor and its workers)."""
        total = 0
        for pid in self.pids():
            with contextlib.suppress(OSError):
                for line in Path(f"/proc/{pid}/status").read_text(encoding="utf-8").splitlines():
                    if line.startswith(key + ":"):
                        total += int(line.split()[1])
        return total

    def cpu_seconds(self) -> float:
        """CPU seconds of HQ's processes (exited workers not counted)."""
        total = 0.0
        for pid in self.pids():
            with contextlib.suppress(OSError):
                total += proc_cpu_seconds(pid)
        return total

    def pids(self) -> list[int]:
        """HQ's process and every process it started (uvicorn workers), from /proc."""
        parents: dict[int, int] = {}
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                with contextlib.suppress(OSError, ValueError, IndexError):
                    stat = (entry / "stat").read_text(encoding="utf-8")
                    parents[int(entry.name)] = int(stat[stat.rindex(")") + 2 :].split()[1])
        found = [self.pid]
        for pid in found:  # grows while walking: children of children
            found += [child for child, parent in parents.items() if parent == pid]
        return found


def proc_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process (from /proc/<pid>/stat)."""
    text = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8")
    fields = text[text.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def processes_named(name: str) -> list[int]:
    """Pids whose command name (/proc/<pid>/comm) is ``name``."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text(encoding="utf-8").strip() == name:
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


# ------------------------------------------------------------------------------------------ phones


@dataclass
class Counters:
    """Thread-safe tallies of a fleet's work."""

    values: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, key: str, amount: int = 1) -> None:
        with self.lock:
            self.values[key] += amount

    def __getitem__(self, key: str) -> int:
        with self.lock:
            return self.values[key]


class ScaledSleep:
    """The SyncClient's injected sleep: waits ``scale`` × the asked delay (at most ``cap`` s) and counts
    each call (one call = one retry of a request)."""

    def __init__(self, counters: Counters, scale: float = 0.01, cap: float = 0.2) -> None:
        self.counters = counters
        self.scale = scale
        self.cap = cap

    def __call__(self, seconds: float) -> None:
        self.counters.add("retries")
        time.sleep(min(seconds * self.scale, self.cap))


def night_market_case(
    officer: Officer,
    device_id: str,
    case_no: str,
    occurred: datetime,
    photos: tuple[PhotoRef, ...],
    **fields: Any,
) -> Case:
    """The benches' standard record: a first 露天烧烤 at the night market, subject fled, persuaded (劝导).
    ``fields`` overrides or adds any other Case field (e.g. seized items)."""
    values: dict[str, Any] = {
        "id": new_id(),
        "case_no": case_no,
        "officer_badge": officer.badge,
        "squad_code": officer.squad_code,
        "device_id": device_id,
        "violation_code": "0510",
        "occurred_at": occurred,
        "location": Location(lat=34.7466, lon=113.6253, accuracy_m=8.0, address="人民路夜市"),
        "subject_id": None,
        "subject_unknown": True,
        "computed_stage": Stage.PERSUASION,
        "chosen_stage": Stage.PERSUASION,
        "disposition": Disposition.PERSUADED,
        "photos": photos,
        "created_at": occurred,
    }
    values.update(fields)
    return Case(**values)


class Device:
    """One simulated phone: the real Store and PhotoStore under ``root``, signed in as ``officer``, with a
    SyncClient over an ``httpx.Client`` to ``base_url`` (HQ or a proxy in front of it)."""

    def __init__(
        self,
        root: Path,
        officer: Officer,
        base_url: str,
        *,
        photo_bytes: int = 6000,
        http_timeout: float = 10.0,
        sleep: Callable[[float], None] = time.sleep,
        retry: RetryPolicy | None = None,
        seed: int | str = 0,
    ) -> None:
        root.mkdir(parents=True, exist_ok=True)
        self.root = root
        self.officer = officer
        self.store = Store.open(root / "phone.db", catalogue=catalogue())
        self.photos = PhotoStore(root / "photos")
        self.rng = random.Random(seed)
        self.http = httpx.Client(base_url=base_url, timeout=http_timeout)
        self.client = SyncClient(
            self.http, self.store, self.photos, sleep=sleep, rng=self.rng.random, retry=retry
        )
        self.base_jpeg, self.photo_width, self.photo_height = noise_jpeg(f"{seed}:base", photo_bytes)
        self.recorded: list[Case] = []
        self.start = datetime.now(LOCAL_TZ).replace(microsecond=0) - timedelta(hours=6)

    def sign_in(self) -> None:
        self.client.sign_in(self.officer.badge, pin_for(self.officer.badge))

    def record_case(self, photos: int) -> Case:
        """Save a valid case with ``photos`` generated JPEGs, as the officer would on the phone."""
        number = len(self.recorded)
        refs = []
        for i in range(photos):
            data = tagged_jpeg(self.base_jpeg, f"{self.store.device_id}/{number}/{i}")
            sha = self.photos.put(data)
            refs.append(PhotoRef(sha, len(data), PhotoKind.DURING, self.photo_width, self.photo_height))
        occurred = self.start + timedelta(minutes=number)
        officer = self.officer
        case_no = self.store.reserve_case_no(officer.squad_code, officer.badge, local_date(occurred))
        case = night_market_case(officer, self.store.device_id, case_no, occurred, tuple(refs))
        self.store.save_case(case)
        self.recorded.append(case)
        return case

    def sync(self) -> SyncReport:
        """One ``sync_once``; when HQ wants a fresh sign-in, sign in (the officer would) and report."""
        report = self.client.sync_once()
        if isinstance(report.error, SignInRequired):
            try:
                self.sign_in()
            except SyncError as exc:
                report.error = exc
        return report

    def waiting(self) -> tuple[int, int, int]:
        """(records in the outbox, parked records, photos waiting to upload)."""
        return self.store.outbox_stats()[0], len(self.store.outbox_parked()), self.store.photo_stats()[0]

    def done(self) -> bool:
        return self.waiting() == (0, 0, 0)

    def not_complete(self) -> int:
        """Recorded cases whose phone-side state is not COMPLETE."""
        days: set[date] = {c.local_day for c in self.recorded}
        states = {
            logged.case.id: logged.sync_state
            for day in days
            for logged in self.store.patrol_log(self.officer.badge, day)
        }
        return sum(1 for c in self.recorded if states.get(c.id) is not SyncState.COMPLETE)

    def close(self) -> None:
        self.http.close()
        self.store.close()


# ------------------------------------------------------------------------------------------ final count


@dataclass
class Tally:
    """Phones' records compared with what HQ holds (its storage and its blob files)."""

    cases: int = 0  # recorded on the phones
    photos: int = 0
    cases_at_hq: int = 0  # of those, stored at HQ
    photos_at_hq: int = 0  # of those, stored at HQ with an intact blob file
    duplicate_cases: int = 0  # extra case rows, case numbers or ledger receipts for one recorded case
    duplicate_photos: int = 0  # extra blob files for one hash, or blob files nobody recorded
    missing_cases: int = 0
    missing_photos: int = 0
    outbox_left: int = 0  # on the phones, after the final sync
    parked: int = 0
    photos_left: int = 0
    not_complete: int = 0  # cases the phones do not show as complete
    temp_files: int = 0  # spooled uploads left in HQ's blob temp dir (killed mid-upload)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (
            self.duplicate_cases
            or self.duplicate_photos
            or self.missing_cases
            or self.missing_photos
            or self.outbox_left
            or self.parked
            or self.photos_left
            or self.not_complete
        )


def blob_files(root: Path) -> list[Path]:
    """HQ's blob files (the sharded tree, not its temp dir nor its kept cut-off uploads)."""
    return [p for p in root.rglob("*") if p.is_file() and p.parent not in (root / "tmp", root / "partial")]


class BlobListing(Protocol):
    """HQ's stored photos as a tally counts them, wherever they are (``testkit.s3kit.BucketBlobs``: a
    bucket; a ``Path``: a local blob directory)."""

    def names(self) -> list[str]:
        """The name of every stored photo object (one entry per object: a duplicate shows twice)."""
        ...

    def read(self, sha256: str) -> bytes | None:
        """The stored bytes of a photo, None when absent."""
        ...

    def leftovers(self) -> int:
        """Spooled or cut-off uploads still kept."""
        ...


class _Directory:
    def __init__(self, root: Path) -> None:
        self.root = root

    def names(self) -> list[str]:
        return [p.name for p in blob_files(self.root)]

    def read(self, sha256: str) -> bytes | None:
        path = self.root / sha256[:2] / sha256[2:4] / sha256
        return path.read_bytes() if path.is_file() else None

    def leftovers(self) -> int:
        temp = self.root / "tmp"
        return sum(1 for _ in temp.iterdir()) if temp.is_dir() else 0


def tally(storage_url: str, blobs: Path | BlobListing, devices: Sequence[Device]) -> Tally:
    """Count by case id and by SHA-256: every recorded case and photo at HQ exactly once, phones empty.
    ``blobs``: HQ's local blob directory, or the listing of a shared store (a bucket)."""
    listing = _Directory(blobs) if isinstance(blobs, Path) else blobs
    result = Tally()
    cases = [c for d in devices for c in d.recorded]
    photos = {p.sha256 for c in cases for p in c.photos}
    result.cases, result.photos = len(cases), len(photos)
    storage = open_storage(storage_url, create=False)
    try:
        with storage.transaction(readonly=True) as tx:
            states = tx.list_cases(latest_only=False, limit=10**7)
            by_id = Counter(s.case_id for s in states)
            by_no = Counter(s.case_no for s in states)
            receipts = {c.id: len(tx.receipts_for(c.id)) for c in cases}
            rows = {sha: tx.get_photo(sha) for sha in photos}
    finally:
        storage.close()
    for case in cases:
        if by_id[case.id]:
            result.cases_at_hq += 1
        else:
            result.missing_cases += 1
        result.duplicate_cases += max(0, by_id[case.id] - 1) + max(0, by_no[case.case_no] - 1)
        result.duplicate_cases += max(0, receipts[case.id] - 1)
    names = Counter(listing.names())
    result.duplicate_photos = sum(n - 1 for n in names.values()) + sum(
        1 for name in names if name not in photos
    )
    for sha in photos:
        row = rows[sha]
        data = listing.read(sha)
        intact = data is not None and hashlib.sha256(data).hexdigest() == sha
        if row is not None and row.stored and intact:
            result.photos_at_hq += 1
        else:
            result.missing_photos += 1
            result.notes.append(
                f"photo {sha[:12]}: row={row is not None} stored={row and row.stored} file={intact}"
            )
    result.temp_files = listing.leftovers()
    for device in devices:
        outbox, parked, waiting = device.waiting()
        result.outbox_left += outbox
        result.parked += parked
        result.photos_left += waiting
        result.not_complete += device.not_complete()
        if parked:
            result.notes += [
                f"{device.officer.badge} parked {e.record_id[:8]}: {e.parked_code} {e.parked_reason_en}"
                for e in device.store.outbox_parked()
            ]
    return result
