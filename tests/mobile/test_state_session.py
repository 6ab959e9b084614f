"""Sign-in: first through a real HQ, later offline against the kept verifier; sign-out keeps the data."""

from __future__ import annotations

import asyncio
import json

import pytest

from mobile.metakeys import VERIFIERS as VERIFIERS_KEY
from mobile.state.errors import SignInError
from mobile.state.session import MAX_OFFLINE_FAILURES, check_verifier, make_verifier
from mobile.state.settings import SettingsError
from testkit.hqkit import OFFICER, PINS, Hq
from tests.mobile.statekit import Apps, dead_url, sign_in


def test_verifier_checks_the_pin_and_keeps_no_pin() -> None:
    verifier = make_verifier("861023", iterations=1000)
    assert check_verifier(verifier, "861023")
    assert not check_verifier(verifier, "861024")
    assert "861023" not in json.dumps(verifier)
    assert not check_verifier({**verifier, "algo": "md5"}, "861023")
    assert not check_verifier({"algo": "pbkdf2-sha256"}, "861023")


def test_first_sign_in_needs_hq(make_app: Apps) -> None:
    app = make_app()
    with pytest.raises(SignInError) as err:
        sign_in(app, dead_url())
    assert err.value.code == "first_needs_hq"
    assert err.value.field == "hq_url"
    assert "HQ" in err.value.message("zh")
    assert not app.session.signed_in


def test_sign_in_online_then_offline_and_sign_out_keeps_records(make_app: Apps, hq: Hq) -> None:
    app = make_app()
    officer = sign_in(app, hq.serve().url)
    assert officer.badge == OFFICER.badge
    assert officer.name == OFFICER.name
    assert app.session.signed_in
    assert not app.session.signed_in_offline
    assert app.session.known_badges() == [OFFICER.badge]
    assert PINS[OFFICER.badge] not in json.dumps(app.store.meta_get(VERIFIERS_KEY))
    app.today.start_shift("A-12")  # a record in the outbox (synced inline: HQ is up)
    hq.server.stop()  # type: ignore[union-attr]
    app.today.end_shift()  # HQ is gone: this one stays on the phone
    waiting, _ = app.store.outbox_stats()
    assert waiting == 1
    app.session.sign_out()
    assert not app.session.signed_in
    assert app.store.outbox_stats()[0] == waiting  # nothing lost by signing out
    again = sign_in(app, hq.serve().url)  # HQ stopped: the verifier answers
    assert again.badge == OFFICER.badge
    assert app.session.signed_in_offline


def test_signed_in_officer_survives_a_restart(make_app: Apps, hq: Hq) -> None:
    app = make_app()
    sign_in(app, hq.serve().url)
    again = make_app(store=app.store)
    assert again.session.officer == app.session.officer


def test_wrong_pin_online(make_app: Apps, hq: Hq) -> None:
    app = make_app()
    with pytest.raises(SignInError) as err:
        sign_in(app, hq.serve().url, pin="000000")
    assert err.value.code == "wrong_pin"
    assert err.value.field == "pin"
    assert not app.session.signed_in


def test_wrong_pin_offline_locks_the_verifier(make_app: Apps, hq: Hq) -> None:
    app = make_app()
    sign_in(app, hq.serve().url)
    app.session.sign_out()
    url = dead_url()
    codes = []
    for _ in range(MAX_OFFLINE_FAILURES):
        with pytest.raises(SignInError) as err:
            sign_in(app, url, pin="111111")
        codes.append(err.value.code)
    assert codes[:-1] == ["wrong_pin"] * (MAX_OFFLINE_FAILURES - 1)
    assert codes[-1] == "locked"
    with pytest.raises(SignInError):  # even the right PIN: locked until HQ is reached again
        sign_in(app, url)
    sign_in(app, hq.serve().url)  # online sign-in renews the verifier
    app.session.sign_out()
    assert sign_in(app, url).badge == OFFICER.badge


@pytest.mark.parametrize(
    ("badge", "pin", "field"), [("", "1", "badge"), ("  ", "1", "badge"), ("1023", "", "pin")]
)
def test_missing_fields(make_app: Apps, badge: str, pin: str, field: str) -> None:
    app = make_app()
    with pytest.raises(SignInError) as err:
        asyncio.run(app.session.sign_in("http://127.0.0.1:9", badge, pin))
    assert err.value.field == field
    assert err.value.message("en")
    assert err.value.message("zh")


def test_bad_hq_address(make_app: Apps) -> None:
    app = make_app()
    before = app.settings.settings
    with pytest.raises(SettingsError) as err:
        sign_in(app, "ftp://hq")
    assert err.value.field == "hq_url"
    assert app.settings.settings == before
