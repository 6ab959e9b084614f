"""The dashboard's page kit (``hq.dash.layout``): ``read_form`` reads a posted form within its caps, and
every dashboard form that posts (sign-in, user disable/enable, work orders, subject merges) refuses an
oversized or over-many-fields body with 422 in Chinese and English, storing nothing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from hq.api.errors import ApiError
from hq.dash.caller import COOKIE
from hq.dash.layout import MAX_FORM_FIELDS, html_page, html_table, read_form
from sync.protocol import Errno
from testkit.hqkit import HQ_USER, LEADER, Hq, make_hq, sign_in


@pytest.fixture
def hq(tmp_path: Path) -> Iterator[Hq]:
    hq = make_hq(tmp_path)
    yield hq
    hq.close()


def test_read_form_keeps_the_first_value_and_blank_fields() -> None:
    form = read_form(b"badge=1023&badge=9999&pin=&name=%E5%BC%A0%F0%A0%80%80", 1024)
    assert form == {"badge": "1023", "pin": "", "name": "张𠀀"}


def test_read_form_refuses_a_body_over_its_cap_in_both_languages() -> None:
    with pytest.raises(ApiError) as caught:
        read_form(b"a=" + b"x" * 100, 64)
    assert caught.value.errno == Errno.VALIDATION
    assert caught.value.zh == "表单过大"
    assert "too large" in caught.value.en


def test_read_form_refuses_more_fields_than_any_form_has() -> None:
    body = "&".join(f"f{n}=1" for n in range(MAX_FORM_FIELDS + 1)).encode()
    with pytest.raises(ApiError) as caught:
        read_form(body, 1 << 20)
    assert caught.value.errno == Errno.VALIDATION
    assert caught.value.zh == "表单字段过多"
    assert read_form("&".join(f"f{n}=1" for n in range(MAX_FORM_FIELDS)).encode(), 1 << 20)


def test_undecodable_bytes_are_replaced_not_fatal() -> None:
    assert read_form(b"badge=\xff\xfe1023", 64)["badge"] == "\ufffd\ufffd1023"


def test_the_page_skeleton_escapes_titles_and_cells() -> None:
    page = html_page("<b>看板</b>", html_table(["名称"], [["<script>x</script>"]]))
    assert "<title>&lt;b&gt;看板&lt;/b&gt;</title>" in page
    assert "&lt;script&gt;x&lt;/script&gt;" in page
    assert "<script>" not in page


def _many_fields(n: int) -> dict[str, str]:
    return {f"f{k}": "1" for k in range(n)}


def test_the_sign_in_form_refuses_an_oversized_or_crowded_body(hq: Hq) -> None:
    with hq.client() as web:
        crowded = web.post("/dashboard/sign-in", data=_many_fields(MAX_FORM_FIELDS + 5))
        assert crowded.status_code == 422
        assert "表单字段过多" in crowded.text
        huge = web.post("/dashboard/sign-in", data={"badge": "1", "pin": "x" * 8000})
        assert huge.status_code == 422
        assert "表单过大" in huge.text
        assert COOKIE not in huge.cookies


def test_the_user_form_refuses_a_crowded_body_and_disables_no_one(hq: Hq) -> None:
    with hq.client() as api:
        token = sign_in(api, HQ_USER, "web-hq")["Authorization"].split()[1]
    with hq.client(cookies={COOKIE: token}) as web:
        form = _many_fields(MAX_FORM_FIELDS) | {"badge": LEADER.badge}
        refused = web.post("/dashboard/users/disable", data=form)
        assert refused.status_code == 422
        assert "表单字段过多" in refused.text
    with hq.storage.transaction(readonly=True) as tx:
        user = tx.get_user(LEADER.badge)
    assert user is not None
    assert user.active
