"""The app frame: which screen is shown, the bottom navigation, messages, and the way back to the page.

Screens are plain classes built from ``AppState``; each has ``build() -> ft.Control``. The shell gets the
route → screen registry (``mobile.views.screens.make_screen``) from ``mobile.app`` and imports no screen;
screens see the shell as ``mobile.views.common.Host``. The shell swaps the
shown screen's control tree into its body and pushes the change with ``page.update()``. Without a page (the
view tests) ``update`` does nothing, so screens are built and their handlers called directly.

State objects notify from the sync link's worker thread; the shell re-renders through ``page.run_task`` so
controls are only touched on the page's event loop.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

import flet as ft

from enforcement.text import Lang, LocalizedError
from mobile.i18n import t
from mobile.state.app_state import AppState
from mobile.theme import FONT_FAMILY, font_file, make_theme
from mobile.views.common import Screen

#: Screens reachable from the bottom bar, in its order.
TABS: tuple[tuple[str, str, ft.IconData], ...] = (
    ("today", "nav.today", ft.Icons.TODAY),
    ("subjects", "nav.subjects", ft.Icons.PEOPLE),
    ("sync", "nav.sync", ft.Icons.SYNC),
    ("settings", "nav.settings", ft.Icons.SETTINGS),
)
#: The squad leader's extra screens, shown after "today" for leaders only (officers see no change).
LEADER_TABS: tuple[tuple[str, str, ft.IconData], ...] = (
    ("squad", "nav.squad", ft.Icons.GROUPS),
    ("review", "nav.review", ft.Icons.FACT_CHECK),
)


#: Makes the screen for a route (``mobile.views.screens.make_screen``, given by ``mobile.app``): the shell
#: never imports a screen.
ScreenFactory = Callable[["Shell", str, str | None], Screen]


class Shell:
    """Holds the page (or None in tests), the current screen and the navigation between screens."""

    def __init__(
        self, app: AppState, page: ft.Page | None = None, *, screens: ScreenFactory, version: str = ""
    ) -> None:
        self.app = app
        self.make_screen = screens
        self.page = page
        self.version = version
        self.route = ""
        self.arg: str | None = None
        self.screen: Screen | None = None
        self.messages: list[str] = []  # every message shown (the tests read it)
        self.body = ft.Container(expand=True, padding=ft.Padding.symmetric(horizontal=12, vertical=8))
        self.nav = ft.NavigationBar(
            destinations=[],
            on_change=self._on_tab,
            height=72,
        )
        self._unsubscribe: list[Callable[[], None]] = []

    # -- text --------------------------------------------------------------------------------------------
    @property
    def lang(self) -> Lang:
        return self.app.settings.lang

    def t(self, key: str, **fields: Any) -> str:
        return t(self.lang, key, **fields)

    def error_text(self, exc: BaseException) -> str:
        if isinstance(exc, LocalizedError):
            return exc.message(self.lang)
        return self.t("error.unexpected", detail=f"{type(exc).__name__}: {exc}")

    # -- navigation --------------------------------------------------------------------------------------
    def start(self) -> None:
        """Show the first screen and follow the state's changes."""
        for observable in (self.app.link, self.app.session, self.app.settings):
            self._unsubscribe.append(observable.subscribe(self.changed_elsewhere))
        self.go("today" if self.app.session.signed_in else "signin")

    def close(self) -> None:
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe.clear()

    def tabs(self) -> tuple[tuple[str, str, ft.IconData], ...]:
        """The bottom bar of whoever is signed in: leaders get the squad and review screens too."""
        if not self.app.squad.is_leader:
            return TABS
        return TABS[:1] + LEADER_TABS + TABS[1:]

    def go(self, route: str, arg: str | None = None) -> None:
        """Show screen ``route`` (``signin``, ``today``, ``new_case``, ``case``, ``subjects``, ``sync``,
        ``settings``; leaders also ``squad`` and ``review``); ``arg`` is e.g. the case id."""
        if route != "signin" and not self.app.session.signed_in:
            route, arg = "signin", None
        if route in {name for name, _, _ in LEADER_TABS} and not self.app.squad.is_leader:
            route, arg = "today", None
        self.route, self.arg = route, arg
        self.screen = self.make_screen(self, route, arg)
        self.render()

    def render(self) -> None:
        """Rebuild the current screen from state and push it."""
        if self.screen is None:
            return
        self.body.content = self.screen.build()
        self._render_nav()
        if self.page is not None:
            self.page.title = self.t("app.title")
            self.page.navigation_bar = self.nav if self.nav.visible else None
        self.update()

    def _render_nav(self) -> None:
        tabs = self.tabs()
        names = [name for name, _, _ in tabs]
        self.nav.destinations = [
            ft.NavigationBarDestination(icon=icon, label=self.t(key)) for _, key, icon in tabs
        ]
        self.nav.visible = self.route in names
        if self.route in names:
            self.nav.selected_index = names.index(self.route)

    def _on_tab(self, e: Any) -> None:
        index = int(self.nav.selected_index or 0)
        self.go(self.tabs()[index][0])

    def apply_theme(self) -> None:
        """The shipped CJK font for the whole app, Material 3, normal or outdoor high contrast."""
        if self.page is None:
            return
        font = font_file()
        if font:
            self.page.fonts = {FONT_FAMILY: font}
        self.page.theme_mode = ft.ThemeMode.LIGHT
        self.page.theme = make_theme(high_contrast=self.app.settings.settings.high_contrast)

    def update(self) -> None:
        if self.page is not None:
            self.page.update()

    def message(self, text: str) -> None:
        """A short message at the bottom of the screen."""
        self.messages.append(text)
        if self.page is not None:
            self.page.show_dialog(ft.SnackBar(ft.Text(text, size=16), duration=4000))

    #: Screens re-rendered when state changes elsewhere (their text fields are kept across renders).
    LIVE = ("today", "sync", "signin", "settings", "squad", "review")

    def changed_elsewhere(self) -> None:
        """A state object changed (possibly on the sync worker): re-render screens that show live data."""
        if self.route not in self.LIVE:
            return
        if self.page is None:
            self.render()
            return
        with contextlib.suppress(RuntimeError, AttributeError):  # the page or its loop is gone
            self.page.run_task(self._render_async)

    async def _render_async(self) -> None:
        if self.route == "signin" and self.app.session.signed_in:
            self.go("today")
        elif self.route in self.LIVE:  # checked again: the officer may have moved on meanwhile
            self.render()
