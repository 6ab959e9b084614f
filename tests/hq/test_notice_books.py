"""Warning-notice books at HQ (issue #18): the storage contract on SQLite and PostgreSQL, issuing under
concurrency, the push check (flagged, never refused), the review queue, the pull and the CLI."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from enforcement.codec import to_json_dict
from enforcement.model import Disposition, Stage
from hq.cli.main import run_to_string
from hq.ingest.push import ingest_batch
from hq.notices import NoticeBookRefused, assign_book, pull_books, save_series
from hq.storage.base import Storage, StorageConflict, StorageError
from hq.storage.notice_rows import NoticeSeries
from patrollog.reviewing import NoticeFlag
from sync.protocol import PushRecord
from testkit.hqkit import DISTRICT, LEADER, OFFICER, OFFICER_B, OFFICER_FAR, Hq, hq_of, make_case, sign_in
from testkit.pg import pg_hq_of

T0 = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def series_row(series: str = "JG-2026-", **changes: object) -> NoticeSeries:
    fields: dict[str, object] = dict(
        series=series, district=DISTRICT, width=6, book_size=50, threshold=10, capacity=999_999, auto=True,
        next_no=1, created_at=T0, created_by="cli",
    )  # fmt: skip
    fields.update(changes)
    return NoticeSeries(**fields)  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------ storage contract


def test_books_are_issued_in_order_and_never_overlap(storage: Storage) -> None:
    with storage.transaction() as tx:
        tx.put_notice_series(series_row())
    with storage.transaction() as tx:
        a = tx.issue_notice_book("JG-2026-", 50, badge="1023", district=DISTRICT, at=T0, by="auto")
        hand = tx.add_notice_book("JG-2026-", 51, 60, badge="1024", district=DISTRICT, at=T0, by="9001")
        far = tx.add_notice_book("JG-2026-", 200, 209, badge="1024", district=DISTRICT, at=T0, by="9001")
    with storage.transaction() as tx:
        b = tx.issue_notice_book("JG-2026-", 50, badge="1024", district=DISTRICT, at=T0, by="auto")
        c = tx.issue_notice_book("JG-2026-", 100, badge="1023", district=DISTRICT, at=T0, by="auto")
    assert (a.first, a.last, a.width) == (1, 50, 6)
    assert (hand.first, hand.last) == (51, 60)
    assert (b.first, b.last) == (61, 110)
    assert (c.first, c.last) == (210, 309)  # 111-210 would cross the hand-issued 200-209
    with storage.transaction() as tx:
        with pytest.raises(StorageConflict) as clash:
            tx.add_notice_book("JG-2026-", 100, 120, badge="1023", district=DISTRICT, at=T0, by="9001")
        assert "重叠" in clash.value.zh
    with storage.transaction(readonly=True) as tx:
        mine = tx.notice_books(badge="1023")
        assert [(x.first, x.last) for x in mine] == [(1, 50), (210, 309)]
        assert [x.book_id for x in tx.notice_books(district=DISTRICT)] == [
            a.book_id,
            hand.book_id,
            b.book_id,
            far.book_id,
            c.book_id,
        ]
        assert tx.notice_book_at("JG-2026-", 205) == far
        assert tx.notice_book_at("JG-2026-", 150) is None
        assert tx.get_notice_series("JG-2026-").next_no == 310  # type: ignore[union-attr]


def test_a_used_up_series_and_an_unknown_one_are_refused(storage: Storage) -> None:
    with storage.transaction() as tx:
        tx.put_notice_series(series_row("WN-", width=2, capacity=99))
        tx.issue_notice_book("WN-", 60, badge="1023", district=DISTRICT, at=T0, by="auto")
    with storage.transaction() as tx:
        with pytest.raises(StorageConflict) as full:
            tx.issue_notice_book("WN-", 60, badge="1024", district=DISTRICT, at=T0, by="auto")
        assert "发放完毕" in full.value.zh
        with pytest.raises(StorageError) as unknown:
            tx.issue_notice_book("XX-", 10, badge="1024", district=DISTRICT, at=T0, by="auto")
        assert "没有编号系列" in unknown.value.zh


def test_a_number_is_held_by_one_case_and_freed_by_an_amendment(storage: Storage) -> None:
    with storage.transaction() as tx:
        tx.put_notice_series(series_row())
        book = tx.issue_notice_book("JG-2026-", 50, badge="1023", district=DISTRICT, at=T0, by="auto")
        args = dict(badge="1023", book_id=book.book_id, at=T0)
        assert tx.use_notice_number("JG-2026-000001", case_no="A", case_id="a1", seq_no=1, **args) == "A"
        assert tx.use_notice_number("JG-2026-000001", case_no="B", case_id="b1", seq_no=1, **args) == "A"
        assert tx.use_notice_number("JG-2026-000001", case_no="A", case_id="a2", seq_no=1, **args) == "A"
        assert tx.use_notice_number("JG-2026-000002", case_no="C", case_id="c1", seq_no=2, **args) == "C"
    with storage.transaction() as tx:
        assert tx.notice_numbers_used([book.book_id]) == {book.book_id: {1, 2}}
        assert tx.release_notice_numbers("C", keep="JG-2026-000002") == 0
        assert tx.release_notice_numbers("C") == 1
    with storage.transaction(readonly=True) as tx:
        assert tx.notice_numbers_used([book.book_id, "none"]) == {book.book_id: {1}, "none": set()}


@pytest.mark.parametrize("threads", [6])
def test_concurrent_issues_never_overlap(storage: Storage, threads: int) -> None:
    """Writers issuing from one series at the same time (real concurrency on PostgreSQL: the series row
    lock makes them take turns; without it two would read the same next number)."""
    with storage.transaction() as tx:
        tx.put_notice_series(series_row())
    barrier = threading.Barrier(threads)
    got: list[tuple[int, int]] = []
    errors: list[BaseException] = []

    def issue(badge: str) -> None:
        barrier.wait()
        try:
            for _ in range(3):
                with storage.transaction() as tx:
                    book = tx.issue_notice_book(
                        "JG-2026-", 25, badge=badge, district=DISTRICT, at=T0, by="auto"
                    )
                got.append((book.first, book.last))
        except BaseException as exc:
            errors.append(exc)

    workers = [threading.Thread(target=issue, args=(f"10{n:02d}",)) for n in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert errors == []
    numbers = [n for first, last in got for n in range(first, last + 1)]
    assert len(numbers) == len(set(numbers)) == threads * 3 * 25
    assert sorted(numbers) == list(range(1, threads * 3 * 25 + 1))


# ------------------------------------------------------------------------------------ rules


def push(storage: Storage, *cases: object, officer=OFFICER) -> list:  # type: ignore[no-untyped-def]
    records = [
        PushRecord(kind="case", id=c.id, device_seq=i + 1, payload=to_json_dict(c))  # type: ignore[attr-defined]
        for i, c in enumerate(cases)
    ]
    return ingest_batch(storage, officer, f"dev-{officer.badge}", records, now=T0)


def notice_case(officer=OFFICER, seq: int = 1, number: str = "", **changes: object):  # type: ignore[no-untyped-def]
    case = make_case(officer, seq=seq, computed=Stage.WARNING)
    return replace(case, disposition=Disposition.WARNING_NOTICE, warning_notice_no=number, **changes)


@pytest.fixture
def hq(tmp_path: Path) -> Iterator[Hq]:
    yield from hq_of(tmp_path)


def test_push_flags_numbers_outside_the_officers_books_and_duplicates(hq: Hq) -> None:
    with hq.storage.transaction() as tx:
        save_series(tx, "JG-2026-", district=DISTRICT, width=6, book_size=50, threshold=10, capacity=None,
                    auto=True, at=T0, by="cli")  # fmt: skip
        mine = assign_book(tx, badge=OFFICER.badge, series="JG-2026-", at=T0, by="cli")
        assign_book(tx, badge=OFFICER_B.badge, series="JG-2026-", at=T0, by="cli")
    ok = notice_case(seq=1, number="JG-2026-000003")
    typed = notice_case(seq=2, number="JG-2026-4")  # typed without the padding: the same number 4
    twice = notice_case(seq=3, number="JG-2026-000003")
    theirs = notice_case(seq=4, number="JG-2026-000060")  # in 1024's book
    paper = notice_case(seq=5, number="纸质-0007")
    results = push(hq.storage, ok, typed, twice, theirs, paper)
    # flagged, never refused (a 警告 of an unknown subject is also a stage conflict at HQ: 1st case)
    assert [r.status for r in results] == ["conflict"] * 5
    assert ["通知书" in r.reason_zh for r in results] == [False, False, True, True, True]
    assert "已用于另一案件" in results[2].reason_zh
    assert ok.case_no in results[2].reason_zh
    assert "Warning notice number is already used" in results[2].reason_en
    assert "其他队员" in results[3].reason_zh
    assert "不在" in results[4].reason_zh
    with hq.storage.transaction(readonly=True) as tx:
        flags = tx.notice_flags([c.id for c in (ok, typed, twice, theirs, paper)])
        assert {k: v.flag for k, v in flags.items()} == {
            twice.id: NoticeFlag.DUPLICATE.value,
            theirs.id: NoticeFlag.OTHER_OFFICER.value,
            paper.id: NoticeFlag.NOT_IN_BOOK.value,
        }
        assert flags[twice.id].other_case_no == ok.case_no
        assert tx.notice_numbers_used([mine.book_id]) == {mine.book_id: {3, 4}}
        events = [e for e in tx.audit_events(limit=1000) if e.action == "notice_flagged"]
    assert sorted(e.target for e in events) == sorted([twice.id, theirs.id, paper.id])


def test_an_amendment_keeps_its_number_and_a_district_without_series_flags_nothing(hq: Hq) -> None:
    first = notice_case(seq=1, number="随手-1")
    assert "通知书" not in push(hq.storage, first)[0].reason_zh  # no series in the district: nothing to check
    again = replace(first, id="a" + first.id[1:], supersedes=first.id, version=2, notes="补充")
    assert "通知书" not in push(hq.storage, again)[0].reason_zh  # the same case keeps its number
    other = notice_case(seq=2, number="随手-1")
    assert "已用于另一案件" in push(hq.storage, other)[0].reason_zh  # duplicates are flagged anywhere


def test_the_review_queue_shows_a_flagged_notice_as_needing_a_decision(hq: Hq) -> None:
    with hq.storage.transaction() as tx:
        save_series(tx, "JG-2026-", district=DISTRICT, width=6, book_size=50, threshold=10, capacity=None,
                    auto=True, at=T0, by="cli")  # fmt: skip
    case = notice_case(seq=1, number="JG-2026-000009")  # no book issued to anyone yet
    push(hq.storage, case)
    with hq.client() as client:
        headers = sign_in(client, LEADER)
        queue = client.get("/v1/review/queue", params={"day": "2026-11-22"}, headers=headers).json()
    [item] = [i for i in queue["items"] if i["case_id"] == case.id]
    assert item["needs_decision"] is True
    assert item["notice_flag"] == NoticeFlag.NOT_IN_BOOK.value
    assert item["notice_flag_zh"] == NoticeFlag.NOT_IN_BOOK.label("zh")
    assert item["notice_flag_en"] == NoticeFlag.NOT_IN_BOOK.label("en")


def test_pull_issues_a_book_when_numbers_run_low_and_sends_only_the_officers_books(hq: Hq) -> None:
    with hq.storage.transaction() as tx:
        save_series(tx, "JG-2026-", district=DISTRICT, width=6, book_size=5, threshold=2, capacity=None,
                    auto=True, at=T0, by="cli")  # fmt: skip
    first = pull_books(hq.storage, OFFICER, now=T0)
    assert first.issued == 1
    assert [(b.first, b.last, b.used) for b in first.books] == [(1, 5, [])]
    assert pull_books(hq.storage, OFFICER, now=T0).issued == 0  # 5 left ≥ 2
    push(hq.storage, *(notice_case(seq=n, number=f"JG-2026-{n:06d}") for n in range(1, 5)))
    low = pull_books(hq.storage, OFFICER, now=T0)  # 1 left < 2: the next run
    assert low.issued == 1
    assert [(b.first, b.last, b.used) for b in low.books] == [(1, 5, [1, 2, 3, 4]), (6, 10, [])]
    other = pull_books(hq.storage, OFFICER_B, now=T0)
    assert [(b.first, b.last) for b in other.books] == [(11, 15)]
    assert pull_books(hq.storage, OFFICER_FAR, now=T0).books == []  # another district: no series there
    with hq.client() as client:
        page = client.get("/v1/changes", params={"books": "true"}, headers=sign_in(client, OFFICER)).json()
        plain = client.get("/v1/changes", headers=sign_in(client, OFFICER_B)).json()
    assert [(b["first"], b["last"]) for b in page["notice_books"]["books"]] == [(1, 5), (6, 10)]
    assert plain["notice_books"] is None  # an older phone never asks


def test_assign_refuses_bad_requests_in_both_languages(hq: Hq) -> None:
    with hq.storage.transaction() as tx:
        save_series(tx, "JG-2026-", district=DISTRICT, width=4, book_size=50, threshold=10, capacity=None,
                    auto=False, at=T0, by="cli")  # fmt: skip
        with pytest.raises(NoticeBookRefused) as bad:
            save_series(tx, "JG-2026-1", district=DISTRICT, width=4, book_size=50, threshold=10,
                        capacity=None, auto=False, at=T0, by="cli")  # fmt: skip
        assert "数字结尾" in bad.value.zh
        assert "digit" in bad.value.en
    cases = [
        (dict(badge="0000", series="JG-2026-"), "没有在职队员", "no active officer"),
        (dict(badge=OFFICER.badge, series="XX-"), "没有编号系列", "no notice series"),
        (dict(badge=OFFICER_FAR.badge, series="JG-2026-"), "其他辖区", "another district"),
        (dict(badge=OFFICER.badge, series="JG-2026-", first=5), "同时给出", "both"),
        (dict(badge=OFFICER.badge, series="JG-2026-", first=9, last=3), "起始编号", "first number"),
        (dict(badge=OFFICER.badge, series="JG-2026-", first=1, last=10_000), "超出 4 位", "4 digits"),
        (dict(badge=OFFICER.badge, series="JG-2026-", first=1, last=2000), "最多", "at most"),
    ]
    for kwargs, zh, en in cases:
        with hq.storage.transaction() as tx, pytest.raises(NoticeBookRefused) as refused:
            assign_book(tx, at=T0, by="cli", **kwargs)  # type: ignore[arg-type]
        assert zh in refused.value.zh
        assert en in refused.value.en
        assert refused.value.code == "invalid"


def test_cli_series_assign_and_list(hq: Hq) -> None:
    db = ["--db", str(hq.root / "hq.db")]
    code, out = run_to_string(
        ["notice-books", "series", "JG-2026-", "--district", DISTRICT, "--book-size", "20", *db]
    )
    assert code == 0
    assert "JG-2026-" in out
    assert "自动补发" in out
    code, out = run_to_string(
        ["notice-books", "assign", "--badge", OFFICER.badge, "--series", "JG-2026-", *db]
    )
    assert code == 0
    assert "JG-2026-000001–JG-2026-000020" in out
    code, out = run_to_string(
        [
            "notice-books",
            "assign",
            "--badge",
            OFFICER_B.badge,
            "--series",
            "JG-2026-",
            "--first",
            "15",
            "--last",
            "30",
            *db,
        ]
    )
    assert code == 1
    code, out = run_to_string(["notice-books", "list", "--district", DISTRICT, *db])
    assert code == 0
    assert f"{OFFICER.badge}\tJG-2026-000001–JG-2026-000020\t已用 used 0\t剩余 left 20" in out
    code, out = run_to_string(["notice-books", "list", "--badge", OFFICER_B.badge, *db])
    assert code == 0
    assert "没有编号册 no books" in out


def test_cli_refusal_prints_both_languages(hq: Hq, capsys: pytest.CaptureFixture[str]) -> None:
    db = ["--db", str(hq.root / "hq.db")]
    run_to_string(["notice-books", "series", "JG-2026-", "--district", DISTRICT, *db])
    run_to_string(
        [
            "notice-books",
            "assign",
            "--badge",
            OFFICER.badge,
            "--series",
            "JG-2026-",
            "--first",
            "1",
            "--last",
            "10",
            *db,
        ]
    )
    capsys.readouterr()
    code, _ = run_to_string(
        [
            "notice-books",
            "assign",
            "--badge",
            OFFICER_B.badge,
            "--series",
            "JG-2026-",
            "--first",
            "5",
            "--last",
            "12",
            *db,
        ]
    )
    err = capsys.readouterr().err
    assert code == 1
    assert "错误：编号 5–12 与队员 1023 的编号册 1–10 重叠" in err
    assert "error: numbers 5-12 overlap book 1-10 of officer 1023" in err


# ------------------------------------------------------------------------------- two phones, at once


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def served(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Hq]:
    if request.param == "sqlite":
        yield from hq_of(tmp_path, serve=True)
    else:
        yield from pg_hq_of(tmp_path)


def test_two_officers_phones_pulling_at_once_never_get_overlapping_numbers(served: Hq) -> None:
    """Two phones of two officers pull with ``books=true`` at the same moment, round after round, the
    threshold so high that every pull issues a new book: every number they were given is given once."""
    with served.storage.transaction() as tx:
        save_series(tx, "JG-2026-", district=DISTRICT, width=6, book_size=7, threshold=1000, capacity=None,
                    auto=True, at=T0, by="cli")  # fmt: skip
    rounds = 8
    seen: dict[str, list[dict[str, object]]] = {}
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def phone(officer: object) -> None:
        try:
            with served.client() as client:
                headers = sign_in(client, officer)  # type: ignore[arg-type]
                books: list[dict[str, object]] = []
                for _ in range(rounds):
                    barrier.wait()
                    page = client.get("/v1/changes", params={"books": "true"}, headers=headers)
                    assert page.status_code == 200, page.text
                    books = page.json()["notice_books"]["books"]
                seen[officer.badge] = books  # type: ignore[attr-defined]
        except BaseException as exc:
            errors.append(exc)
            barrier.abort()

    threads = [threading.Thread(target=phone, args=(o,)) for o in (OFFICER, OFFICER_B)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    ranges = {badge: [(int(b["first"]), int(b["last"])) for b in books] for badge, books in seen.items()}  # type: ignore[call-overload]
    assert all(len(r) == min(rounds, 20) for r in ranges.values())  # a new book on every pull
    numbers = [n for r in ranges.values() for first, last in r for n in range(first, last + 1)]
    assert len(numbers) == len(set(numbers)) == 2 * rounds * 7
    with served.storage.transaction(readonly=True) as tx:
        books = tx.notice_books(district=DISTRICT)
    assert {b.badge for b in books} == {OFFICER.badge, OFFICER_B.badge}
    for badge, r in ranges.items():
        assert sorted(r) == sorted((b.first, b.last) for b in books if b.badge == badge)


def test_api_lists_and_assigns_books_by_role(hq: Hq) -> None:
    with hq.storage.transaction() as tx:
        save_series(tx, "JG-2026-", district=DISTRICT, width=6, book_size=10, threshold=0, capacity=None,
                    auto=False, at=T0, by="cli")  # fmt: skip
    from testkit.hqkit import HQ_USER

    with hq.client() as client:
        as_hq = sign_in(client, HQ_USER)
        made = client.post(
            "/v1/notice-books", json={"badge": OFFICER.badge, "series": "JG-2026-"}, headers=as_hq
        )
        assert made.status_code == 200, made.text
        assert (made.json()["first"], made.json()["last"], made.json()["issued_by"]) == (1, 10, HQ_USER.badge)
        clash = client.post(
            "/v1/notice-books", json={"badge": OFFICER_B.badge, "series": "JG-2026-", "first": 5, "last": 12},
            headers=as_hq,
        )  # fmt: skip
        assert clash.status_code == 409
        assert clash.json()["errno"] == 1061
        assert "重叠" in clash.json()["message_zh"] or "重叠" in str(clash.json())
        bad = client.post("/v1/notice-books", json={"badge": "0000", "series": "JG-2026-"}, headers=as_hq)
        assert bad.status_code == 422
        assert bad.json()["errno"] == 1060
        mine = client.get("/v1/notice-books", headers=sign_in(client, OFFICER)).json()
        assert [(b["first"], b["remaining"]) for b in mine["books"]] == [(1, 10)]
