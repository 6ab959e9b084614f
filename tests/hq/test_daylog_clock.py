"""A case from a phone whose clock said 2099 or 1970 (and never learnt better) is in the day log, and the
review queue, of the day HQ received it (``patrollog.reviewing.best_known_time``), and in no other."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from pathlib import Path

from enforcement.model import LOCAL_TZ
from hq.daydata import load_daylog
from testkit.hqkit import OFFICER, catalogue, make_case, make_hq, push_body, sign_in


def test_2099_and_1970_cases_are_on_the_day_hq_received_them(tmp_path: Path) -> None:
    hq = make_hq(tmp_path)  # HQ's clock: 2026-11-22 14:00 UTC (22:00 in Beijing)
    try:
        future = make_case(OFFICER, seq=1, occurred_at=datetime(2099, 3, 1, 9, 0, tzinfo=LOCAL_TZ))
        past = replace(make_case(OFFICER, seq=2), occurred_at=datetime(1970, 1, 1, 8, 0, tzinfo=LOCAL_TZ))
        plain = make_case(OFFICER, seq=3)
        with hq.client() as client:
            auth = sign_in(client, OFFICER)
            answer = client.post(
                "/v1/push", json=push_body(f"dev-{OFFICER.badge}", future, past, plain), headers=auth
            )
            assert answer.status_code == 200, answer.text
        received_day = date(2026, 11, 22)
        with hq.storage.transaction(readonly=True) as tx:
            log = load_daylog(tx, OFFICER.squad_code, received_day, catalogue())
            assert {line.case_id for line in log.lines} == {future.id, past.id, plain.id}
            flags = {line.case_id: line.time_flag for line in log.lines}
            assert flags[future.id] == "time_future"
            assert flags[past.id] == "time_too_old"
            assert flags[plain.id] == ""
            for other in (date(2099, 3, 1), date(1970, 1, 1), date(2026, 11, 23)):
                assert load_daylog(tx, OFFICER.squad_code, other, catalogue()).lines == ()
    finally:
        hq.close()
