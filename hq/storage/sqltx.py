"""The SQL transaction object both backends hand out, and how they read a database's epoch at open."""

from __future__ import annotations

from typing import Any

from hq.storage.base import StorageError
from hq.storage.migrations import check_version
from hq.storage.sql_batch import BatchMixin
from hq.storage.sql_notices import NoticesMixin
from hq.storage.sql_people import PeopleMixin
from hq.storage.sql_queue import QueueMixin
from hq.storage.sql_subjects import SubjectLinksMixin
from hq.storage.sql_tally import TallyMixin
from hq.storage.sql_workorders import WorkOrdersMixin
from hq.storage.sql_zones import ZonesMixin
from hq.storage.sqlcore import Dialect


class SqlTx(
    PeopleMixin,
    BatchMixin,
    ZonesMixin,
    WorkOrdersMixin,
    TallyMixin,
    SubjectLinksMixin,
    NoticesMixin,
    QueueMixin,
):
    """``hq.storage.base.Tx`` over one SQL connection inside one database transaction."""

    def __init__(self, conn: Any, dialect: Dialect, *, epoch: str, readonly: bool) -> None:
        super().__init__(conn, dialect, epoch=epoch, readonly=readonly)
        self._init_feed()

    @property
    def spill_rows(self) -> int:
        return self.d.spill_rows


def read_epoch(conn: Any, dialect: Dialect) -> str:
    """This database's cursor epoch, after checking its schema version (``migrations.check_version``):
    ``StorageError`` when the schema was never created or is older than this code (run ``init``),
    ``SchemaTooNew`` when it is newer."""
    check_version(conn, dialect)
    row = dialect.execute(conn, "SELECT value FROM meta WHERE key = 'epoch'").fetchone()
    if row is None:
        raise StorageError(
            "the HQ database has no schema; run `streetpatrol-hq init`",
            zh="指挥中心数据库尚未初始化，请先运行 streetpatrol-hq init",
            field="storage",
        )
    return str(row[0])
