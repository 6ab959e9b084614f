"""``streetpatrol-hq``: run and administer the HQ service.

    streetpatrol-hq init      --db hq.sqlite3 | --pg postgresql://…      create the schema
    streetpatrol-hq serve     --db … | --pg …  --blobs DIR|s3://BUCKET/PREFIX [--host 127.0.0.1] [--port 8080]
                              [--workers N] [--pool-size N (PostgreSQL connections per worker)]
                              [--tls-cert FILE --tls-key FILE] [--trusted-proxy ADDR ...]
    streetpatrol-hq seed-demo --db … | --pg …                             demo district, users and history
    streetpatrol-hq export    --db … | --pg …  [--out cases.csv] [--district 金水区] [--since 2025-01-01]
    streetpatrol-hq add-user  --db … --badge J2001 --name 王芳 --squad ZD01 [--role officer] (PIN prompted)
    streetpatrol-hq report    --db … | --pg …  --squad ZD01 [--day 2026-11-22] [--format pdf|csv] [--out F]
    streetpatrol-hq verify    --db … | --pg …  [--expect SEQ:HASH …]      audit chain check (exit 1: broken,
                                                                          or a published head not in it)
    streetpatrol-hq audit-head --db … | --pg … [--json]                   the audit head to publish
    streetpatrol-hq disable-user --db … | --pg … BADGE                    block a user, revoke their tokens
    streetpatrol-hq enable-user  --db … | --pg … BADGE                    let them sign in again
    streetpatrol-hq enable-device --db … | --pg … DEVICE_ID [--badge B]   lift a device's revocation
    streetpatrol-hq zones import FILE.geojson --db … | --pg …            zones as a new version (hq.cli.zones)
    streetpatrol-hq zones export [--out F] --db … | --pg …               the current zones (GeoJSON, WGS84)
    streetpatrol-hq notice-books series|assign|list …                    notice books (hq.cli.notices)
    streetpatrol-hq policy show|set …                                     staged rule's policy (hq.cli.policy)
    streetpatrol-hq rebuild-aggregates --db … | --pg …                   recount the kept figures (hq.tally)

Messages are printed in Chinese and English; a failure exits with status 1 and one line saying why.

Without --db/--pg a command uses ``$STREETPATROL_PG`` (a DSN), else ``$STREETPATROL_DB`` (a file), else
``var/hq/hq.db`` (the database ``scripts/run`` makes and serves) in the working directory or the checkout,
where it exists; ``init`` makes a database only where it is told (an option or a variable). With none of
them, one error in Chinese and English names what was looked for.

``serve`` itself is ``hq.cli.serve``; which database a command opens, ``hq.cli.storage``.
"""

from __future__ import annotations

import argparse
import getpass
import io
import json
import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import TextIO

from enforcement.catalogue import load_catalogue
from enforcement.model import LOCAL_TZ, Officer, Role
from enforcement.text import LocalizedError
from hq.audit import GENESIS, MIN_PREFIX, current_head, format_head, parse_head, verify
from hq.auth import Auth, PinHasher
from hq.cli.notices import add_notice_commands, cmd_notice_books
from hq.cli.policy import add_policy_parser, cmd_policy
from hq.cli.serve import cmd_serve
from hq.cli.storage import CliError, add_storage_args, open_for, storage_url
from hq.cli.tally import cmd_rebuild_aggregates
from hq.cli.workorders import add_workorder_commands, cmd_partner, cmd_workorder
from hq.cli.zones import add_zone_commands, cmd_zones
from hq.daydata import load_daylog
from hq.demo import demo_text, seed_demo
from hq.export import write_cases_csv
from hq.review import check_day
from hq.settings import settings_from_env
from hq.storage.base import AuditHead, Storage, UserRow, iter_all_audit
from patrollog.csvlog import CSV_BOM, daylog_csv
from patrollog.pdf import daylog_pdf


def _parse_head(text: str) -> AuditHead:
    try:
        return parse_head(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def _parse_day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text}") from exc


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="streetpatrol-hq", description="StreetPatrol HQ 街巡指挥中心")
    commands = parser.add_subparsers(dest="command", required=True)

    init = commands.add_parser("init", help="create the database schema 创建数据库")
    add_storage_args(init)
    add_storage_args(
        commands.add_parser("rebuild-aggregates", help="recount the dashboard's figures 重算统计")
    )

    serve = commands.add_parser("serve", help="run the HTTP service 启动服务")
    add_storage_args(serve)
    serve.add_argument(
        "--blobs",
        required=True,
        help="photo files: a directory, or s3://bucket/prefix (shared by HQ nodes) 照片目录或对象存储",
    )
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8080)
    serve.add_argument("--workers", type=int, default=1, help="worker processes 工作进程数 (default 1)")
    serve.add_argument(
        "--pool-size",
        type=int,
        help="PostgreSQL connections per worker 每个进程的数据库连接数 (default 10)",
    )
    serve.add_argument("--tls-cert", type=Path, help="TLS certificate chain (PEM) 证书文件: serve https")
    serve.add_argument("--tls-key", type=Path, help="the certificate's private key (PEM) 私钥文件")
    serve.add_argument(
        "--trusted-proxy",
        action="append",
        default=[],
        metavar="ADDR",
        help="reverse proxy (address or network) whose X-Forwarded-* are believed 可信反向代理 (repeatable)",
    )

    seed = commands.add_parser("seed-demo", help="demo district, users and history 演示数据")
    add_storage_args(seed)

    export = commands.add_parser("export", help="cases as CSV 导出案件")
    add_storage_args(export)
    export.add_argument("--out", type=Path, help="file to write (default: standard output)")
    export.add_argument("--district")
    export.add_argument("--squad")
    export.add_argument("--since", type=_parse_day, help="first day (bureau-local), YYYY-MM-DD")
    export.add_argument("--until", type=_parse_day, help="last day (bureau-local), YYYY-MM-DD")
    export.add_argument("--all-versions", action="store_true", help="every version, not only the latest")

    add_user = commands.add_parser("add-user", help="add or update a user 添加用户")
    add_storage_args(add_user)
    add_user.add_argument("--badge", required=True)
    add_user.add_argument("--name", required=True)
    add_user.add_argument("--squad", required=True, help="squad code, e.g. ZD01")
    add_user.add_argument("--role", choices=[r.value for r in Role], default=Role.OFFICER.value)
    add_user.add_argument("--pin", help="the PIN (prompted when omitted)")

    report = commands.add_parser("report", help="a squad's day log 中队巡查日志 (PDF/CSV)")
    add_storage_args(report)
    report.add_argument("--squad", required=True, help="squad code, e.g. ZD01")
    report.add_argument("--day", type=_parse_day, help="bureau-local day, YYYY-MM-DD (default today)")
    report.add_argument("--format", choices=("pdf", "csv"), default="pdf")
    report.add_argument("--out", type=Path, help="file to write (CSV: default standard output)")

    verify = commands.add_parser("verify", help="check the audit log's hash chain 校验审计日志")
    add_storage_args(verify)
    verify.add_argument(
        "--expect",
        type=_parse_head,
        action="append",
        default=[],
        metavar="SEQ:HASH",
        help="a head published earlier (audit-head, a day-log PDF) that the log must still hold "
        "已发布的审计链头",
    )

    head = commands.add_parser("audit-head", help="the audit head to publish 审计链头（用于发布）")
    add_storage_args(head)
    head.add_argument("--json", action="store_true", help='machine-readable: {"seq", "hash", "expect"}')

    for name, text in (("disable-user", "停用用户（立即注销其全部登录）"), ("enable-user", "启用用户")):
        user = commands.add_parser(name, help=f"{name.replace('-', ' ')} {text}")
        add_storage_args(user)
        user.add_argument("badge")
    device = commands.add_parser("enable-device", help="re-enable a revoked device 重新启用已停用的设备")
    add_storage_args(device)
    device.add_argument("device_id")
    device.add_argument("--badge", help="only this badge on the device 仅启用该警号在此设备上的登录")
    add_zone_commands(commands, add_storage_args)
    add_notice_commands(commands, add_storage_args)
    add_policy_parser(commands, add_storage_args)
    add_workorder_commands(commands, add_storage_args)
    return parser


# ------------------------------------------------------------------------------------------ commands


def cmd_init(args: argparse.Namespace, out: TextIO) -> int:
    storage = open_for(args)
    storage.close()
    print(f"数据库已就绪 / database ready: {storage_url(args)}", file=out)
    return 0


def cmd_seed_demo(args: argparse.Namespace, out: TextIO) -> int:
    storage = open_for(args)
    try:
        summary = seed_demo(storage, settings_from_env(), catalogue=load_catalogue())
    finally:
        storage.close()
    print(demo_text(summary, load_catalogue()), file=out)
    return 0


def cmd_export(args: argparse.Namespace, out: TextIO) -> int:
    storage = open_for(args)
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


#: A phone keeps a verifier of the PIN for offline sign-in: fewer than 6 digits is too few guesses.
MIN_PIN_DIGITS = 6


def cmd_add_user(args: argparse.Namespace, out: TextIO) -> int:
    pin = args.pin or getpass.getpass("PIN: ")
    if len(pin) < MIN_PIN_DIGITS or not (pin.isascii() and pin.isdigit()):
        raise CliError(
            f"the PIN must be at least {MIN_PIN_DIGITS} digits (0-9); nothing was saved",
            zh=f"密码须为至少{MIN_PIN_DIGITS}位数字（0-9），未保存任何内容",
            field="pin",
        )
    storage = open_for(args)
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
    storage = open_for(args)
    try:
        with storage.transaction(readonly=True) as tx:
            if tx.get_squad(args.squad) is None:
                raise CliError(f"unknown squad {args.squad}", zh=f"中队“{args.squad}”不存在", field="squad")
            log = load_daylog(tx, args.squad, day, load_catalogue())
            head = tx.audit_head() or AuditHead(0, GENESIS)  # the PDF carries it (hq.audit)
    finally:
        storage.close()
    if args.format == "csv" and args.out is None:
        out.write(daylog_csv(log))
        return 0
    if args.format == "csv":
        args.out.write_text(CSV_BOM + daylog_csv(log), encoding="utf-8", newline="")
    else:
        args.out.write_bytes(daylog_pdf(log, audit_head=(head.seq, head.hash)))
    print(f"已生成 / written: {args.out}（{log.summary_line}）", file=out)
    return 0


def cmd_verify(args: argparse.Namespace, out: TextIO) -> int:
    storage = open_for(args)
    try:
        problems = verify(storage, args.expect)
        events = sum(1 for _ in iter_all_audit(storage)) if not problems else 0
    finally:
        storage.close()
    for problem in problems:
        print(f"{problem.kind.value}\t#{problem.seq}\t{problem.message}", file=out)
        if problem.message_zh:
            print(f"\t#{problem.seq}\t{problem.message_zh}", file=out)
    if problems:
        print(f"审计日志有 {len(problems)} 处问题 / audit log: {len(problems)} problem(s)", file=out)
        return 1
    print(f"审计日志完好 / audit log intact: {events} events", file=out)
    for published in args.expect:
        print(f"含已发布的链头 / holds the published head {published.seq}:{published.hash}", file=out)
    return 0


def cmd_audit_head(args: argparse.Namespace, out: TextIO) -> int:
    """The head to publish (after a full check: a damaged log's head is not worth publishing)."""
    storage = open_for(args)
    try:
        problems = verify(storage)
        head = current_head(storage)
    finally:
        storage.close()
    if problems:
        raise CliError(
            f"the audit log has {len(problems)} problem(s) (run verify); no head to publish",
            zh=f"审计日志有 {len(problems)} 处问题（请运行 verify），不发布链头",
        )
    if args.json:
        print(json.dumps({"seq": head.seq, "hash": head.hash, "expect": format_head(head)}), file=out)
    else:
        print(f"审计链头 / audit head: {format_head(head)}", file=out)
        print(
            f"发布后可用 verify --expect {head.seq}:{head.hash[:MIN_PREFIX]} 校验 / "
            f"check later with verify --expect {format_head(head)}",
            file=out,
        )
    return 0


def _auth(storage: Storage) -> Auth:
    """HQ's checks (``hq.auth.Auth``) over the CLI's storage; an unknown badge or device is its
    ``ApiError`` (a ``LocalizedError``: one line, exit 1)."""
    return Auth(storage, settings_from_env())


def _user_active(args: argparse.Namespace, out: TextIO, active: bool) -> int:
    storage = open_for(args)
    try:
        revoked = _auth(storage).set_user_active("cli", args.badge, active)
    finally:
        storage.close()
    if active:
        print(f"用户已启用 / user enabled: {args.badge}", file=out)
    else:
        print(f"用户已停用，注销 {revoked} 个登录 / user disabled, {revoked} token(s) revoked: {args.badge}",
              file=out)  # fmt: skip
    return 0


def cmd_disable_user(args: argparse.Namespace, out: TextIO) -> int:
    return _user_active(args, out, False)


def cmd_enable_user(args: argparse.Namespace, out: TextIO) -> int:
    return _user_active(args, out, True)


def cmd_enable_device(args: argparse.Namespace, out: TextIO) -> int:
    storage = open_for(args)
    try:
        _auth(storage).enable_device("cli", args.device_id, args.badge)
    finally:
        storage.close()
    print(f"设备已重新启用 / device enabled: {args.device_id}", file=out)
    return 0


COMMANDS = {
    "init": cmd_init,
    "serve": cmd_serve,
    "seed-demo": cmd_seed_demo,
    "export": cmd_export,
    "add-user": cmd_add_user,
    "report": cmd_report,
    "verify": cmd_verify,
    "audit-head": cmd_audit_head,
    "disable-user": cmd_disable_user,
    "enable-user": cmd_enable_user,
    "enable-device": cmd_enable_device,
    "zones": lambda args, out: cmd_zones(args, out, open_for),
    "notice-books": lambda args, out: cmd_notice_books(args, out, open_for),
    "policy": lambda args, out: cmd_policy(args, out, open_for),
    "partner": lambda args, out: cmd_partner(args, out, open_for),
    "workorder": lambda args, out: cmd_workorder(args, out, open_for),
    "rebuild-aggregates": lambda args, out: cmd_rebuild_aggregates(args, out, open_for),
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
