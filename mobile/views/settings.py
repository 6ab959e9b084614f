"""Settings: language, HQ address, outdoor contrast, version, sign-out; the photo policy (size, watermark),
shown read-only: HQ sets it (``mobile.state.settings``)."""

from __future__ import annotations

from typing import Any

import flet as ft

from mobile.views.common import Host, big_button, choice, field, plain_button, screen_column, title


class SettingsView:
    def __init__(self, shell: Host) -> None:
        self.shell = shell
        self.app = shell.app
        current = self.app.settings.settings
        self.error = ""
        self.lang_value = current.lang
        self.lang = choice(
            shell.t("settings.language"),
            current.lang,
            [("zh", shell.t("settings.language.zh")), ("en", shell.t("settings.language.en"))],
            self.choose_lang,
            key="settings_lang",
        )
        self.hq = field(shell.t("settings.hq"), current.hq_url)
        mark = "settings.photo_policy.watermark_" + ("on" if current.watermark else "off")
        self.photo_policy = ft.Text(
            shell.t("settings.photo_policy", edge=current.photo_long_edge, watermark=shell.t(mark)), size=14
        )
        self.contrast = ft.Switch(label=shell.t("settings.contrast"), value=current.high_contrast)

    def build(self) -> ft.Control:
        s = self.shell
        waiting, _ = self.app.store.outbox_stats()
        parts: list[ft.Control] = [
            title(s.t("settings.title")),
            self.lang,
            self.hq,
            self.contrast,
            self.photo_policy,
            ft.Text(self.error, color=ft.Colors.ERROR, visible=bool(self.error), size=16),
            ft.Row([big_button(s.t("settings.save"), self.save, icon=ft.Icons.SAVE)]),
            ft.Divider(),
            ft.Text(s.t("app.version", version=s.version or "dev"), size=14),
        ]
        if self.app.session.officer is not None:
            if waiting:
                parts.append(ft.Text(s.t("signout.pending", records=waiting), size=14))
            parts.append(ft.Row([plain_button(s.t("signout"), self.sign_out, icon=ft.Icons.LOGOUT)]))
        return screen_column(parts, spacing=12)

    def choose_lang(self, e: Any) -> None:
        self.lang_value = e.control.value or "zh"

    def save(self, e: Any = None) -> None:
        try:
            self.app.settings.update(
                lang=self.lang_value,
                hq_url=self.hq.value or "",
                high_contrast=bool(self.contrast.value),
            )
        except Exception as exc:  # SettingsError naming the field: nothing was changed
            self.error = self.shell.error_text(exc)
            self.shell.render()
            return
        self.error = ""
        self.shell.apply_theme()
        self.shell.message(self.shell.t("settings.saved"))
        self.shell.go("settings")  # rebuilt in the (possibly new) language

    def sign_out(self, e: Any = None) -> None:
        self.app.session.sign_out()
        self.shell.go("signin")
