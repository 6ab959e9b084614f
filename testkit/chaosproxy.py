"""A loopback TCP proxy that misbehaves on purpose: it drops, delays, truncates and resets connections.

It sits between phones (``httpx`` clients) and HQ (uvicorn) and knows nothing of HTTP. Every chunk it
forwards (one ``recv``, at most 64 KiB, in either direction) may suffer one fault, drawn with the
probabilities of the current ``FaultRates``:

- ``delay``: the chunk waits a random ``min_delay``..``max_delay`` seconds before it is passed on;
- ``truncate``: a random prefix of the chunk is passed on, then both sides are closed (FIN) — a request
  or an answer cut short;
- ``reset``: nothing more is passed on; the client gets a TCP reset (RST) and HQ's side is closed;
- ``drop``: nothing more is passed on in either direction, but the connection stays open (a black hole)
  until the client gives up or ``drop_hold`` seconds pass.

A connection opened while HQ is down is reset at once (counted as ``upstream_down``, not as a fault).
With several upstream ports (HQ nodes behind a load balancer) each connection goes to one of them drawn
at random from the connection's own seeded generator, as an L4 balancer spreads connections; a phone's
next connection (after a fault, or its keep-alive expired) may land on the other node.
``heal()`` sets every rate to zero: from then on every byte passes, on connections already open too.

Seeded: connection ``n`` draws from ``random.Random(f"{seed}:{n}")``, so the faults a connection suffers
are reproducible up to how TCP happens to split the stream into chunks. Standard library only; one thread
per connection. Used by bench/chaos.py and tests/reliability/test_chaos.py.
"""

from __future__ import annotations

import contextlib
import random
import select
import socket
import struct
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

FAULT_KINDS = ("drop", "delay", "truncate", "reset")


@dataclass(frozen=True, slots=True)
class FaultRates:
    """Per-chunk fault probabilities (their sum at most 1) and the delay range in seconds."""

    drop: float = 0.0
    delay: float = 0.0
    truncate: float = 0.0
    reset: float = 0.0
    min_delay: float = 0.005
    max_delay: float = 0.150

    def __post_init__(self) -> None:
        rates = [self.drop, self.delay, self.truncate, self.reset]
        if any(not 0.0 <= r <= 1.0 for r in rates) or sum(rates) > 1.0:
            raise ValueError(f"fault rates must be probabilities summing to at most 1: {rates}")
        if not 0.0 <= self.min_delay <= self.max_delay:
            raise ValueError("need 0 <= min_delay <= max_delay")

    @property
    def clean(self) -> bool:
        return not (self.drop or self.delay or self.truncate or self.reset)

    def draw(self, rng: random.Random) -> str | None:
        """The fault for one chunk (a name from FAULT_KINDS) or None."""
        if self.clean:
            return None
        point = rng.random()
        for kind in FAULT_KINDS:
            point -= getattr(self, kind)
            if point < 0:
                return kind
        return None


CLEAN = FaultRates()


@dataclass
class ProxyStats:
    """What the proxy did so far (a snapshot)."""

    connections: int = 0
    upstream_down: int = 0  # connections reset because HQ could not be reached
    bytes_forwarded: int = 0
    faults: dict[str, int] = field(default_factory=lambda: dict.fromkeys(FAULT_KINDS, 0))
    per_upstream: list[int] = field(default_factory=list)  # connections sent to each upstream port

    @property
    def total_faults(self) -> int:
        return sum(self.faults.values())


class _Done(Exception):
    """Ends one connection's loop."""


class ChaosProxy:
    """``127.0.0.1:<port>`` → ``upstream_host:upstream_port`` with seeded faults (see the module doc)."""

    def __init__(
        self,
        upstream_port: int | Sequence[int],
        *,
        upstream_host: str = "127.0.0.1",
        rates: FaultRates = CLEAN,
        seed: int | str = 0,
        drop_hold: float = 30.0,
        chunk: int = 64 * 1024,
    ) -> None:
        ports = [upstream_port] if isinstance(upstream_port, int) else list(upstream_port)
        self.upstreams = [(upstream_host, port) for port in ports]
        self._per_upstream = [0] * len(ports)
        self.seed = seed
        self.drop_hold = drop_hold
        self.chunk = chunk
        self._rates = rates
        self._stats = ProxyStats()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._listener: socket.socket | None = None
        self._accept_thread: threading.Thread | None = None
        self._threads: set[threading.Thread] = set()
        self.port = 0

    # ------------------------------------------------------------------------------------ control

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def rates(self) -> FaultRates:
        return self._rates

    def set_rates(self, rates: FaultRates) -> None:
        self._rates = rates  # one reference assignment: every connection sees it at its next chunk

    def heal(self) -> None:
        """No more faults, from the next chunk on (open connections included)."""
        self.set_rates(CLEAN)

    def stats(self) -> ProxyStats:
        with self._lock:
            return ProxyStats(
                self._stats.connections,
                self._stats.upstream_down,
                self._stats.bytes_forwarded,
                dict(self._stats.faults),
                list(self._per_upstream),
            )

    def start(self) -> ChaosProxy:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", 0))
        listener.listen(1024)
        listener.settimeout(0.2)
        self.port = listener.getsockname()[1]
        self._listener = listener
        self._accept_thread = threading.Thread(target=self._accept_loop, name="chaos-accept", daemon=True)
        self._accept_thread.start()
        return self

    def stop(self) -> None:
        """Stop accepting, close every connection, wait for the threads."""
        self._stopping.set()
        if self._accept_thread is not None:
            self._accept_thread.join(timeout=5)
        if self._listener is not None:
            self._listener.close()
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join(timeout=5)

    def __enter__(self) -> ChaosProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------------------------ work

    def _accept_loop(self) -> None:
        assert self._listener is not None
        number = 0
        while not self._stopping.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            number += 1
            thread = threading.Thread(
                target=self._serve, args=(number, client), name=f"chaos-conn-{number}", daemon=True
            )
            with self._lock:
                self._stats.connections += 1
                self._threads.add(thread)
            thread.start()

    def _count(self, kind: str) -> None:
        with self._lock:
            self._stats.faults[kind] += 1

    def _serve(self, number: int, client: socket.socket) -> None:
        rng = random.Random(f"{self.seed}:{number}")
        client.settimeout(None)
        upstream: socket.socket | None = None
        reset = False
        try:
            index = rng.randrange(len(self.upstreams)) if len(self.upstreams) > 1 else 0
            with self._lock:
                self._per_upstream[index] += 1
            try:
                upstream = socket.create_connection(self.upstreams[index], timeout=2.0)
            except OSError:
                with self._lock:
                    self._stats.upstream_down += 1
                reset = True
                return
            upstream.settimeout(None)
            reset = self._pump(rng, client, upstream)
        finally:
            if reset:  # SO_LINGER 0: close() sends RST instead of FIN
                with contextlib.suppress(OSError):
                    client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            client.close()
            if upstream is not None:
                upstream.close()
            with self._lock:
                self._threads.discard(threading.current_thread())

    def _pump(self, rng: random.Random, client: socket.socket, upstream: socket.socket) -> bool:
        """Forward both ways until one side closes, a fault ends it, or the proxy stops. True: reset."""
        peer = {client: upstream, upstream: client}
        hole_until: float | None = None  # set while the connection is a black hole
        try:
            while not self._stopping.is_set():
                if hole_until is not None and time.monotonic() > hole_until:
                    return False
                readable, _, _ = select.select([client, upstream], [], [], 0.2)
                for source in readable:
                    data = source.recv(self.chunk)
                    if not data:
                        raise _Done
                    if hole_until is not None:
                        continue  # swallowed
                    fault = self._rates.draw(rng)
                    target = peer[source]
                    if fault is not None:
                        self._count(fault)
                    if fault == "reset":
                        return True
                    if fault == "drop":
                        hole_until = time.monotonic() + self.drop_hold
                        continue
                    if fault == "truncate":
                        cut = rng.randrange(len(data))
                        target.sendall(data[:cut])
                        self._forwarded(cut)
                        return False
                    if fault == "delay":
                        time.sleep(rng.uniform(self._rates.min_delay, self._rates.max_delay))
                    target.sendall(data)
                    self._forwarded(len(data))
        except (_Done, OSError):
            return False
        return False

    def _forwarded(self, count: int) -> None:
        with self._lock:
            self._stats.bytes_forwarded += count
