"""Benchmark: where the officer stands, on the phone, at a district's scale, beside the brute-force scan.

A district of 5,000 zones (1,200 streets drawn as lines with a buffer and 180 as polygons, 3,600 grid
cells of about 330 m, 20 squad areas) and 500 疏导点 (points with a radius and small polygons; evening,
morning, noon and all-day hours) around the demo point is written into a phone store file (WAL,
synchronous=FULL, as the app opens it) through ``Store.apply_zone``, exactly as a sync does. Then:

* the index build after a sync (``ZonesState.index``: read every feature back from the store, parse,
  index); once per zone version;
* **zone lookup + nearest open spot** (``ZonesState.standing`` at a fix: the street and its class, grid
  cell, squad area, the spot the fix is in, the nearest open spots, the next to open), the phone's held
  policy read each time as the app does; the floor is ``enforcement.zones.brute_standing`` over the same
  zones (every zone tested, no index), at the same fixes, interleaved;
* the location step's lines for a vending case (``ZonesState.whereabouts``: the lookup plus the texts
  and the 引导至 choices).

Every indexed answer is checked against the brute-force one (street, grid, squad, nearest open and next
spot). Fixes are uniform over the district, at Friday 21:30 local (evening spots open). Prints a Markdown
table and writes it to bench/results/zones.md. Target: lookup p50 <= 5 ms. Run:
``.venv/bin/python bench/zones.py`` (about a minute).
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from enforcement.catalogue import load_catalogue
from enforcement.model import LOCAL_TZ
from enforcement.zones import brute_standing, parse_feature
from hq.demo_zones import LAT, LON
from mobile.policyheld import held_policy
from mobile.state.zones import ZonesState
from mobile.store import Store

RESULTS = Path(__file__).resolve().parent / "results" / "zones.md"
#: Friday 2026-12-04 21:30 bureau time: the evening spots are open, the morning ones are not.
WHEN = datetime(2026, 12, 4, 21, 30, tzinfo=LOCAL_TZ)
CELL = 0.003  # grid cell side in degrees (about 330 m × 270 m here)
GRID = 60  # 60 × 60 cells: the district is about 20 km × 16 km
HOURS = (
    {"daily": ["17:00-23:00"], "fri": ["17:00-02:00"], "sat": ["17:00-02:00"]},
    {"daily": ["06:00-09:00"]},
    {"daily": ["10:00-14:00", "17:00-21:00"]},
    {"daily": ["00:00-24:00"]},
)


def _box(lon0: float, lat0: float, lon1: float, lat1: float) -> list[list[list[float]]]:
    return [[[lon0, lat0], [lon1, lat0], [lon1, lat1], [lon0, lat1], [lon0, lat0]]]


def district(rng: random.Random, zones: int = 5_000, spots: int = 500) -> list[dict[str, Any]]:
    """``zones`` zones (streets, grid cells, squad areas) and ``spots`` 疏导点 as GeoJSON features."""
    lon0, lat0 = LON - GRID * CELL / 2, LAT - GRID * CELL / 2
    side = GRID * CELL
    features: list[dict[str, Any]] = []

    def feature(fid: str, props: dict[str, Any], geometry: dict[str, Any]) -> None:
        features.append({"type": "Feature", "id": fid, "properties": props, "geometry": geometry})

    squads = 20
    for i in range(squads):  # 4 × 5 squad areas
        col, row = i % 4, i // 4
        w, h = side / 4, side / 5
        box = _box(lon0 + col * w, lat0 + row * h, lon0 + (col + 1) * w, lat0 + (row + 1) * h)
        props = {"kind": "squad_area", "squad": f"ZD{i + 1:02d}", "name": f"第{i + 1}中队辖区"}
        feature(f"sq-{i:02d}", props, {"type": "Polygon", "coordinates": box})
    for i in range(GRID * GRID):
        col, row = i % GRID, i // GRID
        x, y = lon0 + col * CELL, lat0 + row * CELL
        feature(f"g-{i:04d}", {"kind": "grid_cell", "code": f"JS-{row:02d}{col:02d}", "name": ""},
                {"type": "Polygon", "coordinates": _box(x, y, x + CELL, y + CELL)})  # fmt: skip
    classes = ("model", "regulated", "commercial")
    polygons = 180
    lines = zones - len(features) - polygons
    for i in range(lines):
        x, y = lon0 + rng.uniform(0, side), lat0 + rng.uniform(0, side)
        coords = [[x, y]]
        for _ in range(rng.randint(3, 9)):  # a street of 3-9 segments, 60-250 m each, mostly straight
            x += rng.uniform(-0.0025, 0.0025)
            y += rng.uniform(-0.0025, 0.0025)
            coords.append([x, y])
        buffer_m = rng.choice((20, 30, 50))
        props = {"kind": "street", "name": f"街道{i}", "class": classes[i % 3], "buffer_m": buffer_m}
        feature(f"st-{i:04d}", props, {"type": "LineString", "coordinates": coords})
    for i in range(polygons):  # squares and plazas drawn as polygons
        x, y = lon0 + rng.uniform(0, side), lat0 + rng.uniform(0, side)
        feature(f"sp-poly-{i:03d}", {"kind": "street", "name": f"广场{i}", "class": classes[i % 3]},
                {"type": "Polygon", "coordinates": _box(x, y, x + 0.001, y + 0.0008)})  # fmt: skip
    for i in range(spots):
        x, y = lon0 + rng.uniform(0, side), lat0 + rng.uniform(0, side)
        geometry = (
            {"type": "Polygon", "coordinates": _box(x, y, x + 0.0005, y + 0.0004)}
            if i % 5 == 0
            else {"type": "Point", "coordinates": [x, y]}
        )
        props = {"kind": "vending_spot", "name": f"疏导点{i}", "hours": HOURS[i % len(HOURS)],
                 "goods": ["小吃", "水果"], "capacity": 20, "contact": "0371-6000-0000"}  # fmt: skip
        feature(f"spot-{i:03d}", props, geometry)
    return features


def timed(call: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = call()
    return (time.perf_counter() - start) * 1000, result


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def same(a: Any, b: Any) -> bool:
    def key(s: Any) -> tuple[Any, ...]:
        ids = [z.id if z else None for z in (s.street, s.grid, s.squad)]
        near = [n.spot.id if n else None for n in (s.nearest_open, s.next_open, s.inside_spot)]
        return (*ids, *near)

    return key(a) == key(b)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--zones", type=int, default=5_000)
    parser.add_argument("--spots", type=int, default=500)
    parser.add_argument("--queries", type=int, default=1_000)
    parser.add_argument("--brute", type=int, default=150, help="fixes also asked of the brute-force floor")
    parser.add_argument("--builds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    features = district(rng, args.zones, args.spots)
    span = GRID * CELL / 2
    fixes = [(LAT + rng.uniform(-span, span), LON + rng.uniform(-span, span)) for _ in range(args.queries)]
    with tempfile.TemporaryDirectory(prefix="bench-zones-") as tmp:
        store = Store.open(Path(tmp) / "patrol.db", catalogue=load_catalogue())
        load_ms, _ = timed(lambda: [store.apply_zone(str(f["id"]), 1, f) for f in features])
        store.set_zones_version(1)

        def state() -> ZonesState:
            return ZonesState(store, now=lambda: WHEN, policy=lambda: held_policy(store.meta_get))

        builds = []
        for _ in range(args.builds):
            fresh = state()
            builds.append(timed(fresh.index)[0])
        phone = state()
        phone.index()
        zones = [parse_feature(f) for f in features]
        lookup: list[float] = []
        brute: list[float] = []
        where: list[float] = []
        mismatches = 0
        for i, (lat, lon) in enumerate(fixes):
            ms, here = timed(lambda lat=lat, lon=lon: phone.standing(lat, lon, WHEN))
            lookup.append(ms)
            ms, _ = timed(lambda lat=lat, lon=lon: phone.whereabouts(lat, lon, "0501", "zh"))
            where.append(ms)
            if i < args.brute:
                exempts = held_policy(store.meta_get).spot_exempts_vending
                ms, oracle = timed(lambda lat=lat, lon=lon, e=exempts: brute_standing(
                    zones, lat, lon, WHEN, spot_exempts_vending=e))  # fmt: skip
                brute.append(ms)
                mismatches += not same(here, oracle)
        answered = [phone.standing(lat, lon, WHEN) for lat, lon in fixes]
        on_street = sum(1 for s in answered if s and s.street)
        with_open = sum(1 for s in answered if s and s.nearest_open)
        store.close()

    rows = [
        ("zone lookup + nearest open spot (`ZonesState.standing`)", lookup, brute, 5.0),
        ("location step lines, vending case (`ZonesState.whereabouts`)", where, None, 5.0),
    ]
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    lines = [
        f"# Zones on the phone ({args.zones:,} zones, {args.spots} 疏导点)",
        "",
        f"{len(features):,} features written to a phone store through `Store.apply_zone` in {load_ms:.0f} ms "
        f"(one transaction each, as a sync applies them). Index build after a sync (`ZonesState.index`: "
        f"read back, parse, index) p50 {statistics.median(builds):.0f} ms over {args.builds} builds "
        "(once per zone version).",
        f"Fixes: {args.queries:,} uniform over the district (~20 × 16 km) at Friday 21:30; {on_street} on a "
        f"street, {with_open} with an open spot within 3 km. Floor: `brute_standing` (every zone tested, "
        f"no index) at the first {args.brute} of the same fixes, interleaved. Answers differing from the "
        f"floor's: **{mismatches}**. Times in ms.",
        f"Machine: {os.cpu_count()} CPUs, load average {load:.1f} at the end (other work shares it), "
        f"Python {platform.python_version()}.",
        "",
        "| operation | p50 | p95 | floor p50 | floor p95 | speed-up (p50) | target p50 | met |",
        "|---|---:|---:|---:|---:|---:|---:|:---:|",
    ]
    for name, times, floor, target in rows:
        p50 = statistics.median(times)
        if floor:
            f50 = statistics.median(floor)
            extra = f"{f50:.2f} | {pct(floor, 0.95):.2f} | {f50 / p50:.0f}×"
        else:
            extra = "— | — | —"
        met = "yes" if p50 <= target else "no"
        lines.append(f"| {name} | {p50:.3f} | {pct(times, 0.95):.3f} | {extra} | {target:g} | {met} |")
    table = "\n".join(lines) + "\n"
    print(table)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(table, encoding="utf-8")
    if mismatches:
        raise SystemExit(f"{mismatches} answers differ from the brute-force floor")


if __name__ == "__main__":
    main()
