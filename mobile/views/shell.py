"""The app frame: which screen is shown, the bottom navigation, messages, and the way back to the page.

Screens are plain classes built from ``AppState``; each has ``build() -> ft.Control``. The shell gets the
route → screen registry (``mobile.views.screens.make_screen``) from ``mobile.app`` and imports no screen;
screens see the shell as ``mobile.views.common.Host``. The shell swaps the
shown screen's control tree into its body and pushes the change with ``page.update()``. Without a page (the
view tests) ``update`` does nothing, so screens are built and their handlers called directly.

State objects notify from the sync link's worker thread; the shell re-renders through ``page.run_task`` so
controls are only touched on the page's event loop.

The bottom bar is derived from the signed-in role on every render, never appended to: when its set of
tabs changes (another officer or a leader signs in on a shared squad phone, another language) the shell
puts a new ``NavigationBar`` on the page instead of editing the old one's destinations (Flet 1.0.5's list
diff turned officer → leader into eight tabs, leader → officer into none), and the selected index always
lies within it.

No screen shows Flet's English crash overlay: the shell is the one place that guards the screens. Every
``on_*`` handler in a rendered screen's control tree is wrapped (``guard``), also the controls a screen
adds in place before ``update`` (search results while typing), a screen's ``build`` is guarded in
``render``, and what Flet itself would report as a crash (``crashed``, hooked in by ``mobile.app``) comes
here too. A handler's failure is one of two kinds (``failed``):

- a refusal the state explains (a ``LocalizedError``: the store could not write, a work order reassigned
  meanwhile, a photo that is not one, HQ refused): said in a message in the UI language, the screen stays
  as it is with everything typed on it; the traceback is logged as a warning;
- anything else (a bug): the error card (``fault``) in place of the screen, the traceback logged, the
  state (the officer's draft is persisted by it at every change) left as it was, a button back to 今日.

Whoever is signed in owns the screens: when the user changes (a sign-out, another officer or the leader
signing in, on this page or another page of the same phone) every shell leaves the screen it drew for the
previous user at once (``changed_elsewhere``), and a handler of a screen drawn for another user than the
one signed in now (a tap that was on its way) does nothing but show the current user's screen: nothing
the previous user typed is shown to the next, and nothing of the next user's is written by the previous
user's screen. What the previous officer had in the case draft stays in the store under the officer's
badge (``mobile.state.app_state.AppState.forget_user``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import inspect
import logging
import os
from collections.abc import Callable
from typing import Any

import flet as ft

from enforcement.text import Lang, LocalizedError
from mobile.i18n import t
from mobile.state.app_state import AppState
from mobile.theme import app_fonts, make_theme
from mobile.views.common import Screen, fault_card

log = logging.getLogger(__name__)

#: What the shell logs (ERROR) for a reconciled screen whose rebuilt tree held controls of the tree shown
#: (``Shell.show``); the browser tests fail on it.
REUSED = "reused controls"
#: Test-only: the label of a button whose handler raises on purpose (the browser test's deliberate fault).
FAULT_ENV = "STREETPATROL_TEST_FAULT"

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
        # The screen sits alone in a list (``frame``) under a key naming it, so a re-render of the same live
        # screen is reconciled by Flet (``screen_key``), not replaced; a Stack lays one child out as the
        # Container alone did.
        self.frame = ft.Stack(controls=[], expand=True)
        self.body = ft.Container(
            self.frame, expand=True, padding=ft.Padding.symmetric(horizontal=12, vertical=8)
        )
        self._renders = 0
        self._user: tuple[str, str] | None = None  # (badge, role) the screens were last rendered for
        self.nav = self._new_nav()
        self._nav_tabs: tuple[tuple[str, str], ...] = ()  # (route, label) of the bar's destinations
        self.faults: list[BaseException] = []  # every unexpected error shown on the card (the tests read it)
        self.refusals: list[BaseException] = []  # every refusal a handler met, said in a message
        # every render of a reconciled screen that reused controls of the tree shown (the tests read it)
        self.reused: list[tuple[str, list[ft.BaseControl]]] = []
        self._shown_controls: dict[int, ft.BaseControl] = {}  # the shown tree's controls (kept alive)
        self._fault_label = os.environ.get(FAULT_ENV) or None
        self._unsubscribe: list[Callable[[], None]] = []
        self.late_fonts_on = False  # mobile.theme.LATE_FONTS registered (after the first screen)

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
        try:
            self.screen = self.make_screen(self, route, arg)
        except Exception as exc:
            self.fault(exc)
            return
        self.render()

    def render(self) -> None:
        """Rebuild the current screen from state and push it (an error while building shows the card)."""
        if self.screen is None:
            return
        self._follow_user()
        try:
            content = self.screen.build()
            found = self.guard_tree(content)
        except Exception as exc:
            self.fault(exc)
            return
        self.show(content, found)
        self._render_nav()
        self._push()

    def show(self, content: ft.Control, found: dict[int, ft.BaseControl] | None = None) -> None:
        """Put ``content`` on screen under ``screen_key``. ``found`` is every control of its tree (what
        ``guard_tree`` walked): a reconciled screen that put a control of the tree shown into its rebuilt
        tree again is replaced whole this time, and the mistake logged (``reused``), because Flet would
        drop what the officer types into that control (see ``mobile.views.common.Typed``)."""
        self._renders += 1
        if content.key is None:
            content.key = self.screen_key()
            if self.route in self.RECONCILED and found is not None:
                again = [c for i, c in found.items() if self._shown_controls.get(i) is c]
                if again:
                    log.error(
                        "%s: screen %r rebuilt with %d control(s) of the tree shown (%s): replaced whole, "
                        "not reconciled",
                        REUSED,
                        self.route,
                        len(again),
                        ", ".join(sorted({type(c).__name__ for c in again})),
                    )
                    self.reused.append((self.route, again))
                    content.key = f"{content.key}:{self._renders}"
        self._shown_controls = found or {}
        self.frame.controls = [content]

    @property
    def shown(self) -> ft.Control | None:
        """The screen (or error card) on the page now."""
        return self.frame.controls[0] if self.frame.controls else None

    def screen_key(self) -> str:
        """The key of the screen being rendered. A reconciled live screen (``RECONCILED``: re-rendered when
        state changes elsewhere, 今日 at each sync step) keeps one key for its route and argument, so Flet
        reconciles the rebuilt tree with the one shown: a control in the same place (or under the same
        key: a case's row is keyed by its case number) keeps its id, and a tap the officer made on the
        screen as it was a moment before reaches the rebuilt control's handler instead of being dropped
        as addressed to a control that is gone (``mobile.app.watch_lost_events``). Any other screen gets a
        new key at each render and is replaced whole (the wizard's camera preview must start afresh)."""
        if self.route in self.RECONCILED:
            return f"screen:{self.route}:{self.arg or ''}"
        return f"screen:{self.route}:{self.arg or ''}:{self._renders}"

    def _push(self) -> None:
        if self.page is not None:
            self.page.title = self.t("app.title")
            self.page.navigation_bar = self.nav if self.nav.visible else None
        self.update()

    def _current_user(self) -> tuple[str, str] | None:
        """(badge, role) of whoever is signed in now (None: nobody)."""
        officer = self.app.session.officer
        return (officer.badge, str(officer.role)) if officer is not None else None

    def _follow_user(self) -> None:
        """When someone else is signed in than at the last render (a shared phone): forget the previous
        user's messages and dialogs and start from a fresh bottom bar."""
        user = self._current_user()
        if user == self._user:
            return
        self._user = user
        self.messages.clear()
        self._nav_tabs = ()
        if self.page is not None:
            with contextlib.suppress(Exception):  # nothing open, or the page is going away
                while self.page.pop_dialog() is not None:
                    pass

    def _new_nav(self) -> ft.NavigationBar:
        return ft.NavigationBar(destinations=[], on_change=self.guard(self._on_tab), height=72)

    def _render_nav(self) -> None:
        tabs = self.tabs()
        names = [name for name, _, _ in tabs]
        shown = tuple((name, self.t(key)) for name, key, _ in tabs)
        if shown != self._nav_tabs:
            # a new bar, never the old one's destinations edited (see the module doc)
            self.nav = self._new_nav()
            self.nav.destinations = [
                ft.NavigationBarDestination(icon=icon, label=self.t(key)) for _, key, icon in tabs
            ]
            self._nav_tabs = shown
        self.nav.visible = self.route in names
        self.nav.selected_index = names.index(self.route) if self.route in names else 0

    def _on_tab(self, e: Any) -> None:
        control = getattr(e, "control", None)
        bar = control if isinstance(control, ft.NavigationBar) else self.nav
        tabs = self.tabs()
        index = int(bar.selected_index or 0)
        if bar is not self.nav or not 0 <= index < len(tabs):
            self.go("today")  # a tap on a bar that no longer fits whoever is signed in
            return
        self.go(tabs[index][0])

    # -- unexpected errors -------------------------------------------------------------------------------
    def guard(self, handler: Callable[..., Any], label: str | None = None) -> Callable[..., Any]:
        """``handler`` that shows the error card instead of raising (sync, async and async generators;
        Flet still sees the handler's own parameters, so it passes the event exactly as before)."""
        if getattr(handler, "_shell_guarded", False):
            return handler
        faulty = label is not None and label == self._fault_label
        owner = self._user  # who the screen holding the handler was drawn for

        def check() -> bool:
            """Whether the handler may run: not for a screen drawn for someone else than who is signed in
            now (then the current user's screen is shown instead)."""
            if self._current_user() != owner:
                log.warning("a tap on a screen drawn for another user (%r) was ignored", self.route)
                self.go("today" if self.app.session.signed_in else "signin")
                return False
            if faulty:
                raise RuntimeError(f"deliberate test fault ({FAULT_ENV}={label})")
            return True

        guarded: Callable[..., Any]
        if inspect.isasyncgenfunction(handler):

            async def guarded_gen(*args: Any, **kwargs: Any) -> Any:
                try:
                    if check():
                        async for item in handler(*args, **kwargs):
                            yield item
                except Exception as exc:
                    self.failed(exc)

            guarded = guarded_gen
        elif inspect.iscoroutinefunction(handler):

            async def guarded_async(*args: Any, **kwargs: Any) -> Any:
                try:
                    return await handler(*args, **kwargs) if check() else None
                except Exception as exc:
                    self.failed(exc)
                    return None

            guarded = guarded_async
        else:

            def guarded_sync(*args: Any, **kwargs: Any) -> Any:
                try:
                    return handler(*args, **kwargs) if check() else None
                except Exception as exc:
                    self.failed(exc)
                    return None

            guarded = guarded_sync
        guarded = functools.wraps(handler)(guarded)
        guarded._shell_guarded = True  # type: ignore[attr-defined]
        return guarded

    def run_task(self, handler: Callable[..., Any], *args: Any) -> None:
        """Start ``handler(*args)`` (a coroutine function) on the page's loop, guarded like every handler:
        an error in it shows the error card, not Flet's overlay. Screens start their background work (the
        GPS fix, the photo picker, the camera preview) only through this. Without a page: nothing."""
        if self.page is None:
            return
        self.page.run_task(self.guard(handler), *args)

    def guard_tree(self, root: Any) -> dict[int, ft.BaseControl]:
        """Wrap every ``on_*`` handler of the control tree under ``root`` with ``guard``; returns every
        control of the tree by ``id``."""
        seen: dict[int, ft.BaseControl] = {}
        stack = [root]
        while stack:
            node = stack.pop()
            if not isinstance(node, ft.BaseControl) or id(node) in seen:
                continue
            seen[id(node)] = node
            for f in dataclasses.fields(node):
                value = getattr(node, f.name, None)
                if f.name.startswith("on_"):
                    if callable(value) and not getattr(value, "_shell_guarded", False):
                        setattr(node, f.name, self.guard(value, _label(node)))
                elif isinstance(value, ft.BaseControl):
                    stack.append(value)
                elif isinstance(value, list):
                    stack.extend(item for item in value if isinstance(item, ft.BaseControl))
        return seen

    def failed(self, exc: BaseException) -> None:
        """A handler (or a task it started) raised ``exc``. A refusal the state explains in both languages
        (``LocalizedError``) is said in a message and the screen stays as it is, with what was typed on it;
        anything else shows the error card (``fault``)."""
        if not isinstance(exc, LocalizedError) or self.screen is None:
            self.fault(exc)
            return
        log.warning("refused on screen %r: %s", self.route, exc, exc_info=exc)
        self.refusals.append(exc)
        self.message(self.error_text(exc))

    def fault(self, exc: BaseException) -> None:
        """Show the error card in place of the screen: log the traceback, touch no state (the officer's
        draft stays as it was persisted), offer the way back to 今日."""
        log.error("unexpected error on screen %r", self.route, exc_info=exc)
        self.faults.append(exc)
        self.route, self.arg, self.screen = "error", None, None
        reason = self.error_text(exc) if isinstance(exc, LocalizedError) else ""
        self.show(fault_card(self.t, self._fault_home, reason=reason))
        # the bottom bar of whoever is signed in stays: if 今日 itself is what fails, 回到今日 would only
        # bring the card back, and 同步 / 设置 (sign-out) must stay reachable
        try:
            self._render_nav()
            self.nav.visible = self.app.session.signed_in
        except Exception:
            log.exception("the bottom bar could not be shown with the error card")
            self.nav.visible = False
        try:
            self._push()
        except Exception:  # the page could not take even the card: nothing more to show
            log.exception("the error card could not be shown")

    def _fault_home(self, e: Any = None) -> None:
        self.go("today")

    def crashed(self, message: str) -> None:
        """What Flet would send as a session crash (its English overlay): the card instead (``mobile.app``
        puts this in place of the page session's ``error``)."""
        self.fault(RuntimeError(message))

    def apply_theme(self) -> None:
        """The shipped CJK font for the whole app, Material 3, normal or outdoor high contrast."""
        if self.page is None:
            return
        fonts = app_fonts(late=self.late_fonts_on)
        if fonts:
            self.page.fonts = fonts
        self.page.theme_mode = ft.ThemeMode.LIGHT
        self.page.theme = make_theme(high_contrast=self.app.settings.settings.high_contrast)

    def add_late_fonts(self) -> None:
        """Register ``mobile.theme.LATE_FONTS`` too (called once the first screen is on)."""
        self.late_fonts_on = True
        if self.page is None:
            return
        fonts = app_fonts()
        if fonts and fonts != self.page.fonts:
            self.page.fonts = fonts
            self.page.update()

    def update(self) -> None:
        """Push what a screen changed in place; controls it added since its render (search results while
        typing) get their handlers guarded first, like every rendered one."""
        self.guard_tree(self.frame)
        if self.page is not None:
            self.page.update()

    def message(self, text: str) -> None:
        """A short message at the bottom of the screen."""
        self.messages.append(text)
        if self.page is not None:
            self.page.show_dialog(ft.SnackBar(ft.Text(text, size=16), duration=4000))

    #: Screens re-rendered when state changes elsewhere (what the officer typed there is kept across renders).
    LIVE = ("today", "sync", "signin", "settings", "squad", "review")
    #: Live screens whose re-renders Flet reconciles (``screen_key``): every live screen, as each is redrawn
    #: by the sync link's steps while the officer taps it (今日's 新建案件 or a case, 同步's 立即同步, 设置's
    #: 保存, the leader's 通过 / 退回), and the sign-in screen by a sign-out's notifications while the next
    #: officer types. A reconciled screen builds every control anew at each render (what is typed is kept
    #: in ``mobile.views.common.Kept`` / ``Typed``): a control object put into two renders leaves Flet's
    #: index and what is typed into it is dropped (the empty PIN of a shared phone's second sign-in);
    #: ``show`` checks it.
    RECONCILED = LIVE

    def changed_elsewhere(self) -> None:
        """A state object changed (possibly on the sync worker): re-render screens that show live data;
        leave any screen drawn for another user than the one signed in now (a sign-out or a sign-in,
        on this page or another page of the phone) for the current user's first screen."""
        if self.route not in self.LIVE and not self._user_changed():
            return
        if self.page is None:
            self._refresh()
            return
        with contextlib.suppress(RuntimeError, AttributeError):  # the page or its loop is gone
            self.page.run_task(self._render_async)

    def _user_changed(self) -> bool:
        """Whether the screen shown was drawn for someone else than who is signed in now."""
        return self.route != "" and self._current_user() != self._user

    def _refresh(self) -> None:
        if self._user_changed():  # nothing of the previous user stays on screen
            self.go("today" if self.app.session.signed_in else "signin")
        elif self.route == "signin" and self.app.session.signed_in:
            self.go("today")
        elif self.route in self.LIVE:  # checked again: the officer may have moved on meanwhile
            self.render()

    async def _render_async(self) -> None:
        try:
            self._refresh()
        except Exception as exc:  # a background update must not end in Flet's overlay either
            self.fault(exc)


def _label(control: ft.BaseControl) -> str | None:
    """A button's caption (what ``FAULT_ENV`` names)."""
    content = getattr(control, "content", None)
    if isinstance(content, str):
        return content
    text = getattr(control, "text", None)
    return text if isinstance(text, str) else None
