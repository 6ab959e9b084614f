"""Valid records and the ``text_fields`` part: ``valid_case``, ``valid_subject``, ``valid_shift`` and
``valid_review`` build records HQ accepts, ``push`` and ``stored`` send and read them back; every string
in their payloads (and the case's ``extra`` keys) is replaced by each hostile string, and a refused record
must not be stored, an accepted one must read back verbatim, the tables must still be there afterwards.
"""

from __future__ import annotations

import copy
import hashlib
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import httpx

from enforcement.codec import to_json_dict
from enforcement.model import (
    LOCAL_TZ,
    Case,
    Disposition,
    Location,
    PhotoRef,
    Review,
    ReviewDecision,
    SeizedItem,
    Shift,
    Stage,
    Subject,
    SubjectKind,
    new_id,
)
from enforcement.numbering import format_case_no
from sync.protocol import PROTOCOL_VERSION, Errno
from testkit.hostile.core import (
    ACCEPTED,
    BROKEN,
    HOSTILE,
    RECORD_REFUSED,
    REFUSED,
    VERBATIM,
    Part,
    Target,
    error_problem,
    post_json,
    schema_snapshot,
    send,
)

# ------------------------------------------------------------------------------- valid records


def valid_case(target: Target, *, photos: tuple[PhotoRef, ...] | None = None) -> Case:
    """A valid case of the target's officer with every optional text field filled (so each one is live).
    A 警告 needs a photo (the catalogue's min_photos): by default one photo record, never uploaded."""
    officer = target.users["officer"]
    if photos is None:
        photos = (PhotoRef(hashlib.sha256(f"hostile-{target.seq()}".encode()).hexdigest(), 120_000),)
    at = datetime(2026, 11, 22, 21, 30, tzinfo=LOCAL_TZ)
    return Case(
        id=new_id(),
        case_no=format_case_no(officer.squad_code, officer.badge, at.date(), "HXSTA", target.seq()),
        officer_badge=officer.badge,
        squad_code=officer.squad_code,
        device_id=target.devices["officer"],
        violation_code="0510",
        occurred_at=at,
        location=Location(34.7466, 113.6253, 8.0, "人民路夜市东口", "JS-0107", "信号弱"),
        subject_id=new_id(),  # a subject of its own: one subject's history growing by hundreds would slow HQ
        subject_unknown=False,
        computed_stage=Stage.PERSUASION,
        chosen_stage=Stage.WARNING,
        stage_override_reason="当事人屡劝不改，态度恶劣",
        stage_ordinal=1,
        disposition=Disposition.WARNING_NOTICE,
        legal_basis="《城市市容和环境卫生管理条例》第十四条",
        warning_notice_no="JG-2026-000123",
        seizure_receipt_no="ZK-2026-000456",
        second_officer_badge="1024" if officer.badge != "1024" else "1023",
        rectify_deadline=date(2026, 11, 25),
        referred_to="生态环境局",
        seized_items=(SeizedItem("烧烤炉", 1, "铁皮炉"),),
        photos=photos,
        notes="现场劝离，拍照取证",
        created_at=at,
        extra={"来源": "市民热线"},
    )


def valid_subject(target: Target) -> Subject:
    return Subject(
        id=new_id(),
        kind=SubjectKind.MOBILE_VENDOR,
        name="烧烤摊主",
        phone="13800138000",
        plate="豫A12345",
        address="人民路夜市",
        description="推车烧烤，蓝色雨棚",
        id_number="11010519491231002X",
        district=target.users["officer"].district,
        created_at=datetime(2026, 11, 22, 21, 0, tzinfo=LOCAL_TZ),
    )


def valid_shift(target: Target) -> Shift:
    start = datetime(2026, 11, 22, 18, 0, tzinfo=LOCAL_TZ)
    return Shift(new_id(), target.users["officer"].badge, start, start + timedelta(hours=4), "JS-0107")


def valid_review(target: Target, case: Case) -> Review:
    at = datetime(2026, 11, 22, 23, 0, tzinfo=LOCAL_TZ)
    leader = target.users["leader"]
    return Review(new_id(), case.id, case.case_no, ReviewDecision.APPROVE, leader.badge, at, "证据齐全")


def push(
    target: Target, client: httpx.Client, role: str, kind: str, payload: Any, record_id: Any
) -> httpx.Response:
    body = {
        "protocol": PROTOCOL_VERSION,
        "device_id": target.devices[role],
        "records": [{"kind": kind, "id": record_id, "device_seq": target.seq(), "payload": payload}],
    }
    return post_json(client, "/v1/push", body, target.auth[role])


def stored(target: Target, kind: str, record_id: str) -> dict[str, Any] | None:
    """The record as HQ stored it (codec JSON), or None. (An id that is not valid Unicode text, e.g. with a
    lone surrogate, cannot be in a UTF-8 database at all, nor one with NUL in PostgreSQL.)"""
    try:
        record_id.encode("utf-8")
    except UnicodeEncodeError:
        return None
    if "\x00" in record_id and getattr(target.storage, "path", None) is None:
        return None
    record: Any
    with target.storage.transaction(readonly=True) as tx:
        if kind == "case":
            record = tx.get_case(record_id)
        elif kind == "subject":
            record = tx.get_subject(record_id)
        elif kind == "shift":
            record = tx.get_shift(record_id)
        else:
            record = tx.get_review(record_id)
    return None if record is None else to_json_dict(record)


# ------------------------------------------------------------------------------------- text fields

Path_ = tuple[str | int, ...]


def string_paths(value: Any, path: Path_ = ()) -> Iterator[Path_]:
    """The path of every string leaf of a JSON value."""
    if isinstance(value, str):
        yield path
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from string_paths(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from string_paths(item, (*path, index))


def get_at(value: Any, path: Path_) -> Any:
    for step in path:
        value = value[step]
    return value


def set_at(value: Any, path: Path_, text: str) -> Any:
    result = copy.deepcopy(value)
    holder = result
    for step in path[:-1]:
        holder = holder[step]
    holder[path[-1]] = text
    return result


KEY = "<key>"  # marks a mutation of a dict key (the case's ``extra``)


def mutations(payload: dict[str, Any]) -> list[Path_]:
    """Every string leaf, and every key of ``extra``."""
    paths = list(string_paths(payload))
    paths += [("extra", KEY, key) for key in payload.get("extra", {})]
    return paths


def mutate(payload: dict[str, Any], path: Path_, text: str) -> dict[str, Any]:
    if len(path) == 3 and path[1] == KEY:
        result = copy.deepcopy(payload)
        result["extra"][text] = result["extra"].pop(path[2])
        return result
    return set_at(payload, path, text)


@dataclass
class Variant:
    """One pushed record: a valid payload of ``kind`` with ``text`` at ``path`` (None: the valid control)."""

    kind: str
    role: str
    path: Path_ | None
    text: str
    payload: dict[str, Any]

    @property
    def record_id(self) -> Any:
        return self.payload.get("id")

    @property
    def label(self) -> str:
        where = "(valid)" if self.path is None else ".".join(map(str, self.path))
        return f"{self.kind}.{where}"


def valid_payload(target: Target, kind: str, reviewed: Case | None) -> dict[str, Any]:
    """A valid payload of ``kind`` with fresh ids (reviews are of ``reviewed``, a case HQ accepted)."""
    if kind == "case":
        return to_json_dict(valid_case(target))
    if kind == "subject":
        return to_json_dict(valid_subject(target))
    if kind == "shift":
        return to_json_dict(valid_shift(target))
    assert reviewed is not None
    return to_json_dict(valid_review(target, reviewed))


def case_to_review(target: Target, client: httpx.Client) -> Case:
    case = valid_case(target)
    answer = push(target, client, "officer", "case", to_json_dict(case), case.id)
    if answer.status_code != 200 or answer.json()["results"][0]["status"] not in ("accepted", "conflict"):
        raise RuntimeError(f"the case to review was not accepted: {answer.text[:300]}")
    return case


def variants(target: Target, kind: str, text: str, reviewed: Case | None) -> list[Variant]:
    """The control and one variant per text field (and ``extra`` key) of ``kind`` carrying ``text``."""
    role = "leader" if kind == "review" else "officer"
    found = [Variant(kind, role, None, "", valid_payload(target, kind, reviewed))]
    for path in mutations(valid_payload(target, kind, reviewed)):
        found.append(
            Variant(kind, role, path, text, mutate(valid_payload(target, kind, reviewed), path, text))
        )
    return found


def push_many(target: Target, client: httpx.Client, role: str, batch: list[Variant]) -> httpx.Response:
    body = {
        "protocol": PROTOCOL_VERSION,
        "device_id": target.devices[role],
        "records": [
            {"kind": v.kind, "id": v.record_id, "device_seq": target.seq(), "payload": v.payload}
            for v in batch
        ],
    }
    return post_json(client, "/v1/push", body, target.auth[role])


def judge(
    target: Target, client: httpx.Client, variant: Variant, answer: httpx.Response, index: int
) -> tuple[str, str | None]:
    """The outcome of ``variant`` (record ``index`` of the pushed batch) and the problem, if any."""
    record_id = variant.record_id if isinstance(variant.record_id, str) else ""
    if answer.status_code >= 500:
        return BROKEN, f"HTTP {answer.status_code}: {answer.text[:120]}"
    if answer.status_code != 200:
        problem = error_problem(answer.status_code, "POST", answer.content)
        if problem is None and record_id and stored(target, variant.kind, record_id) is not None:
            problem = "refused with a 4xx, yet stored"
        return REFUSED, problem
    result = answer.json()["results"][index]
    if result["status"] in ("refused", "deferred"):
        if result.get("errno") not in {int(e) for e in Errno}:
            return RECORD_REFUSED, f"refused without an errno: {result}"
        if record_id and stored(target, variant.kind, record_id) is not None:
            return RECORD_REFUSED, "refused, yet stored"
        if variant.path is None:
            return RECORD_REFUSED, f"the valid control record was refused: {result['reason_en']}"
        return RECORD_REFUSED, None
    if result["status"] not in ("accepted", "conflict"):
        return BROKEN, f"unexpected record status {result['status']}"
    record = stored(target, variant.kind, record_id)
    if record is None:
        return VERBATIM, "acknowledged but not stored"
    if variant.path is None:
        return ACCEPTED, None
    return VERBATIM, read_back_problem(target, client, variant, record)


def read_back_problem(
    target: Target, client: httpx.Client, variant: Variant, record: dict[str, Any]
) -> str | None:
    """None when the stored record (and, for a case, the API's copy) holds the text verbatim."""
    path, text = variant.path, variant.text
    assert path is not None
    is_key = len(path) == 3 and path[1] == KEY

    def holds(data: dict[str, Any]) -> bool:
        if is_key:
            return text in data.get("extra", {})
        try:
            return bool(get_at(data, path) == text)
        except (KeyError, IndexError, TypeError):
            return False

    if not holds(record):
        return "stored, but the text did not read back verbatim"
    if variant.kind == "case" and "/" not in variant.record_id:
        detail = send(client, "GET", f"/v1/cases/{urllib.parse.quote(variant.record_id, safe='')}",
                      headers=target.auth["officer"])  # fmt: skip
        if detail.status_code != 200 or not holds(detail.json()["case"]):
            return f"stored, but the API read back {detail.status_code} without it"
    return None


KINDS = ("case", "subject", "shift", "review")


def text_fields(
    target: Target, names: tuple[str, ...] = tuple(HOSTILE), kinds: tuple[str, ...] = KINDS
) -> Part:
    """Each hostile string in each text field of each record kind; then the tables must be intact.

    The variants of one kind and string go in one batch; when HQ refuses or fails the whole batch, each is
    pushed alone, so every answer is judged for its own record."""
    part = Part("text fields")
    before = schema_snapshot(target.storage)
    with target.client() as client:
        for kind in kinds:
            reviewed = case_to_review(target, client) if kind == "review" else None
            for name in names:
                batch = variants(target, kind, HOSTILE[name], reviewed)
                answer = push_many(target, client, batch[0].role, batch)
                for index, variant in enumerate(batch):
                    if answer.status_code == 200:
                        outcome, problem = judge(target, client, variant, answer, index)
                    else:
                        alone = push_many(target, client, variant.role, [variant])
                        outcome, problem = judge(target, client, variant, alone, 0)
                    part.add(f"{variant.label} ← {name}", outcome, problem)
    after = schema_snapshot(target.storage)
    if after != before:
        part.add("schema", BROKEN, f"tables or integrity changed: {before} → {after}")
    if not target.alive():
        part.add("health", BROKEN, "HQ no longer answers")
    return part
