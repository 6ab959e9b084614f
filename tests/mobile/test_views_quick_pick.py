"""The repeat vendor in one tap on the screens: Today's nearby lines and the wizard's first step are buttons
that start the case (``CaseDraftState.start_from``) and open the wizard where the officer is needed."""

from __future__ import annotations

from typing import Any

from mobile.state.app_state import AppState
from mobile.views.new_case import NewCaseView
from mobile.views.screens import make_screen
from mobile.views.shell import Shell
from mobile.views.today import TodayView
from tests.mobile.statekit import PhoneClock
from tests.mobile.test_state_new_case_flow import saved_vendor_case
from tests.mobile.test_state_new_case_quick import HERE
from tests.mobile.test_state_today_nearby import texts


def keyed(control: Any, key: str) -> Any:
    """The control with ``key`` under ``control`` (depth first)."""
    if getattr(control, "key", None) == key:
        return control
    for name in ("content", "controls"):
        child = getattr(control, name, None)
        for item in child if isinstance(child, list) else [child] if child is not None else []:
            if (found := keyed(item, key)) is not None:
                return found
    return None


def test_a_nearby_line_on_today_starts_the_case(app: AppState, clock: PhoneClock) -> None:
    vendor = saved_vendor_case(app, clock, "老周煎饼", "13900001111")
    clock.advance(30)
    shell = Shell(app, screens=make_screen)
    shell.go("today")
    view = TodayView(shell)
    app.today.set_fix(*HERE)
    name = app.catalogue.get("0501").name("zh")
    line = f"老周煎饼 · {name} · 今天 · 下次：警告"
    assert line in texts(view.nearby())
    button = keyed(view.nearby(), "nearby_0")
    assert button is not None
    assert button.on_click is not None
    button.on_click(None)
    draft = app.drafts.draft
    assert draft is not None
    assert (draft.subject_id, draft.violation_code, (draft.lat, draft.lon)) == (vendor, "0501", HERE)
    assert draft.step == "action"  # no notice number known on this phone yet: the officer types it
    assert shell.route == "new_case"
    # an unsaved draft is continued, not replaced, with a message saying so
    app.drafts.update(notes="草稿")
    keyed(view.nearby(), "nearby_0").on_click(None)
    assert shell.messages[-1] == "还有未保存的草稿：请先完成或放弃它"
    assert app.drafts.draft is not None
    assert app.drafts.draft.notes == "草稿"


def test_the_first_wizard_step_offers_them_too(app: AppState, clock: PhoneClock) -> None:
    vendor = saved_vendor_case(app, clock, "老周煎饼", "13900001111")
    clock.advance(30)
    shell = Shell(app, screens=make_screen)
    shell.go("today")
    app.today.set_fix(*HERE)
    view = NewCaseView(shell)
    built = view.build()
    assert "附近的当事人（点一下即开始）" in texts(built)
    keyed(built, "nearby_0").on_click(None)
    assert app.drafts.draft is not None
    assert app.drafts.draft.subject_id == vendor
    assert view.step == "action"
    assert keyed(view.build(), "quick_picks") is None  # the draft now holds them: the block is gone
    app.settings.update(lang="en")
    app.drafts.discard()
    assert "Subjects nearby (one tap starts the case)" in texts(NewCaseView(shell).build())


def test_the_action_step_says_why_the_notice_number_is_typed(app: AppState, clock: PhoneClock) -> None:
    """No notice book on the phone: the 警告通知书编号 field stays empty and the step says so, zh and en."""
    vendor = saved_vendor_case(app, clock, "老周煎饼", "13900001111")
    clock.advance(30)
    shell = Shell(app, screens=make_screen)
    shell.go("today")
    app.drafts.start_from(vendor, "0501", HERE)
    view = NewCaseView(shell)
    built = view.build()
    assert view.step == "action"
    hint = keyed(built, "notice_hint")
    assert hint is not None
    assert hint.value.startswith("指挥中心尚未给您发放警告通知书编号册")
    app.settings.update(lang="en")
    assert keyed(NewCaseView(shell).build(), "notice_hint").value.startswith(
        "HQ has not issued you a notice book"
    )
    app.drafts.update(warning_notice_no="纸质-0042")  # typed: the hint is gone
    assert keyed(NewCaseView(shell).build(), "notice_hint") is None
