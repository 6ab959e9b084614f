"""Work orders on the phone (``work_orders`` table, migration ``m008_work_orders``): HQ's ``work_order``
changes for this officer (``"<id>@<badge>"``), upserted by order id, dropped when reassigned away; and
the officer's own arrival / resolution, each written with its outbox record in one transaction, so an
event is recorded exactly when it is queued for HQ (the push and HQ's ledger make it count once).

``local_*`` hold what the phone did for ``local_round``; HQ's later view (``data``) does not erase them,
and a newer round from HQ (a reopening) makes them stale (``WorkOrderRow.arrived_at`` reads HQ first)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from mobile.store_core import StoreCore, refuse
from mobile.store_rows import OUTBOX_INSERT, dumps

WORK_ORDER_KINDS = ("work_order_arrival", "work_order_resolution")


def _micros(moment: datetime) -> int:
    return int(moment.timestamp() * 1_000_000)


def _when(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) and value else None


@dataclass(frozen=True, slots=True)
class WorkOrderRow:
    """One order as the phone knows it: HQ's data plus the officer's own not yet confirmed events."""

    order_id: str
    data: dict[str, Any]  # sync.protocol.WorkOrderData as JSON
    local_round: int
    local_arrived_at: datetime | None
    local_resolved_at: datetime | None
    local_closure: str
    link_case_id: str

    @property
    def round(self) -> int:
        return int(self.data["round"])

    @property
    def arrive_due(self) -> datetime:
        return datetime.fromisoformat(self.data["arrive_due"])

    @property
    def resolve_due(self) -> datetime:
        return datetime.fromisoformat(self.data["resolve_due"])

    def _local(self, value: datetime | None) -> datetime | None:
        return value if self.local_round == self.round else None

    @property
    def arrived_at(self) -> datetime | None:
        """HQ's arrival time, else the phone's own (this round)."""
        return _when(self.data.get("arrived_at")) or self._local(self.local_arrived_at)

    @property
    def resolved_at(self) -> datetime | None:
        return _when(self.data.get("resolved_at")) or self._local(self.local_resolved_at)

    @property
    def closure(self) -> str:
        return str(self.data.get("closure") or "") or (
            self.local_closure if self.local_round == self.round else ""
        )


def _row(row: sqlite3.Row) -> WorkOrderRow:
    return WorkOrderRow(
        order_id=row["order_id"],
        data=json.loads(row["data"]),
        local_round=int(row["local_round"]),
        local_arrived_at=_when(row["local_arrived_at"]),
        local_resolved_at=_when(row["local_resolved_at"]),
        local_closure=row["local_closure"],
        link_case_id=row["link_case_id"],
    )


_COLUMNS = "order_id, data, local_round, local_arrived_at, local_resolved_at, local_closure, link_case_id"


class WorkOrderStore(StoreCore):
    """The store's work-order methods (part of ``mobile.store.Store``)."""

    def apply_work_order(self, data: dict[str, Any]) -> None:
        """HQ's view of an order (``WorkOrderData`` as JSON, already validated): upserted by order id;
        ``assigned_to_you`` false removes it (reassigned away)."""
        order_id = str(data["order_id"])
        with self._write() as conn:
            if not data.get("assigned_to_you", True):
                conn.execute("DELETE FROM work_orders WHERE order_id = ?", (order_id,))
                return
            conn.execute(
                "INSERT INTO work_orders (order_id, round, stage, arrive_due_utc, resolve_due_utc, data,"
                " received_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (order_id) DO UPDATE SET"
                " round = excluded.round, stage = excluded.stage, arrive_due_utc = excluded.arrive_due_utc,"
                " resolve_due_utc = excluded.resolve_due_utc, data = excluded.data,"
                " received_at = excluded.received_at",
                (
                    order_id,
                    int(data["round"]),
                    str(data["stage"]),
                    _micros(datetime.fromisoformat(str(data["arrive_due"]))),
                    _micros(datetime.fromisoformat(str(data["resolve_due"]))),
                    dumps(data),
                    datetime.now(UTC).isoformat(),
                ),
            )

    def work_orders(self) -> list[WorkOrderRow]:
        """Every order the phone holds (open or not), by resolve deadline."""
        rows = self._rows(f"SELECT {_COLUMNS} FROM work_orders ORDER BY resolve_due_utc, order_id")  # noqa: S608
        return [_row(r) for r in rows]

    def work_order(self, order_id: str) -> WorkOrderRow | None:
        rows = self._rows(f"SELECT {_COLUMNS} FROM work_orders WHERE order_id = ?", (order_id,))  # noqa: S608
        return _row(rows[0]) if rows else None

    def record_work_order_event(
        self,
        kind: str,
        payload: dict[str, Any],
        at: datetime,
        *,
        closure: str = "",
        photos: Sequence[tuple[str, int]] = (),
    ) -> None:
        """The officer's arrival or resolution: the local row and the outbox record (``payload``, a
        ``WorkOrderArrival`` / ``WorkOrderResolution`` as JSON) together; resolution photos (sha, size)
        join the upload queue."""
        if kind not in WORK_ORDER_KINDS:
            raise refuse("bad_value", "kind", f"kind: {kind!r} is not allowed", f"kind：取值无效（{kind}）")
        order_id = str(payload["order_id"])
        round_ = int(payload["round"])
        text = dumps(payload)
        with self._write() as conn:
            held = conn.execute(
                "SELECT local_round, local_arrived_at FROM work_orders WHERE order_id = ?", (order_id,)
            ).fetchone()
            if held is None:
                raise refuse(
                    "unknown_work_order", "order_id", f"no work order {order_id}", f"没有工单 {order_id}"
                )
            arrived = held["local_arrived_at"] if int(held["local_round"]) == round_ else None
            if kind == "work_order_arrival":
                conn.execute(
                    "UPDATE work_orders SET local_round = ?, local_arrived_at = ?, local_resolved_at = NULL,"
                    " local_closure = '' WHERE order_id = ?",
                    (round_, at.isoformat(), order_id),
                )
            else:
                conn.execute(
                    "UPDATE work_orders SET local_round = ?, local_arrived_at = ?, local_resolved_at = ?,"
                    " local_closure = ? WHERE order_id = ?",
                    (round_, arrived, at.isoformat(), closure, order_id),
                )
            conn.execute(
                OUTBOX_INSERT,
                (kind, str(payload["id"]), text, len(text.encode("utf-8")), datetime.now(UTC).isoformat()),
            )
            for sha, size in photos:
                conn.execute(
                    "INSERT INTO photo_queue (sha256, size, kind, width, height) VALUES (?, ?, 'after', 0, 0)"
                    " ON CONFLICT (sha256) DO NOTHING",
                    (sha, size),
                )

    def set_work_order_case(self, order_id: str, case_id: str) -> None:
        """Remember the case recorded for this order (the resolution links it)."""
        with self._write() as conn:
            conn.execute("UPDATE work_orders SET link_case_id = ? WHERE order_id = ?", (case_id, order_id))

    # -- the squad's orders on a leader's phone (``<id>#<squad>``)
    def apply_squad_work_order(self, data: dict[str, Any]) -> None:
        """HQ's view of one of the squad's orders (``WorkOrderData`` as JSON, validated), upserted by id."""
        with self._write() as conn:
            conn.execute(
                "INSERT INTO squad_work_orders (order_id, squad, officer, intake_at_utc, data, received_at)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (order_id) DO UPDATE SET squad = excluded.squad,"
                " officer = excluded.officer, intake_at_utc = excluded.intake_at_utc, data = excluded.data,"
                " received_at = excluded.received_at",
                (
                    str(data["order_id"]),
                    str(data.get("squad") or ""),
                    str(data.get("officer") or ""),
                    _micros(datetime.fromisoformat(str(data["intake_at"]))),
                    dumps(data),
                    datetime.now(UTC).isoformat(),
                ),
            )

    def squad_work_orders(self, squad_code: str) -> list[tuple[dict[str, Any], datetime]]:
        """The squad's orders as last pulled (HQ's JSON, when the phone received it), newest first."""
        rows = self._rows(
            "SELECT data, received_at FROM squad_work_orders WHERE squad = ? ORDER BY intake_at_utc DESC,"
            " order_id",
            (squad_code,),
        )
        return [(json.loads(r["data"]), datetime.fromisoformat(r["received_at"])) for r in rows]
