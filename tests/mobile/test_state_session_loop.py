"""Signing in leaves the UI's event loop free while the PIN's key is derived (found while chasing issue
#14's photo-step stall: a traced Chromium run showed the sign-in tap's handler holding the app's event loop
for 3.3 s inside ``hashlib.scrypt``, so no repaint and no other tap could happen meanwhile).

The key derivation is replaced by one that waits for the test's permission: the test only gives it once a
coroutine of its own has run on the loop while the derivation was under way. Were the derivation on the
loop, that coroutine could not run, and the derivation gives up (a deadlock breaker, not a measure)."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

import mobile.state.session as session_module
from testkit.hqkit import OFFICER, PINS, Hq
from tests.mobile.statekit import Apps, sign_in

#: Only a breaker for the deadlock the old code would cause; never what the test measures.
BREAKER_S = 60.0


class SlowKey:
    """``_keyed_key`` that tells when it starts and then waits until it is allowed to finish."""

    def __init__(self) -> None:
        self.real = session_module._keyed_key
        self.started = threading.Event()
        self.release = threading.Event()
        self.calls = 0

    def __call__(self, *args: Any) -> bytes:
        self.calls += 1
        self.started.set()
        if not self.release.wait(BREAKER_S):
            raise AssertionError("the PIN's key derivation held the event loop")
        return self.real(*args)


@pytest.mark.parametrize("way", ["online", "offline"])
def test_the_pin_key_is_derived_off_the_event_loop(
    make_app: Apps, hq: Hq, monkeypatch: pytest.MonkeyPatch, way: str
) -> None:
    app = make_app()
    url = hq.serve().url
    if way == "offline":  # a first sign-in through HQ leaves the verifier the offline one checks
        sign_in(app, url)
        app.session.sign_out()
        hq.server.stop()  # type: ignore[union-attr]
    slow = SlowKey()
    monkeypatch.setattr(session_module, "_keyed_key", slow)
    loop_ran_meanwhile: list[bool] = []

    async def scenario() -> Any:
        signing = asyncio.create_task(app.session.sign_in(url, OFFICER.badge, PINS[OFFICER.badge]))
        await asyncio.to_thread(slow.started.wait, BREAKER_S)
        loop_ran_meanwhile.append(not signing.done())  # this line ran on the loop during the derivation
        slow.release.set()
        return await signing

    officer = asyncio.run(scenario())
    assert loop_ran_meanwhile == [True]
    assert slow.calls == 1
    assert officer.badge == OFFICER.badge
    assert app.session.signed_in
    assert app.session.signed_in_offline == (way == "offline")
