"""enforcement.geo against shapely (tests only): point-in-polygon with holes, point↔segment and
point↔point distances (compared in a local metric plane), boxes and the grid index."""

from __future__ import annotations

import itertools
import math

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from shapely.geometry import LineString, Point, Polygon

from enforcement import geo

ORIGIN = (113.6253, 34.7466)  # 郑州 金水区, the demo district
# points within ~5 km of the origin
lon = st.floats(ORIGIN[0] - 0.05, ORIGIN[0] + 0.05, allow_nan=False)
lat = st.floats(ORIGIN[1] - 0.05, ORIGIN[1] + 0.05, allow_nan=False)
coord = st.tuples(lon, lat)


def local(p: geo.Coord) -> tuple[float, float]:
    return geo.to_local(ORIGIN, p)


@st.composite
def star_polygon(draw: st.DrawFn) -> list[geo.Coord]:
    """A simple (star-shaped) polygon: vertices at increasing angles around a centre."""
    cx, cy = draw(coord)
    n = draw(st.integers(3, 12))
    angles = sorted(
        draw(st.lists(st.floats(0, 2 * math.pi, exclude_max=True), min_size=n, max_size=n, unique=True))
    )
    assume(all(b - a > 0.05 for a, b in itertools.pairwise(angles)))
    radii = draw(st.lists(st.floats(0.002, 0.02), min_size=n, max_size=n))
    ring = [(cx + r * math.cos(a), cy + r * math.sin(a)) for a, r in zip(angles, radii, strict=True)]
    return [*ring, ring[0]]


@given(star_polygon(), coord)
@settings(max_examples=300, deadline=None)
def test_point_in_polygon_matches_shapely(ring: list[geo.Coord], p: geo.Coord) -> None:
    shape = Polygon(ring)
    assume(shape.is_valid)
    assume(shape.exterior.distance(Point(p)) > 1e-9)  # exactly on an edge may fall either way
    assert geo.in_polygon(p, [ring]) == shape.contains(Point(p))


@given(star_polygon(), st.floats(0.2, 0.6), coord)
@settings(max_examples=200, deadline=None)
def test_holes_are_outside(ring: list[geo.Coord], scale: float, p: geo.Coord) -> None:
    outer = Polygon(ring)
    assume(outer.is_valid)
    c = outer.centroid
    hole = [(c.x + (x - c.x) * scale, c.y + (y - c.y) * scale) for x, y in ring][::-1]
    shape = Polygon(ring, [hole])
    assume(shape.is_valid)
    assume(shape.boundary.distance(Point(p)) > 1e-9)
    assert geo.in_polygon(p, [ring, hole]) == shape.contains(Point(p))


@given(coord, coord, coord)
@settings(max_examples=300, deadline=None)
def test_point_segment_distance_matches_shapely_in_a_local_plane(
    p: geo.Coord, a: geo.Coord, b: geo.Coord
) -> None:
    # shapely measures in the plane tangent at p (the same projection); 0.5 m or 0.1 % tolerance
    expected = (
        LineString([geo.to_local(p, a), geo.to_local(p, b)]).distance(Point(0, 0))
        if a != b
        else math.hypot(*geo.to_local(p, a))
    )
    got = geo.point_segment_m(p, a, b)
    assert got == pytest.approx(expected, abs=0.5, rel=1e-3)


@given(coord, coord)
@settings(max_examples=300, deadline=None)
def test_haversine_matches_the_local_plane_at_city_scale(a: geo.Coord, b: geo.Coord) -> None:
    planar = Point(local(a)).distance(Point(local(b)))
    assert geo.haversine_m(a, b) == pytest.approx(planar, abs=1.0, rel=2e-3)


def test_known_distances() -> None:
    # one degree of latitude ~ 111.2 km; Zhengzhou → Beijing ~ 620 km great circle
    assert geo.haversine_m((113.0, 34.0), (113.0, 35.0)) == pytest.approx(111_195, rel=1e-3)
    assert geo.haversine_m((113.6253, 34.7466), (116.4074, 39.9042)) == pytest.approx(622_000, rel=0.01)
    assert geo.haversine_m(ORIGIN, ORIGIN) == 0.0
    # across the antimeridian
    assert geo.haversine_m((179.999, 0.0), (-179.999, 0.0)) == pytest.approx(222.4, rel=1e-2)


@given(st.lists(coord, min_size=1, max_size=30), coord, st.floats(0, 500))
@settings(max_examples=100, deadline=None)
def test_grid_index_finds_what_a_scan_finds(points: list[geo.Coord], p: geo.Coord, metres: float) -> None:
    index: geo.GridIndex[int] = geo.GridIndex(0.003)
    boxes = [geo.BBox(x, y, x, y).grown(20) for x, y in points]
    for i, box in enumerate(boxes):
        index.add(box, i)
    assert sorted(index.at(p)) == [i for i, box in enumerate(boxes) if box.contains(p)]
    area = geo.BBox(p[0], p[1], p[0], p[1]).grown(metres)
    expected = [
        i
        for i, b in enumerate(boxes)
        if not (
            b.max_lon < area.min_lon
            or b.min_lon > area.max_lon
            or b.max_lat < area.min_lat
            or b.min_lat > area.max_lat
        )
    ]
    assert sorted(index.near(p, metres)) == expected
