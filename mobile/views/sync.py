"""Sync: the running sync's step and progress (records and bytes), what waits, parked records, retry."""

from __future__ import annotations

from typing import Any

import flet as ft

from mobile.i18n import human_bytes
from mobile.theme import TOUCH
from mobile.views.common import Host, big_button, day_time, plain_button, screen_column, title


class SyncView:
    def __init__(self, shell: Host) -> None:
        self.shell = shell
        self.app = shell.app

    def build(self) -> ft.Control:
        s = self.shell
        status = self.app.sync.status
        pending = self.app.sync.pending()
        step = s.t(f"sync.step.{status.step}") if status.step != "idle" else s.t("sync.idle")
        parts: list[ft.Control] = [
            title(s.t("sync.title")),
            ft.Text(
                (s.t("status.online") if status.online else s.t("status.offline"))
                if status.online is not None
                else s.t("status.never_synced"),
                size=16,
            ),
            ft.Text(step, size=18, weight=ft.FontWeight.BOLD, key="sync_step"),
            ft.ProgressBar(
                value=_ratio(status.records_done, status.records_total)
                if status.syncing
                else None
                if status.syncing
                else 0
            ),
            ft.Text(
                s.t(
                    "sync.progress",
                    records_done=status.records_done,
                    records_total=status.records_total,
                    bytes_done=human_bytes(s.lang, status.bytes_done),
                    bytes_total=human_bytes(s.lang, status.bytes_total),
                ),
                size=14,
            ),
            ft.ProgressBar(value=_ratio(status.bytes_done, status.bytes_total)),
            ft.Text(
                s.t(
                    "sync.pending",
                    records=pending.records,
                    record_bytes=human_bytes(s.lang, pending.record_bytes),
                    photos=pending.photos,
                    photo_bytes=human_bytes(s.lang, pending.photo_bytes),
                ),
                size=16,
                key="sync_pending",
            ),
        ]
        if status.last_success is not None:
            parts.append(ft.Text(s.t("status.last_sync", when=day_time(status.last_success)), size=14))
        if status.error(s.lang):
            parts.append(
                ft.Text(s.t("sync.last_error", message=status.error(s.lang)), color=ft.Colors.ERROR, size=14)
            )
        if status.needs_sign_in:
            parts.append(ft.Text(s.t("sync.needs_sign_in"), color=ft.Colors.ERROR, size=16))
        report = status.last_report
        if report is not None and getattr(report, "error", None) is None:
            parts.append(
                ft.Text(
                    s.t(
                        "sync.report",
                        pushed=report.pushed,
                        photos=report.photos_uploaded,
                        pulled=report.changes_applied,
                    ),
                    size=14,
                )
            )
        parts.append(ft.Row([big_button(s.t("sync.now"), self.sync_now, icon=ft.Icons.SYNC)]))
        parked = self.app.sync.parked()
        parts.append(ft.Text(s.t("sync.parked"), size=18, weight=ft.FontWeight.BOLD))
        if not parked:
            parts.append(ft.Text(s.t("sync.parked.none"), size=14))
        for entry in parked:
            parts.append(
                ft.ListTile(
                    leading=ft.Icon(ft.Icons.PAUSE_CIRCLE, color=ft.Colors.ERROR),
                    title=ft.Text(entry.title(s.lang), size=15, key=f"parked_{entry.seq}"),
                    subtitle=ft.Text(entry.reason(s.lang), size=14),
                    trailing=ft.TextButton(
                        s.t("sync.retry"), on_click=lambda e, seq=entry.seq: self.retry(seq), height=TOUCH
                    ),
                )
            )
        if len(parked) > 1:
            parts.append(ft.Row([plain_button(s.t("sync.retry_all"), self.retry_all, icon=ft.Icons.REPLAY)]))
        return screen_column(parts, spacing=10)

    def sync_now(self, e: Any = None) -> None:
        self.app.sync.sync_now()
        self.shell.render()

    def retry(self, seq: int) -> None:
        self.app.sync.retry(seq)
        self.shell.render()

    def retry_all(self, e: Any = None) -> None:
        self.app.sync.retry(None)
        self.shell.render()


def _ratio(done: int, total: int) -> float:
    return min(1.0, done / total) if total else 0.0
