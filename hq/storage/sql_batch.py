"""Set-based reads and writes of a push batch (shared SQL): one statement per table per batch.

``hq.ingest.push`` reads what a whole batch needs in one query per table (receipts of its record ids, which of
its case ids and case numbers exist, its subjects, their histories, the photos already held) and writes
its new case versions, photo manifests and receipts with one statement each (``SqlBase._rows``: on
PostgreSQL one ``INSERT … SELECT … FROM unnest``, not a statement per row; on SQLite an ``executemany``).
Lists of keys are read in chunks of 500.
"""

# Column lists are constants, never input: the f-strings build no SQL from data.
# ruff: noqa: S608

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from enforcement.codec import subject_from_dict
from enforcement.model import CaseStatus, HistoryEntry, ReviewDecision, Stage, Subject
from hq.storage.base import NewCase, Receipt, StorageConflict
from hq.storage.sql_records import RecordsMixin
from hq.storage.sqlcore import dumps, loads

_CHUNK = 500
_STATUSES = {status.value: status for status in CaseStatus}
_STAGES = {int(stage): stage for stage in Stage}
_WITHDRAW = ReviewDecision.WITHDRAW.value


def _chunks(keys: Iterable[str]) -> Iterator[list[str]]:
    items = sorted(set(keys))
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


class BatchMixin(RecordsMixin):
    # -- reads
    def receipts_of(self, record_ids: Iterable[str]) -> list[Receipt]:
        found = []
        for chunk in _chunks(record_ids):
            where, params = self._in("record_id", chunk)
            rows = self._all(f"SELECT {self._RECEIPT_COLUMNS} FROM receipts WHERE {where}", params)
            found += [self._receipt(r) for r in rows]
        return found

    def existing_case_ids(self, case_ids: Iterable[str]) -> set[str]:
        found: set[str] = set()
        for chunk in _chunks(case_ids):
            where, params = self._in("id", chunk)
            found |= {r[0] for r in self._all(f"SELECT id FROM cases WHERE {where}", params)}
        return found

    def case_subjects(self, case_ids: Iterable[str]) -> dict[str, str | None]:
        found: dict[str, str | None] = {}
        for chunk in _chunks(case_ids):
            where, params = self._in("id", chunk)
            rows = self._all(f"SELECT id, subject_id FROM cases WHERE {where}", params)
            found.update((r[0], r[1]) for r in rows)
        return found

    def latest_case_nos(self, case_nos: Iterable[str]) -> set[str]:
        found: set[str] = set()
        for chunk in _chunks(case_nos):
            where, params = self._in("case_no", chunk)
            rows = self._all(f"SELECT case_no FROM cases WHERE latest AND {where}", params)
            found |= {r[0] for r in rows}
        return found

    def subjects_by_id(self, subject_ids: Iterable[str]) -> dict[str, tuple[Subject, bool]]:
        found: dict[str, tuple[Subject, bool]] = {}
        for chunk in _chunks(subject_ids):
            where, params = self._in("id", chunk)
            rows = self._all(f"SELECT id, payload, deleted_at FROM subjects WHERE {where}", params)
            found.update((r[0], (subject_from_dict(loads(r[1])), r[2] is not None)) for r in rows)
        return found

    def histories(self, subject_ids: Iterable[str]) -> dict[str, list[HistoryEntry]]:
        found: dict[str, list[HistoryEntry]] = {}
        for chunk in _chunks(subject_ids):
            where, params = self._in("subject_id", chunk)
            rows = self._all(
                "SELECT subject_id, id, case_no, violation_code, occurred_at, chosen_stage, status, version,"
                f" review FROM cases WHERE latest AND {where} ORDER BY occurred_at, case_no",
                params,
            )
            for row in rows:  # the enums by lookup: a call of an Enum class costs more than the row
                status = _STATUSES.get(row[6]) or CaseStatus(row[6])
                if row[8] == _WITHDRAW:
                    status = CaseStatus.WITHDRAWN
                found.setdefault(row[0], []).append(
                    HistoryEntry(case_id=row[1], case_no=row[2], violation_code=row[3],
                                 occurred_at=self._dt(row[4]), stage=_STAGES.get(row[5]) or Stage(row[5]),
                                 status=status, version=int(row[7]))
                )  # fmt: skip
        return found

    def held_photos(self, sha256s: Iterable[str]) -> set[tuple[str, str]]:
        found: set[tuple[str, str]] = set()
        for chunk in _chunks(sha256s):
            where, params = self._in("p.sha256", chunk)
            rows = self._all(
                "SELECT p.sha256, u.badge FROM photos p JOIN photo_uploads u ON u.sha256 = p.sha256"
                f" WHERE p.stored AND {where}",
                params,
            )
            found |= {(r[0], r[1]) for r in rows}
        return found

    # -- writes
    def save_cases(self, cases: Sequence[NewCase]) -> None:
        self._writable()
        if not cases:
            return
        if any(new.case.supersedes is not None for new in cases):
            raise ValueError("save_cases stores first versions only (an amendment goes through save_case)")
        rows: list[Sequence[Any]] = []
        photos: list[Sequence[Any]] = []
        for new in cases:
            case, verdict = new.case, new.verdict
            manifest = sorted({photo.sha256 for photo in case.photos})
            rows.append(
                (case.id, case.case_no, case.version, case.officer_badge, case.squad_code, new.district,
                 case.subject_id, case.violation_code, self._ts(case.occurred_at), case.status.value,
                 self._ts(new.received_at), int(case.computed_stage), int(case.chosen_stage),
                 int(verdict.stage), verdict.ordinal, verdict.stage != case.computed_stage,
                 verdict.explain_zh, verdict.explain_en, len(manifest),
                 new.payload_text if new.payload_text is not None else dumps(dict(new.payload)),
                 verdict.policy_version)
            )  # fmt: skip
            photos += [(case.id, sha) for sha in manifest]
        if len({row[0] for row in rows}) != len(rows):
            raise StorageConflict("a case id twice in one batch", zh="该案件记录已存在", field="id")
        self._rows(
            "INSERT INTO cases (id, case_no, version, supersedes, officer_badge, squad_code, district,"
            " subject_id, violation_code, occurred_at, status, received_at, device_stage, chosen_stage,"
            " hq_stage, hq_ordinal, stage_conflict, explain_zh, explain_en, photos_expected, latest,"
            " review, payload, policy_version)"
            " VALUES (?, ?, ?, NULL, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, TRUE, '', ?, ?)",
            rows,
        )
        if photos:
            self._rows("INSERT INTO case_photos (case_id, sha256) VALUES (?, ?)", photos)

    def add_receipts(self, receipts: Sequence[Receipt]) -> None:
        self._writable()
        if not receipts:
            return
        self._rows(
            f"INSERT INTO receipts ({self._RECEIPT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [(r.record_id, r.payload_hash, r.kind.value, r.badge, r.device_id, r.device_seq,
              self._ts(r.received_at), dumps(dict(r.result))) for r in receipts],
        )  # fmt: skip
