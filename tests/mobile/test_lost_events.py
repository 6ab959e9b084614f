"""A tap whose button a re-render replaced is lost, and the app says so (issue #14, the wizard that
"stalled" on the photo step: the click reached Flet for a control id it no longer had, and Flet drops
such an event with a debug line only).

On Flet's real ``Session`` with a stand-in connection that encodes what it sends as Flet's socket server
does (the diff snapshots are taken while encoding): a button is put on the page, the screen is rebuilt with
a new button in its place, and a click for the first button's id is dispatched as a click arriving from
the browser after the rebuild would be."""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import flet as ft
import msgpack
import pytest
from flet.controls.base_control import BaseControl
from flet.messaging.connection import Connection
from flet.messaging.protocol import configure_encode_object_for_msgpack
from flet.messaging.session import Session
from flet.pubsub.pubsub_hub import PubSubHub

from mobile.app import LOST_EVENT, watch_lost_events


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


def test_a_click_for_a_replaced_button_is_dropped_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    taps: list[str] = []

    async def scenario() -> tuple[int, int]:
        conn = EncodingConnection(asyncio.get_running_loop())
        session = Session(conn)
        session.get_page_patch()
        watch_lost_events(session)
        page = session.page
        body = ft.Container()
        page.add(body)
        body.content = ft.Button("上一步", on_click=lambda e: taps.append("first"))
        page.update()
        old_id = body.content._i
        body.content = ft.Button("上一步", on_click=lambda e: taps.append("second"))  # a re-render
        page.update()
        new_id = body.content._i
        await session.dispatch_event(old_id, "click", None)  # the tap the browser sent before the rebuild
        await session.dispatch_event(new_id, "click", None)  # a tap on what is shown now
        conn.executor.shutdown(wait=False)
        return old_id, new_id

    with caplog.at_level(logging.WARNING, logger="mobile.app"):
        old_id, new_id = asyncio.run(scenario())
    assert old_id != new_id  # the rebuilt button is a new control to Flet
    assert taps == ["second"]  # the first tap reached no handler
    lost = [r.getMessage() for r in caplog.records if LOST_EVENT in r.getMessage()]
    assert lost == [f"{LOST_EVENT}: 'click' for control {old_id}, which is no longer on the page" + REASON]


REASON = " (replaced by a re-render?)"
