import json
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

import pytest

from enforcement.catalogue import DEFAULT_PATH, Catalogue, load_catalogue, parse_catalogue
from enforcement.model import (
    LOCAL_TZ,
    Case,
    CaseValidationError,
    Disposition,
    Location,
    PhotoKind,
    PhotoRef,
    SeizedItem,
    Stage,
    Subject,
    SubjectKind,
    new_id,
)
from enforcement.validation import (
    MAX_PHOTOS,
    case_problems,
    clean_reason,
    validate_case,
    validate_subject,
)
from tests.enforcement.cases import make_case as base_case


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return load_catalogue()


def make_case(**changes: Any) -> Case:
    """``tests.enforcement.cases.make_case`` with the photo a 警告 / 处罚 case needs (the shipped
    catalogue's minimum) unless ``photos`` is given."""
    case = base_case(**changes)
    if "photos" not in changes and case.chosen_stage in (Stage.WARNING, Stage.PENALTY):
        case = replace(case, photos=(photo(900),))
    return case


def penalty(**changes: Any) -> Case:
    base: dict[str, Any] = {
        "computed_stage": Stage.PENALTY,
        "chosen_stage": Stage.PENALTY,
        "stage_ordinal": 3,
        "disposition": Disposition.PENALTY,
        "fine_yuan": 500,
        "legal_basis": "《中华人民共和国大气污染防治法》第一百一十八条",
    }
    base.update(changes)
    return make_case(**base)


def seizure(**changes: Any) -> Case:
    base: dict[str, Any] = {
        "seized_items": (SeizedItem("烧烤炉", 1), SeizedItem("炭槽", 2)),
        "seizure_receipt_no": "ZK-2026-0042",
        "second_officer_badge": "1077",
    }
    base.update(changes)
    return make_case(**base)


def refusal(case: Case, catalogue: Catalogue, field: str, **kwargs: Any) -> CaseValidationError:
    with pytest.raises(CaseValidationError) as err:
        validate_case(case, catalogue, **kwargs)
    assert err.value.field == field, (err.value.field, err.value.en)
    assert err.value.zh
    assert err.value.en
    assert err.value.zh != err.value.en
    return err.value


def photo(n: int) -> PhotoRef:
    return PhotoRef(f"{n:064x}", 1000 + n, PhotoKind.DURING)


# --- valid cases pass -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "case",
    [
        make_case(),
        make_case(location=Location(address="人民路与花园路口")),
        make_case(location=Location(no_fix_reason="地下通道无信号")),
        make_case(subject_id=None, subject_unknown=True),
        penalty(),
        seizure(),
        penalty(
            seized_items=(SeizedItem("烧烤架", 3),), seizure_receipt_no="ZK-1", second_officer_badge="1077"
        ),
        make_case(disposition=Disposition.WARNING_NOTICE, warning_notice_no="JG-2026-18"),
        make_case(disposition=Disposition.RECTIFY_ORDER, rectify_deadline=date(2026, 11, 23)),
        make_case(disposition=Disposition.REFERRED, referred_to="区市场监督管理局"),
        make_case(chosen_stage=Stage.WARNING, stage_override_reason="屡教不改"),
        make_case(computed_stage=Stage.PENALTY, stage_ordinal=5, chosen_stage=Stage.PENALTY),
        make_case(photos=tuple(photo(n) for n in range(MAX_PHOTOS))),
        make_case(version=2, supersedes=new_id()),
    ],
)
def test_valid_cases_pass(case: Case, catalogue: Catalogue) -> None:
    assert case_problems(case, catalogue) == []
    validate_case(case, catalogue)


# --- one test per refusal -------------------------------------------------------------------------------


def test_no_violation_chosen(catalogue: Catalogue) -> None:
    err = refusal(make_case(violation_code=""), catalogue, "violation_code")
    assert err.zh == "请选择违法类型"


def test_unknown_violation(catalogue: Catalogue) -> None:
    err = refusal(make_case(violation_code="0598"), catalogue, "violation_code")
    assert "0598" in err.zh


def test_empty_badge(catalogue: Catalogue) -> None:
    refusal(make_case(officer_badge="  "), catalogue, "officer_badge")


def test_empty_case_no(catalogue: Catalogue) -> None:
    refusal(make_case(case_no=""), catalogue, "case_no")


def test_empty_squad(catalogue: Catalogue) -> None:
    refusal(make_case(squad_code=""), catalogue, "squad_code")


def test_empty_device(catalogue: Catalogue) -> None:
    refusal(make_case(device_id=""), catalogue, "device_id")


def test_empty_id(catalogue: Catalogue) -> None:
    refusal(make_case(id=""), catalogue, "id")


def test_naive_time(catalogue: Catalogue) -> None:
    refusal(make_case(occurred_at=datetime(2026, 11, 22, 21, 30)), catalogue, "occurred_at")


def test_naive_time_with_rectify_order_reports_only_the_time(catalogue: Catalogue) -> None:
    case = make_case(
        occurred_at=datetime(2026, 11, 22, 21, 30),
        disposition=Disposition.RECTIFY_ORDER,
        rectify_deadline=date(2026, 11, 30),
    )
    assert [p.field for p in case_problems(case, catalogue)] == ["occurred_at"]


def test_other_time_zone_is_fine(catalogue: Catalogue) -> None:
    validate_case(make_case(occurred_at=datetime(2026, 11, 22, 13, 30, tzinfo=UTC)), catalogue)


def test_no_location_at_all(catalogue: Catalogue) -> None:
    err = refusal(make_case(location=Location(address="  ")), catalogue, "location")
    assert "定位" in err.zh


@pytest.mark.parametrize(
    "location",
    [
        Location(lat=91.0, lon=113.6),
        Location(lat=-90.5, lon=113.6),
        Location(lat=34.7, lon=180.1),
        Location(lat=34.7, lon=-181.0),
        Location(lat=float("nan"), lon=113.6),
        Location(lat=34.7, lon=float("inf")),
    ],
)
def test_gps_out_of_range(catalogue: Catalogue, location: Location) -> None:
    err = refusal(make_case(location=location), catalogue, "location")
    assert "范围" in err.zh


def test_half_a_gps_fix(catalogue: Catalogue) -> None:
    refusal(make_case(location=Location(lat=34.7, address="人民路")), catalogue, "location")


def test_negative_accuracy(catalogue: Catalogue) -> None:
    refusal(make_case(location=Location(lat=34.7, lon=113.6, accuracy_m=-3)), catalogue, "location")


def test_subject_missing(catalogue: Catalogue) -> None:
    err = refusal(make_case(subject_id=None), catalogue, "subject_id")
    assert "当事人不明" in err.zh


def test_subject_blank(catalogue: Catalogue) -> None:
    refusal(make_case(subject_id=" "), catalogue, "subject_id")


def test_unknown_subject_with_an_id(catalogue: Catalogue) -> None:
    refusal(make_case(subject_unknown=True), catalogue, "subject_id")


def test_subject_kind_not_covered_by_violation(catalogue: Catalogue) -> None:
    truck = Subject(id=new_id(), kind=SubjectKind.VEHICLE, plate="豫A12345")
    err = refusal(make_case(subject_id=truck.id), catalogue, "subject_id", subject=truck)
    assert "车辆" in err.zh
    shop = Subject(id=truck.id, kind=SubjectKind.SHOP, name="老王烧烤", address="人民路1号")
    validate_case(make_case(subject_id=truck.id), catalogue, subject=shop)


def test_subject_given_is_another(catalogue: Catalogue) -> None:
    shop = Subject(id=new_id(), kind=SubjectKind.SHOP, name="老王烧烤", address="人民路1号")
    refusal(make_case(), catalogue, "subject_id", subject=shop)


@pytest.mark.parametrize("reason", ["", "   ", "太忙", "a b c"])
def test_stage_override_needs_a_reason(catalogue: Catalogue, reason: str) -> None:
    case = make_case(chosen_stage=Stage.PENALTY, stage_override_reason=reason)
    err = refusal(case, catalogue, "stage_override_reason")
    assert "4" in err.zh


def test_stage_ordinal_must_match(catalogue: Catalogue) -> None:
    refusal(make_case(stage_ordinal=2), catalogue, "stage_ordinal")
    refusal(make_case(stage_ordinal=0), catalogue, "stage_ordinal")


def test_invalid_chosen_stage(catalogue: Catalogue) -> None:
    refusal(make_case(chosen_stage=7), catalogue, "chosen_stage")


def test_penalty_needs_a_fine(catalogue: Catalogue) -> None:
    err = refusal(penalty(fine_yuan=None), catalogue, "fine_yuan")
    assert "500～20000" in err.zh


@pytest.mark.parametrize("fine", [499, 20001, 0, -5])
def test_penalty_fine_within_catalogue_range(catalogue: Catalogue, fine: int) -> None:
    refusal(penalty(fine_yuan=fine), catalogue, "fine_yuan")


@pytest.mark.parametrize("fine", [500, 20000])
def test_fine_range_bounds_are_inclusive(catalogue: Catalogue, fine: int) -> None:
    validate_case(penalty(fine_yuan=fine), catalogue)


def test_penalty_needs_legal_basis(catalogue: Catalogue) -> None:
    refusal(penalty(legal_basis=" "), catalogue, "legal_basis")


def test_penalty_needs_penalty_stage(catalogue: Catalogue) -> None:
    case = penalty(computed_stage=Stage.PERSUASION, chosen_stage=Stage.PERSUASION, stage_ordinal=1)
    refusal(case, catalogue, "disposition")


def test_early_penalty_with_reason_passes(catalogue: Catalogue) -> None:
    case = penalty(
        computed_stage=Stage.PERSUASION, stage_ordinal=1, stage_override_reason="拒不改正，暴力抗法"
    )
    validate_case(case, catalogue)


def test_no_fine_for_violation_the_bureau_does_not_fine(catalogue: Catalogue) -> None:
    refusal(penalty(violation_code="0502", fine_yuan=None), catalogue, "disposition")


def test_fine_without_penalty(catalogue: Catalogue) -> None:
    refusal(make_case(fine_yuan=200), catalogue, "fine_yuan")


def test_warning_notice_needs_number(catalogue: Catalogue) -> None:
    refusal(make_case(disposition=Disposition.WARNING_NOTICE), catalogue, "warning_notice_no")


def test_seizure_not_allowed_for_violation(catalogue: Catalogue) -> None:
    err = refusal(seizure(violation_code="0505"), catalogue, "seized_items")
    assert "机动车乱停放" in err.zh


def test_seized_quantity_at_least_one(catalogue: Catalogue) -> None:
    err = refusal(seizure(seized_items=(SeizedItem("烧烤炉", 0),)), catalogue, "seized_items")
    assert "烧烤炉" in err.zh


def test_seized_item_needs_kind(catalogue: Catalogue) -> None:
    refusal(seizure(seized_items=(SeizedItem(" ", 1),)), catalogue, "seized_items")


def test_seizure_needs_receipt(catalogue: Catalogue) -> None:
    err = refusal(seizure(seizure_receipt_no=""), catalogue, "seizure_receipt_no")
    assert "一式二份" in err.zh


def test_seizure_needs_second_officer(catalogue: Catalogue) -> None:
    err = refusal(seizure(second_officer_badge=""), catalogue, "second_officer_badge")
    assert "两名" in err.zh


def test_second_officer_must_differ(catalogue: Catalogue) -> None:
    refusal(seizure(second_officer_badge=" 1023 "), catalogue, "second_officer_badge")


def test_rectify_order_needs_deadline(catalogue: Catalogue) -> None:
    refusal(make_case(disposition=Disposition.RECTIFY_ORDER), catalogue, "rectify_deadline")


def test_rectify_deadline_after_the_local_day(catalogue: Catalogue) -> None:
    # 2026-11-22 17:00 UTC is 2026-11-23 01:00 in the bureau: the 23rd is the occurred day, not after it.
    late = datetime(2026, 11, 22, 17, 0, tzinfo=UTC)
    case = make_case(
        occurred_at=late, disposition=Disposition.RECTIFY_ORDER, rectify_deadline=date(2026, 11, 23)
    )
    refusal(case, catalogue, "rectify_deadline")
    validate_case(replace(case, rectify_deadline=date(2026, 11, 24)), catalogue)


def test_rectify_deadline_same_day(catalogue: Catalogue) -> None:
    case = make_case(disposition=Disposition.RECTIFY_ORDER, rectify_deadline=date(2026, 11, 22))
    refusal(case, catalogue, "rectify_deadline")


def test_referral_needs_department(catalogue: Catalogue) -> None:
    refusal(make_case(disposition=Disposition.REFERRED), catalogue, "referred_to")


def test_invalid_disposition(catalogue: Catalogue) -> None:
    refusal(make_case(disposition="scolded"), catalogue, "disposition")


def test_amendment_needs_supersedes(catalogue: Catalogue) -> None:
    refusal(make_case(version=2), catalogue, "supersedes")


def test_first_version_supersedes_nothing(catalogue: Catalogue) -> None:
    refusal(make_case(supersedes=new_id()), catalogue, "supersedes")


def test_version_cannot_supersede_itself(catalogue: Catalogue) -> None:
    case = make_case(version=2)
    refusal(replace(case, supersedes=case.id), catalogue, "supersedes")


def test_version_zero(catalogue: Catalogue) -> None:
    refusal(make_case(version=0), catalogue, "version")


def test_too_many_photos(catalogue: Catalogue) -> None:
    case = make_case(photos=tuple(photo(n) for n in range(MAX_PHOTOS + 1)))
    err = refusal(case, catalogue, "photos")
    assert "9" in err.zh


def test_duplicate_photo(catalogue: Catalogue) -> None:
    refusal(make_case(photos=(photo(1), photo(1))), catalogue, "photos")


@pytest.mark.parametrize("bad", [PhotoRef("abc", 10), PhotoRef("A" * 64, 10), PhotoRef("a" * 64, 0)])
def test_bad_photo_record(catalogue: Catalogue, bad: PhotoRef) -> None:
    refusal(make_case(photos=(bad,)), catalogue, "photos")


def test_all_problems_listed_in_form_order(catalogue: Catalogue) -> None:
    case = make_case(
        violation_code="",
        location=Location(),
        subject_id=None,
        disposition=Disposition.REFERRED,
        occurred_at=datetime(2026, 11, 22, 23, 59, tzinfo=LOCAL_TZ),
    )
    fields = [p.field for p in case_problems(case, catalogue)]
    assert fields == ["violation_code", "location", "subject_id", "referred_to"]


def test_clean_reason() -> None:
    assert clean_reason("  屡教\n不改  ") == "屡教 不改"


# --- subjects -------------------------------------------------------------------------------------------


def test_vehicle_subject_normalised() -> None:
    truck = Subject(
        id=new_id(), kind=SubjectKind.VEHICLE, plate="豫a·d12345", phone="138 1234 5678", name=" 某渣土公司 "
    )
    result = validate_subject(truck)
    assert (result.plate, result.phone, result.name) == ("豫AD12345", "13812345678", "某渣土公司")
    assert result.id == truck.id


def test_vehicle_needs_plate() -> None:
    with pytest.raises(CaseValidationError) as err:
        validate_subject(Subject(id=new_id(), kind=SubjectKind.VEHICLE, name="渣土车"))
    assert err.value.field == "plate"


def test_vehicle_bad_plate() -> None:
    with pytest.raises(CaseValidationError) as err:
        validate_subject(Subject(id=new_id(), kind=SubjectKind.VEHICLE, plate="豫A1234"))
    assert err.value.field == "plate"
    assert "车牌" in err.value.zh


@pytest.mark.parametrize(
    ("name", "address", "field"), [("", "人民路1号", "name"), ("老王烧烤", " ", "address")]
)
def test_shop_needs_name_and_address(name: str, address: str, field: str) -> None:
    with pytest.raises(CaseValidationError) as err:
        validate_subject(Subject(id=new_id(), kind=SubjectKind.SHOP, name=name, address=address))
    assert err.value.field == field


@pytest.mark.parametrize(
    "changes", [{"name": "王㐂𠮷"}, {"phone": "13812345678"}, {"description": "推三轮车卖烤红薯，中年男性"}]
)
def test_mobile_vendor_needs_one_detail(changes: dict[str, Any]) -> None:
    result = validate_subject(replace(Subject(id=new_id(), kind=SubjectKind.MOBILE_VENDOR), **changes))
    assert result.name == changes.get("name", "")
    with pytest.raises(CaseValidationError) as err:
        validate_subject(Subject(id=new_id(), kind=SubjectKind.MOBILE_VENDOR, address="人民路"))
    assert err.value.field == "name"


def test_construction_site_needs_name_or_address() -> None:
    validate_subject(Subject(id=new_id(), kind=SubjectKind.CONSTRUCTION_SITE, address="花园路北段"))
    with pytest.raises(CaseValidationError) as err:
        validate_subject(Subject(id=new_id(), kind=SubjectKind.CONSTRUCTION_SITE))
    assert err.value.field == "name"


def test_unknown_subject_needs_description() -> None:
    with pytest.raises(CaseValidationError) as err:
        validate_subject(Subject(id=new_id(), kind=SubjectKind.UNKNOWN))
    assert err.value.field == "description"


def test_id_number_validated_and_normalised() -> None:
    vendor = Subject(id=new_id(), kind=SubjectKind.MOBILE_VENDOR, name="王某", id_number="11010519491231002x")
    assert validate_subject(vendor).id_number == "11010519491231002X"
    with pytest.raises(CaseValidationError) as err:
        validate_subject(replace(vendor, id_number="110105194912310021"))
    assert err.value.field == "id_number"


def test_bad_phone_on_subject() -> None:
    with pytest.raises(CaseValidationError) as err:
        validate_subject(Subject(id=new_id(), kind=SubjectKind.MOBILE_VENDOR, name="王某", phone="12345"))
    assert err.value.field == "phone"


def test_subject_needs_id_and_kind() -> None:
    with pytest.raises(CaseValidationError) as err:
        validate_subject(Subject(id="", kind=SubjectKind.MOBILE_VENDOR, name="王某"))
    assert err.value.field == "id"
    with pytest.raises(CaseValidationError) as err:
        validate_subject(Subject(id=new_id(), kind="hawker", name="王某"))  # type: ignore[arg-type]
    assert err.value.field == "kind"


# --- minimum photos per stage (the catalogue's min_photos) ---------------------------------------------


@pytest.mark.parametrize("stage", [Stage.WARNING, Stage.PENALTY])
def test_warning_and_penalty_need_a_photo(catalogue: Catalogue, stage: Stage) -> None:
    case = (
        penalty(photos=())
        if stage is Stage.PENALTY
        else make_case(chosen_stage=Stage.WARNING, stage_override_reason="屡教不改", photos=())
    )
    err = refusal(case, catalogue, "photos")
    name = "处罚" if stage is Stage.PENALTY else "警告"
    assert err.zh == f"{name}案件至少需要1张照片（当前0张），请先拍照再保存"
    assert "at least 1 photo" in err.message("en")
    assert case_problems(replace(case, photos=(photo(1),)), catalogue) == []


def test_persuasion_needs_no_photo(catalogue: Catalogue) -> None:
    assert catalogue.min_photos_for("0510", Stage.PERSUASION) == 0
    assert case_problems(make_case(photos=()), catalogue) == []


def test_the_stage_applied_counts_not_the_computed_one(catalogue: Catalogue) -> None:
    # computed 警告, applied 劝导 with a reason: no photo needed; the other way round: one needed
    lenient = make_case(
        computed_stage=Stage.WARNING, stage_ordinal=2, stage_override_reason="初次经营，态度良好"
    )
    assert case_problems(lenient, catalogue) == []
    strict = make_case(chosen_stage=Stage.WARNING, stage_override_reason="屡教不改", photos=())
    assert [p.field for p in case_problems(strict, catalogue)] == ["photos"]


def test_a_violation_overrides_the_catalogue_minimum() -> None:
    data = json.loads(DEFAULT_PATH.read_text(encoding="utf-8"))
    data["min_photos"] = {"warning": 2}
    for entry in data["violations"]:
        if entry["code"] == "0510":
            entry["min_photos"] = {"persuasion": 1}
    custom = parse_catalogue(data, "test")
    assert custom.min_photos_for("0510", Stage.PERSUASION) == 1
    assert custom.min_photos_for("0510", Stage.WARNING) == 2  # not overridden: the catalogue's
    assert custom.min_photos_for("0510", Stage.PENALTY) == 0  # not declared at all
    assert custom.min_photos_for("0501", Stage.PERSUASION) == 0
    refusal(make_case(photos=()), custom, "photos")
    two = make_case(chosen_stage=Stage.WARNING, stage_override_reason="屡教不改", photos=(photo(1),))
    assert "2张照片" in refusal(two, custom, "photos").zh


def test_a_catalogue_without_min_photos_requires_none() -> None:
    data = json.loads(DEFAULT_PATH.read_text(encoding="utf-8"))
    del data["min_photos"]
    older = parse_catalogue(data, "test")
    assert case_problems(penalty(photos=()), older) == []
