"""Step 6, the photos: the live camera where there is one (``camera.CameraPanel``), else or also the file
picker; thumbnails with a remove button and the photo count, refreshed in place while the camera is open.

What the step does by itself after it is shown (the camera failing to open, the picker it opened closing
with nothing chosen) changes the screen in place or not at all, never by a re-render: a re-render
replaces every control, and a tap landing at that moment (上一步, 选择照片) carries the id of a button
that is gone, so Flet drops its click and the tap is lost (the wizard "stalled" on this step in Chromium).
"""

from __future__ import annotations

from typing import Any

import flet as ft

from mobile.theme import TOUCH
from mobile.views.common import plain_button
from mobile.views.new_case.base import StepBase
from mobile.views.new_case.camera import CameraPanel, camera_possible


class PhotosStep(StepBase):
    camera: CameraPanel
    picker: ft.FilePicker | None
    photo_status: ft.Text | None
    #: Of the last build: where the camera preview is, and the row of the picker's button.
    camera_slot: ft.Column | None
    photo_buttons: ft.Row | None

    def build_photos(self) -> ft.Control:
        s = self.shell
        draft = self.drafts.draft
        assert draft is not None
        thumbs: list[ft.Control] = []
        for item in draft.photos:
            data = self.drafts.thumbnail(item.sha256)
            image: ft.Control = (
                ft.Image(src=data, width=110, height=110, fit=ft.BoxFit.COVER, border_radius=8)
                if data
                else ft.Icon(ft.Icons.BROKEN_IMAGE, size=48)
            )
            thumbs.append(
                ft.Column(
                    [
                        image,
                        ft.TextButton(
                            s.t("case.photos.remove"),
                            icon=ft.Icons.DELETE,
                            on_click=lambda e, sha=item.sha256: self.remove_photo(sha),
                            height=TOUCH,
                        ),
                    ],
                    width=120,
                    spacing=2,
                    horizontal_alignment=ft.CrossAxisAlignment.CENTER,
                )
            )
        self.photo_status = ft.Text(self.status_line(), size=16, key="photo_status")
        possible = camera_possible(s.page)
        self.camera_slot = ft.Column(spacing=0, horizontal_alignment=ft.CrossAxisAlignment.STRETCH)
        if possible and self.drafts.camera_wanted():
            self.camera_slot.controls.append(self.camera.build())
            s.run_task(self.camera.start)  # a fresh preview: open it once it is on the page
        else:
            self.camera.control = None
            if possible:
                self.camera_slot.controls += self.camera_off_parts()
        self.camera_slot.visible = bool(self.camera_slot.controls)
        self.photo_buttons = ft.Row(
            [plain_button(s.t("case.photos.pick"), self.pick_photos, icon=ft.Icons.ADD_PHOTO_ALTERNATE)],
            wrap=True,
        )
        if possible and not self.drafts.camera_wanted():
            self.photo_buttons.controls.append(self.camera_button())
        parts: list[ft.Control] = [
            self.camera_slot,
            self.photo_buttons,
            self.photo_status,
            ft.Row(thumbs, wrap=True, spacing=8, run_spacing=8),
        ]
        return ft.Column(parts, spacing=10, horizontal_alignment=ft.CrossAxisAlignment.STRETCH)

    def camera_off_parts(self) -> list[ft.Control]:
        """Why the camera is not used (zh/en), in place of its preview."""
        note = self.drafts.camera_note
        if note is None:
            return []
        return [ft.Text(note.message(self.shell.lang), size=15, color=ft.Colors.TERTIARY, key="camera_off")]

    def camera_button(self) -> ft.Control:
        return plain_button(
            self.shell.t("case.camera.open"), self.retry_camera, icon=ft.Icons.PHOTO_CAMERA, key="camera_open"
        )

    def show_camera_off(self) -> None:
        """The camera could not open: its preview gives way to the reason and 打开相机 joins 选择照片, in
        place (see the module doc: the buttons already on the screen stay the same controls)."""
        slot, row = self.camera_slot, self.photo_buttons
        if slot is None or row is None:
            self.shell.render()
            return
        slot.controls = self.camera_off_parts()
        slot.visible = bool(slot.controls)
        added = [] if any(c.key == "camera_open" for c in row.controls) else [self.camera_button()]
        row.controls += added
        for control in (*slot.controls, *added):
            self.shell.guard_tree(control)  # as every rendered handler is
        self.shell.update()

    def status_line(self) -> str:
        s = self.shell
        draft = self.drafts.draft
        if self.drafts.busy_photos:
            return s.t("case.photos.processing")
        if draft is not None and draft.photos:
            return s.t("case.photos.count", n=len(draft.photos))
        return s.t("case.photos.none")

    def show_status(self) -> None:
        """Refresh the photo count in place (a re-render would close the open camera)."""
        if self.photo_status is not None:
            self.photo_status.value = self.status_line()
        self.shell.update()

    async def camera_picture(self, data: bytes) -> None:
        await self.add_photos([data], camera=True)

    async def camera_failed(self, exc: BaseException | None) -> None:
        """The camera could not be opened or used: say why (zh/en) and let the officer pick a file."""
        if self.step != "photos":
            return
        self.drafts.camera_failed(exc)
        self.show_camera_off()
        draft = self.drafts.draft
        if draft is not None and self.step == "photos" and not draft.photos:
            await self.pick_photos()

    def retry_camera(self, e: Any = None) -> None:
        self.error = ""
        self.drafts.retry_camera()
        self.shell.render()

    async def pick_photos(self, e: Any = None) -> None:
        """Open the file picker (by the 选择照片 button, or by itself on entering the step without a
        camera) and add what was chosen. A picker closed with nothing chosen changes nothing on screen:
        see ``add_photos``."""
        if self.picker is None:
            if self.shell.page is None:
                return
            self.picker = ft.FilePicker()
        files = await self.picker.pick_files(
            allow_multiple=True, with_data=True, file_type=ft.FilePickerFileType.IMAGE
        )
        await self.add_photos([f.bytes for f in files or [] if f.bytes])

    async def add_photos(self, blobs: list[bytes], *, camera: bool = False) -> None:
        """Process and attach photos one by one; a bad one is reported and the others still go in. Once
        the photos step has what it needs, the wizard moves on to the review.

        Nothing to add (the picker was closed without a choice) leaves the screen exactly as it is, with
        no re-render: the picker the step opened by itself can answer at any moment (headless Chromium
        answers "nothing" about a second after it opened), and a re-render then would replace a button
        being tapped (see the module doc)."""
        if not blobs:
            return
        s = self.shell
        draft = self.drafts.draft
        taken_for = draft.case_id if draft is not None else None  # the draft the photos are for
        added = False
        for data in blobs:
            self.show_status()
            try:
                if camera:
                    await self.drafts.add_camera_photo(data)
                else:
                    await self.drafts.add_photo(data)
            except Exception as exc:  # PhotoError (not a photo, too large...): the draft is untouched
                self.error = s.error_text(exc)
            else:
                self.error = ""
                added = True
        draft = self.drafts.draft
        if added and not self.error and draft is not None and draft.case_id == taken_for:
            self.drafts.advance_from("photos")
        s.render()

    def remove_photo(self, sha256: str) -> None:
        self.drafts.remove_photo(sha256)
        self.shell.render()
