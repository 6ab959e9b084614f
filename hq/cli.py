"""``streetpatrol-hq``: run and administer the HQ service.

    streetpatrol-hq init      --db hq.sqlite3 | --pg postgresql://…      create the schema
    streetpatrol-hq serve     --db … | --pg …  --blobs DIR [--host 127.0.0.1] [--port 8080]
                              [--workers N] [--pool-size N (PostgreSQL connections per worker)]
    streetpatrol-hq seed-demo --db … | --pg …                             demo district, users and history
    streetpatrol-hq export    --db … | --pg …  [--out cases.csv] [--district 金水区] [--since 2025-01-01]
    streetpatrol-hq add-user  --db … --badge J2001 --name 王芳 --squad ZD01 [--role officer] (PIN prompted)
    streetpatrol-hq report    --db … | --pg …  --squad ZD01 [--day 2026-11-22] [--format pdf|csv] [--out F]
    streetpatrol-hq verify    --db … | --pg …                             audit chain check (exit 1: broken)
    streetpatrol-hq policy show|set …                                     the staged rule's policy (clipolicy)

Messages are printed in Chinese and English; a failure exits with status 1 and one line saying why.

``serve --workers N`` runs N uvicorn worker processes on one port, each with its own storage connections
(``--pool-size`` per worker on PostgreSQL, so N × pool-size in all). What keeps them consistent is in the
database, not in a process: PostgreSQL numbers the change feed under an advisory lock (commit order across
processes) and deduplicates pushes under per-record advisory locks; SQLite lets one writer in at a time
across processes (``BEGIN IMMEDIATE`` with a busy timeout; the in-process writer queue only shortens the
wait within one worker), so its feed is numbered in commit order too. Sign-in throttling lives in the
database. Per-process are only the argon2 slots (one PIN check per core in each worker) and caches.
"""

from __future__ import annotations

import argparse
import atexit
import getpass
import io
import os
import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import TextIO

from fastapi import FastAPI

from enforcement.catalogue import load_catalogue
from enforcement.model import LOCAL_TZ, Officer, Role
from enforcement.text import LocalizedError
from hq.app import create_app
from hq.audit import verify
from hq.auth import PinHasher
from hq.blobs import FilesystemBlobStore
from hq.clipolicy import add_policy_parser, cmd_policy
from hq.daydata import load_daylog
from hq.demo import demo_text, seed_demo
from hq.export import write_cases_csv
from hq.review import check_day
from hq.settings import settings_from_env
from hq.storage import open_storage
from hq.storage.base import Storage, UserRow, iter_all_audit
from patrollog.csvlog import CSV_BOM, daylog_csv
from patrollog.pdf import daylog_pdf


class CliError(LocalizedError):
    code = "cli"


def _storage_url(args: argparse.Namespace) -> str:
    if args.pg:
        return str(args.pg)
    if args.db:
        return str(args.db)
    raise CliError("give --db PATH or --pg DSN", zh="请指定 --db 数据库文件 或 --pg 连接串", field="db")


def _open(args: argparse.Namespace) -> Storage:
    return open_storage(_storage_url(args), create=True)


#: How ``serve --workers N`` hands its options to the worker processes (uvicorn starts each one fresh and
#: calls ``worker_app``).
SERVE_STORAGE_ENV = "STREETPATROL_SERVE_STORAGE"
SERVE_BLOBS_ENV = "STREETPATROL_SERVE_BLOBS"
SERVE_POOL_ENV = "STREETPATROL_SERVE_POOL_SIZE"
PIN_CONCURRENT_ENV = "STREETPATROL_PIN_CONCURRENT"


def _open_serving(url: str, pool_size: int | None, *, create: bool) -> Storage:
    """The storage at ``url``; on PostgreSQL a pool of at most ``pool_size`` connections (default 10)."""
    if pool_size is None or not url.startswith(("postgresql://", "postgres://")):
        return open_storage(url, create=create)
    from hq.storage.postgres import PostgresStorage

    storage = PostgresStorage(url, min_size=1, max_size=pool_size)
    if create:
        storage.create_schema()
    return storage


def worker_app() -> FastAPI:
    """The HQ app of one ``serve --workers N`` worker process (an uvicorn app factory)."""
    pool = os.environ.get(SERVE_POOL_ENV, "")
    storage = _open_serving(os.environ[SERVE_STORAGE_ENV], int(pool) if pool else None, create=False)
    atexit.register(storage.close)
    return create_app(storage, FilesystemBlobStore(os.environ[SERVE_BLOBS_ENV]), settings_from_env())


def _check_serve_options(args: argparse.Namespace) -> None:
    if args.workers < 1:
        raise CliError("--workers must be at least 1", zh="--workers 须为正整数", field="workers")
    if args.pool_size is not None:
        if not args.pg:
            raise CliError(
                "--pool-size sizes the PostgreSQL connection pool; it needs --pg",
                zh="--pool-size 是 PostgreSQL 连接池大小，须与 --pg 一起使用",
                field="pool_size",
            )
        if args.pool_size < 1:
            raise CliError("--pool-size must be at least 1", zh="--pool-size 须为正整数", field="pool_size")


def _add_storage_args(parser: argparse.ArgumentParser) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--db", type=Path, help="SQLite database file")
    group.add_argument("--pg", help="PostgreSQL DSN (postgresql://…)")


def _parse_day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text}") from exc


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="streetpatrol-hq", description="StreetPatrol HQ 街巡指挥中心")
    commands = parser.add_subparsers(dest="command", required=True)

    init = commands.add_parser("init", help="create the database schema 创建数据库")
    _add_storage_args(init)

    serve = commands.add_parser("serve", help="run the HTTP service 启动服务")
    _add_storage_args(serve)
    serve.add_argument("--blobs", type=Path, required=True, help="directory for photo files 照片目录")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8080)
    serve.add_argument("--workers", type=int, default=1, help="worker processes 工作进程数 (default 1)")
    serve.add_argument(
        "--pool-size",
        type=int,
        help="PostgreSQL connections per worker 每个进程的数据库连接数 (default 10)",
    )

    seed = commands.add_parser("seed-demo", help="demo district, users and history 演示数据")
    _add_storage_args(seed)

    export = commands.add_parser("export", help="cases as CSV 导出案件")
    _add_storage_args(export)
    export.add_argument("--out", type=Path, help="file to write (default: standard output)")
    export.add_argument("--district")
    export.add_argument("--squad")
    export.add_argument("--since", type=_parse_day, help="first day (bureau-local), YYYY-MM-DD")
    export.add_argument("--until", type=_parse_day, help="last day (bureau-local), YYYY-MM-DD")
    export.add_argument("--all-versions", action="store_true", help="every version, not only the latest")

    add_user = commands.add_parser("add-user", help="add or update a user 添加用户")
    _add_storage_args(add_user)
    add_user.add_argument("--badge", required=True)
    add_user.add_argument("--name", required=True)
    add_user.add_argument("--squad", required=True, help="squad code, e.g. ZD01")
    add_user.add_argument("--role", choices=[r.value for r in Role], default=Role.OFFICER.value)
    add_user.add_argument("--pin", help="the PIN (prompted when omitted)")

    report = commands.add_parser("report", help="a squad's day log 中队巡查日志 (PDF/CSV)")
    _add_storage_args(report)
    report.add_argument("--squad", required=True, help="squad code, e.g. ZD01")
    report.add_argument("--day", type=_parse_day, help="bureau-local day, YYYY-MM-DD (default today)")
    report.add_argument("--format", choices=("pdf", "csv"), default="pdf")
    report.add_argument("--out", type=Path, help="file to write (CSV: default standard output)")

    verify = commands.add_parser("verify", help="check the audit log's hash chain 校验审计日志")
    _add_storage_args(verify)
    add_policy_parser(commands, _add_storage_args)
    return parser


# ------------------------------------------------------------------------------------------ commands


def cmd_init(args: argparse.Namespace, out: TextIO) -> int:
    storage = _open(args)
    storage.close()
    print(f"数据库已就绪 / database ready: {_storage_url(args)}", file=out)
    return 0


def cmd_serve(args: argparse.Namespace, out: TextIO) -> int:
    import uvicorn  # the server only where one is started (not for the other commands)

    _check_serve_options(args)
    settings = settings_from_env()  # a bad STREETPATROL_* value is one clear error, before any worker
    url = _storage_url(args)
    storage = _open_serving(url, args.pool_size, create=True)  # the schema, once, before any worker
    workers = f", {args.workers} 个工作进程 / workers" if args.workers > 1 else ""
    print(f"指挥中心服务 / HQ service: http://{args.host}:{args.port}{workers}", file=out)
    if args.workers > 1:
        storage.close()
        os.environ[SERVE_STORAGE_ENV] = url
        os.environ[SERVE_BLOBS_ENV] = str(Path(args.blobs).resolve())
        os.environ[SERVE_POOL_ENV] = str(args.pool_size or "")
        # argon2 memory stays bounded by the cores, not by cores x workers: each worker gets its share
        os.environ.setdefault(PIN_CONCURRENT_ENV, str(max(1, (os.cpu_count() or 2) // args.workers)))
        uvicorn.run(
            "hq.cli:worker_app",
            factory=True,
            host=args.host,
            port=args.port,
            workers=args.workers,
            log_level="info",
        )
        return 0
    app = create_app(storage, FilesystemBlobStore(args.blobs), settings)
    try:
        uvicorn.run(app, host=args.host, port=args.port, log_level="info")
    finally:
        storage.close()
    return 0


def cmd_seed_demo(args: argparse.Namespace, out: TextIO) -> int:
    storage = _open(args)
    try:
        summary = seed_demo(storage, settings_from_env(), catalogue=load_catalogue())
    finally:
        storage.close()
    print(demo_text(summary, load_catalogue()), file=out)
    return 0


def cmd_export(args: argparse.Namespace, out: TextIO) -> int:
    storage = _open(args)
    try:
        options = {
            "district": args.district,
            "squad_code": args.squad,
            "since": args.since,
            "until": args.until,
            "latest_only": not args.all_versions,
        }
        if args.out:
            # utf-8-sig: spreadsheet programs then read the Chinese text correctly
            with open(args.out, "w", encoding="utf-8-sig", newline="") as handle:
                count = write_cases_csv(storage, handle, **options)
            print(f"已导出 {count} 条案件 / exported {count} cases → {args.out}", file=out)
        else:
            write_cases_csv(storage, out, **options)
    finally:
        storage.close()
    return 0


def cmd_add_user(args: argparse.Namespace, out: TextIO) -> int:
    pin = args.pin or getpass.getpass("PIN: ")
    if len(pin) < 4 or not pin.isdigit():
        raise CliError("the PIN must be at least 4 digits", zh="密码须为至少4位数字", field="pin")
    storage = _open(args)
    try:
        with storage.transaction() as tx:
            squad = tx.get_squad(args.squad)
            if squad is None:
                raise CliError(f"unknown squad {args.squad}", zh=f"中队“{args.squad}”不存在", field="squad")
            officer = Officer(args.badge, args.name, squad.code, squad.name, squad.district, Role(args.role))
            tx.put_user(
                UserRow(officer=officer, pin_hash=PinHasher(settings_from_env().pin_hashing).hash(pin))
            )
            tx.audit("cli", "user_saved", target=args.badge, detail={"role": args.role, "squad": squad.code})
    finally:
        storage.close()
    print(f"用户已保存 / user saved: {args.badge} {args.name} ({args.role}, {args.squad})", file=out)
    return 0


def cmd_report(args: argparse.Namespace, out: TextIO) -> int:
    if args.format == "pdf" and args.out is None:
        raise CliError("a PDF needs --out FILE", zh="生成 PDF 须指定 --out 输出文件", field="out")
    day = check_day(args.day or settings_from_env().clock().astimezone(LOCAL_TZ).date())
    storage = _open(args)
    try:
        with storage.transaction(readonly=True) as tx:
            if tx.get_squad(args.squad) is None:
                raise CliError(f"unknown squad {args.squad}", zh=f"中队“{args.squad}”不存在", field="squad")
            log = load_daylog(tx, args.squad, day, load_catalogue())
    finally:
        storage.close()
    if args.format == "csv" and args.out is None:
        out.write(daylog_csv(log))
        return 0
    if args.format == "csv":
        args.out.write_text(CSV_BOM + daylog_csv(log), encoding="utf-8", newline="")
    else:
        args.out.write_bytes(daylog_pdf(log))
    print(f"已生成 / written: {args.out}（{log.summary_line}）", file=out)
    return 0


def cmd_verify(args: argparse.Namespace, out: TextIO) -> int:
    storage = _open(args)
    try:
        problems = verify(storage)
        events = sum(1 for _ in iter_all_audit(storage)) if not problems else 0
    finally:
        storage.close()
    for problem in problems:
        print(f"{problem.kind.value}\t#{problem.seq}\t{problem.message}", file=out)
    if problems:
        print(f"审计日志有 {len(problems)} 处问题 / audit log: {len(problems)} problem(s)", file=out)
        return 1
    print(f"审计日志完好 / audit log intact: {events} events", file=out)
    return 0


COMMANDS = {
    "init": cmd_init,
    "serve": cmd_serve,
    "seed-demo": cmd_seed_demo,
    "export": cmd_export,
    "add-user": cmd_add_user,
    "report": cmd_report,
    "verify": cmd_verify,
    "policy": lambda args, out: cmd_policy(args, out, _open),
}


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args, out)
    except LocalizedError as exc:
        print(f"错误：{exc.zh}\nerror: {exc.en}", file=sys.stderr)
        return 1


def run_to_string(argv: Sequence[str]) -> tuple[int, str]:
    """Run the CLI and capture what it prints (for tests and scripts)."""
    buffer = io.StringIO()
    code = main(argv, buffer)
    return code, buffer.getvalue()


if __name__ == "__main__":
    sys.exit(main())
