"""The officer app's whole state: every screen's state object wired to one store, photo store and link."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from enforcement import staging
from enforcement.catalogue import Catalogue
from enforcement.model import LOCAL_TZ
from enforcement.text import LocalizedError
from mobile import metakeys
from mobile.photostore import PhotoStore
from mobile.policyheld import held_policy
from mobile.secretstore import MemorySecretStore, SecretStore
from mobile.state.case_detail import CaseDetailState
from mobile.state.clock import ClockState
from mobile.state.draft import Draft
from mobile.state.identity import IdentityState
from mobile.state.leader_orders import LeaderOrdersState
from mobile.state.new_case import CaseDraftState
from mobile.state.observable import Observable
from mobile.state.session import PBKDF2_ITERATIONS, PIN_COST, PinCost, SessionState, adopt_file_token
from mobile.state.settings import SettingsState
from mobile.state.squad import SquadState
from mobile.state.squad_export import DayLogExport
from mobile.state.subject_edit import SubjectEditState
from mobile.state.subjects import SubjectsState
from mobile.state.sync import BackendFactory, SyncLink
from mobile.state.sync_screen import SyncScreenState
from mobile.state.today import TodayState
from mobile.state.workorders import WorkOrdersState
from mobile.state.zones import ZonesState


def local_now() -> datetime:
    return datetime.now(LOCAL_TZ)


class AppState:
    """Builds and holds the per-screen state objects. ``store`` is ``mobile.store.Store`` (any object with
    its methods); ``backend_factory`` makes the sync client inside the link's worker thread; ``export_dir``
    is where the leader's day-log exports go (default: ``exports`` beside the photo directory);
    ``secrets`` is the phone's ``SecretStore`` (token, device secret), the same one the backend factory's
    sync client uses. ``allow_http``: a development build, http:// allowed to any HQ address."""

    def __init__(
        self,
        store: Any,
        photos: PhotoStore,
        catalogue: Catalogue,
        backend_factory: BackendFactory,
        *,
        threaded: bool = True,
        now: Callable[[], datetime] = local_now,
        monotonic: Callable[[], float] | None = None,
        policy: staging.StagePolicy | None = None,
        pin_iterations: int = PBKDF2_ITERATIONS,
        pin_cost: PinCost = PIN_COST,
        secrets: SecretStore | None = None,
        backoff_cap: float = 30.0,
        export_dir: Path | None = None,
        allow_http: bool = False,
    ) -> None:
        self.store = store
        self.photos = photos
        self.catalogue = catalogue
        self.now = now
        # the device clock against HQ's (``mobile.state.clock``); an injected clock without a monotonic
        # one is its own monotonic clock (elapsed time as it says)
        if monotonic is None:
            monotonic = time.monotonic if now is local_now else (lambda: now().timestamp())
        self.clock = ClockState(store, now=now, monotonic=monotonic)
        self.secrets: SecretStore = secrets if secrets is not None else MemorySecretStore()
        adopt_file_token(store, self.secrets)
        self.settings = SettingsState(store, catalogue, allow_http=allow_http)  # photo policy: HQ's
        self.link = SyncLink(
            backend_factory,
            lambda: self.settings.settings.hq_url,
            threaded=threaded,
            now=now,
            backoff_cap=backoff_cap,
        )
        self.settings.on_trust_change = self.link.reset
        self.link.on_server_time = self.clock.note_hq
        self.session = SessionState(
            store,
            self.settings,
            self.link,
            iterations=pin_iterations,
            secrets=self.secrets,
            pin_cost=pin_cost,
        )
        self.today = TodayState(store, self.session, self.link, now=now, policy=policy, clock=self.clock)
        self.drafts = CaseDraftState(
            store,
            photos,
            catalogue,
            self.settings,
            self.session,
            self.link,
            now=now,
            policy=policy,
            clock=self.clock,
        )
        self.zones = ZonesState(store, now=now, policy=lambda: held_policy(store.meta_get))
        self.drafts.zones = self.zones
        self.detail = CaseDetailState(store, photos, self.drafts)
        self.subjects = SubjectsState(store)
        self.subject_edit = SubjectEditState(self.subjects)
        self.workorders = WorkOrdersState(
            store,
            photos,
            self.link,
            now=now,
            clock=self.clock,
            drafts=self.drafts,
            officer=self._signed_in_badge,
        )  # #15
        self.leader_orders = LeaderOrdersState(
            store, self.session, self.link, now=now, clock=self.clock
        )  # #15
        self.sync = SyncScreenState(store, self.link)
        # the leader's day and decisions by the best-known time: a leader phone at 2099 shows HQ's today
        self.squad = SquadState(store, catalogue, self.session, self.link, now=self.clock.now)
        self.identity = IdentityState(store, self.link, self._signed_in_badge)
        # day-log exports live in the app's data directory, beside the photos (``<data dir>/exports``)
        self.squad_export = DayLogExport(self.squad, export_dir or photos.root.parent / "exports")
        #: damage the background integrity check found (``StoreCorrupt``, the message an open would give)
        self.store_damage: LocalizedError | None = None
        self.health = Observable()  # notified when ``store_damage`` is set
        self._store_check = threading.Lock()
        self._store_checked = False
        #: whose screens the state objects hold (a shared squad phone changes hands)
        self._user = self._signed_in_badge()
        self.session.subscribe(self._session_changed)

    def _signed_in_badge(self) -> str | None:
        officer = self.session.officer
        return officer.badge if officer is not None else None

    def _session_changed(self) -> None:
        badge = self._signed_in_badge()
        if badge != self._user:
            self._user = badge
            self.forget_user()

    def forget_user(self) -> None:
        """Drop what the screens held for the officer who signed out: the subject search, the squad day
        and filters, the draft in memory. Nothing stored is touched: each officer's draft stays in the store
        under the officer's badge and comes back at the officer's next sign-in."""
        self.drafts.draft = None  # first: what is only in memory goes before anything reads the store
        self.subjects.forget()
        self.subject_edit.close()
        self.squad.forget()
        self.identity.load()  # the lists the new leader fetched (none for an officer)

    def check_store(self) -> bool:
        """The store's scheduled full integrity check, when due (``Store.integrity_check_due``); at most once
        per process. Slow (a second or more on a big store): the app calls it on a background thread once
        the first screen is drawn. On damage the store already refuses writes; this keeps the error in
        ``store_damage`` and notifies ``health`` so every screen shows it. Returns whether it ran."""
        with self._store_check:
            if self._store_checked:
                return False
            self._store_checked = True
        if not self.store.integrity_check_due():
            return False
        try:
            self.store.check_integrity()
        except LocalizedError as exc:
            if exc.code != "store_corrupt":
                raise
            self.store_damage = exc
            self.health.notify()
        return True

    def start(self) -> None:
        """Start the background link (and its automatic syncing if an officer is signed in)."""
        self.link.start()
        if self.session.signed_in:
            self.link.set_auto(True)

    def stop(self) -> None:
        self.link.stop()

    def sweep_photos(self) -> int:
        """Delete photo files that neither a saved case nor any officer's draft points at."""
        keep = set(self.store.photo_hashes())
        for badge in set(self.session.known_badges()) | {
            self.session.officer.badge if self.session.officer else ""
        }:
            key = metakeys.DRAFT.format(badge=badge)
            draft = Draft.from_json(self.store.meta_get(key)) if badge else None
            if draft is not None:
                keep |= draft.photo_hashes
        return self.photos.sweep(keep)
