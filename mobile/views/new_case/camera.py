"""The photos step's live camera (flet-camera): a preview, the shutter, and a note while it opens.

Flutter drops a camera's controller when its control is rebuilt, so every build makes a fresh preview
control and ``start`` initialises that control once it is on the page; a start whose control has been
replaced meanwhile gives up quietly (the newer control has its own start). What the camera returns goes
to the caller's ``on_picture``; failures to ``on_failure`` (the view then records them in the state, shows
the zh/en reason and offers the file picker).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import flet as ft

from mobile.views.common import Host, big_button

try:  # the prebuilt web client and phone builds include it; a bare desktop install may not
    import flet_camera as fc
except ImportError:  # pragma: no cover - depends on the installation
    fc = None

#: The preview's size on a ~412 px wide phone screen (4:3, as phone cameras shoot).
PREVIEW_WIDTH = 360
PREVIEW_HEIGHT = 270
#: Time for the client to mount a new preview control before it is asked to open the camera.
MOUNT_DELAY_S = 0.3


def camera_possible(page: ft.Page | None) -> bool:
    """flet-camera works in a browser and on Android / iOS (not on desktop builds, nor without a page)."""
    if fc is None or page is None:
        return False
    try:
        return bool(page.web) or page.platform in (ft.PagePlatform.ANDROID, ft.PagePlatform.IOS)
    except (AttributeError, RuntimeError):  # a page being torn down
        return False


class CameraPanel:
    def __init__(
        self,
        shell: Host,
        on_picture: Callable[[bytes], Awaitable[None]],
        on_failure: Callable[[BaseException | None], Awaitable[None]],
    ) -> None:
        self.shell = shell
        self.on_picture = on_picture
        self.on_failure = on_failure
        self.control: Any = None
        self.ready = False
        self.shooting = False
        self.note = ft.Text("", size=15, key="camera_note")
        self.shutter: ft.Control | None = None

    def build(self) -> ft.Control:
        """A new preview (not yet opened) with its shutter; call ``start`` after it is on the page."""
        s = self.shell
        assert fc is not None
        self.control = fc.Camera(width=PREVIEW_WIDTH, height=PREVIEW_HEIGHT, preview_enabled=True)
        self.ready = False
        self.note = ft.Text(s.t("case.camera.starting"), size=15, key="camera_note")
        self.shutter = big_button(s.t("case.photos.camera"), self.shoot, icon=ft.Icons.PHOTO_CAMERA)
        self.shutter.disabled = True
        return ft.Column(
            [
                ft.Container(
                    self.control,
                    width=PREVIEW_WIDTH,
                    height=PREVIEW_HEIGHT,
                    bgcolor=ft.Colors.BLACK,
                    border_radius=8,
                    clip_behavior=ft.ClipBehavior.HARD_EDGE,
                ),
                self.note,
                ft.Row([self.shutter]),
            ],
            spacing=8,
            horizontal_alignment=ft.CrossAxisAlignment.CENTER,
        )

    async def start(self) -> None:
        """Open the camera of the current preview control (the back camera when there is one)."""
        control = self.control
        if control is None or fc is None:
            return
        try:
            await asyncio.sleep(MOUNT_DELAY_S)
            if control is not self.control:
                return
            cameras = await control.get_available_cameras()
            if not cameras:
                raise LookupError("cameraNotFound: no camera listed")
            back = [c for c in cameras if c.lens_direction == fc.CameraLensDirection.BACK]
            await control.initialize((back or cameras)[0], fc.ResolutionPreset.VERY_HIGH, enable_audio=False)
        except Exception as exc:  # no device, permission refused, platform error: the picker takes over
            if control is self.control:
                self.control = None
                await self.on_failure(exc)
            return
        if control is not self.control:
            return
        self.ready = True
        self.note.value = self.shell.t("case.camera.ready")
        if self.shutter is not None:
            self.shutter.disabled = False
        self.shell.update()  # properties only: rebuilding the tree would drop the opened camera

    async def shoot(self, e: Any = None) -> None:
        """Take a picture and hand its bytes on (one at a time; ignored until the camera is open)."""
        control = self.control
        if control is None or not self.ready or self.shooting:
            return
        self.shooting = True
        try:
            data = await control.take_picture()
        except Exception as exc:  # the camera went away (permission withdrawn, device unplugged)
            self.control = None
            await self.on_failure(exc)
            return
        finally:
            self.shooting = False
        await self.on_picture(data)
