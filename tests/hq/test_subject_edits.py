"""Subject edits merged field by field (issue #22), and the subject identity part of the storage contract,
on both backends."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import replace
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from enforcement.codec import to_json_dict
from enforcement.model import Subject
from hq.ingest.push import ingest_batch
from hq.storage.base import ChangeKind, Storage
from hq.subjectedit import resolve_conflict
from sync.protocol import PushRecord
from testkit.records import DISTRICT, LEADER, NOW, OFFICER, OTHER_OFFICER, make_subject

_seq = iter(range(1, 10**9))
FreshStorage = Callable[[], AbstractContextManager[Storage]]  # the fixture ``fresh_storage`` (conftest)


def write(
    storage: Storage, subject: Subject, *, base: int | None, user: Any = OFFICER, device: str = "d1"
) -> Any:
    payload = to_json_dict(subject)
    if base is not None:
        payload["base_version"] = base
    record = PushRecord(kind="subject", id=subject.id, device_seq=next(_seq), payload=payload)
    [result] = ingest_batch(storage, user, device, [record], now=NOW)
    assert result.status == "accepted", result
    return result


def stored(storage: Storage, subject_id: str) -> Subject:
    with storage.transaction(readonly=True) as tx:
        found = tx.get_subject(subject_id)
    assert found is not None
    return found


def test_edits_of_different_fields_from_one_base_are_both_kept(storage: Storage) -> None:
    vendor = make_subject(address="人民路1号")
    write(storage, vendor, base=None)
    write(storage, replace(vendor, address="人民路2号"), base=1, device="phone-a")
    write(storage, replace(vendor, phone="13912345678"), base=1, user=OTHER_OFFICER, device="phone-b")
    now = stored(storage, vendor.id)
    assert (now.address, now.phone) == ("人民路2号", "13912345678")
    with storage.transaction(readonly=True) as tx:
        assert tx.list_subject_conflicts(DISTRICT) == []
        history = tx.subject_revisions(vendor.id)
        page = tx.changes_after(None, district=DISTRICT, badge=OFFICER.badge, limit=1000)
    assert [(r.version, r.by_badge, r.device_id, r.changed) for r in history] == [
        (1, OFFICER.badge, "d1", ("kind", "name", "phone", "address")),
        (2, OFFICER.badge, "phone-a", ("address",)),
        (3, OTHER_OFFICER.badge, "phone-b", ("phone",)),
    ]
    [change] = [c for c in page.changes if c.kind is ChangeKind.SUBJECT and c.key == vendor.id]
    assert change.data["version"] == 3
    assert [e["fields"] for e in change.data["edits"]] == [
        ["kind", "name", "phone", "address"],
        ["address"],
        ["phone"],
    ]


def test_one_field_changed_two_ways_is_a_conflict_until_resolved(storage: Storage) -> None:
    vendor = make_subject(name="老王烧烤")
    write(storage, vendor, base=None)
    write(storage, replace(vendor, name="老王烤串"), base=1, device="phone-a")
    answer = write(storage, replace(vendor, name="王记烧烤"), base=1, user=OTHER_OFFICER, device="phone-b")
    assert "name" in answer.reason_en
    assert stored(storage, vendor.id).name == "老王烤串"  # HQ's value stays until the leader decides
    with storage.transaction(readonly=True) as tx:
        [conflict] = tx.list_subject_conflicts(DISTRICT)
    assert (conflict.field, conflict.base_value, conflict.hq_value, conflict.pushed_value) == (
        "name", "老王烧烤", "老王烤串", "王记烧烤",
    )  # fmt: skip
    assert (conflict.by_badge, conflict.device_id) == (OTHER_OFFICER.badge, "phone-b")
    with storage.transaction() as tx:
        resolve_conflict(tx, conflict.id, take="pushed", by_badge=LEADER.badge, at=NOW)
    assert stored(storage, vendor.id).name == "王记烧烤"
    with storage.transaction(readonly=True) as tx:
        assert tx.list_subject_conflicts(DISTRICT) == []
        assert tx.subject_revisions(vendor.id)[-1].changed == ("name",)


def test_an_older_phone_without_base_version_writes_the_whole_record(storage: Storage) -> None:
    vendor = make_subject(address="人民路1号")
    write(storage, vendor, base=None)
    write(storage, replace(vendor, address="人民路2号"), base=1)
    write(storage, replace(vendor, phone="13912345678"), base=None)  # made from version 1, says nothing
    assert stored(storage, vendor.id).address == "人民路1号"  # as before #22: the last whole record wins


FIELD_VALUES = {"name": ["老王烧烤", "老王烤串", "王记"], "address": ["人民路1号", "人民路2号", ""],
                "phone": ["13812345678", "13912345678", ""]}  # fmt: skip
edit = st.tuples(
    st.sampled_from([0, 1, 2]),  # device
    st.integers(min_value=0, max_value=5),  # how many versions behind HQ's the phone's base is
    st.dictionaries(st.sampled_from(sorted(FIELD_VALUES)), st.integers(0, 2), min_size=1, max_size=3),
)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(edits=st.lists(edit, min_size=1, max_size=8))
def test_no_field_value_is_lost_without_a_recorded_conflict(
    fresh_storage: FreshStorage, edits: list[Any]
) -> None:
    with fresh_storage() as storage:  # one per example, on each backend
        vendor = make_subject(name="老王烧烤", address="人民路1号", phone="13812345678")
        write(storage, vendor, base=None)
        for device, behind, changes in edits:
            with storage.transaction(readonly=True) as tx:
                revisions = tx.subject_revisions(vendor.id)
            base_rev = revisions[max(0, len(revisions) - 1 - behind)]
            fields = {k: base_rev.payload.get(k, "") for k in FIELD_VALUES}
            base = replace(vendor, **fields)
            mine = replace(base, **{f: FIELD_VALUES[f][i] for f, i in changes.items()})
            write(storage, mine, base=base_rev.version, device=f"phone-{device}")
            with storage.transaction(readonly=True) as tx:
                now = tx.get_subject(vendor.id)
                conflicts = tx.list_subject_conflicts(DISTRICT, open_only=False)
            assert now is not None
            for field, i in changes.items():
                value = FIELD_VALUES[field][i]
                if value == base_rev.payload.get(field, ""):
                    continue  # not changed by this edit
                kept = getattr(now, field) == value
                recorded = any(c.field == field and c.pushed_value == value for c in conflicts)
                assert kept or recorded, (field, value)
