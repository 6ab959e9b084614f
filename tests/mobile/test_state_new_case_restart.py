"""Nothing typed on the new-case wizard is lost on a restart: every value the screens take, committed to the
case or not yet (the subject search, the open new-subject form, the stage being chosen with its reason, the
seized item being entered), is in the draft and comes back from the same store."""

from __future__ import annotations

import pytest

from enforcement.model import Stage, StageChoiceError
from enforcement.text import LocalizedError
from mobile.state.app_state import AppState
from mobile.state.errors import DraftError
from tests.mobile.statekit import Apps, PhoneClock


def test_every_typed_value_comes_back_after_a_restart(
    make_app: Apps, app: AppState, clock: PhoneClock
) -> None:
    drafts = app.drafts
    drafts.start()
    drafts.choose_violation("0510")
    drafts.update(
        address="人民路 12 号",
        grid_cell="A-07",
        fine_yuan="12",
        warning_notice_no="JG-0042",
        rectify_deadline="2026-12-3",
        referred_to="市场监管所",
        legal_basis="《条例》第三十条",
        seizure_receipt_no="ZK-77",
        second_officer_badge="10",
        notes="占用盲道，",
    )
    drafts.type_subject_query("豫A1")
    drafts.open_subject_form()
    for name, value in (
        ("kind", "vehicle"),
        ("name", "老周"),
        ("phone", "1390000"),
        ("plate", "豫A12"),
        ("address", "花园路"),
        ("description", "蓝色三轮"),
        ("hardship", True),
    ):
        drafts.type_subject(name, value)
    drafts.open_stage_pick()
    drafts.pick_stage(int(Stage.WARNING))
    drafts.type_stage_reason("多次劝导无")
    drafts.type_seized(kind="烤炉", quantity="2")

    restarted = make_app(clock=clock, store=app.store)  # the app closed mid-typing and opened again
    draft = restarted.drafts.resume()
    assert draft is not None
    assert (draft.violation_code, draft.address, draft.grid_cell) == ("0510", "人民路 12 号", "A-07")
    assert (draft.fine_yuan, draft.warning_notice_no, draft.rectify_deadline, draft.referred_to) == (
        "12",
        "JG-0042",
        "2026-12-3",
        "市场监管所",
    )
    assert (draft.legal_basis, draft.seizure_receipt_no, draft.second_officer_badge, draft.notes) == (
        "《条例》第三十条",
        "ZK-77",
        "10",
        "占用盲道，",
    )
    assert draft.subject_query == "豫A1"
    assert restarted.drafts.subject_form() == {
        "kind": "vehicle",
        "name": "老周",
        "phone": "1390000",
        "plate": "豫A12",
        "address": "花园路",
        "description": "蓝色三轮",
        "hardship": True,
    }
    assert (draft.stage_pick, draft.stage_pick_reason) == (int(Stage.WARNING), "多次劝导无")
    assert (draft.seized_kind, draft.seized_quantity) == ("烤炉", "2")


def test_finished_forms_leave_the_draft_and_a_failed_one_keeps_what_was_typed(app: AppState) -> None:
    drafts = app.drafts
    drafts.start()
    drafts.choose_violation("0510")
    drafts.open_subject_form()
    with pytest.raises(LocalizedError):
        drafts.create_subject_from_form()  # a mobile vendor needs a name, phone or description
    drafts.type_subject("name", "张小摊")
    assert drafts.subject_form() is not None
    subject = drafts.create_subject_from_form()
    assert subject.name == "张小摊"
    assert drafts.subject_form() is None
    assert drafts.draft is not None
    assert drafts.draft.subject_id == subject.id
    drafts.type_seized(kind="烤炉", quantity="0")
    with pytest.raises(DraftError):
        drafts.add_seized_from_form()
    assert (drafts.draft.seized_kind, drafts.draft.seized_quantity) == ("烤炉", "0")
    drafts.type_seized(quantity="2")
    drafts.add_seized_from_form()
    assert [(i.kind, i.quantity) for i in drafts.draft.seized_items] == [("烤炉", 2)]
    assert (drafts.draft.seized_kind, drafts.draft.seized_quantity) == ("", "1")
    drafts.open_stage_pick()
    drafts.pick_stage(int(Stage.PENALTY))
    with pytest.raises(StageChoiceError):
        drafts.apply_stage_pick()  # no reason
    assert drafts.draft.stage_pick == int(Stage.PENALTY)
    drafts.type_stage_reason("当事人拒不改正，多次劝导无效")
    drafts.apply_stage_pick()
    assert drafts.draft.stage_pick is None
    assert drafts.stage() is Stage.PENALTY
