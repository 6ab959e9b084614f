"""``streetpatrol-hq serve --workers N [--pool-size N]``: a real multi-process HQ on loopback (SQLite and
PostgreSQL) taking pushes from several threads, every batch sent twice at once: each case stored exactly
once, and a phone pulling the change feed while the workers commit misses none of its changes."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from psycopg import sql as pgsql

from enforcement.codec import to_json_dict
from enforcement.model import Role
from hq.cli.main import run_to_string
from hq.demo import USERS
from hq.storage import open_storage
from sync.protocol import PROTOCOL_VERSION
from testkit.hqkit import make_case
from testkit.pg import pg_dsn
from tests.hq.cli.test_cli import CHEAP_PINS, _free_port

ROOT = Path(__file__).resolve().parents[3]
OFFICERS = [u for u in USERS if u.officer.role is Role.OFFICER][:3]
BATCHES = 4
PER_BATCH = 10


@pytest.fixture(autouse=True)
def cheap_pin_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in CHEAP_PINS.items():
        monkeypatch.setenv(key, value)


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--workers", "0"], "--workers"),
        (["--pool-size", "4"], "--pg"),
    ],
)
def test_bad_serve_options_are_one_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], says: str
) -> None:
    code, _ = run_to_string(["serve", "--db", str(tmp_path / "hq.db"), "--blobs", str(tmp_path / "b"), *args])
    assert code == 1
    err = capsys.readouterr().err
    assert says in err
    assert "错误" in err


def test_a_pool_size_below_one_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _ = run_to_string(
        ["serve", "--pg", "postgresql://nobody@127.0.0.1:1/x", "--blobs", str(tmp_path), "--pool-size", "0"]
    )
    assert code == 1
    assert "--pool-size" in capsys.readouterr().err


def children(pid: int) -> list[int]:
    """Processes whose parent is ``pid`` (from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


@pytest.fixture
def serve() -> Iterator[Any]:
    processes: list[subprocess.Popen[bytes]] = []

    def start(storage: list[str], blobs: Path, *extra: str) -> tuple[str, subprocess.Popen[bytes]]:
        port = _free_port()
        command = [sys.executable, "-m", "hq.cli.main", "serve", *storage, "--blobs", str(blobs)]
        process = subprocess.Popen(
            [*command, "--port", str(port), *extra],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env=os.environ | {"PYTHONPATH": str(ROOT)},
        )
        processes.append(process)
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{url}/v1/health", timeout=1).raise_for_status()
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise AssertionError(process.stderr.read().decode() if process.stderr else "") from None
                time.sleep(0.1)
        return url, process

    yield start
    for process in processes:
        if process.poll() is None:
            process.terminate()
            process.communicate(timeout=30)


def push(client: httpx.Client, auth: dict[str, str], body: dict[str, Any]) -> list[dict[str, Any]]:
    for _ in range(10):  # a busy database answers 503: try again, as the phone does
        answer = client.post("/v1/push", json=body, headers=auth)
        if answer.status_code != 503:
            assert answer.status_code == 200, answer.text
            results: list[dict[str, Any]] = answer.json()["results"]
            return results
        time.sleep(0.2)
    raise AssertionError("HQ stayed busy")


def exactly_once_under_workers(url: str, storage_url: str) -> None:
    """Every batch pushed twice at once from a pool of threads, while one phone pulls the feed."""
    client = httpx.Client(base_url=url, timeout=60)
    auths, bodies, own = [], [], {}
    for n, user in enumerate(OFFICERS):
        device = f"phone-{n}"
        answer = client.post(
            "/v1/auth/sign-in",
            json={
                "protocol": PROTOCOL_VERSION,
                "badge": user.officer.badge,
                "pin": user.pin,
                "device_id": device,
            },
        )
        assert answer.status_code == 200, answer.text
        auth = {"Authorization": f"Bearer {answer.json()['token']}"}
        cases = [make_case(user.officer, seq=i + 1, device_id=device) for i in range(BATCHES * PER_BATCH)]
        own[n] = {c.id for c in cases}
        for b in range(BATCHES):
            batch = cases[b * PER_BATCH : (b + 1) * PER_BATCH]
            records = [
                {"kind": "case", "id": c.id, "device_seq": b * PER_BATCH + i + 1, "payload": to_json_dict(c)}
                for i, c in enumerate(batch)
            ]
            body = {"protocol": PROTOCOL_VERSION, "device_id": device, "records": records}
            bodies += [(auth, body), (auth, body)]  # each batch twice, concurrently
        auths.append(auth)

    pushing = threading.Event()
    pushing.set()
    seen: set[str] = set()

    def pull_feed() -> None:
        """Officer 0's phone pulling while the workers commit (and once more after)."""
        cursor = None
        with httpx.Client(base_url=url, timeout=60) as puller:
            while True:
                was_pushing = pushing.is_set()
                params = {"cursor": cursor} if cursor else {}
                page = puller.get("/v1/changes", params=params, headers=auths[0])
                if page.status_code == 503:
                    continue
                assert page.status_code == 200, page.text
                data = page.json()
                seen.update(c["id"] for c in data["changes"] if c["kind"] == "case_state")
                cursor = data["cursor"]
                if not data["more"] and not was_pushing:
                    return

    puller = threading.Thread(target=pull_feed)
    puller.start()
    try:
        with ThreadPoolExecutor(8) as pool:
            results = [r for rs in pool.map(lambda a: push(client, *a), bodies) for r in rs]
    finally:
        pushing.clear()
        puller.join(120)
        client.close()
    statuses: dict[str, list[str]] = {}
    for result in results:
        statuses.setdefault(result["id"], []).append(result["status"])
    assert len(statuses) == len(OFFICERS) * BATCHES * PER_BATCH
    assert all(sorted(s) == ["accepted", "duplicate"] for s in statuses.values()), statuses
    storage = open_storage(storage_url, create=False)
    try:
        with storage.transaction(readonly=True) as tx:
            stored = [s.case_id for s in tx.list_cases(latest_only=False, limit=100_000)]
    finally:
        storage.close()
    pushed = [case_id for case_id in stored if case_id in statuses]  # seed-demo stored cases too
    assert sorted(pushed) == sorted(statuses)  # each case exactly once
    assert own[0] <= seen  # the feed delivered every one of officer 0's pushed cases, none skipped


def test_two_workers_on_sqlite(tmp_path: Path, serve: Any) -> None:
    db = tmp_path / "hq.db"
    assert run_to_string(["seed-demo", "--db", str(db)])[0] == 0
    url, process = serve(["--db", str(db)], tmp_path / "blobs", "--workers", "2")
    workers = children(process.pid)
    assert len(workers) >= 2  # uvicorn's worker processes
    share = str(max(1, (os.cpu_count() or 2) // 2))  # each worker's share of the PIN checks
    for pid in workers:
        environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        assert f"STREETPATROL_PIN_CONCURRENT={share}".encode() in environ
    exactly_once_under_workers(url, str(db))


@pytest.mark.postgres
def test_two_workers_on_postgres_with_a_pool_size(tmp_path: Path, serve: Any) -> None:
    dsn = pg_dsn()
    database = f"w_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(pgsql.SQL("CREATE DATABASE {}").format(pgsql.Identifier(database)))
    url_db = dsn.rsplit("/", 1)[0] + "/" + database
    try:
        assert run_to_string(["seed-demo", "--pg", url_db])[0] == 0
        url, process = serve(["--pg", url_db], tmp_path / "blobs", "--workers", "2", "--pool-size", "3")
        assert len(children(process.pid)) >= 2
        exactly_once_under_workers(url, url_db)
        process.terminate()
        process.communicate(timeout=30)
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(
                pgsql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(pgsql.Identifier(database))
            )
