"""Open311 GeoReport v2 as partner systems use it, over real HTTP on loopback: every resource in XML (the
spec's required format) and JSON, the service definition, the GET filters with the spec's default window,
POST form-encoded or JSON, and the refusals an outsider's requests meet — the spec's error list in the
path's format, in Chinese (English on ``Accept-Language: en``), with the right status, never a 500."""

from __future__ import annotations

import socket
import xml.etree.ElementTree as ET
from datetime import timedelta
from typing import Any

import httpx
import pytest

from enforcement.workorders import replay
from hq import open311
from hq.storage.base import StorageUnavailable
from hq.workorders import add_partner, change_data
from sync.protocol import WO_TEXT, WorkOrderData
from testkit.hqkit import Hq

POINT = {"lat": "34.7466", "long": "113.6253"}
FORM = {"service_code": "0510", "description": "夜里露天烧烤", "address_string": "人民路1号", **POINT}
BASE = "/open311/v2"


@pytest.fixture
def key(hq: Hq) -> str:
    return add_partner(hq.storage, "12345平台", at=hq.clock())


def _file(client: httpx.Client, key: str, **fields: str) -> str:
    answer = client.post(f"{BASE}/requests.json", data={"api_key": key, **FORM, **fields})
    assert answer.status_code == 200, answer.text
    return str(answer.json()[0]["service_request_id"])


def _xml(answer: httpx.Response, root: str) -> ET.Element:
    assert answer.headers["content-type"] == "text/xml; charset=utf-8"
    assert answer.content.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    element = ET.fromstring(answer.content)
    assert element.tag == root
    return element


def _error(answer: httpx.Response, status: int) -> str:
    """The description of an Open311 error answer of ``status`` (JSON or XML, by the path)."""
    assert answer.status_code == status, answer.text
    if answer.request.url.path.endswith(".xml"):
        [error] = _xml(answer, "errors")
        assert error.tag == "error"
        assert [e.tag for e in error] == ["code", "description"]
        assert error.findtext("code") == str(status)
        return error.findtext("description") or ""
    [error] = answer.json()
    assert error == {"code": status, "description": error["description"]}
    return str(error["description"])


def _chinese(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


# ------------------------------------------------------------------------------------------ formats


def test_every_resource_is_served_as_xml_with_the_specs_element_names(
    hq: Hq, client: httpx.Client, key: str
) -> None:
    discovery = _xml(client.get(f"{BASE}/discovery.xml"), "discovery")
    formats = [f.text for f in discovery.iterfind("endpoints/endpoint/formats/format")]
    assert formats == ["text/xml", "application/json"]
    assert client.get(f"{BASE}/discovery.json").json()["endpoints"][0]["formats"] == formats

    services = _xml(client.get(f"{BASE}/services.xml"), "services")
    codes = [s.findtext("service_code") for s in services.iterfind("service")]
    assert "0510" in codes
    assert codes == [s["service_code"] for s in client.get(f"{BASE}/services.json").json()]
    assert services.findtext("service/metadata") == "false"

    posted = client.post(f"{BASE}/requests.xml", data={"api_key": key, **FORM})
    assert posted.status_code == 200, posted.text
    rid = _xml(posted, "service_requests").findtext("request/service_request_id")
    assert rid

    listed = _xml(client.get(f"{BASE}/requests.xml"), "service_requests")
    assert [r.findtext("service_request_id") for r in listed.iterfind("request")] == [rid]
    one = _xml(client.get(f"{BASE}/requests/{rid}.xml"), "service_requests")
    [request] = one
    assert request.tag == "request"
    assert request.findtext("status") == "open"
    assert request.findtext("requested_datetime", "").endswith("+08:00")
    json_one = client.get(f"{BASE}/requests/{rid}.json").json()[0]
    assert {e.tag for e in request} == set(json_one)
    for secret in ("人民路1号", "34.7466", "113.6253"):  # the exact address and point stay at HQ
        assert secret not in client.get(f"{BASE}/requests/{rid}.xml").text


def test_hostile_text_in_a_complaint_keeps_the_xml_well_formed(client: httpx.Client, key: str) -> None:
    text = "<script>alert(1)</script> & ]]> 😀 𠀀𪚥 \x01\x08\x0b\x1f 烧烤"
    rid = _file(client, key, description=text)
    [request] = _xml(client.get(f"{BASE}/requests/{rid}.xml"), "service_requests")
    assert request.findtext("description") == text.translate({c: "\ufffd" for c in (1, 8, 11, 31)})
    assert client.get(f"{BASE}/requests/{rid}.json").json()[0]["description"] == text


def test_the_service_definition_of_each_code_and_404_for_others(client: httpx.Client) -> None:
    assert client.get(f"{BASE}/services/0510.json").json() == {"service_code": "0510", "attributes": []}
    definition = _xml(client.get(f"{BASE}/services/0510.xml"), "service_definition")
    assert definition.findtext("service_code") == "0510"
    assert definition.find("attributes") is not None
    for fmt in ("json", "xml"):
        for code in ("9999", "0401", "<x>"):  # unknown; not reportable by residents; nonsense
            assert _chinese(_error(client.get(f"{BASE}/services/{code}.{fmt}"), 404))


# ------------------------------------------------------------------------------------------- errors


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_refusals_are_the_specs_errors_in_chinese_or_english_on_request(
    client: httpx.Client, key: str, fmt: str
) -> None:
    requests = f"{BASE}/requests.{fmt}"
    cases: list[tuple[str, str, dict[str, Any], int]] = [
        ("GET", requests, {"params": {"start_date": "2026-13-45T00:00:00Z"}}, 400),
        ("GET", requests, {"params": {"status": "pending"}}, 400),
        ("GET", f"{BASE}/requests/{'x' * 70}.{fmt}", {}, 404),
        ("GET", f"{BASE}/requests/nope.{fmt}", {}, 404),
        ("GET", f"{BASE}/nothing.{fmt}", {}, 404),
        ("POST", requests, {"data": FORM}, 403),
        ("POST", requests, {"data": FORM | {"api_key": "sp311_guess"}}, 403),
        ("POST", requests, {"data": FORM | {"api_key": key, "lat": "nan"}}, 400),
        ("POST", requests, {"data": FORM | {"api_key": key, "description": "x" * 4001}}, 400),
        ("DELETE", requests, {}, 405),
    ]
    for method, url, kwargs, status in cases:
        zh = _error(client.request(method, url, **kwargs), status)
        assert _chinese(zh), zh
        english = {"Accept-Language": "en-GB,en;q=0.8,zh;q=0.5"}
        en = _error(client.request(method, url, headers=english, **kwargs), status)
        assert not _chinese(en), en
        assert en != zh


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_a_body_over_the_cap_and_a_nul_in_the_url_are_open311_errors(client: httpx.Client, fmt: str) -> None:
    big = client.post(
        f"{BASE}/requests.{fmt}",
        content=b"service_code=0510&description=" + b"a" * 200_000,
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert _error(big, 413).startswith("请求内容过大：最多 ")

    def chunks() -> Any:  # no Content-Length: the cap counts the bytes as they come
        for _ in range(100):
            yield b"a" * 4096

    streamed = client.post(f"{BASE}/requests.{fmt}", content=chunks())
    assert _error(streamed, 413)
    nul = client.get(f"{BASE}/requests.{fmt}?service_code=05%0010")
    assert "NUL" in _error(nul, 400)


@pytest.mark.parametrize(
    "start",
    [
        "0001-01-01T00:00:00+14:00",
        "9999-12-31T23:00:00-14:00",
        "1700000000",
        "2026-11-22",
        "2026-11-22T08:00:00",
    ],
)
def test_a_bad_or_extreme_date_is_a_400_never_a_500_nor_ignored(client: httpx.Client, start: str) -> None:
    for name in ("start_date", "end_date"):
        assert _chinese(_error(client.get(f"{BASE}/requests.json", params={name: start}), 400))


@pytest.mark.parametrize(
    ("failure", "status"),
    [(RuntimeError("boom"), 500), (StorageUnavailable("database is locked", zh="数据库忙"), 503)],
)
def test_a_failure_inside_hq_is_an_open311_error_too(
    client: httpx.Client, monkeypatch: pytest.MonkeyPatch, failure: Exception, status: int
) -> None:
    def broken(*args: object) -> None:
        raise failure

    monkeypatch.setattr(open311, "services", broken)
    answer = client.get(f"{BASE}/services.xml")  # (after a 500 the server logs it and closes the connection)
    assert _chinese(_error(answer, status))
    assert str(failure) not in answer.text
    assert ("retry-after" in answer.headers) == (status == 503)


def test_jurisdiction_id_is_accepted_and_ignored_everywhere_within_its_bound(
    client: httpx.Client, key: str
) -> None:
    j = {"jurisdiction_id": "zhengzhou.gov.cn"}
    for path in ("discovery", "services", "services/0510", "requests"):
        for fmt in ("json", "xml"):
            assert client.get(f"{BASE}/{path}.{fmt}", params=j).status_code == 200, path
    rid = _file(client, key, **j)
    assert client.get(f"{BASE}/requests/{rid}.json", params=j).status_code == 200
    _error(client.get(f"{BASE}/services.json", params={"jurisdiction_id": "j" * 65}), 400)


# --------------------------------------------------------------------------------------- GET filters


def test_ids_are_a_bounded_list_and_override_the_other_filters(client: httpx.Client, key: str) -> None:
    a, b = _file(client, key), _file(client, key)
    got = client.get(
        f"{BASE}/requests.json", params={"service_request_id": f"{a}, {b},nope", "status": "closed"}
    )
    assert sorted(r["service_request_id"] for r in got.json()) == sorted([a, b])
    too_many = ",".join([a] * 50 + [f"id-{i}" for i in range(open311.MAX_IDS + 1)])
    _error(client.get(f"{BASE}/requests.json", params={"service_request_id": too_many}), 400)
    _error(client.get(f"{BASE}/requests.json", params={"service_request_id": f"{a},../x"}), 400)


def test_service_code_and_status_take_comma_lists(client: httpx.Client, key: str) -> None:
    grill, vendor, dust = (
        _file(client, key),
        _file(client, key, service_code="0501"),
        _file(client, key, service_code="0303"),
    )

    def listed(**params: str) -> set[str]:
        answer = client.get(f"{BASE}/requests.json", params=params)
        assert answer.status_code == 200, answer.text
        return {r["service_request_id"] for r in answer.json()}

    assert listed(service_code="0510,0501") == {grill, vendor}
    assert listed(service_code="0303", status="open,closed") == {dust}
    assert listed(status="closed") == set()
    assert listed(service_code="", status="") == {grill, vendor, dust}  # empty: not given


def test_the_default_window_is_90_days_and_end_date_is_inclusive(
    hq: Hq, client: httpx.Client, key: str
) -> None:
    old = _file(client, key)
    filed_at = hq.clock()
    hq.clock.now += timedelta(days=91)
    recent = _file(client, key)

    def listed(**params: str) -> list[str]:
        answer = client.get(f"{BASE}/requests.json", params=params)
        assert answer.status_code == 200, answer.text
        return [r["service_request_id"] for r in answer.json()]

    assert listed() == [recent]
    at = filed_at.isoformat()
    assert listed(end_date=at) == [old]  # to the microsecond: end_date counts
    assert listed(start_date=at) == [old]  # 90 days from the start: not the one 91 days on
    assert listed(start_date=(filed_at + timedelta(seconds=1)).isoformat()) == []
    span = {"start_date": at, "end_date": hq.clock().isoformat()}
    assert "90" in _error(client.get(f"{BASE}/requests.json", params=span), 400)


# ------------------------------------------------------------------------------------------ POST


def test_post_takes_a_form_or_json_and_refuses_what_it_cannot_read(
    hq: Hq, client: httpx.Client, key: str
) -> None:
    as_json = client.post(
        f"{BASE}/requests.json", json={"api_key": key, **FORM, "lat": 34.7466, "long": 113.6253}
    )
    assert as_json.status_code == 200, as_json.text
    for body in (
        {"api_key": key, **FORM, "description": {"nested": "object"}},
        {"api_key": key, **FORM, "lat": True},
    ):
        _error(client.post(f"{BASE}/requests.json", json=body), 400)
    multipart = client.post(
        f"{BASE}/requests.json", files={"api_key": (None, key), "service_code": (None, "0510")}
    )
    assert "application/x-www-form-urlencoded" in _error(multipart, 400)
    many = {"api_key": key, **FORM} | {f"attribute[f{i}]": "1" for i in range(open311.MAX_FIELDS)}
    _error(client.post(f"{BASE}/requests.json", data=many), 400)
    with hq.storage.transaction(readonly=True) as tx:
        assert len(tx.list_work_orders()) == 1


@pytest.mark.parametrize(
    "change",
    [
        {"lat": "1_0"},
        {"lat": "91"},
        {"long": "inf"},
        {"lat": "34.7466", "long": ""},
        {"email": "e" * 255},
        {"first_name": "名" * 65},
        {"media_url": "file:///etc/passwd"},
        {"service_code": ""},
    ],
)
def test_a_bad_field_is_a_400_in_chinese_and_nothing_is_filed(
    hq: Hq, client: httpx.Client, key: str, change: dict[str, str]
) -> None:
    assert _chinese(_error(client.post(f"{BASE}/requests.xml", data={"api_key": key, **FORM, **change}), 400))
    with hq.storage.transaction(readonly=True) as tx:
        assert tx.list_work_orders() == []


def test_a_partner_given_media_url_is_never_fetched(hq: Hq, client: httpx.Client, key: str) -> None:
    """An SSRF probe: media_url pointing at a listener inside HQ's network is taken and never opened (the
    kernel would complete a connection into the listener's backlog whether or not anyone accepts it)."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]
        rid = _file(client, key, media_url=f"http://127.0.0.1:{port}/admin?x=1")
        assert client.get(f"{BASE}/requests/{rid}.json").json()[0]["media_url"] == ""
        listener.settimeout(0.3)
        with pytest.raises(TimeoutError):
            listener.accept()


def test_a_hotline_transcription_of_4000_characters_is_kept_whole_and_phones_get_it_cut(
    hq: Hq, client: httpx.Client, key: str
) -> None:
    """The spec allows a description of 4,000 characters (a 12345 operator's transcription): HQ files it
    whole and partners read it back whole; the officer's phone gets the first 1,000 (the wire's bound,
    which phones in the field validate) ending in "…"."""
    text = ("居民反映：夜市烧烤油烟扰民，" * 300)[:3999] + "止"
    rid = _file(client, key, description=text)
    assert client.get(f"{BASE}/requests/{rid}.json").json()[0]["description"] == text
    [request] = _xml(client.get(f"{BASE}/requests/{rid}.xml"), "service_requests")
    assert request.findtext("description") == text
    with hq.storage.transaction(readonly=True) as tx:
        [order] = tx.list_work_orders()
        sent = change_data(order, replay(tx.work_order_events(order.id), order.timer))
    assert order.description == text
    assert sent.description == text[:999] + "…"
    assert len(sent.description) == WO_TEXT
    WorkOrderData.model_validate(sent.model_dump())  # what an older phone checks it against
