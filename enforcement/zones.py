"""Zones of a district as GeoJSON features (RFC 7946: WGS84, ``[lon, lat]``), and where an officer stands.

Zones are stored, sent and exported in WGS84 exactly as imported (no GCJ-02 offsets: the phone's raw GPS
is WGS84). Each feature's ``properties.kind`` says what it is:

=============  ===========================================  ==============================================
kind           geometry                                     properties
=============  ===========================================  ==============================================
street         LineString / MultiLineString (+ buffer_m),   name, class: model 示范街 / regulated 规范街 /
               Polygon / MultiPolygon                       commercial 商业街, buffer_m (lines; 1–200 m)
squad_area     Polygon / MultiPolygon                       squad (code), name
grid_cell      Polygon / MultiPolygon                       code (网格编号), name
vending_spot   Point (+ radius_m, default 30) / Polygon     name, hours (``enforcement.hours``), goods [..],
                                                            capacity, contact
=============  ===========================================  ==============================================

A feature's ``id`` (string or number, ≤ 64 characters) names it across versions; without one it is
``<kind>:<code or name>``. ``parse_collection`` takes the file's bytes and returns the zones, or every bad
feature by index with its reason in Chinese and English (``ZoneProblem``): a file is taken whole or not
at all. Sizes are bounded *before* anything is parsed in full: the file's bytes (``MAX_FILE_BYTES``, so
``json.loads`` has a ceiling), then the number of features, then each ring's vertices, before a geometry
is built.

``ZoneIndex`` answers, offline, where a point stands (street and its class, grid cell, squad area, inside
a 疏导点?) and which spots are nearest and open (``Standing``). Whether an open 疏导点 exempts vending is
HQ's policy (``enforcement.policy.Policy.spot_exempts_vending``): the caller passes it to
``ZoneIndex.standing`` (the phone passes the policy it holds, ``mobile.policyheld``);
``DEFAULT_SPOT_EXEMPTS_VENDING`` is only that argument's default for callers holding no policy.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from enforcement import geo
from enforcement.hours import HoursError, OpeningHours
from enforcement.strictjson import UnstorableJson, loads_storable
from enforcement.text import Lang

#: The whole GeoJSON file, before it is parsed.
MAX_FILE_BYTES = 8 * 2**20
#: Features in one file (a district: streets, squads, grid cells, spots; the bench uses 5,500).
MAX_FEATURES = 10_000
#: Vertices of one ring or line, rings of one polygon, parts of one multi-geometry.
MAX_VERTICES = 2_000
MAX_RINGS = 32
MAX_PARTS = 64
#: Text properties and lists.
MAX_NAME = 64
MAX_CODE = 32
MAX_GOODS = 20
MAX_GOOD = 32
MAX_ID = 64
#: Street buffer and spot radius bounds (metres).
MAX_BUFFER_M = 200.0
DEFAULT_SPOT_RADIUS_M = 30.0
#: How far the phone looks for 疏导点 (metres).
SPOT_SEARCH_M = 3_000.0

#: Violations that are street vending (占道经营): 0501 无照经营游商, 0504 店外经营. The location step offers
#: 疏导点 for these.
VENDING_CODES: frozenset[str] = frozenset({"0501", "0504"})
#: ``Case.extra`` keys zones write on the phone (``mobile.state.draft_zones``) and reports read
#: (``patrollog.zonecount``): the 疏导点 a vendor was guided to (引导至疏导点; the disposition stays 劝离),
#: and the street and its class at the fix (the grid code goes in ``Location.grid_cell``).
EXTRA_GUIDED_SPOT = "guided_spot"
EXTRA_GUIDED_SPOT_NAME = "guided_spot_name"
EXTRA_STREET = "street"
EXTRA_STREET_CLASS = "street_class"
#: ``ZoneIndex.standing``'s default for whether vending inside an open 疏导点 is allowed, for callers that
#: hold no policy (geometry tests, tools). The phone passes its held ``Policy.spot_exempts_vending``.
DEFAULT_SPOT_EXEMPTS_VENDING = True


class ZoneKind(StrEnum):
    STREET = "street"
    SQUAD_AREA = "squad_area"
    GRID_CELL = "grid_cell"
    VENDING_SPOT = "vending_spot"


class StreetClass(StrEnum):
    MODEL = "model"  # 示范街 管严 以堵为主
    REGULATED = "regulated"  # 规范街 管住 堵疏结合
    COMMERCIAL = "commercial"  # 商业街 管活 以疏为主


#: Per class: (name zh, approach zh, name en, approach en).
STREET_CLASS_TEXT: dict[StreetClass, tuple[str, str, str, str]] = {
    StreetClass.MODEL: ("示范街", "管严：以堵为主", "Model street", "strict: mainly block"),
    StreetClass.REGULATED: ("规范街", "管住：堵疏结合", "Regulated street", "regulated: block and guide"),
    StreetClass.COMMERCIAL: ("商业街", "管活：以疏为主", "Commercial street", "flexible: mainly guide"),
}
_CLASS_ALIASES = {
    "示范街": StreetClass.MODEL,
    "规范街": StreetClass.REGULATED,
    "商业街": StreetClass.COMMERCIAL,
}


def class_line(street_class: StreetClass, lang: Lang = "zh") -> str:
    """``商业街 · 管活：以疏为主`` / ``Commercial street · flexible: mainly guide``."""
    zh, zh_way, en, en_way = STREET_CLASS_TEXT[street_class]
    return f"{zh} · {zh_way}" if lang == "zh" else f"{en} · {en_way}"


@dataclass(frozen=True, slots=True)
class ZoneProblem:
    index: int  # the feature's position in the file (0-based); -1: the file itself
    zh: str
    en: str

    def message(self, lang: Lang = "zh") -> str:
        where = (
            ("文件" if lang == "zh" else "file")
            if self.index < 0
            else (f"第 {self.index} 个要素" if lang == "zh" else f"feature {self.index}")
        )
        return f"{where}：{self.zh}" if lang == "zh" else f"{where}: {self.en}"


class _Bad(Exception):
    def __init__(self, zh: str, en: str) -> None:
        super().__init__(en)
        self.zh, self.en = zh, en


_NO_BOX = geo.BBox(0, 0, 0, 0)


@dataclass(frozen=True, slots=True)
class Zone:
    """One feature. ``polygons`` (each exterior + holes) or ``lines`` (with ``reach_m``: a street's half
    buffer, a point spot's radius) hold the geometry; ``feature`` is the GeoJSON as imported."""

    id: str
    kind: ZoneKind
    name: str
    feature: Mapping[str, Any]
    polygons: tuple[tuple[tuple[geo.Coord, ...], ...], ...] = ()
    lines: tuple[tuple[geo.Coord, ...], ...] = ()
    reach_m: float = 0.0
    box: geo.BBox = _NO_BOX
    street_class: StreetClass | None = None
    code: str = ""  # grid code / squad code
    hours: OpeningHours | None = None
    goods: tuple[str, ...] = ()
    capacity: int = 0
    contact: str = ""

    def distance_m(self, p: geo.Coord) -> float:
        """0 when ``p`` is in the zone, else metres to it."""
        best = math.inf
        for polygon in self.polygons:
            best = min(best, geo.polygon_m(p, polygon))
        for line in self.lines:
            best = min(best, max(0.0, geo.point_line_m(p, line) - self.reach_m))
        return best

    def contains(self, p: geo.Coord) -> bool:
        if not self.box.contains(p):
            return False
        return self.distance_m(p) == 0.0


# ---------------------------------------------------------------------------------------------- parse


def _text(props: Mapping[str, Any], key: str, limit: int, *, required: bool = False) -> str:
    value = props.get(key, "")
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise _Bad(f"属性 {key} 应为文字", f"property {key} must be a string")
    value = value.strip()
    if len(value) > limit:
        raise _Bad(f"属性 {key} 超过 {limit} 个字符", f"property {key} is longer than {limit} characters")
    if any(ch < " " or "\ud800" <= ch <= "\udfff" for ch in value):
        raise _Bad(f"属性 {key} 含控制字符", f"property {key} holds control characters")
    if required and not value:
        raise _Bad(f"缺少属性 {key}", f"property {key} is missing")
    return value


def _coord(value: Any) -> geo.Coord:
    if not isinstance(value, list) or len(value) not in (2, 3):
        raise _Bad("坐标应为 [经度, 纬度]", "a position must be [lon, lat]")
    lon, lat = value[0], value[1]
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in (lon, lat)):
        raise _Bad("坐标应为数字", "coordinates must be numbers")
    if not (-180 <= lon <= 180 and -90 <= lat <= 90) or math.isnan(lon) or math.isnan(lat):
        raise _Bad("坐标超出 WGS84 经纬度范围", "a position is outside WGS84 lon/lat ranges")
    return float(lon), float(lat)


def _positions(value: Any, minimum: int) -> tuple[geo.Coord, ...]:
    if not isinstance(value, list):
        raise _Bad("坐标列表格式错误", "a coordinate list is malformed")
    if len(value) > MAX_VERTICES:
        raise _Bad(
            f"一条线或环超过 {MAX_VERTICES} 个顶点", f"a line or ring has more than {MAX_VERTICES} vertices"
        )
    if len(value) < minimum:
        raise _Bad(f"一条线或环少于 {minimum} 个顶点", f"a line or ring has fewer than {minimum} positions")
    return tuple(_coord(v) for v in value)


def _polygon(value: Any) -> tuple[tuple[geo.Coord, ...], ...]:
    if not isinstance(value, list) or not value:
        raise _Bad("多边形格式错误", "a polygon is malformed")
    if len(value) > MAX_RINGS:
        raise _Bad(f"多边形超过 {MAX_RINGS} 个环", f"a polygon has more than {MAX_RINGS} rings")
    rings = tuple(_positions(ring, 4) for ring in value)
    for ring in rings:
        if ring[0] != ring[-1]:
            raise _Bad("多边形的环未闭合（首尾坐标应相同）", "a polygon ring is not closed (first != last)")
    return rings


def _parts(value: Any) -> list[Any]:
    if not isinstance(value, list) or not value:
        raise _Bad("多部件几何格式错误", "a multi-geometry is malformed")
    if len(value) > MAX_PARTS:
        raise _Bad(f"几何部件超过 {MAX_PARTS} 个", f"a geometry has more than {MAX_PARTS} parts")
    return value


_KIND_GEOMETRY = {
    ZoneKind.STREET: {"LineString", "MultiLineString", "Polygon", "MultiPolygon"},
    ZoneKind.SQUAD_AREA: {"Polygon", "MultiPolygon"},
    ZoneKind.GRID_CELL: {"Polygon", "MultiPolygon"},
    ZoneKind.VENDING_SPOT: {"Point", "Polygon"},
}
_KIND_ZH = {ZoneKind.STREET: "街道", ZoneKind.SQUAD_AREA: "中队辖区", ZoneKind.GRID_CELL: "网格",
            ZoneKind.VENDING_SPOT: "疏导点"}  # fmt: skip


def _number(props: Mapping[str, Any], key: str, low: float, high: float, default: float | None) -> float:
    value = props.get(key, default)
    if value is None:
        raise _Bad(f"缺少属性 {key}", f"property {key} is missing")
    if not isinstance(value, int | float) or isinstance(value, bool) or not (low <= value <= high):
        raise _Bad(
            f"属性 {key} 应为 {low:g}–{high:g} 之间的数",
            f"property {key} must be a number in {low:g}–{high:g}",
        )
    return float(value)


def parse_feature(raw: Any) -> Zone:
    """One GeoJSON feature as a Zone; ``ValueError`` (its args: zh, en) when it is not a valid zone."""
    try:
        return _feature(raw)
    except _Bad as bad:
        raise ValueError(bad.zh, bad.en) from None


def _feature(raw: Any) -> Zone:
    if not isinstance(raw, dict) or raw.get("type") != "Feature":
        raise _Bad("不是 GeoJSON 要素（type 应为 Feature）", "not a GeoJSON Feature")
    props = raw.get("properties") or {}
    geometry = raw.get("geometry")
    if not isinstance(props, dict):
        raise _Bad("properties 应为对象", "properties must be an object")
    if not isinstance(geometry, dict):
        raise _Bad("缺少几何（geometry）", "the geometry is missing")
    try:
        kind = ZoneKind(str(props.get("kind")))
    except ValueError:
        raise _Bad(
            "属性 kind 应为 street、squad_area、grid_cell 或 vending_spot",
            "property kind must be street, squad_area, grid_cell or vending_spot",
        ) from None
    gtype = geometry.get("type")
    if gtype not in _KIND_GEOMETRY[kind]:
        allowed = "、".join(sorted(_KIND_GEOMETRY[kind]))
        names = ", ".join(sorted(_KIND_GEOMETRY[kind]))
        raise _Bad(
            f"{_KIND_ZH[kind]}的几何类型应为 {allowed}，而不是 {gtype}",
            f"a {kind.value} must be {names}, not {gtype}",
        )
    coords = geometry.get("coordinates")
    polygons: tuple[tuple[tuple[geo.Coord, ...], ...], ...] = ()
    lines: tuple[tuple[geo.Coord, ...], ...] = ()
    if gtype == "Point":
        lines = ((_coord(coords),),)
    elif gtype == "LineString":
        lines = (_positions(coords, 2),)
    elif gtype == "MultiLineString":
        lines = tuple(_positions(part, 2) for part in _parts(coords))
    elif gtype == "Polygon":
        polygons = (_polygon(coords),)
    else:
        polygons = tuple(_polygon(part) for part in _parts(coords))
    name = _text(props, "name", MAX_NAME)
    code = ""
    reach = 0.0
    street_class = None
    hours = None
    goods: tuple[str, ...] = ()
    capacity = 0
    contact = ""
    if kind is ZoneKind.STREET:
        raw_class = props.get("class")
        street_class = _CLASS_ALIASES.get(raw_class) if isinstance(raw_class, str) else None
        if street_class is None:
            try:
                street_class = StreetClass(str(raw_class))
            except ValueError:
                raise _Bad("属性 class 应为 model（示范街）、regulated（规范街）或 commercial（商业街）",
                           "property class must be model, regulated or commercial") from None  # fmt: skip
        if lines:
            reach = _number(props, "buffer_m", 1, MAX_BUFFER_M, None) / 2
        _text(props, "name", MAX_NAME, required=True)
    elif kind is ZoneKind.SQUAD_AREA:
        code = _text(props, "squad", MAX_CODE, required=True)
    elif kind is ZoneKind.GRID_CELL:
        code = _text(props, "code", MAX_CODE, required=True)
    else:
        _text(props, "name", MAX_NAME, required=True)
        if lines:
            reach = _number(props, "radius_m", 1, MAX_BUFFER_M, DEFAULT_SPOT_RADIUS_M)
        try:
            hours = OpeningHours.parse(props.get("hours"))
        except HoursError as exc:
            raise _Bad(exc.zh, exc.en) from None
        raw_goods = props.get("goods", [])
        if not isinstance(raw_goods, list) or len(raw_goods) > MAX_GOODS:
            raise _Bad(
                f"属性 goods 应为最多 {MAX_GOODS} 项的列表",
                f"property goods must be a list of at most {MAX_GOODS}",
            )
        goods = tuple(_text({"goods": g}, "goods", MAX_GOOD, required=True) for g in raw_goods)
        capacity = int(_number(props, "capacity", 0, 10_000, 0))
        contact = _text(props, "contact", MAX_NAME)
    fid = raw.get("id")
    if fid is None:
        fid = f"{kind.value}:{code or name}"
    if (isinstance(fid, bool) or not isinstance(fid, str | int) or not str(fid).strip()
            or len(str(fid)) > MAX_ID or str(fid).strip().startswith("#")):  # fmt: skip
        raise _Bad(
            f"要素 id 应为不超过 {MAX_ID} 个字符、不以 # 开头的文字或数字",
            f"the feature id must be a string or number of at most {MAX_ID}, not starting with #",
        )
    every = [c for polygon in polygons for ring in polygon for c in ring] + [
        c for line in lines for c in line
    ]
    box = geo.BBox.of(every).grown(reach) if reach else geo.BBox.of(every)
    return Zone(
        id=str(fid).strip(),
        kind=kind,
        name=name,
        feature=raw,
        polygons=polygons,
        lines=lines,
        reach_m=reach,
        box=box,
        street_class=street_class,
        code=code,
        hours=hours,
        goods=goods,
        capacity=capacity,
        contact=contact,
    )


@dataclass(frozen=True, slots=True)
class ZoneSet:
    zones: tuple[Zone, ...]
    problems: tuple[ZoneProblem, ...]

    @property
    def ok(self) -> bool:
        return not self.problems


def parse_collection(data: bytes) -> ZoneSet:
    """A whole GeoJSON FeatureCollection. Bad features are all reported (by index); ``ok`` only when none
    is bad. Bounded before parsing in full: the byte size, then the feature count."""
    if len(data) > MAX_FILE_BYTES:
        return _refused(
            f"文件超过 {MAX_FILE_BYTES // 2**20} MB", f"the file is larger than {MAX_FILE_BYTES // 2**20} MB"
        )
    try:
        doc = loads_storable(data.decode("utf-8-sig"))
    except UnstorableJson as bad:  # it is stored as sent: no NUL, lone surrogate or NaN (strictjson)
        return _refused(f"文件无法保存：{bad.zh}", f"the file cannot be stored: {bad.en}")
    except (UnicodeDecodeError, ValueError, RecursionError):
        return _refused("文件不是 UTF-8 编码的 JSON", "the file is not UTF-8 JSON")
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection":
        return _refused("文件应为 GeoJSON FeatureCollection", "the file must be a GeoJSON FeatureCollection")
    features = doc.get("features")
    if not isinstance(features, list):
        return _refused("缺少 features 列表", "the features list is missing")
    if len(features) > MAX_FEATURES:
        return _refused(f"要素超过 {MAX_FEATURES} 个", f"more than {MAX_FEATURES} features")
    crs = doc.get("crs")
    if crs is not None and "CRS84" not in json.dumps(crs) and "4326" not in json.dumps(crs):
        return _refused("坐标系须为 WGS84（RFC 7946）", "the coordinate system must be WGS84 (RFC 7946)")
    zones: list[Zone] = []
    problems: list[ZoneProblem] = []
    seen: dict[str, int] = {}
    for index, raw in enumerate(features):
        try:
            zone = _feature(raw)
        except _Bad as bad:
            problems.append(ZoneProblem(index, bad.zh, bad.en))
            continue
        if zone.id in seen:
            problems.append(ZoneProblem(index, f"id“{zone.id}”与第 {seen[zone.id]} 个要素重复",
                                        f"id {zone.id!r} repeats feature {seen[zone.id]}"))  # fmt: skip
            continue
        seen[zone.id] = index
        zones.append(zone)
    return ZoneSet(tuple(zones), tuple(problems))


def _refused(zh: str, en: str) -> ZoneSet:
    return ZoneSet((), (ZoneProblem(-1, zh, en),))


def feature_of(zone: Zone) -> dict[str, Any]:
    """The zone's GeoJSON feature with its id set (what is stored, sent and exported)."""
    feature = dict(zone.feature)
    feature["id"] = zone.id
    return feature


def collection(features: Sequence[Mapping[str, Any]], version: int | None = None) -> dict[str, Any]:
    doc: dict[str, Any] = {"type": "FeatureCollection", "features": list(features)}
    if version is not None:
        doc["properties"] = {"version": version, "crs": "WGS84 (RFC 7946)"}
    return doc


# ---------------------------------------------------------------------------------------------- lookup


@dataclass(frozen=True, slots=True)
class SpotNear:
    spot: Zone
    distance_m: float
    closes_at: datetime | None = None  # open now: when it closes
    opens_at: datetime | None = None  # closed now: when it opens next


@dataclass(frozen=True, slots=True)
class Standing:
    """Where a point stands: the street (nearest containing), grid cell, squad area, the 疏导点 it is in
    (open or not), the nearest open spot and the nearest spot opening next."""

    street: Zone | None = None
    grid: Zone | None = None
    squad: Zone | None = None
    inside_spot: SpotNear | None = None
    nearest_open: SpotNear | None = None
    next_open: SpotNear | None = None
    spots: tuple[SpotNear, ...] = field(default=())  # open spots by distance (a few), for the guidance choice
    spot_exempts_vending: bool = DEFAULT_SPOT_EXEMPTS_VENDING  # the policy the answer was given under

    @property
    def inside_open_spot(self) -> bool:
        """Inside a 疏导点 that is open now."""
        return bool(self.inside_spot and self.inside_spot.closes_at)

    @property
    def vending_allowed(self) -> bool:
        """Inside a 疏导点 that is open now, and the policy lets that exempt vending."""
        return self.spot_exempts_vending and self.inside_open_spot


class ZoneIndex:
    """The zones of one version, indexed for offline lookup."""

    def __init__(self, zones: Sequence[Zone], cell_deg: float = 0.005) -> None:
        self.areas: geo.GridIndex[Zone] = geo.GridIndex(cell_deg)
        self.spots: geo.GridIndex[Zone] = geo.GridIndex(cell_deg * 4)
        self.count = len(zones)
        for zone in zones:
            (self.spots if zone.kind is ZoneKind.VENDING_SPOT else self.areas).add(zone.box, zone)

    def standing(
        self,
        lat: float,
        lon: float,
        now: datetime,
        *,
        search_m: float = SPOT_SEARCH_M,
        keep: int = 3,
        spot_exempts_vending: bool = DEFAULT_SPOT_EXEMPTS_VENDING,
    ) -> Standing:
        p = (lon, lat)
        street = grid = squad = None
        street_d = math.inf
        for zone in self.areas.at(p):
            if zone.kind is ZoneKind.STREET:
                d = _centre_m(zone, p)
                if d < street_d and zone.contains(p):
                    street, street_d = zone, d
            elif zone.kind is ZoneKind.GRID_CELL and grid is None and zone.contains(p):
                grid = zone
            elif zone.kind is ZoneKind.SQUAD_AREA and squad is None and zone.contains(p):
                squad = zone
        inside = None
        open_near: list[SpotNear] = []
        next_open: SpotNear | None = None
        for spot in self.spots.near(p, search_m):
            d = spot.distance_m(p)
            if d > search_m or spot.hours is None:
                continue
            closes = spot.hours.closes_at(now)
            near = SpotNear(
                spot, d, closes_at=closes, opens_at=None if closes else spot.hours.next_opening(now)
            )
            if d == 0.0 and (inside is None or closes):
                inside = near
            if closes:
                open_near.append(near)
            elif near.opens_at and (
                next_open is None or (near.opens_at, d) < (next_open.opens_at or now, next_open.distance_m)
            ):
                next_open = near
        open_near.sort(key=lambda s: s.distance_m)
        return Standing(
            street=street,
            grid=grid,
            squad=squad,
            inside_spot=inside,
            nearest_open=open_near[0] if open_near else None,
            next_open=next_open,
            spots=tuple(open_near[:keep]),
            spot_exempts_vending=spot_exempts_vending,
        )


def _centre_m(zone: Zone, p: geo.Coord) -> float:
    """How deep ``p`` is in a street: distance to its centre line (0 for a street drawn as a polygon)."""
    if zone.lines:
        return min(geo.point_line_m(p, line) for line in zone.lines)
    return 0.0


def brute_standing(zones: Sequence[Zone], lat: float, lon: float, now: datetime, *,
                   spot_exempts_vending: bool = DEFAULT_SPOT_EXEMPTS_VENDING) -> Standing:  # fmt: skip
    """The same answer as ``ZoneIndex.standing`` by testing every zone (a test oracle and bench floor)."""
    index = ZoneIndex([], cell_deg=1e9)  # one giant cell: every zone is a candidate
    for zone in zones:
        (index.spots if zone.kind is ZoneKind.VENDING_SPOT else index.areas).add(zone.box, zone)
    return index.standing(lat, lon, now, spot_exempts_vending=spot_exempts_vending)
