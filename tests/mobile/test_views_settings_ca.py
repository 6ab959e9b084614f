"""The bureau CA on the settings screen (issue #19): paste a PEM or pick a .pem/.crt file (FilePicker with
its bytes, as web mode gives them; a DER .crt too), see the enrolled CA's subject and expiry, clear it; a bad
certificate is refused in zh/en and the enrolled one kept."""

from __future__ import annotations

import asyncio
import ssl
from types import SimpleNamespace
from typing import Any

import pytest

from mobile.state.app_state import AppState
from mobile.views.settings import SettingsView
from tests.mobile.viewkit import open_screen, texts

trustme = pytest.importorskip("trustme")


def ca_pem(name: str) -> str:
    ca = trustme.CA(organization_name=name)
    return ca.cert_pem.bytes().decode("ascii")


def shown(shell: Any) -> str:
    return "\n".join(texts(shell.body))


def test_enrol_show_and_clear_a_bureau_ca(app: AppState) -> None:
    shell, screen = open_screen(app, SettingsView, "settings")
    assert "未导入本局根证书：使用公共证书机构" in shown(shell)
    assert "清除证书" not in shown(shell)
    pem = ca_pem("金水区城管局")
    screen.ca_pem.value = pem
    screen.enrol_ca()
    assert app.settings.hq_ca_pem is not None
    [info] = app.settings.hq_ca_info
    assert "O=金水区城管局" in info.subject
    text = shown(shell)
    assert f"已导入：{info.subject}，有效期至 {info.not_after.date().isoformat()}" in text
    assert "清除证书" in text

    screen = shell.screen
    assert isinstance(screen, SettingsView)
    screen.ca_pem.value = "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n"
    screen.enrol_ca()
    assert "不是有效的根证书，请粘贴本局信息科提供的证书文本" in shown(shell)
    assert app.settings.hq_ca_pem is not None
    assert app.settings.hq_ca_pem.strip() == pem.strip()  # the bad one changed nothing

    screen.clear_ca()
    assert app.settings.hq_ca_pem is None
    assert "未导入本局根证书：使用公共证书机构" in shown(shell)


def test_pick_a_certificate_file_pem_or_der_and_english_errors(app: AppState) -> None:
    app.settings.update(lang="en")
    shell, screen = open_screen(app, SettingsView, "settings")
    der = ssl.PEM_cert_to_DER_cert(ca_pem("Jinshui CA"))
    picked: list[dict[str, Any]] = []

    class Picker:
        async def pick_files(self, **kwargs: Any) -> list[Any]:
            picked.append(kwargs)
            return [SimpleNamespace(name="bureau.crt", path=None, bytes=der)]

    screen.picker = Picker()  # type: ignore[assignment]
    dialogs: list[Any] = []
    page = SimpleNamespace(show_dialog=dialogs.append, update=lambda: None)
    shell.page = shell.page or page  # type: ignore[assignment]
    asyncio.run(screen.pick_ca())
    assert picked[0]["allowed_extensions"] == ["pem", "crt", "cer"]
    assert picked[0]["with_data"] is True
    [info] = app.settings.hq_ca_info
    assert "O=Jinshui CA" in info.subject
    assert f"Enrolled: {info.subject}, valid until {info.not_after.date().isoformat()}" in shown(shell)
    screen = shell.screen
    assert isinstance(screen, SettingsView)
    screen.enrol_ca_file(b"\x00not a certificate")
    assert "Not a usable CA certificate (PEM, starting with -----BEGIN CERTIFICATE-----)" in shown(shell)
    assert len(app.settings.hq_ca_info) == 1
