"""Applying HQ's ``zone`` changes (``sync.protocol.ZoneData``) to the phone store: a feature is checked
with the same rules HQ imported it by (``enforcement.zones.parse_feature``: bounded vertices, WGS84) before
it is kept; the change keyed ``ZONE_VERSION_KEY`` moves the phone's zone version on."""

from __future__ import annotations

from enforcement.text import LocalizedError
from enforcement.zones import parse_feature
from mobile.hqclient.ports import ClientStore
from sync.protocol import ZONE_VERSION_KEY, Change, ZoneData


class BadZone(LocalizedError):
    code = "bad_zone"


def apply_zone_change(store: ClientStore, change: Change) -> None:
    """``ValidationError`` / ``BadZone`` for unusable data (the cycle counts the change as rejected)."""
    data = ZoneData.model_validate(change.data)
    if change.id == ZONE_VERSION_KEY:
        store.set_zones_version(data.version)
        return
    if data.feature is not None:
        try:
            zone = parse_feature(data.feature)
        except ValueError as exc:
            zh, en = exc.args
            raise BadZone(f"zone {change.id}: {en}", zh=f"区域 {change.id}：{zh}") from None
        if zone.id != change.id:
            raise BadZone(f"zone {change.id} carries id {zone.id}", zh=f"区域 {change.id} 的编号不符")
    store.apply_zone(change.id, data.version, data.feature)
