"""Zone versions (shared SQL): each import of a zone set is one row holding the whole FeatureCollection."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from hq.storage.base import ZoneVersion
from hq.storage.sqlcore import SqlBase, dumps, loads


class ZonesMixin(SqlBase):
    def add_zone_version(self, data: Mapping[str, Any], *, at: datetime, by: str) -> int:
        self._writable()
        self.d.lock_keys(self.conn, ["zones"])  # PostgreSQL: two imports at once number one after the other
        row = self._one("SELECT MAX(version) FROM zone_versions")
        version = int(row[0] or 0) + 1 if row else 1
        features = data.get("features") or []
        self._x(
            "INSERT INTO zone_versions (version, imported_at, imported_by, features, data)"
            " VALUES (?, ?, ?, ?, ?)",
            (version, self._ts(at), by, len(features), dumps(dict(data))),
        )
        return version

    def zone_version(self, version: int | None = None) -> ZoneVersion | None:
        columns = "version, imported_at, imported_by, features, data"
        if version is None:
            row = self._one(f"SELECT {columns} FROM zone_versions ORDER BY version DESC LIMIT 1")  # noqa: S608
        else:
            row = self._one(f"SELECT {columns} FROM zone_versions WHERE version = ?", (version,))  # noqa: S608
        if row is None:
            return None
        return ZoneVersion(int(row[0]), self._dt(row[1]), str(row[2]), int(row[3]), loads(row[4]))
