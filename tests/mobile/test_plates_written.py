"""Plates keep the form the officer wrote (issue #14): registration, the store's search, the screens and the
outbox label show 豫A·D12345 as typed; the normalised 豫AD12345 is only the key matched and searched by."""

from __future__ import annotations

from enforcement.codec import subject_from_dict, to_json_dict
from enforcement.labels import subject_label, subject_plate
from enforcement.model import Subject, SubjectKind, new_id
from enforcement.validation import validate_subject
from mobile.state.app_state import AppState
from mobile.state.sync_screen import record_label
from mobile.views.subjects import SubjectsView
from tests.mobile.test_store import make_subject, open_store
from tests.mobile.viewkit import event, open_screen, texts

TYPED = "豫A·D12345"
SEARCHES = ("豫ad12345", "豫A D12345", "豫AD12345", TYPED)


def test_validation_keeps_the_written_form_beside_the_key() -> None:
    cases = ((TYPED, TYPED), (" 豫a·d12345 ", TYPED), ("豫A·1234挂", "豫A·1234挂"), ("豫ad12345", TYPED))
    for typed, written in cases:
        subject = validate_subject(Subject(new_id(), SubjectKind.VEHICLE, plate=typed))
        assert subject.plate_written == written
        assert subject_plate(subject) == written
        assert validate_subject(subject) == subject  # validating again keeps it
    subject = validate_subject(Subject(new_id(), SubjectKind.VEHICLE, plate=TYPED))
    assert subject.plate == "豫AD12345"
    assert subject_label(subject) == TYPED
    changed = validate_subject(Subject(**{**_fields(subject), "plate": "豫A 12345"}))
    assert (changed.plate, changed.plate_written) == ("豫A12345", "豫A 12345")  # a new plate: its own form
    assert subject_from_dict(to_json_dict(subject)) == subject
    old = Subject(new_id(), SubjectKind.VEHICLE, plate="豫AD12345")  # from before the written form was kept
    assert "plate_written" not in to_json_dict(old)
    assert subject_plate(old) == TYPED


def _fields(subject: Subject) -> dict[str, object]:
    return {name: getattr(subject, name) for name in subject.__dataclass_fields__}


def test_store_keeps_the_written_plate_and_finds_it_by_any_typing() -> None:
    store = open_store()
    saved = store.save_subject(make_subject(kind=SubjectKind.VEHICLE, name="", plate=TYPED))
    assert store.get_subject(saved.id) == saved
    assert saved.plate_written == TYPED
    for query in SEARCHES:
        found = store.search_subjects(query)
        assert [s.id for s in found] == [saved.id], query
        assert subject_plate(found[0]) == TYPED


def test_subjects_screen_shows_the_plate_as_written(app: AppState) -> None:
    saved = app.store.save_subject(make_subject(kind=SubjectKind.VEHICLE, name="", phone="", plate=TYPED))
    _shell, screen = open_screen(app, SubjectsView, "subjects")
    for query in SEARCHES:
        screen.on_search(event(query))
        shown = " ".join(texts(screen.results))
        assert TYPED in shown, query
        assert "豫AD12345" not in shown
    assert app.subjects.results[0].id == saved.id


def test_outbox_label_is_the_written_plate() -> None:
    subject = validate_subject(Subject(new_id(), SubjectKind.VEHICLE, plate=TYPED))
    assert record_label("subject", subject.id, to_json_dict(subject)) == TYPED


def test_new_case_subject_step_shows_the_plate_as_written(app: AppState) -> None:
    from mobile.views.new_case import NewCaseView

    app.store.save_subject(make_subject(kind=SubjectKind.VEHICLE, name="", phone="", plate=TYPED))
    _shell, screen = open_screen(app, NewCaseView, "new_case")
    screen.choose_violation("0306")
    screen.next()
    for query in ("豫ad12345", "豫A D12345"):
        screen.search_subject(event(query))
        shown = " ".join(texts(screen.results))
        assert TYPED in shown, query
        assert "豫AD12345" not in shown
