"""The photos step changing the screen by itself must not replace its buttons (issue #14: the wizard
"stalled" on the photo step in Chromium, a 上一步 tap doing nothing for 20 s).

Entering step 6 without a camera opens the file picker by itself. Headless Chromium shows no dialog, and
the picker answers "nothing chosen" about a second later, which is just when the e2e kit, having waited
for the screen to be still, taps 上一步. The step used to re-render on that empty answer: every control
was replaced, and the tap's click, carrying the id of the 上一步 the officer saw, reached Flet after the
re-render; Flet drops an event for an id it no longer has, so the tap was lost (the session log of the
failing runs shows the click arriving for a missing control right after the picker's empty answer). The
same holds for the camera failing to open, which the step reports a moment after it is shown. So: a pick
with nothing chosen changes nothing, and the camera's failure is shown in place.

No browser: a stand-in for Flet's FilePicker answers ``pick_files``; handlers are called directly."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import flet as ft
import pytest

import mobile.views.new_case.photos as photos_step
from enforcement.model import SubjectKind
from mobile.state.app_state import AppState
from mobile.views.new_case import NewCaseView
from mobile.views.shell import Shell
from testkit.hqkit import Hq
from tests.mobile.statekit import Apps, apps_of, photo, sign_in
from tests.mobile.viewkit import controls, open_screen, texts


@pytest.fixture
def app(tmp_path: Path, hq: Hq) -> Iterator[AppState]:
    for apps in apps_of(tmp_path):
        made: Apps = apps
        app = made()
        sign_in(app, hq.serve().url)
        yield app


class FakePicker:
    """Stands in for ``ft.FilePicker``: each ``pick_files`` returns the next answer (None: the picker was
    closed; a list: the files chosen, as ``FilePickerFile``-like objects with ``bytes``)."""

    def __init__(self, *answers: list[bytes] | None) -> None:
        self.answers = list(answers)
        self.calls: list[dict[str, Any]] = []

    async def pick_files(self, **kwargs: Any) -> list[Any] | None:
        self.calls.append(kwargs)
        answer = self.answers.pop(0)
        return None if answer is None else [SimpleNamespace(bytes=data) for data in answer]


class FakePage:
    """What the shell uses of a page: ``update`` and ``run_task`` (recorded, run by the test)."""

    def __init__(self) -> None:
        self.title = ""
        self.navigation_bar: Any = None
        self.tasks: list[tuple[Any, tuple[Any, ...]]] = []

    def update(self) -> None:
        pass

    def run_task(self, handler: Any, *args: Any) -> None:
        self.tasks.append((handler, args))

    def pop_dialog(self) -> None:
        return None


def on_photos_step(
    app: AppState, monkeypatch: pytest.MonkeyPatch, *, camera: bool = False
) -> tuple[Shell, NewCaseView, FakePage]:
    """The wizard entering step 6 as a browser without a camera shows it: the step asks for the file
    picker by itself (a task on the page's loop, recorded in the returned page). With ``camera``: a
    browser where flet-camera may work, the step starts opening the camera instead."""
    monkeypatch.setattr(photos_step, "camera_possible", lambda page: camera)
    shell, screen = open_screen(app, NewCaseView, "new_case")
    screen.choose_violation("0501")
    app.drafts.update(address="人民路 12 号")
    app.drafts.create_subject(SubjectKind.MOBILE_VENDOR, name="老周煎饼", phone="13900001111")
    page = FakePage()
    shell.page = page  # type: ignore[assignment]
    screen.go("photos")
    assert "6/7 · 照片" in texts(shell.body)
    assert [handler.__name__ for handler, _ in page.tasks] == ["start" if camera else "pick_photos"]
    return shell, screen, page


def button(shell: Shell, caption: str) -> Any:
    found = [c for c in controls(shell.body) if isinstance(c, ft.OutlinedButton) and c.content == caption]
    assert len(found) == 1, caption
    return found[0]


@pytest.mark.parametrize("answer", [None, []], ids=["closed", "empty"])
def test_a_picker_closed_without_a_choice_keeps_the_tapped_buttons_on_the_page(
    app: AppState, monkeypatch: pytest.MonkeyPatch, answer: list[bytes] | None
) -> None:
    shell, screen, page = on_photos_step(app, monkeypatch)
    shown = shell.body.content
    back, pick = button(shell, "上一步"), button(shell, "选择照片")
    screen.picker = FakePicker(answer)
    ((opened, args),) = page.tasks
    asyncio.run(opened(*args))  # the tap on 上一步 dismissed the picker the step opened: "nothing"
    assert shell.body.content is shown  # not rebuilt
    on_page = {id(c) for c in controls(shell.body)}
    assert id(back) in on_page  # the click addressed to these buttons still finds them
    assert id(pick) in on_page
    back.on_click(None)  # the tap's click arrives after the picker's answer: it still goes back
    assert "5/7 · 处理措施" in texts(shell.body)
    draft = app.drafts.draft
    assert draft is not None
    assert draft.photos == []


def test_adding_no_photos_changes_nothing_on_the_screen(
    app: AppState, monkeypatch: pytest.MonkeyPatch
) -> None:
    shell, screen, _ = on_photos_step(app, monkeypatch)
    shown = shell.body.content
    asyncio.run(screen.add_photos([]))
    assert shell.body.content is shown
    assert screen.error == ""


def test_a_picked_photo_is_added_and_the_wizard_moves_to_the_review(
    app: AppState, monkeypatch: pytest.MonkeyPatch
) -> None:
    shell, screen, _ = on_photos_step(app, monkeypatch)
    picker = FakePicker(None, [b"", photo(7)])
    screen.picker = picker
    asyncio.run(screen.pick_photos())  # closed first: still on the photos step
    assert "6/7 · 照片" in texts(shell.body)
    asyncio.run(screen.pick_photos())  # then a photo (and an unreadable empty file, ignored)
    assert [call["with_data"] for call in picker.calls] == [True, True]
    draft = app.drafts.draft
    assert draft is not None
    assert len(draft.photos) == 1
    assert "7/7 · 核对保存" in texts(shell.body)
    assert "1 张照片" in texts(shell.body)


def test_a_camera_that_cannot_open_gives_way_to_the_picker_without_replacing_the_buttons(
    app: AppState, monkeypatch: pytest.MonkeyPatch
) -> None:
    shell, screen, _ = on_photos_step(app, monkeypatch, camera=True)
    assert {"正在打开相机…", "拍照"} <= set(texts(shell.body))
    shown = shell.body.content
    back, pick = button(shell, "上一步"), button(shell, "选择照片")
    screen.picker = FakePicker(None)
    # what the preview's start reports some time after the step was shown, while a tap may be landing
    asyncio.run(screen.camera_failed(RuntimeError("CameraException(cameraNotFound, No camera found.)")))
    assert shell.body.content is shown
    on_page = {id(c) for c in controls(shell.body)}
    assert id(back) in on_page
    assert id(pick) in on_page
    shown_texts = texts(shell.body)
    assert "没有找到摄像头，请用“选择照片”添加照片" in shown_texts
    assert "拍照" not in shown_texts
    assert shown_texts.count("打开相机") == 1
    assert len(screen.picker.calls) == 1  # the picker opened by itself, and was closed: nothing changed
    opened = button(shell, "打开相机")
    assert getattr(opened.on_click, "_shell_guarded", False)  # an error in it shows the error card
    opened.on_click(None)  # the officer asks for the camera again
    assert {"正在打开相机…", "拍照"} <= set(texts(shell.body))
    assert "打开相机" not in texts(shell.body)
