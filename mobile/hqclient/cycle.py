"""The sync cycle: sign-in, and one ``sync_once`` that drives the outbox and the photo queue to HQ and
applies HQ's changes.

One ``sync_once`` does, in order: push the outbox in bounded batches (a record leaves the outbox only after
HQ answered that it has it, committed), upload the photos HQ lacks (``mobile.hqclient.uploads``: checked
by hash first, so nothing is sent twice), pull HQ's changes page by page (the cursor is saved after each
applied page), and finally record "last confirmed sync" in *server* time (the device clock is never
trusted).

Failures (the requests themselves: ``mobile.hqclient.transport``):

- network errors and 5xx → retried with exponential backoff and jitter (``sleep``/``rng`` injectable);
  429/503 → wait as long as ``Retry-After`` says; when the attempts are used up, ``ServerUnreachable``.
- 401 → ``SignInRequired`` ("请重新登录" / "sign in again"); every record stays in the outbox.
- a 4xx about one record → that record is parked with HQ's reason (``Store.outbox_parked``) and the rest
  go on; a whole batch refused (413 too large, 422 malformed) is split until the bad record stands alone,
  then parked.
- 426 → ``ProtocolMismatch`` (update the app).

``sync_once`` returns a ``SyncReport``; its ``error`` is the LocalizedError that stopped it (None when it
finished). ``hook(step)`` is called at each step (tests raise there to simulate the app being killed).
"""

from __future__ import annotations

import contextlib
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

import httpx
from pydantic import ValidationError

from enforcement.codec import case_from_dict, from_json_dict, subject_from_dict, to_json_dict
from enforcement.model import Officer, Review, Shift, SyncState
from enforcement.noticebook import NoticeBook
from enforcement.text import LocalizedError
from mobile import metakeys, secretstore
from mobile.hqclient.devicekey import device_key
from mobile.hqclient.errors import (
    CertificateRejected,
    ServerRefused,
    ServerUnreachable,
    SignInFailed,
    SignInRequired,
    SyncError,
)
from mobile.hqclient.identity import IdentityClient
from mobile.hqclient.ports import ClientStore, OutboxRecord, PhotoFiles
from mobile.hqclient.report import Phase, Progress, ProgressCallback, SyncReport
from mobile.hqclient.tls import check_cleartext, ssl_context
from mobile.hqclient.transport import RetryPolicy, Transport, parse
from mobile.hqclient.uploads import UPLOAD_WORKERS, PhotoUploads
from mobile.hqclient.zones import ZoneBatch
from mobile.policyheld import held_version, policy_value
from mobile.secretstore import MetaSecretStore, SecretStore
from sync.protocol import (
    CLIENT_BATCH_PAYLOAD_BYTES,
    ERRNO_MESSAGES,
    MAX_BATCH_RECORDS,
    PROTOCOL_VERSION,
    CaseStateData,
    CatalogueData,
    Change,
    Errno,
    HistoryData,
    NoticeBookSet,
    PolicyData,
    PullPage,
    PushBatch,
    PushRecord,
    PushResponse,
    RecordResult,
    SignInRequest,
    SignInResponse,
    SquadCaseData,
    SquadShiftData,
    SubjectAliasData,
    SubjectMeta,
    TombstoneData,
    WorkOrderData,
)


@dataclass(frozen=True, slots=True)
class Acked:
    """What HQ acknowledged of one pushed batch."""

    records: int = 0
    bytes: int = 0


@dataclass(frozen=True, slots=True)
class Parking:
    """Why a record leaves the outbox for the officer's attention: HQ's errno as a code and both texts."""

    code: str
    reason_zh: str
    reason_en: str

    @classmethod
    def of(cls, errno: int | None, zh: str, en: str) -> Parking:
        known = errno is not None and errno in Errno._value2member_map_
        code = Errno(errno).name.lower() if known and errno is not None else f"errno_{errno}"
        return cls(code, zh, en)


class SyncClient:
    """Sync of one phone store with HQ over ``http`` (an ``httpx.Client`` whose base_url is HQ).

    The bearer token lives in ``secrets`` (``mobile.secretstore``): the officer app passes its secure
    storage; without one (benches, wire tests) it is kept in the store's meta table.
    """

    def __init__(
        self,
        http: httpx.Client,
        store: ClientStore,
        photos: PhotoFiles,
        *,
        on_progress: ProgressCallback | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rng: Callable[[], float] = random.random,
        retry: RetryPolicy | None = None,
        hook: Callable[[str], None] | None = None,
        batch_records: int = MAX_BATCH_RECORDS,
        batch_bytes: int = CLIENT_BATCH_PAYLOAD_BYTES,
        upload_workers: int = UPLOAD_WORKERS,
        secrets: SecretStore | None = None,
    ) -> None:
        self.http = http
        self.store = store
        self.secrets: SecretStore = secrets if secrets is not None else MetaSecretStore(store)
        self.photos = photos
        self.on_progress = on_progress
        self.hook = hook
        self.batch_records = batch_records
        self.batch_bytes = batch_bytes
        self.transport = Transport(
            http,
            lambda: self.secrets.get(secretstore.TOKEN),
            sleep=sleep,
            rng=rng,
            retry=retry,
            on_retry=lambda: self._progress(Phase.CONNECTING),
        )
        self.uploads = PhotoUploads(
            self.transport, store, photos, workers=upload_workers, step=self._step, progress=self._progress
        )
        self.identity = IdentityClient(self.transport)  # the leader's merge and conflict requests (#22)
        self._server_time: datetime | None = None
        self._missing_at_hq: set[str] = set()  # photo hashes HQ said it lacks, during one sync

    @property
    def retry(self) -> RetryPolicy:
        return self.transport.retry

    @property
    def upload_workers(self) -> int:
        return self.uploads.workers

    # ------------------------------------------------------------------------------------ plumbing

    def _step(self, name: str) -> None:
        if self.hook is not None:
            self.hook(name)

    def _progress(
        self, phase: Phase, done: int = 0, total: int = 0, bytes_done: int = 0, bytes_total: int = 0
    ) -> None:
        if self.on_progress is not None:
            self.on_progress(Progress(phase, done, total, bytes_done, bytes_total))

    def _note_server_time(self, moment: datetime) -> None:
        self._server_time = moment

    # ------------------------------------------------------------------------------------ sign-in

    def sign_in(self, badge: str, pin: str) -> Officer:
        """Sign in on this device (proving its device key); saves the token and the officer. Raises
        SignInFailed / DeviceBlocked (HQ revoked this device) / SyncError. Tokens signed out while offline
        are revoked first."""
        self.revoke_pending()
        request = SignInRequest(
            protocol=PROTOCOL_VERSION,
            badge=badge.strip(),
            pin=pin,
            device_id=self.store.device_id,
            device_key=device_key(self.secrets, self.store),
        )
        try:
            response = self.transport.request(
                "POST", "/v1/auth/sign-in", auth=False, json=request.model_dump(mode="json")
            )
        except ServerRefused as exc:
            raise SignInFailed(exc.body) from exc
        except SignInRequired as exc:  # 401 on sign-in = wrong badge or PIN
            raise SignInFailed.bad_credentials() from exc
        answer = parse(SignInResponse, response)
        self.secrets.set(secretstore.TOKEN, answer.token)
        self.store.meta_set(metakeys.TOKEN_EXPIRES, answer.expires_at.isoformat())
        self.store.meta_set(metakeys.OFFICER, to_json_dict(answer.officer))
        self.store.save_officer(answer.officer)
        return answer.officer

    def sign_out(self) -> None:
        """Forget the token locally at once and revoke it at HQ; if HQ is not reachable the revocation
        stays queued (``secretstore.REVOKE_PENDING``) and goes first on the next connection."""
        token = self.secrets.get(secretstore.TOKEN)
        self.secrets.delete(secretstore.TOKEN)
        if token:
            secretstore.queue_revocation(self.secrets, token)
        with contextlib.suppress(SyncError):  # still queued: sign_in and sync_once send it first
            self.revoke_pending()

    def revoke_pending(self) -> int:
        """Send every queued revocation (POST /v1/auth/sign-out with that token); returns how many HQ
        took. A token HQ no longer accepts (401/403: expired, revoked) or refuses is dropped from the
        queue; ServerUnreachable leaves the rest queued and propagates."""
        done = 0
        for token in secretstore.pending_revocations(self.secrets):
            try:
                response = self.transport.request(
                    "POST",
                    "/v1/auth/sign-out",
                    auth=False,
                    ok_statuses=(401, 403),
                    extra_headers={"Authorization": f"Bearer {token}"},
                )
            except ServerRefused:
                response = None
            if response is not None and response.status_code < 300:
                done += 1
            secretstore.forget_revocation(self.secrets, token)
        return done

    def assign_work_order(self, order_id: str, badge: str) -> dict[str, Any]:
        """A leader (re)assigns one of the squad's work orders (``POST /v1/workorders/{id}/assign``; HQ
        checks the squad from the token); returns HQ's view of the order. ``ServerRefused`` carries
        HQ's reason in both languages."""
        response = self.transport.request(
            "POST", f"/v1/workorders/{quote(order_id, safe='')}/assign", json={"badge": badge}
        )
        answer = response.json()
        if not isinstance(answer, dict):
            return {}
        # HQ's answer is the order as the leader now sees it: kept at once (the next pull confirms it)
        with contextlib.suppress(ValidationError):
            known = {k: v for k, v in answer.items() if k in WorkOrderData.model_fields}
            self.store.apply_squad_work_order(WorkOrderData.model_validate(known).model_dump(mode="json"))
        return dict(answer)

    @property
    def signed_in(self) -> bool:
        return bool(self.secrets.get(secretstore.TOKEN))

    def last_confirmed_sync(self) -> datetime | None:
        """HQ's time at the end of the last sync that finished (not the device clock)."""
        value = self.store.meta_get(metakeys.LAST_CONFIRMED)
        return datetime.fromisoformat(value) if value else None

    # ------------------------------------------------------------------------------------ sync

    def sync_once(self) -> SyncReport:
        """Push, upload photos, pull. Stops at the first error that stops everything (in ``error``)."""
        report = SyncReport()
        self._server_time = None
        self._missing_at_hq = set()
        try:
            self._progress(Phase.CONNECTING)
            self.revoke_pending()  # a sign-out made offline reaches HQ before anything else
            self._push_all(report)
            self.uploads.run(report, self._missing_at_hq)
            self._pull_all(report)
        except ServerUnreachable as exc:
            report.error = exc
            self._progress(Phase.OFFLINE)
            return report
        except SyncError as exc:
            report.error = exc
            self._progress(Phase.ERROR)
            return report
        report.server_time = self._server_time
        if self._server_time is not None:
            self.store.meta_set(metakeys.LAST_CONFIRMED, self._server_time.isoformat())
        self._progress(Phase.IDLE)
        return report

    # -- push

    def _push_all(self, report: SyncReport) -> None:
        records_total, bytes_total = self.store.outbox_stats()
        done = bytes_done = 0
        limit = self.batch_records
        stalled: set[int] = set()
        self._progress(Phase.PUSHING, 0, records_total, 0, bytes_total)
        while True:
            entries = self.store.outbox_pending(max_records=limit, max_bytes=self.batch_bytes)
            if not entries or all(e.seq in stalled for e in entries):
                return
            try:
                acked = self._push_batch(entries, report, stalled)
            except ServerRefused as exc:
                if exc.status not in (413, 422):
                    raise
                if len(entries) > 1:  # split until the record HQ cannot take stands alone
                    limit = max(1, len(entries) // 2)
                    continue
                self._park(
                    entries[0], Parking.of(exc.errno, exc.body.message_zh, exc.body.message_en), report
                )
                limit = self.batch_records
                continue
            limit = self.batch_records
            done += acked.records
            bytes_done += acked.bytes
            self._progress(Phase.PUSHING, done, records_total, bytes_done, bytes_total)

    def _park(self, entry: OutboxRecord, parking: Parking, report: SyncReport) -> None:
        self.store.outbox_park(entry.seq, parking.code, parking.reason_zh, parking.reason_en)
        report.parked.append(entry.record_id)

    def _push_batch(self, entries: Sequence[OutboxRecord], report: SyncReport, stalled: set[int]) -> Acked:
        records: list[PushRecord] = []
        sendable: list[OutboxRecord] = []
        for entry in entries:
            try:
                records.append(
                    PushRecord.model_validate(
                        {
                            "kind": entry.kind,
                            "id": entry.record_id,
                            "device_seq": entry.seq,
                            "payload": entry.payload,
                        }
                    )
                )
                sendable.append(entry)
            except ValidationError:  # cannot even be put on the wire: park it, visible to the officer
                zh, en = ERRNO_MESSAGES[Errno.RECORD_INVALID]
                self._park(entry, Parking.of(int(Errno.RECORD_INVALID), zh, en), report)
        if not records:
            return Acked()
        batch = PushBatch(protocol=PROTOCOL_VERSION, device_id=self.store.device_id, records=records)
        self.store.outbox_attempted(e.seq for e in sendable)
        self._step("push:send")
        response = self.transport.request("POST", "/v1/push", json=batch.model_dump(mode="json"))
        answer = parse(PushResponse, response)
        self._note_server_time(answer.server_time)
        self._step("push:answered")
        acked: list[int] = []
        acked_bytes = 0
        for entry, result in zip(sendable, _match(sendable, answer.results), strict=True):
            if result is None:  # HQ said nothing about it: it stays in the outbox
                stalled.add(entry.seq)
                continue
            if result.acked:
                self._missing_at_hq.update(result.missing_photos)
                if entry.kind == "case":
                    state = SyncState.COMPLETE if result.complete else SyncState.SENT
                    self.store.set_sync_state(entry.record_id, state, result.hq_stage)
                if result.status == "duplicate":
                    report.duplicates += 1
                if result.status == "conflict":
                    report.stage_conflicts.append(entry.record_id)
                acked.append(entry.seq)
                acked_bytes += entry.size
            elif result.status == "deferred":
                stalled.add(entry.seq)
                report.deferred += 1
            else:
                self._park(entry, Parking.of(result.errno, result.reason_zh, result.reason_en), report)
        self._step("push:applied")
        self.store.outbox_ack(acked)
        self._step("push:acked")
        report.pushed += len(acked)
        return Acked(len(acked), acked_bytes)

    # -- pull

    def _pull_all(self, report: SyncReport) -> None:
        self._progress(Phase.PULLING)
        while True:
            cursor = self.store.meta_get(metakeys.CURSOR)
            params: dict[str, Any] = {"cursor": cursor} if cursor else {}
            params["policy"] = held_version(self.store.meta_get)  # HQ then sends the policy in force
            params["aliases"] = "true"  # this build knows subject_alias changes (issue #22)
            params["books"] = "true"  # and keeps the officer's notice books (issue #18)
            try:
                response = self.transport.request("GET", "/v1/changes", params=params)
            except ServerRefused as exc:
                if exc.errno == Errno.BAD_CURSOR and cursor:  # e.g. HQ restored: start over
                    self.store.meta_set(metakeys.CURSOR, None)
                    continue
                raise
            page = parse(PullPage, response)
            self._note_server_time(page.server_time)
            zones = ZoneBatch()  # the page's zone changes: one transaction (hqclient.zones)
            for change in page.changes:
                if self._apply(change, zones):
                    report.changes_applied += 1
                else:
                    report.changes_rejected += 1
            zones.write(self.store)
            if page.notice_books is not None:
                self._apply_books(page.notice_books)
            self._step("pull:applied")
            self.store.meta_set(metakeys.CURSOR, page.cursor)
            self._step("pull:saved")
            self._progress(Phase.PULLING, report.changes_applied, report.changes_applied)
            if not page.more:
                return

    def _apply_books(self, books: NoticeBookSet) -> None:
        """The signed-in officer's notice books, as HQ sent them on this pull (the token's officer)."""
        officer = self.store.meta_get(metakeys.OFFICER)
        badge = officer.get("badge") if isinstance(officer, dict) else None
        if isinstance(badge, str) and badge:
            self.store.apply_notice_books(badge, [
                NoticeBook(b.book_id, b.series, b.first, b.last, b.width, badge, frozenset(b.used))
                for b in books.books
            ])  # fmt: skip

    def _apply(self, change: Change, zones: ZoneBatch) -> bool:
        """Apply one change to the phone store (a zone change: checked and kept in ``zones``, written with
        the page's others); False when its data is unusable (it is skipped)."""
        try:
            if change.kind == "subject":
                self.store.apply_remote_subject(subject_from_dict(change.data))
                meta = SubjectMeta.model_validate(change.data)
                if meta.version:  # HQ's version and edits (issue #22; an older HQ sends none)
                    edits = [e.model_dump(mode="json") for e in meta.edits]
                    self.store.apply_subject_meta(change.id, meta.version, edits)
            elif change.kind == "subject_alias":
                alias = SubjectAliasData.model_validate(change.data)
                self.store.apply_subject_alias(alias.alias_id, alias.survivor_id)
            elif change.kind == "tombstone":
                self.store.delete_subject(TombstoneData.model_validate(change.data).id)
            elif change.kind == "history":
                history = HistoryData.model_validate(change.data)
                self.store.add_remote_history(history.subject_id, history.entries)
            elif change.kind == "review":
                self.store.apply_review(from_json_dict(Review, change.data))
            elif change.kind == "case_state":
                state = CaseStateData.model_validate(change.data)
                self.store.set_sync_state(
                    state.case_id,
                    state.state,
                    state.hq_stage,
                    hq_reason_zh=state.hq_reason_zh,
                    hq_reason_en=state.hq_reason_en,
                    received_at=state.received_at,
                )
            elif change.kind == "catalogue":
                version = CatalogueData.model_validate(change.data).version
                self.store.meta_set(metakeys.CATALOGUE_VERSION, version)
            elif change.kind == "policy":
                policy = PolicyData.model_validate(change.data)
                if policy.version > held_version(self.store.meta_get):
                    self.store.meta_set(metakeys.POLICY, policy_value(policy.version, policy.document))
            elif change.kind == "squad_case":
                squad_case = SquadCaseData.model_validate(change.data)
                self.store.apply_squad_case(
                    case_from_dict(squad_case.case),
                    hq_stage=squad_case.hq_stage,
                    reviews=[from_json_dict(Review, review) for review in squad_case.reviews],
                    officer_name=squad_case.officer_name,
                    subject_label=squad_case.subject_label,
                    missing_photos=squad_case.missing_photos,
                    hq_reason_zh=squad_case.hq_reason_zh,
                    hq_reason_en=squad_case.hq_reason_en,
                    received_at=squad_case.received_at,
                    device_first_seen=squad_case.device_first_seen,
                )
            elif change.kind == "zone":
                zones.add(change)
            elif change.kind == "work_order":
                self._apply_work_order(change)
            elif change.kind == "squad_shift":
                squad_shift = SquadShiftData.model_validate(change.data)
                self.store.apply_squad_shift(
                    from_json_dict(Shift, squad_shift.shift),
                    officer_name=squad_shift.officer_name,
                    squad_code=squad_shift.squad_code,
                )
        except (ValidationError, LocalizedError):
            return False
        return True

    def _apply_work_order(self, change: Change) -> None:
        """An order as its officer sees it (key ``<id>@<badge>``): upserted by order id, dropped when
        ``assigned_to_you`` is false; a leader's squad view (``<id>#<squad>``) goes to the squad's orders
        (the leader's work-order list and the squad day log)."""
        order = WorkOrderData.model_validate(change.data)
        if "@" in change.id:
            self.store.apply_work_order(order.model_dump(mode="json"))
        elif "#" in change.id:
            self.store.apply_squad_work_order(order.model_dump(mode="json"))


def _match(entries: Sequence[OutboxRecord], results: list[RecordResult]) -> list[RecordResult | None]:
    """HQ's result for each entry: by position when HQ answered every record in order (one record id may
    appear twice in a batch, e.g. a shift started and then ended), otherwise by id."""
    in_order = len(results) == len(entries) and all(
        r.id == e.record_id for r, e in zip(results, entries, strict=True)
    )
    if in_order:
        return list(results)
    by_id = {r.id: r for r in results}
    return [by_id.get(e.record_id) for e in entries]


def connect(
    hq_url: str,
    store: ClientStore,
    photos: PhotoFiles,
    *,
    on_progress: ProgressCallback | None = None,
    retry: RetryPolicy | None = None,
    timeout: float = 30.0,
    secrets: SecretStore | None = None,
    ca_pem: str | None = None,
    allow_http: bool = False,
) -> SyncClient:
    """A SyncClient talking to HQ at ``hq_url`` over its own ``httpx.Client``: the officer app's entry
    point (``mobile.state.backend``), so httpx stays inside this package. Close with
    ``client.http.close()``.

    ``CleartextRefused`` (before any connection) for an ``http://`` address that is not loopback, unless
    ``allow_http`` (development builds). Certificates are verified against ``ca_pem`` only (the bureau's
    pinned CA) when given, else the public CAs (``mobile.hqclient.tls``)."""
    check_cleartext(hq_url, allow_http=allow_http)
    try:
        context = ssl_context(ca_pem)
    except ValueError as exc:
        raise CertificateRejected("unknown_ca", str(exc)) from exc
    http = httpx.Client(base_url=hq_url, timeout=timeout, verify=context)
    return SyncClient(http, store, photos, on_progress=on_progress, retry=retry, secrets=secrets)
