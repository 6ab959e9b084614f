"""Benchmark: the phone store at a busy officer's scale, beside plain sqlite3 doing the same work.

A store file (WAL, synchronous=FULL, exactly as the app opens it) is filled with 50,000 cases (100
officers x 10 days x 50 cases, 3 photo rows each, some seized items, reviews, remote history) and 20,000
subjects (vendors, shops, vehicles) through executemany in one transaction. Then, interleaving the store
and the floor so both see the same disk and cache state:

* save_case of a case with 3 photo rows, 2 seized items and its outbox entry (>= 200 saves); the floor is
  plain sqlite3 writing the same rows (executemany, one BEGIN IMMEDIATE ... COMMIT, prebuilt tuples);
* ``Store.open`` of the file after a clean close (cheap check) beside the full-check open every start
  used to run (``full_check=True``), interleaved on the same file (page cache warm for both);
* the subjects within 150 m of a fix with their next stage (Today's list: ``nearby_subjects`` +
  ``compute_stage``); its floor scans every case in Python for the same subjects;
* a day's patrol log (50 cases), subject search (plate, phone, fuzzy name) and the earlier-cases lookup;
  the floor runs the same SQL statements with plain sqlite3 and fetches the rows, without building
  records, validating, ranking or locking.

Prints a Markdown table and writes it to bench/results/store.md. Targets: save p50 <= 5 ms, each query
p50 <= 10 ms. Run: ``.venv/bin/python bench/store.py`` (about a minute).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from enforcement.catalogue import load_catalogue
from enforcement.codec import to_json_dict
from enforcement.identifiers import format_plate
from enforcement.model import (
    LOCAL_TZ,
    Case,
    Disposition,
    Location,
    PhotoKind,
    PhotoRef,
    ReviewDecision,
    SeizedItem,
    Stage,
    Subject,
    SubjectKind,
    new_id,
)
from enforcement.staging import compute_stage
from enforcement.validation import validate_subject
from mobile.store import (
    CASE_INSERT,
    CASE_PHOTO_INSERT,
    OUTBOX_INSERT,
    OWN_HISTORY_SQL,
    PATROL_LOG_SQL,
    PHONE_SQL,
    PHOTO_QUEUE_INSERT,
    PLATE_SQL,
    REMOTE_HISTORY_SQL,
    SEIZED_ITEM_INSERT,
    SUBJECT_CHAR_INSERT,
    SUBJECT_UPSERT,
    Store,
    case_child_rows,
    case_row,
    distance_m,
    extra_candidates,
    name_candidates,
    search_key,
    subject_char_rows,
    subject_row,
)

RESULTS = Path(__file__).resolve().parent / "results" / "store.md"
LAST_DAY = date(2026, 11, 22)
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红建国志文辉力㐂𠮷燕鹏飞"
SHOP_WORDS = ("烧烤", "大排档", "小吃", "水果", "烟酒", "五金", "面馆", "火锅", "便利店", "超市")
STREETS = ("人民路", "解放路", "金水路", "农业路", "花园路", "经三路", "纬五路", "文化路", "黄河路")
PROVINCES = "豫京沪粤苏浙鲁冀"
PLATE_CHARS = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"
KIND_CODES = {
    SubjectKind.MOBILE_VENDOR: ("0510", "0501", "0503"),
    SubjectKind.SHOP: ("0504", "0510", "0503"),
    SubjectKind.VEHICLE: ("0505", "0306", "0307"),
}


@dataclass
class World:
    path: Path
    subjects: list[Subject]
    badges: list[str]
    busy_subjects: list[str]  # subjects with the most cases


def sha() -> str:
    return f"{random.getrandbits(256):064x}"


def make_subjects(count: int) -> list[Subject]:
    subjects = []
    plates: set[str] = set()
    for i in range(count):
        roll = random.random()
        if roll < 0.6:
            name = random.choice(SURNAMES) + "".join(random.choices(GIVEN, k=random.choice((1, 2))))
            subject = Subject(
                new_id(), SubjectKind.MOBILE_VENDOR, name=name, phone=f"13{i:09d}", description="流动摊贩"
            )
        elif roll < 0.85:
            given = random.choice(SURNAMES) + random.choice(GIVEN)
            name = given + random.choice("记家氏") + random.choice(SHOP_WORDS)
            address = f"{random.choice(STREETS)}{random.randint(1, 400)}号"
            subject = Subject(new_id(), SubjectKind.SHOP, name=name, address=address, phone=f"0371-6{i:07d}")
        else:
            plate = ""
            while not plate or plate in plates:
                prefix = random.choice(PROVINCES) + random.choice("ABCDEFGH")
                if i % 4 == 0:  # new energy: D + letter or digit + 4 digits
                    plate = prefix + "D" + random.choice(PLATE_CHARS) + f"{random.randint(0, 9999):04d}"
                else:
                    plate = prefix + "".join(random.choices(PLATE_CHARS, k=5))
            plates.add(plate)
            subject = Subject(new_id(), SubjectKind.VEHICLE, plate=plate, name="渣土车" if i % 2 else "")
        subjects.append(validate_subject(subject))
    return subjects


def make_case(
    device: str,
    badge: str,
    seq: int,
    when: datetime,
    subject: Subject | None,
    photos: int = 3,
    seized: int = 0,
) -> Case:
    kind = subject.kind if subject else SubjectKind.MOBILE_VENDOR
    code = random.choice(KIND_CODES.get(kind, ("0510",)))
    items = (SeizedItem("烧烤炉", 1), SeizedItem("炭槽", 2))[:seized]
    return Case(
        id=new_id(),
        case_no=f"ZD{int(badge) % 10:02d}-{badge}-{when:%y%m%d}-BENCH-{seq:05d}",
        officer_badge=badge,
        squad_code=f"ZD{int(badge) % 10:02d}",
        device_id=device,
        violation_code=code if not items else "0510",
        occurred_at=when,
        location=Location(
            lat=34.7 + random.random() / 10,
            lon=113.6 + random.random() / 10,
            accuracy_m=8.0,
            address="人民路",
        ),
        subject_id=subject.id if subject else None,
        subject_unknown=subject is None,
        computed_stage=Stage.PERSUASION,
        chosen_stage=Stage.PERSUASION,
        disposition=Disposition.PERSUADED,
        second_officer_badge="9999" if items else "",
        seizure_receipt_no="ZK-1" if items else "",
        seized_items=items,
        photos=tuple(PhotoRef(sha(), 250_000, PhotoKind.DURING, 1600, 1200) for _ in range(photos)),
    )


def build(path: Path, n_cases: int, n_subjects: int) -> World:
    catalogue = load_catalogue()
    with Store.open(path, catalogue=catalogue) as store:  # the app's schema, WAL, FULL
        device = store.device_id
    subjects = make_subjects(n_subjects)
    weights = [1 / (rank + 1) ** 0.8 for rank in range(len(subjects))]  # a few repeat offenders
    badges = [str(1000 + i) for i in range(max(1, n_cases // 500))]
    per_day = 50
    days = max(1, n_cases // (len(badges) * per_day))
    case_rows, photo_rows, queue_rows, seized_rows, outbox_rows = [], [], [], [], []
    chosen = random.choices(subjects, weights=weights, k=n_cases)
    cases: list[Case] = []
    now = datetime.now(UTC).isoformat()
    for n in range(n_cases):
        badge = badges[n % len(badges)]
        day = LAST_DAY - timedelta(days=(n // len(badges)) % days)
        when = datetime(day.year, day.month, day.day, 8, tzinfo=LOCAL_TZ) + timedelta(
            minutes=random.randint(0, 900)
        )
        subject = chosen[n] if random.random() > 0.1 else None
        case = make_case(device, badge, n, when, subject, seized=2 if n % 10 == 0 else 0)
        if (
            subject is not None
            and case.violation_code not in KIND_CODES[subject.kind]
            and not case.seized_items
        ):
            raise AssertionError(case)
        record = to_json_dict(case)
        text = json.dumps(record, ensure_ascii=False, separators=(",", ":"))
        case_rows.append(case_row(case, text, now))
        photos, queue, seized = case_child_rows(case)
        photo_rows += photos
        queue_rows += queue
        seized_rows += seized
        if n >= n_cases - 500:
            outbox_rows.append(("case", case.id, text, len(text.encode()), now))
        cases.append(case)
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute("BEGIN IMMEDIATE")
    conn.executemany(SUBJECT_UPSERT, [subject_row(s, "remote", now) for s in subjects])
    keys = conn.execute("SELECT n, name_key, extra_key FROM subjects").fetchall()
    conn.executemany(SUBJECT_CHAR_INSERT, [row for key in keys for row in subject_char_rows(*key)])
    conn.executemany(CASE_INSERT, case_rows)
    conn.executemany(CASE_PHOTO_INSERT, photo_rows)
    conn.executemany(PHOTO_QUEUE_INSERT, queue_rows)
    conn.executemany(SEIZED_ITEM_INSERT, seized_rows)
    conn.executemany(OUTBOX_INSERT, outbox_rows)
    conn.execute("UPDATE photo_queue SET uploaded_at = ? WHERE seq % 20 <> 0", (now,))  # 95% uploaded
    reviewed = random.sample(cases, k=min(5000, len(cases)))
    conn.executemany(
        "INSERT INTO reviews (id, case_id, case_no, decision, reviewer_badge, decided_at, decided_utc,"
        " comment, origin) VALUES (?, ?, ?, ?, '0001', ?, 0, '', 'remote')",
        [
            (new_id(), c.id, c.case_no, str(ReviewDecision.APPROVE), c.occurred_at.isoformat())
            for c in reviewed
        ],
    )
    elsewhere = datetime(2026, 6, 1, tzinfo=LOCAL_TZ)  # cases of these subjects recorded by other phones
    history = [
        (s.id, new_id(), "ZD09-1999-260601-OTHER-0001", "0510", elsewhere.isoformat(), 0, 1, "active", 1)
        for s in random.choices(subjects[:2000], k=10_000)
    ]
    conn.executemany(
        "INSERT OR IGNORE INTO remote_history (subject_id, case_id, case_no, violation_code, occurred_at,"
        " occurred_utc, stage, status, version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        history,
    )
    conn.execute("COMMIT")
    conn.close()
    return World(path, subjects, badges, [s.id for s in subjects[:200]])


def timed(call: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = call()
    return (time.perf_counter() - start) * 1000, result


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def floor_rows(case: Case) -> tuple[Any, ...]:
    """Everything the floor writes for a case, built before the clock starts."""
    now = datetime.now(UTC).isoformat()
    text = json.dumps(to_json_dict(case), ensure_ascii=False, separators=(",", ":"))
    photos, queue, seized = case_child_rows(case)
    return case_row(case, text, now), photos, queue, seized, ("case", case.id, text, len(text.encode()), now)


def floor_save(conn: sqlite3.Connection, rows: tuple[Any, ...]) -> None:
    case, photos, queue, seized, outbox = rows
    conn.execute("BEGIN IMMEDIATE")
    conn.execute(CASE_INSERT, case)
    conn.executemany(CASE_PHOTO_INSERT, photos)
    conn.executemany(PHOTO_QUEUE_INSERT, queue)
    conn.executemany(SEIZED_ITEM_INSERT, seized)
    conn.execute(OUTBOX_INSERT, outbox)
    conn.execute("COMMIT")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=50_000)
    parser.add_argument("--subjects", type=int, default=20_000)
    parser.add_argument("--saves", type=int, default=250)
    parser.add_argument("--reps", type=int, default=200)
    parser.add_argument("--opens", type=int, default=7)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    random.seed(args.seed)
    catalogue = load_catalogue()
    with tempfile.TemporaryDirectory(prefix="bench-store-") as tmp:
        path = Path(tmp) / "patrol.db"
        started = time.perf_counter()
        world = build(path, args.cases, args.subjects)
        built = time.perf_counter() - started
        open_ms, _ = timed(lambda: Store.open(path, catalogue=catalogue).close())  # after the build
        rows: dict[str, tuple[list[float], list[float]]] = {}
        opens: tuple[list[float], list[float]] = ([], [])
        for _ in range(args.opens):  # interleaved: the open after a clean close, the old full-check open
            for forced, times in ((False, opens[0]), (True, opens[1])):
                ms, opened = timed(partial(Store.open, path, catalogue=catalogue, full_check=forced))
                assert opened.open_check == ("full" if forced else "cheap"), opened.open_check
                opened.close()
                times.append(ms)
        rows["Store.open after a clean close (floor: the full integrity_check open)"] = opens
        store = Store.open(path, catalogue=catalogue)
        floor = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        floor.execute("PRAGMA synchronous = FULL")
        assert floor.execute("PRAGMA journal_mode").fetchone()[0] == "wal"

        def compare(
            label: str,
            n: int,
            store_call: Callable[[int], Any],
            floor_call: Callable[[int], Any],
            check: Callable[[int, Any], bool],
        ) -> None:
            """Time the store and the floor, interleaved; every store answer must pass ``check``."""
            s_t, f_t = [], []
            for i in range(n):
                ms, result = timed(partial(store_call, i))
                assert check(i, result), (label, i, result)
                s_t.append(ms)
                f_t.append(timed(partial(floor_call, i))[0])
            rows[label] = (s_t, f_t)

        vendor = next(s for s in world.subjects if s.kind is SubjectKind.MOBILE_VENDOR)
        start = datetime(2026, 11, 23, 20, tzinfo=LOCAL_TZ)
        mine = [
            make_case(store.device_id, "1000", 900_000 + i, start, vendor, seized=2)
            for i in range(args.saves)
        ]
        theirs = [
            floor_rows(make_case(store.device_id, "1001", 950_000 + i, start, vendor, seized=2))
            for i in range(args.saves)
        ]
        compare(
            "save case (3 photos, 2 seized, outbox)",
            args.saves,
            lambda i: store.save_case(mine[i]),
            lambda i: floor_save(floor, theirs[i]),
            lambda i, _: True,
        )
        assert len(store.case_versions(mine[-1].case_no)) == 1

        days = sorted({LAST_DAY - timedelta(days=d) for d in range(3)})
        pairs = [(random.choice(world.badges), random.choice(days)) for _ in range(args.reps)]
        compare(
            "patrol log of a day (50 cases)",
            args.reps,
            lambda i: store.patrol_log(*pairs[i]),
            lambda i: floor_log(floor, *pairs[i]),
            lambda i, log: len(log) == 50,
        )

        vehicles = [s for s in world.subjects if s.kind is SubjectKind.VEHICLE]
        compare(
            "search by plate (typed 豫a·d12345)",
            args.reps,
            lambda i: store.search_subjects(format_plate(vehicles[i % len(vehicles)].plate).lower()),
            lambda i: floor.execute(PLATE_SQL, (vehicles[i % len(vehicles)].plate, 20)).fetchall(),
            lambda i, found: [s.id for s in found] == [vehicles[i % len(vehicles)].id],
        )

        vendors = [s for s in world.subjects if s.kind is SubjectKind.MOBILE_VENDOR]
        spaced = [f"{v.phone[:3]} {v.phone[3:7]} {v.phone[7:]}" for v in vendors]
        compare(
            "search by phone (typed 138 1234 5678)",
            args.reps,
            lambda i: store.search_subjects(spaced[i % len(spaced)]),
            lambda i: floor.execute(PHONE_SQL, (vendors[i % len(vendors)].phone, 20)).fetchall(),
            lambda i, found: [s.id for s in found] == [vendors[i % len(vendors)].id],
        )

        shops = [s for s in world.subjects if s.kind is SubjectKind.SHOP]
        # half the queries drop a character (王记烧烤 → 王烧烤: similar, not a substring), half are substrings
        typed = [s.name[:1] + s.name[2:] if i % 2 else s.name[1:] for i, s in enumerate(shops)]
        compare(
            "search by name, fuzzy (20,000 subjects)",
            args.reps,
            lambda i: store.search_subjects(typed[i % len(typed)]),
            lambda i: floor_search(floor, typed[i % len(typed)]),
            lambda i, found: shops[i % len(shops)].id in {s.id for s in found} or len(found) == 20,
        )

        spots = floor.execute(
            "SELECT lat, lon FROM cases WHERE subject_id IS NOT NULL ORDER BY random() LIMIT ?", (args.reps,)
        ).fetchall()
        at = datetime(2026, 11, 23, 9, tzinfo=LOCAL_TZ)
        compare(
            "subjects within 150 m of a fix, next stage (5)",
            args.reps,
            lambda i: nearby_stages(store, *spots[i], at),
            lambda i: floor_nearby(floor, *spots[i]),
            lambda i, found: 1 <= len(found) <= 5,
        )

        busy = world.busy_subjects
        compare(
            "earlier cases of a subject (own + HQ)",
            args.reps,
            lambda i: store.subject_history(busy[i % len(busy)]),
            lambda i: floor_history(floor, busy[i % len(busy)]),
            lambda i, history: len(history) >= 10,
        )
        size_mb = path.stat().st_size / 2**20
        store.close()
        floor.close()

    table = render(rows, args, built, open_ms, size_mb)
    print(table)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(table, encoding="utf-8")


def nearby_stages(store: Store, lat: float, lon: float, at: datetime) -> list[Any]:
    """What Today's list does (``TodayState.nearby``): the subjects near the fix, each one's next stage."""
    return [
        compute_stage(near.violation_code, at, store.subject_history(near.subject.id))
        for near in store.nearby_subjects(lat, lon)
    ]


def floor_nearby(conn: sqlite3.Connection, lat: float, lon: float) -> list[Any]:
    """Brute force: every case's place read and measured in Python, the 5 most recent subjects kept."""
    newest: dict[str, int] = {}
    for subject_id, utc, c_lat, c_lon in conn.execute(
        "SELECT subject_id, occurred_utc, lat, lon FROM cases WHERE subject_id IS NOT NULL AND is_current = 1"
        " AND lat IS NOT NULL"
    ):
        if distance_m(lat, lon, c_lat, c_lon) <= 150 and utc > newest.get(subject_id, -1):
            newest[subject_id] = utc
    return sorted(newest, key=lambda s: -newest[s])[:5]


def floor_log(conn: sqlite3.Connection, badge: str, day: date) -> list[Any]:
    rows = conn.execute(PATROL_LOG_SQL, (badge, day.isoformat())).fetchall()
    ids = [row[0] for row in rows]
    marks = ",".join("?" * len(ids))
    reviews = conn.execute(
        f"SELECT * FROM reviews WHERE case_id IN ({marks}) ORDER BY decided_utc", ids
    ).fetchall()
    return rows + reviews


def floor_search(conn: sqlite3.Connection, text: str) -> list[Any]:
    """The statements of a name search, without ranking or building records."""
    key = search_key(text)
    names = name_candidates(conn, key, 20)
    if sum(1 for _, _, pos in names if pos > 0) < 20:
        return names + extra_candidates(conn, key, 20)
    return names


def floor_history(conn: sqlite3.Connection, subject_id: str) -> list[Any]:
    own = conn.execute(OWN_HISTORY_SQL, (subject_id,)).fetchall()
    remote = conn.execute(REMOTE_HISTORY_SQL, (subject_id,)).fetchall()
    ids = [row[0] for row in own]
    marks = ",".join("?" * len(ids))
    reviews = conn.execute(
        f"SELECT * FROM reviews WHERE case_id IN ({marks}) ORDER BY decided_utc", ids
    ).fetchall()
    return own + remote + reviews


def render(
    rows: dict[str, tuple[list[float], list[float]]],
    args: argparse.Namespace,
    built: float,
    open_ms: float,
    size_mb: float,
) -> str:
    lines = [
        f"# Phone store benchmark ({args.cases:,} cases, {args.subjects:,} subjects, WAL + synchronous=FULL)",
        "",
        f"Store file {size_mb:.0f} MiB, built in {built:.1f} s; first `Store.open` after the build "
        f"(cheap: closed cleanly) {open_ms:.0f} ms. Saves: {args.saves}, query repetitions: {args.reps}."
        " Times in ms.",
        "Floor = plain sqlite3 on the same file running the same statements (writes: prebuilt rows, one",
        "transaction; reads: fetch rows only, no records built, no validation, no ranking).",
        f"Machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at the end (other work shares"
        f" it), SQLite {sqlite3.sqlite_version}, Python {platform.python_version()}.",
        "",
        "| operation | store p50 | store p95 | floor p50 | floor p95 | target (p50) | met |",
        "|---|---:|---:|---:|---:|---:|:---:|",
    ]
    for label, (store_t, floor_t) in rows.items():
        target = 5.0 if label.startswith("save") else 10.0
        if label.startswith("Store.open"):
            target = 300.0
        elif label.startswith("subjects within"):
            target = 20.0
        p50 = statistics.median(store_t)
        lines.append(
            f"| {label} | {p50:.2f} | {pct(store_t, 0.95):.2f} | {statistics.median(floor_t):.2f} | "
            f"{pct(floor_t, 0.95):.2f} | {target:.0f} | {'yes' if p50 <= target else 'NO'} |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
