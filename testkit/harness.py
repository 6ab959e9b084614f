"""End-to-end harness: a real HQ (``streetpatrol-hq`` in a subprocess over tmp SQLite and blobs), the officer
app in Flet's web mode (``python -m mobile.app --web`` in a subprocess) and Debian's Chromium driven by
Playwright.

Playwright's sync API keeps an event loop running in the thread that uses it while the browser is open,
which breaks any later ``asyncio.run()`` of the same thread. ``Browser`` therefore owns one worker thread
and every Playwright call runs there; tests only call ``Screen`` methods, which hand the work over and wait.

Every process is stopped terminate → wait → kill (Flet's SIGTERM handler can hang), also when a test fails.
Screenshots go to ``artifacts/screenshots/<name>.png`` (gitignored). The labels the screens are found by
are listed in ``tests/e2e/labels.py``. The labels the screens are found by
are listed in ``tests/e2e/labels.py``.
"""

from __future__ import annotations

import os
import random
import re
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self, TypeVar

import httpx

from hq.settings import FAST_PIN_HASHING

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "artifacts" / "screenshots"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--enable-unsafe-swiftshader",
    "--disable-background-networking",
)
#: Chromium's stand-in camera (a test pattern) with its permission prompt answered "allow".
FAKE_CAMERA_ARGS = ("--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream")
VIEWPORT = {"width": 412, "height": 915}
#: 郑州 人民路 (金水区): the fake GPS fix of the browser context.
GEO = {"latitude": 34.7466, "longitude": 113.6253}
#: Cheap argon2 for ``seed-demo`` and ``serve`` (the PINs then verify fast and are not rehashed).
CHEAP_PIN_ENV = {
    "STREETPATROL_PIN_TIME_COST": str(FAST_PIN_HASHING.time_cost),
    "STREETPATROL_PIN_MEMORY_KIB": str(FAST_PIN_HASHING.memory_cost),
    "STREETPATROL_PIN_PARALLELISM": str(FAST_PIN_HASHING.parallelism),
}
#: The seeded demo accounts (hq/demo.py: PIN = "26" + badge).
HQ_BADGE = "9001"

T = TypeVar("T")

#: Every text, label and field value of Flutter's semantics tree, one per line.
SEMANTICS_TEXT_JS = """() => {
    const host = document.querySelector('flt-semantics-host');
    if (!host) return '';
    const parts = [];
    for (const el of host.querySelectorAll('*')) {
        const label = el.getAttribute('aria-label');
        if (label) parts.push(label);
        for (const n of el.childNodes) {
            const text = n.nodeType === 3 ? n.textContent.trim() : '';
            if (text) parts.push(text);
        }
        if (el.value) parts.push(el.value);
    }
    return parts.join('\\n');
}"""


def demo_pin(badge: str) -> str:
    return "26" + badge


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    path = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, "PYTHONPATH": path, **CHEAP_PIN_ENV, **(extra or {})}


def stop_process(proc: subprocess.Popen[bytes] | None, timeout: float = 10.0) -> None:
    """terminate → wait → kill → wait."""
    if proc is None:
        return
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def _tail(log: Path, chars: int = 3000) -> str:
    try:
        return log.read_text(encoding="utf-8", errors="replace")[-chars:]
    except FileNotFoundError:
        return ""


class ServerProcess:
    """A command serving HTTP on 127.0.0.1:``port``; ``start`` returns once ``probe_path`` answers."""

    def __init__(
        self,
        command: Sequence[str],
        port: int,
        log: Path,
        *,
        probe_path: str = "/",
        env: Mapping[str, str] | None = None,
        start_timeout: float = 60.0,
    ) -> None:
        self.command = list(command)
        self.port = port
        self.log = log
        self.probe_path = probe_path
        self.env = _env(env)
        self.start_timeout = start_timeout
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self) -> None:
        if self.running:
            return
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                self.command, stdout=log, stderr=subprocess.STDOUT, env=self.env, cwd=REPO
            )
        deadline = time.monotonic() + self.start_timeout
        while True:
            if self.proc.poll() is not None:
                code = self.proc.returncode
                self.proc = None
                raise RuntimeError(f"{self.command[:4]} exited with {code}:\n{_tail(self.log)}")
            try:
                if httpx.get(self.url + self.probe_path, timeout=2.0).status_code < 500:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"{self.command[:4]} did not answer in {self.start_timeout} s")
            time.sleep(0.1)

    def stop(self) -> None:
        stop_process(self.proc)
        self.proc = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _hq_command() -> list[str]:
    script = Path(sys.executable).with_name("streetpatrol-hq")
    return [str(script)] if script.exists() else [sys.executable, "-m", "hq.cli"]


class HqServer(ServerProcess):
    """``streetpatrol-hq`` over ``root``/hq.sqlite3 and ``root``/blobs: ``init`` + ``seed-demo`` once, then
    ``serve`` on a fixed free port, so ``stop()`` / ``start()`` is an HQ outage the phone sees."""

    def __init__(self, root: Path, port: int | None = None) -> None:
        root.mkdir(parents=True, exist_ok=True)
        self.root = root
        self.db = root / "hq.sqlite3"
        self.blobs = root / "blobs"
        port = port or free_port()
        command = [
            *_hq_command(),
            "serve",
            "--db",
            str(self.db),
            "--blobs",
            str(self.blobs),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ]
        super().__init__(command, port, root / "hq.log", probe_path="/v1/health", start_timeout=30.0)

    def prepare(self) -> str:
        """``init`` and ``seed-demo``; returns what seed-demo printed."""
        for sub in ("init", "seed-demo"):
            done = subprocess.run(
                [*_hq_command(), sub, "--db", str(self.db)],
                env=self.env,
                cwd=REPO,
                capture_output=True,
                timeout=120,
                check=False,
            )
            if done.returncode != 0:
                raise RuntimeError(f"streetpatrol-hq {sub} failed: {done.stderr.decode(errors='replace')}")
        return done.stdout.decode()


class AppServer(ServerProcess):
    """The officer app in web mode on a free port, data in ``data_dir``, talking to ``hq_url``."""

    def __init__(self, data_dir: Path, hq_url: str, log: Path, port: int | None = None) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        self.data_dir = data_dir
        port = port or free_port()
        command = [
            sys.executable,
            "-m",
            "mobile.app",
            "--web",
            "--port",
            str(port),
            "--data-dir",
            str(data_dir),
            "--hq",
            hq_url,
        ]
        super().__init__(command, port, log, probe_path="/", start_timeout=90.0)


# ------------------------------------------------------------------------------------------ HQ API


@dataclass
class HqApi:
    """HQ's API over httpx as the seeded HQ user (sees every case of the city)."""

    base_url: str
    badge: str = HQ_BADGE

    def __post_init__(self) -> None:
        self.client = httpx.Client(base_url=self.base_url, timeout=15)
        response = self.client.post(
            "/v1/auth/sign-in",
            json={"badge": self.badge, "pin": demo_pin(self.badge), "device_id": "e2e-hq-check"},
        )
        response.raise_for_status()
        self.client.headers["Authorization"] = f"Bearer {response.json()['token']}"

    def cases(self, **params: Any) -> list[dict[str, Any]]:
        response = self.client.get("/v1/cases", params=params)
        response.raise_for_status()
        cases: list[dict[str, Any]] = response.json()["cases"]
        return cases

    def case(self, case_id: str) -> dict[str, Any]:
        response = self.client.get(f"/v1/cases/{case_id}")
        response.raise_for_status()
        detail: dict[str, Any] = response.json()
        return detail

    def has_photo(self, sha256: str) -> bool:
        return self.client.head(f"/v1/photos/{sha256}").status_code == 200

    def close(self) -> None:
        self.client.close()


# ------------------------------------------------------------------------------------------ browser


class Browser:
    """Chromium (Debian's, never a downloaded one) owned by one worker thread; see the module doc.

    ``fake_camera=True`` gives the pages Chromium's fake camera (a moving test pattern) with the camera
    permission granted; without it the browser has no camera at all."""

    def __init__(self, *, fake_camera: bool = False) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="playwright")
        self._pw: Any = None
        self._browser: Any = None
        self.args = (*CHROMIUM_ARGS, *(FAKE_CAMERA_ARGS if fake_camera else ()))
        self.call(self._launch)

    def call(self, fn: Callable[..., T], *args: Any, timeout: float = 120.0) -> T:
        """Run ``fn(*args)`` in the Playwright thread and return its result (exceptions re-raised)."""
        return self._pool.submit(fn, *args).result(timeout)

    def _launch(self) -> None:
        from playwright.sync_api import sync_playwright

        self._pw = sync_playwright().start()
        self._browser = self._pw.chromium.launch(executable_path=str(CHROMIUM), args=list(self.args))

    def new_screen(self, url: str) -> Screen:
        """A fresh context (412x915, geolocation granted at GEO) with the app open and semantics on."""
        screen = Screen(self)
        self.call(screen._open, url)
        return screen

    def _close(self) -> None:
        try:
            if self._browser is not None:
                self._browser.close()
        finally:
            if self._pw is not None:
                self._pw.stop()
            self._browser = self._pw = None

    def close(self) -> None:
        try:
            self.call(self._close, timeout=60)
        finally:
            self._pool.shutdown(wait=True)


class Screen:
    """One browser page of the app. Every public method runs in the Playwright thread."""

    #: Canvas repaint and page transitions lag the semantics DOM.
    SETTLE = 1.5

    def __init__(self, browser: Browser) -> None:
        self.browser = browser
        self.page: Any = None
        self.context: Any = None
        self.shots: list[Path] = []
        #: Taps on the app's controls (a file chooser counts two: the button and the file) and fields typed.
        self.taps = 0
        self.typed = 0
        #: What was tapped, in order (for the tap benchmark's breakdown).
        self.tap_log: list[str] = []
        #: (url, status) of every HTTP response the page received, in order.
        self.responses: list[tuple[str, int]] = []

    def _run(self, fn: Callable[..., T], *args: Any, timeout: float = 120.0) -> T:
        return self.browser.call(fn, *args, timeout=timeout)

    # -- thread-side implementations ------------------------------------------------------------

    def _open(self, url: str) -> None:
        browser = self.browser._browser
        self.context = browser.new_context(
            viewport=VIEWPORT, geolocation=GEO, permissions=["geolocation"], locale="zh-CN"
        )
        self.page = self.context.new_page()
        self.page.on("response", lambda response: self.responses.append((response.url, response.status)))
        self.page.goto(url)
        self.page.wait_for_selector("#loading", state="detached", timeout=60_000)
        self._enable_semantics()

    def _enable_semantics(self) -> None:
        placeholder = self.page.locator("flt-semantics-placeholder")
        placeholder.wait_for(state="attached", timeout=30_000)
        placeholder.evaluate("e => e.click()")
        # the tree has content once a text, a button or a field is in it
        self.page.wait_for_selector(
            "flt-semantics span, flt-semantics[role], flt-semantics input", state="attached", timeout=30_000
        )
        self._quiet()

    def _quiet(self, quiet_ms: int = 500, limit_ms: int = 15_000) -> None:
        """Wait until the semantics tree has not changed for ``quiet_ms`` (the first screens of the app
        re-render as its state settles; typing into a field that is being replaced loses the text)."""
        script = """([quiet, limit]) => new Promise(resolve => {
            const host = document.querySelector('flt-semantics-host') || document.body;
            let timer = setTimeout(done, quiet);
            const observer = new MutationObserver(() => {
                clearTimeout(timer);
                timer = setTimeout(done, quiet);
            });
            const cap = setTimeout(done, limit);
            function done() { observer.disconnect(); clearTimeout(timer); clearTimeout(cap); resolve(true); }
            observer.observe(host, {subtree: true, childList: true, attributes: true, characterData: true});
        })"""
        self.page.evaluate(script, [quiet_ms, limit_ms])

    def _text_locator(self, text: str, exact: bool) -> Any:
        return self.page.get_by_text(text, exact=exact).first

    # -- public API ----------------------------------------------------------------------------

    def _focused(self, box: Any, limit_ms: int = 2000) -> bool:
        """Whether the field ``box`` holds the keyboard focus (waits up to ``limit_ms`` for it)."""
        try:
            box.evaluate(
                """(e, limit) => new Promise((resolve, reject) => {
                    const start = performance.now();
                    (function check() {
                        const active = document.activeElement;
                        if (active && (active === e || e.contains(active))) return resolve(true);
                        if (performance.now() - start > limit) return reject(new Error('not focused'));
                        setTimeout(check, 50);
                    })();
                })""",
                limit_ms,
            )
        except Exception as exc:
            if "not focused" in str(exc):
                return False
            raise
        return True

    def _textbox(self, label: str) -> Any:
        return self.page.get_by_role("textbox", name=label, exact=True)

    def fill(self, label: str, value: str, *, timeout: float = 15.0) -> None:
        """Tap the text field labelled ``label``, clear it and type ``value`` key by key (Playwright's
        ``fill`` on Flutter's semantics inputs is not reliably seen by the app; typing is what a user does).
        """

        def focus() -> Any:
            box = self._textbox(label).first
            box.wait_for(state="attached", timeout=timeout * 1000)
            for _attempt in range(3):
                box.click()
                # the field left behind may rebuild the screen as it loses the focus, and a rebuild can
                # hand the focus back to it (seen in CI: the keys then replaced the fine amount): wait
                # until the screen is still and check the focus again, then right before typing
                self._quiet(quiet_ms=300)
                if self._focused(box):
                    self.page.wait_for_timeout(150)  # Flutter moves focus to its editing element
                    if self._focused(box, limit_ms=0):
                        return box
                self._quiet()  # the tap came during a scroll or a rebuild: once more, settled
                box = self._textbox(label).first
            raise AssertionError(f"field {label!r} does not keep the focus")  # typing would go elsewhere

        def go() -> None:
            typed = ""
            # a field replaced by a re-render while typing loses the text (seen once in a full CI run:
            # the squad screen's date field held nothing after typing): tap and type it once more, as
            # an officer would; the field must hold exactly the value in the end
            for _attempt in range(2):
                self._quiet()
                box = focus()
                self.page.keyboard.press("Control+A")
                self.page.keyboard.press("Backspace")
                self.page.keyboard.type(value, delay=15)
                typed = box.input_value()
                if typed == value:
                    return
            raise AssertionError(f"field {label!r} holds {typed!r} after typing {value!r}")

        self._run(go)
        self.taps += 1
        self.typed += 1
        self.tap_log.append(f"[{label}]")

    def tap(self, name: str, *, role: str = "button", exact: bool = True, timeout: float = 15.0) -> None:
        """Tap the control of ``role`` named ``name``."""

        def go() -> None:
            control = self.page.get_by_role(role, name=name, exact=exact).first
            control.wait_for(state="attached", timeout=timeout * 1000)
            control.click()

        self._run(go)
        self.taps += 1
        self.tap_log.append(name)

    def tap_text(self, text: str, *, exact: bool = True, timeout: float = 15.0) -> None:
        """Tap whatever shows ``text`` (a list tile, a chip, a menu entry)."""

        def go() -> None:
            node = self._text_locator(text, exact)
            node.wait_for(state="attached", timeout=timeout * 1000)
            node.click()

        self._run(go)
        self.taps += 1
        self.tap_log.append(text)

    def tap_containing(self, *parts: str, role: str = "button", timeout: float = 15.0) -> None:
        """Tap the first control of ``role`` whose name holds every one of ``parts`` (a list tile is
        named by all its texts: its violation, time and subject, sync state and stage)."""
        pattern = re.compile("^" + "".join(f"(?=[\\s\\S]*{re.escape(part)})" for part in parts))

        def go() -> None:
            control = self.page.get_by_role(role, name=pattern).first
            control.wait_for(state="attached", timeout=timeout * 1000)
            control.click()

        self._run(go)
        self.taps += 1
        self.tap_log.append(" & ".join(parts))

    def copy_between(self, first: str, last: str, *, timeout: float = 15.0) -> str:
        """Select with the mouse from the start of the first text holding ``first`` to the end of the first
        text holding ``last`` (in one SelectionArea), press Ctrl+C and return what the clipboard then holds
        (emptied before, so nothing earlier passes for the copy)."""

        def go() -> str:
            self.context.grant_permissions(["clipboard-read", "clipboard-write"])
            self.page.evaluate("() => navigator.clipboard.writeText('')")
            start, end = self._text_locator(first, False), self._text_locator(last, False)
            start.wait_for(state="attached", timeout=timeout * 1000)
            end.wait_for(state="attached", timeout=timeout * 1000)
            a, b = start.bounding_box(), end.bounding_box()
            if a is None or b is None:
                raise AssertionError(f"{first!r} or {last!r} is not on the screen")
            self.page.mouse.move(a["x"] + 1, a["y"] + a["height"] / 2)
            self.page.mouse.down()
            # past the end of the last line of ``last`` (a wrapped value ends on its last line)
            self.page.mouse.move(b["x"] + b["width"] - 1, b["y"] + b["height"] - 4, steps=10)
            self.page.mouse.up()
            self.page.wait_for_timeout(300)
            self.page.keyboard.press("Control+C")
            self.page.wait_for_timeout(300)
            return str(self.page.evaluate("() => navigator.clipboard.readText()"))

        return self._run(go)

    def wait_text(self, text: str, *, timeout: float = 20.0) -> None:
        """Wait until ``text`` is part of a text or a label of the semantics tree (a tappable container
        carries its texts as its label)."""
        try:
            self._run(
                lambda: self.page.wait_for_function(
                    f"t => ({SEMANTICS_TEXT_JS})().includes(t)", arg=text, timeout=timeout * 1000
                ),
                timeout=timeout + 30,
            )
        except Exception as exc:
            if type(exc).__name__ != "TimeoutError":
                raise
            shown = self.semantics_text()
            raise AssertionError(f"{text!r} not shown within {timeout} s; the screen has:\n{shown}") from None

    def wait_gone(self, text: str, *, timeout: float = 20.0) -> None:
        self._run(
            lambda: self.page.wait_for_function(
                f"t => !({SEMANTICS_TEXT_JS})().includes(t)", arg=text, timeout=timeout * 1000
            ),
            timeout=timeout + 30,
        )

    def wait_control(self, role: str, name: str, *, exact: bool = True, timeout: float = 20.0) -> None:
        """Wait until a control of ``role`` named ``name`` is in the semantics tree."""
        self._run(
            lambda: self.page.get_by_role(role, name=name, exact=exact).first.wait_for(
                state="attached", timeout=timeout * 1000
            ),
            timeout=timeout + 30,
        )

    def has(self, role: str, name: str, *, exact: bool = True) -> bool:
        return self._run(lambda: self.page.get_by_role(role, name=name, exact=exact).count() > 0)

    def count(self, role: str, name: str, *, exact: bool = True) -> int:
        return self._run(lambda: int(self.page.get_by_role(role, name=name, exact=exact).count()))

    def semantics_text(self) -> str:
        """Every text and label of the semantics tree, one string (for assertions and failure messages)."""
        return self._run(lambda: str(self.page.evaluate(SEMANTICS_TEXT_JS)))

    def lines_with(self, *values: str) -> list[str]:
        """The semantics tree's texts, one per line, after checking that each of ``values`` is one of
        them (a whole text, not part of one: what a screen reader reads as that value)."""
        text = self.semantics_text()
        lines = text.splitlines()
        for value in values:
            assert value in lines, f"{value!r} not a text of the semantics tree:\n{text}"
        return lines

    def choose_file(self, button: str, path: Path, *, role: str = "button", timeout: float = 20.0) -> None:
        """Tap ``button`` and answer the file chooser it opens with ``path``."""

        def go() -> None:
            with self.page.expect_file_chooser(timeout=timeout * 1000) as chooser:
                self.page.get_by_role(role, name=button, exact=True).first.click()
            chooser.value.set_files(str(path))

        self._run(go)
        self.taps += 2
        self.tap_log += [button, "(picture)"]

    def screenshot(self, name: str) -> Path:
        """Wait for the canvas to settle, then save ``artifacts/screenshots/<name>.png``."""
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"

        def go() -> None:
            self.page.wait_for_timeout(self.SETTLE * 1000)
            self.page.screenshot(path=str(path))

        self._run(go)
        self.shots.append(path)
        return path

    def settle(self) -> None:
        """Wait until the app has stopped changing the screen (a re-render, a step that moved on)."""
        self._run(self._quiet)

    def pause(self, seconds: float) -> None:
        """Let the app work (a sync round, an animation) without touching it."""
        self._run(lambda: self.page.wait_for_timeout(seconds * 1000), timeout=seconds + 30)

    def reload(self) -> None:
        def go() -> None:
            self.page.reload()
            self.page.wait_for_selector("#loading", state="detached", timeout=60_000)
            self._enable_semantics()

        self._run(go)

    def close(self) -> None:
        def go() -> None:
            if self.context is not None:
                self.context.close()
            self.context = self.page = None

        self._run(go, timeout=60)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# ------------------------------------------------------------------------------------------ the app's flows

#: A saved case's number as the app shows it: ``已保存：ZD01-1023-261122-HY70A-0001``.
SAVED_RE = re.compile(r"已保存：([A-Z0-9]+-[A-Z0-9]+-\d{6}-[0-9A-Z]{5}-\d+)")
STEP_COUNT = 7


def evidence_jpeg(path: Path, seed: int, size: tuple[int, int] = (1600, 1200)) -> Path:
    """A photo-like JPEG (coloured blocks on a gradient), different for every ``seed``."""
    from PIL import Image, ImageDraw

    rnd = random.Random(seed)
    image = Image.linear_gradient("L").resize(size).convert("RGB")
    draw = ImageDraw.Draw(image)
    for _ in range(80):
        x, y = rnd.randrange(size[0]), rnd.randrange(size[1])
        colour = (rnd.randrange(256), rnd.randrange(256), rnd.randrange(256))
        draw.rectangle([x, y, x + rnd.randrange(20, 400), y + rnd.randrange(20, 300)], fill=colour)
    image.save(path, "JPEG", quality=85)
    return path


class OfficerUi:
    """The officer app's screens as an officer goes through them (labels from mobile/i18n.py)."""

    def __init__(self, screen: Screen) -> None:
        self.s = screen

    def sign_in(self, badge: str, pin: str | None = None) -> None:
        self.s.wait_control("textbox", "执法证号")
        self.s.fill("执法证号", badge)
        self.s.fill("PIN 密码", pin or demo_pin(badge))
        self.s.tap("登录")
        self.s.wait_control("button", "新建案件", timeout=40)

    def current_step(self) -> int:
        found = re.search(rf"(\d)/{STEP_COUNT} ·", self.s.semantics_text())
        return int(found.group(1)) if found else 0

    def moved_on(self, old: int, *, timeout: float = 20.0) -> int:
        """Wait until the wizard has left step ``old`` (by a tap, or by itself after a GPS fix, a chosen
        subject, an added photo) and the screen has settled; returns the step now shown (0: left the
        wizard, e.g. saved)."""
        deadline = time.monotonic() + timeout
        while (current := self.current_step()) == old:
            if time.monotonic() > deadline:
                raise AssertionError(f"still on step {old} after {timeout} s:\n{self.s.semantics_text()}")
            time.sleep(0.1)
        self.s.settle()
        return self.current_step() or current

    def step(self, number: int) -> None:
        """Be on wizard step ``number``: tap 下一步 or 上一步 step by step. The app moves on by itself past
        steps that need nothing; 上一步 still shows each of them."""
        self.s.settle()
        current = self.current_step()
        if current == 0:
            raise AssertionError(f"not in the new-case wizard:\n{self.s.semantics_text()}")
        for _ in range(3 * STEP_COUNT):
            if current == number:
                return
            self.s.tap("下一步" if current < number else "上一步")
            current = self.moved_on(current)
        raise AssertionError(f"on step {current}, wanted {number}")

    def new_case(self, violation: str) -> None:
        """From Today: 新建案件, then the violation's tile (the wizard then moves on to the location step,
        and past it once the GPS fix it asks for by itself arrives).

        Today re-renders whole while a sync runs; a tap that lands just then can be lost (seen in
        Chromium), so the tap is repeated once if the wizard did not open."""
        self.s.settle()
        self.s.tap("新建案件")
        try:
            self.s.wait_text(f"1/{STEP_COUNT} ·", timeout=5)
        except AssertionError:
            self.s.tap("新建案件")
            self.s.wait_text(f"1/{STEP_COUNT} ·")
        self.s.settle()
        self.s.tap(violation)
        self.moved_on(1)

    def locate(self) -> str:
        """The GPS fix of the browser context, which the location step asks for by itself (taps 获取 GPS
        定位 only if no fix came); returns the line the app shows."""
        fix = f"GPS {GEO['latitude']:.4f}"
        try:
            self.s.wait_text(fix, timeout=20)
        except AssertionError:
            self.s.tap("获取 GPS 定位")
            self.s.wait_text(fix, timeout=30)
        self.s.settle()
        return next(line for line in self.s.semantics_text().splitlines() if line.startswith("GPS "))

    def new_subject(self, name: str, phone: str) -> None:
        self.step(3)
        self.s.tap("新建当事人")
        self.s.fill("姓名 / 店名", name)
        self.s.fill("电话", phone)
        self.s.tap("保存当事人")
        self.moved_on(3)

    def find_subject(self, query: str, label: str) -> None:
        """Search the phone's registry and pick the entry whose label starts with ``label``."""
        self.step(3)
        self.s.fill("车牌、电话或姓名", query)
        self.s.wait_gone("最近的当事人")  # the results replaced the recent subjects
        self.s.settle()  # the list is rebuilt after every key: tap the final one
        self.s.tap_text(label, exact=False)
        self.moved_on(3)

    def recent_subject(self, label: str) -> None:
        """Pick a subject from 最近的当事人 (shown before anything is typed): one tap."""
        self.step(3)
        self.s.wait_text("最近的当事人")
        self.s.settle()
        self.s.tap_text(label, exact=False)
        self.moved_on(3)

    def stage_text(self) -> str:
        self.step(4)
        return self.s.semantics_text()

    def tab(self, name: str) -> None:
        """A destination of the bottom navigation bar (今日, 当事人, 同步, 设置)."""
        self.s.settle()
        self.s.tap(name, role="tab")

    def choose(self, option: str) -> None:
        """A radio option (disposition, subject kind)."""
        self.s.tap(option, role="radio")

    def add_photo(self, path: Path, count_after: int) -> None:
        """Step 6, 选择照片 and the file; the app then shows ``count_after`` photos (on the review)."""
        self.step(6)
        self.s.settle()  # the camera is tried first; on a browser without one the step is rebuilt
        self.s.choose_file("选择照片", path)
        self.s.wait_text(f"{count_after} 张照片", timeout=40)

    def take_photo(self, count_after: int) -> None:
        """Step 6 with a camera: wait for the live preview to open, press the shutter (拍照)."""
        self.step(6)
        self.s.wait_text("对准现场后按“拍照”", timeout=30)
        self.s.tap("拍照")
        self.s.wait_text(f"{count_after} 张照片", timeout=40)

    def save(self) -> str:
        """Step 7, check it is ready, save; returns the case number the app reports."""
        self.step(7)
        review = self.s.semantics_text()
        if "可以保存" not in review:
            raise AssertionError(f"the case is not ready to save:\n{review}")
        self.s.tap("保存案件")
        self.s.wait_text("已保存：", timeout=30)
        match = SAVED_RE.search(self.s.semantics_text())
        if match is None:
            raise AssertionError(f"no case number in:\n{self.s.semantics_text()}")
        return match.group(1)
