"""Opening the phone store: schema and durability settings, refusal of damaged or newer files (left
untouched), migrations, meta, case numbering, threads and transactions. Shared factories live here."""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlite_utils import Database

from enforcement.catalogue import load_catalogue
from enforcement.model import (
    LOCAL_TZ,
    Case,
    Disposition,
    IdentifierError,
    Location,
    PhotoKind,
    PhotoRef,
    SeizedItem,
    Stage,
    Subject,
    SubjectKind,
    SyncState,
    local_date,
    new_id,
)
from enforcement.numbering import parse_case_no
from mobile import migrations
from mobile.store import Store, StoreCorrupt, StoreError, StoreRefused, StoreTooNew, StoreWriteFailed

CATALOGUE = load_catalogue()
T0 = datetime(2026, 11, 22, 21, 30, tzinfo=LOCAL_TZ)
BADGE = "1023"
SQUAD = "ZD01"


def open_store(path: Path | str = ":memory:") -> Store:
    return Store.open(path, catalogue=CATALOGUE)


def make_subject(**changes: Any) -> Subject:
    base = Subject(
        id=new_id(),
        kind=SubjectKind.MOBILE_VENDOR,
        name="王㐂𠮷",
        phone="13812345678",
        description="烤串三轮车，红色雨棚",
        district="金水区",
    )
    return replace(base, **changes)


def photo(seed: str, kind: PhotoKind = PhotoKind.DURING) -> PhotoRef:
    return PhotoRef(hashlib.sha256(seed.encode()).hexdigest(), 200_000 + len(seed), kind, 1600, 1200)


def make_case(
    store: Store,
    subject_id: str | None,
    *,
    when: datetime = T0,
    badge: str = BADGE,
    photos: int = 3,
    seized: int = 2,
    **changes: Any,
) -> Case:
    """A valid 露天烧烤 (0510) case with a fresh case number from the store."""
    items = (SeizedItem("烧烤炉", 1), SeizedItem("炭槽", 2, "铁质"), SeizedItem("桌椅", 4))[:seized]
    base = Case(
        id=new_id(),
        case_no=store.reserve_case_no(SQUAD, badge, local_date(when)),
        officer_badge=badge,
        squad_code=SQUAD,
        device_id=store.device_id,
        violation_code="0510",
        occurred_at=when,
        location=Location(
            lat=34.7466, lon=113.6253, accuracy_m=8.0, address="人民路夜市东口", grid_cell="G-017"
        ),
        subject_id=subject_id,
        computed_stage=Stage.PERSUASION,
        chosen_stage=Stage.PERSUASION,
        disposition=Disposition.PERSUADED,
        second_officer_badge=("1024" if badge != "1024" else "1025") if items else "",
        seizure_receipt_no="ZK-2026-0001" if items else "",
        seized_items=items,
        photos=tuple(
            photo(f"{new_id()}-{i}", PhotoKind.BEFORE if i == 0 else PhotoKind.DURING) for i in range(photos)
        ),
        notes="当事人称“马上收摊”",
    )
    return replace(base, **changes)


def raw(path: Path) -> sqlite3.Connection:
    """A second, plain connection to the store's file (to look at rows or sabotage the schema)."""
    return sqlite3.connect(path, isolation_level=None)


# ------------------------------------------------------------------------------------------- open


def test_new_file_gets_schema_wal_and_full_sync(tmp_path: Path) -> None:
    path = tmp_path / "patrol.db"
    store = open_store(path)
    assert store.schema_version == migrations.SCHEMA_VERSION == len(migrations.MIGRATIONS)
    assert store._conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert store._conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    store.close()
    conn = raw(path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA user_version").fetchone()[0] == migrations.SCHEMA_VERSION
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"cases", "case_photos", "seized_items", "subjects", "outbox", "photo_queue", "reviews"} <= tables
    conn.close()


def test_identity_is_made_once_and_kept(tmp_path: Path) -> None:
    path = tmp_path / "patrol.db"
    with open_store(path) as store:
        device_id, tag = store.device_id, store.install_tag
    assert len(device_id) == 36
    assert tag
    with open_store(path) as store:
        assert (store.device_id, store.install_tag) == (device_id, tag)
    with open_store(tmp_path / "other.db") as other:
        assert other.device_id != device_id


def _filled_file(tmp_path: Path) -> Path:
    path = tmp_path / "patrol.db"
    with open_store(path) as store:
        subject = store.save_subject(make_subject())
        for hour in range(5):
            store.save_case(make_case(store, subject.id, when=T0 - timedelta(hours=hour)))
    assert not Path(f"{path}-wal").exists()  # checkpointed on close: every page is in the main file
    return path


def test_corrupt_file_is_refused_and_left_unchanged(tmp_path: Path) -> None:
    path = _filled_file(tmp_path)
    data = bytearray(path.read_bytes())
    page = 4096
    assert len(data) > 4 * page
    data[2 * page : 3 * page] = bytes((i * 7 + 3) % 256 for i in range(page))  # garbage over page 3
    path.write_bytes(bytes(data))
    with pytest.raises(StoreCorrupt) as err:
        open_store(path)
    assert err.value.code == "store_corrupt"
    assert "损坏" in err.value.message("zh")
    assert "damaged" in err.value.message("en")
    assert path.read_bytes() == bytes(data)


def test_file_that_is_not_sqlite_is_refused_and_left_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "patrol.db"
    content = "这不是数据库 not a database\n".encode() * 50
    path.write_bytes(content)
    with pytest.raises(StoreCorrupt) as err:
        open_store(path)
    assert "SQLite" in err.value.message("en")
    assert "不是" in err.value.message("zh")
    assert path.read_bytes() == content


def test_truncated_header_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "patrol.db"
    path.write_bytes(b"SQLite format 3\x00\x10")
    with pytest.raises(StoreCorrupt):
        open_store(path)
    assert path.read_bytes() == b"SQLite format 3\x00\x10"


def test_database_of_another_app_is_refused_and_left_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "patrol.db"
    conn = raw(path)
    conn.execute("CREATE TABLE contacts (name TEXT)")
    conn.execute("INSERT INTO contacts VALUES ('王㐂')")
    conn.close()
    before = path.read_bytes()
    with pytest.raises(StoreCorrupt) as err:
        open_store(path)
    assert err.value.code == "store_foreign"
    assert "其他应用" in err.value.message("zh")
    assert "another application" in err.value.message("en")
    assert path.read_bytes() == before


def test_empty_file_becomes_a_store(tmp_path: Path) -> None:
    path = tmp_path / "patrol.db"
    path.touch()  # e.g. made by a file picker: an empty file is an empty SQLite database
    with open_store(path) as store:
        assert store.schema_version == migrations.SCHEMA_VERSION


def test_file_from_a_newer_app_is_refused_and_left_unchanged(tmp_path: Path) -> None:
    path = _filled_file(tmp_path)
    conn = raw(path)
    conn.execute(f"PRAGMA user_version = {migrations.SCHEMA_VERSION + 1}")
    conn.close()
    before = path.read_bytes()
    with pytest.raises(StoreTooNew) as err:
        open_store(path)
    assert err.value.code == "store_too_new"
    assert "升级" in err.value.message("zh")
    assert "newer" in err.value.message("en")
    assert path.read_bytes() == before


def test_directory_path_is_refused(tmp_path: Path) -> None:
    with pytest.raises(StoreError) as err:
        open_store(tmp_path)
    assert err.value.code == "store_open"
    assert err.value.message("zh")


def test_missing_parent_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(StoreError) as err:
        open_store(tmp_path / "no" / "such" / "patrol.db")
    assert err.value.code == "store_open"
    assert "无法打开" in err.value.message("zh")


def test_sqlite_failure_while_opening_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _filled_file(tmp_path)
    before = path.read_bytes()

    def failing(*args: object, **kwargs: object) -> None:
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr("mobile.store.Database", failing)
    with pytest.raises(StoreError) as err:
        open_store(path)
    assert err.value.code == "store_open"
    assert "无法打开" in err.value.message("zh")
    assert "disk I/O error" in err.value.message("en")
    assert path.read_bytes() == before


def test_old_schema_is_migrated_keeping_data(tmp_path: Path) -> None:
    path = tmp_path / "patrol.db"
    conn = raw(path)
    conn.execute("BEGIN")
    migrations.m001_initial(conn)
    conn.execute("PRAGMA user_version = 1")
    conn.execute("INSERT INTO meta (key, value) VALUES ('device_id', '\"dev-from-v1\"')")
    conn.execute("COMMIT")
    conn.close()
    with open_store(path) as store:
        assert store.schema_version == migrations.SCHEMA_VERSION
        assert store.device_id == "dev-from-v1"
    conn = raw(path)
    indexes = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert {"cases_patrol_log", "subjects_by_plate", "outbox_pending"} <= indexes
    conn.close()


def _schema(path: Path) -> tuple[list[tuple[str, str, str]], dict[str, dict[str, type]]]:
    """The file's schema: every sqlite_master entry (type, name, SQL text) and each table's columns."""
    db = Database(raw(path))
    try:
        master = db.execute("SELECT type, name, sql FROM sqlite_master ORDER BY type, name").fetchall()
        return master, {name: db.table(name).columns_dict for name in db.table_names()}
    finally:
        db.close()


def test_an_upgraded_file_holds_the_same_schema_as_a_new_one(tmp_path: Path) -> None:
    """Upgrading from schema 1 and creating a new store run the same migrations: same SQL text of every
    table and index, same columns."""
    old = tmp_path / "old.db"
    conn = raw(old)
    migrations.m001_initial(conn)
    conn.execute("PRAGMA user_version = 1")
    conn.close()
    open_store(old).close()
    open_store(tmp_path / "new.db").close()
    assert _schema(old) == _schema(tmp_path / "new.db")
    assert {"meta", "cases", "subject_chars", "squad_cases"} <= set(_schema(old)[1])


REASON_ZH = "第3次 · 处罚：10-02 劝导，11-01 警告"
REASON_EN = "3rd · Penalty: 10-02 Persuasion, 11-01 Warning"


def test_a_schema_3_file_gets_hqs_reason_columns_keeping_its_cases(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A phone DB written by the app before m004 (schema 3: HQ's stage of own cases, no reason) upgrades:
    its case keeps HQ's stage, reads without a reason, and takes HQ's reason afterwards."""
    path = tmp_path / "patrol.db"
    with monkeypatch.context() as old_app:
        old_app.setattr("mobile.store.MIGRATIONS", migrations.MIGRATIONS[:3])
        old_app.setattr("mobile.store.SCHEMA_VERSION", 3)
        with open_store(path) as store:
            case = make_case(store, None, subject_unknown=True)
            store.save_case(case)
    conn = raw(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 3
    columns = {row[1] for row in conn.execute("PRAGMA table_info(cases)")}
    assert "hq_stage" in columns
    assert not columns & {"hq_reason_zh", "hq_reason_en"}
    conn.execute("UPDATE cases SET sync_state = 'complete', hq_stage = 3 WHERE id = ?", (case.id,))
    conn.close()

    with open_store(path) as store:  # the updated app opens the old file
        # m005: cases_by_place; m006: zones; m007: subject merge (aliases, versions); m008: work orders;
        # m009: notice books; m010: the squad's work orders on a leader's phone; m011: HQ's receive time
        # of pulled squad cases
        assert store.schema_version == migrations.SCHEMA_VERSION == len(migrations.MIGRATIONS)
        assert store.squad_work_orders("ZD01") == []
        [logged] = store.patrol_log(BADGE, case.local_day)
        assert logged.case == case
        assert (logged.hq_stage, logged.hq_reason_zh, logged.hq_reason_en) == (Stage.PENALTY, "", "")
        store.set_sync_state(case.id, SyncState.COMPLETE, Stage.PENALTY, hq_reason_zh=REASON_ZH,
                             hq_reason_en=REASON_EN)  # fmt: skip
        [logged] = store.patrol_log(BADGE, case.local_day)
        assert (logged.hq_reason_zh, logged.hq_reason_en) == (REASON_ZH, REASON_EN)


def test_failed_migration_leaves_the_old_version(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "patrol.db"
    conn = raw(path)
    migrations.m001_initial(conn)
    conn.execute("PRAGMA user_version = 1")
    conn.close()

    def broken(db: migrations.SqlExecutor) -> None:
        db.execute("CREATE INDEX half_done ON cases (case_no)")
        db.execute("CREATE INDEX broken ON no_such_table (x)")

    monkeypatch.setattr("mobile.store.MIGRATIONS", (migrations.m001_initial, broken))
    with pytest.raises(StoreWriteFailed):
        open_store(path)
    conn = raw(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
    assert conn.execute("SELECT count(*) FROM sqlite_master WHERE name = 'half_done'").fetchone()[0] == 0
    conn.close()


def test_closed_store_refuses_calls() -> None:
    store = open_store()
    store.close()
    store.close()  # idempotent
    with pytest.raises(StoreError) as err:
        store.meta_get("x")
    assert err.value.code == "store_closed"
    assert err.value.message("zh") == "数据库已关闭"
    with pytest.raises(StoreError):
        store.meta_set("x", 1)


# ------------------------------------------------------------------------------------------- meta


def test_meta_holds_json_values() -> None:
    store = open_store()
    assert store.meta_get("sync_cursor") is None
    assert store.meta_get("sync_cursor", "start") == "start"
    store.meta_set("sync_cursor", "c-17")
    store.meta_set("settings", {"lang": "zh", "photo_edge": 1600, "名字": "王㐂𠮷"})
    store.meta_set("sync_cursor", "c-18")
    assert store.meta_get("sync_cursor") == "c-18"
    assert store.meta_get("settings") == {"lang": "zh", "photo_edge": 1600, "名字": "王㐂𠮷"}
    store.meta_set("token", None)
    assert store.meta_get("token", "gone") is None


def test_meta_refuses_bad_input() -> None:
    store = open_store()
    with pytest.raises(StoreRefused) as err:
        store.meta_set("when", datetime.now(LOCAL_TZ))
    assert err.value.field == "value"
    assert err.value.message("zh")
    assert err.value.message("en")
    with pytest.raises(StoreRefused) as err:
        store.meta_set(" ", 1)
    assert err.value.field == "key"
    assert "必填" in err.value.message("zh")


# -------------------------------------------------------------------------------------- numbering


def test_case_numbers_are_never_reused(tmp_path: Path) -> None:
    path = tmp_path / "patrol.db"
    day = date(2026, 11, 22)
    with open_store(path) as store:
        first = store.reserve_case_no(SQUAD, BADGE, day)
        second = store.reserve_case_no(SQUAD, BADGE, day)
        tag = store.install_tag
        bad = make_case(store, None, subject_unknown=True, violation_code="")  # reserves a number, then fails
        with pytest.raises(Exception):  # noqa: B017,PT011 - the validation error itself is tested elsewhere
            store.save_case(bad)
    with open_store(path) as store:
        third = store.reserve_case_no(SQUAD, BADGE, day)
    numbers = [first, second, bad.case_no, third]
    assert len(set(numbers)) == 4
    parsed = [parse_case_no(n) for n in numbers]
    assert [p.seq for p in parsed] == [1, 2, 3, 4]
    assert {p.install_tag for p in parsed} == {tag}


def test_bad_squad_code_is_refused_without_using_a_number() -> None:
    store = open_store()
    first = parse_case_no(store.reserve_case_no(SQUAD, BADGE, date(2026, 11, 22)))
    with pytest.raises(IdentifierError) as err:
        store.reserve_case_no("zd 01", BADGE, date(2026, 11, 22))
    assert err.value.field == "squad_code"
    assert err.value.message("zh")
    assert not store.in_transaction
    after = parse_case_no(store.reserve_case_no(SQUAD, BADGE, date(2026, 11, 22)))
    assert after.seq == first.seq + 1


# ------------------------------------------------------------------------------ threads, transactions


def test_reads_never_leave_a_transaction_open(tmp_path: Path) -> None:
    path = tmp_path / "patrol.db"
    store = open_store(path)
    subject = store.save_subject(make_subject(plate="豫A12345"))  # a vendor with a motor tricycle
    case = make_case(store, subject.id)
    store.save_case(case)
    reads = [
        lambda: store.meta_get("device_id"),
        lambda: store.get_officer(BADGE),
        lambda: store.open_shift(BADGE),
        lambda: store.shifts_on(BADGE, T0.date()),
        lambda: store.get_subject(subject.id),
        lambda: store.search_subjects("豫A·12345"),
        lambda: store.search_subjects("王"),
        lambda: store.get_case(case.id),
        lambda: store.case_versions(case.case_no),
        lambda: store.patrol_log(BADGE, T0.date()),
        lambda: store.subject_history(subject.id),
        lambda: store.violation_counts(BADGE),
        lambda: store.outbox_pending(max_records=1),
        lambda: store.outbox_parked(),
        lambda: store.outbox_stats(),
        lambda: store.photos_to_upload(limit=1),
        lambda: store.photo_hashes(),
        lambda: store.photo_stats(),
    ]
    other = raw(path)
    for read in reads:
        read()
        assert not store.in_transaction
        # no read snapshot is pinned: a full checkpoint by another connection is not blocked
        busy, _, _ = other.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        assert busy == 0
    other.close()
    store.close()


def test_calls_from_several_threads_are_serialised(tmp_path: Path) -> None:
    store = open_store(tmp_path / "patrol.db")
    subject = store.save_subject(make_subject())
    errors: list[BaseException] = []

    def officer(badge: str) -> None:
        try:
            for i in range(8):
                store.save_case(
                    make_case(store, subject.id, badge=badge, when=T0 - timedelta(minutes=i), photos=1)
                )
                store.patrol_log(badge, T0.date())
                store.outbox_pending()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=officer, args=(badge,)) for badge in ("1023", "1024", "1025")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert [len(store.patrol_log(badge, T0.date())) for badge in ("1023", "1024", "1025")] == [8, 8, 8]
    assert store.outbox_stats()[0] == 1 + 24
    assert not store.in_transaction
    store.close()


# ------------------------------------------------------------------------------- HQ's word on own cases


def test_hqs_reason_is_kept_with_hqs_stage_of_an_own_case() -> None:
    store = open_store()
    case = make_case(store, None, subject_unknown=True)
    store.save_case(case)

    def hq() -> tuple[Stage | None, str, str]:
        [logged] = store.patrol_log(BADGE, case.local_day)
        return logged.hq_stage, logged.hq_reason_zh, logged.hq_reason_en

    assert hq() == (None, "", "")
    store.set_sync_state(case.id, SyncState.SENT, Stage.PERSUASION)  # the push's answer: no reason
    assert hq() == (Stage.PERSUASION, "", "")
    store.set_sync_state(case.id, SyncState.SENT, Stage.PENALTY, hq_reason_zh=f" {REASON_ZH} ",
                         hq_reason_en=REASON_EN)  # fmt: skip
    assert hq() == (Stage.PENALTY, REASON_ZH, REASON_EN)
    # no stage (photos complete): stage and reason stay; the same stage without a reason (a re-sent push's
    # answer) keeps the reason pulled for it
    store.set_sync_state(case.id, SyncState.COMPLETE)
    assert hq() == (Stage.PENALTY, REASON_ZH, REASON_EN)
    store.set_sync_state(case.id, SyncState.COMPLETE, Stage.PENALTY)
    assert hq() == (Stage.PENALTY, REASON_ZH, REASON_EN)
    # a new stage brings its own reason; a new stage without one clears the old reason
    store.set_sync_state(case.id, SyncState.COMPLETE, Stage.WARNING, hq_reason_zh="第2次 · 警告：11-01 警告",
                         hq_reason_en="2nd · Warning: 11-01 Warning")  # fmt: skip
    assert hq() == (Stage.WARNING, "第2次 · 警告：11-01 警告", "2nd · Warning: 11-01 Warning")
    store.set_sync_state(case.id, SyncState.COMPLETE, Stage.PERSUASION)
    assert hq() == (Stage.PERSUASION, "", "")
    # a reason without a stage is not HQ's word on any stage: ignored
    store.set_sync_state(case.id, SyncState.COMPLETE, hq_reason_zh=REASON_ZH, hq_reason_en=REASON_EN)
    assert hq() == (Stage.PERSUASION, "", "")
    store.close()
