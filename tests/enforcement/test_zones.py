"""enforcement.zones: GeoJSON zones parsed whole or refused by feature, and where a point stands."""

from __future__ import annotations

import json
import random
from datetime import datetime
from typing import Any

import pytest

from enforcement.model import LOCAL_TZ
from enforcement.zones import (
    MAX_FEATURES,
    MAX_FILE_BYTES,
    MAX_VERTICES,
    StreetClass,
    ZoneIndex,
    ZoneKind,
    brute_standing,
    class_line,
    parse_collection,
)
from hq.demo_zones import LAT, LON, demo_zones

EVENING = datetime(2026, 12, 7, 19, 30, tzinfo=LOCAL_TZ)  # a Monday
NOON = datetime(2026, 12, 7, 12, 0, tzinfo=LOCAL_TZ)


def encoded(doc: Any) -> bytes:
    return json.dumps(doc, ensure_ascii=False).encode()


def test_the_demo_set_parses_and_every_kind_is_there() -> None:
    parsed = parse_collection(encoded(demo_zones()))
    assert parsed.ok, parsed.problems
    kinds = {z.kind for z in parsed.zones}
    assert kinds == set(ZoneKind)
    classes = {z.street_class for z in parsed.zones if z.kind is ZoneKind.STREET}
    assert classes == set(StreetClass)


def test_standing_at_the_demo_point_in_the_evening() -> None:
    index = ZoneIndex(parse_collection(encoded(demo_zones())).zones)
    here = index.standing(LAT, LON, EVENING)
    assert here.street is not None
    assert here.street.name == "人民路"
    assert here.street.street_class is StreetClass.COMMERCIAL
    assert class_line(here.street.street_class) == "商业街 · 管活：以疏为主"
    assert class_line(here.street.street_class, "en") == "Commercial street · flexible: mainly guide"
    assert here.grid is not None
    assert here.grid.code == "JS-0101"
    assert here.squad is not None
    assert here.squad.code == "ZD01"
    assert here.nearest_open is not None
    assert here.nearest_open.spot.name == "人民路夜市疏导点"
    assert 50 < here.nearest_open.distance_m < 100
    assert here.nearest_open.closes_at == datetime(2026, 12, 7, 23, 0, tzinfo=LOCAL_TZ)
    assert here.inside_spot is None
    assert not here.vending_allowed


def test_at_noon_the_night_market_is_the_next_to_open_or_another_is_open() -> None:
    index = ZoneIndex(parse_collection(encoded(demo_zones())).zones)
    here = index.standing(LAT, LON, NOON)
    assert here.nearest_open is not None
    assert here.nearest_open.spot.name == "经三路便民疏导点"
    assert here.next_open is not None
    assert here.next_open.spot.name == "人民路夜市疏导点"
    assert here.next_open.opens_at == datetime(2026, 12, 7, 17, 0, tzinfo=LOCAL_TZ)


def test_inside_an_open_spot_vending_is_allowed() -> None:
    index = ZoneIndex(parse_collection(encoded(demo_zones())).zones)
    here = index.standing(LAT + 0.0004, LON + 0.0008, EVENING)  # on the night market's point
    assert here.inside_spot is not None
    assert here.inside_spot.closes_at is not None
    assert here.vending_allowed
    shut = index.standing(LAT + 0.0004, LON + 0.0008, NOON)
    assert shut.inside_spot is not None
    assert not shut.vending_allowed


def test_the_index_answers_as_a_scan_of_every_zone() -> None:
    zones = parse_collection(encoded(demo_zones())).zones
    index = ZoneIndex(zones)
    rng = random.Random(7)
    for _ in range(300):
        lat, lon = LAT + rng.uniform(-0.03, 0.05), LON + rng.uniform(-0.03, 0.05)
        when = EVENING if rng.random() < 0.5 else NOON
        a, b = index.standing(lat, lon, when), brute_standing(zones, lat, lon, when)
        assert (a.street, a.grid, a.squad) == (b.street, b.grid, b.squad)
        assert (a.nearest_open and a.nearest_open.spot.id) == (b.nearest_open and b.nearest_open.spot.id)
        assert (a.next_open and a.next_open.spot.id) == (b.next_open and b.next_open.spot.id)


def _feature(kind: str, geometry: dict[str, Any], **props: Any) -> dict[str, Any]:
    return {"type": "Feature", "properties": {"kind": kind, **props}, "geometry": geometry}


POINT = {"type": "Point", "coordinates": [LON, LAT]}
SQUARE = {"type": "Polygon", "coordinates": [[[LON, LAT], [LON + 0.001, LAT], [LON + 0.001, LAT + 0.001],
                                              [LON, LAT + 0.001], [LON, LAT]]]}  # fmt: skip


def test_every_bad_feature_is_reported_by_index_in_both_languages() -> None:
    good = _feature("grid_cell", SQUARE, code="JS-9")
    doc = {"type": "FeatureCollection", "features": [
        good,
        _feature("street", SQUARE, name="无类街"),  # no class
        _feature("vending_spot", POINT, name="夜市", hours={"mon": ["25:00-26:00"]}),
        _feature("grid_cell", POINT, code="JS-1"),  # a point cell
        _feature("lake", SQUARE),
        {"type": "Feature", "properties": {"kind": "grid_cell", "code": "x"},
         "geometry": {"type": "Polygon",
                      "coordinates": [[[LON, LAT], [LON + 1, LAT], [LON, LAT + 1], [LON + 1, LAT + 1]]]}},
        _feature("grid_cell", {"type": "Polygon",
                               "coordinates": [[[200, 10], [201, 10], [201, 11], [200, 10]]]}, code="far"),
        _feature("street", {"type": "LineString", "coordinates": [[LON, LAT], [LON, LAT + 0.01]]}, name="街",
                 **{"class": "商业街"}),
        good,  # the same id again
    ]}  # fmt: skip
    parsed = parse_collection(encoded(doc))
    assert not parsed.ok
    assert [p.index for p in parsed.problems] == [1, 2, 3, 4, 5, 6, 7, 8]
    texts = {p.index: (p.zh, p.en) for p in parsed.problems}
    assert "class" in texts[1][1]
    assert "示范街" in texts[1][0]
    assert "营业时段" in texts[2][0]
    assert "Point" in texts[3][1]
    assert "kind" in texts[4][1]
    assert "未闭合" in texts[5][0]
    assert "WGS84" in texts[6][1]
    assert "buffer_m" in texts[7][1]
    assert "重复" in texts[8][0]
    assert "repeats" in texts[8][1]
    assert parsed.problems[0].message("zh").startswith("第 1 个要素：")


def test_sizes_are_bounded_before_parsing_in_full() -> None:
    assert not parse_collection(b" " * (MAX_FILE_BYTES + 1)).ok
    many = {"type": "FeatureCollection", "features": [{}] * (MAX_FEATURES + 1)}
    [problem] = parse_collection(encoded(many)).problems
    assert problem.index == -1
    assert "features" in problem.en
    ring = [[LON + i * 1e-6, LAT] for i in range(MAX_VERTICES + 1)]
    long_line = _feature("street", {"type": "LineString", "coordinates": ring}, name="长街", buffer_m=10,
                         **{"class": "model"})  # fmt: skip
    [problem] = parse_collection(encoded({"type": "FeatureCollection", "features": [long_line]})).problems
    assert str(MAX_VERTICES) in problem.en
    assert not parse_collection(b"\xff\xfe").ok
    assert not parse_collection(b'{"type": "Feature"}').ok


@pytest.mark.parametrize("crs", ["urn:ogc:def:crs:EPSG::3857", "GCJ-02"])
def test_another_coordinate_system_is_refused(crs: str) -> None:
    doc = {"type": "FeatureCollection", "crs": {"type": "name", "properties": {"name": crs}}, "features": []}
    [problem] = parse_collection(encoded(doc)).problems
    assert "WGS84" in problem.zh
