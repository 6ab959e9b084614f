"""A case version's one feed entry (``Tx.emit_case``), on both backends: one stored row without a copy of
the record serves the officer's ``case_state`` and the leaders' ``squad_case``; the leaders' window applies
to their half only; a page never splits the two halves of an entry (a page may then hold one change more
than ``limit`` only when its first entry is both halves and ``limit`` is 1)."""

from __future__ import annotations

from typing import Any

from enforcement.codec import to_json_dict
from hq.storage.base import ChangeKind, Storage, UserRow
from testkit.records import DISTRICT, LEADER, NOW, OFFICER, days, make_case, make_subject, raw_sql
from tests.hq.ingest.test_ingest import _amend, push, rec

_CASE_KINDS = (ChangeKind.CASE_STATE, ChangeKind.SQUAD_CASE)


def _pull(storage: Storage, who: Any, *, squad: bool, limit: int = 500, **windows: Any) -> list[list[str]]:
    """Every page's case changes (``case_state``, ``squad_case``) as ``kind:key``."""
    pages, cursor = [], None
    while True:
        with storage.transaction(readonly=True) as tx:
            led = who.squad_code if squad else None
            page = tx.changes_after(
                cursor, district=DISTRICT, badge=who.badge, squad=led, limit=limit, **windows
            )
        pages.append([f"{c.kind.value}:{c.key}" for c in page.changes if c.kind in _CASE_KINDS])
        cursor = page.cursor
        if not page.more:
            return pages


def test_one_row_without_the_record_serves_the_officer_and_the_leaders(storage: Storage) -> None:
    with storage.transaction() as tx:
        tx.put_user(UserRow(OFFICER, "x"))
    subject = make_subject(name="张㐂")
    case = make_case(subject_id=subject.id, photos=2)
    push(storage, rec("subject", subject), rec("case", case))
    rows = raw_sql(storage)(
        "SELECT kind, scope_badge, scope_squad, data FROM changes WHERE key = ?", (case.id,)
    )
    assert [r[:3] for r in rows] == [("case_state", OFFICER.badge, OFFICER.squad_code)]
    payload = raw_sql(storage)("SELECT payload FROM cases WHERE id = ?", (case.id,))[0][0]
    assert '"case":' not in rows[0][3]
    assert case.case_no in payload
    assert len(rows[0][3]) < len(payload)  # the record is not copied into the feed
    assert _pull(storage, OFFICER, squad=False) == [[f"case_state:{case.id}"]]
    with storage.transaction(readonly=True) as tx:
        page = tx.changes_after(None, district=DISTRICT, badge=LEADER.badge, squad=LEADER.squad_code)
    squad = [c for c in page.changes if c.kind is ChangeKind.SQUAD_CASE]
    assert [c.key for c in page.changes if c.kind in _CASE_KINDS] == [case.id]
    assert squad[0].data["case"] == to_json_dict(case)
    assert squad[0].data["missing_photos"] == 2
    assert squad[0].occurred_at == case.occurred_at


def test_the_leaders_window_holds_back_only_their_half(storage: Storage) -> None:
    case = make_case()
    own = make_case(officer=LEADER)
    push(storage, rec("case", case))
    push(storage, rec("case", own), user=LEADER)
    later = {"squad_since": NOW + days(1)}  # both cases before the leaders' window
    assert _pull(storage, LEADER, squad=True, **later) == [[f"case_state:{own.id}"]]
    assert _pull(storage, OFFICER, squad=False, **later) == [[f"case_state:{case.id}"]]
    assert _pull(storage, LEADER, squad=True) == [
        [f"squad_case:{case.id}", f"case_state:{own.id}", f"squad_case:{own.id}"]
    ]


def test_a_page_never_splits_an_entrys_two_halves(storage: Storage) -> None:
    case, own, last = make_case(), make_case(officer=LEADER), make_case()
    push(storage, rec("case", case))
    push(storage, rec("case", own), user=LEADER)
    push(storage, rec("case", last))
    both = [f"case_state:{own.id}", f"squad_case:{own.id}"]
    assert _pull(storage, LEADER, squad=True, limit=2) == [
        [f"squad_case:{case.id}"], both, [f"squad_case:{last.id}"]
    ]  # fmt: skip
    assert _pull(storage, LEADER, squad=True, limit=1) == [
        [f"squad_case:{case.id}"], both, [f"squad_case:{last.id}"]
    ]  # fmt: skip
    assert _pull(storage, LEADER, squad=True, limit=3) == [
        [f"squad_case:{case.id}", *both], [f"squad_case:{last.id}"]
    ]  # fmt: skip


def test_each_version_reads_its_own_record_after_an_amendment(storage: Storage) -> None:
    v1 = make_case(subject_id=make_subject().id, photos=1)
    v2 = _amend(v1, notes="补充")
    push(storage, rec("case", v1))
    with storage.transaction(readonly=True) as tx:
        cursor = tx.changes_after(None, district=DISTRICT, badge=LEADER.badge, squad=LEADER.squad_code).cursor
    push(storage, rec("case", v2))
    with storage.transaction(readonly=True) as tx:
        whole = tx.changes_after(None, district=DISTRICT, badge=LEADER.badge, squad=LEADER.squad_code)
        after = tx.changes_after(cursor, district=DISTRICT, badge=LEADER.badge, squad=LEADER.squad_code)
    squad = {c.key: c.data["case"] for c in whole.changes if c.kind is ChangeKind.SQUAD_CASE}
    assert squad == {v1.id: to_json_dict(v1), v2.id: to_json_dict(v2)}  # the old entry is not the new record
    assert [c.key for c in after.changes if c.kind is ChangeKind.SQUAD_CASE] == [v2.id]
