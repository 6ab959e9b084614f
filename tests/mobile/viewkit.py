"""Reading the screens without a browser: the control tree walked, its visible strings, a fake event, and
a shell started on a screen of real state (handlers are then called directly; no page, so
``Shell.update`` does nothing). Shared by the ``test_views*`` modules."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any, TypeVar

import flet as ft

from mobile.state.app_state import AppState
from mobile.views.screens import make_screen
from mobile.views.shell import Shell

View = TypeVar("View")


def tree(control: Any) -> list[ft.BaseControl]:
    """Every visible control of a control tree, each once, depth first (an invisible one hides its own)."""
    found: list[ft.BaseControl] = []
    seen: set[int] = set()

    def walk(node: Any) -> None:
        if id(node) in seen or not isinstance(node, ft.BaseControl):
            return
        seen.add(id(node))
        if getattr(node, "visible", True) is False:
            return
        found.append(node)
        for f in dataclasses.fields(node):
            value = getattr(node, f.name, None)
            for child in value if isinstance(value, list) else [value]:
                walk(child)

    walk(control)
    return found


def texts(control: Any) -> list[str]:
    """Every visible string of a control tree (texts, labels, button captions)."""
    found: list[str] = []
    for node in tree(control):
        for name in ("value", "label", "content", "tooltip", "text"):
            value = getattr(node, name, None)
            if isinstance(value, str) and value and not (isinstance(node, ft.TextField) and name == "value"):
                found.append(value)
    return found


def event(value: Any) -> Any:
    return SimpleNamespace(control=SimpleNamespace(value=value))


def controls(control: Any) -> Iterator[Any]:
    """Every control of a tree."""
    seen: set[int] = set()
    stack = [control]
    while stack:
        node = stack.pop()
        if id(node) in seen or not isinstance(node, ft.BaseControl):
            continue
        seen.add(id(node))
        yield node
        for f in dataclasses.fields(node):
            value = getattr(node, f.name, None)
            stack.extend(value if isinstance(value, list) else [value])


def type_into(shell: Shell, key: str, text: str) -> ft.TextField:
    """What Flet does with what the officer types into the shown text field keyed ``key``: it sets that
    field object's ``value`` (the browser sends it with each key; the screen reads it when it needs it)."""
    found = [c for c in controls(shell.body) if isinstance(c, ft.TextField) and c.key == key]
    assert len(found) == 1, f"{len(found)} text fields keyed {key!r} on screen {shell.route!r}"
    found[0].value = text
    return found[0]


def started(app: AppState) -> Shell:
    """A shell on ``app``, started (on its first screen)."""
    shell = Shell(app, screens=make_screen)
    shell.start()
    return shell


def open_screen(app: AppState, kind: type[View], route: str, arg: str | None = None) -> tuple[Shell, View]:
    """A shell started on ``app`` and sent to ``route``, with the screen it shows (asserted a ``kind``)."""
    shell = started(app)
    shell.go(route, arg)
    screen = shell.screen
    assert isinstance(screen, kind)
    return shell, screen
