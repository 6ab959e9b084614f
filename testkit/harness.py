"""End-to-end harness, the processes: a real HQ (``streetpatrol-hq`` in a subprocess over tmp SQLite and
blobs), the officer app in Flet's web mode (``python -m mobile.app --web`` in a subprocess) and HQ's API as
the seeded HQ user. The browser that drives the app is ``testkit.browser`` (Debian's Chromium through
Playwright), the officer's way through the screens ``testkit.officer_ui``.

Every process is stopped terminate → wait → kill (Flet's SIGTERM handler can hang), also when a test fails.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

import httpx

from testkit.fleet import CHEAP_PIN_ENV, REPO  # cheap argon2 for ``seed-demo`` and ``serve``
from testkit.ports import free_port, owned_by

#: The seeded demo accounts (hq/demo.py: PIN = "26" + badge).
HQ_BADGE = "9001"


def demo_pin(badge: str) -> str:
    return "26" + badge


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
                    if owned_by(self.proc.pid, self.port) is False:
                        self.stop()
                        raise RuntimeError(f"{self.command[:4]}: another process answers on port {self.port}")
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
    return [str(script)] if script.exists() else [sys.executable, "-m", "hq.cli.main"]


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


#: The log of every officer app this process started (the browser tests check them for lost taps).
APP_LOGS: list[Path] = []
#: Events whose loss is a lost tap, and ``'value'``: text typed into a field Flet no longer holds. A
#: browser test fails on any the app logs as lost.
TAP_EVENTS = ("click", "tap", "long_press", "value")


def lost_taps(log: Path, offset: int = 0) -> list[str]:
    """The lines of an officer app's log, from byte ``offset``, on which the app reports a tap (or typed
    text) that Flet dropped because its control had been replaced (``mobile.app.watch_lost_events``), or a
    reconciled screen rebuilt with controls of the tree shown, whose typing Flet would drop
    (``mobile.views.shell.REUSED``)."""
    from mobile.app import LOST_EVENT
    from mobile.views.shell import REUSED

    if not log.exists():
        return []
    with open(log, "rb") as f:
        f.seek(offset)
        text = f.read().decode("utf-8", errors="replace")
    return [
        line
        for line in text.splitlines()
        if (f"{LOST_EVENT}: " in line and any(f"'{name}'" in line for name in TAP_EVENTS))
        or f"{REUSED}: " in line
    ]


class AppServer(ServerProcess):
    """The officer app in web mode on a free port, data in ``data_dir``, talking to ``hq_url``."""

    def __init__(self, data_dir: Path, hq_url: str, log: Path, port: int | None = None) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        self.data_dir = data_dir
        if log not in APP_LOGS:
            APP_LOGS.append(log)
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
