"""Applying HQ's ``zone`` changes (``sync.protocol.ZoneData``) to the phone store: a feature is checked
with the same rules HQ imported it by (``enforcement.zones.parse_feature``: bounded vertices, WGS84) before
it is kept; the change keyed ``ZONE_VERSION_KEY`` moves the phone's zone version on.

``ZoneBatch`` gathers a pulled page's zone changes (each checked as it comes; an unusable one is rejected
alone) and writes them with the version in one store transaction (``Store.apply_zones``): a first sync of
5,500 zones is a few transactions, not 5,500, and a failed write leaves none of the page's zones behind."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from enforcement.text import LocalizedError
from enforcement.zones import parse_feature
from mobile.hqclient.ports import ClientStore
from sync.protocol import ZONE_VERSION_KEY, Change, ZoneData


class BadZone(LocalizedError):
    code = "bad_zone"


def check_zone_change(change: Change) -> tuple[tuple[str, int, Mapping[str, Any] | None] | None, int | None]:
    """(zone write, None) for a zone's change, (None, version) for the version change; ``ValidationError`` /
    ``BadZone`` for unusable data (the cycle counts the change as rejected)."""
    data = ZoneData.model_validate(change.data)
    if change.id == ZONE_VERSION_KEY:
        return None, data.version
    if data.feature is not None:
        try:
            zone = parse_feature(data.feature)
        except ValueError as exc:
            zh, en = exc.args
            raise BadZone(f"zone {change.id}: {en}", zh=f"区域 {change.id}：{zh}") from None
        if zone.id != change.id:
            raise BadZone(f"zone {change.id} carries id {zone.id}", zh=f"区域 {change.id} 的编号不符")
    return (change.id, data.version, data.feature), None


class ZoneBatch:
    """A page's usable zone changes, in order, and the highest zone version among them; ``write`` them."""

    def __init__(self) -> None:
        self.writes: list[tuple[str, int, Mapping[str, Any] | None]] = []
        self.version: int | None = None

    def add(self, change: Change) -> None:
        """Check and keep ``change``; ``ValidationError`` / ``BadZone`` (nothing kept) when unusable."""
        write, version = check_zone_change(change)
        if write is not None:
            self.writes.append(write)
        if version is not None:
            self.version = version if self.version is None else max(self.version, version)

    def write(self, store: ClientStore) -> None:
        """All of them in one store transaction (none when there are none)."""
        if self.writes or self.version is not None:
            store.apply_zones(self.writes, self.version)


def apply_zone_change(store: ClientStore, change: Change) -> None:
    """One change on its own (``ValidationError`` / ``BadZone`` for unusable data)."""
    batch = ZoneBatch()
    batch.add(change)
    batch.write(store)
