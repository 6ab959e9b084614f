"""The shell puts a live screen on the page under one key for its route, so that a background re-render
(今日 at each sync step) is reconciled by Flet and a tap made a moment before it is not lost
(``tests/mobile/test_lost_events.py`` shows Flet's side); other screens are replaced whole at each render
(the wizard's camera preview starts afresh)."""

from __future__ import annotations

import flet as ft

from mobile.views.screens import make_screen
from mobile.views.shell import Shell
from tests.mobile.statekit import Apps


def test_a_live_screen_is_rebuilt_under_the_same_key(make_app: Apps) -> None:
    shell = Shell(make_app(), screens=make_screen)
    shell.go("today")  # nobody signed in: the sign-in screen
    shell.route = "today"  # as if signed in (what matters is the key the screen is given)
    shell.render()
    first = shell.frame.controls[0]
    assert first.key == "screen:today:"
    shell.render()  # as a state change elsewhere does
    again = shell.frame.controls[0]
    assert again is not first
    assert again.key == first.key
    assert shell.frame.controls == [again]  # the screen alone in the keyed list


def test_other_screens_get_a_new_key_at_each_render(make_app: Apps) -> None:
    shell = Shell(make_app(), screens=make_screen)
    shell.route, shell.arg = "new_case", None
    keys = set()
    for _ in range(3):
        shell.show(ft.Text("第 1 步"))  # what matters is the key it is given
        keys.add(shell.frame.controls[0].key)
    assert len(keys) == 3
    shell.route, shell.arg = "case", "c-1"
    shell.show(ft.Text("案件"))
    assert str(shell.frame.controls[0].key).startswith("screen:case:c-1:")
