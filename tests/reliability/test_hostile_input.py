"""Bad input at HQ (issue #7), the suite's version of bench/hostile.py, over real HTTP on loopback, on SQLite
and (with ``STREETPATROL_TEST_PG_DSN``) PostgreSQL.

Every hostile request gets a 4xx with the ErrorBody of sync.protocol (an errno whose HTTP status is the
one answered) — or, for legitimately free text, the record is stored verbatim as data and never executed
— HQ stays up, the tables are intact, and nothing refused is stored. Evidence photos must be JPEGs as the
phone makes them: anything else (not an image, a bomb, a polyglot, a truncated file, 1 MB of EXIF, a
wrong content type) is refused and leaves no file. The schemathesis run of the suite is
tests/hq/test_openapi_fuzz.py; the long one is in bench/hostile.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from enforcement.model import Subject, SubjectKind, new_id
from hq.storage.postgres import PostgresStorage
from testkit.hostile import (
    ACCEPTED,
    RECORD_REFUSED,
    SHORT,
    VERBATIM,
    PhotoProbe,
    Target,
    bodies,
    known_values,
    parameters,
    photo_probe,
    photo_probes,
    served_safely,
    text_fields,
)
from testkit.hqkit import DISTRICT, HQ_USER, LEADER, OFFICER, PINS, make_hq
from testkit.pg import drop_schema, new_schema, pg_dsn

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def _target(tmp_path: Path, backend: str) -> Iterator[Target]:
    dsn = pg_dsn() if backend == "postgres" else ""
    schema = new_schema()
    hq = make_hq(tmp_path / "hq", (lambda: PostgresStorage(dsn, schema=schema, max_size=4)) if dsn else None)
    try:
        subject = Subject(new_id(), SubjectKind.MOBILE_VENDOR, name="赵老三烧烤", district=DISTRICT)
        with hq.storage.transaction() as tx:
            tx.save_subject(subject, at=hq.clock())
        users = {"officer": OFFICER, "leader": LEADER, "hq": HQ_USER}
        target = Target(hq.serve().url, hq.storage, hq.blobs, users, PINS, subject.id)
        for role in users:
            target.sign_in(role)
        yield target
        assert target.alive()
    finally:
        hq.close()
        if dsn:
            drop_schema(dsn, schema)


@pytest.fixture(scope="module", params=BACKENDS)
def target(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    """A HQ on loopback with the officer, leader and HQ signed in, on each backend, shared by the module's
    tests (every probe makes records of its own)."""
    yield from _target(tmp_path_factory.mktemp("hostile"), request.param)


@pytest.fixture(scope="module")
def sqlite_target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    yield from _target(tmp_path_factory.mktemp("hostile-photos"), "sqlite")


@pytest.fixture(scope="module")
def defaults(target: Target) -> dict[str, str]:
    """Valid values of the path parameters (a stored case with its photo …) of ``target``."""
    return known_values(target)


@pytest.mark.parametrize("name", SHORT)
def test_hostile_text_in_every_field_of_every_record_kind_is_refused_or_stored_verbatim(
    target: Target, name: str
) -> None:
    part = text_fields(target, names=(name,))

    assert part.problems == []
    assert part.outcomes[ACCEPTED] == 4  # the valid record of each kind pushed beside them
    assert part.outcomes[RECORD_REFUSED] > 0  # ids, codes, times, badges … are checked
    if name != "nul" and name != "lone_surrogate":  # (not text: refused wherever they appear)
        # free text is data: stored as sent, and the tables it "attacks" are all still there
        for label in ("case.notes ← ", "case.location.address ← ", "subject.name ← ", "review.comment ← "):
            assert part.results[label + name] == VERBATIM


@pytest.mark.parametrize("name", [*SHORT, "bounds"])
def test_hostile_path_and_query_parameters_get_an_error_with_an_errno_or_no_data(
    target: Target, defaults: dict[str, str], name: str
) -> None:
    names = () if name == "bounds" else (name,)
    part = parameters(target, target_schema(target), defaults, names=names, bounds=name == "bounds")

    assert part.problems == []
    assert part.probes > 20


def target_schema(target: Target) -> dict[str, object]:
    with target.client() as client:
        schema: dict[str, object] = client.get("/openapi.json").json()
    return schema


@pytest.mark.parametrize("probe", photo_probes(), ids=lambda p: p.name)
def test_a_hostile_photo_is_refused_and_leaves_no_file(sqlite_target: Target, probe: PhotoProbe) -> None:
    with sqlite_target.client() as client:
        outcome, problem = photo_probe(sqlite_target, client, probe)

    assert problem is None
    assert outcome == (ACCEPTED if probe.accept else "4xx + errno")


def test_a_stored_photo_is_served_as_a_jpeg_a_browser_never_sniffs(sqlite_target: Target) -> None:
    with sqlite_target.client() as client:
        _, problem = served_safely(sqlite_target, client)

    assert problem is None


def test_malformed_and_oversized_bodies_get_an_error_with_an_errno(target: Target) -> None:
    part = bodies(target)

    assert part.problems == []
    assert part.probes >= 15
