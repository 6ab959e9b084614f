"""Recording a case through CaseDraftState: real store, real photo pipeline, staged rule live, atomic save."""

from __future__ import annotations

import asyncio
import io
import struct
import zlib
from dataclasses import replace

import pytest
from PIL import Image

from enforcement.model import (
    CaseValidationError,
    Disposition,
    PhotoKind,
    Stage,
    StageChoiceError,
    SubjectKind,
    SyncState,
)
from mobile.photos import PhotoError
from mobile.state.app_state import AppState
from mobile.state.errors import DraftError, SettingsError
from mobile.state.new_case import FIELD_FAVOURITES
from testkit.hqkit import OFFICER, OFFICER_B, Hq
from tests.mobile.statekit import Apps, PhoneClock, dead_url, photo, sign_in


def vendor_case(app: AppState, clock: PhoneClock, subject_id: str | None = None) -> str:
    """Record a 露天烧烤 case of one vendor up to the stage; returns the subject id."""
    drafts = app.drafts
    clock.advance(10)
    drafts.start()
    drafts.choose_violation("0510")
    drafts.set_position(34.7466, 113.6253, 8.0)
    if subject_id is None:
        subject_id = drafts.create_subject(SubjectKind.MOBILE_VENDOR, name="王㐂", phone="13800138000").id
    else:
        drafts.choose_subject(subject_id)
        if drafts.stage() is not Stage.PERSUASION:  # 警告 and 处罚 need a photo (min_photos)
            asyncio.run(drafts.add_photo(photo(next(_SEEDS))))
    return subject_id


_SEEDS = iter(range(5000, 10**6))


def test_full_case_with_photo_is_saved_and_synced(app: AppState, clock: PhoneClock) -> None:
    drafts = app.drafts
    drafts.start()
    assert [v.code for v in drafts.violation_choices()[: len(FIELD_FAVOURITES)]] == list(FIELD_FAVOURITES)
    drafts.choose_violation("0510")
    assert drafts.draft is not None
    assert drafts.draft.step == "location"
    assert drafts.draft.legal_basis == app.catalogue.get("0510").legal_basis
    drafts.set_position(34.7466, 113.6253, 8.0)
    subject = drafts.create_subject(SubjectKind.MOBILE_VENDOR, name="王㐂", phone="13800138000")
    assert drafts.stage() is Stage.PERSUASION
    assert "劝导" in drafts.explain("zh")
    assert "Persuasion" in drafts.explain("en")
    assert drafts.dispositions()[0] is Disposition.PERSUADED
    added = asyncio.run(drafts.add_photo(photo(1), PhotoKind.BEFORE))
    assert drafts.draft.case_no  # reserved before the watermark was burned in
    assert app.photos.has(added.sha256)
    thumb = drafts.thumbnail(added.sha256)
    assert thumb is not None
    assert thumb[:2] == b"\xff\xd8"
    assert drafts.busy_photos == 0
    case = drafts.save()
    assert drafts.draft is None
    assert drafts.resume() is None
    stored = app.store.get_case(case.id)
    assert stored == case
    assert stored.subject_id == subject.id
    assert stored.photos[0].kind is PhotoKind.BEFORE
    logged = app.today.cases()
    assert [entry.case.id for entry in logged] == [case.id]
    assert logged[0].sync_state is SyncState.COMPLETE  # the save kicked the link: record and photo at HQ
    assert app.store.outbox_stats()[0] == 0


def test_stage_follows_history_and_another_stage_needs_a_reason(app: AppState, clock: PhoneClock) -> None:
    subject_id = vendor_case(app, clock)
    first = app.drafts.save()
    assert first.chosen_stage is Stage.PERSUASION
    vendor_case(app, clock, subject_id)
    assert app.drafts.stage() is Stage.WARNING
    assert [h.case_id for h in app.drafts.history()] == [first.id]
    app.drafts.set_disposition(Disposition.WARNING_NOTICE)
    app.drafts.update(warning_notice_no="JG-2026-001")
    second = app.drafts.save()
    assert second.chosen_stage is Stage.WARNING
    assert second.warning_notice_no == "JG-2026-001"
    vendor_case(app, clock, subject_id)
    drafts = app.drafts
    assert drafts.stage() is Stage.PENALTY
    with pytest.raises(StageChoiceError):
        drafts.choose_stage(Stage.WARNING, "")
    assert drafts.stage() is Stage.PENALTY
    drafts.choose_stage(Stage.WARNING, "当事人系困难户，已联系街道帮扶")
    assert drafts.stage() is Stage.WARNING
    assert Disposition.PENALTY not in drafts.dispositions()
    drafts.choose_stage(Stage.PENALTY)  # back to the computed stage: no reason needed
    assert drafts.draft is not None
    assert drafts.draft.chosen_stage is None
    drafts.set_disposition(Disposition.PENALTY)
    assert drafts.fine_range() == (500, 20000)
    drafts.update(fine_yuan="50")  # below the catalogue's range
    with pytest.raises(CaseValidationError) as err:
        drafts.save()
    assert err.value.field == "fine_yuan"
    assert drafts.step_of_field(err.value.field) == "action"
    kept = drafts.draft
    assert kept is not None
    assert kept.fine_yuan == "50"
    assert app.drafts.resume() == kept  # the typed draft is persisted as it was
    drafts.update(fine_yuan="800")
    third = drafts.save()
    assert third.fine_yuan == 800
    assert third.stage_ordinal == 3


def test_a_bad_photo_changes_nothing(app: AppState, clock: PhoneClock) -> None:
    vendor_case(app, clock)
    drafts = app.drafts
    drafts.update(address="人民路 12 号门口", notes="烟很大")
    asyncio.run(drafts.add_photo(photo(2)))
    before = drafts.resume()
    assert before is not None
    with pytest.raises(PhotoError):
        asyncio.run(drafts.add_photo(b"definitely not a photo"))
    assert drafts.busy_photos == 0
    assert drafts.resume() == before
    assert len(before.photos) == 1
    assert before.address == "人民路 12 号门口"


def bad_photos() -> dict[str, bytes]:
    """What officers' phones and partners send that is no usable photo: each is refused in both languages."""

    def encoded(image: Image.Image, fmt: str, **params: object) -> bytes:
        out = io.BytesIO()
        image.save(out, fmt, **params)
        return out.getvalue()

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    good = photo(3)
    bomb_ihdr = struct.pack(">IIBBBBB", 30_000, 30_000, 8, 2, 0, 0, 0)  # 900 MP declared, 1 KB sent
    return {
        "empty": b"",
        "text named .jpg": "这不是照片\n".encode(),
        "truncated jpeg": good[: len(good) // 2],
        "decompression bomb": b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", bomb_ihdr)
        + chunk(b"IDAT", zlib.compress(bytes(1024))),
        "gif": encoded(Image.new("RGB", (64, 48), "red"), "GIF"),
        "avif-like": struct.pack(">I", 28) + b"ftypavif\0\0\0\0avifmif1miaf" + bytes(64),
    }


def test_no_bad_photo_costs_the_draft_or_its_photos(app: AppState, clock: PhoneClock) -> None:
    vendor_case(app, clock)
    drafts = app.drafts
    drafts.update(address="人民路 12 号门口")
    kept = asyncio.run(drafts.add_photo(photo(2)))
    before = drafts.resume()
    assert before is not None
    for name, data in bad_photos().items():
        with pytest.raises(PhotoError) as err:
            asyncio.run(drafts.add_photo(data))
        assert err.value.message("zh") != err.value.message("en"), name
        assert drafts.resume() == before, name
        assert drafts.busy_photos == 0
    assert drafts.thumbnail(kept.sha256)  # the photo already added is still there, file and all
    assert [p.sha256 for p in before.photos] == [kept.sha256]


def test_seizure_needs_receipt_and_second_officer(app: AppState, clock: PhoneClock) -> None:
    vendor_case(app, clock)
    drafts = app.drafts
    with pytest.raises(DraftError) as err:
        drafts.add_seized("烧烤炉", "0")
    assert err.value.field == "seized_items"
    drafts.add_seized("烧烤炉", "1")
    drafts.add_seized("炭槽", 2, "铁质")
    drafts.remove_seized(1)
    with pytest.raises(CaseValidationError) as problem:
        drafts.save()
    assert problem.value.field in {"seizure_receipt_no", "second_officer_badge"}
    drafts.update(seizure_receipt_no="ZK-001", second_officer_badge=OFFICER_B.badge)
    case = drafts.save()
    assert [(i.kind, i.quantity) for i in case.seized_items] == [("烧烤炉", 1)]


def test_seizure_refused_where_the_catalogue_forbids_it(app: AppState) -> None:
    app.drafts.start()
    app.drafts.choose_violation("0505")
    with pytest.raises(DraftError):
        app.drafts.add_seized("车", 1)


def test_missing_steps_are_named(app: AppState) -> None:
    drafts = app.drafts
    drafts.start()
    with pytest.raises(DraftError) as err:
        drafts.save()
    assert err.value.field == "violation_code"
    drafts.choose_violation("0501")
    assert drafts.missing() == ["location", "subject"]
    drafts.update(no_fix_reason="地下通道无信号")
    drafts.choose_unknown()
    case = drafts.save()
    assert case.subject_unknown
    assert case.subject_id is None
    assert case.chosen_stage is Stage.PERSUASION
    assert case.location.no_fix_reason == "地下通道无信号"


def test_draft_survives_a_restart_and_most_used_violation_comes_first(
    make_app: Apps, app: AppState, clock: PhoneClock
) -> None:
    drafts = app.drafts
    drafts.start()
    drafts.choose_violation("0505")
    drafts.update(address="花园路口")
    drafts.create_subject(SubjectKind.VEHICLE, plate="豫A12345")
    restarted = make_app(clock=clock, store=app.store)
    draft = restarted.drafts.resume()
    assert draft is not None
    assert draft.address == "花园路口"
    assert draft.violation_code == "0505"
    restarted.drafts.save()
    assert restarted.drafts.violation_choices()[0].code == "0505"


def test_offline_save_keeps_the_case_for_later(make_app: Apps, hq: Hq, clock: PhoneClock) -> None:
    app = make_app(clock=clock)
    sign_in(app, hq.serve().url)
    app.settings.update(hq_url=dead_url())
    vendor_case(app, clock)
    case = app.drafts.save()
    assert app.link.status.online is False
    assert app.store.outbox_stats()[0] >= 1
    assert app.today.cases()[0].sync_state is SyncState.LOCAL
    app.settings.update(hq_url=hq.serve().url)
    app.today.sync_now()
    assert app.today.cases()[0].case.id == case.id
    assert app.today.cases()[0].sync_state is SyncState.COMPLETE


def test_photo_settings_follow_the_catalogue(app: AppState, clock: PhoneClock) -> None:
    # HQ's photo policy, not the officer's choice: a catalogue that says 800 px and no watermark
    app.settings.apply_policy(replace(app.catalogue, photo_long_edge=800, photo_watermark=False))
    with pytest.raises(SettingsError) as err:
        app.settings.update(watermark=True)
    assert err.value.field == "watermark"
    vendor_case(app, clock)
    assert app.drafts.watermark() is None
    added = asyncio.run(app.drafts.add_photo(photo(3, (2000, 1000))))
    assert max(added.width, added.height) == 800
    assert app.drafts.draft is not None
    assert OFFICER.badge == app.drafts.draft.officer_badge


def test_the_review_names_the_missing_photo_of_a_warning(app: AppState, clock: PhoneClock) -> None:
    subject_id = vendor_case(app, clock)
    app.drafts.save()
    clock.advance(10)
    drafts = app.drafts
    drafts.start()
    drafts.choose_violation("0510")
    drafts.set_position(34.7466, 113.6253, 8.0)
    drafts.choose_subject(subject_id)  # the 2nd time: 警告, and no photo yet
    assert drafts.stage() is Stage.WARNING
    drafts.update(warning_notice_no="JG-2026-009")
    problems = drafts.problems()
    assert [p.field for p in problems] == ["photos"]
    assert problems[0].message("zh") == "警告案件至少需要1张照片（当前0张），请先拍照再保存"
    assert "warning" in problems[0].message("en")
    assert "at least 1 photo" in problems[0].message("en")
    assert drafts.step_of_field("photos") == "photos"
    with pytest.raises(CaseValidationError) as err:
        drafts.save()  # the store refuses it too: nothing saved
    assert err.value.field == "photos"
    assert len(app.today.cases()) == 1
    asyncio.run(drafts.add_photo(photo(77)))
    assert drafts.problems() == []
    assert drafts.save().chosen_stage is Stage.WARNING


def test_review_lists_what_the_save_would_refuse(app: AppState, clock: PhoneClock) -> None:
    subject_id = vendor_case(app, clock)
    app.drafts.save()
    vendor_case(app, clock, subject_id)
    drafts = app.drafts
    assert drafts.stage() is Stage.WARNING
    assert drafts.missing() == []
    problems = drafts.problems()  # the default 警告通知书 needs its number: not ready yet
    assert [p.field for p in problems] == ["warning_notice_no"]
    assert "警告通知书" in problems[0].message("zh")
    assert drafts.draft is not None
    with pytest.raises(CaseValidationError) as err:
        drafts.save()
    assert err.value.field == problems[0].field
    drafts.set_disposition(Disposition.REFERRED)
    assert [p.field for p in drafts.problems()] == ["referred_to"]
    drafts.set_disposition(Disposition.RECTIFY_ORDER)
    drafts.update(rectify_deadline="31/12")  # unreadable date: named, not raised
    assert [p.field for p in drafts.problems()] == ["rectify_deadline"]
    drafts.update(rectify_deadline="")
    drafts.set_disposition(Disposition.WARNING_NOTICE)
    drafts.update(warning_notice_no="JG-2026-002")
    assert drafts.problems() == []
    assert drafts.save().warning_notice_no == "JG-2026-002"


def test_problems_before_the_steps_are_done_name_the_steps(app: AppState) -> None:
    app.drafts.start()
    app.drafts.choose_violation("0501")
    assert [p.field for p in app.drafts.problems()] == ["location", "subject_id"]
    assert app.drafts.draft is not None
    assert app.drafts.draft.case_no == ""  # checking reserves no case number
