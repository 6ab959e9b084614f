"""The district's zones on the phone (``zones`` table, migration ``m006_zones``): what HQ's ``zone`` changes
bring, one row per zone of the current version, each its GeoJSON feature (WGS84). ``zones_version`` is the
version the phone holds; ``zone_features`` reads them all back for ``mobile.state.zones`` to index."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping, Sequence
from typing import Any

from mobile.store_core import StoreCore

ZONES_VERSION_KEY = "zones.version"


#: One zone change as ``ZoneStore.apply_zones`` takes it: (zone id, version, feature or None: removed).
ZoneWrite = tuple[str, int, Mapping[str, Any] | None]


class ZoneStore(StoreCore):
    def apply_zone(self, zone_id: str, version: int, feature: Mapping[str, Any] | None) -> None:
        """Zone ``zone_id`` as of ``version``: its feature, or removed (None). An older version than the
        one held for that zone is ignored (the feed never sends one, but a replayed page may)."""
        with self._write() as conn:
            _put_zone(conn, zone_id, version, feature)

    def apply_zones(self, writes: Sequence[ZoneWrite], version: int | None = None) -> None:
        """A pulled page's zone changes, in order, and the zone version it moves to (if it carries one), in
        one transaction: all of them or, on a failure, none (the page is pulled again). Each change as
        ``apply_zone`` would apply it; the version as ``set_zones_version``."""
        with self._write() as conn:
            for zone_id, zone_version, feature in writes:
                _put_zone(conn, zone_id, zone_version, feature)
            if version is not None:
                row = conn.execute("SELECT value FROM meta WHERE key = ?", (ZONES_VERSION_KEY,)).fetchone()
                held = int(json.loads(row[0]) or 0) if row else 0
                if version > held:
                    conn.execute(
                        "INSERT INTO meta (key, value) VALUES (?, ?)"
                        " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                        (ZONES_VERSION_KEY, json.dumps(version)),
                    )

    def set_zones_version(self, version: int) -> None:
        if version > int(self.meta_get(ZONES_VERSION_KEY, 0) or 0):
            self.meta_set(ZONES_VERSION_KEY, version)

    def zones_version(self) -> int:
        return int(self.meta_get(ZONES_VERSION_KEY, 0) or 0)

    def zone_features(self) -> list[dict[str, Any]]:
        """Every zone the phone holds, as GeoJSON features."""
        return [json.loads(row[0]) for row in self._rows("SELECT feature FROM zones ORDER BY id")]

    def zone_count(self) -> int:
        return int(self._rows("SELECT count(*) FROM zones")[0][0])

    def meta_get(self, key: str, default: Any = None) -> Any:  # Store's (declared for mypy)
        raise NotImplementedError

    def meta_set(self, key: str, value: Any) -> None:  # Store's
        raise NotImplementedError


def _put_zone(
    conn: sqlite3.Connection, zone_id: str, version: int, feature: Mapping[str, Any] | None
) -> None:
    """``ZoneStore.apply_zone`` inside the caller's transaction."""
    row = conn.execute("SELECT version FROM zones WHERE id = ?", (zone_id,)).fetchone()
    if row is not None and int(row[0]) > version:
        return
    if feature is None:
        conn.execute("DELETE FROM zones WHERE id = ?", (zone_id,))
        return
    conn.execute(
        "INSERT INTO zones (id, kind, version, feature) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (id) DO UPDATE"
        " SET kind = excluded.kind, version = excluded.version, feature = excluded.feature",
        (
            zone_id,
            str((feature.get("properties") or {}).get("kind", "")),
            version,
            json.dumps(feature, ensure_ascii=False),
        ),
    )
