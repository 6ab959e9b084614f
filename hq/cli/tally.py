"""``streetpatrol-hq rebuild-aggregates`` (``hq.cli.main`` wires it): empty the aggregates and count every
case again (``hq.tally.rebuild``, one transaction), then print what they hold. Run it after restoring a
backup, after editing cases behind HQ's back, or to check the kept figures (it prints the figures before
and after: equal unless something went wrong)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TextIO

from hq import tally
from hq.storage.base import Storage


def cmd_rebuild_aggregates(
    args: argparse.Namespace, out: TextIO, open_storage: Callable[[argparse.Namespace], Storage]
) -> int:
    storage = open_storage(args)
    try:
        with storage.transaction(readonly=True) as tx:
            before = tally.comparable(tally.kept(tx))
        counted = tally.rebuild(storage)
        after = tally.comparable(counted)
    finally:
        storage.close()
    cases = sum(counted.figures.cases.values())
    same = "与重算前一致 / unchanged" if before == after else "已更正 / corrected"
    print(
        f"已重算统计：{cases} 起计入案件，{len(counted.subjects)} 个当事人（{same}）\n"
        f"aggregates rebuilt: {cases} counted cases, {len(counted.subjects)} subjects",
        file=out,
    )
    return 0
