"""Names and required texts as real keyboards and copy-paste give them: spaces (U+3000, no-break) and
invisible characters (zero-width space, BOM, bidi marks) at the ends are trimmed; a required text or a
stage-override reason made only of invisible characters is refused like an empty one; everything inside a
name is kept exactly as typed (rare hanzi of Extensions B-G, emoji and their joiners, variation selectors,
flags, combining accents, right-to-left script, a one-character name)."""

from __future__ import annotations

from typing import Any

import pytest

from enforcement.catalogue import Catalogue, load_catalogue
from enforcement.model import (
    CaseValidationError,
    Disposition,
    Location,
    SeizedItem,
    Stage,
    Subject,
    SubjectKind,
    new_id,
)
from enforcement.text import blank, trimmed, visible_length
from enforcement.validation import clean_reason, reason_is_enough, validate_case, validate_subject
from tests.enforcement.test_validation import make_case, penalty, refusal, seizure

#: Invisible characters pasted with names: zero-width space, BOM, word joiner, left-to-right and
#: right-to-left marks, a right-to-left override, soft hyphen.
INVISIBLE = "\u200b\ufeff\u2060\u200e\u200f\u202e\u00ad"
#: Names kept exactly as typed.
KEPT = (
    "𠀀",  # Extension B, U+20000
    "李𪚥",  # Extension B
    "𰻞𰻞面馆",  # Extension G (biáng)
    "👨\u200d👩\u200d👧\u200d👦",  # a family: a ZWJ sequence only
    "🇨🇳",  # a flag
    "❤\ufe0f",  # a variation selector at the end (emoji presentation)
    "葛\U000e0100",  # an ideographic variation selector at the end
    "🏴\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f",  # a subdivision flag (tags)
    "Jose\u0301",  # a combining accent (as typed: NFD)
    "مەمەت",  # Uyghur, right to left
    "王",  # one character
    "赵\u200b六",  # an invisible character inside stays (what was typed is evidence)
    "买买提·艾力",
)


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return load_catalogue()


@pytest.mark.parametrize("name", KEPT, ids=[f"kept-{i}" for i in range(len(KEPT))])
def test_names_are_kept_exactly(name: str) -> None:
    vendor = Subject(id=new_id(), kind=SubjectKind.MOBILE_VENDOR, name=name)
    assert validate_subject(vendor).name == name
    shop = Subject(id=new_id(), kind=SubjectKind.SHOP, name=name, address="人民路1号")
    assert validate_subject(shop).name == name


@pytest.mark.parametrize(
    ("typed", "kept"),
    [
        ("\u3000张三\u3000", "张三"),  # ideographic space (a Chinese input method's space)
        ("\u00a0李四\u00a0", "李四"),  # no-break space
        ("\u200b王五\u200b", "王五"),
        (f"{INVISIBLE}\u3000赵 六\u00a0{INVISIBLE}", "赵 六"),
        ("\ufeff❤\ufe0f\u200b", "❤\ufe0f"),
        ("\u200fمەمەت\u200f", "مەمەت"),
    ],
    ids=["ideographic-space", "no-break-space", "zero-width-space", "all-of-them", "emoji", "rtl-marks"],
)
def test_spaces_and_invisible_characters_at_the_ends_are_trimmed(typed: str, kept: str) -> None:
    assert trimmed(typed) == kept
    shop = Subject(id=new_id(), kind=SubjectKind.SHOP, name=typed, address=f"{INVISIBLE}人民路1号\u3000")
    clean = validate_subject(shop)
    assert clean.name == kept
    assert clean.address == "人民路1号"


@pytest.mark.parametrize(
    "invisible",
    ["\u200b", INVISIBLE, "\u3000\u200b\u00a0", "\ufeff"],
    ids=["zero-width-space", "all-invisible", "spaces-and-zero-width", "bom"],
)
def test_a_name_that_shows_nothing_is_no_name(invisible: str) -> None:
    assert blank(invisible)
    with pytest.raises(CaseValidationError) as err:
        validate_subject(Subject(id=new_id(), kind=SubjectKind.SHOP, name=invisible, address="人民路1号"))
    assert err.value.field == "name"
    with pytest.raises(CaseValidationError) as err:
        validate_subject(Subject(id=new_id(), kind=SubjectKind.MOBILE_VENDOR, name=invisible))
    assert err.value.field == "name"
    with pytest.raises(CaseValidationError) as err:
        validate_subject(Subject(id=new_id(), kind=SubjectKind.UNKNOWN, description=invisible))
    assert err.value.field == "description"


def test_a_reason_of_invisible_characters_is_no_reason(catalogue: Catalogue) -> None:
    assert not reason_is_enough("\u200b" * 4)
    assert not reason_is_enough("屡\u200b\u200b\u200b教")
    assert reason_is_enough("屡教不改")
    assert visible_length("👨\u200d👩\u200d👧\u200d👦") == 4
    assert clean_reason("\u200b 屡教\n不改 \ufeff") == "屡教 不改"
    chosen = {"chosen_stage": Stage.WARNING, "disposition": Disposition.PERSUADED}
    refusal(make_case(**chosen, stage_override_reason="\u200b" * 8), catalogue, "stage_override_reason")
    validate_case(make_case(**chosen, stage_override_reason="屡教不改"), catalogue)


@pytest.mark.parametrize(
    ("case", "field"),
    [
        (penalty(legal_basis="\u200b\u3000"), "legal_basis"),
        (make_case(disposition=Disposition.REFERRED, referred_to="\ufeff"), "referred_to"),
        (make_case(disposition=Disposition.WARNING_NOTICE, warning_notice_no="\u2060"), "warning_notice_no"),
        (seizure(seizure_receipt_no="\u200b"), "seizure_receipt_no"),
        (seizure(seized_items=(SeizedItem("\u200b", 1),)), "seized_items"),
        (make_case(location=Location(address="\u200b\u00a0")), "location"),
    ],
    ids=["legal-basis", "referred-to", "warning-notice", "receipt", "seized-kind", "address"],
)
def test_a_required_text_of_invisible_characters_is_refused(
    case: Any, field: str, catalogue: Catalogue
) -> None:
    refusal(case, catalogue, field)
