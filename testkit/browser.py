"""End-to-end harness, the browser: Debian's Chromium driven by Playwright, and ``Screen``, one page of the
officer app (``testkit.harness`` starts the app it opens).

Playwright's sync API keeps an event loop running in the thread that uses it while the browser is open,
which breaks any later ``asyncio.run()`` of the same thread. ``Browser`` therefore owns one worker thread
and every Playwright call runs there; tests only call ``Screen`` methods, which hand the work over and wait.

Screenshots go to ``artifacts/screenshots/<name>.png`` (gitignored). The labels the screens are found by
are listed in ``tests/e2e/labels.py``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Self, TypeVar

from testkit.harness import REPO

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

    def enabled(self, role: str, name: str, *, exact: bool = True, timeout: float = 15.0) -> bool:
        """Whether the control of ``role`` named ``name`` can be used (not disabled)."""

        def go() -> bool:
            control = self.page.get_by_role(role, name=name, exact=exact).first
            control.wait_for(state="attached", timeout=timeout * 1000)
            return bool(control.is_enabled())

        return self._run(go)

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

    def clip(self, role: str, name: str, *, exact: bool = True) -> bytes:
        """A PNG of the control's box as drawn now, once the canvas has settled (pixel checks of what the
        app itself drew, e.g. that a rare character is not a missing-glyph box)."""

        def go() -> bytes:
            self._quiet()
            self.page.wait_for_timeout(self.SETTLE * 1000)
            box = self.page.get_by_role(role, name=name, exact=exact).first.bounding_box()
            if box is None:
                raise AssertionError(f"{role} {name!r} is not on screen")
            return bytes(self.page.screenshot(clip=box))

        return self._run(go)

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
