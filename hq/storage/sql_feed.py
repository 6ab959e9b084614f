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

    def emit_case(
        self,
        state: Mapping[str, Any],
        leaders: Mapping[str, Any],
        *,
        badge: str,
        squad: str,
        placed: datetime,
    ) -> None:
        self._writable()
        key = str(state["case_id"])
        self._queued_changes.pop((ChangeKind.CASE_STATE, key), None)  # the newest emit wins, as in emit
        encoded = dumps({**state, LEADERS: {name: leaders[name] for name in _LEADERS_FIELDS}})
        scope = ChangeScope(badge=badge, squad=squad)
        self._queued_changes[(ChangeKind.CASE_STATE, key)] = _QueuedChange(
            ChangeKind.CASE_STATE, key, encoded, scope, placed
        )

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
        windows = ((HISTORY_KINDS, history_since), (SQUAD_KINDS, squad_since or history_since))
        squad_window = squad_since or history_since
        # the 7th column: the squad for the leaders' join below, None (no record) for anyone else
        squad_column = "scope_squad" if squad is not None else "NULL"
        sql = (
            f"SELECT seq, kind, key, occurred_at, data, scope_badge, {squad_column} AS led FROM changes"  # noqa: S608
            " WHERE seq > ? AND ((scope_district IS NULL AND scope_badge IS NULL AND scope_squad IS NULL)"
            " OR scope_district = ? OR scope_badge = ?"
        )
        params: list[Any] = [after, district, badge]
        if squad is not None:
            if squad_window is not None:
                sql += " OR (scope_squad = ? AND (kind <> 'case_state' OR occurred_at >= ?))"
                params += [squad, self._ts(squad_window)]
            else:
                sql += " OR scope_squad = ?"
                params.append(squad)
        sql += ")"
        for kinds, since in windows:
            if since is not None:
                names = sorted(kind.value for kind in kinds)
                sql += f" AND (kind NOT IN ({', '.join('?' * len(names))}) OR occurred_at >= ?)"
                params += [*names, self._ts(since)]
        sql += " ORDER BY seq LIMIT ?"
        params.append(limit + 1)
        if squad is not None:
            # A case version's entry (``emit_case``: kind case_state with a squad) is also the leaders'
            # squad_case when it is in their window: the join, on the page's rows only, finds its record.
            dated = " AND ch.occurred_at >= ?" if squad_window is not None else ""  # constants only
            sql = (
                "SELECT ch.seq, ch.kind, ch.key, ch.occurred_at, ch.data, ch.scope_badge, c.payload"  # noqa: S608
                f" FROM ({sql}) ch LEFT JOIN cases c ON ch.kind = 'case_state' AND ch.led = ?{dated}"
                " AND c.id = ch.key ORDER BY ch.seq"
            )
            params += [squad] + ([self._ts(squad_window)] if squad_window is not None else [])
        rows = self._all(sql, params)
        more = len(rows) > limit
        changes: list[Change] = []
        last = after
        for r in rows[:limit]:
            found = _changes_of(r, badge, history_since, self._dt_opt(r[3]))
            if changes and len(changes) + len(found) > limit:  # a page holds at most ``limit`` changes
                more = True
                break
            changes += found
            last = int(r[0])
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


#: The key of a case version's entry (``emit_case``) that holds the leaders' own fields.
LEADERS = "leaders"
_LEADERS_FIELDS = ("device_first_seen", "officer_name", "reviews", "subject_label")


def _changes_of(
    row: Any, badge: str, history_since: datetime | None, occurred: datetime | None
) -> list[Change]:
    """The changes one stored entry gives a caller: itself, or for a case version's entry (``emit_case``)
    ``case_state`` when the caller is its officer and ``squad_case`` when the join found its record."""
    kind = ChangeKind(row[1])
    data = loads(row[4])
    if kind is not ChangeKind.CASE_STATE or LEADERS not in data:
        return [_trim_history(Change(kind, row[2], data, occurred), history_since)]
    leaders = data.pop(LEADERS)
    found = []
    if row[5] == badge:
        found.append(Change(ChangeKind.CASE_STATE, row[2], data, None))
    if row[6] is not None:
        found.append(Change(ChangeKind.SQUAD_CASE, row[2], squad_case_of(data, leaders, row[6]), occurred))
    return found


def squad_case_of(state: Mapping[str, Any], leaders: Mapping[str, Any], payload: str) -> dict[str, Any]:
    """``SquadCaseData``'s JSON form (what ``hq.feed.squad_case_data`` builds, keys in the same sorted
    order as its stored text read back) from a case version's entry and its ``cases.payload``."""
    return {
        "case": loads(payload),
        "device_first_seen": leaders["device_first_seen"],
        "hq_reason_en": state["hq_reason_en"],
        "hq_reason_zh": state["hq_reason_zh"],
        "hq_stage": state["hq_stage"],
        "missing_photos": len(state["missing_photos"]),
        "officer_name": leaders["officer_name"],
        "received_at": state["received_at"],
        "reviews": leaders["reviews"],
        "subject_label": leaders["subject_label"],
    }


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
