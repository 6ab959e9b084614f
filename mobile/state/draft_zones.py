"""Zones in the case draft (a part of ``mobile.state.new_case.CaseDraftState``): where the officer stands at
the fix (``mobile.state.zones``), and the disposition 引导至疏导点 with the spot it names.

Guidance is recorded additively, so old cases and an older HQ keep working: the case's ``disposition`` stays
劝离 (``PERSUADED``) and ``Case.extra`` carries ``guided_spot`` (the spot's zone id) and
``guided_spot_name``; the street and its class at the fix go in ``extra`` too (``street``,
``street_class``), the grid code in ``Location.grid_cell`` when the officer typed none.
"""

from __future__ import annotations

from dataclasses import replace

from enforcement.model import Disposition, Location
from enforcement.text import Lang
from enforcement.zones import (
    EXTRA_GUIDED_SPOT,
    EXTRA_GUIDED_SPOT_NAME,
    EXTRA_STREET,
    EXTRA_STREET_CLASS,
    VENDING_CODES,
)
from mobile.state.draft import Draft
from mobile.state.zones import Whereabouts, ZonesState

__all__ = ["EXTRA_GUIDED_SPOT", "EXTRA_GUIDED_SPOT_NAME", "EXTRA_STREET", "EXTRA_STREET_CLASS", "DraftZones"]


class DraftZones:
    """Mixed into CaseDraftState; ``zones`` is set by ``mobile.state.app_state`` (None: no zones)."""

    draft: Draft | None
    zones: ZonesState | None = None

    def _require(self) -> Draft:
        raise NotImplementedError

    def _persist(self) -> None:
        raise NotImplementedError

    def whereabouts(self, lang: Lang) -> Whereabouts | None:
        draft = self.draft
        if self.zones is None or draft is None or draft.lat is None or draft.lon is None:
            return None
        return self.zones.whereabouts(draft.lat, draft.lon, draft.violation_code, lang)

    def is_vending(self) -> bool:
        draft = self.draft
        return draft is not None and draft.violation_code in VENDING_CODES

    def guide_to_spot(self, spot_id: str) -> None:
        """Record 引导至疏导点 (the spot): the disposition becomes 劝离 with the spot named."""
        spot = self.zones.spot(spot_id) if self.zones else None
        if spot is None:
            raise KeyError(spot_id)
        draft = self._require()
        draft.guided_spot_id = spot.id
        draft.guided_spot_name = spot.name
        draft.disposition = Disposition.PERSUADED.value
        self._persist()

    def clear_guidance(self) -> None:
        draft = self._require()
        draft.guided_spot_id = draft.guided_spot_name = ""
        self._persist()

    def zone_extra(self, disposition: Disposition) -> dict[str, str]:
        """What zones add to ``Case.extra`` at save time."""
        draft = self._require()
        extra: dict[str, str] = {}
        if draft.guided_spot_id and disposition is Disposition.PERSUADED:
            extra[EXTRA_GUIDED_SPOT] = draft.guided_spot_id
            extra[EXTRA_GUIDED_SPOT_NAME] = draft.guided_spot_name
        where = self.whereabouts("zh")
        if where is not None and where.street_class:
            extra[EXTRA_STREET] = where.street_name
            extra[EXTRA_STREET_CLASS] = where.street_class
        return extra

    def zoned_location(self, location: Location) -> Location:
        """The grid cell of the fix where the officer typed none."""
        if location.grid_cell:
            return location
        where = self.whereabouts("zh")
        return replace(location, grid_cell=where.grid_code) if where and where.grid_code else location
