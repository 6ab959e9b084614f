"""Why the camera could not be used, in the officer's language.

The camera itself lives in the view (``flet_camera.Camera``: a live preview control); what goes wrong when
opening it arrives as an exception whose text comes from the platform (Flutter's ``CameraException`` codes
such as ``cameraNotFound`` or ``CameraAccessDenied``, a browser's ``NotAllowedError``, Flet's "not supported
on this platform"). ``camera_problem`` turns any of them into a ``CameraError`` with zh + en text that tells
the officer what happened and that choosing a photo still works.
"""

from __future__ import annotations

from mobile.state.errors import AppStateError, localized


class CameraError(AppStateError):
    """The camera cannot be used or gave no picture; ``code`` says why (see ``CAMERA_CODES``)."""

    code = "camera_failed"


#: The codes a CameraError carries, each with its i18n text ``case.camera.<code>``.
CAMERA_CODES = (
    "camera_not_found",
    "camera_denied",
    "camera_unsupported",
    "camera_failed",
    "camera_no_picture",
)

#: Lower-cased fragments of platform error texts, checked in order: the first that occurs decides.
_SIGNS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("camera_denied", ("accessdenied", "access denied", "notallowed", "permission", "denied")),
    ("camera_not_found", ("cameranotfound", "notfound", "no camera", "devicesnotfound", "not found")),
    ("camera_unsupported", ("unsupported", "not supported", "only supported", "notsupported", "insecure")),
)


def camera_error(code: str) -> CameraError:
    if code not in CAMERA_CODES:
        raise ValueError(code)
    return localized(CameraError, f"case.camera.{code}", field="photos", code=code)


def camera_problem(exc: BaseException | None) -> CameraError:
    """The CameraError for whatever opening or using the camera raised (None: no camera was listed)."""
    if isinstance(exc, CameraError):
        return exc
    if exc is None:
        return camera_error("camera_not_found")
    text = f"{type(exc).__name__} {exc}".lower()
    for code, signs in _SIGNS:
        if any(sign in text for sign in signs):
            return camera_error(code)
    return camera_error("camera_failed")
