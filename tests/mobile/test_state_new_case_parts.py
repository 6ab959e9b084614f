"""``CaseDraftState`` is put together from parts (``mobile.state.draft_*``) that name the methods they use
of each other. A part's placeholder for a method (``raise NotImplementedError``) must never be what the
assembled class runs: the part holding the real method has to come first in the bases. Every method and
property of the class is checked here for what it resolves to."""

from __future__ import annotations

import ast
import inspect
import textwrap

from mobile.state.new_case import CaseDraftState


def is_placeholder(member: object) -> bool:
    """A function whose body only raises NotImplementedError (a docstring aside)."""
    function = getattr(member, "fget", member)
    if not inspect.isfunction(function):
        return False
    tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
    [definition] = tree.body
    assert isinstance(definition, ast.FunctionDef | ast.AsyncFunctionDef)
    body = [
        node
        for node in definition.body
        if not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant))
    ]
    return (
        len(body) == 1
        and isinstance(body[0], ast.Raise)
        and "NotImplementedError" in ast.unparse(body[0].exc or ast.Constant(None))
    )


def resolved(name: str) -> tuple[type, object]:
    for klass in CaseDraftState.__mro__:
        if name in vars(klass):
            return klass, vars(klass)[name]
    raise AssertionError(name)


def test_no_method_of_the_draft_state_is_a_part_s_placeholder() -> None:
    names = {name for klass in CaseDraftState.__mro__ for name in vars(klass) if not name.startswith("__")}
    runs_a_placeholder = sorted(
        f"{name} ({klass.__name__})"
        for name in names
        for klass, member in [resolved(name)]
        if is_placeholder(member)
    )
    assert runs_a_placeholder == []


def test_the_check_sees_a_placeholder() -> None:
    class Part:
        def choose_subject(self, subject_id: str) -> None:
            raise NotImplementedError

    class Real:
        def choose_subject(self, subject_id: str) -> None:
            self.chosen = subject_id

    assert is_placeholder(vars(Part)["choose_subject"])
    assert not is_placeholder(vars(Real)["choose_subject"])
