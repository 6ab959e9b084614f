"""The New case photos step with a camera (the preview panel driven by a stand-in for flet-camera's
control), its fallback to the file picker with a zh/en reason, and the Sync screen naming parked records
by case number in the officer's language. No browser: handlers are called directly, text is read off the
control tree."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import mobile.views.new_case.camera as camera_view
import mobile.views.new_case.photos as photos_step
from enforcement.model import SubjectKind
from mobile.state.app_state import AppState
from mobile.views.new_case import NewCaseView
from mobile.views.new_case.camera import CameraPanel
from mobile.views.screens import make_screen
from mobile.views.shell import Shell
from testkit.hqkit import Hq
from tests.mobile.statekit import Apps, apps_of, dead_url, photo, sign_in
from tests.mobile.viewkit import open_screen, started, texts


@pytest.fixture
def app(tmp_path: Path, hq: Hq) -> Iterator[AppState]:
    for apps in apps_of(tmp_path):
        made: Apps = apps
        app = made()
        sign_in(app, hq.serve().url)
        yield app


@pytest.fixture(autouse=True)
def _no_mount_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(camera_view, "MOUNT_DELAY_S", 0.0)


class FakeCamera:
    """Stands in for ``flet_camera.Camera`` on a page: lists cameras, opens one, takes a picture."""

    def __init__(
        self,
        cameras: list[Any],
        picture: Any = b"",
        init_error: Exception | None = None,
        shot_error: Exception | None = None,
    ) -> None:
        self.cameras = cameras
        self.picture = picture
        self.init_error = init_error
        self.shot_error = shot_error
        self.opened: Any = None

    async def get_available_cameras(self) -> list[Any]:
        return self.cameras

    async def initialize(self, description: Any, preset: Any, enable_audio: bool = True) -> None:
        if self.init_error is not None:
            raise self.init_error
        assert enable_audio is False
        self.opened = description

    async def take_picture(self) -> Any:
        if self.shot_error is not None:
            raise self.shot_error
        return self.picture


def lens(name: str, direction: str) -> Any:
    fc = camera_view.fc
    assert fc is not None
    return fc.CameraDescription(
        name=name, lens_direction=fc.CameraLensDirection(direction), sensor_orientation=90
    )


class Recorder:
    def __init__(self) -> None:
        self.pictures: list[Any] = []
        self.failures: list[BaseException | None] = []

    async def picture(self, data: bytes) -> None:
        self.pictures.append(data)

    async def failure(self, exc: BaseException | None) -> None:
        self.failures.append(exc)


def test_panel_opens_the_back_camera_and_hands_the_picture_on(app: AppState) -> None:
    shell = Shell(app, screens=make_screen)
    got = Recorder()
    panel = CameraPanel(shell, got.picture, got.failure)
    built = panel.build()
    assert {"正在打开相机…", "拍照"} <= set(texts(built))
    assert panel.shutter is not None
    assert panel.shutter.disabled
    asyncio.run(panel.shoot())  # not open yet: nothing happens
    fake = FakeCamera([lens("front", "front"), lens("back", "back")], picture=b"jpeg")
    panel.control = fake
    asyncio.run(panel.start())
    assert fake.opened.name == "back"
    assert panel.ready
    assert not panel.shutter.disabled
    assert panel.note.value == "对准现场后按“拍照”"
    asyncio.run(panel.shoot())
    assert got.pictures == [b"jpeg"]
    assert got.failures == []


@pytest.mark.parametrize(
    ("fake", "kind"),
    [
        (FakeCamera([]), LookupError),
        (
            FakeCamera(
                [lens("back", "back")], init_error=RuntimeError("CameraException(cameraNotFound, none)")
            ),
            RuntimeError,
        ),
    ],
)
def test_panel_reports_a_camera_that_cannot_open(app: AppState, fake: FakeCamera, kind: type) -> None:
    got = Recorder()
    panel = CameraPanel(Shell(app, screens=make_screen), got.picture, got.failure)
    panel.build()
    panel.control = fake
    asyncio.run(panel.start())
    assert [type(e) for e in got.failures] == [kind]
    assert panel.control is None
    assert not panel.ready


def test_panel_reports_a_failed_shot_and_ignores_a_replaced_preview(app: AppState) -> None:
    got = Recorder()
    panel = CameraPanel(Shell(app, screens=make_screen), got.picture, got.failure)
    panel.build()
    panel.control = FakeCamera([lens("back", "back")], shot_error=RuntimeError("Camera is not initialized"))
    asyncio.run(panel.start())
    asyncio.run(panel.shoot())
    assert [str(e) for e in got.failures] == ["Camera is not initialized"]
    assert got.pictures == []
    # a start whose preview was rebuilt meanwhile is not a failure: the new preview starts by itself
    panel.build()
    stale = FakeCamera([], init_error=RuntimeError("gone"))
    panel.control = stale

    async def rebuilt_during_start() -> None:
        task = asyncio.create_task(panel.start())
        await asyncio.sleep(0)
        panel.build()
        await task

    asyncio.run(rebuilt_during_start())
    assert len(got.failures) == 1


def to_photos_step(app: AppState, monkeypatch: pytest.MonkeyPatch) -> tuple[Shell, NewCaseView]:
    monkeypatch.setattr(photos_step, "camera_possible", lambda page: True)
    shell, screen = open_screen(app, NewCaseView, "new_case")
    screen.choose_violation("0501")
    app.drafts.update(address="人民路 12 号", notes="占用盲道")
    screen.next()
    app.drafts.create_subject(SubjectKind.MOBILE_VENDOR, name="老周煎饼", phone="13900001111")
    shell.render()
    return shell, screen


def test_photos_step_shows_the_camera_and_falls_back_to_the_picker(
    app: AppState, monkeypatch: pytest.MonkeyPatch
) -> None:
    shell, screen = to_photos_step(app, monkeypatch)
    shown = texts(shell.body)
    assert "6/7 · 照片" in shown
    assert {"正在打开相机…", "拍照", "选择照片"} <= set(shown)  # the picker is always the second way
    asyncio.run(screen.camera_failed(RuntimeError("CameraException(cameraNotFound, No camera found.)")))
    shown = texts(shell.body)
    assert "没有找到摄像头，请用“选择照片”添加照片" in shown
    assert {"选择照片", "打开相机"} <= set(shown)
    assert "拍照" not in shown
    draft = app.drafts.resume()
    assert draft is not None
    assert (draft.address, draft.notes, draft.step) == ("人民路 12 号", "占用盲道", "photos")
    app.settings.update(lang="en")
    shell.render()
    assert "No camera found: add a photo with Choose photo" in texts(shell.body)
    app.settings.update(lang="zh")
    screen.retry_camera()
    assert {"正在打开相机…", "拍照"} <= set(texts(shell.body))


def test_a_camera_picture_is_added_and_the_wizard_moves_to_the_review(
    app: AppState, monkeypatch: pytest.MonkeyPatch
) -> None:
    shell, screen = to_photos_step(app, monkeypatch)
    asyncio.run(screen.camera_picture(b""))  # the camera gave nothing: said so, nothing lost
    assert screen.error == "相机没有拍到照片，请重拍"
    assert "6/7 · 照片" in texts(shell.body)
    asyncio.run(screen.camera_picture(photo(4)))
    assert screen.error == ""
    shown = texts(shell.body)
    assert "7/7 · 核对保存" in shown
    assert {"1 张照片", "可以保存", "添加照片"} <= set(shown)
    draft = app.drafts.draft
    assert draft is not None
    assert len(draft.photos) == 1
    screen.more_photos()
    assert "6/7 · 照片" in texts(shell.body)


def test_parked_records_show_the_case_number_and_the_reason_in_the_officers_language(
    app: AppState,
) -> None:
    app.settings.update(hq_url=dead_url())  # HQ out of reach: the records wait in the outbox
    drafts = app.drafts
    drafts.start()
    drafts.choose_violation("0510")
    drafts.update(address="人民路 12 号")
    drafts.create_subject(SubjectKind.MOBILE_VENDOR, name="刘小摊")
    case = drafts.save()
    entries = {e.kind: e for e in app.store.outbox_pending()}
    assert {"case", "subject"} <= set(entries)
    app.store.outbox_park(entries["case"].seq, "record_invalid", "案件记录无效", "The case record is invalid")
    app.store.outbox_park(entries["subject"].seq, "record_invalid", "当事人记录无效", "Subject invalid")
    parked = {p.kind: p for p in app.sync.parked()}
    assert parked["case"].label == case.case_no
    assert parked["subject"].label == "刘小摊"
    shell = started(app)
    shell.go("sync")
    shown = texts(shell.body)
    assert f"案件 · {case.case_no}" in shown
    assert "案件记录无效" in shown
    assert "当事人 · 刘小摊" in shown
    assert not any(case.id[:8] in text for text in shown)
    app.settings.update(lang="en")
    shell.render()
    shown = texts(shell.body)
    assert f"Case · {case.case_no}" in shown
    assert "The case record is invalid" in shown
    assert "Subject · 刘小摊" in shown
    assert "案件记录无效" not in shown


def test_a_parked_reason_missing_in_one_language_is_not_shown_in_the_other() -> None:
    from mobile.state.sync_screen import ParkedRecord, record_label

    record = ParkedRecord(3, "shift", "abcdef123456", "2026-11-22 08:00", "x", "班次无效", "")
    assert record.reason("zh") == "班次无效"
    assert record.reason("en") == "HQ did not accept this record: retry or ask the squad leader"
    assert record.title("zh") == "值班记录 · 2026-11-22 08:00"
    assert ParkedRecord(1, "odd", "id", "l", "c", "", "").title("en") == "Record · l"
    assert record_label("shift", "abc", {"started_at": "2026-11-22T08:00:00+08:00"}) == "2026-11-22 08:00"
    assert record_label("subject", "abc", {"name": "", "plate": "豫A12345"}) == "豫A12345"
    assert record_label("case", "abcdef123456", {}) == "abcdef12"
    assert record_label("review", "r1", {"case_no": "ZD01-1"}) == "ZD01-1"


def test_a_preview_left_while_opening_is_not_a_camera_failure(
    app: AppState, monkeypatch: pytest.MonkeyPatch
) -> None:
    shell, screen = to_photos_step(app, monkeypatch)
    assert screen.camera.control is not None  # a preview is opening
    screen.back()
    assert "5/7 · 处理措施" in texts(shell.body)
    assert screen.camera.control is None
    asyncio.run(screen.camera_failed(RuntimeError("the control is gone")))
    assert app.drafts.camera_wanted()  # next time the photos step tries the camera again
    screen.next()
    assert {"正在打开相机…", "拍照"} <= set(texts(shell.body))
