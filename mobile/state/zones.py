"""Where the officer stands, offline: the zones in the phone store indexed once per zone version
(``enforcement.zones.ZoneIndex``), asked at a GPS fix. No network, no map tiles: the state computes, the
views render (``Whereabouts``: ready-made lines in the officer's language). Whether an open 疏导点 exempts
vending is the policy the phone holds (``mobile.policyheld.held_policy``: ``Policy.spot_exempts_vending``;
the built-in version 0 says no), read at each lookup so a synced policy applies at once."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from enforcement.model import LOCAL_TZ
from enforcement.policy import DEFAULT_POLICY, Policy
from enforcement.text import Lang
from enforcement.zones import VENDING_CODES, Standing, Zone, ZoneIndex, class_line, parse_feature
from mobile.i18n import t

#: A spot open at least this long from now is shown as open all day (no closing time).
ALL_DAY = timedelta(hours=24)


class ZoneSource(Protocol):
    def zones_version(self) -> int: ...
    def zone_count(self) -> int: ...
    def zone_features(self) -> list[dict[str, Any]]: ...


@dataclass(frozen=True, slots=True)
class SpotChoice:
    spot_id: str
    name: str
    label: str  # "引导至人民路夜市疏导点"


@dataclass(frozen=True, slots=True)
class Whereabouts:
    """What the location step shows: each line already in the officer's language ("" = nothing to say)."""

    street: str = ""  # "人民路 · 商业街 · 管活：以疏为主"
    grid: str = ""  # "网格 JS-0101"
    squad: str = ""
    allowed: str = ""  # inside an open 疏导点: vending is allowed here now
    nearest: str = ""  # the nearest open spot (vending violations only)
    next_open: str = ""
    choices: tuple[SpotChoice, ...] = ()  # 引导至疏导点, for vending violations
    grid_code: str = ""
    street_class: str = ""  # StreetClass value ("" off any street)
    street_name: str = ""


def _hhmm(moment: datetime | None, now: datetime) -> str:
    if moment is None:
        return ""
    local = moment.astimezone(LOCAL_TZ)
    days = (local.date() - now.astimezone(LOCAL_TZ).date()).days
    prefix = "" if days == 0 else ("次日 " if days == 1 else f"{local:%m-%d} ")
    return prefix + f"{local:%H:%M}"


class ZonesState:
    """The zone index of the phone's current zone version, rebuilt when a sync changed the zones."""

    def __init__(self, store: ZoneSource, *, now: Callable[[], datetime],
                 policy: Callable[[], Policy] = lambda: DEFAULT_POLICY) -> None:  # fmt: skip
        self._store = store
        self._now = now
        self._policy = policy
        self._key: tuple[int, int] | None = None
        self._index: ZoneIndex | None = None
        self._by_id: dict[str, Zone] = {}

    def index(self) -> ZoneIndex | None:
        key = (self._store.zones_version(), self._store.zone_count())
        if key != self._key:
            zones = []
            for feature in self._store.zone_features():
                try:
                    zones.append(parse_feature(feature))
                except ValueError:
                    continue  # checked when pulled; an unreadable row is skipped, not fatal
            self._index = ZoneIndex(zones) if zones else None
            self._by_id = {z.id: z for z in zones}
            self._key = key
        return self._index

    def spot(self, spot_id: str) -> Zone | None:
        self.index()
        return self._by_id.get(spot_id)

    def standing(self, lat: float, lon: float, when: datetime | None = None) -> Standing | None:
        index = self.index()
        if index is None:
            return None
        exempts = self._policy().spot_exempts_vending
        return index.standing(lat, lon, when or self._now(), spot_exempts_vending=exempts)

    def whereabouts(self, lat: float, lon: float, violation_code: str, lang: Lang) -> Whereabouts | None:
        """The lines of the location step at a fix (None: no zones on this phone)."""
        now = self._now()
        here = self.standing(lat, lon, now)
        if here is None:
            return None
        street = ""
        if here.street is not None and here.street.street_class is not None:
            line = class_line(here.street.street_class, lang)
            street = t(lang, "zones.street", name=here.street.name, line=line)
        vending = violation_code in VENDING_CODES
        allowed = nearest = next_open = ""
        if here.inside_spot is not None:
            spot = here.inside_spot
            if here.vending_allowed:
                allowed = t(lang, "zones.inside_open", name=spot.spot.name, closes=_hhmm(spot.closes_at, now))
            elif here.inside_open_spot:
                allowed = t(lang, "zones.inside_not_exempt", name=spot.spot.name)
            else:
                allowed = t(lang, "zones.inside_closed", name=spot.spot.name, opens=_hhmm(spot.opens_at, now))
        choices: tuple[SpotChoice, ...] = ()
        if vending:
            if here.nearest_open is not None:
                best = here.nearest_open
                goods = "、".join(best.spot.goods) or "—"
                closes = _hhmm(best.closes_at, now)
                distance = f"{best.distance_m:.0f}"
                always = best.closes_at is not None and best.closes_at - now >= ALL_DAY
                key = "zones.nearest_open_all_day" if always else "zones.nearest_open"
                nearest = t(lang, key, name=best.spot.name, distance=distance, closes=closes, goods=goods)
            else:
                nearest = t(lang, "zones.no_open")
            if here.next_open is not None:
                soon = here.next_open
                next_open = t(lang, "zones.next_open", name=soon.spot.name, distance=f"{soon.distance_m:.0f}",
                              opens=_hhmm(soon.opens_at, now))  # fmt: skip
            choices = tuple(
                SpotChoice(s.spot.id, s.spot.name, t(lang, "zones.guide", name=s.spot.name))
                for s in here.spots
            )
        return Whereabouts(
            street=street or t(lang, "zones.outside"),
            grid=t(lang, "zones.grid", code=here.grid.code) if here.grid else "",
            squad=t(lang, "zones.squad", squad=here.squad.name or here.squad.code) if here.squad else "",
            allowed=allowed,
            nearest=nearest,
            next_open=next_open,
            choices=choices,
            grid_code=here.grid.code if here.grid else "",
            street_class=here.street.street_class.value if here.street and here.street.street_class else "",
            street_name=here.street.name if here.street else "",
        )
