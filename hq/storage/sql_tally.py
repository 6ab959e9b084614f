"""Aggregate tables and keyset pages (shared SQL; what is counted is ``hq.tally``'s to decide).

The storage only adds deltas (upsert-increment, in the caller's transaction), recounts one subject's row,
empties the tables for a rebuild, and reads them back. Keyset pages walk the ``cases_time`` /
``cases_squad_time`` indexes in ``(occurred_at, case_no, version)`` order: no OFFSET, so a page deep in
history costs what the first one does.
"""

# Column lists are constants, never input: the f-strings build no SQL from data.
# ruff: noqa: S608

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from enforcement.codec import subject_from_dict
from enforcement.model import CaseStatus, ReviewDecision, Stage, Subject
from hq.storage.base import CaseKey, CaseState, OffenderRow
from hq.storage.sql_records import case_filters
from hq.storage.sqlcore import Row, SqlBase, loads

#: A case version counts when it is the latest, active, and not withdrawn on review (``hq.tally``).
COUNTED_SQL = (
    f"latest AND status = '{CaseStatus.ACTIVE.value}' AND review <> '{ReviewDecision.WITHDRAW.value}'"
)

GROUP_COLUMNS = frozenset({"day", "squad_code", "violation_code", "stage"})
AGG_TABLES = ("agg_cases", "agg_seized", "agg_conflicts", "agg_subjects", "agg_trend")
TREND_UNITS = frozenset({"week", "month"})


class TallyMixin(SqlBase):
    # -- writes
    def tally_add(
        self,
        cases: Iterable[tuple[str, str, str, int, int, int, int]] = (),
        seized: Iterable[tuple[str, str, str, int, int]] = (),
        conflicts: Iterable[tuple[str, str, int]] = (),
        trend: Iterable[tuple[str, str, str, str, int, int]] = (),
    ) -> None:
        """Add deltas: cases ``(day, squad, violation, stage, n, fined, fines_yuan)``, seizures ``(day,
        squad, kind, cases, items)``, open conflicts ``(day, squad, n)``, trend rows ``(unit, first day,
        squad, violation, stage, n)``."""
        self._writable()
        rows = list(cases)
        if rows:
            self._rows(
                "INSERT INTO agg_cases (day, squad_code, violation_code, stage, n, fined, fines_yuan)"
                " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (day, squad_code, violation_code, stage)"
                " DO UPDATE SET n = agg_cases.n + excluded.n, fined = agg_cases.fined + excluded.fined,"
                " fines_yuan = agg_cases.fines_yuan + excluded.fines_yuan",
                rows,
            )
        rows_s = list(seized)
        if rows_s:
            self._rows(
                "INSERT INTO agg_seized (day, squad_code, kind, cases, items) VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT (day, squad_code, kind) DO UPDATE SET cases = agg_seized.cases"
                " + excluded.cases, items = agg_seized.items + excluded.items",
                rows_s,
            )
        rows_c = list(conflicts)
        if rows_c:
            self._rows(
                "INSERT INTO agg_conflicts (day, squad_code, n) VALUES (?, ?, ?)"
                " ON CONFLICT (day, squad_code) DO UPDATE SET n = agg_conflicts.n + excluded.n",
                rows_c,
            )
        rows_t = list(trend)
        if rows_t:
            self._rows(
                "INSERT INTO agg_trend (unit, first_day, squad_code, violation_code, stage, n)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (unit, first_day, squad_code, violation_code, stage)"
                " DO UPDATE SET n = agg_trend.n + excluded.n",
                rows_t,
            )

    def tally_recount_subjects(self, subject_ids: Iterable[str]) -> None:
        """Recount each subject's row from its counted cases: one grouped query (an index range per
        subject) per 500 subjects, then one upsert and one delete for all of them."""
        self._writable()
        wanted = sorted(set(subject_ids))
        counted: dict[str, Row] = {}
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            where, params = self._in("subject_id", chunk)
            rows = self._all(
                "SELECT subject_id, count(*), sum(CASE WHEN hq_stage = ? THEN 1 ELSE 0 END),"
                " max(occurred_at), max(CASE WHEN hq_stage = ? THEN occurred_at END)"
                f" FROM cases WHERE {where} AND {COUNTED_SQL} GROUP BY subject_id",
                [int(Stage.PENALTY), int(Stage.PENALTY), *params],
            )
            counted.update((r[0], r) for r in rows if int(r[1]) > 0)
        gone = [(s,) for s in wanted if s not in counted]
        if gone:
            self._many("DELETE FROM agg_subjects WHERE subject_id = ?", gone)
        if counted:
            self._rows(
                "INSERT INTO agg_subjects (subject_id, n, penalties, last_at, last_penalty_at)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (subject_id) DO UPDATE SET n = excluded.n,"
                " penalties = excluded.penalties, last_at = excluded.last_at,"
                " last_penalty_at = excluded.last_penalty_at",
                [(s, int(r[1]), int(r[2] or 0), r[3], r[4]) for s, r in sorted(counted.items())],
            )

    def tally_put_subjects(self, rows: Iterable[tuple[str, int, int, datetime, datetime | None]]) -> None:
        """Insert subject rows ``(subject_id, n, penalties, last_at, last_penalty_at)`` (a rebuild)."""
        self._writable()
        self._many(
            "INSERT INTO agg_subjects (subject_id, n, penalties, last_at, last_penalty_at)"
            " VALUES (?, ?, ?, ?, ?)",
            ((s, n, p, self._ts(a), self._ts(b)) for s, n, p, a, b in rows),
        )

    def tally_clear(self) -> None:
        self._writable()
        for table in AGG_TABLES:
            self._x(f"DELETE FROM {table}")

    # -- reads
    def tally_cases(
        self,
        first_day: str,
        last_day: str,
        *,
        squad_code: str | None = None,
        violation_code: str | None = None,
    ) -> list[tuple[str, str, str, int, int, int, int]]:
        """Rows ``(day, squad, violation, stage, n, fined, fines_yuan)`` of the days, non-zero only."""
        sql = (
            "SELECT day, squad_code, violation_code, stage, n, fined, fines_yuan FROM agg_cases"
            " WHERE day >= ? AND day <= ? AND n <> 0"
        )
        params: list[Any] = [first_day, last_day]
        if squad_code is not None:
            sql += " AND squad_code = ?"
            params.append(squad_code)
        if violation_code is not None:
            sql += " AND violation_code = ?"
            params.append(violation_code)
        return [
            (r[0], r[1], r[2], int(r[3]), int(r[4]), int(r[5]), int(r[6]))
            for r in self._all(sql + " ORDER BY day, squad_code, violation_code, stage", params)
        ]

    def tally_sum(
        self,
        first_day: str,
        last_day: str,
        by: Sequence[str],
        *,
        squad_code: str | None = None,
        violation_code: str | None = None,
    ) -> list[tuple[Any, ...]]:
        """``(*group, n, fined, fines_yuan)`` summed over the days, grouped by ``by`` (columns of
        ``GROUP_COLUMNS``), non-zero groups only."""
        if not by or any(column not in GROUP_COLUMNS for column in by):
            raise ValueError(f"group by {by!r}")
        columns = ", ".join(by)
        sql = (
            f"SELECT {columns}, sum(n), sum(fined), sum(fines_yuan) FROM agg_cases"
            " WHERE day >= ? AND day <= ?"
        )
        params: list[Any] = [first_day, last_day]
        if squad_code is not None:
            sql += " AND squad_code = ?"
            params.append(squad_code)
        if violation_code is not None:
            sql += " AND violation_code = ?"
            params.append(violation_code)
        sql += f" GROUP BY {columns} HAVING sum(n) <> 0 ORDER BY {columns}"
        width = len(by)
        return [
            (*r[:width], int(r[width]), int(r[width + 1]), int(r[width + 2])) for r in self._all(sql, params)
        ]

    def tally_seized(
        self, first_day: str, last_day: str, *, squad_code: str | None = None
    ) -> list[tuple[str, str, str, int, int]]:
        sql = "SELECT day, squad_code, kind, cases, items FROM agg_seized WHERE day >= ? AND day <= ?"
        params: list[Any] = [first_day, last_day]
        if squad_code is not None:
            sql += " AND squad_code = ?"
            params.append(squad_code)
        sql += " AND cases <> 0 ORDER BY day, squad_code, kind"
        return [(r[0], r[1], r[2], int(r[3]), int(r[4])) for r in self._all(sql, params)]

    def tally_trend(
        self,
        unit: str,
        first: str,
        last: str,
        *,
        squad_code: str | None = None,
        violation_code: str | None = None,
    ) -> list[tuple[str, int, int]]:
        """``(first day, stage, n)`` of the weeks or months (``unit``) whose first day is in
        ``[first, last]``, summed over squads and violations (or of one), non-zero only."""
        if unit not in TREND_UNITS:
            raise ValueError(f"trend unit {unit!r}")
        sql = (
            "SELECT first_day, stage, sum(n) FROM agg_trend"
            " WHERE unit = ? AND first_day >= ? AND first_day <= ?"
        )
        params: list[Any] = [unit, first, last]
        if squad_code is not None:
            sql += " AND squad_code = ?"
            params.append(squad_code)
        if violation_code is not None:
            sql += " AND violation_code = ?"
            params.append(violation_code)
        sql += " GROUP BY first_day, stage HAVING sum(n) <> 0 ORDER BY first_day, stage"
        return [(r[0], int(r[1]), int(r[2])) for r in self._all(sql, params)]

    def tally_trend_rows(self) -> list[tuple[str, str, str, str, int, int]]:
        """Every trend row ``(unit, first day, squad, violation, stage, n)``, non-zero only (tests and the
        rebuild check)."""
        rows = self._all(
            "SELECT unit, first_day, squad_code, violation_code, stage, n FROM agg_trend WHERE n <> 0"
            " ORDER BY unit, first_day, squad_code, violation_code, stage"
        )
        return [(r[0], r[1], r[2], r[3], int(r[4]), int(r[5])) for r in rows]

    def tally_conflicts(self) -> list[tuple[str, str, int]]:
        """Open conflicts ``(day, squad, n)``, non-zero only."""
        rows = self._all("SELECT day, squad_code, n FROM agg_conflicts WHERE n <> 0 ORDER BY day, squad_code")
        return [(r[0], r[1], int(r[2])) for r in rows]

    def tally_subjects(self) -> list[OffenderRow]:
        """Every subject row (tests and the rebuild check)."""
        rows = self._all(
            "SELECT subject_id, n, penalties, last_at, last_penalty_at FROM agg_subjects ORDER BY subject_id"
        )
        return [self._offender(r) for r in rows]

    def _offender(self, r: Sequence[Any]) -> OffenderRow:
        return OffenderRow(r[0], int(r[1]), int(r[2]), self._dt(r[3]), self._dt_opt(r[4]))

    def tally_offenders(
        self, penalty_since: datetime, *, after: tuple[int, str] | None = None, limit: int = 20
    ) -> list[OffenderRow]:
        """Subjects with a counted 处罚 case at or after ``penalty_since``, most cases first (keyset
        ``after`` = the last row's ``(n, subject_id)``)."""
        sql = (
            "SELECT subject_id, n, penalties, last_at, last_penalty_at FROM agg_subjects"
            " WHERE penalties > 0 AND last_penalty_at >= ?"
        )
        params: list[Any] = [self._ts(penalty_since)]
        if after is not None:
            sql += " AND (n < ? OR (n = ? AND subject_id > ?))"
            params += [after[0], after[0], after[1]]
        sql += " ORDER BY n DESC, subject_id LIMIT ?"
        params.append(limit)
        return [self._offender(r) for r in self._all(sql, params)]

    # -- keyset pages
    def cases_page(
        self,
        *,
        after: CaseKey | None = None,
        descending: bool = True,
        district: str | None = None,
        squad_code: str | None = None,
        officer_badge: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        latest_only: bool = True,
        conflicts_only: bool = False,
        open_conflicts: bool = False,
        limit: int = 100,
    ) -> list[CaseState]:
        """One page of case states in ``(occurred_at, case_no, version)`` order (newest first unless
        ``descending`` is False), strictly after the key ``after`` of the previous page's last row."""
        sql, params = case_filters(
            self._ts,
            equal={"c.district": district, "c.squad_code": squad_code, "c.officer_badge": officer_badge},
            ranges={"c.occurred_at": (since, until)},
        )
        if latest_only or open_conflicts:
            sql += " AND c.latest"
        if conflicts_only or open_conflicts:
            sql += " AND c.stage_conflict"
        if open_conflicts:
            sql += " AND c.review = ''"
        op, order = ("<", "DESC") if descending else (">", "ASC")
        if after is not None:
            sql += f" AND (c.occurred_at, c.case_no, c.version) {op} (?, ?, ?)"
            params += [self._ts(after[0]), after[1], after[2]]
        sql += f" ORDER BY c.occurred_at {order}, c.case_no {order}, c.version {order} LIMIT ?"
        params.append(limit)
        return [self._state(r) for r in self._all(sql, params)]

    def case_payloads(self, case_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """The stored JSON of the case versions among ``case_ids`` (one query per 500 ids), undecoded:
        HQ wrote it after validating it, and counting reads three fields of it."""
        found: dict[str, dict[str, Any]] = {}
        for n in range(0, len(case_ids), 500):
            chunk = list(case_ids[n : n + 500])
            where, params = self._in("id", chunk)
            for row in self._all(f"SELECT id, payload FROM cases WHERE {where}", params):
                found[row[0]] = loads(row[1])
        return found

    def subjects_page(self, district: str, *, after: str | None = None, limit: int = 100) -> list[Subject]:
        """One page of the district's subjects by id, strictly after ``after``."""
        sql = "SELECT payload FROM subjects WHERE district = ? AND deleted_at IS NULL"
        params: list[Any] = [district]
        if after is not None:
            sql += " AND id > ?"
            params.append(after)
        rows = self._all(sql + " ORDER BY id LIMIT ?", [*params, limit])
        return [subject_from_dict(loads(r[0])) for r in rows]

    if TYPE_CHECKING:  # provided by RecordsMixin

        def _state(self, row: Row) -> CaseState: ...
