"""Sign-in: HQ address, badge number and PIN. The first sign-in on a phone needs HQ; later ones work
offline against the verifier kept on the phone.

The screen is re-rendered whenever the sync link, the session or the settings change (a sign-out on a
shared phone sets off several) and reconciled by Flet (``Shell.RECONCILED``), so a tap on 登录 made just as
it redraws still arrives. What was typed lives in ``Typed`` values, not in field objects: each render
builds new fields from them (a field object reused by a second render stops receiving what is typed)."""

from __future__ import annotations

from typing import Any

import flet as ft

from mobile.views.common import Host, Typed, big_button, title


class SignInView:
    def __init__(self, shell: Host) -> None:
        self.shell = shell
        self.app = shell.app
        self.error = ""
        self.working = False
        known = self.app.session.known_badges()
        self.hq = Typed(self.app.settings.settings.hq_url)
        self.badge = Typed(known[0] if len(known) == 1 else "")
        self.pin = Typed()

    def build(self) -> ft.Control:
        s = self.shell
        return ft.Column(
            [
                ft.Icon(ft.Icons.LOCAL_POLICE, size=64, color=ft.Colors.PRIMARY),
                title(f"{s.t('app.title')} · {s.t('signin.title')}"),
                self.hq.field(s.t("signin.hq"), key="signin_hq"),
                self.badge.field(s.t("signin.badge"), key="signin_badge"),
                self.pin.field(
                    s.t("signin.pin"),
                    password=True,
                    can_reveal_password=True,
                    keyboard_type=ft.KeyboardType.NUMBER,
                    on_submit=self.submit,
                    key="signin_pin",
                ),
                ft.Text(
                    self.error, color=ft.Colors.ERROR, size=16, visible=bool(self.error), key="signin_error"
                ),
                ft.Row(
                    [
                        big_button(
                            s.t("signin.working") if self.working else s.t("signin.submit"),
                            self.submit,
                            key="signin_submit",
                        )
                    ]
                ),
                ft.Text(s.t("signin.offline_hint"), size=14),
            ],
            spacing=16,
            scroll=ft.ScrollMode.AUTO,
            horizontal_alignment=ft.CrossAxisAlignment.CENTER,
        )

    async def submit(self, e: Any = None) -> None:
        if self.working:
            return
        hq, badge, pin = self.hq.take(), self.badge.take(), self.pin.take()
        self.working, self.error = True, ""
        self.shell.render()
        try:
            await self.app.session.sign_in(hq, badge, pin)
        except Exception as exc:  # every failure is shown; nothing is lost by a failed sign-in
            self.error = self.shell.error_text(exc)
            self.working = False
            self.pin.value = ""
            self.shell.render()
            return
        self.working = False
        self.pin.value = ""
        self.shell.go("today")
