"""Plane-free geometry for zones on the phone and at HQ: pure Python, no I/O, no map tiles.

Coordinates are WGS84 in GeoJSON order, ``(lon, lat)`` in degrees (RFC 7946); distances are metres. The
phone's raw GPS is WGS84 too, so nothing here converts datums (GCJ-02 offsets of Chinese web maps are the
importer's business: zones are stored in WGS84).

* ``haversine_m``: great-circle distance of two points (mean Earth radius).
* ``point_segment_m`` / ``point_line_m``: distance of a point to a segment / polyline, measured in a local
  equirectangular plane around the point (exact to well under a metre at the few kilometres a street or a
  spot is away; beyond that it only has to rank).
* ``in_ring`` / ``in_polygon``: even-odd ray casting; a polygon is its exterior ring and holes, a point in
  a hole is outside. Points exactly on an edge may fall either way.
* ``BBox`` and ``GridIndex``: bounding boxes and a uniform lat/lon grid of buckets, so a lookup tests only
  the shapes whose box meets the point's cell.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

EARTH_RADIUS_M = 6_371_008.8
#: Metres per degree of latitude (mean).
M_PER_DEG = math.pi * EARTH_RADIUS_M / 180.0

Coord = tuple[float, float]  # (lon, lat)
Ring = Sequence[Coord]
Polygon = Sequence[Ring]  # exterior first, then holes

T = TypeVar("T")


def haversine_m(a: Coord, b: Coord) -> float:
    """Great-circle distance in metres between two (lon, lat) points."""
    lon1, lat1 = math.radians(a[0]), math.radians(a[1])
    lon2, lat2 = math.radians(b[0]), math.radians(b[1])
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def to_local(origin: Coord, p: Coord) -> tuple[float, float]:
    """``p`` in metres east and north of ``origin`` (equirectangular plane tangent at the origin)."""
    kx = M_PER_DEG * math.cos(math.radians(origin[1]))
    dlon = (p[0] - origin[0] + 180.0) % 360.0 - 180.0
    return dlon * kx, (p[1] - origin[1]) * M_PER_DEG


def point_segment_m(p: Coord, a: Coord, b: Coord) -> float:
    """Distance in metres from ``p`` to the segment ``a``–``b``."""
    ax, ay = to_local(p, a)
    bx, by = to_local(p, b)
    dx, dy = bx - ax, by - ay
    length2 = dx * dx + dy * dy
    t = 0.0 if length2 == 0 else max(0.0, min(1.0, -(ax * dx + ay * dy) / length2))
    return math.hypot(ax + t * dx, ay + t * dy)


def point_line_m(p: Coord, line: Sequence[Coord]) -> float:
    """Distance in metres from ``p`` to a polyline (a single point counts as a polyline)."""
    if len(line) == 1:
        return math.hypot(*to_local(p, line[0]))
    return min(point_segment_m(p, line[i], line[i + 1]) for i in range(len(line) - 1))


def in_ring(p: Coord, ring: Ring) -> bool:
    """Whether ``p`` is inside the ring (closed or not), by even-odd ray casting."""
    x, y = p
    inside = False
    n = len(ring)
    j = n - 1
    for i in range(n):
        xi, yi = ring[i]
        xj, yj = ring[j]
        if (yi > y) != (yj > y) and x < (xj - xi) * (y - yi) / (yj - yi) + xi:
            inside = not inside
        j = i
    return inside


def in_polygon(p: Coord, polygon: Polygon) -> bool:
    """Inside the exterior ring and in none of the holes."""
    if not polygon or not in_ring(p, polygon[0]):
        return False
    return not any(in_ring(p, hole) for hole in polygon[1:])


def polygon_edge_m(p: Coord, polygon: Polygon) -> float:
    """Distance in metres from ``p`` to the nearest edge of any ring of the polygon."""
    return min(point_line_m(p, [*ring, ring[0]]) for ring in polygon)


def polygon_m(p: Coord, polygon: Polygon) -> float:
    """0 inside the polygon, else the distance to its boundary."""
    return 0.0 if in_polygon(p, polygon) else polygon_edge_m(p, polygon)


@dataclass(frozen=True, slots=True)
class BBox:
    min_lon: float
    min_lat: float
    max_lon: float
    max_lat: float

    @classmethod
    def of(cls, coords: Iterable[Coord]) -> BBox:
        lons, lats = zip(*coords, strict=True)
        return cls(min(lons), min(lats), max(lons), max(lats))

    def union(self, other: BBox) -> BBox:
        return BBox(
            min(self.min_lon, other.min_lon),
            min(self.min_lat, other.min_lat),
            max(self.max_lon, other.max_lon),
            max(self.max_lat, other.max_lat),
        )

    def grown(self, metres: float) -> BBox:
        """The box grown by ``metres`` on every side."""
        dlat = metres / M_PER_DEG
        coslat = max(0.01, math.cos(math.radians(max(abs(self.min_lat), abs(self.max_lat)))))
        dlon = dlat / coslat
        return BBox(self.min_lon - dlon, self.min_lat - dlat, self.max_lon + dlon, self.max_lat + dlat)

    def contains(self, p: Coord) -> bool:
        return self.min_lon <= p[0] <= self.max_lon and self.min_lat <= p[1] <= self.max_lat


def grid_cell(p: Coord, cell_deg: float) -> tuple[int, int]:
    """The cell of a uniform lon/lat grid (``cell_deg`` degrees a side) that holds ``p``."""
    return math.floor(p[0] / cell_deg), math.floor(p[1] / cell_deg)


class GridIndex(Generic[T]):
    """Items by the cells of a uniform lon/lat grid their boxes meet (``cell_deg`` degrees a side).
    ``at(p)`` gives the items whose box may hold ``p``; ``near(p, metres)`` those whose box may lie within
    ``metres`` of it (each item once)."""

    def __init__(self, cell_deg: float = 0.005) -> None:
        self.cell_deg = cell_deg
        self._cells: dict[tuple[int, int], list[tuple[BBox, T]]] = {}
        self._count = 0

    def __len__(self) -> int:
        return self._count

    def _key(self, lon: float, lat: float) -> tuple[int, int]:
        return grid_cell((lon, lat), self.cell_deg)

    def add(self, box: BBox, item: T) -> None:
        x0, y0 = self._key(box.min_lon, box.min_lat)
        x1, y1 = self._key(box.max_lon, box.max_lat)
        for x in range(x0, x1 + 1):
            for y in range(y0, y1 + 1):
                self._cells.setdefault((x, y), []).append((box, item))
        self._count += 1

    def at(self, p: Coord) -> Iterator[T]:
        for box, item in self._cells.get(self._key(*p), ()):
            if box.contains(p):
                yield item

    def near(self, p: Coord, metres: float) -> Iterator[T]:
        area = BBox(p[0], p[1], p[0], p[1]).grown(metres)
        x0, y0 = self._key(area.min_lon, area.min_lat)
        x1, y1 = self._key(area.max_lon, area.max_lat)
        seen: set[int] = set()
        for x in range(x0, x1 + 1):
            for y in range(y0, y1 + 1):
                for box, item in self._cells.get((x, y), ()):
                    if id(item) in seen:
                        continue
                    seen.add(id(item))
                    if not (box.max_lon < area.min_lon or box.min_lon > area.max_lon
                            or box.max_lat < area.min_lat or box.min_lat > area.max_lat):  # fmt: skip
                        yield item
