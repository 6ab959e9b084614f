"""What every screen may use, and the only view module a screen imports: ``Host`` (what a screen sees of
the shell that shows it), the buttons, fields, titles and radio sets, stage chips, violation icons and
labels, dates, the sync-state badge. Screens never import each other or the shell: the shell gets the
screen registry (``mobile.views.screens``) from ``mobile.app``."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Generic, Protocol, TypeVar

import flet as ft

from enforcement.catalogue import Catalogue
from enforcement.labels import subject_plate
from enforcement.model import LOCAL_TZ, Stage, SyncState
from enforcement.staging import stage_name
from enforcement.text import Lang
from mobile.i18n import t
from mobile.state.app_state import AppState
from mobile.state.today import NearbyStage
from mobile.theme import SYNC_COLOURS, SYNC_ICONS, TOUCH, icon, stage_chip


class Valued(Protocol):
    """A control whose ``value`` the officer changes in the browser (a field, a switch, a radio group)."""

    value: Any


V = TypeVar("V")
C = TypeVar("C", bound=Valued)

#: Long lists are shown a page at a time (a big squad's day has hundreds of cases).
PAGE = 50


class Screen(Protocol):
    def build(self) -> ft.Control: ...


class Host(Protocol):
    """What a screen uses of the shell that shows it (``mobile.views.shell.Shell``)."""

    app: AppState
    page: ft.Page | None
    version: str

    @property
    def lang(self) -> Lang: ...
    def t(self, key: str, **fields: Any) -> str: ...
    def error_text(self, exc: BaseException) -> str: ...
    def go(self, route: str, arg: str | None = None) -> None: ...
    def render(self) -> None: ...
    def update(self) -> None: ...
    def message(self, text: str) -> None: ...
    def apply_theme(self) -> None: ...
    def run_task(self, handler: Callable[..., Any], *args: Any) -> None: ...
    def guard_tree(self, root: Any) -> dict[int, ft.BaseControl]: ...


def violation_label(catalogue: Catalogue, code: str, lang: Lang) -> str:
    """The violation's name in the UI language (its code when the catalogue does not know it)."""
    return catalogue.label(code, lang)


def chip(stage: Stage, lang: Lang, *, large: bool = False) -> ft.Container:
    return stage_chip(stage_name(stage, lang), stage, large=large)


def violation_icon(name: str, size: int = 32) -> ft.Icon:
    return ft.Icon(icon(name), size=size)


def code_icon(catalogue: Catalogue, code: str, size: int = 32) -> ft.Icon:
    """The violation's icon, a generic one for a code this catalogue does not know (a case recorded under
    another catalogue version: the screen still opens)."""
    known = catalogue.violations.get(code)
    return violation_icon(known.icon if known is not None else "", size)


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


def subject_label(subject: Any, tr: Callable[..., str]) -> str:
    """A subject in one line (name, plate as written, phone, description), with the 困难户 tag once: not
    again when the description already says it (the demo's "困难户，已引导至疏导点")."""
    bits = [subject.name, subject_plate(subject), subject.phone, subject.description]
    label = " · ".join(b for b in bits if b) or tr("unknown")
    flag = tr("subject.hardship_flag")
    if subject.hardship and flag not in label:
        label += f" · {flag}"
    return label


def big_button(
    text: str, on_click: Any, *, icon: ft.IconData | None = None, key: str | None = None
) -> ft.Button:
    """A primary action: full width, tall enough for a gloved thumb."""
    return ft.FilledButton(
        text,
        icon=icon,
        on_click=on_click,
        height=TOUCH + 4,
        expand=True,
        key=key,
    )


def plain_button(
    text: str, on_click: Any, *, icon: ft.IconData | None = None, key: str | None = None
) -> ft.OutlinedButton:
    return ft.OutlinedButton(text, icon=icon, on_click=on_click, height=TOUCH, key=key)


def field(label: str, value: str = "", *, on_change: Any = None, **kwargs: Any) -> ft.TextField:
    """A text field with a visible label (also what the browser tests find it by)."""
    return ft.TextField(label=label, value=value, on_change=on_change, text_size=18, dense=False, **kwargs)


class Kept(Generic[V]):
    """What a control of a re-rendered screen holds (a switch's state, a radio choice, a field's text), kept
    here across renders: each render builds a new control from ``take()`` and hands it to ``show``; one
    control object is never put into two renders.

    Flet 1.0.5 reconciles a keyed screen rebuilt from new objects (``Shell.RECONCILED``): each new control
    takes the shown one's id and is what the browser's changes update from then on. A control object put
    into a second render is different: when the old tree is unmounted it leaves the session's index, the
    new tree does not put it back, and every change made to it in the browser afterwards is dropped (the
    second officer on a shared phone signed in with an empty PIN). ``take`` moves what the officer changed
    on the control shown (Flet sets its ``value`` from the browser) to ``value``; a value the screen set
    itself since (a PIN cleared after a failed sign-in) is not overwritten by the old control's."""

    def __init__(self, value: V) -> None:
        self.value = value
        self._shown: Any = None
        self._built: Any = value  # what the shown control was built with

    def take(self) -> V:
        """``value``, updated with what was changed on the control shown since it was built."""
        if self._shown is not None:
            now = self._shown.value
            if now != self._built:
                self.value = self._built = now
        return self.value

    def show(self, control: C) -> C:
        """``control`` (just built from ``take()``) is where the value is shown and changed from now on."""
        self._shown, self._built = control, control.value
        return control


class Typed(Kept[str]):
    """A text field's text, kept across renders (see ``Kept``)."""

    def __init__(self, value: str = "") -> None:
        super().__init__(value)

    def take(self) -> str:
        return super().take() or ""

    def field(self, label: str, **kwargs: Any) -> ft.TextField:
        """A new text field showing ``value`` (after ``take``), for this render."""
        return self.show(field(label, self.take(), **kwargs))


def screen_column(parts: list[ft.Control], *, spacing: int) -> ft.Column:
    """A screen's body: its parts top to bottom, stretched to the screen's width, scrolling when long."""
    return ft.Column(
        parts,
        spacing=spacing,
        scroll=ft.ScrollMode.AUTO,
        expand=True,
        horizontal_alignment=ft.CrossAxisAlignment.STRETCH,
    )


def clipped(text: str, *, lines: int = 1, **kwargs: Any) -> ft.Text:
    """Text of a list row that may hold a long name: at most ``lines`` lines, then an ellipsis (the full
    text is on the record's own screen)."""
    return ft.Text(text, max_lines=lines, overflow=ft.TextOverflow.ELLIPSIS, **kwargs)


def title(text: str) -> ft.Text:
    return ft.Text(text, size=22, weight=ft.FontWeight.BOLD)


def choice(
    label: str,
    value: str | Kept[str],
    options: list[tuple[str, str]],
    on_change: Any,
    *,
    key: str | None = None,
) -> ft.Column:
    """A labelled set of radio buttons (one tap, big targets; screen readers and browser tests see each
    option by its text). ``value`` as ``Kept``: the choice is kept there across renders."""
    group = ft.RadioGroup(
        content=ft.Row(
            [ft.Radio(value=k, label=text, height=TOUCH) for k, text in options], wrap=True, spacing=4
        ),
        value=value.take() if isinstance(value, Kept) else value,
        on_change=on_change,
        key=key,
    )
    if isinstance(value, Kept):
        value.show(group)
    return ft.Column([ft.Text(label, size=14), group], spacing=2)


def fault_card(text: Any, on_home: Any, *, reason: str = "") -> ft.Control:
    """The card shown in place of a screen that failed unexpectedly (never Flet's English overlay):
    what happened in the UI language, that nothing entered is lost, and the way back to 今日. ``text`` is
    the host's ``t``; ``reason``: the error's own words in the UI language, when it has them."""
    return ft.Column(
        [
            ft.Card(
                ft.Container(
                    ft.Column(
                        [
                            ft.Row(
                                [
                                    ft.Icon(ft.Icons.ERROR_OUTLINE, color=ft.Colors.ERROR, size=32),
                                    title(text("error.card.title")),
                                ],
                                spacing=8,
                            ),
                            ft.Text(text("error.card.body"), size=16),
                            ft.Text(
                                text("error.card.reason", reason=reason),
                                size=14,
                                visible=bool(reason),
                                key="fault_reason",
                            ),
                            ft.Row([big_button(text("error.card.home"), on_home, icon=ft.Icons.TODAY)]),
                        ],
                        spacing=12,
                    ),
                    padding=16,
                ),
                key="fault_card",
            )
        ],
        scroll=ft.ScrollMode.AUTO,
    )


def clock_banner(text: str) -> ft.Control:
    """The clock banner of 今日 and the wizard (``mobile.state.clock``): shown while the phone's clock is
    known to be wrong, hidden otherwise."""
    return ft.Container(
        ft.Row(
            [
                ft.Icon(ft.Icons.SCHEDULE, color=ft.Colors.ORANGE_900),
                ft.Text(text, size=15, color=ft.Colors.ORANGE_900, expand=True, key="clock_banner_text"),
            ]
        ),
        visible=bool(text),
        padding=10,
        border_radius=10,
        bgcolor=ft.Colors.ORANGE_50,
        border=ft.Border.all(1, ft.Colors.ORANGE_900),
        key="clock_banner",
    )


def nearby_buttons(
    shell: Host, found: list[NearbyStage], pick: Callable[[NearbyStage], None]
) -> list[ft.Control]:
    """One button per nearby subject (``老周煎饼 · 无照经营游商 · 3 天前 · 下次：警告``); a tap starts its
    case."""
    s = shell
    buttons: list[ft.Control] = []
    for n, near in enumerate(found):
        when = s.t("today.nearby.days_ago", n=near.days_ago) if near.days_ago else s.t("today.nearby.today")
        text = s.t(
            "today.nearby.line",
            who=near.who,
            violation=violation_label(shell.app.catalogue, near.violation_code, s.lang),
            when=when,
            stage=stage_name(near.next_stage, s.lang),
        )
        buttons.append(
            ft.TextButton(
                content=ft.Text(text, size=16),
                icon=ft.Icons.BOLT,
                on_click=lambda e, near=near: pick(near),
                style=ft.ButtonStyle(alignment=ft.Alignment.CENTER_LEFT),
                key=f"nearby_{n}",
            )
        )
    return buttons
