"""Bad input at HQ: hostile text, parameters, photos and bodies, and a long schemathesis run, all over real
HTTP on loopback.

Every hostile request must get a 4xx whose body is ``sync.protocol.ErrorBody`` (an errno whose HTTP status
is the one answered, both languages) — or, for text that is legitimately free text, the record stored
verbatim as data and never executed — HQ must stay up, and nothing refused may be stored.

Parts (each returns a ``Part``: probes counted by outcome, and the problems found):

- ``text_fields``: every string in a valid case, subject, shift and review payload (and the case's
  ``extra`` keys) replaced by each hostile string (SQL injection, path traversal, markup, NUL, control
  characters, a lone surrogate, 8,000 characters …) and pushed; a refused record must not be stored, an
  accepted one must read back verbatim; the tables must still be there afterwards.
- ``parameters``: the same strings in every path and query parameter of every operation of the OpenAPI,
  and edge values of typed ones (integers out of range, the first and last calendar days).
- ``photos``: uploads of hostile photos listed in the caller's case: not a JPEG, HTML, SVG, a
  decompression bomb, a truncated JPEG, a JPEG with a zip appended or HTML in a comment, 1 MB of EXIF,
  wrong content types, bytes that do not match the hash; and how a stored photo is served.
- ``bodies``: malformed and oversized bodies (deep nesting, huge numbers, invalid UTF-8, lone surrogates,
  over the size caps, declared or streamed, wrong content types).
- ``fuzz`` (bench only): schemathesis against the published OpenAPI as an officer, a leader and HQ.
- ``browser``: every kind of answer (board, exports, day log, API, an error) carries the CSP with
  ``frame-ancestors 'none'``, X-Frame-Options, Referrer-Policy and no-store; the pages hold no inline
  script or style; cross-site dashboard writes (Origin of another site, ``Origin: null``, Sec-Fetch-Site
  cross-site) are refused and the session survives; /docs and /redoc are off.
- ``records``: subjects named, and places written, as spreadsheet formulas come back from HQ's day-log
  CSV with a leading ``'``; the audit tail cut off with the head moved back passes ``verify`` alone and is
  found against the head published before (run last: it cuts HQ's audit log).
- ``auth``: attacks on sign-in and devices (issue #13; the suite's version is
  tests/reliability/test_attacks_auth.py): 40 parallel wrong PINs with the right one once locked, a
  stranger locking a badge out of its own bound phone, another badge signing in under a bound device id
  (no key, a wrong key), a revoked device signing in again, a disabled user's token; runs last (it locks
  badges).

The baseline ("accepted (control)") is the same probes with valid values, in the same run: they must be
accepted, so the refusals are HQ judging the input, not the harness failing. With a PostgreSQL DSN
(``--pg-dsn`` or ``STREETPATROL_TEST_PG_DSN``) every part runs on both backends.

The suite's version is tests/reliability/test_hostile_input.py (fewer strings, no fuzz; the suite's
bounded schemathesis run is tests/hq/test_openapi_fuzz.py).
Run from the repository root: ``.venv/bin/python -m bench.hostile`` (about a minute per backend); writes
bench/results/hostile.md.
"""

from __future__ import annotations

from testkit.hostile.attacks import (
    BOUND_KEY,
    EVIL_ORIGIN,
    FORMULAS,
    auth_attacks,
    browser,
    dashboard_client,
    header_problem,
    raw_sql,
    records,
    scope_attacks,
)
from testkit.hostile.core import (
    ACCEPTED,
    ANSWERED,
    BROKEN,
    HOSTILE,
    NEUTRALISED,
    OCTET,
    PASSWD_MARKERS,
    RECORD_REFUSED,
    REFUSED,
    RESULTS,
    SHORT,
    VERBATIM,
    Part,
    Target,
    error_problem,
    leaks,
    open311_error,
    post_json,
    schema_snapshot,
    send,
)
from testkit.hostile.params import (
    PROBE_BODIES,
    BodyProbe,
    bodies,
    body_probe,
    body_probes,
    boundary_values,
    fuzz,
    operations,
    parameter_probe,
    parameters,
)
from testkit.hostile.photos import (
    PhotoProbe,
    camera_photo_with_exif,
    decompression_bomb,
    evidence_photo,
    html_comment_polyglot,
    huge_exif,
    jpeg_segments,
    photo_probe,
    photo_probes,
    photos,
    png_photo,
    segment,
    served_safely,
    zip_polyglot,
)
from testkit.hostile.records_probes import (
    KEY,
    KINDS,
    Path_,
    Variant,
    case_to_review,
    get_at,
    judge,
    mutate,
    mutations,
    push,
    push_many,
    read_back_problem,
    set_at,
    stored,
    string_paths,
    text_fields,
    valid_case,
    valid_payload,
    valid_review,
    valid_shift,
    valid_subject,
    variants,
)
from testkit.hostile.report import (
    Server,
    demo_target,
    known_values,
    main,
    report,
    run_backend,
    stall_table,
    table,
)
from testkit.hostile.wire import (
    camera_original_with_gps,
    empty_records_push,
    health_p99,
    stall,
    wire_attacks,
)

__all__ = [
    "ACCEPTED",
    "ANSWERED",
    "BOUND_KEY",
    "BROKEN",
    "EVIL_ORIGIN",
    "FORMULAS",
    "HOSTILE",
    "KEY",
    "KINDS",
    "NEUTRALISED",
    "OCTET",
    "PASSWD_MARKERS",
    "PROBE_BODIES",
    "RECORD_REFUSED",
    "REFUSED",
    "RESULTS",
    "SHORT",
    "VERBATIM",
    "BodyProbe",
    "Part",
    "Path_",
    "PhotoProbe",
    "Server",
    "Target",
    "Variant",
    "auth_attacks",
    "bodies",
    "body_probe",
    "body_probes",
    "boundary_values",
    "browser",
    "camera_original_with_gps",
    "camera_photo_with_exif",
    "case_to_review",
    "dashboard_client",
    "decompression_bomb",
    "demo_target",
    "empty_records_push",
    "error_problem",
    "evidence_photo",
    "fuzz",
    "get_at",
    "header_problem",
    "health_p99",
    "html_comment_polyglot",
    "huge_exif",
    "jpeg_segments",
    "judge",
    "known_values",
    "leaks",
    "main",
    "mutate",
    "mutations",
    "open311_error",
    "operations",
    "parameter_probe",
    "parameters",
    "photo_probe",
    "photo_probes",
    "photos",
    "png_photo",
    "post_json",
    "push",
    "push_many",
    "raw_sql",
    "read_back_problem",
    "records",
    "report",
    "run_backend",
    "schema_snapshot",
    "scope_attacks",
    "segment",
    "send",
    "served_safely",
    "set_at",
    "stall",
    "stall_table",
    "stored",
    "string_paths",
    "table",
    "text_fields",
    "valid_case",
    "valid_payload",
    "valid_review",
    "valid_shift",
    "valid_subject",
    "variants",
    "wire_attacks",
    "zip_polyglot",
]
