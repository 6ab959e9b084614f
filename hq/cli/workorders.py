"""``streetpatrol-hq partner add NAME`` (prints the Open311 api_key once; HQ keeps its SHA-256),
``partner list``, and ``workorder timers FILE.json`` (HQ's work-order timers as data,
``enforcement.workorders.parse_timers``)."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from hq.storage.base import Storage
from hq.workorders import WorkOrderRefused, add_partner, set_timers


def add_workorder_commands(
    commands: Any, add_storage_args: Callable[[argparse.ArgumentParser], None]
) -> None:
    partner = commands.add_parser("partner", help="Open311 partners 对接平台 (api_key)")
    sub = partner.add_subparsers(dest="partner_command", required=True)
    add = sub.add_parser("add", help="add a partner and print its api_key 添加并打印密钥")
    add_storage_args(add)
    add.add_argument("name")
    listing = sub.add_parser("list", help="list partners 列出对接平台")
    add_storage_args(listing)
    wo = commands.add_parser("workorder", help="work-order settings 工单设置")
    wsub = wo.add_subparsers(dest="workorder_command", required=True)
    timers = wsub.add_parser("timers", help="set the timers from a JSON file 设置时限")
    add_storage_args(timers)
    timers.add_argument("file", type=Path)


def cmd_partner(
    args: argparse.Namespace, out: TextIO, open_storage: Callable[[argparse.Namespace], Storage]
) -> int:
    storage = open_storage(args)
    try:
        if args.partner_command == "add":
            try:
                key = add_partner(storage, args.name, at=datetime.now(UTC))
            except WorkOrderRefused as err:
                print(f"错误：{err.zh}\nerror: {err.en}", file=out)
                return 1
            print(f"api_key（只显示这一次 / shown once）: {key}", file=out)
        else:
            with storage.transaction(readonly=True) as tx:
                for p in tx.list_partners():
                    print(
                        f"{p.name}\t{'active' if p.active else 'inactive'}\t{p.created_at.isoformat()}",
                        file=out,
                    )
    finally:
        storage.close()
    return 0


def cmd_workorder(
    args: argparse.Namespace, out: TextIO, open_storage: Callable[[argparse.Namespace], Storage]
) -> int:
    storage = open_storage(args)
    try:
        timers = set_timers(storage, json.loads(args.file.read_text("utf-8")), by="cli", at=datetime.now(UTC))
    finally:
        storage.close()
    print(json.dumps(timers.to_json(), ensure_ascii=False), file=out)
    return 0
