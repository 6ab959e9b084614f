"""Load smoke (issue #7), the suite's version of bench/load.py: 20 simulated phones speaking the real
protocol (asyncio httpx) against ``streetpatrol-hq serve`` on SQLite, in two steps of concurrency. The
counts must match exactly: what HQ acknowledged is what HQ holds, by case id and by SHA-256. No timing
assertions."""

from __future__ import annotations

import hashlib
import io
import math
from collections import Counter
from pathlib import Path

import pytest
from PIL import Image

from testkit.fleet import noise_jpeg, tagged_jpeg
from testkit.load import (
    LoadConfig,
    count_at_hq,
    probe_table,
    run_load,
    sqlite_writer_probe,
    table,
    thread_states,
)


def test_twenty_phones_sync_and_hq_holds_exactly_what_it_acknowledged(tmp_path: Path) -> None:
    config = LoadConfig(
        steps=(5, 20),
        step_seconds=600.0,  # the round cap ends each step: every phone runs exactly max_rounds rounds
        max_rounds=2,
        cases_per_round=2,
        photos_per_case=1,
        photo_bytes=20_000,
        sign_in_concurrency=10,
        production_sign_ins=2,
    )
    result = run_load(config, tmp_path)

    assert [dict(s.errors) for s in result.steps] == [{}, {}]
    assert [s.rounds for s in result.steps] == [5 * 2, 20 * 2]
    assert [s.cases for s in result.steps] == [5 * 2 * 2, 20 * 2 * 2]
    assert [s.photos for s in result.steps] == [5 * 2 * 2, 20 * 2 * 2]
    assert result.sign_in.count == 20
    assert result.sign_in.errors == 0
    assert result.production_sign_in is not None
    assert (result.production_sign_in.count, result.production_sign_in.errors) == (2, 0)
    # The first five phones ran in both steps, the other fifteen only in the second.
    assert sorted(len(p.cases) for p in result.phones) == [4] * 15 + [8] * 5

    counts = count_at_hq(result)
    assert counts == {
        "cases_acked": 100,
        "cases_at_hq": 100,
        "case_rows": 100,
        "acked_missing": 0,
        "photos_acked": 100,
        "photo_rows_stored": 100,
        "blob_files": 100,
        "photos_without_file": 0,
    }
    assert result.hq_peak_rss_kib > 0
    assert all(not math.isnan(s.percentile(0.99)) for s in result.steps)
    text = table(result)
    assert "## sqlite" in text
    assert "| 20 |" in text


def test_the_sqlite_writer_probe_counts_every_commit(tmp_path: Path) -> None:
    rows = sqlite_writer_probe(tmp_path, threads=(1, 3), seconds=0.3)
    assert [n for n, *_ in rows] == [1, 3]
    assert all(rate > 0 and 0 < p99 <= worst for _, rate, p99, worst in rows)
    assert "| 3 |" in probe_table(rows)


def test_hq_thread_samples_are_classified_by_what_the_thread_waits_for(tmp_path: Path) -> None:
    worker = "Thread._bootstrap (threading.py:1002);WorkerThread.run (anyio/_backends/_asyncio.py:1124)"
    push = f"{worker};create_app.<locals>.push (hq/app.py:400)"
    raw = tmp_path / "raw.txt"
    raw.write_text(
        "\n".join(
            [
                f"{worker};Queue.get (queue.py:171);Condition.wait (threading.py:327) 10",
                f"{push};SqliteStorage.transaction (hq/storage/sqlite.py:116);"
                "SqliteStorage._acquire (hq/storage/sqlite.py:86);Condition.wait (threading.py:331) 5",
                f"{push};SqliteStorage.transaction (hq/storage/sqlite.py:119) 3",
                f"{push};SqlTx.commit_step (hq/storage/sqltx.py:30);"
                "PostgresDialect.lock_commit_step (hq/storage/postgres.py:62);"
                "Connection.wait (psycopg/connection.py:495) 2",
                f"{worker};create_app.<locals>._store_photo (hq/app.py:509);"
                "FilesystemBlobStore.adopt (hq/blobs/store.py:147) 1",
                f"{push};ingest_batch (hq/ingest/push.py:100) 4",
                "<module> (streetpatrol-hq:6);main (hq/cli/main.py:329);"
                "Runner.run (asyncio/runners.py:118) 7",
            ]
        ),
        encoding="utf-8",
    )
    assert thread_states(raw) == Counter(
        {
            "idle": 10,
            "db connection wait": 5,
            "Python": 4,
            "SQLite BEGIN/COMMIT": 3,
            "PG commit-step lock": 2,
            "blob files": 1,
        }
    )


def test_photo_variants_are_distinct_decodable_jpegs_of_the_same_size() -> None:
    base, width, height = noise_jpeg("variants", 20_000)
    variants = [tagged_jpeg(base, f"phone/{i}") for i in range(50)]
    assert len({hashlib.sha256(v).hexdigest() for v in variants}) == 50
    assert all(len(v) == len(base) for v in variants)
    for data in variants[:3]:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            assert (image.format, image.size) == ("JPEG", (width, height))
        assert b"\xff\xfe" not in data[: data.index(b"\xff\xda")]  # no comment segment added
    with pytest.raises(ValueError, match="quantisation"):
        tagged_jpeg(b"\xff\xd8\xff\xda\x00\x02", "no tables")
