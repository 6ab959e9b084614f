"""Benchmark: hotline work orders (issue #15), two parts, each against a baseline measured in the same run.

**(a) Intake to the officer's phone.** The real HQ app (``hq.app``) on uvicorn over loopback (SQLite) with
the demo squad areas, and a real phone (``mobile.store.Store``, ``mobile.hqclient.SyncClient``, real HTTP)
signed in as the officer. One run: the desk files a complaint (``POST /v1/workorders``, a point inside
the squad's area, so HQ routes it), the desk assigns the officer (``POST …/assign``), the phone runs one
sync cycle (``sync_once``: push, pull) and the order is in its store. Timed from before the intake POST to
after the sync. Baseline, interleaved run by run: the same sync cycle with nothing new for the phone
(an empty feed). ``--runs`` runs of each; p50 / p90 / max.

**(b) The timer queries at 100,000 orders.** A fresh HQ database gets ``--orders`` orders (default
100,000) over the last 90 days, 20 squads in 2 districts, each with a plausible life (routed, assigned,
arrived and resolved by a phone whose clock may be off, late or never; followed up; sometimes reopened),
folded by ``enforcement.workorders.replay`` and written in bulk with the summary's timer columns (the
rows ``hq.workorders.refresh`` would write) and the events with HQ's receive sequence. The baseline is
the same on ``--baseline`` orders (default 1,000) in the same run. Timed (p50 / p95 of ``--reps``, warm):
the desk's list (``hq.dash.figures.listed_orders``: overdue first, then the newest, each refolded as
``GET /v1/workorders`` does), a leader's list, the board's figures line of the month, the public page's
monthly figures (whole, by category, by squad) and closed list, a squad day log's orders, and, for
comparison, the way the figures were computed before this build (refold every order of the month, capped
at 5,000 orders, so wrong beyond that). SQLite's query plans of the timer queries are printed (each uses
an index).

Prints Markdown tables and writes bench/results/workorders.md.
Run: ``.venv/bin/python bench/workorders.py`` (``--backends sqlite,postgres`` with
``STREETPATROL_TEST_PG_DSN`` for PostgreSQL too).
"""

# The report's long Markdown lines and the SQL of the query plans are kept whole.
# ruff: noqa: E501

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from enforcement.catalogue import load_catalogue  # noqa: E402
from enforcement.model import LOCAL_TZ  # noqa: E402
from enforcement.workorders import (  # noqa: E402
    Closure,
    Event,
    EventKind,
    Satisfaction,
    Source,
    Timer,
    figures,
    replay,
)
from hq.dash.figures import figures_line, listed_orders  # noqa: E402
from hq.demo_zones import seed_demo_zones  # noqa: E402
from hq.storage.base import Storage  # noqa: E402
from hq.storage.postgres import PostgresStorage  # noqa: E402
from hq.storage.sqlcore import dumps  # noqa: E402
from hq.storage.sqlite import SqliteStorage  # noqa: E402
from hq.storage.sqltx import SqlTx  # noqa: E402
from hq.storage.workorder_rows import event_json, summary_timers, timer_json  # noqa: E402
from testkit.pg import drop_bench_schemas  # noqa: E402

NOW = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
DAYS = 90
DISTRICTS = ("金水区", "二七区")
SQUADS = tuple(f"S{n:02d}" for n in range(20))
CATEGORIES = ("0510", "0504", "0501", "0306", "0102", "0203")
CHUNK = 20_000
TIMER = Timer()


# ------------------------------------------------------------------------------------------ (b) data


def _history(rnd: random.Random, order_id: str, intake: datetime, squad: str) -> list[Event]:
    def hq(kind: EventKind, at: datetime, round_: int = 1, **kw: Any) -> Event:
        return Event(uuid.uuid4().hex, order_id, kind, at, at, actor="9101", round=round_, **kw)

    def phone(kind: EventKind, at: datetime, round_: int = 1, **kw: Any) -> Event:
        offset = rnd.choice((None, 0.0, 0.0, -3600.0, 7200.0))
        device = at - timedelta(seconds=offset or 0)
        received = at + timedelta(minutes=rnd.uniform(0, 300))
        return Event(uuid.uuid4().hex, order_id, kind, device, received, actor="1001", round=round_,
                     from_phone=True, offset_s=offset, **kw)  # fmt: skip

    events = [hq(EventKind.INTAKE, intake)]
    if rnd.random() < 0.03:
        return events  # still in the desk's manual queue
    events.append(hq(EventKind.ROUTE, intake, squad=squad))
    assigned = intake + timedelta(minutes=rnd.uniform(1, 10))
    events.append(hq(EventKind.ASSIGN, assigned, officer="1001"))
    if rnd.random() < 0.05:
        events.append(hq(EventKind.ASSIGN, assigned + timedelta(minutes=5), officer="1002"))
    if rnd.random() < 0.92:
        arrive = intake + timedelta(minutes=rnd.expovariate(1 / 40))
        events.append(phone(EventKind.ARRIVE, arrive, distance_m=rnd.uniform(0, 400)))
        if rnd.random() < 0.9:
            resolved = arrive + timedelta(hours=rnd.expovariate(1 / 20))
            events.append(phone(EventKind.RESOLVE, resolved, closure=Closure.SELF_CORRECTED, note="已整改",
                                photos=("p",)))  # fmt: skip
            if rnd.random() < 0.8:
                fu = resolved + timedelta(hours=rnd.uniform(2, 60))
                sat = rnd.choices(list(Satisfaction), (80, 15, 5))[0]
                reopen = sat is Satisfaction.UNSATISFIED and rnd.random() < 0.5
                events.append(hq(EventKind.FOLLOW_UP, fu, satisfaction=sat, reopen=reopen))
                if reopen:
                    events.append(hq(EventKind.REOPEN, fu, round_=2))
    return [e for e in events if e.received_at <= NOW and e.at <= NOW]


_ORDER_COLUMNS = (
    "id, district, source, category, description, intake_at, timer, address, lat, lon, place, caller_name,"
    " caller_phone, partner, filed_by, squad, officer, stage, updated_at, closed_at, arrive_due, resolve_due,"
    " outcome, satisfaction, due_at, first_arrived_ok, first_resolved_ok"
)
_EVENT_COLUMNS = "id, order_id, kind, round, at, received_at, actor, data, seq"


def generate(n: int, seed: int) -> Iterator[tuple[tuple[Any, ...], list[tuple[Any, ...]]]]:
    """(order row, its event rows) for ``n`` orders over the last ``DAYS`` days."""
    rnd = random.Random(seed)
    span = DAYS * 86400
    for _ in range(n):
        oid = uuid.uuid4().hex
        intake = NOW - timedelta(seconds=rnd.uniform(0, span))
        squad_n = rnd.randrange(len(SQUADS))
        squad, district = SQUADS[squad_n], DISTRICTS[squad_n % 2]
        events = _history(rnd, oid, intake, squad)
        state = replay(events, TIMER)
        r = state.current
        due, arrived_ok, resolved_ok = summary_timers(state)
        latest = next((x for x in reversed(state.rounds) if x.satisfaction is not None), None)
        row = (
            oid, district, rnd.choice(list(Source)).value, rnd.choice(CATEGORIES), "投诉内容", intake,
            dumps(timer_json(TIMER)), "某路某号", 34.75, 113.62, "某路", "张三", "13812345678", "", "9101",
            state.squad, state.officer, state.stage.value, NOW, r.resolved_at, r.arrive_due, r.resolve_due,
            r.closure.value if r.closure else "", latest.satisfaction.value if latest and latest.satisfaction else "",
            due, arrived_ok, resolved_ok,
        )  # fmt: skip
        event_rows = [
            (e.id, oid, e.kind.value, e.round, e.at, e.received_at, e.actor, dumps(event_json(e)), seq)
            for seq, e in enumerate(sorted(events, key=lambda e: (e.received_at, e.id)), 1)
        ]
        yield row, event_rows


def bulk_load(storage: Storage, n: int, seed: int) -> int:
    orders: list[tuple[Any, ...]] = []
    events: list[tuple[Any, ...]] = []
    count = 0

    def flush() -> None:
        with storage.transaction() as tx:
            assert isinstance(tx, SqlTx)
            ts = tx.d.ts
            tx._many(
                f"INSERT INTO work_orders ({_ORDER_COLUMNS}) VALUES ({', '.join('?' * 27)})",
                [
                    (
                        *o[:5],
                        ts(o[5]),
                        *o[6:18],
                        ts(o[18]),
                        ts(o[19]),
                        ts(o[20]),
                        ts(o[21]),
                        o[22],
                        o[23],
                        ts(o[24]),
                        o[25],
                        o[26],
                    )
                    for o in orders
                ],
            )
            tx._many(
                f"INSERT INTO work_order_events ({_EVENT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(*e[:4], ts(e[4]), ts(e[5]), *e[6:]) for e in events],
            )
        orders.clear()
        events.clear()

    for row, event_rows in generate(n, seed):
        orders.append(row)
        events.extend(event_rows)
        count += 1
        if len(orders) >= CHUNK:
            flush()
    if orders:
        flush()
    with storage.transaction() as tx:
        assert isinstance(tx, SqlTx)
        tx._x("ANALYZE work_orders" if storage.backend == "postgres" else "ANALYZE")
        if storage.backend == "postgres":
            tx._x("ANALYZE work_order_events")
    return count


# ------------------------------------------------------------------------------------------ (b) reads


def _month(now: datetime) -> tuple[datetime, datetime]:
    local = now.astimezone(LOCAL_TZ)
    return local.replace(day=1, hour=0, minute=0, second=0, microsecond=0), now + timedelta(seconds=1)


def reads(storage: Storage) -> dict[str, Callable[[], object]]:
    since, until = _month(NOW)
    day_start = (
        (NOW - timedelta(days=1)).astimezone(LOCAL_TZ).replace(hour=0, minute=0, second=0, microsecond=0)
    )

    def desk_list() -> object:
        with storage.transaction(readonly=True) as tx:
            rows = listed_orders(tx, NOW, district=DISTRICTS[0])
            events = tx.work_order_events_of([r.id for r in rows])
            return [replay(events[r.id], r.timer) for r in rows]

    def leader_list() -> object:
        with storage.transaction(readonly=True) as tx:
            rows = listed_orders(tx, NOW, district=DISTRICTS[0], squad=SQUADS[0])
            events = tx.work_order_events_of([r.id for r in rows])
            return [replay(events[r.id], r.timer) for r in rows]

    def board_line() -> object:
        with storage.transaction(readonly=True) as tx:
            return figures_line(tx, since, until, NOW, DISTRICTS[0])

    def public_figures() -> object:
        with storage.transaction(readonly=True) as tx:
            return tx.work_order_figures(since=since, until=until, now=NOW, by="category_squad")

    def public_closed() -> object:
        with storage.transaction(readonly=True) as tx:
            return tx.list_work_orders(since=since, until=until, closed_only=True, limit=2000)

    def squad_day() -> object:
        with storage.transaction(readonly=True) as tx:
            return tx.list_work_orders(squad=SQUADS[0], since=day_start, until=day_start + timedelta(days=1))

    def refold_before() -> object:
        with storage.transaction(readonly=True) as tx:
            rows = tx.list_work_orders(district=DISTRICTS[0], since=since, until=until, limit=5000)
            return figures([replay(tx.work_order_events(r.id), r.timer) for r in rows], NOW).line("zh")

    return {
        "desk's list (overdue first, ≤500, refolded)": desk_list,
        "leader's list (one squad)": leader_list,
        "board figures line (month, one district)": board_line,
        "public page figures (month: by category × squad, one pass)": public_figures,
        "public closed list (month, ≤2,000)": public_closed,
        "squad day log's orders (one day)": squad_day,
        "before: refold the month's orders (capped at 5,000)": refold_before,
    }


def timed(fn: Callable[[], object], reps: int) -> tuple[float, float]:
    fn()  # warm
    samples = []
    for _ in range(reps):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    return statistics.median(samples), samples[min(len(samples) - 1, round(0.95 * (len(samples) - 1)))]


def plans(storage: Storage) -> list[str]:
    """SQLite's plans of the timer queries: each must search an index, never scan the table."""
    since, until = _month(NOW)
    queries = {
        "overdue list": ("SELECT id FROM work_orders WHERE district = ? AND due_at < ? ORDER BY due_at, id LIMIT 500",
                         (DISTRICTS[0], NOW)),
        "figures (district)": ("SELECT COUNT(*), SUM(CASE WHEN first_resolved_ok THEN 1 ELSE 0 END), SUM(CASE WHEN closed_at IS NOT NULL THEN 1 ELSE 0 END) FROM work_orders WHERE intake_at >= ? AND intake_at < ? AND district = ?",
                               (since, until, DISTRICTS[0])),
        "figures (all, public)": ("SELECT category, squad, SUM(CASE WHEN first_arrived_ok THEN 1 ELSE 0 END), SUM(CASE WHEN due_at < ? THEN 1 ELSE 0 END), SUM(CASE WHEN satisfaction <> '' THEN 1 ELSE 0 END) FROM work_orders WHERE intake_at >= ? AND intake_at < ? GROUP BY category, squad",
                                  (NOW, since, until)),
        "squad day": ("SELECT id FROM work_orders WHERE squad = ? AND intake_at >= ? AND intake_at < ?",
                      (SQUADS[0], since, until)),
        "events of an order": ("SELECT id FROM work_order_events WHERE order_id = ? ORDER BY seq, id", ("x",)),
    }  # fmt: skip
    out = []
    with storage.transaction(readonly=True) as tx:
        assert isinstance(tx, SqlTx)
        for name, (sql, params) in queries.items():
            ts = [tx.d.ts(p) if isinstance(p, datetime) else p for p in params]
            rows = tx._all("EXPLAIN QUERY PLAN " + sql, ts)
            out.append(f"- {name}: " + "; ".join(str(r[-1]) for r in rows))
    return out


@contextmanager
def open_storage(backend: str, dsn: str | None, root: Path) -> Iterator[Storage]:
    if backend == "sqlite":
        storage: Storage = SqliteStorage(root / f"bench-{uuid.uuid4().hex[:8]}.db")
    else:
        assert dsn
        storage = PostgresStorage(dsn, schema=f"bench_{uuid.uuid4().hex[:12]}", min_size=1, max_size=4)
    storage.create_schema()
    try:
        yield storage
    finally:
        storage.close()


def part_b(backend: str, dsn: str | None, sizes: tuple[int, int], reps: int, root: Path) -> dict[str, Any]:
    result: dict[str, Any] = {"load_s": {}, "reads": {}, "plans": []}
    with open_storage(backend, dsn, root) as small, open_storage(backend, dsn, root) as big:
        for n, storage in zip(sizes, (small, big), strict=True):
            start = time.perf_counter()
            bulk_load(storage, n, seed=n)
            result["load_s"][n] = time.perf_counter() - start
        if backend == "sqlite":
            result["plans"] = plans(big)
        small_reads, big_reads = reads(small), reads(big)
        for name in small_reads:  # interleaved: the baseline and the big database, read by read
            result["reads"][name] = (timed(small_reads[name], reps), timed(big_reads[name], reps))
        with big.transaction(readonly=True) as tx:
            result["overdue_big"] = len(
                tx.list_work_orders(district=DISTRICTS[0], overdue_at=NOW, limit=5000)
            )
            since, until = _month(NOW)
            result["month_big"] = tx.work_order_figures(since=since, until=until, now=NOW)[""].received
    if backend == "postgres" and dsn:
        drop_bench_schemas(dsn)
    return result


# ------------------------------------------------------------------------------------------ (a) intake


def part_a(runs: int, root: Path) -> dict[str, list[float]]:
    from mobile.hqclient import SyncClient
    from mobile.photostore import PhotoStore
    from mobile.store import Store
    from testkit.hqkit import HQ_USER, OFFICER, PINS, make_hq, sign_in

    hq = make_hq(root / "hq")
    seed_demo_zones(hq.storage, hq.clock())
    server = hq.serve()
    store = Store.open(root / "phone.db", catalogue=load_catalogue())
    photos = PhotoStore(root / "photos")
    phone_http = httpx.Client(base_url=server.url, timeout=30)
    client = SyncClient(phone_http, store, photos)
    client.sign_in(OFFICER.badge, PINS[OFFICER.badge])
    desk_http = httpx.Client(base_url=server.url, timeout=30)
    desk = sign_in(desk_http, HQ_USER, "bench-desk")
    client.sync_once()  # the first pull (catalogue, zones, policy) is not what is measured
    body = {"source": "12345", "category": "0510", "description": "夜里露天烧烤，油烟很大", "address": "人民路1号",
            "lat": 34.7466, "lon": 113.6253, "caller_name": "赵六", "caller_phone": "13812345678"}  # fmt: skip
    out: dict[str, list[float]] = {"baseline": [], "intake": [], "intake_post": [], "assign_post": []}
    try:
        for _ in range(runs):
            start = time.perf_counter()
            report = client.sync_once()
            out["baseline"].append((time.perf_counter() - start) * 1000)
            assert report.error is None

            start = time.perf_counter()
            filed = desk_http.post("/v1/workorders", json=body, headers=desk)
            filed.raise_for_status()
            order_id = filed.json()["order_id"]
            posted = time.perf_counter()
            desk_http.post(
                f"/v1/workorders/{order_id}/assign", json={"badge": OFFICER.badge}, headers=desk
            ).raise_for_status()
            assigned = time.perf_counter()
            report = client.sync_once()
            done = time.perf_counter()
            assert report.error is None
            assert store.work_order(order_id) is not None, "the order did not reach the phone in one cycle"
            out["intake"].append((done - start) * 1000)
            out["intake_post"].append((posted - start) * 1000)
            out["assign_post"].append((assigned - posted) * 1000)
            hq.clock.now += timedelta(seconds=30)
    finally:
        phone_http.close()
        desk_http.close()
        store.close()
        hq.close()
    return out


# ------------------------------------------------------------------------------------------ report


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def render(
    a: dict[str, list[float]] | None, b: dict[str, dict[str, Any]], sizes: tuple[int, int], reps: int
) -> str:
    load = os.getloadavg()
    lines = [
        "# Hotline work orders (issue #15)",
        "",
        f"Machine: {os.cpu_count()} cores shared with other jobs; load average at the end "
        f"{load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f}. Reproduce: `.venv/bin/python bench/workorders.py`.",
        "",
    ]
    if a is not None:
        runs = len(a["intake"])
        lines += [
            f"## (a) Intake to the officer's phone (real HTTP on loopback, SQLite HQ; {runs} runs each, interleaved)",
            "",
            "| | p50 ms | p90 ms | max ms |",
            "|---|---:|---:|---:|",
        ]
        rows = (
            ("baseline: one sync cycle, empty feed", a["baseline"]),
            ("intake POST → assign POST → one sync cycle → order in the phone's store", a["intake"]),
            ("… of which the intake POST (routed by area)", a["intake_post"]),
            ("… of which the assign POST", a["assign_post"]),
        )
        for name, values in rows:
            lines.append(f"| {name} | {pct(values, 0.5):.1f} | {pct(values, 0.9):.1f} | {max(values):.1f} |")
        lines.append("")
    for backend, result in b.items():
        small, big = sizes
        lines += [
            f"## (b) Timer queries, {backend}: {big:,} orders vs a baseline of {small:,} (same run)",
            "",
            f"Bulk load: {small:,} orders {result['load_s'][small]:.1f} s, {big:,} orders {result['load_s'][big]:.1f} s. "
            f"At {big:,}: {result['month_big']:,} orders in the month, {result['overdue_big']:,}{'+' if result['overdue_big'] >= 5000 else ''} overdue in one district (counted up to 5,000). "
            f"p50 / p95 of {reps} warm runs.",
            "",
            f"| read | {small:,}: p50 ms | p95 ms | {big:,}: p50 ms | p95 ms | ratio p50 |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        for name, ((s50, s95), (b50, b95)) in result["reads"].items():
            ratio = b50 / s50 if s50 else float("nan")
            lines.append(f"| {name} | {s50:.2f} | {s95:.2f} | {b50:.2f} | {b95:.2f} | {ratio:.1f}× |")
        if result["plans"]:
            lines += ["", "SQLite query plans at the large size:", "", *result["plans"]]
        lines.append("")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--baseline", type=int, default=1_000)
    parser.add_argument("--runs", type=int, default=15, help="runs of part (a)")
    parser.add_argument("--reps", type=int, default=15, help="timed repetitions of each read in part (b)")
    parser.add_argument("--backends", default="sqlite")
    parser.add_argument("--skip-intake", action="store_true")
    parser.add_argument("--pg-dsn", default=os.environ.get("STREETPATROL_TEST_PG_DSN"))
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "workorders.md")
    args = parser.parse_args()
    sizes = (args.baseline, args.orders)
    with tempfile.TemporaryDirectory(prefix="wo-bench-") as tmp:
        root = Path(tmp)
        a = None if args.skip_intake else part_a(args.runs, root / "a")
        b: dict[str, dict[str, Any]] = {}
        for backend in args.backends.split(","):
            if backend == "postgres" and not args.pg_dsn:
                print("no PostgreSQL DSN: skipped", file=sys.stderr)
                continue
            name = "SQLite (WAL)" if backend == "sqlite" else "PostgreSQL (loopback)"
            b[name] = part_b(backend, args.pg_dsn, sizes, args.reps, root)
    text = render(a, b, sizes, args.reps)
    print(text)
    args.out.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
