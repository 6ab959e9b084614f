"""UI texts of zones on the phone (where the officer stands, 疏导点, guidance), zh and en."""

from __future__ import annotations

ZH: dict[str, str] = {
    "zones.title": "所在位置",
    "zones.none": "本机还没有区域数据（同步后可用）",
    "zones.outside": "不在已登记的街道上",
    "zones.street": "{name} · {line}",
    "zones.grid": "网格 {code}",
    "zones.squad": "{squad}辖区",
    "zones.inside_open": "您在{name}内，现在（至 {closes}）允许在此经营",
    "zones.inside_closed": "您在{name}内，但现在不在营业时间（{opens} 开放）",
    "zones.inside_not_exempt": "您在{name}内（正在开放），但现行政策不豁免在疏导点内经营",
    "zones.nearest_open": "最近开放的疏导点：{name}，{distance} 米，{closes} 关闭 · {goods}",
    "zones.no_open": "附近没有正在开放的疏导点",
    "zones.next_open": "下一个开放：{name}，{distance} 米，{opens} 开放",
    "zones.guide": "引导至{name}",
    "zones.guided": "已记录：引导至{name}",
    "zones.guide_clear": "取消引导",
    "zones.distance_km": "{km} 公里",
    "disposition.guided_to_spot": "引导至疏导点",
}
EN: dict[str, str] = {
    "zones.title": "Where you stand",
    "zones.none": "No zones on this phone yet (sync to get them)",
    "zones.outside": "Not on a registered street",
    "zones.street": "{name} · {line}",
    "zones.grid": "Grid {code}",
    "zones.squad": "{squad} area",
    "zones.inside_open": "You are in {name}: vending is allowed here now (until {closes})",
    "zones.inside_closed": "You are in {name}, but it is closed now (opens {opens})",
    "zones.inside_not_exempt": "You are in {name} (open now), but the policy does not exempt vending here",
    "zones.nearest_open": "Nearest open vending spot: {name}, {distance} m, closes {closes} · {goods}",
    "zones.no_open": "No vending spot open nearby",
    "zones.next_open": "Next to open: {name}, {distance} m, opens {opens}",
    "zones.guide": "Guide to {name}",
    "zones.guided": "Recorded: guided to {name}",
    "zones.guide_clear": "Cancel guidance",
    "zones.distance_km": "{km} km",
    "disposition.guided_to_spot": "Guided to a vending spot",
}
