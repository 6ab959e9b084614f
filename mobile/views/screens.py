"""Route name → screen object: the screen registry, the one view module that imports the screens.
``mobile.app`` hands ``make_screen`` to the shell (``Shell(app, page, screens=make_screen)``)."""

from __future__ import annotations

from mobile.views.case_detail import CaseDetailView
from mobile.views.common import Host, Screen
from mobile.views.identity import IdentityView
from mobile.views.leader_orders import LeaderOrdersView
from mobile.views.new_case import NewCaseView
from mobile.views.review import ReviewView
from mobile.views.settings import SettingsView
from mobile.views.sign_in import SignInView
from mobile.views.squad import SquadView
from mobile.views.subject_edit import SubjectEditView
from mobile.views.subjects import SubjectsView
from mobile.views.sync import SyncView
from mobile.views.today import TodayView
from mobile.views.workorder import WorkOrderView


def make_screen(shell: Host, route: str, arg: str | None = None) -> Screen:
    if route == "signin":
        return SignInView(shell)
    if route == "new_case":
        return NewCaseView(shell)
    if route == "case" and arg:
        return CaseDetailView(shell, arg)
    if route == "subjects":
        return SubjectsView(shell)
    if route == "subject_edit":
        return SubjectEditView(shell)
    if route == "sync":
        return SyncView(shell)
    if route == "settings":
        return SettingsView(shell)
    if route == "squad":
        return SquadView(shell)
    if route == "work_order" and arg:
        return WorkOrderView(shell, arg)
    if route == "leader_orders":
        return LeaderOrdersView(shell)
    if route == "identity":
        return IdentityView(shell)
    if route == "review":
        return ReviewView(shell)
    return TodayView(shell)
