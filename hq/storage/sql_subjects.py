"""Subject identity (issue #22, shared SQL): matching keys, alike pairs, aliases, the registry's edit
history and its field conflicts (``Tx.set_subject_keys`` … ``resolve_subject_conflict``). What they mean
is decided in ``hq.subjectmatch``, ``hq.merge`` and ``hq.subjectedit``; this only stores it."""

# Column lists are module constants and placeholders are counted, never input: no SQL from data.
# ruff: noqa: S608

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from hq.storage.base import SubjectAlias, SubjectConflict, SubjectPair, SubjectRevision
from hq.storage.sqlcore import Row, SqlBase, dumps, loads

_PAIR = "a, b, district, strength, reason, state, at, by_badge"
_ALIAS = "alias_id, survivor_id, district, at, by_badge"
_REVISION = "subject_id, version, at, by_badge, device_id, payload, changed"
_CONFLICT = (
    "id, subject_id, district, field, base_value, hq_value, pushed_value, by_badge, device_id, at,"
    " resolved_at, resolved_by"
)
_CHUNK = 500


def _chunks(items: list[str]) -> Iterable[list[str]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


class SubjectLinksMixin(SqlBase):
    # -- keys
    def set_subject_keys(self, subject_id: str, district: str, keys: Iterable[str]) -> None:
        self._writable()
        self._x("DELETE FROM subject_keys WHERE subject_id = ?", (subject_id,))
        self._many(
            "INSERT INTO subject_keys (subject_id, district, key) VALUES (?, ?, ?)",
            [(subject_id, district, key) for key in sorted(set(keys))],
        )

    def subject_keys(self, subject_id: str) -> set[str]:
        rows = self._all("SELECT key FROM subject_keys WHERE subject_id = ?", (subject_id,))
        return {row[0] for row in rows}

    def subject_name_keys(self, subject_ids: Iterable[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        for chunk in _chunks(sorted(set(subject_ids))):
            where, params = self._in("subject_id", chunk)
            rows = self._all(
                f"SELECT subject_id, key FROM subject_keys WHERE {where} AND substr(key, 1, 5) = 'name:'",
                params,
            )
            found.update({subject_id: key for subject_id, key in rows})
        return found

    def subjects_with_keys(self, district: str, keys: Iterable[str]) -> dict[str, set[str]]:
        found: dict[str, set[str]] = {}
        for chunk in _chunks(sorted(set(keys))):
            where, params = self._in("key", chunk)
            sql = f"SELECT subject_id, key FROM subject_keys WHERE district = ? AND {where}"
            rows = self._all(sql, [district, *params])
            for subject_id, key in rows:
                found.setdefault(subject_id, set()).add(key)
        return found

    # -- pairs
    def _pair(self, row: Row) -> SubjectPair:
        return SubjectPair(row[0], row[1], row[2], row[3], row[4], row[5], self._dt(row[6]), row[7])

    def put_subject_pair(self, pair: SubjectPair) -> None:
        self._writable()
        a, b = sorted((pair.a, pair.b))
        self._x(
            f"INSERT INTO subject_pairs ({_PAIR}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (a, b) DO UPDATE SET district = excluded.district,"
            " strength = excluded.strength, reason = excluded.reason, state = excluded.state,"
            " at = excluded.at, by_badge = excluded.by_badge",
            (a, b, pair.district, pair.strength, pair.reason, pair.state, self._ts(pair.at), pair.by_badge),
        )

    def get_subject_pair(self, a: str, b: str) -> SubjectPair | None:
        a, b = sorted((a, b))
        row = self._one(f"SELECT {_PAIR} FROM subject_pairs WHERE a = ? AND b = ?", (a, b))
        return self._pair(row) if row else None

    def delete_subject_pair(self, a: str, b: str) -> bool:
        self._writable()
        a, b = sorted((a, b))
        return self._x("DELETE FROM subject_pairs WHERE a = ? AND b = ?", (a, b)).rowcount > 0

    def subject_pairs(self, subject_ids: Iterable[str]) -> list[SubjectPair]:
        found: dict[tuple[str, str], SubjectPair] = {}
        for chunk in _chunks(sorted(set(subject_ids))):
            in_a, params_a = self._in("a", chunk)
            in_b, params_b = self._in("b", chunk)
            rows = self._all(f"SELECT {_PAIR} FROM subject_pairs WHERE {in_a} OR {in_b}", params_a + params_b)
            for row in rows:
                found[(row[0], row[1])] = self._pair(row)
        return [found[k] for k in sorted(found)]

    def list_subject_pairs(
        self, district: str | None, *, states: Iterable[str] = ("open",), limit: int = 500
    ) -> list[SubjectPair]:
        wanted = sorted(set(states)) or ["open"]
        marks = ", ".join("?" * len(wanted))
        sql = f"SELECT {_PAIR} FROM subject_pairs WHERE state IN ({marks})"
        params: list[object] = list(wanted)
        if district is not None:
            sql += " AND district = ?"
            params.append(district)
        params.append(max(1, min(limit, 5000)))
        return [self._pair(r) for r in self._all(sql + " ORDER BY at DESC, a, b LIMIT ?", params)]

    # -- aliases
    def _alias(self, row: Row) -> SubjectAlias:
        return SubjectAlias(row[0], row[1], row[2], self._dt(row[3]), row[4])

    def put_subject_alias(self, alias: SubjectAlias) -> None:
        self._writable()
        self._x(
            f"INSERT INTO subject_aliases ({_ALIAS}) VALUES (?, ?, ?, ?, ?) ON CONFLICT (alias_id) DO UPDATE"
            " SET survivor_id = excluded.survivor_id, district = excluded.district, at = excluded.at,"
            " by_badge = excluded.by_badge",
            (alias.alias_id, alias.survivor_id, alias.district, self._ts(alias.at), alias.by_badge),
        )

    def drop_subject_alias(self, alias_id: str) -> bool:
        self._writable()
        return self._x("DELETE FROM subject_aliases WHERE alias_id = ?", (alias_id,)).rowcount > 0

    def subject_alias(self, alias_id: str) -> SubjectAlias | None:
        row = self._one(f"SELECT {_ALIAS} FROM subject_aliases WHERE alias_id = ?", (alias_id,))
        return self._alias(row) if row else None

    def aliases_of(self, survivor_id: str) -> list[SubjectAlias]:
        rows = self._all(
            f"SELECT {_ALIAS} FROM subject_aliases WHERE survivor_id = ? ORDER BY alias_id", (survivor_id,)
        )
        return [self._alias(r) for r in rows]

    # -- edit history and conflicts
    def add_subject_revision(self, revision: SubjectRevision) -> None:
        self._writable()
        self._x(
            f"INSERT INTO subject_revisions ({_REVISION}) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (revision.subject_id, revision.version, self._ts(revision.at), revision.by_badge,
             revision.device_id, dumps(dict(revision.payload)), dumps(list(revision.changed))),
        )  # fmt: skip

    def subject_revisions(self, subject_id: str, *, limit: int = 500) -> list[SubjectRevision]:
        rows = self._all(
            f"SELECT {_REVISION} FROM subject_revisions WHERE subject_id = ? ORDER BY version LIMIT ?",
            (subject_id, max(1, min(limit, 5000))),
        )
        return [
            SubjectRevision(
                r[0], int(r[1]), self._dt(r[2]), r[3], r[4], loads(r[5]), tuple(loads(r[6]) or ())
            )
            for r in rows
        ]

    def _conflict(self, r: Row) -> SubjectConflict:
        return SubjectConflict(
            r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], self._dt(r[9]), self._dt_opt(r[10]), r[11]
        )

    def add_subject_conflict(self, conflict: SubjectConflict) -> None:
        self._writable()
        c = conflict
        self._x(
            f"INSERT INTO subject_conflicts ({_CONFLICT}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (c.id, c.subject_id, c.district, c.field, c.base_value, c.hq_value, c.pushed_value, c.by_badge,
             c.device_id, self._ts(c.at), self._ts(c.resolved_at), c.resolved_by),
        )  # fmt: skip

    def list_subject_conflicts(
        self, district: str | None, *, subject_id: str | None = None, open_only: bool = True, limit: int = 500
    ) -> list[SubjectConflict]:
        sql = f"SELECT {_CONFLICT} FROM subject_conflicts WHERE 1 = 1"
        params: list[object] = []
        if district is not None:
            sql += " AND district = ?"
            params.append(district)
        if subject_id is not None:
            sql += " AND subject_id = ?"
            params.append(subject_id)
        if open_only:
            sql += " AND resolved_at IS NULL"
        params.append(max(1, min(limit, 5000)))
        rows = self._all(sql + " ORDER BY at, id LIMIT ?", params)
        return [self._conflict(r) for r in rows]

    def get_subject_conflict(self, conflict_id: str) -> SubjectConflict | None:
        row = self._one(f"SELECT {_CONFLICT} FROM subject_conflicts WHERE id = ?", (conflict_id,))
        return self._conflict(row) if row else None

    def resolve_subject_conflict(self, conflict_id: str, at: datetime, by_badge: str) -> bool:
        self._writable()
        return (
            self._x(
                "UPDATE subject_conflicts SET resolved_at = ?, resolved_by = ?"
                " WHERE id = ? AND resolved_at IS NULL",
                (self._ts(at), by_badge, conflict_id),
            ).rowcount
            > 0
        )
