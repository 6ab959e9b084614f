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
        ├── BadAnswer             "bad_answer"     HQ's answer could not be read (a proxy page, a cut body)
        └── InsecureConnection    "insecure"       the link to HQ is not safe: stop and tell, never retried
            ├── CertificateRejected               HQ's certificate refused: unknown CA, wrong host, expired
            ├── TlsUnavailable                    https asked, the other end does not speak TLS (http port)
            └── CleartextRefused                  an http:// address that is not this machine

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
    INSECURE = "insecure"
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


class InsecureConnection(SyncError):
    """The connection to HQ is not safe to use. Retrying cannot help: the officer (or the bureau's IT)
    must fix the address, the certificate or the phone's CA; the sync link stops and tells."""

    code = SyncErrorCode.INSECURE


#: ``CertificateRejected.reason`` → (zh, en).
CERTIFICATE_TEXTS = {
    "unknown_ca": (
        "指挥中心的证书不是受信任的机构签发的（未知证书颁发机构），已拒绝连接。请联系信息科核对证书或导入本局根证书",
        "HQ's certificate was issued by an authority this phone does not trust (unknown CA); connection "
        "refused. Ask the bureau's IT to check the certificate or enrol the bureau's CA",
    ),
    "host_name": (
        "指挥中心的证书与地址不符（主机名错误），已拒绝连接。请核对指挥中心地址",
        "HQ's certificate is for another host name; connection refused. Check the HQ address",
    ),
    "expired": (
        "指挥中心的证书已过期或尚未生效，已拒绝连接。请核对手机时间，或联系信息科更新证书",
        "HQ's certificate has expired or is not yet valid; connection refused. Check the phone's date, "
        "or ask the bureau's IT to renew the certificate",
    ),
}


class CertificateRejected(InsecureConnection):
    """HQ's certificate failed verification; ``reason`` says why: "unknown_ca", "host_name", "expired"."""

    def __init__(self, reason: str, detail: str = "") -> None:
        zh, en = CERTIFICATE_TEXTS.get(reason, CERTIFICATE_TEXTS["unknown_ca"])
        super().__init__(f"{en} ({detail})" if detail else en, zh=zh)
        self.reason = reason
        self.detail = detail


class TlsUnavailable(InsecureConnection):
    """The address is https but the other end did not answer in TLS (a plain-http port, or a downgrade)."""

    def __init__(self, detail: str = "") -> None:
        en = "HQ did not answer over HTTPS (the address may point at a plain-HTTP port); connection refused"
        super().__init__(
            f"{en} ({detail})" if detail else en,
            zh="指挥中心未以 HTTPS 加密方式应答（地址可能指向未加密端口），已拒绝连接。请核对指挥中心地址",
        )


class CleartextRefused(InsecureConnection):
    """An ``http://`` address that is not this machine: enforcement data never travels unencrypted."""

    def __init__(self, host: str = "") -> None:
        super().__init__(
            "To protect enforcement data the HQ address must start with https:// "
            "(http:// only for this machine, in development)",
            zh="为保护执法数据，指挥中心地址须以 https:// 开头（仅本机调试可用 http://）",
            field="hq_url",
        )
        self.host = host


class Interrupted(Exception):
    """Raised by a test hook to simulate the app being killed at a step."""
