"""The officer app's entry point: ``python -m mobile.app [--web --port P] --data-dir D [--hq URL]``.

Opens the phone store (``D/phone.db``) and photo directory (``D/photos``) once per process, starts the sync
link's background worker, and gives every page (browser tab or phone window) a ``Shell`` over the same
``AppState``. After a clean shutdown the store opens with a cheap check; once the first screen is drawn,
the scheduled full integrity check (``AppState.check_store``) runs on a background thread and, if it
finds the file damaged, every page shows the store's error. The phone's secrets (HQ's token, the device
secret keying the offline PIN verifier) are in Flet's secure storage, not in the store file: the first page
attaches its ``SecureStorage`` service to the process's ``SecureStorageSecrets`` before the officer can
sign in. ``--web`` serves the Flutter web client on 127.0.0.1 without opening a browser (no CDN: the
phone may be offline) and prints ``APP READY <url>`` once serving.

Transport security, fixed when the process starts: a bureau CA shipped as ``assets/hq-ca.pem`` is the only
authority trusted for HQ (unless one is enrolled on the phone, which then wins), and
``STREETPATROL_DEV_ALLOW_HTTP=1`` (development builds only; no switch in the app) allows ``http://`` to
any HQ address, not only loopback.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import logging
import os
import socket
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import flet as ft
from flet_secure_storage import SecureStorage

from enforcement.catalogue import load_catalogue
from enforcement.model import LOCAL_TZ
from mobile.photostore import PhotoStore
from mobile.secretstore import SecureStorageSecrets
from mobile.state.app_state import AppState
from mobile.state.backend import client_factory
from mobile.state.settings import DEFAULT_HQ_URL
from mobile.store import Store
from mobile.theme import ASSETS_DIR
from mobile.views.screens import make_screen
from mobile.views.shell import Shell

VERSION = "0.1.0"
#: What the app logs (WARNING) for an event Flet dropped because its control is no longer on the page
#: (``watch_lost_events``); the browser tests fail on a tap logged so.
LOST_EVENT = "lost event"
#: A bureau's own CA, shipped in the app bundle (PEM); absent: the public CAs (or an enrolled CA).
SHIPPED_CA = ASSETS_DIR / "hq-ca.pem"
DEV_ALLOW_HTTP_ENV = "STREETPATROL_DEV_ALLOW_HTTP"
PHONE_SIZE = (412, 915)

log = logging.getLogger(__name__)


def default_data_dir() -> Path:
    """Where the app keeps its data when none is given: Flet's app storage on a phone, else
    ~/.streetpatrol."""
    base = os.getenv("FLET_APP_STORAGE_DATA")
    return Path(base) if base else Path.home() / ".streetpatrol"


#: Test-only: shifts the app's device clock by this many seconds (the wrong-clock browser test,
#: tests/e2e/test_wrong_clock.py). Read once, in ``dev_clock``; never set in a release.
DEV_CLOCK_OFFSET_ENV = "STREETPATROL_DEV_CLOCK_OFFSET_S"


def dev_clock() -> dict[str, Any]:
    """``AppState``'s clocks when ``DEV_CLOCK_OFFSET_ENV`` is set (a wrong device clock; the monotonic clock
    stays the real one), else none (the real clocks)."""
    raw = os.environ.get(DEV_CLOCK_OFFSET_ENV, "").strip()
    if not raw:
        return {}
    shift = timedelta(seconds=int(raw))
    return {"now": lambda: datetime.now(LOCAL_TZ) + shift, "monotonic": time.monotonic}


def open_app(data_dir: Path, hq_url: str | None = None) -> AppState:
    """The process-wide state over the store and photos in ``data_dir``."""
    data_dir.mkdir(parents=True, exist_ok=True)
    catalogue = load_catalogue()
    store = Store.open(data_dir / "phone.db", catalogue=catalogue)
    photos = PhotoStore(data_dir / "photos")
    secrets = SecureStorageSecrets()
    shipped_ca = SHIPPED_CA.read_text(encoding="ascii") if SHIPPED_CA.is_file() else None
    allow_http = os.environ.get(DEV_ALLOW_HTTP_ENV) == "1"  # read once, here
    factory = client_factory(store, photos, secrets=secrets, shipped_ca=shipped_ca, allow_http=allow_http)
    app = AppState(store, photos, catalogue, factory, secrets=secrets, allow_http=allow_http, **dev_clock())
    if hq_url and app.settings.settings.hq_url == DEFAULT_HQ_URL:
        app.settings.update(hq_url=hq_url)  # a first start: the address given on the command line
    app.sweep_photos()
    return app


def make_main(app: AppState) -> Callable[[ft.Page], Awaitable[None]]:
    """The Flet page handler: one Shell per page, all over ``app``."""

    async def main(page: ft.Page) -> None:
        page.title = "StreetPatrol"
        page.padding = 0
        page.window.width, page.window.height = PHONE_SIZE
        shell = Shell(app, page, screens=make_screen, version=VERSION)
        # what Flet would report as a crash of the session (its English overlay) goes to the shell's card
        with contextlib.suppress(AttributeError, RuntimeError):
            setattr(page.session, "error", shell.crashed)  # noqa: B010 (an instance's method replaced)
        with contextlib.suppress(AttributeError, RuntimeError):
            watch_lost_events(page.session)
        shell.apply_theme()
        page.add(ft.SafeArea(shell.body, expand=True))
        await attach_secrets(app)
        shell.start()
        shell.add_late_fonts()  # the first screen is sent: now the big Han fallback (mobile.theme)

        def damaged() -> None:
            if app.store_damage is not None:
                with contextlib.suppress(RuntimeError, AttributeError):  # the page or its loop is gone
                    shell.run_task(show_damage)  # under the shell's guard, as every handler

        async def show_damage() -> None:
            text = shell.error_text(app.store_damage) if app.store_damage else ""
            shell.messages.append(text)
            shell.render()
            page.show_dialog(
                ft.AlertDialog(
                    modal=True, title=ft.Text(shell.t("store.damaged_title")), content=ft.Text(text)
                )
            )

        unsubscribe = app.health.subscribe(damaged)
        damaged()  # found before this page opened

        def closed(e: object) -> None:  # the session ended: stop following state
            unsubscribe()
            shell.close()

        page.on_close = closed
        page.run_thread(check_store_logged, app)  # after the first screen: the full check, when due

    return main


def check_store_logged(app: AppState) -> None:
    """``AppState.check_store`` on a worker thread of the page: what it raises besides the damage it
    reports itself (the store closed under it at shutdown, a read refused) is logged with its traceback,
    never lost silently in the thread pool."""
    try:
        app.check_store()
    except Exception:
        log.exception("the store's scheduled integrity check failed")


def watch_lost_events(session: Any) -> None:
    """Log every event the session drops because its control is no longer on the page (Flet says so only
    at debug level): a tap whose button a re-render replaced between the tap and its arrival is lost, and
    the officer sees a screen that did not react. ``LOST_EVENT``, the event's name and the control's id
    are logged as a warning, so a lost tap is seen in the log instead of guessed at. The same for what the
    browser sets on a control Flet no longer holds (``'value'``: text typed into a field that is gone)."""
    dispatch = session.dispatch_event

    async def dispatch_event(control_id: int, event_name: str, event_data: Any) -> None:
        if session.index.get(control_id) is None and not _on_page(session.page, control_id):
            log.warning(
                "%s: %r for control %s, which is no longer on the page (replaced by a re-render?)",
                LOST_EVENT,
                event_name,
                control_id,
            )
        await dispatch(control_id, event_name, event_data)

    setattr(session, "dispatch_event", dispatch_event)  # noqa: B010 (an instance's method replaced)
    apply = session.apply_patch

    def apply_patch(control_id: int, patch: dict[str, Any]) -> None:
        # what the browser sets on a control (a field's text at each key): Flet applies it only to a
        # control its index holds and drops the rest without a word
        if session.index.get(control_id) is None:
            log.warning(
                "%s: %s for control %s, which is no longer on the page (typed into a replaced control?)",
                LOST_EVENT,
                ", ".join(repr(name) for name in sorted(patch)),
                control_id,
            )
        apply(control_id, patch)

    setattr(session, "apply_patch", apply_patch)  # noqa: B010 (an instance's method replaced)


def _on_page(page: Any, control_id: int) -> bool:
    """Whether a control with Flet's id ``control_id`` is in the page's tree (where Flet itself looks for
    an event's control that its index does not hold yet)."""
    seen: set[int] = set()
    stack: list[Any] = [page]
    while stack:
        node = stack.pop()
        if not isinstance(node, ft.BaseControl) or id(node) in seen:
            continue
        seen.add(id(node))
        if getattr(node, "_i", None) == control_id:
            return True
        for f in dataclasses.fields(node):
            value = getattr(node, f.name, None)
            stack.extend(value if isinstance(value, list | tuple) else [value])
    return False


async def attach_secrets(app: AppState) -> None:
    """Load the secrets from the page's secure storage (first page only); then sync, as the token may
    have been unknown when the link started."""
    secrets = app.secrets
    if not isinstance(secrets, SecureStorageSecrets) or secrets.attached.is_set():
        return
    if await secrets.attach(SecureStorage()) and app.session.signed_in:
        app.link.kick()


def announce_when_serving(port: int, timeout: float = 120.0) -> threading.Thread:
    """Print ``APP READY http://127.0.0.1:<port>`` as soon as the web server accepts connections."""

    def wait() -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
                print(f"APP READY http://127.0.0.1:{port}", flush=True)
                return
            time.sleep(0.1)

    thread = threading.Thread(target=wait, name="announce", daemon=True)
    thread.start()
    return thread


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m mobile.app", description="StreetPatrol officer app")
    parser.add_argument("--web", action="store_true", help="serve the web client instead of a desktop window")
    parser.add_argument("--port", type=int, default=8550, help="web port (with --web)")
    parser.add_argument("--data-dir", type=Path, default=None, help="where the phone store and photos live")
    parser.add_argument("--hq", default=None, help="HQ address used until the officer sets one")
    return parser.parse_args(argv)


def run(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    app = open_app(args.data_dir or default_data_dir(), args.hq)
    app.start()
    try:
        if args.web:
            sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
            os.environ["FLET_FORCE_WEB_SERVER"] = "true"  # serve only; never open a browser
            announce_when_serving(args.port)
            ft.run(
                make_main(app),
                view=ft.AppView.WEB_BROWSER,
                host="127.0.0.1",
                port=args.port,
                assets_dir=str(ASSETS_DIR),
                no_cdn=True,
            )
        else:
            ft.run(make_main(app), assets_dir=str(ASSETS_DIR))
    finally:
        app.stop()
        app.store.close()


if __name__ == "__main__":
    run()
