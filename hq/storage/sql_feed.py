"""The change feed and the audit log (shared SQL), and the commit step that orders both.

Changes and audit events are queued in the transaction and written only in ``commit_step``, which the
backend runs as the last thing before COMMIT while holding the commit lock (``Dialect.lock_commit_step``).
So change numbers and audit numbers are handed out in commit order: whoever numbers after us does so only
after our commit became visible, and a reader never sees number n+1 without n (no "hole" a slow
transaction fills in later behind a cursor that already passed it).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from hq.audit import GENESIS, canonical_detail, event_hash
from hq.storage.base import (
    HISTORY_KINDS,
    SQUAD_KINDS,
    AuditEvent,
    AuditHead,
    Change,
    ChangeKind,
    ChangePage,
    ChangeScope,
)
from hq.storage.sqlcore import SqlBase, decode_cursor, dumps, encode_cursor, loads

#: A change of one kind retracts the stored change of the other kind with the same key (a tombstone
#: replaces its subject for new pulls; a re-created subject replaces its tombstone).
_RETRACTS = {ChangeKind.TOMBSTONE: ChangeKind.SUBJECT, ChangeKind.SUBJECT: ChangeKind.TOMBSTONE}


@dataclass(frozen=True, slots=True)
class _QueuedChange:
    kind: ChangeKind
    key: str
    data: str
    scope: ChangeScope
    occurred_at: datetime | None


@dataclass(frozen=True, slots=True)
class _QueuedAudit:
    actor: str
    action: str
    target: str
    detail: dict[str, Any]


class FeedMixin(SqlBase):
    _queued_changes: dict[tuple[ChangeKind, str], _QueuedChange]
    _queued_audit: list[_QueuedAudit]

    def _init_feed(self) -> None:
        self._queued_changes = {}
        self._queued_audit = []

    # -- change feed
    def emit(
        self,
        kind: ChangeKind,
        key: str,
        data: Mapping[str, Any],
        scope: ChangeScope,
        *,
        occurred_at: datetime | None = None,
        text: str | None = None,
    ) -> None:
        self._writable()
        self._queued_changes.pop((kind, key), None)  # the newest emit of a key wins, in emit order
        encoded = text if text is not None else dumps(dict(data))
        self._queued_changes[(kind, key)] = _QueuedChange(kind, key, encoded, scope, occurred_at)

    def changes_after(
        self,
        cursor: str | None,
        *,
        district: str,
        badge: str,
        squad: str | None = None,
        history_since: datetime | None = None,
        squad_since: datetime | None = None,
        limit: int = 500,
    ) -> ChangePage:
        after = decode_cursor(self.epoch, cursor)
        sql = (
            "SELECT seq, kind, key, occurred_at, data FROM changes WHERE seq > ?"
            " AND ((scope_district IS NULL AND scope_badge IS NULL AND scope_squad IS NULL)"
            " OR scope_district = ? OR scope_badge = ?"
        )
        params: list[Any] = [after, district, badge]
        if squad is not None:
            sql += " OR scope_squad = ?"
            params.append(squad)
        sql += ")"
        windows = ((HISTORY_KINDS, history_since), (SQUAD_KINDS, squad_since or history_since))
        for kinds, since in windows:
            if since is not None:
                names = sorted(kind.value for kind in kinds)
                sql += f" AND (kind NOT IN ({', '.join('?' * len(names))}) OR occurred_at >= ?)"
                params += [*names, self._ts(since)]
        rows = self._all(sql + " ORDER BY seq LIMIT ?", [*params, limit + 1])
        more = len(rows) > limit
        rows = rows[:limit]
        changes = [
            _trim_history(Change(ChangeKind(r[1]), r[2], loads(r[4]), self._dt_opt(r[3])), history_since)
            for r in rows
        ]
        last = int(rows[-1][0]) if rows else after
        return ChangePage(changes=changes, cursor=encode_cursor(self.epoch, last), more=more)

    # -- audit log
    def audit(
        self, actor: str, action: str, target: str = "", detail: Mapping[str, Any] | None = None
    ) -> None:
        self._writable()
        clean = loads(canonical_detail(dict(detail or {})))  # JSON-safe now, not at commit
        self._queued_audit.append(_QueuedAudit(actor, action, target, clean))

    def audit_events(self, after_seq: int = 0, limit: int = 1000) -> list[AuditEvent]:
        rows = self._all(
            "SELECT seq, at, actor, action, target, detail, prev_hash, hash FROM audit"
            " WHERE seq > ? ORDER BY seq LIMIT ?",
            (after_seq, limit),
        )
        return [
            AuditEvent(int(r[0]), self._dt(r[1]), r[2], r[3], r[4], loads(r[5]), r[6], r[7]) for r in rows
        ]

    def audit_head(self) -> AuditHead | None:
        row = self._one("SELECT seq, hash FROM audit_head WHERE id = 1")
        return AuditHead(int(row[0]), row[1]) if row else None

    # -- the commit step
    def commit_step(self) -> None:
        """Number and write the queued changes and audit events (called just before COMMIT)."""
        if not self._queued_changes and not self._queued_audit:
            return
        self.d.lock_commit_step(self.conn)
        if self._queued_changes:
            self._write_changes(list(self._queued_changes.values()))
        if self._queued_audit:
            self._write_audit(self._queued_audit)
        self._init_feed()

    def _write_changes(self, queued: list[_QueuedChange]) -> None:
        row = self._one("SELECT value FROM counters WHERE name = 'changes'")
        seq = int(row[0]) if row else 0
        rows = []
        for change in queued:
            seq += 1
            rows.append(
                (seq, change.kind.value, change.key, change.scope.district, change.scope.badge,
                 change.scope.squad, self._ts(change.occurred_at), change.data)
            )  # fmt: skip
        retracted = [(_RETRACTS[c.kind].value, c.key) for c in queued if c.kind in _RETRACTS]
        if retracted:
            self._many("DELETE FROM changes WHERE kind = ? AND key = ?", retracted)
        self._rows(
            "INSERT INTO changes (seq, kind, key, scope_district, scope_badge, scope_squad, occurred_at,"
            " data) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (kind, key) DO UPDATE SET seq = excluded.seq,"
            " scope_district = excluded.scope_district, scope_badge = excluded.scope_badge,"
            " scope_squad = excluded.scope_squad, occurred_at = excluded.occurred_at, data = excluded.data",
            rows,
        )
        self._set_counter("changes", seq)

    def _write_audit(self, queued: list[_QueuedAudit]) -> None:
        head = self.audit_head()
        seq, prev = (head.seq, head.hash) if head else (0, GENESIS)
        rows = []
        for event in queued:
            seq += 1
            at = datetime.now(UTC)
            digest = event_hash(prev, at, event.actor, event.action, event.target, event.detail)
            rows.append(
                (seq, self._ts(at), event.actor, event.action, event.target, canonical_detail(event.detail),
                 prev, digest)
            )  # fmt: skip
            prev = digest
        self._many(
            "INSERT INTO audit (seq, at, actor, action, target, detail, prev_hash, hash)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        self._x(
            "INSERT INTO audit_head (id, seq, hash) VALUES (1, ?, ?)"
            " ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash",
            (seq, prev),
        )

    def _set_counter(self, name: str, value: int) -> None:
        self._x(
            "INSERT INTO counters (name, value) VALUES (?, ?)"
            " ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            (name, value),
        )


def _trim_history(change: Change, since: datetime | None) -> Change:
    """A history change without the entries older than the pull's window."""
    if change.kind is not ChangeKind.HISTORY or since is None:
        return change
    entries = change.data.get("entries")
    if not isinstance(entries, list):
        return change
    kept = []
    for entry in entries:
        at = _entry_time(entry)
        if at is None or at >= since:
            kept.append(entry)
    return Change(change.kind, change.key, {**change.data, "entries": kept}, change.occurred_at)


def _entry_time(entry: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(entry["occurred_at"])
    except (KeyError, TypeError, ValueError):
        return None
