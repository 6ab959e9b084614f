"""The run and its report: ``Server`` (uvicorn on loopback in a thread), ``demo_target`` (a fresh demo HQ over
SQLite or PostgreSQL), ``known_values`` (valid path-parameter values), ``run_backend`` (every part in
order against one backend), the Markdown ``table`` and ``report``, and ``main``, the bench's entry point
(bench/hostile.py) writing bench/results/hostile.md.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from enforcement.codec import to_json_dict
from enforcement.model import PhotoRef, new_id
from hq.blobs.store import FilesystemBlobStore
from hq.storage.base import Storage, SubjectConflict
from testkit.hostile.attacks import auth_attacks, browser, records, scope_attacks
from testkit.hostile.core import (
    ACCEPTED,
    ANSWERED,
    HOSTILE,
    NEUTRALISED,
    OCTET,
    RECORD_REFUSED,
    REFUSED,
    RESULTS,
    VERBATIM,
    Part,
    Target,
    send,
)
from testkit.hostile.params import bodies, body_probes, fuzz, parameters
from testkit.hostile.photos import evidence_photo, photo_probes, photos
from testkit.hostile.records_probes import push, text_fields, valid_case
from testkit.hostile.wire import stall, wire_attacks

# ------------------------------------------------------------------------------------------ the run


class Server:
    """uvicorn serving an app on 127.0.0.1 in a thread."""

    def __init__(self, app: Any) -> None:
        import uvicorn

        config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="critical", lifespan="off",
                                access_log=False)  # fmt: skip
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        while not self.server.started:
            if not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.01)
        self.url = f"http://127.0.0.1:{self.server.servers[0].sockets[0].getsockname()[1]}"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def demo_target(root: Path, pg_dsn: str = "") -> tuple[Target, Server, dict[str, Any]]:
    """HQ with the demo district over SQLite in ``root`` (or a fresh schema of the PostgreSQL at
    ``pg_dsn``), serving on loopback; its OpenAPI document."""
    from enforcement.catalogue import load_catalogue
    from hq.app import create_app
    from hq.demo import SUBJECTS, USERS, seed_demo
    from hq.settings import FAST_PIN_HASHING, Settings, ThrottleSettings
    from hq.storage.sqlite import SqliteStorage

    catalogue = load_catalogue()
    # every probe comes from 127.0.0.1: the per-address sign-in throttle would lock the harness out
    settings = Settings(
        pin_hashing=FAST_PIN_HASHING, throttle=ThrottleSettings(free_failures_per_address=10**6)
    )
    storage: Storage
    if pg_dsn:
        from hq.storage.postgres import PostgresStorage

        storage = PostgresStorage(pg_dsn, schema=f"hostile_{new_id()[:8]}", max_size=4)
    else:
        storage = SqliteStorage(root / "hq.db")
    storage.create_schema()
    seed_demo(storage, settings, catalogue=catalogue)
    blobs = FilesystemBlobStore(root / "blobs")
    app = create_app(storage, blobs, settings, catalogue=catalogue)
    server = Server(app)
    by_badge = {u.officer.badge: u for u in USERS}
    users = {
        "officer": by_badge["1023"].officer,
        "leader": by_badge["1001"].officer,
        "hq": by_badge["9001"].officer,
    }
    target = Target(
        server.url, storage, blobs, users, {u.officer.badge: u.pin for u in USERS}, SUBJECTS[0].id
    )
    for role in users:
        target.sign_in(role)
    return target, server, app.openapi()


def known_values(target: Target) -> dict[str, str]:
    """Valid path-parameter values: a stored case with a stored photo, the subject, a spare device."""
    data = evidence_photo()
    sha = hashlib.sha256(data).hexdigest()
    case = valid_case(target, photos=(PhotoRef(sha, len(data)),))
    with target.client() as client:
        push(target, client, "officer", "case", to_json_dict(case), case.id)
        send(
            client,
            "PUT",
            f"/v1/photos/{sha}",
            content=data,
            headers=target.auth["officer"] | {"Content-Type": OCTET},
        )
        order = send(
            client,
            "POST",
            "/v1/workorders",
            json={
                "source": "12345",
                "category": "0510",
                "description": "夜市露天烧烤，油烟扰民",
                "address": "人民路夜市",
                "lat": 34.7466,
                "lon": 113.6253,
            },
            headers=target.auth["hq"],
        )
    order_id = str(order.json().get("order_id", "")) if order.status_code == 200 else ""
    assert order_id, f"HQ filed no work order: {order.status_code} {order.text[:200]}"
    spare = target.devices["officer"]
    target.sign_in("officer")  # the spare device keeps existing; its token is superseded
    conflict_id = f"hostile-conflict-{next(target._seq)}"  # a subject field conflict to resolve (#22)
    with target.storage.transaction() as tx:
        tx.add_subject_conflict(
            SubjectConflict(conflict_id, target.subject_id, target.users["officer"].district, "address", "",
                            "人民路1号", "人民路2号", target.users["officer"].badge, spare, case.occurred_at)
        )  # fmt: skip
    return {
        "order_id": order_id,  # a work order HQ filed (the Open311 request id is the same id)
        "request_id": order_id,
        "service_code": "0510",  # an Open311 service definition (a violation code residents may report)
        "conflict_id": conflict_id,
        "case_id": case.id,
        "subject_id": target.subject_id,
        "sha256": sha,
        "device_id": spare,
        "squad": target.users["officer"].squad_code,  # HQ must name the squad of a review queue or day log
    }


def table(parts: list[tuple[Part, float]]) -> str:
    columns = (ACCEPTED, REFUSED, RECORD_REFUSED, VERBATIM, ANSWERED, NEUTRALISED)
    lines = [
        "| part | probes | " + " | ".join(columns) + " | problems | seconds |",
        "|---|---:|" + "---:|" * (len(columns) + 2),
    ]
    for part, seconds in parts:
        cells = " | ".join(str(part.outcomes.get(c, 0)) for c in columns)
        lines.append(f"| {part.name} | {part.probes} | {cells} | {len(part.problems)} | {seconds:.1f} |")
    return "\n".join(lines)


def stall_table(idle: float, during: float) -> str:
    """The stall figure of issue #13 item 3 (target: during ≤ 2 × idle)."""
    return "\n".join(
        [
            "| /v1/health p99 | idle | during 3 pushes of 330,000 empty records | ratio (target ≤ 2×) |",
            "|---|---:|---:|---:|",
            f"| this run | {idle:.1f} ms | {during:.1f} ms | {during / idle:.2f}× |",
        ]
    )


def run_backend(
    args: argparse.Namespace, pg_dsn: str
) -> tuple[list[tuple[Part, float]], bool, tuple[float, float]]:
    """Every part against a fresh HQ over SQLite (or PostgreSQL at ``pg_dsn``); (part, seconds), whether
    HQ still answered at the end, and /v1/health's p99 idle and during three stalling pushes (ms)."""
    with tempfile.TemporaryDirectory(prefix="sp-hostile-") as tmp:
        target, server, schema = demo_target(Path(tmp), pg_dsn)
        try:
            parts: list[tuple[Part, float]] = []
            runs: list[Callable[[], Part]] = [
                lambda: text_fields(target),
                lambda: parameters(target, schema, known_values(target)),
                lambda: photos(target),
                lambda: bodies(target),
                lambda: wire_attacks(target),
                lambda: fuzz(target, schema, args.positive, args.negative, args.fuzz_seconds),
                lambda: browser(target),
                lambda: records(target),  # last: it cuts the audit log's tail
                lambda: scope_attacks(target),
                lambda: auth_attacks(target),  # after the others: it locks badges
            ]
            for make in runs:
                started = time.monotonic()
                part = make()
                parts.append((part, time.monotonic() - started))
            figures = stall(target)
            return parts, target.alive(), figures
        finally:
            server.stop()
            if pg_dsn:
                import psycopg

                with psycopg.connect(pg_dsn, autocommit=True) as pg:
                    pg.execute(f'DROP SCHEMA IF EXISTS "{target.storage.schema}" CASCADE')  # type: ignore[attr-defined]
            target.storage.close()


def report(
    backend: str, parts: list[tuple[Part, float]], alive: bool, figures: tuple[float, float] | None = None
) -> str:
    grouped: dict[str, list[str]] = {}
    for part, _ in parts:
        for label, what in part.problems:
            grouped.setdefault(f"{part.name}: {what[:150]}", []).append(label)
    distinct = [
        f"{what} — {len(labels)}×, e.g. {'; '.join(labels[:3])}" for what, labels in sorted(grouped.items())
    ]
    return "\n\n".join(
        [
            f"## {backend}: {sum(p.probes for p, _ in parts)} probes, HQ answering at the end: "
            f"{'yes' if alive else 'NO'}",
            table(parts),
            *([stall_table(*figures)] if figures else []),
            "Problems, grouped:\n\n" + ("\n".join(f"- {d}" for d in distinct) or "none"),
        ]
    )


def main() -> None:
    from testkit import hostile  # the package's docstring describes the bench

    assert hostile.__doc__
    parser = argparse.ArgumentParser(description=hostile.__doc__.split("\n\n")[0])
    parser.add_argument("--positive", type=int, default=100, help="schemathesis examples per operation")
    parser.add_argument("--negative", type=int, default=60)
    parser.add_argument("--fuzz-seconds", type=float, default=40.0, help="bound on the fuzz part per backend")
    parser.add_argument(
        "--pg-dsn",
        default=os.environ.get("STREETPATROL_TEST_PG_DSN", ""),
        help="also run over PostgreSQL (a fresh schema; default $STREETPATROL_TEST_PG_DSN)",
    )
    args = parser.parse_args()
    sections = [report("SQLite", *run_backend(args, ""))]
    if args.pg_dsn:
        sections.append(report("PostgreSQL", *run_backend(args, args.pg_dsn)))
    text = "\n\n".join(
        [
            "# Hostile input at HQ, over loopback HTTP",
            f"{len(HOSTILE)} hostile strings ({', '.join(HOSTILE)}) in every string of a valid case, "
            "subject, shift and review payload (and the case's `extra` keys) and in every path/query "
            f"parameter of the OpenAPI (as HQ); {len(photo_probes())} uploads + how a stored photo is "
            "served; "
            f"{len(body_probes())} malformed or oversized bodies; schemathesis with {args.positive} positive "
            f"+ {args.negative} negative examples per operation per role (officer, leader, HQ), at most "
            f"{args.fuzz_seconds:.0f} s. *accepted (control)*: the same probes with valid values, accepted — "
            "the baseline showing the harness does not simply refuse everything. A problem is a 5xx, a 4xx "
            "without "
            "the ErrorBody shape, a refused record that was stored, accepted text that did not read back "
            "verbatim, a hostile photo stored, or data answered for a hostile path.",
            *sections,
        ]
    )
    print(text)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "hostile.md").write_text(text + "\n", encoding="utf-8")
