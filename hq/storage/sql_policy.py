"""The staged rule's published policy versions (shared SQL; ``Tx.add_policy`` / ``get_policy`` /
``list_policies``). Versions are numbered 1, 2, … in publication order and never edited: a case is
staged again with the version it was staged under."""

# The column list is a module constant, never input: the f-strings build no SQL from data.
# ruff: noqa: S608

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from hq.storage.base import ChangeKind, ChangeScope, PolicyRow, StorageConflict
from hq.storage.sql_feed import FeedMixin
from hq.storage.sqlcore import Row, dumps, loads

_COLUMNS = "version, document, created_at, created_by"


class PolicyMixin(FeedMixin):
    def _policy(self, row: Row) -> PolicyRow:
        return PolicyRow(int(row[0]), loads(row[1]), self._dt(row[2]), row[3])

    def add_policy(self, document: Mapping[str, Any], *, at: datetime, by: str) -> PolicyRow:
        self._writable()
        row = self._one("SELECT COALESCE(MAX(version), 0) FROM policies")
        version = int(row[0]) + 1 if row else 1
        inserted = self._x(
            f"INSERT INTO policies ({_COLUMNS}) VALUES (?, ?, ?, ?) ON CONFLICT (version) DO NOTHING",
            (version, dumps(dict(document)), self._ts(at), by),
        ).rowcount
        if inserted != 1:  # another publication took this number first: the caller tries again
            raise StorageConflict(
                f"policy version {version} was just published by another session",
                zh=f"第 {version} 版政策刚被他人发布，请重试",
                field="version",
            )
        published = self.get_policy(version)
        assert published is not None
        self.emit(
            ChangeKind.POLICY,
            "policy",
            {"version": version, "document": dict(published.document), "created_at": at.isoformat()},
            ChangeScope.everyone(),
        )
        return published

    def get_policy(self, version: int | None = None) -> PolicyRow | None:
        if version is None:
            row = self._one(f"SELECT {_COLUMNS} FROM policies ORDER BY version DESC LIMIT 1")
        else:
            row = self._one(f"SELECT {_COLUMNS} FROM policies WHERE version = ?", (version,))
        return self._policy(row) if row else None

    def list_policies(self, *, limit: int = 200) -> list[PolicyRow]:
        rows = self._all(
            f"SELECT {_COLUMNS} FROM policies ORDER BY version DESC LIMIT ?",
            (max(1, min(limit, 1000)),),
        )
        return [self._policy(r) for r in rows]
