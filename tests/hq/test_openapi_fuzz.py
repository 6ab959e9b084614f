"""A bounded schemathesis run against HQ's published OpenAPI, over real HTTP on loopback: no 5xx.

Every operation gets schema-valid (positive) and schema-violating (negative) requests, with a signed-in
officer's token (the token is revoked only by the last operation, sign-out). Bounded to a few dozen
examples per operation so the run stays well under a minute.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from enforcement.codec import to_json_dict
from enforcement.model import Subject, SubjectKind, new_id
from testkit.hqkit import (
    DISTRICT,
    OFFICER,
    Hq,
    make_case,
    photo_bytes,
    photo_ref,
    push_body,
    sign_in,
)

EXAMPLES = {GenerationMode.POSITIVE: 20, GenerationMode.NEGATIVE: 12}


def test_the_published_schema_survives_fuzzing_without_server_errors(hq: Hq) -> None:
    with hq.client() as client:
        auth = sign_in(client, OFFICER, "fuzz-phone")
        # some data for the reads and photo routes to find
        case = make_case(OFFICER, photos=(photo_ref(photo_bytes("f")),), device_id="fuzz-phone")
        client.post("/v1/push", json=push_body("fuzz-phone", case), headers=auth)
        with hq.storage.transaction() as tx:
            tx.save_subject(
                Subject(new_id(), SubjectKind.SHOP, name="测试店", district=DISTRICT), at=hq.clock()
            )
        schema_doc = client.get("/openapi.json").json()
    assert to_json_dict(case)["id"] == case.id

    base_url = hq.serve().url
    schema = schemathesis.openapi.from_dict(schema_doc)
    operations = [result.ok() for result in schema.get_all_operations()]
    operations.sort(key=lambda op: op.label == "POST /v1/auth/sign-out")  # revokes the token: last
    assert len(operations) >= 12
    session = requests.Session()
    outcome = Outcome()
    for operation in operations:
        for mode, examples in EXAMPLES.items():
            fuzz(operation, mode, examples, base_url, session, auth, outcome)
    session.close()
    assert outcome.failures == []
    assert outcome.tried >= 100
    assert outcome.statuses.get(2, 0) >= 20, outcome.statuses  # the run got past authentication


@dataclass
class Outcome:
    tried: int = 0
    failures: list[str] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)  # by hundreds


def fuzz(
    operation: schemathesis.APIOperation,
    mode: GenerationMode,
    examples: int,
    base_url: str,
    session: requests.Session,
    auth: dict[str, str],
    outcome: Outcome,
) -> None:
    """Send ``examples`` generated requests of one operation; record every 5xx."""

    @settings(max_examples=examples, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: schemathesis.Case) -> None:
        outcome.tried += 1
        headers = dict(case.headers or {})
        headers["Authorization"] = auth["Authorization"]  # auth failures are tested elsewhere
        response = case.call(base_url=base_url, session=session, headers=headers, timeout=10)
        hundreds = response.status_code // 100
        outcome.statuses[hundreds] = outcome.statuses.get(hundreds, 0) + 1
        if response.status_code >= 500:
            outcome.failures.append(
                f"{operation.label} [{mode.value}] → {response.status_code}: {response.text[:200]}"
            )

    try:
        run()
    except Unsatisfiable:  # nothing in the operation can be made invalid (e.g. no parameters)
        assert mode is GenerationMode.NEGATIVE, operation.label
