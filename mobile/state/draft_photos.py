"""The photos of the case being recorded: the case number reserved before the first watermark, each photo
processed off the UI thread into the photo store and attached to the draft, and what became of the camera.

``DraftPhotos`` is a part of ``mobile.state.new_case.CaseDraftState`` (which supplies the draft, the store
and the settings); it is kept apart so each module reads in one sitting.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Any

from enforcement.catalogue import Violation
from enforcement.clock import plausible
from enforcement.model import LOCAL_TZ, PhotoKind
from mobile import metakeys
from mobile.i18n import t
from mobile.photos import PhotoSettings, ProcessedPhoto, Watermark
from mobile.photostore import PhotoStore, PhotoStoreError
from mobile.state.camera import CameraError, camera_error, camera_problem
from mobile.state.clock import ClockState
from mobile.state.draft import Draft, DraftPhoto
from mobile.state.errors import DraftError, NotSignedIn, localized
from mobile.state.observable import Observable
from mobile.state.session import SessionState
from mobile.state.settings import SettingsState


class DraftPhotos(Observable):
    """Photos and camera of ``CaseDraftState`` (a mixin: the attributes below are set there)."""

    _store: Any
    _photos: PhotoStore
    _settings: SettingsState
    _session: SessionState
    _now: Callable[[], datetime]
    clock: ClockState
    _process: Callable[[bytes, Watermark | None, PhotoSettings], ProcessedPhoto]
    busy_photos: int
    camera_note: CameraError | None
    draft: Draft | None

    def _require(self) -> Draft:
        raise NotImplementedError

    def _persist(self) -> None:
        raise NotImplementedError

    def violation(self) -> Violation | None:
        raise NotImplementedError

    def occurred_at(self) -> datetime:
        raise NotImplementedError

    # -- photos ---------------------------------------------------------------------------------------
    def photo_settings(self) -> PhotoSettings:
        s = self._settings.settings
        return replace(PhotoSettings(), long_edge=s.photo_long_edge, watermark=s.watermark)

    def refresh_clock(self) -> bool:
        raise NotImplementedError

    def ensure_case_no(self) -> str:
        """The draft's case number, reserved now if it has none (before the first watermark). Its date is
        the draft's best-known day (``mobile.state.clock``); a clock whose year no case number can hold,
        with no reference to correct it, is refused in those words (``clock.no_reference``), and the
        draft is recomputed once the clock is set."""
        draft = self._require()
        if not draft.case_no:
            officer = self._session.officer
            if officer is None:
                raise NotSignedIn()
            self.refresh_clock()
            moment = self.occurred_at()
            if not plausible(moment):
                raise DraftError(
                    t("en", "clock.no_reference", year=moment.year),
                    zh=t("zh", "clock.no_reference", year=moment.year),
                    field="occurred_at",
                )
            day = moment.astimezone(LOCAL_TZ).date()
            draft.case_no = self._store.reserve_case_no(officer.squad_code, officer.badge, day)
            self._persist()
        return draft.case_no

    def watermark(self) -> Watermark | None:
        if not self._settings.settings.watermark:
            return None
        draft = self._require()
        violation = self.violation()
        case_no = self.ensure_case_no()
        device = self.clock.device_now()
        best = self._now()  # the best-known time; the phone's own reading beside it when they differ
        offset = self.clock.offset()
        return Watermark(
            captured_at=best,
            lat=draft.lat,
            lon=draft.lon,
            badge=draft.officer_badge,
            case_no=case_no,
            violation_name=violation.name_zh if violation else "",
            device_at=device,
            clock_source=offset.source if offset is not None else "",
        )

    def process(self, data: bytes, watermark: Watermark | None, settings: PhotoSettings) -> ProcessedPhoto:
        """Process and store one photo (thread-safe: touches only the photo files, not the database)."""
        processed = self._process(data, watermark, settings)
        self._photos.put(processed.evidence)
        self._photos.put_thumbnail(processed.sha256, processed.thumbnail)
        return processed

    def attach(self, processed: ProcessedPhoto, kind: PhotoKind | str = PhotoKind.DURING) -> DraftPhoto:
        draft = self._require()
        photo = DraftPhoto(
            processed.sha256, processed.size, processed.width, processed.height, PhotoKind(kind).value
        )
        if processed.sha256 not in draft.photo_hashes:
            draft.photos.append(photo)
        self._persist()
        return photo

    async def add_photo(self, data: bytes, kind: PhotoKind | str = PhotoKind.DURING) -> DraftPhoto:
        """Watermark, shrink and store a photo off the UI thread, then attach it to the draft it was taken
        for (``attach_to``: never to another officer's draft or a draft begun meanwhile).

        A PhotoError leaves the draft untouched (the view shows the error)."""
        draft = self._require()
        badge, case_id = draft.officer_badge, draft.case_id
        watermark = self.watermark()
        settings = self.photo_settings()
        self.busy_photos += 1
        self.notify()
        try:
            processed = await asyncio.to_thread(self.process, data, watermark, settings)
        finally:
            self.busy_photos -= 1
            self.notify()
        return self.attach_to(badge, case_id, processed, kind)

    def attach_to(
        self, badge: str, case_id: str, processed: ProcessedPhoto, kind: PhotoKind | str = PhotoKind.DURING
    ) -> DraftPhoto:
        """Attach a processed photo to the draft ``case_id`` of officer ``badge``, whatever happened while
        it was processed: the open draft when it is still that one; else (the officer signed out, another
        signed in) that officer's draft as kept in the store, so the photo is there at the officer's next
        sign-in and never in anyone else's draft. A draft saved or discarded meanwhile takes nothing:
        DraftError ``case.photos.draft_gone`` (the file goes at the next sweep)."""
        draft = self.draft
        if draft is not None and draft.case_id == case_id:
            return self.attach(processed, kind)
        key = metakeys.DRAFT.format(badge=badge)
        kept = Draft.from_json(self._store.meta_get(key))
        if kept is None or kept.case_id != case_id:
            raise localized(DraftError, "case.photos.draft_gone", code="draft_gone")
        photo = DraftPhoto(
            processed.sha256, processed.size, processed.width, processed.height, PhotoKind(kind).value
        )
        if processed.sha256 not in kept.photo_hashes:
            kept.photos.append(photo)
            self._store.meta_set(key, kept.to_json())
        return photo

    async def add_camera_photo(self, data: object) -> DraftPhoto:
        """A picture from the camera (``take_picture``'s JPEG bytes) through the same pipeline as a picked
        file. No bytes: CameraError ``camera_no_picture``; a PhotoError as for any file. The draft is
        untouched by either."""
        if not isinstance(data, bytes | bytearray | memoryview) or not len(data):
            raise camera_error("camera_no_picture")
        return await self.add_photo(bytes(data), PhotoKind.DURING)

    def camera_wanted(self) -> bool:
        """Whether the photos step should open the camera (it has not failed this session)."""
        return self.camera_note is None

    def camera_failed(self, exc: BaseException | None) -> CameraError:
        """Remember why the camera could not be used (None: no camera listed); returns the zh/en error the
        view shows beside the file picker. The draft is not touched."""
        self.camera_note = camera_problem(exc)
        self.notify()
        return self.camera_note

    def retry_camera(self) -> None:
        """The officer asks for the camera again (e.g. after allowing it in the settings)."""
        self.camera_note = None
        self.notify()

    def remove_photo(self, sha256: str) -> None:
        """Drop a photo from the draft (its file goes at the next sweep unless a case uses it)."""
        draft = self._require()
        draft.photos = [p for p in draft.photos if p.sha256 != sha256]
        self._persist()

    def thumbnail(self, sha256: str) -> bytes | None:
        """The photo's preview (else the photo itself); None when neither can be read (missing, damaged
        on the phone's storage, unreadable): the screen shows a broken image in its place, which the
        officer can remove, instead of failing to show the step at all."""
        try:
            path = self._photos.thumbnail_path(sha256)
            if path.exists():
                return path.read_bytes()
            return self._photos.read(sha256) if self._photos.has(sha256) else None
        except (PhotoStoreError, OSError, ValueError):  # ValueError: not a photo name (a damaged draft)
            return None
