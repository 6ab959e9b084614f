"""``streetpatrol-hq zones import FILE.geojson`` / ``zones export [--out FILE]`` (wired by ``hq.cli.main``).

Import prints the new version and what changed, or every bad feature by index in Chinese and English
(exit 1; nothing imported). Export writes the current set as GeoJSON (WGS84, RFC 7946)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from enforcement.text import LocalizedError
from enforcement.zones import MAX_FILE_BYTES
from hq.storage.base import Storage
from hq.zones import ZonesRefused, export_bytes, import_zones


class ZoneCliError(LocalizedError):
    code = "zones_cli"


def add_zone_commands(commands: Any, add_storage_args: Callable[[argparse.ArgumentParser], None]) -> None:
    zones = commands.add_parser("zones", help="import / export zones (GeoJSON, WGS84) 区域导入导出")
    actions = zones.add_subparsers(dest="zones_command", required=True)
    imp = actions.add_parser("import", help="import a GeoJSON FeatureCollection as a new version 导入")
    add_storage_args(imp)
    imp.add_argument("file", type=Path)
    imp.add_argument("--by", default="cli", help="who imports (audit log) 导入人")
    exp = actions.add_parser("export", help="the current zone set as GeoJSON 导出")
    add_storage_args(exp)
    exp.add_argument("--out", type=Path, help="file to write (default: standard output)")


def cmd_zones(
    args: argparse.Namespace, out: TextIO, open_storage: Callable[[argparse.Namespace], Storage]
) -> int:
    if args.zones_command == "import":
        try:
            size = args.file.stat().st_size
        except OSError as exc:
            raise ZoneCliError(
                f"cannot read {args.file}: {exc.strerror}", zh=f"无法读取 {args.file}"
            ) from None
        if size > MAX_FILE_BYTES:
            raise ZoneCliError(
                f"{args.file} is larger than {MAX_FILE_BYTES // 2**20} MB",
                zh=f"{args.file} 超过 {MAX_FILE_BYTES // 2**20} MB",
            )
        data = args.file.read_bytes()
        storage = open_storage(args)
        try:
            result = import_zones(storage, data, by=args.by, at=datetime.now(UTC))
        except ZonesRefused as exc:
            print(f"错误：区域文件有 {len(exc.problems)} 处错误，未导入任何内容", file=sys.stderr)
            print(
                f"error: {len(exc.problems)} problem(s) in the zone file, nothing imported", file=sys.stderr
            )
            for problem in exc.problems:
                print(f"  {problem.message('zh')} | {problem.message('en')}", file=sys.stderr)
            return 1
        finally:
            storage.close()
        print(
            f"区域版本 {result.version}：{result.features} 个要素"
            f"（新增 {result.added}，修改 {result.changed}，删除 {result.removed}）\n"
            f"zone version {result.version}: {result.features} features "
            f"({result.added} added, {result.changed} changed, {result.removed} removed)",
            file=out,
        )
        return 0
    storage = open_storage(args)
    try:
        data = export_bytes(storage)
    finally:
        storage.close()
    if args.out:
        args.out.write_bytes(data)
    else:
        print(data.decode("utf-8"), file=out)
    return 0
