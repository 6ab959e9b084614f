"""The New case wizard moving on by itself (GPS fix, chosen subject, added photo) past steps that need
nothing, recent subjects in one tap, and camera pictures through the photo pipeline; real store, photos and
a live HQ for the sign-in."""

from __future__ import annotations

import asyncio

import pytest

from enforcement.model import SubjectKind
from mobile.photos import PhotoError
from mobile.state.app_state import AppState
from mobile.state.camera import CameraError, camera_problem
from tests.mobile.statekit import PhoneClock, photo


def step(app: AppState) -> str:
    assert app.drafts.draft is not None
    return app.drafts.draft.step


def saved_vendor_case(app: AppState, clock: PhoneClock, name: str, phone: str) -> str:
    """A saved 占道经营 (0501) persuasion case of a new vendor; returns the vendor's id."""
    drafts = app.drafts
    clock.advance(10)
    drafts.start()
    drafts.choose_violation("0501")
    drafts.set_position(34.7466, 113.6253, 8.0, advance=True)
    subject_id = drafts.create_subject(SubjectKind.MOBILE_VENDOR, name=name, phone=phone).id
    drafts.save()
    return subject_id


def test_first_offence_moves_on_to_the_photos_then_the_review(app: AppState) -> None:
    drafts = app.drafts
    drafts.start()
    drafts.choose_violation("0501")
    assert step(app) == "location"
    drafts.set_position(34.7466, 113.6253, 8.0, advance=True)
    assert step(app) == "subject"
    drafts.create_subject(SubjectKind.MOBILE_VENDOR, name="老周煎饼", phone="13900001111")
    # 劝导 needs no override and 劝导离开 no field: on to the photos
    assert step(app) == "photos"
    assert not drafts.step_needed("stage")
    assert not drafts.step_needed("action")
    assert drafts.step_needed("photos")
    assert not drafts.advance_from("photos")  # no photo yet: stays
    asyncio.run(drafts.add_photo(photo(1)))
    assert drafts.advance_from("photos")
    assert step(app) == "review"
    assert drafts.problems() == []
    drafts.go_to("stage")  # every skipped step can still be seen
    assert step(app) == "stage"
    assert not drafts.advance_from("photos")  # not on the photos step: nothing moves


def test_repeat_vendor_stops_on_the_action_step_for_the_warning_number(
    app: AppState, clock: PhoneClock
) -> None:
    vendor = saved_vendor_case(app, clock, "老周煎饼", "13900001111")
    drafts = app.drafts
    clock.advance(30)
    drafts.start()
    drafts.choose_violation("0501")
    drafts.set_position(34.7466, 113.6253, 8.0, advance=True)
    assert [s.id for s in drafts.recent_subjects()] == [vendor]
    drafts.choose_subject(vendor)
    assert step(app) == "action"  # 警告通知书 needs its number
    assert drafts.step_needed("action")
    drafts.update(warning_notice_no="JG-0001")
    assert not drafts.step_needed("action")


def test_a_fix_while_the_place_is_being_typed_does_not_move_on(app: AppState) -> None:
    drafts = app.drafts
    drafts.start()
    drafts.choose_violation("0501")
    drafts.update(address="人民路 12 号")
    drafts.set_position(34.7466, 113.6253, 8.0, advance=True)
    assert step(app) == "location"
    assert app.drafts.draft is not None
    assert app.drafts.draft.lat == 34.7466
    drafts.set_position(34.7467, 113.6254, 5.0)  # a fix without advance (e.g. a later update)
    assert step(app) == "location"


def test_recent_subjects_newest_first_distinct_and_limited(app: AppState, clock: PhoneClock) -> None:
    first = saved_vendor_case(app, clock, "甲摊", "13900000001")
    second = saved_vendor_case(app, clock, "乙摊", "13900000002")
    drafts = app.drafts
    clock.advance(10)
    drafts.start()
    drafts.choose_violation("0501")
    drafts.set_position(34.7466, 113.6253, 8.0)
    drafts.choose_subject(first)
    drafts.update(warning_notice_no="JG-0001")
    asyncio.run(drafts.add_photo(photo(11)))  # a 警告 needs a photo (the catalogue's min_photos)
    drafts.save()  # 甲 again (a warning): now the most recent
    clock.advance(10)
    drafts.start()
    drafts.choose_violation("0501")
    drafts.choose_unknown()  # an unknown subject is not offered
    drafts.set_position(34.7466, 113.6253, 8.0)
    drafts.save()
    assert [s.id for s in drafts.recent_subjects()] == [first, second]
    assert [s.id for s in drafts.recent_subjects(limit=1)] == [first]
    clock.advance(60 * 24 * 8)  # more than a week later
    assert drafts.recent_subjects() == []


def test_camera_picture_goes_through_the_photo_pipeline(app: AppState) -> None:
    drafts = app.drafts
    drafts.start()
    drafts.choose_violation("0501")
    drafts.update(notes="摊位占用盲道")
    added = asyncio.run(drafts.add_camera_photo(bytearray(photo(3))))
    draft = drafts.draft
    assert draft is not None
    assert draft.photo_hashes == {added.sha256}
    assert draft.case_no  # reserved for the watermark, as for a picked file
    assert app.photos.has(added.sha256)
    thumb = drafts.thumbnail(added.sha256)
    assert thumb is not None
    assert thumb[:2] == b"\xff\xd8"
    assert added.width == 1200  # the settings' long edge (1600) is not exceeded; nothing upscaled


@pytest.mark.parametrize("data", [b"", None, "jpeg", 42])
def test_no_picture_from_the_camera_keeps_the_form(app: AppState, data: object) -> None:
    drafts = app.drafts
    drafts.start()
    drafts.choose_violation("0501")
    drafts.update(notes="摊位占用盲道")
    with pytest.raises(CameraError) as err:
        asyncio.run(drafts.add_camera_photo(data))
    assert err.value.code == "camera_no_picture"
    assert err.value.field == "photos"
    assert err.value.message("zh") == "相机没有拍到照片，请重拍"
    assert err.value.message("en") == "The camera gave no picture: take it again"
    draft = drafts.resume()
    assert draft is not None
    assert (draft.violation_code, draft.notes, draft.photos) == ("0501", "摊位占用盲道", [])


def test_a_broken_camera_picture_is_a_photo_error_and_the_form_stays(app: AppState) -> None:
    drafts = app.drafts
    drafts.start()
    drafts.choose_violation("0501")
    drafts.update(address="人民路 12 号")
    with pytest.raises(PhotoError):
        asyncio.run(drafts.add_camera_photo(b"\xff\xd8\xff\xe0 not really a jpeg"))
    draft = drafts.resume()
    assert draft is not None
    assert (draft.address, draft.photos) == ("人民路 12 号", [])
    assert drafts.busy_photos == 0


def test_camera_failure_is_remembered_until_retried(app: AppState) -> None:
    drafts = app.drafts
    seen: list[bool] = []
    drafts.subscribe(lambda: seen.append(drafts.camera_wanted()))
    assert drafts.camera_wanted()
    error = drafts.camera_failed(RuntimeError("CameraException(cameraNotFound, No camera found.)"))
    assert error.code == "camera_not_found"
    assert not drafts.camera_wanted()
    assert drafts.camera_note is error
    drafts.retry_camera()
    assert drafts.camera_wanted()
    assert seen == [False, True]


@pytest.mark.parametrize(
    ("raised", "code", "zh"),
    [
        (
            RuntimeError("CameraException(cameraNotFound, No camera found.)"),
            "camera_not_found",
            "没有找到摄像头",
        ),
        (None, "camera_not_found", "没有找到摄像头"),
        (RuntimeError("CameraException(CameraAccessDenied, Permission denied)"), "camera_denied", "权限"),
        (RuntimeError("NotAllowedError: Permission dismissed"), "camera_denied", "权限"),
        (RuntimeError("Camera is currently only supported on Android, iOS"), "camera_unsupported", "此设备"),
        (TimeoutError("no answer"), "camera_failed", "相机无法打开"),
    ],
)
def test_camera_problems_in_both_languages(raised: BaseException | None, code: str, zh: str) -> None:
    error = camera_problem(raised)
    assert error.code == code
    assert zh in error.message("zh")
    assert "Choose photo" in error.message("en") or code == "camera_no_picture"
    assert camera_problem(error) is error
