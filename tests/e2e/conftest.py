"""Fixtures of the end-to-end tests, one set per test module: a seeded HQ subprocess (``hq``, restartable
with ``stop()`` / ``start()``), the officer app in web mode (``app_server``), Chromium (``browser``) and a
page of the app with semantics on (``screen``). Everything is stopped even when a test fails; a failing
test leaves ``artifacts/screenshots/FAILED-<test>.png``."""

from __future__ import annotations

from collections.abc import Generator, Iterator
from pathlib import Path

import pytest

from testkit.browser import CHROMIUM, Browser, Screen
from testkit.harness import APP_LOGS, AppServer, HqServer, lost_taps


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    setattr(item, "e2e_report_" + report.when, report)
    return report


@pytest.fixture(scope="module")
def e2e_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("e2e")


@pytest.fixture(scope="module")
def hq(e2e_root: Path) -> Iterator[HqServer]:
    server = HqServer(e2e_root / "hq")
    server.prepare()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def app_server(hq: HqServer, e2e_root: Path) -> Iterator[AppServer]:
    with AppServer(e2e_root / "phone", hq.url, e2e_root / "app.log") as server:
        yield server


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed")
    chromium = Browser()
    try:
        yield chromium
    finally:
        chromium.close()


@pytest.fixture(scope="module")
def screen(browser: Browser, app_server: AppServer) -> Iterator[Screen]:
    with browser.new_screen(app_server.url) as page:
        yield page


@pytest.fixture(autouse=True)
def _shot_on_failure(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    report = getattr(request.node, "e2e_report_call", None)
    if report is not None and report.failed and "screen" in request.fixturenames:
        page: Screen = request.getfixturevalue("screen")
        try:
            page.screenshot(f"FAILED-{request.node.name}")
        except Exception as exc:  # the page may be what broke; the failure itself is reported anyway
            print(f"no failure screenshot: {exc!r}")


@pytest.fixture(autouse=True)
def _no_lost_taps() -> Iterator[None]:
    """Fail a test during which an officer app dropped a tap because a re-render had replaced the tapped
    control (the app logs it, ``mobile.app.watch_lost_events``): a lost tap is a bug of the app, never
    something for the test to tap again. The same for text typed into a field Flet no longer holds, and
    for a reconciled screen rebuilt with controls of the screen shown (``mobile.views.shell.REUSED``)."""
    offsets = {log: log.stat().st_size if log.exists() else 0 for log in APP_LOGS}
    yield
    lost = [line for log in APP_LOGS for line in lost_taps(log, offsets.get(log, 0))]
    if lost:
        pytest.fail("the app lost taps or typing (a re-render replaced their control):\n" + "\n".join(lost))
