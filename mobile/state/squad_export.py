"""The squad's daily patrol log (中队巡查日志) as files on the phone: PDF and CSV of the shown day.

Made offline from the phone's store (``SquadState.daylog``) with ``patrollog.pdf`` / ``patrollog.csvlog``
and written into the app's data directory (``<data dir>/exports``), atomically: a half-written file never
replaces a good one. The bytes are returned too, so a view can offer them for download (web) or sharing.
A directory that cannot be written raises ``ExportError`` naming ``export_dir``; nothing in the store is
touched by an export, so nothing is lost.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from mobile.state.errors import AppStateError, localized
from mobile.state.squad import SquadState
from patrollog.csvlog import CSV_BOM, daylog_csv
from patrollog.daylog import DayLog

Format = Literal["pdf", "csv"]
MEDIA_TYPES: dict[Format, str] = {"pdf": "application/pdf", "csv": "text/csv"}


class ExportError(AppStateError):
    code = "export"


@dataclass(frozen=True, slots=True)
class Exported:
    path: Path
    data: bytes
    format: Format

    @property
    def filename(self) -> str:
        return self.path.name

    @property
    def media_type(self) -> str:
        return MEDIA_TYPES[self.format]


def filename(log: DayLog, fmt: Format) -> str:
    """E.g. ``daylog-ZD01-2026-11-22.pdf`` (ASCII: safe on every phone file system and in downloads)."""
    return f"daylog-{log.squad_code}-{log.day.isoformat()}.{fmt}"


def render(log: DayLog, fmt: Format, *, font_path: Path | str | None = None) -> bytes:
    """The file's bytes; ``font_path`` None: the font shipped with the app."""
    if fmt == "pdf":
        # imported on first use: fpdf2 adds ~0.4 s to every start of the app otherwise
        from patrollog.pdf import DEFAULT_FONT, daylog_pdf

        return daylog_pdf(log, font_path=font_path or DEFAULT_FONT)
    return (CSV_BOM + daylog_csv(log)).encode("utf-8")  # the BOM makes spreadsheet programs read UTF-8


def write_atomic(directory: Path, name: str, data: bytes) -> Path:
    """Write ``data`` to ``directory/name`` through a temporary file and a rename."""
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / name
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.", dir=directory)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return target


class DayLogExport:
    """Exports the shown day of ``squad`` into ``directory``."""

    def __init__(self, squad: SquadState, directory: Path, *, font_path: Path | str | None = None) -> None:
        self._squad = squad
        self.directory = Path(directory)
        self._font_path = font_path

    def export(self, fmt: Format) -> Exported:
        """Render the shown day's log as ``fmt`` and write it; raises ExportError if it cannot be written
        (the directory is not writable, the disk is full...)."""
        if fmt not in MEDIA_TYPES:
            raise localized(
                ExportError, "squad.export_format", field="format", code="export_format", format=fmt
            )
        log = self._squad.daylog()
        data = render(log, fmt, font_path=self._font_path)
        try:
            path = write_atomic(self.directory, filename(log, fmt), data)
        except OSError as exc:
            raise localized(
                ExportError,
                "squad.export_failed",
                field="export_dir",
                code="export_failed",
                path=str(self.directory),
            ) from exc
        return Exported(path, data, fmt)
