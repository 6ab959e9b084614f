"""Loopback ports for the servers tests and benches start, and proof that the server answering on one is
the one that was started.

A port from ``bind(0)`` comes from the kernel's ephemeral range and is released before the server binds
it, so any other process of the run (the other test worker's proxy, an HTTP client's outgoing socket) can
be handed the same port meanwhile. The server then fails to bind and exits, but while it is still
importing, the other process answers the start-up probe, and the test talks to a stranger that goes away
with its own test (``ERR_CONNECTION_REFUSED`` later). So:

* ``free_port`` hands out ports below the ephemeral range, a band of its own to each pytest-xdist worker,
  never the same port twice in one process, from a random start (two processes of one worker rarely ask
  at once, and then rarely for the same port);
* ``owned_by`` tells whether the socket listening on a port belongs to a process or its children, so a
  start-up probe can refuse an answer that came from someone else.
"""

from __future__ import annotations

import itertools
import os
import random
import socket
from pathlib import Path

#: Below Linux's default ephemeral range (32768-60999), so ``bind(0)`` never hands these out.
FIRST = 20000
BAND = 1500
BANDS = 8  # 20000 + 8 * 1500 = 32000

_TAKEN: set[int] = set()
_NEXT = itertools.count(random.randrange(BAND))


def worker_index() -> int:
    """The pytest-xdist worker number (``gw3`` → 3), 0 outside xdist."""
    name = os.environ.get("PYTEST_XDIST_WORKER", "")
    return int(name[2:]) if name.startswith("gw") and name[2:].isdigit() else 0


def _ephemeral() -> range:
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return range(int(low), int(high) + 1)
    except (OSError, ValueError):
        return range(32768, 61000)


def free_port() -> int:
    """A loopback port nothing listens on, in this worker's band, not handed out before by this process."""
    first = FIRST + (worker_index() % BANDS) * BAND
    ephemeral = _ephemeral()
    for _ in range(BAND):
        port = first + next(_NEXT) % BAND
        if port in _TAKEN or port in ephemeral:
            continue
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
        _TAKEN.add(port)
        return port
    raise RuntimeError(f"no free port left in {first}-{first + BAND - 1}")


def _listening_inodes(port: int) -> set[str]:
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state == "0A" and int(local.rsplit(":", 1)[1], 16) == port:  # 0A: LISTEN
                inodes.add(inode)
    return inodes


def _family(pid: int) -> list[int]:
    pids, todo = [], [pid]
    while todo:
        current = todo.pop()
        pids.append(current)
        for task in Path(f"/proc/{current}/task").glob("*/children"):
            try:
                todo.extend(int(child) for child in task.read_text().split())
            except OSError:
                continue
    return pids


def owned_by(pid: int, port: int) -> bool | None:
    """Whether the socket listening on ``port`` is open in ``pid`` or one of its descendants; ``None``
    where /proc cannot tell (not Linux)."""
    if not Path("/proc/net/tcp").exists():
        return None
    wanted = {f"socket:[{inode}]" for inode in _listening_inodes(port)}
    if not wanted:
        return False
    for member in _family(pid):
        try:
            fds = list(Path(f"/proc/{member}/fd").iterdir())
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink(fd) in wanted:
                    return True
            except OSError:
                continue
    return False
