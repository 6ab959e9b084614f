"""Which database an ``streetpatrol-hq`` command opens, and the error every command reports in.

``--pg DSN`` or ``--db FILE`` (one of them, ``add_storage_args``); without either, ``$STREETPATROL_PG`` (a
DSN), else ``$STREETPATROL_DB`` (a file), else ``var/hq/hq.db`` (the database ``scripts/run`` makes and
serves) in the working directory or the checkout, where it exists. ``init`` makes a database only where
it is told. ``--pg`` and ``$STREETPATROL_PG`` take only a PostgreSQL DSN (a URL or a libpq conninfo), never a
file name. Every failure is a ``CliError``: one line in Chinese and English.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from enforcement.text import LocalizedError
from hq.storage import is_postgres, open_storage
from hq.storage.base import Storage

__all__ = [
    "DB_ENV",
    "DEFAULT_DB",
    "PG_ENV",
    "CliError",
    "add_storage_args",
    "default_db_paths",
    "open_for",
    "storage_url",
]


class CliError(LocalizedError):
    code = "cli"


#: The database ``scripts/run`` makes and serves (relative to the working directory, then to the checkout).
DEFAULT_DB = Path("var/hq") / "hq.db"
#: Environment variables naming the database when neither --db nor --pg is given.
DB_ENV = "STREETPATROL_DB"
PG_ENV = "STREETPATROL_PG"


def default_db_paths() -> tuple[Path, ...]:
    """Where a command without --db/--pg looks for HQ's database: ``var/hq/hq.db`` in the working
    directory, then in the checkout this module belongs to (``scripts/run``'s database)."""
    here = Path.cwd() / DEFAULT_DB
    checkout = Path(__file__).resolve().parents[2] / DEFAULT_DB
    return (here,) if here == checkout else (here, checkout)


def _postgres_url(url: str, where: str) -> str:
    """``url`` when it names a PostgreSQL database; never taken for a SQLite file name."""
    if not is_postgres(url):
        raise CliError(
            f"{where} is not a PostgreSQL DSN (postgresql://… or 'host=… dbname=…'): {url[:80]}",
            zh=f"{where} 不是 PostgreSQL 连接串（应为 postgresql://… 或 'host=… dbname=…'）：{url[:80]}",
            field="pg",
        )
    return url


def storage_url(args: argparse.Namespace) -> str:
    """The database of a command: --pg, --db, then $STREETPATROL_PG, $STREETPATROL_DB, then
    ``var/hq/hq.db`` where it exists (not for ``init``, which makes a database where it is told)."""
    if args.pg:
        return _postgres_url(str(args.pg), "--pg")
    if args.db:
        return str(args.db)
    if os.environ.get(PG_ENV):
        return _postgres_url(os.environ[PG_ENV], f"${PG_ENV}")
    creating = getattr(args, "command", "") == "init"
    if os.environ.get(DB_ENV):
        path = Path(os.environ[DB_ENV])
        if not creating and not path.is_file():
            raise CliError(
                f"${DB_ENV} names {path}, which does not exist (run init, or give --db / --pg)",
                zh=f"环境变量 {DB_ENV} 指定的数据库 {path} 不存在（请先 init，或指定 --db / --pg）",
                field="db",
            )
        return str(path)
    if not creating:
        for path in default_db_paths():
            if path.is_file():
                return str(path)
    tried = [str(p) for p in default_db_paths()]
    raise CliError(
        f"give --db PATH or --pg DSN (or set ${DB_ENV} / ${PG_ENV}); no database at {' or '.join(tried)}"
        + ("" if creating else " (bash scripts/run makes it)"),
        zh=f"请指定 --db 数据库文件 或 --pg 连接串（或设置环境变量 {DB_ENV} / {PG_ENV}）；"
        f"未找到默认数据库 {'、'.join(tried)}" + ("" if creating else "（bash scripts/run 会创建）"),
        field="db",
    )


def open_for(args: argparse.Namespace) -> Storage:
    return open_storage(storage_url(args), create=True)


def add_storage_args(parser: argparse.ArgumentParser) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        "--db",
        type=Path,
        help=f"SQLite database file (default: ${DB_ENV}, else {DEFAULT_DB} where it exists) 数据库文件",
    )
    group.add_argument("--pg", help=f"PostgreSQL DSN (postgresql://…; default: ${PG_ENV}) 连接串")
