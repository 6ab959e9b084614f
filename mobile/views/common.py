"""Small pieces several screens share: stage chips, violation icons, dates, the sync-state badge."""

from __future__ import annotations

from datetime import datetime

import flet as ft

from enforcement.model import LOCAL_TZ, Stage, SyncState
from enforcement.staging import stage_name
from enforcement.text import Lang
from mobile.i18n import t
from mobile.theme import SYNC_COLOURS, SYNC_ICONS, icon, stage_chip


def chip(stage: Stage, lang: Lang, *, large: bool = False) -> ft.Container:
    return stage_chip(stage_name(stage, lang), stage, large=large)


def violation_icon(name: str, size: int = 32) -> ft.Icon:
    return ft.Icon(icon(name), size=size)


def sync_badge(state: SyncState, lang: Lang) -> ft.Row:
    colour = SYNC_COLOURS[state]
    return ft.Row(
        [
            ft.Icon(SYNC_ICONS[state], color=colour, size=18),
            ft.Text(t(lang, f"sync_state.{state.value}"), color=colour),
        ],
        spacing=4,
        tight=True,
    )


def clock_time(moment: datetime) -> str:
    return moment.astimezone(LOCAL_TZ).strftime("%H:%M")


def day_time(moment: datetime) -> str:
    return moment.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M")
