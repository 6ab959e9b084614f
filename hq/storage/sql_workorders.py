"""Work orders, their events, Open311 partners and HQ's work-order timers (shared SQL).

Events are never edited: ``add_work_order_event`` inserts once per id (False when the id exists, so a
replayed push or a double-clicked form adds nothing); the order's row holds HQ's summary of them
(``set_work_order_summary``), written by ``hq.workorders`` after folding them.
"""

# The column lists are module constants, never input: the f-strings build no SQL from data.
# ruff: noqa: S608

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from enforcement.workorders import Event, Figures, Source, Stage
from hq.storage.sqlcore import Row, SqlBase, dumps, loads
from hq.storage.workorder_rows import PartnerRow, WorkOrderRow, event_json, event_of, timer_json, timer_of

_ORDER = (
    "id, district, source, category, description, intake_at, timer, address, lat, lon, place, caller_name,"
    " caller_phone, partner, filed_by, squad, officer, stage, updated_at, closed_at, arrive_due, resolve_due,"
    " outcome, satisfaction, due_at, first_arrived_ok, first_resolved_ok"
)
_EVENT = "id, order_id, kind, round, at, received_at, actor, data, seq"
_MAX_LIST = 5000
#: ``work_order_figures``' groupings: the whole set (one row, key ""), by category, by squad.
_GROUPS = {"": "''", "category": "category", "squad": "squad", "category_squad": "category, squad"}


class WorkOrdersMixin(SqlBase):
    def _order(self, r: Row) -> WorkOrderRow:
        return WorkOrderRow(
            id=r[0],
            district=r[1],
            source=Source(r[2]),
            category=r[3],
            description=r[4],
            intake_at=self._dt(r[5]),
            timer=timer_of(loads(r[6])),
            address=r[7],
            lat=None if r[8] is None else float(r[8]),
            lon=None if r[9] is None else float(r[9]),
            place=r[10],
            caller_name=r[11],
            caller_phone=r[12],
            partner=r[13],
            filed_by=r[14],
            squad=r[15],
            officer=r[16],
            stage=Stage(r[17]),
            updated_at=self._dt_opt(r[18]),
            closed_at=self._dt_opt(r[19]),
            arrive_due=self._dt_opt(r[20]),
            resolve_due=self._dt_opt(r[21]),
            outcome=r[22],
            satisfaction=r[23],
            due_at=self._dt_opt(r[24]),
            first_arrived_ok=bool(r[25]),
            first_resolved_ok=bool(r[26]),
        )

    def add_work_order(self, order: WorkOrderRow) -> bool:
        self._writable()
        o = order
        inserted = self._x(
            f"INSERT INTO work_orders ({_ORDER}) VALUES ({', '.join('?' * 27)}) ON CONFLICT (id) DO NOTHING",
            (
                o.id,
                o.district,
                o.source.value,
                o.category,
                o.description,
                self._ts(o.intake_at),
                dumps(timer_json(o.timer)),
                o.address,
                o.lat,
                o.lon,
                o.place,
                o.caller_name,
                o.caller_phone,
                o.partner,
                o.filed_by,
                o.squad,
                o.officer,
                o.stage.value,
                self._ts(o.updated_at),
                self._ts(o.closed_at),
                self._ts(o.arrive_due),
                self._ts(o.resolve_due),
                o.outcome,
                o.satisfaction,
                self._ts(o.due_at),
                o.first_arrived_ok,
                o.first_resolved_ok,
            ),
        ).rowcount
        return inserted == 1

    def get_work_order(self, order_id: str) -> WorkOrderRow | None:
        row = self._one(f"SELECT {_ORDER} FROM work_orders WHERE id = ?", (order_id,))
        return self._order(row) if row else None

    def set_work_order_summary(
        self,
        order_id: str,
        *,
        squad: str,
        officer: str,
        stage: Stage,
        updated_at: datetime,
        closed_at: datetime | None,
        arrive_due: datetime,
        resolve_due: datetime,
        outcome: str,
        satisfaction: str,
        place: str | None = None,
        due_at: datetime | None = None,
        first_arrived_ok: bool = False,
        first_resolved_ok: bool = False,
    ) -> None:
        self._writable()
        self._x(
            "UPDATE work_orders SET squad = ?, officer = ?, stage = ?, updated_at = ?, closed_at = ?,"
            " arrive_due = ?, resolve_due = ?, outcome = ?, satisfaction = ?, place = COALESCE(?, place),"
            " due_at = ?, first_arrived_ok = ?, first_resolved_ok = ? WHERE id = ?",
            (
                squad,
                officer,
                stage.value,
                self._ts(updated_at),
                self._ts(closed_at),
                self._ts(arrive_due),
                self._ts(resolve_due),
                outcome,
                satisfaction,
                place,
                self._ts(due_at),
                first_arrived_ok,
                first_resolved_ok,
                order_id,
            ),
        )

    def list_work_orders(
        self,
        *,
        district: str | None = None,
        squad: str | None = None,
        officer: str | None = None,
        unrouted: bool = False,
        open_only: bool = False,
        closed_only: bool = False,
        since: datetime | None = None,
        until: datetime | None = None,
        overdue_at: datetime | None = None,
        categories: Sequence[str] = (),
        limit: int = 1000,
    ) -> list[WorkOrderRow]:
        sql, params = f"SELECT {_ORDER} FROM work_orders WHERE 1 = 1", list[Any]()
        for column, value in (("district", district), ("squad", squad), ("officer", officer)):
            if value is not None:
                sql += f" AND {column} = ?"
                params.append(value)
        if categories:
            sql += f" AND category IN ({', '.join('?' * len(categories))})"
            params.extend(categories)
        if unrouted:
            sql += " AND squad = ''"
        if open_only:
            sql += " AND closed_at IS NULL"
        if closed_only:
            sql += " AND closed_at IS NOT NULL"
        if since is not None:
            sql += " AND intake_at >= ?"
            params.append(self._ts(since))
        if until is not None:
            sql += " AND intake_at < ?"
            params.append(self._ts(until))
        if overdue_at is not None:  # the longest overdue first (indexed: district/squad/officer, due_at)
            sql += " AND due_at < ? ORDER BY due_at, id LIMIT ?"
            params.append(self._ts(overdue_at))
        else:
            sql += " ORDER BY intake_at DESC, id LIMIT ?"
        params.append(max(1, min(limit, _MAX_LIST)))
        return [self._order(r) for r in self._all(sql, params)]

    def add_work_order_event(self, event: Event, *, at_hq: datetime | None = None) -> bool:
        self._writable()
        e = event
        # HQ's receive sequence within the order: numbered under the order's lock (PostgreSQL's writers
        # run at once; SQLite's are serial), so every node reads the same tie-break back
        self.d.lock_keys(self.conn, [f"work-order:{e.order_id}"])
        if self._one("SELECT 1 FROM work_order_events WHERE id = ?", (e.id,)):
            return False
        sql = "SELECT COALESCE(MAX(seq), 0) FROM work_order_events WHERE order_id = ?"
        row = self._one(sql, (e.order_id,))
        seq = int(row[0]) + 1 if row else 1
        inserted = self._x(
            f"INSERT INTO work_order_events ({_EVENT}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (id) DO NOTHING",
            (
                e.id,
                e.order_id,
                e.kind.value,
                e.round,
                self._ts(e.at),
                self._ts(e.received_at),
                e.actor,
                dumps(event_json(e)),
                seq,
            ),
        ).rowcount
        return inserted == 1

    def get_work_order_event(self, event_id: str) -> Event | None:
        row = self._one(f"SELECT {_EVENT} FROM work_order_events WHERE id = ?", (event_id,))
        return self._event(row) if row else None

    def work_order_events(self, order_id: str) -> list[Event]:
        sql = f"SELECT {_EVENT} FROM work_order_events WHERE order_id = ? ORDER BY seq, id"
        rows = self._all(sql, (order_id,))
        return [self._event(r) for r in rows]

    def work_order_events_of(self, order_ids: Sequence[str]) -> dict[str, list[Event]]:
        found: dict[str, list[Event]] = {oid: [] for oid in order_ids}
        ids = list(found)
        for start in range(0, len(ids), 500):  # one query per 500 orders, not one per order
            chunk = ids[start : start + 500]
            where, params = self._in("order_id", chunk)
            sql = f"SELECT {_EVENT} FROM work_order_events WHERE {where} ORDER BY order_id, seq, id"
            for r in self._all(sql, params):
                found[r[1]].append(self._event(r))
        return found

    def work_orders_with_photo(self, sha256: str, actor: str) -> list[str]:
        sql = "SELECT order_id, data FROM work_order_events WHERE kind = 'resolve' AND actor = ?"
        return sorted({r[0] for r in self._all(sql, (actor,)) if sha256 in (loads(r[1]).get("photos") or ())})

    def _event(self, r: Row) -> Event:
        return event_of(
            r[0], r[1], r[2], int(r[3]), self._dt(r[4]), self._dt(r[5]), r[6], loads(r[7]), seq=int(r[8])
        )

    def work_order_figures(
        self,
        *,
        since: datetime,
        until: datetime,
        now: datetime,
        district: str | None = None,
        squads: Sequence[str] | None = None,
        by: str = "",
    ) -> dict[str, Figures]:
        if by not in _GROUPS:
            raise ValueError(f"group by {by!r}")
        group = _GROUPS[by]
        sql = (
            f"SELECT {group}, COUNT(*), SUM(CASE WHEN first_arrived_ok THEN 1 ELSE 0 END),"
            " SUM(CASE WHEN first_resolved_ok THEN 1 ELSE 0 END),"
            " SUM(CASE WHEN closed_at IS NOT NULL THEN 1 ELSE 0 END),"
            " SUM(CASE WHEN satisfaction <> '' THEN 1 ELSE 0 END),"
            " SUM(CASE WHEN satisfaction IN ('satisfied', 'basic') THEN 1 ELSE 0 END),"
            " SUM(CASE WHEN due_at < ? THEN 1 ELSE 0 END)"
            " FROM work_orders WHERE intake_at >= ? AND intake_at < ?"
        )
        params: list[Any] = [self._ts(now), self._ts(since), self._ts(until)]
        if district is not None:
            sql += " AND district = ?"
            params.append(district)
        if squads is not None:
            if not squads:
                return {}
            sql += f" AND squad IN ({', '.join('?' * len(squads))})"
            params.extend(squads)
        if by:  # PostgreSQL refuses GROUP BY a text constant; the whole set is one row anyway
            sql += f" GROUP BY {group}"
        if by == "category_squad":  # keys "category|squad"; one pass for the public page's two tables
            return {f"{r[0]}|{r[1]}": Figures(*(int(x or 0) for x in r[2:9])) for r in self._all(sql, params)}
        return {
            str(r[0]): Figures(*(int(x or 0) for x in (r[1], r[2], r[3], r[4], r[5], r[6], r[7])))
            for r in self._all(sql, params)
        }

    # -- partners (Open311)
    def put_partner(self, partner: PartnerRow) -> None:
        self._writable()
        self._x(
            "INSERT INTO partners (name, key_hash, created_at, active) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (name) DO UPDATE SET key_hash = excluded.key_hash, active = excluded.active",
            (partner.name, partner.key_hash, self._ts(partner.created_at), partner.active),
        )

    def partner_by_key(self, key_hash: str) -> PartnerRow | None:
        row = self._one(
            "SELECT name, key_hash, created_at, active FROM partners WHERE key_hash = ?", (key_hash,)
        )
        return PartnerRow(row[0], row[1], self._dt(row[2]), bool(row[3])) if row else None

    def list_partners(self) -> list[PartnerRow]:
        rows = self._all("SELECT name, key_hash, created_at, active FROM partners ORDER BY name")
        return [PartnerRow(r[0], r[1], self._dt(r[2]), bool(r[3])) for r in rows]

    # -- timers
    def set_work_order_timers(self, data: Mapping[str, Any], at: datetime) -> None:
        self._writable()
        self._x(
            "INSERT INTO work_order_timers (id, data, updated_at) VALUES (1, ?, ?)"
            " ON CONFLICT (id) DO UPDATE SET data = excluded.data, updated_at = excluded.updated_at",
            (dumps(dict(data)), self._ts(at)),
        )

    def get_work_order_timers(self) -> dict[str, Any] | None:
        row = self._one("SELECT data FROM work_order_timers WHERE id = 1")
        return dict(loads(row[0])) if row else None
