"""Flet's real ``Session`` and ``Page`` in process, with a stand-in connection that sends nothing anywhere
but encodes every message as Flet's socket server does (the diff relies on snapshots taken while
encoding: without it ``page.update()`` silently sends nothing). ``Browser`` does to the session what the
browser's Flet client does: sets a control's properties (what is typed into a field) and sends events
(taps) by control id. It leans on Flet internals (1.0.5), so it is kept small and in this one place."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import msgpack
from flet.controls.base_control import BaseControl
from flet.messaging.connection import Connection
from flet.messaging.protocol import configure_encode_object_for_msgpack
from flet.messaging.session import Session
from flet.pubsub.pubsub_hub import PubSubHub

from mobile.app import watch_lost_events


class EncodingConnection(Connection):
    """Sends nothing anywhere, but encodes every message as the real transport does."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__()
        self.loop = loop
        self.executor = ThreadPoolExecutor(max_workers=1)
        self.pubsubhub = PubSubHub(loop=loop, executor=self.executor)
        self.sent = 0

    def send_message(self, message: Any) -> None:
        msgpack.packb(
            [message.action, message.body], default=configure_encode_object_for_msgpack(BaseControl)
        )
        self.sent += 1


class Browser:
    """A session on the running loop, watched for lost events as the app's are (``watch_lost_events``),
    and what the browser's client sends it. Call ``close`` at the end."""

    def __init__(self) -> None:
        self.conn = EncodingConnection(asyncio.get_running_loop())
        self.session = Session(self.conn)
        msgpack.packb(self.session.get_page_patch(), default=configure_encode_object_for_msgpack(BaseControl))
        watch_lost_events(self.session)
        self.page = self.session.page

    def type(self, control_id: int, text: str) -> None:
        """The text of a field as the client sends it after a key (the field's ``value`` property)."""
        self.session.apply_patch(control_id, {"value": text})

    async def tap(self, control_id: int) -> None:
        await self.session.dispatch_event(control_id, "click", None)

    async def settle(self) -> None:
        """Let the tasks the app started on the page's loop (background re-renders) run."""
        for _ in range(20):
            await asyncio.sleep(0.01)

    def close(self) -> None:
        self.conn.executor.shutdown(wait=False)
