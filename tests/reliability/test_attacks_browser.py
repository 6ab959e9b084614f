"""Attacks through a browser on HQ's dashboard and API (issue #13): each reproduced, then refused.

- click-jacking: another site frames the dashboard → ``frame-ancestors 'none'`` + ``X-Frame-Options: DENY``;
- injected markup running script or style → a CSP allowing only HQ's own files, and pages with no inline
  ``<script>``, ``<style>``, ``style=`` or ``on…=`` for the policy to have to allow;
- CSRF: another site's form posting to ``/dashboard/sign-out`` (or signing the browser in as someone else)
  → 403 when ``Origin`` / ``Sec-Fetch-Site`` say cross-site; the session survives;
- a shared or back-button cache holding the board, an export or a day log → ``Cache-Control: no-store``;
- the URL (with its query) leaking in a Referer → ``Referrer-Policy: same-origin``;
- the cookie sent over plain HTTP → ``Secure`` when ``Settings.secure_cookies`` (TLS deployments);
- API docs pulling swagger-ui from a CDN → /docs and /redoc off unless ``Settings.api_docs``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from enforcement.model import Officer
from hq.api.browser import CSP, DOCS_CSP
from hq.dash.caller import COOKIE
from hq.dash.fonts import FONT_URL
from hq.dash.layout import STYLE_URL
from hq.settings import Settings, settings_from_env
from sync.protocol import Errno
from testkit.chromium import chromium
from testkit.hqkit import HQ_USER, LEADER, OFFICER, PINS, Hq, make_case, make_hq, push_body, sign_in

EVIL = "http://evil.example"


@pytest.fixture
def hq(tmp_path: Path) -> Iterator[Hq]:
    hq = make_hq(tmp_path)
    with hq.client() as client:
        auth = sign_in(client, OFFICER)
        case = make_case(OFFICER, device_id="dev-1023")
        assert client.post("/v1/push", json=push_body("dev-1023", case), headers=auth).status_code == 200
    yield hq
    hq.close()


@contextmanager
def signed_in(hq: Hq, officer: Officer = HQ_USER) -> Iterator[httpx.Client]:
    """A loopback client with ``officer``'s dashboard cookie (an HQ user's board; others get the 403 page)."""
    with hq.client() as client:
        answer = client.post("/dashboard/sign-in", data={"badge": officer.badge, "pin": PINS[officer.badge]})
        assert answer.status_code in (303, 403), answer.text
        yield client


def host_origin(client: httpx.Client) -> str:
    return str(client.base_url).rstrip("/")


# ---------------------------------------------------------------------------------- headers, framing


PAGES = (
    "/dashboard",
    "/dashboard?days=3&until=2026-11-22",
    "/dashboard/export.csv?days=3&until=2026-11-22",
    "/dashboard/daylog?squad=ZD01&until=2026-11-22",
    "/dashboard/daylog?squad=ZD01&until=2026-11-22&format=csv",
)


def test_every_page_export_and_api_answer_is_hardened(hq: Hq) -> None:
    with signed_in(hq) as client:
        answers = [client.get(url) for url in PAGES]
        answers += [client.get("/v1/health"), client.get("/openapi.json"), client.get("/v1/cases")]
        answers += [client.get("/dashboard/export.csv?days=0x")]  # an error answer too
    for answer in answers:
        url = answer.request.url
        csp = answer.headers["content-security-policy"]
        assert csp == CSP, url
        assert "frame-ancestors 'none'" in csp
        assert "default-src 'self'" in csp
        assert "unsafe-inline" not in csp
        assert answer.headers["x-frame-options"] == "DENY", url
        assert answer.headers["referrer-policy"] == "same-origin", url
        assert answer.headers["cache-control"] == "no-store", url
        assert answer.headers["x-content-type-options"] == "nosniff", url
    assert [a.status_code for a in answers[:5]] == [200] * 5


def test_pages_have_no_inline_script_or_style(hq: Hq) -> None:
    with signed_in(hq) as client:
        board = client.get("/dashboard?days=3&until=2026-11-22").text
    with hq.client() as client:
        sign_in_page = client.get("/dashboard").text
    with signed_in(
        hq, LEADER
    ) as client:  # a leader's page is the district's subjects; the board is not theirs
        subjects = client.get("/dashboard/subjects").text
        forbidden = client.get("/dashboard/zones").text
    assert "无权访问" in forbidden
    assert 'id="suggestions"' in subjects
    for page in (board, sign_in_page, subjects, forbidden):
        assert "<script" not in page.lower()
        assert "<style" not in page.lower()
        assert not re.search(r"\sstyle\s*=", page, re.IGNORECASE)
        assert not re.search(r"\son[a-z]+\s*=", page, re.IGNORECASE)
        assert f'href="{STYLE_URL}"' in page
    assert 'id="trend-chart"' in board


def test_the_stylesheet_and_font_are_hq_own_assets(hq: Hq) -> None:
    with hq.client() as client:
        css = client.get(STYLE_URL)
        font = client.get(FONT_URL)
    assert css.status_code == 200
    assert css.headers["content-type"].startswith("text/css")
    assert FONT_URL in css.text
    assert "http" not in css.text  # nothing from outside
    assert font.status_code == 200
    assert css.headers["cache-control"] != "no-store"  # shipped assets may be cached


@pytest.mark.browser
def test_csp_in_chromium_blocks_framing_and_injected_script(hq: Hq, tmp_path: Path) -> None:
    """A real browser: the board renders under the policy with no violation; a page of another origin
    that frames the dashboard gets nothing."""
    url = hq.serve().url
    with chromium() as browser:
        page = browser.new_page()
        messages: list[str] = []
        page.on("console", lambda m: messages.append(m.text))
        page.goto(f"{url}/dashboard")
        page.fill("#badge", HQ_USER.badge)
        page.fill("#pin", PINS[HQ_USER.badge])
        page.click("button[type=submit]")
        page.wait_for_selector("#total-cases")
        # the stylesheet applied: the header is the dark blue of dashboard.css
        assert page.evaluate("getComputedStyle(document.querySelector('header')).backgroundColor") == (
            "rgb(29, 58, 95)"
        )
        # injected script (as if markup slipped through) does not run
        page.evaluate(
            "() => { const s = document.createElement('script'); s.textContent = 'window.pwned = 1';"
            " document.body.appendChild(s); }"
        )
        assert page.evaluate("window.pwned") is None
        assert not [m for m in messages if "Content Security Policy" in m and "pwned" not in m and
                    "inline" not in m]  # fmt: skip
        # another origin (127.0.0.2 is not 127.0.0.1) frames the board: blocked
        evil = url.replace("127.0.0.1", "localhost")
        frame_page = browser.new_page()
        frame_page.set_content(f'<iframe id="f" src="{evil}/dashboard"></iframe>')
        frame_page.wait_for_timeout(1000)
        frame = frame_page.frame_locator("#f")
        assert frame.locator("#total-cases").count() == 0
        assert frame.locator("form.signin").count() == 0


# --------------------------------------------------------------------------------------------- CSRF


def board_ok(client: httpx.Client) -> bool:
    return 'id="total-cases"' in client.get("/dashboard").text


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": EVIL},
        {"Origin": "null"},
        {"Origin": EVIL, "Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},
    ],
    ids=["origin", "origin-null", "origin+fetch-site", "fetch-site", "same-site"],
)
def test_cross_site_sign_out_is_refused(hq: Hq, headers: dict[str, str]) -> None:
    with signed_in(hq) as client:
        assert board_ok(client)
        answer = client.post("/dashboard/sign-out", headers=headers)
        assert answer.status_code == 403
        assert answer.json()["errno"] == int(Errno.FORBIDDEN)
        assert "其他网站" in answer.json()["message_zh"]
        assert board_ok(client)  # the session survived
        assert answer.headers["content-security-policy"] == CSP


def test_same_origin_sign_out_by_post_works_and_get_does_nothing(hq: Hq) -> None:
    with signed_in(hq) as client:
        assert client.get("/dashboard/sign-out").status_code == 405  # sign-out only by POST
        assert board_ok(client)
        out = client.post(
            "/dashboard/sign-out", headers={"Origin": host_origin(client), "Sec-Fetch-Site": "same-origin"}
        )
        assert out.status_code == 303
        assert not board_ok(client)
        token = client.cookies.get(COOKIE)
        assert token is None


def test_cross_site_sign_in_is_refused(hq: Hq) -> None:
    """Login CSRF: another site signs the victim's browser in as the attacker."""
    with hq.client() as client:
        form = {"badge": HQ_USER.badge, "pin": PINS[HQ_USER.badge]}
        answer = client.post("/dashboard/sign-in", data=form, headers={"Origin": EVIL})
        assert answer.status_code == 403
        assert COOKIE not in client.cookies
        same = client.post("/dashboard/sign-in", data=form, headers={"Origin": host_origin(client)})
        assert same.status_code == 303
        assert COOKIE in client.cookies


def test_forwarded_host_counts_only_when_trusted(tmp_path: Path) -> None:
    headers = {"Origin": "https://hq.example", "X-Forwarded-Host": "hq.example"}
    for trusted, expected in ((False, 403), (True, 303)):
        hq = make_hq(tmp_path / str(trusted), trusted_proxies=("127.0.0.1",) if trusted else ())
        try:
            with hq.client() as client:
                form = {"badge": HQ_USER.badge, "pin": PINS[HQ_USER.badge]}
                assert client.post("/dashboard/sign-in", data=form, headers=headers).status_code == expected
        finally:
            hq.close()


# ----------------------------------------------------------------------------------- cookie, API docs


def test_secure_cookie_setting(tmp_path: Path) -> None:
    for secure in (False, True):
        hq = make_hq(tmp_path / str(secure), secure_cookies=secure)
        try:
            with hq.client() as client:
                form = {"badge": HQ_USER.badge, "pin": PINS[HQ_USER.badge]}
                cookie = client.post("/dashboard/sign-in", data=form).headers["set-cookie"]
            attributes = {a.strip().split("=")[0].lower() for a in cookie.split(";")}
            assert {"httponly", "samesite"} <= attributes
            assert ("secure" in attributes) is secure
        finally:
            hq.close()
    assert settings_from_env({"STREETPATROL_SECURE_COOKIES": "1"}).secure_cookies is True
    assert settings_from_env({"STREETPATROL_SECURE_COOKIES": "no"}).secure_cookies is False
    assert Settings().secure_cookies is False


def test_api_docs_are_off_unless_enabled(tmp_path: Path) -> None:
    hq = make_hq(tmp_path / "off")
    try:
        with hq.client() as client:
            assert client.get("/docs").status_code == 404
            assert client.get("/redoc").status_code == 404
            assert client.get("/openapi.json").status_code == 200
    finally:
        hq.close()
    hq = make_hq(tmp_path / "on", api_docs=True)
    try:
        with hq.client() as client:
            docs = client.get("/docs")
            assert docs.status_code == 200
            assert docs.headers["content-security-policy"] == DOCS_CSP
            assert client.get("/dashboard").headers["content-security-policy"] == CSP
    finally:
        hq.close()
    assert settings_from_env({"STREETPATROL_API_DOCS": "true"}).api_docs is True
    assert Settings().api_docs is False
