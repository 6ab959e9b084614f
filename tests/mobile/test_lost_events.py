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

import flet as ft
import msgpack
import pytest
from flet.controls.base_control import BaseControl
from flet.messaging.protocol import configure_encode_object_for_msgpack
from flet.messaging.session import Session

from mobile.app import LOST_EVENT, watch_lost_events
from tests.mobile.fletsession import Browser, EncodingConnection


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


def test_a_tap_made_before_a_live_screen_is_rebuilt_reaches_the_rebuilt_control(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """What ``Shell.show`` does for a live screen (今日 re-rendered at each sync step): the screen alone in a
    list under a key naming it. Rebuilt from new objects under the same key, Flet reconciles it with the
    tree shown: the button in the same place keeps its id, so a tap made on the screen as it was reaches the
    rebuilt button's handler; a case's row keyed by its case number keeps its id when a new row comes in
    above it (the tap opens the same case, not whatever row now stands where it was). Unkeyed, as before,
    the same taps are lost (the first test)."""
    taps: list[str] = []

    def today(label: str, rows: list[str]) -> ft.Column:
        tiles = [
            ft.ListTile(title=ft.Text(r), key=f"case_{r}", on_click=lambda e, r=r: taps.append(r))
            for r in rows
        ]
        button = ft.Button("新建案件", on_click=lambda e: taps.append(f"new case ({label})"))
        return ft.Column([button, *tiles], key="screen:today:")

    async def scenario() -> list[tuple[int, int]]:
        conn = EncodingConnection(asyncio.get_running_loop())
        session = Session(conn)
        msgpack.packb(session.get_page_patch(), default=configure_encode_object_for_msgpack(BaseControl))
        watch_lost_events(session)
        page = session.page
        frame = ft.Stack(controls=[])
        page.add(frame)
        frame.controls = [today("before", ["A-1"])]
        page.update()
        shown = frame.controls[0].controls
        old = (shown[0]._i, shown[1]._i)
        frame.controls = [today("after", ["A-2", "A-1"])]  # a sync step brought case A-2 in, first
        page.update()
        shown = frame.controls[0].controls
        new = (shown[0]._i, next(c for c in shown if c.key == "case_A-1")._i)
        for control_id in old:  # the taps the browser sent before the rebuild
            await session.dispatch_event(control_id, "click", None)
        conn.executor.shutdown(wait=False)
        return [old, new]

    with caplog.at_level(logging.WARNING, logger="mobile.app"):
        old, new = asyncio.run(scenario())
    assert old == new
    assert taps == ["new case (after)", "A-1"]
    assert not [r for r in caplog.records if LOST_EVENT in r.getMessage()]


def test_text_typed_into_a_field_flet_no_longer_holds_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    """What the browser sets on a control (a field's text at each key) is applied by Flet only to a control
    of its index and dropped silently otherwise; the app logs it as lost, as it does a tap. The case
    seen: a screen rebuilt under its key with the same field object in it (the sign-in screen before
    ``mobile.views.common.Typed``) takes the field out of Flet's index."""

    async def scenario() -> tuple[int, ft.TextField]:
        browser = Browser()
        frame = ft.Stack(controls=[])
        browser.page.add(frame)
        pin = ft.TextField(label="PIN 密码")
        frame.controls = [ft.Column([ft.Text("登录"), pin], key="screen:signin:")]
        browser.page.update()
        frame.controls = [ft.Column([ft.Text("登录"), pin], key="screen:signin:")]  # a re-render
        browser.page.update()
        browser.type(pin._i, "2")
        browser.close()
        return pin._i, pin

    with caplog.at_level(logging.WARNING, logger="mobile.app"):
        pin_id, pin = asyncio.run(scenario())
    assert pin.value in (None, "")  # the key typed never reached the field...
    lost = [r.getMessage() for r in caplog.records if LOST_EVENT in r.getMessage()]
    assert lost == [  # ...and the app says so
        f"{LOST_EVENT}: 'value' for control {pin_id}, which is no longer on the page (typed into a replaced"
        " control?)"
    ]
