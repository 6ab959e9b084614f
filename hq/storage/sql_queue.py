"""The review queue's reads (shared SQL): a squad's day of latest case versions, or a keyset page of the
ones still waiting for the leader, without reading the squad's whole day log.

A case is on the day of its best-known time (``patrollog.reviewing.best_known_time``): its own time, or
HQ's receive time when its time is implausible against it (after it by more than the future slack, or
older than the look-back window). Candidates are the squad's cases that occurred or were received in the
day (two index ranges: ``cases_squad_time`` and ``cases_squad_received``, so the cost is the day's cases,
not the squad's history); the placement, the time flag and "needs a decision" (``needs_decision``: 处罚
applied or HQ's, a stage conflict, or an implausible time) are computed in SQL with exact time arithmetic
(PostgreSQL ``timestamptz`` plus an interval in seconds; SQLite's fixed-width UTC text shifted by whole
seconds with its fraction kept), so the queue's order (decisions first, then time, then case id) is an
``ORDER BY`` and a page is a keyset ``LIMIT``.
"""

# The expressions are built from constants and whole numbers of seconds, never input.
# ruff: noqa: S608

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from enforcement.model import CaseStatus, Stage
from hq.storage.base import QueueKey, QueueRow
from hq.storage.sqlcore import SqlBase, loads


class QueueMixin(SqlBase):
    def _shift(self, column: str, seconds: int) -> str:
        """``column`` moved by ``seconds``, comparable with the stored times (exact to the microsecond)."""
        if self.d.name == "sqlite":
            return (
                f"(strftime('%Y-%m-%dT%H:%M:%S', {column}, '{seconds:+d} seconds') || substr({column}, 20))"
            )
        return f"({column} + make_interval(secs => {seconds}))"

    def _queue_select(
        self, future: timedelta, window: timedelta, device_slack: timedelta, waiting: str
    ) -> str:
        device = (
            "json_extract(c.payload, '$.device_id')"
            if self.d.name == "sqlite"
            else "(c.payload::json ->> 'device_id')"
        )
        secs = int(future.total_seconds()), int(window.total_seconds()), int(device_slack.total_seconds())
        moved = (
            f"(b.occurred_at > {self._shift('b.received_at', secs[0])}"
            f" OR b.occurred_at < {self._shift('b.received_at', -secs[1])})"
        )
        before_device = (
            f"(b.first_seen IS NOT NULL AND b.occurred_at < {self._shift('b.first_seen', -secs[2])})"
        )
        penalty = int(Stage.PENALTY)
        needs = (
            f"({moved} OR {before_device} OR b.chosen_stage = {penalty} OR b.hq_stage = {penalty}"
            " OR b.hq_stage <> b.device_stage OR b.notice_flag IS NOT NULL)"
        )
        # two index ranges (the day's times, the day's receipts), each read on its own: a UNION of the two
        # selects, not ``id IN (…)``, which a planner may answer by scanning every case. The device id is
        # taken from the JSON once per case, outside the devices lookup (a planner scanning the few device
        # rows would otherwise parse the case's JSON once per device row).
        columns = (
            "SELECT c.id, c.case_no, c.version, c.occurred_at, c.received_at, c.hq_stage, c.status, c.review,"
            f" c.chosen_stage, c.device_stage, c.payload, {device} AS device_ref FROM cases c"
        )
        day = (
            f"{columns} WHERE c.squad_code = ? AND c.occurred_at >= ? AND c.occurred_at < ?"
            f" AND c.latest{waiting} UNION {columns} WHERE c.squad_code = ?"
            f" AND c.received_at >= ? AND c.received_at < ? AND c.latest{waiting}"
        )
        # the device's first sign-in, whichever badge (``Tx.device_first_seen``,
        # ``hq.daydata.state_time_flag``)
        base = (
            "SELECT u.*, (SELECT MIN(dv.created_at) FROM devices dv WHERE dv.device_id = u.device_ref)"
            " AS first_seen,"
            # a flagged warning-notice number (``hq.notices``) needs the leader's decision too
            f" (SELECT nf.flag FROM notice_flags nf WHERE nf.case_id = u.id) AS notice_flag FROM ({day}) u"
        )
        # materialized: each candidate's device is looked up once, not at every use of ``first_seen``
        return (
            f"WITH b AS MATERIALIZED ({base}) SELECT * FROM (SELECT b.id, b.case_no, b.version,"
            " b.occurred_at, b.received_at, b.hq_stage, b.status, b.review,"
            f" CASE WHEN {needs} THEN 0 ELSE 1 END AS k, b.first_seen, b.payload,"
            f" CASE WHEN {moved} THEN b.received_at ELSE b.occurred_at END AS placed_at,"
            " b.notice_flag FROM b)"
        )

    def queue_rows(
        self,
        squad_code: str,
        start: datetime,
        end: datetime,
        *,
        future_slack: timedelta,
        window: timedelta,
        device_slack: timedelta,
        waiting_only: bool = False,
        after: QueueKey | None = None,
        limit: int | None = None,
    ) -> list[QueueRow]:
        """The latest case versions of ``squad_code`` whose best-known time is in ``[start, end)``; with
        ``waiting_only`` only those no review decided (active, no review of the version), in the queue's
        order ``(needs a decision first, occurred_at, case id)``, strictly after ``after``, at most
        ``limit``. The slacks and the look-back ``window`` are the time-flag rule's."""
        a, b = self._ts(start), self._ts(end)
        waiting = f" AND c.status = '{CaseStatus.ACTIVE.value}' AND c.review = ''" if waiting_only else ""
        inner = self._queue_select(future_slack, window, device_slack, waiting)
        params: list[Any] = [squad_code, a, b, squad_code, a, b]
        case_id = "q.id" if self.d.name == "sqlite" else 'q.id COLLATE "C"'
        sql = f"{inner} q WHERE q.placed_at >= ? AND q.placed_at < ?"
        params += [a, b]
        if after is not None:
            sql += (
                " AND (q.k > ? OR (q.k = ? AND (q.occurred_at > ?"
                f" OR (q.occurred_at = ? AND {case_id} > ?))))"
            )
            at = self._ts(after[1])
            params += [after[0], after[0], at, at, after[2]]
        sql += f" ORDER BY q.k, q.occurred_at, {case_id}"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        return [
            QueueRow(
                case_id=r[0],
                case_no=r[1],
                version=int(r[2]),
                occurred_at=self._dt(r[3]),
                received_at=self._dt(r[4]),
                hq_stage=Stage(r[5]),
                status=r[6],
                review=r[7],
                needs_decision=int(r[8]) == 0,
                device_first_seen=self._dt_opt(r[9]),
                payload=loads(r[10]),
                notice_flag=r[12] or "",
            )
            for r in self._all(sql, params)
        ]
