"""Zones at HQ: import a GeoJSON FeatureCollection as a new version, export the current one, and fan the
changed features out to phones as ``zone`` changes.

An import is one transaction and all or nothing: the file is parsed and checked whole
(``enforcement.zones.parse_collection``: bounded by size, feature count and vertices before geometry is
built); any bad feature refuses the whole file (``ZonesRefused``, every problem by index, zh and en). A good
file becomes version n+1 (``Tx.add_zone_version``). Phones get only what changed against the version
before: a ``zone`` change per added or changed feature, one with ``feature: null`` per removed feature,
and the version announcement (``sync.protocol.ZONE_VERSION_KEY``). The feed keeps the newest change per
key, so a phone's first pull still gets the whole current set. Coordinates are WGS84 as imported.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from enforcement.text import LocalizedError
from enforcement.zones import ZoneProblem, collection, feature_of, parse_collection
from hq.storage.base import ChangeKind, ChangeScope, Storage
from sync.protocol import ZONE_VERSION_KEY, ZoneData, ZoneImportResult


class ZonesRefused(LocalizedError):
    """The file was refused whole; ``problems`` says why, feature by feature."""

    code = "zones_invalid"

    def __init__(self, problems: tuple[ZoneProblem, ...]) -> None:
        first = problems[0]
        more = f" (+{len(problems) - 1})" if len(problems) > 1 else ""
        super().__init__(first.message("en") + more, zh=first.message("zh") + more, field="zones")
        self.problems = problems


@dataclass(frozen=True, slots=True)
class Diff:
    added: list[dict[str, Any]]
    changed: list[dict[str, Any]]
    removed: list[str]


def _canonical(feature: Any) -> str:
    return json.dumps(feature, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def diff(before: list[dict[str, Any]], after: list[dict[str, Any]]) -> Diff:
    old = {str(f["id"]): _canonical(f) for f in before}
    new_ids = {str(f["id"]) for f in after}
    added = [f for f in after if str(f["id"]) not in old]
    changed = [f for f in after if str(f["id"]) in old and old[str(f["id"])] != _canonical(f)]
    removed = [fid for fid in old if fid not in new_ids]
    return Diff(added, changed, removed)


def import_zones(storage: Storage, data: bytes, *, by: str, at: datetime) -> ZoneImportResult:
    """Store ``data`` (GeoJSON bytes) as the next zone version; ``ZonesRefused`` when any feature is bad."""
    parsed = parse_collection(data)
    if not parsed.ok:
        raise ZonesRefused(parsed.problems)
    features = [feature_of(zone) for zone in parsed.zones]
    doc = collection(features)
    with storage.transaction() as tx:
        current = tx.zone_version()
        change = diff(list(current.data.get("features", [])) if current else [], features)
        version = tx.add_zone_version(doc, at=at, by=by)
        everyone = ChangeScope.everyone()
        for feature in change.added + change.changed:
            data_out = ZoneData(version=version, total=len(features), feature=feature)
            tx.emit(ChangeKind.ZONE, str(feature["id"]), data_out.model_dump(mode="json"), everyone)
        for fid in change.removed:
            tx.emit(
                ChangeKind.ZONE, fid, ZoneData(version=version, total=len(features)).model_dump(), everyone
            )
        announce = ZoneData(version=version, total=len(features)).model_dump()
        tx.emit(ChangeKind.ZONE, ZONE_VERSION_KEY, announce, everyone)
        counts = {"features": len(features), "added": len(change.added), "changed": len(change.changed),
                  "removed": len(change.removed)}  # fmt: skip
        tx.audit(by, "zones_import", target=str(version), detail=counts)
    return ZoneImportResult(
        version=version,
        features=len(features),
        added=len(change.added),
        changed=len(change.changed),
        removed=len(change.removed),
    )


def export_zones(storage: Storage) -> dict[str, Any]:
    """The current zone set as a FeatureCollection (``properties.version``; version 0 and no features when
    none was imported yet)."""
    with storage.transaction(readonly=True) as tx:
        current = tx.zone_version()
    if current is None:
        return collection([], version=0)
    return collection(list(current.data.get("features", [])), version=current.version)


def export_bytes(storage: Storage) -> bytes:
    return json.dumps(export_zones(storage), ensure_ascii=False, indent=1).encode("utf-8")
