"""The test servers' ports: a band of their own per worker, outside the kernel's ephemeral range, never
handed out twice; and the check that the server answering on a port is the one started."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest

from testkit import ports


def test_ports_stay_in_this_workers_band_below_the_ephemeral_range(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTEST_XDIST_WORKER", "gw1")
    handed = [ports.free_port() for _ in range(50)]
    assert len(set(handed)) == 50
    first = ports.FIRST + ports.BAND
    assert all(first <= port < first + ports.BAND for port in handed)
    assert not any(port in ports._ephemeral() for port in handed)


def test_other_workers_get_other_bands(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTEST_XDIST_WORKER", "gw0")
    zero = {ports.free_port() for _ in range(20)}
    monkeypatch.setenv("PYTEST_XDIST_WORKER", "gw2")
    two = {ports.free_port() for _ in range(20)}
    assert not zero & two
    assert all(ports.FIRST + 2 * ports.BAND <= port < ports.FIRST + 3 * ports.BAND for port in two)


def test_a_port_someone_listens_on_is_skipped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTEST_XDIST_WORKER", "gw3")
    first = ports.FIRST + 3 * ports.BAND
    holders = []
    try:
        for port in range(first, first + ports.BAND):
            if port in ports._TAKEN:
                continue
            holder = socket.socket()
            try:
                holder.bind(("127.0.0.1", port))
            except OSError:
                holder.close()
                continue
            holder.listen()
            holders.append(holder)
        with pytest.raises(RuntimeError, match="no free port"):
            ports.free_port()
    finally:
        for holder in holders:
            holder.close()


def test_owned_by_tells_our_listener_from_another_process() -> None:
    with socket.create_server(("127.0.0.1", ports.free_port())) as ours:
        port = ours.getsockname()[1]
        assert ports.owned_by(ports.os.getpid(), port) is True
    other_port = ports.free_port()
    code = (
        "import socket, sys, time\n"
        f"s = socket.create_server(('127.0.0.1', {other_port}))\n"
        "print('up', flush=True)\n"
        "time.sleep(30)\n"
    )
    other = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE)
    bystander = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        assert other.stdout is not None
        assert other.stdout.readline().strip() == b"up"
        assert ports.owned_by(bystander.pid, other_port) is False
        assert ports.owned_by(other.pid, other_port) is True
        assert ports.owned_by(ports.os.getpid(), other_port) is True  # a child of this process
    finally:
        for process in (other, bystander):
            process.kill()
            process.wait()
        if other.stdout is not None:
            other.stdout.close()
    assert ports.owned_by(ports.os.getpid(), other_port) is False  # nobody listens now


def test_owned_by_sees_a_childs_listener() -> None:
    port = ports.free_port()
    code = (
        "import socket, subprocess, sys, time\n"
        "child = subprocess.Popen([sys.executable, '-c', "
        f"\"import socket, time; s = socket.create_server(('127.0.0.1', {port})); print('up', flush=True); "
        'time.sleep(30)"])\n'
        "child.wait()\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE)
    try:
        assert parent.stdout is not None
        assert parent.stdout.readline().strip() == b"up"
        assert ports.owned_by(parent.pid, port) is True
    finally:
        subprocess.run(["pkill", "-P", str(parent.pid)], check=False)
        parent.kill()
        parent.wait()
        if parent.stdout is not None:
            parent.stdout.close()
