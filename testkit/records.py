"""Builders of valid records for storage-level tests (HQ's storage contract, ingest, review, audit), and
raw SQL behind a storage's back. The API-level builders (``make_case(officer, ...)``, ``push_body``) are in
``testkit.hqkit``.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

import psycopg
from psycopg import sql as pgsql

from enforcement.model import (
    LOCAL_TZ,
    Case,
    Disposition,
    Location,
    Officer,
    PhotoKind,
    PhotoRef,
    Role,
    Stage,
    Subject,
    SubjectKind,
    new_id,
)
from hq.storage.base import Storage
from hq.storage.postgres import PostgresStorage
from hq.storage.sqlite import SqliteStorage

DISTRICT = "金水区"
OFFICER = Officer("1023", "王㐂𠮷", "ZD01", "人民路中队", DISTRICT, Role.OFFICER)
OTHER_OFFICER = Officer("1024", "李四", "ZD01", "人民路中队", DISTRICT, Role.OFFICER)
LEADER = Officer("2001", "赵队长", "ZD01", "人民路中队", DISTRICT, Role.LEADER)
NOW = datetime(2026, 11, 22, 22, 0, tzinfo=LOCAL_TZ)


RawSql = Callable[[str, Sequence[Any]], list[tuple[Any, ...]]]


def raw_sql(storage: Storage) -> RawSql:
    """Run SQL (``?`` placeholders) behind the storage's back, autocommitted: how a tamperer edits rows."""

    def run(sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        if isinstance(storage, SqliteStorage):
            conn = sqlite3.connect(storage.path, isolation_level=None)
            try:
                cursor = conn.execute(sql, tuple(params))
                return [tuple(r) for r in cursor.fetchall()] if cursor.description else []
            finally:
                conn.close()
        assert isinstance(storage, PostgresStorage)
        with psycopg.connect(storage.dsn, autocommit=True) as pg:
            pg.execute(pgsql.SQL("SET search_path TO {}").format(pgsql.Identifier(storage.schema)))
            cur = pg.execute(sql.replace("?", "%s"), tuple(params))
            return [tuple(r) for r in cur.fetchall()] if cur.description else []

    return run


_phones = iter(range(1, 10**8))


def make_subject(**changes: Any) -> Subject:
    """A mobile vendor of DISTRICT with a phone number of its own (two subjects sharing a phone are one
    identity for HQ's staged rule, ``hq.subjectmatch``: pass the same ``phone`` to make them so)."""
    fields: dict[str, Any] = {
        "id": new_id(),
        "kind": SubjectKind.MOBILE_VENDOR,
        "name": "烧烤摊主𠮷",
        "phone": f"138{next(_phones):08d}",
        "district": DISTRICT,
    }
    fields.update(changes)
    return Subject(**fields)


_counter = iter(range(1, 10**9))


def make_case(
    *,
    officer: Officer = OFFICER,
    subject_id: str | None = None,
    occurred_at: datetime = NOW,
    stage: Stage = Stage.PERSUASION,
    photos: int | None = None,
    **changes: Any,
) -> Case:
    """A valid 露天烧烤 (0510) case whose phone-computed stage is ``stage``, with ``photos`` photo records
    (by default the shipped catalogue's minimum for the stage applied: one for 警告 and 处罚)."""
    if photos is None:
        photos = 1 if changes.get("chosen_stage", stage) in (Stage.WARNING, Stage.PENALTY) else 0
    fields: dict[str, Any] = {
        "id": new_id(),
        "case_no": f"{officer.squad_code}-{officer.badge}-261122-K7Q2M-{next(_counter):04d}",
        "officer_badge": officer.badge,
        "squad_code": officer.squad_code,
        "device_id": "device-1",
        "violation_code": "0510",
        "occurred_at": occurred_at,
        "location": Location(lat=34.75, lon=113.62, accuracy_m=8.0, address="人民路夜市"),
        "subject_id": subject_id,
        "subject_unknown": subject_id is None,
        "computed_stage": stage,
        "chosen_stage": stage,
        "stage_ordinal": int(stage),
        "disposition": Disposition.PERSUADED,
        "photos": tuple(
            PhotoRef(sha, 1000 + i, PhotoKind.DURING) for i, sha in enumerate(photo_hashes(photos))
        ),
    }
    fields.update(changes)
    return Case(**fields)


def photo_hashes(n: int) -> list[str]:
    """``n`` distinct fresh SHA-256-shaped names."""
    return [uuid.uuid4().hex + uuid.uuid4().hex for _ in range(n)]


def days(n: float) -> timedelta:
    return timedelta(days=n)
