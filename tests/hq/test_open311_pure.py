"""Open311's XML (``hq.open311_xml``): whatever text a complaint holds, the document is well-formed UTF-8
that any XML 1.0 parser reads back, with the spec's element names; and the pure GET-filter and POST
readers of ``hq.open311`` refuse what they must with the spec's status."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hq import open311
from hq.open311_xml import clean, to_xml
from testkit.hqkit import catalogue

NOW = datetime(2026, 11, 22, 14, 0, tzinfo=UTC)


def _normalised(text: str) -> str:
    """What an XML parser reports of ``clean(text)``: line ends normalised (XML 1.0 §2.11)."""
    return clean(text).replace("\r\n", "\n").replace("\r", "\n")


#: Any code point, lone surrogates included (Python strings can hold them; UTF-8 cannot).
ANY_CHARACTER = st.characters(min_codepoint=0, max_codepoint=0x10FFFF, exclude_categories=())


@given(st.text(alphabet=ANY_CHARACTER, max_size=60))
def test_any_text_makes_a_document_a_parser_reads_back(text: str) -> None:
    document = to_xml([{"description": text, "status": "open"}], "service_requests", "request")
    assert document.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    document.decode("utf-8")  # valid UTF-8: no lone surrogate got through
    root = ET.fromstring(document)
    assert root.tag == "service_requests"
    [request] = root
    assert request.tag == "request"
    assert (request.findtext("description") or "") == _normalised(text)


def test_markup_emoji_rare_characters_and_controls_stay_text() -> None:
    hostile = "<b>&amp;]]>😀𠀀𪚥\"'\x00\x01\x08\x0b\x0c\x1f\x7f\ufffe\uffff\ud800 end"
    root = ET.fromstring(to_xml({"description": hostile}, "service_definition"))
    assert root.findtext("description") == (
        "<b>&amp;]]>😀𠀀𪚥\"'" + "\ufffd" * 6 + "\x7f" + "\ufffd" * 3 + " end"
    )


def test_lists_inside_an_entry_take_the_singular_and_none_and_bools_are_spelled_out() -> None:
    discovery = open311.discovery("http://hq.example/open311/v2/", "2026.12-1")
    root = ET.fromstring(to_xml(discovery, "discovery"))
    assert [e.tag for e in root] == ["changeset", "contact", "key_service", "endpoints"]
    [endpoint] = list(root.iterfind("endpoints/*"))
    assert endpoint.tag == "endpoint"
    assert [f.text for f in endpoint.iterfind("formats/format")] == ["text/xml", "application/json"]
    filed = ET.fromstring(
        to_xml([{"service_request_id": "a1", "account_id": None}], "service_requests", "request")
    )
    assert filed.findtext("request/account_id") == ""
    services = ET.fromstring(to_xml([{"metadata": False}], "services", "service"))
    assert services.findtext("service/metadata") == "false"


# ------------------------------------------------------------------------------------ GET filters


def _filters(**given: str) -> open311.Filters:
    query = {
        k: given.get(k) for k in ("service_request_id", "service_code", "status", "start_date", "end_date")
    }
    return open311.request_filters(**query, now=NOW)


def test_the_default_window_is_90_days_and_one_date_opens_90_days_from_it() -> None:
    assert (_filters().since, _filters().until) == (NOW - timedelta(days=90), None)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    only_start = _filters(start_date="2026-01-01T00:00:00Z")
    assert (only_start.since, only_start.until) == (start, start + timedelta(days=90, microseconds=1))
    only_end = _filters(end_date="2026-01-01T08:00:00+08:00")
    assert (only_end.since, only_end.until) == (start - timedelta(days=90), start + timedelta(microseconds=1))


def test_a_plus_left_unencoded_in_the_offset_still_reads() -> None:
    # "+08:00" sent raw in a query string arrives as " 08:00"
    assert _filters(start_date="2026-11-01T00:00:00 08:00").since == datetime(2026, 10, 31, 16, tzinfo=UTC)


@pytest.mark.parametrize(
    "query",
    [
        {"start_date": "2026-11-22"},  # no time, no offset
        {"start_date": "2026-11-22T08:00:00"},  # no offset
        {"start_date": "1700000000"},  # a Unix time is no W3C date
        {"start_date": "2026-13-45T00:00:00Z"},
        {"end_date": "0001-01-01T00:00:00+14:00"},  # out of the years: the window's arithmetic is safe
        {"start_date": "9999-12-31T23:00:00-14:00"},
        {"start_date": "2026-11-22T00:00:00Z", "end_date": "2026-11-21T00:00:00Z"},
        {"start_date": "2026-01-01T00:00:00Z", "end_date": "2026-06-01T00:00:00Z"},  # over 90 days
        {"status": "pending"},
        {"status": "open,closed,open,x"},
        {"service_code": "0510,drop table"},
        {"service_request_id": "ok-1,../etc/passwd"},
        {"service_request_id": ",".join(f"id{i}" for i in range(open311.MAX_IDS + 1))},
    ],
)
def test_bad_filters_are_a_400_in_chinese(query: dict[str, str]) -> None:
    with pytest.raises(open311.Open311Error) as refused:
        _filters(**query)
    assert refused.value.status == 400
    assert refused.value.zh != refused.value.en
    assert any("\u4e00" <= ch <= "\u9fff" for ch in refused.value.zh)


def test_ids_override_every_other_filter_and_lists_are_read_as_lists() -> None:
    assert _filters(service_request_id="a, b,a", status="bogus") == open311.Filters(ids=("a", "b"))
    both = _filters(service_code="0510,0501", status="open,closed")
    assert (both.codes, both.status) == (("0510", "0501"), None)
    assert _filters(service_request_id="", status="", service_code="").since == NOW - timedelta(days=90)


# ------------------------------------------------------------------------------------ POST fields


CATALOGUE = catalogue()


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"\xff\xfe", "application/x-www-form-urlencoded"),
        (b'{"description": {"a": 1}}', "application/json"),
        (b'{"lat": true}', "application/json"),
        (b"[1, 2]", "application/json"),
        (b'{"a": 1' + b"0" * 5000 + b"}", "application/json"),  # an int past Python's digit limit
        (b"&".join(b"f%d=1" % i for i in range(open311.MAX_FIELDS + 1)), "application/x-www-form-urlencoded"),
        (
            b"--x\r\nContent-Disposition: form-data; name=api_key\r\n\r\nk\r\n--x--",
            "multipart/form-data; boundary=x",
        ),
    ],
)
def test_unreadable_bodies_are_a_400(body: bytes, content_type: str) -> None:
    with pytest.raises(open311.Open311Error) as refused:
        open311.post_form(body, content_type)
    assert refused.value.status == 400


FORM = {"service_code": "0510", "description": "烧烤", "lat": "34.7466", "long": "113.6253"}


@pytest.mark.parametrize(
    "change",
    [
        {"lat": "nan"},
        {"lat": "inf"},
        {"lat": "1e400"},
        {"lat": "1_0"},
        {"lat": "90.5"},
        {"long": "-180.01"},
        {"lat": "0x10"},
        {"service_code": ""},
        {"service_code": "0401"},  # a code of the catalogue residents do not report
        {"media_url": "file:///etc/passwd"},
        {"media_url": "gopher://127.0.0.1:6379/_FLUSHALL"},
        {"media_url": "http:///no-host"},
        {"media_url": "http://[::1/unclosed"},
        {"media_url": "javascript:alert(1)//http://x"},
        *({name: "x" * (limit + 1)} for name, limit in open311.FIELD_LIMITS.items()),
    ],
)
def test_bad_fields_are_a_400_before_anything_is_filed(change: dict[str, str]) -> None:
    with pytest.raises(open311.Open311Error) as refused:
        open311.posted(FORM | change, CATALOGUE)
    assert refused.value.status == 400


def test_a_good_form_reads_as_its_complaint() -> None:
    form = FORM | {"first_name": " 六", "last_name": "赵 ", "media_url": "https://cdn.example/p.jpg"}
    got = open311.posted(form, CATALOGUE)
    assert (got.service_code, got.lat, got.lon, got.caller_name) == ("0510", 34.7466, 113.6253, "赵六")
    assert open311.post_form(b'{"lat": 34.7466, "long": 113, "x": null}', "application/json") == {
        "lat": "34.7466",
        "long": "113",
    }
