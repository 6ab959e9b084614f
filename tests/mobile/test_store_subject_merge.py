"""The phone store's side of issue #22: subjects merged at HQ resolve offline, likely matches before a new
subject, HQ's version and edits, and an edit queued with the version it was made from."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from enforcement.model import HistoryEntry, Stage, SubjectKind, new_id
from tests.mobile.test_store import T0, make_subject, open_store


def _entry(n: int) -> HistoryEntry:
    return HistoryEntry(new_id(), f"ZD01-1023-261122-K7Q2M-{n:04d}", "0510", T0 + timedelta(hours=n),
                        Stage.PERSUASION)  # fmt: skip


def test_an_alias_resolves_to_its_survivor_in_search_and_history() -> None:
    with open_store() as store:
        survivor = make_subject(name="老王烧烤")
        alias = make_subject(name="老王烧烤", phone="+86 138 1234 5678")
        store.apply_remote_subject(survivor)
        store.apply_remote_subject(alias)
        store.add_remote_history(survivor.id, [_entry(1)])
        store.add_remote_history(alias.id, [_entry(2)])
        assert len(store.search_subjects("老王烧烤")) == 2
        store.apply_subject_alias(alias.id, survivor.id)
        assert [s.id for s in store.search_subjects("老王烧烤")] == [survivor.id]
        assert [s.id for s in store.search_subjects("13812345678")] == [survivor.id]
        assert store.resolve_subject(alias.id) == survivor.id
        assert store.subject_ids(alias.id) == [survivor.id, alias.id]
        assert len(store.subject_history(alias.id)) == len(store.subject_history(survivor.id)) == 2
        store.apply_subject_alias(alias.id, "")  # unmerged at HQ
        assert len(store.search_subjects("老王烧烤")) == 2
        assert len(store.subject_history(survivor.id)) == 1


def test_likely_matches_shared_identifiers_first_then_similar_names_of_the_same_kind() -> None:
    with open_store() as store:
        by_phone = make_subject(name="王师傅", phone="13812345678")
        by_name = make_subject(name="老王烧烤（夜市）", phone="13900001111")
        a_shop = make_subject(kind=SubjectKind.SHOP, name="老王烧烤", phone="", address="人民路1号")
        for subject in (by_phone, by_name, a_shop):
            store.apply_remote_subject(subject)
        found = store.likely_matches(kind="mobile_vendor", name="老王 烧烤", phone="+86 138-1234-5678")
        assert [(s.id, why) for s, why in found] == [(by_phone.id, "phone"), (by_name.id, "name")]
        assert store.likely_matches(kind="mobile_vendor", name="", phone="") == []


def test_an_edit_is_queued_with_hqs_version_and_the_edits_are_kept() -> None:
    with open_store() as store:
        vendor = make_subject(name="老王烧烤")
        store.apply_remote_subject(vendor)
        at = T0.isoformat()
        edits = [
            {"version": 1, "at": at, "by_badge": "1023", "device_id": "d1", "fields": ["name"]},
            {"version": 2, "at": at, "by_badge": "1024", "device_id": "d2", "fields": ["phone"]},
        ]
        store.apply_subject_meta(vendor.id, 2, edits)
        assert [e["version"] for e in store.subject_edits(vendor.id)] == [2, 1]
        store.update_subject(replace(vendor, address="人民路夜市"))
        [entry] = [e for e in store.outbox_pending() if e.kind == "subject"]
        assert (entry.payload["base_version"], entry.payload["address"]) == (2, "人民路夜市")
