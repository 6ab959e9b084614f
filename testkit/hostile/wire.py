"""The ``wire_attacks`` part and the stall figure (issue #13, items 3 and 8): a push of 330,000 empty records,
another officer's photo hash in one's own case, a camera original with GPS, a cut-off upload that is no
JPEG — each refused, leaving nothing — and ``stall``, /v1/health's p99 while such pushes run against idle.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import threading
import time
from pathlib import Path

import httpx

from enforcement.codec import to_json_dict
from enforcement.model import Case, Officer, PhotoRef
from enforcement.numbering import format_case_no
from hq.blobs.partials import PartialUploads, uploader_key
from hq.demo import USERS as DEMO_USERS
from sync.protocol import PROTOCOL_VERSION, UPLOAD_OFFSET_HEADER, Errno, http_status
from testkit.hostile.core import ACCEPTED, BROKEN, OCTET, REFUSED, Part, Target, post_json
from testkit.hostile.photos import _jpeg, evidence_photo
from testkit.hostile.records_probes import valid_case

# ------------------------------------------------------------------- wire attacks (issue #13, items 3, 8)
# One request stalling HQ (a push of 330,000 empty records) and photos by hash (another officer's hash in
# one's own case, a camera original with GPS, a cut-off upload that is no JPEG). Each probe is refused and
# leaves nothing; the stall figure is /v1/health's p99 while three such pushes run, against idle.


def empty_records_push(device_id: str, count: int = 330_000) -> bytes:
    """The stalling body: ``count`` empty records, about 1 MB."""
    return (
        b'{"protocol": 1, "device_id": "' + device_id.encode() + b'", "records": ['
        + b",".join([b"{}"] * count) + b"]}"
    )  # fmt: skip


def _sign_in_badge(target: Target, badge: str) -> tuple[dict[str, str], str]:
    device = f"hostile-{badge}-{target.seq()}"
    with target.client() as client:
        answer = client.post(
            "/v1/auth/sign-in", json={"badge": badge, "pin": target.pins[badge], "device_id": device}
        )
    answer.raise_for_status()
    return {"Authorization": f"Bearer {answer.json()['token']}"}, device


def _case_of(target: Target, officer: Officer, device: str, data: bytes) -> Case:
    import dataclasses

    case = valid_case(target, photos=(PhotoRef(hashlib.sha256(data).hexdigest(), len(data)),))
    at = case.occurred_at
    return dataclasses.replace(
        case,
        officer_badge=officer.badge,
        squad_code=officer.squad_code,
        device_id=device,
        case_no=format_case_no(officer.squad_code, officer.badge, at.date(), "HXSTA", target.seq()),
        second_officer_badge="1023" if officer.badge != "1023" else "1024",
    )


def _push_case(client: httpx.Client, auth: dict[str, str], device: str, case: Case) -> bool:
    record = {"kind": "case", "id": case.id, "device_seq": 1, "payload": to_json_dict(case)}
    body = {"protocol": PROTOCOL_VERSION, "device_id": device, "records": [record]}
    answer = post_json(client, "/v1/push", body, auth)
    return answer.status_code == 200 and answer.json()["results"][0]["status"] in ("accepted", "conflict")


def camera_original_with_gps() -> bytes:
    """A camera original: EXIF with make, model, time and a GPS position."""
    from PIL import Image

    exif = Image.Exif()
    exif[0x010F], exif[0x0110] = "Xiaomi", "Redmi Note 12"
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2], gps[3], gps[4] = "N", (34.0, 45.0, 30.5), "E", (113.0, 39.0, 12.25)
    return _jpeg((640, 480), exif=exif.tobytes())


def _wire_refused(answer: httpx.Response, errno: Errno) -> str | None:
    if answer.status_code == http_status(errno) and answer.json().get("errno") == errno:
        return None
    return f"answered {answer.status_code} {answer.text[:100]}, not {errno.name}"


def wire_attacks(target: Target) -> Part:
    """Issue #13 items 3 and 8 as probes: each must be refused with its errno and leave nothing."""
    part = Part("wire attacks (#13)")
    officer = target.users["officer"]
    with target.client() as client:
        auth, device = _sign_in_badge(target, officer.badge)
        with target.storage.transaction(readonly=True) as tx:
            before = len(tx.list_cases(limit=10_000))
        json_auth = auth | {"Content-Type": "application/json"}
        answer = client.post("/v1/push", content=empty_records_push(device), headers=json_auth)
        with target.storage.transaction(readonly=True) as tx:
            grew = len(tx.list_cases(limit=10_000)) != before
        problem = _wire_refused(answer, Errno.BATCH_TOO_MANY_RECORDS) or ("cases stored" if grew else None)
        part.add("push: 330,000 empty records", BROKEN if problem else REFUSED, problem)

        # another officer's hash in my own case: a colleague and an officer of another squad
        data = evidence_photo()
        sha = hashlib.sha256(data).hexdigest()
        if _push_case(client, auth, device, _case_of(target, officer, device, data)):
            client.put(f"/v1/photos/{sha}", content=data, headers=auth | {"Content-Type": OCTET})
        for label, badge in (("colleague", "1024"), ("other squad", "2031")):
            thief_auth, thief_device = _sign_in_badge(target, badge)
            thief = next(u.officer for u in DEMO_USERS if u.officer.badge == badge)
            case = _case_of(target, thief, thief_device, data)
            listed = _push_case(client, thief_auth, thief_device, case)
            got = client.get(f"/v1/photos/{sha}", headers=thief_auth)
            with target.storage.transaction(readonly=True) as tx:
                state = tx.case_state(case.id)
            problem = None if listed else "the case was not stored"
            problem = problem or _wire_refused(got, Errno.PHOTO_NOT_FOUND)
            if problem is None and (state is None or state.complete):
                problem = "the case counts a photo its officer never uploaded"
            label = f"photo by hash: {label} lists the owner's hash"
            part.add(label, BROKEN if problem else REFUSED, problem)

        # a camera original with GPS, and the phone pipeline's output of it (control)
        from mobile.photos import process_photo

        original = camera_original_with_gps()
        for label, photo, accept in (
            ("camera original with GPS", original, False),
            ("the pipeline's output of it (control)", process_photo(original, None).evidence, True),
        ):
            photo_sha = hashlib.sha256(photo).hexdigest()
            _push_case(client, auth, device, _case_of(target, officer, device, photo))
            put = client.put(f"/v1/photos/{photo_sha}", content=photo, headers=auth | {"Content-Type": OCTET})
            if accept:
                problem = None if put.status_code == 200 else f"refused: {put.text[:100]}"
                part.add(label, BROKEN if problem else ACCEPTED, problem)
            else:
                problem = _wire_refused(put, Errno.PHOTO_NOT_EVIDENCE) or (
                    "stored" if target.blobs.has(photo_sha) else None
                )
                part.add(label, BROKEN if problem else REFUSED, problem)

        # a cut-off upload whose first bytes are no JPEG: not kept to resume
        evidence = evidence_photo()
        ev_sha = hashlib.sha256(evidence).hexdigest()
        _push_case(client, auth, device, _case_of(target, officer, device, evidence))
        partials = PartialUploads(target.blobs.partial_dir())
        partials.keep(ev_sha, uploader_key(officer.badge, device), _spool_of(target, b"<html>" * 1000))
        kept = partials.held(ev_sha, uploader_key(officer.badge, device))
        head = client.head(f"/v1/photos/{ev_sha}", headers=auth)
        problem = f"kept {kept} bytes" if kept or UPLOAD_OFFSET_HEADER in head.headers else None
        part.add("cut-off upload of HTML under a listed hash", BROKEN if problem else REFUSED, problem)
    if not target.alive():
        part.add("health", BROKEN, "HQ no longer answers")
    return part


def _spool_of(target: Target, data: bytes) -> Path:
    fd, name = tempfile.mkstemp(prefix="upload-", dir=target.blobs.temp_dir())
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    return Path(name)


def health_p99(url: str, seconds: float, stop: threading.Event | None = None) -> float:
    """p99 of /v1/health round trips (ms), polled back to back for ``seconds`` (or until ``stop``)."""
    samples: list[float] = []
    deadline = time.monotonic() + seconds
    with httpx.Client(base_url=url, timeout=60) as client:
        while time.monotonic() < deadline and not (stop and stop.is_set()):
            started = time.perf_counter()
            client.get("/v1/health")
            samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return samples[min(len(samples) - 1, int(len(samples) * 0.99))] if samples else float("nan")


def stall(target: Target, pushes: int = 3, rounds: int = 5) -> tuple[float, float]:
    """/v1/health p99 (ms) idle, then while ``pushes`` pushes of 330,000 empty records run at once,
    ``rounds`` times over (same HQ, same run)."""
    idle = health_p99(target.url, 2.0)
    auth, device = _sign_in_badge(target, target.users["officer"].badge)
    body = empty_records_push(device)
    done = threading.Event()

    def attacker() -> None:
        with httpx.Client(base_url=target.url, timeout=120) as client:
            for _ in range(rounds):
                client.post("/v1/push", content=body, headers=auth | {"Content-Type": "application/json"})

    threads = [threading.Thread(target=attacker) for _ in range(pushes)]
    for thread in threads:
        thread.start()
    result: list[float] = []
    poller = threading.Thread(target=lambda: result.append(health_p99(target.url, 600, done)))
    poller.start()
    for thread in threads:
        thread.join()
    done.set()
    poller.join()
    return idle, result[0]
