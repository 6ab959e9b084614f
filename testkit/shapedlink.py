"""A slow link on loopback for benchmarks: ``ShapedProxy``, a standard-library asyncio TCP proxy that shapes
each direction as one shared bottleneck (a FIFO drained at ``UP_MBIT`` / ``DOWN_MBIT``, at most ``QUEUE_S``
of backlog before it stops reading, so senders feel back-pressure) and delays every chunk by half of
``RTT_S``; it can cut every connection once a number of upstream bytes has passed. ``Sink`` takes one
TCP stream of a known size and answers one byte when it has it all (the floor for moving those bytes).
Used by ``bench/shift_link.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import threading

UP_MBIT = 8.0
DOWN_MBIT = 8.0
RTT_S = 0.150
QUEUE_S = 0.050  # bottleneck backlog before the proxy stops reading (back-pressure to the sender)
CHUNK = 16 * 1024


class Direction:
    """One direction of the link: a FIFO bottleneck of ``mbit`` shared by every connection, then a delay."""

    def __init__(self, mbit: float, delay: float) -> None:
        self.rate = mbit * 1e6 / 8  # bytes per second
        self.delay = delay
        self.free_at = 0.0  # when the bottleneck has sent everything queued so far

    def schedule(self, now: float, size: int) -> float:
        """Queue ``size`` bytes arriving at ``now``; returns when they reach the other end."""
        self.free_at = max(now, self.free_at) + size / self.rate
        return self.free_at + self.delay

    def backlog(self, now: float) -> float:
        return self.free_at - now


class ShapedProxy:
    """A loopback TCP proxy to ``target`` shaping both directions (see the module doc). ``cut_after``:
    once that many upstream bytes passed, reset every connection and refuse new ones until ``heal()``."""

    def __init__(self, target: tuple[str, int], *, cut_after: int | None = None) -> None:
        self.target = target
        self.up = Direction(UP_MBIT, RTT_S / 2)
        self.down = Direction(DOWN_MBIT, RTT_S / 2)
        self.cut_after = cut_after
        self.cut = False
        self.up_bytes = 0
        self.up_delivered = 0  # upstream bytes handed on to the target's socket
        self.down_bytes = 0
        self.connections = 0
        self._open: set[asyncio.StreamWriter] = set()
        self.loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="shaped-proxy", daemon=True)
        self._thread.start()
        self._ready.wait(10)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)  # no deep hidden buffer
        listener.bind(("127.0.0.1", 0))
        self.port = listener.getsockname()[1]
        self.server = self.loop.run_until_complete(asyncio.start_server(self._serve, sock=listener))
        self._ready.set()
        self.loop.run_forever()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def counters(self) -> tuple[int, int]:
        return self.up_bytes, self.down_bytes

    def heal(self) -> None:
        self.cut = False
        self.cut_after = None

    def close(self) -> None:
        async def stop() -> None:
            self.server.close()
            for writer in list(self._open):
                _reset(writer)
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)

    def _reset_all(self) -> None:
        self.cut = True
        for writer in list(self._open):
            _reset(writer)

    async def _serve(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        with contextlib.suppress(asyncio.CancelledError):  # cancelled only when the proxy closes
            await self._relay(client_r, client_w)

    async def _relay(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        if self.cut:
            _reset(client_w)
            return
        self.connections += 1
        try:
            server_r, server_w = await asyncio.open_connection(*self.target)
        except OSError:
            _reset(client_w)
            return
        pair = {client_w, server_w}
        self._open |= pair
        try:
            await asyncio.gather(
                self._pipe(client_r, server_w, self.up, upstream=True),
                self._pipe(server_r, client_w, self.down, upstream=False),
                return_exceptions=True,
            )
        finally:
            self._open -= pair
            for writer in pair:
                writer.close()

    async def _pipe(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, way: Direction, *, upstream: bool
    ) -> None:
        queue: asyncio.Queue[tuple[float, bytes] | None] = asyncio.Queue()
        loop = asyncio.get_running_loop()

        async def deliver() -> None:
            while (item := await queue.get()) is not None:
                at, data = item
                if (wait := at - loop.time()) > 0:
                    await asyncio.sleep(wait)
                if self.cut:  # the link is down: what is still on it never arrives
                    break
                writer.write(data)
                await writer.drain()
                if upstream:
                    self.up_delivered += len(data)
            if writer.can_write_eof():
                writer.write_eof()

        sender = asyncio.ensure_future(deliver())
        try:
            while True:
                if (backlog := way.backlog(loop.time())) > QUEUE_S:
                    await asyncio.sleep(backlog - QUEUE_S)
                data = await reader.read(CHUNK)
                if not data or self.cut:
                    break
                if upstream:
                    self.up_bytes += len(data)
                    if self.cut_after is not None and self.up_bytes >= self.cut_after:
                        self._reset_all()  # the link is cut: this chunk and everything queued is lost
                        break
                else:
                    self.down_bytes += len(data)
                queue.put_nowait((way.schedule(loop.time(), len(data)), data))
            queue.put_nowait(None)
            await sender
        finally:
            sender.cancel()


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with a TCP reset (RST), as a dropped mobile link looks to both ends."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


class Sink:
    """A TCP server that reads ``size`` bytes from one connection, then answers one byte."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        conn, _ = self.listener.accept()
        with conn:
            received = 0
            while received < self.size and (data := conn.recv(256 * 1024)):
                received += len(data)
            conn.sendall(b"k")

    def close(self) -> None:
        self.thread.join(10)
        self.listener.close()
