"""The wire between the phone and HQ: versioned pydantic models, the error shape and its numbers. No I/O.

Both sides import this module, so a field added here is added for both. pydantic 2.9-compatible API only
(it runs on the phone).

Endpoints (HQ, all JSON unless said; every request may carry ``X-StreetPatrol-Protocol: <n>``)::

    GET  /v1/health                       ServerInfo                    (no token)
    POST /v1/auth/sign-in                 SignInRequest → SignInResponse (no token)
    POST /v1/auth/sign-out                → RevokeResponse              (revokes the calling token)
    GET  /v1/devices                      → DeviceList                  (own devices; HQ: ?badge=)
    POST /v1/devices/{device_id}/revoke   → RevokeResponse              (own device; HQ: ?badge= any)
    POST /v1/push                         PushBatch → PushResponse
    HEAD /v1/photos/{sha256}              200 when HQ has it, 404 otherwise (+ Upload-Offset, see below)
    PUT  /v1/photos/{sha256}              raw bytes (application/octet-stream) → PhotoUploadResult
    GET  /v1/changes?cursor=&limit=       → PullPage
    GET  /v1/photos/{sha256}              the photo's bytes (a case of it in the caller's scope)
    GET  /v1/cases, /v1/cases/{id}        → CaseList / CaseDetail, scoped (own / squad / everything)
    GET  /v1/subjects, /v1/subjects/{id}  → SubjectList / Subject dict: the caller's district registry
    GET  /v1/zones                        → the current zone set, a GeoJSON FeatureCollection (WGS84)
    PUT  /v1/zones                        GeoJSON bytes → ZoneImportResult (HQ only; bad: 422 ZONES_INVALID)
    GET  /v1/policy                       → PolicyInfo: the staged rule's policy in force and its history
                                          (HQ users only; phones get it as the ``policy`` change)

Resumable photo uploads (optional; a phone that never resumes sends whole bodies as before): when a PUT
is cut off mid-body, HQ keeps the bytes it received as a *partial* of that photo for that signed-in device
(bounded, dropped after a while). A 404 answer to HEAD then carries ``Upload-Offset: <n>``, the bytes HQ
holds; the phone resumes with ``PUT`` of the file's bytes from ``n`` on and ``Upload-Offset: <n>``. Any
offset up to what HQ holds is taken (HQ keeps that prefix); a larger one is refused with
``UPLOAD_OFFSET_MISMATCH`` (409, the held offset in ``detail["offset"]`` and the header). HQ checks the
hash and the evidence rules on the whole file; a mismatch discards the partial (the phone starts over).
When HQ stored a photo's file but could not record it (its database failed after the whole body, 503),
HEAD answers 404 with ``Upload-Offset`` = the file's size to the officer whose case lists it, and a PUT
from there (no body) records it: the phone never sends those bytes again.

Record ids (``PushRecord.id``, the ``review_id`` of a leader's review request at HQ) follow
``RECORD_ID_PATTERN`` (the ids phones make, UUIDs, fit): a request with another is refused whole, 422
``VALIDATION`` naming the field, before anything of it is stored. Device ids (sign-in, push batches)
follow the same rule.

Every error has one JSON shape, ``ErrorBody``, with a stable ``errno`` (numbers are never reused or
renumbered) whose HTTP status is ``ERRNO_HTTP_STATUS[errno]``, and the message in both UI languages.

Change ``data`` shapes (validated with the models at the end of the module)::

    subject     Subject dict (enforcement.codec.to_json_dict)
    history     HistoryData   {subject_id, entries: [HistoryEntry dict]}
    review      Review dict
    catalogue   CatalogueData {version}
    tombstone   TombstoneData {kind: "subject", id}
    case_state  CaseStateData {case_id, case_no, state: SyncState, hq_stage, hq_reason_zh, hq_reason_en,
                               missing_photos, received_at}   (the officer's own case; the reasons: see
                               below)
    squad_case  SquadCaseData {case: Case dict, hq_stage, hq_reason_zh, hq_reason_en, reviews: [Review dict],
                               officer_name, subject_label, missing_photos: int, received_at,
                               device_first_seen}
                               (leaders of the squad)
    squad_shift SquadShiftData {shift: Shift dict, officer_name, squad_code}         (leaders of the squad)
    zone        ZoneData      {version, total, feature: GeoJSON Feature | null}      (everyone; hq.zones)
    policy      PolicyData    {version, document, created_at}   (everyone; key "policy"; see below)
    subject_alias SubjectAliasData {alias_id, survivor_id}  (district; key: the alias id; see below)

``squad_case`` (key: the case version's id) and ``squad_shift`` (key: the shift id) reach only the leaders of
the case's / shift's squad; HQ re-sends a ``squad_case`` whenever its view of the version changes (stage,
photos, reviews), so the newest one is the one to keep.

``hq_reason_zh`` / ``hq_reason_en`` of ``case_state`` (added later, default ""): HQ's reason for its stage,
the same explanation ``squad_case`` carries ("第3次 · 处罚：10-02 劝导，11-01 警告"), so the officer sees why
HQ's stage differs. An older HQ omits them (the phone shows HQ's stage alone); an older phone ignores them.

``device_first_seen`` of ``squad_case`` (added later, issue #14): the first sign-in at HQ of the device
that recorded the version, from HQ's devices table (never from a payload), so the leader's phone flags a
case timed more than a day before it (``time_before_device``) exactly as HQ's queue does. An older HQ omits
it (the phone flags nothing of the kind, as before); an older phone ignores it.

``policy`` (added later): the staged rule's policy in force (``enforcement.policy``; ``document`` at most
``MAX_DOCUMENT_BYTES`` of canonical JSON, checked by ``parse_policy``). HQ sends it only to a pull that
says which version it holds (``GET /v1/changes?policy=N``, 0: none yet): an older phone, whose ``Change``
does not know the kind, never gets one; and a pull holding an older version than the one in force gets it
on its first page even when its cursor is past the feed's ``policy`` change (a phone upgraded from a
build before policies). A case records the version it was staged under (``Case.policy_version``).

Notice books (added later, issue #18): a pull asking ``GET /v1/changes?books=true`` gets, on its last page
(``more`` false), ``notice_books``: every open warning-notice book of the signed-in officer (at most
``MAX_NOTICE_BOOKS``, each at most ``enforcement.noticebook.MAX_BOOK_SIZE`` numbers, with the numbers HQ
already saw used). When the officer's unused numbers are below the district series' threshold, HQ issues
the next free range first (``hq.notices``). An older phone never asks and never gets them.

``subject_alias`` (added later, issue #22): a leader or HQ merged subject ``alias_id`` into
``survivor_id`` (``POST /v1/subjects/{id}/merge``); ``survivor_id`` "" undoes it (unmerge). The phone
resolves the alias offline: search shows the survivor, its history holds both subjects' cases. HQ sends it
only to a pull asking ``GET /v1/changes?aliases=true`` (an older phone's ``Change`` does not know the kind).

Subject identity endpoints (issue #22; a leader within their district, HQ anywhere, officers 403)::

    POST /v1/subjects/{id}/merge {into}   MergeRequest → MergeResult (``id`` becomes an alias of ``into``)
    POST /v1/subjects/{id}/unmerge        → MergeResult (``id`` is its own subject again)
    GET  /v1/merge-suggestions            → MergeSuggestionList (open alike pairs of the caller's district)
    GET  /v1/subjects/{id}/history        → SubjectHistory (every write: who, device, when, which fields;
                                            anyone who may read the subject)
    GET  /v1/subject-conflicts            → SubjectConflictList (open field conflicts of the district)
    POST /v1/subject-conflicts/{id}/resolve {take: "hq"|"pushed"} → SubjectConflictOut

Subject edits (issue #22): a pushed subject payload may carry ``base_version`` (optional; an older phone
sends none and its whole record wins, as before): the ``version`` of the subject the edit was made from,
which the ``subject`` change now carries (with ``edits``: the last writes, who / device / when / fields).
HQ merges the edit field by field against that base; a field changed two ways is a conflict kept for
the leader (``hq.subjectedit``); the push answer is then ``accepted`` with the reason.

Why this module is long (over 600 lines): it is the wire specification, kept in one place so that phone
and HQ read the same definitions.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from enum import IntEnum
from typing import Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from enforcement.codec import storable
from enforcement.limits import TEXT_LIMITS
from enforcement.model import HistoryEntry, Officer, Stage, SyncState
from enforcement.noticebook import (
    MAX_BOOK_SIZE,
    MAX_NUMBER,
    MAX_WIDTH,
    MIN_WIDTH,
    SERIES_PATTERN,
    range_problem,
    series_problem,
)
from enforcement.policy import Policy, PolicyError, parse_policy
from enforcement.validation import MAX_POLICY_VERSION

#: The protocol this build speaks. Bumped on an incompatible change; HQ keeps serving older versions it
#: lists in SUPPORTED_PROTOCOLS for as long as phones in the field may still run them.
PROTOCOL_VERSION = 1
SUPPORTED_PROTOCOLS: frozenset[int] = frozenset({1})
PROTOCOL_HEADER = "X-StreetPatrol-Protocol"

#: A push batch: at most this many records …
MAX_BATCH_RECORDS = 100
#: … and at most this many bytes of request body (the phone packs batches by payload size well below it).
MAX_BATCH_BYTES = 1_048_576
#: A record's payload is a codec JSON object of at most this many keys (a Case has about 30) …
MAX_PAYLOAD_KEYS = 128
#: … and its device sequence number fits a signed 64-bit column.
MAX_DEVICE_SEQ = 2**63 - 1
#: Payload bytes the phone packs into one batch (leaves room for the envelope within MAX_BATCH_BYTES).
CLIENT_BATCH_PAYLOAD_BYTES = 512_000
#: One evidence photo on the wire (phones send ~0.3–1 MB JPEGs; processed photos are far below this).
MAX_PHOTO_BYTES = 16 * 2**20
#: The longest edge of an evidence photo a phone can be set to make (``mobile.state.settings``'s
#: PHOTO_EDGE_MAX; the pipeline's default is 1600 px): HQ's default ``max_photo_edge``.
MAX_PHOTO_EDGE = 4096
#: Pull page size bounds.
DEFAULT_PULL_LIMIT = 200
MAX_PULL_LIMIT = 1000
#: Days of the squad's cases and shifts a leader's pull carries (HQ's default ``squad_window``); older days
#: are read at HQ (day log report, dashboard), not kept on the phone.
SQUAD_FEED_DAYS = 62
#: ``SquadCaseData.device_first_seen`` lies in ``[FIRST_SEEN_MIN, FIRST_SEEN_MAX)`` (HQ's clock when a device
#: first signed in; outside it a feed entry is refused whole, before the phone's time rule subtracts from it)
FIRST_SEEN_MIN = datetime(2000, 1, 1, tzinfo=UTC)
FIRST_SEEN_MAX = datetime(2100, 1, 1, tzinfo=UTC)

#: Open notice books of one officer on a pull (``NoticeBookSet``); HQ sends the oldest this many.
MAX_NOTICE_BOOKS = 20

#: Header of resumable photo uploads (HEAD answer, resumed PUT request): bytes of the photo HQ already holds.
UPLOAD_OFFSET_HEADER = "Upload-Offset"

SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
SHA256_PATTERN = r"^[0-9a-f]{64}$"

#: What a record id may be (the id of a case version, subject, shift or review, chosen by the phone or a
#: leader): 1-64 ASCII letters, digits, "-", "_" and ".", the first a letter or a digit. Such an id can
#: stand in a URL path segment as is (``GET /v1/cases/{id}``), a file name, a CSV cell or a log line;
#: phones make UUIDs (``enforcement.model.new_id``), which fit. The length is in the pattern, so every
#: refusal is one ``string_pattern_mismatch`` that HQ explains with RECORD_ID_RULE. pydantic matches
#: with the Rust regex engine, whose ``$`` is the end of the text (a trailing newline is refused too).
RECORD_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
#: The rule in words (zh, en), for the validation error of a field that breaks it.
RECORD_ID_RULE: tuple[str, str] = (
    "记录编号须为 1–64 个字符，只能包含英文字母、数字和“-”“_”“.”，并以字母或数字开头",
    "a record id must be 1-64 characters of ASCII letters, digits, '-', '_' and '.', "
    "starting with a letter or a digit",
)
#: Every wire field that carries a record id coming from a phone or a leader uses this type. Fields HQ
#: sends (results, changes, summaries) stay plain ``str``: they echo ids HQ already holds.
RecordId = Annotated[str, StringConstraints(pattern=RECORD_ID_PATTERN)]
#: A device id (a phone makes a UUID at first open; the dashboard "web-<hex>") follows the same rule: it
#: stands in ``POST /v1/devices/{device_id}/revoke`` and in the audit log. Its refusal names the rule as
#: DEVICE_ID_RULE (HQ tells the two apart by the field's name).
DeviceId = RecordId
DEVICE_ID_RULE: tuple[str, str] = (
    "设备编号须为 1–64 个字符，只能包含英文字母、数字和“-”“_”“.”，并以字母或数字开头",
    "a device id must be 1-64 characters of ASCII letters, digits, '-', '_' and '.', "
    "starting with a letter or a digit",
)

RecordKind = Literal["case", "subject", "shift", "review", "work_order_arrival", "work_order_resolution"]
RecordStatus = Literal["accepted", "duplicate", "conflict", "deferred", "refused"]
ChangeKind = Literal[
    "subject",
    "history",
    "review",
    "catalogue",
    "tombstone",
    "case_state",
    "squad_case",
    "squad_shift",
    "zone",
    "policy",
    "work_order",
    "subject_alias",
]

#: Statuses after which the phone may delete the record from its outbox (HQ has it, committed).
ACKED_STATUSES: frozenset[str] = frozenset({"accepted", "duplicate", "conflict"})


class Errno(IntEnum):
    """Stable error numbers. Append only; never renumber or reuse."""

    # 1xxx: the request itself
    VALIDATION = 1001  # body or parameters do not match the schema
    UNSUPPORTED_PROTOCOL = 1002  # the phone speaks a protocol version HQ does not
    BATCH_TOO_MANY_RECORDS = 1003
    BATCH_TOO_LARGE = 1004  # request body over MAX_BATCH_BYTES
    NOT_FOUND = 1005
    METHOD_NOT_ALLOWED = 1006
    BAD_CURSOR = 1007
    BAD_HASH = 1008  # a path hash that is not 64 lowercase hex digits
    BODY_TOO_LARGE = 1009  # a request body over its route's cap (not a push batch, not a zone file)
    ZONES_INVALID = 1030  # bad features in a zone import (detail["problems"]: [{index, zh, en}])
    ZONES_TOO_LARGE = 1031  # a zone file over enforcement.zones.MAX_FILE_BYTES
    WORK_ORDER_INVALID = 1050  # a complaint or a desk/leader action on a work order that is not valid
    NOTICE_BOOK_INVALID = 1060  # a notice book request that is not valid (series, range, officer)
    NOTICE_BOOK_OVERLAP = 1061  # the range overlaps a book already issued, or the series is used up
    # 2xxx: who is asking
    BAD_CREDENTIALS = 2001  # wrong badge or PIN (never says which)
    TOKEN_MISSING = 2002
    TOKEN_INVALID = 2003
    TOKEN_EXPIRED = 2004
    TOKEN_REVOKED = 2005
    TOO_MANY_ATTEMPTS = 2006  # sign-in throttled; see Retry-After
    FORBIDDEN = 2007  # signed in, but this is outside the caller's scope
    ACCOUNT_DISABLED = 2008
    DEVICE_MISMATCH = 2009  # the batch names another device than the token's
    DEVICE_REVOKED = 2010  # this device (or this badge on it) was revoked; HQ must re-enable it
    DEVICE_BOUND = 2011  # the device id is bound to another phone: its device key was not presented
    # 3xxx: one record of a push batch
    RECORD_INVALID = 3001  # the payload is not a valid record of its kind
    RECORD_NOT_OWNED = 3002  # e.g. a case of another officer's badge
    RECORD_ID_REUSED = 3003  # same id as a stored record, different content
    UNKNOWN_KIND = 3004
    SUPERSEDES_UNKNOWN = 3005  # an amendment of a case version HQ does not have
    VERSION_CONFLICT = 3006  # an amendment of a version that is already superseded
    UNKNOWN_CASE = 3007  # a review of a case HQ does not have
    SCOPE_MISMATCH = 3008  # squad / device / district not the session's (or stored row's)
    CASE_NO_INVALID = 3009  # a case number not parsing or not carrying the squad and badge
    SECOND_OFFICER_INVALID = 3010  # a seizure's second officer is no active officer of the case's squad
    TEXT_TOO_LONG = 3011  # a free-text field over its enforcement.limits.TEXT_LIMITS entry (names the field)
    WORK_ORDER_UNKNOWN = 3020  # a work-order event of an order HQ does not have (deferred)
    WORK_ORDER_NOT_ASSIGNED = 3021  # a work-order event from an officer the order is not assigned to
    WORK_ORDER_EVENT_INVALID = 3022  # e.g. a closure without a note or photo, a bad round
    WORK_ORDER_STATE = 3023  # the order is not in a state for this (already resolved, not followed up …)
    SUBJECT_MERGE_INVALID = 3040  # a merge of a subject into itself, another district's or a merged one
    SUBJECT_NOT_MERGED = 3041  # an unmerge of a subject that is no alias
    SUBJECT_CONFLICT_RESOLVED = 3042  # a subject field conflict that was resolved already
    # 4xxx: photos
    PHOTO_HASH_MISMATCH = 4001  # bytes do not hash to the name; nothing stored
    PHOTO_NOT_IN_MANIFEST = 4002  # no case of the caller lists this photo
    PHOTO_TOO_LARGE = 4003  # body over MAX_PHOTO_BYTES
    PHOTO_EMPTY = 4004
    PHOTO_NOT_FOUND = 4005
    PHOTO_NOT_EVIDENCE = 4006  # not a clean evidence JPEG (other format, truncated, bomb, trailing data…)
    PHOTO_MEDIA_TYPE = 4007  # Content-Type other than application/octet-stream or image/jpeg
    UPLOAD_OFFSET_MISMATCH = 4008  # a resumed PUT claims more bytes than HQ holds; detail["offset"]
    # 5xxx: HQ
    INTERNAL = 5001
    UNAVAILABLE = 5002  # storage busy or HQ restarting; see Retry-After


ERRNO_HTTP_STATUS: dict[Errno, int] = {
    Errno.VALIDATION: 422,
    Errno.UNSUPPORTED_PROTOCOL: 426,
    Errno.BATCH_TOO_MANY_RECORDS: 413,
    Errno.BATCH_TOO_LARGE: 413,
    Errno.NOT_FOUND: 404,
    Errno.METHOD_NOT_ALLOWED: 405,
    Errno.BAD_CURSOR: 400,
    Errno.BAD_HASH: 400,
    Errno.BODY_TOO_LARGE: 413,
    Errno.ZONES_INVALID: 422,
    Errno.ZONES_TOO_LARGE: 413,
    Errno.WORK_ORDER_INVALID: 422,
    Errno.NOTICE_BOOK_INVALID: 422,
    Errno.NOTICE_BOOK_OVERLAP: 409,
    Errno.WORK_ORDER_UNKNOWN: 409,
    Errno.WORK_ORDER_NOT_ASSIGNED: 403,
    Errno.WORK_ORDER_EVENT_INVALID: 422,
    Errno.WORK_ORDER_STATE: 409,
    Errno.BAD_CREDENTIALS: 401,
    Errno.TOKEN_MISSING: 401,
    Errno.TOKEN_INVALID: 401,
    Errno.TOKEN_EXPIRED: 401,
    Errno.TOKEN_REVOKED: 401,
    Errno.TOO_MANY_ATTEMPTS: 429,
    Errno.FORBIDDEN: 403,
    Errno.ACCOUNT_DISABLED: 403,
    Errno.DEVICE_MISMATCH: 403,
    Errno.DEVICE_REVOKED: 403,
    Errno.DEVICE_BOUND: 403,
    Errno.RECORD_INVALID: 422,
    Errno.RECORD_NOT_OWNED: 403,
    Errno.RECORD_ID_REUSED: 409,
    Errno.UNKNOWN_KIND: 422,
    Errno.SUPERSEDES_UNKNOWN: 409,
    Errno.VERSION_CONFLICT: 409,
    Errno.UNKNOWN_CASE: 409,
    Errno.SCOPE_MISMATCH: 403,
    Errno.CASE_NO_INVALID: 422,
    Errno.SECOND_OFFICER_INVALID: 422,
    Errno.TEXT_TOO_LONG: 422,
    Errno.SUBJECT_MERGE_INVALID: 422,
    Errno.SUBJECT_NOT_MERGED: 409,
    Errno.SUBJECT_CONFLICT_RESOLVED: 409,
    Errno.PHOTO_HASH_MISMATCH: 422,
    Errno.PHOTO_NOT_IN_MANIFEST: 403,
    Errno.PHOTO_TOO_LARGE: 413,
    Errno.PHOTO_EMPTY: 422,
    Errno.PHOTO_NOT_FOUND: 404,
    Errno.PHOTO_NOT_EVIDENCE: 422,
    Errno.PHOTO_MEDIA_TYPE: 415,
    Errno.UPLOAD_OFFSET_MISMATCH: 409,
    Errno.INTERNAL: 500,
    Errno.UNAVAILABLE: 503,
}

#: Default user-visible text per errno: (zh, en).
ERRNO_MESSAGES: dict[Errno, tuple[str, str]] = {
    Errno.VALIDATION: ("请求格式不正确", "The request is malformed"),
    Errno.UNSUPPORTED_PROTOCOL: (
        "应用版本过旧或过新，与指挥中心不兼容，请更新应用",
        "This app version is not compatible with HQ; please update the app",
    ),
    Errno.BATCH_TOO_MANY_RECORDS: ("一次提交的记录过多", "Too many records in one batch"),
    Errno.BATCH_TOO_LARGE: ("一次提交的数据过大", "The batch is too large"),
    Errno.NOT_FOUND: ("未找到", "Not found"),
    Errno.METHOD_NOT_ALLOWED: ("不支持该操作", "Method not allowed"),
    Errno.BAD_CURSOR: ("同步位置无效，请重新同步", "Invalid sync cursor; sync again from the start"),
    Errno.BAD_HASH: ("照片编号无效", "Invalid photo hash"),
    Errno.BODY_TOO_LARGE: ("请求内容过大", "The request body is too large"),
    Errno.ZONES_INVALID: (
        "区域文件中有无效的要素，未导入任何内容",
        "The zone file has invalid features; nothing was imported",
    ),
    Errno.ZONES_TOO_LARGE: ("区域文件过大", "The zone file is too large"),
    Errno.WORK_ORDER_INVALID: ("工单内容无效", "The work order is not valid"),
    Errno.NOTICE_BOOK_INVALID: ("通知书编号册无效", "The notice book is not valid"),
    Errno.NOTICE_BOOK_OVERLAP: ("编号范围与已发放的编号册重叠", "The range overlaps a book already issued"),
    Errno.WORK_ORDER_UNKNOWN: ("工单不存在", "Unknown work order"),
    Errno.WORK_ORDER_NOT_ASSIGNED: ("该工单未派给您", "This work order is not assigned to you"),
    Errno.WORK_ORDER_EVENT_INVALID: ("工单记录无效", "The work-order record is not valid"),
    Errno.WORK_ORDER_STATE: ("工单当前状态不允许此操作", "The work order is not in a state for this"),
    Errno.BAD_CREDENTIALS: ("警号或密码错误", "Wrong badge number or PIN"),
    Errno.TOKEN_MISSING: ("请先登录", "Please sign in"),
    Errno.TOKEN_INVALID: ("登录已失效，请重新登录", "Your session is not valid; please sign in again"),
    Errno.TOKEN_EXPIRED: ("登录已过期，请重新登录", "Your session has expired; please sign in again"),
    Errno.TOKEN_REVOKED: ("本设备已被注销，请重新登录", "This device was signed out; please sign in again"),
    Errno.TOO_MANY_ATTEMPTS: ("登录失败次数过多，请稍后再试", "Too many failed sign-ins; try again later"),
    Errno.FORBIDDEN: ("无权访问", "Not allowed"),
    Errno.ACCOUNT_DISABLED: ("账号已停用", "This account is disabled"),
    Errno.DEVICE_MISMATCH: ("设备与登录信息不符", "The device does not match the session"),
    Errno.DEVICE_REVOKED: (
        "此设备已被停用，请联系指挥中心",
        "This device has been disabled; please contact HQ",
    ),
    Errno.DEVICE_BOUND: (
        "该设备编号已绑定另一部手机，不能在此登录",
        "This device id is bound to another phone; sign-in refused",
    ),
    Errno.RECORD_INVALID: ("记录内容无效", "The record is not valid"),
    Errno.RECORD_NOT_OWNED: ("不能提交他人的记录", "You cannot submit another officer's record"),
    Errno.RECORD_ID_REUSED: ("记录编号已被其他内容使用", "The record id is already used with other content"),
    Errno.UNKNOWN_KIND: ("未知的记录类型", "Unknown record kind"),
    Errno.SUPERSEDES_UNKNOWN: ("被修改的案件版本不存在", "The case version being amended is unknown"),
    Errno.VERSION_CONFLICT: ("该案件已有更新的版本", "A newer version of this case already exists"),
    Errno.UNKNOWN_CASE: ("案件不存在", "Unknown case"),
    Errno.SCOPE_MISMATCH: (
        "记录的中队、辖区或设备与登录信息不符",
        "The record's squad, district or device does not match your session",
    ),
    Errno.CASE_NO_INVALID: (
        "案件编号无效或不属于本人",
        "The case number is not valid or does not carry your squad and badge",
    ),
    Errno.SECOND_OFFICER_INVALID: (
        "暂扣的另一名执法人员须为本中队在岗队员",
        "The second officer of a seizure must be an active officer of your squad",
    ),
    Errno.TEXT_TOO_LONG: ("记录中的文字过长", "A text field of the record is too long"),
    Errno.SUBJECT_MERGE_INVALID: (
        "不能合并：须为本辖区两个不同且未被合并的当事人",
        "Cannot merge: two different, unmerged subjects of one district are needed",
    ),
    Errno.SUBJECT_NOT_MERGED: ("该当事人未被合并", "This subject is not merged into another"),
    Errno.SUBJECT_CONFLICT_RESOLVED: ("该冲突已处理", "This conflict was resolved already"),
    Errno.PHOTO_HASH_MISMATCH: ("照片传输损坏，请重试", "The photo was damaged in transfer; retry"),
    Errno.PHOTO_NOT_IN_MANIFEST: ("该照片不属于您的案件", "This photo belongs to none of your cases"),
    Errno.PHOTO_TOO_LARGE: ("照片过大", "The photo is too large"),
    Errno.PHOTO_EMPTY: ("照片为空", "The photo is empty"),
    Errno.PHOTO_NOT_FOUND: ("指挥中心没有该照片", "HQ does not have this photo"),
    Errno.PHOTO_NOT_EVIDENCE: ("照片不是有效的证据文件", "The photo is not a valid evidence file"),
    Errno.PHOTO_MEDIA_TYPE: ("照片的内容类型不受支持", "Unsupported content type for a photo"),
    Errno.UPLOAD_OFFSET_MISMATCH: (
        "续传位置与指挥中心已收到的不符，请从指挥中心给出的位置续传",
        "The resume offset does not match what HQ holds; resume from HQ's offset",
    ),
    Errno.INTERNAL: ("指挥中心内部错误，请稍后重试", "HQ internal error; try again later"),
    Errno.UNAVAILABLE: ("指挥中心暂时不可用，请稍后重试", "HQ is temporarily unavailable; try again later"),
}


def http_status(errno: Errno | int) -> int:
    """The HTTP status of an errno (500 for a number this build does not know)."""
    try:
        return ERRNO_HTTP_STATUS[Errno(errno)]
    except ValueError:
        return 500


class WireValueError(ValueError):
    """A wire model's refusal of a value, with its Chinese: HQ's validation answer shows ``zh`` in
    ``message_zh`` (``enforcement.fielderrors``), the English in ``message_en``."""

    def __init__(self, en: str, zh: str) -> None:
        super().__init__(en)
        self.zh = zh


class WireModel(BaseModel):
    """Base of every wire model: unknown fields are ignored (an older peer tolerates newer fields)."""

    model_config = ConfigDict(extra="ignore")

    @field_validator("*", mode="after")
    @classmethod
    def _storable_text(cls, value: Any) -> Any:
        """No text field may hold a NUL or a lone surrogate: no database stores them, no screen shows them."""
        if isinstance(value, str) and not storable(value):
            raise WireValueError(
                "text holds a NUL character or a lone surrogate",
                "文本含有无法保存的字符（NUL 或不成对的代理项）",
            )
        return value


class ErrorBody(WireModel):
    """The one JSON shape of every error answer."""

    errno: int
    code: str  # the Errno member name in lowercase, e.g. "token_expired"
    message_zh: str
    message_en: str
    detail: dict[str, Any] = Field(default_factory=dict)


def error_body(
    errno: Errno,
    *,
    zh: str | None = None,
    en: str | None = None,
    detail: dict[str, Any] | None = None,
) -> ErrorBody:
    """The ErrorBody of ``errno`` with its default texts unless others are given."""
    default_zh, default_en = ERRNO_MESSAGES[errno]
    return ErrorBody(
        errno=int(errno),
        code=errno.name.lower(),
        message_zh=zh or default_zh,
        message_en=en or default_en,
        detail=detail or {},
    )


class ServerInfo(WireModel):
    name: str = "StreetPatrol HQ"
    protocols: list[int]
    server_time: datetime


DEVICE_KEY_PATTERN = r"^[A-Za-z0-9_-]+$"


class SignInRequest(WireModel):
    protocol: int = PROTOCOL_VERSION
    badge: str = Field(min_length=1, max_length=32)
    pin: str = Field(min_length=1, max_length=64)
    device_id: DeviceId
    device_name: str = Field(default="", max_length=TEXT_LIMITS["device_name"])
    #: The phone's own random secret (``mobile.hqclient.devicekey``): HQ binds its hash to ``device_id`` at
    #: the first successful sign-in that presents one; later sign-ins on that device id must present it.
    device_key: str | None = Field(default=None, min_length=32, max_length=128, pattern=DEVICE_KEY_PATTERN)


class SignInResponse(WireModel):
    protocol: int = PROTOCOL_VERSION
    token: str
    expires_at: datetime
    officer: Officer
    device_id: str
    server_time: datetime


class DeviceInfo(WireModel):
    device_id: str
    badge: str
    device_name: str = ""
    created_at: datetime | None = None
    last_seen_at: datetime | None = None
    active_tokens: int = 0


class DeviceList(WireModel):
    devices: list[DeviceInfo]


class RevokeResponse(WireModel):
    device_id: str
    revoked: int  # tokens revoked by this call
    server_time: datetime


class PushRecord(WireModel):
    """One outbox entry on the wire: ``payload`` is the record's codec JSON dict (at most
    MAX_PAYLOAD_KEYS keys; what is inside is bounded by ``enforcement.codec``).

    Its text fields are bounded by ``enforcement.limits.TEXT_LIMITS`` (the same table the phone's forms
    use); HQ refuses a record over it with ``TEXT_TOO_LONG`` naming the field. The request fields of the
    wire models that carry free text take their ``max_length`` from that table too."""

    kind: RecordKind
    id: RecordId
    device_seq: int = Field(ge=0, le=MAX_DEVICE_SEQ)
    payload: dict[str, Any] = Field(max_length=MAX_PAYLOAD_KEYS)


class PushBatch(WireModel):
    """A push batch. ``records`` is bounded here, so a body of hundreds of thousands of records stops
    parsing at its length (HQ answers BATCH_TOO_MANY_RECORDS, see ``hq.api.pushbody``)."""

    protocol: int = PROTOCOL_VERSION
    device_id: DeviceId
    records: list[PushRecord] = Field(max_length=MAX_BATCH_RECORDS)


class RecordResult(WireModel):
    """HQ's answer for one pushed record (after the batch's transaction committed).

    ``accepted`` stored now; ``duplicate`` HQ already had exactly this; ``conflict`` stored, but HQ's
    authoritative stage differs from the phone's (``hq_stage``, reason); ``deferred`` not stored, send again
    later (e.g. what it refers to has not arrived); ``refused`` never storable as is (errno, reason).
    ``missing_photos`` lists manifest hashes HQ still lacks; ``complete`` is true when there are none.
    """

    id: str
    status: RecordStatus
    errno: int | None = None
    reason_zh: str = ""
    reason_en: str = ""
    hq_stage: Stage | None = None
    complete: bool = False
    missing_photos: list[str] = Field(default_factory=list)

    @property
    def acked(self) -> bool:
        return self.status in ACKED_STATUSES


class PushResponse(WireModel):
    protocol: int = PROTOCOL_VERSION
    results: list[RecordResult]
    server_time: datetime


class PhotoUploadResult(WireModel):
    sha256: str
    stored: bool  # written by this request
    already_had: bool  # HQ had it before (nothing written)
    completed_cases: list[str] = Field(default_factory=list)  # case ids now complete thanks to it


class Change(WireModel):
    kind: ChangeKind
    id: str
    data: dict[str, Any] = Field(default_factory=dict)


class NoticeBookData(WireModel):
    """One warning-notice book of the pulling officer (``enforcement.noticebook``): numbers ``first..last``
    of ``series`` written with ``width`` digits, and those HQ already saw on a case (``used``)."""

    book_id: str = Field(min_length=1, max_length=64)
    series: str = Field(pattern=SERIES_PATTERN)
    first: int = Field(ge=0, le=MAX_NUMBER)
    last: int = Field(ge=0, le=MAX_NUMBER)
    width: int = Field(ge=MIN_WIDTH, le=MAX_WIDTH)
    used: list[int] = Field(default_factory=list, max_length=MAX_BOOK_SIZE)

    @model_validator(mode="after")
    def _a_book(self) -> NoticeBookData:
        problem = series_problem(self.series, self.width) or range_problem(self.first, self.last, self.width)
        if problem is not None:
            raise WireValueError(problem[1], problem[0])
        if any(not self.first <= n <= self.last for n in self.used):
            raise WireValueError("a used number lies outside the book", "已用编号超出本册的编号范围")
        return self


class NoticeBookSet(WireModel):
    """Every open book of the pulling officer (HQ's whole word: the phone replaces what it held), oldest
    first; ``issued``: books HQ issued on this pull (numbers had run low)."""

    books: list[NoticeBookData] = Field(default_factory=list, max_length=MAX_NOTICE_BOOKS)
    issued: int = Field(default=0, ge=0, le=MAX_NOTICE_BOOKS)


class PullPage(WireModel):
    protocol: int = PROTOCOL_VERSION
    changes: list[Change]
    cursor: str  # opaque; the phone sends it back unchanged
    more: bool
    server_time: datetime
    #: the officer's notice books, on the last page of a pull asking ``books=true`` (None otherwise)
    notice_books: NoticeBookSet | None = None


class HistoryData(WireModel):
    subject_id: str
    entries: list[HistoryEntry]


class CatalogueData(WireModel):
    version: str


class PolicyData(WireModel):
    """The ``policy`` change: one published version of the staged rule's policy (``enforcement.policy``)."""

    version: int = Field(ge=1, le=MAX_POLICY_VERSION)
    document: dict[str, Any]
    created_at: datetime | None = None

    @field_validator("document", mode="after")
    @classmethod
    def _usable(cls, value: dict[str, Any]) -> dict[str, Any]:
        try:
            parse_policy(value)  # bounded in size and content
        except PolicyError as err:
            raise WireValueError(err.en, err.zh) from None
        return value

    def policy(self) -> Policy:
        return parse_policy(self.document, self.version)


class PolicyVersion(WireModel):
    """One published version as ``GET /v1/policy`` lists it."""

    version: int
    document: dict[str, Any]
    created_at: datetime
    created_by: str
    summary_zh: list[str]
    summary_en: list[str]


class PolicyInfo(WireModel):
    """``GET /v1/policy``: the version in force (version 0, the built-in rule, until one is published) and
    every published version, newest first."""

    current: PolicyVersion | None  # None: nothing published, the built-in rule applies
    builtin_zh: list[str]  # the built-in rule, described
    builtin_en: list[str]
    history: list[PolicyVersion]


class TombstoneData(WireModel):
    kind: Literal["subject"] = "subject"
    id: str


class CaseStateData(WireModel):
    """HQ's state of one of the officer's own case versions: sync state, HQ's stage and HQ's reason for it
    (which earlier cases it counted; "" from an HQ that sends none), photos HQ still lacks."""

    case_id: str
    case_no: str = ""
    state: SyncState
    hq_stage: Stage | None = None
    hq_reason_zh: str = ""
    hq_reason_en: str = ""
    missing_photos: list[str] = Field(default_factory=list)
    # when HQ received the version (None from an HQ before it was sent): the officer's phone then places a
    # case whose time its wrong clock made implausible on that day (patrollog.reviewing.best_known_at)
    received_at: datetime | None = None


class SquadCaseData(WireModel):
    """A case version as its squad's leaders see it: the record, HQ's stage (and why), every review of
    this version (oldest first), and labels for the leader's screens."""

    case: dict[str, Any]  # codec JSON of the Case version
    hq_stage: Stage
    hq_reason_zh: str = ""
    hq_reason_en: str = ""
    reviews: list[dict[str, Any]] = Field(default_factory=list)  # codec JSON of Review
    officer_name: str = ""
    subject_label: str = ""  # the subject's name, else its plate
    missing_photos: int = Field(default=0, ge=0)  # photos of the manifest HQ does not have yet
    # when HQ received the version (None from an HQ before it was sent): with it the leader's phone places
    # a case whose time a wrong phone clock made implausible as HQ does (patrollog.reviewing.best_known_at)
    received_at: datetime | None = None
    # the first sign-in at HQ of the device that recorded the version (``Tx.device_first_seen``: HQ's own
    # devices table, for the device id HQ checked against the pushing token; never a payload's word); None
    # from an HQ before it was sent, or a device HQ never saw. With it the leader's phone flags a case
    # recorded before its device existed as HQ does (``patrollog.reviewing.TimeFlag.BEFORE_DEVICE``)
    device_first_seen: AwareDatetime | None = None

    @field_validator("device_first_seen")
    @classmethod
    def _first_seen_bounded(cls, value: datetime | None) -> datetime | None:
        if value is not None and not FIRST_SEEN_MIN <= value < FIRST_SEEN_MAX:
            raise WireValueError(
                f"must lie in [{FIRST_SEEN_MIN.date()}, {FIRST_SEEN_MAX.date()})",
                f"须在 {FIRST_SEEN_MIN.date()} 至 {FIRST_SEEN_MAX.date()} 之间",
            )
        return value


class SquadShiftData(WireModel):
    """A shift of a squad member, for the squad's leaders (``squad_code``: the officer's squad at HQ)."""

    shift: dict[str, Any]  # codec JSON of the Shift
    officer_name: str = ""
    squad_code: str = ""


class CaseSummary(WireModel):
    """HQ's view of one case version (for leaders' and HQ's lists)."""

    case_id: str
    case_no: str
    version: int
    officer_badge: str
    squad_code: str
    district: str
    subject_id: str | None
    violation_code: str
    occurred_at: datetime
    received_at: datetime
    device_stage: Stage
    chosen_stage: Stage
    hq_stage: Stage
    hq_ordinal: int
    stage_conflict: bool
    explain_zh: str = ""
    explain_en: str = ""
    photos_expected: int = 0
    photos_stored: int = 0
    complete: bool = False
    latest: bool = True
    review: str = ""


class CaseList(WireModel):
    cases: list[CaseSummary]
    next_cursor: str | None = None  # the next page's ``cursor`` (None: this is the last page)


class CaseDetail(WireModel):
    case: dict[str, Any]  # codec JSON of the Case version
    state: CaseSummary
    reviews: list[dict[str, Any]] = Field(default_factory=list)  # codec JSON of Review, oldest first
    missing_photos: list[str] = Field(default_factory=list)


class SubjectList(WireModel):
    subjects: list[dict[str, Any]]  # codec JSON of Subject
    next_cursor: str | None = None  # the next page's ``cursor`` (None: this is the last page)


#: Zones: a FeatureCollection of at most this many features; a problem list of at most MAX_ZONE_PROBLEMS.
MAX_ZONE_FEATURES = 10_000
MAX_ZONE_PROBLEMS = 200
#: The key of the ``zone`` change that announces a version (a zone id never starts with "#").
ZONE_VERSION_KEY = "#version"


class ZoneData(WireModel):
    """A ``zone`` change (``hq.zones``): ``feature`` of zone ``Change.id`` in zone version ``version``
    (GeoJSON, WGS84), or None when that version removed it; the change keyed ``ZONE_VERSION_KEY`` carries
    only the version and its feature count ``total``. Only changed features are sent for a new version."""

    version: int = Field(ge=1)
    total: int = Field(default=0, ge=0, le=MAX_ZONE_FEATURES)
    feature: dict[str, Any] | None = None


class ZoneProblemOut(WireModel):
    index: int = Field(ge=-1)
    zh: str = Field(max_length=400)
    en: str = Field(max_length=400)


class ZoneImportResult(WireModel):
    """HQ's answer to a zone import (``PUT /v1/zones``): the new version and what changed."""

    version: int
    features: int
    added: int = 0
    changed: int = 0
    removed: int = 0


# ------------------------------------------------------------------------------------ work orders (#15)
#: Text bounds of the work-order wire (characters), the same as ``enforcement.workorders.LIMITS`` but for a
#: description, which HQ keeps up to 4,000 characters and sends cut to this with a closing "…" (phones in
#: the field validate this bound).
WO_TEXT = 1000
WO_SHORT = 200


class WorkOrderData(WireModel):
    """The ``work_order`` change (``hq.workorders``): an order as its officer (key ``"<id>@<badge>"``) or its
    squad's leaders (key ``"<id>#<squad>"``) see it. The caller's contact is masked (``caller_name`` "张*",
    ``caller_phone`` "138****5678"); times are HQ's. ``assigned_to_you`` false tells an officer's phone the
    order was reassigned away (drop it). ``round`` is the round the phone's events must name."""

    order_id: str = Field(max_length=64)
    round: int = Field(ge=1, le=1000)
    stage: str = Field(max_length=16)  # enforcement.workorders.Stage
    source: str = Field(max_length=16)
    category: str = Field(max_length=8)
    description: str = Field(default="", max_length=WO_TEXT)
    address: str = Field(default="", max_length=WO_SHORT)
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    place: str = Field(default="", max_length=WO_SHORT)
    caller_name: str = Field(default="", max_length=64)  # masked
    caller_phone: str = Field(default="", max_length=32)  # masked
    squad: str = Field(default="", max_length=32)
    officer: str = Field(default="", max_length=32)
    assigned_to_you: bool = True
    intake_at: datetime
    arrive_due: datetime
    resolve_due: datetime
    arrived_at: datetime | None = None
    resolved_at: datetime | None = None
    closure: str = Field(default="", max_length=32)
    far: bool = False
    reassignments: int = Field(default=0, ge=0)
    satisfaction: str = Field(default="", max_length=16)
    # what the bureau's figures count (the squad day log on the phone, issue #15), in HQ time; None /
    # "" from an HQ before them: the phone then counts round 1 from the fields above
    first_arrived_on_time: bool | None = None  # the first round (the complaint as received) arrived ≤ 1 h
    first_resolved_on_time: bool | None = None  # … and was resolved ≤ 2 days
    due_at: datetime | None = None  # the next deadline still pending (None: none): overdue past it
    followed_up_satisfaction: str = Field(default="", max_length=16)  # the latest reached follow-up's


class WorkOrderArrival(WireModel):
    """Payload of a ``work_order_arrival`` record: the assigned officer on the spot. ``device_at``: the
    phone's clock; ``offset_s``: HQ − phone as the phone knows it (None: unknown). HQ corrects the time
    (``enforcement.workorders.corrected_at``), computes the distance to the complaint's point and flags
    (never refuses) a far arrival."""

    id: RecordId
    order_id: RecordId
    round: int = Field(ge=1, le=1000)
    device_at: datetime
    offset_s: float | None = Field(default=None, ge=-10 * 365 * 86400, le=10 * 365 * 86400)
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    accuracy_m: float | None = Field(default=None, ge=0, le=100_000)


class WorkOrderResolution(WireModel):
    """Payload of a ``work_order_resolution`` record: a linked case (``closure`` "case", ``case_id``), or
    a closure (no_violation / self_corrected / transferred + ``department``) with a note and ≥ 1 photo."""

    id: RecordId
    order_id: RecordId
    round: int = Field(ge=1, le=1000)
    device_at: datetime
    offset_s: float | None = Field(default=None, ge=-10 * 365 * 86400, le=10 * 365 * 86400)
    closure: Literal["case", "no_violation", "self_corrected", "transferred"]
    case_id: RecordId | None = None
    note: str = Field(default="", max_length=500)
    department: str = Field(default="", max_length=64)
    photos: list[Annotated[str, StringConstraints(pattern=SHA256_PATTERN)]] = Field(
        default_factory=list, max_length=9
    )


# -- subject identity (issue #22) -------------------------------------------------------------------------

#: A merge answer lists at most this many restaged cases (the rest are in the audit log).
MAX_MERGE_RESTAGED = 200
#: A suggestion list is at most this long.
MAX_MERGE_SUGGESTIONS = 500


class SubjectAliasData(WireModel):
    alias_id: str = Field(max_length=64)
    survivor_id: str = Field(default="", max_length=64)  # "": no longer an alias (unmerged)


class MergeRequest(WireModel):
    into: RecordId


class RestagedCase(WireModel):
    case_id: str
    case_no: str
    hq_stage: Stage
    stage_conflict: bool


class MergeResult(WireModel):
    alias_id: str
    survivor_id: str  # "" after an unmerge
    restaged: list[RestagedCase] = Field(default_factory=list, max_length=MAX_MERGE_RESTAGED)


class MergeSuggestion(WireModel):
    a: str
    b: str
    strength: Literal["strong", "weak"]
    reason: str = Field(max_length=400)  # shared keys (phone:…, plate:…, id:…) or "name"
    a_label: str = Field(default="", max_length=200)
    b_label: str = Field(default="", max_length=200)


class MergeSuggestionList(WireModel):
    suggestions: list[MergeSuggestion] = Field(max_length=MAX_MERGE_SUGGESTIONS)


#: A subject history answer holds at most this many writes.
MAX_SUBJECT_EDITS = 500


class SubjectEdit(WireModel):
    version: int
    at: datetime
    by_badge: str = Field(max_length=32)
    device_id: str = Field(max_length=64)
    fields: list[str] = Field(max_length=16)


class SubjectHistory(WireModel):
    subject_id: str
    version: int
    edits: list[SubjectEdit] = Field(max_length=MAX_SUBJECT_EDITS)


class SubjectConflictOut(WireModel):
    id: str
    subject_id: str
    field: str = Field(max_length=32)
    base_value: str = Field(max_length=2000)
    hq_value: str = Field(max_length=2000)
    pushed_value: str = Field(max_length=2000)  # a resident ID shown masked
    by_badge: str = Field(max_length=32)
    device_id: str = Field(max_length=64)
    at: datetime
    resolved: bool = False


class SubjectConflictList(WireModel):
    conflicts: list[SubjectConflictOut] = Field(max_length=MAX_SUBJECT_EDITS)


class ResolveConflictRequest(WireModel):
    take: Literal["hq", "pushed"]


#: Edits of a subject a ``subject`` change carries (``hq.subjectedit.PHONE_EDITS``).
MAX_PHONE_EDITS = 20


class SubjectMeta(WireModel):
    """The additive keys of a ``subject`` change's data (issue #22): HQ's version and the last edits."""

    version: int = Field(default=0, ge=0)
    edits: list[SubjectEdit] = Field(default_factory=list, max_length=MAX_PHONE_EDITS)
