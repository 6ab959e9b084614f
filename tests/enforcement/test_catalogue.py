import copy
import json
from pathlib import Path
from typing import Any

import flet as ft
import pytest

from enforcement.catalogue import DEFAULT_PATH, Catalogue, load_catalogue, parse_catalogue
from enforcement.model import CatalogueError, Stage, SubjectKind

REQUIRED_05 = {
    "0501": "无照经营游商",
    "0502": "流浪乞讨",
    "0503": "占道废品收购",
    "0504": "店外经营",
    "0505": "机动车乱停放",
    "0506": "非机动车乱停放",
    "0507": "乱堆物堆料",
    "0508": "商业噪音",
    "0509": "黑车拉客",
    "0510": "露天烧烤",
    "0511": "沿街晾挂",
    "0512": "非法出版物销售",
    "0513": "空调室外机低挂",
}


@pytest.fixture(scope="module")
def shipped() -> Catalogue:
    return load_catalogue()


@pytest.fixture
def raw() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(DEFAULT_PATH.read_text(encoding="utf-8"))
    return copy.deepcopy(data)


def write(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "catalogue.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def entry(data: dict[str, Any], code: str) -> dict[str, Any]:
    found: dict[str, Any] = next(v for v in data["violations"] if v["code"] == code)
    return found


def refused(tmp_path: Path, data: object) -> CatalogueError:
    path = write(tmp_path, data)
    with pytest.raises(CatalogueError) as err:
        load_catalogue(path)
    assert str(path) in str(err.value)
    assert str(path) in err.value.zh
    return err.value


# --- the shipped file -------------------------------------------------------------------------------


def test_shipped_catalogue_loads(shipped: Catalogue) -> None:
    assert shipped.version == "2026.12-1"
    assert {c.code for c in shipped.categories} >= {"01", "02", "03", "05"}
    assert len(shipped) == len(list(shipped)) >= 35
    codes = [v.code for v in shipped]
    assert codes == sorted(codes)


def test_every_street_order_subcategory_of_the_domain_is_present(shipped: Catalogue) -> None:
    for code, name in REQUIRED_05.items():
        assert shipped.get(code).name_zh == name
    assert "0599" in shipped


@pytest.mark.parametrize(
    "names",
    [
        ("私搭乱建", "暴露垃圾", "积存垃圾渣土", "道路不洁", "水域不洁", "绿地脏乱", "废弃车辆", "道路遗撒"),
        ("焚烧树叶垃圾", "油烟污染"),
        ("施工扰民", "工地扬尘", "施工废弃料", "施工占道", "无证掘路", "渣土运输车辆未密闭", "车轮带泥"),
        ("无证消纳渣土", "非法小广告", "违章张贴悬挂广告牌匾", "占道广告牌", "街头散发广告", "广告招牌破损"),
    ],
)
def test_other_domain_subcategories_are_present(shipped: Catalogue, names: tuple[str, ...]) -> None:
    for name in names:
        assert shipped.find(name), name


def test_three_core_violations_are_complete(shipped: Catalogue) -> None:
    assert {v.code for v in shipped.find("占道经营")} == {"0501", "0504"}
    assert shipped.get("0501").subject_kinds >= {SubjectKind.MOBILE_VENDOR}
    assert shipped.get("0504").subject_kinds == {SubjectKind.SHOP}
    muck = {v.code: v for v in shipped.find("渣土遗撒")}
    assert set(muck) == {"0306", "0307"}
    for violation in muck.values():
        assert violation.category == "03"
        assert SubjectKind.VEHICLE in violation.subject_kinds
    bbq = shipped.get("0510")
    assert bbq.seizure_allowed
    assert bbq.icon == "OUTDOOR_GRILL"
    assert "露天烧烤" in bbq.common_names
    for code in ("0501", "0504", "0306", "0307", "0510"):
        violation = shipped.get(code)
        assert violation.name_zh
        assert violation.name_en
        assert violation.legal_basis.startswith("《")
        assert 0 < violation.fine_min <= violation.fine_max
        assert violation.common_names


def test_every_icon_exists_in_flet(shipped: Catalogue) -> None:
    assert not hasattr(ft.Icons, "NOT_AN_ICON_NAME")  # the check below can fail
    missing = [(v.code, v.icon) for v in shipped if not hasattr(ft.Icons, v.icon)]
    assert missing == []


def test_get_and_name(shipped: Catalogue) -> None:
    assert shipped.name("0510") == "露天烧烤"
    assert shipped.name("0510", "en") == "Open-air barbecue"
    assert shipped.category("0510").name("zh") == "街面秩序"
    assert all(v.category == "03" for v in shipped.in_category("03"))
    with pytest.raises(CatalogueError) as err:
        shipped.get("0598")
    assert err.value.field == "violation_code"
    assert "0598" in err.value.zh


def test_find_ignores_blank(shipped: Catalogue) -> None:
    assert shipped.find("  ") == []
    assert [v.code for v in shipped.find("barbecue")] == ["0510"]


def test_violations_mapping_is_read_only(shipped: Catalogue) -> None:
    with pytest.raises(TypeError):
        shipped.violations["9999"] = shipped.get("0510")  # type: ignore[index]


# --- malformed files: each names the file, the entry and the field -----------------------------------


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(CatalogueError) as err:
        load_catalogue(tmp_path / "nope.json")
    assert "nope.json" in err.value.zh


def test_not_json(tmp_path: Path) -> None:
    path = tmp_path / "catalogue.json"
    path.write_text('{"format": 1,', encoding="utf-8")
    with pytest.raises(CatalogueError) as err:
        load_catalogue(path)
    assert "line 1" in str(err.value)


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "catalogue.json"
    path.write_bytes(b"{}" + "占道".encode("gbk"))
    with pytest.raises(CatalogueError):
        load_catalogue(path)


def test_top_level_not_object(tmp_path: Path) -> None:
    refused(tmp_path, [1, 2])


def test_wrong_format(tmp_path: Path, raw: dict[str, Any]) -> None:
    raw["format"] = 2
    assert refused(tmp_path, raw).field == "format"


def test_missing_version(tmp_path: Path, raw: dict[str, Any]) -> None:
    del raw["version"]
    assert refused(tmp_path, raw).field == "version"


def test_unknown_top_level_field(tmp_path: Path, raw: dict[str, Any]) -> None:
    raw["violation"] = []
    assert refused(tmp_path, raw).field == "violation"


def test_no_violations(tmp_path: Path, raw: dict[str, Any]) -> None:
    raw["violations"] = []
    assert refused(tmp_path, raw).field == "violations"


def test_violations_not_a_list(tmp_path: Path, raw: dict[str, Any]) -> None:
    raw["violations"] = {"0510": {}}
    assert refused(tmp_path, raw).field == "violations"


def test_duplicate_code(tmp_path: Path, raw: dict[str, Any]) -> None:
    raw["violations"].append(copy.deepcopy(entry(raw, "0510")))
    err = refused(tmp_path, raw)
    assert err.field == "code"
    assert "0510" in str(err)
    assert "duplicate" in str(err)
    assert "重复" in err.zh


def test_bad_code_names_the_index(tmp_path: Path, raw: dict[str, Any]) -> None:
    raw["violations"][3]["code"] = "510"
    err = refused(tmp_path, raw)
    assert err.field == "code"
    assert "violations[3]" in str(err)


def test_entry_not_an_object(tmp_path: Path, raw: dict[str, Any]) -> None:
    raw["violations"][2] = "0510"
    assert "violations[2]" in str(refused(tmp_path, raw))


def test_code_not_matching_category(tmp_path: Path, raw: dict[str, Any]) -> None:
    entry(raw, "0510")["category"] = "01"
    err = refused(tmp_path, raw)
    assert err.field == "category"
    assert "0510" in str(err)


def test_category_not_listed(tmp_path: Path, raw: dict[str, Any]) -> None:
    raw["categories"] = [c for c in raw["categories"] if c["code"] != "02"]
    err = refused(tmp_path, raw)
    assert err.field == "category"
    assert "0201" in str(err)


def test_duplicate_category(tmp_path: Path, raw: dict[str, Any]) -> None:
    raw["categories"].append(dict(raw["categories"][0]))
    assert refused(tmp_path, raw).field == "code"


def test_bad_category_code(tmp_path: Path, raw: dict[str, Any]) -> None:
    raw["categories"][1]["code"] = "2"
    err = refused(tmp_path, raw)
    assert "categories[1]" in str(err)
    assert err.field == "code"


def test_category_missing_name(tmp_path: Path, raw: dict[str, Any]) -> None:
    raw["categories"][0]["name_en"] = ""
    err = refused(tmp_path, raw)
    assert err.field == "name_en"
    assert "category 01" in str(err)


def test_fine_min_above_max(tmp_path: Path, raw: dict[str, Any]) -> None:
    entry(raw, "0510")["fine_min"] = 30000
    err = refused(tmp_path, raw)
    assert (err.field, "0510" in str(err)) == ("fine_min", True)


@pytest.mark.parametrize("value", [-1, 1.5, "200", True, None])
def test_fine_not_a_whole_number(tmp_path: Path, raw: dict[str, Any], value: object) -> None:
    entry(raw, "0504")["fine_max"] = value
    err = refused(tmp_path, raw)
    assert err.field == "fine_max"
    assert "0504" in err.zh


def test_unknown_subject_kind(tmp_path: Path, raw: dict[str, Any]) -> None:
    entry(raw, "0306")["subject_kinds"] = ["vehicle", "truck"]
    err = refused(tmp_path, raw)
    assert err.field == "subject_kinds"
    assert "truck" in str(err)
    assert "0306" in str(err)


def test_empty_subject_kinds(tmp_path: Path, raw: dict[str, Any]) -> None:
    entry(raw, "0306")["subject_kinds"] = []
    assert refused(tmp_path, raw).field == "subject_kinds"


@pytest.mark.parametrize("field", ["name_zh", "name_en", "legal_basis", "icon"])
def test_missing_text(tmp_path: Path, raw: dict[str, Any], field: str) -> None:
    del entry(raw, "0501")[field]
    err = refused(tmp_path, raw)
    assert err.field == field
    assert "0501" in str(err)


def test_blank_name(tmp_path: Path, raw: dict[str, Any]) -> None:
    entry(raw, "0501")["name_zh"] = "   "
    assert refused(tmp_path, raw).field == "name_zh"


def test_name_not_text(tmp_path: Path, raw: dict[str, Any]) -> None:
    entry(raw, "0501")["name_zh"] = 501
    assert refused(tmp_path, raw).field == "name_zh"


@pytest.mark.parametrize("icon", ["outdoor_grill", "ft.Icons.OUTDOOR_GRILL", "OUTDOOR GRILL", "1K"])
def test_bad_icon_name_format(tmp_path: Path, raw: dict[str, Any], icon: str) -> None:
    entry(raw, "0510")["icon"] = icon
    assert refused(tmp_path, raw).field == "icon"


def test_seizure_not_boolean(tmp_path: Path, raw: dict[str, Any]) -> None:
    entry(raw, "0510")["seizure_allowed"] = "yes"
    assert refused(tmp_path, raw).field == "seizure_allowed"


def test_common_names_bad(tmp_path: Path, raw: dict[str, Any]) -> None:
    entry(raw, "0510")["common_names"] = ["露天烧烤", ""]
    assert refused(tmp_path, raw).field == "common_names"


def test_unknown_entry_field(tmp_path: Path, raw: dict[str, Any]) -> None:
    entry(raw, "0510")["fine_maximum"] = 10
    err = refused(tmp_path, raw)
    assert err.field == "fine_maximum"
    assert "0510" in str(err)


def test_common_names_optional() -> None:
    data = {
        "format": 1,
        "version": "t",
        "categories": [{"code": "05", "name_zh": "街面秩序", "name_en": "Street order"}],
        "violations": [
            {
                "code": "0599",
                "category": "05",
                "name_zh": "其他",
                "name_en": "Other",
                "subject_kinds": ["unknown"],
                "legal_basis": "依法",
                "fine_min": 0,
                "fine_max": 0,
                "seizure_allowed": False,
                "icon": "MORE_HORIZ",
            }
        ],
    }
    catalogue = parse_catalogue(data, "HQ")
    assert catalogue.get("0599").common_names == ()
    assert not catalogue.get("0599").fines
    del data["violations"][0]["icon"]  # type: ignore[index]
    with pytest.raises(CatalogueError) as err:
        parse_catalogue(data, "HQ")
    assert str(err.value).startswith("HQ, entry 0599, field 'icon'")


def test_min_photos_and_photo_policy_are_checked() -> None:
    base = json.loads(DEFAULT_PATH.read_text(encoding="utf-8"))
    shipped = parse_catalogue(base, "test")
    assert dict(shipped.min_photos) == {Stage.PERSUASION: 0, Stage.WARNING: 1, Stage.PENALTY: 1}
    assert (shipped.photo_watermark, shipped.photo_long_edge) == (True, 1600)
    older = {k: v for k, v in base.items() if k not in ("min_photos", "photo_policy")}
    defaults = parse_catalogue(older, "test")
    assert dict(defaults.min_photos) == {}
    assert (defaults.photo_watermark, defaults.photo_long_edge) == (True, 1600)
    bad_cases = [
        ({"min_photos": {"warnings": 1}}, "min_photos"),
        ({"min_photos": {"warning": -1}}, "min_photos"),
        ({"min_photos": {"warning": True}}, "min_photos"),
        ({"min_photos": [1]}, "min_photos"),
        ({"photo_policy": {"watermark": "yes"}}, "watermark"),
        ({"photo_policy": {"long_edge": 100}}, "long_edge"),
        ({"photo_policy": {"size": 1600}}, "size"),
    ]
    # a violation's own override is checked the same way
    entries = copy.deepcopy(base["violations"])
    entries[0]["min_photos"] = {"penalty": 99}
    bad_cases.append(({"violations": entries}, "min_photos"))
    for change, field in bad_cases:
        with pytest.raises(CatalogueError) as err:
            parse_catalogue({**base, **change}, "test")
        assert err.value.field == field, change
        assert err.value.zh
