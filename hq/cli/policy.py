"""``streetpatrol-hq policy show`` / ``policy set FILE.json``: the staged rule's policy as data.

    streetpatrol-hq policy show --db … | --pg …  [--version N] [--history]
    streetpatrol-hq policy set  --db … | --pg …  FILE.json [--by BADGE]

``set`` checks the document (``enforcement.policy.parse_policy``: an error names the field, in Chinese and
English) and publishes it as the next version with who (``--by``, default ``cli``) and when, audited
(``policy_set``); phones get it on their next sync. Publishing restages no stored case (``hq.policy``).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from enforcement.model import LOCAL_TZ
from enforcement.policy import DEFAULT_POLICY, MAX_DOCUMENT_BYTES, describe, parse_policy
from enforcement.text import LocalizedError
from hq.policy import publish
from hq.settings import settings_from_env
from hq.storage.base import PolicyRow, Storage


class PolicyCliError(LocalizedError):
    code = "cli"


def add_policy_parser(
    commands: Any, storage_args: Callable[[argparse.ArgumentParser], None]
) -> argparse.ArgumentParser:
    policy = commands.add_parser("policy", help="the staged rule's policy 执法计次政策 (show / set)")
    actions = policy.add_subparsers(dest="policy_command", required=True)
    show = actions.add_parser("show", help="the policy in force 查看现行政策")
    storage_args(show)
    show.add_argument("--version", type=int, help="a published version 指定版本")
    show.add_argument("--history", action="store_true", help="every published version 历次版本")
    put = actions.add_parser("set", help="publish a new version 发布新版本")
    storage_args(put)
    put.add_argument("file", type=Path, help="the policy document (JSON)")
    put.add_argument("--by", default="cli", help="who publishes it (badge) 发布人")
    return policy


def _row_text(row: PolicyRow) -> str:
    when = row.created_at.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M")
    return f"第 {row.version} 版 / version {row.version}: {row.created_by} {when}"


def _read(path: Path) -> Any:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise PolicyCliError(
            f"cannot read {path}: {exc.strerror}", zh=f"无法读取文件 {path}", field="file"
        ) from exc
    if len(raw) > MAX_DOCUMENT_BYTES * 4:
        raise PolicyCliError(f"{path} is too large", zh=f"文件 {path} 过大", field="file")
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise PolicyCliError(
            f"{path} is not JSON: {exc}", zh=f"文件 {path} 不是有效的 JSON（UTF-8）", field="file"
        ) from exc


def cmd_policy(
    args: argparse.Namespace, out: TextIO, open_storage: Callable[[argparse.Namespace], Storage]
) -> int:
    if args.policy_command == "set":
        document = _read(args.file)
        parse_policy(document)  # refuse before opening the database
        storage = open_storage(args)
        try:
            with storage.transaction() as tx:
                published = publish(tx, document, by=str(args.by)[:32], at=settings_from_env().clock())
        finally:
            storage.close()
        print(f"已发布 / published: {_row_text(published)}", file=out)
        settings = parse_policy(published.document, published.version)
        for zh, en in zip(describe(settings, "zh"), describe(settings, "en"), strict=True):
            print(f"  {zh} / {en}", file=out)
        return 0
    storage = open_storage(args)
    try:
        with storage.transaction(readonly=True) as tx:
            row = tx.get_policy(args.version)
            history = tx.list_policies() if args.history else []
    finally:
        storage.close()
    if row is None and args.version:
        raise PolicyCliError(
            f"no policy version {args.version}", zh=f"没有第 {args.version} 版政策", field="version"
        )
    policy = parse_policy(row.document, row.version) if row is not None else DEFAULT_POLICY
    if row is not None:
        print(_row_text(row), file=out)
    for zh, en in zip(describe(policy, "zh"), describe(policy, "en"), strict=True):
        print(f"  {zh} / {en}", file=out)
    print(json.dumps(dict(policy.document), ensure_ascii=False, sort_keys=True, indent=2), file=out)
    if history:
        print("历次版本 / history:", file=out)
        for past in history:
            print(f"  {_row_text(past)}", file=out)
    return 0
