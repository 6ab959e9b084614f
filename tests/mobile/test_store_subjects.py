"""Subjects in the phone store: validation and normalisation on save, rare characters, search by plate,
phone and name, subjects pulled from HQ and HQ's tombstones."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from enforcement.identifiers import resident_id_check_char
from enforcement.model import EnforcementError, HistoryEntry, Stage, SubjectKind, new_id
from mobile.store import StoreRefused, search_key
from tests.mobile.test_store import T0, make_subject, open_store, raw

FIRST17 = "41010519900307123"
RESIDENT_ID = FIRST17 + resident_id_check_char(FIRST17)


def test_subject_is_normalised_and_round_trips() -> None:
    store = open_store()
    saved = store.save_subject(
        make_subject(
            kind=SubjectKind.VEHICLE, name="", plate="豫a·d12345", phone="138 1234 5678", id_number=""
        )
    )
    assert (saved.plate, saved.phone) == ("豫AD12345", "13812345678")
    assert store.get_subject(saved.id) == saved
    assert store.get_subject(new_id()) is None


def test_rare_characters_are_kept_intact() -> None:
    store = open_store()
    saved = store.save_subject(make_subject(name="𠮷野家·㐂记烧烤", address="𠮷祥路1号"))
    again = store.get_subject(saved.id)
    assert again is not None
    assert again.name == "𠮷野家·㐂记烧烤"
    assert again.address == "𠮷祥路1号"
    assert [s.id for s in store.search_subjects("𠮷")] == [saved.id]
    assert [s.id for s in store.search_subjects("㐂记")] == [saved.id]


def test_resident_id_is_validated_by_checksum() -> None:
    store = open_store()
    saved = store.save_subject(make_subject(id_number=RESIDENT_ID.lower()))
    assert saved.id_number == RESIDENT_ID
    wrong = FIRST17 + ("1" if RESIDENT_ID[-1] != "1" else "2")
    with pytest.raises(EnforcementError) as err:
        store.save_subject(make_subject(id_number=wrong))
    assert err.value.field == "id_number"
    assert wrong not in err.value.message("zh")
    assert wrong not in err.value.message("en")


def test_invalid_subject_is_refused_and_nothing_written(tmp_path: Path) -> None:
    path = tmp_path / "patrol.db"
    store = open_store(path)
    for field, subject in [
        ("plate", make_subject(kind=SubjectKind.VEHICLE, name="", plate="豫A1234")),
        ("phone", make_subject(phone="12345")),
    ]:
        with pytest.raises(EnforcementError) as err:
            store.save_subject(subject)
        assert err.value.field == field
        assert err.value.message("zh")
        assert err.value.message("en")
    store.close()
    conn = raw(path)
    assert conn.execute("SELECT count(*) FROM subjects").fetchone()[0] == 0
    assert conn.execute("SELECT count(*) FROM outbox").fetchone()[0] == 0
    conn.close()


def test_local_subjects_go_to_the_outbox_remote_ones_do_not() -> None:
    store = open_store()
    local = store.save_subject(make_subject())
    store.apply_remote_subject(make_subject(name="李四"))
    entries = store.outbox_pending()
    assert [(e.kind, e.record_id) for e in entries] == [("subject", local.id)]
    assert entries[0].payload["name"] == "王㐂𠮷"


def test_remote_subject_overwrites_and_tombstone_deletes() -> None:
    store = open_store()
    subject = make_subject(name="张三烧烤")
    store.apply_remote_subject(subject)
    store.add_remote_history(subject.id, [HistoryEntry(new_id(), "N-1", "0510", T0, Stage.PERSUASION)])
    renamed = make_subject(id=subject.id, name="张三大排档")
    store.apply_remote_subject(renamed)
    assert store.get_subject(subject.id) == renamed
    assert [s.id for s in store.search_subjects("大排档")] == [subject.id]
    assert store.search_subjects("张三烧烤") == []
    store.delete_subject(subject.id)
    assert store.get_subject(subject.id) is None
    assert store.search_subjects("张三") == []
    assert store.subject_history(subject.id) == []
    store.delete_subject(subject.id)  # a repeated tombstone is harmless


def test_remote_subject_without_id_is_refused() -> None:
    store = open_store()
    with pytest.raises(StoreRefused) as err:
        store.apply_remote_subject(make_subject(id=""))
    assert err.value.field == "id"


def test_search_by_plate_exact_after_normalising() -> None:
    store = open_store()
    truck = store.save_subject(make_subject(kind=SubjectKind.VEHICLE, name="", plate="豫A·D12345"))
    store.save_subject(make_subject(kind=SubjectKind.VEHICLE, name="", plate="豫AD12346"))
    assert [s.id for s in store.search_subjects("豫ad 12345")] == [truck.id]
    assert [s.id for s in store.search_subjects("豫A·D12345")] == [truck.id]


def test_search_by_phone_exact_after_normalising() -> None:
    store = open_store()
    vendor = store.save_subject(make_subject(phone="13812345678"))
    store.save_subject(make_subject(name="别人", phone="13812345679"))
    assert [s.id for s in store.search_subjects("+86 138-1234-5678")] == [vendor.id]
    shop = store.save_subject(
        make_subject(kind=SubjectKind.SHOP, name="老王烧烤", phone="0371-66889900", address="人民路3号")
    )
    assert [s.id for s in store.search_subjects("(0371) 6688 9900")] == [shop.id]


def test_name_search_ranks_exact_prefix_substring_then_similar() -> None:
    store = open_store()
    ids = {
        name: store.save_subject(
            make_subject(kind=SubjectKind.SHOP, name=name, phone="", address="人民路1号")
        ).id
        for name in ("老王烧烤", "老王烧烤城", "东街老王烧烤", "老汪烧烤", "李记面馆")
    }
    found = [s.id for s in store.search_subjects("老王烧烤")]
    assert found == [ids["老王烧烤"], ids["老王烧烤城"], ids["东街老王烧烤"], ids["老汪烧烤"]]
    assert [s.id for s in store.search_subjects("面馆")] == [ids["李记面馆"]]
    assert [s.id for s in store.search_subjects("老王烧烤", limit=2)] == [ids["老王烧烤"], ids["老王烧烤城"]]


def test_name_search_is_case_and_width_insensitive_and_covers_description() -> None:
    store = open_store()
    kfc = store.save_subject(
        make_subject(kind=SubjectKind.SHOP, name="KFC 人民路店", phone="", address="人民路2号")
    )
    cart = store.save_subject(make_subject(name="", description="卖烤红薯的三轮车"))
    assert [s.id for s in store.search_subjects("ｋｆｃ")] == [kfc.id]
    assert [s.id for s in store.search_subjects("烤红薯")] == [cart.id]


def test_search_of_nothing_finds_nothing() -> None:
    store = open_store()
    store.save_subject(make_subject())
    assert store.search_subjects("   ") == []
    assert store.search_subjects("王", limit=0) == []
    assert store.search_subjects("不存在的名字") == []


def test_search_key_keeps_rare_characters() -> None:
    assert search_key(" 王㐂𠮷 ") == "王㐂𠮷"
    assert search_key("ＡＢｃ") == "abc"


def test_subject_rows_use_the_search_indexes(tmp_path: Path) -> None:
    path = tmp_path / "patrol.db"
    open_store(path).close()
    conn: sqlite3.Connection = raw(path)
    plans = {
        sql: " ".join(row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + sql, ("x",)))
        for sql in (
            "SELECT id FROM subjects WHERE plate = ?",
            "SELECT id FROM subjects WHERE phone = ?",
            "SELECT id FROM cases WHERE subject_id = ?",
        )
    }
    conn.close()
    assert all("USING INDEX" in plan for plan in plans.values()), plans


def test_character_index_follows_renames_and_tombstones(tmp_path: Path) -> None:
    path = tmp_path / "patrol.db"
    store = open_store(path)
    subject = store.save_subject(make_subject(name="张三烧烤", description="红色雨棚"))
    store.save_subject(make_subject(id=subject.id, name="张三大排档", description="蓝色雨棚"))
    conn = raw(path)

    def postings() -> set[tuple[str, int, int, int]]:
        rows = conn.execute("SELECT ch, in_name, at, key_len FROM subject_chars").fetchall()
        return {(row[0], row[1], row[2], row[3]) for row in rows}

    assert postings() == {(c, 1, i + 1, 5) for i, c in enumerate("张三大排档")} | {
        (c, 0, i + 1, 4) for i, c in enumerate("蓝色雨棚")
    }
    assert [s.id for s in store.search_subjects("雨棚")] == [subject.id]  # address / description tier
    assert store.search_subjects("红色") == []
    store.delete_subject(subject.id)
    assert postings() == set()
    conn.close()
    store.close()


def test_address_matches_come_after_name_matches() -> None:
    store = open_store()
    by_name = store.save_subject(make_subject(kind=SubjectKind.SHOP, name="人民烧烤", address="黄河路1号"))
    by_address = store.save_subject(make_subject(kind=SubjectKind.SHOP, name="老李面馆", address="人民路8号"))
    assert [s.id for s in store.search_subjects("人民")] == [by_name.id, by_address.id]
    assert [s.id for s in store.search_subjects("人民", limit=1)] == [by_name.id]


#: Names as officers meet them (rare hanzi of Extensions B-G, emoji only, a ZWJ family, a flag, variation
#: selectors, combining accents, right to left, one character, an invisible character inside), each with a
#: query that must find it first.
NAMES_AND_QUERIES = (
    ("𠀀", "𠀀"),
    ("李𪚥", "𪚥"),
    ("𰻞𰻞面馆", "𰻞𰻞"),
    ("👨\u200d👩\u200d👧\u200d👦", "👨\u200d👩\u200d👧\u200d👦"),
    ("🇨🇳", "🇨🇳"),
    ("❤\ufe0f", "❤"),
    ("葛\U000e0100", "葛"),
    ("Jose\u0301", "José"),  # typed decomposed, searched composed
    ("مەمەت", "مەمەت"),
    ("王", "王"),
    ("赵\u200b六", "赵六"),
)


def test_names_in_rare_characters_round_trip_and_are_found() -> None:
    store = open_store()
    saved = {name: store.save_subject(make_subject(name=name, phone="")) for name, _ in NAMES_AND_QUERIES}
    for name, query in NAMES_AND_QUERIES:
        again = store.get_subject(saved[name].id)
        assert again is not None
        assert again.name == name
        found = store.search_subjects(query)
        assert found, name
        assert found[0].id == saved[name].id, (name, [s.name for s in found])
    # spaces and invisible characters at the ends are trimmed when saved (enforcement.text.trimmed)
    trimmed = store.save_subject(make_subject(name="\u200b\u3000王五\u00a0\ufeff", phone=""))
    assert trimmed.name == "王五"
    assert store.search_subjects("王五")[0].id == trimmed.id
