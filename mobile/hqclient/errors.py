"""The HQ client's errors: what stopped a sign-in or a sync, each with a text for the officer.

::

    LocalizedError (enforcement.text)
    └── SyncError                 code "sync"
        ├── SignInRequired        "sign_in_again"  401: HQ does not accept the saved token; nothing is lost
        ├── SignInFailed          "sign_in_failed" sign-in refused (wrong badge/PIN, throttled, disabled)
        ├── DeviceBlocked         "device_blocked" HQ revoked this device (DEVICE_REVOKED): no retries
        ├── ServerUnreachable     "offline"        network errors, 5xx, 429/503 until the tries are used up
        ├── ProtocolMismatch      "protocol"       426: this app is too old or too new for HQ
        ├── ServerRefused         "refused"        any other 4xx about a whole request (errno, both texts)
        └── BadAnswer             "bad_answer"     HQ's answer could not be read (a proxy page, a cut body)

    Interrupted (Exception)       raised by a test hook to simulate the app being killed at a step

``code`` is a ``SyncErrorCode`` (a ``str``): the sync link classifies errors by it. httpx's own errors never
leave the client: the transport (``mobile.hqclient.transport``) turns them into these, chained with
``raise ... from``.
"""

from __future__ import annotations

from enum import StrEnum

from enforcement.text import LocalizedError
from sync.protocol import ERRNO_MESSAGES, Errno, ErrorBody


class SyncErrorCode(StrEnum):
    """The ``code`` of each SyncError (equal to its plain string, which is what the link compares)."""

    SYNC = "sync"
    SIGN_IN_AGAIN = "sign_in_again"
    SIGN_IN_FAILED = "sign_in_failed"
    OFFLINE = "offline"
    PROTOCOL = "protocol"
    REFUSED = "refused"
    BAD_ANSWER = "bad_answer"
    DEVICE_BLOCKED = "device_blocked"


class SyncError(LocalizedError):
    """Base of the HQ client's errors (shown to the officer)."""

    code: str = SyncErrorCode.SYNC


class SignInRequired(SyncError):
    """HQ does not accept the saved token (missing, expired, revoked): sign in again. Nothing is lost."""

    code = SyncErrorCode.SIGN_IN_AGAIN

    def __init__(self, errno: int | None = None) -> None:
        super().__init__(
            "Please sign in again; your records are kept on the phone",
            zh="请重新登录，未上传的记录仍保存在手机上",
        )
        self.errno = errno


class SignInFailed(SyncError):
    """Sign-in refused (wrong badge/PIN, throttled, disabled): carries HQ's errno and text."""

    code = SyncErrorCode.SIGN_IN_FAILED

    def __init__(self, body: ErrorBody, retry_after: float | None = None) -> None:
        super().__init__(body.message_en, zh=body.message_zh, field="pin")
        self.errno = body.errno
        self.retry_after = retry_after

    @classmethod
    def bad_credentials(cls) -> SignInFailed:
        """Wrong badge or PIN (HQ answered a sign-in with 401)."""
        zh, en = ERRNO_MESSAGES[Errno.BAD_CREDENTIALS]
        return cls(
            ErrorBody(errno=int(Errno.BAD_CREDENTIALS), code="bad_credentials", message_zh=zh, message_en=en)
        )


class DeviceBlocked(SyncError):
    """HQ revoked this device (``Errno.DEVICE_REVOKED``): it stays blocked until HQ re-enables it, so
    the link stops retrying. Nothing on the phone is lost."""

    code = SyncErrorCode.DEVICE_BLOCKED

    def __init__(self) -> None:
        zh, en = ERRNO_MESSAGES[Errno.DEVICE_REVOKED]
        super().__init__(en, zh=zh)
        self.errno = int(Errno.DEVICE_REVOKED)


class ServerUnreachable(SyncError):
    """HQ could not be reached (or kept failing) within the tries of one request."""

    code = SyncErrorCode.OFFLINE

    def __init__(self, detail: str = "") -> None:
        super().__init__(
            f"HQ cannot be reached; will retry later ({detail})" if detail else "HQ cannot be reached",
            zh="无法连接指挥中心，稍后自动重试",
        )


class ProtocolMismatch(SyncError):
    """HQ speaks another protocol version (426): the app must be updated."""

    code = SyncErrorCode.PROTOCOL

    def __init__(self, body: ErrorBody) -> None:
        super().__init__(body.message_en, zh=body.message_zh)
        self.errno = body.errno


class ServerRefused(SyncError):
    """HQ refused a whole request with a 4xx (carries its errno and both texts)."""

    code = SyncErrorCode.REFUSED

    def __init__(self, status: int, body: ErrorBody) -> None:
        super().__init__(body.message_en, zh=body.message_zh)
        self.status = status
        self.errno = body.errno
        self.body = body


class BadAnswer(SyncError):
    """HQ's answer could not be read (a proxy page, a truncated body): nothing is acknowledged."""

    code = SyncErrorCode.BAD_ANSWER

    def __init__(self, detail: str) -> None:
        super().__init__(f"HQ's answer could not be read ({detail})", zh="指挥中心的应答无法识别，稍后重试")


class Interrupted(Exception):
    """Raised by a test hook to simulate the app being killed at a step."""
