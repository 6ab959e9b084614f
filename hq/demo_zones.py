"""The demo district's zones (金水区, around the demo GPS fix 34.7466 N, 113.6253 E, 人民路夜市), WGS84.

Streets of each class, the two squads' areas, five grid cells and five 疏导点 (one on 农业路 open all day,
``ALL_DAY_SPOT``: a spot open whatever the hour, for the browser tests that run on the real clock; it is
3.7 km from the demo fix, beyond the phone's 3 km spot search, so the demo point's answers do not change).
``seed_demo_zones`` imports them as a zone version when the demo is seeded and none exists yet. Coordinates
are made up around the demo point (they follow no real street exactly)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from hq.storage.base import Storage
from hq.zones import import_zones

LON, LAT = 113.6253, 34.7466  # the demo fix (testkit.harness.GEO)
#: The all-day 疏导点 on 农业路 (商业街), and a fix on 农业路 about 100 m from it (grid JS-0202, ZD02's area).
ALL_DAY_SPOT = "sp-nongye-allday"
ALL_DAY_SPOT_NAME = "农业路便民疏导点"
ALL_DAY_SPOT_POINT = (113.6400, 34.7803)  # lon, lat
NEAR_ALL_DAY_FIX = (113.6390, 34.7800)  # lon, lat: on 农业路, about 100 m from the spot's point


def _street(fid: str, name: str, cls: str, coords: list[list[float]], buffer_m: float = 30) -> dict[str, Any]:
    return {
        "type": "Feature",
        "id": fid,
        "properties": {"kind": "street", "name": name, "class": cls, "buffer_m": buffer_m},
        "geometry": {"type": "LineString", "coordinates": coords},
    }


def _box(lon0: float, lat0: float, lon1: float, lat1: float) -> list[list[list[float]]]:
    return [[[lon0, lat0], [lon1, lat0], [lon1, lat1], [lon0, lat1], [lon0, lat0]]]


def _area(fid: str, props: dict[str, Any], box: tuple[float, float, float, float]) -> dict[str, Any]:
    return {
        "type": "Feature",
        "id": fid,
        "properties": props,
        "geometry": {"type": "Polygon", "coordinates": _box(*box)},
    }


def _spot(fid: str, name: str, geometry: dict[str, Any], hours: dict[str, list[str]], goods: list[str],
          capacity: int, contact: str) -> dict[str, Any]:  # fmt: skip
    return {
        "type": "Feature",
        "id": fid,
        "properties": {
            "kind": "vending_spot",
            "name": name,
            "hours": hours,
            "goods": goods,
            "capacity": capacity,
            "contact": contact,
        },
        "geometry": geometry,
    }


def demo_zones() -> dict[str, Any]:
    features = [
        # streets: 商业街 人民路 runs through the demo point
        _street("st-renmin", "人民路", "commercial", [[LON, LAT - 0.006], [LON, LAT + 0.008]], 40),
        _street("st-nongye", "农业路", "commercial", [[113.6150, 34.7800], [113.6600, 34.7800]]),
        _street("st-huayuan", "花园路", "regulated", [[113.6420, 34.7400], [113.6420, 34.7900]]),
        _street("st-jingsan", "经三路", "regulated", [[113.6330, 34.7400], [113.6330, 34.7750]]),
        _street("st-jinshui", "金水路", "model", [[113.6050, 34.7560], [113.6700, 34.7560]], 50),
        _street("st-zijingshan", "紫荆山路", "model", [[113.6180, 34.7400], [113.6180, 34.7800]], 50),
        # squad areas (dispatch of hotline complaints will use them)
        _area(
            "sq-zd01",
            {"kind": "squad_area", "squad": "ZD01", "name": "人民路中队辖区"},
            (113.6000, 34.7300, 113.6350, 34.7700),
        ),
        _area(
            "sq-zd02",
            {"kind": "squad_area", "squad": "ZD02", "name": "花园路中队辖区"},
            (113.6350, 34.7300, 113.6700, 34.7900),
        ),
        # grid cells 网格
        _area(
            "g-0101",
            {"kind": "grid_cell", "code": "JS-0101", "name": "人民路南网格"},
            (113.6175, 34.7300, 113.6350, 34.7500),
        ),
        _area(
            "g-0102",
            {"kind": "grid_cell", "code": "JS-0102", "name": "人民路北网格"},
            (113.6175, 34.7500, 113.6350, 34.7700),
        ),
        _area(
            "g-0103",
            {"kind": "grid_cell", "code": "JS-0103", "name": "紫荆山西网格"},
            (113.6000, 34.7300, 113.6175, 34.7700),
        ),
        _area(
            "g-0201",
            {"kind": "grid_cell", "code": "JS-0201", "name": "花园路南网格"},
            (113.6350, 34.7300, 113.6700, 34.7600),
        ),
        _area(
            "g-0202",
            {"kind": "grid_cell", "code": "JS-0202", "name": "花园路北网格"},
            (113.6350, 34.7600, 113.6700, 34.7900),
        ),
        # 疏导点
        _spot(
            "sp-renmin-night",
            "人民路夜市疏导点",
            {"type": "Point", "coordinates": [LON + 0.0008, LAT + 0.0004]},
            {"daily": ["17:00-23:00"], "fri": ["17:00-02:00"], "sat": ["17:00-02:00"]},
            ["小吃", "水果", "日用百货"],
            40,
            "人民路中队 0371-6000-0101",
        ),
        _spot(
            "sp-jingsan-noon",
            "经三路便民疏导点",
            {"type": "Polygon", "coordinates": _box(113.6320, 34.7440, 113.6326, 34.7446)},
            {"daily": ["10:00-14:00", "17:00-21:00"]},
            ["早餐", "蔬菜"],
            15,
            "人民路中队 0371-6000-0101",
        ),
        _spot(
            "sp-huayuan-morning",
            "花园路早市疏导点",
            {"type": "Point", "coordinates": [113.6430, 34.7500]},
            {"daily": ["06:00-09:00"]},
            ["蔬菜", "水果"],
            30,
            "花园路中队 0371-6000-0201",
        ),
        _spot(
            "sp-nongye-night",
            "农业路夜市疏导点",
            {"type": "Point", "coordinates": [113.6450, 34.7805]},
            {"daily": ["18:00-02:00"]},
            ["小吃", "烧烤（限无烟）"],
            50,
            "花园路中队 0371-6000-0201",
        ),
        _spot(
            ALL_DAY_SPOT,
            ALL_DAY_SPOT_NAME,
            {"type": "Point", "coordinates": list(ALL_DAY_SPOT_POINT)},
            {"daily": ["00:00-24:00"]},
            ["早餐", "水果", "日用百货"],
            20,
            "花园路中队 0371-6000-0201",
        ),
    ]
    return {"type": "FeatureCollection", "features": features}


def seed_demo_zones(storage: Storage, at: datetime) -> int | None:
    """Import the demo zones unless a zone version exists; the new version (None: left as it was)."""
    with storage.transaction(readonly=True) as tx:
        if tx.zone_version() is not None:
            return None
    data = json.dumps(demo_zones(), ensure_ascii=False).encode("utf-8")
    return import_zones(storage, data, by="cli", at=at).version
