"""The ``photos`` part: hostile uploads listed in the caller's case (not a JPEG, HTML, SVG, a decompression
bomb, a truncated JPEG, polyglots, 1 MB of EXIF, wrong content types, bytes not matching the hash) must be
refused and not stored, and a stored photo must be served safely; also the JPEG builders the other parts
use (``evidence_photo``, ``camera_photo_with_exif``).
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx

from enforcement.codec import to_json_dict
from enforcement.model import PhotoKind, PhotoRef
from testkit.hostile.core import ACCEPTED, ANSWERED, BROKEN, OCTET, REFUSED, Part, Target, error_problem, send
from testkit.hostile.records_probes import push, valid_case

# ------------------------------------------------------------------------------------------- photos


def _jpeg(size: tuple[int, int], *, exif: bytes | None = None) -> bytes:
    from PIL import Image

    image = Image.effect_noise(size, 50).convert("RGB")
    buffer = io.BytesIO()
    options: dict[str, Any] = {"quality": 85}
    if exif is not None:
        options["exif"] = exif
    image.save(buffer, "JPEG", **options)
    return buffer.getvalue()


def evidence_photo(size: tuple[int, int] = (320, 240)) -> bytes:
    """A fresh evidence file as the phone makes it (``mobile.photos.process_photo``)."""
    from mobile.photos import process_photo

    return process_photo(_jpeg(size), None).evidence


def camera_photo_with_exif() -> bytes:
    """A camera JPEG with an ordinary EXIF block (an older build might upload one)."""
    from PIL import Image

    exif = Image.Exif()
    exif[0x010F] = "Xiaomi"
    exif[0x0110] = "Redmi Note 12"
    exif[0x0132] = "2026:11:22 21:30:00"
    return _jpeg((320, 240), exif=exif.tobytes())


def segment(marker: int, payload: bytes) -> bytes:
    return b"\xff" + bytes([marker]) + (len(payload) + 2).to_bytes(2, "big") + payload


def jpeg_segments(data: bytes) -> Iterator[tuple[int, int, int]]:
    """(marker, offset, length) of each header segment up to the start of scan."""
    i = 2
    while i + 4 <= len(data) and data[i] == 0xFF:
        marker, length = data[i + 1], int.from_bytes(data[i + 2 : i + 4], "big")
        yield marker, i, length
        if marker == 0xDA:
            return
        i += 2 + length


def decompression_bomb() -> bytes:
    """A 2 KB JPEG whose frame header declares 65,500 × 65,500 pixels (4.3 gigapixels)."""
    data = bytearray(_jpeg((64, 64)))
    for marker, offset, _ in jpeg_segments(bytes(data)):
        if marker in (0xC0, 0xC1, 0xC2):
            data[offset + 5 : offset + 9] = (65500).to_bytes(2, "big") * 2
            return bytes(data)
    raise AssertionError("no frame header")


def png_photo() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.effect_noise((64, 64), 50).convert("RGB").save(buffer, "PNG")
    return buffer.getvalue()


def zip_polyglot(evidence: bytes) -> bytes:
    """A valid JPEG that is also a zip archive (central directory at the end) holding an HTML page."""
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("index.html", "<html><script>alert(document.cookie)</script></html>")
    return evidence + archive.getvalue()


def html_comment_polyglot(evidence: bytes) -> bytes:
    """A valid JPEG with an HTML page in a comment segment near the start (sniffable as HTML)."""
    html = b"<html><body><script>alert(document.cookie)</script></body></html>"
    return evidence[:2] + segment(0xFE, html) + evidence[2:]


def huge_exif(evidence: bytes) -> bytes:
    """A valid JPEG carrying 1 MB of APP1 (EXIF) segments."""
    block = segment(0xE1, b"Exif\x00\x00" + bytes(65527))
    return evidence[:2] + block * 16 + evidence[2:]


@dataclass(frozen=True)
class PhotoProbe:
    """An upload: ``data`` listed (by hash) in the caller's case, PUT with ``content_type``; or, with
    ``listed``, ``data`` PUT under the hash of ``listed``."""

    name: str
    make: Callable[[], bytes]
    content_type: str = OCTET
    accept: bool = False
    listed: Callable[[], bytes] | None = None


def photo_probes() -> list[PhotoProbe]:
    ev = evidence_photo
    return [
        PhotoProbe("evidence (control)", ev, accept=True),
        PhotoProbe("camera JPEG with EXIF (metadata: not evidence, #13)", camera_photo_with_exif),
        PhotoProbe("evidence as image/jpeg (control)", ev, "image/jpeg", accept=True),
        PhotoProbe("random bytes", lambda: hashlib.sha512(b"noise").digest() * 64),
        PhotoProbe(
            "HTML page", lambda: b"<!DOCTYPE html><html><script>alert(document.cookie)</script></html>"
        ),
        PhotoProbe(
            "SVG with script",
            lambda: b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
        ),
        PhotoProbe("PNG", png_photo),
        PhotoProbe("decompression bomb (65500x65500 declared)", decompression_bomb),
        PhotoProbe("truncated JPEG", lambda: (d := ev())[: len(d) // 2]),
        PhotoProbe("JPEG + zip polyglot", lambda: zip_polyglot(ev())),
        PhotoProbe("JPEG with HTML comment", lambda: html_comment_polyglot(ev())),
        PhotoProbe("JPEG with 1 MB EXIF", lambda: huge_exif(ev())),
        PhotoProbe("evidence as text/html", ev, "text/html"),
        PhotoProbe("evidence as application/json", ev, "application/json"),
        PhotoProbe("evidence as multipart/form-data", ev, "multipart/form-data; boundary=x"),
        PhotoProbe("evidence as form-urlencoded", ev, "application/x-www-form-urlencoded"),
        PhotoProbe(
            "HTML under a listed photo's hash", lambda: b"<html><script>alert(1)</script></html>", listed=ev
        ),
    ]


def photo_probe(target: Target, client: httpx.Client, probe: PhotoProbe) -> tuple[str, str | None]:
    """The officer lists the photo in a new case, then uploads it; refused photos must leave no trace."""
    data = probe.make()
    listed = probe.listed() if probe.listed else data
    sha = hashlib.sha256(listed).hexdigest()
    case = valid_case(target, photos=(PhotoRef(sha, len(listed), PhotoKind.DURING),))
    answer = push(target, client, "officer", "case", to_json_dict(case), case.id)
    if answer.status_code != 200 or sha not in answer.json()["results"][0]["missing_photos"]:
        return BROKEN, f"setup: the case was not accepted: {answer.text[:200]}"
    headers = target.auth["officer"] | {"Content-Type": probe.content_type}
    upload = send(client, "PUT", f"/v1/photos/{sha}", content=data, headers=headers)
    if probe.accept:
        if upload.status_code != 200 or not target.blobs.has(sha):
            return BROKEN, f"a valid photo was refused: {upload.status_code} {upload.text[:120]}"
        return ACCEPTED, None
    if upload.status_code >= 500:
        return BROKEN, f"HTTP {upload.status_code}"
    problem = error_problem(upload.status_code, "PUT", upload.content)
    if target.blobs.has(sha):
        problem = (problem + "; " if problem else "") + "stored"
    if list(target.blobs.temp_dir().iterdir()):
        problem = (problem + "; " if problem else "") + "left a temporary file"
    detail = send(client, "GET", f"/v1/cases/{case.id}", headers=target.auth["officer"])
    if problem is None and sha not in detail.json().get("missing_photos", []):
        problem = "the case no longer lists the photo as missing"
    return REFUSED, problem


def served_safely(target: Target, client: httpx.Client) -> tuple[str, str | None]:
    """A stored photo is served as ``image/jpeg`` with ``X-Content-Type-Options: nosniff`` (a browser must
    never sniff evidence bytes into HTML)."""
    data = evidence_photo()
    sha = hashlib.sha256(data).hexdigest()
    case = valid_case(target, photos=(PhotoRef(sha, len(data)),))
    push(target, client, "officer", "case", to_json_dict(case), case.id)
    send(
        client,
        "PUT",
        f"/v1/photos/{sha}",
        content=data,
        headers=target.auth["officer"] | {"Content-Type": OCTET},
    )
    answer = send(client, "GET", f"/v1/photos/{sha}", headers=target.auth["leader"])
    if answer.status_code != 200 or answer.content != data:
        return BROKEN, f"setup: GET answered {answer.status_code}"
    problems = []
    if answer.headers.get("content-type", "").split(";")[0] != "image/jpeg":
        problems.append(f"Content-Type {answer.headers.get('content-type')!r}")
    if answer.headers.get("x-content-type-options", "").lower() != "nosniff":
        problems.append("no X-Content-Type-Options: nosniff")
    return ANSWERED, "; ".join(problems) or None


def photos(target: Target, probes: list[PhotoProbe] | None = None) -> Part:
    part = Part("photos")
    with target.client() as client:
        for probe in probes or photo_probes():
            outcome, problem = photo_probe(target, client, probe)
            part.add(probe.name, outcome, problem)
        outcome, problem = served_safely(target, client)
        part.add("stored photo served", outcome, problem)
    if not target.alive():
        part.add("health", BROKEN, "HQ no longer answers")
    return part
