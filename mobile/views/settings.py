"""Settings: language, HQ address, outdoor contrast, version, sign-out; the photo policy (size, watermark),
shown read-only: HQ sets it (``mobile.state.settings``); the bureau CA (paste its PEM or pick a .pem /
.crt file; shown by subject and expiry; clear)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import flet as ft

from mobile.views.common import Host, Kept, Typed, big_button, choice, plain_button, screen_column, title


class SettingsView:
    """Re-rendered at each sync step and reconciled (``Shell.RECONCILED``): what the officer changes is kept
    in ``Kept`` / ``Typed`` values and each render builds its controls anew."""

    def __init__(self, shell: Host) -> None:
        self.shell = shell
        self.app = shell.app
        current = self.app.settings.settings
        self.error = ""
        self.lang: Kept[str] = Kept(current.lang)
        self.hq = Typed(current.hq_url)
        self.contrast = Kept(current.high_contrast)
        self.ca_error = ""
        self.ca_pem = Typed()
        self.picker: ft.FilePicker | None = None

    def ca_status(self) -> list[str]:
        """One line per enrolled CA certificate (subject, expiry), or the line saying none is."""
        s = self.shell
        infos = self.app.settings.hq_ca_info
        if not infos:
            return [s.t("settings.ca.none")]
        now = datetime.now(UTC)
        return [
            s.t(
                "settings.ca.expired" if info.not_after <= now else "settings.ca.enrolled",
                subject=info.subject,
                expires=info.not_after.date().isoformat(),
            )
            for info in infos
        ]

    def ca_section(self) -> list[ft.Control]:
        s = self.shell
        enrolled = self.app.settings.hq_ca_pem is not None
        buttons: list[ft.Control] = [
            plain_button(s.t("settings.ca.enrol"), self.enrol_ca, icon=ft.Icons.VERIFIED_USER),
            plain_button(s.t("settings.ca.pick"), self.pick_ca, icon=ft.Icons.FILE_OPEN),
        ]
        if enrolled:
            buttons.append(plain_button(s.t("settings.ca.clear"), self.clear_ca, icon=ft.Icons.DELETE))
        return [
            ft.Text(s.t("settings.ca"), size=16, weight=ft.FontWeight.BOLD),
            *(ft.Text(line, size=14, key="settings_ca_status") for line in self.ca_status()),
            self.ca_pem.field(
                s.t("settings.ca.pem"), multiline=True, min_lines=2, max_lines=6, key="settings_ca_pem"
            ),
            ft.Text(self.ca_error, color=ft.Colors.ERROR, visible=bool(self.ca_error), size=16),
            ft.Row(buttons, wrap=True),
        ]

    def build(self) -> ft.Control:
        s = self.shell
        waiting, _ = self.app.store.outbox_stats()
        current = self.app.settings.settings
        mark = "settings.photo_policy.watermark_" + ("on" if current.watermark else "off")
        parts: list[ft.Control] = [
            title(s.t("settings.title")),
            choice(
                s.t("settings.language"),
                self.lang,
                [("zh", s.t("settings.language.zh")), ("en", s.t("settings.language.en"))],
                self.choose_lang,
                key="settings_lang",
            ),
            self.hq.field(s.t("settings.hq"), key="settings_hq"),
            self.contrast.show(
                ft.Switch(label=s.t("settings.contrast"), value=self.contrast.take(), key="settings_contrast")
            ),
            ft.Text(s.t("settings.photo_policy", edge=current.photo_long_edge, watermark=s.t(mark)), size=14),
            ft.Text(self.error, color=ft.Colors.ERROR, visible=bool(self.error), size=16),
            ft.Row([big_button(s.t("settings.save"), self.save, icon=ft.Icons.SAVE)]),
            ft.Divider(),
            *self.ca_section(),
            ft.Divider(),
            ft.Text(s.t("app.version", version=s.version or "dev"), size=14),
        ]
        if self.app.session.officer is not None:
            if waiting:
                parts.append(ft.Text(s.t("signout.pending", records=waiting), size=14))
            parts.append(
                ft.Row(
                    [
                        plain_button(
                            s.t("signout"), self.sign_out, icon=ft.Icons.LOGOUT, key="settings_sign_out"
                        )
                    ]
                )
            )
        return screen_column(parts, spacing=12)

    def choose_lang(self, e: Any) -> None:
        self.lang.value = e.control.value or "zh"

    def save(self, e: Any = None) -> None:
        try:
            self.app.settings.update(
                lang=self.lang.take(),
                hq_url=self.hq.take(),
                high_contrast=bool(self.contrast.take()),
            )
        except Exception as exc:  # SettingsError naming the field: nothing was changed
            self.error = self.shell.error_text(exc)
            self.shell.render()
            return
        self.error = ""
        self.shell.apply_theme()
        self.shell.message(self.shell.t("settings.saved"))
        self.shell.go("settings")  # rebuilt in the (possibly new) language

    def enrol_ca(self, e: Any = None) -> None:
        pem = self.ca_pem.take()
        self._ca_change(lambda: self.app.settings.enrol_hq_ca(pem), "settings.ca.enrolled_done")

    def enrol_ca_file(self, data: bytes) -> None:
        self._ca_change(lambda: self.app.settings.enrol_hq_ca_file(data), "settings.ca.enrolled_done")

    def clear_ca(self, e: Any = None) -> None:
        self._ca_change(self.app.settings.clear_hq_ca, "settings.ca.cleared")

    async def pick_ca(self, e: Any = None) -> None:
        """A .pem / .crt / .cer file through Flet's FilePicker (web mode gives its bytes: ``with_data``)."""
        if self.shell.page is None:
            return
        if self.picker is None:
            self.picker = ft.FilePicker()
        files = await self.picker.pick_files(
            allowed_extensions=["pem", "crt", "cer"], with_data=True, file_type=ft.FilePickerFileType.CUSTOM
        )
        for picked in files or []:
            if picked.bytes is not None:
                self.enrol_ca_file(picked.bytes)
                return

    def _ca_change(self, change: Any, done: str) -> None:
        try:
            change()
        except Exception as exc:  # SettingsError (not a CA certificate): the enrolled one is kept
            self.ca_error = self.shell.error_text(exc)
            self.shell.render()
            return
        self.ca_error = ""
        self.ca_pem.value = ""
        self.shell.message(self.shell.t(done))
        self.shell.render()

    def sign_out(self, e: Any = None) -> None:
        self.app.session.sign_out()
        self.shell.go("signin")
