"""Errors the officer app's state layer raises (each with zh + en text and the field concerned)."""

from __future__ import annotations

from typing import TypeVar

from enforcement.text import LocalizedError
from mobile.i18n import t


class AppStateError(LocalizedError):
    code = "app"


class SignInError(AppStateError):
    code = "sign_in"


class SettingsError(AppStateError):
    code = "settings"


class DraftError(AppStateError):
    """The case draft cannot do what was asked (e.g. no violation chosen yet)."""

    code = "draft"


class NotSignedIn(AppStateError):
    code = "not_signed_in"

    def __init__(self) -> None:
        super().__init__("Not signed in", zh="尚未登录")


E = TypeVar("E", bound=AppStateError)


def localized(
    cls: type[E], key: str, *, field: str | None = None, code: str | None = None, **fields: object
) -> E:
    """An error of ``cls`` whose zh and en texts are the i18n entry ``key`` filled with ``fields``."""
    return cls(t("en", key, **fields), zh=t("zh", key, **fields), field=field, code=code)
