"""Sync under chaos (issue #7), the suite's short version of bench/chaos.py: 20 phones × 20 cases with 1–3
generated JPEGs each sync through a proxy that drops, delays, truncates and resets, while HQ (a
``streetpatrol-hq serve`` subprocess) is stopped and killed mid-run; after the network heals HQ holds
every case and photo exactly once and every phone is empty. The same with two HQ nodes sharing one
PostgreSQL database and one S3 bucket, the proxy spreading connections over both and each node restarted
once (issue #17). Plus the proxy's own behaviour."""

from __future__ import annotations

import contextlib
import random
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from testkit.chaos import ChaosConfig, SharedStores, run_chaos
from testkit.chaosproxy import FAULT_KINDS, ChaosProxy, FaultRates
from testkit.pg import fresh_database, pg_dsn
from testkit.ports import free_port
from testkit.s3kit import S3Endpoint


@pytest.mark.slow
def test_every_case_and_photo_reaches_hq_exactly_once_through_chaos_and_two_restarts(tmp_path: Path) -> None:
    config = ChaosConfig(
        devices=20, cases=20, photos=(1, 3), shift_seconds=12.0, http_timeout=4.0, heal_deadline=90.0
    )
    result = run_chaos(config, tmp_path)

    assert result.errors == []
    tally = result.tally
    assert tally.cases == 400
    assert tally.photos >= 400
    assert (tally.duplicate_cases, tally.duplicate_photos) == (0, 0), tally
    assert (tally.missing_cases, tally.missing_photos) == (0, 0), tally.notes
    assert (tally.cases_at_hq, tally.photos_at_hq) == (tally.cases, tally.photos)
    assert (tally.outbox_left, tally.parked, tally.photos_left, tally.not_complete) == (0, 0, 0, 0), (
        tally.notes
    )
    # The chaos really happened: HQ went down twice while phones were talking to it, and every kind of
    # fault hit the traffic.
    assert result.restarts == 2
    assert result.proxy.upstream_down > 0
    assert all(result.proxy.faults[kind] > 0 for kind in FAULT_KINDS), result.proxy.faults
    assert result.retries > 0


@pytest.mark.slow
def test_two_nodes_over_one_database_and_bucket_keep_exactly_once_through_chaos(
    tmp_path: Path, s3: S3Endpoint
) -> None:
    config = ChaosConfig(
        devices=8, cases=10, photos=(1, 2), shift_seconds=8.0, http_timeout=4.0, heal_deadline=90.0
    )
    with fresh_database(pg_dsn()) as database:
        assert database.startswith("postgresql://")  # PostgreSQL, not a SQLite file of that name
        shared = SharedStores(database, s3, s3.new_bucket())
        result = run_chaos(config, tmp_path, shared=shared, nodes=2)

    assert result.errors == []
    tally = result.tally
    assert tally.cases == 80
    assert (tally.duplicate_cases, tally.duplicate_photos) == (0, 0), tally
    assert (tally.missing_cases, tally.missing_photos) == (0, 0), tally.notes
    assert (tally.cases_at_hq, tally.photos_at_hq) == (tally.cases, tally.photos)
    assert (tally.outbox_left, tally.parked, tally.photos_left, tally.not_complete) == (0, 0, 0, 0), (
        tally.notes
    )
    # both nodes took connections, each was restarted once, and the faults hit the traffic
    assert result.nodes == 2
    assert all(n > 0 for n in result.proxy.per_upstream), result.proxy.per_upstream
    assert result.restarts == 2
    assert result.proxy.total_faults > 0


def test_a_proxy_with_two_upstreams_spreads_its_connections(echo: Echo) -> None:
    other = Echo()
    try:
        with ChaosProxy([echo.port, other.port], seed=5) as proxy:
            for i in range(20):
                assert talk(proxy.port, f"to either {i}".encode()) == f"to either {i}".encode()
            split = proxy.stats().per_upstream
        assert sum(split) == 20
        assert all(n > 0 for n in split), split
    finally:
        other.close()


# ------------------------------------------------------------------------------------------ the proxy


class Echo:
    """A TCP server on loopback that sends back what it receives."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._echo, args=(conn,), daemon=True).start()

    @staticmethod
    def _echo(conn: socket.socket) -> None:
        with conn, contextlib.suppress(ConnectionError):  # the proxy may reset its side (a fault)
            while data := conn.recv(65536):
                conn.sendall(data)

    def close(self) -> None:
        self.listener.close()


@pytest.fixture
def echo() -> Iterator[Echo]:
    server = Echo()
    yield server
    server.close()


def talk(port: int, message: bytes, timeout: float = 2.0) -> bytes:
    """Send ``message`` and read until as many bytes came back or the connection ends."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as conn:
        conn.sendall(message)
        received = b""
        while len(received) < len(message):
            chunk = conn.recv(65536)
            if not chunk:
                break
            received += chunk
        return received


def test_a_clean_proxy_passes_every_byte(echo: Echo) -> None:
    with ChaosProxy(echo.port) as proxy:
        for i in range(20):
            assert talk(proxy.port, f"hello {i} 你好".encode()) == f"hello {i} 你好".encode()
        assert proxy.stats().total_faults == 0
        assert proxy.stats().connections == 20


def test_reset_gives_the_client_a_connection_reset(echo: Echo) -> None:
    with ChaosProxy(echo.port, rates=FaultRates(reset=1.0)) as proxy:
        with pytest.raises(ConnectionError):
            talk(proxy.port, b"x" * 1000)
        assert proxy.stats().faults["reset"] == 1


def test_truncate_passes_a_prefix_then_closes(echo: Echo) -> None:
    with ChaosProxy(echo.port, rates=FaultRates(truncate=1.0), seed=3) as proxy:
        answer = talk(proxy.port, b"y" * 5000)
        assert len(answer) < 5000
        assert answer == b"y" * len(answer)
        assert proxy.stats().faults["truncate"] == 1


def test_drop_holds_the_connection_silent_until_the_client_gives_up(echo: Echo) -> None:
    with ChaosProxy(echo.port, rates=FaultRates(drop=1.0)) as proxy:
        with pytest.raises(TimeoutError):
            talk(proxy.port, b"z" * 100, timeout=0.3)
        assert proxy.stats().faults["drop"] == 1


def test_delay_still_delivers_everything(echo: Echo) -> None:
    rates = FaultRates(delay=1.0, min_delay=0.001, max_delay=0.002)
    with ChaosProxy(echo.port, rates=rates) as proxy:
        assert talk(proxy.port, b"slow but whole") == b"slow but whole"
        assert proxy.stats().faults["delay"] >= 2  # the request chunk and the answer chunk


def test_heal_stops_faults_on_an_open_connection(echo: Echo) -> None:
    with ChaosProxy(echo.port, rates=FaultRates(reset=1.0)) as proxy:
        proxy.heal()
        assert talk(proxy.port, b"after healing") == b"after healing"
        assert proxy.stats().total_faults == 0


def test_a_connection_while_the_upstream_is_down_is_reset() -> None:
    dead_port = free_port()  # nothing listens there
    with ChaosProxy(dead_port) as proxy:
        with pytest.raises(ConnectionError):
            talk(proxy.port, b"anyone?")
        deadline = time.monotonic() + 2
        while proxy.stats().upstream_down == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert proxy.stats().upstream_down == 1


def test_the_same_seed_draws_the_same_faults() -> None:
    rates = FaultRates(drop=0.1, delay=0.2, truncate=0.1, reset=0.1)

    def draws(seed: str) -> list[str | None]:
        rng = random.Random(seed)
        return [rates.draw(rng) for _ in range(300)]

    assert draws("7:1") == draws("7:1")
    assert draws("7:1") != draws("7:2")
    assert {kind for kind in draws("7:1") if kind} == set(FAULT_KINDS)
    assert all(FaultRates().draw(random.Random(i)) is None for i in range(50))


@pytest.mark.parametrize("bad", [{"drop": -0.1}, {"reset": 1.5}, {"drop": 0.6, "reset": 0.6}])
def test_rates_must_be_probabilities(bad: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="probabilities"):
        FaultRates(**bad)
